#pragma once
// The network engine: one fused plan, and four arenas allocated once —
//   params   (trainable arrays W, b, gamma, beta, contiguous: ONE optimizer call updates all)
//   grads    (same layout as params)
//   opt      (state_slots() copies of the params layout)
//   buffers  (non-trainable arrays: BatchNorm running stats, Standardize mean/std)
// plus a training Workspace (activations) sized for the largest batch seen so far.
//
// Each op's plan step, forward, backward and inference sit side by side in its own file
// (nn/ops/<op>.cpp, llm.c style); network.cpp only walks the op table. Inference streams rows
// in blocks through thread_local scratch, so concurrent predicts never share mutable memory.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"
#include "nn/config.hpp"
#include "nn/layer.hpp"
#include "nn/ops/op.hpp"
#include "nn/packed_weights.hpp"
#include "nn/totals.hpp"
#include "nn/workspace.hpp"

namespace fm::nn {

// Targets of a batch: labels (n,) for cross entropy with integer labels, else values (n, cols);
// optional per-sample loss weights (n,), finite and >= 0 (checked by the caller).
template <class T>
struct Targets {
  const std::int32_t* labels = nullptr;
  const T* values = nullptr;
  index_t cols = 0;            // columns of `values`
  const T* weights = nullptr;  // null: every weight 1
};

template <class T>
class Network {
 public:
  Network(const std::vector<LayerSpec>& layers, index_t input_dim, std::uint64_t seed);

  const Plan& plan() const { return plan_; }
  index_t input_dim() const { return plan_.input_dim; }
  index_t output_dim() const { return plan_.output_dim; }
  std::uint64_t seed() const { return seed_; }

  // Parameter storage (params() order: ParamInfo says which arena and where). The writable
  // accessors of the trainable arena count as a change of the weights (weights_changed()).
  T* param_data(const ParamInfo& p) {
    if (p.trainable) weights_changed();
    return (p.trainable ? params_.data() : buffers_.data()) + p.offset;
  }
  T* params() {
    weights_changed();
    return params_.data();
  }
  const T* params() const { return params_.data(); }
  T* grads() { return grads_.data(); }
  T* buffers() { return buffers_.data(); }
  T* opt_state() { return opt_.data(); }
  index_t trainable_size() const { return plan_.trainable_size; }
  index_t buffer_size() const { return plan_.buffer_size; }

  // ---- compile-level configuration -------------------------------------------------------
  // huber_delta: the threshold of loss huber (ignored by the others).
  void compile(LossKind loss, const OptimizerConfig& opt, double l1, double l2,
               double huber_delta = 1.0);
  double huber_delta() const { return huber_delta_; }
  bool compiled() const { return loss_ != LossKind::none; }
  LossKind loss() const { return loss_; }
  OptimizerConfig& optimizer() { return opt_cfg_; }
  const OptimizerConfig& optimizer() const { return opt_cfg_; }
  long long step = 0;  // optimizer steps taken; also the dropout/noise RNG counter
  // Numbers predict(training=True) calls 1, 2, ...: each draws fresh dropout masks and noise
  // (Monte Carlo dropout needs them), the sequence reproducible from the seed. Not a weight:
  // the const inference paths may advance it, from any thread.
  std::uint64_t next_draw() const { return draws_.fetch_add(1) + 1; }
  // loss_of also sums |error| (regression losses; Totals::abs_sum): set when the mae metric is
  // asked for, so no other model pays the extra pass.
  bool track_abs_error = false;
  // With sample weights, whether accuracy and |error| (Totals::correct, abs_sum, weight) are
  // weighted like the loss (Keras' weighted_metrics) or count every row once (Keras' metrics,
  // what fastmlp.keras reports). The loss and its gradient are weighted either way.
  bool weighted_metrics = true;
  // scikit-learn's weighted objective, batch by batch: the loss is divided by the batch's
  // sample-weight sum instead of its row count (sum(w * loss) / sum(w)), and the L1/L2 penalty
  // by that sum too (the row count when unweighted). Its estimators set it.
  bool divide_by_weight_sum = false;
  // The penalty's factor for a batch of total weight `weight`: 1, or 1 / weight (0 for an
  // all-zero-weight batch) when divide_by_weight_sum.
  double penalty_factor(double weight) const {
    return !divide_by_weight_sum ? 1.0 : weight > 0.0 ? 1.0 / weight : 0.0;
  }
  // The mixed_bfloat16 policy (float networks only): every Dense GEMM -- forward, dW = xᵀ·dZ,
  // dX = dZ·Wᵀ and inference -- rounds its operands to bf16 and accumulates in float32, as
  // torch.autocast does; weights, gradients, optimizer state, BatchNorm and losses stay T.
  bool bf16 = false;
  // Data-parallel training: this process's rank, mixed into the dropout and noise streams so
  // that every rank draws its own masks (rank 0 draws what a single process draws).
  std::uint64_t rank = 0;

  // ---- bf16 weight copies (nn/packed_weights.hpp) -----------------------------------------
  // Marks the weights changed: the packed bf16 copies are rebuilt on their next use. Every
  // writer of the trainable arena calls it (the writable accessors above do).
  void weights_changed() { weights_version_.fetch_add(1); }
  // Writable views of the weights held outside (Python arrays over the arena): while any is
  // open a write may come at any time, so the copies are rebuilt on every use.
  void views_opened(int count) {
    open_views_.fetch_add(count);
    weights_changed();  // a closing view may have been written after the last rebuild
  }
  // false: no copies, every bf16 GEMM rounds and packs W and the input batch itself (tests
  // compare the two).
  bool bf16_prepack = true;
  // The copies in `layout` for the current weights, built now when stale (with_backward: the
  // backward layout's too, in the same parallel region); null unless the bf16 policy is on
  // (float networks) with bf16_prepack. Thread-safe.
  std::shared_ptr<const PackedWeights> packed_weights(PackedLayout layout,
                                                      bool with_backward = false) const;

  // ---- training-mode passes (use a caller-owned workspace) --------------------------------
  // Copies rows idx[0..n) (or rows 0..n when idx is null) of X (ld ldx) into ws.input,
  // standardizing on the way when the first layer is Standardize. Returns the block the
  // first op reads: X itself when no copy is needed.
  const T* gather_input(Workspace<T>& ws, const T* X, index_t ldx, const index_t* idx,
                        index_t n) const;
  // Gathers the batch targets into ws (no copy when contiguous); returns the view.
  Targets<T> gather_targets(Workspace<T>& ws, const Targets<T>& y, const index_t* idx,
                            index_t begin, index_t n) const;
  // Training-mode forward over n rows; returns the logits block (n, output_dim).
  // Writes running statistics only when mode.update_running (callers hold the network then).
  const T* forward_train(Workspace<T>& ws, const T* x0, index_t n, const TrainMode& mode) const;
  // Loss of the logits (totals of n rows, loss = the mean without penalty); when grad is
  // given writes d(mean loss)/d(logits) there. Weighted losses keep the row-count divisor
  // (Keras' sum_over_batch_size: sum(w * loss) / n), so a batch's loss scale does not depend
  // on how its weights happen to sum.
  Totals loss_of(const T* logits, const Targets<T>& y, index_t n, T* grad) const;
  // Backward from ws.grad_a (dlogits, (n, output_dim)) into grads(); x0 as given to forward.
  void backward(Workspace<T>& ws, const T* x0, index_t n);
  // Distributed training, a rank without rows in a step (or whose loss was not finite, so
  // it skips backward: forward false): makes the calls to `across` that a forward and
  // backward of its synchronized BatchNorm ops would, with zeros, as the other ranks wait.
  void idle_across(const std::function<void(double*, index_t)>& across, bool forward) const;
  // L1/L2 penalty over Dense weights (resolved per layer), times factor (penalty_factor);
  // adds its gradient when with_grad.
  double penalty(bool with_grad, double factor = 1.0) {
    return penalty_into(with_grad ? grads_.data() : nullptr, factor);
  }
  double penalty_value(double factor = 1.0) const { return penalty_into(nullptr, factor); }

  // ---- inference ------------------------------------------------------------------------
  // out (n, output_dim) = network(X (n, input_dim)) with running statistics, no dropout/noise,
  // then the loss link when link is true. Thread-safe (thread_local scratch only).
  // check_finite: each block of X is checked for NaN and infinity right before it runs (while
  // its rows are in cache, not in a pass of its own); false: X holds one (out unspecified).
  bool predict(const T* X, index_t n, T* out, bool link, bool check_finite = false) const;
  // Totals of the whole set in inference mode (loss = the mean incl. penalty).
  Totals evaluate(const T* X, const Targets<T>& y, index_t n) const;
  // The same Totals from outputs Z (n, output_dim) computed elsewhere, before the link (the
  // int8 engine's, see quantized_network.hpp): the loss, metrics and penalty of evaluate.
  Totals evaluate_outputs(const T* Z, const Targets<T>& y, index_t n) const;
  // Applies the compiled loss's output link (softmax / sigmoid) in place on (n, output_dim).
  void apply_link(T* out, index_t n) const;

  Workspace<T>& workspace() { return ws_; }

 private:
  void infer_block(const T* x, index_t rows, T* out, int threads,
                   const PackedWeights* packed) const;
  double penalty_into(T* grads, double factor) const;  // grads null: the value only
  Totals weighted_loss_of(const T* logits, const Targets<T>& y, index_t n, T* grad) const;
  // The compiled element-wise loss (mse, mae, huber) over count elements.
  double regression_loss(const T* pred, const T* target, index_t count, T grad_scale,
                         T* grad) const;
  // Divisor of the mean loss over n rows: n (ce) or n * output_dim (bce, mse); weight_denom:
  // the same with the weight sum in place of n (divide_by_weight_sum; 1 for a zero sum).
  double loss_denom(index_t n) const;
  double weight_denom(double weight_sum) const;

  Plan plan_;
  std::uint64_t seed_;
  mutable std::atomic<std::uint64_t> draws_{0};
  std::atomic<std::uint64_t> weights_version_{1};
  std::atomic<int> open_views_{0};
  mutable std::mutex packed_mu_;  // guards packed_ (swapped when stale; readers keep theirs)
  mutable std::shared_ptr<const PackedWeights> packed_[2];  // by PackedLayout
  AlignedBuffer<T> params_, grads_, buffers_, opt_;
  LossKind loss_ = LossKind::none;
  double huber_delta_ = 1.0;
  OptimizerConfig opt_cfg_;
  Workspace<T> ws_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace fm::nn
