#pragma once
// Batch normalization over the rows of an (n, c) block, PyTorch BatchNorm1d semantics:
// training uses the batch mean and biased variance, and updates
//   running = (1 - momentum) * running + momentum * batch   (unbiased variance for running_var,
//   or, with unbiased_var = false, the biased one as Keras' BatchNormalization does);
// inference uses the running statistics. Parallel over columns only.
#include "common/types.hpp"

namespace fm {

// y = gamma * (x - mean) * invstd + beta. save_mean/save_invstd (c,) are kept for backward.
// running_* are updated only when update_running is true (predict(training=True) changes no
// state). n >= 1; n == 1 leaves running_var unchanged from an unbiased estimate of 0/0 (as
// PyTorch raises, callers refuse n == 1 in training).
template <class T>
void batchnorm_fwd_train(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                         T momentum, bool update_running, bool unbiased_var, T* running_mean,
                         T* running_var, T* y, T* save_mean, T* save_invstd);

template <class T>
void batchnorm_fwd_infer(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                         const T* running_mean, const T* running_var, T eps, T* y);

// The same two passes with an element-wise activation fused into the write of y (one pass over
// y instead of two): y = act(bn(x)); z_out (nullable, (n, c)) receives bn(x), the
// pre-activation act_bwd needs for gelu/silu/softplus. Bit-identical to batchnorm_fwd_* followed
// by act_fwd. act != softmax. y may alias x (z_out must not).
template <class T>
void batchnorm_act_fwd_train(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                             T momentum, bool update_running, bool unbiased_var, T* running_mean,
                             T* running_var, T* y, T* save_mean, T* save_invstd, Act act, T alpha,
                             T* z_out);
template <class T>
void batchnorm_act_fwd_infer(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                             const T* running_mean, const T* running_var, T eps, T* y, Act act,
                             T alpha, T* z_out);

// Given dy, computes dx, and dgamma/dbeta (overwritten). dx may alias dy.
template <class T>
void batchnorm_bwd(const T* x, const T* dy, index_t n, index_t c, const T* gamma,
                   const T* save_mean, const T* save_invstd, T* dx, T* dgamma, T* dbeta);

}  // namespace fm
