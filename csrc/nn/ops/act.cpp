// Activation layer: y = f(x) element-wise, or softmax over each row. (An activation that
// follows a Dense or BatchNorm is usually fused into that op and never becomes one of these.)
#include "kernels/activation.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// 'linear' is the identity: no op.
void plan(PlanBuilder& b, const LayerSpec& L) {
  if (L.act == Act::linear) return;
  Op op = b.new_op(OpKind::act);
  op.act = L.act;
  op.alpha = L.alpha;
  b.push_elementwise(op);
  b.owner_reads = Reads::values;
}

// y (n, c) = f(x (n, c))
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  if (op.act == Act::softmax)
    softmax_fwd<T>(a.x, a.b.y, a.n, op.out);
  else
    act_fwd<T>(op.act, static_cast<T>(op.alpha), a.x, a.b.y, a.n * op.out);
}

// dX (n, c) = dY * f'(x), in place in g (softmax: the Jacobian-vector product per row)
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  if (op.act == Act::softmax)
    softmax_bwd<T>(a.b.y, a.g, a.g, a.n, op.out);
  else
    act_bwd<T>(op.act, static_cast<T>(op.alpha), a.x, a.b.y, a.g, a.g, a.n * op.out);
}

// f(x) (rows, c), in place when the block is this pass's own scratch.
template <class T>
const T* infer(const Op& op, const InferArgs<T>& a) {
  T* y = a.x_owned ? const_cast<T*>(a.x) : a.dst;
  if (op.act == Act::softmax)
    softmax_fwd<T>(a.x, y, a.rows, op.out);
  else
    act_fwd<T>(op.act, static_cast<T>(op.alpha), a.x, y, a.rows * op.out);
  return y;
}

}  // namespace

FM_NN_DEFINE_OP(act, "activation", /*infer_writes_block=*/false)

}  // namespace fm::nn
