// Loss entry points: check arguments (labels in range before anything is written), then call
// the per-ISA kernel.
#include "kernels/loss.hpp"

#include <cmath>

#include "common/check.hpp"
#include "kernels/kernel_tables.hpp"

namespace fm {

namespace {
// The checks every (n, k) loss starts with; zeroes *correct. False when there are no rows.
bool has_rows(const char* what, index_t n, index_t k, const void* logits, const void* target,
              index_t* correct) {
  FM_CHECK(n >= 0 && k >= 1, what, ": need n >= 0 and k >= 1, got n=", n, ", k=", k);
  if (correct) *correct = 0;
  if (n == 0) return false;
  FM_CHECK(logits && target, what, ": null array");
  return true;
}
}  // namespace

template <class T>
double softmax_xent_labels(const T* logits, const std::int32_t* labels, index_t n, index_t k,
                           T grad_scale, T* grad, index_t* correct) {
  if (!has_rows("softmax_xent_labels", n, k, logits, labels, correct)) return 0.0;
  for (index_t i = 0; i < n; ++i)
    FM_CHECK(labels[i] >= 0 && labels[i] < k, "softmax_xent_labels: label ", labels[i], " at row ",
             i, " is outside [0, ", k, ")");
  return FM_SELECT_ISA(loss_kernels<T>)().xent_labels(logits, labels, n, k, grad_scale, grad,
                                                      correct);
}

template <class T>
double softmax_xent_probs(const T* logits, const T* target, index_t n, index_t k, T grad_scale,
                          T* grad, index_t* correct) {
  if (!has_rows("softmax_xent_probs", n, k, logits, target, correct)) return 0.0;
  return FM_SELECT_ISA(loss_kernels<T>)().xent_probs(logits, target, n, k, grad_scale, grad,
                                                     correct);
}

template <class T>
double sigmoid_bce(const T* logits, const T* target, index_t n, index_t k, T grad_scale, T* grad,
                   index_t* correct) {
  if (!has_rows("sigmoid_bce", n, k, logits, target, correct)) return 0.0;
  return FM_SELECT_ISA(loss_kernels<T>)().bce(logits, target, n, k, grad_scale, grad, correct);
}

template <class T>
double mse(const T* pred, const T* target, index_t count, T grad_scale, T* grad) {
  FM_CHECK(count >= 0, "mse: count must be >= 0, got ", count);
  if (count == 0) return 0.0;
  FM_CHECK(pred && target, "mse: null array");
  return FM_SELECT_ISA(loss_kernels<T>)().mse(pred, target, count, grad_scale, grad);
}

template <class T>
double mae(const T* pred, const T* target, index_t count, T grad_scale, T* grad) {
  FM_CHECK(count >= 0, "mae: count must be >= 0, got ", count);
  if (count == 0) return 0.0;
  FM_CHECK(pred && target, "mae: null array");
  return FM_SELECT_ISA(loss_kernels<T>)().mae(pred, target, count, grad_scale, grad);
}

template <class T>
double huber(const T* pred, const T* target, index_t count, T delta, T grad_scale, T* grad) {
  FM_CHECK(count >= 0, "huber: count must be >= 0, got ", count);
  FM_CHECK(std::isfinite(static_cast<double>(delta)) && delta > T(0),
           "huber: delta must be a finite number > 0, got ", delta);
  if (count == 0) return 0.0;
  FM_CHECK(pred && target, "huber: null array");
  return FM_SELECT_ISA(loss_kernels<T>)().huber(pred, target, count, delta, grad_scale, grad);
}

template <class T>
double poisson_nll(const T* log_rate, const T* target, index_t count, T grad_scale, T* grad) {
  FM_CHECK(count >= 0, "poisson_nll: count must be >= 0, got ", count);
  if (count == 0) return 0.0;
  FM_CHECK(log_rate && target, "poisson_nll: null array");
  return FM_SELECT_ISA(loss_kernels<T>)().poisson(log_rate, target, count, grad_scale, grad);
}

template <class T>
void exp_link(const T* x, T* y, index_t n) {
  FM_CHECK(n >= 0, "exp_link: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y, "exp_link: null array");
  FM_SELECT_ISA(loss_kernels<T>)().exp_link(x, y, n);
}

template <class T>
void sigmoid_link(const T* x, T* y, index_t n) {
  FM_CHECK(n >= 0, "sigmoid_link: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y, "sigmoid_link: null array");
  FM_SELECT_ISA(loss_kernels<T>)().sigmoid_link(x, y, n);
}

#define FM_LOSS_INSTANTIATE(T)                                                                   \
  template double softmax_xent_labels<T>(const T*, const std::int32_t*, index_t, index_t, T, T*, \
                                         index_t*);                                              \
  template double softmax_xent_probs<T>(const T*, const T*, index_t, index_t, T, T*, index_t*);  \
  template double sigmoid_bce<T>(const T*, const T*, index_t, index_t, T, T*, index_t*);         \
  template double mse<T>(const T*, const T*, index_t, T, T*);                                    \
  template double mae<T>(const T*, const T*, index_t, T, T*);                                    \
  template double huber<T>(const T*, const T*, index_t, T, T, T*);                               \
  template double poisson_nll<T>(const T*, const T*, index_t, T, T*);                            \
  template void exp_link<T>(const T*, T*, index_t);                                              \
  template void sigmoid_link<T>(const T*, T*, index_t);
FM_LOSS_INSTANTIATE(float)
FM_LOSS_INSTANTIATE(double)
#undef FM_LOSS_INSTANTIATE

}  // namespace fm
