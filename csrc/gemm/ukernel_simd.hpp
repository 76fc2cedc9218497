#pragma once
// Register-blocked micro-kernel over the per-ISA vector layer (vec.hpp): MR rows x NV vectors
// of accumulators stay in registers for the whole k loop; each step is NV loads of B, MR
// broadcasts of A and MR*NV FMAs, nothing else. Per-ISA include only.
#include "common/types.hpp"
#include "gemm/ukernel.hpp"

namespace fm {
namespace FM_ISA_NS {

// AS: stride between k steps of the packed A micro-panel (the table's MR; an edge kernel
// computes MR < AS rows of it).
template <class V, int MR, int NV, int AS, class T>
inline void ukr_simd(index_t k, const T* __restrict a, const T* __restrict b, index_t ldb,
                     T* __restrict c, index_t ldc, bool accumulate) {
  constexpr int W = V::width;
  typename V::reg acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  for (index_t p = 0; p < k; ++p) {
    typename V::reg bv[NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      typename V::reg av = V::bcast(a + i);
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
    a += AS;
    b += ldb;
  }

  if (accumulate) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j)
        V::store(c + i * ldc + j * W, V::add(V::load(c + i * ldc + j * W), acc[i][j]));
  } else {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, acc[i][j]);
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm

namespace fm {
namespace FM_ISA_NS {

// Edge-tile kernels: the same register-blocked loop for m <= MR rows and nv <= NV vectors,
// so a partial tile costs only what it computes. Picked once per edge tile (not per k step).
template <class V, int M, int NVmax, int AS, class T>
inline UkrFn<T> ukr_simd_pick_nv(int nv) {
  if constexpr (NVmax >= 1) {
    if (nv >= NVmax) return &ukr_simd<V, M, NVmax, AS, T>;
    return ukr_simd_pick_nv<V, M, NVmax - 1, AS, T>(nv);
  } else {
    return nullptr;
  }
}

template <class V, int Mmax, int NV, int AS, class T>
inline UkrFn<T> ukr_simd_pick(int m, int nv) {
  if constexpr (Mmax > 1) {
    if (m >= Mmax) return ukr_simd_pick_nv<V, Mmax, NV, AS, T>(nv);
    return ukr_simd_pick<V, Mmax - 1, NV, AS, T>(m, nv);
  } else {
    return ukr_simd_pick_nv<V, 1, NV, AS, T>(nv);
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
