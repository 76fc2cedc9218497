// GaussianNoise: y = x + stddev * N(0, 1) in training, the identity in inference.
#include <cmath>

#include "common/check.hpp"
#include "kernels/dropout.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {
namespace {

// stddev 0 is the identity: no op. In place only when the producer's backward reads nothing
// of its output (an additive change would break even a sign test).
void plan(PlanBuilder& b, const LayerSpec& L) {
  FM_CHECK(std::isfinite(L.stddev) && L.stddev >= 0.0, "layer ", b.layer,
           " (noise): 'stddev' must be >= 0, got ", L.stddev);
  if (L.stddev == 0.0) return;
  Op op = b.new_op(OpKind::noise);
  op.stddev = L.stddev;
  op.in_place = b.owner_reads == Reads::nothing;
  b.push_stochastic(op);
}

// y (n, c) = x (n, c) + stddev * N(0, 1); without mode.stochastic: y = x.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  if (a.mode.stochastic)
    gaussian_noise_fwd<T>(a.seed, rng_stream(op, a, a.mode.purpose_noise),
                          static_cast<T>(op.stddev), a.x, a.b.y, a.n * op.out);
  else
    forward_identity(op, a);
}

// Additive: dX = dY (g unchanged).
template <class T>
void backward(const Op&, const BackwardArgs<T>&) {}

// Inference: the identity.
template <class T>
constexpr auto infer = &infer_identity<T>;

}  // namespace

FM_NN_DEFINE_OP(noise, "noise", /*infer_writes_block=*/false)

}  // namespace fm::nn
