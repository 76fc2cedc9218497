#pragma once
// The mixed_bfloat16 policy's persistent weight copies: every Dense W rounded to bf16 and
// packed once in the layout the bf16 GEMM's kernel reads (gemm_bf16_pack_b), so that a
// training step packs each W once (not once per GEMM and thread) and a predict on unchanged
// weights packs nothing (before: W was rounded and packed again for every 256-row block).
//   forward layout:  op(B) = W   (in x out), for y = x · W (training forward and inference);
//   backward layout: op(B) = Wᵀ  (out x in), for dX = dZ · Wᵀ.
// A set is immutable once built and tagged with the weights version it was built from; the
// network swaps in a new set when its weights changed (nn/network.hpp).
#include <cstdint>
#include <memory>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"
#include "gemm/gemm_bf16.hpp"
#include "nn/layer.hpp"

namespace fm::nn {

enum class PackedLayout : int { forward = 0, backward = 1 };

class PackedWeights {
 public:
  // The copies of every Dense W of `plan` (params: the trainable arena) in each of `layouts`,
  // built in one parallel region with up to `threads` threads (a training step needs both
  // layouts of the same weights). A set is empty (every lookup null) where the bf16 GEMM runs
  // its emulated path, which reads W itself.
  static std::vector<std::shared_ptr<const PackedWeights>> build(
      const Plan& plan, const float* params, const std::vector<PackedLayout>& layouts,
      std::uint64_t version, int threads);

  std::uint64_t version() const { return version_; }
  // The copy of the Dense W at trainable-arena offset w; null when there is none.
  const std::uint32_t* find(index_t w) const {
    for (std::size_t i = 0; i < w_.size(); ++i)
      if (w_[i] == w) return words_.data() + offset_[i];
    return nullptr;
  }

 private:
  // Lays the copies out (unpacked); pack_jobs lists what fills them.
  PackedWeights(const Plan& plan, PackedLayout layout, std::uint64_t version);
  void pack_jobs(const float* params, std::vector<Bf16PackJob>& jobs);

  std::uint64_t version_;
  bool forward_;
  std::vector<const Op*> ops_;
  std::vector<index_t> w_, offset_;  // per Dense op: W's arena offset, its copy's word offset
  AlignedBuffer<std::uint32_t> words_;
};

}  // namespace fm::nn
