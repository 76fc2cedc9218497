#include "nn/quantized_network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "common/parallel.hpp"
#include "kernels/activation.hpp"
#include "kernels/loss.hpp"

namespace fm::nn {

namespace {

// Rows per inference block: its u8 copy (128 x 784 B), two float activations and a layer's
// packed weights stay in L2.
constexpr index_t kInt8Block = 128;

struct Int8Scratch {
  AlignedBuffer<std::uint8_t> a;     // (rows, max Kp) quantized input of the current layer
  AlignedBuffer<float> act;          // 2 x (rows, max width) ping-pong
  AlignedBuffer<float> scale;        // (rows)
  AlignedBuffer<std::int32_t> zero;  // (rows)
};

Int8Scratch& int8_scratch() {
  thread_local Int8Scratch s;
  return s;
}

}  // namespace

QuantizedNetwork::QuantizedNetwork(index_t input_dim) : input_dim_(input_dim), width_(input_dim) {
  FM_CHECK(input_dim >= 1, "input_dim must be >= 1, got ", input_dim);
}

void QuantizedNetwork::add_dense(const std::int8_t* W, index_t K, index_t N, const float* w_scale,
                                 const float* bias, Act act, float alpha, const float* in_scale,
                                 const float* in_shift) {
  FM_CHECK(K == width_, "int8 dense layer ", layers_.size(), ": weights have ", K,
           " rows, the layer's input has ", width_, " features");
  FM_CHECK(N >= 1, "int8 dense layer: no units");
  FM_CHECK(act != Act::softmax, "int8 dense layer: softmax is only the output link");
  for (index_t j = 0; j < N; ++j)
    FM_CHECK(std::isfinite(w_scale[j]) && w_scale[j] > 0.0f,
             "int8 dense layer: w_scale must be finite and > 0");
  Layer l;
  pack_s8(W, K, N, l.w);
  l.w_scale.resize(N);
  std::memcpy(l.w_scale.data(), w_scale, sizeof(float) * N);
  l.has_bias = bias != nullptr;
  if (bias) {
    l.bias.resize(N);
    std::memcpy(l.bias.data(), bias, sizeof(float) * N);
  }
  FM_CHECK((in_scale == nullptr) == (in_shift == nullptr),
           "int8 dense layer: in_scale and in_shift go together");
  l.has_affine = in_scale != nullptr;
  if (l.has_affine) {
    l.in_scale.resize(K);
    l.in_shift.resize(K);
    std::memcpy(l.in_scale.data(), in_scale, sizeof(float) * K);
    std::memcpy(l.in_shift.data(), in_shift, sizeof(float) * K);
  }
  l.act = act;
  l.alpha = alpha;
  max_kp_ = std::max(max_kp_, l.w.Kp);
  max_width_ = std::max(max_width_, N);
  layers_.push_back(std::move(l));
  width_ = N;
}

// out (rows, output_dim) = network(x (rows, input_dim)), then `link`.
void QuantizedNetwork::infer_block(const float* x, index_t rows, float* out, int threads,
                                   OutputLink link) const {
  Int8Scratch& s = int8_scratch();
  const index_t half = (rows * max_width_ + 15) / 16 * 16;
  s.a.resize(rows * max_kp_);
  s.act.resize(2 * half);
  s.scale.resize(rows);
  s.zero.resize(rows);
  const float* cur = x;  // (rows, width)
  index_t width = input_dim_;
  int next = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    quantize_rows_u8(rows, width, cur, width, s.a.data(), l.w.Kp, s.scale.data(), s.zero.data(),
                     l.has_affine ? l.in_scale.data() : nullptr,
                     l.has_affine ? l.in_shift.data() : nullptr);
    Int8Epilogue ep;
    ep.a_scale = s.scale.data();
    ep.a_zero = s.zero.data();
    ep.w_scale = l.w_scale.data();
    ep.bias = l.has_bias ? l.bias.data() : nullptr;
    ep.act = l.act;
    ep.alpha = l.alpha;
    float* dst = i + 1 == layers_.size() ? out : s.act.data() + next * half;
    // A small product runs on the calling thread: below ~2 M multiply-adds (a few us with
    // vpdpbusd) handing tiles to the pool costs more than it saves.
    const int nt = rows * l.w.Kp * l.w.N >= (index_t(1) << 21) ? threads : 1;
    gemm_u8s8_f32(nt, rows, s.a.data(), l.w.Kp, l.w, ep, dst, l.w.N);
    cur = dst;
    width = l.w.N;
    next ^= 1;
  }
  if (layers_.empty()) std::memcpy(out, x, sizeof(float) * rows * input_dim_);
  if (link == OutputLink::softmax)
    softmax_fwd<float>(out, out, rows, width_);
  else if (link == OutputLink::sigmoid)
    sigmoid_link<float>(out, out, rows * width_);
}

void QuantizedNetwork::predict(const float* X, index_t n, float* out, int threads,
                               OutputLink link) const {
  if (n <= 0) return;
  const index_t nblocks = (n + kInt8Block - 1) / kInt8Block;
  if (nblocks == 1) {  // one block: the GEMM gets the threads
    infer_block(X, n, out, threads, link);
    return;
  }
  parallel_for(nblocks, 1, threads, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) {
      const index_t r0 = b * kInt8Block, rows = std::min(kInt8Block, n - r0);
      infer_block(X + r0 * input_dim_, rows, out + r0 * width_, 1, link);
    }
  });
}

}  // namespace fm::nn
