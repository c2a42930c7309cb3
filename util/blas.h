// The BLAS this process loaded, and its threads.
//
// FAISS calls libblas.so.3 (its exhaustive searches over many queries and
// the k-means of IVF training are matrix products), which Debian's
// alternatives point at the reference BLAS (one thread) or at OpenBLAS
// (libopenblas0-pthread: its own thread pool, one thread per core unless
// told otherwise). OPENBLAS_NUM_THREADS is read once, when the library
// loads, before main: a process that wants another count calls
// SetBlasThreads, which finds OpenBLAS's openblas_set_num_threads at run
// time (dlsym), so that the binaries neither link nor need OpenBLAS.
//
// Thread-safety: LoadedBlas may be called from any thread. SetBlasThreads
// sets a process-wide count: call it at start-up, before BLAS work.
#ifndef MOVIEREC_UTIL_BLAS_H_
#define MOVIEREC_UTIL_BLAS_H_

#include <string>

namespace movierec {

struct BlasInfo {
  // The real path of the libblas.so.3 mapped into the process (symlinks
  // resolved, e.g. /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3);
  // empty when none is.
  std::string library;
  // True when OpenBLAS's functions are present.
  bool openblas = false;
  // OpenBLAS's own description (openblas_get_config, e.g. "OpenBLAS 0.3.21
  // DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64"); empty for another BLAS.
  std::string config;
  // OpenBLAS's thread count now; 1 for another BLAS (the reference BLAS
  // runs on the calling thread).
  int threads = 1;
};

// What BLAS the process loaded.
BlasInfo LoadedBlas();

// Sets OpenBLAS's thread count to `threads` (>= 1) and returns true; returns
// false and does nothing when the BLAS is not OpenBLAS (or `threads` < 1).
bool SetBlasThreads(int threads);

// One line for a log: "OpenBLAS 0.3.21 ... (/usr/lib/.../libblas.so.3),
// 1 thread", "/usr/lib/.../blas/libblas.so.3, 1 thread" or "no BLAS loaded".
std::string BlasDescription(const BlasInfo& info);

}  // namespace movierec

#endif  // MOVIEREC_UTIL_BLAS_H_
