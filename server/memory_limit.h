// The memory the server may use, and how gRPC's share of it is sized.
//
// --memory_limit takes a byte size ("1Gi", "512Mi", "300M", "1073741824");
// by default it is the cgroup's memory limit (memory.max under cgroup v2,
// memory.limit_in_bytes under v1), as in a container with a memory limit,
// else the machine's physical memory, the way --worker_threads follows the
// CPU limit.
#ifndef MOVIEREC_SERVER_MEMORY_LIMIT_H_
#define MOVIEREC_SERVER_MEMORY_LIMIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// A byte count as a flag value: digits with an optional suffix, K M G T
// (powers of 1000) or Ki Mi Gi Ti (powers of 1024), an optional trailing B.
// Empty (the flag's default): 0, meaning "detect". Unparsed in the largest
// binary unit that divides it exactly ("64Mi"), else in bytes.
struct ByteSize {
  int64_t bytes = 0;
};
bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error);
std::string AbslUnparseFlag(ByteSize size);

// Parses a byte count as ByteSize does; InvalidArgument naming `text`.
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text);

// The cgroup memory limit (v2, then v1), else the physical memory; at
// least 1 byte. `cgroup_root` is for tests.
int64_t DetectMemoryLimit(const std::string& cgroup_root = "/sys/fs/cgroup");

// How the memory limit is shared out.
//
// The models come first: once versions are loaded, the server reserves
// their bytes (Snapshot::model_bytes) for every version it holds (two with
// a canary: stable and candidate) plus one more of the largest, for the
// version that loads beside them before it is swapped in, and gRPC's quota
// is resized to half of what is left (GrpcQuotaFor).
struct MemoryBudget {
  // grpc::ResourceQuota: the bytes gRPC may hold in buffers and calls
  // (half of the limit; the model, the queue and the allocator's slack
  // take the rest).
  int64_t grpc_quota_bytes = 0;
  // HTTP/2 streams (calls) at once per connection: the quota over the
  // largest request, so that the calls one connection may have open fit in
  // it; 16 to 1024. A client queues further calls on its side.
  int max_concurrent_streams = 0;
};
// The budget before any model is loaded.
MemoryBudget BudgetFor(int64_t memory_limit_bytes, int max_message_bytes);

// gRPC's quota once `model_bytes` are reserved for the models: half of what
// they leave, at least an eighth of the limit (models that take more than
// the limit leave the server short; the log says so), at most half of it.
int64_t GrpcQuotaFor(int64_t memory_limit_bytes, int64_t model_bytes);

// The bytes to reserve for models of these sizes (the versions held): all
// of them, plus the largest again for a version loading beside them.
int64_t ModelReserveBytes(const std::vector<int64_t>& held_model_bytes);

}  // namespace movierec

#endif  // MOVIEREC_SERVER_MEMORY_LIMIT_H_
