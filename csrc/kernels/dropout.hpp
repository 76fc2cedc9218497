#pragma once
// Inverted dropout and Gaussian noise from the counter-based Philox RNG: element i of a call
// with (seed, stream) always gets the same random number, whatever the thread count.
#include <cstdint>

#include "common/types.hpp"

namespace fm {

// keep = u(seed, stream, i) >= rate; y = keep ? x / (1 - rate) : 0; mask[i] = keep.
// 0 <= rate < 1 (checked). y may alias x.
template <class T>
void dropout_mask_fwd(std::uint64_t seed, std::uint64_t stream, T rate, const T* x, T* y,
                      std::uint8_t* mask, index_t n);
// dx = mask ? dy / (1 - rate) : 0. dx may alias dy.
template <class T>
void dropout_bwd(T rate, const std::uint8_t* mask, const T* dy, T* dx, index_t n);

// y = x + stddev * N(0,1)(seed, stream, i). y may alias x.
template <class T>
void gaussian_noise_fwd(std::uint64_t seed, std::uint64_t stream, T stddev, const T* x, T* y,
                        index_t n);

}  // namespace fm
