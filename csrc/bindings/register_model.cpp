// `_core.Network` (docs/core_network.md): the C++ engine seen from Python. Arguments are
// checked here (ValueError naming the argument), then compute runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bindings/numpy_args.hpp"
#include "common/check.hpp"
#include "kernels/reduce.hpp"
#include "nn/network.hpp"
#include "train/train.hpp"

namespace py = pybind11;

namespace fm::bind {
namespace {

using nn::LayerSpec;
using nn::OpKind;

// ---- layer dicts --------------------------------------------------------------------------

bool has(const py::dict& d, const char* key) { return d.contains(key) && !d[key].is_none(); }

double get_float(const py::dict& d, const char* key, double def, const char* where) {
  if (!has(d, key)) return def;
  py::handle v = d[key];
  FM_CHECK(
      !py::isinstance<py::bool_>(v) && (py::isinstance<py::float_>(v) ||
                                        py::isinstance<py::int_>(v) || py::hasattr(v, "__float__")),
      where, ": '", key, "' must be a number");
  return v.cast<double>();
}

long long get_int(const py::dict& d, const char* key, long long def, const char* where) {
  if (!has(d, key)) return def;
  py::handle v = d[key];
  FM_CHECK(
      !py::isinstance<py::bool_>(v) && (py::isinstance<py::int_>(v) || py::hasattr(v, "__index__")),
      where, ": '", key, "' must be an integer");
  return v.attr("__index__")().cast<long long>();
}

bool get_bool(const py::dict& d, const char* key, bool def) {
  if (!has(d, key)) return def;
  return py::bool_(d[key]).cast<bool>();
}

std::string get_str(const py::dict& d, const char* key, const char* def, const char* where) {
  if (!has(d, key)) return def;
  py::handle v = d[key];
  FM_CHECK(py::isinstance<py::str>(v), where, ": '", key, "' must be a string");
  return v.cast<std::string>();
}

double default_alpha(Act a) { return a == Act::leaky_relu ? 0.01 : a == Act::elu ? 1.0 : 0.0; }

// BatchNorm's running-variance update: "unbiased" (PyTorch) or "biased" (Keras).
bool parse_running_var(const std::string& v, const char* where) {
  FM_CHECK(v == "unbiased" || v == "biased", where,
           ": 'running_var' must be 'unbiased' or "
           "'biased', got '",
           v, "'");
  return v == "unbiased";
}

LayerSpec parse_layer(const py::handle& h, std::size_t i) {
  std::string where = "layer " + std::to_string(i);
  FM_CHECK(py::isinstance<py::dict>(h), where, " must be a dict");
  py::dict d = py::reinterpret_borrow<py::dict>(h);
  LayerSpec s;
  s.kind = nn::layer_kind_from_name(get_str(d, "kind", "", where.c_str()));
  where += " (" + get_str(d, "kind", "", where.c_str()) + ")";
  const char* w = where.c_str();
  switch (s.kind) {
    case OpKind::dense: {
      FM_CHECK(has(d, "units"), w, ": 'units' is required");
      s.units = get_int(d, "units", 0, w);
      FM_CHECK(s.units >= 1, w, ": 'units' must be >= 1, got ", s.units);
      s.use_bias = get_bool(d, "use_bias", true);
      s.act = act_from_name(get_str(d, "activation", "linear", w));
      s.alpha = get_float(d, "alpha", default_alpha(s.act), w);
      s.l1 = get_float(d, "l1", -1.0, w);
      s.l2 = get_float(d, "l2", -1.0, w);
      FM_CHECK(!has(d, "l1") || s.l1 >= 0.0, w, ": 'l1' must be >= 0, got ", s.l1);
      FM_CHECK(!has(d, "l2") || s.l2 >= 0.0, w, ": 'l2' must be >= 0, got ", s.l2);
      break;
    }
    case OpKind::act:
      s.act = act_from_name(get_str(d, "name", "", w));
      s.alpha = get_float(d, "alpha", default_alpha(s.act), w);
      break;
    case OpKind::dropout:
      s.rate = get_float(d, "rate", 0.0, w);
      break;
    case OpKind::batchnorm:
      s.momentum = get_float(d, "momentum", 0.1, w);
      s.eps = get_float(d, "eps", 1e-5, w);
      s.unbiased_var = parse_running_var(get_str(d, "running_var", "unbiased", w), w);
      s.synchronized = get_bool(d, "synchronized", false);
      break;
    case OpKind::noise:
      s.stddev = get_float(d, "stddev", 0.0, w);
      break;
    case OpKind::standardize:
      break;
  }
  return s;
}

UpdateRule parse_rule(const std::string& rule) {
  FM_CHECK(rule == "torch" || rule == "keras", "optimizer 'rule' must be 'torch' or 'keras', got '",
           rule, "'");
  return rule == "keras" ? UpdateRule::keras : UpdateRule::torch;
}

nn::OptimizerConfig parse_optimizer(const py::dict& d) {
  const char* w = "optimizer";
  nn::OptimizerConfig o;
  std::string name = get_str(d, "name", "", w);
  if (name == "sgd") {
    o.kind = nn::OptKind::sgd;
    o.lr = get_float(d, "lr", 0.01, w);
    o.momentum = get_float(d, "momentum", 0.0, w);
    o.dampening = get_float(d, "dampening", 0.0, w);
    o.nesterov = get_bool(d, "nesterov", false);
  } else if (name == "rmsprop") {
    o.kind = nn::OptKind::rmsprop;
    o.lr = get_float(d, "lr", 0.01, w);
    o.alpha = get_float(d, "alpha", 0.99, w);
    o.eps = get_float(d, "eps", 1e-8, w);
    o.momentum = get_float(d, "momentum", 0.0, w);
    o.centered = get_bool(d, "centered", false);
  } else if (name == "adam" || name == "adamw") {
    o.kind = nn::OptKind::adam;
    o.lr = get_float(d, "lr", 1e-3, w);
    o.beta1 = get_float(d, "beta1", 0.9, w);
    o.beta2 = get_float(d, "beta2", 0.999, w);
    if (has(d, "betas")) {
      auto b = d["betas"].cast<std::vector<double>>();
      FM_CHECK(b.size() == 2, "optimizer 'betas' must be a pair");
      o.beta1 = b[0];
      o.beta2 = b[1];
    }
    o.eps = get_float(d, "eps", 1e-8, w);
    o.amsgrad = get_bool(d, "amsgrad", false);
    o.decoupled = get_bool(d, "decoupled", name == "adamw");
  } else {
    FM_CHECK(false, "unknown optimizer '", name, "'; valid names: sgd, rmsprop, adam, adamw");
  }
  o.weight_decay = get_float(d, "weight_decay", name == "adamw" ? 0.01 : 0.0, w);
  o.rule = parse_rule(get_str(d, "rule", "torch", w));
  o.validate();
  return o;
}

// ---- Ctrl-C -------------------------------------------------------------------------------

// Polled by fit_epoch after each batch, with the GIL released: at most every ~20 ms it takes
// the GIL, calls the optional Python progress(totals) callback (progress bars; the epoch's
// running Totals) and runs Python's signal handlers. A KeyboardInterrupt is swallowed and
// stops the epoch (interrupted=True); any other exception a handler or the callback raises is
// kept and re-raised.
class InterruptPoll {
 public:
  explicit InterruptPoll(py::object progress = py::none()) : progress_(std::move(progress)) {}
  bool operator()(const nn::Totals& totals) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(20)) return false;
    last_ = now;
    py::gil_scoped_acquire gil;
    if (!progress_.is_none()) {
      try {
        progress_(totals);
      } catch (py::error_already_set& e) {
        if (e.matches(PyExc_KeyboardInterrupt)) return true;
        error_ = std::make_unique<py::error_already_set>(std::move(e));
        return true;
      }
    }
    if (PyErr_CheckSignals() == 0) return false;
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
      PyErr_Clear();
    } else {
      error_ = std::make_unique<py::error_already_set>();  // fetches and clears
    }
    return true;
  }
  // Call with the GIL held.
  void rethrow() {
    if (error_) {
      std::unique_ptr<py::error_already_set> e = std::move(error_);
      throw *e;
    }
  }

 private:
  py::object progress_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::unique_ptr<py::error_already_set> error_;
};

// ---- data-parallel training ---------------------------------------------------------------

// fit_epoch's GradientSync::reduce for a Python callable reduce(grads, flags) (see
// fastmlp.distributed): takes the GIL, hands it the gradient arena and the flags as NumPy views
// (no copies) and lets it allreduce them in place. An exception is kept (re-raised by
// rethrow()) and turns into "not finite, stop", so this rank makes no update and leaves the
// epoch; Python then aborts the job, since the other ranks wait in the collective.
template <class T>
class PySync {
 public:
  explicit PySync(py::object fn) : fn_(std::move(fn)) {}
  void operator()(T* grads, index_t n, double* flags) {
    if (error_) {
      flags[1] = flags[2] = 1.0;
      return;
    }
    py::gil_scoped_acquire gil;
    py::capsule none(grads, [](void*) {});  // a base: the arrays view memory they do not own
    py::array g(py::dtype::of<T>(), {static_cast<py::ssize_t>(n)}, {}, grads, none);
    py::array f(py::dtype::of<double>(), {py::ssize_t(3)}, {}, flags, none);
    try {
      fn_(g, f);
    } catch (py::error_already_set& e) {
      error_ = std::make_unique<py::error_already_set>(std::move(e));
      flags[1] = flags[2] = 1.0;
    }
  }
  // Call with the GIL held.
  void rethrow() {
    if (error_) {
      std::unique_ptr<py::error_already_set> e = std::move(error_);
      throw *e;
    }
  }

 private:
  py::object fn_;
  std::unique_ptr<py::error_already_set> error_;
};

// ---- the Python object --------------------------------------------------------------------

class PyNetwork {
 public:
  PyNetwork(const py::list& layers, long long input_dim, const std::string& dtype,
            unsigned long long seed) {
    FM_CHECK(dtype == "float32" || dtype == "float64",
             "dtype must be 'float32' or 'float64', got '", dtype, "'");
    FM_CHECK(input_dim >= 1, "input_dim must be >= 1, got ", input_dim);
    std::vector<LayerSpec> specs;
    for (std::size_t i = 0; i < layers.size(); ++i) specs.push_back(parse_layer(layers[i], i));
    if (dtype == "float32")
      f32_ = std::make_unique<nn::Network<float>>(specs, input_dim, seed);
    else
      f64_ = std::make_unique<nn::Network<double>>(specs, input_dim, seed);
    dtype_ = dtype;
  }

  template <class F>
  decltype(auto) visit(F&& f) {
    return f32_ ? f(*f32_) : f(*f64_);
  }
  const nn::Plan& plan() const { return f32_ ? f32_->plan() : f64_->plan(); }
  // The network's state at the start of an epoch run batch by batch from Python (the augment
  // path), restored by rollback() on divergence: fit_epoch's Checkpoint, taken explicitly.
  train::Checkpoint<float>& checkpoint(nn::Network<float>&) { return ck32_; }
  train::Checkpoint<double>& checkpoint(nn::Network<double>&) { return ck64_; }
  const std::string& dtype() const { return dtype_; }
  std::mutex& mutex() { return mu_; }

 private:
  std::unique_ptr<nn::Network<float>> f32_;
  std::unique_ptr<nn::Network<double>> f64_;
  train::Checkpoint<float> ck32_;
  train::Checkpoint<double> ck64_;
  std::string dtype_;
  std::mutex mu_;  // serializes calls that change state (fit, train_batch, gradients, compile)
};

template <class T>
using Net = nn::Network<T>;

// net.checkpoint() (restore false) / net.rollback() (true): with the GIL released and the
// network locked.
auto checkpoint_call(bool restore) {
  return [restore](PyNetwork& s) {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(s.mutex());
    s.visit([&](auto& n) {
      if (restore)
        s.checkpoint(n).restore(n);
      else
        s.checkpoint(n).take(n);
    });
  };
}

// Per-sample loss weights (n,) of the network's dtype, every one finite and >= 0; null for None.
template <class T>
const T* sample_weights(const py::handle& h, index_t n) {
  if (h.is_none()) return nullptr;
  py::array a = as_array(h, "sample_weight");
  FM_CHECK(has_dtype<T>(a), "'sample_weight' must have dtype ", dtype_name<T>(),
           " (the network's dtype), got ", std::string(py::str(a.dtype())));
  FM_CHECK(a.ndim() == 1, "'sample_weight' must be 1-D, got shape ", shape_str(a));
  check_layout(a, "sample_weight");
  FM_CHECK(static_cast<index_t>(a.shape(0)) == n, "'sample_weight' has ", a.shape(0),
           " values but X has ", n, " rows");
  const T* w = static_cast<const T*>(a.data());
  for (index_t i = 0; i < n; ++i)
    FM_CHECK(std::isfinite(w[i]) && w[i] >= T(0), "'sample_weight' must be finite and >= 0, got ",
             w[i], " at row ", i);
  return w;
}

// y as the compiled loss wants it (see docs/core_network.md "y conventions"), with the
// optional sample weights.
template <class T>
nn::Targets<T> parse_targets(const Net<T>& net, const py::handle& yh, index_t n,
                             const py::handle& swh) {
  FM_CHECK(net.compiled(), "the network is not compiled: call compile() first");
  py::array y = as_array(yh, "y");
  const index_t k = net.output_dim();
  nn::Targets<T> t;
  t.weights = sample_weights<T>(swh, n);
  if (net.loss() == nn::LossKind::cross_entropy && !has_dtype<T>(y)) {
    t.labels = label_vector(y, "y", n, k);
    return t;
  }
  FM_CHECK(
      has_dtype<T>(y), "'y' must have dtype ", dtype_name<T>(),
      net.loss() == nn::LossKind::cross_entropy ? " (class probabilities) or int32 (labels)" : "",
      ", got ", std::string(py::str(y.dtype())));
  check_layout(y, "y");
  bool ok = (y.ndim() == 2 && y.shape(1) == k) || (y.ndim() == 1 && k == 1);
  FM_CHECK(ok, "'y' must have shape (", n, ", ", k, "), got ", shape_str(y));
  FM_CHECK(static_cast<index_t>(y.shape(0)) == n, "'y' has ", y.shape(0), " rows but X has ", n);
  t.values = static_cast<const T*>(y.data());
  t.cols = k;
  return t;
}

// A training/evaluation batch: X (rows >= 1, input_dim), its targets and optional weights.
template <class T>
struct Batch {
  const T* x;
  index_t rows;
  nn::Targets<T> targets;
};

template <class T>
Batch<T> parse_batch(const Net<T>& net, const py::handle& Xh, const py::handle& yh,
                     const py::handle& swh) {
  index_t rows = 0;
  const T* x = float_matrix<T>(as_array(Xh, "X"), "X", net.input_dim(), &rows);
  FM_CHECK(rows >= 1, "'X' must have at least one row");
  return {x, rows, parse_targets(net, yh, rows, swh)};
}

// NaN or infinity in a (rows, cols) matrix: ValueError naming it and the first bad index,
// worded as the Python API's check. No GIL needed.
template <class T>
void check_all_finite(const T* x, index_t rows, index_t cols, const char* name) {
  if (all_finite<T>(x, rows * cols)) return;
  index_t i = 0;
  while (i < rows * cols && std::isfinite(x[i])) ++i;
  FM_CHECK(false, name, " contains NaN or infinity (first at index (", i / cols, ", ", i % cols,
           ")); impute or drop those values first");
}

// The trainable arrays packed back to back (params() order, without the arena's alignment
// padding): the flat vector full-batch optimizers work on.
template <class T>
index_t packed_size(const Net<T>& net) {
  index_t size = 0;
  for (const nn::ParamInfo& p : net.plan().params) size += p.trainable ? p.size() : 0;
  return size;
}

template <class T>
void pack(const Net<T>& net, const T* arena, T* flat) {
  for (const nn::ParamInfo& p : net.plan().params) {
    if (!p.trainable) continue;
    std::memcpy(flat, arena + p.offset, sizeof(T) * p.size());
    flat += p.size();
  }
}

template <class T>
void unpack(const Net<T>& net, const T* flat, T* arena) {
  for (const nn::ParamInfo& p : net.plan().params) {
    if (!p.trainable) continue;
    std::memcpy(arena + p.offset, flat, sizeof(T) * p.size());
    flat += p.size();
  }
}

template <class T>
py::array new_array(std::vector<py::ssize_t> shape) {
  return py::array(py::dtype::of<T>(), shape);
}

// A copy of `n` values as an array shaped like the parameter.
template <class T>
py::array param_copy(const nn::ParamInfo& p, const T* src) {
  py::array a = p.cols ? new_array<T>({p.rows, p.cols}) : new_array<T>({p.rows});
  std::memcpy(a.mutable_data(), src, sizeof(T) * p.size());
  return a;
}

}  // namespace
}  // namespace fm::bind

using fm::index_t;
using fm::bind::PyNetwork;
namespace nn = fm::nn;
namespace train = fm::train;
namespace fb = fm::bind;

void register_model(py::module_& m) {
  py::class_<nn::Totals>(m, "Totals",
                         "Running totals of a loss pass: a training step, an epoch, an evaluation, "
                         "fit_epoch's progress (docs/core_network.md).")
      .def(py::init<>())
      .def_readonly("count", &nn::Totals::count, "rows")
      .def_readonly("loss", &nn::Totals::loss, "mean loss incl. the L1/L2 penalty (NaN: diverged)")
      .def_readonly("loss_sum", &nn::Totals::loss_sum, "sum of batch mean losses times their rows")
      .def_readonly("data_sum", &nn::Totals::data_sum, "weighted loss sum without the penalty")
      .def_readonly("correct", &nn::Totals::correct,
                    "weighted correct samples/elements; -1 for mse")
      .def_readonly("weight", &nn::Totals::weight, "sum of the sample weights")
      .def_readonly("abs_sum", &nn::Totals::abs_sum,
                    "weighted sum of |error| (mse, track_abs_error)")
      .def("add", &nn::Totals::add, py::arg("other"), "Adds another part (a batch to an epoch).")
      .def("as_dict",
           [](const nn::Totals& t) {
             using py::literals::operator""_a;
             return py::dict("count"_a = t.count, "loss"_a = t.loss, "loss_sum"_a = t.loss_sum,
                             "data_sum"_a = t.data_sum, "correct"_a = t.correct,
                             "weight"_a = t.weight, "abs_sum"_a = t.abs_sum);
           })
      .def("__repr__", [](const nn::Totals& t) {
        return "Totals(count=" + std::to_string(t.count) + ", loss=" + std::to_string(t.loss) +
               ", correct=" + std::to_string(t.correct) + ", weight=" + std::to_string(t.weight) +
               ")";
      });
  py::class_<train::EpochResult>(m, "EpochResult",
                                 "fit_epoch's result: the epoch's Totals and how it ended.")
      .def_readonly("totals", &train::EpochResult::totals)
      .def_readonly("interrupted", &train::EpochResult::interrupted,
                    "Ctrl-C or a progress error: stopped early")
      .def_readonly("nonfinite", &train::EpochResult::nonfinite,
                    "diverged: the network was rolled back to the start of the epoch");
  py::class_<PyNetwork>(m, "Network", "The C++ network engine (docs/core_network.md).")
      .def(py::init<const py::list&, long long, const std::string&, unsigned long long>(),
           py::arg("layers"), py::arg("input_dim"), py::arg("dtype") = "float32",
           py::arg("seed") = 0)
      .def_property_readonly("output_dim", [](PyNetwork& s) { return s.plan().output_dim; })
      .def_property_readonly("input_dim", [](PyNetwork& s) { return s.plan().input_dim; })
      .def_property_readonly("dtype", [](PyNetwork& s) { return s.dtype(); })
      .def_property(
          "step", [](PyNetwork& s) { return s.visit([](auto& n) { return n.step; }); },
          [](PyNetwork& s, long long v) {
            FM_CHECK(v >= 0, "step must be >= 0, got ", v);
            s.visit([v](auto& n) { n.step = v; });
          })
      .def(
          "params",
          [](py::object self) {
            PyNetwork& s = self.cast<PyNetwork&>();
            py::list out;
            // The views' base: a capsule holding the Network object (the arrays keep it alive)
            // that tells the network when the last of them is gone; until then it treats its
            // weights as changing (its packed bf16 copies are not reused).
            s.visit([](auto& n) { n.views_opened(1); });
            py::capsule base(new py::object(self), [](void* p) {
              auto* owner = static_cast<py::object*>(p);
              owner->cast<PyNetwork&>().visit([](auto& n) { n.views_opened(-1); });
              delete owner;
            });
            s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              for (const nn::ParamInfo& p : n.plan().params) {
                std::vector<py::ssize_t> shape = p.cols ? std::vector<py::ssize_t>{p.rows, p.cols}
                                                        : std::vector<py::ssize_t>{p.rows};
                out.append(py::array(py::dtype::of<T>(), shape, {}, n.param_data(p), base));
              }
            });
            return out;
          },
          "Writable views of the parameters, in get_weights() order.")
      .def("trainable",
           [](PyNetwork& s) {
             py::list out;
             for (const nn::ParamInfo& p : s.plan().params) out.append(p.trainable);
             return out;
           })
      .def(
          "compile",
          [](PyNetwork& s, const std::string& loss, const py::dict& opt, double l1, double l2,
             double huber_delta) {
            nn::LossKind lk = nn::loss_from_name(loss);
            nn::OptimizerConfig oc = fb::parse_optimizer(opt);
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());
            s.visit([&](auto& n) { n.compile(lk, oc, l1, l2, huber_delta); });
          },
          py::arg("loss"), py::arg("optimizer"), py::arg("l1") = 0.0, py::arg("l2") = 0.0,
          py::arg("huber_delta") = 1.0)
      .def_property(
          "track_abs_error",
          [](PyNetwork& s) { return s.visit([](auto& n) { return n.track_abs_error; }); },
          [](PyNetwork& s, bool on) {
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());  // never flips mid-epoch
            s.visit([on](auto& n) { n.track_abs_error = on; });
          },
          "mse: the losses also sum |error| (train_batch/fit_epoch/evaluate 'abs_sum', the mae "
          "metric).")
      .def_property(
          "weighted_metrics",
          [](PyNetwork& s) { return s.visit([](auto& n) { return n.weighted_metrics; }); },
          [](PyNetwork& s, bool on) {
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());  // never flips mid-epoch
            s.visit([on](auto& n) { n.weighted_metrics = on; });
          },
          "With sample weights: accuracy and |error| weighted like the loss (True), or every "
          "row counted once (False, Keras' metrics).")
      .def_property(
          "divide_by_weight_sum",
          [](PyNetwork& s) { return s.visit([](auto& n) { return n.divide_by_weight_sum; }); },
          [](PyNetwork& s, bool on) {
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());  // never flips mid-epoch
            s.visit([on](auto& n) { n.divide_by_weight_sum = on; });
          },
          "scikit-learn's weighting: each batch's loss is sum(w * loss) / sum(w) and its L1/L2 "
          "penalty is divided by sum(w) too (the row count when unweighted).")
      .def_property(
          "bf16", [](PyNetwork& s) { return s.visit([](auto& n) { return n.bf16; }); },
          [](PyNetwork& s, bool on) {
            FM_CHECK(!on || s.dtype() == "float32",
                     "dtype_policy 'mixed_bfloat16' needs a float32 network, this one is ",
                     s.dtype());
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());  // never flips mid-epoch
            s.visit([on](auto& n) { n.bf16 = on; });
          },
          "mixed_bfloat16: every Dense GEMM (forward, both backward GEMMs, inference) on bf16 "
          "operands with float32 accumulation.")
      .def_property(
          "bf16_prepack",
          [](PyNetwork& s) { return s.visit([](auto& n) { return n.bf16_prepack; }); },
          [](PyNetwork& s, bool on) {
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(s.mutex());
            s.visit([on](auto& n) { n.bf16_prepack = on; });
          },
          "mixed_bfloat16: keep bf16 copies of the Dense weights packed between calls (default "
          "True; False packs them in every GEMM, the same numbers bit for bit).")
      .def_property_readonly(
          "loss",
          [](PyNetwork& s) {
            return std::string(s.visit([](auto& n) { return nn::loss_name(n.loss()); }));
          })
      .def(
          "set_lr",
          [](PyNetwork& s, double lr) {
            FM_CHECK(std::isfinite(lr) && lr > 0.0, "lr must be a finite number > 0, got ", lr);
            s.visit([lr](auto& n) {
              FM_CHECK(n.compiled(), "the network is not compiled: call compile() first");
              n.optimizer().lr = lr;
            });
          },
          py::arg("lr"))
      .def_property_readonly(
          "lr", [](PyNetwork& s) { return s.visit([](auto& n) { return n.optimizer().lr; }); })
      .def(
          "fit_epoch",
          [](PyNetwork& s, const py::handle& Xh, const py::handle& yh, long long batch_size,
             bool shuffle, long long epoch, const py::object& progress, const py::object& sw,
             const py::object& sync, long long steps, const py::object& across) {
            FM_CHECK(batch_size >= 1, "'batch_size' must be >= 1, got ", batch_size);
            FM_CHECK(progress.is_none() || PyCallable_Check(progress.ptr()),
                     "'progress' must be callable or None");
            FM_CHECK(sync.is_none() || PyCallable_Check(sync.ptr()),
                     "'sync' must be callable or None");
            FM_CHECK(sync.is_none() || steps >= 1, "'steps' must be >= 1 with sync, got ", steps);
            FM_CHECK(across.is_none() || (!sync.is_none() && PyCallable_Check(across.ptr())),
                     "'across' must be callable, and given with sync");
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              auto [x, rows, t] = fb::parse_batch(n, Xh, yh, sw);
              fb::InterruptPoll poll(progress);
              fb::PySync<T> reduce(sync);
              fb::PySync<double> sum(across);
              train::GradientSync<T> gs{std::ref(reduce), {}, static_cast<index_t>(steps)};
              if (!across.is_none())
                gs.across = [&sum, &gs](double* v, index_t len) {
                  double flags[3] = {0.0, 0.0, 0.0};
                  sum(v, len, flags);
                  if (flags[2] != 0.0) gs.want_stop = true;  // failed: every rank stops soon
                };
              train::EpochResult r;
              {
                py::gil_scoped_release nogil;
                std::lock_guard<std::mutex> lock(s.mutex());
                r = train::fit_epoch<T>(n, x, t, rows, batch_size, shuffle, epoch, std::ref(poll),
                                        sync.is_none() ? nullptr : &gs);
              }
              reduce.rethrow();
              sum.rethrow();
              poll.rethrow();
              return r;
            });
          },
          py::arg("X"), py::arg("y"), py::arg("batch_size"), py::arg("shuffle") = true,
          py::arg("epoch") = 0, py::arg("progress") = py::none(),
          py::arg("sample_weight") = py::none(), py::arg("sync") = py::none(), py::arg("steps") = 0,
          py::arg("across") = py::none(),
          "sync(grads, flags): data-parallel training (fastmlp.distributed), called every step "
          "to allreduce the gradient arena; steps: the epoch's step count on every rank; "
          "across(values, flags): sums float64 values over the ranks (synchronized BatchNorm).")
      .def_property(
          "rank", [](PyNetwork& s) { return s.visit([](auto& n) { return n.rank; }); },
          [](PyNetwork& s, unsigned long long r) { s.visit([r](auto& n) { n.rank = r; }); },
          "Data-parallel rank, mixed into the dropout/noise streams (0: a single process's).")
      .def(
          "train_batch",
          [](PyNetwork& s, const py::handle& Xh, const py::handle& yh, const py::object& sw,
             bool details) {
            return s.visit([&](auto& n) -> py::object {
              using T = std::remove_reference_t<decltype(*n.params())>;
              auto [x, rows, t] = fb::parse_batch(n, Xh, yh, sw);
              train::StepResult r;
              {
                py::gil_scoped_release nogil;
                std::lock_guard<std::mutex> lock(s.mutex());
                r = train::train_batch<T>(n, x, t, rows);
              }
              if (!r.finite) r.totals.loss = std::nan("");
              if (details) return py::cast(r.totals);
              return py::float_(r.totals.loss);
            });
          },
          py::arg("X"), py::arg("y"), py::arg("sample_weight") = py::none(),
          py::arg("details") = false,
          "The batch loss (incl. penalty; NaN: not finite, nothing changed); details=True: the "
          "batch's Totals.")
      .def("checkpoint", fb::checkpoint_call(false),
           "Copies parameters, running statistics, optimizer state and step (an epoch run batch by "
           "batch starts here; fit_epoch does this itself).")
      .def("rollback", fb::checkpoint_call(true),
           "Restores the state checkpoint() copied (a diverged epoch), as fit_epoch does on "
           "divergence.")
      .def(
          "predict",
          [](PyNetwork& s, const py::handle& Xh, bool training, bool link, bool check_finite) {
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              py::array X = fb::as_array(Xh, "X");
              index_t rows = 0;
              const T* x = fb::float_matrix<T>(X, "X", n.input_dim(), &rows);
              py::array out = fb::new_array<T>({static_cast<py::ssize_t>(rows), n.output_dim()});
              T* o = static_cast<T*>(out.mutable_data());
              const bool do_link = link && n.compiled();
              {
                py::gil_scoped_release nogil;
                if (training) {
                  if (check_finite) fb::check_all_finite(x, rows, n.input_dim(), "X");
                  train::predict_training<T>(n, x, rows, o, do_link);
                } else if (!n.predict(x, rows, o, do_link, check_finite)) {
                  fb::check_all_finite(x, rows, n.input_dim(), "X");  // raises, naming where
                }
              }
              return out;
            });
          },
          py::arg("X"), py::arg("training") = false, py::arg("link") = true,
          py::arg("check_finite") = false,
          "check_finite: NaN/inf in X is a ValueError (the Python API checks before calling "
          "otherwise).")
      .def(
          "evaluate",
          [](PyNetwork& s, const py::handle& Xh, const py::handle& yh, long long batch_size,
             const py::object& sw) {
            FM_CHECK(batch_size >= 1, "'batch_size' must be >= 1, got ", batch_size);
            return s.visit([&](auto& n) {
              auto [x, rows, t] = fb::parse_batch(n, Xh, yh, sw);
              py::gil_scoped_release nogil;
              return n.evaluate(x, t, rows);
            });
          },
          py::arg("X"), py::arg("y"), py::arg("batch_size") = 256,
          py::arg("sample_weight") = py::none(),
          "Totals of the set in inference mode (loss: the mean incl. penalty).")
      .def(
          "evaluate_outputs",
          [](PyNetwork& s, const py::handle& Zh, const py::handle& yh, const py::object& sw) {
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              index_t rows = 0;
              const T* z = fb::float_matrix<T>(fb::as_array(Zh, "Z"), "Z", n.output_dim(), &rows);
              FM_CHECK(rows >= 1, "'Z' must have at least one row");
              nn::Targets<T> t = fb::parse_targets(n, yh, rows, sw);
              py::gil_scoped_release nogil;
              return n.evaluate_outputs(z, t, rows);
            });
          },
          py::arg("Z"), py::arg("y"), py::arg("sample_weight") = py::none(),
          "evaluate's Totals from outputs Z computed elsewhere (before the link).")
      .def(
          "gradients",
          [](PyNetwork& s, const py::handle& Xh, const py::handle& yh, bool dropout,
             const py::object& sw) {
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              auto [x, rows, t] = fb::parse_batch(n, Xh, yh, sw);
              py::list out;
              std::vector<std::pair<T*, const nn::ParamInfo*>> dst;
              for (const nn::ParamInfo& p : n.plan().params) {
                if (!p.trainable) continue;
                py::array a =
                    p.cols ? fb::new_array<T>({p.rows, p.cols}) : fb::new_array<T>({p.rows});
                dst.emplace_back(static_cast<T*>(a.mutable_data()), &p);
                out.append(a);
              }
              {
                // Never take the GIL while holding the mutex (compile takes them the other way).
                py::gil_scoped_release nogil;
                std::lock_guard<std::mutex> lock(s.mutex());
                train::compute_gradients<T>(n, x, t, rows, dropout);
                for (auto& d : dst)
                  std::memcpy(d.first, n.grads() + d.second->offset, sizeof(T) * d.second->size());
              }
              return out;
            });
          },
          py::arg("X"), py::arg("y"), py::arg("dropout") = true,
          py::arg("sample_weight") = py::none())
      .def(
          "flat_params",
          [](PyNetwork& s) {
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              py::array a = fb::new_array<T>({static_cast<py::ssize_t>(fb::packed_size(n))});
              fb::pack(n, n.params(), static_cast<T*>(a.mutable_data()));
              return a;
            });
          },
          "A copy of the trainable arrays (params() order, the padding between them left out) "
          "in one flat array: what loss_and_gradient takes.")
      .def(
          "loss_and_gradient",
          [](PyNetwork& s, const py::handle& ph, const py::handle& Xh, const py::handle& yh,
             const py::object& sw) {
            return s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              py::array p = fb::as_array(ph, "params");
              const index_t size = fb::packed_size(n);
              FM_CHECK(fb::has_dtype<T>(p), "'params' must have dtype ", fb::dtype_name<T>(),
                       " (the network's dtype), got ", std::string(py::str(p.dtype())));
              FM_CHECK(p.ndim() == 1 && static_cast<index_t>(p.shape(0)) == size,
                       "'params' must have shape (", size, ",), got ", fb::shape_str(p));
              fb::check_layout(p, "params");
              auto [x, rows, t] = fb::parse_batch(n, Xh, yh, sw);
              py::array g = fb::new_array<T>({static_cast<py::ssize_t>(size)});
              const T* src = static_cast<const T*>(p.data());
              T* dst = static_cast<T*>(g.mutable_data());
              double loss;
              {
                py::gil_scoped_release nogil;
                std::lock_guard<std::mutex> lock(s.mutex());
                fb::unpack(n, src, n.params());
                loss = train::compute_gradients<T>(n, x, t, rows, false);
                fb::pack(n, n.grads(), dst);
              }
              return py::make_tuple(loss, g);
            });
          },
          py::arg("params"), py::arg("X"), py::arg("y"), py::arg("sample_weight") = py::none(),
          "Sets the trainable parameters from one flat array (flat_params' layout), then returns "
          "(mean loss incl. penalty, its gradient as one flat array) over all rows of X as one "
          "batch, in training mode without dropout/noise and changing no other state: the "
          "objective full-batch optimizers (L-BFGS) minimize.")
      .def(
          "optimizer_state",
          [](PyNetwork& s) {
            py::list out;
            s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              if (!n.compiled()) return;
              const int slots = n.optimizer().state_slots();
              for (const nn::ParamInfo& p : n.plan().params) {
                if (!p.trainable) continue;
                for (int k = 0; k < slots; ++k)
                  out.append(
                      fb::param_copy<T>(p, n.opt_state() + k * n.trainable_size() + p.offset));
              }
            });
            return out;
          },
          "Optimizer state: for each trainable array (params() order), its state_slots arrays.")
      .def(
          "set_optimizer_state",
          [](PyNetwork& s, const py::list& arrays, long long step) {
            FM_CHECK(step >= 0, "step must be >= 0, got ", step);
            s.visit([&](auto& n) {
              using T = std::remove_reference_t<decltype(*n.params())>;
              FM_CHECK(n.compiled(), "the network is not compiled: call compile() first");
              const int slots = n.optimizer().state_slots();
              std::size_t expect = 0;
              for (const nn::ParamInfo& p : n.plan().params) expect += p.trainable ? slots : 0;
              FM_CHECK(arrays.size() == expect, "optimizer state must hold ", expect,
                       " arrays, got ", arrays.size());
              // Check everything before writing anything.
              std::size_t i = 0;
              for (const nn::ParamInfo& p : n.plan().params) {
                if (!p.trainable) continue;
                for (int k = 0; k < slots; ++k, ++i) {
                  py::array a = fb::as_array(arrays[i], "state");
                  FM_CHECK(fb::has_dtype<T>(a), "optimizer state array ", i, " must have dtype ",
                           fb::dtype_name<T>());
                  fb::check_layout(a, "state");
                  FM_CHECK(static_cast<index_t>(a.size()) == p.size(), "optimizer state array ", i,
                           " must have ", p.size(), " elements, got ", a.size());
                }
              }
              std::vector<const T*> src;
              for (i = 0; i < arrays.size(); ++i)
                src.push_back(
                    static_cast<const T*>(py::reinterpret_borrow<py::array>(arrays[i]).data()));
              py::gil_scoped_release nogil;
              std::lock_guard<std::mutex> lock(s.mutex());
              i = 0;
              for (const nn::ParamInfo& p : n.plan().params) {
                if (!p.trainable) continue;
                for (int k = 0; k < slots; ++k, ++i)
                  std::memcpy(n.opt_state() + k * n.trainable_size() + p.offset, src[i],
                              sizeof(T) * p.size());
              }
              n.step = step;
            });
          },
          py::arg("state"), py::arg("step"));
}
