#pragma once
// Layer descriptions (what the user wrote) and the fused execution plan (what runs).
//
// LayerSpec mirrors one layer dict of docs/core_network.md. build_plan() turns the list into
// Ops, each layer through its op's plan step (nn/ops/<op>.cpp): Dense + following Activation
// becomes one GEMM with a bias+activation epilogue, BatchNorm + following Activation one
// pass, Dropout/GaussianNoise run in place when the producer's backward does not read its
// own output.
#include <cstdint>
#include <string>
#include <vector>

#include "common/act_names.hpp"
#include "common/types.hpp"
#include "nn/ops/registry.hpp"

namespace fm::nn {

// One value per op (nn/ops/registry.hpp); a layer dict's "kind" names one (op_info(k).name).
enum class OpKind : int {
#define FM_OP_ENUM(name) name,
  FM_NN_OPS(FM_OP_ENUM)
#undef FM_OP_ENUM
};
inline constexpr int kNumOps = 0
#define FM_OP_COUNT(name) +1
    FM_NN_OPS(FM_OP_COUNT);
#undef FM_OP_COUNT

// One layer dict, already converted from Python (validated again in build_plan). Every
// layer kind plans into the op of the same kind (an activation layer may instead be fused
// into the op before it).
struct LayerSpec {
  OpKind kind = OpKind::dense;
  index_t units = 0;            // dense
  bool use_bias = true;         // dense
  Act act = Act::linear;        // dense activation / activation name
  double alpha = 0.0;           // leaky_relu slope / elu alpha
  double l1 = -1.0, l2 = -1.0;  // dense; < 0 = use the compile-level value
  double rate = 0.0;            // dropout
  double momentum = 0.1;        // batchnorm
  double eps = 1e-5;            // batchnorm
  bool unbiased_var = true;     // batchnorm running_var: unbiased (PyTorch) or biased (Keras)
  bool synchronized = false;    // batchnorm: global batch statistics in distributed training
  double stddev = 0.0;          // noise
};

// Name -> enum (ValueError listing the valid kinds on an unknown one); activation names:
// common/act_names.hpp.
OpKind layer_kind_from_name(const std::string& name);

// One step of the fused plan. Offsets index the trainable arena (params/grads/optimizer
// state: w, b, gamma, beta) or the buffer arena (running stats, standardize mean/std);
// -1 = absent.
struct Op {
  OpKind kind = OpKind::dense;
  int layer = 0;            // index of the (first) LayerSpec, for RNG streams and messages
  index_t in = 0, out = 0;  // row widths
  Act act = Act::linear;    // fused activation (dense, batchnorm) or the activation (act)
  double alpha = 0.0;
  bool keep_z = false;       // store the pre-activation (act_bwd reads z)
  bool in_place = false;     // output overwrites the input block (dropout, noise)
  bool trainable = false;    // owns trainable arrays (backward stops at the first such op)
  bool saves_stats = false;  // training forward saves per-column mean and invstd (batchnorm)
  bool keeps_mask = false;   // training forward saves a byte mask (dropout)
  // dense
  index_t w = -1, b = -1;
  double l1 = -1.0, l2 = -1.0;  // as given; resolved at compile into l1_eff/l2_eff
  double l1_eff = 0.0, l2_eff = 0.0;
  // batchnorm
  index_t gamma = -1, beta = -1, running_mean = -1, running_var = -1;
  double momentum = 0.1, eps = 1e-5;
  bool unbiased_var = true;
  bool synchronized = false;
  // dropout / noise
  double rate = 0.0, stddev = 0.0;
  // standardize
  index_t mean = -1, stdev = -1;
};

// A parameter array as Python sees it (params() order = get_weights() order).
struct ParamInfo {
  bool trainable = false;
  index_t offset = 0;          // into the trainable arena or the buffer arena
  index_t rows = 0, cols = 0;  // cols == 0: 1-D array of `rows` elements
  double init = 0.0;           // value the Network constructor fills it with
  index_t size() const { return cols == 0 ? rows : rows * cols; }
};

struct Plan {
  std::vector<Op> ops;
  std::vector<ParamInfo> params;
  index_t input_dim = 0, output_dim = 0;
  index_t max_width = 0;       // widest row among input and every op output
  index_t trainable_size = 0;  // elements of the trainable arena (incl. alignment padding)
  index_t buffer_size = 0;     // elements of the buffer arena
  bool has_batchnorm = false;
  bool has_stochastic = false;  // dropout or noise present
  int first_trainable_op = -1;  // backward stops here (no dX for it)
};

// Validates the layers (FM_CHECK -> ValueError) and builds the fused plan.
Plan build_plan(const std::vector<LayerSpec>& layers, index_t input_dim);

// RNG purposes, mixed into Philox streams.
enum : std::uint64_t {
  kPurposeShuffle = 1,
  kPurposeDropout = 2,
  kPurposeNoise = 3,
  kPurposePredictDropout = 4,
  kPurposePredictNoise = 5
};

}  // namespace fm::nn
