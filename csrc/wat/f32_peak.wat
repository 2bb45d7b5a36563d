;; ---------------------------------------------------------------------------
;; f32_peak.wat -- register-only SIMD128 peak-throughput kernels
;;
;; FRAGMENT of module fields: only (func ...) definitions (no module wrapper,
;; exports, imports, memory).  Function names start with $f32_peak.  They touch
;; no memory.  benchmarks/gemm_probe.py runs them in the same process and run
;; as the GEMM timings, so GEMM speed is reported as a ratio to the best f32
;; SIMD128 throughput the runtime reaches on this core at that moment
;; (absolute GFLOP/s drift with machine load; the ratio holds much better).
;;
;;   (func $f32_peak_muladd (param $iters i32) (param $x f32) (result f32))
;;       SIMD128 only.  The GEMM's instruction mix -- one f32x4.mul per
;;       f32x4.add -- with no dependency limiting it: 7 multiply chains
;;       (p = p * m) and 7 add chains (q = q + d), 14 independent accumulators,
;;       unrolled 2x.  One iteration = 14 f32x4.mul + 14 f32x4.add = 112 flops
;;       (4 per vector op, as a GEMM counts 2 per lane per multiply-add).
;;       Total flops = 112 * iters.  Call it with x = 1.0 (m = x, d = x - 1:
;;       every value stays finite and normal, no denormal slow path).
;;   (func $f32_peak_fma (param $iters i32) (param $x f32) (result f32))
;;       Needs relaxed SIMD.  14 independent chains a = a * 0.5 + x of
;;       f32x4.relaxed_madd, unrolled 2x: 28 per iteration = 224 flops.
;;       Total flops = 224 * iters.  Any normal x works (a -> 2x).
;;   Both return lane 0 of the sum of all accumulators, which keeps the work
;;   observable; iters == 0 returns 0.0.  The loops live in separate
;;   functions ($..._loop, iters >= 1, no branch around the loop); p and q
;;   chains start from the same 7 constants.  A guard around the loop, or 14
;;   distinct start constants, cost a 17th register and Cranelift then
;;   spilled an accumulator inside the loop (measured 33 instead of 39
;;   GFLOP/s).  Check with the disassembly of Module.serialize() after edits.
;;
;; Why this shape (wasmtime 50 / Cranelift, x86-64 with AVX, 16 xmm
;; registers; time.thread_time, best / median of 15, same run):
;;   mul+add: 12 chains of a = a * m + d, 2x unrolled:        39.8 / 38.4 GFLOP/s
;;            6 mul + 6 add independent chains:               41.2 / 39.5
;;            7 mul + 7 add (this kernel):                     42.8 / 39.7
;;     (Cranelift schedules each chain's steps back to back; with 7 + 7 the
;;     latency of a chain over one iteration, 8 cycles, is below the 28 / 3
;;     ports = 9.3 cycles of throughput, so it is throughput-bound.)
;;   relaxed_madd: 12 chains 2x: 49.0 / 46.2; 10 chains 1x: 56.8 / 52.6;
;;                 14 chains 2x (this kernel): 54.5 / 53.0.
;;   14 accumulators + 2 constants = 16 xmm registers, no spills.
;;
;; $f32_peak_fma follows the marker line that starts with "@relaxed-simd"
;; (after the comment prefix): a module assembled without relaxed SIMD keeps
;; only the text before that line (gemm_probe.py does this).
;; ---------------------------------------------------------------------------

(func $f32_peak_muladd (param $iters i32) (param $x f32) (result f32)
  (if (result f32) (local.get $iters)
    (then (call $f32_peak_muladd_loop (local.get $iters) (local.get $x)))
    (else (f32.const 0))))

;; iters >= 1
(func $f32_peak_muladd_loop (param $iters i32) (param $x f32) (result f32)
  (local $m v128) (local $d v128)
  (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128) (local $p4 v128) (local $p5 v128) (local $p6 v128)
  (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128) (local $q6 v128)
  (local.set $m (f32x4.splat (local.get $x)))
  (local.set $d (f32x4.splat (f32.sub (local.get $x) (f32.const 1))))
  (local.set $p0 (f32x4.splat (f32.const 1)))
  (local.set $p1 (f32x4.splat (f32.const 2)))
  (local.set $p2 (f32x4.splat (f32.const 3)))
  (local.set $p3 (f32x4.splat (f32.const 4)))
  (local.set $p4 (f32x4.splat (f32.const 5)))
  (local.set $p5 (f32x4.splat (f32.const 6)))
  (local.set $p6 (f32x4.splat (f32.const 7)))
  (local.set $q0 (f32x4.splat (f32.const 1)))
  (local.set $q1 (f32x4.splat (f32.const 2)))
  (local.set $q2 (f32x4.splat (f32.const 3)))
  (local.set $q3 (f32x4.splat (f32.const 4)))
  (local.set $q4 (f32x4.splat (f32.const 5)))
  (local.set $q5 (f32x4.splat (f32.const 6)))
  (local.set $q6 (f32x4.splat (f32.const 7)))
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
    (local.set $p6 (f32x4.mul (local.get $p6) (local.get $m)))
    (local.set $q6 (f32x4.add (local.get $q6) (local.get $d)))
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
    (local.set $p6 (f32x4.mul (local.get $p6) (local.get $m)))
    (local.set $q6 (f32x4.add (local.get $q6) (local.get $d)))
    (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
  (f32x4.extract_lane 0
    (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (local.get $p0)
    (local.get $p1))
    (local.get $p2))
    (local.get $p3))
    (local.get $p4))
    (local.get $p5))
    (local.get $p6))
    (local.get $q0))
    (local.get $q1))
    (local.get $q2))
    (local.get $q3))
    (local.get $q4))
    (local.get $q5))
    (local.get $q6))))

;; @relaxed-simd -- everything below needs the relaxed-SIMD proposal
(func $f32_peak_fma (param $iters i32) (param $x f32) (result f32)
  (if (result f32) (local.get $iters)
    (then (call $f32_peak_fma_loop (local.get $iters) (local.get $x)))
    (else (f32.const 0))))

;; iters >= 1
(func $f32_peak_fma_loop (param $iters i32) (param $x f32) (result f32)
  (local $m v128) (local $d v128)
  (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128)
  (local $a7 v128) (local $a8 v128) (local $a9 v128) (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)
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
  (local.set $a12 (f32x4.splat (f32.const 13)))
  (local.set $a13 (f32x4.splat (f32.const 14)))
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
    (local.set $a12 (f32x4.relaxed_madd (local.get $a12) (local.get $m) (local.get $d)))
    (local.set $a13 (f32x4.relaxed_madd (local.get $a13) (local.get $m) (local.get $d)))
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
    (local.set $a12 (f32x4.relaxed_madd (local.get $a12) (local.get $m) (local.get $d)))
    (local.set $a13 (f32x4.relaxed_madd (local.get $a13) (local.get $m) (local.get $d)))
    (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
  (f32x4.extract_lane 0
    (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (local.get $a0)
    (local.get $a1))
    (local.get $a2))
    (local.get $a3))
    (local.get $a4))
    (local.get $a5))
    (local.get $a6))
    (local.get $a7))
    (local.get $a8))
    (local.get $a9))
    (local.get $a10))
    (local.get $a11))
    (local.get $a12))
    (local.get $a13))))
