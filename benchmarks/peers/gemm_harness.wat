;; Harness for gemm_engines.py: one packed GEMM of a fixed shape, callable as
;; the peak kernels are ((param $reps i32) (param f32) (result f32)), so the
;; same drivers time it in wasmtime, Node and Chromium.  gemm_engines.py
;; replaces the @NAME@ placeholders (sizes and byte offsets) and appends the
;; SIMD128 part of a csrc/wat/f32_gemm_packed.wat version.  The first call
;; fills A and B with small exact values and packs B ($f32_gemm_pack_b, not
;; timed again); every call then runs C = A * B $reps times and returns C[0, 0]
;; (all variants must return the same bits: the kernels' order is fixed).
(memory (export "memory") @PAGES@)
(global $ready (mut i32) (i32.const 0))

;; x[i] = ((i * 7) % 13 - 6) / 8 for i < count, floats at p
(func $gemm_harness_fill (param $p i32) (param $count i32)
  (local $i i32)
  (loop $l
    (f32.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))
      (f32.mul (f32.convert_i32_s (i32.sub (i32.rem_u (i32.mul (local.get $i) (i32.const 7)) (i32.const 13))
                                           (i32.const 6)))
               (f32.const 0.125)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $l (i32.lt_u (local.get $i) (local.get $count)))))

(func (export "gemm") (param $reps i32) (param $x f32) (result f32)
  (if (i32.eqz (global.get $ready))
    (then
      (call $gemm_harness_fill (i32.const @A@) (i32.const @MK@))
      (call $gemm_harness_fill (i32.const @B@) (i32.const @KN@))
      (call $f32_gemm_pack_b (i32.const @B@) (i32.const @N@) (i32.const @K@) (i32.const @N@) (i32.const @BP@))
      (global.set $ready (i32.const 1))))
  (loop $l
    (call $f32_gemm_packed (i32.const @A@) (i32.const @BP@) (i32.const @C@) (i32.const @M@) (i32.const @N@)
                           (i32.const @K@) (i32.const @K@) (i32.const @N@) (i32.const 0) (i32.const 0)
                           (i32.const 0))
    (br_if $l (local.tee $reps (i32.sub (local.get $reps) (i32.const 1)))))
  (f32.load (i32.const @C@)))
