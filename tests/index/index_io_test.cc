// Tests of index/index_io.h: every kind survives SaveIndex and LoadIndex with
// the same results and search parameters; a missing, truncated, altered,
// foreign or mislabelled file is refused with an error naming the file; FAISS
// exceptions never escape.
#include "index/index_io.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "index/index_factory.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ReadFileOrFail;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;

RowMatrix RandomVectors(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.Normal();
  return m;
}

std::unique_ptr<CandidateIndex> Build(IndexKind kind,
                                      const RowMatrix& vectors) {
  IndexOptions options;
  options.kind = kind;
  options.hnsw_m = 8;
  options.hnsw_ef_construction = 32;
  options.hnsw_ef_search = 48;
  options.ivf_nlist = 16;
  options.ivf_nprobe = 5;
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(vectors, options);
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *std::move(index) : nullptr;
}

class IndexIoTest : public ::testing::TestWithParam<IndexKind> {
 protected:
  IndexIoTest()
      : vectors_(RandomVectors(600, 6, 1)),
        queries_(RandomVectors(5, 6, 2)),
        path_(dir_.File("index.faiss")) {}

  ScopedTempDir dir_;
  RowMatrix vectors_;
  RowMatrix queries_;
  std::string path_;
};

TEST_P(IndexIoTest, RoundTripKeepsResultsAndParameters) {
  const std::unique_ptr<CandidateIndex> index = Build(GetParam(), vectors_);
  ASSERT_NE(index, nullptr);
  absl::StatusOr<IndexFileInfo> info = SaveIndex(*index, path_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, GetParam());
  absl::StatusOr<IndexFileInfo> on_disk = ChecksumIndexFile(path_);
  ASSERT_TRUE(on_disk.ok()) << on_disk.status();
  EXPECT_EQ(on_disk->size_bytes, info->size_bytes);
  EXPECT_EQ(on_disk->crc32, info->crc32);

  for (const IndexFileInfo* expected : {&*info, (IndexFileInfo*)nullptr}) {
    absl::StatusOr<std::unique_ptr<CandidateIndex>> loaded =
        LoadIndex(path_, expected);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->kind(), GetParam());
    EXPECT_EQ((*loaded)->dim(), 6);
    EXPECT_EQ((*loaded)->size(), 600);
    EXPECT_EQ((*loaded)->Describe(), index->Describe());
    const std::vector<int32_t> exclude = {3, 50, 51, 300};
    for (int q = 0; q < queries_.rows(); ++q) {
      const std::vector<Candidate> want =
          index->Search(queries_.row(q).data(), 20, exclude);
      const std::vector<Candidate> got =
          (*loaded)->Search(queries_.row(q).data(), 20, exclude);
      ASSERT_EQ(got.size(), want.size());
      for (size_t j = 0; j < got.size(); ++j) {
        EXPECT_EQ(got[j].row, want[j].row);
        EXPECT_EQ(got[j].score, want[j].score);
      }
    }
  }
}

TEST_P(IndexIoTest, TruncatedOrAlteredFilesAreRefusedBeforeParsing) {
  const std::unique_ptr<CandidateIndex> index = Build(GetParam(), vectors_);
  ASSERT_NE(index, nullptr);
  absl::StatusOr<IndexFileInfo> info = SaveIndex(*index, path_);
  ASSERT_TRUE(info.ok()) << info.status();
  const std::string bytes = ReadFileOrFail(path_);

  WriteFile(path_, bytes.substr(0, bytes.size() / 2));
  EXPECT_TRUE(IsError(LoadIndex(path_, &*info).status(),
                      absl::StatusCode::kInvalidArgument,
                      {path_, "truncated", std::to_string(info->size_bytes)}));

  std::string altered = bytes;
  altered[altered.size() / 2] ^= 0x20;
  WriteFile(path_, altered);
  EXPECT_TRUE(IsError(LoadIndex(path_, &*info).status(),
                      absl::StatusCode::kInvalidArgument,
                      {path_, "checksum mismatch"}));

  WriteFile(path_, bytes);
  IndexFileInfo other_kind = *info;
  other_kind.kind =
      GetParam() == IndexKind::kFlat ? IndexKind::kIvf : IndexKind::kFlat;
  EXPECT_TRUE(IsError(LoadIndex(path_, &other_kind).status(),
                      absl::StatusCode::kInvalidArgument,
                      {path_, "expected", IndexKindName(other_kind.kind)}));
}

TEST_P(IndexIoTest, UnverifiedTruncatedFileIsAnErrorNotAnException) {
  const std::unique_ptr<CandidateIndex> index = Build(GetParam(), vectors_);
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(SaveIndex(*index, path_).ok());
  const std::string bytes = ReadFileOrFail(path_);
  WriteFile(path_, bytes.substr(0, bytes.size() - 7));
  EXPECT_TRUE(IsError(LoadIndex(path_, nullptr).status(),
                      absl::StatusCode::kInvalidArgument,
                      {path_, "not a readable FAISS index"}));
}

INSTANTIATE_TEST_SUITE_P(Kinds, IndexIoTest,
                         ::testing::Values(IndexKind::kFlat, IndexKind::kHnsw,
                                           IndexKind::kIvf),
                         [](const ::testing::TestParamInfo<IndexKind>& info) {
                           return std::string(IndexKindName(info.param));
                         });

// The trainer saves a WithSearchOptions view with the nprobe it chose: the
// file carries the view's nprobe, and the shared index it was written from
// keeps its own and still searches (the header written was a copy).
TEST(IndexIoViewTest, AnIvfViewIsSavedWithItsNprobe) {
  const RowMatrix vectors = RandomVectors(600, 6, 1);
  const std::unique_ptr<CandidateIndex> built = Build(IndexKind::kIvf, vectors);
  ASSERT_NE(built, nullptr);
  IndexOptions search;
  search.ivf_nprobe = 9;
  absl::StatusOr<std::unique_ptr<CandidateIndex>> view =
      built->WithSearchOptions(search);
  ASSERT_TRUE(view.ok()) << view.status();
  ScopedTempDir dir;
  const std::string path = dir.File("index.faiss");
  absl::StatusOr<IndexFileInfo> info = SaveIndex(**view, path);
  ASSERT_TRUE(info.ok()) << info.status();
  absl::StatusOr<std::unique_ptr<CandidateIndex>> loaded =
      LoadIndex(path, &*info);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Describe(), (*view)->Describe());
  EXPECT_THAT((*loaded)->Describe(), ::testing::HasSubstr("nprobe=9,"));
  EXPECT_THAT(built->Describe(), ::testing::HasSubstr("nprobe=5,"));
  const RowMatrix query = RandomVectors(1, 6, 3);
  const std::vector<Candidate> want = (*view)->Search(query.data(), 30, {});
  const std::vector<Candidate> got = (*loaded)->Search(query.data(), 30, {});
  ASSERT_EQ(got.size(), want.size());
  for (size_t j = 0; j < got.size(); ++j) EXPECT_EQ(got[j].row, want[j].row);
  EXPECT_EQ(built->Search(query.data(), 30, {}).size(), 30u);
}

TEST(IndexIoErrorsTest, MissingFileIsNotFound) {
  ScopedTempDir dir;
  const std::string path = dir.File("absent.faiss");
  IndexFileInfo info;
  EXPECT_TRUE(IsError(LoadIndex(path, &info).status(),
                      absl::StatusCode::kNotFound, {path}));
  EXPECT_TRUE(IsError(LoadIndex(path, nullptr).status(),
                      absl::StatusCode::kNotFound, {path}));
  EXPECT_TRUE(IsError(ChecksumIndexFile(path).status(),
                      absl::StatusCode::kNotFound, {path}));
}

TEST(IndexIoErrorsTest, GarbageIsNotAFaissIndex) {
  ScopedTempDir dir;
  const std::string path = dir.File("garbage.faiss");
  WriteFile(path, "this is not an index");
  EXPECT_TRUE(IsError(LoadIndex(path, nullptr).status(),
                      absl::StatusCode::kInvalidArgument,
                      {path, "not a readable FAISS index"}));
}

TEST(IndexIoErrorsTest, ForeignFaissIndexesAreRefused) {
  ScopedTempDir dir;
  const RowMatrix vectors = RandomVectors(50, 4, 3);
  const std::string l2 = dir.File("l2.faiss");
  faiss::IndexFlatL2 flat_l2(4);
  flat_l2.add(vectors.rows(), vectors.data());
  faiss::write_index(&flat_l2, l2.c_str());
  EXPECT_TRUE(IsError(LoadIndex(l2, nullptr).status(),
                      absl::StatusCode::kInvalidArgument,
                      {l2, "not inner product"}));

  // An HNSW graph over raw (not augmented) vectors.
  const std::string hnsw = dir.File("hnsw.faiss");
  faiss::IndexHNSWFlat raw_hnsw(4, 8, faiss::METRIC_L2);
  raw_hnsw.add(vectors.rows(), vectors.data());
  faiss::write_index(&raw_hnsw, hnsw.c_str());
  EXPECT_TRUE(IsError(LoadIndex(hnsw, nullptr).status(),
                      absl::StatusCode::kInvalidArgument,
                      {hnsw, "not augmented"}));
}

TEST(IndexIoErrorsTest, UnwritablePathIsAnErrorNamingIt) {
  const std::unique_ptr<CandidateIndex> index =
      Build(IndexKind::kFlat, RandomVectors(10, 3, 4));
  ASSERT_NE(index, nullptr);
  const std::string path = "/nonexistent-dir/index.faiss";
  EXPECT_TRUE(IsError(SaveIndex(*index, path).status(),
                      absl::StatusCode::kNotFound, {path}));
}

}  // namespace
}  // namespace movierec
