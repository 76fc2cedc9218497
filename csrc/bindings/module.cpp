// The extension module only wires areas together; each area binds in its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_runtime(py::module_& m);
void register_ops(py::module_& m);
void register_kernels(py::module_& m);
void register_model(py::module_& m);
void register_quantized(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastmlp compute core (C++): GEMM, kernels, network and training engine";
  register_runtime(m);
  register_ops(m);
  register_kernels(m);
  register_model(m);
  register_quantized(m);
}
