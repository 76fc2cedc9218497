#pragma once
// Checks on NumPy arguments before C++ touches their memory: dtype (exactly the expected
// one, never a silent conversion), C-contiguity, alignment, ndim and shape. Every failure is
// a ValueError that names the argument.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "common/check.hpp"
#include "common/types.hpp"

namespace fm::bind {

namespace py = pybind11;

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// True when `a` holds exactly the native dtype of T.
template <class T>
bool has_dtype(const py::array& a) {
  return py::detail::npy_api::get().PyArray_EquivTypes_(a.dtype().ptr(), py::dtype::of<T>().ptr());
}

inline void check_layout(const py::array& a, const char* name) {
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  FM_CHECK(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_, "'", name, "' must be C-contiguous");
  FM_CHECK(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_, "'", name, "' must be aligned");
}

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

inline py::array as_array(const py::handle& h, const char* name) {
  FM_CHECK(py::isinstance<py::array>(h), "'", name, "' must be a numpy array, got ",
           std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return py::reinterpret_borrow<py::array>(h);
}

// A float matrix (rows, cols) of the network's dtype; cols < 0: any. Returns the data.
template <class T>
const T* float_matrix(const py::array& a, const char* name, index_t cols, index_t* rows) {
  FM_CHECK(has_dtype<T>(a), "'", name, "' must have dtype ", dtype_name<T>(), " (the network's dtype), got ",
           std::string(py::str(a.dtype())));
  FM_CHECK(a.ndim() == 2, "'", name, "' must be 2-D, got shape ", shape_str(a));
  check_layout(a, name);
  FM_CHECK(cols < 0 || a.shape(1) == cols, "'", name, "' must have ", cols, " columns, got shape ",
           shape_str(a));
  *rows = static_cast<index_t>(a.shape(0));
  return static_cast<const T*>(a.data());
}

// int32 labels (n,) in [0, k): every label checked here, before any compute.
inline const std::int32_t* label_vector(const py::array& a, const char* name, index_t n, index_t k) {
  FM_CHECK(has_dtype<std::int32_t>(a), "'", name, "' labels must have dtype int32, got ",
           std::string(py::str(a.dtype())));
  FM_CHECK(a.ndim() == 1, "'", name, "' labels must be 1-D, got shape ", shape_str(a));
  check_layout(a, name);
  FM_CHECK(static_cast<index_t>(a.shape(0)) == n, "'", name, "' has ", a.shape(0), " rows but X has ", n);
  const std::int32_t* p = static_cast<const std::int32_t*>(a.data());
  for (index_t i = 0; i < n; ++i)
    FM_CHECK(p[i] >= 0 && p[i] < k, "'", name, "' label ", p[i], " at row ", i, " is outside [0, ", k, ")");
  return p;
}

}  // namespace fm::bind
