// The bf16 GEMM's dispatcher (compiled once, no ISA flags): the same argument checks as the
// float32 GEMM, then the AVX512_BF16 driver when the CPU has it, else the emulated path
// (round the operands into float32 copies, multiply them with the active float32 table).
#include <vector>

#include "common/check.hpp"
#include "common/cpu_features.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm.hpp"
#include "gemm/gemm_bf16.hpp"
#include "gemm/ukernel.hpp"

namespace fm {

#ifdef FM_HAVE_BF16_KERNEL
namespace avx512_bf16 {
void gemm_bf16_run(const GemmArgs<float>& g, int threads, const std::uint32_t* b_packed,
                   const std::uint16_t* a16);
void bf16_round_native(const float* src, index_t n, std::uint16_t* dst);
index_t bf16_packed_words_native(index_t K, index_t N);
void bf16_pack_b_native(int threads, const Bf16PackJob* jobs, index_t count);
void bf16_grad_pack_native(int threads, const Bf16GradPack& job);
int gemm_bf16_threads_for(index_t M, index_t N, index_t K, int cap);
double bf16_peak_gflops_native(int threads, double seconds);
}  // namespace avx512_bf16
#endif

namespace {

// rows x cols of X (leading dim ldx) rounded to bf16 and back into dst (leading dim cols).
void round_copy(const float* x, index_t ldx, index_t rows, index_t cols, std::vector<float>& dst) {
  dst.resize(static_cast<std::size_t>(rows * cols));
  float* d = dst.data();
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* dr = d + r * cols;
    for (index_t c = 0; c < cols; ++c) dr[c] = bf16_to_f32(f32_to_bf16(xr[c]));
  }
}

// The portable path: convert, then the float32 GEMM (its FMAs are exact products of the
// rounded operands, so only the summation order differs from vdpbf16ps).
void gemm_bf16_emulated(int threads, const GemmArgs<float>& g) {
  static thread_local std::vector<float> ra, rb;
  const index_t a_rows = g.trans_a ? g.K : g.M, a_cols = g.trans_a ? g.M : g.K;
  const index_t b_rows = g.trans_b ? g.N : g.K, b_cols = g.trans_b ? g.K : g.N;
  round_copy(g.A, g.lda, a_rows, a_cols, ra);
  round_copy(g.B, g.ldb, b_rows, b_cols, rb);
  gemm_threads<float>(threads, g.trans_a, g.trans_b, g.M, g.N, g.K, ra.data(),
                      a_cols > 1 ? a_cols : 1, rb.data(), b_cols > 1 ? b_cols : 1, g.beta, g.C,
                      g.ldc, *g.ep);
}

}  // namespace

namespace {
// a16: op(A) as bf16 bits (A is then a stand-in of the same shape, checked but never read).
void gemm_bf16_any(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                   const float* A, index_t lda, const float* B, index_t ldb,
                   const std::uint32_t* b_packed, float beta, float* C, index_t ldc,
                   const Epilogue<float>& ep, Bf16Path path, const std::uint16_t* a16 = nullptr) {
  FM_CHECK(threads >= 1, "gemm: threads must be >= 1, got ", threads);
  const GemmArgs<float> g =
      gemm_checked_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
#ifdef FM_HAVE_BF16_KERNEL
  if (path == Bf16Path::best && bf16_native()) {
    avx512_bf16::gemm_bf16_run(g, avx512_bf16::gemm_bf16_threads_for(M, N, K, threads), b_packed,
                               a16);
    return;
  }
#endif
  (void)b_packed;
  // Bits already rounded reach only the native path (the network rounds its input only there).
  FM_CHECK(!a16, "gemm: a bf16 A needs the AVX512_BF16 path");
  gemm_bf16_emulated(threads, g);
}
}  // namespace

void gemm_bf16_prepacked_a16(int threads, bool trans_a, bool trans_b, index_t M, index_t N,
                             index_t K, const std::uint16_t* A, index_t lda, const float* B,
                             index_t ldb, const std::uint32_t* b_packed, float beta, float* C,
                             index_t ldc, const Epilogue<float>& ep) {
  // The shape and lda checks of a float A, on a stand-in pointer that is never read.
  const float* stand_in = reinterpret_cast<const float*>(A);
  gemm_bf16_any(threads, trans_a, trans_b, M, N, K, stand_in, lda, B, ldb, b_packed, beta, C, ldc,
                ep, Bf16Path::best, A);
}

void bf16_round(const float* src, index_t n, std::uint16_t* dst) {
#ifdef FM_HAVE_BF16_KERNEL
  if (bf16_native()) {
    avx512_bf16::bf16_round_native(src, n, dst);
    return;
  }
#endif
  for (index_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

void gemm_bf16_threads(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                       const float* A, index_t lda, const float* B, index_t ldb, float beta,
                       float* C, index_t ldc, const Epilogue<float>& ep, Bf16Path path) {
  gemm_bf16_any(threads, trans_a, trans_b, M, N, K, A, lda, B, ldb, nullptr, beta, C, ldc, ep,
                path);
}

void gemm_bf16_prepacked(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                         const float* A, index_t lda, const float* B, index_t ldb,
                         const std::uint32_t* b_packed, float beta, float* C, index_t ldc,
                         const Epilogue<float>& ep) {
  gemm_bf16_any(threads, trans_a, trans_b, M, N, K, A, lda, B, ldb, b_packed, beta, C, ldc, ep,
                Bf16Path::best);
}

index_t gemm_bf16_packed_words(index_t K, index_t N) {
  FM_CHECK(K >= 0 && N >= 0, "gemm_bf16_packed_words: sizes must be >= 0");
#ifdef FM_HAVE_BF16_KERNEL
  if (bf16_native()) return avx512_bf16::bf16_packed_words_native(K, N);
#endif
  return 0;
}

void gemm_bf16_pack_b(int threads, const Bf16PackJob* jobs, index_t count) {
  FM_CHECK(count >= 0 && (count == 0 || jobs), "gemm_bf16_pack_b: no jobs");
  for (index_t i = 0; i < count; ++i) {
    const Bf16PackJob& b = jobs[i];
    FM_CHECK(b.K >= 0 && b.N >= 0, "gemm_bf16_pack_b: sizes must be >= 0");
    FM_CHECK(b.ldb >= (b.trans_b ? b.K : b.N) && b.ldb >= 1, "gemm_bf16_pack_b: ldb too small");
  }
#ifdef FM_HAVE_BF16_KERNEL
  if (bf16_native()) {
    avx512_bf16::bf16_pack_b_native(threads, jobs, count);
    return;
  }
#endif
  (void)threads;
}

bool gemm_bf16_grad_pack_supported(Act act) {
  return bf16_native() && (act == Act::linear || act == Act::relu || act == Act::leaky_relu);
}

void gemm_bf16_grad_pack(int threads, const Bf16GradPack& job) {
  FM_CHECK(gemm_bf16_grad_pack_supported(job.act),
           "gemm_bf16_grad_pack: needs the AVX512_BF16 path and a linear, relu or leaky_relu");
  FM_CHECK(job.n >= 0 && job.cols >= 0 && job.dy && job.packed && (job.act == Act::linear || job.y),
           "gemm_bf16_grad_pack: missing array");
#ifdef FM_HAVE_BF16_KERNEL
  avx512_bf16::bf16_grad_pack_native(threads, job);
#else
  (void)threads;
#endif
}

void gemm_bf16(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const float* A,
               index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
               const Epilogue<float>& ep) {
  gemm_bf16_threads(get_num_threads(), trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
}

const char* gemm_bf16_path() { return bf16_native() ? "avx512_bf16" : "emulated"; }

double bf16_peak_gflops(int threads, double seconds) {
  FM_CHECK(threads >= 1 && threads <= 64, "threads must be in [1, 64], got ", threads);
#ifdef FM_HAVE_BF16_KERNEL
  if (bf16_native()) return avx512_bf16::bf16_peak_gflops_native(threads, seconds);
#endif
  return 0.0;
}

}  // namespace fm
