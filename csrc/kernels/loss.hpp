#pragma once
// Losses on the last layer's raw output (logits), with the output link fused.
// Each returns the SUM over samples (cross entropy) or elements (bce, mse) of the loss, in
// double; when grad is non-null it writes d(sum loss)/d(logits) * grad_scale (the caller
// passes 1/n or 1/(n*k) for a mean). `correct` (nullable) receives the number of correct
// predictions (argmax == label for cross entropy; element-wise (p >= 0.5) == (t >= 0.5) for bce).
// grad may alias logits (the gradient then overwrites them in place).
#include <cstdint>

#include "common/types.hpp"

namespace fm {

// logits (n, k); labels (n,) in [0, k) (checked: throws std::invalid_argument otherwise).
template <class T>
double softmax_xent_labels(const T* logits, const std::int32_t* labels, index_t n, index_t k,
                           T grad_scale, T* grad, index_t* correct);

// target (n, k) rows of class probabilities.
template <class T>
double softmax_xent_probs(const T* logits, const T* target, index_t n, index_t k, T grad_scale,
                          T* grad, index_t* correct);

// Sigmoid + binary cross entropy, element-wise on (n, k), stable (log1p(exp(-|x|)) form).
template <class T>
double sigmoid_bce(const T* logits, const T* target, index_t n, index_t k, T grad_scale, T* grad,
                   index_t* correct);

// Squared error, element-wise on count elements.
template <class T>
double mse(const T* pred, const T* target, index_t count, T grad_scale, T* grad);

// Absolute error (L1), element-wise on count elements; grad sign(pred - target) (0 at 0).
template <class T>
double mae(const T* pred, const T* target, index_t count, T grad_scale, T* grad);

// Huber loss with threshold delta > 0 (torch's huber_loss; smooth_l1 with beta = 1 is delta 1).
template <class T>
double huber(const T* pred, const T* target, index_t count, T delta, T grad_scale, T* grad);

// Poisson negative log-likelihood on the log rate z (torch's poisson_nll_loss with
// log_input=True, full=False): exp(z) - y z element-wise; grad exp(z) - y.
template <class T>
double poisson_nll(const T* log_rate, const T* target, index_t count, T grad_scale, T* grad);

// Output links for predict: sigmoid element-wise (softmax: activation.hpp softmax_fwd).
template <class T>
void sigmoid_link(const T* x, T* y, index_t n);

// The poisson loss's link: exp element-wise.
template <class T>
void exp_link(const T* x, T* y, index_t n);

}  // namespace fm
