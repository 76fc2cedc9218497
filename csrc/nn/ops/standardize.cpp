// Standardize: y = (x - mean) / std with a fixed mean and std (buffers set from the training
// data by Python before the first fit). A leading one is applied while the input batch is
// gathered (Network::gather_input), in place on the gathered copy.
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// mean (0) and std (1) in the buffer arena.
void plan(PlanBuilder& b, const LayerSpec&) {
  Op op = b.new_op(OpKind::standardize);
  op.mean = b.add_param(false, b.width, 0);
  op.stdev = b.add_param(false, b.width, 0, 1.0);
  op.in_place = b.plan.ops.empty();  // leading: gather_input standardizes its copy
  b.push_elementwise(op);
  b.owner_reads = Reads::nothing;
}

// y (n, c) = (x (n, c) - mean) / std; a leading one already ran in gather_input.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  if (!a.first)
    standardize_rows(a.x, op.in, a.n, op.in, a.arenas.buffers + op.mean,
                     a.arenas.buffers + op.stdev, a.b.y);
}

// dX (n, c) = dY / std, in place in g.
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  const T* sd = a.arenas.buffers + op.stdev;
  T* g = a.g;
  for (index_t r = 0; r < a.n; ++r)
    for (index_t c = 0; c < op.out; ++c) g[r * op.out + c] /= sd[c];
}

// dst (rows, c) = (x - mean) / std
template <class T>
const T* infer(const Op& op, const InferArgs<T>& a) {
  standardize_rows(a.x, op.in, a.rows, op.in, a.arenas.buffers + op.mean,
                   a.arenas.buffers + op.stdev, a.dst);
  return a.dst;
}

}  // namespace

FM_NN_DEFINE_OP(standardize, "standardize", /*infer_writes_block=*/true)

}  // namespace fm::nn
