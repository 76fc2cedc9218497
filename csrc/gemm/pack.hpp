#pragma once
// Packing of op(A) and op(B) into the micro-panel layouts the micro-kernel streams through.
// Handles both transpose flags and any leading dimension; pads edge panels with zeros so
// the kernel never needs a bound check. Per-ISA include only.
#include <type_traits>

#include "common/types.hpp"

#if defined(FM_ISA_avx2) || defined(FM_ISA_avx512)
#include <immintrin.h>
#endif

namespace fm {
namespace FM_ISA_NS {

// Square in-register transpose of a TB x TB block: d[j*ldd + i] = s[i*lds + j].
// TB = 8 floats / 4 doubles with AVX; 1 (scalar) otherwise.
template <class T>
struct Transpose {
  static constexpr int TB = 1;
  static void block(const T* s, index_t, T* d, index_t) { d[0] = s[0]; }
};
#if defined(FM_ISA_avx2) || defined(FM_ISA_avx512)
// Transposes the eight 8-float rows r[0..7] in registers and stores row i of the result at
// d + i * ldd (shared by the B transpose and the A interleave, so both stay register-only).
inline void transpose8x8_store(const __m256* r, float* d, index_t ldd) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
         t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]),
         t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
         t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
template <>
struct Transpose<float> {
  static constexpr int TB = 8;
  static void block(const float* s, index_t lds, float* d, index_t ldd) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * lds);
    transpose8x8_store(r, d, ldd);
  }
};
template <>
struct Transpose<double> {
  static constexpr int TB = 4;
  static void block(const double* s, index_t lds, double* d, index_t ldd) {
    __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + lds),
            r2 = _mm256_loadu_pd(s + 2 * lds), r3 = _mm256_loadu_pd(s + 3 * lds);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
            t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
  }
};
#endif

// dst[p*ldd + j] = src[j*lds + p] for j < n, p < k (a k x n panel from n rows of length k),
// through TB x TB register transposes with scalar fringes.
template <class T>
inline void transpose_into(const T* src, index_t lds, index_t n, index_t k, T* __restrict dst,
                           index_t ldd) {
  constexpr int TB = Transpose<T>::TB;
  const index_t n_full = n / TB * TB, k_full = k / TB * TB;
  for (index_t p = 0; p < k_full; p += TB) {
    for (index_t j = 0; j < n_full; j += TB)
      Transpose<T>::block(src + j * lds + p, lds, dst + p * ldd + j, ldd);
    for (index_t j = n_full; j < n; ++j)
      for (index_t q = p; q < p + TB; ++q) dst[q * ldd + j] = src[j * lds + q];
  }
  for (index_t p = k_full; p < k; ++p)
    for (index_t j = 0; j < n; ++j) dst[p * ldd + j] = src[j * lds + p];
}

// Interleaves MR rows of length k (lds apart) into a k x MR panel, 8 steps at a time through
// 8x8 register transposes (rows past MR read as zero).
// Returns the steps done; the caller finishes the rest.
template <int MR, class T>
inline index_t interleave_rows_simd(const T* src, index_t lds, index_t k, T* __restrict dst) {
#if defined(FM_ISA_avx2) || defined(FM_ISA_avx512)
  if constexpr (std::is_same_v<T, float> && MR <= 8) {
    index_t p = 0;
    // Full 8-lane stores (masked stores are slow on AMD): lanes past MR spill into the next
    // step's slot, which a later store or the caller's tail overwrites, hence p + 8 < k.
    for (; p + 8 < k; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] = i < MR ? _mm256_loadu_ps(src + i * lds + p) : _mm256_setzero_ps();
      transpose8x8_store(r, dst + p * MR, MR);
    }
    return p;
  }
#endif
  return 0;
}

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
      const index_t done = mr == MR ? interleave_rows_simd<MR>(src, lda, k, dst) : 0;
      for (index_t i = 0; i < MR; ++i) {
        T* d = dst + i;
        if (i < mr) {
          const T* s = src + i * lda;
          for (index_t p = done; p < k; ++p) d[p * MR] = s[p];
        } else {
          for (index_t p = 0; p < k; ++p) d[p * MR] = T(0);
        }
      }
    }
  }
}

// op(B)[rows p0.., cols c0..] (k x n block) -> ceil(n/NR) micro-panels of k x NR.
// op(B)[p][j] = trans ? B[j*ldb + p] : B[p*ldb + j].
// Columns of a partial B micro-panel that must be valid (zero past n): whole 64-byte vectors,
// the widest any micro-kernel reads; the columns beyond are never read.
template <int NR, class T>
constexpr index_t padded_cols(index_t n) {
  constexpr index_t V = 64 / sizeof(T);
  const index_t r = (n + V - 1) / V * V;
  return r < NR ? r : NR;
}

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
        const index_t pad = padded_cols<NR, T>(nr);
        for (index_t p = 0; p < k; ++p, src += ldb)
          for (index_t j = 0; j < pad; ++j) dst[p * NR + j] = j < nr ? src[j] : T(0);
      }
    } else {
      // Rows of B are columns of op(B): transpose nr rows into the panel, zero the rest.
      transpose_into(B + (c0 + j0) * ldb + p0, ldb, nr, k, dst, NR);
      const index_t pad = padded_cols<NR, T>(nr);
      for (index_t p = 0; p < k; ++p)
        for (index_t j = nr; j < pad; ++j) dst[p * NR + j] = T(0);
    }
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
