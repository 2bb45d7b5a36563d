(module
(memory (export "memory") 1)
;; library: f32_gemm.wat
(func $pointwise0
  (local $i0 i32)
  (local $i1 i32)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $i1 (i32.const 0))
    (loop $L1
      (f32.store offset=240 (i32.add (i32.mul (local.get $i0) (i32.const 24)) (i32.shl (local.get $i1) (i32.const 2))) (f32.load offset=80 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $i1) (i32.const 20)))))
      (br_if $L1 (i32.lt_u (local.tee $i1 (i32.add (local.get $i1) (i32.const 1))) (i32.const 6))))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 5)))))
(func $gemm0
  (local $b i32)
  (call $f32_gemm (i32.const 16) (i32.const 240) (i32.const 368) (i32.const 3) (i32.const 6) (i32.const 5) (i32.const 5) (i32.const 6) (i32.const 6) (i32.const 0) (i32.const 208) (i32.const 2)))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pointwise0)
  (call $gemm0)))
