// Per-ISA losses with the output link fused (softmax / sigmoid). Sums use blocked_sum: fixed
// blocks in a fixed order, so the loss does not depend on the thread count.
#include <cmath>
#include <cstdint>

#include "common/act_math.hpp"
#include "kernels/kernel_tables.hpp"
#include "kernels/kernel_util.hpp"

namespace fm {
namespace FM_ISA_NS {

namespace {
constexpr index_t kRowBlock = 64;     // rows per partial sum (row-wise losses)
constexpr index_t kElemBlock = 4096;  // elements per partial sum (element-wise losses)
// A row's fixed cost in elements (reductions across the vector, a log in double): priced at k
// alone, 1024 rows of 10 classes made one chunk, 40 us of a training step on one thread while
// the others waited (28-34 us on two).
constexpr index_t kRowCost = 48;

inline int popcount(unsigned v) { return __builtin_popcount(v); }

// g[j] = g[j] * a - b * t[j]   (turns exp values into the softmax gradient)
template <class T>
inline void scale_sub(T* g, const T* t, T a, T b, index_t k) {
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V va = vset1(a), vb = vset1(b);
  index_t j = 0;
  for (; j + W <= k; j += W) vstoreu(g + j, vfnma(vb, vloadu(t + j), vmul(vloadu(g + j), va)));
  if (j < k) {
    index_t r = k - j;
    vstore_tail(g + j, vfnma(vb, vload_tail(t + j, r), vmul(vload_tail(g + j, r), va)), r);
  }
}
}  // namespace

template <class T>
double softmax_xent_labels(const T* logits, const std::int32_t* labels, index_t n, index_t k,
                           T grad_scale, T* grad, index_t* correct) {  // logits, grad: (n, k)
  return blocked_sum(
      n, kRowBlock,
      [&](index_t r0, index_t r1, index_t* cnt) {
        double sum = 0.0;
        for (index_t r = r0; r < r1; ++r) {
          const T* x = logits + r * k;
          T* g = grad ? grad + r * k : nullptr;
          index_t y = labels[r];
          // Everything read from x before the exp pass, which may overwrite it (grad == logits).
          T m = row_max(x, k);
          T xy_m = x[y] - m;
          if (correct && row_argmax(x, k) == y) ++*cnt;
          T s = row_exp_sum(x, m, g, k);
          // loss = logsumexp(x) - x[y] = log(s) - (x[y] - m)
          sum += std::log(static_cast<double>(s)) - static_cast<double>(xy_m);
          if (g) {
            row_scale(g, grad_scale / s, k);  // g = softmax * scale, then g[y] -= scale
            g[y] -= grad_scale;
          }
        }
        return sum;
      },
      correct, k + kRowCost);
}

template <class T>
double softmax_xent_probs(const T* logits, const T* target, index_t n, index_t k, T grad_scale,
                          T* grad, index_t* correct) {  // logits, target, grad: (n, k)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  return blocked_sum(
      n, kRowBlock,
      [&](index_t r0, index_t r1, index_t* cnt) {
        double sum = 0.0;
        for (index_t r = r0; r < r1; ++r) {
          const T* x = logits + r * k;
          const T* t = target + r * k;
          T* g = grad ? grad + r * k : nullptr;
          T m = row_max(x, k);
          if (correct && row_argmax(x, k) == row_argmax(t, k))
            ++*cnt;  // before x may be overwritten
          // One pass: e = exp(x - m) (stored to g, which may alias x), s = sum e,
          // tx = sum t (x - m) <= 0, ts = sum t. Then loss = -sum t log_softmax = ts log(s) - tx,
          // a sum of non-negative terms (no cancellation) for t >= 0.
          const V vm = vset1(m);
          V es = vzero<T>(), tx = vzero<T>(), tsum = vzero<T>();
          index_t j = 0;
          for (; j + W <= k; j += W) {
            V d = vsub(vloadu(x + j), vm), tv = vloadu(t + j), e = vexp(d);
            if (g) vstoreu(g + j, e);
            es = vadd(es, e);
            tx = vfma(tv, d, tx);
            tsum = vadd(tsum, tv);
          }
          if (j < k) {
            index_t rr = k - j;
            V d = vsub(vload_tail(x + j, rr), vm), tv = vload_tail(t + j, rr), e = vexp(d);
            if (g) vstore_tail(g + j, e, rr);
            es = vadd(es, vselect(vlanes_lt<T>(rr), e, vzero<T>()));
            tx = vfma(tv, d, tx);  // zero lanes of t contribute 0
            tsum = vadd(tsum, tv);
          }
          T s = vreduce_add(es), ts = vreduce_add(tsum);
          sum += static_cast<double>(ts) * std::log(static_cast<double>(s)) -
                 static_cast<double>(vreduce_add(tx));
          if (g) {
            // d/dx_j = softmax_j * sum(t) - t_j
            scale_sub(g, t, grad_scale * ts / s, grad_scale, k);
          }
        }
        return sum;
      },
      correct, k + kRowCost);
}

template <class T>
double sigmoid_bce(const T* logits, const T* target, index_t n, index_t k, T grad_scale, T* grad,
                   index_t* correct) {  // all (n, k), element-wise
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V zero = vzero<T>(), half = vset1(T(0.5)), vscale = vset1(grad_scale);
  // loss = max(x, 0) - x t + log1p(exp(-|x|)); grad = (sigmoid(x) - t) * scale
  auto lanes = [&](V x, V t, V* g) {
    V e = vexp(vsub(zero, vabs(x)));
    V l = vadd(vfnma(x, t, vmax(zero, x)), vlog1p(e));
    if (g) {
      V s = vdiv(vset1(T(1)), vadd(vset1(T(1)), e));
      s = vselect(vge(x, zero), s, vmul(e, s));
      *g = vmul(vsub(s, t), vscale);
    }
    return l;
  };
  return blocked_sum(
      n * k, kElemBlock,
      [&](index_t b, index_t e, index_t* cnt) {
        V acc = zero;
        index_t c = 0;
        index_t i = b;
        for (; i + W <= e; i += W) {
          V x = vloadu(logits + i), t = vloadu(target + i), g;
          acc = vadd(acc, lanes(x, t, grad ? &g : nullptr));
          if (grad) vstoreu(grad + i, g);
          if (correct)
            c +=
                popcount(~(vmask_bits(vge(x, zero)) ^ vmask_bits(vge(t, half))) & ((1u << W) - 1u));
        }
        if (i < e) {
          index_t r = e - i;
          auto live = vlanes_lt<T>(r);
          V x = vload_tail(logits + i, r), t = vload_tail(target + i, r), g;
          acc = vadd(acc, vselect(live, lanes(x, t, grad ? &g : nullptr), zero));
          if (grad) vstore_tail(grad + i, g, r);
          if (correct)
            c +=
                popcount(~(vmask_bits(vge(x, zero)) ^ vmask_bits(vge(t, half))) & ((1u << r) - 1u));
        }
        *cnt = c;
        return static_cast<double>(vreduce_add(acc));
      },
      correct);
}

template <class T>
double mse(const T* pred, const T* target, index_t count, T grad_scale, T* grad) {  // (count,)
  using V = vec_t<T>;
  constexpr int W = kVecWidth<T>;
  const V two_scale = vset1(T(2) * grad_scale);
  return blocked_sum(count, kElemBlock, [&](index_t b, index_t e, index_t*) {
    V acc = vzero<T>();
    index_t i = b;
    for (; i + W <= e; i += W) {
      V d = vsub(vloadu(pred + i), vloadu(target + i));
      acc = vfma(d, d, acc);
      if (grad) vstoreu(grad + i, vmul(d, two_scale));
    }
    if (i < e) {
      index_t r = e - i;
      V d = vsub(vload_tail(pred + i, r), vload_tail(target + i, r));  // zero lanes: d = 0
      acc = vfma(d, d, acc);
      if (grad) vstore_tail(grad + i, vmul(d, two_scale), r);
    }
    return static_cast<double>(vreduce_add(acc));
  });
}

// Absolute error (torch's l1_loss): sum |d|, grad sign(d) * scale (0 where d == 0, as torch).
template <class T>
double mae(const T* pred, const T* target, index_t count, T grad_scale, T* grad) {  // (count,)
  return blocked_sum(count, kElemBlock, [&](index_t b, index_t e, index_t*) {
    T acc = T(0);
    for (index_t i = b; i < e; ++i) {
      const T d = pred[i] - target[i];
      acc += std::fabs(d);
      if (grad) grad[i] = d > T(0) ? grad_scale : (d < T(0) ? -grad_scale : T(0));
    }
    return static_cast<double>(acc);
  });
}

// Huber (torch's huber_loss, Keras' Huber): 0.5 d^2 where |d| <= delta, else
// delta (|d| - 0.5 delta); grad d clipped to [-delta, delta], times scale.
template <class T>
double huber(const T* pred, const T* target, index_t count, T delta, T grad_scale,
             T* grad) {  // (count,)
  const T half_delta = T(0.5) * delta;
  return blocked_sum(count, kElemBlock, [&](index_t b, index_t e, index_t*) {
    T acc = T(0);
    for (index_t i = b; i < e; ++i) {
      const T d = pred[i] - target[i];
      const T a = std::fabs(d);
      acc += a <= delta ? T(0.5) * d * d : delta * (a - half_delta);
      if (grad) grad[i] = (d > delta ? delta : (d < -delta ? -delta : d)) * grad_scale;
    }
    return static_cast<double>(acc);
  });
}

// Poisson NLL on the log rate (torch's poisson_nll_loss, log_input=True, full=False):
// exp(z) - y z; grad (exp(z) - y) times scale.
template <class T>
double poisson(const T* z, const T* y, index_t count, T grad_scale, T* grad) {  // (count,)
  return blocked_sum(count, kElemBlock, [&](index_t b, index_t e, index_t*) {
    T acc = T(0);
    for (index_t i = b; i < e; ++i) {
      const T rate = std::exp(z[i]);
      acc += rate - y[i] * z[i];
      if (grad) grad[i] = (rate - y[i]) * grad_scale;
    }
    return static_cast<double>(acc);
  });
}

template <class T>
void exp_link(const T* x, T* y, index_t n) {  // (n,)
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) y[i] = std::exp(x[i]);
  });
}

template <class T>
void sigmoid_link(const T* x, T* y, index_t n) {  // (n,)
  parallel_for(n, kGrainMath, [&](index_t b, index_t e) {
    map_unary(x + b, y + b, e - b, [](vec_t<T> v) { return op_sigmoid(v); });
  });
}

// The table loss.cpp picks at run time.
FM_DEFINE_KERNEL_TABLE(LossKernels, loss_kernels, softmax_xent_labels<T>, softmax_xent_probs<T>,
                       sigmoid_bce<T>, mse<T>, mae<T>, huber<T>, poisson<T>, sigmoid_link<T>,
                       exp_link<T>)

}  // namespace FM_ISA_NS
}  // namespace fm
