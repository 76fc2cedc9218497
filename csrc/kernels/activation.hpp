#pragma once
// Element-wise activations, forward and backward (dispatched to the per-ISA table).
// The GEMM epilogue uses the same vector math (common/act_math.hpp), so fused and unfused
// paths agree bit for bit.
#include "common/types.hpp"

namespace fm {

// y = f(x), n elements; y may alias x. act != softmax.
template <class T>
void act_fwd(Act act, T alpha, const T* x, T* y, index_t n);

// dz = dy * f'(z), n elements. z is the pre-activation, y = f(z) the output; relu, leaky_relu,
// sigmoid, tanh, elu and linear only read y (z may be null); gelu, silu and softplus read z.
// Reading y assumes alpha >= 0 for leaky_relu and elu (then y > 0 exactly when z > 0).
// dz may alias dy.
template <class T>
void act_bwd(Act act, T alpha, const T* z, const T* y, const T* dy, T* dz, index_t n);

// True when act_bwd needs the pre-activation z (callers then keep it).
bool act_bwd_needs_z(Act act);

// Row-wise numerically stable softmax on a (rows, cols) row-major block; y may alias x.
template <class T>
void softmax_fwd(const T* x, T* y, index_t rows, index_t cols);
// dx = y * (dy - sum(dy * y)) row-wise; dx may alias dy.
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, index_t rows, index_t cols);

}  // namespace fm
