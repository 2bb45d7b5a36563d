(module
(memory (export "memory") 1)
(func $reduce0
  (local $i0 i32)
  (local $r0 i32)
  (local $vacc0 v128)
  (local $acc f32)
  (local.set $i0 (i32.const 0))
  (loop $L3
    (local.set $vacc0 (v128.const f32x4 0 0 0 0))
    (local.set $acc (f32.const 0))
    (local.set $r0 (i32.const 0))
    (loop $L1
      (local.set $vacc0 (f32x4.add (local.get $vacc0) (v128.load offset=16 align=4 (i32.add (i32.mul (local.get $i0) (i32.const 36)) (i32.shl (local.get $r0) (i32.const 2))))))
      (br_if $L1 (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 4))) (i32.const 8))))
    (local.set $r0 (i32.const 8))
    (loop $L2
      (local.set $acc (f32.add (local.get $acc) (f32.load offset=16 (i32.add (i32.mul (local.get $i0) (i32.const 36)) (i32.shl (local.get $r0) (i32.const 2))))))
      (br_if $L2 (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 1))) (i32.const 9))))
    (f32.store offset=240 (i32.shl (local.get $i0) (i32.const 2)) (f32.add (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vacc0)) (f32x4.extract_lane 1 (local.get $vacc0))) (f32.add (f32x4.extract_lane 2 (local.get $vacc0)) (f32x4.extract_lane 3 (local.get $vacc0)))) (local.get $acc)))
    (br_if $L3 (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 1))) (i32.const 6)))))
(func $prepare (export "prepare"))
(func $forward (export "forward")
  (call $reduce0)))
