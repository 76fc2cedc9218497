// Bindings of int8 inference: _core.QuantizedNetwork (what model.quantize("int8") builds), and
// the int8 GEMM pieces for tests and benchmarks (PackedS8, gemm_u8s8, quantize_rows_u8,
// vnni_peak_gops). Long calls run with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bindings/numpy_args.hpp"
#include "common/act_names.hpp"
#include "common/check.hpp"
#include "common/parallel.hpp"
#include "gemm/gemm_int8.hpp"
#include "kernels/reduce.hpp"
#include "nn/quantized_network.hpp"

namespace py = pybind11;
namespace fb = fm::bind;
using fm::index_t;

namespace {

// A (rows, cols) C-contiguous matrix of exactly dtype T; cols < 0: any.
template <class T>
const T* matrix(const py::array& a, const char* name, const char* dtype, index_t cols,
                index_t* rows) {
  FM_CHECK(fb::has_dtype<T>(a), "'", name, "' must have dtype ", dtype, ", got ",
           std::string(py::str(a.dtype())));
  fb::need_2d(a, name);
  fb::check_layout(a, name);
  FM_CHECK(cols < 0 || a.shape(1) == cols, "'", name, "' must have ", cols, " columns, got shape ",
           fb::shape_str(a));
  *rows = static_cast<index_t>(a.shape(0));
  return static_cast<const T*>(a.data());
}

// A 1-D float32 vector of length n (None allowed when `optional`: returns null).
const float* vec_f32(const py::object& o, const char* name, index_t n, bool optional,
                     py::array& keep) {
  if (o.is_none()) {
    FM_CHECK(optional, "'", name, "' is required");
    return nullptr;
  }
  keep = fb::as_array(o, name);
  FM_CHECK(fb::has_dtype<float>(keep), "'", name, "' must have dtype float32");
  fb::check_layout(keep, name);
  FM_CHECK(keep.ndim() == 1 && keep.shape(0) == n, "'", name, "' must have shape (", n, ",), got ",
           fb::shape_str(keep));
  return static_cast<const float*>(keep.data());
}

fm::nn::OutputLink link_from_name(const std::string& s) {
  if (s == "softmax") return fm::nn::OutputLink::softmax;
  if (s == "sigmoid") return fm::nn::OutputLink::sigmoid;
  FM_CHECK(s == "none" || s == "linear", "unknown output link '", s,
           "' (none, softmax or sigmoid)");
  return fm::nn::OutputLink::none;
}

std::unique_ptr<fm::PackedS8> pack(const py::array& W) {
  index_t K = 0;
  const std::int8_t* w = matrix<std::int8_t>(W, "W", "int8", -1, &K);
  auto p = std::make_unique<fm::PackedS8>();
  fm::pack_s8(w, K, static_cast<index_t>(W.shape(1)), *p);
  return p;
}

// A's rows as the kernel reads them: Kp bytes each (a copy only when K is not a multiple of 4).
const std::uint8_t* padded_rows(const std::uint8_t* a, index_t M, index_t K, index_t Kp,
                                std::vector<std::uint8_t>& copy) {
  if (K == Kp) return a;
  copy.assign(static_cast<std::size_t>(M * Kp), 0);
  for (index_t i = 0; i < M; ++i) std::memcpy(copy.data() + i * Kp, a + i * K, K);
  return copy.data();
}

py::array gemm_u8s8(const py::array& A, const fm::PackedS8& B, const py::object& a_scale,
                    const py::object& a_zero, const py::object& w_scale, const py::object& bias,
                    const std::string& activation, double alpha, int threads, bool portable) {
  index_t M = 0;
  const std::uint8_t* a = matrix<std::uint8_t>(A, "a", "uint8", B.K, &M);
  FM_CHECK(threads >= 0, "threads must be >= 0, got ", threads);
  const int nt = threads > 0 ? threads : fm::get_num_threads();
  const auto path = portable ? fm::Int8Path::portable : fm::Int8Path::best;
  std::vector<std::uint8_t> copy;
  const std::uint8_t* ap = padded_rows(a, M, B.K, B.Kp, copy);
  const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(M), static_cast<py::ssize_t>(B.N)};
  if (a_scale.is_none()) {  // raw int32 accumulators
    FM_CHECK(a_zero.is_none() && w_scale.is_none() && bias.is_none(),
             "a_zero, w_scale and bias need a_scale");
    py::array_t<std::int32_t> out(shape);
    std::int32_t* c = out.mutable_data();
    py::gil_scoped_release nogil;
    fm::gemm_u8s8_s32(nt, M, ap, B.Kp, B, c, B.N, path);
    return std::move(out);
  }
  py::array ks, kz, kw, kb;
  fm::Int8Epilogue ep;
  ep.a_scale = vec_f32(a_scale, "a_scale", M, false, ks);
  FM_CHECK(!a_zero.is_none(), "'a_zero' is required with a_scale");
  kz = fb::as_array(a_zero, "a_zero");
  FM_CHECK(fb::has_dtype<std::int32_t>(kz) && kz.ndim() == 1 && kz.shape(0) == M,
           "'a_zero' must be int32 of shape (", M, ",)");
  fb::check_layout(kz, "a_zero");
  ep.a_zero = static_cast<const std::int32_t*>(kz.data());
  ep.w_scale = vec_f32(w_scale, "w_scale", B.N, false, kw);
  ep.bias = vec_f32(bias, "bias", B.N, true, kb);
  ep.act = fm::act_from_name(activation);
  ep.alpha = static_cast<float>(alpha);
  py::array_t<float> out(shape);
  float* c = out.mutable_data();
  py::gil_scoped_release nogil;
  fm::gemm_u8s8_f32(nt, M, ap, B.Kp, B, ep, c, B.N, path);
  return std::move(out);
}

}  // namespace

void register_quantized(py::module_& m) {
  py::class_<fm::PackedS8>(m, "PackedS8",
                           "int8 weights (K, N) packed once for the int8 GEMM's kernels.")
      .def(py::init(&pack), py::arg("W"))
      .def_property_readonly("K", [](const fm::PackedS8& p) { return p.K; })
      .def_property_readonly("N", [](const fm::PackedS8& p) { return p.N; });
  m.def("gemm_u8s8", &gemm_u8s8, py::arg("a"), py::arg("b"), py::arg("a_scale") = py::none(),
        py::arg("a_zero") = py::none(), py::arg("w_scale") = py::none(),
        py::arg("bias") = py::none(), py::arg("activation") = "linear", py::arg("alpha") = 0.0,
        py::arg("threads") = 0, py::arg("portable") = false,
        "a (M, K) uint8 x b (PackedS8) -> int32 accumulators; with a_scale, a_zero, w_scale "
        "(and bias, activation): the dequantized float32 output. portable=True forces the "
        "portable kernel.");
  m.def(
      "quantize_rows_u8",
      [](const py::array& X) {
        index_t M = 0;
        const float* x = matrix<float>(X, "X", "float32", -1, &M);
        const index_t K = static_cast<index_t>(X.shape(1)), Kp = (K + 3) / 4 * 4;
        FM_CHECK(K >= 1, "'X' must have at least one column");
        FM_CHECK(fm::all_finite<float>(x, M * K), "'X' contains NaN or infinity");
        std::vector<std::uint8_t> q(static_cast<std::size_t>(M * Kp));
        py::array_t<std::uint8_t> a({static_cast<py::ssize_t>(M), static_cast<py::ssize_t>(K)});
        py::array_t<float> scale(static_cast<py::ssize_t>(M));
        py::array_t<std::int32_t> zero(static_cast<py::ssize_t>(M));
        fm::quantize_rows_u8(M, K, x, K, q.data(), Kp, scale.mutable_data(), zero.mutable_data());
        for (index_t i = 0; i < M; ++i) std::memcpy(a.mutable_data() + i * K, q.data() + i * Kp, K);
        return py::make_tuple(a, scale, zero);
      },
      py::arg("X"), "Dynamic per-row u8 quantization: (q (M, K) uint8, scale (M,), zero (M,)).");
  m.def(
      "vnni_peak_gops",
      [](int threads, double seconds) {
        py::gil_scoped_release nogil;
        return fm::vnni_peak_gops(threads, seconds);
      },
      py::arg("threads"), py::arg("seconds") = 0.5,
      "GOP/s of a vpdpbusd loop on `threads` threads (0.0 without AVX512_VNNI).");

  using QN = fm::nn::QuantizedNetwork;
  py::class_<QN>(m, "QuantizedNetwork",
                 "An int8 inference network (see model.quantize): Dense layers with int8 "
                 "weights, activations quantized per row at predict time.")
      .def(py::init<index_t>(), py::arg("input_dim"))
      .def(
          "add_dense",
          [](QN& n, const py::array& W, const py::array& w_scale, const py::object& bias,
             const std::string& activation, double alpha, const py::object& in_scale,
             const py::object& in_shift) {
            index_t K = 0;
            const std::int8_t* w = matrix<std::int8_t>(W, "W", "int8", -1, &K);
            const index_t N = static_cast<index_t>(W.shape(1));
            py::array ks, kb, kis, kit;
            const float* s = vec_f32(w_scale, "w_scale", N, false, ks);
            const float* b = vec_f32(bias, "bias", N, true, kb);
            const float* is = vec_f32(in_scale, "in_scale", K, true, kis);
            const float* it = vec_f32(in_shift, "in_shift", K, true, kit);
            n.add_dense(w, K, N, s, b, fm::act_from_name(activation), static_cast<float>(alpha), is,
                        it);
          },
          py::arg("W"), py::arg("w_scale"), py::arg("bias") = py::none(),
          py::arg("activation") = "linear", py::arg("alpha") = 0.0,
          py::arg("in_scale") = py::none(), py::arg("in_shift") = py::none(),
          "Appends a Dense layer: W (K, N) int8, w_scale (N,) float32, bias (N,) float32; "
          "in_scale / in_shift (K,) float32: x * in_scale + in_shift is what gets quantized.")
      .def_property_readonly("input_dim", &QN::input_dim)
      .def_property_readonly("output_dim", &QN::output_dim)
      .def_property_readonly("layers", &QN::layers)
      .def(
          "predict",
          [](const QN& n, const py::handle& Xh, int threads, const std::string& link_name) {
            const fm::nn::OutputLink link = link_from_name(link_name);
            FM_CHECK(n.layers() >= 1, "the quantized network has no layers");
            FM_CHECK(threads >= 0, "threads must be >= 0, got ", threads);
            py::array X = fb::as_array(Xh, "X");
            index_t rows = 0;
            const float* x = matrix<float>(X, "X", "float32", n.input_dim(), &rows);
            py::array_t<float> out(
                {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(n.output_dim())});
            float* o = out.mutable_data();
            const int nt = threads > 0 ? threads : fm::get_num_threads();
            {
              py::gil_scoped_release nogil;
              FM_CHECK(fm::all_finite<float>(x, rows * n.input_dim()),
                       "X contains NaN or infinity; impute or drop those values first");
              n.predict(x, rows, o, nt, link);
            }
            return out;
          },
          py::arg("X"), py::arg("threads") = 0, py::arg("link") = "none",
          "(n, output_dim) float32 outputs, then the link ('none', 'softmax' or 'sigmoid') on "
          "each row; the GIL is released.");
}
