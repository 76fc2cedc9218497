#pragma once
// y (m, n) = x (m, k) · W (k, n) + b for a handful of rows (predict one sample, small
// blocks): W is streamed once per group of up to 4 rows, straight from its row-major
// storage, with no packing. The packed GEMM pays a full pack of W per call, which costs
// ~10x the arithmetic when m is 1. Per-ISA (small_gemm_isa.cpp), dispatched here.
#include "common/types.hpp"

namespace fm::nn {

// Rows up to which small_gemm beats the packed GEMM.
inline constexpr index_t kSmallGemmMaxRows = 8;

// b may be null. y must not overlap x or W. Computes columns [j0, j1) only (j0 a multiple of
// 64 when splitting across threads); threads: the columns are split over up to this many
// threads when W is large enough (each core streams its part of W from its own cache).
template <class T>
void small_gemm(index_t m, index_t n, index_t k, const T* x, const T* W, const T* b, T* y, int threads = 1);

}  // namespace fm::nn
