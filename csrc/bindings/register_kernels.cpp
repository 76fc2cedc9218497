// `_core.kernels`: each element-wise / row-wise kernel on NumPy arrays, for tests and
// benchmarks. Arrays must already have the right dtype (float32 or float64, all the same),
// be C-contiguous and have matching shapes: anything else is a ValueError, never a copy.
// Outputs are new arrays; optimizer and running statistics are updated in place.
// Compute runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "common/types.hpp"
#include "kernels/activation.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/dropout.hpp"
#include "kernels/loss.hpp"
#include "kernels/optimizer.hpp"
#include "kernels/reduce.hpp"

namespace py = pybind11;

namespace {

using fm::index_t;

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// True when `a` holds exactly the native dtype of T (no conversion is ever made).
template <class T>
bool has_dtype(const py::array& a) {
  return py::detail::npy_api::get().PyArray_EquivTypes_(a.dtype().ptr(), py::dtype::of<T>().ptr());
}

void check_layout(const py::array& a, const char* name) {
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  FM_CHECK(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_, "'", name, "' must be C-contiguous");
  FM_CHECK(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_, "'", name, "' must be aligned");
}

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

py::array as_array(const py::handle& h, const char* name) {
  FM_CHECK(py::isinstance<py::array>(h), "'", name, "' must be a numpy array, got ",
           std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return py::reinterpret_borrow<py::array>(h);
}

fm::Act act_from_name(const std::string& s) {
  if (s == "linear") return fm::Act::linear;
  if (s == "sigmoid") return fm::Act::sigmoid;
  if (s == "tanh") return fm::Act::tanh;
  if (s == "relu") return fm::Act::relu;
  if (s == "leaky_relu") return fm::Act::leaky_relu;
  if (s == "softplus") return fm::Act::softplus;
  if (s == "elu") return fm::Act::elu;
  if (s == "gelu") return fm::Act::gelu;
  if (s == "silu" || s == "swish") return fm::Act::silu;
  if (s == "softmax") return fm::Act::softmax;
  FM_CHECK(false, "unknown activation '", s, "'");
}

bool is_f64(const py::array& a, const char* name) {
  if (has_dtype<double>(a)) return true;
  FM_CHECK(has_dtype<float>(a), "'", name, "' must have dtype float32 or float64, got ",
           std::string(py::str(a.dtype())));
  return false;
}

std::vector<index_t> shape_of(const py::array& a) {
  std::vector<index_t> s(a.ndim());
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s[i] = a.shape(i);
  return s;
}

// Checks dtype (T), C-contiguity and (when given) the shape of an input.
template <class T>
const T* in(const py::array& a, const char* name, const std::vector<index_t>* shape = nullptr) {
  FM_CHECK(has_dtype<T>(a), "'", name, "' must have dtype ", dtype_name<T>(), ", got ",
           std::string(py::str(a.dtype())));
  check_layout(a, name);
  if (shape) FM_CHECK(shape_of(a) == *shape, "'", name, "' has shape ", shape_str(a), ", expected a shape like the first array's");
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

index_t numel(const std::vector<index_t>& s) {
  index_t n = 1;
  for (index_t d : s) n *= d;
  return n;
}

void need_2d(const py::array& a, const char* name) {
  FM_CHECK(a.ndim() == 2, "'", name, "' must be 2-D, got shape ", shape_str(a));
}

// ---- activations ---------------------------------------------------------------------------

template <class T>
py::array act_fwd_t(fm::Act act, const py::array& x, double alpha) {
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  auto y = new_like<T>(shape);
  T* yp = y.mutable_data();
  index_t n = numel(shape);
  {
    py::gil_scoped_release nogil;
    fm::act_fwd<T>(act, static_cast<T>(alpha), xp, yp, n);
  }
  return std::move(y);
}

template <class T>
py::array act_bwd_t(fm::Act act, const py::array& dy, const py::object& z, const py::object& y,
                    double alpha) {
  auto shape = shape_of(dy);
  const T* dyp = in<T>(dy, "dy");
  const T* zp = nullptr;
  const T* yp = nullptr;
  py::array za, ya;  // keep alive
  if (!z.is_none()) {
    za = as_array(z, "z");
    zp = in<T>(za, "z", &shape);
  }
  if (!y.is_none()) {
    ya = as_array(y, "y");
    yp = in<T>(ya, "y", &shape);
  }
  auto dz = new_like<T>(shape);
  T* dzp = dz.mutable_data();
  index_t n = numel(shape);
  {
    py::gil_scoped_release nogil;
    fm::act_bwd<T>(act, static_cast<T>(alpha), zp, yp, dyp, dzp, n);
  }
  return std::move(dz);
}

template <class T>
py::array softmax_fwd_t(const py::array& x) {
  need_2d(x, "x");
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  auto y = new_like<T>(shape);
  T* yp = y.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::softmax_fwd<T>(xp, yp, shape[0], shape[1]);
  }
  return std::move(y);
}

template <class T>
py::array softmax_bwd_t(const py::array& y, const py::array& dy) {
  need_2d(y, "y");
  auto shape = shape_of(y);
  const T* yp = in<T>(y, "y");
  const T* dyp = in<T>(dy, "dy", &shape);
  auto dx = new_like<T>(shape);
  T* dxp = dx.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::softmax_bwd<T>(yp, dyp, dxp, shape[0], shape[1]);
  }
  return std::move(dx);
}

// ---- losses ----------------------------------------------------------------------------------

// (loss, grad or None, correct)
template <class T>
py::tuple xent_labels_t(const py::array& logits, const py::array& labels, double scale, bool want_grad) {
  need_2d(logits, "logits");
  auto shape = shape_of(logits);
  const T* xp = in<T>(logits, "logits");
  FM_CHECK(has_dtype<std::int32_t>(labels), "'labels' must have dtype int32, got ", std::string(py::str(labels.dtype())));
  check_layout(labels, "labels");
  FM_CHECK(labels.ndim() == 1 && labels.shape(0) == shape[0], "'labels' must have shape (", shape[0], ",), got ",
           shape_str(labels));
  const auto* lp = static_cast<const std::int32_t*>(labels.data());
  py::object g = py::none();
  T* gp = nullptr;
  if (want_grad) {
    auto ga = new_like<T>(shape);
    gp = ga.mutable_data();
    g = ga;
  }
  index_t correct = 0;
  double loss;
  {
    py::gil_scoped_release nogil;
    loss = fm::softmax_xent_labels<T>(xp, lp, shape[0], shape[1], static_cast<T>(scale), gp, &correct);
  }
  return py::make_tuple(loss, g, correct);
}

enum class PairLoss { xent_probs, bce };

template <class T>
py::tuple pair_loss_t(PairLoss kind, const py::array& logits, const py::array& target, double scale,
                      bool want_grad) {
  auto shape = shape_of(logits);
  if (kind == PairLoss::xent_probs) need_2d(logits, "logits");
  FM_CHECK(logits.ndim() == 1 || logits.ndim() == 2, "'logits' must be 1-D or 2-D, got shape ", shape_str(logits));
  const T* xp = in<T>(logits, "logits");
  const T* tp = in<T>(target, "target", &shape);
  index_t n = shape[0], k = shape.size() == 2 ? shape[1] : 1;
  py::object g = py::none();
  T* gp = nullptr;
  if (want_grad) {
    auto ga = new_like<T>(shape);
    gp = ga.mutable_data();
    g = ga;
  }
  index_t correct = 0;
  double loss;
  {
    py::gil_scoped_release nogil;
    if (kind == PairLoss::xent_probs)
      loss = fm::softmax_xent_probs<T>(xp, tp, n, k, static_cast<T>(scale), gp, &correct);
    else
      loss = fm::sigmoid_bce<T>(xp, tp, n, k, static_cast<T>(scale), gp, &correct);
  }
  return py::make_tuple(loss, g, correct);
}

template <class T>
py::tuple mse_t(const py::array& pred, const py::array& target, double scale, bool want_grad) {
  auto shape = shape_of(pred);
  const T* pp = in<T>(pred, "pred");
  const T* tp = in<T>(target, "target", &shape);
  py::object g = py::none();
  T* gp = nullptr;
  if (want_grad) {
    auto ga = new_like<T>(shape);
    gp = ga.mutable_data();
    g = ga;
  }
  double loss;
  {
    py::gil_scoped_release nogil;
    loss = fm::mse<T>(pp, tp, numel(shape), static_cast<T>(scale), gp);
  }
  return py::make_tuple(loss, g);
}

template <class T>
py::array sigmoid_link_t(const py::array& x) {
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  auto y = new_like<T>(shape);
  T* yp = y.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::sigmoid_link<T>(xp, yp, numel(shape));
  }
  return std::move(y);
}

}  // namespace

void register_kernels(py::module_& m) {
  py::module_ k = m.def_submodule("kernels", "Element-wise and row-wise kernels on NumPy arrays (tests, benchmarks).");

  k.def("act_bwd_needs_z", [](const std::string& act) { return fm::act_bwd_needs_z(act_from_name(act)); },
        py::arg("act"), "True when act_bwd needs the pre-activation z.");
  k.def(
      "act_fwd",
      [](const std::string& act, const py::array& x, double alpha) {
        fm::Act a = act_from_name(act);
        return is_f64(x, "x") ? act_fwd_t<double>(a, x, alpha) : act_fwd_t<float>(a, x, alpha);
      },
      py::arg("act"), py::arg("x"), py::arg("alpha") = 0.0, "y = act(x), element-wise (not softmax).");
  k.def(
      "act_bwd",
      [](const std::string& act, const py::array& dy, const py::object& z, const py::object& y, double alpha) {
        fm::Act a = act_from_name(act);
        return is_f64(dy, "dy") ? act_bwd_t<double>(a, dy, z, y, alpha) : act_bwd_t<float>(a, dy, z, y, alpha);
      },
      py::arg("act"), py::arg("dy"), py::arg("z") = py::none(), py::arg("y") = py::none(), py::arg("alpha") = 0.0,
      "dz = dy * act'(z), from z (gelu, silu, softplus) or y = act(z) (the others).");
  k.def(
      "softmax_fwd", [](const py::array& x) { return is_f64(x, "x") ? softmax_fwd_t<double>(x) : softmax_fwd_t<float>(x); },
      py::arg("x"), "Row-wise softmax of a 2-D array.");
  k.def(
      "softmax_bwd",
      [](const py::array& y, const py::array& dy) {
        return is_f64(y, "y") ? softmax_bwd_t<double>(y, dy) : softmax_bwd_t<float>(y, dy);
      },
      py::arg("y"), py::arg("dy"), "dx = y * (dy - sum(dy * y)) row-wise.");

  k.def(
      "softmax_xent_labels",
      [](const py::array& logits, const py::array& labels, double scale, bool want_grad) {
        return is_f64(logits, "logits") ? xent_labels_t<double>(logits, labels, scale, want_grad)
                                        : xent_labels_t<float>(logits, labels, scale, want_grad);
      },
      py::arg("logits"), py::arg("labels"), py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
      "Softmax cross entropy with int32 labels: (sum loss, grad * grad_scale or None, correct).");
  k.def(
      "softmax_xent_probs",
      [](const py::array& logits, const py::array& target, double scale, bool want_grad) {
        return is_f64(logits, "logits") ? pair_loss_t<double>(PairLoss::xent_probs, logits, target, scale, want_grad)
                                        : pair_loss_t<float>(PairLoss::xent_probs, logits, target, scale, want_grad);
      },
      py::arg("logits"), py::arg("target"), py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
      "Softmax cross entropy with probability targets: (sum loss, grad or None, correct).");
  k.def(
      "sigmoid_bce",
      [](const py::array& logits, const py::array& target, double scale, bool want_grad) {
        return is_f64(logits, "logits") ? pair_loss_t<double>(PairLoss::bce, logits, target, scale, want_grad)
                                        : pair_loss_t<float>(PairLoss::bce, logits, target, scale, want_grad);
      },
      py::arg("logits"), py::arg("target"), py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
      "Sigmoid + binary cross entropy (element-wise sum): (loss, grad or None, correct).");
  k.def(
      "mse",
      [](const py::array& pred, const py::array& target, double scale, bool want_grad) {
        return is_f64(pred, "pred") ? mse_t<double>(pred, target, scale, want_grad)
                                    : mse_t<float>(pred, target, scale, want_grad);
      },
      py::arg("pred"), py::arg("target"), py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
      "Sum of squared errors: (loss, grad or None).");
  k.def(
      "sigmoid_link", [](const py::array& x) { return is_f64(x, "x") ? sigmoid_link_t<double>(x) : sigmoid_link_t<float>(x); },
      py::arg("x"), "Element-wise sigmoid (the output link of binary cross entropy).");
}
