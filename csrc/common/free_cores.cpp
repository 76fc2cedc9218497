#include "common/free_cores.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace fm {
namespace {

#if defined(__linux__)
// Busy and total seconds summed over the CPUs this process may run on; false if unreadable.
// Busy = user + nice + system + irq + softirq + steal (a VM's stolen time is not ours either);
// total adds idle + iowait. Guest time is already inside user.
// *running: the kernel's count of runnable threads right now, machine-wide ("procs_running").
bool read_cpu_seconds(double* busy, double* total, int* ncpu, int* running) {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return false;
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return false;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  char line[512];
  unsigned long long b = 0, t = 0;
  int n = 0;
  *running = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "procs_running ", 14) == 0) {
      *running = std::atoi(line + 14);
      break;  // the last line we need
    }
    if (std::strncmp(line, "cpu", 3) != 0) continue;
    if (line[3] < '0' || line[3] > '9') continue;  // the aggregate "cpu " line
    int id = 0;
    unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, soft = 0,
                       steal = 0;
    if (std::sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &user, &nice, &sys,
                    &idle, &iowait, &irq, &soft, &steal) < 5)
      continue;
    if (id < 0 || id >= CPU_SETSIZE || !CPU_ISSET(id, &mask)) continue;
    const unsigned long long busy_ticks = user + nice + sys + irq + soft + steal;
    b += busy_ticks;
    t += busy_ticks + idle + iowait;
    ++n;
  }
  std::fclose(f);
  if (n == 0 || hz <= 0) return false;
  *busy = static_cast<double>(b) / hz;
  *total = static_cast<double>(t) / hz;
  *ncpu = n;
  return true;
}

double self_cpu_seconds() {
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}
#endif

}  // namespace

double FreeCores::update(std::int64_t now_ns) {
#if defined(__linux__)
  if (last_busy_s_ >= 0 && now_ns - last_ns_ < kWindowNs) return free_;
  double busy = 0, total = 0;
  int ncpu = 0, running = -1;
  if (!read_cpu_seconds(&busy, &total, &ncpu, &running)) return free_ = -1;
  const double self = self_cpu_seconds();
  if (last_busy_s_ < 0 && running > 0) {
    // No window yet: the runnable threads other than this one stand in for the load, so the
    // first 100 ms next to a busy process do not run two threads on one free core.
    free_ = std::max(0.0, static_cast<double>(ncpu) - (running - 1));
  } else if (total > last_total_s_) {
    const double wall = (total - last_total_s_) / ncpu;  // seconds of this window
    double others = (busy - last_busy_s_) - (self - last_self_s_);
    if (others < 0) others = 0;
    const double now_free = ncpu - others / wall;
    // Ticks are 10 ms, so a rise is smoothed over two windows; a fall is taken at once: one
    // thread too few costs a window of parallel speed-up, one too many makes every region
    // wait for a thread sharing a core with someone else.
    free_ = (free_ < 0 || now_free < free_) ? now_free : 0.5 * (free_ + now_free);
  }
  last_ns_ = now_ns;
  last_busy_s_ = busy;
  last_total_s_ = total;
  last_self_s_ = self;
  return free_;
#else
  (void)now_ns;
  return -1;
#endif
}

}  // namespace fm
