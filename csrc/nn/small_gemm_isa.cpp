// Per-ISA body of small_gemm (see small_gemm.hpp). No STL here (common/isa.hpp).
#include "common/simd.hpp"

namespace fm {
namespace FM_ISA_NS {

namespace {

// R rows (1..4) of y, columns [j0, j0 + cols) with cols <= 4 vectors; accumulators stay in
// registers while W's rows stream by.
template <class T, int R>
inline void rows_block(index_t n, index_t k, const T* x, const T* W, const T* b, T* y, index_t j0,
                       index_t cols) {
  // n: leading dimension of W and y; columns [j0, j0 + cols) are computed.
  constexpr int VW = kVecWidth<T>;
  const int nv = static_cast<int>((cols + VW - 1) / VW);
  const index_t tail = cols - static_cast<index_t>(nv - 1) * VW;  // lanes in the last vector
  vec_t<T> acc[R][4];
  for (int v = 0; v < 4; ++v) {
    vec_t<T> init = vset1(T(0));
    if (b && v < nv) init = v + 1 < nv || tail == VW ? vloadu(b + j0 + v * VW) : vload_tail(b + j0 + v * VW, tail);
    for (int r = 0; r < R; ++r) acc[r][v] = init;
  }
  if (nv == 4 && tail == VW) {
    for (index_t i = 0; i < k; ++i) {
      const T* w = W + i * n + j0;
      vec_t<T> w0 = vloadu(w), w1 = vloadu(w + VW), w2 = vloadu(w + 2 * VW), w3 = vloadu(w + 3 * VW);
      for (int r = 0; r < R; ++r) {
        vec_t<T> xr = vset1(x[r * k + i]);
        acc[r][0] = vfma(xr, w0, acc[r][0]);
        acc[r][1] = vfma(xr, w1, acc[r][1]);
        acc[r][2] = vfma(xr, w2, acc[r][2]);
        acc[r][3] = vfma(xr, w3, acc[r][3]);
      }
    }
  } else {
    for (index_t i = 0; i < k; ++i) {
      const T* w = W + i * n + j0;
      for (int v = 0; v < nv; ++v) {
        vec_t<T> wv = v + 1 < nv || tail == VW ? vloadu(w + v * VW) : vload_tail(w + v * VW, tail);
        for (int r = 0; r < R; ++r) acc[r][v] = vfma(vset1(x[r * k + i]), wv, acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < nv; ++v) {
      T* dst = y + r * n + j0 + v * VW;
      if (v + 1 < nv || tail == VW)
        vstoreu(dst, acc[r][v]);
      else
        vstore_tail(dst, acc[r][v], tail);
    }
}

template <class T, int R>
void rows_all(index_t n, index_t k, const T* x, const T* W, const T* b, T* y, index_t j_begin, index_t j_end) {
  constexpr index_t step = 4 * kVecWidth<T>;
  for (index_t j0 = j_begin; j0 < j_end; j0 += step) {
    index_t cols = j_end - j0 < step ? j_end - j0 : step;
    rows_block<T, R>(n, k, x, W, b, y, j0, cols);
  }
}

template <class T>
void small_gemm_impl(index_t m, index_t n, index_t k, const T* x, const T* W, const T* b, T* y, index_t j0,
                     index_t j1) {
  for (index_t r0 = 0; r0 < m; r0 += 4) {
    index_t rows = m - r0 < 4 ? m - r0 : 4;
    const T* xr = x + r0 * k;
    T* yr = y + r0 * n;
    switch (rows) {
      case 1: rows_all<T, 1>(n, k, xr, W, b, yr, j0, j1); break;
      case 2: rows_all<T, 2>(n, k, xr, W, b, yr, j0, j1); break;
      case 3: rows_all<T, 3>(n, k, xr, W, b, yr, j0, j1); break;
      default: rows_all<T, 4>(n, k, xr, W, b, yr, j0, j1); break;
    }
  }
}

}  // namespace

void small_gemm_f32(index_t m, index_t n, index_t k, const float* x, const float* W, const float* b, float* y,
                    index_t j0, index_t j1) {
  small_gemm_impl<float>(m, n, k, x, W, b, y, j0, j1);
}
void small_gemm_f64(index_t m, index_t n, index_t k, const double* x, const double* W, const double* b,
                    double* y, index_t j0, index_t j1) {
  small_gemm_impl<double>(m, n, k, x, W, b, y, j0, j1);
}

}  // namespace FM_ISA_NS
}  // namespace fm
