// Storing a built CandidateIndex in a file, so that a server loads it instead
// of rebuilding it. The file is exactly what faiss::write_index writes; its
// size and CRC-32 (zlib polynomial) travel separately (in the model bundle)
// and are checked before FAISS parses a byte, so a truncated or altered file
// is refused rather than half-read.
#ifndef MOVIEREC_INDEX_INDEX_IO_H_
#define MOVIEREC_INDEX_INDEX_IO_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/candidate_index.h"
#include "index/index_options.h"

namespace movierec {

// What a reader needs to know of an index file before trusting it.
struct IndexFileInfo {
  IndexKind kind = IndexKind::kFlat;
  uint64_t size_bytes = 0;
  uint32_t crc32 = 0;
};

/// Writes `index` to `path` with faiss::write_index, replacing any file
/// there, and flushes it to disk (fsync). Returns its kind, size and CRC-32.
/// Internal naming `path` when the file cannot be written; InvalidArgument
/// when `index` was not made by this library.
absl::StatusOr<IndexFileInfo> SaveIndex(const CandidateIndex& index,
                                        const std::string& path);

/// Size and CRC-32 of the file at `path`, read in one pass. NotFound when
/// it does not exist; Internal naming `path` on a read error.
absl::StatusOr<IndexFileInfo> ChecksumIndexFile(const std::string& path);

/// Reads an index that SaveIndex wrote. With `expected`, first checks the
/// file's size, CRC-32 and then its kind against it and refuses
/// (InvalidArgument naming `path` and what differs) a mismatch; without it,
/// the file is trusted (use only for files this process wrote, such as a
/// benchmark cache). The index searches with the efSearch or nprobe saved in
/// the file and ExclusionMode::kAuto. NotFound when `path` does not exist;
/// InvalidArgument naming `path` when FAISS cannot parse it or it is not a
/// flat, HNSW or IVF inner-product index of this library. FAISS exceptions
/// never escape.
absl::StatusOr<std::unique_ptr<CandidateIndex>> LoadIndex(
    const std::string& path, const IndexFileInfo* expected);

}  // namespace movierec

#endif  // MOVIEREC_INDEX_INDEX_IO_H_
