#pragma once
// int8 GEMM for quantized inference: u8 activations x s8 weights, exact int32 accumulation,
// then a fused dequantizing epilogue.
//
//   acc(i, j) = sum_k A(i, k) * W(k, j)                                         (int32, exact)
//   C(i, j)   = act( float(acc(i, j) - a_zero[i] * colsum[j]) * (a_scale[i] * w_scale[j])
//                    + bias[j] )
//
// The u8 x s8 choice: activations are quantized per row to u8 with a zero point (asymmetric:
// a relu's non-negative outputs get all 256 levels, where a symmetric s8 code would waste
// half), weights per output column to s8 without one (symmetric). vpdpbusd multiplies exactly
// that pair; the zero point is taken out afterwards with the weights' column sums, computed
// once when the weights are packed, so the kernel's inner loop never sees it.
//
// Three paths give bit-identical results (the integer sum is exact, and all run the same
// epilogue code): avx512_vnni (vpdpbusd on zmm, when CPUID reports AVX512_VNNI and the AVX-512
// table is active), avx_vnni (vpdpbusd on ymm, VEX-encoded: client CPUs with AVX-VNNI and an
// AVX2 table or better) and portable (plain integer loops compiled for the active table:
// generic, AVX2 or AVX-512). Every output element depends only on its row and column, so results
// are identical for any thread count and any batch a row comes in.
#include <cstdint>

#include "common/aligned_buffer.hpp"
#include "common/types.hpp"

namespace fm {

// Weights W (K, N) as the kernels read them, packed once (at quantize time, or load).
// Layout: K is padded with zeros to Kp (a multiple of 4); the columns are cut into panels of up
// to 64 (the last one: its width rounded up to 16, zero padded); panel P (columns c0 = 64 P..)
// starts at byte c0 * Kp and holds, for each group q of 4 k steps, nv vectors of 16 columns
// x 4 steps: panels[c0 * Kp + (q * nv + v) * 64 + 4 * j + t] = W(4 q + t, c0 + 16 v + j).
// That is vpdpbusd's operand: one 32-bit lane holds 4 consecutive k steps of one column.
struct PackedS8 {
  index_t K = 0, N = 0, Kp = 0;
  AlignedBuffer<std::int8_t> panels;
  AlignedBuffer<std::int32_t> colsum;  // (N): sum over k of W(k, j)
};

// W: (K, N) row-major int8. Checks its arguments (ValueError).
void pack_s8(const std::int8_t* W, index_t K, index_t N, PackedS8& out);

// The dequantizing epilogue's inputs; a_scale / a_zero per row of A, w_scale / bias per column.
struct Int8Epilogue {
  const float* a_scale = nullptr;        // (M)
  const std::int32_t* a_zero = nullptr;  // (M), in [0, 255]
  const float* w_scale = nullptr;        // (N)
  const float* bias = nullptr;           // (N) or null
  Act act = Act::linear;                 // no softmax (a whole-row op)
  float alpha = 0.0f;
};

enum class Int8Path : int { best = 0, portable = 1 };

// C (M, N) float32, leading dim ldc, from A (M, lda) u8 whose rows hold B.Kp readable bytes
// (lda >= B.Kp; bytes K..Kp-1 may hold anything: the padded weights are zero).
void gemm_u8s8_f32(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                   const Int8Epilogue& ep, float* C, index_t ldc, Int8Path path = Int8Path::best);

// The raw accumulators acc(i, j) into C (M, N) int32 (tests, and the integer reference).
void gemm_u8s8_s32(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                   std::int32_t* C, index_t ldc, Int8Path path = Int8Path::best);

// Dynamic per-row quantization (ONNX DynamicQuantizeLinear's rule, one row at a time, with a
// multiplication by the reciprocal where it divides: a division per element cost more than
// the GEMM):
//   lo = min(0, min_k x), hi = max(0, max_k x), scale = (hi - lo) / 255 (1 when hi == lo),
//   inv = 1 / scale, zero = clamp(round(-lo * inv), 0, 255),
//   q = clamp(round(x * inv) + zero, 0, 255), round half to even.
// X (M, K) leading dim ldx -> A (M, lda >= round_up(K, 4)); A's bytes K..round_up(K, 4)-1 are
// set to zero. With in_scale / in_shift (K each), x * in_scale + in_shift (multiply, then add)
// is quantized instead of x: a per-feature affine map (Standardize, a BatchNorm after an
// activation) applied on the fly.
void quantize_rows_u8(index_t M, index_t K, const float* X, index_t ldx, std::uint8_t* A,
                      index_t lda, float* scale, std::int32_t* zero,
                      const float* in_scale = nullptr, const float* in_shift = nullptr);

// "avx512_vnni", "avx_vnni" or "portable": the path Int8Path::best takes on this CPU.
const char* gemm_int8_path();

// GOP/s (a multiply-add is 2 ops) of a loop of independent vpdpbusd (24 zmm accumulators,
// 128 ops each) on `threads` threads, the best ~1 ms round within about `seconds` (a busy
// host preempts rounds; see gemm/peak_probe.hpp): the int8 peak the GEMM is measured against.
// 0 without AVX512_VNNI.
double vnni_peak_gops(int threads, double seconds);

}  // namespace fm
