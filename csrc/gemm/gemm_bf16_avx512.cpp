// The AVX512_BF16 GEMM (compiled once, with -mavx512bf16, in namespace fm::avx512_bf16; run only
// after CPUID reported AVX512_BF16, see bf16_native()). Its micro-kernel, the block sizes, and
// the vdpbf16ps peak loop the GEMM is measured against.
#include <immintrin.h>

#include <cstdint>

#include "common/parallel.hpp"
#include "gemm/driver_bf16.hpp"
#include "gemm/peak_probe.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// MR x (16 NV) tile over kp k-pairs: per pair NV loads of B, MR 32-bit broadcasts of A's pair
// and MR * NV vdpbf16ps (each: 16 lanes += a_even * b_even + a_odd * b_odd in float32).
// NR: the B micro-panel's width (pairs per step). A's micro-panel by rows (ROWS: row i's pairs
// at a + i * kp) or by steps (AR >= MR pairs a step), so that fewer rows than a panel holds
// cost only their own work.
template <int MR, int NV, int NR, int AR, bool ROWS>
void ukr_bf16_avx512(index_t kp, const std::uint32_t* __restrict a,
                     const std::uint32_t* __restrict b, float* __restrict c, index_t ldc,
                     bool accumulate) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();
  const index_t row = ROWS ? kp : 1;  // a pair's distance to the next row's
  for (index_t q = 0; q < kp; ++q) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = (__m512bh)_mm512_loadu_si512(b + j * 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i * row]));
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
    }
    a += ROWS ? 1 : AR;
    b += NR;
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* p = c + i * ldc + j * 16;
      _mm512_storeu_ps(p, accumulate ? _mm512_add_ps(_mm512_loadu_ps(p), acc[i][j]) : acc[i][j]);
    }
}

using UkrBf16 = void (*)(index_t, const std::uint32_t*, const std::uint32_t*, float*, index_t,
                         bool);

// 6 x 64: 24 zmm accumulators, as the float32 AVX-512 kernel. KC = 384 steps (192 pairs):
// the B micro-panel is 48 KiB, the A block 192 x 384 bf16 = 144 KiB (L2). MC = 192 rather
// than 96: each B micro-panel serves 32 tiles before the next one is streamed in (paired
// medians: GEMM 1024x256x784 line +0.7 and +2.0 points over two runs of 10; b1024 bf16
// training +2.5% over 10 rounds).
template <int R, bool ROWS>
UkrBf16 ukr_rows(int nv) {
  switch (nv) {
    case 1:
      return &ukr_bf16_avx512<R, 1, 64, 6, ROWS>;
    case 2:
      return &ukr_bf16_avx512<R, 2, 64, 6, ROWS>;
    case 3:
      return &ukr_bf16_avx512<R, 3, 64, 6, ROWS>;
    default:
      return &ukr_bf16_avx512<R, 4, 64, 6, ROWS>;
  }
}

template <bool ROWS>
UkrBf16 ukr_pick(int rows, int nv) {
  switch (rows) {
    case 1:
      return ukr_rows<1, ROWS>(nv);
    case 2:
      return ukr_rows<2, ROWS>(nv);
    case 3:
      return ukr_rows<3, ROWS>(nv);
    case 4:
      return ukr_rows<4, ROWS>(nv);
    case 5:
      return ukr_rows<5, ROWS>(nv);
    default:
      return ukr_rows<6, ROWS>(nv);
  }
}

struct CfgBf16 {
  static constexpr int MR = 6, NR = 64;
  static constexpr index_t MC = 192, KC = 384, NC = 4096;
  // The kernel for the first `rows` (1..MR) rows of an A micro-panel (by rows or by steps),
  // nv vectors wide.
  static UkrBf16 ukr(int rows, int nv, bool by_rows) {
    return by_rows ? ukr_pick<true>(rows, nv) : ukr_pick<false>(rows, nv);
  }
};

// FLOPs of `iters` rounds of 24 independent vdpbf16ps (64 FLOP each: 16 lanes x 2 products
// x multiply + add), the dependency chains long enough to hide the latency.
double peak_loop(long long iters) {
  // Named registers, not an array: GCC keeps an array of __m512 in memory across the loop.
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3F803F80);  // {1.0, 1.0}
  const __m512bh y = (__m512bh)_mm512_set1_epi32(0x2F802F80);  // 2^-32: normal, no growth
  // Distinct start values: identical chains would be merged into one by the compiler.
#define FM_R(i) r##i = _mm512_set1_ps(float(i + 1))
  __m512 FM_R(0), FM_R(1), FM_R(2), FM_R(3), FM_R(4), FM_R(5), FM_R(6), FM_R(7), FM_R(8), FM_R(9),
      FM_R(10), FM_R(11), FM_R(12), FM_R(13), FM_R(14), FM_R(15), FM_R(16), FM_R(17), FM_R(18),
      FM_R(19), FM_R(20), FM_R(21), FM_R(22), FM_R(23);
#undef FM_R
#define FM_DP4(a, b, c, d)       \
  a = _mm512_dpbf16_ps(a, x, y); \
  b = _mm512_dpbf16_ps(b, x, y); \
  c = _mm512_dpbf16_ps(c, x, y); \
  d = _mm512_dpbf16_ps(d, x, y);
  for (long long it = 0; it < iters; ++it) {
    FM_DP4(r0, r1, r2, r3)
    FM_DP4(r4, r5, r6, r7)
    FM_DP4(r8, r9, r10, r11)
    FM_DP4(r12, r13, r14, r15)
    FM_DP4(r16, r17, r18, r19)
    FM_DP4(r20, r21, r22, r23)
  }
#undef FM_DP4
  __m512 s =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r0, r1), _mm512_add_ps(r2, r3)),
                                  _mm512_add_ps(_mm512_add_ps(r4, r5), _mm512_add_ps(r6, r7))),
                    _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r8, r9), _mm512_add_ps(r10, r11)),
                                  _mm512_add_ps(_mm512_add_ps(r12, r13), _mm512_add_ps(r14, r15))));
  s = _mm512_add_ps(s,
                    _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r16, r17), _mm512_add_ps(r18, r19)),
                                  _mm512_add_ps(_mm512_add_ps(r20, r21), _mm512_add_ps(r22, r23))));
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return 64.0 * 24.0 * double(iters);
}

}  // namespace

void gemm_bf16_run(const GemmArgs<float>& g, int threads, const std::uint32_t* b_packed,
                   const std::uint16_t* a16) {
  gemm_run_bf16<CfgBf16>(g, threads, b_packed, a16);
}

void bf16_round_native(const float* src, index_t n, std::uint16_t* dst) {
  index_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(dst + i, m,
                             (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i)));
  }
}

index_t bf16_packed_words_native(index_t K, index_t N) {
  return prepacked_words_bf16<CfgBf16>(K, N);
}

void bf16_pack_b_native(int threads, const Bf16PackJob* jobs, index_t count) {
  prepack_b_bf16<CfgBf16>(threads, jobs, count);
}

void bf16_grad_pack_native(int threads, const Bf16GradPack& job) {
  grad_pack_bf16<CfgBf16>(threads, job);
}

int gemm_bf16_threads_for(index_t M, index_t N, index_t K, int cap) {
  return gemm_threads_for<CfgBf16>(M, N, K, cap);
}

double bf16_peak_gflops_native(int threads, double seconds) {
  // ~2.5 ms a round and core; the best round, as the other probes (see peak_probe.hpp).
  return peak_rate_g(threads, seconds, 1 << 18, &peak_loop, /*best_round=*/true);
}

}  // namespace FM_ISA_NS
}  // namespace fm
