// Per-ISA optimizer updates: torch.optim's single-tensor ("foreach=False") rules, element by
// element, or Keras 3's (the *_keras functions, its update_step order of operations; its
// weight decay decoupled and applied first); torch's with torch's order of operations (the scalars
// torch computes in Python double are computed in double here, then cast to T as ATen does):
//   add(t, alpha)     -> a + alpha * t
//   addcmul(a, b, v)  -> a + (v * a1) * a2
//   addcdiv(a, b, v)  -> a + (v * a1) / a2
//   lerp(a, b, w)     -> |w| < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
// In the AVX2/AVX-512 builds a * b + c is one FMA, as in ATen's vectorized CPU kernels.
// Element-wise, so parallel over elements is deterministic. Subnormal values are flushed to zero
// (common/denormals.hpp): torch's numbers wherever weights and state are above 2^-126.
#include <cmath>

#include "common/denormals.hpp"
#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"
#include "kernels/optimizer.hpp"  // the parameter structs (plain aggregates)

namespace fm {
namespace FM_ISA_NS {

// vfma is one FMA (AVX2/AVX-512 builds): subnormals may be flushed (common/denormals.hpp);
// the generic build keeps them, and torch's numbers exactly where they are.
#if defined(__FMA__)
constexpr bool kFusedFma = true;
#else
constexpr bool kFusedFma = false;
#endif

// Loads/stores r lanes (r == width: a full register, else a masked tail).
template <class T>
inline vec_t<T> ld(const T* p, index_t r) {
  return r == kVecWidth<T> ? vloadu(p) : vload_tail(p, r);
}
template <class T>
inline void st(T* p, vec_t<T> v, index_t r) {
  if (r == kVecWidth<T>)
    vstoreu(p, v);
  else
    vstore_tail(p, v, r);
}

// Runs f(i, r) over [b, e) in registers of r = width lanes, then one tail.
template <class T, class F>
inline void for_lanes(index_t b, index_t e, F&& f) {
  constexpr int W = kVecWidth<T>;
  index_t i = b;
  for (; i + W <= e; i += W) f(i, index_t{W});
  if (i < e) f(i, e - i);
}

// lerp(a, b, w) with torch's two branches; w is a scalar, so the branch is chosen once.
template <class V>
inline V vlerp(V a, V b, V w, V one_minus_w, bool small_w) {
  V d = vsub(b, a);
  return small_w ? vfma(w, d, a) : vfnma(d, one_minus_w, b);
}

// ---- Keras 3's rules (keras/src/optimizers/{sgd,rmsprop,adam}.py update_step) ------------

// Keras' decoupled weight decay, before the step: p - p * (wd * lr) (wd_lr = 0: none).
template <class V>
inline V keras_decay(V pi, V wd_lr, bool use_wd) {
  return use_wd ? vfnma(pi, wd_lr, pi) : pi;
}

template <class T>
void sgd_update_keras(T* p, const T* g, T* m_buf, index_t n, const SgdParams<T>& hp,
                      bool first) {  // all (n,)
  using V = vec_t<T>;
  const V lr = vset1(hp.lr), mom = vset1(hp.momentum),
          wd_lr = vset1(static_cast<T>(static_cast<double>(hp.weight_decay) * hp.lr));
  const bool use_wd = hp.weight_decay != T(0), use_mom = hp.momentum != T(0),
             nesterov = hp.nesterov;
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = keras_decay(ld(p + i, r), wd_lr, use_wd), d = ld(g + i, r);
      if (!use_mom) {
        st(p + i, vfnma(d, lr, pi), r);  // p - g * lr
        return;
      }
      V m0 = first ? vzero<T>() : ld(m_buf + i, r);  // the velocity starts at zero
      V m = vfnma(d, lr, vmul(m0, mom));             // m * mom - g * lr
      st(m_buf + i, m, r);
      st(p + i, vadd(pi, nesterov ? vfnma(d, lr, vmul(m, mom)) : m), r);
    });
  });
}

template <class T>
void rmsprop_update_keras(T* p, const T* g, T* velocity, T* average_grad, T* m_buf, index_t n,
                          const RmspropParams<T>& hp) {  // all (n,)
  using V = vec_t<T>;
  const V lr = vset1(hp.lr), rho = vset1(hp.alpha), eps = vset1(hp.eps),
          one_minus_rho = vset1(static_cast<T>(1.0 - static_cast<double>(hp.alpha))),
          mom = vset1(hp.momentum),
          wd_lr = vset1(static_cast<T>(static_cast<double>(hp.weight_decay) * hp.lr));
  const bool use_wd = hp.weight_decay != T(0), use_mom = hp.momentum > T(0), centered = hp.centered;
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = keras_decay(ld(p + i, r), wd_lr, use_wd), d = ld(g + i, r);
      V v = vfma(vmul(one_minus_rho, d), d, vmul(rho, ld(velocity + i, r)));  // rho*v + (1-rho)*g^2
      st(velocity + i, v, r);
      V denom;
      if (centered) {
        V a = vfma(one_minus_rho, d, vmul(rho, ld(average_grad + i, r)));  // rho*a + (1-rho)*g
        st(average_grad + i, a, r);
        denom = vadd(vfnma(a, a, v), eps);  // v - a^2 + eps
      } else {
        denom = vadd(v, eps);
      }
      V incr = vdiv(vmul(lr, d), vsqrt(denom));  // lr * g / sqrt(denom): epsilon inside the root
      if (use_mom) {
        incr = vfma(mom, ld(m_buf + i, r), incr);  // mom * m + incr
        st(m_buf + i, incr, r);
      }
      st(p + i, vsub(pi, incr), r);
    });
  });
}

template <class T>
void adam_update_keras(T* p, const T* g, T* m_arr, T* v_arr, T* v_hat, index_t n,
                       const AdamParams<T>& hp, long long step) {  // all (n,)
  using V = vec_t<T>;
  const double t = static_cast<double>(step), lr = static_cast<double>(hp.lr);
  const double b1 = static_cast<double>(hp.beta1), b2 = static_cast<double>(hp.beta2);
  // alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t): epsilon is added to the uncorrected sqrt(v)
  const V alpha =
      vset1(static_cast<T>(lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t))));
  const V w1 = vset1(static_cast<T>(1.0 - b1)), w2 = vset1(static_cast<T>(1.0 - b2)),
          eps = vset1(hp.eps),
          wd_lr = vset1(static_cast<T>(static_cast<double>(hp.weight_decay) * lr));
  const bool use_wd = hp.weight_decay != T(0), amsgrad = hp.amsgrad;
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = keras_decay(ld(p + i, r), wd_lr, use_wd), d = ld(g + i, r);
      V m = ld(m_arr + i, r), v = ld(v_arr + i, r);
      m = vfma(vsub(d, m), w1, m);           // m + (g - m) * (1 - beta_1)
      v = vfma(vsub(vmul(d, d), v), w2, v);  // v + (g^2 - v) * (1 - beta_2)
      st(m_arr + i, m, r);
      st(v_arr + i, v, r);
      if (amsgrad) {
        v = vmax(ld(v_hat + i, r), v);
        st(v_hat + i, v, r);
      }
      st(p + i, vsub(pi, vdiv(vmul(m, alpha), vadd(vsqrt(v), eps))), r);
    });
  });
}

// ---- torch.optim's rules ---------------------------------------------------------------

template <class T>
void sgd_update(T* p, const T* g, T* buf, index_t n, const SgdParams<T>& hp,
                bool first) {  // all (n,)
  if (hp.rule == UpdateRule::keras) return sgd_update_keras(p, g, buf, n, hp, first);
  using V = vec_t<T>;
  const V lr_neg = vset1(-hp.lr), wd = vset1(hp.weight_decay), mom = vset1(hp.momentum),
          one_minus_damp = vset1(static_cast<T>(1.0 - static_cast<double>(hp.dampening)));
  const bool use_wd = hp.weight_decay != T(0), use_mom = hp.momentum != T(0),
             nesterov = hp.nesterov;
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = ld(p + i, r), d = ld(g + i, r);
      if (use_wd) d = vfma(wd, pi, d);  // grad + wd * p
      if (use_mom) {
        V m = first
                  ? d
                  : vfma(one_minus_damp, d, vmul(ld(buf + i, r), mom));  // buf*mom + (1-damp)*grad
        st(buf + i, m, r);
        d = nesterov ? vfma(mom, m, d) : m;  // grad + mom * buf
      }
      st(p + i, vfma(lr_neg, d, pi), r);  // p + (-lr) * d
    });
  });
}

template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, index_t n,
                    const RmspropParams<T>& hp) {  // all (n,)
  if (hp.rule == UpdateRule::keras)
    return rmsprop_update_keras(p, g, square_avg, grad_avg, buf, n, hp);
  using V = vec_t<T>;
  const T w =
      static_cast<T>(1.0 - static_cast<double>(hp.alpha));  // lerp / addcmul weight 1 - alpha
  const V lr_neg = vset1(-hp.lr), alpha = vset1(hp.alpha), eps = vset1(hp.eps),
          wd = vset1(hp.weight_decay), mom = vset1(hp.momentum), vw = vset1(w),
          one_minus_w = vset1(T(1) - w), minus_one = vset1(T(-1));
  const bool use_wd = hp.weight_decay != T(0), use_mom = hp.momentum > T(0), centered = hp.centered;
  const bool small_w = std::fabs(w) < T(0.5);
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = ld(p + i, r), d = ld(g + i, r);
      if (use_wd) d = vfma(wd, pi, d);  // grad + wd * p
      V sq = vfma(vmul(vw, d), d, vmul(ld(square_avg + i, r), alpha));
      st(square_avg + i, sq, r);
      V avg;
      if (centered) {
        V ga = vlerp(ld(grad_avg + i, r), d, vw, one_minus_w, small_w);
        st(grad_avg + i, ga, r);
        avg = vsqrt(vfma(vmul(minus_one, ga), ga, sq));  // addcmul(ga, ga, value=-1)
      } else {
        avg = vsqrt(sq);
      }
      avg = vadd(avg, eps);
      if (use_mom) {
        V m = vadd(vmul(ld(buf + i, r), mom), vdiv(d, avg));  // buf * mom + grad / avg
        st(buf + i, m, r);
        st(p + i, vfma(lr_neg, m, pi), r);
      } else {
        st(p + i, vadd(pi, vdiv(vmul(lr_neg, d), avg)), r);
      }
    });
  });
}

template <class T>
void adam_update(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
                 const AdamParams<T>& hp, long long step) {  // all (n,)
  if (hp.rule == UpdateRule::keras)
    return adam_update_keras(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, hp, step);
  using V = vec_t<T>;
  const double lr = static_cast<double>(hp.lr), b1 = static_cast<double>(hp.beta1),
               b2 = static_cast<double>(hp.beta2);
  const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const T w1 = static_cast<T>(1.0 - b1);
  const V neg_step_size = vset1(static_cast<T>(-(lr / bias_correction1)));
  const V bc2_sqrt = vset1(static_cast<T>(std::sqrt(bias_correction2)));
  const V vw1 = vset1(w1), one_minus_w1 = vset1(T(1) - w1), beta2 = vset1(hp.beta2),
          w2 = vset1(static_cast<T>(1.0 - b2)), eps = vset1(hp.eps), wd = vset1(hp.weight_decay),
          decay = vset1(static_cast<T>(1.0 - lr * static_cast<double>(hp.weight_decay)));
  const bool use_wd = hp.weight_decay != T(0), decoupled = hp.decoupled, amsgrad = hp.amsgrad;
  const bool small_w1 = std::fabs(w1) < T(0.5);
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    const FlushDenormals flush(kFusedFma);  // subnormal state: no microcode assists
    for_lanes<T>(b, e, [&](index_t i, index_t r) {
      V pi = ld(p + i, r), d = ld(g + i, r);
      if (use_wd) {
        if (decoupled)
          pi = vmul(pi, decay);  // p *= 1 - lr * wd
        else
          d = vfma(wd, pi, d);  // grad + wd * p
      }
      V m = vlerp(ld(exp_avg + i, r), d, vw1, one_minus_w1, small_w1);
      V v = vfma(vmul(w2, d), d, vmul(ld(exp_avg_sq + i, r), beta2));
      st(exp_avg + i, m, r);
      st(exp_avg_sq + i, v, r);
      if (amsgrad) {
        v = vmax(ld(max_exp_avg_sq + i, r), v);  // NaN in v propagates
        st(max_exp_avg_sq + i, v, r);
      }
      V denom = vadd(vdiv(vsqrt(v), bc2_sqrt), eps);
      st(p + i, vadd(pi, vdiv(vmul(neg_step_size, m), denom)), r);
    });
  });
}

// The table optimizer.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(OptimizerKernels, optimizer_kernels, sgd_update<T>, rmsprop_update<T>,
                       adam_update<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
