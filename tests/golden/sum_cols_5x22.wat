(module
(memory (export "memory") 1)
(func $reduce0
  (local $i0 i32)
  (local $r0 i32)
  (local.set $i0 (i32.const 0))
  (loop $L1
    (v128.store offset=464 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load offset=16 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=104 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=192 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=280 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=368 align=4 (i32.shl (local.get $i0) (i32.const 2)))))
    (v128.store offset=480 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load offset=32 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=120 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=208 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=296 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=384 align=4 (i32.shl (local.get $i0) (i32.const 2)))))
    (v128.store offset=496 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load offset=48 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=136 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=224 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=312 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=400 align=4 (i32.shl (local.get $i0) (i32.const 2)))))
    (v128.store offset=512 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load offset=64 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=152 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=240 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=328 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=416 align=4 (i32.shl (local.get $i0) (i32.const 2)))))
    (br_if $L1 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 16))) (i32.const 16))))
  (local.set $i0 (i32.const 16))
  (loop $L2
    (v128.store offset=464 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load offset=16 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=104 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=192 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=280 align=4 (i32.shl (local.get $i0) (i32.const 2)))) (v128.load offset=368 align=4 (i32.shl (local.get $i0) (i32.const 2)))))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 4))) (i32.const 20))))
  (local.set $i0 (i32.const 20))
  (loop $L3
    (f32.store offset=464 (i32.shl (local.get $i0) (i32.const 2)) (f32.add (f32.add (f32.add (f32.add (f32.add (f32.const 0) (f32.load offset=16 (i32.shl (local.get $i0) (i32.const 2)))) (f32.load offset=104 (i32.shl (local.get $i0) (i32.const 2)))) (f32.load offset=192 (i32.shl (local.get $i0) (i32.const 2)))) (f32.load offset=280 (i32.shl (local.get $i0) (i32.const 2)))) (f32.load offset=368 (i32.shl (local.get $i0) (i32.const 2)))))
    (br_if $L3 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 22)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $reduce0)))
