#include "nn/packed_weights.hpp"

#include <vector>

#include "gemm/gemm_bf16.hpp"

namespace fm::nn {

PackedWeights::PackedWeights(const Plan& plan, const float* params, PackedLayout layout,
                             std::uint64_t version, int threads)
    : version_(version) {
  const bool fwd = layout == PackedLayout::forward;
  index_t total = 0;
  std::vector<const Op*> ops;
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const Op& op = plan.ops[i];
    if (op.kind != OpKind::dense) continue;
    // The first trainable op computes no dX: its Wᵀ is never read.
    if (!fwd && static_cast<int>(i) == plan.first_trainable_op) continue;
    const index_t words = fwd ? gemm_bf16_packed_words(op.in, op.out)   // K = in, N = out
                              : gemm_bf16_packed_words(op.out, op.in);  // K = out, N = in
    if (words == 0) continue;
    ops.push_back(&op);
    w_.push_back(op.w);
    offset_.push_back(total);
    total += (words + 15) / 16 * 16;  // every copy starts on a cache line
  }
  if (total == 0) return;
  words_.resize(total);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op* op = ops[i];
    const float* W = params + op->w;  // (in, out), row-major
    if (fwd)
      gemm_bf16_pack_b(threads, false, op->in, op->out, W, op->out, words_.data() + offset_[i]);
    else
      gemm_bf16_pack_b(threads, true, op->out, op->in, W, op->out, words_.data() + offset_[i]);
  }
}

}  // namespace fm::nn
