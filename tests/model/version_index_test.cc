// Tests of saved candidate indexes in model versions (model/bundle.h with an
// index, model/version_index.h, Snapshot::Load): the trainer's index is
// written beside model.bin with its size and checksum in the bundle, loaded
// instead of an exact one, and refused, naming the file, when it is missing,
// truncated, altered or does not fit the movie vectors.
#include "model/version_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/index_factory.h"
#include "model/bundle.h"
#include "server/snapshot.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;

using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ReadFileOrFail;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;
using ::movierec::test::WriteFile;
using ::testing::HasSubstr;

Model SmallModel() {
  return MakeRandomModel(SmallMovieLens(10, 60, 6),
                         SmallRetrievalConfig(/*all_features=*/true), 1);
}

std::unique_ptr<CandidateIndex> Build(const RowMatrix& vectors,
                                      IndexKind kind) {
  IndexOptions options;
  options.kind = kind;
  options.hnsw_m = 8;
  options.hnsw_ef_search = 77;
  options.ivf_nlist = 4;
  options.ivf_nprobe = 2;
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(vectors, options);
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *std::move(index) : nullptr;
}

class VersionIndexTest : public ::testing::Test {
 protected:
  // Writes model_ as version 1 with `index` (may be null).
  void Write(const CandidateIndex* index) {
    absl::StatusOr<int64_t> version =
        WriteModelVersion(dir_.path(), model_, "", index);
    ASSERT_TRUE(version.ok()) << version.status();
    ASSERT_EQ(*version, 1);
  }
  std::string version_dir() const { return dir_.File("1"); }
  std::string index_path() const {
    return absl::StrCat(version_dir(), "/", kIndexFileName);
  }

  // The description of the index version 1 serves with `ivf_nprobe`, or
  // the load error's.
  std::string ServedIndex(int ivf_nprobe) const {
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
        Snapshot::Load(dir_.path(), 1, {}, ivf_nprobe);
    if (!snapshot.ok()) return snapshot.status().ToString();
    return (*snapshot)->scorer().index().Describe();
  }

  ScopedTempDir dir_;
  Model model_ = SmallModel();
};

TEST_F(VersionIndexTest, SavedIndexIsRecordedAndLoadedInsteadOfAnExactOne) {
  for (const IndexKind kind : {IndexKind::kHnsw, IndexKind::kIvf}) {
    SCOPED_TRACE(IndexKindName(kind));
    fs::remove_all(version_dir());
    const std::unique_ptr<CandidateIndex> built =
        Build(model_.movie_vectors, kind);
    ASSERT_NE(built, nullptr);
    Write(built.get());
    ASSERT_TRUE(fs::exists(index_path()));

    absl::StatusOr<Model> read = ReadModelVersion(version_dir());
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(read->saved_index.has_value());
    EXPECT_EQ(read->saved_index->file_name, kIndexFileName);
    EXPECT_EQ(read->saved_index->file.kind, kind);
    EXPECT_EQ(read->saved_index->file.size_bytes, fs::file_size(index_path()));
    EXPECT_EQ(read->saved_index->description, built->Describe());

    absl::StatusOr<std::unique_ptr<CandidateIndex>> loaded =
        LoadVersionIndex(version_dir(), *read);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->kind(), kind);
    EXPECT_EQ((*loaded)->Describe(), built->Describe());
    const float* query = model_.user_vectors.row(0).data();
    const std::vector<Candidate> want =
        built->Search(query, 10, model_.seen.Of(0));
    const std::vector<Candidate> got =
        (*loaded)->Search(query, 10, model_.seen.Of(0));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].row, want[i].row);

    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
        Snapshot::Load(dir_.path(), 1);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ((*snapshot)->scorer().index().kind(), kind);
  }
}

// The server's --ivf_nprobe: an IVF version searches with it instead of the
// nprobe it was saved with; other kinds ignore it; 0 keeps the version's.
TEST_F(VersionIndexTest, IvfNprobeOverridesTheSavedOneForIvfOnly) {
  const std::unique_ptr<CandidateIndex> ivf =
      Build(model_.movie_vectors, IndexKind::kIvf);
  ASSERT_NE(ivf, nullptr);
  Write(ivf.get());
  EXPECT_THAT(ServedIndex(0), HasSubstr("nprobe=2,"));
  EXPECT_THAT(ServedIndex(3), HasSubstr("nprobe=3,"));

  fs::remove_all(version_dir());
  const std::unique_ptr<CandidateIndex> hnsw =
      Build(model_.movie_vectors, IndexKind::kHnsw);
  ASSERT_NE(hnsw, nullptr);
  Write(hnsw.get());
  EXPECT_EQ(ServedIndex(3), hnsw->Describe());
}

TEST_F(VersionIndexTest, WithoutASavedIndexTheExactOneIsBuilt) {
  model_.saved_index = SavedIndex{"stale.faiss", {IndexKind::kHnsw, 10, 1}, ""};
  Write(nullptr);  // a stale saved_index is not written
  EXPECT_FALSE(fs::exists(index_path()));
  absl::StatusOr<Model> read = ReadModelVersion(version_dir());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->saved_index.has_value());
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      LoadVersionIndex(version_dir(), *read);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->kind(), IndexKind::kFlat);
  EXPECT_EQ((*index)->size(), model_.num_movies());
}

TEST_F(VersionIndexTest, MissingOrTruncatedIndexFileIsRefusedOnRead) {
  const std::unique_ptr<CandidateIndex> built =
      Build(model_.movie_vectors, IndexKind::kHnsw);
  ASSERT_NE(built, nullptr);
  Write(built.get());
  const std::string bytes = ReadFileOrFail(index_path());

  WriteFile(index_path(), bytes.substr(0, bytes.size() - 100));
  EXPECT_TRUE(IsError(ReadModelVersion(version_dir()).status(),
                      absl::StatusCode::kInvalidArgument,
                      {index_path(), "truncated", "the bundle says"}));
  EXPECT_TRUE(IsError(Snapshot::Load(dir_.path(), 1).status(),
                      absl::StatusCode::kInvalidArgument,
                      {index_path(), "truncated"}));

  fs::remove(index_path());
  EXPECT_TRUE(IsError(ReadModelVersion(version_dir()).status(),
                      absl::StatusCode::kInvalidArgument,
                      {index_path(), "cannot be read"}));
}

TEST_F(VersionIndexTest, AlteredIndexFileIsRefusedOnLoad) {
  const std::unique_ptr<CandidateIndex> built =
      Build(model_.movie_vectors, IndexKind::kIvf);
  ASSERT_NE(built, nullptr);
  Write(built.get());
  std::string bytes = ReadFileOrFail(index_path());
  bytes[bytes.size() / 3] ^= 0x01;
  WriteFile(index_path(), bytes);

  absl::StatusOr<Model> read = ReadModelVersion(version_dir());
  ASSERT_TRUE(read.ok()) << read.status();  // same size: caught on load
  EXPECT_TRUE(IsError(LoadVersionIndex(version_dir(), *read).status(),
                      absl::StatusCode::kInvalidArgument,
                      {index_path(), "checksum mismatch"}));
  EXPECT_TRUE(IsError(Snapshot::Load(dir_.path(), 1).status(),
                      absl::StatusCode::kInvalidArgument,
                      {index_path(), "checksum mismatch"}));
}

TEST_F(VersionIndexTest, IndexOfOtherVectorsIsRefused) {
  // Built over one movie fewer than the bundle holds.
  const RowMatrix fewer = model_.movie_vectors.topRows(model_.num_movies() - 1);
  const std::unique_ptr<CandidateIndex> built = Build(fewer, IndexKind::kHnsw);
  ASSERT_NE(built, nullptr);
  Write(built.get());
  absl::StatusOr<Model> read = ReadModelVersion(version_dir());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(
      IsError(LoadVersionIndex(version_dir(), *read).status(),
              absl::StatusCode::kInvalidArgument,
              {index_path(),
               absl::StrCat("holds ", model_.num_movies() - 1, " vectors"),
               absl::StrCat("the bundle ", model_.num_movies())}));
}

TEST(SavedIndexBundleTest, RoundTripsThroughBytes) {
  Model model = SmallModel();
  model.saved_index =
      SavedIndex{"index.faiss", {IndexKind::kIvf, 1234, 0xDEADBEEF}, "ivf(x)"};
  absl::StatusOr<Model> decoded = DecodeBundle(EncodeBundle(model), "b");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->saved_index.has_value());
  EXPECT_EQ(decoded->saved_index->file_name, "index.faiss");
  EXPECT_EQ(decoded->saved_index->file.kind, IndexKind::kIvf);
  EXPECT_EQ(decoded->saved_index->file.size_bytes, 1234u);
  EXPECT_EQ(decoded->saved_index->file.crc32, 0xDEADBEEFu);
  EXPECT_EQ(decoded->saved_index->description, "ivf(x)");
}

TEST(SavedIndexBundleTest, RejectsBadIndexFieldsNamingThem) {
  Model model = SmallModel();
  model.saved_index =
      SavedIndex{"../index.faiss", {IndexKind::kHnsw, 9, 1}, ""};
  EXPECT_TRUE(IsError(
      DecodeBundle(EncodeBundle(model), "base/3/model.bin").status(),
      absl::StatusCode::kInvalidArgument,
      {"base/3/model.bin", "\"../index.faiss\"", "not a plain file name"}));
  model.saved_index->file_name = "";
  EXPECT_TRUE(IsError(DecodeBundle(EncodeBundle(model), "b").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"not a plain file name"}));
  model.saved_index->file_name = "index.faiss";
  model.saved_index->file.size_bytes = 0;
  EXPECT_TRUE(IsError(DecodeBundle(EncodeBundle(model), "b").status(),
                      absl::StatusCode::kInvalidArgument, {"size 0"}));
  model.saved_index->file.size_bytes = 10;
  model.saved_index->file.kind = IndexKind::kAuto;  // never written
  EXPECT_TRUE(IsError(DecodeBundle(EncodeBundle(model), "b").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"index kind \"auto\"", "not flat, hnsw or ivf"}));
}

}  // namespace
}  // namespace movierec
