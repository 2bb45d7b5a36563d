;; int8_dot_peak.wat -- register-only throughput of the two int8 dot products
;; (benchmarks/int8_dot_peak.py).  Each export runs $it iterations of 12 independent
;; accumulator chains (12 + 2 live v128: no spills) and returns a lane of their sum:
;;   dot16: c += i32x4.dot_i16x8_s(a, b)                      8 int8 products per op (SIMD128)
;;   rdot:  c = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c)  16 products per op (relaxed SIMD)
;; An exact int8 x int8 product with relaxed_dot needs two of them (the i7 operand must be
;; in [0, 127]: b = (b & 127) - 128 * (b < 0)), so its exact rate is half its raw one.
(module
(func (export "dot16") (param $it i32) (param $x i32) (result i32)
  (local $a v128) (local $b v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128) (local $c8 v128) (local $c9 v128) (local $c10 v128) (local $c11 v128)
  (local.set $a (i8x16.splat (local.get $x)))
  (local.set $b (i8x16.splat (i32.add (local.get $x) (i32.const 1))))
  (loop $l
    (local.set $a (i16x8.add (local.get $a) (local.get $b)))  ;; a changes: no dot is loop-invariant
      (local.set $c0 (i32x4.add (local.get $c0) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c1 (i32x4.add (local.get $c1) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c2 (i32x4.add (local.get $c2) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c3 (i32x4.add (local.get $c3) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c4 (i32x4.add (local.get $c4) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c5 (i32x4.add (local.get $c5) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c6 (i32x4.add (local.get $c6) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c7 (i32x4.add (local.get $c7) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c8 (i32x4.add (local.get $c8) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c9 (i32x4.add (local.get $c9) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
      (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $a) (local.get $b))))
    (br_if $l (local.tee $it (i32.sub (local.get $it) (i32.const 1)))))
  (i32x4.extract_lane 0 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $c0) (local.get $c1)) (local.get $c2)) (local.get $c3)) (local.get $c4)) (local.get $c5)) (local.get $c6)) (local.get $c7)) (local.get $c8)) (local.get $c9)) (local.get $c10)) (local.get $c11))))
(func (export "rdot") (param $it i32) (param $x i32) (result i32)
  (local $a v128) (local $b v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128) (local $c8 v128) (local $c9 v128) (local $c10 v128) (local $c11 v128)
  (local.set $a (i8x16.splat (local.get $x)))
  (local.set $b (i8x16.splat (i32.add (local.get $x) (i32.const 1))))
  (loop $l
    (local.set $a (i16x8.add (local.get $a) (local.get $b)))  ;; a changes: no dot is loop-invariant
      (local.set $c0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c0)))
      (local.set $c1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c1)))
      (local.set $c2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c2)))
      (local.set $c3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c3)))
      (local.set $c4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c4)))
      (local.set $c5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c5)))
      (local.set $c6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c6)))
      (local.set $c7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c7)))
      (local.set $c8 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c8)))
      (local.set $c9 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c9)))
      (local.set $c10 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c10)))
      (local.set $c11 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b) (local.get $c11)))
    (br_if $l (local.tee $it (i32.sub (local.get $it) (i32.const 1)))))
  (i32x4.extract_lane 0 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $c0) (local.get $c1)) (local.get $c2)) (local.get $c3)) (local.get $c4)) (local.get $c5)) (local.get $c6)) (local.get $c7)) (local.get $c8)) (local.get $c9)) (local.get $c10)) (local.get $c11)))))
