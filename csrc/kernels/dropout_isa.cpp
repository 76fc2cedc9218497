// Per-ISA dropout and Gaussian noise from Philox4x32-10 (the generator of common/philox.hpp,
// bit for bit).
//
// Random words come in blocks of 64: block b uses the 16 counters 16b .. 16b+15 of
// (seed, stream), and element 64b + 16w + l gets word w of counter 16b + l, on every ISA, so
// the mask for element i depends only on (seed, stream, i) (not on n, threads or ISA).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/simd.hpp"
#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

namespace {

constexpr index_t kBlock = 64;

// Philox4x32-10 words for the 64 counters (stream, 16 blk0 + q), q in [0, 64), i.e. four
// blocks: out[64 (q / 16) + 16 w + q % 16] = word w of counter q. The counters run as four
// independent register chains (latency-bound otherwise), kU32Width lanes each.
inline void philox_blocks4(std::uint64_t seed, std::uint64_t stream, std::uint64_t blk0,
                           std::uint32_t* out) {
  constexpr int kChains = 4, kGroup = kChains * kU32Width;
  alignas(64) std::uint32_t idx_lo[64], idx_hi[64];
  for (int q = 0; q < 64; ++q) {
    std::uint64_t idx = blk0 * 16 + static_cast<std::uint64_t>(q);
    idx_lo[q] = static_cast<std::uint32_t>(idx);
    idx_hi[q] = static_cast<std::uint32_t>(idx >> 32);
  }
  for (int g = 0; g < 64; g += kGroup) {
    vu32_t c0[kChains], c1[kChains], c2[kChains], c3[kChains];
    for (int v = 0; v < kChains; ++v) {
      c0[v] = vu32_loadu(idx_lo + g + v * kU32Width);
      c1[v] = vu32_loadu(idx_hi + g + v * kU32Width);
      c2[v] = vu32_set1(static_cast<std::uint32_t>(stream));
      c3[v] = vu32_set1(static_cast<std::uint32_t>(stream >> 32));
    }
    std::uint32_t k0 = static_cast<std::uint32_t>(seed),
                  k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      const vu32_t vk0 = vu32_set1(k0), vk1 = vu32_set1(k1);
      for (int v = 0; v < kChains; ++v) {
        vu32_t hi0, hi1;
        vu32_t lo0 = vu32_mulhilo(c0[v], 0xD2511F53u, &hi0);
        vu32_t lo1 = vu32_mulhilo(c2[v], 0xCD9E8D57u, &hi1);
        c0[v] = vu32_xor(vu32_xor(hi1, c1[v]), vk0);
        c1[v] = lo1;
        c2[v] = vu32_xor(vu32_xor(hi0, c3[v]), vk1);
        c3[v] = lo0;
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    // kU32Width divides 16, so a chain's counters lie in one block: store its four words
    // straight into that block's rows.
    for (int v = 0; v < kChains; ++v) {
      int q0 = g + v * kU32Width;
      std::uint32_t* o = out + 64 * (q0 / 16) + q0 % 16;
      vu32_storeu(o, c0[v]);
      vu32_storeu(o + 16, c1[v]);
      vu32_storeu(o + 32, c2[v]);
      vu32_storeu(o + 48, c3[v]);
    }
  }
}

// The uniform conversions of common/philox.hpp, re-stated here: a per-ISA source must not
// call fm:: inline functions (the linker could hand an AVX-512 copy to a generic caller).
inline double unit24(std::uint32_t x) { return static_cast<double>(x >> 8) * (1.0 / 16777216.0); }
inline double unit53(std::uint32_t hi, std::uint32_t lo) {
  std::uint64_t v = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(v & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace

template <class T>
void dropout_mask_fwd(std::uint64_t seed, std::uint64_t stream, T rate, const T* x, T* y,
                      std::uint8_t* mask, index_t n) {  // x, y, mask: (n,)
  // keep <=> u >= rate with u = (word >> 8) / 2^24, i.e. (word >> 8) >= ceil(rate * 2^24)
  const std::uint32_t thr =
      static_cast<std::uint32_t>(std::ceil(static_cast<double>(rate) * 16777216.0));
  const T scale = T(1) / (T(1) - rate);
  index_t nblocks = (n + kBlock - 1) / kBlock;
  parallel_for((nblocks + 3) / 4, kGrainMath / (4 * kBlock), [&](index_t s0, index_t s1) {
    alignas(64) std::uint32_t words[4 * kBlock];
    for (index_t b = 4 * s0; b < 4 * s1 && b < nblocks; ++b) {
      if (b % 4 == 0) philox_blocks4(seed, stream, static_cast<std::uint64_t>(b), words);
      const std::uint32_t* w = words + (b % 4) * kBlock;
      index_t i0 = b * kBlock, m = n - i0 < kBlock ? n - i0 : kBlock;
      const T* xb = x + i0;  // y may alias x
      T* yb = y + i0;
      // Branch-free (a random keep would mispredict half the time): y = x * (keep * scale),
      // as torch's input * mask * scale (so inf * dropped = NaN there too). Local arrays keep
      // the loops free of aliasing (uint8 mask, y == x), so they vectorize.
      alignas(64) T f[kBlock];
      alignas(64) std::uint8_t keep[kBlock];
      const std::uint32_t t = thr;  // locals, not captured references: the loops vectorize
      const T sc = scale;
      for (index_t j = 0; j < kBlock; ++j) keep[j] = static_cast<std::uint8_t>((w[j] >> 8) >= t);
      for (index_t j = 0; j < kBlock; ++j) f[j] = (w[j] >> 8) >= t ? sc : T(0);
      for (index_t j = 0; j < m; ++j) f[j] *= xb[j];  // through the local array: no alias check
      for (index_t j = 0; j < m; ++j) yb[j] = f[j];
      std::memcpy(mask + i0, keep, static_cast<std::size_t>(m));
    }
  });
}

template <class T>
void dropout_bwd(T rate, const std::uint8_t* mask, const T* dy, T* dx, index_t n) {  // (n,)
  const T scale = T(1) / (T(1) - rate);
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) dx[i] = dy[i] * (static_cast<T>(mask[i] != 0) * scale);
  });
}

template <class T>
void gaussian_noise_fwd(std::uint64_t seed, std::uint64_t stream, T stddev, const T* x, T* y,
                        index_t n) {  // (n,)
  // Box-Muller on pairs of uniforms: sqrt(-2 log u1) (cos, sin)(2 pi u2), u1 in (0, 1].
  // float: 24-bit uniforms, 64 normals per block (words (0,1) and (2,3) of each counter);
  // double: 53-bit uniforms from word pairs, 32 normals per block.
  constexpr double two_pi = 6.283185307179586476925286766559;
  constexpr index_t per_block = sizeof(T) == 4 ? 64 : 32;
  index_t nblocks = (n + per_block - 1) / per_block;
  parallel_for((nblocks + 3) / 4, 4, [&](index_t s0, index_t s1) {
    alignas(64) std::uint32_t words[4 * kBlock];
    double z[64];
    for (index_t b = 4 * s0; b < 4 * s1 && b < nblocks; ++b) {
      if (b % 4 == 0) philox_blocks4(seed, stream, static_cast<std::uint64_t>(b), words);
      const std::uint32_t* w = words + (b % 4) * kBlock;
      for (int l = 0; l < 16; ++l) {
        if (sizeof(T) == 4) {
          for (int h = 0; h < 2; ++h) {  // words (2h, 2h+1) -> elements 32h + l, 32h + 16 + l
            double u1 = 1.0 - unit24(w[32 * h + l]);
            double u2 = unit24(w[32 * h + 16 + l]);
            double r = std::sqrt(-2.0 * std::log(u1));
            z[32 * h + l] = r * std::cos(two_pi * u2);
            z[32 * h + 16 + l] = r * std::sin(two_pi * u2);
          }
        } else {  // 53-bit uniforms from words (0,1) and (2,3) -> elements l, 16 + l
          double u1 = 1.0 - unit53(w[l], w[16 + l]);
          double u2 = unit53(w[32 + l], w[48 + l]);
          double r = std::sqrt(-2.0 * std::log(u1));
          z[l] = r * std::cos(two_pi * u2);
          z[16 + l] = r * std::sin(two_pi * u2);
        }
      }
      index_t i0 = b * per_block, m = n - i0 < per_block ? n - i0 : per_block;
      for (index_t j = 0; j < m; ++j) y[i0 + j] = x[i0 + j] + stddev * static_cast<T>(z[j]);
    }
  });
}

// The table dropout.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(DropoutKernels, dropout_kernels, dropout_mask_fwd<T>, dropout_bwd<T>,
                       gaussian_noise_fwd<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
