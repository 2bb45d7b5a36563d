(module
(memory (export "memory") 1)
(data (i32.const 16) "\00")
;; library: math_f32x4_f64.wat
;; library: linalg_f32.wat
(func $matrix0
  (local $b i32)
  (local.set $b (i32.const 0))
  (loop $L1
    (call $linalg_lu (i32.add (i32.const 32) (i32.mul (local.get $b) (i32.const 36))) (i32.const 3) (i32.const 1) (i32.const 3) (i32.const 3) (i32.add (i32.const 160) (i32.mul (local.get $b) (i32.const 64))) (i32.const 288))
    (br_if $L1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (i32.const 2)))))
(func $pointwise0
  (local $i0 i32)
  (local $i1 i32)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $i1 (i32.const 0))
    (loop $L1
      (f32.store offset=464 (i32.add (i32.mul (local.get $i0) (i32.const 12)) (i32.shl (local.get $i1) (i32.const 2))) (f32.convert_i32_s (i32.trunc_sat_f32_s (f32.load offset=196 (i32.add (i32.shl (local.get $i0) (i32.const 6)) (i32.shl (local.get $i1) (i32.const 2)))))))
      (br_if $L1 (i32.lt_u (local.tee $i1 (i32.add (local.get $i1) (i32.const 1))) (i32.const 3))))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 2)))))
(func $matrix1
  (local $b i32)
  (local.set $b (i32.const 0))
  (loop $L1
    (call $linalg_lu_solve (i32.add (i32.const 160) (i32.mul (local.get $b) (i32.const 64))) (i32.const 3) (i32.const 1) (i32.add (i32.const 464) (i32.mul (local.get $b) (i32.const 12))) (i32.const 0) (i32.const 1) (i32.add (i32.const 112) (i32.mul (local.get $b) (i32.const 24))) (i32.const 2) (i32.const 1) (i32.const 3) (i32.const 2) (i32.const 0) (i32.add (i32.const 368) (i32.mul (local.get $b) (i32.const 24))) (i32.const 416))
    (br_if $L1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (i32.const 2)))))
(func $pointwise1
  (local $i0 i32)
  (local $t1 i32)
  (local.set $i0 (i32.const 0))
  (loop $L1
    (i32.store8 offset=464 (local.get $i0) (block (result i32) (local.set $t1 (select (i32.const 0) (i32.const 1) (i32.eq (i32.trunc_sat_f32_s (f32.load offset=208 (i32.shl (local.get $i0) (i32.const 6)))) (i32.const 0)))) (if (i32.ge_u (local.get $t1) (i32.const 1)) (then unreachable)) (i32.load8_u offset=16 (local.get $t1))))
    (br_if $L1 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 2)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $matrix0)
  (call $pointwise0)
  (call $matrix1)
  (call $pointwise1)))
