// Runtime: threads, build information, ISA selection.
#include <pybind11/pybind11.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "common/cpu_features.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm_bf16.hpp"
#include "gemm/gemm_int8.hpp"

namespace py = pybind11;

#ifndef FM_VERSION
#define FM_VERSION "0.0.0"
#endif
#ifndef FM_COMPILER
#define FM_COMPILER "unknown"
#endif

namespace {

// A misspelt FASTMLP_ISA would otherwise pass unnoticed (the tests that force a lower ISA
// would silently test the best one): warn once, at import.
void warn_unknown_isa_request() {
  const char* s = fm::unknown_isa_request();
  if (!s) return;
  const std::string msg =
      std::string("FASTMLP_ISA='") + s +
      "' names no instruction set (valid: generic, avx2, avx512); ignored, using " +
      fm::isa_name(fm::active_isa());
  if (PyErr_WarnEx(PyExc_RuntimeWarning, msg.c_str(), 1) != 0) throw py::error_already_set();
}

}  // namespace

void register_runtime(py::module_& m) {
  warn_unknown_isa_request();
  m.def("get_num_threads", &fm::get_num_threads, "Threads fastmlp's kernels use.");
  m.def(
      "set_num_threads",
      [](int n) {
        FM_CHECK(n >= 1, "n_threads must be >= 1, got ", n);
        fm::set_num_threads(n);
      },
      py::arg("n"), "Set the number of threads fastmlp's kernels use (n >= 1).");
  m.def("build_info", []() {
    py::dict d;
    d["version"] = FM_VERSION;
    d["compiler"] = FM_COMPILER;
    d["openmp"] = fm::have_openmp();
    d["threading"] = "fastmlp pool";
    d["isa"] = fm::isa_name(fm::active_isa());
    d["isa_detected"] = fm::isa_name(fm::detect_isa());
#ifdef __x86_64__
    d["isa_compiled"] = py::make_tuple("avx512", "avx2", "generic");
#else
    d["isa_compiled"] = py::make_tuple("generic");
#endif
    d["index_bits"] = 64;
    d["bf16"] = fm::gemm_bf16_path();  // the path precision="bf16" GEMMs take
    d["int8"] = fm::gemm_int8_path();  // the path quantized (int8) models take
    return d;
  });
  // Test hook for the pool: runs parallel_for(n, grain, threads) and returns how often each
  // item was visited (each chunk also runs a nested parallel_for, which must run inline);
  // the chunk holding item throw_at (>= 0) throws, which must surface here as a ValueError.
  m.def(
      "_parallel_selftest",
      [](fm::index_t n, fm::index_t grain, int threads, fm::index_t throw_at) {
        std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n > 0 ? n : 0));
        {
          py::gil_scoped_release nogil;
          fm::parallel_for(n, grain, threads, [&](fm::index_t b, fm::index_t e) {
            if (throw_at >= b && throw_at < e)
              throw std::invalid_argument("selftest: chunk failed");
            fm::parallel_for(e - b, 1, threads, [&](fm::index_t b2, fm::index_t e2) {
              for (fm::index_t i = b + b2; i < b + e2; ++i) seen[static_cast<std::size_t>(i)]++;
            });
          });
        }
        py::list out;
        for (auto& s : seen) out.append(s.load());
        return out;
      },
      py::arg("n"), py::arg("grain"), py::arg("threads"), py::arg("throw_at") = -1);
  m.def("_set_pool_adaptive", &fm::set_pool_adaptive, py::arg("on"),
        "Tests only: turn the pool's back-off and load limit off (False) or on; returns the old "
        "value.");
}
