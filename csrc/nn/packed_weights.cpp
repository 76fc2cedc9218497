#include "nn/packed_weights.hpp"

#include <vector>

namespace fm::nn {

PackedWeights::PackedWeights(const Plan& plan, PackedLayout layout, std::uint64_t version)
    : version_(version), forward_(layout == PackedLayout::forward) {
  index_t total = 0;
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const Op& op = plan.ops[i];
    if (op.kind != OpKind::dense) continue;
    // The first trainable op computes no dX: its Wᵀ is never read.
    if (!forward_ && static_cast<int>(i) == plan.first_trainable_op) continue;
    const index_t words = forward_ ? gemm_bf16_packed_words(op.in, op.out)   // K = in, N = out
                                   : gemm_bf16_packed_words(op.out, op.in);  // K = out, N = in
    if (words == 0) continue;
    ops_.push_back(&op);
    w_.push_back(op.w);
    offset_.push_back(total);
    total += (words + 15) / 16 * 16;  // every copy starts on a cache line
  }
  if (total > 0) words_.resize(total);
}

void PackedWeights::pack_jobs(const float* params, std::vector<Bf16PackJob>& jobs) {
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const Op* op = ops_[i];
    const float* W = params + op->w;  // (in, out), row-major
    std::uint32_t* dst = words_.data() + offset_[i];
    jobs.push_back(forward_ ? Bf16PackJob{false, op->in, op->out, W, op->out, dst}
                            : Bf16PackJob{true, op->out, op->in, W, op->out, dst});
  }
  ops_.clear();  // the plan is not needed once packed
}

std::vector<std::shared_ptr<const PackedWeights>> PackedWeights::build(
    const Plan& plan, const float* params, const std::vector<PackedLayout>& layouts,
    std::uint64_t version, int threads) {
  std::vector<std::shared_ptr<PackedWeights>> sets;
  std::vector<Bf16PackJob> jobs;
  for (PackedLayout layout : layouts) {
    sets.push_back(std::shared_ptr<PackedWeights>(new PackedWeights(plan, layout, version)));
    sets.back()->pack_jobs(params, jobs);
  }
  // Every layer's copy, in every layout, in one parallel region (a region each cost a pool
  // round trip, five a training step of a three-layer net).
  gemm_bf16_pack_b(threads, jobs.data(), static_cast<index_t>(jobs.size()));
  return {sets.begin(), sets.end()};
}

}  // namespace fm::nn
