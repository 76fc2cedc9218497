#pragma once
// bfloat16 GEMM ("mixed_bfloat16"): float32 in and out, with the product computed from
// operands rounded to bfloat16 (round to nearest even) and accumulated in float32.
//
//   C (M, N) = act( beta * C + bf16(op(A)) · bf16(op(B)) + bias )
//
// Same arguments, checks, epilogue and thread rules as gemm<float> (gemm.hpp). Two paths give
// the same numbers up to the float32 summation order:
//   avx512_bf16: the operands are rounded while they are packed, k-pairs interleaved, and an
//                AVX512_BF16 micro-kernel (vdpbf16ps) multiplies them;
//   emulated:    on any other CPU (or a lower FASTMLP_ISA) op(A) and op(B) are rounded into
//                float32 copies and gemm<float> of the active table multiplies those.
#include <cstdint>

#include "common/types.hpp"
#include "gemm/gemm.hpp"

namespace fm {

// float32 -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN.
inline std::uint16_t f32_to_bf16(float x) {
  std::uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_f32(std::uint16_t h) {
  const std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float x;
  __builtin_memcpy(&x, &u, 4);
  return x;
}

enum class Bf16Path : int { best = 0, emulated = 1 };

void gemm_bf16_threads(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                       const float* A, index_t lda, const float* B, index_t ldb, float beta,
                       float* C, index_t ldc, const Epilogue<float>& ep = {},
                       Bf16Path path = Bf16Path::best);

void gemm_bf16(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const float* A,
               index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
               const Epilogue<float>& ep = {});

// A persistent bf16 copy of op(B) (K x N, e.g. a weight matrix), packed once in the layout the
// AVX512_BF16 kernel reads, so that every later product with it skips rounding and packing.
// Words it needs; 0 where the best path is the emulated one (nothing to pack: pass null).
index_t gemm_bf16_packed_words(index_t K, index_t N);
// One op(B) (K x N; B itself when !trans_b, else its transpose) to pack into dst, which
// holds gemm_bf16_packed_words(K, N) words.
struct Bf16PackJob {
  bool trans_b;
  index_t K, N;
  const float* B;
  index_t ldb;
  std::uint32_t* dst;
};
// Packs every job in one parallel region with up to `threads` threads (nothing where the best
// path is the emulated one).
void gemm_bf16_pack_b(int threads, const Bf16PackJob* jobs, index_t count);
// gemm_bf16_threads (Bf16Path::best) reading op(B) from b_packed, gemm_bf16_pack_b's copy of
// this very B (null: pack B as usual). The same numbers bit for bit either way; B is still
// checked and read by the emulated path.
void gemm_bf16_prepacked(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                         const float* A, index_t lda, const float* B, index_t ldb,
                         const std::uint32_t* b_packed, float beta, float* C, index_t ldc,
                         const Epilogue<float>& ep = {});

// gemm_bf16_prepacked with op(A) given already rounded: A holds bf16 bit patterns (lda in
// elements), e.g. from bf16_round. The same numbers as the float A they were rounded from.
// AVX512_BF16 path only (bf16_native(); elsewhere a std::invalid_argument).
void gemm_bf16_prepacked_a16(int threads, bool trans_a, bool trans_b, index_t M, index_t N,
                             index_t K, const std::uint16_t* A, index_t lda, const float* B,
                             index_t ldb, const std::uint32_t* b_packed, float beta, float* C,
                             index_t ldc, const Epilogue<float>& ep = {});

// The gradient of a Dense layer for its dW = xᵀ · dZ under mixed_bfloat16, in one pass over
// dY: dZ = dY * act'(y) for a linear, relu or leaky_relu activation (exact selects, the
// bits of act_bwd), its column sums (the bits of colsum: db), and dZ rounded and packed as
// op(B) of that product (K = n, N = cols), the copy gemm_bf16_prepacked then reads. Three
// passes over dZ (and two parallel regions) become one.
struct Bf16GradPack {
  index_t n, cols;
  const float* dy;        // (n, cols), leading dim cols
  const float* y;         // the activation's output (n, cols); read unless act is linear
  Act act;                // linear, relu or leaky_relu
  float alpha;            // leaky_relu's slope
  float* dz;              // dZ (n, cols) in float32 (may be dy), or null: not written
  float* colsum;          // (cols), or null
  std::uint32_t* packed;  // gemm_bf16_packed_words(n, cols) words
};
// True where gemm_bf16_grad_pack runs: the AVX512_BF16 path and one of those activations.
bool gemm_bf16_grad_pack_supported(Act act);
void gemm_bf16_grad_pack(int threads, const Bf16GradPack& job);

// dst[i] = bf16 bits of src[i], round to nearest even: the rounding the GEMM's packing applies
// (single-threaded; AVX512_BF16's conversion where the CPU has it).
void bf16_round(const float* src, index_t n, std::uint16_t* dst);

// "avx512_bf16" or "emulated": the path Bf16Path::best takes on this CPU.
const char* gemm_bf16_path();

// GFLOP/s of a loop of independent vdpbf16ps (24 zmm accumulators; 64 FLOP each) on `threads`
// threads, the best ~2.5 ms round in about `seconds`: the bf16 peak the GEMM is measured
// against. 0 without AVX512_BF16.
double bf16_peak_gflops(int threads, double seconds);

}  // namespace fm
