// One training step, gradients without an update, and training-mode predict.
#include <cmath>
#include <cstring>
#include <vector>

#include "common/check.hpp"
#include "train/train.hpp"

namespace fm::train {

template <class T>
StepResult train_step(Network<T>& net, const T* X, const Targets<T>& y, const index_t* idx,
                      index_t begin, index_t n, GradientSync<T>* sync) {
  nn::Workspace<T>& ws = net.workspace();
  const index_t d = net.input_dim();
  StepResult r;
  // forward -> loss (dlogits into grad_a) -> backward -> penalty -> [allreduce] -> update
  if (n > 0) {
    const T* x0 = net.gather_input(ws, idx ? X : X + begin * d, d, idx, n);  // (n, in)
    Targets<T> t = net.gather_targets(ws, y, idx, begin, n);
    nn::TrainMode mode;
    if (sync && sync->across) mode.across = &sync->across;
    const T* logits = net.forward_train(ws, x0, n, mode);  // (n, out)
    r.totals = net.loss_of(logits, t, n, ws.grad_a);       // loss: the mean without penalty
    r.finite = std::isfinite(r.totals.loss);
    if (r.finite) {
      net.backward(ws, x0, n);
      r.totals.set_loss(r.totals.loss + net.penalty(true, net.penalty_factor(r.totals.weight)));
      r.finite = std::isfinite(r.totals.loss);
    } else if (mode.across) {
      net.idle_across(*mode.across, false);  // the other ranks' backward waits for this one
    }
  } else {
    std::memset(net.grads(), 0, sizeof(T) * net.trainable_size());  // weighs 0 in the mean
    if (sync && sync->across) net.idle_across(sync->across, true);
  }
  if (sync) {
    double flags[3] = {static_cast<double>(n), r.finite ? 0.0 : 1.0, sync->want_stop ? 1.0 : 0.0};
    sync->reduce(net.grads(), net.trainable_size(), flags);
    r.finite = flags[1] == 0.0;
    r.stop = flags[2] > 0.0;
  }
  if (!r.finite) return r;
  optimizer_update(net);
  return r;
}

template <class T>
StepResult train_batch(Network<T>& net, const T* X, const Targets<T>& y, index_t n) {
  FM_CHECK(net.compiled(), "the network is not compiled: call compile() first");
  FM_CHECK(n >= 1, "X must have at least one row");
  FM_CHECK(!net.plan().has_batchnorm || n >= 2,
           "BatchNorm needs at least 2 rows per training batch (batch statistics), got 1");
  net.workspace().ensure(net.plan(), n, y.values ? y.cols : 0);
  // A non-finite step makes no update, but its forward has already moved the BatchNorm
  // running statistics: keep a copy of those (small) to undo it.
  std::vector<T> running;
  if (net.plan().has_batchnorm) running.assign(net.buffers(), net.buffers() + net.buffer_size());
  StepResult r = train_step(net, X, y, nullptr, 0, n);
  if (!r.finite && !running.empty())
    std::memcpy(net.buffers(), running.data(), sizeof(T) * running.size());
  return r;
}

template <class T>
double compute_gradients(Network<T>& net, const T* X, const Targets<T>& y, index_t n,
                         bool stochastic) {
  FM_CHECK(net.compiled(), "the network is not compiled: call compile() first");
  FM_CHECK(n >= 1, "X must have at least one row");
  FM_CHECK(!net.plan().has_batchnorm || n >= 2,
           "BatchNorm needs at least 2 rows per training batch (batch statistics), got 1");
  nn::Workspace<T>& ws = net.workspace();
  ws.ensure(net.plan(), n, y.values ? y.cols : 0);
  nn::TrainMode mode;
  mode.stochastic = stochastic;
  mode.update_running = false;
  const T* x0 = net.gather_input(ws, X, net.input_dim(), nullptr, n);
  const T* logits = net.forward_train(ws, x0, n, mode);
  const Totals data = net.loss_of(logits, y, n, ws.grad_a);
  net.backward(ws, x0, n);
  return data.loss + net.penalty(true, net.penalty_factor(data.weight));
}

template <class T>
void predict_training(const Network<T>& net, const T* X, index_t n, T* out, bool link) {
  if (n <= 0) return;
  FM_CHECK(!net.plan().has_batchnorm || n >= 2,
           "BatchNorm in training mode needs at least 2 rows (batch statistics), got 1");
  nn::Workspace<T> ws;  // private: concurrent calls share nothing mutable
  ws.ensure(net.plan(), n, 0);
  nn::TrainMode mode;
  mode.update_running = false;
  mode.purpose_dropout = nn::kPurposePredictDropout;
  mode.purpose_noise = nn::kPurposePredictNoise;
  mode.draw = net.next_draw();
  const T* x0 = net.gather_input(ws, X, net.input_dim(), nullptr, n);
  const T* logits = net.forward_train(ws, x0, n, mode);
  std::memcpy(out, logits, sizeof(T) * n * net.output_dim());
  if (link) net.apply_link(out, n);
}

#define FM_INSTANTIATE(T)                                                                        \
  template StepResult train_step<T>(Network<T>&, const T*, const Targets<T>&, const index_t*,    \
                                    index_t, index_t, GradientSync<T>*);                         \
  template StepResult train_batch<T>(Network<T>&, const T*, const Targets<T>&, index_t);         \
  template double compute_gradients<T>(Network<T>&, const T*, const Targets<T>&, index_t, bool); \
  template void predict_training<T>(const Network<T>&, const T*, index_t, T*, bool);
FM_INSTANTIATE(float)
FM_INSTANTIATE(double)
#undef FM_INSTANTIATE

}  // namespace fm::train
