#pragma once
// The timing loop of the peak probes (float32 FMAs for the GEMM, vdpbf16ps for the bf16 one,
// vpdpbusd for the int8 one): `threads` threads each run rounds of `loop(iters)` (which returns
// the ops it did) until `seconds` have passed; returns G ops per second: of the whole run, or
// (best_round) of its fastest round, the rate a core reaches when nothing preempts it (on a
// shared host the average falls with the load: 200-400 GOP/s against a best round of ~970 for
// vpdpbusd, measured next to four busy processes). Compiled once, without ISA flags
// (peak_probe.cpp): the per-ISA files pass only their instruction loop, so no clock or
// parallel_for code built with AVX-512 flags can reach a generic caller.
#include "common/types.hpp"

namespace fm {

double peak_rate_g(int threads, double seconds, long long iters, double (*loop)(long long),
                   bool best_round = false);

}  // namespace fm
