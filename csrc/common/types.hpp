#pragma once
// Basic vocabulary shared by every layer of the core.
#include <cstdint>

namespace fm {

// 64-bit index math everywhere: arrays over 2^31 elements must not overflow.
using index_t = std::int64_t;

// Element-wise activations. The numeric values are part of the binding ABI (Python passes names).
enum class Act : int {
  linear = 0,
  sigmoid,
  tanh,
  relu,
  leaky_relu,  // alpha: negative slope
  softplus,
  elu,   // alpha
  gelu,  // exact erf form
  silu,
  softmax,  // row-wise; only valid where a row length is known (never in a GEMM epilogue)
};

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

}  // namespace fm
