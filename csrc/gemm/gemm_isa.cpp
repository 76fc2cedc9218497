// Per-ISA GEMM (compiled once per ISA by fm_isa_objects, namespace fm::FM_ISA_NS): the
// micro-kernel configs and block sizes of this ISA, and the tables the dispatcher reads.
#include "gemm/driver.hpp"
#include "gemm/gemm_ref.hpp"
#include "gemm/ukernel.hpp"
#include "gemm/ukernel_ref.hpp"
#include "gemm/ukernel_simd.hpp"
#include "gemm/vec.hpp"

namespace fm {
namespace FM_ISA_NS {
namespace {

// Block sizes (elements). MC x KC of A in L2 (1 MiB on Zen 4), KC x NR micro-panel of B in
// L1/L2, KC x NC panel of B in L3. AVX-512: 6x64 f32 (24 zmm accumulators, 4 loads + 6
// broadcasts per 24 FMAs); Zen 4 runs a zmm FMA as two 256-bit halves, so this matches the
// AVX2 6x16 kernel per cycle but with half the instructions. KC = 384 measured best on Zen 4
// (1024^3: 107 vs 102 GFLOP/s at KC = 256; MC = 96..192 within noise).
#if defined(FM_ISA_avx512)
struct CfgF32 {
  using T = float;
  static constexpr int MR = 6, NR = 64;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 96, KC = 384, NC = 4096;
  static constexpr const char* name = "ukr_f32_avx512_6x64";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_simd<VecAvx512<T>, MR, NR / 16, MR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int m, int n) { return ukr_simd_pick<VecAvx512<T>, MR, NR / 16, MR, T>(m, (n + 15) / 16); }
  static constexpr int W = 16, ROW_NV = 16;  // one-row path: up to ROW_NV vectors of B per sweep
  static UkrFn<T> row(int nv) { return ukr_simd_pick_nv<VecAvx512<T>, 1, ROW_NV, 1, T>(nv); }
  // few-row path (2 <= M <= SUP_MAX_M): SUP_MR rows x up to SUP_NV vectors of B per sweep
  static constexpr index_t SUP_MAX_M = 8;
  static constexpr int SUP_MR = 4, SUP_NV = 4;
  static UkrFn<T> sup(int m, int nv) { return ukr_simd_pick<VecAvx512<T>, SUP_MR, SUP_NV, SUP_MR, T>(m, nv); }
};
struct CfgF64 {
  using T = double;
  static constexpr int MR = 6, NR = 32;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 96, KC = 384, NC = 2048;
  static constexpr const char* name = "ukr_f64_avx512_6x32";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_simd<VecAvx512<T>, MR, NR / 8, MR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int m, int n) { return ukr_simd_pick<VecAvx512<T>, MR, NR / 8, MR, T>(m, (n + 7) / 8); }
  static constexpr int W = 8, ROW_NV = 16;  // one-row path: up to ROW_NV vectors of B per sweep
  static UkrFn<T> row(int nv) { return ukr_simd_pick_nv<VecAvx512<T>, 1, ROW_NV, 1, T>(nv); }
  // few-row path (2 <= M <= SUP_MAX_M): SUP_MR rows x up to SUP_NV vectors of B per sweep
  static constexpr index_t SUP_MAX_M = 8;
  static constexpr int SUP_MR = 4, SUP_NV = 4;
  static UkrFn<T> sup(int m, int nv) { return ukr_simd_pick<VecAvx512<T>, SUP_MR, SUP_NV, SUP_MR, T>(m, nv); }
};
constexpr const char* kIsa = "avx512";
#elif defined(FM_ISA_avx2)
struct CfgF32 {
  using T = float;
  static constexpr int MR = 6, NR = 16;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 96, KC = 256, NC = 4096;
  static constexpr const char* name = "ukr_f32_avx2_6x16";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_simd<VecAvx2<T>, MR, NR / 8, MR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int m, int n) { return ukr_simd_pick<VecAvx2<T>, MR, NR / 8, MR, T>(m, (n + 7) / 8); }
  static constexpr int W = 8, ROW_NV = 12;  // one-row path: up to ROW_NV vectors of B per sweep
  static UkrFn<T> row(int nv) { return ukr_simd_pick_nv<VecAvx2<T>, 1, ROW_NV, 1, T>(nv); }
  // few-row path (2 <= M <= SUP_MAX_M): SUP_MR rows x up to SUP_NV vectors of B per sweep
  static constexpr index_t SUP_MAX_M = 8;
  static constexpr int SUP_MR = 4, SUP_NV = 4;
  static UkrFn<T> sup(int m, int nv) { return ukr_simd_pick<VecAvx2<T>, SUP_MR, SUP_NV, SUP_MR, T>(m, nv); }
};
struct CfgF64 {
  using T = double;
  static constexpr int MR = 6, NR = 8;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 96, KC = 256, NC = 2048;
  static constexpr const char* name = "ukr_f64_avx2_6x8";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_simd<VecAvx2<T>, MR, NR / 4, MR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int m, int n) { return ukr_simd_pick<VecAvx2<T>, MR, NR / 4, MR, T>(m, (n + 3) / 4); }
  static constexpr int W = 4, ROW_NV = 12;  // one-row path: up to ROW_NV vectors of B per sweep
  static UkrFn<T> row(int nv) { return ukr_simd_pick_nv<VecAvx2<T>, 1, ROW_NV, 1, T>(nv); }
  // few-row path (2 <= M <= SUP_MAX_M): SUP_MR rows x up to SUP_NV vectors of B per sweep
  static constexpr index_t SUP_MAX_M = 8;
  static constexpr int SUP_MR = 4, SUP_NV = 4;
  static UkrFn<T> sup(int m, int nv) { return ukr_simd_pick<VecAvx2<T>, SUP_MR, SUP_NV, SUP_MR, T>(m, nv); }
};
constexpr const char* kIsa = "avx2";
#else
struct CfgF32 {
  using T = float;
  static constexpr int MR = 4, NR = 8;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 64, KC = 256, NC = 2048;
  static constexpr const char* name = "ukr_f32_ref_4x8";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_ref<MR, NR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int, int) { return &ukr_ref<MR, NR, T>; }
  static constexpr int W = 1, ROW_NV = 0;  // no one-row path
  static UkrFn<T> row(int) { return nullptr; }
  static constexpr index_t SUP_MAX_M = 0;  // no few-row path
  static constexpr int SUP_MR = 1, SUP_NV = 1;
  static UkrFn<T> sup(int, int) { return nullptr; }
};
struct CfgF64 {
  using T = double;
  static constexpr int MR = 4, NR = 4;
  static constexpr index_t B_IN_PLACE_MAX_M = 96;
  static constexpr index_t MC = 64, KC = 256, NC = 2048;
  static constexpr const char* name = "ukr_f64_ref_4x4";
  static void ukr(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, bool acc) {
    ukr_ref<MR, NR>(k, a, b, ldb, c, ldc, acc);
  }
  static UkrFn<T> edge(int, int) { return &ukr_ref<MR, NR, T>; }
  static constexpr int W = 1, ROW_NV = 0;  // no one-row path
  static UkrFn<T> row(int) { return nullptr; }
  static constexpr index_t SUP_MAX_M = 0;  // no few-row path
  static constexpr int SUP_MR = 1, SUP_NV = 1;
  static UkrFn<T> sup(int, int) { return nullptr; }
};
constexpr const char* kIsa = "generic";
#endif

// Below this many weights (N x K) one core streams B faster than threads can be woken.
constexpr index_t kSupSplitMinWeights = index_t(1) << 16;

template <class Cfg>
GemmTable<typename Cfg::T> make_table() {
  return {kIsa,         Cfg::name,     Cfg::MR,           Cfg::NR, Cfg::MC, Cfg::KC, Cfg::NC,
          Cfg::ROW_NV > 0, Cfg::SUP_MAX_M, kSupSplitMinWeights, &gemm_run<Cfg>, &gemm_threads_for<Cfg>};
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

}  // namespace FM_ISA_NS
}  // namespace fm
