// Per-ISA BatchNorm1d over the rows of an (n, c) block (PyTorch semantics, see batchnorm.hpp).
// Parallel over column blocks only; each column's statistics are summed over rows in order,
// in double (also for float32 data), so results never depend on the thread count.
#include <cmath>

#include "common/act_math.hpp"
#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

namespace {

constexpr index_t kColBlock = 64;  // columns a thread owns at a time (stack accumulators)

template <class F>
inline void for_column_blocks(index_t n, index_t c, F&& f) {
  index_t nblocks = (c + kColBlock - 1) / kColBlock;
  index_t work = n * kColBlock;
  index_t grain = work >= kGrainCheap ? 1 : (kGrainCheap + work - 1) / work;
  parallel_for(nblocks, grain, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) {
      index_t c0 = b * kColBlock;
      f(c0, c - c0 < kColBlock ? c - c0 : kColBlock);
    }
  });
}

// y = act(x * a + s) per column (the affine form PyTorch's CPU kernel uses: a = gamma * invstd,
// s = beta - mean * a); z (nullable) keeps x * a + s. The activation runs on each row segment
// while it is in L1, with the shared act_math loop (same bits as a separate act_fwd pass).
template <class T>
inline void affine_rows(const T* x, T* y, index_t n, index_t c, index_t c0, index_t nc, const T* a,
                        const T* s, Act act, T alpha, T* z) {
  for (index_t i = 0; i < n; ++i) {
    const T* xr = x + i * c + c0;
    T* yr = y + i * c + c0;
    T* out = z ? z + i * c + c0 : yr;
    for (index_t j = 0; j < nc; ++j) out[j] = xr[j] * a[j] + s[j];
    if (act != Act::linear)
      act_fwd_loop(act, alpha, out, yr, nc);
    else if (z)
      for (index_t j = 0; j < nc; ++j) yr[j] = out[j];
  }
}

}  // namespace

template <class T>
void batchnorm_act_fwd_train(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                             T momentum, bool update_running, bool unbiased_var, T* running_mean,
                             T* running_var, T* y, T* save_mean, T* save_invstd, Act act, T alpha,
                             T* z_out) {
  // x, y: (n, c); gamma, beta, running_*, save_*: (c,)
  const double mom = static_cast<double>(momentum);
  for_column_blocks(n, c, [&](index_t c0, index_t nc) {
    double sum[kColBlock] = {}, sq[kColBlock] = {};
    for (index_t i = 0; i < n; ++i) {
      const T* xr = x + i * c + c0;
      for (index_t j = 0; j < nc; ++j) sum[j] += static_cast<double>(xr[j]);
    }
    double mean[kColBlock];
    for (index_t j = 0; j < nc; ++j) mean[j] = sum[j] / static_cast<double>(n);
    for (index_t i = 0; i < n; ++i) {  // two-pass variance: no cancellation
      const T* xr = x + i * c + c0;
      for (index_t j = 0; j < nc; ++j) {
        double d = static_cast<double>(xr[j]) - mean[j];
        sq[j] += d * d;
      }
    }
    T a[kColBlock], s[kColBlock];
    for (index_t j = 0; j < nc; ++j) {
      index_t col = c0 + j;
      double var = sq[j] / static_cast<double>(n);
      double invstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
      save_mean[col] = static_cast<T>(mean[j]);
      save_invstd[col] = static_cast<T>(invstd);
      double g = gamma ? static_cast<double>(gamma[col]) : 1.0;
      double b = beta ? static_cast<double>(beta[col]) : 0.0;
      a[j] = static_cast<T>(g * invstd);
      s[j] = static_cast<T>(b - mean[j] * g * invstd);
      if (update_running) {
        running_mean[col] =
            static_cast<T>(mom * mean[j] + (1.0 - mom) * static_cast<double>(running_mean[col]));
        if (n > 1 || !unbiased_var) {  // the biased variance of one row is 0
          double batch_var = unbiased_var ? sq[j] / static_cast<double>(n - 1) : var;
          running_var[col] =
              static_cast<T>(mom * batch_var + (1.0 - mom) * static_cast<double>(running_var[col]));
        }
      }
    }
    affine_rows(x, y, n, c, c0, nc, a, s, act, alpha, z_out);
  });
}

template <class T>
void batchnorm_act_fwd_infer(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                             const T* running_mean, const T* running_var, T eps, T* y, Act act,
                             T alpha, T* z_out) {
  // x, y: (n, c); the rest (c,)
  for_column_blocks(n, c, [&](index_t c0, index_t nc) {
    T a[kColBlock], s[kColBlock];
    for (index_t j = 0; j < nc; ++j) {
      index_t col = c0 + j;
      double invstd =
          1.0 / std::sqrt(static_cast<double>(running_var[col]) + static_cast<double>(eps));
      double g = gamma ? static_cast<double>(gamma[col]) : 1.0;
      double b = beta ? static_cast<double>(beta[col]) : 0.0;
      a[j] = static_cast<T>(g * invstd);
      s[j] = static_cast<T>(b - static_cast<double>(running_mean[col]) * g * invstd);
    }
    affine_rows(x, y, n, c, c0, nc, a, s, act, alpha, z_out);
  });
}

template <class T>
void batchnorm_bwd(const T* x, const T* dy, index_t n, index_t c, const T* gamma,
                   const T* save_mean, const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  // x, dy, dx: (n, c); the rest (c,). PyTorch's training-mode backward:
  //   dbeta = sum dy, dot = sum (x - mean) dy, dgamma = dot * invstd,
  //   dx = (dy - dbeta/n - (x - mean) * dot * invstd^2 / n) * invstd * gamma
  for_column_blocks(n, c, [&](index_t c0, index_t nc) {
    double sdy[kColBlock] = {}, dot[kColBlock] = {}, mean[kColBlock];
    for (index_t j = 0; j < nc; ++j) mean[j] = static_cast<double>(save_mean[c0 + j]);
    for (index_t i = 0; i < n; ++i) {
      const T* xr = x + i * c + c0;
      const T* gr = dy + i * c + c0;
      for (index_t j = 0; j < nc; ++j) {
        double g = static_cast<double>(gr[j]);
        sdy[j] += g;
        dot[j] += (static_cast<double>(xr[j]) - mean[j]) * g;
      }
    }
    double k[kColBlock], gm[kColBlock], scale[kColBlock];
    for (index_t j = 0; j < nc; ++j) {
      index_t col = c0 + j;
      double invstd = static_cast<double>(save_invstd[col]);
      if (dbeta) dbeta[col] = static_cast<T>(sdy[j]);
      if (dgamma) dgamma[col] = static_cast<T>(dot[j] * invstd);
      k[j] = dot[j] * invstd * invstd / static_cast<double>(n);
      gm[j] = sdy[j] / static_cast<double>(n);
      scale[j] = invstd * (gamma ? static_cast<double>(gamma[col]) : 1.0);
    }
    if (!dx) return;
    for (index_t i = 0; i < n; ++i) {
      const T* xr = x + i * c + c0;
      const T* gr = dy + i * c + c0;
      T* dr = dx + i * c + c0;
      for (index_t j = 0; j < nc; ++j) {
        double v =
            (static_cast<double>(gr[j]) - gm[j] - (static_cast<double>(xr[j]) - mean[j]) * k[j]) *
            scale[j];
        dr[j] = static_cast<T>(v);
      }
    }
  });
}

// The table batchnorm.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(BatchnormKernels, batchnorm_kernels, batchnorm_act_fwd_train<T>,
                       batchnorm_act_fwd_infer<T>, batchnorm_bwd<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
