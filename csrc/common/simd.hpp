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
// Elementary functions (vexp, vlog, verf, ...) on these registers: common/simd_math.hpp.
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
inline __m512 vload_tail(const float* p, index_t n) {
  return _mm512_maskz_loadu_ps(tail_mask16(n), p);
}
inline __m512d vload_tail(const double* p, index_t n) {
  return _mm512_maskz_loadu_pd(tail_mask8(n), p);
}
inline void vstore_tail(float* p, __m512 v, index_t n) {
  _mm512_mask_storeu_ps(p, tail_mask16(n), v);
}
inline void vstore_tail(double* p, __m512d v, index_t n) {
  _mm512_mask_storeu_pd(p, tail_mask8(n), v);
}
// Mask of the first n lanes (0 <= n <= width), for reductions over a tail.
template <class T>
inline vmask_t<T> vlanes_lt(index_t n) {
  if constexpr (sizeof(T) == 4)
    return n >= 16 ? __mmask16(0xFFFF) : tail_mask16(n);
  else
    return n >= 8 ? __mmask8(0xFF) : tail_mask8(n);
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
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
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
inline __m512 vround(__m512 x) {
  return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline __m512d vround(__m512d x) {
  return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
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
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i tail_mask64(index_t n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline __m256 vload_tail(const float* p, index_t n) {
  return _mm256_maskload_ps(p, tail_mask32(n));
}
inline __m256d vload_tail(const double* p, index_t n) {
  return _mm256_maskload_pd(p, tail_mask64(n));
}
inline void vstore_tail(float* p, __m256 v, index_t n) {
  _mm256_maskstore_ps(p, tail_mask32(n), v);
}
inline void vstore_tail(double* p, __m256d v, index_t n) {
  _mm256_maskstore_pd(p, tail_mask64(n), v);
}
template <class T>
inline vmask_t<T> vlanes_lt(index_t n) {
  if constexpr (sizeof(T) == 4)
    return _mm256_castsi256_ps(tail_mask32(n));
  else
    return _mm256_castsi256_pd(tail_mask64(n));
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

inline __m256 vround(__m256 x) {
  return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline __m256d vround(__m256d x) {
  return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
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
  *e = _mm256_sub_pd(_mm256_sub_pd(ed, _mm256_set1_pd(1023.0)),
                     _mm256_and_pd(tiny, _mm256_set1_pd(54.0)));
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
inline void vstore_tail(float* p, float v, index_t n) {
  if (n > 0) *p = v;
}
inline void vstore_tail(double* p, double v, index_t n) {
  if (n > 0) *p = v;
}
template <class T>
inline bool vlanes_lt(index_t n) {
  return n > 0;
}

inline float vset1(float x) { return x; }
inline double vset1(double x) { return x; }
template <class T>
inline T vadd(T a, T b) {
  return a + b;
}
template <class T>
inline T vsub(T a, T b) {
  return a - b;
}
template <class T>
inline T vmul(T a, T b) {
  return a * b;
}
template <class T>
inline T vdiv(T a, T b) {
  return a / b;
}
// No FMA instruction in the generic build: a separate multiply and add (never a libm fma call).
template <class T>
inline T vfma(T a, T b, T c) {
  return a * b + c;
}
template <class T>
inline T vfnma(T a, T b, T c) {
  return c - a * b;
}
template <class T>
inline T vmax(T a, T b) {
  return a > b ? a : b;
}
template <class T>
inline T vmin(T a, T b) {
  return a < b ? a : b;
}
template <class T>
inline T vsqrt(T a) {
  return std::sqrt(a);
}
template <class T>
inline T vabs(T a) {
  return std::fabs(a);
}
template <class T>
inline T vcopysign(T m, T s) {
  return std::copysign(m, s);
}
template <class T>
inline bool vlt(T a, T b) {
  return a < b;
}
template <class T>
inline bool vle(T a, T b) {
  return a <= b;
}
template <class T>
inline bool vgt(T a, T b) {
  return a > b;
}
template <class T>
inline bool vge(T a, T b) {
  return a >= b;
}
template <class T>
inline bool veq(T a, T b) {
  return a == b;
}
template <class T>
inline bool visnan(T a) {
  return a != a;
}
template <class T>
inline T vselect(bool m, T a, T b) {
  return m ? a : b;
}
inline bool vmask_and(bool a, bool b) { return a && b; }
inline bool vmask_or(bool a, bool b) { return a || b; }
inline unsigned vmask_bits(bool m) { return m ? 1u : 0u; }
template <class T>
inline T vreduce_add(T v) {
  return v;
}
template <class T>
inline T vreduce_max(T v) {
  return v;
}

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
  __m512i even = _mm512_mul_epu32(a, vm);                        // lanes 0, 2, ...: 64-bit products
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), vm);  // lanes 1, 3, ...
  *hi = _mm512_mask_blend_epi32(__mmask16(0xAAAA), _mm512_srli_epi64(even, 32), odd);
  return _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_slli_epi64(odd, 32));
}
#elif defined(FM_SIMD_AVX2)
using vu32_t = __m256i;
inline constexpr int kU32Width = 8;
inline __m256i vu32_set1(std::uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
inline __m256i vu32_loadu(const std::uint32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline void vu32_storeu(std::uint32_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}
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

}  // namespace FM_ISA_NS
}  // namespace fm
