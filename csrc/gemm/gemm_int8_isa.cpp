// The portable int8 GEMM kernel and the per-row activation quantizer, compiled once per ISA
// table (generic, AVX2, AVX-512; see fm_isa_objects): plain integer loops the compiler
// vectorizes for the table's flags. The path for CPUs without AVX512_VNNI, and the oracle the
// vpdpbusd kernel is tested against.
#include <cmath>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "common/isa.hpp"
#include "gemm/driver_int8.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// (MR_ x 16 NV) int32 tile: the same sums vpdpbusd forms, 4 k steps at a time.
template <int MR_, int NV>
struct UkrPortable {
  static void run(index_t kq, const std::uint8_t* a, index_t lda, const std::int8_t* b,
                  std::int32_t* tile) {
    constexpr int W = 16 * NV;
    std::int32_t acc[MR_][W] = {};
    for (index_t q = 0; q < kq; ++q, b += 4 * W) {
      for (int i = 0; i < MR_; ++i) {
        const std::uint8_t* ai = a + i * lda + 4 * q;
        const std::int32_t a0 = ai[0], a1 = ai[1], a2 = ai[2], a3 = ai[3];
        for (int j = 0; j < W; ++j) {
          const std::int8_t* bj = b + 4 * j;
          acc[i][j] += a0 * bj[0] + a1 * bj[1] + a2 * bj[2] + a3 * bj[3];
        }
      }
    }
    for (int i = 0; i < MR_; ++i)
      for (int j = 0; j < W; ++j) tile[i * kInt8Panel + j] = acc[i][j];
  }
};

struct KernPortable {
  static constexpr int MR = 6;
  static constexpr index_t MC = 48;
  static UkrInt8 ukr(int mr, int nv) { return UkrTable<UkrPortable, MR>::get(mr, nv); }
};

inline float clamp255(float v) { return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v); }

}  // namespace

void gemm_int8_portable(int threads, index_t M, const std::uint8_t* A, index_t lda,
                        const PackedS8& B, const Int8Epilogue* ep, float* Cf, std::int32_t* Ci,
                        index_t ldc) {
  gemm_int8_run<KernPortable>(threads, M, A, lda, B, ep, Cf, Ci, ldc);
}

namespace {

// The value quantized: x, or x * in_scale + in_shift (a Standardize or a BatchNorm that
// follows an activation: folded into the next layer's weights, its per-feature scale would
// stretch their columns' range and cost int8 precision). Multiply, then add: never an FMA,
// so every path and the ONNX export (Mul, Add) round alike.
template <bool Affine>
struct RowInput {
  const float* __restrict x;
  const float* __restrict s;
  const float* __restrict t;
  float at(index_t k) const { return Affine ? x[k] * s[k] + t[k] : x[k]; }
#if defined(__AVX512F__)
  __m512 load(index_t k, __mmask16 m) const {
    const __m512 v = _mm512_maskz_loadu_ps(m, x + k);
    if (!Affine) return v;
    return _mm512_add_ps(_mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, s + k)),
                         _mm512_maskz_loadu_ps(m, t + k));
  }
#endif
};

#if defined(__AVX512F__)
inline __mmask16 lanes(index_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}
#endif

// One row: the range [lo, hi] of its values (always holding 0).
template <bool Affine>
inline void row_range(const RowInput<Affine>& x, index_t K, float& lo, float& hi) {
  index_t k = 0;
#if defined(__AVX512F__)
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
  for (; k < K; k += 16) {  // masked-off lanes are 0: inside the range already
    const __m512 v = x.load(k, lanes(K - k));
    vlo = _mm512_min_ps(vlo, v);
    vhi = _mm512_max_ps(vhi, v);
  }
  lo = _mm512_reduce_min_ps(vlo);
  hi = _mm512_reduce_max_ps(vhi);
#else
  lo = 0.0f;
  hi = 0.0f;
#endif
  for (; k < K; ++k) {
    const float v = x.at(k);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
}

// q[k] = clamp(round(value * inv) + zp, 0, 255), round half to even (the default rounding
// mode, which vcvtps2dq uses too).
template <bool Affine>
inline void row_quantize(const RowInput<Affine>& x, index_t K, float inv, int zp,
                         std::uint8_t* __restrict q) {
  index_t k = 0;
#if defined(__AVX512F__)
  const __m512 vinv = _mm512_set1_ps(inv);
  const __m512i vzp = _mm512_set1_epi32(zp), v0 = _mm512_setzero_si512(),
                v255 = _mm512_set1_epi32(255);
  for (; k < K; k += 16) {
    const __mmask16 m = lanes(K - k);
    __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x.load(k, m), vinv)), vzp);
    i = _mm512_min_epi32(_mm512_max_epi32(i, v0), v255);
    _mm_mask_storeu_epi8(q + k, m, _mm512_cvtepi32_epi8(i));
  }
#endif
  for (; k < K; ++k) {
    const int i = static_cast<int>(std::nearbyint(x.at(k) * inv)) + zp;
    q[k] = static_cast<std::uint8_t>(i < 0 ? 0 : (i > 255 ? 255 : i));
  }
}

template <bool Affine>
void quantize_rows(index_t M, index_t K, const float* X, index_t ldx, const float* in_scale,
                   const float* in_shift, std::uint8_t* A, index_t lda, float* scale,
                   std::int32_t* zero) {
  const index_t Kp = (K + 3) / 4 * 4;
  for (index_t r = 0; r < M; ++r) {
    const RowInput<Affine> x{X + r * ldx, in_scale, in_shift};
    std::uint8_t* q = A + r * lda;
    float lo, hi;
    row_range(x, K, lo, hi);
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f)) s = 1.0f;  // an all-zero row (or an underflowed range)
    const float inv = 1.0f / s;
    const int zp = static_cast<int>(clamp255(std::nearbyint(-lo * inv)));
    row_quantize(x, K, inv, zp, q);
    for (index_t k = K; k < Kp; ++k) q[k] = 0;
    scale[r] = s;
    zero[r] = zp;
  }
}

}  // namespace

void quantize_rows_u8_isa(index_t M, index_t K, const float* X, index_t ldx, const float* in_scale,
                          const float* in_shift, std::uint8_t* A, index_t lda, float* scale,
                          std::int32_t* zero) {
  if (in_scale)
    quantize_rows<true>(M, K, X, ldx, in_scale, in_shift, A, lda, scale, zero);
  else
    quantize_rows<false>(M, K, X, ldx, nullptr, nullptr, A, lda, scale, zero);
}

}  // namespace FM_ISA_NS
}  // namespace fm
