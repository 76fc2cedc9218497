#pragma once
// The bf16 GEMM driver: the five loops of driver.hpp around a bf16 micro-kernel, with packing
// routines that round op(A) and op(B) to bfloat16 while they pack. The packed layout pairs
// consecutive k steps in one 32-bit word (low half: even step), the operand order of
// vdpbf16ps. A micro-panel of MR rows and kp pairs comes in one of two layouts:
//   by rows  (A not transposed): a[i * kp + q] = {op(A)(i, 2q), op(A)(i, 2q + 1)}
//   by steps (A transposed):     a[q * MR + i] = the same pair
// each the one its packing writes with whole vectors: a row of A is a row of pairs, while a
// transposed A gives two rows of k steps, paired lane by lane into a step of MR pairs (a row
// written by steps cost a 4-byte store a pair, a third of a product's time with 1024 x 784).
//   B micro-panel (NR cols):  b[q * NR + j] = {op(B)(2q, j), op(B)(2q + 1, j)}
// An odd K is padded with a zero step; edge panels are zero padded to MR rows / NR columns,
// so the kernel needs no bound check. Cfg { MR, NR, MC, KC, NC, ukr(rows, nv, by_rows) } where
// ukr computes a rows x (16 nv) tile. Per-ISA include only.
#include <cstdint>

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

#include "common/parallel.hpp"
#include "common/types.hpp"
#include "gemm/driver.hpp"
#include "gemm/epilogue.hpp"
#include "gemm/gemm_bf16.hpp"
#include "gemm/ukernel.hpp"

namespace fm {
namespace FM_ISA_NS {

// Two float32 values rounded to bf16 and paired: lo in the low half.
inline std::uint32_t bf16_pair(float lo, float hi) {
  return static_cast<std::uint32_t>(f32_to_bf16(lo)) |
         (static_cast<std::uint32_t>(f32_to_bf16(hi)) << 16);
}

#if defined(__AVX512BF16__)
// Vector rounding (vcvtne2ps2bf16: nearest even, like f32_to_bf16; it also reads denormal
// inputs as zero, which vdpbf16ps does anyway). 16 pairs {lo[t], hi[t]}, t < n <= 16; lanes
// past n are zero.
inline __m512i bf16_pairs16(__m512 lo, __m512 hi) {
  const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
  // v holds lo's 16 bf16 then hi's: interleave them into (lo[t], hi[t]) words.
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                       23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, v);
}
inline __m512i bf16_pairs16(const float* lo, const float* hi, int n) {
  const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
  return bf16_pairs16(_mm512_maskz_loadu_ps(m, lo), _mm512_maskz_loadu_ps(m, hi));
}
// The pairs {s[2t], s[2t + 1]} of the first n <= 32 floats of s (an odd n pairs the last with
// zero), t < 16; pairs past (n + 1) / 2 are zero.
inline __m512i bf16_consecutive16(const float* s, int n) {
  const __mmask16 m0 = static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(n >= 32  ? 0xFFFFu
                                              : n > 16 ? (1u << (n - 16)) - 1u
                                                       : 0u);
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, s + 16),
                                      _mm512_maskz_loadu_ps(m0, s));
}
#endif

#if defined(__AVX512BF16__)
// The 16 pairs v into d[j..j+16), or only those below `width`.
inline void store_pairs16(std::uint32_t* d, index_t j, index_t width, __m512i v) {
  if (j + 16 <= width)
    _mm512_storeu_si512(d + j, v);
  else
    _mm512_mask_storeu_epi32(d + j, static_cast<__mmask16>((1u << (width - j)) - 1u), v);
}
#endif

// dst[t * stride] = {s[2t], s[2t + 1]} for the ceil(k / 2) pairs of k floats (the last paired
// with zero when k is odd): a row of op(A) or a column of op(B) into its micro-panel.
inline void pack_pairs_strided(const float* s, index_t k, std::uint32_t* d, index_t stride) {
  index_t p = 0;
#if defined(__AVX512BF16__)
  alignas(64) std::uint32_t tmp[16];
  for (; p + 32 <= k; p += 32, d += 16 * stride) {
    _mm512_store_si512(tmp, bf16_consecutive16(s + p, 32));
    for (int t = 0; t < 16; ++t) d[t * stride] = tmp[t];
  }
#endif
  for (; p + 1 < k; p += 2, d += stride) *d = bf16_pair(s[p], s[p + 1]);
  if (p < k) *d = bf16_pair(s[p], 0.0f);
}

// d[j] = {s0[j], s1[j]} for j < n (s1 null: the odd last step, paired with zero), then zeros
// up to `width`: one k-pair of op(B)'s rows (or of op(A)'s columns when A is transposed).
inline void pack_pairs_rows(const float* s0, const float* s1, index_t n, index_t width,
                            std::uint32_t* __restrict d) {
  index_t j = 0;
#if defined(__AVX512BF16__)
  alignas(64) static const float zeros[16] = {};
  for (; j < n; j += 16) {
    const int w = static_cast<int>(n - j < 16 ? n - j : 16);
    const __m512i v = bf16_pairs16(s0 + j, s1 ? s1 + j : zeros, w);
    store_pairs16(d, j, width, v);
  }
  if (j > n) j = j < width ? j : width;  // the vectors wrote zeros up to j
#else
  for (; j < n; ++j) d[j] = bf16_pair(s0[j], s1 ? s1[j] : 0.0f);
#endif
  for (; j < width; ++j) d[j] = 0;
}

// d[j] = {s0[j], s1[j]} for j < n (bf16 bits; s1 null: paired with zero), then zeros up to
// `width`.
inline void pack_pairs_rows(const std::uint16_t* s0, const std::uint16_t* s1, index_t n,
                            index_t width, std::uint32_t* __restrict d) {
  index_t j = 0;
#if defined(__AVX512BF16__)
  for (; j < n; j += 16) {
    const index_t w = imin(16, n - j);
    const __mmask16 m = static_cast<__mmask16>((1u << w) - 1u);
    const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s0 + j));
    const __m512i hi =
        s1 ? _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s1 + j)), 16)
           : _mm512_setzero_si512();
    const __m512i v = _mm512_or_si512(lo, hi);
    store_pairs16(d, j, width, v);
  }
  if (j > n) j = j < width ? j : width;  // the vectors wrote zeros up to j
#else
  for (; j < n; ++j)
    d[j] = static_cast<std::uint32_t>(s0[j]) | (s1 ? static_cast<std::uint32_t>(s1[j]) << 16 : 0u);
#endif
  for (; j < width; ++j) d[j] = 0;
}

// Packing reads k steps as rows of a matrix in order (a transposed A, a B not transposed),
// each a segment of a few lines at a stride: the hardware prefetcher does not run ahead of
// such a walk, and each pair of rows waited on L3 or memory (dW products two to three times
// slower right after another product than repeated on hot caches). So the rows this far
// ahead are requested while the current pair is packed.
inline constexpr index_t kRowsAhead = 32;

// Requests rows [r0, r1) of S's matrix (leading dim ld), `len` values each into L1.
template <class S>
inline void prefetch_rows(const S* src, index_t ld, index_t r0, index_t r1, index_t len) {
#if defined(__AVX512BF16__)
  for (index_t r = r0; r < r1; ++r) {
    const char* row = reinterpret_cast<const char*>(src + r * ld);
    for (index_t b = 0; b < len * index_t(sizeof(S)); b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
  }
#else
  (void)src, (void)ld, (void)r0, (void)r1, (void)len;
#endif
}

// Transposed op(A) (A[p * lda + i] = op(A)(i, p); S: float, rounded here, or bf16 bits) into
// micro-panels: a k-pair is two row segments of up to kDeal values, paired into one row and
// then dealt out MR pairs to a panel, so that A's rows are read in order (a panel at a time
// they were read 24 bytes a row, the rows a line apart each: dW = xᵀ · dZ waited on the cache
// for most of its packing).
template <int MR, class S>
inline void pack_a_trans_bf16(const S* A, index_t lda, index_t r0, index_t p0, index_t m, index_t k,
                              std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2;
  constexpr index_t kDeal = 16 * MR * 2;  // whole vectors and whole panels
  alignas(64) std::uint32_t pairs[kDeal];
  for (index_t c0 = 0; c0 < m; c0 += kDeal) {
    const index_t cn = imin(kDeal, m - c0), cw = round_up(cn, MR);
    const S* src = A + p0 * lda + r0 + c0;
    std::uint32_t* pd = dst + (c0 / MR) * kp * MR;
    for (index_t p = 0; p < k; p += 2) {
      prefetch_rows(src, lda, p + kRowsAhead, imin(k, p + kRowsAhead + 2), cn);
      pack_pairs_rows(src + p * lda, p + 1 < k ? src + (p + 1) * lda : nullptr, cn, cw, pairs);
      std::uint32_t* d = pd + (p / 2) * MR;
      for (index_t t = 0; t < cw; t += MR, d += kp * MR)
        for (int i = 0; i < MR; ++i) d[i] = pairs[t + i];
    }
  }
}

// The ceil(k / 2) pairs {s[2t], s[2t + 1]} of k floats (the last paired with zero when k is
// odd) into d[t]: a row of op(A) into a micro-panel by rows.
inline void pack_pairs_row(const float* s, index_t k, std::uint32_t* __restrict d) {
  index_t p = 0;
#if defined(__AVX512BF16__)
  for (; p + 32 <= k; p += 32) _mm512_storeu_si512(d + p / 2, bf16_consecutive16(s + p, 32));
  if (p < k) {
    const index_t n = (k - p + 1) / 2;
    _mm512_mask_storeu_epi32(d + p / 2, static_cast<__mmask16>((1u << n) - 1u),
                             bf16_consecutive16(s + p, static_cast<int>(k - p)));
  }
#else
  for (; p + 1 < k; p += 2) d[p / 2] = bf16_pair(s[p], s[p + 1]);
  if (p < k) d[p / 2] = bf16_pair(s[p], 0.0f);
#endif
}

// The same from bf16 bits: a pair is a 32-bit word of the row (p0 even), an odd k's last step
// paired with zero.
inline void pack_pairs_row(const std::uint16_t* s, index_t k, std::uint32_t* __restrict d) {
  const index_t kw = k / 2;  // whole pairs
  __builtin_memcpy(d, s, static_cast<std::size_t>(kw) * 4);
  if (kw * 2 < k) d[kw] = s[2 * kw];
}

// op(A)[rows r0.., steps p0..] (m x k; S: float, rounded here, or bf16 bits) -> ceil(m/MR)
// micro-panels of MR x ceil(k/2) pairs: by rows, or by steps when A is transposed.
template <int MR, class S>
inline void pack_a_bf16(bool trans, const S* A, index_t lda, index_t r0, index_t p0, index_t m,
                        index_t k, std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2;
  if (trans) {
    pack_a_trans_bf16<MR>(A, lda, r0, p0, m, k, dst);
    return;
  }
  for (index_t i0 = 0; i0 < m; i0 += MR, dst += kp * MR) {
    const index_t mr = imin(MR, m - i0);
    for (index_t i = 0; i < mr; ++i) {
      const S* row = A + (r0 + i0 + i) * lda + p0;
      // The same segment of the next panel's row, requested now: the row segments are short
      // (KC values), too short for the hardware prefetcher to catch up on its own (inference
      // reads op(A) = the input straight from memory).
      if (i0 + MR + i < m) prefetch_rows(row, lda, MR, MR + 1, k);
      pack_pairs_row(row, k, dst + i * kp);
    }
    for (index_t i = mr; i < MR; ++i)
      for (index_t q = 0; q < kp; ++q) dst[i * kp + q] = 0;
  }
}

#if defined(__AVX512BF16__)
// r[i][j] -> r[j][i] for a 16 x 16 block of 32-bit words (pairs within 128-bit lanes, then
// 64-bit halves, then 128-bit lanes across rows).
inline void transpose16_epi32(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // u[4b + c], lane L: column 4L + c of rows 4b..4b+3.
  for (int b = 0; b < 16; b += 4) {
    u[b] = _mm512_unpacklo_epi64(t[b], t[b + 2]);
    u[b + 1] = _mm512_unpackhi_epi64(t[b], t[b + 2]);
    u[b + 2] = _mm512_unpacklo_epi64(t[b + 1], t[b + 3]);
    u[b + 3] = _mm512_unpackhi_epi64(t[b + 1], t[b + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i lo01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i lo23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i hi01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    const __m512i hi23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(lo01, lo23, 0xDD);
    r[8 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0xDD);
  }
}
#endif

// One micro-panel of a transposed op(B): its column j (j < nr, the rest zero) is row j of
// src (leading dim ldb), k steps. 16 rows of 32 steps round to a 16 x 16 block of pairs, which
// a transpose turns into 16 steps of 16 columns: whole-vector stores (a pair at a time, each
// one 4-byte store, the copies of Wᵀ the backward pass reads took a third of their step).
template <int NR>
inline void pack_b_trans_panel(const float* src, index_t ldb, index_t k, index_t nr,
                               std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2;
#if defined(__AVX512BF16__)
  static_assert(NR % 16 == 0, "whole 16-column blocks");
  for (index_t jb = 0; jb < NR; jb += 16) {
    for (index_t p = 0; p < k; p += 32) {
      const int steps = static_cast<int>(imin(32, k - p));
      __m512i r[16];
      for (index_t jj = 0; jj < 16; ++jj)
        r[jj] = jb + jj < nr ? bf16_consecutive16(src + (jb + jj) * ldb + p, steps)
                             : _mm512_setzero_si512();
      transpose16_epi32(r);
      const index_t pairs = imin(16, kp - p / 2);
      for (index_t qq = 0; qq < pairs; ++qq)
        _mm512_storeu_si512(dst + (p / 2 + qq) * NR + jb, r[qq]);
    }
  }
#else
  for (index_t j = 0; j < NR; ++j) {
    if (j < nr) {
      pack_pairs_strided(src + j * ldb, k, dst + j, NR);
    } else {
      for (index_t q = 0; q < kp; ++q) dst[q * NR + j] = 0;
    }
  }
#endif
}

// op(B)[steps p0.., cols c0..] (k x n) -> ceil(n/NR) micro-panels of ceil(k/2) x NR pairs.
template <int NR>
inline void pack_b_bf16(bool trans, const float* B, index_t ldb, index_t p0, index_t c0, index_t k,
                        index_t n, std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2;
  for (index_t j0 = 0; j0 < n; j0 += NR, dst += kp * NR) {
    const index_t nr = n - j0 < NR ? n - j0 : NR;
    if (!trans) {  // op(B)(p, j) = B[p * ldb + j]: a step is a contiguous row segment
      const float* src = B + p0 * ldb + (c0 + j0);
      for (index_t p = 0; p < k; p += 2) {
        prefetch_rows(src, ldb, p + kRowsAhead / 2, imin(k, p + kRowsAhead / 2 + 2), nr);
        pack_pairs_rows(src + p * ldb, p + 1 < k ? src + (p + 1) * ldb : nullptr, nr, NR,
                        dst + (p / 2) * NR);
      }
    } else {  // op(B)(p, j) = B[j * ldb + p]: a column of op(B) is a contiguous row of B
      pack_b_trans_panel<NR>(B + (c0 + j0) * ldb + p0, ldb, k, nr, dst);
    }
  }
}

// The depth of op's KC slabs for a product of depth K: K split into equal even slabs of at
// most KC steps (784 = 392 + 392, not 384 + 384 + 16: a thin last slab loads and stores every
// C tile for a few steps of work). A function of K alone, so that every split over threads and
// the prepacked copies see the same slabs (the same K order for every C element).
template <class Cfg>
inline index_t slab_depth(index_t K) {
  const index_t slabs = ceil_div(K, index_t(Cfg::KC));
  return imin(index_t(Cfg::KC), round_up(ceil_div(K, slabs), 2));
}

// Pack-buffer words one thread needs for a sub-problem of m x n (B too unless it comes
// prepacked).
template <class Cfg>
inline index_t pack_words_bf16(index_t m, index_t n, index_t K, bool b_prepacked = false) {
  const index_t kp = (slab_depth<Cfg>(K) + 1) / 2;
  return round_up(round_up(imin(m, Cfg::MC), Cfg::MR) * kp, 16) +
         (b_prepacked ? 0 : round_up(round_up(imin(n, Cfg::NC), Cfg::NR) * kp, 16));
}

// A whole op(B) (K x N) packed once (a persistent copy of a weight matrix): the KC-deep slabs
// one after the other, each the ceil(N / NR) micro-panels pack_b_bf16 writes for it. The slab
// at step pc starts at word (pc / 2) * round_up(N, NR) (KC is even), and its panel holding
// column j (a multiple of NR) at j * kp further: the driver reads it where it would have
// packed.
template <class Cfg>
inline index_t prepacked_words_bf16(index_t K, index_t N) {
  return round_up(N, Cfg::NR) * ((K + 1) / 2);
}
template <class Cfg>
inline const std::uint32_t* prepacked_panel(const std::uint32_t* packed, index_t N, index_t pc,
                                            index_t kp, index_t j) {
  return packed + (pc / 2) * round_up(N, Cfg::NR) + j * kp;
}

// Builds the prepacked copies of several op(B) (jobs) in one parallel region with up to
// `threads` threads: one task a panel of a KC slab, the tasks of job j numbered after those
// of the jobs before it.
template <class Cfg>
void prepack_b_bf16(int threads, const Bf16PackJob* jobs, index_t count) {
  auto tasks = [](const Bf16PackJob& b) {
    return ceil_div(b.N, index_t(Cfg::NR)) * ceil_div(b.K, slab_depth<Cfg>(b.K));
  };
  index_t total = 0;
  for (index_t i = 0; i < count; ++i) total += tasks(jobs[i]);
  parallel_for(total, 1, threads, [&](index_t t0, index_t t1) {
    index_t i = 0, base = 0;
    for (index_t t = t0; t < t1; ++t) {
      while (t >= base + tasks(jobs[i])) base += tasks(jobs[i++]);
      const Bf16PackJob& b = jobs[i];
      const index_t panels = ceil_div(b.N, index_t(Cfg::NR)), u = t - base;
      const index_t depth = slab_depth<Cfg>(b.K);
      const index_t pc = (u / panels) * depth, j = (u % panels) * Cfg::NR;
      const index_t kc = imin(depth, b.K - pc), kp = (kc + 1) / 2;
      pack_b_bf16<Cfg::NR>(b.trans_b, b.B, b.ldb, pc, j, kc, imin(Cfg::NR, b.N - j),
                           const_cast<std::uint32_t*>(prepacked_panel<Cfg>(b.dst, b.N, pc, kp, j)));
    }
  });
}

#if defined(__AVX512BF16__)
// gemm_bf16_grad_pack: a task is 16 columns over all n rows, so that each column's sum adds the
// rows in order from zero, as colsum does (the same bits whatever the split). Rows come in
// pairs, the k-pairs of op(B) = dZ, stored into the prepacked layout's panel and slab.
template <class Cfg>
void grad_pack_bf16(int threads, const Bf16GradPack& a) {
  constexpr int NR = Cfg::NR;
  const index_t n = a.n, cols = a.cols, depth = slab_depth<Cfg>(n);
  const bool gate = a.act != Act::linear;
  const __m512 alpha = _mm512_set1_ps(a.alpha), zero = _mm512_setzero_ps();
  parallel_for(ceil_div(cols, index_t(16)), 1, threads, [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t c0 = t * 16, j = c0 / NR * NR;
      const __mmask16 m = static_cast<__mmask16>((1u << imin(16, cols - c0)) - 1u);
      // Row r's dZ: relu passes dY where y > 0 (else 0), leaky_relu scales it by alpha there
      // (op_relu_bwd / op_leaky_relu_bwd's selects, exact).
      auto dz = [&](index_t r) {
        const __m512 g = _mm512_maskz_loadu_ps(m, a.dy + r * cols + c0);
        if (!gate) return g;
        const __mmask16 pos =
            _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, a.y + r * cols + c0), zero, _CMP_GT_OQ);
        const __m512 other = a.act == Act::relu ? zero : _mm512_mul_ps(alpha, g);
        return _mm512_mask_blend_ps(pos, other, g);
      };
      __m512 sum = zero;
      for (index_t pc = 0; pc < n; pc += depth) {
        const index_t kc = imin(depth, n - pc), kp = (kc + 1) / 2;
        std::uint32_t* d =
            const_cast<std::uint32_t*>(prepacked_panel<Cfg>(a.packed, cols, pc, kp, j)) + (c0 - j);
        for (index_t p = 0; p < kc; p += 2, d += NR) {
          const index_t r = pc + p;
          const __m512 lo = dz(r);
          sum = _mm512_add_ps(sum, lo);
          if (a.dz) _mm512_mask_storeu_ps(a.dz + r * cols + c0, m, lo);
          __m512 hi = zero;
          if (p + 1 < kc) {
            hi = dz(r + 1);
            sum = _mm512_add_ps(sum, hi);
            if (a.dz) _mm512_mask_storeu_ps(a.dz + (r + 1) * cols + c0, m, hi);
          }
          // Whole 16 words: the lanes past `cols` are padding columns of the last panel.
          _mm512_storeu_si512(d, bf16_pairs16(lo, hi));
        }
      }
      if (a.colsum) _mm512_mask_storeu_ps(a.colsum + c0, m, sum);
    }
  });
}
#endif

// C[m0:m1, n0:n1] of the problem g, single-threaded; `buf` holds pack_words_bf16(m, n, K).
// `bpre`: op(B) prepacked (prepack_b_bf16), or null to pack it here. `a16`: A as bf16 bits
// (same shape and lda as g.A, which is then not read), or null.
template <class Cfg>
void gemm_block_bf16(const GemmArgs<float>& g, index_t m0, index_t m1, index_t n0, index_t n1,
                     std::uint32_t* buf, const std::uint32_t* bpre, const std::uint16_t* a16) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR, W = 16;  // W: floats per zmm
  const index_t K = g.K;
  std::uint32_t* const apack = buf;
  std::uint32_t* const bbuf =
      buf + round_up(round_up(imin(m1 - m0, Cfg::MC), MR) * ((slab_depth<Cfg>(K) + 1) / 2), 16);
  const index_t depth = slab_depth<Cfg>(K);
  const Epilogue<float>& ep = *g.ep;
  const bool do_ep = !epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr);
  alignas(64) float edge[MR * NR];

  // The MC x nc block of C at (ic, jc) += op(A)[ic.., pc..] (mc x kc) · the packed slab
  // bpack of op(B) (kc x nc): op(A)'s block rounded and packed, then NR-wide micro-panels of B
  // (jr), each against MR-row micro-tiles (ir) accumulated in registers over kc.
  auto block = [&](index_t ic, index_t mc, index_t jc, index_t nc, index_t pc, index_t kc,
                   const std::uint32_t* bpack) {
    const index_t kp = (kc + 1) / 2;
    const bool accumulate = pc > 0 || g.beta != 0.0f;
    const bool last_k = pc + kc == K;
    if (a16)
      pack_a_bf16<MR>(g.trans_a, a16, g.lda, ic, pc, mc, kc, apack);
    else
      pack_a_bf16<MR>(g.trans_a, g.A, g.lda, ic, pc, mc, kc, apack);
    for (index_t jr = 0; jr < nc; jr += NR) {
      const index_t nr = imin(NR, nc - jr);
      const int nv = static_cast<int>(ceil_div(nr, W));
      const std::uint32_t* bp = bpack + jr * kp;
      for (index_t ir = 0; ir < mc; ir += MR) {
        const index_t mr = imin(MR, mc - ir);
        const std::uint32_t* ap = apack + ir * kp;
        float* c = g.C + (ic + ir) * g.ldc + (jc + jr);
        // A kernel for exactly mr rows (few-row products: one row costs a sixth of a full
        // tile); same per-element arithmetic whatever the row count.
        const auto ukr = Cfg::ukr(static_cast<int>(mr), nv, !g.trans_a);
        if (nr == NR) {
          ukr(kp, ap, bp, c, g.ldc, accumulate);
        } else {  // edge tile: nv vectors into a stack tile, then merge the valid part
          ukr(kp, ap, bp, edge, NR, false);
          merge_edge_tile(c, g.ldc, edge, NR, mr, nr, accumulate);
        }
        if (last_k && do_ep) epilogue_tile(ep, c, g.ldc, ic + ir, jc + jr, mr, nr);
      }
    }
  };
  // jc: NC-wide panel of C and op(B).
  for (index_t jc = n0; jc < n1; jc += Cfg::NC) {
    const index_t nc = imin(Cfg::NC, n1 - jc);
    if (bpre) {
      // op(B) prepacked whole stays in L2 for every block, so each MC block of C takes all
      // its slabs at once and stays in L2 too (slab after slab, op(A)'s stream pushed C out
      // to L3 between its slabs). The same K order for every element.
      for (index_t ic = m0; ic < m1; ic += Cfg::MC)
        for (index_t pc = 0; pc < K; pc += depth) {
          const index_t kc = imin(depth, K - pc);
          block(ic, imin(Cfg::MC, m1 - ic), jc, nc, pc, kc,
                prepacked_panel<Cfg>(bpre, g.N, pc, (kc + 1) / 2, jc));
        }
      continue;
    }
    // pc: KC-deep slab; op(B)[pc:pc+kc, jc:jc+nc] rounded and packed once, reused for all ic.
    for (index_t pc = 0; pc < K; pc += depth) {
      const index_t kc = imin(depth, K - pc);
      pack_b_bf16<NR>(g.trans_b, g.B, g.ldb, pc, jc, kc, nc, bbuf);
      for (index_t ic = m0; ic < m1; ic += Cfg::MC)
        block(ic, imin(Cfg::MC, m1 - ic), jc, nc, pc, kc, bbuf);
    }
  }
}

// Whole problem, split over threads along N or M on micro-tile boundaries exactly as
// gemm_run splits the float32 one: every C element is computed by the same kernel and K
// order whatever the split, and whether op(B) comes prepacked (bpre) or not.
template <class Cfg>
void gemm_run_bf16(const GemmArgs<float>& g, int threads, const std::uint32_t* bpre = nullptr,
                   const std::uint16_t* a16 = nullptr) {
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {
    gemm_k0(g);
    return;
  }
  const index_t mt = ceil_div(g.M, Cfg::MR), ntl = ceil_div(g.N, Cfg::NR);
  // As gemm_run: no more threads than the pool can run now (one, while it has backed off on a
  // busy machine: a split the caller would run alone only adds packing).
  int nt = usable_threads(threads < 1 ? 1 : threads);
  const bool split_n = ntl >= mt || (g.M <= g.N && ntl >= nt);
  const index_t parts = split_n ? ntl : mt;
  if (parts < nt) nt = static_cast<int>(parts);
  if (!bpre && !split_n && nt > 1) {
    // Split along M, every thread would round and pack all of op(B) (e.g. dW = xᵀ · dZ packs
    // dZ once a thread): pack it once, the threads sharing the work, then all read that copy.
    std::uint32_t* shared = workspace<std::uint32_t, 1>().get(prepacked_words_bf16<Cfg>(g.K, g.N));
    const Bf16PackJob job{g.trans_b, g.K, g.N, g.B, g.ldb, shared};
    prepack_b_bf16<Cfg>(nt, &job, 1);
    bpre = shared;
  }
  const index_t per_thread = pack_words_bf16<Cfg>(g.M, g.N, g.K, bpre != nullptr);
  // Allocated here, on the calling thread (may throw), never inside the parallel region.
  std::uint32_t* buf = workspace<std::uint32_t>().get(per_thread * nt);
  parallel_for(index_t(nt), 1, nt, [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t b = parts * t / nt, e = parts * (t + 1) / nt;
      if (b >= e) continue;
      std::uint32_t* my = buf + per_thread * t;
      if (split_n)
        gemm_block_bf16<Cfg>(g, 0, g.M, b * Cfg::NR, imin(e * Cfg::NR, g.N), my, bpre, a16);
      else
        gemm_block_bf16<Cfg>(g, b * Cfg::MR, imin(e * Cfg::MR, g.M), 0, g.N, my, bpre, a16);
    }
  });
}

}  // namespace FM_ISA_NS
}  // namespace fm
