#include "common/parallel.hpp"

#include <atomic>
#include <cstdlib>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace fm {
namespace {

int default_threads() {
  if (const char* s = std::getenv("OMP_NUM_THREADS")) {
    int v = std::atoi(s);
    if (v >= 1) return v;
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c >= 1) return c;
  }
#endif
  unsigned hc = std::thread::hardware_concurrency();
  return hc >= 1 ? static_cast<int>(hc) : 1;
}

std::atomic<int>& threads_ref() {
  static std::atomic<int> n{default_threads()};
  return n;
}

}  // namespace

int get_num_threads() { return threads_ref().load(std::memory_order_relaxed); }

void set_num_threads(int n) { threads_ref().store(n < 1 ? 1 : n, std::memory_order_relaxed); }

// The kernels run on fastmlp's own pool (thread_pool.cpp), not OpenMP.
bool have_openmp() { return false; }

}  // namespace fm
