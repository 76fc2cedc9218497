// The portable int8 GEMM kernel and the per-row activation quantizer, compiled once per ISA
// table (generic, AVX2, AVX-512; see fm_isa_objects): plain integer loops the compiler
// vectorizes for the table's flags. The path for CPUs without AVX512_VNNI, and the oracle the
// vpdpbusd kernel is tested against.
#include <cmath>
#include <cstdint>

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

void quantize_rows_u8_isa(index_t M, index_t K, const float* X, index_t ldx, std::uint8_t* A,
                          index_t lda, float* scale, std::int32_t* zero) {
  const index_t Kp = (K + 3) / 4 * 4;
  for (index_t r = 0; r < M; ++r) {
    const float* __restrict x = X + r * ldx;
    std::uint8_t* __restrict q = A + r * lda;
    float lo = 0.0f, hi = 0.0f;  // the range always holds 0 (exact zero padding, relu zeros)
    for (index_t k = 0; k < K; ++k) {
      lo = x[k] < lo ? x[k] : lo;
      hi = x[k] > hi ? x[k] : hi;
    }
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f)) s = 1.0f;  // an all-zero row (or an underflowed range)
    const float zp = clamp255(std::nearbyint(-lo / s));
    for (index_t k = 0; k < K; ++k)
      q[k] = static_cast<std::uint8_t>(static_cast<int>(clamp255(std::nearbyint(x[k] / s) + zp)));
    for (index_t k = K; k < Kp; ++k) q[k] = 0;
    scale[r] = s;
    zero[r] = static_cast<std::int32_t>(zp);
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
