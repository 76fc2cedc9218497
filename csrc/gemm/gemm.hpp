#pragma once
// Public GEMM entry point of the core (compiled once; dispatches to the per-ISA driver).
//
//   C (M, N) = act( beta * C + op(A) (M, K) · op(B) (K, N) + bias (N) )
//
// op(A) = A or Aᵀ (trans_a), op(B) = B or Bᵀ (trans_b); all matrices row-major with leading
// dimensions lda/ldb/ldc (elements). beta is 0 (C is overwritten, may hold garbage/NaN) or 1
// (accumulate). The epilogue (bias add, activation) is fused into the micro-kernel's write
// of each C tile; when z_out is set the pre-activation values are stored there too (needed by
// backward passes of gelu/silu/softplus).
//
// Threads: parallel over output tiles only, never over K, so results do not depend on the
// thread count. Threads used = min(get_num_threads(), what pays for this shape).
#include "common/types.hpp"

namespace fm {

template <class T>
struct Epilogue {
  const T* bias = nullptr;  // (N,) or null
  Act act = Act::linear;    // never Act::softmax
  T alpha = T(0);           // leaky_relu slope / elu alpha
  T* z_out = nullptr;       // optional (M, N) pre-activation output, leading dim ldz
  index_t ldz = 0;
};

// Checks all sizes (throws std::invalid_argument), then computes. Pointers may alias only
// if they are identical inputs (A == B); C must not overlap A or B.
template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc, const Epilogue<T>& ep = {});

// Same, with an explicit thread cap (used by callers that already parallelize outside).
template <class T>
void gemm_threads(int threads, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                  const T* A, index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc,
                  const Epilogue<T>& ep = {});

// Reference (scalar, triple loop, same epilogue) for tests.
template <class T>
void gemm_ref(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda,
              const T* B, index_t ldb, T beta, T* C, index_t ldc, const Epilogue<T>& ep = {});

}  // namespace fm
