#pragma once
// The timing loop of the peak probes (vdpbf16ps for the bf16 GEMM, vpdpbusd for the int8 one):
// `threads` threads each run rounds of `loop(iters)` (which returns the ops it did) until
// `seconds` have passed; returns G ops per second: of the whole run, or (best_round) of its
// fastest round, the rate a core reaches when nothing preempts it (on a shared host the
// average falls with the load: 200-400 GOP/s against a best round of ~970 for vpdpbusd, measured
// next to four busy processes). Per-ISA include only (namespace fm::FM_ISA_NS).
#include <chrono>

#include "common/parallel.hpp"
#include "common/types.hpp"

namespace fm {
namespace FM_ISA_NS {

template <class Loop>
double peak_rate_g(int threads, double seconds, long long iters, Loop loop,
                   bool best_round = false) {
  using clock = std::chrono::steady_clock;
  double ops = 0.0, best = 0.0;
  const auto t0 = clock::now();
  double elapsed = 0.0;
  do {
    double round[64] = {};
    const auto r0 = clock::now();
    parallel_for(index_t(threads), 1, threads, [&](index_t b, index_t e) {
      for (index_t t = b; t < e; ++t) round[t % 64] += loop(iters);
    });
    const auto r1 = clock::now();
    double round_ops = 0.0;
    for (double r : round) round_ops += r;
    ops += round_ops;
    const double dt = std::chrono::duration<double>(r1 - r0).count();
    if (dt > 0.0 && round_ops / dt > best) best = round_ops / dt;
    elapsed = std::chrono::duration<double>(r1 - t0).count();
  } while (elapsed < seconds);
  return (best_round ? best : ops / elapsed) / 1e9;
}

}  // namespace FM_ISA_NS
}  // namespace fm
