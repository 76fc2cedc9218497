#pragma once
// The five vector operations a register-blocked micro-kernel needs (ukernel_simd.hpp), over
// the one vector layer of the core (common/simd.hpp): the register type is the widest the
// translation unit's ISA flags allow. Included only from per-ISA sources (fm_isa_objects).
#include "common/simd.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class T>
struct SimdVec {
  using reg = vec_t<T>;
  static constexpr int width = kVecWidth<T>;
  static reg zero() { return vset1(T(0)); }
  static reg load(const T* p) { return vloadu(p); }
  static reg bcast(const T* p) { return vset1(*p); }
  static reg fma(reg a, reg b, reg c) { return vfma(a, b, c); }
  static reg add(reg a, reg b) { return vadd(a, b); }
  static void store(T* p, reg v) { vstoreu(p, v); }
};

}  // namespace FM_ISA_NS
}  // namespace fm
