#pragma once
// Thread control and work-sharing. Work is only ever split over independent outputs (rows,
// tiles, columns), never over a reduction, so results are bit-identical whatever the thread
// count. Regions run on fastmlp's own pool (thread_pool.cpp): threads claim chunks one at a
// time (their static share first, then what the others left), the calling thread works too,
// and a region ends when every chunk is done, so a thread the OS has descheduled holds nothing
// up unless it holds a chunk.
#include <type_traits>

#include "common/types.hpp"

namespace fm {

int get_num_threads();        // threads fastmlp uses (default: CPUs this process may use)
void set_num_threads(int n);  // n >= 1
bool have_openmp();           // false: regions run on fastmlp's own pool

// Calls fn(ctx, chunk, slot) once for every chunk in [0, nchunks), on at most `threads`
// threads; slot (< threads) names the executing thread (the caller is slot 0), for per-thread
// scratch. Returns when every chunk is done; the first exception a chunk throws is rethrown
// here (the remaining chunks are skipped). Runs inline (slot 0) when threads <= 1, inside
// another region, while another thread owns the pool, or while the pool has backed off to
// one thread because a worker kept arriving late (see thread_pool.cpp).
using ChunkFn = void (*)(void* ctx, index_t chunk, int slot);
void run_chunks(index_t nchunks, int threads, ChunkFn fn, void* ctx);

// True on a pool worker and on a caller inside run_chunks: a nested region runs inline.
bool in_parallel_region();

// Threads a region started now would get (<= threads): 1 inside a region, while another
// thread owns the pool or while it has backed off; at most the cores other processes leave
// free (free_cores.hpp). For callers whose split has a cost per chunk (GEMM packing).
int usable_threads(int threads);

// Tests and the peak probes only: false turns off the back-off and the load limit (every
// region uses the workers), so that a test can force chunks onto threads the OS deschedules
// and a probe measures every thread. Returns the previous value.
bool set_pool_adaptive(bool on);

// Most chunks a parallel_for makes: enough for a late or slow thread to leave its share to the
// others, few enough that handing them out costs nothing measurable.
inline constexpr index_t kMaxChunks = 64;

// Calls f(begin, end) on contiguous chunks of [0, n) in parallel, with at most `threads`
// threads and chunks of about `grain` items (n / ceil(n / grain), at most kMaxChunks). The chunk
// boundaries depend only on (n, grain), never on the thread count or on timing.
template <class F>
void parallel_for(index_t n, index_t grain, int threads, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  index_t chunks = (n + grain - 1) / grain;  // as many as the grain allows (as before the pool)
  if (chunks > kMaxChunks) chunks = kMaxChunks;
  if (chunks == 1) {
    f(index_t{0}, n);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  // Boundaries on multiples of 16 items when chunks are long enough: element-wise kernels then
  // start every chunk on a whole 64-byte line (unaligned AVX-512 loads cost two lines each).
  struct Ctx {
    index_t n, chunks;
    bool align;
    Fn* f;
    index_t bound(index_t i) const {
      if (i == chunks) return n;
      const index_t b = n * i / chunks;
      return align ? b / 16 * 16 : b;
    }
  } ctx{n, chunks, n / chunks >= 64, &f};
  run_chunks(
      chunks, threads,
      [](void* p, index_t i, int) {
        const Ctx& c = *static_cast<const Ctx*>(p);
        (*c.f)(c.bound(i), c.bound(i + 1));
      },
      &ctx);
}

template <class F>
void parallel_for(index_t n, index_t grain, F&& f) {
  parallel_for(n, grain, get_num_threads(), static_cast<F&&>(f));
}

}  // namespace fm
