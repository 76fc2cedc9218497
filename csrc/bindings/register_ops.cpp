// Direct ops: GEMM with fused epilogue on NumPy arrays (float32/float64, any strides).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <type_traits>

#include "bindings/numpy_args.hpp"
#include "common/check.hpp"
#include "common/parallel.hpp"
#include "common/types.hpp"
#include "gemm/gemm.hpp"
#include "gemm/gemm_bf16.hpp"
#include "gemm/gemm_dispatch.hpp"

namespace py = pybind11;

namespace {

using fm::index_t;
using fm::bind::dispatch_float;

// A 2-D operand as the GEMM sees it: row-major storage with leading dimension ld, possibly
// the transpose of what the caller passed (a Fortran-ordered array is used as the row-major
// transpose instead of being copied).
template <class T>
struct Operand {
  py::array keep;  // owns the memory (the caller's array or one contiguous copy)
  const T* data = nullptr;
  index_t ld = 0;
  bool flipped = false;  // storage is the transpose of the logical array
};

template <class T>
Operand<T> as_operand(const py::array& a, const char* name) {
  FM_CHECK(a.ndim() == 2, name, " must be 2-D, got ", a.ndim(), " dimensions");
  const index_t rows = a.shape(0), cols = a.shape(1), isz = sizeof(T);
  const index_t s0 = a.strides(0), s1 = a.strides(1);
  Operand<T> op;
  op.keep = a;
  op.data = static_cast<const T*>(a.data());
  if (rows == 0 || cols == 0) {
    op.ld = cols > 1 ? cols : 1;
    return op;
  }
  const bool row_major =
      (cols == 1 || s1 == isz) && (rows == 1 || (s0 > 0 && s0 % isz == 0 && s0 / isz >= cols));
  if (row_major) {
    op.ld = rows == 1 ? cols : s0 / isz;
    return op;
  }
  const bool col_major =
      (rows == 1 || s0 == isz) && (cols == 1 || (s1 > 0 && s1 % isz == 0 && s1 / isz >= rows));
  if (col_major) {
    op.ld = cols == 1 ? rows : s1 / isz;
    op.flipped = true;
    return op;
  }
  // Any other layout (negative or odd strides): one C-contiguous copy.
  auto c = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
  FM_CHECK(c, "could not convert ", name, " to a contiguous array");
  op.keep = c;
  op.data = c.data();
  op.ld = cols;
  return op;
}

// A writable (M, N) output with unit column stride.
template <class T>
T* as_output(const py::array& o, index_t M, index_t N, const char* name, index_t& ld) {
  FM_CHECK(o.ndim() == 2 && o.shape(0) == M && o.shape(1) == N, name, " must have shape (", M, ", ",
           N, ")");
  FM_CHECK(o.writeable(), name, " must be writable");
  const index_t isz = sizeof(T), s0 = o.strides(0), s1 = o.strides(1);
  if (M == 0 || N == 0) {
    ld = N > 1 ? N : 1;
    return static_cast<T*>(const_cast<void*>(o.data()));
  }
  FM_CHECK((N <= 1 || s1 == isz) && (M <= 1 || (s0 > 0 && s0 % isz == 0 && s0 / isz >= N)), name,
           " must be row-major with unit column stride");
  ld = M <= 1 ? (N > 1 ? N : 1) : s0 / isz;
  return static_cast<T*>(const_cast<void*>(o.data()));
}

// Product precision codes of the binding's gemm: float32 (the operands' own), bf16 (the
// best bf16 path), bf16 forced through the emulated path (for tests).
constexpr int kPrecisionF32 = 0, kPrecisionBf16 = 1, kPrecisionBf16Emulated = 2;

template <class T>
py::array gemm_typed(const py::array& a, const py::array& b, bool trans_a, bool trans_b,
                     const py::object& bias, int activation, double alpha, const py::object& out,
                     double beta, const py::object& z_out, int threads, bool reference,
                     int precision) {
  Operand<T> A = as_operand<T>(a, "a"), B = as_operand<T>(b, "b");
  const index_t M = trans_a ? a.shape(1) : a.shape(0), Ka = trans_a ? a.shape(0) : a.shape(1);
  const index_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  FM_CHECK(Ka == Kb, "a and b have mismatched inner dimensions: ", Ka, " vs ", Kb);
  FM_CHECK(activation >= 0 && activation < static_cast<int>(fm::Act::softmax), "activation code ",
           activation, " cannot be fused into gemm");
  FM_CHECK(beta == 0.0 || beta == 1.0, "beta must be 0 or 1, got ", beta);
  FM_CHECK(threads >= 0, "threads must be >= 0, got ", threads);

  fm::Epilogue<T> ep;
  ep.act = static_cast<fm::Act>(activation);
  ep.alpha = static_cast<T>(alpha);
  py::array bias_arr;
  if (!bias.is_none()) {
    bias_arr = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(bias);
    FM_CHECK(bias_arr && bias_arr.ndim() == 1 && bias_arr.shape(0) == N,
             "bias must be 1-D of length ", N);
    ep.bias = static_cast<const T*>(bias_arr.data());
  }
  py::array z_arr;
  if (!z_out.is_none()) {
    z_arr = py::reinterpret_borrow<py::array>(z_out);
    FM_CHECK(py::isinstance<py::array_t<T>>(z_out) && z_arr.dtype().is(py::dtype::of<T>()),
             "z_out must have the dtype of a");
    ep.z_out = as_output<T>(z_arr, M, N, "z_out", ep.ldz);
  }
  py::array c_arr;
  if (out.is_none()) {
    FM_CHECK(beta == 0.0, "beta=1 needs out");
    c_arr = py::array_t<T>({M, N});
  } else {
    c_arr = py::reinterpret_borrow<py::array>(out);
    FM_CHECK(c_arr.dtype().is(py::dtype::of<T>()), "out must have the dtype of a");
  }
  index_t ldc = 0;
  T* C = as_output<T>(c_arr, M, N, "out", ldc);

  const bool ta = trans_a != A.flipped, tb = trans_b != B.flipped;
  {
    py::gil_scoped_release nogil;
    if constexpr (std::is_same_v<T, float>) {
      if (precision != kPrecisionF32) {
        const auto path = precision == kPrecisionBf16 ? fm::Bf16Path::best : fm::Bf16Path::emulated;
        fm::gemm_bf16_threads(threads > 0 ? threads : fm::get_num_threads(), ta, tb, M, N, Ka,
                              A.data, A.ld, B.data, B.ld, T(beta), C, ldc, ep, path);
        return c_arr;
      }
    }
    if (reference)
      fm::gemm_ref<T>(ta, tb, M, N, Ka, A.data, A.ld, B.data, B.ld, T(beta), C, ldc, ep);
    else if (threads > 0)
      fm::gemm_threads<T>(threads, ta, tb, M, N, Ka, A.data, A.ld, B.data, B.ld, T(beta), C, ldc,
                          ep);
    else
      fm::gemm<T>(ta, tb, M, N, Ka, A.data, A.ld, B.data, B.ld, T(beta), C, ldc, ep);
  }
  return c_arr;
}

py::array gemm_any(const py::array& a, const py::array& b, bool trans_a, bool trans_b,
                   const py::object& bias, int activation, double alpha, const py::object& out,
                   double beta, const py::object& z_out, int threads, bool reference,
                   int precision = kPrecisionF32) {
  FM_CHECK(a.dtype().is(b.dtype()), "a and b must have the same dtype");
  FM_CHECK(precision >= kPrecisionF32 && precision <= kPrecisionBf16Emulated,
           "unknown precision code ", precision);
  FM_CHECK(precision == kPrecisionF32 || a.dtype().is(py::dtype::of<float>()),
           "precision='bf16' needs float32 operands");
  return dispatch_float(a, "a", [&](auto t) {
    return gemm_typed<decltype(t)>(a, b, trans_a, trans_b, bias, activation, alpha, out, beta,
                                   z_out, threads, reference, precision);
  });
}

py::dict gemm_info_dict(const fm::GemmInfo& g) {
  py::dict d;
  d["isa"] = g.isa;
  d["ukernel"] = g.ukernel;
  d["mr"] = g.mr;
  d["nr"] = g.nr;
  d["mc"] = g.mc;
  d["kc"] = g.kc;
  d["nc"] = g.nc;
  d["one_row"] = g.one_row;
  d["sup_max_m"] = g.sup_max_m;
  d["sup_split_min"] = g.sup_split_min;
  return d;
}

}  // namespace

void register_ops(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, bool trans_a, bool trans_b, const py::object& bias,
         int activation, double alpha, const py::object& out, double beta, const py::object& z_out,
         int threads, int precision) {
        return gemm_any(a, b, trans_a, trans_b, bias, activation, alpha, out, beta, z_out, threads,
                        false, precision);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("bias") = py::none(), py::arg("activation") = 0, py::arg("alpha") = 0.0,
      py::arg("out") = py::none(), py::arg("beta") = 0.0, py::arg("z_out") = py::none(),
      py::arg("threads") = 0, py::arg("precision") = kPrecisionF32,
      "out = act(beta*out + op(a) @ op(b) + bias) with the core's GEMM (activation is an Act "
      "code; threads=0 uses get_num_threads()). z_out receives the pre-activation. precision: "
      "0 float32/float64, 1 bf16 operands (float32 only), 2 bf16 through the emulated path.");
  m.def(
      "fp32_peak_gflops",
      [](int threads, double seconds) {
        py::gil_scoped_release nogil;
        return fm::fp32_peak_gflops(threads, seconds);
      },
      py::arg("threads"), py::arg("seconds") = 0.5,
      "GFLOP/s of a loop of independent float32 FMAs on the active ISA's vectors, on `threads` "
      "threads: the FP32 peak the GEMM and training rates are measured against.");
  m.def(
      "bf16_peak_gflops",
      [](int threads, double seconds) {
        py::gil_scoped_release nogil;
        return fm::bf16_peak_gflops(threads, seconds);
      },
      py::arg("threads"), py::arg("seconds") = 0.5,
      "GFLOP/s of a vdpbf16ps loop on `threads` threads (0.0 without AVX512_BF16).");
  m.def(
      "gemm_ref",
      [](const py::array& a, const py::array& b, bool trans_a, bool trans_b, const py::object& bias,
         int activation, double alpha, const py::object& out, double beta,
         const py::object& z_out) {
        return gemm_any(a, b, trans_a, trans_b, bias, activation, alpha, out, beta, z_out, 0, true);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("bias") = py::none(), py::arg("activation") = 0, py::arg("alpha") = 0.0,
      py::arg("out") = py::none(), py::arg("beta") = 0.0, py::arg("z_out") = py::none(),
      "Scalar reference GEMM (same contract as gemm), for tests.");
  m.def(
      "gemm_info",
      [](const std::string& dtype) {
        return dispatch_float(dtype,
                              [](auto t) { return gemm_info_dict(fm::gemm_info<decltype(t)>()); });
      },
      py::arg("dtype") = "float32", "The active GEMM table: ISA, micro-kernel, MR/NR/MC/KC/NC.");
  m.def(
      "gemm_threads_for",
      [](index_t M, index_t N, index_t K, int cap, const std::string& dtype) {
        return dispatch_float(
            dtype, [&](auto t) { return fm::gemm_threads_for<decltype(t)>(M, N, K, cap); });
      },
      py::arg("M"), py::arg("N"), py::arg("K"), py::arg("cap"), py::arg("dtype") = "float32",
      "Threads the GEMM uses for an (M, N, K) problem under a thread cap.");
}
