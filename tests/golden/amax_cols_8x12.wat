(module
(memory (export "memory") 1)
(func $reduce0
  (local $i0 i32)
  (local $r0 i32)
  (local $acc f32)
  (local $vacc v128)
  (local.set $i0 (i32.const 0))
  (loop $L2
    (local.set $vacc (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $r0 (i32.const 0))
    (loop $L1
      (local.set $vacc (f32x4.max (local.get $vacc) (v128.load offset=16 align=4 (i32.add (i32.shl (local.get $i0) (i32.const 2)) (i32.mul (local.get $r0) (i32.const 48))))))
      (br_if $L1 (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 1))) (i32.const 8))))
    (v128.store offset=400 align=4 (i32.shl (local.get $i0) (i32.const 2)) (local.get $vacc))
    (br_if $L2 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 4))) (i32.const 12)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $reduce0)))
