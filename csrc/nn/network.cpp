// Network: arenas, forward and backward of each op side by side, inference in blocks.
#include "nn/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>

#include "common/check.hpp"
#include "common/parallel.hpp"
#include "common/philox.hpp"
#include "gemm/gemm.hpp"
#include "kernels/activation.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/dropout.hpp"
#include "kernels/loss.hpp"
#include "kernels/reduce.hpp"
#include "nn/small_gemm.hpp"

namespace fm::nn {

namespace {

// Rows per inference block: activations of a block stay in L2.
constexpr index_t kInferBlock = 256;

// Copies of fewer elements than this stay on one thread.
constexpr index_t kCopyGrain = 1 << 14;

// parallel_for over blocks that may throw (std::bad_alloc growing thread_local scratch): an
// exception must never leave an OpenMP region, so the first one is carried out and rethrown.
template <class F>
void parallel_blocks(index_t nblocks, int threads, F&& f) {
  std::exception_ptr err;
  std::mutex mu;
  parallel_for(nblocks, 1, threads, [&](index_t b0, index_t b1) {
    try {
      for (index_t blk = b0; blk < b1; ++blk) f(blk);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!err) err = std::current_exception();
    }
  });
  if (err) std::rethrow_exception(err);
}

template <class T>
void fill(T* p, index_t n, T v) {
  std::fill(p, p + n, v);
}

// y = (x - mean) / std on (rows, cols); y may alias x.
template <class T>
void standardize_rows(const T* x, index_t ldx, index_t rows, index_t cols, const T* mean, const T* sd, T* y) {
  for (index_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    T* yr = y + r * cols;
    for (index_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mean[c]) / sd[c];
  }
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
  // PyTorch's initial values: gamma 1, running_var 1, std 1 (everything else 0).
  for (const Op& op : plan_.ops) {
    if (op.kind == OpKind::batchnorm) {
      fill(params_.data() + op.gamma, op.out, T(1));
      fill(buffers_.data() + op.running_var, op.out, T(1));
    }
    if (op.kind == OpKind::standardize) fill(buffers_.data() + op.stdev, op.out, T(1));
  }
}

template <class T>
void Network<T>::compile(LossKind loss, const OptimizerConfig& opt, double l1, double l2) {
  FM_CHECK(loss != LossKind::none, "loss must be given");
  opt.validate();
  FM_CHECK(std::isfinite(l1) && l1 >= 0.0, "l1 must be >= 0, got ", l1);
  FM_CHECK(std::isfinite(l2) && l2 >= 0.0, "l2 must be >= 0, got ", l2);
  if (!plan_.ops.empty()) {
    const Op& last = plan_.ops.back();
    bool last_softmax = last.kind == OpKind::act && last.act == Act::softmax;
    bool last_sigmoid = (last.kind != OpKind::dropout && last.kind != OpKind::noise) && last.act == Act::sigmoid;
    FM_CHECK(!(loss == LossKind::cross_entropy && last_softmax),
             "the last layer is a softmax, but loss 'cross_entropy' already applies softmax to the raw "
             "outputs (logits): remove the softmax");
    FM_CHECK(!(loss == LossKind::binary_cross_entropy && last_sigmoid),
             "the last layer is a sigmoid, but loss 'binary_cross_entropy' already applies sigmoid to "
             "the raw outputs (logits): remove the sigmoid");
  }
  for (Op& op : plan_.ops) {
    if (op.kind != OpKind::dense) continue;
    op.l1_eff = op.l1 >= 0.0 ? op.l1 : l1;
    op.l2_eff = op.l2 >= 0.0 ? op.l2 : l2;
  }
  loss_ = loss;
  opt_cfg_ = opt;
  index_t n = static_cast<index_t>(opt.state_slots()) * plan_.trainable_size;
  opt_ = AlignedBuffer<T>();
  opt_.resize(std::max<index_t>(n, 1));
  fill(opt_.data(), n, T(0));
  step = 0;
}

// ---- input and targets --------------------------------------------------------------------

template <class T>
const T* Network<T>::gather_input(Workspace<T>& ws, const T* X, index_t ldx, const index_t* idx,
                                  index_t n) const {
  const index_t d = plan_.input_dim;
  const bool standardize = !plan_.ops.empty() && plan_.ops[0].kind == OpKind::standardize;
  const bool must_copy = standardize || (!plan_.ops.empty() && plan_.ops[0].in_place);
  if (!idx && !must_copy && ldx == d) return X;  // contiguous batch: read X in place
  const T* mean = standardize ? buffers_.data() + plan_.ops[0].mean : nullptr;
  const T* sd = standardize ? buffers_.data() + plan_.ops[0].stdev : nullptr;
  T* dst = ws.input;  // (n, d)
  parallel_for(n, std::max<index_t>(1, kCopyGrain / d), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const T* src = X + (idx ? idx[r] : r) * ldx;
      if (standardize)
        standardize_rows(src, ldx, 1, d, mean, sd, dst + r * d);
      else
        std::memcpy(dst + r * d, src, sizeof(T) * d);
    }
  });
  return dst;
}

template <class T>
Targets<T> Network<T>::gather_targets(Workspace<T>& ws, const Targets<T>& y, const index_t* idx, index_t begin,
                                      index_t n) const {
  Targets<T> t = y;
  if (y.labels) {
    if (!idx) {
      t.labels = y.labels + begin;
    } else {
      for (index_t r = 0; r < n; ++r) ws.labels[r] = y.labels[idx[r]];
      t.labels = ws.labels.data();
    }
  } else {
    if (!idx) {
      t.values = y.values + begin * y.cols;
    } else {
      for (index_t r = 0; r < n; ++r)
        std::memcpy(ws.targets + r * y.cols, y.values + idx[r] * y.cols, sizeof(T) * y.cols);
      t.values = ws.targets;
    }
  }
  if (y.weights) {
    if (!idx) {
      t.weights = y.weights + begin;
    } else {
      for (index_t r = 0; r < n; ++r) ws.weights[r] = y.weights[idx[r]];
      t.weights = ws.weights.data();
    }
  }
  return t;
}

// ---- training-mode forward ----------------------------------------------------------------

template <class T>
const T* Network<T>::forward_train(Workspace<T>& ws, const T* x0, index_t n, const TrainMode& mode) const {
  // Training steps: streams from (layer, step, purpose); predict(training=True) call k mixes k
  // in, so every call differs and training's masks stay what they always were.
  const std::uint64_t step_salt = static_cast<std::uint64_t>(step) ^ (mode.draw ? mix64(mode.draw) : 0);
  const T* x = x0;  // (n, op.in) input of the current op
  ws.stochastic = mode.stochastic;
  for (std::size_t i = 0; i < plan_.ops.size(); ++i) {
    const Op& op = plan_.ops[i];
    OpBuffers<T>& b = ws.ops[i];
    const T alpha = static_cast<T>(op.alpha);
    switch (op.kind) {
      case OpKind::dense: {
        // y (n, out) = act(x (n, in) · W (in, out) + b), z (n, out) kept when act_bwd needs it
        Epilogue<T> ep;
        ep.bias = op.b >= 0 ? params_.data() + op.b : nullptr;
        ep.act = op.act;
        ep.alpha = alpha;
        ep.z_out = op.keep_z ? b.z : nullptr;
        ep.ldz = op.out;
        gemm<T>(false, false, n, op.out, op.in, x, op.in, params_.data() + op.w, op.out, T(0), b.y, op.out, ep);
        break;
      }
      case OpKind::batchnorm: {
        // y (n, c) = act(gamma * (x - mean) * invstd + beta), batch statistics
        // one pass: the activation is applied as each normalized value is written
        T* running = const_cast<T*>(buffers_.data());  // written only when update_running
        batchnorm_act_fwd_train<T>(x, n, op.out, params_.data() + op.gamma, params_.data() + op.beta,
                                   static_cast<T>(op.eps), static_cast<T>(op.momentum), mode.update_running,
                                   running + op.running_mean, running + op.running_var, b.y,
                                   b.save_mean, b.save_invstd, op.act, alpha, op.keep_z ? b.z : nullptr);
        break;
      }
      case OpKind::act: {
        // y (n, c) = f(x)
        if (op.act == Act::softmax)
          softmax_fwd<T>(x, b.y, n, op.out);
        else
          act_fwd<T>(op.act, alpha, x, b.y, n * op.out);
        break;
      }
      case OpKind::dropout: {
        // y (n, c) = keep ? x / (1 - rate) : 0, mask (n, c); element index = row * c + col
        if (mode.stochastic) {
          std::uint64_t stream = stream_id(static_cast<std::uint64_t>(op.layer), step_salt, mode.purpose_dropout);
          dropout_mask_fwd<T>(seed_, stream, static_cast<T>(op.rate), x, b.y, b.mask, n * op.out);
        } else if (b.y != x) {
          std::memcpy(b.y, x, sizeof(T) * n * op.out);
        }
        break;
      }
      case OpKind::noise: {
        // y (n, c) = x + stddev * N(0, 1)
        if (mode.stochastic) {
          std::uint64_t stream = stream_id(static_cast<std::uint64_t>(op.layer), step_salt, mode.purpose_noise);
          gaussian_noise_fwd<T>(seed_, stream, static_cast<T>(op.stddev), x, b.y, n * op.out);
        } else if (b.y != x) {
          std::memcpy(b.y, x, sizeof(T) * n * op.out);
        }
        break;
      }
      case OpKind::standardize: {
        // y (n, c) = (x - mean) / std; a leading one was applied by gather_input
        if (i != 0)
          standardize_rows(x, op.in, n, op.in, buffers_.data() + op.mean, buffers_.data() + op.stdev, b.y);
        break;
      }
    }
    x = b.y;
  }
  return x;
}

// ---- backward -----------------------------------------------------------------------------

template <class T>
void Network<T>::backward(Workspace<T>& ws, const T* x0, index_t n) {
  T* g = ws.grad_a;      // (n, width) gradient w.r.t. the current op's output
  T* other = ws.grad_b;  // spare buffer for dense dX
  const int first = plan_.first_trainable_op;
  for (int i = static_cast<int>(plan_.ops.size()) - 1; i >= first; --i) {
    const Op& op = plan_.ops[i];
    OpBuffers<T>& b = ws.ops[i];
    const T* x = i == 0 ? x0 : ws.ops[i - 1].y;  // (n, op.in) input the forward read
    const T alpha = static_cast<T>(op.alpha);
    switch (op.kind) {
      case OpKind::dense: {
        // dZ (n, out) = dY * act'(z); dW (in, out) = xᵀ · dZ; db (out) = colsum(dZ);
        // dX (n, in) = dZ · Wᵀ (not for the first trainable op)
        if (op.act != Act::linear) act_bwd<T>(op.act, alpha, b.z, b.y, g, g, n * op.out);
        gemm<T>(true, false, op.in, op.out, n, x, op.in, g, op.out, T(0), grads_.data() + op.w, op.out);
        if (op.b >= 0) colsum<T>(g, n, op.out, op.out, grads_.data() + op.b, false);
        if (i > first) {
          gemm<T>(false, true, n, op.in, op.out, g, op.out, params_.data() + op.w, op.out, T(0), other, op.in);
          std::swap(g, other);
        }
        break;
      }
      case OpKind::batchnorm: {
        // dZ = dY * act'(.); dX (n, c), dgamma, dbeta (c) from the saved batch statistics
        if (op.act != Act::linear) act_bwd<T>(op.act, alpha, b.z, b.y, g, g, n * op.out);
        batchnorm_bwd<T>(x, g, n, op.out, params_.data() + op.gamma, b.save_mean, b.save_invstd, g,
                         grads_.data() + op.gamma, grads_.data() + op.beta);
        break;
      }
      case OpKind::act: {
        // dX (n, c) = dY * f'(x) (softmax: Jacobian-vector product per row)
        if (op.act == Act::softmax)
          softmax_bwd<T>(b.y, g, g, n, op.out);
        else
          act_bwd<T>(op.act, alpha, x, b.y, g, g, n * op.out);
        break;
      }
      case OpKind::dropout: {
        // dX (n, c) = mask ? dY / (1 - rate) : 0 (identity when the forward ran without it)
        if (ws.stochastic) dropout_bwd<T>(static_cast<T>(op.rate), b.mask, g, g, n * op.out);
        break;
      }
      case OpKind::noise:
        break;  // additive: dX = dY
      case OpKind::standardize: {
        // dX (n, c) = dY / std
        const T* sd = buffers_.data() + op.stdev;
        for (index_t r = 0; r < n; ++r)
          for (index_t c = 0; c < op.out; ++c) g[r * op.out + c] /= sd[c];
        break;
      }
    }
  }
}

template <class T>
double Network<T>::penalty(bool with_grad) {
  double total = 0.0;
  for (const Op& op : plan_.ops) {
    if (op.kind != OpKind::dense || (op.l1_eff == 0.0 && op.l2_eff == 0.0)) continue;
    total += l1_l2_penalty<T>(params_.data() + op.w, op.in * op.out, static_cast<T>(op.l1_eff),
                              static_cast<T>(op.l2_eff), with_grad ? grads_.data() + op.w : nullptr);
  }
  return total;
}

// ---- loss ---------------------------------------------------------------------------------

template <class T>
LossSum Network<T>::loss_of(const T* logits, const Targets<T>& y, index_t n, T* grad) const {
  const index_t k = plan_.output_dim;
  LossSum r;
  r.weight = static_cast<double>(n);
  if (y.weights) return weighted_loss_of(logits, y, n, grad);
  index_t correct = 0;
  switch (loss_) {
    case LossKind::cross_entropy: {
      r.denom = static_cast<double>(n);
      const T scale = T(1) / static_cast<T>(n);
      if (y.labels)
        r.sum = softmax_xent_labels<T>(logits, y.labels, n, k, scale, grad, &correct);
      else
        r.sum = softmax_xent_probs<T>(logits, y.values, n, k, scale, grad, &correct);
      break;
    }
    case LossKind::binary_cross_entropy: {
      r.denom = static_cast<double>(n) * static_cast<double>(k);
      r.sum = sigmoid_bce<T>(logits, y.values, n, k, T(1) / static_cast<T>(r.denom), grad, &correct);
      break;
    }
    case LossKind::mse: {
      r.denom = static_cast<double>(n) * static_cast<double>(k);
      r.sum = mse<T>(logits, y.values, n * k, T(1) / static_cast<T>(r.denom), grad);
      if (track_abs_error) r.abs_sum = abs_error_sum(logits, y.values, n * k);
      correct = -1;
      break;
    }
    default:
      FM_CHECK(false, "the network is not compiled: call compile() first");
  }
  r.correct = static_cast<double>(correct);
  return r;
}

// Weighted: the same kernels one row at a time, each row's gradient scaled by its weight
// (k-wide calls; the loss is a negligible share of a step even so).
template <class T>
LossSum Network<T>::weighted_loss_of(const T* logits, const Targets<T>& y, index_t n, T* grad) const {
  const index_t k = plan_.output_dim;
  LossSum r;
  FM_CHECK(loss_ != LossKind::none, "the network is not compiled: call compile() first");
  r.denom = static_cast<double>(n) * (loss_ == LossKind::cross_entropy ? 1.0 : static_cast<double>(k));
  const T scale = T(1) / static_cast<T>(r.denom);
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
        l = mse<T>(z, v, k, scale * w, g);
        break;
    }
    // A zero weight drops the row, even where its loss overflowed.
    if (w != T(0)) {
      r.sum += static_cast<double>(w) * l;
      r.correct += static_cast<double>(w) * static_cast<double>(c);
      if (track_abs_error && loss_ == LossKind::mse)
        r.abs_sum += static_cast<double>(w) * abs_error_sum(z, v, k);
    }
    r.weight += static_cast<double>(w);
  }
  if (loss_ == LossKind::mse) r.correct = -1;
  return r;
}

template <class T>
void Network<T>::apply_link(T* out, index_t n) const {
  const index_t k = plan_.output_dim;
  if (loss_ == LossKind::cross_entropy)
    softmax_fwd<T>(out, out, n, k);
  else if (loss_ == LossKind::binary_cross_entropy)
    sigmoid_link<T>(out, out, n * k);
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
void Network<T>::infer_block(const T* x, index_t rows, T* out, int threads) const {
  const index_t w = plan_.max_width;
  AlignedBuffer<T>& scratch = infer_scratch<T>();
  const index_t half = (rows * w + 15) / 16 * 16;
  scratch.resize(2 * half);
  T* bufs[2] = {scratch.data(), scratch.data() + half};
  int next = 0;

  // The last op that writes a new block (dense, batchnorm, standardize) writes into `out`;
  // activations after it run in place there; dropout and noise are identities.
  int last_writer = -1;
  for (int i = 0; i < static_cast<int>(plan_.ops.size()); ++i) {
    OpKind k = plan_.ops[i].kind;
    if (k == OpKind::dense || k == OpKind::batchnorm || k == OpKind::standardize) last_writer = i;
  }
  const T* cur = x;  // (rows, width)
  index_t width = plan_.input_dim;
  if (last_writer < 0) {
    std::memcpy(out, x, sizeof(T) * rows * width);
    cur = out;
  }
  bool cur_owned = last_writer < 0;  // may ops modify `cur` in place?
  for (int i = 0; i < static_cast<int>(plan_.ops.size()); ++i) {
    const Op& op = plan_.ops[i];
    const T alpha = static_cast<T>(op.alpha);
    T* dst = i == last_writer ? out : bufs[next];
    switch (op.kind) {
      case OpKind::dense: {
        const T* bias = op.b >= 0 ? params_.data() + op.b : nullptr;
        if (rows <= kSmallGemmMaxRows) {  // one sample: stream W, no packing
          small_gemm<T>(rows, op.out, op.in, cur, params_.data() + op.w, bias, dst, threads);
          if (op.act != Act::linear) act_fwd<T>(op.act, alpha, dst, dst, rows * op.out);
          break;
        }
        Epilogue<T> ep;
        ep.bias = bias;
        ep.act = op.act;
        ep.alpha = alpha;
        gemm_threads<T>(threads, false, false, rows, op.out, op.in, cur, op.in, params_.data() + op.w, op.out,
                        T(0), dst, op.out, ep);
        break;
      }
      case OpKind::batchnorm:
        batchnorm_act_fwd_infer<T>(cur, rows, op.out, params_.data() + op.gamma, params_.data() + op.beta,
                                   buffers_.data() + op.running_mean, buffers_.data() + op.running_var,
                                   static_cast<T>(op.eps), dst, op.act, alpha, nullptr);
        break;
      case OpKind::standardize:
        standardize_rows(cur, op.in, rows, op.in, buffers_.data() + op.mean, buffers_.data() + op.stdev, dst);
        break;
      case OpKind::act: {
        T* y = cur_owned ? const_cast<T*>(cur) : dst;
        if (op.act == Act::softmax)
          softmax_fwd<T>(cur, y, rows, op.out);
        else
          act_fwd<T>(op.act, alpha, cur, y, rows * op.out);
        if (y == dst) {
          next ^= 1;
          cur_owned = true;
        }
        cur = y;
        width = op.out;
        continue;
      }
      case OpKind::dropout:
      case OpKind::noise:
        continue;
    }
    cur = dst;
    cur_owned = true;
    width = op.out;
    if (dst != out) next ^= 1;
  }
  (void)width;
}

template <class T>
void Network<T>::predict(const T* X, index_t n, T* out, bool link) const {
  if (n <= 0) return;
  const index_t d = plan_.input_dim, k = plan_.output_dim;
  const index_t nblocks = (n + kInferBlock - 1) / kInferBlock;
  const int threads = get_num_threads();
  // One block: let the GEMM use the threads; several: one thread a block.
  if (nblocks == 1) {
    infer_block(X, n, out, threads);
    if (link) apply_link(out, n);
    return;
  }
  parallel_blocks(nblocks, threads, [&](index_t blk) {
    index_t r0 = blk * kInferBlock, rows = std::min(kInferBlock, n - r0);
    infer_block(X + r0 * d, rows, out + r0 * k, 1);
    if (link) apply_link(out + r0 * k, rows);
  });
}

template <class T>
LossSum Network<T>::evaluate(const T* X, const Targets<T>& y, index_t n) const {
  FM_CHECK(compiled(), "the network is not compiled: call compile() first");
  const index_t d = plan_.input_dim, k = plan_.output_dim;
  const index_t nblocks = (n + kInferBlock - 1) / kInferBlock;
  std::vector<LossSum> parts(static_cast<std::size_t>(nblocks));
  AlignedBuffer<T> logits(std::max<index_t>(n * k, 1));
  const int threads = get_num_threads();
  parallel_blocks(nblocks, threads, [&](index_t blk) {
    index_t r0 = blk * kInferBlock, rows = std::min(kInferBlock, n - r0);
    infer_block(X + r0 * d, rows, logits.data() + r0 * k, nblocks == 1 ? threads : 1);
    Targets<T> t = y;
    if (t.labels) t.labels += r0;
    if (t.values) t.values += r0 * t.cols;
    if (t.weights) t.weights += r0;
    parts[static_cast<std::size_t>(blk)] = loss_of(logits.data() + r0 * k, t, rows, nullptr);
  });
  LossSum total;
  total.denom = 0.0;
  for (const LossSum& p : parts) {  // fixed order: deterministic
    total.sum += p.sum;
    total.denom += p.denom;
    total.correct += p.correct;
    total.weight += p.weight;
    total.abs_sum += p.abs_sum;
  }
  if (loss_ == LossKind::mse) total.correct = -1;
  return total;
}

template class Network<float>;
template class Network<double>;

}  // namespace fm::nn
