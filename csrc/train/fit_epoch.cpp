// One epoch in C++: shuffle, then per batch forward -> loss -> backward -> update.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
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
    index_t j = static_cast<index_t>(
        (static_cast<unsigned __int128>(r) * static_cast<std::uint64_t>(i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
}

template <class T>
void Checkpoint<T>::take(Network<T>& net) {
  np_ = net.trainable_size();
  nb_ = net.buffer_size();
  no_ = static_cast<index_t>(net.optimizer().state_slots()) * np_;
  params_.resize(std::max<index_t>(np_, 1));
  buffers_.resize(std::max<index_t>(nb_, 1));
  opt_.resize(std::max<index_t>(no_, 1));
  std::memcpy(params_.data(), std::as_const(net).params(), sizeof(T) * np_);  // reads only
  std::memcpy(buffers_.data(), net.buffers(), sizeof(T) * nb_);
  std::memcpy(opt_.data(), net.opt_state(), sizeof(T) * no_);
  step_ = net.step;
  taken_ = true;
}

template <class T>
void Checkpoint<T>::restore(Network<T>& net) const {
  FM_CHECK(taken_, "no checkpoint was taken");
  FM_CHECK(np_ == net.trainable_size() && nb_ == net.buffer_size() &&
               no_ == static_cast<index_t>(net.optimizer().state_slots()) * np_,
           "the checkpoint does not match the network (compiled again since?)");
  std::memcpy(net.params(), params_.data(), sizeof(T) * np_);
  std::memcpy(net.buffers(), buffers_.data(), sizeof(T) * nb_);
  std::memcpy(net.opt_state(), opt_.data(), sizeof(T) * no_);
  net.step = step_;
}

template class Checkpoint<float>;
template class Checkpoint<double>;

template <class T>
EpochResult fit_epoch(Network<T>& net, const T* X, const Targets<T>& y, index_t n,
                      index_t batch_size, bool shuffle, long long epoch,
                      const std::function<bool(const Totals&)>& should_stop,
                      GradientSync<T>* sync) {
  FM_CHECK(net.compiled(), "the network is not compiled: call compile() first");
  FM_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  FM_CHECK(n >= 1, "X must have at least one row");
  const bool bn = net.plan().has_batchnorm;
  FM_CHECK(!bn || n >= 2 || sync,
           "BatchNorm needs at least 2 rows per training batch (batch statistics), got 1");
  const index_t bs = std::min(batch_size, n);
  net.workspace().ensure(net.plan(), bs, y.values ? y.cols : 0);

  std::vector<index_t> perm;
  if (shuffle) {
    perm.resize(static_cast<std::size_t>(n));
    epoch_permutation(net.seed(), epoch, n, perm.data());
  }
  Checkpoint<T> start;
  start.take(net);

  EpochResult res;
  if (sync) {
    for (index_t k = 0; k < sync->steps; ++k) {
      const index_t begin = std::min(k * bs, n);
      index_t b = std::min(bs, n - begin);
      if (bn && b == 1) b = 0;  // BatchNorm cannot train on one row: this rank sends none
      StepResult s = train_step(net, X, y, shuffle ? perm.data() + begin : nullptr, begin, b, sync);
      if (!s.finite) {
        res.nonfinite = true;
        break;
      }
      res.totals.add(s.totals);
      if (s.stop) {
        res.interrupted = true;
        break;
      }
      if (should_stop && should_stop(res.totals)) sync->want_stop = true;
    }
  }
  for (index_t begin = 0; !sync && begin < n; begin += bs) {
    index_t b = std::min(bs, n - begin);
    // BatchNorm cannot train on one row: a trailing single-row batch is skipped.
    if (bn && b == 1) break;
    StepResult s = train_step(net, X, y, shuffle ? perm.data() + begin : nullptr, begin, b);
    if (!s.finite) {
      res.nonfinite = true;
      break;
    }
    res.totals.add(s.totals);
    if (should_stop && should_stop(res.totals)) {
      res.interrupted = true;
      break;
    }
  }
  if (res.nonfinite) {
    // A diverged epoch leaves nothing behind: the weights it reached may be finite but huge,
    // and predict would return NaN from them.
    start.restore(net);
    res.totals.loss = std::nan("");
  }
  if (nn::is_regression(net.loss())) res.totals.correct = -1;  // also when no batch ran
  return res;
}

template EpochResult fit_epoch<float>(Network<float>&, const float*, const Targets<float>&, index_t,
                                      index_t, bool, long long,
                                      const std::function<bool(const Totals&)>&,
                                      GradientSync<float>*);
template EpochResult fit_epoch<double>(Network<double>&, const double*, const Targets<double>&,
                                       index_t, index_t, bool, long long,
                                       const std::function<bool(const Totals&)>&,
                                       GradientSync<double>*);

}  // namespace fm::train
