// GEMM dispatcher (compiled once, no ISA flags): checks every argument before any memory is
// touched, then runs the per-ISA table picked at run time (FM_SELECT_ISA).
#include <exception>
#include <mutex>

#include "common/check.hpp"
#include "common/isa.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm.hpp"
#include "gemm/gemm_dispatch.hpp"
#include "gemm/ukernel.hpp"

namespace fm {

FM_DECLARE_PER_ISA(const GemmTable<float>& gemm_table_f32());
FM_DECLARE_PER_ISA(const GemmTable<double>& gemm_table_f64());
FM_DECLARE_PER_ISA(double fma_peak_gflops(int threads, double seconds));
namespace generic {
template <class T>
void gemm_ref_run(const GemmArgs<T>& g);
}

namespace {

template <class T>
const GemmTable<T>& table();
template <>
const GemmTable<float>& table<float>() {
  static const GemmTable<float>& t = FM_SELECT_ISA(gemm_table_f32)();
  return t;
}
template <>
const GemmTable<double>& table<double>() {
  static const GemmTable<double>& t = FM_SELECT_ISA(gemm_table_f64)();
  return t;
}

// Few rows times a large B (predict on a few samples): the one-row and few-row paths stream B
// once, unpacked, so its columns are split over the threads, each streaming its part from
// its own cache (1 x 784 x 256 f32 on 2 threads: ~7.4 us against ~10 us on one). Parts start
// on multiples of NR (the epilogue's segments), and every column is computed the same way
// whatever the split. threads_for() keeps these shapes on one thread otherwise (their FLOPs
// are few).
// Columns a thread takes at least: 64 rounded up to NR.
template <class T>
index_t sup_split_cols(const GemmTable<T>& t) {
  return (64 + t.nr - 1) / t.nr * t.nr;
}

template <class T>
bool split_small_path(const GemmTable<T>& t, const GemmArgs<T>& g, int threads) {
  const bool small = (g.M == 1 && t.one_row) || (g.M >= 2 && g.M <= t.sup_max_m);
  return threads > 1 && small && !g.trans_b && g.K > 0 && g.N * g.K >= t.sup_split_min &&
         g.N >= 2 * sup_split_cols(t);
}

template <class T>
void run_small_path_split(const GemmTable<T>& t, const GemmArgs<T>& g, int threads) {
  const index_t cols = sup_split_cols(t);
  const index_t parts = (g.N + cols - 1) / cols;
  std::exception_ptr err;
  std::mutex mu;
  parallel_for(parts, 1, threads, [&](index_t p0, index_t p1) {
    const index_t j0 = p0 * cols, j1 = p1 * cols < g.N ? p1 * cols : g.N;
    Epilogue<T> ep = *g.ep;
    if (ep.bias) ep.bias += j0;
    if (ep.z_out) ep.z_out += j0;
    GemmArgs<T> part = g;
    part.N = j1 - j0;
    part.B = g.B + j0;
    part.C = g.C + j0;
    part.ep = &ep;
    try {
      t.run(part, 1);
    } catch (...) {  // never let an exception leave the parallel region
      std::lock_guard<std::mutex> lock(mu);
      if (!err) err = std::current_exception();
    }
  });
  if (err) std::rethrow_exception(err);
}

}  // namespace

template <class T>
GemmArgs<T> gemm_checked_args(bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                              const T* A, index_t lda, const T* B, index_t ldb, T beta, T* C,
                              index_t ldc, const Epilogue<T>& ep) {
  FM_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: sizes must be >= 0, got M=", M, " N=", N, " K=", K);
  // op(A) is M x K: A is stored K x M when transposed; the same for B (K x N).
  const index_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const index_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  FM_CHECK(lda >= 0 && (a_rows <= 1 || lda >= a_cols), "gemm: lda=", lda, " is less than the ",
           a_cols, " columns of A");
  FM_CHECK(ldb >= 0 && (b_rows <= 1 || ldb >= b_cols), "gemm: ldb=", ldb, " is less than the ",
           b_cols, " columns of B");
  FM_CHECK(ldc >= 0 && (M <= 1 || ldc >= N), "gemm: ldc=", ldc, " is less than N=", N);
  FM_CHECK(beta == T(0) || beta == T(1), "gemm: beta must be 0 or 1");
  FM_CHECK(M * K == 0 || A != nullptr, "gemm: A is null");
  FM_CHECK(K * N == 0 || B != nullptr, "gemm: B is null");
  FM_CHECK(M * N == 0 || C != nullptr, "gemm: C is null");
  const int act = static_cast<int>(ep.act);
  FM_CHECK(act >= static_cast<int>(Act::linear) && act <= static_cast<int>(Act::softmax),
           "gemm: unknown activation code ", act);
  FM_CHECK(ep.act != Act::softmax, "gemm: softmax cannot be fused into a GEMM epilogue");
  if (ep.z_out) FM_CHECK(M <= 1 || ep.ldz >= N, "gemm: ldz=", ep.ldz, " is less than N=", N);
  return GemmArgs<T>{trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, &ep};
}

template <class T>
void gemm_threads(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                  const T* A, index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc,
                  const Epilogue<T>& ep) {
  FM_CHECK(threads >= 1, "gemm: threads must be >= 1, got ", threads);
  GemmArgs<T> g = gemm_checked_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
  const GemmTable<T>& t = table<T>();
  if (split_small_path(t, g, threads)) {
    run_small_path_split(t, g, threads);
    return;
  }
  t.run(g, t.threads_for(M, N, K, threads));
}

template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc, const Epilogue<T>& ep) {
  gemm_threads(get_num_threads(), trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
}

template <class T>
void gemm_ref(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda,
              const T* B, index_t ldb, T beta, T* C, index_t ldc, const Epilogue<T>& ep) {
  GemmArgs<T> g = gemm_checked_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
  generic::gemm_ref_run(g);
}

template <class T>
GemmInfo gemm_info() {
  const GemmTable<T>& t = table<T>();
  return GemmInfo{t.isa, t.ukr_name, t.mr,      t.nr,        t.mc,
                  t.kc,  t.nc,       t.one_row, t.sup_max_m, t.sup_split_min};
}

double fp32_peak_gflops(int threads, double seconds) {
  FM_CHECK(threads >= 1 && threads <= 64, "threads must be in [1, 64], got ", threads);
  return FM_SELECT_ISA(fma_peak_gflops)(threads, seconds);
}

template <class T>
int gemm_threads_for(index_t M, index_t N, index_t K, int cap) {
  return table<T>().threads_for(M, N, K, cap < 1 ? 1 : cap);
}

#define FM_GEMM_INSTANTIATE(T)                                                                  \
  template void gemm<T>(bool, bool, index_t, index_t, index_t, const T*, index_t, const T*,     \
                        index_t, T, T*, index_t, const Epilogue<T>&);                           \
  template void gemm_threads<T>(int, bool, bool, index_t, index_t, index_t, const T*, index_t,  \
                                const T*, index_t, T, T*, index_t, const Epilogue<T>&);         \
  template void gemm_ref<T>(bool, bool, index_t, index_t, index_t, const T*, index_t, const T*, \
                            index_t, T, T*, index_t, const Epilogue<T>&);                       \
  template GemmArgs<T> gemm_checked_args<T>(bool, bool, index_t, index_t, index_t, const T*,    \
                                            index_t, const T*, index_t, T, T*, index_t,         \
                                            const Epilogue<T>&);                                \
  template GemmInfo gemm_info<T>();                                                             \
  template int gemm_threads_for<T>(index_t, index_t, index_t, int);
FM_GEMM_INSTANTIATE(float)
FM_GEMM_INSTANTIATE(double)
#undef FM_GEMM_INSTANTIATE

}  // namespace fm
