// The AVX512_VNNI int8 GEMM (compiled once, with -mavx512vnni, in namespace fm::avx512_vnni;
// run only after CPUID reported AVX512_VNNI, see vnni_native()): its vpdpbusd micro-kernel and
// the vpdpbusd peak loop the GEMM is measured against. Loops and epilogue: driver_int8.hpp.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "common/parallel.hpp"
#include "gemm/driver_int8.hpp"
#include "gemm/peak_probe.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// MR_ x (16 NV) tile: per group of 4 k steps, NV 64-byte loads of the weight panel, MR_
// broadcasts of 4 activation bytes and MR_ * NV vpdpbusd (each: 16 int32 lanes += four
// u8 x s8 products). 6 x 4: 24 zmm accumulators, as the float32 kernel.
template <int MR_, int NV>
struct UkrVnni {
  static void run(index_t kq, const std::uint8_t* a, index_t lda, const std::int8_t* b,
                  std::int32_t* tile) {
    __m512i acc[MR_][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_si512();
    const std::uint8_t* ar[MR_];
#pragma GCC unroll 8
    for (int i = 0; i < MR_; ++i) ar[i] = a + i * lda;
    for (index_t q = 0; q < kq; ++q) {
      __m512i bv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[j] = _mm512_loadu_si512(b + j * 64);
#pragma GCC unroll 8
      for (int i = 0; i < MR_; ++i) {
        std::int32_t w;
        std::memcpy(&w, ar[i] + 4 * q, 4);
        const __m512i av = _mm512_set1_epi32(w);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv[j]);
      }
      b += NV * 64;
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) _mm512_store_si512(tile + i * kInt8Panel + j * 16, acc[i][j]);
  }
};

struct KernVnni {
  static constexpr int MR = 6;
  static constexpr index_t MC = 48;
  static UkrInt8 ukr(int mr, int nv) { return UkrTable<UkrVnni, MR>::get(mr, nv); }
};

// Ops (2 a multiply-add) of `iters` rounds of 24 independent vpdpbusd (64 multiply-adds each).
// In assembly: from intrinsics GCC spilled the 24 accumulators to the stack inside the loop
// (measured: a fifth of the real rate). The operands are all-ones bytes (255 x -1; the
// accumulators wrap, harmlessly): with zeroed operand registers the loop ran ~20% slower on
// an AMD Zen core.
double peak_loop(long long iters) {
  const long long rounds = iters;
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm24, %%zmm24, %%zmm24\n\t"
      "vpternlogd $0xff, %%zmm25, %%zmm25, %%zmm25\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm0\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm1\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm2\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm3\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm4\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm5\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm6\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm7\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm8\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm9\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm10\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm11\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm12\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm13\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm14\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm15\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm16\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm17\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm18\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm19\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm20\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm21\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm22\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "cc");
  return 128.0 * 24.0 * double(rounds);
}

}  // namespace

void gemm_int8_vnni(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                    const Int8Epilogue* ep, float* Cf, std::int32_t* Ci, index_t ldc) {
  gemm_int8_run<KernVnni>(threads, M, A, lda, B, ep, Cf, Ci, ldc);
}

double vnni_peak_gops_native(int threads, double seconds) {
  // ~1 ms a round and core; the best round (see peak_probe.hpp).
  return peak_rate_g(threads, seconds, 1 << 18, &peak_loop, /*best_round=*/true);
}

}  // namespace FM_ISA_NS
}  // namespace fm
