#pragma once
// Introspection of the active GEMM table (for tests and benchmarks): which micro-kernel and
// block sizes run, and how many threads a shape gets. An addition beside gemm.hpp.
#include "common/types.hpp"

namespace fm {

struct GemmInfo {
  const char* isa;
  const char* ukernel;
  int mr, nr;
  index_t mc, kc, nc;
  bool one_row;           // M == 1 path (streams B rows)
  index_t sup_max_m;      // few-row path up to this M (0: none)
  index_t sup_split_min;  // weights (N x K) from which those paths split columns over threads
};

template <class T>
GemmInfo gemm_info();

// GFLOP/s of a loop of independent float32 FMAs on the active table's vectors, on `threads`
// threads, the best round in about `seconds`: the FP32 peak the GEMM is measured against.
double fp32_peak_gflops(int threads, double seconds);

// Threads gemm_threads(cap, ...) would use for this shape.
template <class T>
int gemm_threads_for(index_t M, index_t N, index_t K, int cap);

}  // namespace fm
