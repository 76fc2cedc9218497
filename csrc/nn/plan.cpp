// Layer validation and fusion into the execution plan (see layer.hpp).
#include <cmath>
#include <new>
#include <string>

#include "common/check.hpp"
#include "kernels/activation.hpp"
#include "nn/config.hpp"
#include "nn/layer.hpp"

namespace fm::nn {
namespace {

// Trainable arrays start on 64-byte boundaries; the padding stays zero in params and grads,
// so the single optimizer call over the whole arena leaves it at zero.
constexpr index_t kParamAlign = 16;
// No array of the engine may hold more elements than this (sizes beyond are a MemoryError).
constexpr index_t kMaxElements = index_t(1) << 56;
index_t align_up(index_t x) { return (x + kParamAlign - 1) / kParamAlign * kParamAlign; }

// How a block's producer reads the block in its backward pass; decides whether dropout or
// noise may overwrite it in place.
enum class Reads { nothing, sign_only, values };

Reads producer_reads(const Op& op) {
  switch (op.kind) {
    case OpKind::dense:
    case OpKind::batchnorm:
      if (op.act == Act::linear) return Reads::nothing;
      if (op.act == Act::relu || op.act == Act::leaky_relu) return Reads::sign_only;
      return Reads::values;
    case OpKind::act:
      return Reads::values;
    case OpKind::standardize:
      return Reads::nothing;
    default:
      return Reads::values;  // dropout/noise: resolved by the caller through `owner`
  }
}

}  // namespace

LayerKind layer_kind_from_name(const std::string& name) {
  if (name == "dense") return LayerKind::dense;
  if (name == "activation") return LayerKind::activation;
  if (name == "dropout") return LayerKind::dropout;
  if (name == "batchnorm") return LayerKind::batchnorm;
  if (name == "noise") return LayerKind::noise;
  if (name == "standardize") return LayerKind::standardize;
  FM_CHECK(false, "unknown layer kind '", name,
           "'; valid kinds: dense, activation, dropout, batchnorm, noise, standardize");
}

LossKind loss_from_name(const std::string& name) {
  if (name == "cross_entropy") return LossKind::cross_entropy;
  if (name == "binary_cross_entropy") return LossKind::binary_cross_entropy;
  if (name == "mse") return LossKind::mse;
  FM_CHECK(false, "unknown loss '", name, "'; valid losses: cross_entropy, binary_cross_entropy, mse");
}

const char* loss_name(LossKind loss) {
  switch (loss) {
    case LossKind::cross_entropy: return "cross_entropy";
    case LossKind::binary_cross_entropy: return "binary_cross_entropy";
    case LossKind::mse: return "mse";
    default: return "none";
  }
}

int OptimizerConfig::state_slots() const {
  switch (kind) {
    case OptKind::sgd: return momentum != 0.0 ? 1 : 0;
    case OptKind::rmsprop: return 1 + (centered ? 1 : 0) + (momentum != 0.0 ? 1 : 0);
    case OptKind::adam: return 2 + (amsgrad ? 1 : 0);
  }
  return 0;
}

void OptimizerConfig::validate() const {
  auto finite = [](double v) { return std::isfinite(v); };
  FM_CHECK(finite(lr) && lr > 0.0, "optimizer 'lr' must be a finite number > 0, got ", lr);
  FM_CHECK(finite(weight_decay) && weight_decay >= 0.0, "optimizer 'weight_decay' must be >= 0, got ",
           weight_decay);
  FM_CHECK(finite(momentum) && momentum >= 0.0, "optimizer 'momentum' must be >= 0, got ", momentum);
  FM_CHECK(finite(eps) && eps >= 0.0, "optimizer 'eps' must be >= 0, got ", eps);
  if (kind == OptKind::sgd) {
    FM_CHECK(finite(dampening), "optimizer 'dampening' must be finite, got ", dampening);
    FM_CHECK(!nesterov || (momentum > 0.0 && dampening == 0.0),
             "nesterov momentum requires 'momentum' > 0 and 'dampening' = 0");
  }
  if (kind == OptKind::rmsprop)
    FM_CHECK(finite(alpha) && alpha >= 0.0 && alpha <= 1.0, "optimizer 'alpha' must be in [0, 1], got ", alpha);
  if (kind == OptKind::adam) {
    FM_CHECK(finite(beta1) && beta1 >= 0.0 && beta1 < 1.0, "optimizer 'beta1' must be in [0, 1), got ", beta1);
    FM_CHECK(finite(beta2) && beta2 >= 0.0 && beta2 < 1.0, "optimizer 'beta2' must be in [0, 1), got ", beta2);
  }
}

Plan build_plan(const std::vector<LayerSpec>& layers, index_t input_dim) {
  FM_CHECK(input_dim >= 1, "input_dim must be >= 1, got ", input_dim);
  Plan plan;
  plan.input_dim = input_dim;
  plan.max_width = input_dim;
  index_t width = input_dim;
  index_t toff = 0, boff = 0;  // next free offset in the trainable / buffer arena
  auto add_param = [&](bool trainable, index_t rows, index_t cols) {
    ParamInfo p;
    p.trainable = trainable;
    p.rows = rows;
    p.cols = cols;
    if (trainable) {
      p.offset = toff;
      toff = align_up(toff + p.size());
    } else {
      p.offset = boff;
      boff += p.size();
    }
    plan.params.push_back(p);
    return p.offset;
  };
  // Who owns the block the next op reads, and how that owner's backward reads it.
  Reads owner_reads = Reads::nothing;
  auto push_elementwise = [&](Op op) {
    op.in = op.out = width;
    plan.ops.push_back(op);
  };
  const std::size_t nl = layers.size();
  for (std::size_t i = 0; i < nl; ++i) {
    const LayerSpec& L = layers[i];
    const int li = static_cast<int>(i);
    auto next_is_fusable_act = [&]() {
      return i + 1 < nl && layers[i + 1].kind == LayerKind::activation && layers[i + 1].act != Act::softmax;
    };
    FM_CHECK(std::isfinite(L.alpha), "layer ", i, ": 'alpha' must be finite, got ", L.alpha);
    switch (L.kind) {
      case LayerKind::dense: {
        FM_CHECK(L.units >= 1, "layer ", i, " (dense): 'units' must be >= 1, got ", L.units);
        if (L.units > kMaxElements / width) throw std::bad_alloc();  // MemoryError, no overflow
        FM_CHECK(L.l1 < 0.0 || std::isfinite(L.l1), "layer ", i, " (dense): 'l1' must be finite");
        FM_CHECK(L.l2 < 0.0 || std::isfinite(L.l2), "layer ", i, " (dense): 'l2' must be finite");
        Op op;
        op.kind = OpKind::dense;
        op.layer = li;
        op.in = width;
        op.out = L.units;
        op.l1 = L.l1;
        op.l2 = L.l2;
        op.w = add_param(true, width, L.units);
        if (L.use_bias) op.b = add_param(true, L.units, 0);
        bool split_softmax = L.act == Act::softmax;  // never in a GEMM epilogue
        if (!split_softmax) {
          op.act = L.act;
          op.alpha = L.alpha;
          if (L.act == Act::linear && next_is_fusable_act()) {
            ++i;
            op.act = layers[i].act;
            op.alpha = layers[i].alpha;
            FM_CHECK(std::isfinite(op.alpha), "layer ", i, ": 'alpha' must be finite");
          }
        }
        plan.ops.push_back(op);
        width = L.units;
        owner_reads = producer_reads(op);
        if (split_softmax) {
          Op sm;
          sm.kind = OpKind::act;
          sm.layer = li;
          sm.act = Act::softmax;
          push_elementwise(sm);
          owner_reads = Reads::values;
        }
        break;
      }
      case LayerKind::activation: {
        if (L.act == Act::linear) break;  // identity
        Op op;
        op.kind = OpKind::act;
        op.layer = li;
        op.act = L.act;
        op.alpha = L.alpha;
        push_elementwise(op);
        owner_reads = Reads::values;
        break;
      }
      case LayerKind::batchnorm: {
        FM_CHECK(std::isfinite(L.momentum) && L.momentum >= 0.0 && L.momentum <= 1.0, "layer ", i,
                 " (batchnorm): 'momentum' must be in [0, 1], got ", L.momentum);
        FM_CHECK(std::isfinite(L.eps) && L.eps > 0.0, "layer ", i, " (batchnorm): 'eps' must be > 0, got ",
                 L.eps);
        Op op;
        op.kind = OpKind::batchnorm;
        op.layer = li;
        op.in = op.out = width;
        op.momentum = L.momentum;
        op.eps = L.eps;
        op.gamma = add_param(true, width, 0);
        op.beta = add_param(true, width, 0);
        op.running_mean = add_param(false, width, 0);
        op.running_var = add_param(false, width, 0);
        if (next_is_fusable_act()) {
          ++i;
          op.act = layers[i].act;
          op.alpha = layers[i].alpha;
          FM_CHECK(std::isfinite(op.alpha), "layer ", i, ": 'alpha' must be finite");
        }
        plan.ops.push_back(op);
        plan.has_batchnorm = true;
        owner_reads = producer_reads(op);
        break;
      }
      case LayerKind::dropout: {
        FM_CHECK(std::isfinite(L.rate) && L.rate >= 0.0 && L.rate < 1.0, "layer ", i,
                 " (dropout): 'rate' must be in [0, 1), got ", L.rate);
        if (L.rate == 0.0) break;  // identity
        Op op;
        op.kind = OpKind::dropout;
        op.layer = li;
        op.rate = L.rate;
        // Zeroing and positive scaling keep relu/leaky_relu's sign test valid (dropped units
        // get a zero gradient anyway), so dropout may overwrite such a block.
        op.in_place = owner_reads != Reads::values;
        push_elementwise(op);
        plan.has_stochastic = true;
        if (!op.in_place) owner_reads = Reads::nothing;
        break;
      }
      case LayerKind::noise: {
        FM_CHECK(std::isfinite(L.stddev) && L.stddev >= 0.0, "layer ", i,
                 " (noise): 'stddev' must be >= 0, got ", L.stddev);
        if (L.stddev == 0.0) break;  // identity
        Op op;
        op.kind = OpKind::noise;
        op.layer = li;
        op.stddev = L.stddev;
        op.in_place = owner_reads == Reads::nothing;
        push_elementwise(op);
        plan.has_stochastic = true;
        if (!op.in_place) owner_reads = Reads::nothing;
        break;
      }
      case LayerKind::standardize: {
        Op op;
        op.kind = OpKind::standardize;
        op.layer = li;
        op.mean = add_param(false, width, 0);
        op.stdev = add_param(false, width, 0);
        push_elementwise(op);
        owner_reads = Reads::nothing;
        break;
      }
    }
  }
  for (Op& op : plan.ops) {
    if (op.out > plan.max_width) plan.max_width = op.out;
    // Fused activations whose backward reads the pre-activation keep it (GEMM z_out).
    if (op.kind == OpKind::dense || op.kind == OpKind::batchnorm) op.keep_z = act_bwd_needs_z(op.act);
  }
  // A leading Standardize is applied while gathering the input batch (in place on it).
  if (!plan.ops.empty() && plan.ops[0].kind == OpKind::standardize) plan.ops[0].in_place = true;
  plan.output_dim = width;
  plan.trainable_size = toff;
  plan.buffer_size = boff;
  plan.first_trainable_op = static_cast<int>(plan.ops.size());
  for (std::size_t k = 0; k < plan.ops.size(); ++k) {
    const Op& op = plan.ops[k];
    if (op.kind == OpKind::dense || op.kind == OpKind::batchnorm) {
      plan.first_trainable_op = static_cast<int>(k);
      break;
    }
  }
  return plan;
}

}  // namespace fm::nn
