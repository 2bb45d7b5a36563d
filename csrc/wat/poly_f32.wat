;; poly_f32.wat -- PyTorch's orthogonal polynomials (torch.special.*_polynomial_*), float32.
;;
;; A FRAGMENT of module fields (only funcs), included with math_f32x4_f64.wat, whose
;; $f32x4_acos/cos/sin the Chebyshev kinds call. Each $poly_<name> (param $x f32) (param $n f32)
;; (result f32) computes what PyTorch's CPU kernel (ATen/native/Math.h) computes for float32,
;; in the same float32 operations and order: n truncated to an integer (NaN -> negative, so 0,
;; as static_cast<int64_t> gives on x86), the kernel's special cases (|x| = 1, x = 0, n < 0),
;; the trigonometric forms for large n with |x| < 1 (Chebyshev kinds), the Hermite kinds' NaN
;; above n = 128, then the three-term recurrence. The recurrences stop early once the value is
;; NaN (it stays NaN), so an overflowing |x| > 1 recurrence ends after a few hundred steps.
;; $f32x4_<name> (param $x v128) (param $n v128) applies it lane by lane.
;;
;; Functions: chebyshev_t/u/v/w, shifted_chebyshev_t/u/v/w, hermite_h, hermite_he,
;; laguerre_l, legendre_p.

  (func $poly_acos (param $x f32) (result f32)
    (f32x4.extract_lane 0 (call $f32x4_acos (f32x4.splat (local.get $x)))))

  (func $poly_cos (param $x f32) (result f32)
    (f32x4.extract_lane 0 (call $f32x4_cos (f32x4.splat (local.get $x)))))

  (func $poly_sin (param $x f32) (result f32)
    (f32x4.extract_lane 0 (call $f32x4_sin (f32x4.splat (local.get $x)))))

  (func $poly_chebyshev_t (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 1)) (then (return (select (f32.const 1) (f32.const -1) (i32.or (f32.gt (local.get $x) (f32.const 0)) (i32.eqz (i32.and (local.get $n) (i32.const 1))))))))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 6)) (f32.lt (f32.abs (local.get $x)) (f32.const 1)))
      (then (return (call $poly_cos (f32.mul (f32.convert_i32_s (local.get $n)) (call $poly_acos (local.get $x)))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (local.get $x))))
    (local.set $p (f32.const 1))
    (local.set $q (local.get $x))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $x) (local.get $x)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_chebyshev_u (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 1)) (then (return (select (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (f32.neg (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1)))) (i32.or (f32.gt (local.get $x) (f32.const 0)) (i32.eqz (i32.and (local.get $n) (i32.const 1))))))))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 8)) (f32.lt (f32.abs (local.get $x)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $x)))
        (local.set $s (call $poly_sin (local.get $a)))
        (if (f32.ne (local.get $s) (f32.const 0))
          (then (return (f32.div (call $poly_sin (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (local.get $a))) (local.get $s)))))
        (return (f32.div (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (call $poly_cos (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (local.get $a)))) (local.get $x)))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.add (local.get $x) (local.get $x)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.add (local.get $x) (local.get $x)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $x) (local.get $x)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_chebyshev_v (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 1))
      (then
        (if (f32.gt (local.get $x) (f32.const 0)) (then (return (f32.const 1))))
        (return (select (f32.neg (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1)))) (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 8)) (f32.lt (f32.abs (local.get $x)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $x)))
        (if (f32.ne (call $poly_sin (f32.div (local.get $a) (f32.const 2))) (f32.const 1))
          (then (return (f32.div (call $poly_cos (f32.mul (f32.add (f32.convert_i32_s (local.get $n)) (f32.const 0.5)) (local.get $a))) (call $poly_cos (f32.div (local.get $a) (f32.const 2)))))))
        (return (select (f32.neg (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1)))) (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $x) (local.get $x)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_chebyshev_w (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 1))
      (then
        (if (f32.gt (local.get $x) (f32.const 0)) (then (return (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))))))
        (return (select (f32.const -1) (f32.const 1) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 8)) (f32.lt (f32.abs (local.get $x)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $x)))
        (if (f32.ne (call $poly_cos (f32.div (local.get $a) (f32.const 2))) (f32.const 1))
          (then (return (f32.div (call $poly_sin (f32.mul (f32.add (f32.convert_i32_s (local.get $n)) (f32.const 0.5)) (local.get $a))) (call $poly_sin (f32.div (local.get $a) (f32.const 2)))))))
        (if (f32.gt (local.get $x) (f32.const 0)) (then (return (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))))))
        (return (select (f32.const -1) (f32.const 1) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.add (f32.add (local.get $x) (local.get $x)) (f32.const 1)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.add (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $x) (local.get $x)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_shifted_chebyshev_t (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (local.get $x) (f32.const 1)) (then (return (f32.const 1))))
    (if (f32.eq (local.get $x) (f32.const 0)) (then (return (select (f32.const -1) (f32.const 1) (i32.and (local.get $n) (i32.const 1))))))
    (local.set $y (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 6)) (f32.lt (f32.abs (local.get $y)) (f32.const 1)))
      (then (return (call $poly_cos (f32.mul (f32.convert_i32_s (local.get $n)) (call $poly_acos (local.get $y)))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (local.get $y))))
    (local.set $p (f32.const 1))
    (local.set $q (local.get $y))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $y) (local.get $y)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_shifted_chebyshev_u (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (local.get $x) (f32.const 1)) (then (return (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))))))
    (if (f32.eq (local.get $x) (f32.const 0)) (then (return (select (f32.neg (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1)))) (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (i32.and (local.get $n) (i32.const 1))))))
    (local.set $y (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 6)) (f32.lt (f32.abs (local.get $y)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $y)))
        (local.set $s (call $poly_sin (local.get $a)))
        (if (f32.ne (local.get $s) (f32.const 0))
          (then (return (f32.div (call $poly_sin (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (local.get $a))) (local.get $s)))))
        (return (f32.div (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (call $poly_cos (f32.mul (f32.convert_i32_s (i32.add (local.get $n) (i32.const 1))) (local.get $a)))) (local.get $y)))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.add (local.get $y) (local.get $y)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.add (local.get $y) (local.get $y)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $y) (local.get $y)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_shifted_chebyshev_v (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (local.get $x) (f32.const 1)) (then (return (f32.const 1))))
    (if (f32.eq (local.get $x) (f32.const 0)) (then (return (select (f32.neg (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1)))) (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))) (i32.and (local.get $n) (i32.const 1))))))
    (local.set $y (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 6)) (f32.lt (f32.abs (local.get $y)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $y)))
        (if (f32.ne (call $poly_sin (f32.div (local.get $a) (f32.const 2))) (f32.const 1))
          (then (return (f32.div (call $poly_cos (f32.mul (f32.add (f32.convert_i32_s (local.get $n)) (f32.const 0.5)) (local.get $a))) (call $poly_cos (f32.div (local.get $a) (f32.const 2)))))))
        (return (select (f32.neg (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1)))) (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.sub (f32.add (local.get $y) (local.get $y)) (f32.const 1)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.sub (f32.add (local.get $y) (local.get $y)) (f32.const 1)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $y) (local.get $y)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_shifted_chebyshev_w (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (local.get $x) (f32.const 1)) (then (return (f32.convert_i32_s (i32.add (i32.add (local.get $n) (local.get $n)) (i32.const 1))))))
    (if (f32.eq (local.get $x) (f32.const 0)) (then (return (select (f32.const -1) (f32.const 1) (i32.and (local.get $n) (i32.const 1))))))
    (local.set $y (f32.sub (f32.add (local.get $x) (local.get $x)) (f32.const 1)))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 4)) (f32.lt (f32.abs (local.get $y)) (f32.const 1)))
      (then
        (local.set $a (call $poly_acos (local.get $y)))
        (if (f32.ne (call $poly_cos (f32.div (local.get $a) (f32.const 2))) (f32.const 1))
          (then (return (f32.div (call $poly_sin (f32.mul (f32.add (f32.convert_i32_s (local.get $n)) (f32.const 0.5)) (local.get $a))) (call $poly_sin (f32.div (local.get $a) (f32.const 2)))))))
        (return (select (f32.const -1) (f32.const 1) (i32.and (local.get $n) (i32.const 1))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.add (f32.add (local.get $y) (local.get $y)) (f32.const 1)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.add (f32.add (local.get $y) (local.get $y)) (f32.const 1)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $y) (local.get $y)) (local.get $q)) (local.get $p)))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_hermite_h (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.add (local.get $x) (local.get $x)))))
    (if (i32.gt_s (local.get $n) (i32.const 128)) (then (return (f32.const nan))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.add (local.get $x) (local.get $x)))
    (local.set $k (i32.const 2))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (i32.add (local.get $n) (local.get $n))))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (f32.add (local.get $x) (local.get $x)) (local.get $q)) (f32.mul (f32.convert_i32_s (local.get $k)) (local.get $p))))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_hermite_he (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (local.get $x))))
    (if (i32.gt_s (local.get $n) (i32.const 128)) (then (return (f32.const nan))))
    (local.set $p (f32.const 1))
    (local.set $q (local.get $x))
    (local.set $k (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.sub (f32.mul (local.get $x) (local.get $q)) (f32.mul (f32.convert_i32_s (local.get $k)) (local.get $p))))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_laguerre_l (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 0)) (then (return (f32.const 1))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (f32.sub (f32.const 1) (local.get $x)))))
    (local.set $p (f32.const 1))
    (local.set $q (f32.sub (f32.const 1) (local.get $x)))
    (local.set $k (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.div (f32.sub (f32.mul (f32.add (f32.convert_i32_s (i32.add (local.get $k) (local.get $k))) (f32.sub (f32.const 1) (local.get $x))) (local.get $q)) (f32.mul (f32.convert_i32_s (local.get $k)) (local.get $p))) (f32.convert_i32_s (i32.add (local.get $k) (i32.const 1)))))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $poly_legendre_p (param $x f32) (param $nf f32) (result f32)
    (local $n i32) (local $p f32) (local $q f32) (local $r f32) (local $k i32) (local $y f32) (local $a f32) (local $s f32)
    (local.set $n
      (if (result i32) (f32.ne (local.get $nf) (local.get $nf))
        (then (i32.const -1))
        (else (i32.trunc_sat_f32_s (local.get $nf)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (f32.const 0))))
    (if (f32.eq (f32.abs (local.get $x)) (f32.const 1)) (then (return (select (f32.const 1) (f32.const -1) (i32.or (f32.gt (local.get $x) (f32.const 0)) (i32.eqz (i32.and (local.get $n) (i32.const 1))))))))
    (if (i32.eqz (local.get $n)) (then (return (f32.const 1))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then (return (local.get $x))))
    (local.set $p (f32.const 1))
    (local.set $q (local.get $x))
    (local.set $k (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $n)))
        (br_if $done (f32.ne (local.get $q) (local.get $q)))
        (local.set $r (f32.div (f32.sub (f32.mul (f32.mul (f32.convert_i32_s (i32.add (i32.add (local.get $k) (local.get $k)) (i32.const 1))) (local.get $x)) (local.get $q)) (f32.mul (f32.convert_i32_s (local.get $k)) (local.get $p))) (f32.convert_i32_s (i32.add (local.get $k) (i32.const 1)))))
        (local.set $p (local.get $q))
        (local.set $q (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $q)
  )

  (func $f32x4_chebyshev_t (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_chebyshev_t (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_chebyshev_t (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_chebyshev_t (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_chebyshev_t (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_chebyshev_u (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_chebyshev_u (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_chebyshev_u (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_chebyshev_u (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_chebyshev_u (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_chebyshev_v (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_chebyshev_v (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_chebyshev_v (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_chebyshev_v (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_chebyshev_v (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_chebyshev_w (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_chebyshev_w (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_chebyshev_w (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_chebyshev_w (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_chebyshev_w (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_shifted_chebyshev_t (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_shifted_chebyshev_t (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_shifted_chebyshev_t (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_shifted_chebyshev_t (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_shifted_chebyshev_t (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_shifted_chebyshev_u (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_shifted_chebyshev_u (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_shifted_chebyshev_u (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_shifted_chebyshev_u (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_shifted_chebyshev_u (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_shifted_chebyshev_v (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_shifted_chebyshev_v (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_shifted_chebyshev_v (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_shifted_chebyshev_v (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_shifted_chebyshev_v (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_shifted_chebyshev_w (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_shifted_chebyshev_w (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_shifted_chebyshev_w (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_shifted_chebyshev_w (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_shifted_chebyshev_w (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_hermite_h (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_hermite_h (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_hermite_h (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_hermite_h (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_hermite_h (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_hermite_he (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_hermite_he (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_hermite_he (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_hermite_he (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_hermite_he (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_laguerre_l (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_laguerre_l (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_laguerre_l (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_laguerre_l (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_laguerre_l (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))

  (func $f32x4_legendre_p (param $x v128) (param $n v128) (result v128)
    (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.replace_lane 0 (f32x4.splat (f32.const 0)) (call $poly_legendre_p (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 0 (local.get $n)))) (call $poly_legendre_p (f32x4.extract_lane 1 (local.get $x)) (f32x4.extract_lane 1 (local.get $n)))) (call $poly_legendre_p (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 2 (local.get $n)))) (call $poly_legendre_p (f32x4.extract_lane 3 (local.get $x)) (f32x4.extract_lane 3 (local.get $n)))))
