// Dropout: y = keep ? x / (1 - rate) : 0 in training (inverted dropout), the identity in
// inference. Masks come from Philox streams keyed by (layer, step, purpose).
#include "kernels/dropout.hpp"

#include <cmath>

#include "common/check.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// rate 0 is the identity: no op. In place unless the producer's backward reads its output's
// values: zeroing and positive scaling keep relu/leaky_relu's sign test valid (dropped units
// get a zero gradient anyway).
void plan(PlanBuilder& b, const LayerSpec& L) {
  FM_CHECK(std::isfinite(L.rate) && L.rate >= 0.0 && L.rate < 1.0, "layer ", b.layer,
           " (dropout): 'rate' must be in [0, 1), got ", L.rate);
  if (L.rate == 0.0) return;
  Op op = b.new_op(OpKind::dropout);
  op.rate = L.rate;
  op.keeps_mask = true;
  op.in_place = b.owner_reads != Reads::values;
  b.push_stochastic(op);
}

// y (n, c) = keep ? x / (1 - rate) : 0, mask (n, c); element index = row * c + col. Without
// mode.stochastic: y = x.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  if (a.mode.stochastic)
    dropout_mask_fwd<T>(a.seed, rng_stream(op, a, a.mode.purpose_dropout), static_cast<T>(op.rate),
                        a.x, a.b.y, a.b.mask, a.n * op.out);
  else
    forward_identity(op, a);
}

// dX (n, c) = mask ? dY / (1 - rate) : 0 in place in g (the identity when the forward ran
// without dropout)
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  if (a.stochastic) dropout_bwd<T>(static_cast<T>(op.rate), a.b.mask, a.g, a.g, a.n * op.out);
}

// Inference: the identity.
template <class T>
constexpr auto infer = &infer_identity<T>;

}  // namespace

FM_NN_DEFINE_OP(dropout, "dropout", /*infer_writes_block=*/false)

}  // namespace fm::nn
