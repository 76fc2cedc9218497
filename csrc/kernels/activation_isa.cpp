// Per-ISA activation kernels: element-wise forward/backward over the shared act_math loops,
// and row-wise softmax. Parallel over independent elements/rows only.
#include "common/act_math.hpp"
#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
void act_fwd(Act act, T alpha, const T* x, T* y, index_t n) {  // x, y: (n,)
  index_t grain =
      (act == Act::relu || act == Act::linear || act == Act::leaky_relu) ? kGrainCheap : kGrainMath;
  parallel_for(n, grain,
               [&](index_t b, index_t e) { act_fwd_loop(act, alpha, x + b, y + b, e - b); });
}

template <class T>
void act_bwd(Act act, T alpha, const T* z, const T* y, const T* dy, T* dz, index_t n) {  // all (n,)
  index_t grain = act_reads_z(act) ? kGrainMath : kGrainCheap;
  parallel_for(n, grain, [&](index_t b, index_t e) {
    act_bwd_loop(act, alpha, z ? z + b : nullptr, y ? y + b : nullptr, dy + b, dz + b, e - b);
  });
}

template <class T>
void softmax_fwd(const T* x, T* y, index_t rows, index_t cols) {  // x, y: (rows, cols)
  index_t grain = cols >= kGrainMath ? 1 : kGrainMath / cols;
  parallel_for(rows, grain, [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      T m = row_max(xr, cols);
      T s = row_exp_sum(xr, m, yr, cols);
      row_scale(yr, T(1) / s, cols);
    }
  });
}

template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, index_t rows, index_t cols) {  // all (rows, cols)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  index_t grain = cols >= kGrainCheap ? 1 : kGrainCheap / cols;
  parallel_for(rows, grain, [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const T* yr = y + r * cols;
      const T* gr = dy + r * cols;
      T* dr = dx + r * cols;
      const V dot = vset1(row_dot(yr, gr, cols));
      index_t j = 0;
      for (; j + W <= cols; j += W)
        vstoreu(dr + j, vmul(vloadu(yr + j), vsub(vloadu(gr + j), dot)));
      if (j < cols) {
        index_t t = cols - j;
        vstore_tail(dr + j, vmul(vload_tail(yr + j, t), vsub(vload_tail(gr + j, t), dot)), t);
      }
    }
  });
}

// The table activation.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(ActivationKernels, activation_kernels, act_fwd<T>, act_bwd<T>,
                       softmax_fwd<T>, softmax_bwd<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
