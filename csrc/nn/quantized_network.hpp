#pragma once
// An int8 inference network: the Dense layers of a trained model (BatchNorm already folded in,
// see python/fastmlp/quantization.py), each as int8 weights packed once with per-column
// scales, run by the int8 GEMM (gemm/gemm_int8.hpp) with activations quantized per row at
// predict time. Predict only: the float network (network.hpp) stays the one that trains.
//
// One layer's step, on a block of rows: quantize_rows_u8 (the block's floats -> u8 + per-row
// scale and zero point), then gemm_u8s8_f32 with bias and activation fused into its
// dequantizing epilogue; the last layer writes the output block, the link the caller asks for
// (softmax / sigmoid) runs on it in place. Blocks of kInt8Block rows go one per thread through
// thread_local scratch, so concurrent predicts share no mutable memory and a row's output does not
// depend on its block or the thread count.
#include <cstdint>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"
#include "gemm/gemm_int8.hpp"

namespace fm::nn {

enum class OutputLink : int { none = 0, softmax, sigmoid };

class QuantizedNetwork {
 public:
  explicit QuantizedNetwork(index_t input_dim);

  // Appends a layer: W (K, N) int8 row-major with K the current width, w_scale (N) > 0,
  // bias (N) or null; act: any but softmax (that is a link); in_scale / in_shift (K) or null:
  // a per-feature affine map on the layer's input, applied while it is quantized. Packs W
  // once.
  void add_dense(const std::int8_t* W, index_t K, index_t N, const float* w_scale,
                 const float* bias, Act act, float alpha, const float* in_scale = nullptr,
                 const float* in_shift = nullptr);
  index_t input_dim() const { return input_dim_; }
  index_t output_dim() const { return width_; }
  index_t layers() const { return static_cast<index_t>(layers_.size()); }

  // out (n, output_dim) from X (n, input_dim), then `link` on each row; thread-safe. Call
  // with the GIL released.
  void predict(const float* X, index_t n, float* out, int threads,
               OutputLink link = OutputLink::none) const;

 private:
  struct Layer {
    PackedS8 w;
    AlignedBuffer<float> w_scale, bias, in_scale, in_shift;
    bool has_bias = false, has_affine = false;
    Act act = Act::linear;
    float alpha = 0.0f;
  };
  void infer_block(const float* x, index_t rows, float* out, int threads, OutputLink link) const;

  std::vector<Layer> layers_;
  index_t input_dim_, width_, max_width_ = 0, max_kp_ = 0;
};

}  // namespace fm::nn
