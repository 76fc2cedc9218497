#pragma once
// Register-blocked micro-kernel over the per-ISA vector layer (vec.hpp): MR rows x NV vectors
// of accumulators stay in registers for the whole k loop; each step is NV loads of B, MR
// broadcasts of A and MR*NV FMAs, nothing else. Per-ISA include only.
#include "common/types.hpp"
#include "gemm/ukernel.hpp"

namespace fm {
namespace FM_ISA_NS {

// The register-blocked loop, reading op(A)'s element (row i, step p) at a + i * rs + p * ps:
// rs = 1, ps = MR for a packed micro-panel (ukr_simd); rs = lda, ps = 1 (or rs = 1, ps = lda
// when transposed) for a few rows of A read in place (the few-row path: nothing packed).
template <class V, int MR, int NV, class T>
inline void ukr_simd_strided(index_t k, const T* __restrict a, index_t rs, index_t ps,
                             const T* __restrict b, index_t ldb, T* __restrict c, index_t ldc,
                             bool accumulate) {
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
      typename V::reg av = V::bcast(a + i * rs);
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
    a += ps;
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

// The micro-kernel (UkrFn): AS is the stride between k steps of the packed A micro-panel (the
// table's MR; an edge kernel computes MR < AS rows of it).
template <class V, int MR, int NV, int AS, class T>
inline void ukr_simd(index_t k, const T* __restrict a, const T* __restrict b, index_t ldb,
                     T* __restrict c, index_t ldc, bool accumulate) {
  ukr_simd_strided<V, MR, NV>(k, a, index_t{1}, index_t{AS}, b, ldb, c, ldc, accumulate);
}

}  // namespace FM_ISA_NS
}  // namespace fm

namespace fm {
namespace FM_ISA_NS {

// Edge-tile kernels: the same register-blocked loop for m <= MR rows and nv <= NV vectors,
// so a partial tile costs only what it computes. Picked once per edge tile (not per k step).
// Kernels::get<M, NV>() names one kernel of a family (packed or strided A).
template <class Kernels, int M, int NVmax>
inline typename Kernels::Fn pick_nv(int nv) {
  if constexpr (NVmax >= 1) {
    if (nv >= NVmax) return Kernels::template get<M, NVmax>();
    return pick_nv<Kernels, M, NVmax - 1>(nv);
  } else {
    return nullptr;
  }
}

template <class Kernels, int Mmax, int NV>
inline typename Kernels::Fn pick(int m, int nv) {
  if constexpr (Mmax > 1) {
    if (m >= Mmax) return pick_nv<Kernels, Mmax, NV>(nv);
    return pick<Kernels, Mmax - 1, NV>(m, nv);
  } else {
    return pick_nv<Kernels, 1, NV>(nv);
  }
}

template <class V, int AS, class T>
struct PackedKernels {
  using Fn = UkrFn<T>;
  template <int M, int NV>
  static Fn get() {
    return &ukr_simd<V, M, NV, AS, T>;
  }
};

template <class V, class T>
struct StridedKernels {
  using Fn = SupFn<T>;
  template <int M, int NV>
  static Fn get() {
    return &ukr_simd_strided<V, M, NV, T>;
  }
};

template <class V, int M, int NVmax, int AS, class T>
inline UkrFn<T> ukr_simd_pick_nv(int nv) {
  return pick_nv<PackedKernels<V, AS, T>, M, NVmax>(nv);
}

template <class V, int Mmax, int NV, int AS, class T>
inline UkrFn<T> ukr_simd_pick(int m, int nv) {
  return pick<PackedKernels<V, AS, T>, Mmax, NV>(m, nv);
}

// The few-row path's kernels (A read in place), m <= Mmax rows, nv <= NV vectors.
template <class V, int Mmax, int NV, class T>
inline SupFn<T> ukr_strided_pick(int m, int nv) {
  return pick<StridedKernels<V, T>, Mmax, NV>(m, nv);
}

}  // namespace FM_ISA_NS
}  // namespace fm
