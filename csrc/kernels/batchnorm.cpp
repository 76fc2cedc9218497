// BatchNorm entry points: check arguments, then call the per-ISA kernel.
#include "kernels/batchnorm.hpp"

#include <cmath>

#include "common/check.hpp"
#include "kernels/kernel_tables.hpp"

namespace fm {

namespace {
void check_act(const char* what, Act act) {
  int a = static_cast<int>(act);
  FM_CHECK(a >= 0 && a < static_cast<int>(Act::softmax), what,
           ": activation must be element-wise, got id ", a);
}

template <class T>
void check_common(const char* what, index_t n, index_t c, T eps) {
  FM_CHECK(n >= 1 && c >= 0, what, ": need n >= 1 rows and c >= 0 columns, got (", n, ", ", c, ")");
  FM_CHECK(eps > T(0) && std::isfinite(eps), what, ": eps must be finite and > 0, got ", eps);
}
}  // namespace

template <class T>
void batchnorm_act_fwd_train(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                             T momentum, bool update_running, bool unbiased_var, T* running_mean,
                             T* running_var, T* y, T* save_mean, T* save_invstd, Act act, T alpha,
                             T* z_out) {
  check_common("batchnorm_fwd_train", n, c, eps);
  check_act("batchnorm_fwd_train", act);
  FM_CHECK(momentum >= T(0) && momentum <= T(1),
           "batchnorm_fwd_train: momentum must be in [0, 1], got ", momentum);
  if (c == 0) return;
  FM_CHECK(x && y && save_mean && save_invstd, "batchnorm_fwd_train: null array");
  if (update_running)
    FM_CHECK(running_mean && running_var, "batchnorm_fwd_train: null running statistics");
  FM_SELECT_ISA(batchnorm_kernels<T>)().fwd_train(
      x, n, c, gamma, beta, eps, momentum, update_running, unbiased_var, running_mean, running_var,
      y, save_mean, save_invstd, act, alpha, z_out);
}

template <class T>
void batchnorm_fwd_train(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                         T momentum, bool update_running, bool unbiased_var, T* running_mean,
                         T* running_var, T* y, T* save_mean, T* save_invstd) {
  batchnorm_act_fwd_train<T>(x, n, c, gamma, beta, eps, momentum, update_running, unbiased_var,
                             running_mean, running_var, y, save_mean, save_invstd, Act::linear,
                             T(0), nullptr);
}

template <class T>
void batchnorm_act_fwd_infer(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                             const T* running_mean, const T* running_var, T eps, T* y, Act act,
                             T alpha, T* z_out) {
  FM_CHECK(n >= 0 && c >= 0, "batchnorm_fwd_infer: negative shape (", n, ", ", c, ")");
  FM_CHECK(eps > T(0) && std::isfinite(eps),
           "batchnorm_fwd_infer: eps must be finite and > 0, got ", eps);
  check_act("batchnorm_fwd_infer", act);
  if (n == 0 || c == 0) return;
  FM_CHECK(x && y && running_mean && running_var, "batchnorm_fwd_infer: null array");
  FM_SELECT_ISA(batchnorm_kernels<T>)().fwd_infer(x, n, c, gamma, beta, running_mean, running_var,
                                                  eps, y, act, alpha, z_out);
}

template <class T>
void batchnorm_fwd_infer(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                         const T* running_mean, const T* running_var, T eps, T* y) {
  batchnorm_act_fwd_infer<T>(x, n, c, gamma, beta, running_mean, running_var, eps, y, Act::linear,
                             T(0), nullptr);
}

template <class T>
void batchnorm_bwd(const T* x, const T* dy, index_t n, index_t c, const T* gamma,
                   const T* save_mean, const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  FM_CHECK(n >= 1 && c >= 0, "batchnorm_bwd: need n >= 1 rows and c >= 0 columns, got (", n, ", ",
           c, ")");
  if (c == 0) return;
  FM_CHECK(x && dy && save_mean && save_invstd, "batchnorm_bwd: null array");
  FM_SELECT_ISA(batchnorm_kernels<T>)().bwd(x, dy, n, c, gamma, save_mean, save_invstd, dx, dgamma,
                                            dbeta);
}

#define FM_BATCHNORM_INSTANTIATE(T)                                                                \
  template void batchnorm_fwd_train<T>(const T*, index_t, index_t, const T*, const T*, T, T, bool, \
                                       bool, T*, T*, T*, T*, T*);                                  \
  template void batchnorm_fwd_infer<T>(const T*, index_t, index_t, const T*, const T*, const T*,   \
                                       const T*, T, T*);                                           \
  template void batchnorm_act_fwd_train<T>(const T*, index_t, index_t, const T*, const T*, T, T,   \
                                           bool, bool, T*, T*, T*, T*, T*, Act, T, T*);            \
  template void batchnorm_act_fwd_infer<T>(const T*, index_t, index_t, const T*, const T*,         \
                                           const T*, const T*, T, T*, Act, T, T*);                 \
  template void batchnorm_bwd<T>(const T*, const T*, index_t, index_t, const T*, const T*,         \
                                 const T*, T*, T*, T*);
FM_BATCHNORM_INSTANTIATE(float)
FM_BATCHNORM_INSTANTIATE(double)
#undef FM_BATCHNORM_INSTANTIATE

}  // namespace fm
