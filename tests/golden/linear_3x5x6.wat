(module
(memory (export "memory") 1)
;; library: f32_gemm_packed.wat
(func $pack0
  (call $f32_gemm_pack_bt (i32.const 80) (i32.const 5) (i32.const 5) (i32.const 6) (i32.const 240)))
(func $gemm0
  (local $b i32)
  (call $f32_gemm_packed (i32.const 16) (i32.const 240) (i32.const 496) (i32.const 3) (i32.const 6) (i32.const 5) (i32.const 5) (i32.const 6) (i32.const 0) (i32.const 208) (i32.const 2)))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pack0)
  (call $gemm0)))
