#pragma once
// Scalar activation formulas: the GEMM reference's epilogue, and the fused epilogue's
// fallback until the shared vector math (common/act_math.hpp) is available.
// Per-ISA include only (inside namespace fm::FM_ISA_NS).
#include <cmath>

#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
inline T act_scalar(Act act, T alpha, T x) {
  switch (act) {
    case Act::sigmoid: {
      T e = std::exp(-std::fabs(x));  // stable on both sides
      return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    case Act::tanh:
      return std::tanh(x);
    case Act::relu:
      return x < T(0) ? T(0) : x;  // NaN stays NaN
    case Act::leaky_relu:
      return x < T(0) ? alpha * x : x;
    case Act::softplus:  // torch's threshold: x above 20 is returned as is
      return x > T(20) ? x : (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
    case Act::elu:
      return x < T(0) ? alpha * std::expm1(x) : x;
    case Act::gelu:
      return T(0.5) * x * std::erfc(-x * T(0.70710678118654752440));
    case Act::silu: {
      T e = std::exp(-std::fabs(x));
      T s = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
      return x * s;
    }
    default:
      return x;  // linear (softmax never reaches a GEMM epilogue)
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
