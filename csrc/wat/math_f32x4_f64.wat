;; math_f32x4_f64.wat -- lane-wise float32 math on v128 (4 x f32), evaluated in float64.
;;
;; A FRAGMENT of module fields: only (func ...) definitions, no memory, exports,
;; globals, imports or data; constants are inline.  The compiler concatenates it
;; into the modules it generates when a kernel uses one of its functions (it does
;; not depend on math_f32x4.wat).  Only plain SIMD128 instructions are used (no
;; relaxed-SIMD, no FMA), so results are bit-identical on every host.
;;
;; Strategy: each $f32x4_<name> splits its 4 lanes into two f64x2 halves
;; (f64x2.promote_low_f32x4), evaluates $f64x2_<name> on each, and rounds back
;; once (f32x4.demote_f64x2_zero).  In float64 the textbook formulas are accurate
;; (their errors are below ~1e-13 relative, more than 2^19 times smaller than a
;; float32 ulp), float32 subnormals are float64 normals and float32 overflow cannot
;; occur in the intermediate steps, so every result is the float64 value rounded
;; once: correctly rounded except very near a rounding tie.  The price: two
;; float64 evaluations per f32x4 (roughly half the throughput of a float32 routine of
;; the same degree; not benchmarked).  Constants are decimal (the shortest text that
;; reads back as the float64 intended; Taylor coefficients are 1/k! etc. rounded).
;;
;; Functions (param $x v128) (result v128):
;;   $f32x4_sin $f32x4_cos $f32x4_tan $f32x4_asin $f32x4_acos $f32x4_atan
;;   $f32x4_sinh $f32x4_cosh $f32x4_asinh $f32x4_acosh $f32x4_atanh
;;   $f32x4_log1p $f32x4_expm1 $f32x4_log2 $f32x4_log10 $f32x4_exp2 $f32x4_erfc
;;   $f32x4_erfinv $f32x4_erfcx $f32x4_i0 $f32x4_i0e $f32x4_i1 $f32x4_i1e
;;   $f32x4_digamma $f32x4_lgamma
;; and (param $x v128) (param $y v128) (result v128):
;;   $f32x4_atan2 (atan2(x, y): x is the "y" of C's atan2, as torch.atan2(input, other))
;;   $f32x4_hypot $f32x4_pow (x ** y)
;;   $f32x4_polygamma (polygamma(n, x), n >= 1 an integer, the same in every lane)
;;
;; Float64 kernels (f64x2, used by the above):
;;   $f64x2_exp    clamp to [-700, 700]; n = nearest(x/ln2) (shifter), Cody-Waite r = x - n*LN2_HI -
;;                 n*LN2_LO (LN2_HI with 32 bits), Taylor to r^11, times 2^n from the exponent bits.
;;   $f64x2_log    x = 2^k * m, m in [sqrt(1/2), sqrt(2)) by integer ops, s = (m-1)/(m+1),
;;                 log = k*ln2 + 2*atanh(s) (series to s^17); log(0) = -inf, log(x<0) = NaN.
;;   $f64x2_atan01 atan(t), t in [0, 1]: t > tan(pi/8) -> pi/4 + atan((t-1)/(t+1)); then
;;                 u + u^3*P(u^2), P of degree 8 (least squares on Chebyshev nodes, rel. err 4e-15).
;;   $f64x2_atan2  C's atan2 (quadrants, signed zeros, infinities) from $f64x2_atan01.
;;   $f64x2_trig   sin/cos/tan: n = nearest(x*2/pi), Cody-Waite with a 3-part pi/2 (P1, P2 with 20
;;                 significant bits: n*P1, n*P2 and the subtractions are exact for |n| <= 2^33);
;;                 lanes with |x| >= 2^30 (only when there are any: one branch) are reduced exactly
;;                 instead (Payne-Hanek): 2/pi as 9 chunks of 24 bits (216 bits), |x| * chunk exact
;;                 in float64, each product reduced mod 4 exactly, integer parts summed exactly and
;;                 fractions by a compensated (TwoSum) sum, r = frac * pi/2.  Then Taylor kernels to
;;                 r^15 (sin) and r^14 (cos) on |r| <= pi/4, quadrant (n mod 4) by selects.
;; Formulas of the others (float64): sinh = (e - 1/e)/2 (Taylor for |x| < 2^-5), cosh = (e + 1/e)/2,
;; asinh = log(|x| + sqrt(x^2+1)) (Taylor for |x| < 2^-5), acosh = log(x + sqrt((x-1)(x+1))),
;; atanh = log((1+x)/(1-x))/2 (Taylor for |x| < 2^-5), log1p = log(u)*x/(u-1) with u = 1+x,
;; expm1 = exp(x) - 1 (Taylor for |x| < 2^-10), log2/log10 = log(x) times 1/ln2 or 1/ln10,
;; exp2 = exp(x*ln2), asin = atan2(x, sqrt((1-x)(1+x))), acos = atan2(sqrt((1-x)(1+x)), x),
;; hypot = sqrt(x^2 + y^2), pow = exp(y*log|x|) with C's special cases (below);
;; erfc: |x| < 0.5: 1 - erf(x) (Taylor to x^21); else exp(-b^2) * G(t), b = min(|x|, 11),
;; t = (b-2)/(b+2), G of degree 18 (Chebyshev fit of erfc(x)*exp(x^2), rel. err 7e-14), and
;; 2 - erfc(-x) for x < 0; erfinv: Giles' float32 approximation as first guess, then two
;; Newton steps on erf(y) = |x| (residual from the erf Taylor series below 0.5, from erfc above);
;; erfcx = exp(x^2) * erfc(x) below 0.5, erfc's G(t) on [0.5, 11], the asymptotic series above;
;; i0, i0e, i1, i1e ($f64x2_besseli): power series (64 terms, a loop) for |x| <= 30, asymptotic
;; series (14 terms) above; i0(+-inf) = i1(+-inf) = NaN and i1(-0) = +0 as PyTorch (Cephes);
;; digamma: reflection for x < 0 (pi / tan(pi r), r = x - nearest(x)), recurrence to y >= 10
;; (10 selected steps), asymptotic series (Bernoulli numbers to B14); psi(+-0) = -+inf and NaN
;; at negative integers, as PyTorch.
;; lgamma (log|Gamma|): reflection for x < 0 (log(pi / |sin(pi r)|) - lgamma(1 - x)), recurrence to
;; y >= 10 (the 10 factors multiplied, one log), Stirling's series (Bernoulli numbers to B14); within
;; 1/32 of 1 and 2 Taylor series in x - 1 and x - 2 (coefficients from zeta(k), k <= 13) instead, where
;; the recurrence would cancel; lgamma(1) = lgamma(2) = +0, +inf at 0, -0, the negative integers
;; and +-inf, as PyTorch.
;; polygamma(n, x), n >= 1: (-1)^(n+1) n! zeta(n+1, x), the terms below 2n + 10 summed directly, the
;; rest by Euler-Maclaurin (Bernoulli numbers to B16); PyTorch's values at the poles (x <= 0 an
;; integer: (-1)^(n+1) inf) and at +inf (0 for n = 1, its trigamma; NaN for n >= 2, its zeta).
;;
;; Domain/specials (as C99/glibc and PyTorch): NaN -> NaN everywhere except pow(x, +-0) = 1,
;; pow(1, y) = 1, pow(-1, +-inf) = 1, hypot(+-inf, y) = +inf even for y NaN.  Signs of zero kept:
;; sin, tan, asin, atan, sinh, asinh, atanh, log1p, expm1 of -0 are -0; atan2 as C (atan2(+-0, -0)
;; = +-pi, atan2(+-0, +0) = +-0, atan2(+-inf, +-inf) = +-pi/4 or +-3pi/4).  sin/cos/tan(+-inf) =
;; NaN; asin/acos of |x| > 1, acosh(x < 1), atanh(|x| > 1), log*(x < domain) = NaN; atanh(+-1) =
;; +-inf, erfinv(+-1) = +-inf, erfinv(|x| > 1) = NaN, erfc(-inf) = 2, erfc(+inf) = 0, log1p(-1) = -inf, log2/log10(+-0) = -inf; sinh, cosh, expm1, exp2 overflow to inf above
;; the float32 range (expm1(x) -> -1 for x -> -inf); exp2 gives subnormals down to 2^-149.
;; pow: negative x (incl. -0, -inf) with odd integer y gives the negated |x|^y, with non-integer
;; finite y NaN; pow(+-0, y < 0) = +inf (-inf for -0 and odd y); |x| < 1 and y = +inf -> +0, etc.
;;
;; Errors are MEASURED against numpy float64 (glibc: correctly reduced, within an ulp
;; of float64) rounded to float32, by the slow sweep of tests/unit/test_math_f64_wat.py
;; (`python -m pytest tests/unit/test_math_f64_wat.py -q -s --runslow -k sweep` prints
;; them): per function 2^24 random float32 bit patterns (all exponents, NaN/inf dropped)
;; plus 2^22-point grids over its interesting range (sin/cos/tan/sinh/cosh: [-100, 100];
;; expm1: [-110, 100] and [-1e-3, 1e-3]; exp2: [-160, 130]; asin/acos/atanh: [-1, 1];
;; acosh: [1, 3]; log1p: [-1, 2] and [-1e-3, 1e-3]; erfc: [-4, 11] and [-0.6, 0.6];
;; erfinv: [-1, 1] and [0.999, 1] (reference scipy.special.erfinv); erfcx: [-10, 30] (reference
;; scipy.special.erfcx); i0/i0e/i1/i1e: [-100, 100] (reference scipy.special);
;; digamma: [-20, 20] and [0, 3] (reference scipy.special.digamma); lgamma: [-20, 20], [0, 3] and
;; [-5, 0] (reference scipy.special.gammaln), and every float32 within 2^15 steps of its zeros; binary: pairs of random bit patterns
;; plus uniform pairs in [-10, 10]^2, pow also x in [0, 4] with y in [-30, 30] and x in
;; [-4, 0] with integer y), 2.1e7 to 3.3e7 inputs per function, and by the default-suite
;; sweeps (2^18 patterns) and the large-argument test of sin/cos/tan (geometric grid
;; 1e3 .. 3.4e38, every float32 around 2^30 and below FLT_MAX).
;; "ulp err" = |got - ref64| / ulp(ref64 rounded to float32): correctly rounded <= 0.5.
;;   every function of this file, every input measured: max ulp err 0.500000 (to 6
;;   decimals: correctly rounded on all 2^24-sample sweeps); subnormal results dist <= 1
;;   (a float64 result next to a float32 subnormal tie, e.g. exp2(-150) = 2^-149).
;;   The tests assert <= 0.501 ulp for normal results, NaN/inf placement exactly.
;;   sin/cos/tan over the whole float32 range (Payne-Hanek above 2^30): max 0.499999.
;;   lgamma: correctly rounded except next to its negative zeros (-2.457, -2.748, -3.144, ...), where
;;   the reflection's float64 cancellation gives at most 0.54 ulp (the tests assert <= 0.6 there).
;;   polygamma, n = 1, 2, 3, 4, 7 (grid over [-20, 20], (0, 3), random positive float32, next to the
;;   poles; reference scipy.special.polygamma): max 0.500000.

;; NaN results are a NaN of unspecified sign and payload.

  (func $f64x2_exp (param $x v128) (result v128)
    ;; exp(x) in float64, accurate to ~1e-15 relative for the float64 promotion of any float32
    (local $t v128) (local $n v128) (local $r v128)
    ;; clamp (pmin/pmax keep a NaN x): exp(-700) rounds to 0 and exp(700) to inf in float32
    (local.set $x
      (f64x2.pmin (f64x2.pmax (local.get $x) (v128.const f64x2 -700.0 -700.0)) (v128.const f64x2 700.0 700.0)))
    ;; n = nearest(x / ln2) by the 1.5 * 2^52 shifter; its integer value is in the low bits of t
    (local.set $t
      (f64x2.add
        (f64x2.mul (local.get $x) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
        (v128.const f64x2 6755399441055744.0 6755399441055744.0)))
    (local.set $n (f64x2.sub (local.get $t) (v128.const f64x2 6755399441055744.0 6755399441055744.0)))
    ;; r = x - n*LN2_HI - n*LN2_LO, LN2_HI with 32 significant bits (n*LN2_HI exact), |r| <= 0.347
    (local.set $r
      (f64x2.sub
        (f64x2.sub
          (local.get $x)
          (f64x2.mul (local.get $n) (v128.const f64x2 0.6931471803691238 0.6931471803691238)))
        (f64x2.mul (local.get $n) (v128.const f64x2 1.9082149292705877e-10 1.9082149292705877e-10))))
    ;; exp(r) = 1 + r + r^2 * (1/2! + r/3! + ... + r^9/11!)  (Taylor, truncation < 1e-11 relative)
    ;; times 2^n built from the exponent bits ((n + 1023) << 52, n in [-1010, 1010])
    (f64x2.mul
      (f64x2.add
        (v128.const f64x2 1.0 1.0)
        (f64x2.add
          (local.get $r)
          (f64x2.mul
            (f64x2.mul (local.get $r) (local.get $r))
            (f64x2.add
              (v128.const f64x2 0.5 0.5)
              (f64x2.mul
                (local.get $r)
                (f64x2.add
                  (v128.const f64x2 0.16666666666666666 0.16666666666666666)
                  (f64x2.mul
                    (local.get $r)
                    (f64x2.add
                      (v128.const f64x2 0.041666666666666664 0.041666666666666664)
                      (f64x2.mul
                        (local.get $r)
                        (f64x2.add
                          (v128.const f64x2 0.008333333333333333 0.008333333333333333)
                          (f64x2.mul
                            (local.get $r)
                            (f64x2.add
                              (v128.const f64x2 0.001388888888888889 0.001388888888888889)
                              (f64x2.mul
                                (local.get $r)
                                (f64x2.add
                                  (v128.const f64x2 0.0001984126984126984 0.0001984126984126984)
                                  (f64x2.mul
                                    (local.get $r)
                                    (f64x2.add
                                      (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05)
                                      (f64x2.mul
                                        (local.get $r)
                                        (f64x2.add
                                          (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06)
                                          (f64x2.mul
                                            (local.get $r)
                                            (f64x2.add
                                              (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07)
                                              (f64x2.mul
                                                (local.get $r)
                                                (v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08))))))))))))))))))))))
      (i64x2.shl
        (i64x2.add
          (i64x2.sub (local.get $t) (v128.const i64x2 0x4338000000000000 0x4338000000000000))
          (v128.const i64x2 1023 1023))
        (i32.const 52)))
  )

  (func $f64x2_log (param $x v128) (result v128)
    ;; natural log(x) in float64, ~1e-16 relative
    (local $ix v128) (local $k v128) (local $f v128) (local $s v128) (local $z v128) (local $res v128)
    ;; x = 2^k * m, m in [sqrt(1/2), sqrt(2)) from integer ops on the bits (x is normal: a float32
    ;; promoted to float64, or a sum/quotient of such values near 1)
    (local.set $ix (i64x2.add (local.get $x) (v128.const i64x2 0x00095f619980c433 0x00095f619980c433)))
    (local.set $k
      (f64x2.sub
        (i64x2.add
          (i64x2.sub (i64x2.shr_s (local.get $ix) (i32.const 52)) (v128.const i64x2 1023 1023))
          (v128.const i64x2 0x4338000000000000 0x4338000000000000))
        (v128.const f64x2 6755399441055744.0 6755399441055744.0)))
    (local.set $f
      (f64x2.sub
        (i64x2.add
          (v128.and (local.get $ix) (v128.const i64x2 0x000fffffffffffff 0x000fffffffffffff))
          (v128.const i64x2 0x3fe6a09e667f3bcd 0x3fe6a09e667f3bcd))
        (v128.const f64x2 1.0 1.0)))
    ;; log(1+f) = 2*atanh(s) = 2s * (1 + s^2/3 + ... + s^16/17), s = f/(2+f), |s| <= 0.1716
    (local.set $s (f64x2.div (local.get $f) (f64x2.add (local.get $f) (v128.const f64x2 2.0 2.0))))
    (local.set $z (f64x2.mul (local.get $s) (local.get $s)))
    (local.set $res
      (f64x2.add
        (f64x2.mul (local.get $k) (v128.const f64x2 0.6931471805599453 0.6931471805599453))
        (f64x2.mul
          (f64x2.add (local.get $s) (local.get $s))
          (f64x2.add
            (v128.const f64x2 1.0 1.0)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 0.3333333333333333 0.3333333333333333)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 0.2 0.2)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 0.14285714285714285 0.14285714285714285)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 0.1111111111111111 0.1111111111111111)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 0.09090909090909091 0.09090909090909091)
                                (f64x2.mul
                                  (local.get $z)
                                  (f64x2.add
                                    (v128.const f64x2 0.07692307692307693 0.07692307692307693)
                                    (f64x2.mul
                                      (local.get $z)
                                      (f64x2.add
                                        (v128.const f64x2 0.06666666666666667 0.06666666666666667)
                                        (f64x2.mul
                                          (local.get $z)
                                          (v128.const f64x2 0.058823529411764705 0.058823529411764705))))))))))))))))))))
    ;; +inf and NaN pass through; log(+-0) = -inf; log(x < 0) = NaN
    (local.set $res
      (v128.bitselect
        (local.get $x)
        (local.get $res)
        (v128.or
          (f64x2.ne (local.get $x) (local.get $x))
          (f64x2.eq (local.get $x) (v128.const f64x2 inf inf)))))
    (local.set $res
      (v128.bitselect
        (v128.const f64x2 -inf -inf)
        (local.get $res)
        (f64x2.eq (local.get $x) (v128.const f64x2 0.0 0.0))))
    (v128.bitselect
      (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
      (local.get $res)
      (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0)))
  )

  (func $f64x2_atan01 (param $t v128) (result v128)
    ;; atan(t) for t in [0, 1], float64
    (local $mid v128) (local $u v128) (local $z v128)
    ;; t in [0, 1] (or NaN): t > tan(pi/8): atan(t) = pi/4 + atan(u), u = (t - 1)/(t + 1); |u| <= tan(pi/8)
    (local.set $mid (f64x2.gt (local.get $t) (v128.const f64x2 0.41421356237309503 0.41421356237309503)))
    (local.set $u
      (v128.bitselect
        (f64x2.div
          (f64x2.sub (local.get $t) (v128.const f64x2 1.0 1.0))
          (f64x2.add (local.get $t) (v128.const f64x2 1.0 1.0)))
        (local.get $t)
        (local.get $mid)))
    ;; atan(u) = u + u*z*P(z), z = u^2, P of degree 8 (least squares on Chebyshev nodes, relative error 4e-15)
    (local.set $z (f64x2.mul (local.get $u) (local.get $u)))
    (f64x2.add
      (v128.and (v128.const f64x2 0.7853981633974483 0.7853981633974483) (local.get $mid))
      (f64x2.add
        (local.get $u)
        (f64x2.mul
          (f64x2.mul (local.get $u) (local.get $z))
          (f64x2.add
            (v128.const f64x2 -0.33333333333331006 -0.33333333333331006)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 0.19999999997787218 0.19999999997787218)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 -0.14285713937953437 -0.14285713937953437)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 0.11111090000425904 0.11111090000425904)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 -0.09090263958566225 -0.09090263958566225)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 0.07681144380688448 0.07681144380688448)
                                (f64x2.mul
                                  (local.get $z)
                                  (f64x2.add
                                    (v128.const f64x2 -0.06551588359716685 -0.06551588359716685)
                                    (f64x2.mul
                                      (local.get $z)
                                      (f64x2.add
                                        (v128.const f64x2 0.051712713266187864 0.051712713266187864)
                                        (f64x2.mul
                                          (local.get $z)
                                          (v128.const f64x2 -0.027268306018910077 -0.027268306018910077))))))))))))))))))))
  )

  (func $f64x2_atan2 (param $y v128) (param $x v128) (result v128)
    ;; atan2(y, x), float64
    (local $ax v128) (local $ay v128) (local $t v128) (local $a v128)
    ;; as C's atan2: t = min(|x|,|y|)/max(|x|,|y|) (1 if both are inf, 0 if both are 0, NaN if either is),
    ;; a = atan(t); |y| > |x|: a = pi/2 - a; x < 0 or -0: a = pi - a; then the sign of y
    (local.set $ax (f64x2.abs (local.get $x)))
    (local.set $ay (f64x2.abs (local.get $y)))
    (local.set $t
      (f64x2.div (f64x2.pmin (local.get $ax) (local.get $ay)) (f64x2.pmax (local.get $ax) (local.get $ay))))
    (local.set $t
      (v128.bitselect
        (v128.const f64x2 1.0 1.0)
        (local.get $t)
        (v128.and
          (f64x2.eq (local.get $ax) (v128.const f64x2 inf inf))
          (f64x2.eq (local.get $ay) (v128.const f64x2 inf inf)))))
    (local.set $t
      (v128.bitselect
        (v128.const f64x2 0.0 0.0)
        (local.get $t)
        (v128.and
          (f64x2.eq (local.get $ax) (v128.const f64x2 0.0 0.0))
          (f64x2.eq (local.get $ay) (v128.const f64x2 0.0 0.0)))))
    (local.set $t
      (v128.bitselect
        (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
        (local.get $t)
        (v128.or (f64x2.ne (local.get $x) (local.get $x)) (f64x2.ne (local.get $y) (local.get $y)))))
    (local.set $a (call $f64x2_atan01 (local.get $t)))
    (local.set $a
      (v128.bitselect
        (f64x2.sub (v128.const f64x2 1.5707963267948966 1.5707963267948966) (local.get $a))
        (local.get $a)
        (f64x2.gt (local.get $ay) (local.get $ax))))
    (local.set $a
      (v128.bitselect
        (f64x2.sub (v128.const f64x2 3.141592653589793 3.141592653589793) (local.get $a))
        (local.get $a)
        (i64x2.lt_s (local.get $x) (v128.const i64x2 0 0))))
    (v128.or
      (local.get $a)
      (v128.and (local.get $y) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))
  )

  (func $f64x2_trig (param $x v128) (param $op v128) (result v128)
    ;; sin, cos or tan of x, float64
    (local $n v128) (local $q v128) (local $r v128) (local $z v128) (local $s v128) (local $c v128) (local $odd v128) (local $neg v128) (local $res v128) (local $ax v128) (local $big v128) (local $i v128) (local $hi v128) (local $lo v128) (local $t v128) (local $m v128) (local $fl v128) (local $sum v128) (local $bb v128)
    ;; op (a constant at each call site): 0 sin, 1 cos (= sin(x + pi/2): quadrant + 1), 2 tan
    ;; n = nearest(x * 2/pi), q = (n + op) mod 4 (exact in float64)
    (local.set $n
      (f64x2.nearest (f64x2.mul (local.get $x) (v128.const f64x2 0.6366197723675814 0.6366197723675814))))
    ;; Cody-Waite: r = ((x - n*P1) - n*P2) - n*P3, P1 and P2 with 20 significant bits: n*P1, n*P2 and both
    ;; subtractions are exact for |n| <= 2^33
    (local.set $r
      (f64x2.sub
        (f64x2.sub
          (f64x2.sub
            (local.get $x)
            (f64x2.mul (local.get $n) (v128.const f64x2 1.5707969665527344 1.5707969665527344)))
          (f64x2.mul (local.get $n) (v128.const f64x2 -6.39757672615815e-07 -6.39757672615815e-07)))
        (f64x2.mul (local.get $n) (v128.const f64x2 -1.6513995372426591e-13 -1.6513995372426591e-13))))
    ;; |x| >= 2^30 (only when a lane needs it): Payne-Hanek, below
    (local.set $ax (f64x2.abs (local.get $x)))
    (local.set $big (f64x2.ge (local.get $ax) (v128.const f64x2 1073741824.0 1073741824.0)))
    (if (v128.any_true (local.get $big)) (then
      ;; sum over the 9 chunks of 2/pi (24 bits each, 216 bits): T = |x| * chunk (exact), m = T mod 4 (exact),
      ;; i += floor(m), (hi, lo) += m - floor(m) (TwoSum: hi + lo is the exact sum of the fractions to 2^-100)
      (local.set $i (v128.const f64x2 0.0 0.0))
      (local.set $hi (v128.const f64x2 0.0 0.0))
      (local.set $lo (v128.const f64x2 0.0 0.0))
      (local.set $t (f64x2.mul (local.get $ax) (v128.const f64x2 0.6366197466850281 0.6366197466850281)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 2.5682552973194106e-08 2.5682552973194106e-08)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 2.937095214933759e-16 2.937095214933759e-16)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 3.2543794001732456e-23 3.2543794001732456e-23)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 1.2089613708828537e-29 1.2089613708828537e-29)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 5.667556795740071e-37 5.667556795740071e-37)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 2.6204031112097215e-44 2.6204031112097215e-44)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 7.053957680880629e-52 7.053957680880629e-52)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      (local.set $t
        (f64x2.mul (local.get $ax) (v128.const f64x2 1.582624282116559e-58 1.582624282116559e-58)))
      (local.set $m
        (f64x2.sub
          (local.get $t)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $t) (v128.const f64x2 0.25 0.25))))))
      (local.set $fl (f64x2.floor (local.get $m)))
      (local.set $i (f64x2.add (local.get $i) (local.get $fl)))
      (local.set $m (f64x2.sub (local.get $m) (local.get $fl)))
      (local.set $sum (f64x2.add (local.get $hi) (local.get $m)))
      (local.set $bb (f64x2.sub (local.get $sum) (local.get $hi)))
      (local.set $lo
        (f64x2.add
          (local.get $lo)
          (f64x2.add
            (f64x2.sub (local.get $hi) (f64x2.sub (local.get $sum) (local.get $bb)))
            (f64x2.sub (local.get $m) (local.get $bb)))))
      (local.set $hi (local.get $sum))
      ;; j = nearest(hi); n = (i + j) mod 4, r = (hi - j + lo) * pi/2 (hi - j is exact)
      (local.set $t (f64x2.nearest (local.get $hi)))
      (local.set $i (f64x2.add (local.get $i) (local.get $t)))
      (local.set $i
        (f64x2.sub
          (local.get $i)
          (f64x2.mul
            (v128.const f64x2 4.0 4.0)
            (f64x2.floor (f64x2.mul (local.get $i) (v128.const f64x2 0.25 0.25))))))
      (local.set $t
        (f64x2.mul
          (f64x2.add (f64x2.sub (local.get $hi) (local.get $t)) (local.get $lo))
          (v128.const f64x2 1.5707963267948966 1.5707963267948966)))
      ;; x < 0: x = -(n*pi/2 + r) = (-n)*pi/2 + (-r)
      (local.set $neg (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0)))
      (local.set $t (v128.bitselect (f64x2.neg (local.get $t)) (local.get $t) (local.get $neg)))
      (local.set $i
        (v128.bitselect
          (v128.bitselect
            (f64x2.sub (v128.const f64x2 4.0 4.0) (local.get $i))
            (v128.const f64x2 0.0 0.0)
            (f64x2.ne (local.get $i) (v128.const f64x2 0.0 0.0)))
          (local.get $i)
          (local.get $neg)))
      (local.set $n (v128.bitselect (local.get $i) (local.get $n) (local.get $big)))
      (local.set $r (v128.bitselect (local.get $t) (local.get $r) (local.get $big)))
    ))
    (local.set $q
      (f64x2.add
        (local.get $n)
        (v128.and (v128.const f64x2 1.0 1.0) (f64x2.eq (local.get $op) (v128.const f64x2 1.0 1.0)))))
    (local.set $q
      (f64x2.sub
        (local.get $q)
        (f64x2.mul
          (v128.const f64x2 4.0 4.0)
          (f64x2.floor (f64x2.mul (local.get $q) (v128.const f64x2 0.25 0.25))))))
    ;; sin(r) = r + r*z*S(z), cos(r) = 1 + z*C(z), z = r^2, Taylor to r^15 and r^14 (|r| <= pi/4 + tiny)
    (local.set $z (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $s
      (f64x2.add
        (local.get $r)
        (f64x2.mul
          (f64x2.mul (local.get $r) (local.get $z))
          (f64x2.add
            (v128.const f64x2 -0.16666666666666666 -0.16666666666666666)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 0.008333333333333333 0.008333333333333333)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 -0.0001984126984126984 -0.0001984126984126984)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 -2.505210838544172e-08 -2.505210838544172e-08)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10)
                                (f64x2.mul
                                  (local.get $z)
                                  (v128.const f64x2 -7.647163731819816e-13 -7.647163731819816e-13))))))))))))))))
    (local.set $c
      (f64x2.add
        (v128.const f64x2 1.0 1.0)
        (f64x2.mul
          (local.get $z)
          (f64x2.add
            (v128.const f64x2 -0.5 -0.5)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 0.041666666666666664 0.041666666666666664)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 -0.001388888888888889 -0.001388888888888889)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 -2.755731922398589e-07 -2.755731922398589e-07)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 2.08767569878681e-09 2.08767569878681e-09)
                                (f64x2.mul
                                  (local.get $z)
                                  (v128.const f64x2 -1.1470745597729725e-11 -1.1470745597729725e-11))))))))))))))))
    (local.set $odd
      (v128.or
        (f64x2.eq (local.get $q) (v128.const f64x2 1.0 1.0))
        (f64x2.eq (local.get $q) (v128.const f64x2 3.0 3.0))))
    (local.set $neg (f64x2.ge (local.get $q) (v128.const f64x2 2.0 2.0)))
    (local.set $res (v128.bitselect (local.get $c) (local.get $s) (local.get $odd)))
    (local.set $res
      (v128.xor
        (local.get $res)
        (v128.and (local.get $neg) (v128.const i64x2 0x8000000000000000 0x8000000000000000))))
    ;; tan: s/c for even n, -c/s for odd n
    (local.set $res
      (v128.bitselect
        (f64x2.div
          (v128.bitselect (f64x2.neg (local.get $c)) (local.get $s) (local.get $odd))
          (v128.bitselect (local.get $s) (local.get $c) (local.get $odd)))
        (local.get $res)
        (f64x2.eq (local.get $op) (v128.const f64x2 2.0 2.0))))
    ;; sin(+-0) = tan(+-0) = +-0 (the reduction loses the sign of zero)
    (v128.bitselect
      (local.get $x)
      (local.get $res)
      (v128.and
        (f64x2.eq (local.get $x) (v128.const f64x2 0.0 0.0))
        (f64x2.ne (local.get $op) (v128.const f64x2 1.0 1.0))))
  )

  (func $f64x2_sin (param $x v128) (result v128)
    (call $f64x2_trig (local.get $x) (v128.const f64x2 0.0 0.0))
  )

  (func $f64x2_cos (param $x v128) (result v128)
    (call $f64x2_trig (local.get $x) (v128.const f64x2 1.0 1.0))
  )

  (func $f64x2_tan (param $x v128) (result v128)
    (call $f64x2_trig (local.get $x) (v128.const f64x2 2.0 2.0))
  )

  (func $f64x2_atan (param $x v128) (result v128)
    (local $s v128)
    ;; |x| > 1: atan(x) = pi/2 - atan(1/|x|), then the sign of x
    (local.set $x (f64x2.abs (local.tee $s (local.get $x))))
    (v128.or
      (v128.and (local.get $s) (v128.const i64x2 0x8000000000000000 0x8000000000000000))
      (v128.bitselect
        (f64x2.sub
          (v128.const f64x2 1.5707963267948966 1.5707963267948966)
          (call $f64x2_atan01 (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $x))))
        (call $f64x2_atan01 (local.get $x))
        (f64x2.gt (local.get $x) (v128.const f64x2 1.0 1.0))))
  )

  (func $f64x2_asin (param $x v128) (result v128)
    ;; atan2(x, sqrt((1 - x)(1 + x))): 1 - x and 1 + x are exact; NaN for |x| > 1
    (call $f64x2_atan2
      (local.get $x)
      (f64x2.sqrt
        (f64x2.mul
          (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $x))
          (f64x2.add (v128.const f64x2 1.0 1.0) (local.get $x)))))
  )

  (func $f64x2_acos (param $x v128) (result v128)
    ;; atan2(sqrt((1 - x)(1 + x)), x)
    (call $f64x2_atan2
      (f64x2.sqrt
        (f64x2.mul
          (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $x))
          (f64x2.add (v128.const f64x2 1.0 1.0) (local.get $x))))
      (local.get $x))
  )

  (func $f64x2_log1p (param $x v128) (result v128)
    (local $u v128)
    ;; u = 1 + x; log(u) * x / (u - 1) (u - 1 is exact; its ratio to x corrects the rounding of u), x if u == 1
    (local.set $u (f64x2.add (v128.const f64x2 1.0 1.0) (local.get $x)))
    (v128.bitselect
      (local.get $x)
      (f64x2.div
        (f64x2.mul (call $f64x2_log (local.get $u)) (local.get $x))
        (f64x2.sub (local.get $u) (v128.const f64x2 1.0 1.0)))
      (v128.or
        (f64x2.eq (local.get $u) (v128.const f64x2 1.0 1.0))
        (f64x2.eq (local.get $x) (v128.const f64x2 inf inf))))
  )

  (func $f64x2_expm1 (param $x v128) (result v128)
    ;; |x| < 2^-10: x * (1 + x*(1/2 + x/6 + ... + x^4/6!)) (keeps -0); else exp(x) - 1
    (v128.bitselect
      (f64x2.mul
        (local.get $x)
        (f64x2.add
          (v128.const f64x2 1.0 1.0)
          (f64x2.mul
            (local.get $x)
            (f64x2.add
              (v128.const f64x2 0.5 0.5)
              (f64x2.mul
                (local.get $x)
                (f64x2.add
                  (v128.const f64x2 0.16666666666666666 0.16666666666666666)
                  (f64x2.mul
                    (local.get $x)
                    (f64x2.add
                      (v128.const f64x2 0.041666666666666664 0.041666666666666664)
                      (f64x2.mul
                        (local.get $x)
                        (f64x2.add
                          (v128.const f64x2 0.008333333333333333 0.008333333333333333)
                          (f64x2.mul
                            (local.get $x)
                            (v128.const f64x2 0.001388888888888889 0.001388888888888889))))))))))))
      (f64x2.sub (call $f64x2_exp (local.get $x)) (v128.const f64x2 1.0 1.0))
      (f64x2.lt (f64x2.abs (local.get $x)) (v128.const f64x2 0.0009765625 0.0009765625)))
  )

  (func $f64x2_sinh (param $x v128) (result v128)
    (local $e v128) (local $z v128)
    ;; |x| < 2^-5: x * (1 + z/3! + ... + z^4/9!), z = x^2; else (e - 1/e)/2, e = exp(x)
    (local.set $e (call $f64x2_exp (local.get $x)))
    (local.set $z (f64x2.mul (local.get $x) (local.get $x)))
    (v128.bitselect
      (f64x2.mul
        (local.get $x)
        (f64x2.add
          (v128.const f64x2 1.0 1.0)
          (f64x2.mul
            (local.get $z)
            (f64x2.add
              (v128.const f64x2 0.16666666666666666 0.16666666666666666)
              (f64x2.mul
                (local.get $z)
                (f64x2.add
                  (v128.const f64x2 0.008333333333333333 0.008333333333333333)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.add
                      (v128.const f64x2 0.0001984126984126984 0.0001984126984126984)
                      (f64x2.mul
                        (local.get $z)
                        (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06))))))))))
      (f64x2.mul
        (v128.const f64x2 0.5 0.5)
        (f64x2.sub (local.get $e) (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $e))))
      (f64x2.lt (f64x2.abs (local.get $x)) (v128.const f64x2 0.03125 0.03125)))
  )

  (func $f64x2_cosh (param $x v128) (result v128)
    (local $e v128)
    ;; (e + 1/e)/2, e = exp(|x|)
    (local.set $e (call $f64x2_exp (f64x2.abs (local.get $x))))
    (f64x2.mul
      (v128.const f64x2 0.5 0.5)
      (f64x2.add (local.get $e) (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $e))))
  )

  (func $f64x2_asinh (param $x v128) (result v128)
    (local $a v128) (local $z v128)
    ;; a = |x| < 2^-5: a * (1 - z/6 + 3z^2/40 - ...), z = a^2; else log(a + sqrt(a^2 + 1)); then x's sign
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $z (f64x2.mul (local.get $a) (local.get $a)))
    (v128.or
      (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000))
      (v128.bitselect
        (f64x2.mul
          (local.get $a)
          (f64x2.add
            (v128.const f64x2 1.0 1.0)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 -0.16666666666666666 -0.16666666666666666)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 0.075 0.075)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 -0.044642857142857144 -0.044642857142857144)
                        (f64x2.mul
                          (local.get $z)
                          (v128.const f64x2 0.030381944444444444 0.030381944444444444))))))))))
        (call $f64x2_log
          (f64x2.add (local.get $a) (f64x2.sqrt (f64x2.add (local.get $z) (v128.const f64x2 1.0 1.0)))))
        (f64x2.lt (local.get $a) (v128.const f64x2 0.03125 0.03125))))
  )

  (func $f64x2_acosh (param $x v128) (result v128)
    ;; log(x + sqrt((x - 1)(x + 1))): x - 1, x + 1 exact; NaN for x < 1 (also x <= -1, where the root is real)
    (v128.bitselect
      (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
      (call $f64x2_log
        (f64x2.add
          (local.get $x)
          (f64x2.sqrt
            (f64x2.mul
              (f64x2.sub (local.get $x) (v128.const f64x2 1.0 1.0))
              (f64x2.add (local.get $x) (v128.const f64x2 1.0 1.0))))))
      (f64x2.lt (local.get $x) (v128.const f64x2 1.0 1.0)))
  )

  (func $f64x2_atanh (param $x v128) (result v128)
    (local $z v128)
    ;; |x| < 2^-5: x * (1 + z/3 + ... + z^4/9), z = x^2; else log((1 + x)/(1 - x))/2 (+-inf at +-1, NaN beyond)
    (local.set $z (f64x2.mul (local.get $x) (local.get $x)))
    (v128.bitselect
      (f64x2.mul
        (local.get $x)
        (f64x2.add
          (v128.const f64x2 1.0 1.0)
          (f64x2.mul
            (local.get $z)
            (f64x2.add
              (v128.const f64x2 0.3333333333333333 0.3333333333333333)
              (f64x2.mul
                (local.get $z)
                (f64x2.add
                  (v128.const f64x2 0.2 0.2)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.add
                      (v128.const f64x2 0.14285714285714285 0.14285714285714285)
                      (f64x2.mul (local.get $z) (v128.const f64x2 0.1111111111111111 0.1111111111111111))))))))))
      (f64x2.mul
        (v128.const f64x2 0.5 0.5)
        (call $f64x2_log
          (f64x2.div
            (f64x2.add (v128.const f64x2 1.0 1.0) (local.get $x))
            (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $x)))))
      (f64x2.lt (f64x2.abs (local.get $x)) (v128.const f64x2 0.03125 0.03125)))
  )

  (func $f64x2_erfc (param $x v128) (result v128)
    (local $a v128) (local $b v128) (local $e v128)
    ;; |x| < 0.5: 1 - x*P(x^2), P the Taylor series of erf(x)/x to x^20 (truncation < 2e-14)
    ;; |x| >= 0.5: b = min(|x|, 11) (erfc(11) rounds to 0), erfc(b) = exp(-b^2) * G(t), t = (b - 2)/(b + 2) in
    ;; [-0.6, 0.7], G ~ erfc(x)*exp(x^2) of degree 18 in t (Chebyshev fit, relative error 7e-14); b^2 is exact;
    ;; erfc(x) = 2 - erfc(-x) for x < 0
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $b (f64x2.pmin (local.get $a) (v128.const f64x2 11.0 11.0)))
    (local.set $e
      (f64x2.div
        (f64x2.sub (local.get $b) (v128.const f64x2 2.0 2.0))
        (f64x2.add (local.get $b) (v128.const f64x2 2.0 2.0))))
    (local.set $e
      (f64x2.mul
        (call $f64x2_exp (f64x2.neg (f64x2.mul (local.get $b) (local.get $b))))
        (f64x2.add
          (v128.const f64x2 0.25539567631050614 0.25539567631050614)
          (f64x2.mul
            (local.get $e)
            (f64x2.add
              (v128.const f64x2 -0.4271858474139589 -0.4271858474139589)
              (f64x2.mul
                (local.get $e)
                (f64x2.add
                  (v128.const f64x2 0.2416581942424138 0.2416581942424138)
                  (f64x2.mul
                    (local.get $e)
                    (f64x2.add
                      (v128.const f64x2 -0.0789785810160416 -0.0789785810160416)
                      (f64x2.mul
                        (local.get $e)
                        (f64x2.add
                          (v128.const f64x2 0.0037328924063519246 0.0037328924063519246)
                          (f64x2.mul
                            (local.get $e)
                            (f64x2.add
                              (v128.const f64x2 0.006997461756532416 0.006997461756532416)
                              (f64x2.mul
                                (local.get $e)
                                (f64x2.add
                                  (v128.const f64x2 -0.0008471432851042469 -0.0008471432851042469)
                                  (f64x2.mul
                                    (local.get $e)
                                    (f64x2.add
                                      (v128.const f64x2 -0.0009819773868415982 -0.0009819773868415982)
                                      (f64x2.mul
                                        (local.get $e)
                                        (f64x2.add
                                          (v128.const f64x2 4.355588820781373e-05 4.355588820781373e-05)
                                          (f64x2.mul
                                            (local.get $e)
                                            (f64x2.add
                                              (v128.const f64x2 0.00017436497217847963 0.00017436497217847963)
                                              (f64x2.mul
                                                (local.get $e)
                                                (f64x2.add
                                                  (v128.const f64x2 2.7524213005438052e-05 2.7524213005438052e-05)
                                                  (f64x2.mul
                                                    (local.get $e)
                                                    (f64x2.add
                                                      (v128.const f64x2 -2.7602717894097763e-05 -2.7602717894097763e-05)
                                                      (f64x2.mul
                                                        (local.get $e)
                                                        (f64x2.add
                                                          (v128.const f64x2 -1.3964294748086322e-05 -1.3964294748086322e-05)
                                                          (f64x2.mul
                                                            (local.get $e)
                                                            (f64x2.add
                                                              (v128.const f64x2 1.4721461629269783e-06 1.4721461629269783e-06)
                                                              (f64x2.mul
                                                                (local.get $e)
                                                                (f64x2.add
                                                                  (v128.const f64x2 3.775242699311385e-06 3.775242699311385e-06)
                                                                  (f64x2.mul
                                                                    (local.get $e)
                                                                    (f64x2.add
                                                                      (v128.const f64x2 1.032141988053223e-06 1.032141988053223e-06)
                                                                      (f64x2.mul
                                                                        (local.get $e)
                                                                        (f64x2.add
                                                                          (v128.const f64x2 -4.909937144952338e-07 -4.909937144952338e-07)
                                                                          (f64x2.mul
                                                                            (local.get $e)
                                                                            (f64x2.add
                                                                              (v128.const f64x2 -3.281862960111279e-07 -3.281862960111279e-07)
                                                                              (f64x2.mul
                                                                                (local.get $e)
                                                                                (v128.const f64x2 -2.3390470658687837e-08 -2.3390470658687837e-08)))))))))))))))))))))))))))))))))))))))
    (local.set $e
      (v128.bitselect
        (f64x2.sub (v128.const f64x2 2.0 2.0) (local.get $e))
        (local.get $e)
        (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))))
    (local.set $b (f64x2.mul (local.get $x) (local.get $x)))
    (v128.bitselect
      (f64x2.sub
        (v128.const f64x2 1.0 1.0)
        (f64x2.mul
          (local.get $x)
          (f64x2.add
            (v128.const f64x2 1.1283791670955126 1.1283791670955126)
            (f64x2.mul
              (local.get $b)
              (f64x2.add
                (v128.const f64x2 -0.37612638903183754 -0.37612638903183754)
                (f64x2.mul
                  (local.get $b)
                  (f64x2.add
                    (v128.const f64x2 0.11283791670955128 0.11283791670955128)
                    (f64x2.mul
                      (local.get $b)
                      (f64x2.add
                        (v128.const f64x2 -0.026866170645131252 -0.026866170645131252)
                        (f64x2.mul
                          (local.get $b)
                          (f64x2.add
                            (v128.const f64x2 0.005223977625442188 0.005223977625442188)
                            (f64x2.mul
                              (local.get $b)
                              (f64x2.add
                                (v128.const f64x2 -0.0008548327023450853 -0.0008548327023450853)
                                (f64x2.mul
                                  (local.get $b)
                                  (f64x2.add
                                    (v128.const f64x2 0.00012055332981789665 0.00012055332981789665)
                                    (f64x2.mul
                                      (local.get $b)
                                      (f64x2.add
                                        (v128.const f64x2 -1.4925650358406252e-05 -1.4925650358406252e-05)
                                        (f64x2.mul
                                          (local.get $b)
                                          (f64x2.add
                                            (v128.const f64x2 1.6462114365889248e-06 1.6462114365889248e-06)
                                            (f64x2.mul
                                              (local.get $b)
                                              (f64x2.add
                                                (v128.const f64x2 -1.6365844691234924e-07 -1.6365844691234924e-07)
                                                (f64x2.mul
                                                  (local.get $b)
                                                  (v128.const f64x2 1.480719281587922e-08 1.480719281587922e-08)))))))))))))))))))))))
      (local.get $e)
      (f64x2.lt (local.get $a) (v128.const f64x2 0.5 0.5)))
  )

  (func $f64x2_erfinv (param $x v128) (result v128)
    (local $a v128) (local $c v128) (local $w v128) (local $y v128) (local $z v128) (local $r v128)
    ;; a = |x|; first guess: Giles' float32 approximation (relative error 1.2e-7 measured): w = -log((1-a)(1+a)),
    ;; w < 5: P1(w - 2.5) * a, else P2(sqrt(w) - 3) * a; then two Newton steps (quadratic: 1e-7 -> 1e-14 -> 1e-28)
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $c (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $a)))
    (local.set $w
      (f64x2.neg
        (call $f64x2_log (f64x2.mul (local.get $c) (f64x2.add (v128.const f64x2 1.0 1.0) (local.get $a))))))
    (local.set $z (f64x2.sub (local.get $w) (v128.const f64x2 2.5 2.5)))
    (local.set $y
      (f64x2.add
        (v128.const f64x2 1.50140941 1.50140941)
        (f64x2.mul
          (local.get $z)
          (f64x2.add
            (v128.const f64x2 0.246640727 0.246640727)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 -0.00417768164 -0.00417768164)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 -0.00125372503 -0.00125372503)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 0.00021858087 0.00021858087)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 -4.39150654e-06 -4.39150654e-06)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 -3.5233877e-06 -3.5233877e-06)
                                (f64x2.mul
                                  (local.get $z)
                                  (f64x2.add
                                    (v128.const f64x2 3.43273939e-07 3.43273939e-07)
                                    (f64x2.mul
                                      (local.get $z)
                                      (v128.const f64x2 2.81022636e-08 2.81022636e-08))))))))))))))))))
    (local.set $z (f64x2.sub (f64x2.sqrt (local.get $w)) (v128.const f64x2 3.0 3.0)))
    (local.set $y
      (f64x2.mul
        (local.get $a)
        (v128.bitselect
          (local.get $y)
          (f64x2.add
            (v128.const f64x2 2.83297682 2.83297682)
            (f64x2.mul
              (local.get $z)
              (f64x2.add
                (v128.const f64x2 1.00167406 1.00167406)
                (f64x2.mul
                  (local.get $z)
                  (f64x2.add
                    (v128.const f64x2 0.00943887047 0.00943887047)
                    (f64x2.mul
                      (local.get $z)
                      (f64x2.add
                        (v128.const f64x2 -0.0076224613 -0.0076224613)
                        (f64x2.mul
                          (local.get $z)
                          (f64x2.add
                            (v128.const f64x2 0.00573950773 0.00573950773)
                            (f64x2.mul
                              (local.get $z)
                              (f64x2.add
                                (v128.const f64x2 -0.00367342844 -0.00367342844)
                                (f64x2.mul
                                  (local.get $z)
                                  (f64x2.add
                                    (v128.const f64x2 0.00134934322 0.00134934322)
                                    (f64x2.mul
                                      (local.get $z)
                                      (f64x2.add
                                        (v128.const f64x2 0.000100950558 0.000100950558)
                                        (f64x2.mul
                                          (local.get $z)
                                          (v128.const f64x2 -0.000200214257 -0.000200214257)))))))))))))))))
          (f64x2.lt (local.get $w) (v128.const f64x2 5.0 5.0)))))
    ;; Newton step on erf(y) = a: residual y*P(y^2) - a for y < 0.5, (1 - a) - erfc(y) above (1 - a is exact,
    ;; and erfc keeps the relative accuracy near a = 1), divided by erf'(y) = 2/sqrt(pi) * exp(-y^2)
    (local.set $z (f64x2.mul (local.get $y) (local.get $y)))
    (local.set $r
      (v128.bitselect
        (f64x2.sub
          (f64x2.mul
            (local.get $y)
            (f64x2.add
              (v128.const f64x2 1.1283791670955126 1.1283791670955126)
              (f64x2.mul
                (local.get $z)
                (f64x2.add
                  (v128.const f64x2 -0.37612638903183754 -0.37612638903183754)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.add
                      (v128.const f64x2 0.11283791670955128 0.11283791670955128)
                      (f64x2.mul
                        (local.get $z)
                        (f64x2.add
                          (v128.const f64x2 -0.026866170645131252 -0.026866170645131252)
                          (f64x2.mul
                            (local.get $z)
                            (f64x2.add
                              (v128.const f64x2 0.005223977625442188 0.005223977625442188)
                              (f64x2.mul
                                (local.get $z)
                                (f64x2.add
                                  (v128.const f64x2 -0.0008548327023450853 -0.0008548327023450853)
                                  (f64x2.mul
                                    (local.get $z)
                                    (f64x2.add
                                      (v128.const f64x2 0.00012055332981789665 0.00012055332981789665)
                                      (f64x2.mul
                                        (local.get $z)
                                        (f64x2.add
                                          (v128.const f64x2 -1.4925650358406252e-05 -1.4925650358406252e-05)
                                          (f64x2.mul
                                            (local.get $z)
                                            (f64x2.add
                                              (v128.const f64x2 1.6462114365889248e-06 1.6462114365889248e-06)
                                              (f64x2.mul
                                                (local.get $z)
                                                (f64x2.add
                                                  (v128.const f64x2 -1.6365844691234924e-07 -1.6365844691234924e-07)
                                                  (f64x2.mul
                                                    (local.get $z)
                                                    (v128.const f64x2 1.480719281587922e-08 1.480719281587922e-08))))))))))))))))))))))
          (local.get $a))
        (f64x2.sub (local.get $c) (call $f64x2_erfc (local.get $y)))
        (f64x2.lt (local.get $y) (v128.const f64x2 0.5 0.5))))
    (local.set $y
      (f64x2.sub
        (local.get $y)
        (f64x2.div
          (local.get $r)
          (f64x2.mul
            (v128.const f64x2 1.1283791670955126 1.1283791670955126)
            (call $f64x2_exp (f64x2.neg (local.get $z)))))))
    ;; Newton step on erf(y) = a: residual y*P(y^2) - a for y < 0.5, (1 - a) - erfc(y) above (1 - a is exact,
    ;; and erfc keeps the relative accuracy near a = 1), divided by erf'(y) = 2/sqrt(pi) * exp(-y^2)
    (local.set $z (f64x2.mul (local.get $y) (local.get $y)))
    (local.set $r
      (v128.bitselect
        (f64x2.sub
          (f64x2.mul
            (local.get $y)
            (f64x2.add
              (v128.const f64x2 1.1283791670955126 1.1283791670955126)
              (f64x2.mul
                (local.get $z)
                (f64x2.add
                  (v128.const f64x2 -0.37612638903183754 -0.37612638903183754)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.add
                      (v128.const f64x2 0.11283791670955128 0.11283791670955128)
                      (f64x2.mul
                        (local.get $z)
                        (f64x2.add
                          (v128.const f64x2 -0.026866170645131252 -0.026866170645131252)
                          (f64x2.mul
                            (local.get $z)
                            (f64x2.add
                              (v128.const f64x2 0.005223977625442188 0.005223977625442188)
                              (f64x2.mul
                                (local.get $z)
                                (f64x2.add
                                  (v128.const f64x2 -0.0008548327023450853 -0.0008548327023450853)
                                  (f64x2.mul
                                    (local.get $z)
                                    (f64x2.add
                                      (v128.const f64x2 0.00012055332981789665 0.00012055332981789665)
                                      (f64x2.mul
                                        (local.get $z)
                                        (f64x2.add
                                          (v128.const f64x2 -1.4925650358406252e-05 -1.4925650358406252e-05)
                                          (f64x2.mul
                                            (local.get $z)
                                            (f64x2.add
                                              (v128.const f64x2 1.6462114365889248e-06 1.6462114365889248e-06)
                                              (f64x2.mul
                                                (local.get $z)
                                                (f64x2.add
                                                  (v128.const f64x2 -1.6365844691234924e-07 -1.6365844691234924e-07)
                                                  (f64x2.mul
                                                    (local.get $z)
                                                    (v128.const f64x2 1.480719281587922e-08 1.480719281587922e-08))))))))))))))))))))))
          (local.get $a))
        (f64x2.sub (local.get $c) (call $f64x2_erfc (local.get $y)))
        (f64x2.lt (local.get $y) (v128.const f64x2 0.5 0.5))))
    (local.set $y
      (f64x2.sub
        (local.get $y)
        (f64x2.div
          (local.get $r)
          (f64x2.mul
            (v128.const f64x2 1.1283791670955126 1.1283791670955126)
            (call $f64x2_exp (f64x2.neg (local.get $z)))))))
    ;; erfinv(+-1) = +-inf, NaN for |x| > 1, erfinv(+-0) = +-0; the sign of x
    (local.set $y
      (v128.bitselect
        (v128.const f64x2 inf inf)
        (local.get $y)
        (f64x2.eq (local.get $a) (v128.const f64x2 1.0 1.0))))
    (local.set $y
      (v128.bitselect
        (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
        (local.get $y)
        (f64x2.gt (local.get $a) (v128.const f64x2 1.0 1.0))))
    (local.set $y
      (v128.bitselect
        (v128.const f64x2 0.0 0.0)
        (local.get $y)
        (f64x2.eq (local.get $a) (v128.const f64x2 0.0 0.0))))
    (v128.or
      (local.get $y)
      (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))
  )

  (func $f64x2_erfcx (param $x v128) (result v128)
    (local $b v128) (local $t v128) (local $s v128)
    ;; erfcx(x) = exp(x^2) * erfc(x): x < 0.5: exactly that (exp(x^2) overflows to inf below -9.4 in float32);
    ;; 0.5 <= x <= 11: G(t) of $f64x2_erfc itself; x > 11: (1 + sum_k (-1)^k (2k-1)!! s^k) / (x sqrt(pi)),
    ;; s = 1/(2x^2), k <= 9 (asymptotic series, truncation < 1e-13 at x = 11)
    (local.set $b
      (f64x2.pmin (f64x2.pmax (local.get $x) (v128.const f64x2 0.5 0.5)) (v128.const f64x2 11.0 11.0)))
    (local.set $t
      (f64x2.div
        (f64x2.sub (local.get $b) (v128.const f64x2 2.0 2.0))
        (f64x2.add (local.get $b) (v128.const f64x2 2.0 2.0))))
    (local.set $t
      (f64x2.add
        (v128.const f64x2 0.25539567631050614 0.25539567631050614)
        (f64x2.mul
          (local.get $t)
          (f64x2.add
            (v128.const f64x2 -0.4271858474139589 -0.4271858474139589)
            (f64x2.mul
              (local.get $t)
              (f64x2.add
                (v128.const f64x2 0.2416581942424138 0.2416581942424138)
                (f64x2.mul
                  (local.get $t)
                  (f64x2.add
                    (v128.const f64x2 -0.0789785810160416 -0.0789785810160416)
                    (f64x2.mul
                      (local.get $t)
                      (f64x2.add
                        (v128.const f64x2 0.0037328924063519246 0.0037328924063519246)
                        (f64x2.mul
                          (local.get $t)
                          (f64x2.add
                            (v128.const f64x2 0.006997461756532416 0.006997461756532416)
                            (f64x2.mul
                              (local.get $t)
                              (f64x2.add
                                (v128.const f64x2 -0.0008471432851042469 -0.0008471432851042469)
                                (f64x2.mul
                                  (local.get $t)
                                  (f64x2.add
                                    (v128.const f64x2 -0.0009819773868415982 -0.0009819773868415982)
                                    (f64x2.mul
                                      (local.get $t)
                                      (f64x2.add
                                        (v128.const f64x2 4.355588820781373e-05 4.355588820781373e-05)
                                        (f64x2.mul
                                          (local.get $t)
                                          (f64x2.add
                                            (v128.const f64x2 0.00017436497217847963 0.00017436497217847963)
                                            (f64x2.mul
                                              (local.get $t)
                                              (f64x2.add
                                                (v128.const f64x2 2.7524213005438052e-05 2.7524213005438052e-05)
                                                (f64x2.mul
                                                  (local.get $t)
                                                  (f64x2.add
                                                    (v128.const f64x2 -2.7602717894097763e-05 -2.7602717894097763e-05)
                                                    (f64x2.mul
                                                      (local.get $t)
                                                      (f64x2.add
                                                        (v128.const f64x2 -1.3964294748086322e-05 -1.3964294748086322e-05)
                                                        (f64x2.mul
                                                          (local.get $t)
                                                          (f64x2.add
                                                            (v128.const f64x2 1.4721461629269783e-06 1.4721461629269783e-06)
                                                            (f64x2.mul
                                                              (local.get $t)
                                                              (f64x2.add
                                                                (v128.const f64x2 3.775242699311385e-06 3.775242699311385e-06)
                                                                (f64x2.mul
                                                                  (local.get $t)
                                                                  (f64x2.add
                                                                    (v128.const f64x2 1.032141988053223e-06 1.032141988053223e-06)
                                                                    (f64x2.mul
                                                                      (local.get $t)
                                                                      (f64x2.add
                                                                        (v128.const f64x2 -4.909937144952338e-07 -4.909937144952338e-07)
                                                                        (f64x2.mul
                                                                          (local.get $t)
                                                                          (f64x2.add
                                                                            (v128.const f64x2 -3.281862960111279e-07 -3.281862960111279e-07)
                                                                            (f64x2.mul
                                                                              (local.get $t)
                                                                              (v128.const f64x2 -2.3390470658687837e-08 -2.3390470658687837e-08))))))))))))))))))))))))))))))))))))))
    (local.set $s (f64x2.div (v128.const f64x2 0.5 0.5) (f64x2.mul (local.get $x) (local.get $x))))
    (local.set $s
      (f64x2.div
        (f64x2.add
          (v128.const f64x2 1.0 1.0)
          (f64x2.mul
            (local.get $s)
            (f64x2.add
              (v128.const f64x2 -1.0 -1.0)
              (f64x2.mul
                (local.get $s)
                (f64x2.add
                  (v128.const f64x2 3.0 3.0)
                  (f64x2.mul
                    (local.get $s)
                    (f64x2.add
                      (v128.const f64x2 -15.0 -15.0)
                      (f64x2.mul
                        (local.get $s)
                        (f64x2.add
                          (v128.const f64x2 105.0 105.0)
                          (f64x2.mul
                            (local.get $s)
                            (f64x2.add
                              (v128.const f64x2 -945.0 -945.0)
                              (f64x2.mul
                                (local.get $s)
                                (f64x2.add
                                  (v128.const f64x2 10395.0 10395.0)
                                  (f64x2.mul
                                    (local.get $s)
                                    (f64x2.add
                                      (v128.const f64x2 -135135.0 -135135.0)
                                      (f64x2.mul
                                        (local.get $s)
                                        (f64x2.add
                                          (v128.const f64x2 2027025.0 2027025.0)
                                          (f64x2.mul
                                            (local.get $s)
                                            (v128.const f64x2 -34459425.0 -34459425.0)))))))))))))))))))
        (f64x2.mul (local.get $x) (v128.const f64x2 1.7724538509055159 1.7724538509055159))))
    (local.set $t
      (v128.bitselect (local.get $s) (local.get $t) (f64x2.gt (local.get $x) (v128.const f64x2 11.0 11.0))))
    (v128.bitselect
      (f64x2.mul
        (call $f64x2_exp (f64x2.mul (local.get $x) (local.get $x)))
        (call $f64x2_erfc (local.get $x)))
      (local.get $t)
      (f64x2.lt (local.get $x) (v128.const f64x2 0.5 0.5)))
  )

  (func $f64x2_besseli (param $x v128) (param $nu v128) (param $scaled v128) (result v128)
    ;; modified Bessel functions I0, I1 (optionally exp-scaled), float64
    (local $a v128) (local $q v128) (local $k v128) (local $term v128) (local $sum v128) (local $asy v128) (local $res v128) (local $n i32)
    ;; nu = 0 or 1 (I0, I1), scaled = 1: times exp(-|x|) (i0e, i1e).  a = |x| <= 30: the power series
    ;; (a/2)^nu * sum_k (a^2/4)^k / (k! (k+nu)!), 64 terms (all positive: relative error ~1e-15);
    ;; a > 30: exp(a)/sqrt(2 pi a) * sum_k A_k(nu) / a^k, the asymptotic series to k = 14 (relative error
    ;; 3e-16 at a = 30); then the sign of x for I1
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $q (f64x2.mul (f64x2.mul (local.get $a) (local.get $a)) (v128.const f64x2 0.25 0.25)))
    (local.set $k (v128.const f64x2 0.0 0.0))
    (local.set $term (v128.const f64x2 1.0 1.0))
    (local.set $sum (v128.const f64x2 1.0 1.0))
    (local.set $n (i32.const 64))
    (loop $next
      (local.set $k (f64x2.add (local.get $k) (v128.const f64x2 1.0 1.0)))
      (local.set $term
        (f64x2.div
          (f64x2.mul (local.get $term) (local.get $q))
          (f64x2.mul (local.get $k) (f64x2.add (local.get $k) (local.get $nu)))))
      (local.set $sum (f64x2.add (local.get $sum) (local.get $term)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $sum
      (v128.bitselect
        (f64x2.mul (local.get $sum) (f64x2.mul (local.get $a) (v128.const f64x2 0.5 0.5)))
        (local.get $sum)
        (f64x2.eq (local.get $nu) (v128.const f64x2 1.0 1.0))))
    (local.set $q (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $a)))
    (local.set $asy
      (f64x2.div
        (v128.bitselect
          (f64x2.add
            (v128.const f64x2 1.0 1.0)
            (f64x2.mul
              (local.get $q)
              (f64x2.add
                (v128.const f64x2 -0.375 -0.375)
                (f64x2.mul
                  (local.get $q)
                  (f64x2.add
                    (v128.const f64x2 -0.1171875 -0.1171875)
                    (f64x2.mul
                      (local.get $q)
                      (f64x2.add
                        (v128.const f64x2 -0.1025390625 -0.1025390625)
                        (f64x2.mul
                          (local.get $q)
                          (f64x2.add
                            (v128.const f64x2 -0.144195556640625 -0.144195556640625)
                            (f64x2.mul
                              (local.get $q)
                              (f64x2.add
                                (v128.const f64x2 -0.2775764465332031 -0.2775764465332031)
                                (f64x2.mul
                                  (local.get $q)
                                  (f64x2.add
                                    (v128.const f64x2 -0.6765925884246826 -0.6765925884246826)
                                    (f64x2.mul
                                      (local.get $q)
                                      (f64x2.add
                                        (v128.const f64x2 -1.993531733751297 -1.993531733751297)
                                        (f64x2.mul
                                          (local.get $q)
                                          (f64x2.add
                                            (v128.const f64x2 -6.883914268109947 -6.883914268109947)
                                            (f64x2.mul
                                              (local.get $q)
                                              (f64x2.add
                                                (v128.const f64x2 -27.248827311268542 -27.248827311268542)
                                                (f64x2.mul
                                                  (local.get $q)
                                                  (f64x2.add
                                                    (v128.const f64x2 -121.59789187653587 -121.59789187653587)
                                                    (f64x2.mul
                                                      (local.get $q)
                                                      (f64x2.add
                                                        (v128.const f64x2 -603.8440767050702 -603.8440767050702)
                                                        (f64x2.mul
                                                          (local.get $q)
                                                          (f64x2.add
                                                            (v128.const f64x2 -3302.2722944808525 -3302.2722944808525)
                                                            (f64x2.mul
                                                              (local.get $q)
                                                              (f64x2.add
                                                                (v128.const f64x2 -19718.37591223663 -19718.37591223663)
                                                                (f64x2.mul
                                                                  (local.get $q)
                                                                  (v128.const f64x2 -127641.2726461746 -127641.2726461746)))))))))))))))))))))))))))))
          (f64x2.add
            (v128.const f64x2 1.0 1.0)
            (f64x2.mul
              (local.get $q)
              (f64x2.add
                (v128.const f64x2 0.125 0.125)
                (f64x2.mul
                  (local.get $q)
                  (f64x2.add
                    (v128.const f64x2 0.0703125 0.0703125)
                    (f64x2.mul
                      (local.get $q)
                      (f64x2.add
                        (v128.const f64x2 0.0732421875 0.0732421875)
                        (f64x2.mul
                          (local.get $q)
                          (f64x2.add
                            (v128.const f64x2 0.112152099609375 0.112152099609375)
                            (f64x2.mul
                              (local.get $q)
                              (f64x2.add
                                (v128.const f64x2 0.22710800170898438 0.22710800170898438)
                                (f64x2.mul
                                  (local.get $q)
                                  (f64x2.add
                                    (v128.const f64x2 0.5725014209747314 0.5725014209747314)
                                    (f64x2.mul
                                      (local.get $q)
                                      (f64x2.add
                                        (v128.const f64x2 1.7277275025844574 1.7277275025844574)
                                        (f64x2.mul
                                          (local.get $q)
                                          (f64x2.add
                                            (v128.const f64x2 6.074042001273483 6.074042001273483)
                                            (f64x2.mul
                                              (local.get $q)
                                              (f64x2.add
                                                (v128.const f64x2 24.380529699556064 24.380529699556064)
                                                (f64x2.mul
                                                  (local.get $q)
                                                  (f64x2.add
                                                    (v128.const f64x2 110.01714026924674 110.01714026924674)
                                                    (f64x2.mul
                                                      (local.get $q)
                                                      (f64x2.add
                                                        (v128.const f64x2 551.3358961220206 551.3358961220206)
                                                        (f64x2.mul
                                                          (local.get $q)
                                                          (f64x2.add
                                                            (v128.const f64x2 3038.090510922384 3038.090510922384)
                                                            (f64x2.mul
                                                              (local.get $q)
                                                              (f64x2.add
                                                                (v128.const f64x2 18257.755474293175 18257.755474293175)
                                                                (f64x2.mul
                                                                  (local.get $q)
                                                                  (v128.const f64x2 118838.42625678325 118838.42625678325)))))))))))))))))))))))))))))
          (f64x2.eq (local.get $nu) (v128.const f64x2 1.0 1.0)))
        (f64x2.sqrt (f64x2.mul (local.get $a) (v128.const f64x2 6.283185307179586 6.283185307179586)))))
    ;; scaled: series * exp(-a) or asy; unscaled: series or asy * exp(a) (I(+-inf) = NaN, as PyTorch and Cephes)
    (local.set $res
      (v128.bitselect
        (v128.bitselect
          (f64x2.mul (local.get $sum) (call $f64x2_exp (f64x2.neg (local.get $a))))
          (local.get $asy)
          (f64x2.le (local.get $a) (v128.const f64x2 30.0 30.0)))
        (v128.bitselect
          (local.get $sum)
          (v128.bitselect
            (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
            (f64x2.mul (local.get $asy) (call $f64x2_exp (local.get $a)))
            (f64x2.eq (local.get $a) (v128.const f64x2 inf inf)))
          (f64x2.le (local.get $a) (v128.const f64x2 30.0 30.0)))
        (f64x2.eq (local.get $scaled) (v128.const f64x2 1.0 1.0))))
    ;; I1 is odd, but I1(-0) = +0 (as PyTorch)
    (v128.bitselect
      (v128.or
        (local.get $res)
        (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))
      (local.get $res)
      (v128.and
        (f64x2.eq (local.get $nu) (v128.const f64x2 1.0 1.0))
        (f64x2.ne (local.get $x) (v128.const f64x2 0.0 0.0))))
  )

  (func $f64x2_i0 (param $x v128) (result v128)
    (call $f64x2_besseli (local.get $x) (v128.const f64x2 0.0 0.0) (v128.const f64x2 0.0 0.0))
  )

  (func $f64x2_i0e (param $x v128) (result v128)
    (call $f64x2_besseli (local.get $x) (v128.const f64x2 0.0 0.0) (v128.const f64x2 1.0 1.0))
  )

  (func $f64x2_i1 (param $x v128) (result v128)
    (call $f64x2_besseli (local.get $x) (v128.const f64x2 1.0 1.0) (v128.const f64x2 0.0 0.0))
  )

  (func $f64x2_i1e (param $x v128) (result v128)
    (call $f64x2_besseli (local.get $x) (v128.const f64x2 1.0 1.0) (v128.const f64x2 1.0 1.0))
  )

  (func $f64x2_digamma (param $x v128) (result v128)
    (local $y v128) (local $s v128) (local $z v128) (local $r v128) (local $t v128) (local $n i32)
    ;; x < 0 (not an integer): reflection psi(x) = psi(1 - x) - pi / tan(pi r), r = x - nearest(x) (exact);
    ;; then y >= 10 by the recurrence psi(y) = psi(y + 1) - 1/y (10 steps, lane-wise selects), and the
    ;; asymptotic series psi(y) = log y - 1/(2y) - sum_k B_2k / (2k y^2k), k <= 7 (truncation < 1e-15 at 10)
    (local.set $t (f64x2.sub (local.get $x) (f64x2.nearest (local.get $x))))
    (local.set $y
      (v128.bitselect
        (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $x))
        (local.get $x)
        (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))))
    (local.set $s (v128.const f64x2 0.0 0.0))
    (local.set $n (i32.const 10))
    (loop $next
      (local.set $s
        (f64x2.add
          (local.get $s)
          (v128.and
            (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $y))
            (f64x2.lt (local.get $y) (v128.const f64x2 10.0 10.0)))))
      (local.set $y
        (f64x2.add
          (local.get $y)
          (v128.and (v128.const f64x2 1.0 1.0) (f64x2.lt (local.get $y) (v128.const f64x2 10.0 10.0)))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $z (f64x2.div (v128.const f64x2 1.0 1.0) (f64x2.mul (local.get $y) (local.get $y))))
    (local.set $r
      (f64x2.sub
        (f64x2.sub
          (f64x2.sub (call $f64x2_log (local.get $y)) (f64x2.div (v128.const f64x2 0.5 0.5) (local.get $y)))
          (f64x2.mul
            (local.get $z)
            (f64x2.add
              (v128.const f64x2 0.08333333333333333 0.08333333333333333)
              (f64x2.mul
                (local.get $z)
                (f64x2.add
                  (v128.const f64x2 -0.008333333333333333 -0.008333333333333333)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.add
                      (v128.const f64x2 0.003968253968253968 0.003968253968253968)
                      (f64x2.mul
                        (local.get $z)
                        (f64x2.add
                          (v128.const f64x2 -0.004166666666666667 -0.004166666666666667)
                          (f64x2.mul
                            (local.get $z)
                            (f64x2.add
                              (v128.const f64x2 0.007575757575757576 0.007575757575757576)
                              (f64x2.mul
                                (local.get $z)
                                (f64x2.add
                                  (v128.const f64x2 -0.021092796092796094 -0.021092796092796094)
                                  (f64x2.mul
                                    (local.get $z)
                                    (v128.const f64x2 0.08333333333333333 0.08333333333333333)))))))))))))))
        (local.get $s)))
    (local.set $r
      (v128.bitselect
        (f64x2.sub
          (local.get $r)
          (f64x2.div
            (v128.const f64x2 3.141592653589793 3.141592653589793)
            (call $f64x2_trig
              (f64x2.mul (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
              (v128.const f64x2 2.0 2.0))))
        (local.get $r)
        (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))))
    ;; as PyTorch: psi(+0) = -inf, psi(-0) = +inf, NaN at negative integers and -inf, psi(+inf) = +inf
    (local.set $r
      (v128.bitselect
        (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
        (local.get $r)
        (v128.and
          (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))
          (f64x2.eq (local.get $t) (v128.const f64x2 0.0 0.0)))))
    (local.set $r
      (v128.bitselect
        (v128.const f64x2 inf inf)
        (local.get $r)
        (f64x2.eq (local.get $x) (v128.const f64x2 inf inf))))
    (v128.bitselect
      (v128.xor
        (v128.const f64x2 -inf -inf)
        (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))
      (local.get $r)
      (f64x2.eq (local.get $x) (v128.const f64x2 0.0 0.0)))
  )

  (func $f64x2_lgamma (param $x v128) (result v128)
    (local $t v128) (local $y v128) (local $p v128) (local $z v128) (local $r v128) (local $m v128) (local $n i32)
    ;; log|Gamma(x)|. x < 0 (not an integer): reflection lgamma(x) = log(pi / |sin(pi t)|) - lgamma(1 - x),
    ;; t = x - nearest(x) (exact); then y >= 10 by the recurrence Gamma(y) = Gamma(y + 1) / y (10 steps,
    ;; lane-wise selects, the factors multiplied into p) and Stirling's series
    ;; lgamma(y) = (y - 1/2) log y - y + log(2 pi)/2 + sum_k B_2k / (2k (2k - 1) y^(2k-1)), k <= 7
    (local.set $t (f64x2.sub (local.get $x) (f64x2.nearest (local.get $x))))
    (local.set $y
      (v128.bitselect
        (f64x2.sub (v128.const f64x2 1.0 1.0) (local.get $x))
        (local.get $x)
        (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))))
    (local.set $p (v128.const f64x2 1.0 1.0))
    (local.set $n (i32.const 10))
    (loop $next
      (local.set $m (f64x2.lt (local.get $y) (v128.const f64x2 10.0 10.0)))
      (local.set $p
        (f64x2.mul (local.get $p) (v128.bitselect (local.get $y) (v128.const f64x2 1.0 1.0) (local.get $m))))
      (local.set $y (f64x2.add (local.get $y) (v128.and (v128.const f64x2 1.0 1.0) (local.get $m))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $z (f64x2.div (v128.const f64x2 1.0 1.0) (f64x2.mul (local.get $y) (local.get $y))))
    (local.set $r
      (f64x2.sub
        (f64x2.add
          (f64x2.add
            (f64x2.sub
              (f64x2.mul (f64x2.sub (local.get $y) (v128.const f64x2 0.5 0.5)) (call $f64x2_log (local.get $y)))
              (local.get $y))
            (v128.const f64x2 0.9189385332046727 0.9189385332046727))
          (f64x2.div
            (f64x2.sub
              (v128.const f64x2 0.08333333333333333 0.08333333333333333)
              (f64x2.mul
                (local.get $z)
                (f64x2.sub
                  (v128.const f64x2 0.002777777777777778 0.002777777777777778)
                  (f64x2.mul
                    (local.get $z)
                    (f64x2.sub
                      (v128.const f64x2 0.0007936507936507937 0.0007936507936507937)
                      (f64x2.mul
                        (local.get $z)
                        (f64x2.sub
                          (v128.const f64x2 0.0005952380952380953 0.0005952380952380953)
                          (f64x2.mul
                            (local.get $z)
                            (f64x2.sub
                              (v128.const f64x2 0.0008417508417508417 0.0008417508417508417)
                              (f64x2.mul
                                (local.get $z)
                                (f64x2.sub
                                  (v128.const f64x2 0.0019175269175269176 0.0019175269175269176)
                                  (f64x2.mul
                                    (local.get $z)
                                    (v128.const f64x2 0.00641025641025641 0.00641025641025641)))))))))))))
            (local.get $y)))
        (call $f64x2_log (local.get $p))))
    ;; the reflection: log(pi) - log|sin(pi t)| - lgamma(1 - x)
    (local.set $r
      (v128.bitselect
        (f64x2.sub
          (f64x2.sub
            (v128.const f64x2 1.1447298858494002 1.1447298858494002)
            (call $f64x2_log
              (f64x2.abs
                (call $f64x2_trig
                  (f64x2.mul (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                  (v128.const f64x2 0.0 0.0)))))
          (local.get $r))
        (local.get $r)
        (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))))
    ;; near the zeros at 1 and 2 (|x - 1|, |x - 2| < 1/32) the recurrence cancels: Taylor series there,
    ;; lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k)/k z^k, lgamma(2 + z) = (1 - gamma) z + sum_k (-1)^k
    ;; (zeta(k) - 1)/k z^k, k <= 13 (truncation < 1e-19 relative)
    (local.set $z (f64x2.sub (local.get $x) (v128.const f64x2 1.0 1.0)))
    (local.set $r
      (v128.bitselect
        (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.5772156649015329 -0.5772156649015329) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.8224670334241132 0.8224670334241132) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.40068563438653143 -0.40068563438653143) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.27058080842778454 0.27058080842778454) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.20738555102867398 -0.20738555102867398) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.1695571769974082 0.1695571769974082) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.1440498967688461 -0.1440498967688461) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.12550966952474304 0.12550966952474304) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.11133426586956469 -0.11133426586956469) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.1000994575127818 0.1000994575127818) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.09095401714582904 -0.09095401714582904) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.083353840546109 0.083353840546109) (f64x2.mul (local.get $z) (v128.const f64x2 -0.0769325164113522 -0.0769325164113522))))))))))))))))))))))))))
        (local.get $r)
        (f64x2.lt (f64x2.abs (local.get $z)) (v128.const f64x2 0.03125 0.03125))))
    (local.set $z (f64x2.sub (local.get $x) (v128.const f64x2 2.0 2.0)))
    (local.set $r
      (v128.bitselect
        (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.42278433509846713 0.42278433509846713) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.3224670334241132 0.3224670334241132) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.0673523010531981 -0.0673523010531981) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.020580808427784546 0.020580808427784546) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.007385551028673986 -0.007385551028673986) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.0028905103307415234 0.0028905103307415234) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.001192753911703261 -0.001192753911703261) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 0.0005096695247430425 0.0005096695247430425) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -0.00022315475845357939 -0.00022315475845357939) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 9.945751278180853e-05 9.945751278180853e-05) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 -4.492623673813314e-05 -4.492623673813314e-05) (f64x2.mul (local.get $z) (f64x2.add (v128.const f64x2 2.050721277567069e-05 2.050721277567069e-05) (f64x2.mul (local.get $z) (v128.const f64x2 -9.439488275268397e-06 -9.439488275268397e-06))))))))))))))))))))))))))
        (local.get $r)
        (f64x2.lt (f64x2.abs (local.get $z)) (v128.const f64x2 0.03125 0.03125))))
    ;; as PyTorch: lgamma(1) = lgamma(2) = +0 exactly; +inf at the poles (0, -0, negative integers)
    ;; and at +-inf; NaN stays NaN
    (local.set $r
      (v128.bitselect
        (v128.const f64x2 0.0 0.0)
        (local.get $r)
        (v128.or
          (f64x2.eq (local.get $x) (v128.const f64x2 1.0 1.0))
          (f64x2.eq (local.get $x) (v128.const f64x2 2.0 2.0)))))
    (v128.bitselect
      (v128.const f64x2 inf inf)
      (local.get $r)
      (v128.or
        (v128.and
          (f64x2.le (local.get $x) (v128.const f64x2 0.0 0.0))
          (f64x2.eq (local.get $t) (v128.const f64x2 0.0 0.0)))
        (f64x2.eq (f64x2.abs (local.get $x)) (v128.const f64x2 inf inf))))
  )

  (func $f64x2_pow_int (param $t v128) (param $k i32) (result v128)
    ;; t^k, k >= 1, by k - 1 multiplications (exact order, no exp/log)
    (local $u v128)
    (local.set $u (local.get $t))
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.tee $k (i32.sub (local.get $k) (i32.const 1))) (i32.const 0)))
        (local.set $u (f64x2.mul (local.get $u) (local.get $t)))
        (br $next)))
    (local.get $u)
  )

  (func $f64x2_polygamma (param $n v128) (param $x v128) (result v128)
    ;; psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x), n >= 1 the same in both lanes (the order: a constant
    ;; of the call site). zeta(s, x) = sum_i (x + i)^-s: the terms with x + i < 2n + 10 directly (lanes
    ;; step together; a lane below -2^23 is a pole and is not stepped), the rest by Euler-Maclaurin,
    ;; y^(1-s)/(s-1) + y^-s/2 + y^-s sum_j B_2j/(2j)! s(s+1)...(s+2j-2) y^-(2j-1), j <= 8
    (local $k i32) (local $i i32) (local $s v128) (local $y v128) (local $t v128) (local $t2 v128) (local $u v128)
    (local $m v128) (local $acc v128) (local $f v128) (local $e v128) (local $lim v128) (local $fact f64) (local $r v128)
    (local.set $k (i32.trunc_sat_f64_s (f64x2.extract_lane 0 (local.get $n))))
    (local.set $s (f64x2.add (local.get $n) (v128.const f64x2 1.0 1.0)))
    (local.set $lim (f64x2.add (f64x2.add (local.get $n) (local.get $n)) (v128.const f64x2 10.0 10.0)))
    (local.set $y (local.get $x))
    (local.set $acc (v128.const f64x2 0.0 0.0))
    (block $done
      (loop $next
        (local.set $m
          (v128.and
            (f64x2.lt (local.get $y) (local.get $lim))
            (f64x2.gt (local.get $x) (v128.const f64x2 -8388608.0 -8388608.0))))
        (br_if $done (i32.eqz (v128.any_true (local.get $m))))
        (local.set $acc
          (f64x2.add
            (local.get $acc)
            (v128.and
              (call $f64x2_pow_int (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $y)) (i32.add (local.get $k) (i32.const 1)))
              (local.get $m))))
        (local.set $y (f64x2.add (local.get $y) (v128.and (v128.const f64x2 1.0 1.0) (local.get $m))))
        (br $next)))
    (local.set $t (f64x2.div (v128.const f64x2 1.0 1.0) (local.get $y)))
    (local.set $t2 (f64x2.mul (local.get $t) (local.get $t)))
    (local.set $u (call $f64x2_pow_int (local.get $t) (i32.add (local.get $k) (i32.const 1))))
    (local.set $f (f64x2.mul (local.get $s) (local.get $t)))
    (local.set $e (f64x2.mul (local.get $f) (v128.const f64x2 0.08333333333333333 0.08333333333333333)))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 1.0 1.0)) (f64x2.add (local.get $s) (v128.const f64x2 2.0 2.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 -0.001388888888888889 -0.001388888888888889))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 3.0 3.0)) (f64x2.add (local.get $s) (v128.const f64x2 4.0 4.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 3.306878306878307e-05 3.306878306878307e-05))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 5.0 5.0)) (f64x2.add (local.get $s) (v128.const f64x2 6.0 6.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 -8.267195767195768e-07 -8.267195767195768e-07))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 7.0 7.0)) (f64x2.add (local.get $s) (v128.const f64x2 8.0 8.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 2.08767569878681e-08 2.08767569878681e-08))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 9.0 9.0)) (f64x2.add (local.get $s) (v128.const f64x2 10.0 10.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 -5.284190138687493e-10 -5.284190138687493e-10))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 11.0 11.0)) (f64x2.add (local.get $s) (v128.const f64x2 12.0 12.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 1.3382536530684679e-11 1.3382536530684679e-11))))
    (local.set $f
      (f64x2.mul
        (f64x2.mul (local.get $f) (local.get $t2))
        (f64x2.mul (f64x2.add (local.get $s) (v128.const f64x2 13.0 13.0)) (f64x2.add (local.get $s) (v128.const f64x2 14.0 14.0)))))
    (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $f) (v128.const f64x2 -3.3896802963225827e-13 -3.3896802963225827e-13))))
    (local.set $r
      (f64x2.add
        (local.get $acc)
        (f64x2.mul
          (local.get $u)
          (f64x2.add
            (f64x2.add
              (f64x2.div (local.get $y) (local.get $n))
              (v128.const f64x2 0.5 0.5))
            (local.get $e)))))
    ;; times (-1)^(n+1) n!
    (local.set $fact (f64.const 1.0))
    (local.set $i (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $i) (local.get $k)))
        (local.set $fact (f64.mul (local.get $fact) (f64.convert_i32_s (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (i32.eqz (i32.and (local.get $k) (i32.const 1)))
      (then (local.set $fact (f64.neg (local.get $fact)))))
    (local.set $r (f64x2.mul (local.get $r) (f64x2.splat (local.get $fact))))
    ;; as PyTorch: at the poles (x <= 0 an integer, -inf included) (-1)^(n+1) inf; at +inf 0 for n = 1
    ;; (its trigamma) and NaN for n >= 2 (its zeta); trigamma(-inf) = NaN
    (local.set $r
      (v128.bitselect
        (f64x2.mul (f64x2.splat (local.get $fact)) (v128.const f64x2 inf inf))
        (local.get $r)
        (v128.and
          (f64x2.le (local.get $x) (v128.const f64x2 0.0 0.0))
          (f64x2.eq (local.get $x) (f64x2.nearest (local.get $x))))))
    (if (i32.eq (local.get $k) (i32.const 1))
      (then
        (local.set $r
          (v128.bitselect
            (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
            (local.get $r)
            (f64x2.eq (local.get $x) (v128.const f64x2 -inf -inf))))))
    (v128.bitselect
      (if (result v128) (i32.eq (local.get $k) (i32.const 1))
        (then (v128.const f64x2 0.0 0.0))
        (else (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)))
      (local.get $r)
      (f64x2.eq (local.get $x) (v128.const f64x2 inf inf)))
  )

  (func $f64x2_log2 (param $x v128) (result v128)
    (f64x2.mul (call $f64x2_log (local.get $x)) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
  )

  (func $f64x2_log10 (param $x v128) (result v128)
    (f64x2.mul (call $f64x2_log (local.get $x)) (v128.const f64x2 0.43429448190325176 0.43429448190325176))
  )

  (func $f64x2_exp2 (param $x v128) (result v128)
    (call $f64x2_exp (f64x2.mul (local.get $x) (v128.const f64x2 0.6931471805599453 0.6931471805599453)))
  )

  (func $f64x2_hypot (param $x v128) (param $y v128) (result v128)
    ;; sqrt(x^2 + y^2) (squares exact, no overflow in float64); inf if either is infinite, even with a NaN
    (v128.bitselect
      (v128.const f64x2 inf inf)
      (f64x2.sqrt
        (f64x2.add (f64x2.mul (local.get $x) (local.get $x)) (f64x2.mul (local.get $y) (local.get $y))))
      (v128.or
        (f64x2.eq (f64x2.abs (local.get $x)) (v128.const f64x2 inf inf))
        (f64x2.eq (f64x2.abs (local.get $y)) (v128.const f64x2 inf inf))))
  )

  (func $f64x2_pow (param $x v128) (param $y v128) (result v128)
    (local $r v128) (local $int v128) (local $odd v128)
    ;; as C's powf: exp(y * log|x|), negated for x < 0 (or -0, -inf) and odd integer y, NaN for x < 0 and
    ;; non-integer finite y (x > -inf); 1 for y == +-0 (even with x NaN), x == 1 (even with y NaN), x == -1 and y == +-inf
    (local.set $r (call $f64x2_exp (f64x2.mul (local.get $y) (call $f64x2_log (f64x2.abs (local.get $x))))))
    (local.set $int (f64x2.eq (f64x2.floor (local.get $y)) (local.get $y)))
    (local.set $odd
      (f64x2.eq
        (f64x2.sub
          (local.get $y)
          (f64x2.mul
            (v128.const f64x2 2.0 2.0)
            (f64x2.floor (f64x2.mul (local.get $y) (v128.const f64x2 0.5 0.5)))))
        (v128.const f64x2 1.0 1.0)))
    (local.set $r
      (v128.xor
        (local.get $r)
        (v128.and
          (v128.and (local.get $odd) (i64x2.lt_s (local.get $x) (v128.const i64x2 0 0)))
          (v128.const i64x2 0x8000000000000000 0x8000000000000000))))
    (local.set $r
      (v128.bitselect
        (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000)
        (local.get $r)
        (v128.and
          (v128.and
            (f64x2.lt (local.get $x) (v128.const f64x2 0.0 0.0))
            (f64x2.ne (local.get $x) (v128.const f64x2 -inf -inf)))
          (v128.and (v128.not (local.get $int)) (f64x2.eq (local.get $y) (local.get $y))))))
    (v128.bitselect
      (v128.const f64x2 1.0 1.0)
      (local.get $r)
      (v128.or
        (v128.or
          (f64x2.eq (local.get $y) (v128.const f64x2 0.0 0.0))
          (f64x2.eq (local.get $x) (v128.const f64x2 1.0 1.0)))
        (v128.and
          (f64x2.eq (local.get $x) (v128.const f64x2 -1.0 -1.0))
          (f64x2.eq (f64x2.abs (local.get $y)) (v128.const f64x2 inf inf)))))
  )

  (func $f32x4_sin (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_sin (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_sin (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_cos (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_cos (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_cos (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_tan (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_tan (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_tan (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_asin (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_asin (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_asin (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_acos (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_acos (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_acos (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_atan (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_atan (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_atan (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_sinh (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_sinh (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_sinh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_cosh (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_cosh (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_cosh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_asinh (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_asinh (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_asinh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_acosh (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_acosh (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_acosh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_atanh (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_atanh (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_atanh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_log1p (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_log1p (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_log1p (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_expm1 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_expm1 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_expm1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_log2 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_log2 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_log2 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_log10 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_log10 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_log10 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_exp2 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_exp2 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_exp2 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_erfc (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_erfc (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_erfc (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_erfinv (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_erfinv (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_erfinv (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_erfcx (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_erfcx (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_erfcx (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_i0 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_i0 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_i0 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_i0e (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_i0e (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_i0e (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_i1 (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_i1 (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_i1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_i1e (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_i1e (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_i1e (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_digamma (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_digamma (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_digamma (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_lgamma (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_lgamma (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_lgamma (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_polygamma (param $n v128) (param $x v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_polygamma (f64x2.promote_low_f32x4 (local.get $n)) (f64x2.promote_low_f32x4 (local.get $x))))
      (f32x4.demote_f64x2_zero (call $f64x2_polygamma (f64x2.promote_low_f32x4 (local.get $n)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))))

  (func $f32x4_atan2 (param $x v128) (param $y v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_atan2 (f64x2.promote_low_f32x4 (local.get $x)) (f64x2.promote_low_f32x4 (local.get $y))))
      (f32x4.demote_f64x2_zero (call $f64x2_atan2 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $y) (local.get $y)))))))

  (func $f32x4_hypot (param $x v128) (param $y v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_hypot (f64x2.promote_low_f32x4 (local.get $x)) (f64x2.promote_low_f32x4 (local.get $y))))
      (f32x4.demote_f64x2_zero (call $f64x2_hypot (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $y) (local.get $y)))))))

  (func $f32x4_pow (param $x v128) (param $y v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (call $f64x2_pow (f64x2.promote_low_f32x4 (local.get $x)) (f64x2.promote_low_f32x4 (local.get $y))))
      (f32x4.demote_f64x2_zero (call $f64x2_pow (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $y) (local.get $y)))))))
