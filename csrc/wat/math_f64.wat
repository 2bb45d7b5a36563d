;; math_f64.wat -- scalar float64 math for float64 tensors: exp, log, tanh, sigmoid, log1p,
;; expm1, log2, log10, pow, and the exact remainders fmod and mod.
;;
;; A FRAGMENT of module fields: only (func ...) definitions.  The compiler includes it,
;; with math_f32x4_f64.wat (whose float64 kernels $f64x2_exp and $f64x2_log it calls on
;; one lane), in a module whose float64 kernels use these functions.  Plain SIMD128 and
;; scalar instructions only (no FMA), so results are bit-identical on every host.
;;
;; The f64x2 kernels were written for float32 arguments; these wrappers extend them to the
;; whole float64 range:
;;   $f64_exp      |x| < 700: $f64x2_exp.  Otherwise exp(x/2)^2 (x/2 is exact): overflows to
;;                 inf above ~709.78, rounds into the subnormals below ~-708.4 and to 0 below
;;                 ~-745.1; NaN stays NaN, exp(+-inf) = inf / 0.
;;   $f64_log      $f64x2_log for normal x (its exponent comes from the bits); a subnormal x
;;                 is scaled by 2^54 first: log(x * 2^54) - 54 ln 2.  log(+-0) = -inf,
;;                 log(x < 0) = NaN, log(inf) = inf.
;;   $f64_tanh     |x| < 2^-5: the Taylor series to x^9 (next term < 1e-17 relative);
;;                 |x| > 20: +-1; otherwise sign(x) * (1 - 2 / (exp(2|x|) + 1)).  Keeps -0.
;;   $f64_sigmoid  1 / (1 + exp(-x)), PyTorch's CPU formula for float64.
;;   $f64_log1p    u = 1 + x; x where u == 1 (keeps -0), else log(u) * (x / (u - 1)) (the
;;                 rounding of 1 + x cancels: Goldberg's trick); log1p(inf) = inf.
;;   $f64_expm1    u = exp(x); x where u == 1, -1 where u - 1 == -1, inf where u is, else
;;                 (u - 1) * x / log(u) (Kahan's trick: the rounding of exp cancels).
;;   $f64_log2, $f64_log10   log(x) times 1/ln 2 or 1/ln 10 (rounded constants).
;;
;; Errors are MEASURED against numpy float64 (glibc: within an ulp) by
;; tests/e2e/test_float64.py::test_math_routine_error_bounds, over random float64 bit
;; patterns and grids of each function's range (2^16 to 2^17 points each), as relative error
;; |got - ref| / |ref| (absolute below 2^-1022), max measured / asserted:
;;   exp 1.7e-14 / 2e-14 (at x = -703.5: the squared path; |x| < 700 is below 1e-14),
;;   log 1.1e-15 / 2e-15, log2 6.8e-16 / 2e-15, log10 5.6e-16 / 2e-15,
;;   tanh 1.2e-14 / 2e-14 (1 - 2/(e+1) just above 2^-5), sigmoid 1.7e-14 / 2e-14,
;;   log1p 1.1e-15 / 2e-14, expm1 7.4e-15 / 2e-14.
;; That is up to ~100 float64 ulps: float64 precision, but not glibc's 1 ulp.

(func $f64_exp (param $x f64) (result f64)
  (local $h f64)
  (if (result f64) (f64.lt (f64.abs (local.get $x)) (f64.const 700))
    (then (f64x2.extract_lane 0 (call $f64x2_exp (f64x2.splat (local.get $x)))))
    (else
      (local.set $h (f64x2.extract_lane 0 (call $f64x2_exp (f64x2.splat (f64.mul (local.get $x) (f64.const 0.5))))))
      (f64.mul (local.get $h) (local.get $h)))))

(func $f64_log (param $x f64) (result f64)
  (if (result f64) (i32.and (f64.gt (local.get $x) (f64.const 0)) (f64.lt (local.get $x) (f64.const 0x1p-1022)))
    (then
      (f64.sub
        (f64x2.extract_lane 0 (call $f64x2_log (f64x2.splat (f64.mul (local.get $x) (f64.const 0x1p54)))))
        (f64.const 37.42994775023705)))  ;; 54 ln 2
    (else (f64x2.extract_lane 0 (call $f64x2_log (f64x2.splat (local.get $x)))))))

(func $f64_tanh (param $x f64) (result f64)
  (local $a f64) (local $z f64)
  (local.set $a (f64.abs (local.get $x)))
  (if (result f64) (f64.lt (local.get $a) (f64.const 0x1p-5))
    (then
      ;; x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835
      (local.set $z (f64.mul (local.get $x) (local.get $x)))
      (f64.copysign (f64.add (local.get $x)
        (f64.mul (f64.mul (local.get $x) (local.get $z))
          (f64.add (f64.const -0.3333333333333333)
            (f64.mul (local.get $z)
              (f64.add (f64.const 0.13333333333333333)
                (f64.mul (local.get $z)
                  (f64.add (f64.const -0.05396825396825397)
                    (f64.mul (local.get $z) (f64.const 0.021869488536155203)))))))))
        (local.get $x)))  ;; keeps tanh(-0) = -0
    (else
      (f64.copysign
        (if (result f64) (f64.gt (local.get $a) (f64.const 20))
          (then (f64.const 1))
          (else
            (f64.sub (f64.const 1)
              (f64.div (f64.const 2) (f64.add (call $f64_exp (f64.add (local.get $a) (local.get $a))) (f64.const 1))))))
        (local.get $x)))))

(func $f64_sigmoid (param $x f64) (result f64)
  (f64.div (f64.const 1) (f64.add (f64.const 1) (call $f64_exp (f64.neg (local.get $x))))))

(func $f64_log1p (param $x f64) (result f64)
  (local $u f64)
  (local.set $u (f64.add (f64.const 1) (local.get $x)))
  (if (result f64) (i32.or (f64.eq (local.get $u) (f64.const 1)) (f64.eq (local.get $x) (f64.const inf)))
    (then (local.get $x))
    (else (f64.mul (call $f64_log (local.get $u)) (f64.div (local.get $x) (f64.sub (local.get $u) (f64.const 1)))))))

(func $f64_expm1 (param $x f64) (result f64)
  (local $u f64) (local $um1 f64)
  (local.set $u (call $f64_exp (local.get $x)))
  (local.set $um1 (f64.sub (local.get $u) (f64.const 1)))
  (if (result f64) (f64.eq (local.get $u) (f64.const 1))
    (then (local.get $x))
    (else
      (if (result f64) (i32.or (f64.eq (local.get $um1) (f64.const -1)) (f64.eq (local.get $u) (f64.const inf)))
        (then (local.get $um1))
        (else (f64.div (f64.mul (local.get $um1) (local.get $x)) (call $f64_log (local.get $u))))))))

(func $f64_log2 (param $x f64) (result f64)
  (f64.mul (call $f64_log (local.get $x)) (f64.const 1.4426950408889634)))

(func $f64_log10 (param $x f64) (result f64)
  (f64.mul (call $f64_log (local.get $x)) (f64.const 0.4342944819032518)))

;; C's fmod(x, y), exact (the remainder of two floats is representable): long division on the
;; integer significands, one bit per step (at most ~2100 steps, for x/y near 2^2098), as musl's
;; fmod; subnormals are normalised first.  NaN for y = 0, x = +-inf or a NaN; x for |x| < |y|;
;; a zero result has x's sign.
(func $f64_fmod (param $x f64) (param $y f64) (result f64)
  (local $ux i64) (local $uy i64) (local $sx i64) (local $i i64) (local $ex i32) (local $ey i32)
  (if (i32.or (i32.or (f64.ne (local.get $x) (local.get $x)) (f64.ne (local.get $y) (local.get $y)))
              (i32.or (f64.eq (f64.abs (local.get $x)) (f64.const inf)) (f64.eq (local.get $y) (f64.const 0))))
    (then (return (f64.const nan))))
  (if (f64.lt (f64.abs (local.get $x)) (f64.abs (local.get $y))) (then (return (local.get $x))))
  (local.set $ux (i64.reinterpret_f64 (local.get $x)))
  (local.set $uy (i64.reinterpret_f64 (local.get $y)))
  (local.set $sx (i64.and (local.get $ux) (i64.const 0x8000000000000000)))
  (local.set $ex (i32.wrap_i64 (i64.and (i64.shr_u (local.get $ux) (i64.const 52)) (i64.const 0x7ff))))
  (local.set $ey (i32.wrap_i64 (i64.and (i64.shr_u (local.get $uy) (i64.const 52)) (i64.const 0x7ff))))
  (local.set $ux (i64.and (local.get $ux) (i64.const 0x000fffffffffffff)))
  (local.set $uy (i64.and (local.get $uy) (i64.const 0x000fffffffffffff)))
  ;; significands with the leading bit at 52 (subnormals shifted up, their exponent <= 0)
  (if (i32.eqz (local.get $ex))
    (then
      (local.set $i (i64.sub (i64.clz (local.get $ux)) (i64.const 11)))
      (local.set $ux (i64.shl (local.get $ux) (local.get $i)))
      (local.set $ex (i32.sub (i32.const 1) (i32.wrap_i64 (local.get $i)))))
    (else (local.set $ux (i64.or (local.get $ux) (i64.const 0x0010000000000000)))))
  (if (i32.eqz (local.get $ey))
    (then
      (local.set $i (i64.sub (i64.clz (local.get $uy)) (i64.const 11)))
      (local.set $uy (i64.shl (local.get $uy) (local.get $i)))
      (local.set $ey (i32.sub (i32.const 1) (i32.wrap_i64 (local.get $i)))))
    (else (local.set $uy (i64.or (local.get $uy) (i64.const 0x0010000000000000)))))
  (block $done
    (loop $step
      (br_if $done (i32.le_s (local.get $ex) (local.get $ey)))
      (local.set $i (i64.sub (local.get $ux) (local.get $uy)))
      (if (i64.ge_s (local.get $i) (i64.const 0))
        (then
          (if (i64.eqz (local.get $i)) (then (return (f64.reinterpret_i64 (local.get $sx)))))
          (local.set $ux (local.get $i))))
      (local.set $ux (i64.shl (local.get $ux) (i64.const 1)))
      (local.set $ex (i32.sub (local.get $ex) (i32.const 1)))
      (br $step)))
  (local.set $i (i64.sub (local.get $ux) (local.get $uy)))
  (if (i64.ge_s (local.get $i) (i64.const 0))
    (then
      (if (i64.eqz (local.get $i)) (then (return (f64.reinterpret_i64 (local.get $sx)))))
      (local.set $ux (local.get $i))))
  (local.set $i (i64.sub (i64.clz (local.get $ux)) (i64.const 11)))
  (local.set $ux (i64.shl (local.get $ux) (local.get $i)))
  (local.set $ex (i32.sub (local.get $ex) (i32.wrap_i64 (local.get $i))))
  (if (result f64) (i32.gt_s (local.get $ex) (i32.const 0))
    (then
      (f64.reinterpret_i64 (i64.or (local.get $sx)
        (i64.or (i64.sub (local.get $ux) (i64.const 0x0010000000000000))
                (i64.shl (i64.extend_i32_u (local.get $ex)) (i64.const 52))))))
    (else
      (f64.reinterpret_i64 (i64.or (local.get $sx)
        (i64.shr_u (local.get $ux) (i64.extend_i32_u (i32.sub (i32.const 1) (local.get $ex)))))))))

;; the floored remainder (Python's and PyTorch's remainder): fmod, plus y where the signs
;; differ and the remainder is not 0 (PyTorch's CPU kernel adds the same way)
(func $f64_mod (param $x f64) (param $y f64) (result f64)
  (local $r f64)
  (local.set $r (call $f64_fmod (local.get $x) (local.get $y)))
  (select (f64.add (local.get $r) (local.get $y)) (local.get $r)
    (i32.and (f64.ne (local.get $r) (f64.const 0))
             (i32.ne (f64.lt (local.get $r) (f64.const 0)) (f64.lt (local.get $y) (f64.const 0))))))

;; pow(x, y) with C99's special values (PyTorch's std::pow for double): 1 for y = +-0 or
;; x = 1 (even NaN); +-1 to +-inf is 1; a negative finite x to a finite non-integer y is NaN;
;; an odd integer y keeps x's sign (x = -0 and -inf included).  Integer |y| <= 64: binary
;; powering of |x| (exact where the result is representable; negative y: its reciprocal);
;; otherwise exp(y * log|x|), whose relative error grows with |y * log|x|| (~1e-15 per unit,
;; measured by tests/e2e/test_float64.py).  Zeros and infinities of |x| come out of the
;; log/exp as C says (log 0 = -inf, exp(-inf) = 0, ...).
(func $f64_pow (param $x f64) (param $y f64) (result f64)
  (local $a f64) (local $r f64) (local $b f64) (local $n i32) (local $int i32) (local $odd i32)
  (if (i32.or (f64.eq (local.get $y) (f64.const 0)) (f64.eq (local.get $x) (f64.const 1)))
    (then (return (f64.const 1))))
  (local.set $a (f64.abs (local.get $x)))
  (if (i32.and (f64.eq (local.get $a) (f64.const 1)) (f64.eq (f64.abs (local.get $y)) (f64.const inf)))
    (then (return (f64.const 1))))
  (local.set $int (f64.eq (f64.trunc (local.get $y)) (local.get $y)))  ;; false for NaN, true for +-inf
  (local.set $odd (i32.and (i32.and (local.get $int) (f64.lt (f64.abs (local.get $y)) (f64.const 0x1p53)))
                           (f64.ne (f64.trunc (f64.mul (local.get $y) (f64.const 0.5))) (f64.mul (local.get $y) (f64.const 0.5)))))
  (if (i32.and (i32.and (f64.lt (local.get $x) (f64.const 0)) (f64.lt (local.get $a) (f64.const inf)))
               (i32.and (i32.eqz (local.get $int)) (f64.eq (local.get $y) (local.get $y))))
    (then (return (f64.const nan))))
  (if (i32.and (local.get $int) (f64.le (f64.abs (local.get $y)) (f64.const 64)))
    (then
      (local.set $n (i32.trunc_f64_s (f64.abs (local.get $y))))
      (local.set $r (f64.const 1))
      (local.set $b (local.get $a))
      (block $done
        (loop $sq
          (if (i32.and (local.get $n) (i32.const 1)) (then (local.set $r (f64.mul (local.get $r) (local.get $b)))))
          (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $b (f64.mul (local.get $b) (local.get $b)))
          (br $sq)))
      (if (f64.lt (local.get $y) (f64.const 0)) (then (local.set $r (f64.div (f64.const 1) (local.get $r))))))
    (else (local.set $r (call $f64_exp (f64.mul (local.get $y) (call $f64_log (local.get $a)))))))
  ;; an odd integer power of a negative x (its sign bit: -0 and -inf too) is negative
  (select (f64.neg (local.get $r)) (local.get $r)
    (i32.and (local.get $odd) (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $x)) (i64.const 63))))))
