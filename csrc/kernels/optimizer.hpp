#pragma once
// Optimizer updates with torch.optim's exact rules (single-tensor "for-loop" implementation),
// or Keras 3's (rule = keras), one parameter array at a time, element-wise (parallel over
// elements: deterministic).
#include "common/types.hpp"

namespace fm {

// Whose update rule: torch.optim's, or Keras 3's (keras/src/optimizers/*.py update_step). They
// differ where the learning rate and epsilon enter:
//   SGD      torch: buf = mom*buf + g, p -= lr*buf      keras: m = mom*m - lr*g, p += m
//   RMSprop  torch: p -= lr*g / (sqrt(v) + eps)         keras: p -= lr*g / sqrt(v + eps)
//            (momentum: torch buffers g/denom, keras lr*g/denom)
//   Adam     torch: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
//            keras: p -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps)
// and Keras' weight_decay is always decoupled (p -= p * wd * lr, before the step).
enum class UpdateRule : int { torch = 0, keras = 1 };

template <class T>
struct SgdParams {
  T lr, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  UpdateRule rule = UpdateRule::torch;
};
// buf: momentum buffer (n), used when momentum != 0. first: buf is uninitialized (torch sets
// buf = grad on the first step, keras starts from m = 0). g is not modified. keras: dampening
// must be 0.
template <class T>
void sgd_update(T* p, const T* g, T* buf, index_t n, const SgdParams<T>& hp, bool first);

template <class T>
struct RmspropParams {
  T lr, alpha = T(0.99), eps = T(1e-8), weight_decay = 0, momentum = 0;
  bool centered = false;
  UpdateRule rule = UpdateRule::torch;
};
// square_avg, grad_avg (centered), buf (momentum): state arrays (n), zero at the start.
template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, index_t n,
                    const RmspropParams<T>& hp);

template <class T>
struct AdamParams {
  T lr, beta1 = T(0.9), beta2 = T(0.999), eps = T(1e-8), weight_decay = 0;
  bool amsgrad = false;
  bool decoupled = false;  // AdamW: p *= 1 - lr * weight_decay; else L2 added to the gradient
  UpdateRule rule = UpdateRule::torch;  // keras: weight decay always decoupled
};
// step: 1-based step count after increment (torch's state["step"]).
// exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad): state arrays (n), zero at the start.
template <class T>
void adam_update(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
                 const AdamParams<T>& hp, long long step);

}  // namespace fm
