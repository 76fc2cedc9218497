#pragma once
// The bf16 GEMM driver: the five loops of driver.hpp around a bf16 micro-kernel, with packing
// routines that round op(A) and op(B) to bfloat16 while they pack. The packed layout pairs
// consecutive k steps in one 32-bit word (low half: even step), the operand order of
// vdpbf16ps:
//   A micro-panel (MR rows):  a[q * MR + i] = {op(A)(i, 2q), op(A)(i, 2q + 1)}
//   B micro-panel (NR cols):  b[q * NR + j] = {op(B)(2q, j), op(B)(2q + 1, j)}
// An odd K is padded with a zero step; edge panels are zero padded to MR rows / NR columns,
// so the kernel needs no bound check. Cfg { MR, NR, MC, KC, NC, ukr(nv) } where ukr(nv)
// computes an MR x (16 nv) tile. Per-ISA include only.
#include <cstdint>

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

// op(A)[rows r0.., steps p0..] (m x k) -> ceil(m/MR) micro-panels of ceil(k/2) x MR pairs.
template <int MR>
inline void pack_a_bf16(bool trans, const float* A, index_t lda, index_t r0, index_t p0, index_t m,
                        index_t k, std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2, k2 = k / 2 * 2;
  for (index_t i0 = 0; i0 < m; i0 += MR, dst += kp * MR) {
    const index_t mr = m - i0 < MR ? m - i0 : MR;
    if (trans) {  // op(A)(i, p) = A[p * lda + i]: a step is a contiguous row segment
      const float* src = A + p0 * lda + (r0 + i0);
      for (index_t p = 0; p < k2; p += 2) {
        const float* s0 = src + p * lda;
        const float* s1 = s0 + lda;
        std::uint32_t* d = dst + (p / 2) * MR;
        for (index_t i = 0; i < mr; ++i) d[i] = bf16_pair(s0[i], s1[i]);
        for (index_t i = mr; i < MR; ++i) d[i] = 0;
      }
      if (k2 < k) {
        const float* s0 = src + k2 * lda;
        std::uint32_t* d = dst + (kp - 1) * MR;
        for (index_t i = 0; i < mr; ++i) d[i] = bf16_pair(s0[i], 0.0f);
        for (index_t i = mr; i < MR; ++i) d[i] = 0;
      }
    } else {  // a row of op(A) is contiguous
      for (index_t i = 0; i < MR; ++i) {
        std::uint32_t* d = dst + i;
        if (i >= mr) {
          for (index_t q = 0; q < kp; ++q) d[q * MR] = 0;
          continue;
        }
        const float* s = A + (r0 + i0 + i) * lda + p0;
        for (index_t p = 0; p < k2; p += 2) d[(p / 2) * MR] = bf16_pair(s[p], s[p + 1]);
        if (k2 < k) d[(kp - 1) * MR] = bf16_pair(s[k2], 0.0f);
      }
    }
  }
}

// op(B)[steps p0.., cols c0..] (k x n) -> ceil(n/NR) micro-panels of ceil(k/2) x NR pairs.
template <int NR>
inline void pack_b_bf16(bool trans, const float* B, index_t ldb, index_t p0, index_t c0, index_t k,
                        index_t n, std::uint32_t* __restrict dst) {
  const index_t kp = (k + 1) / 2, k2 = k / 2 * 2;
  for (index_t j0 = 0; j0 < n; j0 += NR, dst += kp * NR) {
    const index_t nr = n - j0 < NR ? n - j0 : NR;
    if (!trans) {  // op(B)(p, j) = B[p * ldb + j]: a step is a contiguous row segment
      const float* src = B + p0 * ldb + (c0 + j0);
      for (index_t p = 0; p < k; p += 2) {
        const float* s0 = src + p * ldb;
        std::uint32_t* d = dst + (p / 2) * NR;
        if (p + 1 < k) {
          const float* s1 = s0 + ldb;
          for (index_t j = 0; j < nr; ++j) d[j] = bf16_pair(s0[j], s1[j]);
        } else {
          for (index_t j = 0; j < nr; ++j) d[j] = bf16_pair(s0[j], 0.0f);
        }
        for (index_t j = nr; j < NR; ++j) d[j] = 0;
      }
    } else {  // op(B)(p, j) = B[j * ldb + p]: a column of op(B) is a contiguous row of B
      for (index_t j = 0; j < NR; ++j) {
        std::uint32_t* d = dst + j;
        if (j >= nr) {
          for (index_t q = 0; q < kp; ++q) d[q * NR] = 0;
          continue;
        }
        const float* s = B + (c0 + j0 + j) * ldb + p0;
        for (index_t p = 0; p < k2; p += 2) d[(p / 2) * NR] = bf16_pair(s[p], s[p + 1]);
        if (k2 < k) d[(kp - 1) * NR] = bf16_pair(s[k2], 0.0f);
      }
    }
  }
}

// Pack-buffer words one thread needs for a sub-problem of m x n.
template <class Cfg>
inline index_t pack_words_bf16(index_t m, index_t n, index_t K) {
  const index_t kp = (imin(K, Cfg::KC) + 1) / 2;
  return round_up(round_up(imin(m, Cfg::MC), Cfg::MR) * kp, 16) +
         round_up(round_up(imin(n, Cfg::NC), Cfg::NR) * kp, 16);
}

// C[m0:m1, n0:n1] of the problem g, single-threaded; `buf` holds pack_words_bf16(m, n, K).
template <class Cfg>
void gemm_block_bf16(const GemmArgs<float>& g, index_t m0, index_t m1, index_t n0, index_t n1,
                     std::uint32_t* buf) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR, W = 16;  // W: floats per zmm
  const index_t K = g.K;
  std::uint32_t* const apack = buf;
  std::uint32_t* const bpack =
      buf + round_up(round_up(imin(m1 - m0, Cfg::MC), MR) * ((imin(K, Cfg::KC) + 1) / 2), 16);
  const Epilogue<float>& ep = *g.ep;
  const bool do_ep = !epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr);
  alignas(64) float edge[MR * NR];

  // jc: NC-wide panel of C and op(B).
  for (index_t jc = n0; jc < n1; jc += Cfg::NC) {
    const index_t nc = imin(Cfg::NC, n1 - jc);
    // pc: KC-deep slab; op(B)[pc:pc+kc, jc:jc+nc] rounded and packed once, reused for all ic.
    for (index_t pc = 0; pc < K; pc += Cfg::KC) {
      const index_t kc = imin(Cfg::KC, K - pc), kp = (kc + 1) / 2;
      const bool accumulate = pc > 0 || g.beta != 0.0f;
      const bool last_k = pc + kc == K;
      pack_b_bf16<NR>(g.trans_b, g.B, g.ldb, pc, jc, kc, nc, bpack);
      // ic: MC-tall block of op(A), rounded and packed.
      for (index_t ic = m0; ic < m1; ic += Cfg::MC) {
        const index_t mc = imin(Cfg::MC, m1 - ic);
        pack_a_bf16<MR>(g.trans_a, g.A, g.lda, ic, pc, mc, kc, apack);
        // jr: NR-wide micro-panel of B.
        for (index_t jr = 0; jr < nc; jr += NR) {
          const index_t nr = imin(NR, nc - jr);
          const int nv = static_cast<int>(ceil_div(nr, W));
          const std::uint32_t* bp = bpack + jr * kp;
          // ir: MR x NR micro-tile, accumulated in registers over kc.
          for (index_t ir = 0; ir < mc; ir += MR) {
            const index_t mr = imin(MR, mc - ir);
            const std::uint32_t* ap = apack + ir * kp;
            float* c = g.C + (ic + ir) * g.ldc + (jc + jr);
            if (mr == MR && nr == NR) {
              Cfg::ukr(NR / W)(kp, ap, bp, c, g.ldc, accumulate);
            } else {  // edge tile: nv vectors into a stack tile, then merge the valid part
              Cfg::ukr(nv)(kp, ap, bp, edge, NR, false);
              for (index_t i = 0; i < mr; ++i) {
                float* __restrict ci = c + i * g.ldc;
                const float* __restrict ei = edge + i * NR;
                if (accumulate)
                  for (index_t j = 0; j < nr; ++j) ci[j] += ei[j];
                else
                  for (index_t j = 0; j < nr; ++j) ci[j] = ei[j];
              }
            }
            if (last_k && do_ep) epilogue_tile(ep, c, g.ldc, ic + ir, jc + jr, mr, nr);
          }
        }
      }
    }
  }
}

// Whole problem, split over threads along N or M on micro-tile boundaries exactly as
// gemm_run splits the float32 one: every C element is computed by the same kernel and K
// order whatever the split.
template <class Cfg>
void gemm_run_bf16(const GemmArgs<float>& g, int threads) {
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {
    gemm_k0(g);
    return;
  }
  const index_t mt = ceil_div(g.M, Cfg::MR), ntl = ceil_div(g.N, Cfg::NR);
  int nt = threads < 1 ? 1 : threads;
  const bool split_n = ntl >= mt || (g.M <= g.N && ntl >= nt);
  const index_t parts = split_n ? ntl : mt;
  if (parts < nt) nt = static_cast<int>(parts);
  const index_t per_thread = pack_words_bf16<Cfg>(g.M, g.N, g.K);
  // Allocated here, on the calling thread (may throw), never inside the parallel region.
  std::uint32_t* buf = workspace<std::uint32_t>().get(per_thread * nt);
  parallel_for(index_t(nt), 1, nt, [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t b = parts * t / nt, e = parts * (t + 1) / nt;
      if (b >= e) continue;
      std::uint32_t* my = buf + per_thread * t;
      if (split_n)
        gemm_block_bf16<Cfg>(g, 0, g.M, b * Cfg::NR, imin(e * Cfg::NR, g.N), my);
      else
        gemm_block_bf16<Cfg>(g, b * Cfg::MR, imin(e * Cfg::MR, g.M), 0, g.N, my);
    }
  });
}

}  // namespace FM_ISA_NS
}  // namespace fm
