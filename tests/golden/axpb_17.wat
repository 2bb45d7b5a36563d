(module
(memory (export "memory") 1)
(func $pointwise0
  (local $i0 i32)
  (local.set $i0 (i32.const 0))
  (loop $L1
    (v128.store offset=96 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.mul (v128.load offset=16 align=4 (i32.shl (local.get $i0) (i32.const 2))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
    (br_if $L1 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 4))) (i32.const 16))))
  (local.set $i0 (i32.const 16))
  (loop $L2
    (f32.store offset=96 (i32.shl (local.get $i0) (i32.const 2)) (f32.add (f32.mul (f32.load offset=16 (i32.shl (local.get $i0) (i32.const 2))) (f32.const 2)) (f32.const 1)))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 17)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pointwise0)))
