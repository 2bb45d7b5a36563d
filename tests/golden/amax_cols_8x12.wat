(module
(memory (export "memory") 1)
(func $reduce0
  (local $i0 i32)
  (local $r0 i32)
  (local $vacc0 v128)
  (local $vacc1 v128)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $vacc0 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $vacc1 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $r0 (i32.const 0))
    (loop $L1
      (local.set $vacc0 (f32x4.max (local.get $vacc0) (v128.load offset=16 align=4 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $r0) (i32.const 48))))))
      (local.set $vacc1 (f32x4.max (local.get $vacc1) (v128.load offset=64 align=4 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $r0) (i32.const 48))))))
      (br_if $L1 (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 2))) (i32.const 8))))
    (v128.store offset=400 align=4 (i32.shl (local.get $i0) (i32.const 2)) (f32x4.max (local.get $vacc0) (local.get $vacc1)))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 4))) (i32.const 12)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $reduce0)))
