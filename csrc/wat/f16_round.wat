;; f16_round.wat -- float16 tensors: float32 -> float16 rounding, and scalar widening.
;;
;; A FRAGMENT of module fields: only (func ...) definitions.  The compiler includes it
;; (with f16_to_f32.wat, whose $f16_to_f32_bits it calls) in a module whose kernels load,
;; store or cast to float16.  A float16 value lives in an f32 local holding a value that
;; float16 represents exactly: loads widen (exact), stores narrow the bits (exact for such
;; a value), and a cast to float16 rounds.  Integer arithmetic only, so results are
;; bit-identical on every host; tests/unit/test_f16_wat.py checks every float16 bit
;; pattern and rounding ties against numpy's astype(float16).
;;
;;   (func $f32_to_f16_bits (param $x f32) (result i32))
;;       IEEE round-to-nearest-even, as numpy's and PyTorch's (c10::Half) conversion:
;;       |x| >= 65520 -> inf (65520 is the tie between 65504 and 2^16); NaN -> a quiet
;;       NaN with the sign kept (0x7e00 | sign); below 2^-14 -> a subnormal (or zero)
;;       rounded as |x| * 2^24 to the nearest integer, ties to even (f32.nearest; the
;;       product is exact); otherwise the exponent is re-biased and the 13 dropped
;;       mantissa bits rounded: + 0xfff + (the lowest kept bit), then >> 13 (a carry
;;       moves into the exponent, as it should).
;;   (func $f16_bits_to_f32 (param $h i32) (result f32))   exact widening
;;   (func $f16_round (param $x f32) (result f32))         x rounded to float16, as f32

(func $f32_to_f16_bits (param $x f32) (result i32)
  (local $b i32) (local $a i32) (local $sign i32)
  (local.set $b (i32.reinterpret_f32 (local.get $x)))
  (local.set $sign (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 0x8000)))
  (local.set $a (i32.and (local.get $b) (i32.const 0x7fffffff)))
  (if (i32.gt_u (local.get $a) (i32.const 0x7f800000))
    (then (return (i32.or (local.get $sign) (i32.const 0x7e00)))))
  (if (i32.ge_u (local.get $a) (i32.const 0x477ff000))
    (then (return (i32.or (local.get $sign) (i32.const 0x7c00)))))
  (if (i32.lt_u (local.get $a) (i32.const 0x38800000))
    (then (return (i32.or (local.get $sign)
      (i32.trunc_f32_u (f32.nearest (f32.mul (f32.abs (local.get $x)) (f32.const 0x1p24))))))))
  (i32.or (local.get $sign)
    (i32.shr_u
      (i32.add (i32.add (i32.sub (local.get $a) (i32.const 0x38000000)) (i32.const 0xfff))
               (i32.and (i32.shr_u (local.get $a) (i32.const 13)) (i32.const 1)))
      (i32.const 13))))

(func $f16_bits_to_f32 (param $h i32) (result f32)
  (f32.reinterpret_i32 (call $f16_to_f32_bits (local.get $h))))

(func $f16_round (param $x f32) (result f32)
  (call $f16_bits_to_f32 (call $f32_to_f16_bits (local.get $x))))
