// Network: the arenas, and the loops that walk the op table (nn/ops/): forward, backward,
// inference in blocks; the loss.
#include "nn/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "common/check.hpp"
#include "common/cpu_features.hpp"
#include "common/parallel.hpp"
#include "common/philox.hpp"
#include "gemm/gemm_bf16.hpp"
#include "kernels/activation.hpp"
#include "kernels/loss.hpp"
#include "kernels/reduce.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {

namespace {

// Rows per inference block: activations of a block stay in L2.
constexpr index_t kInferBlock = 256;

// Copies of fewer elements than this stay on one thread.
constexpr index_t kCopyGrain = 1 << 14;

// Requests the `len` values at p (the next shuffled row of a gather) into the cache: the rows
// are random, so the hardware prefetcher only catches on a row's lines after it starts.
template <class T>
inline void prefetch_row(const T* p, index_t len) {
  const char* c = reinterpret_cast<const char*>(p);
  for (index_t b = 0; b < len * index_t(sizeof(T)); b += 64) __builtin_prefetch(c + b, 0, 3);
}

// Inference blocks in parallel (one block a chunk). A block may throw (std::bad_alloc growing
// thread_local scratch): the pool carries the first exception to the caller.
template <class F>
void parallel_blocks(index_t nblocks, int threads, F&& f) {
  parallel_for(nblocks, 1, threads, [&](index_t b0, index_t b1) {
    for (index_t blk = b0; blk < b1; ++blk) f(blk);
  });
}

template <class T>
void fill(T* p, index_t n, T v) {
  std::fill(p, p + n, v);
}

// sum |pred - target| over count elements, each difference taken in double (float32 inputs:
// the metric then matches NumPy in float64 on the same predictions).
template <class T>
double abs_error_sum(const T* pred, const T* target, index_t count) {
  double s = 0.0;
  for (index_t i = 0; i < count; ++i)
    s += std::fabs(static_cast<double>(pred[i]) - static_cast<double>(target[i]));
  return s;
}

}  // namespace

template <class T>
Network<T>::Network(const std::vector<LayerSpec>& layers, index_t input_dim, std::uint64_t seed)
    : plan_(build_plan(layers, input_dim)), seed_(seed) {
  params_.resize(std::max<index_t>(plan_.trainable_size, 1));
  grads_.resize(std::max<index_t>(plan_.trainable_size, 1));
  buffers_.resize(std::max<index_t>(plan_.buffer_size, 1));
  fill(params_.data(), plan_.trainable_size, T(0));
  fill(grads_.data(), plan_.trainable_size, T(0));
  fill(buffers_.data(), plan_.buffer_size, T(0));
  // Each array's initial value, as its op's plan step set it (PyTorch's: gamma 1, running_var
  // 1, std 1, everything else 0).
  for (const ParamInfo& p : plan_.params)
    if (p.init != 0.0) fill(param_data(p), p.size(), static_cast<T>(p.init));
}

template <class T>
void Network<T>::compile(LossKind loss, const OptimizerConfig& opt, double l1, double l2,
                         double huber_delta) {
  FM_CHECK(loss != LossKind::none, "loss must be given");
  FM_CHECK(std::isfinite(huber_delta) && huber_delta > 0.0,
           "huber delta must be a finite number > 0, got ", huber_delta);
  opt.validate();
  FM_CHECK(std::isfinite(l1) && l1 >= 0.0, "l1 must be >= 0, got ", l1);
  FM_CHECK(std::isfinite(l2) && l2 >= 0.0, "l2 must be >= 0, got ", l2);
  if (!plan_.ops.empty()) {
    const Op& last = plan_.ops.back();
    bool last_softmax = last.kind == OpKind::act && last.act == Act::softmax;
    bool last_sigmoid =
        (last.kind != OpKind::dropout && last.kind != OpKind::noise) && last.act == Act::sigmoid;
    FM_CHECK(
        !(loss == LossKind::cross_entropy && last_softmax),
        "the last layer is a softmax, but loss 'cross_entropy' already applies softmax to the raw "
        "outputs (logits): remove the softmax");
    FM_CHECK(
        !(loss == LossKind::binary_cross_entropy && last_sigmoid),
        "the last layer is a sigmoid, but loss 'binary_cross_entropy' already applies sigmoid to "
        "the raw outputs (logits): remove the sigmoid");
  }
  for (Op& op : plan_.ops) {  // every weight matrix W gets the penalty
    if (op.w < 0) continue;
    op.l1_eff = op.l1 >= 0.0 ? op.l1 : l1;
    op.l2_eff = op.l2 >= 0.0 ? op.l2 : l2;
  }
  loss_ = loss;
  huber_delta_ = huber_delta;
  opt_cfg_ = opt;
  index_t n = static_cast<index_t>(opt.state_slots()) * plan_.trainable_size;
  opt_ = AlignedBuffer<T>();
  opt_.resize(std::max<index_t>(n, 1));
  fill(opt_.data(), n, T(0));
  step = 0;
}

template <class T>
std::shared_ptr<const PackedWeights> Network<T>::packed_weights(PackedLayout layout,
                                                                bool with_backward) const {
  if constexpr (std::is_same_v<T, float>) {
    if (!bf16 || !bf16_prepack) return nullptr;
    std::lock_guard<std::mutex> lock(packed_mu_);
    const std::uint64_t v = weights_version_.load();
    auto stale = [&](PackedLayout l) {
      const auto& p = packed_[static_cast<int>(l)];
      return !p || p->version() != v || open_views_.load() != 0;
    };
    std::vector<PackedLayout> todo;
    if (stale(layout)) todo.push_back(layout);
    if (with_backward && layout != PackedLayout::backward && stale(PackedLayout::backward))
      todo.push_back(PackedLayout::backward);
    if (!todo.empty()) {
      for (PackedLayout l : todo)
        packed_[static_cast<int>(l)] = nullptr;  // an old set goes when its last reader is done
      const auto sets = PackedWeights::build(plan_, params_.data(), todo, v, get_num_threads());
      for (std::size_t i = 0; i < todo.size(); ++i) packed_[static_cast<int>(todo[i])] = sets[i];
    }
    return packed_[static_cast<int>(layout)];
  } else {
    (void)layout, (void)with_backward;
    return nullptr;
  }
}

// ---- input and targets --------------------------------------------------------------------

template <class T>
const T* Network<T>::gather_input(Workspace<T>& ws, const T* X, index_t ldx, const index_t* idx,
                                  index_t n) const {
  const index_t d = plan_.input_dim;
  const bool standardize = !plan_.ops.empty() && plan_.ops[0].kind == OpKind::standardize;
  const bool must_copy = standardize || (!plan_.ops.empty() && plan_.ops[0].in_place);
  ws.x16 = nullptr;
  if (!idx && !must_copy && ldx == d) return X;  // contiguous batch: read X in place
  if constexpr (std::is_same_v<T, float>) {
    // mixed_bfloat16, a Dense first: its two products (forward and dW) would each round the
    // batch again while packing it; rounding it once here, while it is gathered, writes half
    // the bytes and leaves them only bf16 words to deal out.
    if (idx && bf16 && bf16_prepack && bf16_native() && plan_.ops[0].kind == OpKind::dense) {
      ws.input16.resize(std::max<index_t>(1, n * d));
      std::uint16_t* dst = ws.input16.data();
      parallel_for(n, std::max<index_t>(1, kCopyGrain / d), [&](index_t r0, index_t r1) {
        for (index_t r = r0; r < r1; ++r) {
          if (r + 1 < r1) prefetch_row(X + idx[r + 1] * ldx, d);
          bf16_round(X + idx[r] * ldx, d, dst + r * d);
        }
      });
      ws.x16 = dst;
      return nullptr;  // op 0 reads ws.x16
    }
  }
  const T* mean = standardize ? buffers_.data() + plan_.ops[0].mean : nullptr;
  const T* sd = standardize ? buffers_.data() + plan_.ops[0].stdev : nullptr;
  T* dst = ws.input;  // (n, d)
  parallel_for(n, std::max<index_t>(1, kCopyGrain / d), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const T* src = X + (idx ? idx[r] : r) * ldx;
      if (idx && r + 1 < r1) prefetch_row(X + idx[r + 1] * ldx, d);
      if (standardize)
        standardize_rows(src, ldx, 1, d, mean, sd, dst + r * d);
      else
        std::memcpy(dst + r * d, src, sizeof(T) * d);
    }
  });
  return dst;
}

namespace {
// Rows idx[0..n) of src (cols values a row) copied into dst; without idx the contiguous rows
// from `begin` are read in place.
template <class U>
const U* gather_rows(const U* src, index_t cols, const index_t* idx, index_t begin, index_t n,
                     U* dst) {
  if (!idx) return src + begin * cols;
  for (index_t r = 0; r < n; ++r)
    std::memcpy(dst + r * cols, src + idx[r] * cols, sizeof(U) * cols);
  return dst;
}
}  // namespace

template <class T>
Targets<T> Network<T>::gather_targets(Workspace<T>& ws, const Targets<T>& y, const index_t* idx,
                                      index_t begin, index_t n) const {
  Targets<T> t = y;
  if (y.labels)
    t.labels = gather_rows(y.labels, 1, idx, begin, n, ws.labels.data());
  else
    t.values = gather_rows(y.values, y.cols, idx, begin, n, ws.targets);
  if (y.weights) t.weights = gather_rows(y.weights, 1, idx, begin, n, ws.weights.data());
  return t;
}

// ---- training-mode forward ----------------------------------------------------------------

template <class T>
const T* Network<T>::forward_train(Workspace<T>& ws, const T* x0, index_t n,
                                   const TrainMode& mode) const {
  // Training steps: streams from (layer, step, purpose); predict(training=True) call k mixes k
  // in, so every call differs and training's masks stay what they always were.
  const std::uint64_t step_salt = static_cast<std::uint64_t>(step) ^
                                  (mode.draw ? mix64(mode.draw) : 0) ^ (rank ? mix64(~rank) : 0);
  // Running statistics are written only when mode.update_running (callers hold the network).
  // The backward pass's copies (Wᵀ, for dX) of the same weights in the same region.
  const bool has_dx = plan_.first_trainable_op + 1 < static_cast<int>(plan_.ops.size());
  const auto packed = packed_weights(PackedLayout::forward, has_dx);
  const Arenas<T> arenas{params_.data(), nullptr, const_cast<T*>(buffers_.data()), packed.get()};
  const T* x = x0;  // (n, op.in) input of the current op
  ws.stochastic = mode.stochastic;
  ws.across = mode.across;
  for (std::size_t i = 0; i < plan_.ops.size(); ++i) {
    const Op& op = plan_.ops[i];
    const std::uint16_t* x16 = i == 0 && !x0 ? ws.x16 : nullptr;
    op_fns<T>(op.kind).forward(
        op, {x, n, ws.ops[i], arenas, mode, seed_, step_salt, i == 0, bf16, x16});
    x = ws.ops[i].y;
  }
  return x;
}

// ---- backward -----------------------------------------------------------------------------

template <class T>
void Network<T>::backward(Workspace<T>& ws, const T* x0, index_t n) {
  T* g = ws.grad_a;      // (n, width) gradient w.r.t. the current op's output
  T* spare = ws.grad_b;  // second buffer an op may write dX into (dense)
  const int first = plan_.first_trainable_op;
  // dX = dZ · Wᵀ of every Dense op but the first trainable one reads Wᵀ's copy.
  const auto packed = first + 1 < static_cast<int>(plan_.ops.size())
                          ? packed_weights(PackedLayout::backward)
                          : nullptr;
  const Arenas<T> arenas{params_.data(), grads_.data(), buffers_.data(), packed.get()};
  std::uint32_t* dz16 = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (bf16 && bf16_prepack && bf16_native()) {
      index_t words = 1;
      for (const Op& op : plan_.ops)
        if (op.kind == OpKind::dense) words = std::max(words, gemm_bf16_packed_words(n, op.out));
      ws.dz16.resize(words);
      dz16 = ws.dz16.data();
    }
  }
  for (int i = static_cast<int>(plan_.ops.size()) - 1; i >= first; --i) {
    const Op& op = plan_.ops[i];
    const T* x = i == 0 ? x0 : ws.ops[i - 1].y;  // (n, op.in) input the forward read
    const std::uint16_t* x16 = i == 0 && !x0 ? ws.x16 : nullptr;
    op_fns<T>(op.kind).backward(op, {x, n, ws.ops[i], arenas, g, spare, i > first, ws.stochastic,
                                     bf16, ws.across, x16, dz16});
  }
}

template <class T>
void Network<T>::idle_across(const std::function<void(double*, index_t)>& across,
                             bool forward) const {
  // The calls a forward (when asked) and a backward of synchronized BatchNorm ops make
  // (ops/batchnorm.cpp), in the same order and sizes, with zeros.
  std::vector<double> zeros;
  auto call = [&](index_t len) {
    zeros.assign(static_cast<std::size_t>(len), 0.0);
    across(zeros.data(), len);
  };
  for (const Op& op : plan_.ops)
    if (forward && op.kind == OpKind::batchnorm && op.synchronized) {
      call(op.out + 1);
      call(op.out);
    }
  for (int i = static_cast<int>(plan_.ops.size()) - 1; i >= plan_.first_trainable_op; --i)
    if (plan_.ops[i].kind == OpKind::batchnorm && plan_.ops[i].synchronized)
      call(2 * plan_.ops[i].out);
}

template <class T>
double Network<T>::penalty_into(T* grads, double factor) const {
  double total = 0.0;
  if (factor == 0.0) return total;
  for (const Op& op : plan_.ops) {
    if (op.w < 0 || (op.l1_eff == 0.0 && op.l2_eff == 0.0)) continue;
    total +=
        l1_l2_penalty<T>(params_.data() + op.w, op.in * op.out, static_cast<T>(op.l1_eff * factor),
                         static_cast<T>(op.l2_eff * factor), grads ? grads + op.w : nullptr);
  }
  return total;
}

// ---- loss ---------------------------------------------------------------------------------

template <class T>
double Network<T>::loss_denom(index_t n) const {
  return static_cast<double>(n) *
         (loss_ == LossKind::cross_entropy ? 1.0 : static_cast<double>(plan_.output_dim));
}

template <class T>
double Network<T>::weight_denom(double weight_sum) const {
  if (!(weight_sum > 0.0)) return 1.0;  // every weight 0: the loss sum is 0 too
  return weight_sum *
         (loss_ == LossKind::cross_entropy ? 1.0 : static_cast<double>(plan_.output_dim));
}

template <class T>
Totals Network<T>::loss_of(const T* logits, const Targets<T>& y, index_t n, T* grad) const {
  const index_t k = plan_.output_dim;
  if (y.weights) return weighted_loss_of(logits, y, n, grad);
  Totals r;
  r.count = n;
  r.weight = static_cast<double>(n);
  index_t correct = 0;
  const double denom = loss_denom(n);
  switch (loss_) {
    case LossKind::cross_entropy: {
      const T scale = T(1) / static_cast<T>(n);
      if (y.labels)
        r.data_sum = softmax_xent_labels<T>(logits, y.labels, n, k, scale, grad, &correct);
      else
        r.data_sum = softmax_xent_probs<T>(logits, y.values, n, k, scale, grad, &correct);
      break;
    }
    case LossKind::binary_cross_entropy: {
      r.data_sum =
          sigmoid_bce<T>(logits, y.values, n, k, T(1) / static_cast<T>(denom), grad, &correct);
      break;
    }
    case LossKind::mse:
    case LossKind::mae:
    case LossKind::huber:
    case LossKind::poisson: {
      r.data_sum = regression_loss(logits, y.values, n * k, T(1) / static_cast<T>(denom), grad);
      if (track_abs_error) r.abs_sum = abs_error_sum(logits, y.values, n * k);
      correct = -1;
      break;
    }
    default:
      FM_CHECK(false, "the network is not compiled: call compile() first");
  }
  r.correct = static_cast<double>(correct);
  r.set_loss(r.data_sum / denom);
  return r;
}

// Weighted: the same kernels one row at a time, each row's gradient scaled by its weight
// (k-wide calls; the loss is a negligible share of a step even so).
template <class T>
Totals Network<T>::weighted_loss_of(const T* logits, const Targets<T>& y, index_t n,
                                    T* grad) const {
  const index_t k = plan_.output_dim;
  FM_CHECK(loss_ != LossKind::none, "the network is not compiled: call compile() first");
  Totals r;
  r.count = n;
  double denom = loss_denom(n);
  if (divide_by_weight_sum) {
    double weight_sum = 0.0;
    for (index_t i = 0; i < n; ++i) weight_sum += static_cast<double>(y.weights[i]);
    denom = weight_denom(weight_sum);
  }
  const T scale = T(1) / static_cast<T>(denom);
  for (index_t i = 0; i < n; ++i) {
    const T w = y.weights[i];
    const T* z = logits + i * k;
    T* g = grad ? grad + i * k : nullptr;
    const T* v = y.values ? y.values + i * y.cols : nullptr;
    index_t c = 0;
    double l = 0.0;
    switch (loss_) {
      case LossKind::cross_entropy:
        l = y.labels ? softmax_xent_labels<T>(z, y.labels + i, 1, k, scale * w, g, &c)
                     : softmax_xent_probs<T>(z, v, 1, k, scale * w, g, &c);
        break;
      case LossKind::binary_cross_entropy:
        l = sigmoid_bce<T>(z, v, 1, k, scale * w, g, &c);
        break;
      default:
        l = regression_loss(z, v, k, scale * w, g);
        break;
    }
    // A zero weight drops the row from the loss, even where its loss overflowed (and from
    // weighted metrics).
    const double mw = weighted_metrics ? static_cast<double>(w) : 1.0;
    if (w != T(0)) r.data_sum += static_cast<double>(w) * l;
    if (mw != 0.0) {
      r.correct += mw * static_cast<double>(c);
      if (track_abs_error && is_regression(loss_)) r.abs_sum += mw * abs_error_sum(z, v, k);
    }
    r.weight += mw;
  }
  if (is_regression(loss_)) r.correct = -1;
  r.set_loss(r.data_sum / denom);
  return r;
}

template <class T>
double Network<T>::regression_loss(const T* pred, const T* target, index_t count, T grad_scale,
                                   T* grad) const {
  switch (loss_) {
    case LossKind::mae:
      return mae<T>(pred, target, count, grad_scale, grad);
    case LossKind::huber:
      return huber<T>(pred, target, count, static_cast<T>(huber_delta_), grad_scale, grad);
    case LossKind::poisson:
      return poisson_nll<T>(pred, target, count, grad_scale, grad);
    default:
      return mse<T>(pred, target, count, grad_scale, grad);
  }
}

template <class T>
void Network<T>::apply_link(T* out, index_t n) const {
  const index_t k = plan_.output_dim;
  if (loss_ == LossKind::cross_entropy)
    softmax_fwd<T>(out, out, n, k);
  else if (loss_ == LossKind::binary_cross_entropy)
    sigmoid_link<T>(out, out, n * k);
  else if (loss_ == LossKind::poisson)
    exp_link<T>(out, out, n * k);
}

// ---- inference ----------------------------------------------------------------------------

namespace {
// Per-thread scratch for inference blocks: concurrent predicts never share it.
template <class T>
AlignedBuffer<T>& infer_scratch() {
  thread_local AlignedBuffer<T> buf;
  return buf;
}
}  // namespace

// out (rows, output_dim) = network(x (rows, input_dim)) in inference mode, no link.
template <class T>
void Network<T>::infer_block(const T* x, index_t rows, T* out, int threads,
                             const PackedWeights* packed) const {
  const index_t w = plan_.max_width;
  AlignedBuffer<T>& scratch = infer_scratch<T>();
  const index_t half = (rows * w + 15) / 16 * 16;
  scratch.resize(2 * half);
  T* bufs[2] = {scratch.data(), scratch.data() + half};
  int next = 0;

  // The last op that always writes a new block (dense, batchnorm, standardize) writes into
  // `out`; activations after it run in place there; dropout and noise are identities.
  int last_writer = -1;
  for (int i = 0; i < static_cast<int>(plan_.ops.size()); ++i)
    if (op_info(plan_.ops[i].kind).infer_writes_block) last_writer = i;
  const T* cur = x;  // (rows, width)
  if (last_writer < 0) {
    std::memcpy(out, x, sizeof(T) * rows * plan_.input_dim);
    cur = out;
  }
  bool cur_owned = last_writer < 0;  // may ops modify `cur` in place?
  const Arenas<T> arenas{params_.data(), nullptr, const_cast<T*>(buffers_.data()), packed};
  for (int i = 0; i < static_cast<int>(plan_.ops.size()); ++i) {
    const Op& op = plan_.ops[i];
    T* dst = i == last_writer ? out : bufs[next];
    const T* y = op_fns<T>(op.kind).infer(op, {cur, cur_owned, rows, dst, arenas, threads, bf16});
    if (y == dst) {  // a new block: the next free scratch buffer is the other one
      cur_owned = true;
      if (dst != out) next ^= 1;
    }
    cur = y;
  }
}

template <class T>
bool Network<T>::predict(const T* X, index_t n, T* out, bool link, bool check_finite) const {
  if (n <= 0) return true;
  const index_t d = plan_.input_dim, k = plan_.output_dim;
  const index_t nblocks = (n + kInferBlock - 1) / kInferBlock;
  const int threads = get_num_threads();
  const auto packed = packed_weights(PackedLayout::forward);
  // One block: let the GEMM use the threads; several: one thread a block.
  if (nblocks == 1) {
    if (check_finite && !all_finite<T>(X, n * d)) return false;
    infer_block(X, n, out, threads, packed.get());
    if (link) apply_link(out, n);
    return true;
  }
  std::atomic<bool> finite{true};
  parallel_blocks(nblocks, threads, [&](index_t blk) {
    index_t r0 = blk * kInferBlock, rows = std::min(kInferBlock, n - r0);
    if (check_finite && !all_finite<T>(X + r0 * d, rows * d)) finite.store(false);
    if (!finite.load()) return;
    infer_block(X + r0 * d, rows, out + r0 * k, 1, packed.get());
    if (link) apply_link(out + r0 * k, rows);
  });
  return finite.load();
}

template <class T>
Totals Network<T>::evaluate(const T* X, const Targets<T>& y, index_t n) const {
  FM_CHECK(compiled(), "the network is not compiled: call compile() first");
  const index_t d = plan_.input_dim, k = plan_.output_dim;
  const index_t nblocks = (n + kInferBlock - 1) / kInferBlock;
  std::vector<Totals> parts(static_cast<std::size_t>(nblocks));
  AlignedBuffer<T> logits(std::max<index_t>(n * k, 1));
  const int threads = get_num_threads();
  const auto packed = packed_weights(PackedLayout::forward);
  parallel_blocks(nblocks, threads, [&](index_t blk) {
    index_t r0 = blk * kInferBlock, rows = std::min(kInferBlock, n - r0);
    infer_block(X + r0 * d, rows, logits.data() + r0 * k, nblocks == 1 ? threads : 1, packed.get());
    Targets<T> t = y;
    if (t.labels) t.labels += r0;
    if (t.values) t.values += r0 * t.cols;
    if (t.weights) t.weights += r0;
    parts[static_cast<std::size_t>(blk)] = loss_of(logits.data() + r0 * k, t, rows, nullptr);
  });
  Totals total;
  for (const Totals& p : parts) total.add(p);  // fixed order: deterministic
  const double denom = divide_by_weight_sum ? weight_denom(total.weight) : loss_denom(total.count);
  total.set_loss(total.data_sum / denom + penalty_value(penalty_factor(total.weight)));
  return total;
}

template <class T>
Totals Network<T>::evaluate_outputs(const T* Z, const Targets<T>& y, index_t n) const {
  FM_CHECK(compiled(), "the network is not compiled: call compile() first");
  const index_t k = plan_.output_dim;
  const index_t nblocks = (n + kInferBlock - 1) / kInferBlock;
  std::vector<Totals> parts(static_cast<std::size_t>(nblocks));
  parallel_blocks(nblocks, get_num_threads(), [&](index_t blk) {
    index_t r0 = blk * kInferBlock, rows = std::min(kInferBlock, n - r0);
    Targets<T> t = y;
    if (t.labels) t.labels += r0;
    if (t.values) t.values += r0 * t.cols;
    if (t.weights) t.weights += r0;
    parts[static_cast<std::size_t>(blk)] = loss_of(Z + r0 * k, t, rows, nullptr);
  });
  Totals total;
  for (const Totals& p : parts) total.add(p);  // fixed order: deterministic
  total.set_loss(total.data_sum / loss_denom(total.count) + penalty_value());
  return total;
}

template class Network<float>;
template class Network<double>;

}  // namespace fm::nn
