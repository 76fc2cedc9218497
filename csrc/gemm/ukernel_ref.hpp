#pragma once
// Scalar reference micro-kernel: the oracle for the SIMD kernels and the generic table's
// kernel. Same contract as UkrFn; the same summation order as ukr_simd (one accumulator per
// C element, k in order), so it agrees with them up to FMA contraction.
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

template <int MR, int NR, class T>
inline void ukr_ref(index_t k, const T* __restrict a, const T* __restrict b, index_t ldb,
                    T* __restrict c, index_t ldc, bool accumulate) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < k; ++p) {
    for (int i = 0; i < MR; ++i) {
      T av = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += av * b[j];
    }
    a += MR;
    b += ldb;
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace FM_ISA_NS
}  // namespace fm
