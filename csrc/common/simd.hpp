#pragma once
// A thin vector layer (ggml's simd-mappings idea): one set of overloaded functions over the
// register type the translation unit's flags allow, so every kernel is written once.
//
//   __AVX512F__ -> vec_t<float> = __m512  (16 lanes), vec_t<double> = __m512d (8 lanes)
//   __AVX2__    -> vec_t<float> = __m256  ( 8 lanes), vec_t<double> = __m256d (4 lanes)
//   otherwise   -> vec_t<T> = T (1 lane); the math functions are then the C library's.
//
// Only included from per-ISA sources (fm_isa_objects): everything lives in fm::FM_ISA_NS.
// All functions are lane-wise (except the documented reductions), so a value gets the same
// result whatever lane or tail it is computed in: fused (GEMM epilogue) and unfused paths
// agree bit for bit within one ISA.
//
// Conventions
//   vmax(a, b) / vmin(a, b): x86 semantics, b is returned when either is NaN, so
//     vmax(zero, x) propagates a NaN x (relu(NaN) = NaN, as torch).
//   vselect(m, a, b) = m ? a : b, lane-wise.
//   vload/vstore need kVecAlign-aligned pointers; vloadu/vstoreu do not;
//   vload_tail/vstore_tail touch only the first n (0 <= n < width) lanes, the rest read 0;
//   vlanes_lt<T>(n) is the mask of the first n lanes (for reductions over a tail).
//
// Accuracy (vector paths; the scalar path uses <cmath>):
//   float : vexp, vlog ~1 ulp; vexpm1, vlog1p, vtanh, verf, verfc <= ~2e-7 relative (erfc relative
//           down to its float underflow at 10.05).
//   double: vexp, vexpm1, vlog ~1 ulp (polynomials), vtanh ~2 ulp, verf, verfc <= ~1e-15 relative.
#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() (a self-initialized variable) and
// warn at every inlined use under -Wall; a known false positive. Left on for the rest of the TU
// because the warning fires where the intrinsic is inlined, not here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "common/types.hpp"

#ifndef FM_ISA_NS
#error "common/simd.hpp is only for per-ISA sources (compiled with FM_ISA_NS, see common/isa.hpp)"
#endif

namespace fm {
namespace FM_ISA_NS {

template <class T>
struct VecTraits;

#if defined(__AVX512F__)
#define FM_SIMD_AVX512 1
template <>
struct VecTraits<float> {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int width = 16;
};
template <>
struct VecTraits<double> {
  using reg = __m512d;
  using mask = __mmask8;
  static constexpr int width = 8;
};
#elif defined(__AVX2__)
#define FM_SIMD_AVX2 1
template <>
struct VecTraits<float> {
  using reg = __m256;
  using mask = __m256;
  static constexpr int width = 8;
};
template <>
struct VecTraits<double> {
  using reg = __m256d;
  using mask = __m256d;
  static constexpr int width = 4;
};
#else
#define FM_SIMD_SCALAR 1
template <>
struct VecTraits<float> {
  using reg = float;
  using mask = bool;
  static constexpr int width = 1;
};
template <>
struct VecTraits<double> {
  using reg = double;
  using mask = bool;
  static constexpr int width = 1;
};
#endif

template <class T>
using vec_t = typename VecTraits<T>::reg;
template <class T>
using vmask_t = typename VecTraits<T>::mask;
template <class T>
inline constexpr int kVecWidth = VecTraits<T>::width;
inline constexpr int kVecAlign = 64;

// ---------------------------------------------------------------------------------------------
// Memory, broadcast, arithmetic, compare/select, reductions: one block per ISA.
// ---------------------------------------------------------------------------------------------
#if defined(FM_SIMD_AVX512)

inline __m512 vload(const float* p) { return _mm512_load_ps(p); }
inline __m512d vload(const double* p) { return _mm512_load_pd(p); }
inline __m512 vloadu(const float* p) { return _mm512_loadu_ps(p); }
inline __m512d vloadu(const double* p) { return _mm512_loadu_pd(p); }
inline void vstore(float* p, __m512 v) { _mm512_store_ps(p, v); }
inline void vstore(double* p, __m512d v) { _mm512_store_pd(p, v); }
inline void vstoreu(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void vstoreu(double* p, __m512d v) { _mm512_storeu_pd(p, v); }
inline __mmask16 tail_mask16(index_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
inline __mmask8 tail_mask8(index_t n) { return static_cast<__mmask8>((1u << n) - 1u); }
inline __m512 vload_tail(const float* p, index_t n) { return _mm512_maskz_loadu_ps(tail_mask16(n), p); }
inline __m512d vload_tail(const double* p, index_t n) { return _mm512_maskz_loadu_pd(tail_mask8(n), p); }
inline void vstore_tail(float* p, __m512 v, index_t n) { _mm512_mask_storeu_ps(p, tail_mask16(n), v); }
inline void vstore_tail(double* p, __m512d v, index_t n) { _mm512_mask_storeu_pd(p, tail_mask8(n), v); }
// Mask of the first n lanes (0 <= n <= width), for reductions over a tail.
template <class T>
inline vmask_t<T> vlanes_lt(index_t n) {
  if constexpr (sizeof(T) == 4) return n >= 16 ? __mmask16(0xFFFF) : tail_mask16(n);
  else return n >= 8 ? __mmask8(0xFF) : tail_mask8(n);
}

inline __m512 vset1(float x) { return _mm512_set1_ps(x); }
inline __m512d vset1(double x) { return _mm512_set1_pd(x); }

inline __m512 vadd(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m512d vadd(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }
inline __m512 vsub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
inline __m512d vsub(__m512d a, __m512d b) { return _mm512_sub_pd(a, b); }
inline __m512 vmul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
inline __m512d vmul(__m512d a, __m512d b) { return _mm512_mul_pd(a, b); }
inline __m512 vdiv(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
inline __m512d vdiv(__m512d a, __m512d b) { return _mm512_div_pd(a, b); }
inline __m512 vfma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m512d vfma(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
inline __m512 vfnma(__m512 a, __m512 b, __m512 c) { return _mm512_fnmadd_ps(a, b, c); }
inline __m512d vfnma(__m512d a, __m512d b, __m512d c) { return _mm512_fnmadd_pd(a, b, c); }
inline __m512 vmax(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
inline __m512d vmax(__m512d a, __m512d b) { return _mm512_max_pd(a, b); }
inline __m512 vmin(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
inline __m512d vmin(__m512d a, __m512d b) { return _mm512_min_pd(a, b); }
inline __m512 vsqrt(__m512 a) { return _mm512_sqrt_ps(a); }
inline __m512d vsqrt(__m512d a) { return _mm512_sqrt_pd(a); }
inline __m512 vabs(__m512 a) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
inline __m512d vabs(__m512d a) {
  return _mm512_castsi512_pd(
      _mm512_and_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(0x7fffffffffffffffLL)));
}
// Copies the sign of s onto |m|.
inline __m512 vcopysign(__m512 m, __m512 s) {
  __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castps_si512(m)),
                                             _mm512_and_si512(sign, _mm512_castps_si512(s))));
}
inline __m512d vcopysign(__m512d m, __m512d s) {
  __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
  return _mm512_castsi512_pd(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castpd_si512(m)),
                                             _mm512_and_si512(sign, _mm512_castpd_si512(s))));
}

inline __mmask16 vlt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline __mmask8 vlt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
inline __mmask16 vle(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline __mmask8 vle(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
inline __mmask16 vgt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline __mmask8 vgt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
inline __mmask16 vge(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline __mmask8 vge(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
inline __mmask16 veq(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline __mmask8 veq(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
inline __mmask16 visnan(__m512 a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline __mmask8 visnan(__m512d a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
inline __m512 vselect(__mmask16 m, __m512 a, __m512 b) { return _mm512_mask_blend_ps(m, b, a); }
inline __m512d vselect(__mmask8 m, __m512d a, __m512d b) { return _mm512_mask_blend_pd(m, b, a); }
inline __mmask16 vmask_and(__mmask16 a, __mmask16 b) { return a & b; }
inline __mmask8 vmask_and(__mmask8 a, __mmask8 b) { return a & b; }
inline __mmask16 vmask_or(__mmask16 a, __mmask16 b) { return a | b; }
inline __mmask8 vmask_or(__mmask8 a, __mmask8 b) { return a | b; }
// Bit i set when lane i of the mask is true.
inline unsigned vmask_bits(__mmask16 m) { return m; }
inline unsigned vmask_bits(__mmask8 m) { return m; }

// Horizontal reductions: a fixed tree, so the same data always gives the same sum.
inline float vreduce_add(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline double vreduce_add(__m512d v) {
  __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  q = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
  return _mm_cvtsd_f64(q);
}
inline float vreduce_max(__m512 v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  q = _mm_max_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline double vreduce_max(__m512d v) {
  __m256d h = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d q = _mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  q = _mm_max_sd(q, _mm_unpackhi_pd(q, q));
  return _mm_cvtsd_f64(q);
}

// Exponent helpers used by the math below.
inline __m512 vround(__m512 x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m512d vround(__m512d x) { return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// x * 2^n for integral n (any range: overflow -> inf, underflow -> denormal/0).
inline __m512 vldexp(__m512 x, __m512 n) { return _mm512_scalef_ps(x, n); }
inline __m512d vldexp(__m512d x, __m512d n) { return _mm512_scalef_pd(x, n); }
// For finite x > 0 (denormals included): x = m * 2^e with m in [1, 2).
inline __m512 vfrexp1(__m512 x, __m512* e) {
  *e = _mm512_getexp_ps(x);
  return _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}
inline __m512d vfrexp1(__m512d x, __m512d* e) {
  *e = _mm512_getexp_pd(x);
  return _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}

#elif defined(FM_SIMD_AVX2)

inline __m256 vload(const float* p) { return _mm256_load_ps(p); }
inline __m256d vload(const double* p) { return _mm256_load_pd(p); }
inline __m256 vloadu(const float* p) { return _mm256_loadu_ps(p); }
inline __m256d vloadu(const double* p) { return _mm256_loadu_pd(p); }
inline void vstore(float* p, __m256 v) { _mm256_store_ps(p, v); }
inline void vstore(double* p, __m256d v) { _mm256_store_pd(p, v); }
inline void vstoreu(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
inline void vstoreu(double* p, __m256d v) { _mm256_storeu_pd(p, v); }
inline __m256i tail_mask32(index_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i tail_mask64(index_t n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline __m256 vload_tail(const float* p, index_t n) { return _mm256_maskload_ps(p, tail_mask32(n)); }
inline __m256d vload_tail(const double* p, index_t n) { return _mm256_maskload_pd(p, tail_mask64(n)); }
inline void vstore_tail(float* p, __m256 v, index_t n) { _mm256_maskstore_ps(p, tail_mask32(n), v); }
inline void vstore_tail(double* p, __m256d v, index_t n) { _mm256_maskstore_pd(p, tail_mask64(n), v); }
template <class T>
inline vmask_t<T> vlanes_lt(index_t n) {
  if constexpr (sizeof(T) == 4) return _mm256_castsi256_ps(tail_mask32(n));
  else return _mm256_castsi256_pd(tail_mask64(n));
}

inline __m256 vset1(float x) { return _mm256_set1_ps(x); }
inline __m256d vset1(double x) { return _mm256_set1_pd(x); }

inline __m256 vadd(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m256d vadd(__m256d a, __m256d b) { return _mm256_add_pd(a, b); }
inline __m256 vsub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
inline __m256d vsub(__m256d a, __m256d b) { return _mm256_sub_pd(a, b); }
inline __m256 vmul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
inline __m256d vmul(__m256d a, __m256d b) { return _mm256_mul_pd(a, b); }
inline __m256 vdiv(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
inline __m256d vdiv(__m256d a, __m256d b) { return _mm256_div_pd(a, b); }
inline __m256 vfma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256d vfma(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }
inline __m256 vfnma(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }
inline __m256d vfnma(__m256d a, __m256d b, __m256d c) { return _mm256_fnmadd_pd(a, b, c); }
inline __m256 vmax(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
inline __m256d vmax(__m256d a, __m256d b) { return _mm256_max_pd(a, b); }
inline __m256 vmin(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
inline __m256d vmin(__m256d a, __m256d b) { return _mm256_min_pd(a, b); }
inline __m256 vsqrt(__m256 a) { return _mm256_sqrt_ps(a); }
inline __m256d vsqrt(__m256d a) { return _mm256_sqrt_pd(a); }
inline __m256 vabs(__m256 a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline __m256d vabs(__m256d a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
inline __m256 vcopysign(__m256 m, __m256 s) {
  __m256 sign = _mm256_set1_ps(-0.0f);
  return _mm256_or_ps(_mm256_andnot_ps(sign, m), _mm256_and_ps(sign, s));
}
inline __m256d vcopysign(__m256d m, __m256d s) {
  __m256d sign = _mm256_set1_pd(-0.0);
  return _mm256_or_pd(_mm256_andnot_pd(sign, m), _mm256_and_pd(sign, s));
}

inline __m256 vlt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline __m256d vlt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
inline __m256 vle(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline __m256d vle(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
inline __m256 vgt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline __m256d vgt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
inline __m256 vge(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline __m256d vge(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
inline __m256 veq(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline __m256d veq(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
inline __m256 visnan(__m256 a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline __m256d visnan(__m256d a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
inline __m256 vselect(__m256 m, __m256 a, __m256 b) { return _mm256_blendv_ps(b, a, m); }
inline __m256d vselect(__m256d m, __m256d a, __m256d b) { return _mm256_blendv_pd(b, a, m); }
inline __m256 vmask_and(__m256 a, __m256 b) { return _mm256_and_ps(a, b); }
inline __m256d vmask_and(__m256d a, __m256d b) { return _mm256_and_pd(a, b); }
inline __m256 vmask_or(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
inline __m256d vmask_or(__m256d a, __m256d b) { return _mm256_or_pd(a, b); }
inline unsigned vmask_bits(__m256 m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }
inline unsigned vmask_bits(__m256d m) { return static_cast<unsigned>(_mm256_movemask_pd(m)); }

inline float vreduce_add(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline double vreduce_add(__m256d v) {
  __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  q = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
  return _mm_cvtsd_f64(q);
}
inline float vreduce_max(__m256 v) {
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  q = _mm_max_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline double vreduce_max(__m256d v) {
  __m128d q = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  q = _mm_max_sd(q, _mm_unpackhi_pd(q, q));
  return _mm_cvtsd_f64(q);
}

inline __m256 vround(__m256 x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m256d vround(__m256d x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral n in [-126, 127] (float) / [-1022, 1023] (double), built in the exponent bits.
inline __m256 pow2i(__m256 n) {
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
inline __m256d pow2i(__m256d n) {
  // n + 1.5*2^52 puts n in the low mantissa bits (no AVX2 double -> int64 conversion).
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);
  __m256i bits = _mm256_castpd_si256(_mm256_add_pd(n, magic));
  __m256i e = _mm256_add_epi64(bits, _mm256_set1_epi64x(1023));
  return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
}
// x * 2^n for integral n with |n| up to twice the exponent range (two in-range factors).
inline __m256 vldexp(__m256 x, __m256 n) {
  __m256 n1 = _mm256_floor_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)));
  return _mm256_mul_ps(_mm256_mul_ps(x, pow2i(n1)), pow2i(_mm256_sub_ps(n, n1)));
}
inline __m256d vldexp(__m256d x, __m256d n) {
  __m256d n1 = _mm256_floor_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)));
  return _mm256_mul_pd(_mm256_mul_pd(x, pow2i(n1)), pow2i(_mm256_sub_pd(n, n1)));
}
// For finite x > 0: x = m * 2^e with m in [1, 2). Denormals are scaled up first.
inline __m256 vfrexp1(__m256 x, __m256* e) {
  __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  x = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(16777216.0f)), tiny);
  __m256i bits = _mm256_castps_si256(x);
  __m256i ei = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
  *e = _mm256_sub_ps(_mm256_cvtepi32_ps(ei), _mm256_and_ps(tiny, _mm256_set1_ps(24.0f)));
  __m256i m = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                              _mm256_set1_epi32(0x3f800000));
  return _mm256_castsi256_ps(m);
}
inline __m256d vfrexp1(__m256d x, __m256d* e) {
  __m256d tiny = _mm256_cmp_pd(x, _mm256_set1_pd(2.2250738585072014e-308), _CMP_LT_OQ);
  x = _mm256_blendv_pd(x, _mm256_mul_pd(x, _mm256_set1_pd(18014398509481984.0)), tiny);  // 2^54
  __m256i bits = _mm256_castpd_si256(x);
  // The biased exponent (11 bits) as a double, via the 2^52 magic.
  const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
  __m256i eb = _mm256_or_si256(_mm256_srli_epi64(bits, 52), _mm256_castpd_si256(two52));
  __m256d ed = _mm256_sub_pd(_mm256_castsi256_pd(eb), two52);
  *e = _mm256_sub_pd(_mm256_sub_pd(ed, _mm256_set1_pd(1023.0)), _mm256_and_pd(tiny, _mm256_set1_pd(54.0)));
  __m256i m = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                              _mm256_set1_epi64x(0x3ff0000000000000LL));
  return _mm256_castsi256_pd(m);
}

#else  // scalar

inline float vload(const float* p) { return *p; }
inline double vload(const double* p) { return *p; }
inline float vloadu(const float* p) { return *p; }
inline double vloadu(const double* p) { return *p; }
inline void vstore(float* p, float v) { *p = v; }
inline void vstore(double* p, double v) { *p = v; }
inline void vstoreu(float* p, float v) { *p = v; }
inline void vstoreu(double* p, double v) { *p = v; }
inline float vload_tail(const float* p, index_t n) { return n > 0 ? *p : 0.0f; }
inline double vload_tail(const double* p, index_t n) { return n > 0 ? *p : 0.0; }
inline void vstore_tail(float* p, float v, index_t n) { if (n > 0) *p = v; }
inline void vstore_tail(double* p, double v, index_t n) { if (n > 0) *p = v; }
template <class T>
inline bool vlanes_lt(index_t n) { return n > 0; }

inline float vset1(float x) { return x; }
inline double vset1(double x) { return x; }
template <class T> inline T vadd(T a, T b) { return a + b; }
template <class T> inline T vsub(T a, T b) { return a - b; }
template <class T> inline T vmul(T a, T b) { return a * b; }
template <class T> inline T vdiv(T a, T b) { return a / b; }
// No FMA instruction in the generic build: a separate multiply and add (never a libm fma call).
template <class T> inline T vfma(T a, T b, T c) { return a * b + c; }
template <class T> inline T vfnma(T a, T b, T c) { return c - a * b; }
template <class T> inline T vmax(T a, T b) { return a > b ? a : b; }
template <class T> inline T vmin(T a, T b) { return a < b ? a : b; }
template <class T> inline T vsqrt(T a) { return std::sqrt(a); }
template <class T> inline T vabs(T a) { return std::fabs(a); }
template <class T> inline T vcopysign(T m, T s) { return std::copysign(m, s); }
template <class T> inline bool vlt(T a, T b) { return a < b; }
template <class T> inline bool vle(T a, T b) { return a <= b; }
template <class T> inline bool vgt(T a, T b) { return a > b; }
template <class T> inline bool vge(T a, T b) { return a >= b; }
template <class T> inline bool veq(T a, T b) { return a == b; }
template <class T> inline bool visnan(T a) { return a != a; }
template <class T> inline T vselect(bool m, T a, T b) { return m ? a : b; }
inline bool vmask_and(bool a, bool b) { return a && b; }
inline bool vmask_or(bool a, bool b) { return a || b; }
inline unsigned vmask_bits(bool m) { return m ? 1u : 0u; }
template <class T> inline T vreduce_add(T v) { return v; }
template <class T> inline T vreduce_max(T v) { return v; }

#endif

template <class T>
inline vec_t<T> vzero() {
  return vset1(T(0));
}

// ---------------------------------------------------------------------------------------------
// 32-bit unsigned integer lanes (counter-based RNG): vu32_t holds kU32Width lanes.
// vu32_mulhilo(a, m, &hi) returns the low 32 bits of a * m and stores the high 32 bits.
// ---------------------------------------------------------------------------------------------
#if defined(FM_SIMD_AVX512)
using vu32_t = __m512i;
inline constexpr int kU32Width = 16;
inline __m512i vu32_set1(std::uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
inline __m512i vu32_loadu(const std::uint32_t* p) { return _mm512_loadu_si512(p); }
inline void vu32_storeu(std::uint32_t* p, __m512i v) { _mm512_storeu_si512(p, v); }
inline __m512i vu32_add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
inline __m512i vu32_xor(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }
inline __m512i vu32_mulhilo(__m512i a, std::uint32_t m, __m512i* hi) {
  const __m512i vm = _mm512_set1_epi32(static_cast<int>(m));
  __m512i even = _mm512_mul_epu32(a, vm);                         // lanes 0, 2, ...: 64-bit products
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), vm);   // lanes 1, 3, ...
  *hi = _mm512_mask_blend_epi32(__mmask16(0xAAAA), _mm512_srli_epi64(even, 32), odd);
  return _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_slli_epi64(odd, 32));
}
#elif defined(FM_SIMD_AVX2)
using vu32_t = __m256i;
inline constexpr int kU32Width = 8;
inline __m256i vu32_set1(std::uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
inline __m256i vu32_loadu(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void vu32_storeu(std::uint32_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
inline __m256i vu32_add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
inline __m256i vu32_xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
inline __m256i vu32_mulhilo(__m256i a, std::uint32_t m, __m256i* hi) {
  const __m256i vm = _mm256_set1_epi32(static_cast<int>(m));
  __m256i even = _mm256_mul_epu32(a, vm);
  __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), vm);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}
#else
using vu32_t = std::uint32_t;
inline constexpr int kU32Width = 1;
inline std::uint32_t vu32_set1(std::uint32_t x) { return x; }
inline std::uint32_t vu32_loadu(const std::uint32_t* p) { return *p; }
inline void vu32_storeu(std::uint32_t* p, std::uint32_t v) { *p = v; }
inline std::uint32_t vu32_add(std::uint32_t a, std::uint32_t b) { return a + b; }
inline std::uint32_t vu32_xor(std::uint32_t a, std::uint32_t b) { return a ^ b; }
inline std::uint32_t vu32_mulhilo(std::uint32_t a, std::uint32_t m, std::uint32_t* hi) {
  std::uint64_t p = static_cast<std::uint64_t>(a) * m;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}
#endif

// ---------------------------------------------------------------------------------------------
// Elementary functions.
// ---------------------------------------------------------------------------------------------
#if defined(FM_SIMD_SCALAR)

template <class T> inline T vexp(T x) { return std::exp(x); }
template <class T> inline T vlog(T x) { return std::log(x); }
template <class T> inline T vlog1p(T x) { return std::log1p(x); }
template <class T> inline T vexpm1(T x) { return std::expm1(x); }
template <class T> inline T vtanh(T x) { return std::tanh(x); }
template <class T> inline T verf(T x) { return std::erf(x); }
template <class T> inline T verfc(T x) { return std::erfc(x); }

#else

namespace simd_detail {

// p(x) = c[0] x^(N-1) + ... + c[N-1], Horner with FMA.
template <class V, class T, int N>
inline V horner(V x, const T (&c)[N]) {
  V p = vset1(c[0]);
  for (int i = 1; i < N; ++i) p = vfma(p, x, vset1(c[i]));
  return p;
}

template <class T>
struct ExpConst;
template <>
struct ExpConst<float> {
  static constexpr float lo = -104.0f, hi = 89.0f;  // beyond: 0 and inf after scaling
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  // Taylor series of exp on |r| <= ln2/2, degree 7 (truncation < 6e-9).
  static constexpr float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                                 1.0f / 6,    0.5f,       1.0f,       1.0f};
};
template <>
struct ExpConst<double> {
  static constexpr double lo = -746.0, hi = 710.0;
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double ln2_hi = 6.93145751953125e-1, ln2_lo = 1.42860682030941723212e-6;
  // Taylor series, degree 13 (truncation < 5e-18).
  static constexpr double c[14] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                   1.0 / 3628800.0,    1.0 / 362880.0,    1.0 / 40320.0,
                                   1.0 / 5040.0,       1.0 / 720.0,       1.0 / 120.0,
                                   1.0 / 24.0,         1.0 / 6.0,         0.5,
                                   1.0,                1.0};
};

template <class T>
struct LogConst;
template <>
struct LogConst<float> {
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  static constexpr float sqrt2 = 1.41421356237f;
  // R(s^2)/s^2 = 2/3 + 2/5 s^2 + ... (atanh series; |s| <= 0.1716)
  static constexpr float c[5] = {2.0f / 11, 2.0f / 9, 2.0f / 7, 2.0f / 5, 2.0f / 3};
  static constexpr float huge = 3.40282347e38f;
};
template <>
struct LogConst<double> {
  static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  static constexpr double sqrt2 = 1.4142135623730951;
  static constexpr double c[11] = {2.0 / 23, 2.0 / 21, 2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13,
                                   2.0 / 11, 2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3};
  static constexpr double huge = 1.7976931348623157e308;
};

}  // namespace simd_detail

// e^x. NaN propagates; x beyond the finite range gives 0 / inf.
template <class V>
inline V vexp(V x) {
  using T = decltype(vreduce_add(x));
  using C = simd_detail::ExpConst<T>;
  x = vmin(vset1(C::hi), vmax(vset1(C::lo), x));  // NaN stays NaN (second operand)
  V n = vround(vmul(x, vset1(C::log2e)));
  V r = vfnma(n, vset1(C::ln2_hi), x);
  r = vfnma(n, vset1(C::ln2_lo), r);
  return vldexp(simd_detail::horner(r, C::c), n);
}

// Natural logarithm: fdlibm's reduction log(1+f) = f - f^2/2 + s (f^2/2 + R(s)), s = f/(2+f).
// log(0) = -inf, log(x<0) = NaN, log(inf) = inf.
template <class V>
inline V vlog(V x) {
  using T = decltype(vreduce_add(x));
  using C = simd_detail::LogConst<T>;
  const V one = vset1(T(1));
  V e;
  V m = vfrexp1(vmax(x, vset1(T(0))), &e);  // garbage for x <= 0 or inf; patched below
  auto big = vgt(m, vset1(C::sqrt2));
  m = vselect(big, vmul(m, vset1(T(0.5))), m);
  e = vselect(big, vadd(e, one), e);
  V f = vsub(m, one);
  V s = vdiv(f, vadd(f, vset1(T(2))));
  V z = vmul(s, s);
  V R = vmul(z, simd_detail::horner(z, C::c));
  V hfsq = vmul(vset1(T(0.5)), vmul(f, f));
  // e*ln2_hi - ((hfsq - (s*(hfsq+R) + e*ln2_lo)) - f)
  V t = vfma(s, vadd(hfsq, R), vmul(e, vset1(C::ln2_lo)));
  V r = vfma(e, vset1(C::ln2_hi), vsub(f, vsub(hfsq, t)));
  r = vselect(veq(x, vset1(T(0))), vset1(-std::numeric_limits<T>::infinity()), r);          // -inf
  r = vselect(vgt(x, vset1(C::huge)), x, r);                           // +inf
  r = vselect(vmask_or(vlt(x, vset1(T(0))), visnan(x)), vset1(std::numeric_limits<T>::quiet_NaN()), r);
  return r;
}

// log(1 + u) for u >= 0 (or u > -1), accurate for tiny u: log(w) * u / (w - 1), w = 1 + u
// (Goldberg's trick: the rounding error of w cancels).
template <class V>
inline V vlog1p(V u) {
  using T = decltype(vreduce_add(u));
  V w = vadd(u, vset1(T(1)));
  V d = vsub(w, vset1(T(1)));
  V r = vmul(vlog(w), vdiv(u, d));
  r = vselect(veq(d, vset1(T(0))), u, r);
  return vselect(vgt(u, vset1(std::numeric_limits<T>::max())), u, r);
}

namespace simd_detail {
// Taylor coefficients of expm1(x)/x, used on |x| < 0.7 where exp(x) - 1 would cancel.
template <class T>
struct Expm1Const;
template <>
struct Expm1Const<float> {  // degree 10 (truncation < 1e-9 relative)
  static constexpr float c[10] = {1.0f / 3628800, 1.0f / 362880, 1.0f / 40320, 1.0f / 5040, 1.0f / 720,
                                  1.0f / 120,     1.0f / 24,     1.0f / 6,     0.5f,        1.0f};
};
template <>
struct Expm1Const<double> {  // degree 17 (truncation < 1e-18 relative)
  static constexpr double c[17] = {
      1.0 / 355687428096000.0, 1.0 / 20922789888000.0, 1.0 / 1307674368000.0, 1.0 / 87178291200.0,
      1.0 / 6227020800.0,      1.0 / 479001600.0,      1.0 / 39916800.0,      1.0 / 3628800.0,
      1.0 / 362880.0,          1.0 / 40320.0,          1.0 / 5040.0,          1.0 / 720.0,
      1.0 / 120.0,             1.0 / 24.0,             1.0 / 6.0,             0.5,
      1.0};
};
}  // namespace simd_detail

// e^x - 1, accurate near 0.
template <class V>
inline V vexpm1(V x) {
  using T = decltype(vreduce_add(x));
  V small = vmul(x, simd_detail::horner(x, simd_detail::Expm1Const<T>::c));
  V large = vsub(vexp(x), vset1(T(1)));
  return vselect(vlt(vabs(x), vset1(T(0.7))), small, large);  // NaN: large path, NaN
}

// Applies a scalar function lane by lane (a fallback for functions without a vector form).
template <class V, class F>
inline V per_lane(V x, F f) {
  using T = decltype(vreduce_add(x));
  alignas(kVecAlign) T buf[kVecWidth<T>];
  vstore(buf, x);
  for (int i = 0; i < kVecWidth<T>; ++i) buf[i] = f(buf[i]);
  return vload(buf);
}

namespace simd_detail {
// tanh(x)/x on |x| < 0.625 as a polynomial in x^2 (relative error < 4e-9).
inline constexpr float kTanhSmall[6] = {-5.659985801e-03f, 2.059098519e-02f, -5.372106695e-02f,
                                        1.333112752e-01f,  -3.333326053e-01f, 1.0f};
// erf(x)/x on |x| < 0.7 (fitted on [0, 1]) as a polynomial in x^2 (relative error < 1.3e-9).
inline constexpr float kErfSmall[7] = {7.853858577e-05f,  -8.010192785e-04f, 5.188327590e-03f,
                                       -2.685381188e-02f, 1.128358515e-01f,  -3.761262582e-01f,
                                       1.128379166e+00f};
// t * erfc(t) * exp(t^2) on t in [0.7, 10] as a polynomial in v = 1/t - c (rel. error < 5e-8).
inline constexpr float kErfcCenter = 7.642857432e-01f;
inline constexpr float kErfcLarge[13] = {
    -1.360488847e-02f, 2.309286285e-03f, 2.865353321e-02f,  -2.413545581e-02f, 4.276577642e-03f,
    4.782787763e-03f,  -1.718433417e-02f, 3.571303071e-02f, -4.789323299e-02f, 3.751010860e-02f,
    2.101591182e-02f,  -1.685044991e-01f, 4.657682042e-01f};
inline constexpr float kErfSplit = 0.7f;  // erf polynomial below, erfc polynomial above

// erfc(t) for t >= 0.7 (float): exp(-t^2) with t^2 split exactly (th^2 + (t-th)(t+th)) so the
// exponent carries no rounding error, times the fitted factor.
template <class V>
inline V erfc_large_f32(V t) {
  t = vmin(t, vset1(10.5f));
  V th = vmul(vround(vmul(t, vset1(256.0f))), vset1(1.0f / 256.0f));  // <= 12 significant bits
  V tl = vsub(t, th);
  V e = vmul(vexp(vmul(vmul(th, th), vset1(-1.0f))), vexp(vmul(vmul(tl, vadd(t, th)), vset1(-1.0f))));
  V u = vdiv(vset1(1.0f), t);
  V g = horner(vsub(u, vset1(kErfcCenter)), kErfcLarge);
  return vmul(e, vmul(u, g));
}
}  // namespace simd_detail

// ---- double erf / erfc (vector) --------------------------------------------------------------
namespace simd_detail {
// erf(x)/x on |x| < 0.7: its Taylor series in x^2, 15 terms (truncation < 2e-17), highest first.
inline constexpr double kErfSmallD[15] = {
    4.46322426328647749e-13, -6.71136685516411048e-12, 9.42275906465041125e-11,
    -1.22905553017179284e-09, 1.48071928158792176e-08, -1.63658446912349245e-07,
    1.64621143658892485e-06, -1.49256503584062504e-05, 1.20553329817896636e-04,
    -8.54832702345085333e-04, 5.22397762544218793e-03, -2.68661706451312522e-02,
    1.12837916709551261e-01, -3.76126389031837538e-01, 1.12837916709551256e+00};
// t * erfc(t) * exp(t^2) for t in [0.7, 27.5] as a Chebyshev series in the variable
// (1/t - kErfcMidD) * kErfcInvHalfD in [-1, 1]; 40 terms (truncation < 1e-17), c_0 first.
inline constexpr double kErfcMidD = 7.32467532467532489e-01, kErfcInvHalfD = 1.43656716417910446e+00;
inline constexpr double kErfcChebD[40] = {
    4.70243075809663957e-01, -1.03468825325203170e-01, -2.60564721139544065e-03, 5.40473387796144410e-03,
    -1.68940500291146181e-03, 2.67383286886561217e-04, 2.27170048421568603e-05, -3.33889066103052680e-05,
    1.34839220106969080e-05, -3.24231163561988860e-06, 2.16138333018357444e-07, 2.47901403524198830e-07,
    -1.59482534376844247e-07, 5.87888732989049705e-08, -1.35695175705262133e-08, 3.26805310440483887e-10,
    1.60299073058683688e-09, -1.01314643647989302e-09, 3.99546682588118866e-10, -1.05254835301999975e-10,
    8.64333877258995385e-12, 1.00243198751424348e-11, -7.81408592482043148e-12, 3.60161644739562964e-12,
    -1.17824282403753300e-12, 2.22591105968491991e-13, 3.77686445307764875e-14, -6.20292746758136980e-14,
    3.66623088939965312e-14, -1.52280788126294554e-14, 4.52492531524894715e-15, -6.09964083097026608e-16,
    -3.44345188122737244e-16, 3.53817222219820524e-16, -1.95625275123753835e-16, 7.97660633224964738e-17,
    -2.34570327498311559e-17, 2.89132692261261470e-18, 2.13129807531739644e-18, -2.12360284456259541e-18};

// erfc(t) for t >= 0.7 (double): exp(-t^2) with t^2 split exactly (th has <= 26 significant
// bits, so th^2 is exact), times the Chebyshev series (Clenshaw's recurrence) over t.
template <class V>
inline V erfc_large_f64(V t) {
  t = vmin(t, vset1(27.5));  // erfc(27.5) underflows to 0 anyway
  V th = vmul(vround(vmul(t, vset1(2097152.0))), vset1(1.0 / 2097152.0));
  V tl = vsub(t, th);
  V e = vmul(vexp(vmul(vmul(th, th), vset1(-1.0))), vexp(vmul(vmul(tl, vadd(t, th)), vset1(-1.0))));
  V u = vdiv(vset1(1.0), t);
  V x = vmul(vsub(u, vset1(kErfcMidD)), vset1(kErfcInvHalfD));
  V x2 = vadd(x, x), b1 = vzero<double>(), b2 = vzero<double>();
  for (int k = 39; k >= 1; --k) {
    V b0 = vfma(x2, b1, vsub(vset1(kErfcChebD[k]), b2));
    b2 = b1;
    b1 = b0;
  }
  V g = vfma(x, b1, vsub(vset1(kErfcChebD[0]), b2));
  return vmul(e, vmul(u, g));
}
}  // namespace simd_detail

inline vec_t<float> vtanh(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kTanhSmall));
  // 1 - 2 / (e^{2|x|} + 1): no cancellation for |x| >= 0.625; e^{2|x|} = inf gives 1.
  V large = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(vexp(vadd(a, a)), vset1(1.0f))));
  large = vcopysign(large, x);
  return vselect(vlt(a, vset1(0.625f)), small, large);  // NaN: large path, NaN
}
// tanh(|x|) = -expm1(-2|x|) / (expm1(-2|x|) + 2): no overflow, no cancellation (~2 ulp).
inline vec_t<double> vtanh(vec_t<double> x) {
  using V = vec_t<double>;
  V e = vexpm1(vmul(vset1(-2.0), vabs(x)));
  return vcopysign(vdiv(vsub(vzero<double>(), e), vadd(e, vset1(2.0))), x);
}

inline vec_t<float> verfc(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vfnma(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmall), vset1(1.0f));
  V tail = simd_detail::erfc_large_f32(vmax(a, vset1(simd_detail::kErfSplit)));
  V large = vselect(vlt(x, vset1(0.0f)), vsub(vset1(2.0f), tail), tail);
  V r = vselect(vlt(a, vset1(simd_detail::kErfSplit)), small, large);
  return vselect(visnan(x), x, r);
}
inline vec_t<double> verfc(vec_t<double> x) {
  using V = vec_t<double>;
  V a = vabs(x);
  V small = vfnma(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmallD), vset1(1.0));
  V tail = simd_detail::erfc_large_f64(vmax(a, vset1(0.7)));
  V large = vselect(vlt(x, vset1(0.0)), vsub(vset1(2.0), tail), tail);
  V r = vselect(vlt(a, vset1(0.7)), small, large);
  return vselect(visnan(x), x, r);
}

inline vec_t<float> verf(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmall));
  V large = vcopysign(vsub(vset1(1.0f), simd_detail::erfc_large_f32(vmax(a, vset1(simd_detail::kErfSplit)))), x);
  V r = vselect(vlt(a, vset1(simd_detail::kErfSplit)), small, large);
  return vselect(visnan(x), x, r);
}
inline vec_t<double> verf(vec_t<double> x) {
  using V = vec_t<double>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmallD));
  V large = vcopysign(vsub(vset1(1.0), simd_detail::erfc_large_f64(vmax(a, vset1(0.7)))), x);
  V r = vselect(vlt(a, vset1(0.7)), small, large);
  return vselect(visnan(x), x, r);
}

#endif

}  // namespace FM_ISA_NS
}  // namespace fm
