// fastmlp's persistent thread pool behind run_chunks / parallel_for (see parallel.hpp).
//
// Why not OpenMP: an OpenMP region splits its work statically and ends at a barrier, so on a
// busy machine every region waits for a thread the OS has descheduled (measured on 2 cores
// next to one busy process: training at a third of its 1-thread speed). Here:
// - a region's chunks are claimed one at a time by CAS on per-thread range words (each thread
//   its static share first, then whatever the others left) that carry the region's generation,
//   so a worker decides from them alone; the job's function and context are read only after a
//   successful claim, when the region cannot end before that chunk is done. A worker that
//   wakes after the region ended finds nothing left and never touches the caller's stack. The
//   caller works too and returns when `done` reaches the chunk count, not when the workers
//   arrived.
// - workers spin briefly after a region (back-to-back regions of a training step find them
//   awake), then sleep on a futex: no core burnt while idle.
// - a region uses at most the cores other processes leave free (free_cores.hpp): next to a
//   process that keeps one of two cores busy, a second thread only time-shares a core with
//   the caller, and training at 2 threads measured 0.75-0.9x its 1-thread speed even with no
//   waits at all.
// - the caller measures each region: the time it waited for workers against the time their
//   chunks saved it. When the waits outweigh the savings (a worker preempted while holding a
//   chunk: milliseconds; NumPy's or PyTorch's threads spinning in this process, which the
//   load limit counts as ours), the pool runs regions on the caller alone for a back-off
//   period (doubled while the condition persists, up to a second), then tries again.
// - fork(): the child gets a fresh pool (pthread_atfork), the parent's threads do not exist
//   there. One region at a time: a second calling thread runs its region inline.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common/free_cores.hpp"
#include "common/parallel.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fm {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Involuntary context switches of the calling thread: the OS took the core away because
// something else wanted it (0 where unknown).
long preemptions() {
#if defined(__linux__) && defined(RUSAGE_THREAD)
  rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) == 0) return ru.ru_nivcsw;
#endif
  return 0;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sleep while *addr == expected (spurious returns allowed); wake every sleeper.
void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
#else
  if (addr->load() == expected) std::this_thread::sleep_for(std::chrono::microseconds(50));
#endif
}
void futex_wake_all(std::atomic<std::uint32_t>* addr) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
#else
  (void)addr;
#endif
}

// Tuning, by measurement on 2 cores (see docs/api.md "Threads"):
constexpr std::int64_t kSpinNs = 200'000;       // a worker stays awake this long after a region
constexpr std::int64_t kNoSpinNs = 10'000'000;  // ... unless preempted within this long
constexpr std::int64_t kPreemptCheckNs = 1'000'000;  // how often a worker looks
constexpr std::int64_t kLossLimitNs = 500'000;      // net waiting that sends the pool to one thread
constexpr std::int64_t kGainCapNs = 1'000'000;      // savings banked against later waits, at most
constexpr std::int64_t kBackoffMinNs = 20'000'000;  // first period on one thread
constexpr std::int64_t kBackoffMaxNs = 1'000'000'000;  // longest period on one thread

// A region is published as [gen:24][slots:8] in Pool::region. Slot s owns the chunks
// [nchunks * s / slots, nchunks * (s + 1) / slots) (OpenMP's static split: the same thread
// gets the same columns of W call after call, so they stay in its cache) and claims them
// through its own word [gen:24][end:20][next:20]; then it takes what is left in the other
// slots' words. A claim is a CAS that checks the generation, so a worker still holding an
// old region's numbers claims nothing.
constexpr int kChunkBits = 20;
constexpr std::uint64_t kChunkMask = (std::uint64_t{1} << kChunkBits) - 1;
constexpr std::uint32_t kGenMask = (1u << 24) - 1;
constexpr index_t kMaxChunksPerJob = index_t{1} << (kChunkBits - 1);
constexpr int kMaxSlots = 255;

std::uint64_t pack_range(std::uint32_t gen, index_t end, index_t next) {
  return (static_cast<std::uint64_t>(gen) << (2 * kChunkBits)) |
         (static_cast<std::uint64_t>(end) << kChunkBits) | static_cast<std::uint64_t>(next);
}
std::uint32_t range_gen(std::uint64_t w) {
  return static_cast<std::uint32_t>(w >> (2 * kChunkBits)) & kGenMask;
}
index_t range_end(std::uint64_t w) { return static_cast<index_t>((w >> kChunkBits) & kChunkMask); }
index_t range_next(std::uint64_t w) { return static_cast<index_t>(w & kChunkMask); }

struct alignas(64) RangeWord {  // one cache line each: slots claim their own without sharing
  std::atomic<std::uint64_t> w{0};
};

thread_local bool t_in_region = false;
std::atomic<bool> g_adaptive{true};  // back-off and load limit on (off: tests force the workers)

// Tuning aid (build with -DFM_POOL_STATS): region counts and times, printed at exit.
#ifdef FM_POOL_STATS
struct PoolStats {
  std::atomic<long> par{0}, ser{0}, limited{0}, wake_ns{0}, wakes{0}, slow_wake_ns{0},
      slow_wakes{0}, sleeps{0}, no_spins{0}, backoffs{0}, wait_ns{0}, work_ns{0}, mine{0},
      theirs{0};
  ~PoolStats() {
    std::fprintf(stderr,
                 "pool: limited %ld wake %.1f us (%ld), of which over 10 us %.1f ms (%ld); "
                 "sleeps %ld, spins skipped %ld\n",
                 limited.load(), wake_ns.load() / 1e3 / (wakes.load() + 1), wakes.load(),
                 slow_wake_ns.load() / 1e6, slow_wakes.load(), sleeps.load(), no_spins.load());
    std::fprintf(stderr,
                 "pool: parallel %ld serial %ld backoffs %ld wait %.1f ms work %.1f ms chunks mine "
                 "%ld theirs %ld\n",
                 par.load(), ser.load(), backoffs.load(), wait_ns.load() / 1e6,
                 work_ns.load() / 1e6, mine.load(), theirs.load());
  }
} g_stats;
#define FM_STAT(expr) (g_stats.expr)
#else
#define FM_STAT(expr) ((void)0)
#endif

struct Pool {
  std::mutex busy;                       // held by the caller of the running region
  std::atomic<std::uint64_t> region{0};  // [gen:24][slots:8]
  RangeWord ranges[kMaxSlots];
  std::uint32_t gen = 0;                // guarded by busy
  std::atomic<std::uint32_t> epoch{0};  // futex: bumped when a region is published
  std::atomic<int> sleepers{0};
  std::atomic<std::int64_t> published{0};  // FM_POOL_STATS only: when the region was published
  // The running job (valid for a thread that holds a claimed, unfinished chunk).
  std::atomic<ChunkFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<index_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::exception_ptr err;
  int nworkers = 0;  // guarded by busy
  // Back-off state, guarded by busy.
  std::int64_t serial_until = 0, backoff = kBackoffMinNs, balance = 0, parallel_since = 0;
  FreeCores free_cores;  // guarded by busy

  // Threads worth using now: at most the cores other processes leave free (rounded: a
  // neighbour using half a core or less still leaves room for two), never fewer than one.
  int threads_for_load(int threads, std::int64_t now) {
    const double free = g_adaptive.load(std::memory_order_relaxed) ? free_cores.update(now) : -1;
    if (free < 0) return threads;
    const int fit = static_cast<int>(free + 0.5);
    if (fit < threads) FM_STAT(limited++);
    return fit < 1 ? 1 : (fit < threads ? fit : threads);
  }

  // Claims the next chunk of slot r's range in region `g`; false when it has none left.
  bool claim(int r, std::uint32_t g, index_t* chunk) {
    std::atomic<std::uint64_t>& a = ranges[r].w;
    std::uint64_t w = a.load(std::memory_order_acquire);
    for (;;) {
      if (range_gen(w) != g || range_next(w) >= range_end(w)) return false;
      if (a.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        *chunk = range_next(w);
        return true;
      }
    }
  }

  // Claims and runs chunks of the current region as `slot`, its own range first, until none
  // is left anywhere. Returns the number run.
  index_t work(int slot) {
    index_t ran = 0;
    for (;;) {
      const std::uint64_t r = region.load(std::memory_order_acquire);
      const int slots = static_cast<int>(r & 0xff);
      const std::uint32_t g = static_cast<std::uint32_t>(r >> 8) & kGenMask;
      if (slot >= slots) return ran;
      index_t chunk = 0;
      bool got = false;
      for (int k = 0; k < slots && !got; ++k) got = claim((slot + k) % slots, g, &chunk);
      if (!got) return ran;
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          fn.load(std::memory_order_relaxed)(ctx.load(std::memory_order_relaxed), chunk, slot);
        } catch (...) {
          std::lock_guard<std::mutex> lock(err_mu);
          if (!err) err = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
      ++ran;
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  // A worker spins for kSpinNs after a region (the next region of a training step is often
  // microseconds away), then sleeps. A worker the OS preempted (the machine has fewer free
  // cores than threads) does not spin for a while: a spinning thread would take CPU from the
  // caller and from whoever else runs there.
  void worker_main(int slot) {
    t_in_region = true;  // anything a chunk calls runs inline
    std::uint32_t seen = epoch.load(std::memory_order_acquire);
    long preempted = preemptions();
    std::int64_t no_spin_until = 0, checked = 0;
    for (;;) {
      std::uint32_t e = epoch.load(std::memory_order_acquire);
      if (e == seen) {
        std::int64_t now = now_ns();
        if (now - checked >= kPreemptCheckNs) {  // a syscall: not after every region
          const long p = preemptions();
          if (p != preempted) no_spin_until = now + kNoSpinNs;
          preempted = p;
          checked = now;
        }
        const std::int64_t until = now < no_spin_until ? now : now + kSpinNs;
        if (now < no_spin_until) FM_STAT(no_spins++);
        int spins = 0;
        while ((e = epoch.load(std::memory_order_acquire)) == seen && now < until) {
          cpu_relax();
          if (++spins % 64 == 0) now = now_ns();
        }
        if (e == seen) {
          FM_STAT(sleeps++);
          sleepers.fetch_add(1, std::memory_order_seq_cst);
          if (epoch.load(std::memory_order_seq_cst) == seen) futex_wait(&epoch, seen);
          sleepers.fetch_sub(1, std::memory_order_seq_cst);
          continue;
        }
      }
      seen = e;
#ifdef FM_POOL_STATS
      {
        const std::int64_t pub = published.load();
        const std::int64_t d = now_ns() - pub;
        if (d > 0 && d < 100000000) {
          g_stats.wake_ns += d;
          g_stats.wakes++;
          if (d > 10000) g_stats.slow_wake_ns += d, g_stats.slow_wakes++;
        }
      }
#endif
      work(slot);
    }
  }

  // Starts workers up to `want` (on the caller, under busy). A failure to start one only
  // means fewer threads.
  void grow(int want) {
    while (nworkers < want) {
      try {
        const int slot = nworkers + 1;
        std::thread([this, slot] { worker_main(slot); }).detach();
        ++nworkers;
      } catch (...) {
        return;
      }
    }
  }

  // One region on the caller and up to `threads - 1` workers; returns the first exception.
  std::exception_ptr run(index_t nchunks, int threads, ChunkFn f, void* c) {
    grow(threads - 1);
    const int slots = std::min(threads, nworkers + 1);
    fn.store(f, std::memory_order_relaxed);
    ctx.store(c, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    failed.store(false, std::memory_order_relaxed);
    err = nullptr;
    gen = (gen + 1) & kGenMask;
    for (int r = 0; r < slots; ++r)
      ranges[r].w.store(pack_range(gen, nchunks * (r + 1) / slots, nchunks * r / slots),
                        std::memory_order_relaxed);
    region.store((static_cast<std::uint64_t>(gen) << 8) | static_cast<std::uint64_t>(slots),
                 std::memory_order_release);
#ifdef FM_POOL_STATS
    published.store(now_ns());
#endif
    epoch.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(&epoch);

    const std::int64_t t0 = now_ns();
    const index_t mine = work(0);
    const std::int64_t t1 = now_ns();
    int spins = 0;
    while (done.load(std::memory_order_acquire) < nchunks) {
      cpu_relax();
      if (++spins > 2000) std::this_thread::yield();  // let a preempted worker have this core
    }
    const std::int64_t t2 = now_ns();
    region.store(static_cast<std::uint64_t>(gen) << 8,
                 std::memory_order_release);  // no slots: done
    account(nchunks, mine, t1 - t0, t2 - t1, t2);
    return err;
  }

  // Region bookkeeping: waits for workers against the time their chunks saved (estimated
  // from the caller's own chunk time). Net loss beyond kLossLimitNs: one thread for a while.
  void account(index_t nchunks, index_t mine, std::int64_t work_ns, std::int64_t wait_ns,
               std::int64_t now) {
    const index_t theirs = nchunks - mine;
    FM_STAT(par++), FM_STAT(wait_ns += wait_ns), FM_STAT(work_ns += work_ns), FM_STAT(mine += mine),
        FM_STAT(theirs += theirs);
    const std::int64_t saved = mine > 0 ? work_ns / mine * theirs : 0;
    balance = std::min(balance + saved - wait_ns, kGainCapNs);
    if (balance >= -kLossLimitNs || !g_adaptive.load(std::memory_order_relaxed)) return;
    // A worker was late again soon after the last back-off: the condition persists.
    backoff =
        now - parallel_since < 4 * backoff ? std::min(2 * backoff, kBackoffMaxNs) : kBackoffMinNs;
    serial_until = now + backoff;
    FM_STAT(backoffs++);
    parallel_since = serial_until;
    balance = 0;
  }
};

std::atomic<Pool*> g_pool{nullptr};

#if defined(__linux__)
void forget_pool_in_child() {
  g_pool.store(nullptr, std::memory_order_relaxed);
}  // leaked on purpose
#endif

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  static std::once_flag atfork_once;
#if defined(__linux__)
  std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, &forget_pool_in_child); });
#endif
  Pool* fresh = new Pool;
  if (g_pool.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;
  return *p;
}

void run_inline(index_t nchunks, ChunkFn fn, void* ctx) {
  const bool outer = !t_in_region;
  t_in_region = true;
  try {
    for (index_t i = 0; i < nchunks; ++i) fn(ctx, i, 0);
  } catch (...) {
    if (outer) t_in_region = false;
    throw;
  }
  if (outer) t_in_region = false;
}

}  // namespace

bool in_parallel_region() { return t_in_region; }

bool set_pool_adaptive(bool on) { return g_adaptive.exchange(on); }

int usable_threads(int threads) {
  if (threads <= 1 || t_in_region) return 1;
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.busy, std::try_to_lock);
  if (!lock.owns_lock()) return 1;
  const std::int64_t now = now_ns();
  return now < p.serial_until ? 1 : p.threads_for_load(threads, now);
}

void run_chunks(index_t nchunks, int threads, ChunkFn fn, void* ctx) {
  if (nchunks <= 0) return;
  if (threads > nchunks) threads = static_cast<int>(nchunks);
  if (threads > kMaxSlots) threads = kMaxSlots;
  if (threads <= 1 || t_in_region || nchunks > kMaxChunksPerJob)
    return run_inline(nchunks, fn, ctx);
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.busy, std::try_to_lock);
  const std::int64_t now = lock.owns_lock() ? now_ns() : 0;
  if (lock.owns_lock()) threads = p.threads_for_load(threads, now);
  if (!lock.owns_lock() || now < p.serial_until || threads <= 1) {
    FM_STAT(ser++);
    return run_inline(nchunks, fn, ctx);
  }
  t_in_region = true;
  std::exception_ptr err = p.run(nchunks, threads, fn, ctx);
  t_in_region = false;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace fm
