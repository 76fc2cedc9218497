#pragma once
// Checks on NumPy arguments before C++ touches their memory: dtype (exactly the expected
// one, never a silent conversion), C-contiguity, alignment, ndim and shape. Every failure is
// a ValueError that names the argument. Shared by every register_*.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

// The one float32/float64 switch of the bindings: calls f(float()) or f(double()) after the
// dtype of `a` (f reads the element type as decltype of its argument); any other dtype is a
// ValueError naming `name`.
template <class F>
decltype(auto) dispatch_float(const py::array& a, const char* name, F&& f) {
  if (has_dtype<double>(a)) return f(double());
  FM_CHECK(has_dtype<float>(a), "'", name, "' must have dtype float32 or float64, got ",
           std::string(py::str(a.dtype())));
  return f(float());
}

// The same after a dtype given by name ("float32" or "float64").
template <class F>
decltype(auto) dispatch_float(const std::string& dtype, F&& f) {
  if (dtype == "float64") return f(double());
  FM_CHECK(dtype == "float32", "dtype must be float32 or float64, got '", dtype, "'");
  return f(float());
}

inline void check_layout(const py::array& a, const char* name) {
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  FM_CHECK(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_, "'", name,
           "' must be C-contiguous");
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

inline std::vector<index_t> shape_of(const py::array& a) {
  std::vector<index_t> s(a.ndim());
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s[i] = a.shape(i);
  return s;
}

inline index_t numel(const std::vector<index_t>& shape) {
  index_t n = 1;
  for (index_t d : shape) n *= d;
  return n;
}

inline void need_2d(const py::array& a, const char* name) {
  FM_CHECK(a.ndim() == 2, "'", name, "' must be 2-D, got shape ", shape_str(a));
}

// An input of dtype T, C-contiguous, and (when given) of the first array's shape.
template <class T>
const T* in(const py::array& a, const char* name, const std::vector<index_t>* shape = nullptr) {
  FM_CHECK(has_dtype<T>(a), "'", name, "' must have dtype ", dtype_name<T>(), ", got ",
           std::string(py::str(a.dtype())));
  check_layout(a, name);
  if (shape)
    FM_CHECK(shape_of(a) == *shape, "'", name, "' has shape ", shape_str(a),
             ", expected a shape like the first array's");
  return static_cast<const T*>(a.data());
}

// Same, for an array updated in place (must be writable).
template <class T>
T* inout(py::array& a, const char* name, const std::vector<index_t>* shape = nullptr) {
  in<T>(a, name, shape);
  FM_CHECK(a.writeable(), "'", name, "' must be writable");
  return static_cast<T*>(a.mutable_data());
}

template <class T>
py::array_t<T> new_like(const std::vector<index_t>& shape) {
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  return py::array_t<T>(s);
}

// The output array: a new one, or `out` (right dtype and shape, writable; may be an input).
template <class T>
py::array output(const py::object& out, const std::vector<index_t>& shape, T** data) {
  py::array o = out.is_none() ? py::array(new_like<T>(shape)) : as_array(out, "out");
  *data = inout<T>(o, "out", &shape);
  return o;
}

// A float matrix (rows, cols) of the network's dtype; cols < 0: any. Returns the data.
template <class T>
const T* float_matrix(const py::array& a, const char* name, index_t cols, index_t* rows) {
  FM_CHECK(has_dtype<T>(a), "'", name, "' must have dtype ", dtype_name<T>(),
           " (the network's dtype), got ", std::string(py::str(a.dtype())));
  need_2d(a, name);
  check_layout(a, name);
  FM_CHECK(cols < 0 || a.shape(1) == cols, "'", name, "' must have ", cols, " columns, got shape ",
           shape_str(a));
  *rows = static_cast<index_t>(a.shape(0));
  return static_cast<const T*>(a.data());
}

// int32 labels (n,) in [0, k): every label checked here, before any compute.
inline const std::int32_t* label_vector(const py::array& a, const char* name, index_t n,
                                        index_t k) {
  FM_CHECK(has_dtype<std::int32_t>(a), "'", name, "' labels must have dtype int32, got ",
           std::string(py::str(a.dtype())));
  FM_CHECK(a.ndim() == 1, "'", name, "' labels must be 1-D, got shape ", shape_str(a));
  check_layout(a, name);
  FM_CHECK(static_cast<index_t>(a.shape(0)) == n, "'", name, "' has ", a.shape(0),
           " rows but X has ", n);
  const std::int32_t* p = static_cast<const std::int32_t*>(a.data());
  for (index_t i = 0; i < n; ++i)
    FM_CHECK(p[i] >= 0 && p[i] < k, "'", name, "' label ", p[i], " at row ", i, " is outside [0, ",
             k, ")");
  return p;
}

}  // namespace fm::bind
