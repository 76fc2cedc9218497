// Dropout: y = keep ? x / (1 - rate) : 0 in training (inverted dropout), the identity in
// inference. Masks come from Philox streams keyed by (layer, step, purpose).
#include "kernels/dropout.hpp"

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "common/philox.hpp"
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
  Op op;
  op.kind = OpKind::dropout;
  op.layer = static_cast<int>(b.layer);
  op.rate = L.rate;
  op.keeps_mask = true;
  op.in_place = b.owner_reads != Reads::values;
  b.push_elementwise(op);
  b.plan.has_stochastic = true;
  if (!op.in_place) b.owner_reads = Reads::nothing;
}

// y (n, c) = keep ? x / (1 - rate) : 0, mask (n, c); element index = row * c + col. Without
// mode.stochastic: y = x.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  const index_t count = a.n * op.out;
  if (a.mode.stochastic) {
    std::uint64_t stream =
        stream_id(static_cast<std::uint64_t>(op.layer), a.step_salt, a.mode.purpose_dropout);
    dropout_mask_fwd<T>(a.seed, stream, static_cast<T>(op.rate), a.x, a.b.y, a.b.mask, count);
  } else if (a.b.y != a.x) {
    std::memcpy(a.b.y, a.x, sizeof(T) * count);
  }
}

// dX (n, c) = mask ? dY / (1 - rate) : 0 in place in g (the identity when the forward ran
// without dropout)
template <class T>
void backward(const Op& op, const BackwardArgs<T>& a) {
  if (a.stochastic) dropout_bwd<T>(static_cast<T>(op.rate), a.b.mask, a.g, a.g, a.n * op.out);
}

// Inference: the identity.
template <class T>
const T* infer(const Op&, const InferArgs<T>& a) {
  return a.x;
}

}  // namespace

extern const OpInfo dropout_info{"dropout", &plan, /*infer_writes_block=*/false};

template <class T>
OpFns<T> dropout_fns() {
  return {&forward<T>, &backward<T>, &infer<T>};
}
template OpFns<float> dropout_fns<float>();
template OpFns<double> dropout_fns<double>();

}  // namespace fm::nn
