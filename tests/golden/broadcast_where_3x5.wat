(module
(memory (export "memory") 1)
(func $pointwise0
  (local $i0 i32)
  (local $i1 i32)
  (local.set $i0 (i32.const 0))
  (loop $L3
    (local.set $i1 (i32.const 0))
    (loop $L1
      (v128.store offset=112 align=4 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2))) (v128.bitselect (f32x4.sub (v128.load offset=16 align=4 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2)))) (v128.load offset=80 align=4 (i32.shl (local.get $i1) (i32.const 2)))) (f32x4.mul (v128.load offset=80 align=4 (i32.shl (local.get $i1) (i32.const 2))) (v128.const f32x4 0x1p-1 0x1p-1 0x1p-1 0x1p-1)) (f32x4.gt (v128.load offset=16 align=4 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2)))) (v128.load offset=80 align=4 (i32.shl (local.get $i1) (i32.const 2))))))
      (br_if $L1 (i32.lt_u (local.tee $i1 (i32.add (local.get $i1) (i32.const 4))) (i32.const 4))))
    (local.set $i1 (i32.const 4))
    (loop $L2
      (f32.store offset=112 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2))) (select (f32.sub (f32.load offset=16 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2)))) (f32.load offset=80 (i32.shl (local.get $i1) (i32.const 2)))) (f32.mul (f32.load offset=80 (i32.shl (local.get $i1) (i32.const 2))) (f32.const 0x1p-1)) (f32.gt (f32.load offset=16 (i32.add (i32.mul (local.get $i0) (i32.const 20)) (i32.shl (local.get $i1) (i32.const 2)))) (f32.load offset=80 (i32.shl (local.get $i1) (i32.const 2))))))
      (br_if $L2 (i32.lt_u (local.tee $i1 (i32.add (local.get $i1) (i32.const 1))) (i32.const 5))))
    (br_if $L3 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 3)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $pointwise0)))
