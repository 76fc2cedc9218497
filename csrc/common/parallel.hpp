#pragma once
// Thread control. Work is only ever split over independent outputs (rows, tiles, columns),
// never over a reduction, so results are bit-identical whatever the thread count.
#include "common/types.hpp"

#ifdef FM_HAVE_OPENMP
#include <omp.h>
#endif

namespace fm {

int get_num_threads();           // threads fastmlp uses (default: CPUs this process may use)
void set_num_threads(int n);     // n >= 1
bool have_openmp();

// Calls f(begin, end) on contiguous chunks of [0, n) in parallel, with at most `threads`
// threads and chunks of at least `grain` items. The split depends only on (n, threads,
// grain), so any per-item result is deterministic.
template <class F>
void parallel_for(index_t n, index_t grain, int threads, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  index_t max_chunks = (n + grain - 1) / grain;
  int nt = threads < 1 ? 1 : threads;
  if (max_chunks < nt) nt = static_cast<int>(max_chunks);
#ifdef FM_HAVE_OPENMP
  if (nt > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(nt)
    {
      int t = omp_get_thread_num();
      int T = omp_get_num_threads();
      index_t b = n * t / T, e = n * (t + 1) / T;
      if (b < e) f(b, e);
    }
    return;
  }
#endif
  f(index_t{0}, n);
}

template <class F>
void parallel_for(index_t n, index_t grain, F&& f) {
  parallel_for(n, grain, get_num_threads(), static_cast<F&&>(f));
}

}  // namespace fm
