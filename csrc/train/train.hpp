#pragma once
// Training entry points: one step on a batch, a whole epoch, gradients, training-mode
// predict. Everything runs in C++ with no Python per batch; the binding releases the GIL.
#include <cstdint>
#include <functional>

#include "common/types.hpp"
#include "nn/network.hpp"

namespace fm::train {

using nn::Network;
using nn::Targets;

struct StepResult {
  double loss = 0.0;     // mean batch loss incl. the L1/L2 penalty
  double correct = 0;    // weighted by the sample weights; -1 for mse
  double weight = 0.0;   // sum of the batch's sample weights (its row count when unweighted)
  double data_sum = 0.0; // loss sum without the penalty (nn::LossSum::sum): the mse metric
  double abs_sum = 0.0;  // nn::LossSum::abs_sum (mae metric; 0 unless tracked)
  bool finite = true;    // false: the loss was not finite and no update was made
};

struct EpochResult {
  double loss = 0.0;     // row-count-weighted mean of the batch losses (incl. penalty)
  double correct = 0;    // weighted by the sample weights; -1 for mse
  double weight = 0.0;   // sum of the sample weights trained on (accuracy's divisor)
  double data_sum = 0.0; // StepResult::data_sum summed over the batches
  double abs_sum = 0.0;  // StepResult::abs_sum summed over the batches
  index_t count = 0;     // samples trained on
  bool interrupted = false;
  bool nonfinite = false;
};

// One optimizer update over the whole parameter arena with the current gradients; increments
// net.step first (torch's state["step"]).
template <class T>
void optimizer_update(Network<T>& net);

// forward -> loss -> backward -> penalty -> update on rows idx[0..n) of X (or rows
// begin..begin+n when idx is null). The workspace must hold n rows.
template <class T>
StepResult train_step(Network<T>& net, const T* X, const Targets<T>& y, const index_t* idx, index_t begin,
                      index_t n);

// One step on exactly these n rows (sizes the workspace).
template <class T>
StepResult train_batch(Network<T>& net, const T* X, const Targets<T>& y, index_t n);

// Running totals of an epoch, reported to fit_epoch's should_stop after each batch.
struct EpochProgress {
  index_t count = 0;      // samples trained on so far
  double loss_sum = 0.0;  // sum of batch loss * batch size
  double correct = 0;     // weighted
  double weight = 0.0;    // sum of sample weights so far
  double data_sum = 0.0;  // loss sums without penalty so far (EpochResult::data_sum)
  double abs_sum = 0.0;   // |error| sums so far (EpochResult::abs_sum)
};

// One epoch: Fisher-Yates permutation from Philox(seed, stream(epoch)), batches gathered by
// index (X is never copied). should_stop is polled after each batch with the progress so far
// (Ctrl-C, progress bars); returning true stops the epoch after that batch. A non-finite
// loss stops the epoch; parameters that are no longer finite are restored to their values at
// the start of the epoch.
template <class T>
EpochResult fit_epoch(Network<T>& net, const T* X, const Targets<T>& y, index_t n, index_t batch_size,
                      bool shuffle, long long epoch, const std::function<bool(const EpochProgress&)>& should_stop);

// Gradients of the mean loss (incl. penalty) into net.grads(); training mode, no state change
// (running statistics and step untouched). stochastic: dropout and noise on.
template <class T>
double compute_gradients(Network<T>& net, const T* X, const Targets<T>& y, index_t n, bool stochastic);

// Training-mode forward over all n rows as one batch (batch statistics, dropout, noise),
// changing no state; out (n, output_dim), link applied when requested.
template <class T>
void predict_training(const Network<T>& net, const T* X, index_t n, T* out, bool link);

// The epoch permutation (exposed for tests).
void epoch_permutation(std::uint64_t seed, long long epoch, index_t n, index_t* perm);

}  // namespace fm::train
