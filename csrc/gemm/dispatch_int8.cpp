// The int8 GEMM's dispatcher (compiled once, no ISA flags): argument checks, weight packing
// (ISA-independent layout, see gemm_int8.hpp), then the vpdpbusd driver when the CPU has
// AVX512_VNNI, the 256-bit one when it has AVX-VNNI, else the portable kernel of the active
// table.
#include <cstring>

#include "common/check.hpp"
#include "common/cpu_features.hpp"
#include "common/isa.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm_int8.hpp"

namespace fm {

#ifdef FM_HAVE_VNNI_KERNEL
namespace avx512_vnni {
void gemm_int8_vnni(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                    const Int8Epilogue* ep, float* Cf, std::int32_t* Ci, index_t ldc);
double vnni_peak_gops_native(int threads, double seconds);
}  // namespace avx512_vnni
#endif

#ifdef FM_HAVE_AVX_VNNI_KERNEL
namespace avx_vnni {
void gemm_int8_avx_vnni(int threads, index_t M, const std::uint8_t* A, index_t lda,
                        const PackedS8& B, const Int8Epilogue* ep, float* Cf, std::int32_t* Ci,
                        index_t ldc);
}  // namespace avx_vnni
#endif

FM_DECLARE_PER_ISA(void gemm_int8_portable(int threads, index_t M, const std::uint8_t* A,
                                           index_t lda, const PackedS8& B, const Int8Epilogue* ep,
                                           float* Cf, std::int32_t* Ci, index_t ldc));
FM_DECLARE_PER_ISA(void quantize_rows_u8_isa(index_t M, index_t K, const float* X, index_t ldx,
                                             const float* in_scale, const float* in_shift,
                                             std::uint8_t* A, index_t lda, float* scale,
                                             std::int32_t* zero));

void pack_s8(const std::int8_t* W, index_t K, index_t N, PackedS8& out) {
  FM_CHECK(K >= 1 && N >= 1, "int8 weights must be at least 1 x 1, got ", K, " x ", N);
  FM_CHECK(K <= 65536, "int8 weights: K = ", K, " exceeds 65536 (int32 accumulators could wrap)");
  FM_CHECK(W != nullptr, "int8 weights: null data");
  const index_t Kp = (K + 3) / 4 * 4, N16 = (N + 15) / 16 * 16;
  out.K = K;
  out.N = N;
  out.Kp = Kp;
  out.panels.resize(N16 * Kp);
  out.colsum.resize(N);
  std::int8_t* p = out.panels.data();
  std::memset(p, 0, static_cast<std::size_t>(N16 * Kp));
  for (index_t c0 = 0; c0 < N; c0 += 64) {
    const index_t nc = N - c0 < 64 ? N - c0 : 64, nv = (nc + 15) / 16;
    std::int8_t* panel = p + c0 * Kp;
    for (index_t k = 0; k < K; ++k) {
      const index_t q = k / 4, t = k % 4;
      for (index_t j = 0; j < nc; ++j)
        panel[(q * nv + j / 16) * 64 + 4 * (j % 16) + t] = W[k * N + c0 + j];
    }
  }
  for (index_t j = 0; j < N; ++j) {
    std::int32_t s = 0;
    for (index_t k = 0; k < K; ++k) s += W[k * N + j];
    out.colsum[j] = s;
  }
}

namespace {

void check_gemm(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                const void* C, index_t ldc) {
  FM_CHECK(threads >= 1, "gemm: threads must be >= 1, got ", threads);
  FM_CHECK(B.K >= 1 && B.panels.data(), "int8 gemm: the weights are not packed");
  FM_CHECK(M >= 0, "int8 gemm: M must be >= 0, got ", M);
  FM_CHECK(lda >= B.Kp, "int8 gemm: lda ", lda, " < ", B.Kp, " (K rounded up to 4)");
  FM_CHECK(ldc >= B.N, "int8 gemm: ldc ", ldc, " < N = ", B.N);
  FM_CHECK(M == 0 || (A && C), "int8 gemm: null operand");
}

void run(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
         const Int8Epilogue* ep, float* Cf, std::int32_t* Ci, index_t ldc, Int8Path path) {
#ifdef FM_HAVE_VNNI_KERNEL
  if (path == Int8Path::best && vnni_native()) {
    avx512_vnni::gemm_int8_vnni(threads, M, A, lda, B, ep, Cf, Ci, ldc);
    return;
  }
#endif
#ifdef FM_HAVE_AVX_VNNI_KERNEL
  if (path == Int8Path::best && avx_vnni_native()) {
    avx_vnni::gemm_int8_avx_vnni(threads, M, A, lda, B, ep, Cf, Ci, ldc);
    return;
  }
#endif
  (void)path;
  static const auto portable = FM_SELECT_ISA(gemm_int8_portable);
  portable(threads, M, A, lda, B, ep, Cf, Ci, ldc);
}

}  // namespace

void gemm_u8s8_f32(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                   const Int8Epilogue& ep, float* C, index_t ldc, Int8Path path) {
  check_gemm(threads, M, A, lda, B, C, ldc);
  FM_CHECK(M == 0 || (ep.a_scale && ep.a_zero && ep.w_scale), "int8 gemm: missing scales");
  FM_CHECK(ep.act != Act::softmax, "int8 gemm: softmax cannot be fused into the epilogue");
  run(threads, M, A, lda, B, &ep, C, nullptr, ldc, path);
}

void gemm_u8s8_s32(int threads, index_t M, const std::uint8_t* A, index_t lda, const PackedS8& B,
                   std::int32_t* C, index_t ldc, Int8Path path) {
  check_gemm(threads, M, A, lda, B, C, ldc);
  run(threads, M, A, lda, B, nullptr, nullptr, C, ldc, path);
}

void quantize_rows_u8(index_t M, index_t K, const float* X, index_t ldx, std::uint8_t* A,
                      index_t lda, float* scale, std::int32_t* zero, const float* in_scale,
                      const float* in_shift) {
  FM_CHECK(M >= 0 && K >= 1, "quantize_rows_u8: bad shape ", M, " x ", K);
  FM_CHECK(ldx >= K && lda >= (K + 3) / 4 * 4, "quantize_rows_u8: leading dimension too small");
  FM_CHECK((in_scale == nullptr) == (in_shift == nullptr),
           "quantize_rows_u8: in_scale and in_shift go together");
  static const auto q = FM_SELECT_ISA(quantize_rows_u8_isa);
  q(M, K, X, ldx, in_scale, in_shift, A, lda, scale, zero);
}

const char* gemm_int8_path() {
#ifdef FM_HAVE_VNNI_KERNEL
  if (vnni_native()) return "avx512_vnni";
#endif
#ifdef FM_HAVE_AVX_VNNI_KERNEL
  if (avx_vnni_native()) return "avx_vnni";
#endif
  return "portable";
}

double vnni_peak_gops(int threads, double seconds) {
  FM_CHECK(threads >= 1 && threads <= 64, "threads must be in [1, 64], got ", threads);
#ifdef FM_HAVE_VNNI_KERNEL
  if (vnni_native()) return avx512_vnni::vnni_peak_gops_native(threads, seconds);
#endif
  return 0.0;
}

}  // namespace fm
