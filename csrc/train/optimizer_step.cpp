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
  auto t = [](double v) { return static_cast<T>(v); };
  // Hyper-parameters in each Params struct's member order (kernels/optimizer.hpp).
  switch (o.kind) {
    case nn::OptKind::sgd: {
      const SgdParams<T> hp{t(o.lr),           t(o.momentum), t(o.dampening),
                            t(o.weight_decay), o.nesterov,    o.rule};
      sgd_update<T>(p, g, o.momentum != 0.0 ? slot(0) : nullptr, n, hp, first);
      break;
    }
    case nn::OptKind::rmsprop: {
      const RmspropParams<T> hp{t(o.lr),       t(o.alpha), t(o.eps), t(o.weight_decay),
                                t(o.momentum), o.centered, o.rule};
      int s = 1;
      T* grad_avg = o.centered ? slot(s++) : nullptr;
      T* buf = o.momentum != 0.0 ? slot(s++) : nullptr;
      rmsprop_update<T>(p, g, slot(0), grad_avg, buf, n, hp);
      break;
    }
    case nn::OptKind::adam: {
      const AdamParams<T> hp{t(o.lr),           t(o.beta1), t(o.beta2),  t(o.eps),
                             t(o.weight_decay), o.amsgrad,  o.decoupled, o.rule};
      adam_update<T>(p, g, slot(0), slot(1), o.amsgrad ? slot(2) : nullptr, n, hp, net.step);
      break;
    }
  }
}

template void optimizer_update<float>(Network<float>&);
template void optimizer_update<double>(Network<double>&);

}  // namespace fm::train
