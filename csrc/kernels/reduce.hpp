#pragma once
// Reductions with a fixed summation order (never split across threads differently).
#include "common/types.hpp"

namespace fm {

// out[j] (+)= sum_i x[i*ldx + j] over rows; parallel over column blocks only.
template <class T>
void colsum(const T* x, index_t rows, index_t cols, index_t ldx, T* out, bool accumulate);

// Regularization on one weight array: returns l1*sum|w| + (l2/2)*sum w^2 (double, fixed
// blocked order) and, when g is non-null, adds l1*sign(w) + l2*w to g.
template <class T>
double l1_l2_penalty(const T* w, index_t n, T l1, T l2, T* g);

// True when all n values are finite.
template <class T>
bool all_finite(const T* x, index_t n);

}  // namespace fm
