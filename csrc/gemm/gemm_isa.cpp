// Per-ISA GEMM (compiled once per ISA by fm_isa_objects, namespace fm::FM_ISA_NS): the
// micro-kernel configs and block sizes of this ISA, and the tables the dispatcher reads.
#include "gemm/driver.hpp"
#include "gemm/gemm_ref.hpp"
#include "gemm/peak_probe.hpp"
#include "gemm/ukernel.hpp"
#include "gemm/ukernel_ref.hpp"
#include "gemm/ukernel_simd.hpp"
#include "gemm/vec.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// A register-blocked SIMD configuration: MR x NR tiles of this ISA's vectors (NR a multiple of
// their width), and the one-row path sweeping up to ROW_NV vectors of B.
template <class T_, int NR_, index_t KC_, index_t NC_, int ROW_NV_>
struct SimdCfg {
  using T = T_;
  using V = SimdVec<T>;
  static constexpr int MR = 6, NR = NR_, W = V::width, ROW_NV = ROW_NV_;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 96, KC = KC_, NC = NC_;
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_simd<V, MR, NR / W, MR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int m, int n) {
    return ukr_simd_pick<V, MR, NR / W, MR, T>(m, (n + W - 1) / W);
  }
  static UkrFn<T> row(int nv) { return ukr_simd_pick_nv<V, 1, ROW_NV, 1, T>(nv); }
  // Few-row path (2 <= M <= SUP_MAX_M): SUP_MR rows x up to SUP_NV vectors of B per sweep.
  static constexpr index_t SUP_MAX_M = 8;
  static constexpr int SUP_MR = 4, SUP_NV = 4;
  static SupFn<T> sup(int m, int nv) { return ukr_strided_pick<V, SUP_MR, SUP_NV, T>(m, nv); }
};

// Block sizes (elements). MC x KC of A in L2 (1 MiB on Zen 4), KC x NR micro-panel of B in
// L1/L2, KC x NC panel of B in L3. AVX-512: 6x64 f32 (24 zmm accumulators, 4 loads + 6
// broadcasts per 24 FMAs); Zen 4 runs a zmm FMA as two 256-bit halves, so this matches the
// AVX2 6x16 kernel per cycle but with half the instructions. KC = 384 measured best on Zen 4
// (1024^3: 107 vs 102 GFLOP/s at KC = 256; MC = 96..192 within noise).
#if defined(FM_ISA_avx512)
using CfgF32 = SimdCfg<float, 64, 384, 4096, 16>;
using CfgF64 = SimdCfg<double, 32, 384, 2048, 16>;
constexpr const char* kIsa = "avx512";
constexpr const char* kUkrNames[] = {"ukr_f32_avx512_6x64", "ukr_f64_avx512_6x32"};
#elif defined(FM_ISA_avx2)
using CfgF32 = SimdCfg<float, 16, 256, 4096, 12>;
using CfgF64 = SimdCfg<double, 8, 256, 2048, 12>;
constexpr const char* kIsa = "avx2";
constexpr const char* kUkrNames[] = {"ukr_f32_avx2_6x16", "ukr_f64_avx2_6x8"};
#else
// The scalar reference micro-kernel: no one-row or few-row path (ROW_NV = 0).
template <class T_, int NR_>
struct RefCfg {
  using T = T_;
  static constexpr int MR = 4, NR = NR_, W = 1, ROW_NV = 0;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 64, KC = 256, NC = 2048;
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_ref<MR, NR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int, int) { return &ukr_ref<MR, NR, T>; }
  static UkrFn<T> row(int) { return nullptr; }
  static constexpr index_t SUP_MAX_M = 0;  // no few-row path
  static constexpr int SUP_MR = 1, SUP_NV = 1;
  static SupFn<T> sup(int, int) { return nullptr; }
};
using CfgF32 = RefCfg<float, 8>;
using CfgF64 = RefCfg<double, 4>;
constexpr const char* kIsa = "generic";
constexpr const char* kUkrNames[] = {"ukr_f32_ref_4x8", "ukr_f64_ref_4x4"};
#endif

// Below this many weights (N x K) one core streams B faster than threads can be woken.
constexpr index_t kSupSplitMinWeights = index_t(1) << 16;

template <class Cfg>
GemmTable<typename Cfg::T> make_table() {
  const char* ukr_name = kUkrNames[sizeof(typename Cfg::T) == 8];  // kUkrNames: {f32, f64}
  return {kIsa,           ukr_name,
          Cfg::MR,        Cfg::NR,
          Cfg::MC,        Cfg::KC,
          Cfg::NC,        Cfg::ROW_NV > 0,
          Cfg::SUP_MAX_M, kSupSplitMinWeights,
          &gemm_run<Cfg>, &gemm_threads_for<Cfg>};
}

}  // namespace

const GemmTable<float>& gemm_table_f32() {
  static const GemmTable<float> t = make_table<CfgF32>();
  return t;
}
const GemmTable<double>& gemm_table_f64() {
  static const GemmTable<double> t = make_table<CfgF64>();
  return t;
}

template void gemm_ref_run<float>(const GemmArgs<float>&);
template void gemm_ref_run<double>(const GemmArgs<double>&);

namespace {
// 12 independent float32 FMA chains on this ISA's vectors (enough to cover the FMA latency
// on two pipes); returns the FLOPs done. The values stay normal (x * 1 + 2^-40).
double fma_peak_loop(long long iters) {
  using V = SimdVec<float>;
  // Read through volatile: constants would let the compiler fold the chains away.
  volatile float one_v = 1.0f, tiny_v = 0x1p-40f;
  const float one = one_v, tiny = tiny_v;
  const typename V::reg x = V::bcast(&one), y = V::bcast(&tiny);
  typename V::reg r[12];
  for (int i = 0; i < 12; ++i) r[i] = V::bcast(&one);
  for (long long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) r[i] = V::fma(r[i], x, y);
  }
  typename V::reg s = r[0];
  for (int i = 1; i < 12; ++i) s = V::add(s, r[i]);
  alignas(64) float out[V::width];
  V::store(out, s);
  volatile float sink = out[0];
  (void)sink;
  return 2.0 * V::width * 12.0 * double(iters);
}
}  // namespace

double fma_peak_gflops(int threads, double seconds) {
  return peak_rate_g(threads, seconds, 1 << 18, &fma_peak_loop, /*best_round=*/true);
}

}  // namespace FM_ISA_NS
}  // namespace fm
