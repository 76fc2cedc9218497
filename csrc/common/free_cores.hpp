#pragma once
// How many of this process's CPUs other processes leave free, measured from the kernel's
// per-CPU time counters (Linux /proc/stat) over windows of ~100 ms. The pool uses at most that
// many threads: next to a process that keeps a core busy, a second thread of ours only shares a
// core with it (and with our own calling thread) and makes every step slower than one thread.
#include <cstdint>

namespace fm {

class FreeCores {
 public:
  // Cores free for this process (its own CPU use counts as free), or -1 while unknown (no
  // /proc). Before the first window ends, the count of runnable threads stands in. Re-reads the
  // counters when `now_ns` is kWindowNs past the last read; otherwise returns the last value. Not
  // thread-safe: call under the pool's lock.
  double update(std::int64_t now_ns);

  static constexpr std::int64_t kWindowNs = 100'000'000;

 private:
  std::int64_t last_ns_ = 0;
  double last_busy_s_ = -1, last_total_s_ = 0, last_self_s_ = 0;
  double free_ = -1;
};

}  // namespace fm
