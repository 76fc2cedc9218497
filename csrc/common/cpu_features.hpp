#pragma once
// Run-time ISA selection. The best table the CPU and OS support is chosen once; the
// environment variable FASTMLP_ISA=avx2|generic may force a lower one (never a higher one),
// so the tests can exercise every kernel table the host supports.
#include "common/types.hpp"

namespace fm {

Isa detect_isa();  // best ISA the CPU and OS support
Isa active_isa();  // detect_isa() lowered by FASTMLP_ISA; fixed after the first call
const char* isa_name(Isa isa);
// AVX512_BF16 (vdpbf16ps) usable: the CPU has it and the AVX-512 table is the active one
// (so FASTMLP_ISA=avx2|generic also turns it off).
bool bf16_native();
// AVX512_VNNI (vpdpbusd) usable: the CPU has it and the AVX-512 table is the active one.
bool vnni_native();
// AVX-VNNI (the 256-bit, VEX-encoded vpdpbusd of client CPUs) usable: the CPU has it and the
// active table is AVX2 or better.
bool avx_vnni_native();
// The value of FASTMLP_ISA when it names no ISA (a typo: ignored, the best ISA stays on),
// else nullptr. The module warns about it at import.
const char* unknown_isa_request();

}  // namespace fm
