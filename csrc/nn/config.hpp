#pragma once
// What `compile` sets: the loss (with its fused output link) and the optimizer.
#include <string>

#include "common/types.hpp"
#include "kernels/optimizer.hpp"  // UpdateRule

namespace fm::nn {

enum class LossKind : int {
  none = 0,
  cross_entropy,
  binary_cross_entropy,
  mse,
  mae,
  huber,
  poisson
};
// Element-wise losses on the raw output (no link, no accuracy): mse, mae, huber.
inline bool is_regression(LossKind loss) {
  return loss == LossKind::mse || loss == LossKind::mae || loss == LossKind::huber ||
         loss == LossKind::poisson;
}

LossKind loss_from_name(const std::string& name);  // ValueError listing the valid names
const char* loss_name(LossKind loss);

enum class OptKind : int { sgd, rmsprop, adam };

// torch.optim's hyper-parameters, names and defaults (docs/api.md, "Training"); rule = keras
// runs Keras 3's update rules on them instead (kernels/optimizer.hpp).
struct OptimizerConfig {
  OptKind kind = OptKind::adam;
  double lr = 1e-3;
  double momentum = 0.0, dampening = 0.0;  // sgd (momentum also rmsprop)
  bool nesterov = false;                   // sgd
  double alpha = 0.99;                     // rmsprop
  bool centered = false;                   // rmsprop
  double beta1 = 0.9, beta2 = 0.999;       // adam
  double eps = 1e-8;                       // rmsprop, adam
  double weight_decay = 0.0;
  bool amsgrad = false, decoupled = false;  // adam / adamw
  UpdateRule rule = UpdateRule::torch;

  // Number of state arrays per parameter element (momentum buffers, averages).
  int state_slots() const;
  // Checks ranges (lr > 0, betas in [0,1), ...) -> ValueError naming the key.
  void validate() const;
};

}  // namespace fm::nn
