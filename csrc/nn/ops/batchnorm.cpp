// BatchNorm (PyTorch BatchNorm1d): y = act(gamma * (x - mean) * invstd + beta), batch statistics
// in training, running statistics in inference; a following activation fused into the pass.
#include "kernels/batchnorm.hpp"

#include <cmath>
#include <vector>

#include "common/check.hpp"
#include "kernels/activation.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// gamma (1), beta (0) trainable; running_mean (0), running_var (1) buffers. The next
// activation layer (not softmax) is fused.
void plan(PlanBuilder& b, const LayerSpec& L) {
  const std::size_t i = b.layer;
  FM_CHECK(std::isfinite(L.momentum) && L.momentum >= 0.0 && L.momentum <= 1.0, "layer ", i,
           " (batchnorm): 'momentum' must be in [0, 1], got ", L.momentum);
  FM_CHECK(std::isfinite(L.eps) && L.eps > 0.0, "layer ", i,
           " (batchnorm): 'eps' must be > 0, got ", L.eps);
  Op op = b.new_op(OpKind::batchnorm);
  op.momentum = L.momentum;
  op.eps = L.eps;
  op.unbiased_var = L.unbiased_var;
  op.synchronized = L.synchronized;
  op.saves_stats = true;
  op.gamma = b.add_param(true, b.width, 0, 1.0);
  op.beta = b.add_param(true, b.width, 0);
  op.running_mean = b.add_param(false, b.width, 0);
  op.running_var = b.add_param(false, b.width, 0, 1.0);
  if (const LayerSpec* next = b.take_fusable_act()) {
    op.act = next->act;
    op.alpha = next->alpha;
  }
  op.keep_z = act_bwd_needs_z(op.act);
  b.push_elementwise(op);
  b.plan.has_batchnorm = true;
  b.owner_reads = reads_of_fused_act(op.act);
}

// ---- synchronized=True in distributed training: statistics over every rank's rows --------
//
// Forward: mean and biased variance of the global batch (two passes, each summed over the
// ranks: sum x and the row count, then sum (x - mean)^2), then the inference kernel applies
// them. Backward: with w = n / N (this rank's share of the N global rows, which turns its
// local-mean-loss gradient into the global one), dx = gamma * invstd * (dy - (S1 + xhat * S2)
// / n), S1 = sum over ranks of w * sum dy, S2 = of w * sum dy * xhat; one process (w = 1)
// gives the usual formula. dgamma and dbeta stay local: the gradient allreduce averages them.
// Scalar loops: O(n c) next to the O(n c k) GEMMs around them.

template <class T>
void forward_synchronized(const Op& op, const ForwardArgs<T>& a) {
  const index_t n = a.n, c = op.out;
  const T* x = a.x;  // (n, c)
  std::vector<double> s(static_cast<std::size_t>(c) + 1, 0.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < c; ++j) s[j] += x[i * c + j];
  s[c] = static_cast<double>(n);
  (*a.mode.across)(s.data(), c + 1);
  const double N = s[c];
  FM_CHECK(N >= 2, "BatchNorm(synchronized=True) needs at least 2 rows over all ranks, got ", N);
  a.b.sync_share = static_cast<double>(n) / N;
  std::vector<double> q(static_cast<std::size_t>(c), 0.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < c; ++j) {
      const double d = x[i * c + j] - s[j] / N;
      q[j] += d * d;
    }
  (*a.mode.across)(q.data(), c);
  std::vector<T> mean(c), var(c);
  T* running = a.arenas.buffers;
  for (index_t j = 0; j < c; ++j) {
    mean[j] = static_cast<T>(s[j] / N);
    var[j] = static_cast<T>(q[j] / N);
    a.b.save_mean[j] = mean[j];
    a.b.save_invstd[j] = static_cast<T>(1.0 / std::sqrt(q[j] / N + op.eps));
    if (a.mode.update_running) {
      const double m = op.momentum;
      T& rm = running[op.running_mean + j];
      T& rv = running[op.running_var + j];
      rm = static_cast<T>((1.0 - m) * rm + m * (s[j] / N));
      rv = static_cast<T>((1.0 - m) * rv + m * (q[j] / (N - 1)));  // unbiased, as PyTorch
    }
  }
  const T* p = a.arenas.params;
  batchnorm_act_fwd_infer<T>(x, n, c, p + op.gamma, p + op.beta, mean.data(), var.data(),
                             static_cast<T>(op.eps), a.b.y, op.act, static_cast<T>(op.alpha),
                             op.keep_z ? a.b.z : nullptr);
}

template <class T>
void backward_synchronized(const Op& op, const BackwardArgs<T>& a) {
  const index_t n = a.n, c = op.out;
  T* g = a.g;  // (n, c) dL/dz in, dL/dx out
  const T* x = a.x;
  const T* mean = a.b.save_mean;
  const T* invstd = a.b.save_invstd;
  std::vector<double> s(2 * static_cast<std::size_t>(c), 0.0);  // sum dy, sum dy * xhat
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < c; ++j) {
      const double xhat = (static_cast<double>(x[i * c + j]) - mean[j]) * invstd[j];
      s[j] += g[i * c + j];
      s[c + j] += g[i * c + j] * xhat;
    }
  T* dgamma = a.arenas.grads + op.gamma;
  T* dbeta = a.arenas.grads + op.beta;
  for (index_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<T>(s[j]);
    dgamma[j] = static_cast<T>(s[c + j]);
  }
  const T* gamma = a.arenas.params + op.gamma;
  const double w = a.b.sync_share;  // n / N, saved by the forward
  for (index_t j = 0; j < 2 * c; ++j) s[j] *= w;
  (*a.across)(s.data(), 2 * c);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < c; ++j) {
      const double xhat = (static_cast<double>(x[i * c + j]) - mean[j]) * invstd[j];
      g[i * c + j] = static_cast<T>(static_cast<double>(gamma[j]) * invstd[j] *
                                    (g[i * c + j] - (s[j] + xhat * s[c + j]) / n));
    }
}

// y (n, c) = act(gamma * (x (n, c) - mean) * invstd + beta), one pass: the activation is
// applied as each normalized value is written; save_mean, save_invstd (c) for backward; the
// running statistics move only when mode.update_running.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  if (op.synchronized && a.mode.across) return forward_synchronized(op, a);
  const T* p = a.arenas.params;
  T* running = a.arenas.buffers;
  batchnorm_act_fwd_train<T>(a.x, a.n, op.out, p + op.gamma, p + op.beta, static_cast<T>(op.eps),
                             static_cast<T>(op.momentum), a.mode.update_running, op.unbiased_var,
                             running + op.running_mean, running + op.running_var, a.b.y,
                             a.b.save_mean, a.b.save_invstd, op.act, static_cast<T>(op.alpha),
                             op.keep_z ? a.b.z : nullptr);
}

// dZ = dY * act'(.) in place in g; then dX (n, c) into g, dgamma, dbeta (c) from the saved
// batch statistics.
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  T* g = a.g;
  if (op.act != Act::linear)
    act_bwd<T>(op.act, static_cast<T>(op.alpha), a.b.z, a.b.y, g, g, a.n * op.out);
  if (op.synchronized && a.across) return backward_synchronized(op, a);
  batchnorm_bwd<T>(a.x, g, a.n, op.out, a.arenas.params + op.gamma, a.b.save_mean, a.b.save_invstd,
                   g, a.arenas.grads + op.gamma, a.arenas.grads + op.beta);
}

// dst (rows, c) = act(gamma * (x - running_mean) / sqrt(running_var + eps) + beta)
template <class T>
const T* infer(const Op& op, const InferArgs<T>& a) {
  const T* p = a.arenas.params;
  const T* buf = a.arenas.buffers;
  batchnorm_act_fwd_infer<T>(a.x, a.rows, op.out, p + op.gamma, p + op.beta, buf + op.running_mean,
                             buf + op.running_var, static_cast<T>(op.eps), a.dst, op.act,
                             static_cast<T>(op.alpha), nullptr);
  return a.dst;
}

}  // namespace

FM_NN_DEFINE_OP(batchnorm, "batchnorm", /*infer_writes_block=*/true)

}  // namespace fm::nn
