#pragma once
// Activation workspace for training-mode passes: every op's output (and pre-activation,
// mask, saved batch statistics) for up to `capacity` rows, carved out of one buffer of T and
// one of bytes. Grown only when a larger batch arrives; never allocated per batch.
#include <cstdint>
#include <functional>
#include <new>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"
#include "nn/layer.hpp"

namespace fm::nn {

template <class T>
struct OpBuffers {
  T* y = nullptr;                // (rows, out) output; aliases the input block when in place
  T* z = nullptr;                // (rows, out) pre-activation, when keep_z
  std::uint8_t* mask = nullptr;  // (rows, out) dropout keep mask
  T* save_mean = nullptr;        // (out,) batchnorm
  T* save_invstd = nullptr;      // (out,) batchnorm
  double sync_share = 1.0;       // batchnorm synchronized: this rank's rows / all ranks' rows
};

template <class T>
struct Workspace {
  index_t capacity = 0;  // rows the buffers hold
  index_t target_cols = 0;
  AlignedBuffer<T> data;
  AlignedBuffer<std::uint8_t> bytes;
  AlignedBuffer<std::int32_t> labels;  // (capacity,) gathered labels
  AlignedBuffer<T> weights;            // (capacity,) gathered sample weights
  std::vector<OpBuffers<T>> ops;
  T* input = nullptr;  // (rows, input_dim) gathered input batch
  // mixed_bfloat16 with a Dense first: the gathered batch rounded to bf16 instead (its bits),
  // which op 0's forward and dW products read; x16 points at it when the last gather wrote
  // it (and then gave no float batch), else null.
  AlignedBuffer<std::uint16_t> input16;
  const std::uint16_t* x16 = nullptr;
  // mixed_bfloat16 on the AVX512_BF16 path: a Dense layer's dZ rounded and packed for its dW
  // product by the fused gradient pass (gemm_bf16_grad_pack), one layer at a time.
  AlignedBuffer<std::uint32_t> dz16;
  T* grad_a = nullptr;  // (rows, max_width) gradient ping-pong
  T* grad_b = nullptr;
  T* targets = nullptr;    // (rows, target_cols) gathered float targets
  bool stochastic = true;  // whether the last forward applied dropout (backward needs to know)
  // Distributed training: sums v (len values) over the ranks in place, for BatchNorm with
  // synchronized=True; set by the last forward (its backward needs it too), else null.
  const std::function<void(double* v, index_t len)>* across = nullptr;

  // Lays the buffers out for `rows` rows (no-op when already large enough).
  void ensure(const Plan& plan, index_t rows, index_t tcols) {
    if (rows <= capacity && tcols <= target_cols && ops.size() == plan.ops.size()) return;
    if (rows < capacity) rows = capacity;
    if (tcols < target_cols) tcols = target_cols;
    // Round each block to 64 bytes so every buffer starts aligned.
    const index_t al = static_cast<index_t>(kAlign / sizeof(T));
    auto up = [al](index_t x) { return (x + al - 1) / al * al; };
    // Refuse sizes whose element counts would overflow (MemoryError in Python).
    index_t per_row = plan.input_dim + 2 * plan.max_width + tcols;
    for (const Op& op : plan.ops) per_row += 3 * op.out;
    if (rows > 0 && per_row > (index_t(1) << 56) / rows) throw std::bad_alloc();
    index_t total = up(rows * plan.input_dim) + 2 * up(rows * plan.max_width) + up(rows * tcols);
    index_t total_bytes = 0;
    for (const Op& op : plan.ops) {
      if (!op.in_place) total += up(rows * op.out);
      if (op.keep_z) total += up(rows * op.out);
      if (op.saves_stats) total += 2 * up(op.out);
      if (op.keeps_mask) total_bytes += (rows * op.out + 63) / 64 * 64;
    }
    data = AlignedBuffer<T>();
    data.resize(total > 0 ? total : 1);
    bytes = AlignedBuffer<std::uint8_t>();
    bytes.resize(total_bytes > 0 ? total_bytes : 1);
    labels = AlignedBuffer<std::int32_t>();
    labels.resize(rows > 0 ? rows : 1);
    weights = AlignedBuffer<T>();
    weights.resize(rows > 0 ? rows : 1);
    T* p = data.data();
    std::uint8_t* q = bytes.data();
    auto take = [&](index_t n) {
      T* r = p;
      p += up(n);
      return r;
    };
    input = take(rows * plan.input_dim);
    grad_a = take(rows * plan.max_width);
    grad_b = take(rows * plan.max_width);
    targets = take(rows * tcols);
    ops.assign(plan.ops.size(), OpBuffers<T>{});
    T* prev = input;
    for (std::size_t i = 0; i < plan.ops.size(); ++i) {
      const Op& op = plan.ops[i];
      OpBuffers<T>& b = ops[i];
      b.y = op.in_place ? prev : take(rows * op.out);
      if (op.keep_z) b.z = take(rows * op.out);
      if (op.saves_stats) {
        b.save_mean = take(op.out);
        b.save_invstd = take(op.out);
      }
      if (op.keeps_mask) {
        b.mask = q;
        q += (rows * op.out + 63) / 64 * 64;
      }
      prev = b.y;
    }
    capacity = rows;
    target_cols = tcols;
  }
};

}  // namespace fm::nn
