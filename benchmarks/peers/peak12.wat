;; ---------------------------------------------------------------------------
;; peak12.wat -- register-only SIMD128 peak kernels with 14 live v128 values,
;; for V8.  FRAGMENT of (func ...) fields like csrc/wat/f32_peak.wat, whose
;; interface and accounting it copies: (param $iters i32) (param $x f32)
;; (result f32), call with x = 1.0, returns lane 0 of the sum.
;;
;; Why: f32_peak.wat's kernels keep 16 v128 values live (14 accumulators + 2
;; constants), which fits Cranelift's 16 xmm registers but not V8's 15
;; allocatable ones (xmm15 is TurboFan's scratch register): Node 20 spills
;; and reloads an accumulator in every iteration of f32_peak_muladd_loop
;; (node --print-wasm-code), so its figure understates what V8 can issue.
;; Here 12 accumulators + 2 constants = 14 registers:
;;   $peak12_muladd: 6 f32x4.mul chains + 6 f32x4.add chains, unrolled 2x:
;;                   24 ops = 96 flops per iteration.
;;   $peak12_fma:    12 f32x4.relaxed_madd chains, unrolled 2x: 24 ops =
;;                   192 flops per iteration (after the "@relaxed-simd" line).
;; shipping.py times both these and f32_peak.wat's kernels in the same rounds
;; and takes the faster of each kind as the engine's peak.
;; ---------------------------------------------------------------------------

(func $peak12_muladd (param $iters i32) (param $x f32) (result f32)
  (if (result f32) (local.get $iters)
    (then (call $peak12_muladd_loop (local.get $iters) (local.get $x)))
    (else (f32.const 0))))

;; iters >= 1
(func $peak12_muladd_loop (param $iters i32) (param $x f32) (result f32)
  (local $m v128) (local $d v128)
  (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128) (local $p4 v128) (local $p5 v128)
  (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128)
  (local.set $m (f32x4.splat (local.get $x)))
  (local.set $d (f32x4.splat (f32.sub (local.get $x) (f32.const 1))))
  (local.set $p0 (f32x4.splat (f32.const 1)))
  (local.set $p1 (f32x4.splat (f32.const 2)))
  (local.set $p2 (f32x4.splat (f32.const 3)))
  (local.set $p3 (f32x4.splat (f32.const 4)))
  (local.set $p4 (f32x4.splat (f32.const 5)))
  (local.set $p5 (f32x4.splat (f32.const 6)))
  (local.set $q0 (f32x4.splat (f32.const 1)))
  (local.set $q1 (f32x4.splat (f32.const 2)))
  (local.set $q2 (f32x4.splat (f32.const 3)))
  (local.set $q3 (f32x4.splat (f32.const 4)))
  (local.set $q4 (f32x4.splat (f32.const 5)))
  (local.set $q5 (f32x4.splat (f32.const 6)))
  (loop $l
    (local.set $p0 (f32x4.mul (local.get $p0) (local.get $m)))
    (local.set $q0 (f32x4.add (local.get $q0) (local.get $d)))
    (local.set $p1 (f32x4.mul (local.get $p1) (local.get $m)))
    (local.set $q1 (f32x4.add (local.get $q1) (local.get $d)))
    (local.set $p2 (f32x4.mul (local.get $p2) (local.get $m)))
    (local.set $q2 (f32x4.add (local.get $q2) (local.get $d)))
    (local.set $p3 (f32x4.mul (local.get $p3) (local.get $m)))
    (local.set $q3 (f32x4.add (local.get $q3) (local.get $d)))
    (local.set $p4 (f32x4.mul (local.get $p4) (local.get $m)))
    (local.set $q4 (f32x4.add (local.get $q4) (local.get $d)))
    (local.set $p5 (f32x4.mul (local.get $p5) (local.get $m)))
    (local.set $q5 (f32x4.add (local.get $q5) (local.get $d)))
    (local.set $p0 (f32x4.mul (local.get $p0) (local.get $m)))
    (local.set $q0 (f32x4.add (local.get $q0) (local.get $d)))
    (local.set $p1 (f32x4.mul (local.get $p1) (local.get $m)))
    (local.set $q1 (f32x4.add (local.get $q1) (local.get $d)))
    (local.set $p2 (f32x4.mul (local.get $p2) (local.get $m)))
    (local.set $q2 (f32x4.add (local.get $q2) (local.get $d)))
    (local.set $p3 (f32x4.mul (local.get $p3) (local.get $m)))
    (local.set $q3 (f32x4.add (local.get $q3) (local.get $d)))
    (local.set $p4 (f32x4.mul (local.get $p4) (local.get $m)))
    (local.set $q4 (f32x4.add (local.get $q4) (local.get $d)))
    (local.set $p5 (f32x4.mul (local.get $p5) (local.get $m)))
    (local.set $q5 (f32x4.add (local.get $q5) (local.get $d)))
    (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
  (f32x4.extract_lane 0 (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (local.get $p0) (local.get $p1)) (local.get $p2)) (local.get $p3)) (local.get $p4)) (local.get $p5)) (local.get $q0)) (local.get $q1)) (local.get $q2)) (local.get $q3)) (local.get $q4)) (local.get $q5))))

;; @relaxed-simd -- everything below needs the relaxed-SIMD proposal
(func $peak12_fma (param $iters i32) (param $x f32) (result f32)
  (if (result f32) (local.get $iters)
    (then (call $peak12_fma_loop (local.get $iters) (local.get $x)))
    (else (f32.const 0))))

;; iters >= 1
(func $peak12_fma_loop (param $iters i32) (param $x f32) (result f32)
  (local $m v128) (local $d v128)
  (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128) (local $a10 v128) (local $a11 v128)
  (local.set $m (f32x4.splat (f32.const 0.5)))
  (local.set $d (f32x4.splat (local.get $x)))
  (local.set $a0 (f32x4.splat (f32.const 1)))
  (local.set $a1 (f32x4.splat (f32.const 2)))
  (local.set $a2 (f32x4.splat (f32.const 3)))
  (local.set $a3 (f32x4.splat (f32.const 4)))
  (local.set $a4 (f32x4.splat (f32.const 5)))
  (local.set $a5 (f32x4.splat (f32.const 6)))
  (local.set $a6 (f32x4.splat (f32.const 7)))
  (local.set $a7 (f32x4.splat (f32.const 8)))
  (local.set $a8 (f32x4.splat (f32.const 9)))
  (local.set $a9 (f32x4.splat (f32.const 10)))
  (local.set $a10 (f32x4.splat (f32.const 11)))
  (local.set $a11 (f32x4.splat (f32.const 12)))
  (loop $l
    (local.set $a0 (f32x4.relaxed_madd (local.get $a0) (local.get $m) (local.get $d)))
    (local.set $a1 (f32x4.relaxed_madd (local.get $a1) (local.get $m) (local.get $d)))
    (local.set $a2 (f32x4.relaxed_madd (local.get $a2) (local.get $m) (local.get $d)))
    (local.set $a3 (f32x4.relaxed_madd (local.get $a3) (local.get $m) (local.get $d)))
    (local.set $a4 (f32x4.relaxed_madd (local.get $a4) (local.get $m) (local.get $d)))
    (local.set $a5 (f32x4.relaxed_madd (local.get $a5) (local.get $m) (local.get $d)))
    (local.set $a6 (f32x4.relaxed_madd (local.get $a6) (local.get $m) (local.get $d)))
    (local.set $a7 (f32x4.relaxed_madd (local.get $a7) (local.get $m) (local.get $d)))
    (local.set $a8 (f32x4.relaxed_madd (local.get $a8) (local.get $m) (local.get $d)))
    (local.set $a9 (f32x4.relaxed_madd (local.get $a9) (local.get $m) (local.get $d)))
    (local.set $a10 (f32x4.relaxed_madd (local.get $a10) (local.get $m) (local.get $d)))
    (local.set $a11 (f32x4.relaxed_madd (local.get $a11) (local.get $m) (local.get $d)))
    (local.set $a0 (f32x4.relaxed_madd (local.get $a0) (local.get $m) (local.get $d)))
    (local.set $a1 (f32x4.relaxed_madd (local.get $a1) (local.get $m) (local.get $d)))
    (local.set $a2 (f32x4.relaxed_madd (local.get $a2) (local.get $m) (local.get $d)))
    (local.set $a3 (f32x4.relaxed_madd (local.get $a3) (local.get $m) (local.get $d)))
    (local.set $a4 (f32x4.relaxed_madd (local.get $a4) (local.get $m) (local.get $d)))
    (local.set $a5 (f32x4.relaxed_madd (local.get $a5) (local.get $m) (local.get $d)))
    (local.set $a6 (f32x4.relaxed_madd (local.get $a6) (local.get $m) (local.get $d)))
    (local.set $a7 (f32x4.relaxed_madd (local.get $a7) (local.get $m) (local.get $d)))
    (local.set $a8 (f32x4.relaxed_madd (local.get $a8) (local.get $m) (local.get $d)))
    (local.set $a9 (f32x4.relaxed_madd (local.get $a9) (local.get $m) (local.get $d)))
    (local.set $a10 (f32x4.relaxed_madd (local.get $a10) (local.get $m) (local.get $d)))
    (local.set $a11 (f32x4.relaxed_madd (local.get $a11) (local.get $m) (local.get $d)))
    (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
  (f32x4.extract_lane 0 (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (local.get $a2)) (local.get $a3)) (local.get $a4)) (local.get $a5)) (local.get $a6)) (local.get $a7)) (local.get $a8)) (local.get $a9)) (local.get $a10)) (local.get $a11))))
