;; math_f32x4.wat -- lane-wise float32 math on v128 (4 x f32), WebAssembly SIMD128.
;;
;; A FRAGMENT of module fields: only (func ...) definitions, no memory, exports,
;; globals, imports or data; constants are inline.  The compiler concatenates it
;; into the modules it generates.  Only plain SIMD128 instructions are used (no
;; relaxed-SIMD, no FMA), so results are bit-identical on every host.
;; Polynomial coefficients are minimax (Remez) fits, rounded to float32.
;;
;; Functions (all (param $x v128) (result v128)):
;;   $f32x4_exp      exp(x)
;;   $f32x4_log      natural log(x)
;;   $f32x4_tanh     tanh(x)
;;   $f32x4_erf      erf(x)
;;   $f32x4_sigmoid  1 / (1 + exp(-x))
;; $f32x4_tanh and $f32x4_erf call $f32x4_exp; $f32x4_sigmoid inlines its own
;; copy of the exp evaluation (it needs the low part of the result).
;;
;; Errors below are MEASURED against numpy float64 (math.erf for erf), by an
;; exhaustive run over EVERY float32 in the stated range ("exhaustive") and by
;; the dense sweeps of tests/unit/test_math_wat.py ("tests"; run
;; `python -m pytest tests/unit/test_math_wat.py -q -s` to print them).  Outside
;; the exhaustive ranges the results are the constant limits, checked by the
;; special-value tests.  "ulp err" = |got - ref64| / ulp(ref64 rounded to
;; float32), so a correctly rounded result scores <= 0.5; "dist" = number of
;; float32 steps between got and the rounded reference.
;;
;; $f32x4_exp
;;   Algorithm: clamp x to [-104, 89]; n = nearest(x * log2(e)) (shifter); Cody-Waite
;;   r = (x - n*C1) - n*C2 with C1 = 0x3f318000 (9 significant bits, so n*C1
;;   and x - n*C1 are exact) and C2 = ln2 - C1; |r| <= ln2/2.
;;   exp(r) = 1 + r + r^2*Q(r), Q of degree 4; the rounding error of 1 + r is
;;   recovered (Fast2Sum) and added back.  2^n is applied as two factors
;;   2^(n>>1) * 2^(n - (n>>1)), each built from the exponent bits with i32x4
;;   ops, so the single rounding happens at the last multiply: results in the
;;   subnormal range (-103.97 < x < -87.34) are correctly scaled, not flushed.
;;   Domain/specials: exp(x) = +inf for x > 88.7228 (and +inf), 0 for
;;   x < -103.973 (and -inf), NaN -> NaN, exp(+-0) = 1.
;;   Measured, exhaustive over all x in [-104, 89] (2.24e9 inputs): max ulp
;;   err 0.801 (tests: 0.788), dist <= 1 for normal results; subnormal results
;;   max err 0.790 x 2^-149, dist <= 1; monotone on the test sweeps.
;;
;; $f32x4_log
;;   Algorithm: subnormal x is scaled by 2^23 (k -= 23); x = 2^k * m with
;;   m in [sqrt(1/2), sqrt(2)) from integer ops on the bits; f = m - 1 (exact),
;;   s = f/(2+f), log(1+f) = f - f^2/2 + s*(f^2/2 + R(s^2)), R odd-atanh
;;   series minimax of degree 3 in s^2; result = k*LN2_HI - ((f^2/2 -
;;   (s*(f^2/2 + R) + k*LN2_LO)) - f), LN2_HI = 0x3f317200 (k*LN2_HI exact).
;;   Domain/specials: log(+0) = log(-0) = -inf, log(x < 0) = NaN (also for
;;   -inf), log(+inf) = +inf, NaN -> NaN (passed through), log(1) = +0.
;;   Subnormal inputs are handled exactly.
;;   Measured, exhaustive over all positive finite float32 incl. subnormals
;;   (2.14e9 inputs): max ulp err 0.840 (tests: 0.804), dist <= 1.
;;
;; $f32x4_tanh
;;   Algorithm: a = |x|; a < 1: tanh = a + a*z*P(z), z = a^2, P minimax of
;;   degree 6 (relative error of the fit 4.6e-9); a >= 1: tanh = 1 - 2/(exp(2a)
;;   + 1) with a clamped to 10 (tanh rounds to 1 above 9.01); the sign of x is
;;   OR-ed back in, so tanh is exactly odd.
;;   Domain/specials: tanh(+-inf) = +-1, tanh(+-0) = +-0, NaN -> NaN; for tiny
;;   and subnormal x, tanh(x) == x (e.g. tanh(1e-20) == 1e-20).
;;   Measured, exhaustive over all x in [0, 10) (negative x is bit-exact
;;   odd): max ulp err 1.146 (tests: 1.071), dist <= 1, max abs err 6.9e-8;
;;   2^-126 <= |x| < 1e-3 (exhaustive): max ulp err 0.500006 (almost
;;   correctly rounded); subnormal x: exact.
;;
;; $f32x4_erf
;;   Algorithm: a = |x|; a < 0.9375: erf = a + a*P(a^2), P ~ erf(x)/x - 1
;;   minimax of degree 6 (adding a last keeps tiny x accurate); a >= 0.9375:
;;   erf = 1 - exp(-b^2) * t * Q(t - 0.6875), b = min(a, 4), t = 1/b, Q minimax
;;   of degree 7 for erfc(b)*exp(b^2)*b (absolute-error weighted).  The sign of
;;   x is OR-ed back in, so erf is exactly odd.
;;   Domain/specials: erf(+-inf) = +-1, erf(+-0) = +-0, NaN -> NaN; erf rounds
;;   to +-1 for |x| >= 3.92.
;;   Measured, exhaustive over all x in [0, 4) (negative x is bit-exact odd):
;;   max abs err 7.03e-8, max ulp err 1.179 (tests: 1.061), dist <= 1; for
;;   2^-126 <= |x| < 1e-3 (exhaustive) max ulp err 0.764 (relative 8.7e-8).
;;
;; $f32x4_sigmoid
;;   Algorithm: x >= -20: 1/(1 + E) with E = exp(-x) evaluated as in $f32x4_exp
;;   but kept as hi + lo (the Fast2Sum low parts), d = fl(1 + hi) and
;;   c = (1 + hi - d) + lo, result = q - q*c/d with q = 1/d.  x < -20:
;;   sigmoid(x) = exp(x) (1 + exp(x) rounds to 1), including subnormal results.
;;   Domain/specials: sigmoid(+inf) = 1, sigmoid(-inf) = 0, sigmoid(+-0) = 0.5,
;;   NaN -> NaN; sigmoid(x) = 1 for x > 17.33; tiny positive (subnormal) values
;;   down to x ~ -103.97, 0 below.
;;   Measured, exhaustive over all x in [-104, 20] (2.22e9 inputs): max ulp
;;   err 1.264 (tests: 1.222), dist <= 1 for normal results; subnormal results
;;   max err 0.790 x 2^-149, dist <= 1.  Not correctly rounded, hence not
;;   strictly monotone: dense sweeps show isolated 1-ulp steps backwards.
;;
;; NaN results are a NaN of unspecified sign and payload (log returns the input
;; NaN itself).

  (func $f32x4_exp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $r2 v128) (local $p v128)
    (local $ni v128) (local $n1 v128) (local $s v128)
    ;; clamp: pmin/pmax (one compare + select, cheaper than min/max on x86) with x
    ;; first, so a NaN x is kept (pmin(a, b) = b < a ? b : a)
    (local.set $x
      (f32x4.pmin
        (f32x4.pmax (local.get $x) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0))
        (v128.const f32x4 89.0 89.0 89.0 89.0)))
    ;; n = round(x / ln2)
    ;; n = nearest(x * log2(e)) by the 1.5 * 2^23 shifter (|x * log2(e)| < 2^22: the add
    ;; rounds to an integer, ties to even, and n's integer value is in the low bits of
    ;; $ni, read below; cheaper than f32x4.nearest + i32x4.trunc_sat_f32x4_s)
    (local.set $ni
      (f32x4.add
        (f32x4.mul (local.get $x)
          (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
        (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
    (local.set $n (f32x4.sub (local.get $ni) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
    ;; r = x - n*C1 - n*C2   (C1 = 0x3f318000 has 9 significant bits: n*C1 and x - n*C1 are exact)
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $n)
            (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    ;; p = 1 + (r + r^2 * Q(r))
    (local.set $r2 (f32x4.mul (local.get $r) (local.get $r)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.16666521 0.16666521 0.16666521 0.16666521)
        (f32x4.mul (local.get $r)
          (f32x4.add
            (v128.const f32x4 0.04166839 0.04166839 0.04166839 0.04166839)
            (f32x4.mul (local.get $r)
              (f32x4.add
                (v128.const f32x4 0.008368717 0.008368717 0.008368717 0.008368717)
                (f32x4.mul (local.get $r)
                  (v128.const f32x4 0.0013814599 0.0013814599 0.0013814599 0.0013814599))))))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.49999994 0.49999994 0.49999994 0.49999994)
        (f32x4.mul (local.get $r) (local.get $p))))
    ;; 1 + r + r^2*Q with the rounding error of 1 + r recovered (Fast2Sum, |r| < 1)
    (local.set $s (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)))
    (local.set $p
      (f32x4.add (local.get $s)
        (f32x4.add
          (f32x4.sub (local.get $r)
            (f32x4.sub (local.get $s) (v128.const f32x4 1.0 1.0 1.0 1.0)))
          (f32x4.mul (local.get $r2) (local.get $p)))))
    ;; scale by 2^n = 2^n1 * 2^(n-n1), n1 = n >> 1; both factors are normal floats
    (local.set $ni (i32x4.sub (local.get $ni) (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000)))
    (local.set $n1 (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (f32x4.mul
      (f32x4.mul (local.get $p)
        (i32x4.shl
          (i32x4.add (local.get $n1) (v128.const i32x4 127 127 127 127))
          (i32.const 23)))
      (i32x4.shl
        (i32x4.add
          (i32x4.sub (local.get $ni) (local.get $n1))
          (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
  )

  (func $f32x4_log (param $x v128) (result v128)
    (local $sub v128) (local $ix v128) (local $k v128) (local $f v128)
    (local $s v128) (local $z v128) (local $R v128) (local $hfsq v128) (local $res v128)
    ;; subnormal inputs: scale by 2^23 and subtract 23 from the exponent
    (local.set $sub
      (f32x4.lt (local.get $x)
        (v128.const f32x4 1.17549435e-38 1.17549435e-38 1.17549435e-38 1.17549435e-38)))
    (local.set $ix
      (v128.bitselect
        (f32x4.mul (local.get $x)
          (v128.const f32x4 8388608.0 8388608.0 8388608.0 8388608.0))
        (local.get $x)
        (local.get $sub)))
    ;; x = 2^k * m, m in [sqrt(1/2), sqrt(2))
    (local.set $ix
      (i32x4.add (local.get $ix) (v128.const i32x4 0x004afb0d 0x004afb0d 0x004afb0d 0x004afb0d)))
    (local.set $k
      (f32x4.convert_i32x4_s
        (i32x4.sub
          (i32x4.sub
            (i32x4.shr_s (local.get $ix) (i32.const 23))
            (v128.const i32x4 127 127 127 127))
          (v128.and (local.get $sub) (v128.const i32x4 23 23 23 23)))))
    (local.set $f
      (f32x4.sub
        (i32x4.add
          (v128.and (local.get $ix) (v128.const i32x4 0x007fffff 0x007fffff 0x007fffff 0x007fffff))
          (v128.const i32x4 0x3f3504f3 0x3f3504f3 0x3f3504f3 0x3f3504f3))
        (v128.const f32x4 1.0 1.0 1.0 1.0)))
    ;; log(1+f) = f - hfsq + s*(hfsq + R(s^2)),  s = f/(2+f)
    (local.set $s
      (f32x4.div (local.get $f)
        (f32x4.add (local.get $f) (v128.const f32x4 2.0 2.0 2.0 2.0))))
    (local.set $z (f32x4.mul (local.get $s) (local.get $s)))
    (local.set $R
      (f32x4.mul (local.get $z)
        (f32x4.add
          (v128.const f32x4 0.66666776 0.66666776 0.66666776 0.66666776)
          (f32x4.mul (local.get $z)
            (f32x4.add
              (v128.const f32x4 0.39977536 0.39977536 0.39977536 0.39977536)
              (f32x4.mul (local.get $z)
                (v128.const f32x4 0.29871863 0.29871863 0.29871863 0.29871863)))))))
    (local.set $hfsq
      (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5)
        (f32x4.mul (local.get $f) (local.get $f))))
    ;; res = k*LN2_HI - ((hfsq - (s*(hfsq+R) + k*LN2_LO)) - f)
    ;; LN2_HI = 0x3f317200 (15 significant bits: k*LN2_HI exact for |k| <= 256)
    (local.set $res
      (f32x4.sub
        (f32x4.mul (local.get $k)
          (v128.const f32x4 0.693145751953125 0.693145751953125 0.693145751953125 0.693145751953125))
        (f32x4.sub
          (f32x4.sub
            (local.get $hfsq)
            (f32x4.add
              (f32x4.mul (local.get $s) (f32x4.add (local.get $hfsq) (local.get $R)))
              (f32x4.mul (local.get $k)
                (v128.const f32x4 1.42860677e-6 1.42860677e-6 1.42860677e-6 1.42860677e-6))))
          (local.get $f))))
    ;; +inf and NaN pass through
    (local.set $res
      (v128.bitselect (local.get $x) (local.get $res)
        (v128.or
          (f32x4.ne (local.get $x) (local.get $x))
          (f32x4.eq (local.get $x) (v128.const f32x4 inf inf inf inf)))))
    ;; log(+-0) = -inf
    (local.set $res
      (v128.bitselect (v128.const f32x4 -inf -inf -inf -inf) (local.get $res)
        (f32x4.eq (local.get $x) (v128.const f32x4 0.0 0.0 0.0 0.0))))
    ;; log(x < 0) = NaN
    (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get $res)
      (f32x4.lt (local.get $x) (v128.const f32x4 0.0 0.0 0.0 0.0)))
  )

  (func $f32x4_tanh (param $x v128) (result v128)
    (local $ax v128) (local $z v128) (local $p v128) (local $e v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    ;; |x| < 1: tanh = ax + ax*z*P(z), z = ax^2
    (local.set $z (f32x4.mul (local.get $ax) (local.get $ax)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.13332345 0.13332345 0.13332345 0.13332345)
        (f32x4.mul (local.get $z)
          (f32x4.add
            (v128.const f32x4 -0.053879768 -0.053879768 -0.053879768 -0.053879768)
            (f32x4.mul (local.get $z)
              (f32x4.add
                (v128.const f32x4 0.021486549 0.021486549 0.021486549 0.021486549)
                (f32x4.mul (local.get $z)
                  (f32x4.add
                    (v128.const f32x4 -0.007945929 -0.007945929 -0.007945929 -0.007945929)
                    (f32x4.mul (local.get $z)
                      (f32x4.add
                        (v128.const f32x4 0.0023012226 0.0023012226 0.0023012226 0.0023012226)
                        (f32x4.mul (local.get $z)
                          (v128.const f32x4 -3.5840794e-04 -3.5840794e-04 -3.5840794e-04 -3.5840794e-04))))))))))))
    (local.set $p
      (f32x4.add (v128.const f32x4 -0.33333296 -0.33333296 -0.33333296 -0.33333296)
        (f32x4.mul (local.get $z) (local.get $p))))
    (local.set $p
      (f32x4.add (local.get $ax)
        (f32x4.mul (local.get $ax) (f32x4.mul (local.get $z) (local.get $p)))))
    ;; |x| >= 1: tanh = 1 - 2/(exp(2|x|) + 1), |x| clamped to 10 (tanh(10) rounds to 1)
    (local.set $e
      (call $f32x4_exp
        (f32x4.add
          (local.tee $e (f32x4.pmin (local.get $ax) (v128.const f32x4 10.0 10.0 10.0 10.0)))
          (local.get $e))))
    (local.set $e
      (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
        (f32x4.div (v128.const f32x4 2.0 2.0 2.0 2.0)
          (f32x4.add (local.get $e) (v128.const f32x4 1.0 1.0 1.0 1.0)))))
    ;; select and restore the sign
    (v128.or
      (v128.bitselect (local.get $p) (local.get $e)
        (f32x4.lt (local.get $ax) (v128.const f32x4 1.0 1.0 1.0 1.0)))
      (v128.and (local.get $x)
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
  )

  (func $f32x4_erf (param $x v128) (result v128)
    (local $ax v128) (local $z v128) (local $p v128) (local $t v128) (local $u v128) (local $q v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    ;; |x| < 0.9375: erf = ax + ax * P(ax^2)   (P(z) ~ erf(x)/x - 1)
    (local.set $z (f32x4.mul (local.get $ax) (local.get $ax)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.12837917 0.12837917 0.12837917 0.12837917)
        (f32x4.mul (local.get $z)
          (f32x4.add
            (v128.const f32x4 -0.37612632 -0.37612632 -0.37612632 -0.37612632)
            (f32x4.mul (local.get $z)
              (f32x4.add
                (v128.const f32x4 0.112836786 0.112836786 0.112836786 0.112836786)
                (f32x4.mul (local.get $z)
                  (f32x4.add
                    (v128.const f32x4 -0.026858494 -0.026858494 -0.026858494 -0.026858494)
                    (f32x4.mul (local.get $z)
                      (f32x4.add
                        (v128.const f32x4 0.005198823 0.005198823 0.005198823 0.005198823)
                        (f32x4.mul (local.get $z)
                          (f32x4.add
                            (v128.const f32x4 -8.1180007e-04 -8.1180007e-04 -8.1180007e-04 -8.1180007e-04)
                            (f32x4.mul (local.get $z)
                              (v128.const f32x4 8.267154e-05 8.267154e-05 8.267154e-05 8.267154e-05))))))))))))))
    (local.set $p
      (f32x4.add (local.get $ax) (f32x4.mul (local.get $ax) (local.get $p))))
    ;; |x| >= 0.9375: erf = 1 - exp(-a^2) * t * Q(t - 0.6875), t = 1/a, a = min(|x|, 4)
    (local.set $z (f32x4.pmin (local.get $ax) (v128.const f32x4 4.0 4.0 4.0 4.0)))
    (local.set $t (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $z)))
    (local.set $u (f32x4.sub (local.get $t) (v128.const f32x4 0.6875 0.6875 0.6875 0.6875)))
    (local.set $q
      (f32x4.add
        (v128.const f32x4 0.4788121 0.4788121 0.4788121 0.4788121)
        (f32x4.mul (local.get $u)
          (f32x4.add
            (v128.const f32x4 -0.17097527 -0.17097527 -0.17097527 -0.17097527)
            (f32x4.mul (local.get $u)
              (f32x4.add
                (v128.const f32x4 0.010512159 0.010512159 0.010512159 0.010512159)
                (f32x4.mul (local.get $u)
                  (f32x4.add
                    (v128.const f32x4 0.05450677 0.05450677 0.05450677 0.05450677)
                    (f32x4.mul (local.get $u)
                      (f32x4.add
                        (v128.const f32x4 -0.06330203 -0.06330203 -0.06330203 -0.06330203)
                        (f32x4.mul (local.get $u)
                          (f32x4.add
                            (v128.const f32x4 0.043277506 0.043277506 0.043277506 0.043277506)
                            (f32x4.mul (local.get $u)
                              (f32x4.add
                                (v128.const f32x4 -0.0143689895 -0.0143689895 -0.0143689895 -0.0143689895)
                                (f32x4.mul (local.get $u)
                                  (v128.const f32x4 -0.0022082326 -0.0022082326 -0.0022082326 -0.0022082326))))))))))))))))
    (local.set $q
      (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
        (f32x4.mul
          (call $f32x4_exp
            (f32x4.neg (f32x4.mul (local.get $z) (local.get $z))))
          (f32x4.mul (local.get $t) (local.get $q)))))
    (v128.or
      (v128.bitselect (local.get $p) (local.get $q)
        (f32x4.lt (local.get $ax) (v128.const f32x4 0.9375 0.9375 0.9375 0.9375)))
      (v128.and (local.get $x)
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
  )

  (func $f32x4_sigmoid (param $x v128) (result v128)
    (local $tail v128) (local $a v128) (local $n v128) (local $r v128) (local $p v128)
    (local $s v128) (local $t v128) (local $ni v128) (local $n1 v128)
    (local $sc1 v128) (local $sc2 v128) (local $hi v128) (local $lo v128)
    (local $d v128) (local $c v128) (local $q v128)
    ;; x >= -20: sigmoid = 1/(1 + E), E = exp(-x) = hi + lo (hi = fl(E))
    ;; x <  -20: sigmoid = exp(x)      (1 + exp(x) rounds to 1)
    ;; The exp evaluation is the one of $f32x4_exp, inlined so that the
    ;; rounding of 1 + y is kept as a separate low part.
    (local.set $tail
      (f32x4.lt (local.get $x) (v128.const f32x4 -20.0 -20.0 -20.0 -20.0)))
    (local.set $a
      (f32x4.pmin
        (f32x4.pmax
          (v128.bitselect (local.get $x) (f32x4.neg (local.get $x)) (local.get $tail))
          (v128.const f32x4 -104.0 -104.0 -104.0 -104.0))
        (v128.const f32x4 20.0 20.0 20.0 20.0)))
    ;; n = nearest(x * log2(e)) by the 1.5 * 2^23 shifter (|x * log2(e)| < 2^22: the add
    ;; rounds to an integer, ties to even, and n's integer value is in the low bits of
    ;; $ni, read below; cheaper than f32x4.nearest + i32x4.trunc_sat_f32x4_s)
    (local.set $ni
      (f32x4.add
        (f32x4.mul (local.get $a)
          (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
        (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
    (local.set $n (f32x4.sub (local.get $ni) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $a)
          (f32x4.mul (local.get $n)
            (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.16666521 0.16666521 0.16666521 0.16666521)
        (f32x4.mul (local.get $r)
          (f32x4.add
            (v128.const f32x4 0.04166839 0.04166839 0.04166839 0.04166839)
            (f32x4.mul (local.get $r)
              (f32x4.add
                (v128.const f32x4 0.008368717 0.008368717 0.008368717 0.008368717)
                (f32x4.mul (local.get $r)
                  (v128.const f32x4 0.0013814599 0.0013814599 0.0013814599 0.0013814599))))))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.49999994 0.49999994 0.49999994 0.49999994)
        (f32x4.mul (local.get $r) (local.get $p))))
    ;; exp(r) = s + t, s = fl(1 + r), t = (1 + r - s) + r^2*Q(r)
    (local.set $s (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)))
    (local.set $t
      (f32x4.add
        (f32x4.sub (local.get $r)
          (f32x4.sub (local.get $s) (v128.const f32x4 1.0 1.0 1.0 1.0)))
        (f32x4.mul (f32x4.mul (local.get $r) (local.get $r)) (local.get $p))))
    (local.set $ni (i32x4.sub (local.get $ni) (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000)))
    (local.set $n1 (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (local.set $sc1
      (i32x4.shl
        (i32x4.add (local.get $n1) (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
    (local.set $sc2
      (i32x4.shl
        (i32x4.add
          (i32x4.sub (local.get $ni) (local.get $n1))
          (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
    ;; exp(a) = 2^n * (p + ((s - p) + t)), p = fl(s + t)  (Fast2Sum, |s| > |t|)
    (local.set $p (f32x4.add (local.get $s) (local.get $t)))
    (local.set $hi
      (f32x4.mul (f32x4.mul (local.get $p) (local.get $sc1)) (local.get $sc2)))
    (local.set $lo
      (f32x4.mul
        (f32x4.mul
          (f32x4.add (f32x4.sub (local.get $s) (local.get $p)) (local.get $t))
          (local.get $sc1))
        (local.get $sc2)))
    ;; d = fl(1 + hi), c = (1 + hi - d) + lo  (Fast2Sum on max/min)
    (local.set $d (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $hi)))
    (local.set $c
      (f32x4.add
        (f32x4.sub
          (f32x4.pmin (local.get $hi) (v128.const f32x4 1.0 1.0 1.0 1.0))
          (f32x4.sub (local.get $d)
            (f32x4.pmax (local.get $hi) (v128.const f32x4 1.0 1.0 1.0 1.0))))
        (local.get $lo)))
    ;; 1/(d + c) = q - q*c/d to first order, q = 1/d
    (local.set $q (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $d)))
    (v128.bitselect
      (local.get $hi)
      (f32x4.sub (local.get $q)
        (f32x4.div (f32x4.mul (local.get $q) (local.get $c)) (local.get $d)))
      (local.get $tail))
  )
