// Layer validation and fusion into the execution plan (see layer.hpp).
#include <cmath>
#include <new>
#include <string>
#include <utility>

#include "common/check.hpp"
#include "kernels/activation.hpp"
#include "nn/config.hpp"
#include "nn/layer.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// Trainable arrays start on 64-byte boundaries; the padding stays zero in params and grads,
// so the single optimizer call over the whole arena leaves it at zero.
constexpr index_t kParamAlign = 16;
index_t align_up(index_t x) { return (x + kParamAlign - 1) / kParamAlign * kParamAlign; }

}  // namespace

LossKind loss_from_name(const std::string& name) {
  if (name == "cross_entropy") return LossKind::cross_entropy;
  if (name == "binary_cross_entropy") return LossKind::binary_cross_entropy;
  if (name == "mse") return LossKind::mse;
  if (name == "mae") return LossKind::mae;
  if (name == "huber") return LossKind::huber;
  if (name == "poisson") return LossKind::poisson;
  FM_CHECK(false, "unknown loss '", name,
           "'; valid losses: cross_entropy, binary_cross_entropy, mse, mae, huber, poisson");
}

const char* loss_name(LossKind loss) {
  switch (loss) {
    case LossKind::cross_entropy:
      return "cross_entropy";
    case LossKind::binary_cross_entropy:
      return "binary_cross_entropy";
    case LossKind::mse:
      return "mse";
    case LossKind::mae:
      return "mae";
    case LossKind::huber:
      return "huber";
    case LossKind::poisson:
      return "poisson";
    default:
      return "none";
  }
}

int OptimizerConfig::state_slots() const {
  switch (kind) {
    case OptKind::sgd:
      return momentum != 0.0 ? 1 : 0;
    case OptKind::rmsprop:
      return 1 + (centered ? 1 : 0) + (momentum != 0.0 ? 1 : 0);
    case OptKind::adam:
      return 2 + (amsgrad ? 1 : 0);
  }
  return 0;
}

void OptimizerConfig::validate() const {
  auto finite = [](double v) { return std::isfinite(v); };
  FM_CHECK(finite(lr) && lr > 0.0, "optimizer 'lr' must be a finite number > 0, got ", lr);
  FM_CHECK(finite(weight_decay) && weight_decay >= 0.0,
           "optimizer 'weight_decay' must be >= 0, got ", weight_decay);
  FM_CHECK(finite(momentum) && momentum >= 0.0, "optimizer 'momentum' must be >= 0, got ",
           momentum);
  FM_CHECK(finite(eps) && eps >= 0.0, "optimizer 'eps' must be >= 0, got ", eps);
  if (kind == OptKind::sgd) {
    FM_CHECK(finite(dampening), "optimizer 'dampening' must be finite, got ", dampening);
    FM_CHECK(!nesterov || (momentum > 0.0 && dampening == 0.0),
             "nesterov momentum requires 'momentum' > 0 and 'dampening' = 0");
    FM_CHECK(rule == UpdateRule::torch || dampening == 0.0,
             "optimizer 'dampening' is not part of Keras' SGD rule, got ", dampening);
  }
  if (kind == OptKind::rmsprop)
    FM_CHECK(finite(alpha) && alpha >= 0.0 && alpha <= 1.0,
             "optimizer 'alpha' must be in [0, 1], got ", alpha);
  if (kind == OptKind::adam) {
    FM_CHECK(finite(beta1) && beta1 >= 0.0 && beta1 < 1.0,
             "optimizer 'beta1' must be in [0, 1), got ", beta1);
    FM_CHECK(finite(beta2) && beta2 >= 0.0 && beta2 < 1.0,
             "optimizer 'beta2' must be in [0, 1), got ", beta2);
  }
}

Reads reads_of_fused_act(Act act) {
  if (act == Act::linear) return Reads::nothing;
  if (act == Act::relu || act == Act::leaky_relu) return Reads::sign_only;
  return Reads::values;
}

PlanBuilder::PlanBuilder(const std::vector<LayerSpec>& layers, index_t input_dim)
    : width(input_dim), layers_(layers) {
  plan.input_dim = input_dim;
  plan.max_width = input_dim;
}

index_t PlanBuilder::add_param(bool trainable, index_t rows, index_t cols, double init) {
  ParamInfo p;
  p.trainable = trainable;
  p.rows = rows;
  p.cols = cols;
  p.init = init;
  if (trainable) {
    p.offset = toff_;
    toff_ = align_up(toff_ + p.size());
    pending_trainable_ = true;
  } else {
    p.offset = boff_;
    boff_ += p.size();
  }
  plan.params.push_back(p);
  return p.offset;
}

const LayerSpec* PlanBuilder::take_fusable_act() {
  if (layer + 1 >= layers_.size()) return nullptr;
  const LayerSpec& next = layers_[layer + 1];
  if (next.kind != OpKind::act || next.act == Act::softmax) return nullptr;
  ++layer;
  FM_CHECK(std::isfinite(next.alpha), "layer ", layer, ": 'alpha' must be finite");
  return &next;
}

void PlanBuilder::push(Op op) {
  op.trainable = pending_trainable_;
  pending_trainable_ = false;
  if (op.trainable && plan.first_trainable_op < 0)
    plan.first_trainable_op = static_cast<int>(plan.ops.size());
  if (op.out > plan.max_width) plan.max_width = op.out;
  width = op.out;
  plan.ops.push_back(op);
}

void PlanBuilder::push_elementwise(Op op) {
  op.in = op.out = width;
  push(op);
}

void PlanBuilder::push_stochastic(Op op) {
  push_elementwise(op);
  plan.has_stochastic = true;
  if (!op.in_place) owner_reads = Reads::nothing;
}

Plan build_plan(const std::vector<LayerSpec>& layers, index_t input_dim) {
  FM_CHECK(input_dim >= 1, "input_dim must be >= 1, got ", input_dim);
  PlanBuilder b(layers, input_dim);
  for (b.layer = 0; b.layer < layers.size(); ++b.layer) {
    const LayerSpec& L = layers[b.layer];
    FM_CHECK(std::isfinite(L.alpha), "layer ", b.layer, ": 'alpha' must be finite, got ", L.alpha);
    op_info(L.kind).plan(b, L);
  }
  Plan& plan = b.plan;
  plan.output_dim = b.width;
  plan.trainable_size = b.toff_;
  plan.buffer_size = b.boff_;
  if (plan.first_trainable_op < 0) plan.first_trainable_op = static_cast<int>(plan.ops.size());
  return std::move(plan);
}

}  // namespace fm::nn
