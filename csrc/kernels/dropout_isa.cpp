// Per-ISA dropout and Gaussian noise from Philox4x32-10 (the generator of common/philox.hpp,
// bit for bit).
//
// Random words come in blocks of 64: block b uses the 16 counters 16b .. 16b+15 of
// (seed, stream), and element 64b + 16w + l gets word w of counter 16b + l. That layout lets
// one 16-lane loop produce the words already in element order, on every ISA (the scalar
// formula is the same), so the mask for element i depends only on (seed, stream, i).
#include <cmath>
#include <cstdint>

#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

namespace {

constexpr index_t kBlock = 64;

// out[16 w + l] = word w of Philox4x32-10 for counter (stream, 16 blk + l), key seed.
// Written as independent 16-lane loops so the compiler vectorizes the 32x32->64 products.
inline void philox_block64(std::uint64_t seed, std::uint64_t stream, std::uint64_t blk, std::uint32_t* out) {
  std::uint32_t c0[16], c1[16], c2[16], c3[16];
  for (int l = 0; l < 16; ++l) {
    std::uint64_t idx = blk * 16 + static_cast<std::uint64_t>(l);
    c0[l] = static_cast<std::uint32_t>(idx);
    c1[l] = static_cast<std::uint32_t>(idx >> 32);
    c2[l] = static_cast<std::uint32_t>(stream);
    c3[l] = static_cast<std::uint32_t>(stream >> 32);
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    for (int l = 0; l < 16; ++l) {
      std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0[l], p1 = std::uint64_t{0xCD9E8D57u} * c2[l];
      std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
      std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = static_cast<std::uint32_t>(p1);
      c2[l] = n2;
      c3[l] = static_cast<std::uint32_t>(p0);
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int l = 0; l < 16; ++l) {
    out[l] = c0[l];
    out[16 + l] = c1[l];
    out[32 + l] = c2[l];
    out[48 + l] = c3[l];
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
  const std::uint32_t thr = static_cast<std::uint32_t>(std::ceil(static_cast<double>(rate) * 16777216.0));
  const T scale = T(1) / (T(1) - rate);
  index_t nblocks = (n + kBlock - 1) / kBlock;
  parallel_for(nblocks, kGrainMath / kBlock, [&](index_t b0, index_t b1) {
    alignas(64) std::uint32_t w[kBlock];
    for (index_t b = b0; b < b1; ++b) {
      philox_block64(seed, stream, static_cast<std::uint64_t>(b), w);
      index_t i0 = b * kBlock, m = n - i0 < kBlock ? n - i0 : kBlock;
      const T* xb = x + i0;
      T* yb = y + i0;
      std::uint8_t* mb = mask + i0;
      for (index_t j = 0; j < m; ++j) {
        bool keep = (w[j] >> 8) >= thr;
        mb[j] = keep;
        yb[j] = keep ? xb[j] * scale : T(0);
      }
    }
  });
}

template <class T>
void dropout_bwd(T rate, const std::uint8_t* mask, const T* dy, T* dx, index_t n) {  // (n,)
  const T scale = T(1) / (T(1) - rate);
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) dx[i] = mask[i] ? dy[i] * scale : T(0);
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
  parallel_for(nblocks, 16, [&](index_t b0, index_t b1) {
    alignas(64) std::uint32_t w[kBlock];
    double z[64];
    for (index_t b = b0; b < b1; ++b) {
      philox_block64(seed, stream, static_cast<std::uint64_t>(b), w);
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

template void dropout_mask_fwd<float>(std::uint64_t, std::uint64_t, float, const float*, float*, std::uint8_t*, index_t);
template void dropout_mask_fwd<double>(std::uint64_t, std::uint64_t, double, const double*, double*, std::uint8_t*, index_t);
template void dropout_bwd<float>(float, const std::uint8_t*, const float*, float*, index_t);
template void dropout_bwd<double>(double, const std::uint8_t*, const double*, double*, index_t);
template void gaussian_noise_fwd<float>(std::uint64_t, std::uint64_t, float, const float*, float*, index_t);
template void gaussian_noise_fwd<double>(std::uint64_t, std::uint64_t, double, const double*, double*, index_t);

}  // namespace FM_ISA_NS
}  // namespace fm
