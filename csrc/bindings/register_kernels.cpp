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

#include "bindings/numpy_args.hpp"
#include "common/act_names.hpp"
#include "common/check.hpp"
#include "common/types.hpp"
#include "kernels/activation.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/dropout.hpp"
#include "kernels/loss.hpp"
#include "kernels/optimizer.hpp"
#include "kernels/reduce.hpp"

namespace py = pybind11;

namespace fm::bind {
namespace {

// ---- activations ---------------------------------------------------------------------------

template <class T>
py::array act_fwd_t(fm::Act act, const py::array& x, double alpha, const py::object& out) {
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  T* yp;
  py::array y = output<T>(out, shape, &yp);
  index_t n = numel(shape);
  {
    py::gil_scoped_release nogil;
    fm::act_fwd<T>(act, static_cast<T>(alpha), xp, yp, n);
  }
  return y;
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

// A new array of `shape` when `wanted` (*data: its memory), else None (*data: null).
template <class T>
py::object new_if(bool wanted, const std::vector<index_t>& shape, T** data) {
  *data = nullptr;
  if (!wanted) return py::none();
  auto a = new_like<T>(shape);
  *data = a.mutable_data();
  return std::move(a);
}

// A loss's gradient: logits itself (in_place: the kernels allow grad == logits), a new array
// (want_grad) or None.
template <class T>
py::object loss_grad(py::array& logits, const std::vector<index_t>& shape, bool want_grad,
                     bool in_place, T** data) {
  if (!in_place) return new_if<T>(want_grad, shape, data);
  *data = inout<T>(logits, "logits");
  return logits;
}

// (loss, grad or None, correct)
// in_place: the gradient overwrites logits (the kernels allow grad == logits).
template <class T>
py::tuple xent_labels_t(py::array logits, const py::array& labels, double scale, bool want_grad,
                        bool in_place) {
  need_2d(logits, "logits");
  auto shape = shape_of(logits);
  const T* xp = in<T>(logits, "logits");
  FM_CHECK(has_dtype<std::int32_t>(labels), "'labels' must have dtype int32, got ",
           std::string(py::str(labels.dtype())));
  check_layout(labels, "labels");
  FM_CHECK(labels.ndim() == 1 && labels.shape(0) == shape[0], "'labels' must have shape (",
           shape[0], ",), got ", shape_str(labels));
  const auto* lp = static_cast<const std::int32_t*>(labels.data());
  T* gp;
  py::object g = loss_grad<T>(logits, shape, want_grad, in_place, &gp);
  index_t correct = 0;
  double loss;
  {
    py::gil_scoped_release nogil;
    loss =
        fm::softmax_xent_labels<T>(xp, lp, shape[0], shape[1], static_cast<T>(scale), gp, &correct);
  }
  return py::make_tuple(loss, g, correct);
}

enum class PairLoss { xent_probs, bce };

template <class T>
py::tuple pair_loss_t(PairLoss kind, py::array logits, const py::array& target, double scale,
                      bool want_grad, bool in_place) {
  auto shape = shape_of(logits);
  if (kind == PairLoss::xent_probs) need_2d(logits, "logits");
  FM_CHECK(logits.ndim() == 1 || logits.ndim() == 2, "'logits' must be 1-D or 2-D, got shape ",
           shape_str(logits));
  const T* xp = in<T>(logits, "logits");
  const T* tp = in<T>(target, "target", &shape);
  index_t n = shape[0], k = shape.size() == 2 ? shape[1] : 1;
  T* gp;
  py::object g = loss_grad<T>(logits, shape, want_grad, in_place, &gp);
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

enum class RegressionLoss { mse, mae, huber, poisson };

template <class T>
py::tuple regression_loss_t(RegressionLoss kind, const py::array& pred, const py::array& target,
                            double scale, bool want_grad, double delta) {
  auto shape = shape_of(pred);
  const T* pp = in<T>(pred, "pred");
  const T* tp = in<T>(target, "target", &shape);
  T* gp;
  py::object g = new_if<T>(want_grad, shape, &gp);
  double loss;
  {
    py::gil_scoped_release nogil;
    const T s = static_cast<T>(scale);
    if (kind == RegressionLoss::mse)
      loss = fm::mse<T>(pp, tp, numel(shape), s, gp);
    else if (kind == RegressionLoss::mae)
      loss = fm::mae<T>(pp, tp, numel(shape), s, gp);
    else if (kind == RegressionLoss::poisson)
      loss = fm::poisson_nll<T>(pp, tp, numel(shape), s, gp);
    else
      loss = fm::huber<T>(pp, tp, numel(shape), static_cast<T>(delta), s, gp);
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

// ---- reductions ------------------------------------------------------------------------------

// x: 2-D with unit column stride and any row stride (ldx = row stride), e.g. a column slice.
template <class T>
py::array colsum_t(const py::array& x, const py::object& out, bool accumulate) {
  need_2d(x, "x");
  FM_CHECK(has_dtype<T>(x), "'x' must have dtype ", dtype_name<T>());
  index_t rows = x.shape(0), cols = x.shape(1), isz = sizeof(T);
  FM_CHECK(cols <= 1 || x.strides(1) == isz, "'x' must have unit column stride");
  FM_CHECK(rows <= 1 || (x.strides(0) > 0 && x.strides(0) % isz == 0),
           "'x' must have a positive row stride");
  index_t ldx = rows <= 1 ? cols : x.strides(0) / isz;
  py::array o;
  if (out.is_none()) {
    FM_CHECK(!accumulate, "accumulate=True needs 'out'");
    o = new_like<T>({cols});
  } else {
    o = as_array(out, "out");
  }
  std::vector<index_t> oshape{cols};
  T* op = inout<T>(o, "out", &oshape);
  const T* xp = static_cast<const T*>(x.data());
  {
    py::gil_scoped_release nogil;
    fm::colsum<T>(xp, rows, cols, ldx, op, accumulate);
  }
  return o;
}

template <class T>
double penalty_t(const py::array& w, double l1, double l2, const py::object& g) {
  auto shape = shape_of(w);
  const T* wp = in<T>(w, "w");
  T* gp = nullptr;
  py::array ga;
  if (!g.is_none()) {
    ga = as_array(g, "g");
    gp = inout<T>(ga, "g", &shape);
  }
  py::gil_scoped_release nogil;
  return fm::l1_l2_penalty<T>(wp, numel(shape), static_cast<T>(l1), static_cast<T>(l2), gp);
}

template <class T>
bool all_finite_t(const py::array& x) {
  const T* xp = in<T>(x, "x");
  index_t n = numel(shape_of(x));
  py::gil_scoped_release nogil;
  return fm::all_finite<T>(xp, n);
}

// ---- dropout and noise -------------------------------------------------------------------------

template <class T>
py::tuple dropout_fwd_t(const py::array& x, double rate, std::uint64_t seed, std::uint64_t stream,
                        const py::object& out) {
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  T* yp;
  py::array y = output<T>(out, shape, &yp);
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  py::array_t<std::uint8_t> mask(s);
  std::uint8_t* mp = mask.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::dropout_mask_fwd<T>(seed, stream, static_cast<T>(rate), xp, yp, mp, numel(shape));
  }
  return py::make_tuple(y, mask);
}

template <class T>
py::array dropout_bwd_t(const py::array& dy, const py::array& mask, double rate) {
  auto shape = shape_of(dy);
  const T* dyp = in<T>(dy, "dy");
  FM_CHECK(has_dtype<std::uint8_t>(mask), "'mask' must have dtype uint8, got ",
           std::string(py::str(mask.dtype())));
  check_layout(mask, "mask");
  FM_CHECK(shape_of(mask) == shape, "'mask' has shape ", shape_str(mask), ", expected ",
           shape_str(dy));
  const auto* mp = static_cast<const std::uint8_t*>(mask.data());
  auto dx = new_like<T>(shape);
  T* dxp = dx.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::dropout_bwd<T>(static_cast<T>(rate), mp, dyp, dxp, numel(shape));
  }
  return std::move(dx);
}

template <class T>
py::array noise_t(const py::array& x, double stddev, std::uint64_t seed, std::uint64_t stream) {
  auto shape = shape_of(x);
  const T* xp = in<T>(x, "x");
  auto y = new_like<T>(shape);
  T* yp = y.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::gaussian_noise_fwd<T>(seed, stream, static_cast<T>(stddev), xp, yp, numel(shape));
  }
  return std::move(y);
}

// ---- batchnorm
// -----------------------------------------------------------------------------------

// gamma / beta may be None (1 / 0).
template <class T>
const T* optional_vec(const py::object& o, const char* name, const std::vector<index_t>& shape,
                      py::array& keep) {
  if (o.is_none()) return nullptr;
  keep = as_array(o, name);
  return in<T>(keep, name, &shape);
}

// act: element-wise activation fused into the write of y; with_z: also return bn(x).
template <class T>
py::tuple bn_train_t(const py::array& x, const py::object& gamma, const py::object& beta,
                     py::array running_mean, py::array running_var, double eps, double momentum,
                     bool update_running, bool unbiased_var, fm::Act act, double alpha,
                     bool with_z) {
  need_2d(x, "x");
  auto shape = shape_of(x);
  index_t n = shape[0], c = shape[1];
  std::vector<index_t> cs{c};
  const T* xp = in<T>(x, "x");
  py::array gk, bk;
  const T* gp = optional_vec<T>(gamma, "gamma", cs, gk);
  const T* bp = optional_vec<T>(beta, "beta", cs, bk);
  T* rm = inout<T>(running_mean, "running_mean", &cs);
  T* rv = inout<T>(running_var, "running_var", &cs);
  auto y = new_like<T>(shape);
  auto sm = new_like<T>(cs);
  auto si = new_like<T>(cs);
  T *yp = y.mutable_data(), *smp = sm.mutable_data(), *sip = si.mutable_data(), *zp = nullptr;
  py::object z = new_if<T>(with_z, shape, &zp);
  {
    py::gil_scoped_release nogil;
    fm::batchnorm_act_fwd_train<T>(xp, n, c, gp, bp, static_cast<T>(eps), static_cast<T>(momentum),
                                   update_running, unbiased_var, rm, rv, yp, smp, sip, act,
                                   static_cast<T>(alpha), zp);
  }
  if (with_z) return py::make_tuple(y, z, sm, si);
  return py::make_tuple(y, sm, si);
}

template <class T>
py::object bn_infer_t(const py::array& x, const py::object& gamma, const py::object& beta,
                      const py::array& running_mean, const py::array& running_var, double eps,
                      fm::Act act, double alpha, bool with_z) {
  need_2d(x, "x");
  auto shape = shape_of(x);
  std::vector<index_t> cs{shape[1]};
  const T* xp = in<T>(x, "x");
  py::array gk, bk;
  const T* gp = optional_vec<T>(gamma, "gamma", cs, gk);
  const T* bp = optional_vec<T>(beta, "beta", cs, bk);
  const T* rm = in<T>(running_mean, "running_mean", &cs);
  const T* rv = in<T>(running_var, "running_var", &cs);
  auto y = new_like<T>(shape);
  T *yp = y.mutable_data(), *zp = nullptr;
  py::object z = new_if<T>(with_z, shape, &zp);
  {
    py::gil_scoped_release nogil;
    fm::batchnorm_act_fwd_infer<T>(xp, shape[0], shape[1], gp, bp, rm, rv, static_cast<T>(eps), yp,
                                   act, static_cast<T>(alpha), zp);
  }
  if (with_z) return py::make_tuple(y, z);
  return std::move(y);
}

template <class T>
py::tuple bn_bwd_t(const py::array& x, const py::array& dy, const py::object& gamma,
                   const py::array& save_mean, const py::array& save_invstd) {
  need_2d(x, "x");
  auto shape = shape_of(x);
  std::vector<index_t> cs{shape[1]};
  const T* xp = in<T>(x, "x");
  const T* dyp = in<T>(dy, "dy", &shape);
  py::array gk;
  const T* gp = optional_vec<T>(gamma, "gamma", cs, gk);
  const T* sm = in<T>(save_mean, "save_mean", &cs);
  const T* si = in<T>(save_invstd, "save_invstd", &cs);
  auto dx = new_like<T>(shape);
  auto dg = new_like<T>(cs);
  auto db = new_like<T>(cs);
  T *dxp = dx.mutable_data(), *dgp = dg.mutable_data(), *dbp = db.mutable_data();
  {
    py::gil_scoped_release nogil;
    fm::batchnorm_bwd<T>(xp, dyp, shape[0], shape[1], gp, sm, si, dxp, dgp, dbp);
  }
  return py::make_tuple(dx, dg, db);
}

// ---- optimizers (in place)
// -----------------------------------------------------------------------

template <class T>
T* optional_state(const py::object& o, const char* name, const std::vector<index_t>& shape,
                  py::array& keep) {
  if (o.is_none()) return nullptr;
  keep = as_array(o, name);
  return inout<T>(keep, name, &shape);
}

template <class T>
void sgd_t(py::array p, const py::array& g, const py::object& buf, double lr, double momentum,
           double dampening, double weight_decay, bool nesterov, bool first, fm::UpdateRule rule) {
  auto shape = shape_of(p);
  T* pp = inout<T>(p, "p");
  const T* gp = in<T>(g, "g", &shape);
  py::array bk;
  T* bp = optional_state<T>(buf, "buf", shape, bk);
  fm::SgdParams<T> hp;
  hp.lr = static_cast<T>(lr);
  hp.momentum = static_cast<T>(momentum);
  hp.dampening = static_cast<T>(dampening);
  hp.weight_decay = static_cast<T>(weight_decay);
  hp.nesterov = nesterov;
  hp.rule = rule;
  py::gil_scoped_release nogil;
  fm::sgd_update<T>(pp, gp, bp, numel(shape), hp, first);
}

template <class T>
void rmsprop_t(py::array p, const py::array& g, py::array square_avg, const py::object& grad_avg,
               const py::object& buf, double lr, double alpha, double eps, double weight_decay,
               double momentum, bool centered, fm::UpdateRule rule) {
  auto shape = shape_of(p);
  T* pp = inout<T>(p, "p");
  const T* gp = in<T>(g, "g", &shape);
  T* sq = inout<T>(square_avg, "square_avg", &shape);
  py::array ak, bk;
  T* ga = optional_state<T>(grad_avg, "grad_avg", shape, ak);
  T* bp = optional_state<T>(buf, "buf", shape, bk);
  fm::RmspropParams<T> hp;
  hp.lr = static_cast<T>(lr);
  hp.alpha = static_cast<T>(alpha);
  hp.eps = static_cast<T>(eps);
  hp.weight_decay = static_cast<T>(weight_decay);
  hp.momentum = static_cast<T>(momentum);
  hp.centered = centered;
  hp.rule = rule;
  py::gil_scoped_release nogil;
  fm::rmsprop_update<T>(pp, gp, sq, ga, bp, numel(shape), hp);
}

template <class T>
void adam_t(py::array p, const py::array& g, py::array exp_avg, py::array exp_avg_sq,
            const py::object& max_exp_avg_sq, long long step, double lr, double beta1, double beta2,
            double eps, double weight_decay, bool amsgrad, bool decoupled, fm::UpdateRule rule) {
  auto shape = shape_of(p);
  T* pp = inout<T>(p, "p");
  const T* gp = in<T>(g, "g", &shape);
  T* m = inout<T>(exp_avg, "exp_avg", &shape);
  T* v = inout<T>(exp_avg_sq, "exp_avg_sq", &shape);
  py::array mk;
  T* mx = optional_state<T>(max_exp_avg_sq, "max_exp_avg_sq", shape, mk);
  fm::AdamParams<T> hp;
  hp.lr = static_cast<T>(lr);
  hp.beta1 = static_cast<T>(beta1);
  hp.beta2 = static_cast<T>(beta2);
  hp.eps = static_cast<T>(eps);
  hp.weight_decay = static_cast<T>(weight_decay);
  hp.amsgrad = amsgrad;
  hp.decoupled = decoupled;
  hp.rule = rule;
  py::gil_scoped_release nogil;
  fm::adam_update<T>(pp, gp, m, v, mx, numel(shape), hp, step);
}

// "torch" or "keras" (kernels/optimizer.hpp): ValueError otherwise.
fm::UpdateRule update_rule(const std::string& rule) {
  FM_CHECK(rule == "torch" || rule == "keras", "rule must be 'torch' or 'keras', got '", rule, "'");
  return rule == "keras" ? fm::UpdateRule::keras : fm::UpdateRule::torch;
}

}  // namespace
}  // namespace fm::bind

void register_kernels(py::module_& m) {
  using namespace fm::bind;  // the *_t bodies and dispatch_float
  using fm::act_from_name;
  py::module_ k = m.def_submodule(
      "kernels", "Element-wise and row-wise kernels on NumPy arrays (tests, benchmarks).");

  k.def(
      "act_bwd_needs_z",
      [](const std::string& act) { return fm::act_bwd_needs_z(act_from_name(act)); },
      py::arg("act"), "True when act_bwd needs the pre-activation z.");
  k.def(
      "act_fwd",
      [](const std::string& act, const py::array& x, double alpha, const py::object& out) {
        fm::Act a = act_from_name(act);
        return dispatch_float(x, "x",
                              [&](auto t) { return act_fwd_t<decltype(t)>(a, x, alpha, out); });
      },
      py::arg("act"), py::arg("x"), py::arg("alpha") = 0.0, py::arg("out") = py::none(),
      "y = act(x), element-wise (not softmax); out may be x (in place).");
  k.def(
      "act_bwd",
      [](const std::string& act, const py::array& dy, const py::object& z, const py::object& y,
         double alpha) {
        fm::Act a = act_from_name(act);
        return dispatch_float(dy, "dy",
                              [&](auto t) { return act_bwd_t<decltype(t)>(a, dy, z, y, alpha); });
      },
      py::arg("act"), py::arg("dy"), py::arg("z") = py::none(), py::arg("y") = py::none(),
      py::arg("alpha") = 0.0,
      "dz = dy * act'(z), from z (gelu, silu, softplus) or y = act(z) (the others).");
  k.def(
      "softmax_fwd",
      [](const py::array& x) {
        return dispatch_float(x, "x", [&](auto t) { return softmax_fwd_t<decltype(t)>(x); });
      },
      py::arg("x"), "Row-wise softmax of a 2-D array.");
  k.def(
      "softmax_bwd",
      [](const py::array& y, const py::array& dy) {
        return dispatch_float(y, "y", [&](auto t) { return softmax_bwd_t<decltype(t)>(y, dy); });
      },
      py::arg("y"), py::arg("dy"), "dx = y * (dy - sum(dy * y)) row-wise.");

  k.def(
      "softmax_xent_labels",
      [](py::array logits, const py::array& labels, double scale, bool want_grad, bool in_place) {
        return dispatch_float(logits, "logits", [&](auto t) {
          return xent_labels_t<decltype(t)>(logits, labels, scale, want_grad, in_place);
        });
      },
      py::arg("logits"), py::arg("labels"), py::arg("grad_scale") = 1.0,
      py::arg("want_grad") = true, py::arg("in_place") = false,
      "Softmax cross entropy with int32 labels: (sum loss, grad * grad_scale or None, correct); "
      "in_place: the gradient overwrites logits.");
  // softmax_xent_probs and sigmoid_bce: the same arguments, one kernel each.
  auto pair_loss = [](PairLoss kind) {
    return [kind](py::array logits, const py::array& target, double scale, bool want_grad,
                  bool in_place) {
      return dispatch_float(logits, "logits", [&](auto t) {
        return pair_loss_t<decltype(t)>(kind, logits, target, scale, want_grad, in_place);
      });
    };
  };
  k.def("softmax_xent_probs", pair_loss(PairLoss::xent_probs), py::arg("logits"), py::arg("target"),
        py::arg("grad_scale") = 1.0, py::arg("want_grad") = true, py::arg("in_place") = false,
        "Softmax cross entropy with probability targets: (sum loss, grad or None, correct).");
  k.def("sigmoid_bce", pair_loss(PairLoss::bce), py::arg("logits"), py::arg("target"),
        py::arg("grad_scale") = 1.0, py::arg("want_grad") = true, py::arg("in_place") = false,
        "Sigmoid + binary cross entropy (element-wise sum): (loss, grad or None, correct).");
  auto regression_loss = [](RegressionLoss kind) {
    return [kind](const py::array& pred, const py::array& target, double scale, bool want_grad,
                  double delta) {
      return dispatch_float(pred, "pred", [&](auto t) {
        return regression_loss_t<decltype(t)>(kind, pred, target, scale, want_grad, delta);
      });
    };
  };
  auto no_delta = [](auto f) {
    return [f](const py::array& pred, const py::array& target, double scale, bool want_grad) {
      return f(pred, target, scale, want_grad, 1.0);
    };
  };
  k.def("mse", no_delta(regression_loss(RegressionLoss::mse)), py::arg("pred"), py::arg("target"),
        py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
        "Sum of squared errors: (loss, grad or None).");
  k.def("mae", no_delta(regression_loss(RegressionLoss::mae)), py::arg("pred"), py::arg("target"),
        py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
        "Sum of absolute errors (L1): (loss, grad or None); grad sign(pred - target).");
  k.def("poisson_nll", no_delta(regression_loss(RegressionLoss::poisson)), py::arg("log_rate"),
        py::arg("target"), py::arg("grad_scale") = 1.0, py::arg("want_grad") = true,
        "Sum of Poisson NLLs exp(z) - y z on the log rate z (torch's poisson_nll_loss, "
        "log_input=True): (loss, grad or None).");
  k.def("huber", regression_loss(RegressionLoss::huber), py::arg("pred"), py::arg("target"),
        py::arg("grad_scale") = 1.0, py::arg("want_grad") = true, py::arg("delta") = 1.0,
        "Sum of Huber losses with threshold delta (torch's huber_loss): (loss, grad or None).");
  k.def(
      "sigmoid_link",
      [](const py::array& x) {
        return dispatch_float(x, "x", [&](auto t) { return sigmoid_link_t<decltype(t)>(x); });
      },
      py::arg("x"), "Element-wise sigmoid (the output link of binary cross entropy).");
  k.def(
      "colsum",
      [](const py::array& x, const py::object& out, bool accumulate) {
        return dispatch_float(x, "x",
                              [&](auto t) { return colsum_t<decltype(t)>(x, out, accumulate); });
      },
      py::arg("x"), py::arg("out") = py::none(), py::arg("accumulate") = false,
      "Column sums of a 2-D array (any row stride); out (+)= sum over rows.");
  k.def(
      "l1_l2_penalty",
      [](const py::array& w, double l1, double l2, const py::object& g) {
        return dispatch_float(w, "w", [&](auto t) { return penalty_t<decltype(t)>(w, l1, l2, g); });
      },
      py::arg("w"), py::arg("l1"), py::arg("l2"), py::arg("g") = py::none(),
      "l1*sum|w| + (l2/2)*sum w^2; adds l1*sign(w) + l2*w to g in place when given.");
  k.def(
      "all_finite",
      [](const py::array& x) {
        return dispatch_float(x, "x", [&](auto t) { return all_finite_t<decltype(t)>(x); });
      },
      py::arg("x"), "True when every value is finite.");

  k.def(
      "dropout_mask_fwd",
      [](const py::array& x, double rate, std::uint64_t seed, std::uint64_t stream,
         const py::object& out) {
        return dispatch_float(
            x, "x", [&](auto t) { return dropout_fwd_t<decltype(t)>(x, rate, seed, stream, out); });
      },
      py::arg("x"), py::arg("rate"), py::arg("seed"), py::arg("stream") = 0,
      py::arg("out") = py::none(),
      "Inverted dropout: (y, mask uint8); element i's draw depends only on (seed, stream, i).");
  k.def(
      "dropout_bwd",
      [](const py::array& dy, const py::array& mask, double rate) {
        return dispatch_float(dy, "dy",
                              [&](auto t) { return dropout_bwd_t<decltype(t)>(dy, mask, rate); });
      },
      py::arg("dy"), py::arg("mask"), py::arg("rate"), "dx = mask ? dy / (1 - rate) : 0.");
  k.def(
      "gaussian_noise_fwd",
      [](const py::array& x, double stddev, std::uint64_t seed, std::uint64_t stream) {
        return dispatch_float(
            x, "x", [&](auto t) { return noise_t<decltype(t)>(x, stddev, seed, stream); });
      },
      py::arg("x"), py::arg("stddev"), py::arg("seed"), py::arg("stream") = 0,
      "y = x + stddev * N(0, 1) (Philox).");

  k.def(
      "batchnorm_fwd_train",
      [](const py::array& x, const py::object& gamma, const py::object& beta, py::array rm,
         py::array rv, double eps, double momentum, bool update_running, const std::string& act,
         double alpha, bool with_z, bool unbiased_var) {
        fm::Act a = act_from_name(act);
        return dispatch_float(x, "x", [&](auto t) {
          return bn_train_t<decltype(t)>(x, gamma, beta, rm, rv, eps, momentum, update_running,
                                         unbiased_var, a, alpha, with_z);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"),
      py::arg("running_var"), py::arg("eps") = 1e-5, py::arg("momentum") = 0.1,
      py::arg("update_running") = true, py::arg("act") = "linear", py::arg("alpha") = 0.0,
      py::arg("with_z") = false, py::arg("unbiased_var") = true,
      "Training BatchNorm1d (+ fused activation): (y, [z,] save_mean, save_invstd); running "
      "statistics updated in place (running_var from the unbiased batch variance, or the "
      "biased one with unbiased_var=False, as Keras).");
  k.def(
      "batchnorm_fwd_infer",
      [](const py::array& x, const py::object& gamma, const py::object& beta, const py::array& rm,
         const py::array& rv, double eps, const std::string& act, double alpha, bool with_z) {
        fm::Act a = act_from_name(act);
        return dispatch_float(x, "x", [&](auto t) {
          return bn_infer_t<decltype(t)>(x, gamma, beta, rm, rv, eps, a, alpha, with_z);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"),
      py::arg("running_var"), py::arg("eps") = 1e-5, py::arg("act") = "linear",
      py::arg("alpha") = 0.0, py::arg("with_z") = false,
      "Inference BatchNorm1d with the running statistics (+ fused activation): y, or (y, z).");
  k.def(
      "batchnorm_bwd",
      [](const py::array& x, const py::array& dy, const py::object& gamma, const py::array& sm,
         const py::array& si) {
        return dispatch_float(x, "x",
                              [&](auto t) { return bn_bwd_t<decltype(t)>(x, dy, gamma, sm, si); });
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("save_mean"), py::arg("save_invstd"),
      "BatchNorm1d training backward: (dx, dgamma, dbeta).");

  k.def(
      "sgd_update",
      [](py::array p, const py::array& g, const py::object& buf, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool first,
         const std::string& rule) {
        fm::UpdateRule r = update_rule(rule);
        dispatch_float(p, "p", [&](auto t) {
          sgd_t<decltype(t)>(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first, r);
        });
      },
      py::arg("p"), py::arg("g"), py::arg("buf") = py::none(), py::arg("lr") = 0.01,
      py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
      py::arg("nesterov") = false, py::arg("first") = false, py::arg("rule") = "torch",
      "One torch.optim.SGD step on p (in place); first: the momentum buffer is set to the "
      "gradient. rule='keras': Keras 3's SGD (velocity from zero, decoupled weight decay).");
  k.def(
      "rmsprop_update",
      [](py::array p, const py::array& g, py::array sq, const py::object& ga, const py::object& buf,
         double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
         const std::string& rule) {
        fm::UpdateRule r = update_rule(rule);
        dispatch_float(p, "p", [&](auto t) {
          rmsprop_t<decltype(t)>(p, g, sq, ga, buf, lr, alpha, eps, weight_decay, momentum,
                                 centered, r);
        });
      },
      py::arg("p"), py::arg("g"), py::arg("square_avg"), py::arg("grad_avg") = py::none(),
      py::arg("buf") = py::none(), py::arg("lr") = 0.01, py::arg("alpha") = 0.99,
      py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0,
      py::arg("centered") = false, py::arg("rule") = "torch",
      "One torch.optim.RMSprop step (in place); rule='keras': Keras 3's RMSprop (alpha is rho, "
      "epsilon inside the square root, decoupled weight decay).");
  k.def(
      "adam_update",
      [](py::array p, const py::array& g, py::array m, py::array v, const py::object& mx,
         long long step, double lr, double beta1, double beta2, double eps, double weight_decay,
         bool amsgrad, bool decoupled, const std::string& rule) {
        fm::UpdateRule r = update_rule(rule);
        dispatch_float(p, "p", [&](auto t) {
          adam_t<decltype(t)>(p, g, m, v, mx, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
                              decoupled, r);
        });
      },
      py::arg("p"), py::arg("g"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
      py::arg("max_exp_avg_sq") = py::none(), py::arg("step") = 1, py::arg("lr") = 1e-3,
      py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("amsgrad") = false, py::arg("decoupled") = false,
      py::arg("rule") = "torch",
      "One torch.optim.Adam (decoupled=True: AdamW) step (in place); step is 1-based. "
      "rule='keras': Keras 3's Adam (epsilon added to the uncorrected sqrt(v), decoupled weight "
      "decay).");
}
