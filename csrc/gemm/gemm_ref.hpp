#pragma once
// Reference GEMM: scalar triple loop with the same epilogue semantics (scalar formulas).
// The oracle for tests; per-ISA include (the dispatcher calls the generic copy).
#include "common/types.hpp"
#include "gemm/act_scalar.hpp"
#include "gemm/ukernel.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
void gemm_ref_run(const GemmArgs<T>& g) {
  const Epilogue<T>& ep = *g.ep;
  for (index_t i = 0; i < g.M; ++i) {
    for (index_t j = 0; j < g.N; ++j) {
      T acc = T(0);
      for (index_t p = 0; p < g.K; ++p) {
        T a = g.trans_a ? g.A[p * g.lda + i] : g.A[i * g.lda + p];
        T b = g.trans_b ? g.B[j * g.ldb + p] : g.B[p * g.ldb + j];
        acc += a * b;
      }
      T& c = g.C[i * g.ldc + j];
      T z = (g.beta != T(0) ? c + acc : acc) + (ep.bias ? ep.bias[j] : T(0));
      if (ep.z_out) ep.z_out[i * ep.ldz + j] = z;
      c = act_scalar(ep.act, ep.alpha, z);
    }
  }
}

}  // namespace FM_ISA_NS
}  // namespace fm
