// GaussianNoise: y = x + stddev * N(0, 1) in training, the identity in inference.
#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "common/philox.hpp"
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
  Op op;
  op.kind = OpKind::noise;
  op.layer = static_cast<int>(b.layer);
  op.stddev = L.stddev;
  op.in_place = b.owner_reads == Reads::nothing;
  b.push_elementwise(op);
  b.plan.has_stochastic = true;
  if (!op.in_place) b.owner_reads = Reads::nothing;
}

// y (n, c) = x (n, c) + stddev * N(0, 1); without mode.stochastic: y = x.
template <class T>
void forward(const Op& op, const ForwardArgs<T>& a) {
  const index_t count = a.n * op.out;
  if (a.mode.stochastic) {
    std::uint64_t stream =
        stream_id(static_cast<std::uint64_t>(op.layer), a.step_salt, a.mode.purpose_noise);
    gaussian_noise_fwd<T>(a.seed, stream, static_cast<T>(op.stddev), a.x, a.b.y, count);
  } else if (a.b.y != a.x) {
    std::memcpy(a.b.y, a.x, sizeof(T) * count);
  }
}

// Additive: dX = dY (g unchanged).
template <class T>
void backward(const Op&, const BackwardArgs<T>&) {}

// Inference: the identity.
template <class T>
const T* infer(const Op&, const InferArgs<T>& a) {
  return a.x;
}

}  // namespace

extern const OpInfo noise_info{"noise", &plan, /*infer_writes_block=*/false};

template <class T>
OpFns<T> noise_fns() {
  return {&forward<T>, &backward<T>, &infer<T>};
}
template OpFns<float> noise_fns<float>();
template OpFns<double> noise_fns<double>();

}  // namespace fm::nn
