#pragma once
// Helpers shared by the per-ISA kernel sources (include only from fm_isa_objects sources):
// thread grains, a deterministic blocked sum, and row reductions over the simd layer.
#include <cstdint>

#include "common/parallel.hpp"
#include "common/simd_math.hpp"
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

// Minimum items a thread takes: below this, a parallel region (fork/join, and on a busy
// machine the wait for a descheduled thread) costs more than it saves. ~10-30 us of work.
inline constexpr index_t kGrainCheap = 65536;  // memory-bound element-wise ops
inline constexpr index_t kGrainMath = 16384;   // exp/erf-heavy element-wise ops

// Sums f(b, e, &count) -> double over the fixed blocks [b, e) of `block` items of [0, n).
// Blocks run in parallel; their partial sums (and counts) are added in block order, so the
// result depends only on (n, block), never on the thread count. item_cost: elements an item
// stands for (a row of k values: k), only to size the thread grain.
template <class F>
inline double blocked_sum(index_t n, index_t block, F&& f, index_t* count = nullptr,
                          index_t item_cost = 1) {
  constexpr index_t kGroup = 256;  // partials kept on the stack, one group at a time
  double part[kGroup];
  index_t cnt[kGroup];
  double total = 0.0;
  index_t total_count = 0;
  index_t nblocks = (n + block - 1) / block;
  for (index_t g0 = 0; g0 < nblocks; g0 += kGroup) {
    index_t gn = nblocks - g0 < kGroup ? nblocks - g0 : kGroup;
    index_t block_cost = block * (item_cost > 1 ? item_cost : 1);
    index_t grain = block_cost >= kGrainMath ? 1 : (kGrainMath + block_cost - 1) / block_cost;
    parallel_for(gn, grain, [&](index_t b0, index_t b1) {
      for (index_t b = b0; b < b1; ++b) {
        index_t lo = (g0 + b) * block, hi = lo + block < n ? lo + block : n;
        cnt[b] = 0;
        part[b] = f(lo, hi, &cnt[b]);
      }
    });
    for (index_t b = 0; b < gn; ++b) {
      total += part[b];
      total_count += cnt[b];
    }
  }
  if (count) *count = total_count;
  return total;
}

// max over x[0, k); -inf for k == 0. NaN anywhere may or may not propagate (callers' exp
// of x - max then yields NaN anyway).
template <class T>
inline T row_max(const T* x, index_t k) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V ninf = vset1(-std::numeric_limits<T>::infinity());
  V m = ninf;
  index_t j = 0;
  for (; j + W <= k; j += W) m = vmax(m, vloadu(x + j));
  if (j < k) m = vmax(m, vselect(vlanes_lt<T>(k - j), vload_tail(x + j, k - j), ninf));
  return vreduce_max(m);
}

// e[j] = exp(x[j] - m) (stored when e is non-null; e may alias x); returns sum_j e[j].
template <class T>
inline T row_exp_sum(const T* x, T m, T* e, index_t k) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V vm = vset1(m);
  V s = vzero<T>();
  index_t j = 0;
  for (; j + W <= k; j += W) {
    V v = vexp(vsub(vloadu(x + j), vm));
    if (e) vstoreu(e + j, v);
    s = vadd(s, v);
  }
  if (j < k) {
    index_t r = k - j;
    V v = vexp(vsub(vload_tail(x + j, r), vm));
    if (e) vstore_tail(e + j, v, r);
    s = vadd(s, vselect(vlanes_lt<T>(r), v, vzero<T>()));
  }
  return vreduce_add(s);
}

// sum_j a[j] * b[j]
template <class T>
inline T row_dot(const T* a, const T* b, index_t k) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  V s = vzero<T>();
  index_t j = 0;
  for (; j + W <= k; j += W) s = vfma(vloadu(a + j), vloadu(b + j), s);
  if (j < k) s = vfma(vload_tail(a + j, k - j), vload_tail(b + j, k - j), s);  // zero lanes add 0
  return vreduce_add(s);
}

// x[j] *= a for j < k.
template <class T>
inline void row_scale(T* x, T a, index_t k) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V va = vset1(a);
  index_t j = 0;
  for (; j + W <= k; j += W) vstoreu(x + j, vmul(vloadu(x + j), va));
  if (j < k) vstore_tail(x + j, vmul(vload_tail(x + j, k - j), va), k - j);
}

// First index of the maximum (NaN-free rows); 0 for k == 0.
template <class T>
inline index_t row_argmax(const T* x, index_t k) {
  index_t best = 0;
  for (index_t j = 1; j < k; ++j)
    if (x[j] > x[best]) best = j;
  return best;
}

}  // namespace FM_ISA_NS
}  // namespace fm
