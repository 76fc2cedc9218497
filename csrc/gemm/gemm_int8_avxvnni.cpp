// The AVX-VNNI int8 GEMM (compiled once, with -mavxvnni, in namespace fm::avx_vnni; run only
// after CPUID reported AVX-VNNI, see avx_vnni_native()): the 256-bit, VEX-encoded vpdpbusd of
// client CPUs without AVX-512 (Intel since Alder Lake, AMD since Zen 5 desktop parts). Same
// packed weights, loops and epilogue as the AVX-512 kernel (driver_int8.hpp); a 64-byte vector
// of the panel is read as two ymm halves (columns 0-7 and 8-15).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "gemm/driver_int8.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// MR_ x (16 NV) tile, 16 columns at a time: per group of 4 k steps, two 32-byte loads of the
// panel, MR_ broadcasts of 4 activation bytes and 2 MR_ vpdpbusd (6 rows: 12 ymm accumulators
// of the 16).
template <int MR_, int NV>
struct UkrAvxVnni {
  static void run(index_t kq, const std::uint8_t* a, index_t lda, const std::int8_t* b,
                  std::int32_t* tile) {
    for (int v = 0; v < NV; ++v) {
      __m256i lo[MR_], hi[MR_];
#pragma GCC unroll 8
      for (int i = 0; i < MR_; ++i) lo[i] = hi[i] = _mm256_setzero_si256();
      const std::int8_t* bv = b + v * 64;
      for (index_t q = 0; q < kq; ++q, bv += NV * 64) {
        const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bv));
        const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bv + 32));
#pragma GCC unroll 8
        for (int i = 0; i < MR_; ++i) {
          std::int32_t w;
          std::memcpy(&w, a + i * lda + 4 * q, 4);
          const __m256i av = _mm256_set1_epi32(w);
          lo[i] = _mm256_dpbusd_avx_epi32(lo[i], av, b0);
          hi[i] = _mm256_dpbusd_avx_epi32(hi[i], av, b1);
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < MR_; ++i) {
        std::int32_t* t = tile + i * kInt8Panel + v * 16;
        _mm256_store_si256(reinterpret_cast<__m256i*>(t), lo[i]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), hi[i]);
      }
    }
  }
};

struct KernAvxVnni {
  static constexpr int MR = 6;
  static constexpr index_t MC = 48;
  static UkrInt8 ukr(int mr, int nv) { return UkrTable<UkrAvxVnni, MR>::get(mr, nv); }
};

}  // namespace

void gemm_int8_avx_vnni(int threads, index_t M, const std::uint8_t* A, index_t lda,
                        const PackedS8& B, const Int8Epilogue* ep, float* Cf, std::int32_t* Ci,
                        index_t ldc) {
  gemm_int8_run<KernAvxVnni>(threads, M, A, lda, B, ep, Cf, Ci, ldc);
}

}  // namespace FM_ISA_NS
}  // namespace fm
