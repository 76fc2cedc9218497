// Loss entry points: check arguments (labels in range before anything is written), then call
// the per-ISA kernel.
#include "kernels/loss.hpp"

#include "common/check.hpp"
#include "common/isa.hpp"

namespace fm {

FM_DECLARE_PER_ISA(template <class T> double softmax_xent_labels(const T*, const std::int32_t*, index_t, index_t, T, T*, index_t*))
FM_DECLARE_PER_ISA(template <class T> double softmax_xent_probs(const T*, const T*, index_t, index_t, T, T*, index_t*))
FM_DECLARE_PER_ISA(template <class T> double sigmoid_bce(const T*, const T*, index_t, index_t, T, T*, index_t*))
FM_DECLARE_PER_ISA(template <class T> double mse(const T*, const T*, index_t, T, T*))
FM_DECLARE_PER_ISA(template <class T> void sigmoid_link(const T*, T*, index_t))

namespace {
void check_nk(const char* what, index_t n, index_t k) {
  FM_CHECK(n >= 0 && k >= 1, what, ": need n >= 0 and k >= 1, got n=", n, ", k=", k);
}
}  // namespace

template <class T>
double softmax_xent_labels(const T* logits, const std::int32_t* labels, index_t n, index_t k,
                           T grad_scale, T* grad, index_t* correct) {
  check_nk("softmax_xent_labels", n, k);
  if (correct) *correct = 0;
  if (n == 0) return 0.0;
  FM_CHECK(logits && labels, "softmax_xent_labels: null array");
  for (index_t i = 0; i < n; ++i)
    FM_CHECK(labels[i] >= 0 && labels[i] < k, "softmax_xent_labels: label ", labels[i], " at row ", i,
             " is outside [0, ", k, ")");
  return FM_SELECT_ISA(softmax_xent_labels<T>)(logits, labels, n, k, grad_scale, grad, correct);
}

template <class T>
double softmax_xent_probs(const T* logits, const T* target, index_t n, index_t k, T grad_scale,
                          T* grad, index_t* correct) {
  check_nk("softmax_xent_probs", n, k);
  if (correct) *correct = 0;
  if (n == 0) return 0.0;
  FM_CHECK(logits && target, "softmax_xent_probs: null array");
  return FM_SELECT_ISA(softmax_xent_probs<T>)(logits, target, n, k, grad_scale, grad, correct);
}

template <class T>
double sigmoid_bce(const T* logits, const T* target, index_t n, index_t k, T grad_scale, T* grad,
                   index_t* correct) {
  check_nk("sigmoid_bce", n, k);
  if (correct) *correct = 0;
  if (n == 0) return 0.0;
  FM_CHECK(logits && target, "sigmoid_bce: null array");
  return FM_SELECT_ISA(sigmoid_bce<T>)(logits, target, n, k, grad_scale, grad, correct);
}

template <class T>
double mse(const T* pred, const T* target, index_t count, T grad_scale, T* grad) {
  FM_CHECK(count >= 0, "mse: count must be >= 0, got ", count);
  if (count == 0) return 0.0;
  FM_CHECK(pred && target, "mse: null array");
  return FM_SELECT_ISA(mse<T>)(pred, target, count, grad_scale, grad);
}

template <class T>
void sigmoid_link(const T* x, T* y, index_t n) {
  FM_CHECK(n >= 0, "sigmoid_link: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y, "sigmoid_link: null array");
  FM_SELECT_ISA(sigmoid_link<T>)(x, y, n);
}

template double softmax_xent_labels<float>(const float*, const std::int32_t*, index_t, index_t, float, float*, index_t*);
template double softmax_xent_labels<double>(const double*, const std::int32_t*, index_t, index_t, double, double*, index_t*);
template double softmax_xent_probs<float>(const float*, const float*, index_t, index_t, float, float*, index_t*);
template double softmax_xent_probs<double>(const double*, const double*, index_t, index_t, double, double*, index_t*);
template double sigmoid_bce<float>(const float*, const float*, index_t, index_t, float, float*, index_t*);
template double sigmoid_bce<double>(const double*, const double*, index_t, index_t, double, double*, index_t*);
template double mse<float>(const float*, const float*, index_t, float, float*);
template double mse<double>(const double*, const double*, index_t, double, double*);
template void sigmoid_link<float>(const float*, float*, index_t);
template void sigmoid_link<double>(const double*, double*, index_t);

}  // namespace fm
