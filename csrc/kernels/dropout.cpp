// Dropout / noise entry points: check arguments, then call the per-ISA kernel.
#include "kernels/dropout.hpp"

#include <cmath>

#include "common/check.hpp"
#include "kernels/kernel_tables.hpp"

namespace fm {

namespace {
template <class T>
void check_rate(const char* what, T rate) {
  FM_CHECK(rate >= T(0) && rate < T(1), what, ": rate must be in [0, 1), got ",
           rate);  // NaN fails too
}
}  // namespace

template <class T>
void dropout_mask_fwd(std::uint64_t seed, std::uint64_t stream, T rate, const T* x, T* y,
                      std::uint8_t* mask, index_t n) {
  check_rate("dropout_mask_fwd", rate);
  FM_CHECK(n >= 0, "dropout_mask_fwd: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y && mask, "dropout_mask_fwd: null array");
  FM_SELECT_ISA(dropout_kernels<T>)().mask_fwd(seed, stream, rate, x, y, mask, n);
}

template <class T>
void dropout_bwd(T rate, const std::uint8_t* mask, const T* dy, T* dx, index_t n) {
  check_rate("dropout_bwd", rate);
  FM_CHECK(n >= 0, "dropout_bwd: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(mask && dy && dx, "dropout_bwd: null array");
  FM_SELECT_ISA(dropout_kernels<T>)().bwd(rate, mask, dy, dx, n);
}

template <class T>
void gaussian_noise_fwd(std::uint64_t seed, std::uint64_t stream, T stddev, const T* x, T* y,
                        index_t n) {
  FM_CHECK(stddev >= T(0) && std::isfinite(stddev),
           "gaussian_noise_fwd: stddev must be finite and >= 0, got ", stddev);
  FM_CHECK(n >= 0, "gaussian_noise_fwd: n must be >= 0, got ", n);
  if (n == 0) return;
  FM_CHECK(x && y, "gaussian_noise_fwd: null array");
  FM_SELECT_ISA(dropout_kernels<T>)().noise_fwd(seed, stream, stddev, x, y, n);
}

#define FM_DROPOUT_INSTANTIATE(T)                                                                 \
  template void dropout_mask_fwd<T>(std::uint64_t, std::uint64_t, T, const T*, T*, std::uint8_t*, \
                                    index_t);                                                     \
  template void dropout_bwd<T>(T, const std::uint8_t*, const T*, T*, index_t);                    \
  template void gaussian_noise_fwd<T>(std::uint64_t, std::uint64_t, T, const T*, T*, index_t);
FM_DROPOUT_INSTANTIATE(float)
FM_DROPOUT_INSTANTIATE(double)
#undef FM_DROPOUT_INSTANTIATE

}  // namespace fm
