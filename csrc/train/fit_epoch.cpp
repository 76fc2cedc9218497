// One epoch in C++: shuffle, then per batch forward -> loss -> backward -> update.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "common/check.hpp"
#include "common/philox.hpp"
#include "kernels/reduce.hpp"
#include "train/train.hpp"

namespace fm::train {

void epoch_permutation(std::uint64_t seed, long long epoch, index_t n, index_t* perm) {
  for (index_t i = 0; i < n; ++i) perm[i] = i;
  const std::uint64_t stream = stream_id(static_cast<std::uint64_t>(epoch), 0, nn::kPurposeShuffle);
  // Fisher-Yates from the back; j uniform in [0, i] by a 64x64 -> high-64 multiply.
  for (index_t i = n - 1; i > 0; --i) {
    std::uint32_t w[4];
    Philox4x32::generate(seed, stream, static_cast<std::uint64_t>(i), w);
    std::uint64_t r = (static_cast<std::uint64_t>(w[0]) << 32) | w[1];
    index_t j = static_cast<index_t>((static_cast<unsigned __int128>(r) * static_cast<std::uint64_t>(i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
}

namespace {

// Parameters, running statistics, optimizer state and step at the start of an epoch.
template <class T>
struct Snapshot {
  AlignedBuffer<T> params, buffers, opt;
  long long step = 0;
  index_t np = 0, nb = 0, no = 0;

  void take(Network<T>& net) {
    np = net.trainable_size();
    nb = net.buffer_size();
    no = static_cast<index_t>(net.optimizer().state_slots()) * np;
    params.resize(std::max<index_t>(np, 1));
    buffers.resize(std::max<index_t>(nb, 1));
    opt.resize(std::max<index_t>(no, 1));
    std::memcpy(params.data(), net.params(), sizeof(T) * np);
    std::memcpy(buffers.data(), net.buffers(), sizeof(T) * nb);
    std::memcpy(opt.data(), net.opt_state(), sizeof(T) * no);
    step = net.step;
  }
  void restore(Network<T>& net) const {
    std::memcpy(net.params(), params.data(), sizeof(T) * np);
    std::memcpy(net.buffers(), buffers.data(), sizeof(T) * nb);
    std::memcpy(net.opt_state(), opt.data(), sizeof(T) * no);
    net.step = step;
  }
};

}  // namespace

template <class T>
EpochResult fit_epoch(Network<T>& net, const T* X, const Targets<T>& y, index_t n, index_t batch_size,
                      bool shuffle, long long epoch, const std::function<bool(const EpochProgress&)>& should_stop) {
  FM_CHECK(net.compiled(), "the network is not compiled: call compile() first");
  FM_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  FM_CHECK(n >= 1, "X must have at least one row");
  const bool bn = net.plan().has_batchnorm;
  FM_CHECK(!bn || n >= 2, "BatchNorm needs at least 2 rows per training batch (batch statistics), got 1");
  const index_t bs = std::min(batch_size, n);
  net.workspace().ensure(net.plan(), bs, y.values ? y.cols : 0);

  std::vector<index_t> perm;
  if (shuffle) {
    perm.resize(static_cast<std::size_t>(n));
    epoch_permutation(net.seed(), epoch, n, perm.data());
  }
  Snapshot<T> snap;
  snap.take(net);

  EpochResult res;
  double loss_sum = 0.0;
  for (index_t start = 0; start < n; start += bs) {
    index_t b = std::min(bs, n - start);
    // BatchNorm cannot train on one row: a trailing single-row batch is skipped.
    if (bn && b == 1) break;
    StepResult s = train_step(net, X, y, shuffle ? perm.data() + start : nullptr, start, b);
    if (!s.finite) {
      res.nonfinite = true;
      break;
    }
    loss_sum += s.loss * static_cast<double>(b);
    res.count += b;
    res.correct += s.correct;
    res.weight += s.weight;
    res.data_sum += s.data_sum;
    res.abs_sum += s.abs_sum;
    if (should_stop &&
        should_stop(EpochProgress{res.count, loss_sum, res.correct, res.weight, res.data_sum, res.abs_sum})) {
      res.interrupted = true;
      break;
    }
  }
  if (res.nonfinite && !all_finite<T>(net.params(), net.trainable_size())) snap.restore(net);
  if (res.nonfinite && !all_finite<T>(net.buffers(), net.buffer_size())) snap.restore(net);
  res.loss = res.count > 0 ? loss_sum / static_cast<double>(res.count) : 0.0;
  if (res.nonfinite) res.loss = std::nan("");
  if (net.loss() == nn::LossKind::mse) res.correct = -1;
  return res;
}

template EpochResult fit_epoch<float>(Network<float>&, const float*, const Targets<float>&, index_t, index_t, bool,
                                      long long, const std::function<bool(const EpochProgress&)>&);
template EpochResult fit_epoch<double>(Network<double>&, const double*, const Targets<double>&, index_t, index_t,
                                       bool, long long, const std::function<bool(const EpochProgress&)>&);

}  // namespace fm::train
