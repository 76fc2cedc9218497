#pragma once
// Elementary functions on the vector layer of common/simd.hpp, lane-wise, written once over
// its primitives (the scalar generic build uses <cmath>):
//   vexp, vexpm1, vlog, vlog1p, vtanh, verf, verfc, vnorm_cdf2 (= erfc(-x/sqrt2), gelu's 2 Phi(x))
//
// Accuracy (vector paths):
//   float : vexp, vlog ~1 ulp; vexpm1, vlog1p, vtanh, verf, verfc <= ~2e-7 relative (erfc relative
//           down to its float underflow at 10.05).
//   double: vexp, vexpm1, vlog ~1 ulp (polynomials), vtanh ~2 ulp, verf, verfc <= ~1e-15 relative.
//
// Only for per-ISA sources (fm::FM_ISA_NS).
#include <cmath>
#include <limits>

#include "common/simd.hpp"

namespace fm {
namespace FM_ISA_NS {

#if defined(FM_SIMD_SCALAR)

template <class T>
inline T vexp(T x) {
  return std::exp(x);
}
template <class T>
inline T vlog(T x) {
  return std::log(x);
}
template <class T>
inline T vlog1p(T x) {
  return std::log1p(x);
}
template <class T>
inline T vexpm1(T x) {
  return std::expm1(x);
}
template <class T>
inline T vtanh(T x) {
  return std::tanh(x);
}
template <class T>
inline T verf(T x) {
  return std::erf(x);
}
template <class T>
inline T verfc(T x) {
  return std::erfc(x);
}
template <class T>
inline T vnorm_cdf2(T x) {
  return std::erfc(-x * T(0.70710678118654752440));
}

#else

namespace simd_detail {

// p(x) = c[0] x^(N-1) + ... + c[N-1], Horner with FMA.
template <class V, class T, int N>
inline V horner(V x, const T (&c)[N]) {
  V p = vset1(c[0]);
  for (int i = 1; i < N; ++i) p = vfma(p, x, vset1(c[i]));
  return p;
}

template <class T>
struct ExpConst;
template <>
struct ExpConst<float> {
  static constexpr float lo = -104.0f, hi = 89.0f;  // beyond: 0 and inf after scaling
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  // Taylor series of exp on |r| <= ln2/2, degree 7 (truncation < 6e-9).
  static constexpr float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                                 1.0f / 6,    0.5f,       1.0f,       1.0f};
};
template <>
struct ExpConst<double> {
  static constexpr double lo = -746.0, hi = 710.0;
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double ln2_hi = 6.93145751953125e-1, ln2_lo = 1.42860682030941723212e-6;
  // Taylor series, degree 13 (truncation < 5e-18).
  static constexpr double c[14] = {1.0 / 6227020800.0,
                                   1.0 / 479001600.0,
                                   1.0 / 39916800.0,
                                   1.0 / 3628800.0,
                                   1.0 / 362880.0,
                                   1.0 / 40320.0,
                                   1.0 / 5040.0,
                                   1.0 / 720.0,
                                   1.0 / 120.0,
                                   1.0 / 24.0,
                                   1.0 / 6.0,
                                   0.5,
                                   1.0,
                                   1.0};
};

template <class T>
struct LogConst;
template <>
struct LogConst<float> {
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  static constexpr float sqrt2 = 1.41421356237f;
  // R(s^2)/s^2 = 2/3 + 2/5 s^2 + ... (atanh series; |s| <= 0.1716)
  static constexpr float c[5] = {2.0f / 11, 2.0f / 9, 2.0f / 7, 2.0f / 5, 2.0f / 3};
  static constexpr float huge = 3.40282347e38f;
};
template <>
struct LogConst<double> {
  static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  static constexpr double sqrt2 = 1.4142135623730951;
  static constexpr double c[11] = {2.0 / 23, 2.0 / 21, 2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13,
                                   2.0 / 11, 2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3};
  static constexpr double huge = 1.7976931348623157e308;
};

}  // namespace simd_detail

// e^x. NaN propagates; x beyond the finite range gives 0 / inf.
template <class V>
inline V vexp(V x) {
  using T = decltype(vreduce_add(x));
  using C = simd_detail::ExpConst<T>;
  x = vmin(vset1(C::hi), vmax(vset1(C::lo), x));  // NaN stays NaN (second operand)
  V n = vround(vmul(x, vset1(C::log2e)));
  V r = vfnma(n, vset1(C::ln2_hi), x);
  r = vfnma(n, vset1(C::ln2_lo), r);
  return vldexp(simd_detail::horner(r, C::c), n);
}

// Natural logarithm: fdlibm's reduction log(1+f) = f - f^2/2 + s (f^2/2 + R(s)), s = f/(2+f).
// log(0) = -inf, log(x<0) = NaN, log(inf) = inf.
template <class V>
inline V vlog(V x) {
  using T = decltype(vreduce_add(x));
  using C = simd_detail::LogConst<T>;
  const V one = vset1(T(1));
  V e;
  V m = vfrexp1(vmax(x, vset1(T(0))), &e);  // garbage for x <= 0 or inf; patched below
  auto big = vgt(m, vset1(C::sqrt2));
  m = vselect(big, vmul(m, vset1(T(0.5))), m);
  e = vselect(big, vadd(e, one), e);
  V f = vsub(m, one);
  V s = vdiv(f, vadd(f, vset1(T(2))));
  V z = vmul(s, s);
  V R = vmul(z, simd_detail::horner(z, C::c));
  V hfsq = vmul(vset1(T(0.5)), vmul(f, f));
  // e*ln2_hi - ((hfsq - (s*(hfsq+R) + e*ln2_lo)) - f)
  V t = vfma(s, vadd(hfsq, R), vmul(e, vset1(C::ln2_lo)));
  V r = vfma(e, vset1(C::ln2_hi), vsub(f, vsub(hfsq, t)));
  r = vselect(veq(x, vset1(T(0))), vset1(-std::numeric_limits<T>::infinity()), r);  // -inf
  r = vselect(vgt(x, vset1(C::huge)), x, r);                                        // +inf
  r = vselect(vmask_or(vlt(x, vset1(T(0))), visnan(x)), vset1(std::numeric_limits<T>::quiet_NaN()),
              r);
  return r;
}

// log(1 + u) for u >= 0 (or u > -1), accurate for tiny u: log(w) * u / (w - 1), w = 1 + u
// (Goldberg's trick: the rounding error of w cancels).
template <class V>
inline V vlog1p(V u) {
  using T = decltype(vreduce_add(u));
  V w = vadd(u, vset1(T(1)));
  V d = vsub(w, vset1(T(1)));
  V r = vmul(vlog(w), vdiv(u, d));
  r = vselect(veq(d, vset1(T(0))), u, r);
  return vselect(vgt(u, vset1(std::numeric_limits<T>::max())), u, r);
}

namespace simd_detail {
// Taylor coefficients of expm1(x)/x, used on |x| < 0.7 where exp(x) - 1 would cancel.
template <class T>
struct Expm1Const;
template <>
struct Expm1Const<float> {  // degree 10 (truncation < 1e-9 relative)
  static constexpr float c[10] = {1.0f / 3628800, 1.0f / 362880, 1.0f / 40320, 1.0f / 5040,
                                  1.0f / 720,     1.0f / 120,    1.0f / 24,    1.0f / 6,
                                  0.5f,           1.0f};
};
template <>
struct Expm1Const<double> {  // degree 17 (truncation < 1e-18 relative)
  static constexpr double c[17] = {1.0 / 355687428096000.0,
                                   1.0 / 20922789888000.0,
                                   1.0 / 1307674368000.0,
                                   1.0 / 87178291200.0,
                                   1.0 / 6227020800.0,
                                   1.0 / 479001600.0,
                                   1.0 / 39916800.0,
                                   1.0 / 3628800.0,
                                   1.0 / 362880.0,
                                   1.0 / 40320.0,
                                   1.0 / 5040.0,
                                   1.0 / 720.0,
                                   1.0 / 120.0,
                                   1.0 / 24.0,
                                   1.0 / 6.0,
                                   0.5,
                                   1.0};
};
}  // namespace simd_detail

// e^x - 1, accurate near 0.
template <class V>
inline V vexpm1(V x) {
  using T = decltype(vreduce_add(x));
  V small = vmul(x, simd_detail::horner(x, simd_detail::Expm1Const<T>::c));
  V large = vsub(vexp(x), vset1(T(1)));
  return vselect(vlt(vabs(x), vset1(T(0.7))), small, large);  // NaN: large path, NaN
}

// Applies a scalar function lane by lane (a fallback for functions without a vector form).
template <class V, class F>
inline V per_lane(V x, F f) {
  using T = decltype(vreduce_add(x));
  alignas(kVecAlign) T buf[kVecWidth<T>];
  vstore(buf, x);
  for (int i = 0; i < kVecWidth<T>; ++i) buf[i] = f(buf[i]);
  return vload(buf);
}

namespace simd_detail {
// tanh(x)/x on |x| < 0.625 as a polynomial in x^2 (relative error < 4e-9).
inline constexpr float kTanhSmall[6] = {-5.659985801e-03f, 2.059098519e-02f,  -5.372106695e-02f,
                                        1.333112752e-01f,  -3.333326053e-01f, 1.0f};
// erf(x)/x on |x| < 0.7 (fitted on [0, 1]) as a polynomial in x^2 (relative error < 1.3e-9).
inline constexpr float kErfSmall[7] = {7.853858577e-05f,  -8.010192785e-04f, 5.188327590e-03f,
                                       -2.685381188e-02f, 1.128358515e-01f,  -3.761262582e-01f,
                                       1.128379166e+00f};
// t * erfc(t) * exp(t^2) on t in [0.7, 10] as a polynomial in v = 1/t - c (rel. error < 5e-8).
inline constexpr float kErfcCenter = 7.642857432e-01f;
inline constexpr float kErfcLarge[13] = {
    -1.360488847e-02f, 2.309286285e-03f,  2.865353321e-02f, -2.413545581e-02f, 4.276577642e-03f,
    4.782787763e-03f,  -1.718433417e-02f, 3.571303071e-02f, -4.789323299e-02f, 3.751010860e-02f,
    2.101591182e-02f,  -1.685044991e-01f, 4.657682042e-01f};
inline constexpr float kErfSplit = 0.7f;  // erf polynomial below, erfc polynomial above

// exp(-s a^2) for a >= 0 with a^2 split exactly: a = ah + al, ah = a rounded to 1/quantum
// (few enough bits that ah^2 is exact), so the exponent carries no rounding error.
template <class V, class T>
inline V exp_neg_sq(V a, T s, T quantum) {
  V ah = vmul(vround(vmul(a, vset1(quantum))), vset1(T(1) / quantum));
  V al = vsub(a, ah);
  return vmul(vexp(vmul(vmul(ah, ah), vset1(-s))), vexp(vmul(vmul(al, vadd(a, ah)), vset1(-s))));
}

// erfc(t) * exp(t^2) for t >= 0.7 (float): the fitted factor u * G(u), u = 1/t.
template <class V>
inline V erfc_factor_f32(V t) {
  V u = vdiv(vset1(1.0f), t);
  return vmul(u, horner(vsub(u, vset1(kErfcCenter)), kErfcLarge));
}

// erfc(t) for t >= 0.7 (float).
template <class V>
inline V erfc_large_f32(V t) {
  t = vmin(t, vset1(10.5f));  // erfc(10.5) underflows to 0 anyway; t*256 < 4096: 12 bits
  return vmul(exp_neg_sq(t, 1.0f, 256.0f), erfc_factor_f32(t));
}
}  // namespace simd_detail

// ---- double erf / erfc (vector) --------------------------------------------------------------
namespace simd_detail {
// erf(x)/x on |x| < 0.7: its Taylor series in x^2, 15 terms (truncation < 2e-17), highest first.
inline constexpr double kErfSmallD[15] = {
    4.46322426328647749e-13,  -6.71136685516411048e-12, 9.42275906465041125e-11,
    -1.22905553017179284e-09, 1.48071928158792176e-08,  -1.63658446912349245e-07,
    1.64621143658892485e-06,  -1.49256503584062504e-05, 1.20553329817896636e-04,
    -8.54832702345085333e-04, 5.22397762544218793e-03,  -2.68661706451312522e-02,
    1.12837916709551261e-01,  -3.76126389031837538e-01, 1.12837916709551256e+00};
// t * erfc(t) * exp(t^2) for t in [0.7, 27.5] as a Chebyshev series in the variable
// (1/t - kErfcMidD) * kErfcInvHalfD in [-1, 1]; 40 terms (truncation < 1e-17), c_0 first.
inline constexpr double kErfcMidD = 7.32467532467532489e-01,
                        kErfcInvHalfD = 1.43656716417910446e+00;
inline constexpr double kErfcChebD[40] = {
    4.70243075809663957e-01,  -1.03468825325203170e-01, -2.60564721139544065e-03,
    5.40473387796144410e-03,  -1.68940500291146181e-03, 2.67383286886561217e-04,
    2.27170048421568603e-05,  -3.33889066103052680e-05, 1.34839220106969080e-05,
    -3.24231163561988860e-06, 2.16138333018357444e-07,  2.47901403524198830e-07,
    -1.59482534376844247e-07, 5.87888732989049705e-08,  -1.35695175705262133e-08,
    3.26805310440483887e-10,  1.60299073058683688e-09,  -1.01314643647989302e-09,
    3.99546682588118866e-10,  -1.05254835301999975e-10, 8.64333877258995385e-12,
    1.00243198751424348e-11,  -7.81408592482043148e-12, 3.60161644739562964e-12,
    -1.17824282403753300e-12, 2.22591105968491991e-13,  3.77686445307764875e-14,
    -6.20292746758136980e-14, 3.66623088939965312e-14,  -1.52280788126294554e-14,
    4.52492531524894715e-15,  -6.09964083097026608e-16, -3.44345188122737244e-16,
    3.53817222219820524e-16,  -1.95625275123753835e-16, 7.97660633224964738e-17,
    -2.34570327498311559e-17, 2.89132692261261470e-18,  2.13129807531739644e-18,
    -2.12360284456259541e-18};

// erfc(t) * exp(t^2) for t >= 0.7 (double): u times the Chebyshev series (Clenshaw), u = 1/t.
template <class V>
inline V erfc_factor_f64(V t) {
  V u = vdiv(vset1(1.0), t);
  V x = vmul(vsub(u, vset1(kErfcMidD)), vset1(kErfcInvHalfD));
  V x2 = vadd(x, x), b1 = vzero<double>(), b2 = vzero<double>();
  for (int k = 39; k >= 1; --k) {
    V b0 = vfma(x2, b1, vsub(vset1(kErfcChebD[k]), b2));
    b2 = b1;
    b1 = b0;
  }
  return vmul(u, vfma(x, b1, vsub(vset1(kErfcChebD[0]), b2)));
}

// erfc(t) for t >= 0.7 (double).
template <class V>
inline V erfc_large_f64(V t) {
  t = vmin(t, vset1(27.5));  // erfc(27.5) underflows to 0 anyway; t*2^21 < 2^26: exact square
  return vmul(exp_neg_sq(t, 1.0, 2097152.0), erfc_factor_f64(t));
}
}  // namespace simd_detail

inline vec_t<float> vtanh(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kTanhSmall));
  // 1 - 2 / (e^{2|x|} + 1): no cancellation for |x| >= 0.625; e^{2|x|} = inf gives 1.
  V large = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(vexp(vadd(a, a)), vset1(1.0f))));
  large = vcopysign(large, x);
  return vselect(vlt(a, vset1(0.625f)), small, large);  // NaN: large path, NaN
}
// tanh(|x|) = -expm1(-2|x|) / (expm1(-2|x|) + 2): no overflow, no cancellation (~2 ulp).
inline vec_t<double> vtanh(vec_t<double> x) {
  using V = vec_t<double>;
  V e = vexpm1(vmul(vset1(-2.0), vabs(x)));
  return vcopysign(vdiv(vsub(vzero<double>(), e), vadd(e, vset1(2.0))), x);
}

inline vec_t<float> verfc(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vfnma(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmall), vset1(1.0f));
  V tail = simd_detail::erfc_large_f32(vmax(a, vset1(simd_detail::kErfSplit)));
  V large = vselect(vlt(x, vset1(0.0f)), vsub(vset1(2.0f), tail), tail);
  V r = vselect(vlt(a, vset1(simd_detail::kErfSplit)), small, large);
  return vselect(visnan(x), x, r);
}
inline vec_t<double> verfc(vec_t<double> x) {
  using V = vec_t<double>;
  V a = vabs(x);
  V small = vfnma(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmallD), vset1(1.0));
  V tail = simd_detail::erfc_large_f64(vmax(a, vset1(0.7)));
  V large = vselect(vlt(x, vset1(0.0)), vsub(vset1(2.0), tail), tail);
  V r = vselect(vlt(a, vset1(0.7)), small, large);
  return vselect(visnan(x), x, r);
}

inline vec_t<float> verf(vec_t<float> x) {
  using V = vec_t<float>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmall));
  V large = vcopysign(
      vsub(vset1(1.0f), simd_detail::erfc_large_f32(vmax(a, vset1(simd_detail::kErfSplit)))), x);
  V r = vselect(vlt(a, vset1(simd_detail::kErfSplit)), small, large);
  return vselect(visnan(x), x, r);
}
inline vec_t<double> verf(vec_t<double> x) {
  using V = vec_t<double>;
  V a = vabs(x);
  V small = vmul(x, simd_detail::horner(vmul(x, x), simd_detail::kErfSmallD));
  V large = vcopysign(vsub(vset1(1.0), simd_detail::erfc_large_f64(vmax(a, vset1(0.7)))), x);
  V r = vselect(vlt(a, vset1(0.7)), small, large);
  return vselect(visnan(x), x, r);
}

// 2 Phi(x) = erfc(-x / sqrt2) = 1 + erf(x / sqrt2) (gelu's factor), without cancellation for
// x < 0 and with the tail's exponent -x^2/2 taken exactly from x itself (rounding x / sqrt2
// first would cost ~x^2 ulp of relative accuracy far in the tail).
template <class V>
inline V vnorm_cdf2(V x) {
  using T = decltype(vreduce_add(x));
  constexpr T inv_sqrt2 = T(0.70710678118654752440), split = T(0.7);
  constexpr T amax = sizeof(T) == 4 ? T(14.8) : T(38.8);       // tail underflows beyond
  constexpr T quantum = sizeof(T) == 4 ? T(256) : T(1048576);  // ah^2 exact (<= 12 / 26 bits)
  V y = vmul(x, vset1(inv_sqrt2));
  V ay = vabs(y);
  V small;
  if constexpr (sizeof(T) == 4)
    small = vfma(y, simd_detail::horner(vmul(y, y), simd_detail::kErfSmall), vset1(T(1)));
  else
    small = vfma(y, simd_detail::horner(vmul(y, y), simd_detail::kErfSmallD), vset1(T(1)));
  V a = vmin(vabs(x), vset1(amax));
  V t = vmax(vmul(a, vset1(inv_sqrt2)), vset1(split));
  V factor;
  if constexpr (sizeof(T) == 4)
    factor = simd_detail::erfc_factor_f32(t);
  else
    factor = simd_detail::erfc_factor_f64(t);
  V tail = vmul(simd_detail::exp_neg_sq(a, T(0.5), quantum), factor);  // erfc(|x| / sqrt2)
  V large = vselect(vlt(x, vzero<T>()), tail, vsub(vset1(T(2)), tail));
  V r = vselect(vlt(ay, vset1(split)), small, large);
  return vselect(visnan(x), x, r);
}

#endif

}  // namespace FM_ISA_NS
}  // namespace fm
