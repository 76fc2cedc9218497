// BatchNorm (PyTorch BatchNorm1d): y = act(gamma * (x - mean) * invstd + beta), batch statistics
// in training, running statistics in inference; a following activation fused into the pass.
#include "kernels/batchnorm.hpp"

#include <cmath>

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

// y (n, c) = act(gamma * (x (n, c) - mean) * invstd + beta), one pass: the activation is
// applied as each normalized value is written; save_mean, save_invstd (c) for backward; the
// running statistics move only when mode.update_running.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
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
