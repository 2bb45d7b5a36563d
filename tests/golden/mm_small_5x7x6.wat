(module
(memory (export "memory") 1)
;; library: f32_gemm.wat
(func $gemm0
  (local $b i32)
  (call $f32_gemm (i32.const 16) (i32.const 160) (i32.const 336) (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 7) (i32.const 6) (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0)))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $gemm0)))
