// Optimizer entry points: check arguments, then call the per-ISA kernel.
#include "kernels/optimizer.hpp"

#include <cmath>

#include "common/check.hpp"
#include "kernels/kernel_tables.hpp"

namespace fm {

namespace {
template <class T>
bool finite_nonneg(T v) {
  return std::isfinite(v) && v >= T(0);
}
}  // namespace

template <class T>
void sgd_update(T* p, const T* g, T* buf, index_t n, const SgdParams<T>& hp, bool first) {
  FM_CHECK(n >= 0, "sgd_update: n must be >= 0, got ", n);
  FM_CHECK(finite_nonneg(hp.lr), "sgd_update: lr must be finite and >= 0, got ", hp.lr);
  FM_CHECK(finite_nonneg(hp.momentum), "sgd_update: momentum must be >= 0, got ", hp.momentum);
  FM_CHECK(std::isfinite(hp.dampening), "sgd_update: dampening must be finite, got ", hp.dampening);
  FM_CHECK(finite_nonneg(hp.weight_decay), "sgd_update: weight_decay must be >= 0, got ",
           hp.weight_decay);
  FM_CHECK(!hp.nesterov || (hp.momentum > T(0) && hp.dampening == T(0)),
           "sgd_update: nesterov momentum requires a momentum and zero dampening");
  FM_CHECK(hp.rule == UpdateRule::torch || hp.dampening == T(0),
           "sgd_update: Keras' rule has no dampening, got ", hp.dampening);
  if (n == 0) return;
  FM_CHECK(p && g, "sgd_update: null array");
  FM_CHECK(hp.momentum == T(0) || buf, "sgd_update: momentum needs a buffer");
  FM_SELECT_ISA(optimizer_kernels<T>)().sgd(p, g, buf, n, hp, first);
}

template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, index_t n,
                    const RmspropParams<T>& hp) {
  FM_CHECK(n >= 0, "rmsprop_update: n must be >= 0, got ", n);
  FM_CHECK(finite_nonneg(hp.lr), "rmsprop_update: lr must be finite and >= 0, got ", hp.lr);
  FM_CHECK(finite_nonneg(hp.alpha), "rmsprop_update: alpha must be >= 0, got ", hp.alpha);
  FM_CHECK(finite_nonneg(hp.eps), "rmsprop_update: eps must be >= 0, got ", hp.eps);
  FM_CHECK(finite_nonneg(hp.momentum), "rmsprop_update: momentum must be >= 0, got ", hp.momentum);
  FM_CHECK(finite_nonneg(hp.weight_decay), "rmsprop_update: weight_decay must be >= 0, got ",
           hp.weight_decay);
  if (n == 0) return;
  FM_CHECK(p && g && square_avg, "rmsprop_update: null array");
  FM_CHECK(!hp.centered || grad_avg, "rmsprop_update: centered needs grad_avg");
  FM_CHECK(hp.momentum == T(0) || buf, "rmsprop_update: momentum needs a buffer");
  FM_SELECT_ISA(optimizer_kernels<T>)().rmsprop(p, g, square_avg, grad_avg, buf, n, hp);
}

template <class T>
void adam_update(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
                 const AdamParams<T>& hp, long long step) {
  FM_CHECK(n >= 0, "adam_update: n must be >= 0, got ", n);
  FM_CHECK(step >= 1, "adam_update: step must be >= 1 (1-based, after increment), got ", step);
  FM_CHECK(finite_nonneg(hp.lr), "adam_update: lr must be finite and >= 0, got ", hp.lr);
  FM_CHECK(hp.beta1 >= T(0) && hp.beta1 < T(1), "adam_update: beta1 must be in [0, 1), got ",
           hp.beta1);
  FM_CHECK(hp.beta2 >= T(0) && hp.beta2 < T(1), "adam_update: beta2 must be in [0, 1), got ",
           hp.beta2);
  FM_CHECK(finite_nonneg(hp.eps), "adam_update: eps must be >= 0, got ", hp.eps);
  FM_CHECK(finite_nonneg(hp.weight_decay), "adam_update: weight_decay must be >= 0, got ",
           hp.weight_decay);
  if (n == 0) return;
  FM_CHECK(p && g && exp_avg && exp_avg_sq, "adam_update: null array");
  FM_CHECK(!hp.amsgrad || max_exp_avg_sq, "adam_update: amsgrad needs max_exp_avg_sq");
  FM_SELECT_ISA(optimizer_kernels<T>)().adam(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, hp,
                                             step);
}

#define FM_OPTIMIZER_INSTANTIATE(T)                                                            \
  template void sgd_update<T>(T*, const T*, T*, index_t, const SgdParams<T>&, bool);           \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, index_t, const RmspropParams<T>&); \
  template void adam_update<T>(T*, const T*, T*, T*, T*, index_t, const AdamParams<T>&, long long);
FM_OPTIMIZER_INSTANTIATE(float)
FM_OPTIMIZER_INSTANTIATE(double)
#undef FM_OPTIMIZER_INSTANTIATE

}  // namespace fm
