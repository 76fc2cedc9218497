#include "gemm/peak_probe.hpp"

#include <chrono>

#include "common/parallel.hpp"

namespace fm {

double peak_rate_g(int threads, double seconds, long long iters, double (*loop)(long long),
                   bool best_round) {
  using clock = std::chrono::steady_clock;
  // Every thread runs its loop: the pool's back-off and load limit would run a round on the
  // caller alone (after NumPy's or PyTorch's threads spun in this process, say), and the
  // probe would report one core's rate as the peak of `threads`.
  struct Forced {
    bool was = set_pool_adaptive(false);
    ~Forced() { set_pool_adaptive(was); }
  } forced;
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

}  // namespace fm
