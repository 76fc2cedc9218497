#pragma once
// The contract every op of the network implements, and the table the network walks.
//
// One op = one file in nn/ops/ holding, side by side (llm.c's layernorm_forward /
// layernorm_backward):
//   <op>_plan      validates its layer dict, claims its parameters and buffers, decides fusion
//                  with a following activation and whether it may run in place;
//   forward        training-mode forward of one batch;
//   backward       gradients of its parameters and of its input;
//   infer          inference-mode forward of one block of rows.
// The op registers itself with one line in FM_NN_OPS (nn/ops/registry.hpp); Network only
// sequences the table's functions (forward loop, backward loop, inference loop).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/philox.hpp"
#include "common/types.hpp"
#include "nn/layer.hpp"
#include "nn/packed_weights.hpp"
#include "nn/workspace.hpp"

namespace fm::nn {

// Forward options in training mode.
struct TrainMode {
  bool stochastic = true;      // dropout and noise on
  bool update_running = true;  // BatchNorm running statistics updated
  std::uint64_t purpose_dropout = kPurposeDropout, purpose_noise = kPurposeNoise;
  std::uint64_t draw = 0;  // > 0: predict(training=True)'s call number (fresh masks per call)
  // Distributed training steps: sums over the ranks (BatchNorm with synchronized=True).
  const std::function<void(double* v, index_t len)>* across = nullptr;
};

// ---- planning -----------------------------------------------------------------------------

// No array of the engine may hold more elements than this (sizes beyond are a MemoryError).
inline constexpr index_t kMaxElements = index_t(1) << 56;

// How a block's producer reads the block in its backward pass; decides whether dropout or
// noise may overwrite it in place.
enum class Reads { nothing, sign_only, values };

// What the backward of an op with fused activation `act` reads of its output.
Reads reads_of_fused_act(Act act);

// build_plan's state while it walks the layers; each op's plan step reads and advances it.
class PlanBuilder {
 public:
  PlanBuilder(const std::vector<LayerSpec>& layers, index_t input_dim);

  Plan plan;
  index_t width;                       // row width of the block the next op reads
  Reads owner_reads = Reads::nothing;  // how that block's owner reads it in its backward
  std::size_t layer = 0;               // index of the layer being planned

  // An op of this kind for the layer being planned.
  Op new_op(OpKind kind) const {
    Op op;
    op.kind = kind;
    op.layer = static_cast<int>(layer);
    return op;
  }
  // Claims a parameter array in the trainable arena (trainable) or the buffer arena, filled
  // with `init` by the Network constructor; returns its offset.
  index_t add_param(bool trainable, index_t rows, index_t cols, double init = 0.0);
  // The next layer when it is an activation that can be fused into this op's write (never
  // softmax): consumed (the walk skips it) and returned; else null.
  const LayerSpec* take_fusable_act();
  // Appends the op (elementwise ops: in = out = width) and makes its output the current block.
  void push(Op op);
  void push_elementwise(Op op);
  // A training-only elementwise op (dropout, noise): marks the plan stochastic; when it does
  // not run in place, its own output block is what the next op reads and nobody's backward
  // reads that block.
  void push_stochastic(Op op);

 private:
  const std::vector<LayerSpec>& layers_;
  index_t toff_ = 0, boff_ = 0;  // next free offset in the trainable / buffer arena
  bool pending_trainable_ = false;
  friend Plan build_plan(const std::vector<LayerSpec>&, index_t);
};

// ---- running --------------------------------------------------------------------------------

// The parameter arenas an op reads (and, in backward, writes gradients into).
template <class T>
struct Arenas {
  const T* params;  // trainable arena (W, b, gamma, beta)
  T* grads;         // same layout as params (backward only)
  T* buffers;       // running statistics, standardize mean/std (training forward writes
                    // running statistics only when mode.update_running)
  // mixed_bfloat16: the Dense weights' packed bf16 copies in the layout this pass reads
  // (forward: W, backward: Wᵀ); null: the GEMM rounds and packs W itself.
  const PackedWeights* packed = nullptr;
};

template <class T>
struct ForwardArgs {
  const T* x;  // (n, op.in) the op's input block
  index_t n;
  OpBuffers<T>& b;  // y (n, op.out) and the op's saved tensors
  Arenas<T> arenas;
  const TrainMode& mode;
  std::uint64_t seed;                  // network seed (dropout / noise streams)
  std::uint64_t step_salt;             // step ^ mix64(draw): the RNG counter of this pass
  bool first;                          // op 0 (a leading standardize ran in gather_input)
  bool bf16;                           // Dense GEMMs on bf16 operands (Network::bf16)
  const std::uint16_t* x16 = nullptr;  // op 0 under bf16: x as bf16 bits (x is then null)
};

template <class T>
struct BackwardArgs {
  const T* x;  // (n, op.in) the input the forward read
  index_t n;
  OpBuffers<T>& b;  // what the forward saved
  Arenas<T> arenas;
  T*& g;            // (n, op.out) in: dL/dy; out: dL/dx (n, op.in)
  T*& spare;        // a second (n, max_width) buffer an op may write dx into and swap
  bool need_dx;     // false for the first trainable op (nothing upstream needs dx)
  bool stochastic;  // whether the forward applied dropout
  bool bf16;        // Dense GEMMs on bf16 operands (Network::bf16)
  const std::function<void(double* v, index_t len)>* across = nullptr;  // as the forward's
  const std::uint16_t* x16 = nullptr;                                   // as the forward's
  // Scratch for a Dense layer's packed dZ (Workspace::dz16), where its fused gradient pass
  // runs (mixed_bfloat16, AVX512_BF16, packed weights on), else null.
  std::uint32_t* dz16 = nullptr;
};

template <class T>
struct InferArgs {
  const T* x;    // (rows, op.in) the current block
  bool x_owned;  // x is scratch this pass owns: the op may overwrite it
  index_t rows;
  T* dst;            // (rows, op.out) a free block (or the caller's output)
  Arenas<T> arenas;  // grads unused
  int threads;       // thread cap for the GEMM
  bool bf16;         // Dense GEMMs on bf16 operands (Network::bf16)
};

template <class T>
struct OpFns {
  void (*forward)(const Op& op, const ForwardArgs<T>& a);
  void (*backward)(const Op& op, const BackwardArgs<T>& a);
  // Returns the op's output block: a.dst, or a.x when it ran in place / is an identity.
  const T* (*infer)(const Op& op, const InferArgs<T>& a);
};

struct OpInfo {
  const char* name;                                      // the layer dict's "kind"
  void (*plan)(PlanBuilder& b, const LayerSpec& layer);  // validate, claim arrays, fuse, push
  bool infer_writes_block;  // inference always writes a new block (the last one writes `out`)
};

// Defines <name>_info and <name>_fns<T> (float, double) from the op file's plan, forward,
// backward and infer: the last line of every nn/ops/<op>.cpp.
#define FM_NN_DEFINE_OP(name, layer_kind, infer_writes_block)             \
  extern const OpInfo name##_info{layer_kind, &plan, infer_writes_block}; \
  template <class T>                                                      \
  OpFns<T> name##_fns() {                                                 \
    return {forward<T>, backward<T>, infer<T>};                           \
  }                                                                       \
  template OpFns<float> name##_fns<float>();                              \
  template OpFns<double> name##_fns<double>();

// The table, indexed by OpKind (nn/ops/registry.cpp).
const OpInfo& op_info(OpKind kind);
template <class T>
const OpFns<T>& op_fns(OpKind kind);

// The Philox stream of a stochastic op in this pass: (layer, step ^ draw, purpose).
template <class T>
inline std::uint64_t rng_stream(const Op& op, const ForwardArgs<T>& a, std::uint64_t purpose) {
  return stream_id(static_cast<std::uint64_t>(op.layer), a.step_salt, purpose);
}

// y = x for a stochastic op's forward with mode.stochastic off (nothing to do in place).
template <class T>
inline void forward_identity(const Op& op, const ForwardArgs<T>& a) {
  if (a.b.y != a.x) std::memcpy(a.b.y, a.x, sizeof(T) * a.n * op.out);
}

// Inference of an op that only acts in training (dropout, noise): the block passes through.
template <class T>
const T* infer_identity(const Op&, const InferArgs<T>& a) {
  return a.x;
}

// y (rows, cols) = (x (rows, cols; ld ldx) - mean) / sd; y may alias x.
template <class T>
inline void standardize_rows(const T* x, index_t ldx, index_t rows, index_t cols, const T* mean,
                             const T* sd, T* y) {
  for (index_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    T* yr = y + r * cols;
    for (index_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mean[c]) / sd[c];
  }
}

}  // namespace fm::nn
