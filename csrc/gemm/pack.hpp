#pragma once
// Packing of op(A) and op(B) into the micro-panel layouts the micro-kernel streams through.
// Handles both transpose flags and any leading dimension; pads edge panels with zeros so
// the kernel never needs a bound check. Per-ISA include only.
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

// op(A)[rows r0.., cols p0..] (m x k block) -> ceil(m/MR) micro-panels of k x MR.
// op(A)[i][p] = trans ? A[p*lda + i] : A[i*lda + p].
template <int MR, class T>
inline void pack_a(bool trans, const T* A, index_t lda, index_t r0, index_t p0, index_t m,
                   index_t k, T* __restrict dst) {
  for (index_t i0 = 0; i0 < m; i0 += MR, dst += k * MR) {
    const index_t mr = m - i0 < MR ? m - i0 : MR;
    if (trans) {
      // Rows of A are columns of op(A): MR contiguous values per step.
      const T* src = A + p0 * lda + (r0 + i0);
      if (mr == MR) {
        for (index_t p = 0; p < k; ++p, src += lda)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
      } else {
        for (index_t p = 0; p < k; ++p, src += lda)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr ? src[i] : T(0);
      }
    } else {
      // MR rows of A read in parallel, interleaved into the panel.
      const T* src = A + (r0 + i0) * lda + p0;
      for (index_t i = 0; i < MR; ++i) {
        T* d = dst + i;
        if (i < mr) {
          const T* s = src + i * lda;
          for (index_t p = 0; p < k; ++p) d[p * MR] = s[p];
        } else {
          for (index_t p = 0; p < k; ++p) d[p * MR] = T(0);
        }
      }
    }
  }
}

// op(B)[rows p0.., cols c0..] (k x n block) -> ceil(n/NR) micro-panels of k x NR.
// op(B)[p][j] = trans ? B[j*ldb + p] : B[p*ldb + j].
template <int NR, class T>
inline void pack_b(bool trans, const T* B, index_t ldb, index_t p0, index_t c0, index_t k,
                   index_t n, T* __restrict dst) {
  for (index_t j0 = 0; j0 < n; j0 += NR, dst += k * NR) {
    const index_t nr = n - j0 < NR ? n - j0 : NR;
    if (!trans) {
      const T* src = B + p0 * ldb + (c0 + j0);
      if (nr == NR) {
        for (index_t p = 0; p < k; ++p, src += ldb)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = src[j];
      } else {
        for (index_t p = 0; p < k; ++p, src += ldb)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? src[j] : T(0);
      }
    } else {
      // Rows of B are columns of op(B): transpose NR rows into the panel.
      const T* src = B + (c0 + j0) * ldb + p0;
      for (index_t j = 0; j < NR; ++j) {
        T* d = dst + j;
        if (j < nr) {
          const T* s = src + j * ldb;
          for (index_t p = 0; p < k; ++p) d[p * NR] = s[p];
        } else {
          for (index_t p = 0; p < k; ++p) d[p * NR] = T(0);
        }
      }
    }
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
