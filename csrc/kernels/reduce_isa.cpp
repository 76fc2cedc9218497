// Per-ISA reductions with a fixed summation order: column sums split over column blocks only,
// the L1/L2 penalty summed in fixed-size blocks added in order.
#include <cmath>

#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
void colsum(const T* x, index_t rows, index_t cols, index_t ldx, T* out, bool accumulate) {
  // x: (rows, cols) with leading dimension ldx; out: (cols,)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  constexpr index_t kCols = 8 * W;  // one column block: 8 registers of running sums
  index_t nblocks = (cols + kCols - 1) / kCols;
  index_t grain =
      rows * kCols >= kGrainCheap ? 1 : (kGrainCheap + rows * kCols - 1) / (rows * kCols);
  parallel_for(nblocks, grain, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) {
      index_t c0 = b * kCols, nc = cols - c0 < kCols ? cols - c0 : kCols;
      V acc[8];
      for (int v = 0; v < 8; ++v) acc[v] = vzero<T>();
      int nfull = static_cast<int>(nc / W);
      index_t tail = nc - index_t(nfull) * W;
      for (index_t i = 0; i < rows; ++i) {
        const T* xr = x + i * ldx + c0;
        for (int v = 0; v < nfull; ++v) acc[v] = vadd(acc[v], vloadu(xr + v * W));
        if (tail) acc[nfull] = vadd(acc[nfull], vload_tail(xr + nfull * W, tail));
      }
      T* o = out + c0;
      for (int v = 0; v < nfull; ++v)
        vstoreu(o + v * W, accumulate ? vadd(vloadu(o + v * W), acc[v]) : acc[v]);
      if (tail) {
        T* ot = o + nfull * W;
        vstore_tail(ot, accumulate ? vadd(vload_tail(ot, tail), acc[nfull]) : acc[nfull], tail);
      }
    }
  });
}

template <class T>
double l1_l2_penalty(const T* w, index_t n, T l1, T l2, T* g) {  // w, g: (n,)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  constexpr index_t kBlock = 4096;
  const V vl1 = vset1(l1), vl2 = vset1(l2), zero = vzero<T>(), one = vset1(T(1));
  // sign(w) with sign(0) = 0, as torch.sign
  auto sign = [&](V v) {
    return vselect(vgt(v, zero), one, vselect(vlt(v, zero), vset1(T(-1)), zero));
  };
  auto grad = [&](V v) { return vfma(vl2, v, vmul(vl1, sign(v))); };
  // One pass: each block contributes l1*sum|w| + (l2/2)*sum w^2 (block partials in order).
  double l1d = static_cast<double>(l1), l2d = static_cast<double>(l2);
  double total = blocked_sum(n, kBlock, [&](index_t b, index_t e, index_t*) {
    V a1 = zero, a2 = zero;
    index_t i = b;
    for (; i + W <= e; i += W) {
      V v = vloadu(w + i);
      a1 = vadd(a1, vabs(v));
      a2 = vfma(v, v, a2);
      if (g) vstoreu(g + i, vadd(vloadu(g + i), grad(v)));
    }
    if (i < e) {
      index_t r = e - i;
      V v = vload_tail(w + i, r);  // zero lanes add 0
      a1 = vadd(a1, vabs(v));
      a2 = vfma(v, v, a2);
      if (g) vstore_tail(g + i, vadd(vload_tail(g + i, r), grad(v)), r);
    }
    return l1d * static_cast<double>(vreduce_add(a1)) +
           0.5 * l2d * static_cast<double>(vreduce_add(a2));
  });
  return total;
}

template <class T>
bool all_finite(const T* x, index_t n) {  // (n,)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  // x - x is 0 for finite x and NaN for inf/NaN; accumulate and test once per chunk.
  constexpr index_t kChunk = 1024;
  for (index_t b = 0; b < n; b += kChunk) {
    index_t e = b + kChunk < n ? b + kChunk : n;
    V acc = vzero<T>();
    index_t i = b;
    for (; i + W <= e; i += W) {
      V v = vloadu(x + i);
      acc = vadd(acc, vsub(v, v));
    }
    if (i < e) {
      V v = vload_tail(x + i, e - i);
      acc = vadd(acc, vsub(v, v));
    }
    if (vmask_bits(visnan(acc))) return false;
  }
  return true;
}

// The table reduce.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(ReduceKernels, reduce_kernels, colsum<T>, l1_l2_penalty<T>, all_finite<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
