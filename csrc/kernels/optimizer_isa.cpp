// Per-ISA optimizer updates: torch.optim's single-tensor ("foreach=False") rules, element by
// element, with torch's order of operations (the scalars torch computes in Python double are
// computed in double here, then cast to T as ATen does):
//   add(t, alpha)     -> a + alpha * t
//   addcmul(a, b, v)  -> a + (v * a1) * a2
//   addcdiv(a, b, v)  -> a + (v * a1) / a2
//   lerp(a, b, w)     -> |w| < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
// Element-wise, so parallel over elements is deterministic.
#include <cmath>

#include "kernels/kernel_util.hpp"
#include "kernels/optimizer.hpp"  // the parameter structs (plain aggregates)

namespace fm {
namespace FM_ISA_NS {

namespace {
template <class T>
inline T lerp(T a, T b, T w) {
  return std::fabs(w) < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}
}  // namespace

template <class T>
void sgd_update(T* p, const T* g, T* buf, index_t n, const SgdParams<T>& hp, bool first) {
  const T lr = hp.lr, wd = hp.weight_decay, mom = hp.momentum;
  const T one_minus_damp = static_cast<T>(1.0 - static_cast<double>(hp.dampening));
  const bool use_wd = wd != T(0), use_mom = mom != T(0), nesterov = hp.nesterov;
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      T d = use_wd ? g[i] + wd * p[i] : g[i];
      if (use_mom) {
        T m = first ? d : buf[i] * mom + one_minus_damp * d;
        buf[i] = m;
        d = nesterov ? d + mom * m : m;
      }
      p[i] = p[i] + (-lr) * d;
    }
  });
}

template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, index_t n,
                    const RmspropParams<T>& hp) {
  const T lr = hp.lr, alpha = hp.alpha, eps = hp.eps, wd = hp.weight_decay, mom = hp.momentum;
  const T one_minus_alpha = static_cast<T>(1.0 - static_cast<double>(hp.alpha));
  const bool use_wd = wd != T(0), use_mom = mom > T(0), centered = hp.centered;
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      T d = use_wd ? g[i] + wd * p[i] : g[i];
      T sq = square_avg[i] * alpha + (one_minus_alpha * d) * d;
      square_avg[i] = sq;
      T avg;
      if (centered) {
        T ga = lerp(grad_avg[i], d, one_minus_alpha);
        grad_avg[i] = ga;
        avg = std::sqrt(sq + (T(-1) * ga) * ga);
      } else {
        avg = std::sqrt(sq);
      }
      avg = avg + eps;
      if (use_mom) {
        T m = buf[i] * mom + (T(1) * d) / avg;
        buf[i] = m;
        p[i] = p[i] + (-lr) * m;
      } else {
        p[i] = p[i] + ((-lr) * d) / avg;
      }
    }
  });
}

template <class T>
void adam_update(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
                 const AdamParams<T>& hp, long long step) {
  const double lr = static_cast<double>(hp.lr), b1 = static_cast<double>(hp.beta1),
               b2 = static_cast<double>(hp.beta2);
  const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const T neg_step_size = static_cast<T>(-(lr / bias_correction1));
  const T bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T w1 = static_cast<T>(1.0 - b1), beta2 = hp.beta2, w2 = static_cast<T>(1.0 - b2);
  const T eps = hp.eps, wd = hp.weight_decay;
  const T decay = static_cast<T>(1.0 - lr * static_cast<double>(hp.weight_decay));
  const bool use_wd = wd != T(0), decoupled = hp.decoupled, amsgrad = hp.amsgrad;
  parallel_for(n, kGrainCheap, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      T pi = p[i], d = g[i];
      if (use_wd) {
        if (decoupled) pi = pi * decay;
        else d = d + wd * pi;
      }
      T m = lerp(exp_avg[i], d, w1);
      T v = exp_avg_sq[i] * beta2 + (w2 * d) * d;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      if (amsgrad) {
        T mx = max_exp_avg_sq[i];
        mx = (v > mx || v != v) ? v : mx;  // torch.maximum: NaN propagates
        max_exp_avg_sq[i] = mx;
        v = mx;
      }
      T denom = std::sqrt(v) / bc2_sqrt + eps;
      p[i] = pi + (neg_step_size * m) / denom;
    }
  });
}

template void sgd_update<float>(float*, const float*, float*, index_t, const SgdParams<float>&, bool);
template void sgd_update<double>(double*, const double*, double*, index_t, const SgdParams<double>&, bool);
template void rmsprop_update<float>(float*, const float*, float*, float*, float*, index_t, const RmspropParams<float>&);
template void rmsprop_update<double>(double*, const double*, double*, double*, double*, index_t, const RmspropParams<double>&);
template void adam_update<float>(float*, const float*, float*, float*, float*, index_t, const AdamParams<float>&, long long);
template void adam_update<double>(double*, const double*, double*, double*, double*, index_t, const AdamParams<double>&, long long);

}  // namespace FM_ISA_NS
}  // namespace fm
