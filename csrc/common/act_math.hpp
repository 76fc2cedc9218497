#pragma once
// One function per activation (forward and derivative), on vec_t<T> registers, reused by every
// loop that applies an activation: the standalone kernels (kernels/activation_isa.cpp), the
// GEMM epilogue and the fused BatchNorm+activation pass. Being lane-wise, a value gets the same
// bits whichever loop, lane or tail computes it (within one ISA).
//
// Numerically stable forms (and PyTorch's conventions where they matter):
//   sigmoid(x)  = x >= 0 ? 1/(1+e) : e/(1+e),  e = exp(-|x|)
//   softplus(x) = x > 20 ? x : max(x,0) + log1p(exp(-|x|))         (torch threshold 20)
//   gelu(x)     = 0.5 x erfc(-x/sqrt2)   (= 0.5 x (1 + erf(x/sqrt2)) without the cancellation;
//                 simd_math's vnorm_cdf2, exact exponent in the far tail)
//   silu(x)     = x sigmoid(x);  elu(x) = x > 0 ? x : alpha expm1(x);  leaky(x) = x > 0 ? x : alpha
//   x
// NaN inputs give NaN outputs.
//
// Only for per-ISA sources (fm::FM_ISA_NS).
#include "common/simd_math.hpp"
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
struct ActConst {
  static constexpr T inv_sqrt_2pi = T(0.39894228040143267794);
  static constexpr T softplus_threshold = T(20);
};

// ---- forward, one register --------------------------------------------------------------------

template <class V>
inline V op_sigmoid(V x) {
  using T = decltype(vreduce_add(x));
  V e = vexp(vsub(vzero<T>(), vabs(x)));
  V s = vdiv(vset1(T(1)), vadd(vset1(T(1)), e));
  return vselect(vge(x, vzero<T>()), s, vmul(e, s));  // NaN: e*s = NaN
}
template <class V>
inline V op_tanh(V x) {
  return vtanh(x);
}
template <class V>
inline V op_relu(V x) {
  using T = decltype(vreduce_add(x));
  return vmax(vzero<T>(), x);  // NaN propagates (second operand)
}
template <class V>
inline V op_leaky_relu(V x, V alpha) {
  using T = decltype(vreduce_add(x));
  return vselect(vgt(x, vzero<T>()), x, vmul(alpha, x));
}
template <class V>
inline V op_softplus(V x) {
  using T = decltype(vreduce_add(x));
  V s = vadd(vmax(vzero<T>(), x), vlog1p(vexp(vsub(vzero<T>(), vabs(x)))));
  return vselect(vgt(x, vset1(ActConst<T>::softplus_threshold)), x, s);
}
template <class V>
inline V op_elu(V x, V alpha) {
  using T = decltype(vreduce_add(x));
  return vselect(vgt(x, vzero<T>()), x, vmul(alpha, vexpm1(x)));
}
template <class V>
inline V op_gelu(V x) {
  using T = decltype(vreduce_add(x));
  return vmul(vmul(vset1(T(0.5)), x), vnorm_cdf2(x));
}
template <class V>
inline V op_silu(V x) {
  return vmul(x, op_sigmoid(x));
}

// y = act(x) for one register. act != softmax (softmax is row-wise; treated as linear here).
template <class V>
inline V act_fwd_vec(Act act, V x, V alpha) {
  switch (act) {
    case Act::sigmoid:
      return op_sigmoid(x);
    case Act::tanh:
      return op_tanh(x);
    case Act::relu:
      return op_relu(x);
    case Act::leaky_relu:
      return op_leaky_relu(x, alpha);
    case Act::softplus:
      return op_softplus(x);
    case Act::elu:
      return op_elu(x, alpha);
    case Act::gelu:
      return op_gelu(x);
    case Act::silu:
      return op_silu(x);
    default:
      return x;
  }
}

// ---- derivative, one register: dz = dy * f'(z) --------------------------------------------------
// From the output y where that is enough (see act_bwd_needs_z), else from z.

template <class V>
inline V op_sigmoid_bwd(V y, V dy) {
  using T = decltype(vreduce_add(y));
  return vmul(dy, vmul(y, vsub(vset1(T(1)), y)));
}
template <class V>
inline V op_tanh_bwd(V y, V dy) {
  using T = decltype(vreduce_add(y));
  return vmul(dy, vfnma(y, y, vset1(T(1))));
}
template <class V>
inline V op_relu_bwd(V y, V dy) {
  using T = decltype(vreduce_add(y));
  return vselect(vgt(y, vzero<T>()), dy, vzero<T>());
}
template <class V>
inline V op_leaky_relu_bwd(V y, V dy, V alpha) {
  using T = decltype(vreduce_add(y));
  return vselect(vgt(y, vzero<T>()), dy, vmul(alpha, dy));
}
template <class V>
inline V op_elu_bwd(V y, V dy, V alpha) {
  using T = decltype(vreduce_add(y));
  return vselect(vgt(y, vzero<T>()), dy, vmul(dy, vadd(y, alpha)));
}
template <class V>
inline V op_softplus_bwd(V z, V dy) {
  using T = decltype(vreduce_add(z));
  return vselect(vgt(z, vset1(ActConst<T>::softplus_threshold)), dy, vmul(dy, op_sigmoid(z)));
}
template <class V>
inline V op_gelu_bwd(V z, V dy) {
  using T = decltype(vreduce_add(z));
  V cdf = vmul(vset1(T(0.5)), vnorm_cdf2(z));
  V pdf = vmul(vset1(ActConst<T>::inv_sqrt_2pi), vexp(vmul(vset1(T(-0.5)), vmul(z, z))));
  return vmul(dy, vfma(z, pdf, cdf));
}
template <class V>
inline V op_silu_bwd(V z, V dy) {
  using T = decltype(vreduce_add(z));
  V s = op_sigmoid(z);
  return vmul(dy, vmul(s, vfma(z, vsub(vset1(T(1)), s), vset1(T(1)))));
}

template <class V>
inline V act_bwd_vec(Act act, V z, V y, V dy, V alpha) {
  switch (act) {
    case Act::sigmoid:
      return op_sigmoid_bwd(y, dy);
    case Act::tanh:
      return op_tanh_bwd(y, dy);
    case Act::relu:
      return op_relu_bwd(y, dy);
    case Act::leaky_relu:
      return op_leaky_relu_bwd(y, dy, alpha);
    case Act::softplus:
      return op_softplus_bwd(z, dy);
    case Act::elu:
      return op_elu_bwd(y, dy, alpha);
    case Act::gelu:
      return op_gelu_bwd(z, dy);
    case Act::silu:
      return op_silu_bwd(z, dy);
    default:
      return dy;
  }
}

inline bool act_reads_z(Act act) {
  return act == Act::softplus || act == Act::gelu || act == Act::silu;
}

// ---- loops --------------------------------------------------------------------------------------

// y[i] = f(x[i]) over n elements, full registers then one masked tail (same lane math).
template <class T, class F>
inline void map_unary(const T* x, T* y, index_t n, F f) {
  constexpr int W = kVecWidth<T>;
  index_t i = 0;
  for (; i + W <= n; i += W) vstoreu(y + i, f(vloadu(x + i)));
  if (i < n) vstore_tail(y + i, f(vload_tail(x + i, n - i)), n - i);
}

// Applies the activation with the switch hoisted out of the loop. y may alias x.
template <class T>
inline void act_fwd_loop(Act act, T alpha, const T* x, T* y, index_t n) {
  using V = vec_t<T>;
  const V va = vset1(alpha);
  switch (act) {
    case Act::sigmoid:
      map_unary(x, y, n, [](V v) { return op_sigmoid(v); });
      break;
    case Act::tanh:
      map_unary(x, y, n, [](V v) { return op_tanh(v); });
      break;
    case Act::relu:
      map_unary(x, y, n, [](V v) { return op_relu(v); });
      break;
    case Act::leaky_relu:
      map_unary(x, y, n, [va](V v) { return op_leaky_relu(v, va); });
      break;
    case Act::softplus:
      map_unary(x, y, n, [](V v) { return op_softplus(v); });
      break;
    case Act::elu:
      map_unary(x, y, n, [va](V v) { return op_elu(v, va); });
      break;
    case Act::gelu:
      map_unary(x, y, n, [](V v) { return op_gelu(v); });
      break;
    case Act::silu:
      map_unary(x, y, n, [](V v) { return op_silu(v); });
      break;
    default:
      if (y != x)
        for (index_t i = 0; i < n; ++i) y[i] = x[i];
      break;
  }
}

// In place, for epilogues: x[i] = f(x[i]).
template <class T>
inline void act_fwd_inplace(Act act, T alpha, T* x, index_t n) {
  act_fwd_loop(act, alpha, x, x, n);
}

// dz[i] = dy[i] * f'(z[i]) (z or y read as the activation needs). dz may alias dy.
template <class T>
inline void act_bwd_loop(Act act, T alpha, const T* z, const T* y, const T* dy, T* dz, index_t n) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V va = vset1(alpha);
  const T* in = act_reads_z(act) ? z : y;  // the one array besides dy this activation needs
  auto run = [&](auto f) {
    index_t i = 0;
    for (; i + W <= n; i += W) vstoreu(dz + i, f(vloadu(in + i), vloadu(dy + i)));
    if (i < n) {
      index_t r = n - i;
      vstore_tail(dz + i, f(vload_tail(in + i, r), vload_tail(dy + i, r)), r);
    }
  };
  switch (act) {
    case Act::sigmoid:
      run([](V v, V g) { return op_sigmoid_bwd(v, g); });
      break;
    case Act::tanh:
      run([](V v, V g) { return op_tanh_bwd(v, g); });
      break;
    case Act::relu:
      run([](V v, V g) { return op_relu_bwd(v, g); });
      break;
    case Act::leaky_relu:
      run([va](V v, V g) { return op_leaky_relu_bwd(v, g, va); });
      break;
    case Act::softplus:
      run([](V v, V g) { return op_softplus_bwd(v, g); });
      break;
    case Act::elu:
      run([va](V v, V g) { return op_elu_bwd(v, g, va); });
      break;
    case Act::gelu:
      run([](V v, V g) { return op_gelu_bwd(v, g); });
      break;
    case Act::silu:
      run([](V v, V g) { return op_silu_bwd(v, g); });
      break;
    default:
      if (dz != dy)
        for (index_t i = 0; i < n; ++i) dz[i] = dy[i];
      break;
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
