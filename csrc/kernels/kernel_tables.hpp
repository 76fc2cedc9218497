#pragma once
// The per-ISA kernel tables, as GemmTable is for the GEMM: each family's loops live in
// <family>_isa.cpp (compiled once per ISA, namespace fm::<isa>) and are reached through one
// table of function pointers per element type, which the entry points in <family>.cpp pick at
// run time with FM_SELECT_ISA after checking the arguments. This is the one place where the
// per-ISA signatures are written; the argument meanings are those of <family>.hpp.
#include <cstdint>

#include "common/isa.hpp"
#include "common/types.hpp"
#include "kernels/optimizer.hpp"  // the hyper-parameter structs

namespace fm {

template <class T>
struct ActivationKernels {
  void (*act_fwd)(Act act, T alpha, const T* x, T* y, index_t n);
  void (*act_bwd)(Act act, T alpha, const T* z, const T* y, const T* dy, T* dz, index_t n);
  void (*softmax_fwd)(const T* x, T* y, index_t rows, index_t cols);
  void (*softmax_bwd)(const T* y, const T* dy, T* dx, index_t rows, index_t cols);
};

template <class T>
struct BatchnormKernels {
  void (*fwd_train)(const T* x, index_t n, index_t c, const T* gamma, const T* beta, T eps,
                    T momentum, bool update_running, bool unbiased_var, T* running_mean,
                    T* running_var, T* y, T* save_mean, T* save_invstd, Act act, T alpha, T* z_out);
  void (*fwd_infer)(const T* x, index_t n, index_t c, const T* gamma, const T* beta,
                    const T* running_mean, const T* running_var, T eps, T* y, Act act, T alpha,
                    T* z_out);
  void (*bwd)(const T* x, const T* dy, index_t n, index_t c, const T* gamma, const T* save_mean,
              const T* save_invstd, T* dx, T* dgamma, T* dbeta);
};

template <class T>
struct DropoutKernels {
  void (*mask_fwd)(std::uint64_t seed, std::uint64_t stream, T rate, const T* x, T* y,
                   std::uint8_t* mask, index_t n);
  void (*bwd)(T rate, const std::uint8_t* mask, const T* dy, T* dx, index_t n);
  void (*noise_fwd)(std::uint64_t seed, std::uint64_t stream, T stddev, const T* x, T* y,
                    index_t n);
};

template <class T>
struct LossKernels {
  double (*xent_labels)(const T* logits, const std::int32_t* labels, index_t n, index_t k,
                        T grad_scale, T* grad, index_t* correct);
  double (*xent_probs)(const T* logits, const T* target, index_t n, index_t k, T grad_scale,
                       T* grad, index_t* correct);
  double (*bce)(const T* logits, const T* target, index_t n, index_t k, T grad_scale, T* grad,
                index_t* correct);
  double (*mse)(const T* pred, const T* target, index_t count, T grad_scale, T* grad);
  double (*mae)(const T* pred, const T* target, index_t count, T grad_scale, T* grad);
  double (*huber)(const T* pred, const T* target, index_t count, T delta, T grad_scale, T* grad);
  double (*poisson)(const T* log_rate, const T* target, index_t count, T grad_scale, T* grad);
  void (*sigmoid_link)(const T* x, T* y, index_t n);
  void (*exp_link)(const T* x, T* y, index_t n);
};

template <class T>
struct OptimizerKernels {
  void (*sgd)(T* p, const T* g, T* buf, index_t n, const SgdParams<T>& hp, bool first);
  void (*rmsprop)(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, index_t n,
                  const RmspropParams<T>& hp);
  void (*adam)(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
               const AdamParams<T>& hp, long long step);
};

template <class T>
struct ReduceKernels {
  void (*colsum)(const T* x, index_t rows, index_t cols, index_t ldx, T* out, bool accumulate);
  double (*l1_l2_penalty)(const T* w, index_t n, T l1, T l2, T* g);
  bool (*all_finite)(const T* x, index_t n);
};

// Defined for float and double at the end of each <family>_isa.cpp (FM_DEFINE_KERNEL_TABLE).
FM_DECLARE_PER_ISA(template <class T> const ActivationKernels<T>& activation_kernels())
FM_DECLARE_PER_ISA(template <class T> const BatchnormKernels<T>& batchnorm_kernels())
FM_DECLARE_PER_ISA(template <class T> const DropoutKernels<T>& dropout_kernels())
FM_DECLARE_PER_ISA(template <class T> const LossKernels<T>& loss_kernels())
FM_DECLARE_PER_ISA(template <class T> const OptimizerKernels<T>& optimizer_kernels())
FM_DECLARE_PER_ISA(template <class T> const ReduceKernels<T>& reduce_kernels())

// Ends a <family>_isa.cpp: getter<T>() returns this ISA's Table<T> of the kernels listed (in
// the struct's field order), instantiated for float and double. No guard variable: the table
// is constant-initialized.
#define FM_DEFINE_KERNEL_TABLE(Table, getter, ...) \
  template <class T>                               \
  const Table<T>& getter() {                       \
    static constexpr Table<T> table{__VA_ARGS__};  \
    return table;                                  \
  }                                                \
  template const Table<float>& getter<float>();    \
  template const Table<double>& getter<double>();

}  // namespace fm
