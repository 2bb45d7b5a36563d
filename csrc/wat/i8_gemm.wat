;; ---------------------------------------------------------------------------
;; i8_gemm.wat -- int8 x int8 -> int32 GEMM with a pre-packed B operand (SIMD128)
;;
;; FRAGMENT of module fields: only (func ...) definitions, no module wrapper,
;; imports, exports or memory; it uses the memory of the module it is
;; concatenated into (index 0).  Every name starts with $i8_gemm.
;;
;; Entry point
;;   (func $i8_gemm (param $a i32) (param $bp i32) (param $c i32)
;;                  (param $m i32) (param $n i32) (param $k i32)
;;                  (param $lda i32) (param $ldc i32))
;;
;; C[i, j] = sum over p < k of A[i, p] * B[p, j], exactly, in int32 (wrapping;
;; no overflow for k < 2^17), for i < m and j < Np = round_up(n, 4): the
;; columns n <= j < Np get 0 (B's padding), so C's rows must hold Np values.
;;   A[i, p] is the int8 at a + i*lda + p.  Each row is read in groups of 16
;;   bytes up to round_up(k, 16): up to 15 bytes past the end of a row (the
;;   next row, or padding after the last one) are read and multiplied by zeros.
;;   B is packed (Kp = round_up(k, 16)): B[p, j] is the int8 at byte
;;       bp + (j / 4) * (4 * Kp) + (p / 16) * 64 + (j % 4) * 16 + (p % 16)
;;   with zeros where p >= k or j >= n (lower/quant.py writes it).
;;   C[i, j] is the int32 at c + 4 * (i * ldc + j).
;;
;; Strategy: a tile of 2 rows x 4 columns.  Per group of 16 k, each row of A is
;; two v128.load8x8_s (k 0..7, 8..15), and so is each column of B (a load that
;; sign-extends: cheaper than a v128 load and extend_low/high, whose high half
;; costs a shuffle on x86), and i32x4.dot_i16x8_s adds 8 products
;; into 4 lanes of one accumulator per (row, column): 8 accumulators.  The
;; pointers advance (loads use constant offsets), one compare per group.  At the end
;; the 4 lanes of each accumulator are summed (two shuffles and adds per 4
;; columns).  An odd last row runs the same tile with both rows equal and
;; stores one.  Integer arithmetic is exact, so the order of the sums does
;; not matter: the result equals numpy's int64 matmul wrapped to int32.
;; ---------------------------------------------------------------------------

;; [sum(x0), sum(x1), sum(x2), sum(x3)] of four i32x4
(func $i8_gemm_hsum4 (param $x0 v128) (param $x1 v128) (param $x2 v128) (param $x3 v128) (result v128)
  (local $s01 v128) (local $s23 v128)
  (local.set $s01 (i32x4.add
    (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1))
    (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1))))
  (local.set $s23 (i32x4.add
    (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3))
    (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3))))
  (i32x4.add
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s01) (local.get $s23))
    (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s01) (local.get $s23))))

(func $i8_gemm (param $a i32) (param $bp i32) (param $c i32)
               (param $m i32) (param $n i32) (param $k i32)
               (param $lda i32) (param $ldc i32)
  (local $i i32) (local $j i32) (local $panel i32) (local $two i32) (local $crow i32)
  (local $a0 i32) (local $a1 i32) (local $pa0 i32) (local $pa1 i32) (local $b i32) (local $bend i32)
  (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128) (local $lo v128) (local $hi v128)
  (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
  (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
  ;; 4 * Kp bytes per panel of 4 columns, Kp = round_up(k, 16)
  (local.set $panel (i32.shl (i32.and (i32.add (local.get $k) (i32.const 15)) (i32.const -16)) (i32.const 2)))
  (block $rows_done
    (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $two (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))
      (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $a1 (select (i32.add (local.get $a0) (local.get $lda)) (local.get $a0) (local.get $two)))
      (local.set $j (i32.const 0))
      (block $cols_done
        (loop $cols
          (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
          (local.set $b (i32.add (local.get $bp) (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $panel))))
          (local.set $bend (i32.add (local.get $b) (local.get $panel)))
          (local.set $pa0 (local.get $a0))
          (local.set $pa1 (local.get $a1))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c02 (v128.const i32x4 0 0 0 0)) (local.set $c03 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c12 (v128.const i32x4 0 0 0 0)) (local.set $c13 (v128.const i32x4 0 0 0 0))
          (if (i32.lt_u (local.get $b) (local.get $bend))
            (then
              (loop $kloop
                (local.set $x0 (v128.load8x8_s align=1 (local.get $pa0)))
                (local.set $y0 (v128.load8x8_s offset=8 align=1 (local.get $pa0)))
                (local.set $x1 (v128.load8x8_s align=1 (local.get $pa1)))
                (local.set $y1 (v128.load8x8_s offset=8 align=1 (local.get $pa1)))
                (local.set $lo (v128.load8x8_s align=1 (local.get $b)))
                (local.set $hi (v128.load8x8_s offset=8 align=1 (local.get $b)))
                (local.set $c00 (i32x4.add (local.get $c00) (i32x4.add (i32x4.dot_i16x8_s (local.get $x0) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y0) (local.get $hi)))))
                (local.set $c10 (i32x4.add (local.get $c10) (i32x4.add (i32x4.dot_i16x8_s (local.get $x1) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y1) (local.get $hi)))))
                (local.set $lo (v128.load8x8_s offset=16 align=1 (local.get $b)))
                (local.set $hi (v128.load8x8_s offset=24 align=1 (local.get $b)))
                (local.set $c01 (i32x4.add (local.get $c01) (i32x4.add (i32x4.dot_i16x8_s (local.get $x0) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y0) (local.get $hi)))))
                (local.set $c11 (i32x4.add (local.get $c11) (i32x4.add (i32x4.dot_i16x8_s (local.get $x1) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y1) (local.get $hi)))))
                (local.set $lo (v128.load8x8_s offset=32 align=1 (local.get $b)))
                (local.set $hi (v128.load8x8_s offset=40 align=1 (local.get $b)))
                (local.set $c02 (i32x4.add (local.get $c02) (i32x4.add (i32x4.dot_i16x8_s (local.get $x0) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y0) (local.get $hi)))))
                (local.set $c12 (i32x4.add (local.get $c12) (i32x4.add (i32x4.dot_i16x8_s (local.get $x1) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y1) (local.get $hi)))))
                (local.set $lo (v128.load8x8_s offset=48 align=1 (local.get $b)))
                (local.set $hi (v128.load8x8_s offset=56 align=1 (local.get $b)))
                (local.set $c03 (i32x4.add (local.get $c03) (i32x4.add (i32x4.dot_i16x8_s (local.get $x0) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y0) (local.get $hi)))))
                (local.set $c13 (i32x4.add (local.get $c13) (i32x4.add (i32x4.dot_i16x8_s (local.get $x1) (local.get $lo))
                                                                    (i32x4.dot_i16x8_s (local.get $y1) (local.get $hi)))))
                (local.set $pa0 (i32.add (local.get $pa0) (i32.const 16)))
                (local.set $pa1 (i32.add (local.get $pa1) (i32.const 16)))
                (local.set $b (i32.add (local.get $b) (i32.const 64)))
                (br_if $kloop (i32.lt_u (local.get $b) (local.get $bend))))))
          (local.set $crow (i32.add (local.get $c)
            (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))
          (v128.store align=4 (local.get $crow)
            (call $i8_gemm_hsum4 (local.get $c00) (local.get $c01) (local.get $c02) (local.get $c03)))
          (if (local.get $two)
            (then
              (v128.store align=4 (i32.add (local.get $crow) (i32.shl (local.get $ldc) (i32.const 2)))
                (call $i8_gemm_hsum4 (local.get $c10) (local.get $c11) (local.get $c12) (local.get $c13)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))
