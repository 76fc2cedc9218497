#pragma once
// The micro-kernel signature and the per-ISA GEMM table (ISA-neutral: the dispatcher,
// compiled once, reads it; every field is filled by a per-ISA source).
#include "common/types.hpp"
#include "gemm/gemm.hpp"

namespace fm {

// Micro-kernel: the MR x NR tile C (row-major, ldc) is set (accumulate = false; C is never
// read) or incremented by Ap · Bp over k steps. Ap is a packed micro-panel (k x MR, MR
// contiguous per step); Bp holds k rows of NR contiguous values, ldb apart (NR when packed).
// Branch-free: edge tiles go through a stack tile in the driver.
template <class T>
using UkrFn = void (*)(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc,
                       bool accumulate);

// The few-row path's kernel: as UkrFn, but op(A)'s element (row i, step p) is read in place at
// a + i * rs + p * ps.
template <class T>
using SupFn = void (*)(index_t k, const T* a, index_t rs, index_t ps, const T* b, index_t ldb, T* c,
                       index_t ldc, bool accumulate);

// One GEMM call, sizes already checked.
template <class T>
struct GemmArgs {
  bool trans_a, trans_b;
  index_t M, N, K;
  const T* A;
  index_t lda;
  const T* B;
  index_t ldb;
  T beta;  // 0 or 1
  T* C;
  index_t ldc;
  const Epilogue<T>* ep;
};

// Checks every size and pointer of a GEMM call (std::invalid_argument, before any memory is
// touched) and bundles them (dispatch.cpp; shared by the float and bf16 entry points).
template <class T>
GemmArgs<T> gemm_checked_args(bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                              const T* A, index_t lda, const T* B, index_t ldb, T beta, T* C,
                              index_t ldc, const Epilogue<T>& ep);

// Per-ISA block sizes and driver (BLIS's cntx): MR x NR register tile, MC x KC block of A
// (L2), KC x NC panel of B (L3), KC x NR micro-panel of B (L1); and the small-matrix ("sup")
// thresholds: op(B) not transposed and M == 1 (one_row) or M <= sup_max_m runs without
// packing B, when one thread pays.
template <class T>
struct GemmTable {
  const char* isa;
  const char* ukr_name;  // ukr_<dtype>_<isa>_<MR>x<NR>
  int mr, nr;
  index_t mc, kc, nc;
  bool one_row;           // M == 1 streams B rows (gemm_row)
  index_t sup_max_m;      // 2 <= M <= sup_max_m streams B without packing (gemm_sup); 0: none
  index_t sup_split_min;  // those paths split B's columns over threads from this many weights
  void (*run)(const GemmArgs<T>& g, int threads);  // five loops / small path, threaded
  int (*threads_for)(index_t M, index_t N, index_t K, int cap);  // threads that pay off
};

}  // namespace fm
