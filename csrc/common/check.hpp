#pragma once
// FM_CHECK: every entry point validates shapes and sizes before touching memory.
// A failed check throws std::invalid_argument, which pybind11 turns into ValueError.
// Nothing reachable from Python may abort().
#include <sstream>
#include <stdexcept>
#include <string>

namespace fm::detail {
template <class... Args>
[[noreturn]] inline void throw_invalid(const char* file, int line, Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  (void)file;
  (void)line;
  throw std::invalid_argument(os.str());
}
}  // namespace fm::detail

#define FM_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) ::fm::detail::throw_invalid(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)
