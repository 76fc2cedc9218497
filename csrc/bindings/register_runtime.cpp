// Runtime: threads, build information, ISA selection.
#include <pybind11/pybind11.h>

#include <string>

#include "common/check.hpp"
#include "common/cpu_features.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm_bf16.hpp"

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
    d["isa"] = fm::isa_name(fm::active_isa());
    d["isa_detected"] = fm::isa_name(fm::detect_isa());
#ifdef __x86_64__
    d["isa_compiled"] = py::make_tuple("avx512", "avx2", "generic");
#else
    d["isa_compiled"] = py::make_tuple("generic");
#endif
    d["index_bits"] = 64;
    d["bf16"] = fm::gemm_bf16_path();  // the path precision="bf16" GEMMs take
    return d;
  });
}
