#pragma once
// The int8 GEMM driver, shared by the vpdpbusd kernel and the portable one: the loops over row
// blocks, 64-column weight panels and MR-row micro-tiles, and the epilogue that turns an int32
// tile into C (raw, or dequantized + bias + activation). The kernel only accumulates an
// mr x (16 nv) int32 tile over all of K (no K blocking: int32 cannot overflow for
// K < 2^31 / (255 * 128) = 65793, and a panel of the weights stays in L2 for K in the
// thousands). Both paths run this same epilogue source, so they agree bit for bit.
// Per-ISA include only (namespace fm::FM_ISA_NS).
#include <cstdint>

#include "common/act_math.hpp"
#include "common/parallel.hpp"
#include "common/types.hpp"
#include "gemm/gemm_int8.hpp"

namespace fm {
namespace FM_ISA_NS {

inline constexpr int kInt8Panel = 64;  // columns per weight panel (4 zmm of int32)

// A kernel: tile (mr, 64) int32 = A rows (lda apart) x one weight panel of nv vectors, over kq
// groups of 4 k steps.
using UkrInt8 = void (*)(index_t kq, const std::uint8_t* a, index_t lda, const std::int8_t* b,
                         std::int32_t* tile);

// The valid mr x nc part of a tile into C: raw accumulators, or the dequantizing epilogue.
inline void store_tile_s32(const std::int32_t* tile, int mr, index_t nc, std::int32_t* c,
                           index_t ldc) {
  for (int i = 0; i < mr; ++i)
    for (index_t j = 0; j < nc; ++j) c[i * ldc + j] = tile[i * kInt8Panel + j];
}

inline void store_tile_f32(const std::int32_t* tile, int mr, index_t nc, index_t row0, index_t col0,
                           const std::int32_t* colsum, const Int8Epilogue& ep, float* c,
                           index_t ldc) {
  const std::int32_t* __restrict cs = colsum + col0;
  const float* __restrict ws = ep.w_scale + col0;
  for (int i = 0; i < mr; ++i) {
    const std::int32_t* __restrict t = tile + i * kInt8Panel;
    float* __restrict ci = c + i * ldc;
    const float sx = ep.a_scale[row0 + i];
    const std::int32_t zp = ep.a_zero[row0 + i];
    for (index_t j = 0; j < nc; ++j) ci[j] = static_cast<float>(t[j] - zp * cs[j]) * (sx * ws[j]);
    if (ep.bias) {
      const float* __restrict b = ep.bias + col0;
      for (index_t j = 0; j < nc; ++j) ci[j] += b[j];
    }
    if (ep.act != Act::linear) act_fwd_inplace(ep.act, ep.alpha, ci, nc);
  }
}

// C = A x B (+ epilogue): ep null writes int32 into Ci, else float32 into Cf. Work is cut into
// (row block of Kern::MC rows) x (panel) units handed to the threads; each C element is
// computed by one kernel call whatever the split.
template <class Kern>
void gemm_int8_run(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                   const Int8Epilogue* ep, float* Cf, std::int32_t* Ci, index_t ldc) {
  constexpr int MR = Kern::MR;
  constexpr index_t MC = Kern::MC;
  const index_t N = B.N, kq = B.Kp / 4;
  if (M <= 0 || N <= 0) return;
  const index_t npanels = (N + kInt8Panel - 1) / kInt8Panel;
  const index_t nblocks = (M + MC - 1) / MC;
  const index_t units = nblocks * npanels;
  // Few units per thread would leave one thread idle: grain 1, the pool balances.
  parallel_for(units, 1, units > 1 ? threads : 1, [&](index_t u0, index_t u1) {
    alignas(64) std::int32_t tile[MR * kInt8Panel];
    for (index_t u = u0; u < u1; ++u) {
      const index_t ic = (u / npanels) * MC, c0 = (u % npanels) * kInt8Panel;
      const index_t mc = M - ic < MC ? M - ic : MC;
      const index_t nc = N - c0 < kInt8Panel ? N - c0 : kInt8Panel;
      const int nv = static_cast<int>((nc + 15) / 16);
      const std::int8_t* b = B.panels.data() + c0 * B.Kp;
      for (index_t ir = 0; ir < mc; ir += MR) {
        const int mr = static_cast<int>(mc - ir < MR ? mc - ir : MR);
        const index_t r = ic + ir;
        Kern::ukr(mr, nv)(kq, A + r * lda, lda, b, tile);
        if (ep)
          store_tile_f32(tile, mr, nc, r, c0, B.colsum.data(), *ep, Cf + r * ldc + c0, ldc);
        else
          store_tile_s32(tile, mr, nc, Ci + r * ldc + c0, ldc);
      }
    }
  });
}

// Picks kernel (mr, nv) from a table of templates ukr<MR_, NV> for MR_ in 1..MR, NV in 1..4.
template <template <int, int> class K, int MR>
struct UkrTable {
  template <int R>
  static UkrInt8 row(int nv) {
    switch (nv) {
      case 1:
        return &K<R, 1>::run;
      case 2:
        return &K<R, 2>::run;
      case 3:
        return &K<R, 3>::run;
      default:
        return &K<R, 4>::run;
    }
  }
  static UkrInt8 get(int mr, int nv) {
    static_assert(MR == 6, "the switch below lists rows 1..6");
    switch (mr) {
      case 1:
        return row<1>(nv);
      case 2:
        return row<2>(nv);
      case 3:
        return row<3>(nv);
      case 4:
        return row<4>(nv);
      case 5:
        return row<5>(nv);
      default:
        return row<6>(nv);
    }
  }
};

}  // namespace FM_ISA_NS
}  // namespace fm
