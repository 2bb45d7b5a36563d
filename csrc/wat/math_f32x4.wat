;; HEADER-PLACEHOLDER

  (func $f32x4_exp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $r2 v128) (local $p v128)
    (local $ni v128) (local $n1 v128) (local $s v128)
    ;; clamp (NaN propagates through f32x4.min/max)
    (local.set $x
      (f32x4.min
        (f32x4.max (local.get $x) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0))
        (v128.const f32x4 89.0 89.0 89.0 89.0)))
    ;; n = round(x / ln2)
    (local.set $n
      (f32x4.nearest
        (f32x4.mul (local.get $x)
          (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    ;; r = x - n*C1 - n*C2   (C1 = 0x3f318000 has 9 significant bits: n*C1 and x - n*C1 are exact)
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $n)
            (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    ;; p = 1 + (r + r^2 * Q(r))
    (local.set $r2 (f32x4.mul (local.get $r) (local.get $r)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.16666521 0.16666521 0.16666521 0.16666521)
        (f32x4.mul (local.get $r)
          (f32x4.add
            (v128.const f32x4 0.04166839 0.04166839 0.04166839 0.04166839)
            (f32x4.mul (local.get $r)
              (f32x4.add
                (v128.const f32x4 0.008368717 0.008368717 0.008368717 0.008368717)
                (f32x4.mul (local.get $r)
                  (v128.const f32x4 0.0013814599 0.0013814599 0.0013814599 0.0013814599))))))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.49999994 0.49999994 0.49999994 0.49999994)
        (f32x4.mul (local.get $r) (local.get $p))))
    ;; 1 + r + r^2*Q with the rounding error of 1 + r recovered (Fast2Sum, |r| < 1)
    (local.set $s (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)))
    (local.set $p
      (f32x4.add (local.get $s)
        (f32x4.add
          (f32x4.sub (local.get $r)
            (f32x4.sub (local.get $s) (v128.const f32x4 1.0 1.0 1.0 1.0)))
          (f32x4.mul (local.get $r2) (local.get $p)))))
    ;; scale by 2^n = 2^n1 * 2^(n-n1), n1 = n >> 1; both factors are normal floats
    (local.set $ni (i32x4.trunc_sat_f32x4_s (local.get $n)))
    (local.set $n1 (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (f32x4.mul
      (f32x4.mul (local.get $p)
        (i32x4.shl
          (i32x4.add (local.get $n1) (v128.const i32x4 127 127 127 127))
          (i32.const 23)))
      (i32x4.shl
        (i32x4.add
          (i32x4.sub (local.get $ni) (local.get $n1))
          (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
  )

  (func $f32x4_log (param $x v128) (result v128)
    (local $sub v128) (local $ix v128) (local $k v128) (local $f v128)
    (local $s v128) (local $z v128) (local $R v128) (local $hfsq v128) (local $res v128)
    ;; subnormal inputs: scale by 2^23 and subtract 23 from the exponent
    (local.set $sub
      (f32x4.lt (local.get $x)
        (v128.const f32x4 1.17549435e-38 1.17549435e-38 1.17549435e-38 1.17549435e-38)))
    (local.set $ix
      (v128.bitselect
        (f32x4.mul (local.get $x)
          (v128.const f32x4 8388608.0 8388608.0 8388608.0 8388608.0))
        (local.get $x)
        (local.get $sub)))
    ;; x = 2^k * m, m in [sqrt(1/2), sqrt(2))
    (local.set $ix
      (i32x4.add (local.get $ix) (v128.const i32x4 0x004afb0d 0x004afb0d 0x004afb0d 0x004afb0d)))
    (local.set $k
      (f32x4.convert_i32x4_s
        (i32x4.sub
          (i32x4.sub
            (i32x4.shr_s (local.get $ix) (i32.const 23))
            (v128.const i32x4 127 127 127 127))
          (v128.and (local.get $sub) (v128.const i32x4 23 23 23 23)))))
    (local.set $f
      (f32x4.sub
        (i32x4.add
          (v128.and (local.get $ix) (v128.const i32x4 0x007fffff 0x007fffff 0x007fffff 0x007fffff))
          (v128.const i32x4 0x3f3504f3 0x3f3504f3 0x3f3504f3 0x3f3504f3))
        (v128.const f32x4 1.0 1.0 1.0 1.0)))
    ;; log(1+f) = f - hfsq + s*(hfsq + R(s^2)),  s = f/(2+f)
    (local.set $s
      (f32x4.div (local.get $f)
        (f32x4.add (local.get $f) (v128.const f32x4 2.0 2.0 2.0 2.0))))
    (local.set $z (f32x4.mul (local.get $s) (local.get $s)))
    (local.set $R
      (f32x4.mul (local.get $z)
        (f32x4.add
          (v128.const f32x4 0.66666776 0.66666776 0.66666776 0.66666776)
          (f32x4.mul (local.get $z)
            (f32x4.add
              (v128.const f32x4 0.39977536 0.39977536 0.39977536 0.39977536)
              (f32x4.mul (local.get $z)
                (v128.const f32x4 0.29871863 0.29871863 0.29871863 0.29871863)))))))
    (local.set $hfsq
      (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5)
        (f32x4.mul (local.get $f) (local.get $f))))
    ;; res = k*LN2_HI - ((hfsq - (s*(hfsq+R) + k*LN2_LO)) - f)
    ;; LN2_HI = 0x3f317200 (15 significant bits: k*LN2_HI exact for |k| <= 256)
    (local.set $res
      (f32x4.sub
        (f32x4.mul (local.get $k)
          (v128.const f32x4 0.693145751953125 0.693145751953125 0.693145751953125 0.693145751953125))
        (f32x4.sub
          (f32x4.sub
            (local.get $hfsq)
            (f32x4.add
              (f32x4.mul (local.get $s) (f32x4.add (local.get $hfsq) (local.get $R)))
              (f32x4.mul (local.get $k)
                (v128.const f32x4 1.42860677e-6 1.42860677e-6 1.42860677e-6 1.42860677e-6))))
          (local.get $f))))
    ;; +inf and NaN pass through
    (local.set $res
      (v128.bitselect (local.get $x) (local.get $res)
        (v128.or
          (f32x4.ne (local.get $x) (local.get $x))
          (f32x4.eq (local.get $x) (v128.const f32x4 inf inf inf inf)))))
    ;; log(+-0) = -inf
    (local.set $res
      (v128.bitselect (v128.const f32x4 -inf -inf -inf -inf) (local.get $res)
        (f32x4.eq (local.get $x) (v128.const f32x4 0.0 0.0 0.0 0.0))))
    ;; log(x < 0) = NaN
    (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get $res)
      (f32x4.lt (local.get $x) (v128.const f32x4 0.0 0.0 0.0 0.0)))
  )

  (func $f32x4_tanh (param $x v128) (result v128)
    (local $ax v128) (local $z v128) (local $p v128) (local $e v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    ;; |x| < 1: tanh = ax + ax*z*P(z), z = ax^2
    (local.set $z (f32x4.mul (local.get $ax) (local.get $ax)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.13332345 0.13332345 0.13332345 0.13332345)
        (f32x4.mul (local.get $z)
          (f32x4.add
            (v128.const f32x4 -0.053879768 -0.053879768 -0.053879768 -0.053879768)
            (f32x4.mul (local.get $z)
              (f32x4.add
                (v128.const f32x4 0.021486549 0.021486549 0.021486549 0.021486549)
                (f32x4.mul (local.get $z)
                  (f32x4.add
                    (v128.const f32x4 -0.007945929 -0.007945929 -0.007945929 -0.007945929)
                    (f32x4.mul (local.get $z)
                      (f32x4.add
                        (v128.const f32x4 0.0023012226 0.0023012226 0.0023012226 0.0023012226)
                        (f32x4.mul (local.get $z)
                          (v128.const f32x4 -3.5840794e-04 -3.5840794e-04 -3.5840794e-04 -3.5840794e-04))))))))))))
    (local.set $p
      (f32x4.add (v128.const f32x4 -0.33333296 -0.33333296 -0.33333296 -0.33333296)
        (f32x4.mul (local.get $z) (local.get $p))))
    (local.set $p
      (f32x4.add (local.get $ax)
        (f32x4.mul (local.get $ax) (f32x4.mul (local.get $z) (local.get $p)))))
    ;; |x| >= 1: tanh = 1 - 2/(exp(2|x|) + 1), |x| clamped to 10 (tanh(10) rounds to 1)
    (local.set $e
      (call $f32x4_exp
        (f32x4.add
          (local.tee $e (f32x4.min (local.get $ax) (v128.const f32x4 10.0 10.0 10.0 10.0)))
          (local.get $e))))
    (local.set $e
      (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
        (f32x4.div (v128.const f32x4 2.0 2.0 2.0 2.0)
          (f32x4.add (local.get $e) (v128.const f32x4 1.0 1.0 1.0 1.0)))))
    ;; select and restore the sign
    (v128.or
      (v128.bitselect (local.get $p) (local.get $e)
        (f32x4.lt (local.get $ax) (v128.const f32x4 1.0 1.0 1.0 1.0)))
      (v128.and (local.get $x)
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
  )

  (func $f32x4_erf (param $x v128) (result v128)
    (local $ax v128) (local $z v128) (local $p v128) (local $t v128) (local $u v128) (local $q v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    ;; |x| < 0.9375: erf = ax + ax * P(ax^2)   (P(z) ~ erf(x)/x - 1)
    (local.set $z (f32x4.mul (local.get $ax) (local.get $ax)))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.12837917 0.12837917 0.12837917 0.12837917)
        (f32x4.mul (local.get $z)
          (f32x4.add
            (v128.const f32x4 -0.37612632 -0.37612632 -0.37612632 -0.37612632)
            (f32x4.mul (local.get $z)
              (f32x4.add
                (v128.const f32x4 0.112836786 0.112836786 0.112836786 0.112836786)
                (f32x4.mul (local.get $z)
                  (f32x4.add
                    (v128.const f32x4 -0.026858494 -0.026858494 -0.026858494 -0.026858494)
                    (f32x4.mul (local.get $z)
                      (f32x4.add
                        (v128.const f32x4 0.005198823 0.005198823 0.005198823 0.005198823)
                        (f32x4.mul (local.get $z)
                          (f32x4.add
                            (v128.const f32x4 -8.1180007e-04 -8.1180007e-04 -8.1180007e-04 -8.1180007e-04)
                            (f32x4.mul (local.get $z)
                              (v128.const f32x4 8.267154e-05 8.267154e-05 8.267154e-05 8.267154e-05))))))))))))))
    (local.set $p
      (f32x4.add (local.get $ax) (f32x4.mul (local.get $ax) (local.get $p))))
    ;; |x| >= 0.9375: erf = 1 - exp(-a^2) * t * Q(t - 0.6875), t = 1/a, a = min(|x|, 4)
    (local.set $z (f32x4.min (local.get $ax) (v128.const f32x4 4.0 4.0 4.0 4.0)))
    (local.set $t (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $z)))
    (local.set $u (f32x4.sub (local.get $t) (v128.const f32x4 0.6875 0.6875 0.6875 0.6875)))
    (local.set $q
      (f32x4.add
        (v128.const f32x4 0.4788121 0.4788121 0.4788121 0.4788121)
        (f32x4.mul (local.get $u)
          (f32x4.add
            (v128.const f32x4 -0.17097527 -0.17097527 -0.17097527 -0.17097527)
            (f32x4.mul (local.get $u)
              (f32x4.add
                (v128.const f32x4 0.010512159 0.010512159 0.010512159 0.010512159)
                (f32x4.mul (local.get $u)
                  (f32x4.add
                    (v128.const f32x4 0.05450677 0.05450677 0.05450677 0.05450677)
                    (f32x4.mul (local.get $u)
                      (f32x4.add
                        (v128.const f32x4 -0.06330203 -0.06330203 -0.06330203 -0.06330203)
                        (f32x4.mul (local.get $u)
                          (f32x4.add
                            (v128.const f32x4 0.043277506 0.043277506 0.043277506 0.043277506)
                            (f32x4.mul (local.get $u)
                              (f32x4.add
                                (v128.const f32x4 -0.0143689895 -0.0143689895 -0.0143689895 -0.0143689895)
                                (f32x4.mul (local.get $u)
                                  (v128.const f32x4 -0.0022082326 -0.0022082326 -0.0022082326 -0.0022082326))))))))))))))))
    (local.set $q
      (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
        (f32x4.mul
          (call $f32x4_exp
            (f32x4.neg (f32x4.mul (local.get $z) (local.get $z))))
          (f32x4.mul (local.get $t) (local.get $q)))))
    (v128.or
      (v128.bitselect (local.get $p) (local.get $q)
        (f32x4.lt (local.get $ax) (v128.const f32x4 0.9375 0.9375 0.9375 0.9375)))
      (v128.and (local.get $x)
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
  )

  (func $f32x4_sigmoid (param $x v128) (result v128)
    (local $tail v128) (local $a v128) (local $n v128) (local $r v128) (local $p v128)
    (local $s v128) (local $t v128) (local $ni v128) (local $n1 v128)
    (local $sc1 v128) (local $sc2 v128) (local $hi v128) (local $lo v128)
    (local $d v128) (local $c v128) (local $q v128)
    ;; x >= -20: sigmoid = 1/(1 + E), E = exp(-x) = hi + lo (about 32 bits)
    ;; x <  -20: sigmoid = exp(x)      (1 + exp(x) rounds to 1)
    ;; The exp evaluation is the one of $f32x4_exp, inlined so that the
    ;; rounding of 1 + y is kept as a separate low part.
    (local.set $tail
      (f32x4.lt (local.get $x) (v128.const f32x4 -20.0 -20.0 -20.0 -20.0)))
    (local.set $a
      (f32x4.min
        (f32x4.max
          (v128.bitselect (local.get $x) (f32x4.neg (local.get $x)) (local.get $tail))
          (v128.const f32x4 -104.0 -104.0 -104.0 -104.0))
        (v128.const f32x4 20.0 20.0 20.0 20.0)))
    (local.set $n
      (f32x4.nearest
        (f32x4.mul (local.get $a)
          (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $a)
          (f32x4.mul (local.get $n)
            (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.16666521 0.16666521 0.16666521 0.16666521)
        (f32x4.mul (local.get $r)
          (f32x4.add
            (v128.const f32x4 0.04166839 0.04166839 0.04166839 0.04166839)
            (f32x4.mul (local.get $r)
              (f32x4.add
                (v128.const f32x4 0.008368717 0.008368717 0.008368717 0.008368717)
                (f32x4.mul (local.get $r)
                  (v128.const f32x4 0.0013814599 0.0013814599 0.0013814599 0.0013814599))))))))
    (local.set $p
      (f32x4.add
        (v128.const f32x4 0.49999994 0.49999994 0.49999994 0.49999994)
        (f32x4.mul (local.get $r) (local.get $p))))
    ;; exp(r) = s + t, s = fl(1 + r), t = (1 + r - s) + r^2*Q(r)
    (local.set $s (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)))
    (local.set $t
      (f32x4.add
        (f32x4.sub (local.get $r)
          (f32x4.sub (local.get $s) (v128.const f32x4 1.0 1.0 1.0 1.0)))
        (f32x4.mul (f32x4.mul (local.get $r) (local.get $r)) (local.get $p))))
    (local.set $ni (i32x4.trunc_sat_f32x4_s (local.get $n)))
    (local.set $n1 (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (local.set $sc1
      (i32x4.shl
        (i32x4.add (local.get $n1) (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
    (local.set $sc2
      (i32x4.shl
        (i32x4.add
          (i32x4.sub (local.get $ni) (local.get $n1))
          (v128.const i32x4 127 127 127 127))
        (i32.const 23)))
    ;; exp(a) = 2^n * (u + (s - u) + t), u = fl(s + t) (Fast2Sum, |s| > |t|)
    (local.set $p (f32x4.add (local.get $s) (local.get $t)))
    (local.set $hi
      (f32x4.mul (f32x4.mul (local.get $p) (local.get $sc1)) (local.get $sc2)))
    (local.set $lo
      (f32x4.mul
        (f32x4.mul
          (f32x4.add (f32x4.sub (local.get $s) (local.get $p)) (local.get $t))
          (local.get $sc1))
        (local.get $sc2)))
    ;; d = fl(1 + hi), c = (1 + hi - d) + lo  (Fast2Sum on max/min)
    (local.set $d (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $hi)))
    (local.set $c
      (f32x4.add
        (f32x4.sub
          (f32x4.min (local.get $hi) (v128.const f32x4 1.0 1.0 1.0 1.0))
          (f32x4.sub (local.get $d)
            (f32x4.max (local.get $hi) (v128.const f32x4 1.0 1.0 1.0 1.0))))
        (local.get $lo)))
    ;; 1/(d + c) = q - q*c/d to first order, q = 1/d
    (local.set $q (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $d)))
    (v128.bitselect
      (local.get $hi)
      (f32x4.sub (local.get $q)
        (f32x4.div (f32x4.mul (local.get $q) (local.get $c)) (local.get $d)))
      (local.get $tail))
  )
