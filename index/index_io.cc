#include "index/index_io.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

using internal::FaissIndex;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const std::string message =
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno));
  return errno == ENOENT ? absl::NotFoundError(message)
                         : absl::InternalError(message);
}

// A FAISS writer into a FILE that keeps the size and CRC-32 of what passes.
class ChecksummingWriter final : public faiss::IOWriter {
 public:
  explicit ChecksummingWriter(FILE* file) : file_(file) {}
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    const size_t written = std::fwrite(ptr, size, nitems, file_);
    // FAISS writes empty vectors with a null pointer, and zlib's crc32_z
    // returns the initial value, not `crc_`, for a null buffer.
    if (written * size > 0) {
      crc_ = crc32_z(crc_, static_cast<const Bytef*>(ptr), written * size);
      bytes_ += written * size;
    }
    return written;
  }
  uint64_t bytes() const { return bytes_; }
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 private:
  FILE* file_;
  uLong crc_ = crc32_z(0L, Z_NULL, 0);
  uint64_t bytes_ = 0;
};

// The CandidateIndex of a FAISS index read from a file, or an error saying
// why it is not one this library writes.
absl::StatusOr<std::unique_ptr<CandidateIndex>> Wrap(
    std::unique_ptr<faiss::Index> raw) {
  IndexOptions options;
  const faiss::Index& any = *raw;
  if (typeid(any) == typeid(faiss::IndexHNSWFlat)) {
    std::shared_ptr<const faiss::IndexHNSWFlat> hnsw(
        static_cast<faiss::IndexHNSWFlat*>(raw.release()));
    options.hnsw_ef_search = hnsw->hnsw.efSearch;
    return internal::WrapHnsw(std::move(hnsw), options);
  }
  if (raw->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return absl::InvalidArgumentError(
        absl::StrCat("holds a FAISS index with metric ", raw->metric_type,
                     ", not inner product"));
  }
  if (typeid(any) == typeid(faiss::IndexIVFFlat)) {
    std::shared_ptr<const faiss::IndexIVFFlat> ivf(
        static_cast<faiss::IndexIVFFlat*>(raw.release()));
    if (ivf->quantizer == nullptr || ivf->nlist < 1) {
      return absl::InvalidArgumentError("holds an IVF index without cells");
    }
    options.ivf_nprobe = static_cast<int>(ivf->nprobe);
    return internal::WrapIvf(std::move(ivf), options);
  }
  if (typeid(any) == typeid(faiss::IndexFlatIP) ||
      typeid(any) == typeid(faiss::IndexFlat)) {
    std::shared_ptr<const faiss::IndexFlat> flat(
        static_cast<faiss::IndexFlat*>(raw.release()));
    return internal::WrapFlat(std::move(flat), options.exclusion);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("holds a FAISS index of type ", typeid(any).name(),
                   ", not a flat, HNSW or IVF index of movierec"));
}

}  // namespace

absl::StatusOr<IndexFileInfo> SaveIndex(const CandidateIndex& index,
                                        const std::string& path) {
  const auto* faiss_backed = dynamic_cast<const FaissIndex*>(&index);
  if (faiss_backed == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot save ", index.Describe(), " to ", path,
                     ": not an index built by movierec's index library"));
  }
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return ErrnoError("create", path);
  ChecksummingWriter writer(file);
  try {
    faiss_backed->Write(&writer);
  } catch (const std::exception& e) {
    std::fclose(file);
    std::remove(path.c_str());
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", e.what()));
  }
  const bool flushed = std::fflush(file) == 0 && ::fsync(fileno(file)) == 0;
  const int flush_errno = errno;
  if (std::fclose(file) != 0 || !flushed) {
    if (!flushed) errno = flush_errno;
    const absl::Status status = ErrnoError("write", path);
    std::remove(path.c_str());
    return status;
  }
  return IndexFileInfo{index.kind(), writer.bytes(), writer.crc()};
}

absl::StatusOr<IndexFileInfo> ChecksumIndexFile(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return ErrnoError("open", path);
  std::vector<unsigned char> buffer(1 << 20);
  IndexFileInfo info;
  uLong crc = crc32_z(0L, Z_NULL, 0);
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    crc = crc32_z(crc, buffer.data(), got);
    info.size_bytes += got;
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return absl::InternalError(absl::StrCat("cannot read ", path));
  info.crc32 = static_cast<uint32_t>(crc);
  return info;
}

absl::StatusOr<std::unique_ptr<CandidateIndex>> LoadIndex(
    const std::string& path, const IndexFileInfo* expected) {
  const auto invalid = [&path](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
  };
  if (expected != nullptr) {
    MOVIEREC_ASSIGN_OR_RETURN(const IndexFileInfo actual,
                              ChecksumIndexFile(path));
    if (actual.size_bytes != expected->size_bytes) {
      return invalid(absl::StrCat(
          actual.size_bytes < expected->size_bytes ? "truncated: " : "",
          "the file has ", actual.size_bytes, " bytes, expected ",
          expected->size_bytes));
    }
    if (actual.crc32 != expected->crc32) {
      return invalid("checksum mismatch: the file is corrupt");
    }
  } else if (::access(path.c_str(), R_OK) != 0) {
    return ErrnoError("open", path);
  }
  std::unique_ptr<faiss::Index> raw;
  try {
    raw.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    return invalid(absl::StrCat("not a readable FAISS index: ", e.what()));
  }
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index = Wrap(std::move(raw));
  if (!index.ok()) return invalid(index.status().message());
  if (expected != nullptr && (*index)->kind() != expected->kind) {
    return invalid(absl::StrCat("holds a ", IndexKindName((*index)->kind()),
                                " index, expected ",
                                IndexKindName(expected->kind)));
  }
  return index;
}

}  // namespace movierec
