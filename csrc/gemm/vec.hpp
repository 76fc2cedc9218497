#pragma once
// Thin per-ISA vector layer for the GEMM micro-kernels: one register type per (ISA, T) with
// the five operations a register-blocked kernel needs. Included only from per-ISA sources
// (fm_isa_objects), inside namespace fm::FM_ISA_NS, so each ISA gets its own copy.
#include "common/types.hpp"

#if defined(FM_ISA_avx2) || defined(FM_ISA_avx512)
#include <immintrin.h>
#endif

namespace fm {
namespace FM_ISA_NS {

template <class T>
struct VecAvx512;
template <class T>
struct VecAvx2;

#if defined(FM_ISA_avx512)
template <>
struct VecAvx512<float> {
  using reg = __m512;
  static constexpr int width = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
};
template <>
struct VecAvx512<double> {
  using reg = __m512d;
  static constexpr int width = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static reg bcast(const double* p) { return _mm512_set1_pd(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
};
#endif

#if defined(FM_ISA_avx2) || defined(FM_ISA_avx512)
template <>
struct VecAvx2<float> {
  using reg = __m256;
  static constexpr int width = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
};
template <>
struct VecAvx2<double> {
  using reg = __m256d;
  static constexpr int width = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static reg bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
};
#endif

}  // namespace FM_ISA_NS
}  // namespace fm
