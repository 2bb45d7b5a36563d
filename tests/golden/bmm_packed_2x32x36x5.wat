(module
(memory (export "memory") 1)
;; library: f32_gemm_packed.wat
(func $pack0
  (local $b i32)
  (local.set $b (i32.const 0))
  (loop $L1
    (call $f32_gemm_pack_b (i32.add (i32.mul (local.get $b) (i32.const 720)) (i32.const 9232)) (i32.const 5) (i32.const 36) (i32.const 5) (i32.add (i32.mul (local.get $b) (i32.const 1152)) (i32.const 10672)))
    (br_if $L1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (i32.const 2)))))
(func $gemm0
  (local $b i32)
  (local.set $b (i32.const 0))
  (loop $L1
    (call $f32_gemm_packed (i32.add (i32.mul (local.get $b) (i32.const 4608)) (i32.const 16)) (i32.add (i32.mul (local.get $b) (i32.const 1152)) (i32.const 10672)) (i32.add (i32.mul (local.get $b) (i32.const 640)) (i32.const 12976)) (i32.const 32) (i32.const 5) (i32.const 36) (i32.const 36) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 0))
    (br_if $L1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (i32.const 2)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pack0)
  (call $gemm0)))
