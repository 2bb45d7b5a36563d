(module
(memory (export "memory") 1)
(func $pointwise0
  (local $i0 i32)
  (local $i1 i32)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $i1 (i32.const 0))
    (loop $L1
      (f32.store offset=112 (i32.add (i32.shl (local.get $i0) (i32.const 4)) (i32.shl (local.get $i1) (i32.const 2))) (f32.add (f32.load offset=16 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $i1) (i32.const 24)))) (f32.const 1)))
      (br_if $L1 (i32.lt_u (local.tee $i1 (i32.add (local.get $i1) (i32.const 1))) (i32.const 4))))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 6)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pointwise0)))
