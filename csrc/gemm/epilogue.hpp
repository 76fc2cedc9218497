#pragma once
// The fused epilogue: bias add, optional pre-activation store (z_out) and activation on a
// C tile that was just written by the micro-kernel (still in L1). Applied only after the
// last K block. The activation is the shared vector math (common/act_math.hpp), the same
// function the standalone activation kernels call, so fused and unfused results agree bit
// for bit. Per-ISA include only.
#include "common/act_math.hpp"
#include "common/types.hpp"
#include "gemm/gemm.hpp"

namespace fm {
namespace FM_ISA_NS {

inline bool epilogue_is_identity(Act act, bool has_bias, bool has_z) {
  return act == Act::linear && !has_bias && !has_z;
}

// c: rows x cols tile at (row0, col0) of C, leading dim ldc.
template <class T>
inline void epilogue_tile(const Epilogue<T>& ep, T* c, index_t ldc, index_t row0, index_t col0,
                          index_t rows, index_t cols) {
  for (index_t r = 0; r < rows; ++r) {
    T* __restrict cr = c + r * ldc;
    if (ep.bias) {
      const T* __restrict b = ep.bias + col0;
      for (index_t j = 0; j < cols; ++j) cr[j] += b[j];
    }
    if (ep.z_out) {
      T* __restrict z = ep.z_out + (row0 + r) * ep.ldz + col0;
      for (index_t j = 0; j < cols; ++j) z[j] = cr[j];
    }
    if (ep.act != Act::linear) act_fwd_inplace(ep.act, ep.alpha, cr, cols);
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
