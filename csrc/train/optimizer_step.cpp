// One optimizer call over the whole trainable arena (W, b, gamma, beta are contiguous), so
// torch's per-parameter loop becomes one streaming pass. Weight decay in torch applies to
// every parameter given to the optimizer (biases included): identical here.
#include "common/check.hpp"
#include "kernels/optimizer.hpp"
#include "train/train.hpp"

namespace fm::train {

template <class T>
void optimizer_update(Network<T>& net) {
  const nn::OptimizerConfig& o = net.optimizer();
  const index_t n = net.trainable_size();
  T* p = net.params();
  const T* g = net.grads();
  T* state = net.opt_state();
  const bool first = net.step == 0;
  ++net.step;
  if (n == 0) return;
  auto slot = [&](int s) { return state + static_cast<index_t>(s) * n; };
  switch (o.kind) {
    case nn::OptKind::sgd: {
      SgdParams<T> hp;
      hp.lr = static_cast<T>(o.lr);
      hp.momentum = static_cast<T>(o.momentum);
      hp.dampening = static_cast<T>(o.dampening);
      hp.weight_decay = static_cast<T>(o.weight_decay);
      hp.nesterov = o.nesterov;
      sgd_update<T>(p, g, o.momentum != 0.0 ? slot(0) : nullptr, n, hp, first);
      break;
    }
    case nn::OptKind::rmsprop: {
      RmspropParams<T> hp;
      hp.lr = static_cast<T>(o.lr);
      hp.alpha = static_cast<T>(o.alpha);
      hp.eps = static_cast<T>(o.eps);
      hp.weight_decay = static_cast<T>(o.weight_decay);
      hp.momentum = static_cast<T>(o.momentum);
      hp.centered = o.centered;
      int s = 1;
      T* grad_avg = o.centered ? slot(s++) : nullptr;
      T* buf = o.momentum != 0.0 ? slot(s++) : nullptr;
      rmsprop_update<T>(p, g, slot(0), grad_avg, buf, n, hp);
      break;
    }
    case nn::OptKind::adam: {
      AdamParams<T> hp;
      hp.lr = static_cast<T>(o.lr);
      hp.beta1 = static_cast<T>(o.beta1);
      hp.beta2 = static_cast<T>(o.beta2);
      hp.eps = static_cast<T>(o.eps);
      hp.weight_decay = static_cast<T>(o.weight_decay);
      hp.amsgrad = o.amsgrad;
      hp.decoupled = o.decoupled;
      adam_update<T>(p, g, slot(0), slot(1), o.amsgrad ? slot(2) : nullptr, n, hp, net.step);
      break;
    }
  }
}

template void optimizer_update<float>(Network<float>&);
template void optimizer_update<double>(Network<double>&);

}  // namespace fm::train
