;; f16_to_f32.wat -- widen half-precision arrays (IEEE float16, bfloat16) to float32.
;;
;; A FRAGMENT of module fields: only (func ...) definitions, no memory, exports,
;; globals, imports or data.  The compiler includes it in a saved artifact whose
;; weights are stored in half precision (save(..., weights="float16")): the
;; artifact's prepare widens them into their float32 buffers before anything
;; reads them.  SIMD128 only; results are exact and bit-identical on every host.
;;
;; Entry points (n elements; src holds n 2-byte values, dst receives n 4-byte
;; float32; src and dst must not overlap; no alignment needed):
;;   (func $f16_to_f32  (param $src i32) (param $dst i32) (param $n i32))
;;   (func $bf16_to_f32 (param $src i32) (param $dst i32) (param $n i32))
;;
;; float16 -> float32 (every one of the 65536 bit patterns maps exactly as
;; numpy's astype(float32) does; tests/unit/test_f16_wat.py checks them all):
;;   em = h & 0x7fff (exponent and mantissa), sign = (h & 0x8000) << 16
;;   normal (em >= 0x0400):  bits = (em << 13) + (112 << 23)  (exponent 15 -> 127)
;;   inf/NaN (em >= 0x7c00): another + (112 << 23), so the exponent field is 255;
;;                           the payload (mantissa << 13) is kept, NaN stays NaN
;;   zero/subnormal (em < 0x0400): value = em * 2^-24, computed as
;;                           f32(em) * 2^-24 -- an integer conversion and a
;;                           product of normal numbers with a normal, exact result,
;;                           so flush-to-zero/denormals-are-zero modes of a host
;;                           cannot change it
;; bfloat16 -> float32: bits = h << 16 (bfloat16 is the top half of a float32).
;;
;; Loops: 4 elements per iteration (v128.load64_zero of 4 halves, widened to
;; 4 x i32 lanes with i32x4.extend_low_i16x8_u), then a scalar tail.

(func $f16_to_f32_bits (param $h i32) (result i32)
  (local $em i32)
  (local.set $em (i32.and (local.get $h) (i32.const 0x7fff)))
  (i32.or
    (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16))
    (select
      (i32.reinterpret_f32 (f32.mul (f32.convert_i32_u (local.get $em)) (f32.const 0x1p-24)))
      (i32.add
        (i32.add (i32.shl (local.get $em) (i32.const 13)) (i32.const 0x38000000))
        (select (i32.const 0x38000000) (i32.const 0) (i32.ge_u (local.get $em) (i32.const 0x7c00))))
      (i32.lt_u (local.get $em) (i32.const 0x0400)))))

(func $f16x4_to_f32x4 (param $h v128) (result v128)
  (local $em v128)
  (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
  (v128.or
    (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
    (v128.bitselect
      (f32x4.mul (f32x4.convert_i32x4_u (local.get $em)) (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
      (i32x4.add
        (i32x4.add (i32x4.shl (local.get $em) (i32.const 13))
                   (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
        (v128.and (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00))
                  (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000)))
      (i32x4.lt_u (local.get $em) (v128.const i32x4 0x0400 0x0400 0x0400 0x0400)))))

(func $f16_to_f32 (param $src i32) (param $dst i32) (param $n i32)
  (local $i i32)
  (block $vdone
    (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (v128.store
        (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (call $f16x4_to_f32x4
          (i32x4.extend_low_i16x8_u
            (v128.load64_zero (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $v)))
  (block $done
    (loop $s
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store
        (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (call $f16_to_f32_bits
          (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $s))))

(func $bf16_to_f32 (param $src i32) (param $dst i32) (param $n i32)
  (local $i i32)
  (block $vdone
    (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (v128.store
        (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (i32x4.shl
          (i32x4.extend_low_i16x8_u
            (v128.load64_zero (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
          (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $v)))
  (block $done
    (loop $s
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store
        (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (i32.shl
          (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))
          (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $s))))
