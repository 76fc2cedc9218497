#pragma once
// Training entry points: one step on a batch, a whole epoch, gradients, training-mode
// predict. Everything runs in C++ with no Python per batch; the binding releases the GIL.
#include <cstdint>
#include <functional>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"
#include "nn/network.hpp"

namespace fm::train {

using nn::Network;
using nn::Targets;

using nn::Totals;

struct StepResult {
  Totals totals;       // the batch: loss = mean incl. the L1/L2 penalty
  bool finite = true;  // false: the loss was not finite and no update was made
  bool stop = false;   // distributed: some rank asked to stop (the update was made)
};

// Data-parallel training (fastmlp.distributed): `reduce` is called once per step on every
// rank, after backward and before the update, without the GIL. flags in: [0] this rank's rows
// in the step, [1] 1 when its loss was not finite, [2] 1 when it asks to stop. reduce sums the
// flags over the ranks and, unless some loss was not finite, replaces grads (n, the gradient
// arena) by the row-weighted mean of the ranks' gradients; every rank then makes the same
// update (or none when flags[1] > 0), so the weights stay identical.
template <class T>
struct GradientSync {
  std::function<void(T* grads, index_t n, double* flags)> reduce;
  // Sums v (len values) over the ranks in place: BatchNorm(synchronized=True)'s statistics
  // (empty: no synchronized BatchNorm).
  std::function<void(double* v, index_t len)> across;
  index_t steps = 0;       // steps of the epoch: the most any rank has (idle ranks send 0 rows)
  bool want_stop = false;  // this rank asks to stop (sent with the next step's flags)
};

struct EpochResult {
  Totals totals;  // the batches trained on; loss = their row-weighted mean (NaN: diverged)
  bool interrupted = false;
  bool nonfinite = false;  // diverged: the network was rolled back to the start of the epoch
};

// Everything training changes (parameters, running statistics, optimizer state, step), copied
// at the start of an epoch so a diverged epoch can be undone: the one rollback every training
// path uses (fit_epoch here; the per-batch augment path through the bindings).
template <class T>
class Checkpoint {
 public:
  void take(Network<T>& net);
  void restore(Network<T>& net) const;
  bool empty() const { return !taken_; }

 private:
  AlignedBuffer<T> params_, buffers_, opt_;
  long long step_ = 0;
  index_t np_ = 0, nb_ = 0, no_ = 0;
  bool taken_ = false;
};

// One optimizer update over the whole parameter arena with the current gradients; increments
// net.step first (torch's state["step"]).
template <class T>
void optimizer_update(Network<T>& net);

// forward -> loss -> backward -> penalty -> update on rows idx[0..n) of X (or rows
// begin..begin+n when idx is null). The workspace must hold n rows.
// With sync (distributed), n may be 0 (a rank out of rows sends zero gradients) and the
// gradients are averaged over the ranks before the update.
template <class T>
StepResult train_step(Network<T>& net, const T* X, const Targets<T>& y, const index_t* idx,
                      index_t begin, index_t n, GradientSync<T>* sync = nullptr);

// One step on exactly these n rows (sizes the workspace). A non-finite step changes nothing
// (its BatchNorm running-statistics update is undone too).
template <class T>
StepResult train_batch(Network<T>& net, const T* X, const Targets<T>& y, index_t n);

// One epoch: Fisher-Yates permutation from Philox(seed, stream(epoch)), batches gathered by
// index (X is never copied). should_stop is polled after each batch with the progress so far
// (Ctrl-C, progress bars); returning true stops the epoch after that batch. A non-finite
// loss stops the epoch and rolls the network back to the start of the epoch (Checkpoint).
// With sync (distributed) the epoch runs sync->steps steps on every rank, a stop request
// takes effect one step later on all ranks together, and a BatchNorm network drops a
// one-row part (that rank sends 0 rows).
template <class T>
EpochResult fit_epoch(Network<T>& net, const T* X, const Targets<T>& y, index_t n,
                      index_t batch_size, bool shuffle, long long epoch,
                      const std::function<bool(const Totals&)>& should_stop,
                      GradientSync<T>* sync = nullptr);

// Gradients of the mean loss (incl. penalty) into net.grads(); training mode, no state change
// (running statistics and step untouched). stochastic: dropout and noise on.
template <class T>
double compute_gradients(Network<T>& net, const T* X, const Targets<T>& y, index_t n,
                         bool stochastic);

// Training-mode forward over all n rows as one batch (batch statistics, dropout, noise),
// changing no state; out (n, output_dim), link applied when requested.
template <class T>
void predict_training(const Network<T>& net, const T* X, index_t n, T* out, bool link);

// The epoch permutation (exposed for tests).
void epoch_permutation(std::uint64_t seed, long long epoch, index_t n, index_t* perm);

}  // namespace fm::train
