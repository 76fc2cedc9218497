#pragma once
// Register-blocked micro-kernel over the per-ISA vector layer (vec.hpp): MR rows x NV vectors
// of accumulators stay in registers for the whole k loop; each step is NV loads of B, MR
// broadcasts of A and MR*NV FMAs, nothing else. Per-ISA include only.
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class V, int MR, int NV, class T>
inline void ukr_simd(index_t k, const T* __restrict a, const T* __restrict b, index_t ldb,
                     T* __restrict c, index_t ldc, bool accumulate) {
  constexpr int W = V::width;
  typename V::reg acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  for (index_t p = 0; p < k; ++p) {
    typename V::reg bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      typename V::reg av = V::bcast(a + i);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
    a += MR;
    b += ldb;
  }

  if (accumulate) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j)
        V::store(c + i * ldc + j * W, V::add(V::load(c + i * ldc + j * W), acc[i][j]));
  } else {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, acc[i][j]);
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
