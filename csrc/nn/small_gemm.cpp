// Dispatcher for small_gemm (compiled once, picks the per-ISA body).
#include "nn/small_gemm.hpp"

#include "common/isa.hpp"
#include "common/parallel.hpp"

namespace fm {
FM_DECLARE_PER_ISA(void small_gemm_f32(index_t m, index_t n, index_t k, const float* x, const float* W,
                                       const float* b, float* y, index_t j0, index_t j1))
FM_DECLARE_PER_ISA(void small_gemm_f64(index_t m, index_t n, index_t k, const double* x, const double* W,
                                       const double* b, double* y, index_t j0, index_t j1))

namespace nn {
namespace {

// Below this many weights one core streams W faster than threads can be woken.
constexpr index_t kSplitMinWeights = 1 << 16;
constexpr index_t kColBlock = 64;  // column chunk a thread takes (a multiple of every vector width)

template <class T, class Fn>
void run(Fn fn, index_t m, index_t n, index_t k, const T* x, const T* W, const T* b, T* y, int threads) {
  if (threads <= 1 || n * k < kSplitMinWeights || n < 2 * kColBlock) {
    fn(m, n, k, x, W, b, y, 0, n);
    return;
  }
  const index_t blocks = (n + kColBlock - 1) / kColBlock;
  parallel_for(blocks, 1, threads, [&](index_t b0, index_t b1) {
    index_t j1 = b1 * kColBlock < n ? b1 * kColBlock : n;
    fn(m, n, k, x, W, b, y, b0 * kColBlock, j1);
  });
}

}  // namespace

template <>
void small_gemm<float>(index_t m, index_t n, index_t k, const float* x, const float* W, const float* b, float* y,
                       int threads) {
  static const auto fn = FM_SELECT_ISA(small_gemm_f32);
  run<float>(fn, m, n, k, x, W, b, y, threads);
}
template <>
void small_gemm<double>(index_t m, index_t n, index_t k, const double* x, const double* W, const double* b,
                        double* y, int threads) {
  static const auto fn = FM_SELECT_ISA(small_gemm_f64);
  run<double>(fn, m, n, k, x, W, b, y, threads);
}

}  // namespace nn
}  // namespace fm
