(module
(memory (export "memory") 1)
(func $reduce0
  (local $i0 i32)
  (local $r0 i32)
  (local $vacc0 v128)
  (local $vacc1 v128)
  (local $t1 v128)
  (local $t2 v128)
  (local $t3 v128)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $vacc0 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $vacc1 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $r0 (i32.const 0))
    (loop $L1
      (local.set $vacc0 (v128.or (f32x4.pmax (local.get $vacc0) (local.tee $t1 (v128.load offset=16 align=4 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $r0) (i32.const 48)))))) (f32x4.ne (local.get $t1) (local.get $t1))))
      (local.set $vacc1 (v128.or (f32x4.pmax (local.get $vacc1) (local.tee $t2 (v128.load offset=64 align=4 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $r0) (i32.const 48)))))) (f32x4.ne (local.get $t2) (local.get $t2))))
      (br_if $L1 (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 2))) (i32.const 8))))
    (v128.store offset=400 align=4 (i32.shl (local.get $i0) (i32.const 2)) (v128.or (f32x4.pmax (local.get $vacc0) (local.tee $t3 (local.get $vacc1))) (f32x4.ne (local.get $t3) (local.get $t3))))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 4))) (i32.const 12)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $reduce0)))
