#pragma once
// Per-ISA code: a source listed in fm_isa_objects() (CMakeLists.txt) is compiled once per ISA
// with FM_ISA_NS set to generic / avx2 / avx512 and must put everything it defines inside
//     namespace fm { namespace FM_ISA_NS { ... } }
// and use no STL containers or other out-of-line inline functions there, so no symbol
// compiled with AVX-512 flags can be picked by the linker for a generic caller.
//
// A dispatcher (compiled once, without ISA flags) declares the per-ISA entry point and picks
// one at run time:
//     FM_DECLARE_PER_ISA(const GemmTable<float>& gemm_table_f32());
//     static const auto& t = FM_SELECT_ISA(gemm_table_f32)();
#include "common/cpu_features.hpp"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define FM_DECLARE_PER_ISA(...) \
  namespace generic {           \
  __VA_ARGS__;                  \
  }                             \
  namespace avx2 {              \
  __VA_ARGS__;                  \
  }                             \
  namespace avx512 {            \
  __VA_ARGS__;                  \
  }
#define FM_SELECT_ISA(fn)                                      \
  (::fm::active_isa() == ::fm::Isa::avx512 ? &::fm::avx512::fn \
   : ::fm::active_isa() == ::fm::Isa::avx2 ? &::fm::avx2::fn   \
                                           : &::fm::generic::fn)
#else
#define FM_DECLARE_PER_ISA(...) \
  namespace generic {           \
  __VA_ARGS__;                  \
  }
#define FM_SELECT_ISA(fn) (&::fm::generic::fn)
#endif
