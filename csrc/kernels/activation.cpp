// Activation entry points: check arguments, then call the per-ISA kernel picked at run time.
#include "kernels/activation.hpp"

#include "common/check.hpp"
#include "kernels/kernel_tables.hpp"

namespace fm {

namespace {
void check_elementwise_act(Act act) {
  int a = static_cast<int>(act);
  FM_CHECK(a >= 0 && a <= static_cast<int>(Act::softmax), "unknown activation id ", a);
  FM_CHECK(act != Act::softmax, "softmax is row-wise: use softmax_fwd/softmax_bwd");
}
}  // namespace

bool act_bwd_needs_z(Act act) {
  return act == Act::softplus || act == Act::gelu || act == Act::silu;
}

template <class T>
void act_fwd(Act act, T alpha, const T* x, T* y, index_t n) {
  check_elementwise_act(act);
  FM_CHECK(n >= 0, "act_fwd: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y, "act_fwd: null array");
  FM_SELECT_ISA(activation_kernels<T>)().act_fwd(act, alpha, x, y, n);
}

template <class T>
void act_bwd(Act act, T alpha, const T* z, const T* y, const T* dy, T* dz, index_t n) {
  check_elementwise_act(act);
  FM_CHECK(n >= 0, "act_bwd: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(dy && dz, "act_bwd: null array");
  if (act_bwd_needs_z(act))
    FM_CHECK(z, "act_bwd: this activation needs the pre-activation z");
  else if (act != Act::linear)
    FM_CHECK(y, "act_bwd: this activation needs the output y");
  FM_SELECT_ISA(activation_kernels<T>)().act_bwd(act, alpha, z, y, dy, dz, n);
}

template <class T>
void softmax_fwd(const T* x, T* y, index_t rows, index_t cols) {
  FM_CHECK(rows >= 0 && cols >= 1, "softmax_fwd: need rows >= 0 and cols >= 1, got (", rows, ", ",
           cols, ")");
  if (rows == 0) return;
  FM_CHECK(x && y, "softmax_fwd: null array");
  FM_SELECT_ISA(activation_kernels<T>)().softmax_fwd(x, y, rows, cols);
}

template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, index_t rows, index_t cols) {
  FM_CHECK(rows >= 0 && cols >= 1, "softmax_bwd: need rows >= 0 and cols >= 1, got (", rows, ", ",
           cols, ")");
  if (rows == 0) return;
  FM_CHECK(y && dy && dx, "softmax_bwd: null array");
  FM_SELECT_ISA(activation_kernels<T>)().softmax_bwd(y, dy, dx, rows, cols);
}

#define FM_ACTIVATION_INSTANTIATE(T)                                           \
  template void act_fwd<T>(Act, T, const T*, T*, index_t);                     \
  template void act_bwd<T>(Act, T, const T*, const T*, const T*, T*, index_t); \
  template void softmax_fwd<T>(const T*, T*, index_t, index_t);                \
  template void softmax_bwd<T>(const T*, const T*, T*, index_t, index_t);
FM_ACTIVATION_INSTANTIATE(float)
FM_ACTIVATION_INSTANTIATE(double)
#undef FM_ACTIVATION_INSTANTIATE

}  // namespace fm
