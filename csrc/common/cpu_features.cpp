#include "common/cpu_features.hpp"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define FM_X86 1
#include <cpuid.h>
#endif

namespace fm {
namespace {

#ifdef FM_X86
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

Isa detect() {
#ifdef FM_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave) return Isa::generic;
  unsigned long long xcr0 = xgetbv0();
  bool ymm_os = (xcr0 & 0x6) == 0x6;
  bool zmm_os = (xcr0 & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::generic;
  bool avx2 = b & (1u << 5), bmi1 = b & (1u << 3), bmi2 = b & (1u << 8);
  bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
       avx512vl = b & (1u << 31);
  bool has_avx2 = ymm_os && avx2 && fma && f16c && bmi1 && bmi2;
  if (has_avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl) return Isa::avx512;
  if (has_avx2) return Isa::avx2;
#endif
  return Isa::generic;
}

// CPUID.(EAX=7, ECX=1):EAX bit 5 = AVX512_BF16. Only asked once AVX-512 (and the OS's
// zmm state) is known to be there.
bool detect_avx512_bf16() {
#ifdef FM_X86
  if (detect() != Isa::avx512) return false;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return false;  // a: max subleaf
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return a & (1u << 5);
#else
  return false;
#endif
}

// CPUID.(EAX=7, ECX=0):ECX bit 11 = AVX512_VNNI. Only asked once AVX-512 is known there.
bool detect_avx512_vnni() {
#ifdef FM_X86
  if (detect() != Isa::avx512) return false;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return c & (1u << 11);
#else
  return false;
#endif
}

// CPUID.(EAX=7, ECX=1):EAX bit 4 = AVX-VNNI. Only asked once AVX2 (and the OS's ymm state)
// is known to be there.
bool detect_avx_vnni() {
#ifdef FM_X86
  if (detect() == Isa::generic) return false;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return false;  // a: max subleaf
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return a & (1u << 4);
#else
  return false;
#endif
}

// The ISA FASTMLP_ISA names; false when it is set to anything else (that value is then
// ignored, and reported by unknown_isa_request()).
bool requested_isa(const char* s, Isa* isa) {
  for (Isa i : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (std::strcmp(s, isa_name(i)) == 0) {
      *isa = i;
      return true;
    }
  }
  return false;
}

Isa lowered_by_env(Isa best) {
  const char* s = std::getenv("FASTMLP_ISA");
  Isa want = best;
  if (!s || !*s || !requested_isa(s, &want)) return best;
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

}  // namespace

Isa detect_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() {
  static const Isa isa = lowered_by_env(detect_isa());
  return isa;
}

bool bf16_native() {
  static const bool on = active_isa() == Isa::avx512 && detect_avx512_bf16();
  return on;
}

bool vnni_native() {
  static const bool on = active_isa() == Isa::avx512 && detect_avx512_vnni();
  return on;
}

bool avx_vnni_native() {
  static const bool on = active_isa() != Isa::generic && detect_avx_vnni();
  return on;
}

const char* unknown_isa_request() {
  const char* s = std::getenv("FASTMLP_ISA");
  Isa ignored;
  return s && *s && !requested_isa(s, &ignored) ? s : nullptr;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "generic";
  }
}

}  // namespace fm
