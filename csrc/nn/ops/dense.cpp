// Dense: y = act(x · W + b), one GEMM with the bias and activation fused into its epilogue.
#include <cmath>
#include <new>
#include <type_traits>
#include <utility>

#include "common/check.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm.hpp"
#include "gemm/gemm_bf16.hpp"
#include "kernels/activation.hpp"
#include "kernels/reduce.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// C = op(A) · op(B) (+ epilogue) in the network's precision: bf16 operands with float32
// accumulation under mixed_bfloat16 (float networks only), else T throughout.
// b_packed: op(B)'s persistent bf16 copy (PackedWeights), or null.
template <class T>
void dense_gemm(bool bf16, int threads, bool ta, bool tb, index_t M, index_t N, index_t K,
                const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc,
                const Epilogue<T>& ep = {}, const std::uint32_t* b_packed = nullptr) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      gemm_bf16_prepacked(threads, ta, tb, M, N, K, A, lda, B, ldb, b_packed, 0.0f, C, ldc, ep);
      return;
    }
  }
  gemm_threads<T>(threads, ta, tb, M, N, K, A, lda, B, ldb, T(0), C, ldc, ep);
}

// dense_gemm under mixed_bfloat16 with op(A) already rounded to bf16 (x16: op 0's gathered
// input; float networks only, where the gather wrote it).
template <class T>
void dense_gemm_a16(int threads, bool ta, index_t M, index_t N, index_t K, const std::uint16_t* A,
                    index_t lda, const T* B, index_t ldb, T* C, index_t ldc,
                    const Epilogue<T>& ep = {}, const std::uint32_t* b_packed = nullptr) {
  if constexpr (std::is_same_v<T, float>) {
    gemm_bf16_prepacked_a16(threads, ta, false, M, N, K, A, lda, B, ldb, b_packed, 0.0f, C, ldc,
                            ep);
  } else {
    FM_CHECK(false, "dense: a bf16 input needs a float32 network");
  }
}

// The packed copy of op's W in the layout the arenas carry (null: none).
template <class T>
const std::uint32_t* packed_w(const Op& op, const Arenas<T>& arenas) {
  return arenas.packed ? arenas.packed->find(op.w) : nullptr;
}

// W (in, out) in the trainable arena, then b (out) unless use_bias is false. A following
// activation layer is fused into the epilogue when this layer's own activation is linear;
// softmax never is (it becomes an act op of its own).
void plan(PlanBuilder& b, const LayerSpec& L) {
  const std::size_t i = b.layer;
  FM_CHECK(L.units >= 1, "layer ", i, " (dense): 'units' must be >= 1, got ", L.units);
  if (L.units > kMaxElements / b.width) throw std::bad_alloc();  // MemoryError, no overflow
  FM_CHECK(L.l1 < 0.0 || std::isfinite(L.l1), "layer ", i, " (dense): 'l1' must be finite");
  FM_CHECK(L.l2 < 0.0 || std::isfinite(L.l2), "layer ", i, " (dense): 'l2' must be finite");
  Op op = b.new_op(OpKind::dense);
  op.in = b.width;
  op.out = L.units;
  op.l1 = L.l1;
  op.l2 = L.l2;
  op.w = b.add_param(true, b.width, L.units);
  if (L.use_bias) op.b = b.add_param(true, L.units, 0);
  const bool split_softmax = L.act == Act::softmax;  // never in a GEMM epilogue
  if (!split_softmax) {
    op.act = L.act;
    op.alpha = L.alpha;
    if (L.act == Act::linear) {
      if (const LayerSpec* next = b.take_fusable_act()) {
        op.act = next->act;
        op.alpha = next->alpha;
      }
    }
  }
  op.keep_z = act_bwd_needs_z(op.act);  // fused gelu/silu/softplus: backward reads z
  b.push(op);
  b.owner_reads = reads_of_fused_act(op.act);
  if (split_softmax) {
    Op sm = b.new_op(OpKind::act);
    sm.act = Act::softmax;
    b.push_elementwise(sm);
    b.owner_reads = Reads::values;
  }
}

// y (n, out) = act(x (n, in) · W (in, out) + b (out)); z (n, out) = the pre-activation, kept
// when act_bwd needs it.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  Epilogue<T> ep;
  ep.bias = op.b >= 0 ? a.arenas.params + op.b : nullptr;
  ep.act = op.act;
  ep.alpha = static_cast<T>(op.alpha);
  ep.z_out = op.keep_z ? a.b.z : nullptr;
  ep.ldz = op.out;
  if (a.x16) {
    dense_gemm_a16<T>(get_num_threads(), false, a.n, op.out, op.in, a.x16, op.in,
                      a.arenas.params + op.w, op.out, a.b.y, op.out, ep, packed_w(op, a.arenas));
    return;
  }
  dense_gemm<T>(a.bf16, get_num_threads(), false, false, a.n, op.out, op.in, a.x, op.in,
                a.arenas.params + op.w, op.out, a.b.y, op.out, ep, packed_w(op, a.arenas));
}

// dX (n, in) = dZ (in g) · Wᵀ into the spare buffer, which then becomes g (unless nothing
// upstream needs it).
template <class T>
void dense_dx(const Op& op, const BackwardArgs<T>& a) {
  if (!a.need_dx) return;
  dense_gemm<T>(a.bf16, get_num_threads(), false, true, a.n, op.in, op.out, a.g, op.out,
                a.arenas.params + op.w, op.out, a.spare, op.in, {}, packed_w(op, a.arenas));
  std::swap(a.g, a.spare);
}

// dZ (n, out) = dY * act'(z), in place in g; dW (in, out) = xᵀ · dZ; db (out) = colsum(dZ);
// dX (n, in) = dZ · Wᵀ into the spare buffer, which then becomes g. Under mixed_bfloat16 with
// packed weights (AVX512_BF16) the first three are one pass and the dW product.
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  const index_t n = a.n;
  T* g = a.g;
  if constexpr (std::is_same_v<T, float>) {
    if (a.dz16 && gemm_bf16_grad_pack_supported(op.act)) {
      // One pass makes dZ (in g, where dX needs it), db and dZ's packed copy for dW: the same
      // bits as act_bwd, colsum and the product's own packing.
      Bf16GradPack job{};
      job.n = n;
      job.cols = op.out;
      job.dy = g;
      job.y = a.b.y;
      job.act = op.act;
      job.alpha = static_cast<float>(op.alpha);
      job.dz = a.need_dx ? g : nullptr;  // the first layer's dZ is only ever read packed
      job.colsum = op.b >= 0 ? a.arenas.grads + op.b : nullptr;
      job.packed = a.dz16;
      gemm_bf16_grad_pack(get_num_threads(), job);
      float* dw = a.arenas.grads + op.w;
      if (a.x16)
        gemm_bf16_prepacked_a16(get_num_threads(), true, false, op.in, op.out, n, a.x16, op.in, g,
                                op.out, a.dz16, 0.0f, dw, op.out);
      else
        gemm_bf16_prepacked(get_num_threads(), true, false, op.in, op.out, n, a.x, op.in, g, op.out,
                            a.dz16, 0.0f, dw, op.out);
      dense_dx(op, a);
      return;
    }
  }
  if (op.act != Act::linear)
    act_bwd<T>(op.act, static_cast<T>(op.alpha), a.b.z, a.b.y, g, g, n * op.out);
  if (a.x16)
    dense_gemm_a16<T>(get_num_threads(), true, op.in, op.out, n, a.x16, op.in, g, op.out,
                      a.arenas.grads + op.w, op.out);
  else
    dense_gemm<T>(a.bf16, get_num_threads(), true, false, op.in, op.out, n, a.x, op.in, g, op.out,
                  a.arenas.grads + op.w, op.out);
  if (op.b >= 0) colsum<T>(g, n, op.out, op.out, a.arenas.grads + op.b, false);
  dense_dx(op, a);
}

// dst (rows, out) = act(x (rows, in) · W + b); the GEMM picks its few-row path itself.
template <class T>
const T* infer(const Op& op, const InferArgs<T>& a) {
  Epilogue<T> ep;
  ep.bias = op.b >= 0 ? a.arenas.params + op.b : nullptr;
  ep.act = op.act;
  ep.alpha = static_cast<T>(op.alpha);
  dense_gemm<T>(a.bf16, a.threads, false, false, a.rows, op.out, op.in, a.x, op.in,
                a.arenas.params + op.w, op.out, a.dst, op.out, ep, packed_w(op, a.arenas));
  return a.dst;
}

}  // namespace

FM_NN_DEFINE_OP(dense, "dense", /*infer_writes_block=*/true)

}  // namespace fm::nn
