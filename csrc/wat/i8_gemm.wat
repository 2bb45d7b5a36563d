;; ---------------------------------------------------------------------------
;; i8_gemm.wat -- int8 x int8 -> int32 GEMM with a pre-packed B operand (SIMD128)
;;
;; FRAGMENT of module fields: only (func ...) definitions, no module wrapper,
;; imports, exports or memory; it uses the memory of the module it is
;; concatenated into (index 0).  Every name starts with $i8_gemm.
;;
;; Entry points
;;   (func $i8_gemm (param $a i32) (param $bp i32) (param $c i32)
;;                  (param $m i32) (param $n i32) (param $k i32)
;;                  (param $lda i32) (param $ldc i32) (param $work i32))
;;   (func $i8_gemm_q (param $a i32) (param $bp i32) (param $c i32)
;;                    (param $m i32) (param $n i32) (param $k i32)
;;                    (param $lda i32) (param $ldc i32) (param $work i32)
;;                    (param $rq i32) (param $corr i32) (param $scale i32) (param $bias i32)
;;                    (param $zw i32) (param $xsum i32))
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
;;   Workspace: the 72 * Kp bytes at work (16-byte aligned is best) are overwritten,
;;   for m >= 4; they must not overlap A, B or C.  The compiler puts one per thread
;;   after C's rows (ir.QGemm, lower/quant_gemm.py); a thread computing a range of
;;   column panels calls with bp, c and n of its panels and its own workspace
;;   (emit/threads.py).
;; $i8_gemm_q with rq = 0 is $i8_gemm.  Otherwise it requantises each sum to int8
;;   in the store, for j < n only (C[i, j] is then the int8 at c + i * ldc + j):
;;     v = C[i, j] - corr[j]  (- zw[j] * xsum[i] when zw is not 0)
;;     y = max(f32(v) * scale[j] + bias[j], floor)
;;     C[i, j] = int8(clamp(nearest(y * inv) + zp, qmin, qmax))
;;   in float32, in this order, with f32x4.pmax/pmin (as the compiler's pointwise
;;   relu and clamp: the same bits as the unfused kernels); corr, zw (i32), scale
;;   and bias (f32) hold Np values (the padding's results are never stored), xsum
;;   (i32) m; rq holds 20 f32: inv, zp, qmin, qmax, floor (-inf, or 0 for a relu),
;;   each 4 times (loaded where used: loop-invariant splats would take registers).
;;
;; Strategy.  Integer arithmetic is exact, so the order of the sums does not
;; matter: every path gives numpy's int64 matmul wrapped to int32.
;;   m >= 4 ($i8_gemm_panels): per block of 32 rows, widen the block's A to
;;     int16 once (Kp * 64 bytes after the panel's in the workspace), row pairs
;;     interleaved per 8 k (pair r, group g, row h at ((r*Kp/8 + g)*2 + h)*16;
;;     an odd last row fills both halves); then for each panel of 4 columns,
;;     widen its int8 values to int16 in the workspace (Kp * 8 bytes,
;;     L1-resident), in the order the inner loop reads: 8-k group g, column c at
;;     g*64 + c*16; then for each pair of rows of the block (an odd last row runs
;;     the pair with both rows equal and stores one) a 2 x 4 tile: per 8 k, two
;;     v128.load of A from one pointer, four v128.load of B and 8
;;     i32x4.dot_i16x8_s + i32x4.add into 8 accumulators, whose 4 lanes are
;;     summed at the end (shuffles and adds, inline).  The k loop then has no
;;     extend at all: 16 vector operations and 6 plain loads per 64 products
;;     (the earlier kernel: 2 load8x8_s of A in the loop, each a load and a
;;     shuffle-port extend; before it, B extended in the loop too).  A panel is
;;     widened once per block (ceil(m/32) times per call).
;;   m < 4 ($i8_gemm_direct): the panel's widening would cost as much as the
;;     products, so rows run against every panel directly: per 16 k, two
;;     load8x8_s per row of A and per column of B, 2 x 4 tile, B extended in
;;     the loop.
;; Shapes that mattered (wasmtime 50 / Cranelift and Node 20 / V8, checked in
;;   the disassembly of Module.serialize()): 8 accumulators + 2 A + 4 B = 14
;;   of 16 xmm.  Cranelift issues every load of a loop body before its
;;   arithmetic, so a 16-k body (8 B vectors + 4 A) or a 1 x 8 tile (16 B
;;   vectors) spilled accumulators in every iteration; a call in the epilogue
;;   (the lane sums as a function) made it spill the accumulators that live
;;   across it inside the k loop as well.  `python benchmarks/i8_gemm_probe.py
;;   --before 9ff6d4e --node` (same run, medians, load 5.5 on 2 cores; the packed
;;   float32 GEMM = 1) on the MLP's and convolutions' shapes 64x784x512 ..
;;   4096x144x32: this kernel 1.9-2.2x in wasmtime and 1.9-2.5x in Node, the
;;   earlier one (B extended in the loop, lane sums in a call) 1.6-1.9x and
;;   1.5-1.9x.  m = 1 is bound by streaming B (0.98x both ways); for m = 4 .. 8
;;   the two paths are within noise of each other (threshold 4 or 8: +-5%), and
;;   for m = 1, 2 the widening would cost 0.5-0.8x, hence the direct path.
;;   Widening A per block (`i8_gemm_probe.py --before <the commit before> --node`,
;;   load 2): 64x784x512 .. 128x1024x256 +4-10% in Node, +4-10% in wasmtime
;;   (1024x576x64 -7% .. +3%, noise); blocks of 16 rows were 2-4% slower than 32,
;;   64 within noise of 32 with twice the workspace.  Unrolling the k loop to 16 k
;;   made V8 issue the loads first and spill (Node 0.8x).
;; No relaxed-SIMD twin: i32x4.relaxed_dot_i8x16_i7x16_add_s is exact on every
;;   engine only with its second operand in [0, 127], so an int8 x int8 product
;;   costs two of them (B = (B & 127) - 128 * (B < 0)), and at that rate it is
;;   slower than dot_i16x8_s everywhere measured (benchmarks/int8_dot_peak.py:
;;   exact int8 GOP/s 73 vs 144 in wasmtime's deterministic mode, 42 vs 149 in
;;   Node 20, 69 vs 142 in Chromium 156).
;; ---------------------------------------------------------------------------

(func $i8_gemm (param $a i32) (param $bp i32) (param $c i32)
               (param $m i32) (param $n i32) (param $k i32)
               (param $lda i32) (param $ldc i32) (param $work i32)
  (call $i8_gemm_q (local.get $a) (local.get $bp) (local.get $c) (local.get $m) (local.get $n) (local.get $k)
                   (local.get $lda) (local.get $ldc) (local.get $work)
                   (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))

(func $i8_gemm_q (param $a i32) (param $bp i32) (param $c i32)
                 (param $m i32) (param $n i32) (param $k i32)
                 (param $lda i32) (param $ldc i32) (param $work i32)
                 (param $rq i32) (param $corr i32) (param $scale i32) (param $bias i32)
                 (param $zw i32) (param $xsum i32)
  (if (i32.lt_u (local.get $m) (i32.const 4))
    (then (call $i8_gemm_direct (local.get $a) (local.get $bp) (local.get $c) (local.get $m) (local.get $n)
                                (local.get $k) (local.get $lda) (local.get $ldc)
                                (local.get $rq) (local.get $corr) (local.get $scale) (local.get $bias)
                                (local.get $zw) (local.get $xsum)))
    (else (call $i8_gemm_panels (local.get $a) (local.get $bp) (local.get $c) (local.get $m) (local.get $n)
                                (local.get $k) (local.get $lda) (local.get $ldc) (local.get $work)
                                (local.get $rq) (local.get $corr) (local.get $scale) (local.get $bias)
                                (local.get $zw) (local.get $xsum)))))

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

(func $i8_gemm_direct (param $a i32) (param $bp i32) (param $c i32)
               (param $m i32) (param $n i32) (param $k i32)
               (param $lda i32) (param $ldc i32)
               (param $rq i32) (param $corr i32) (param $scale i32) (param $bias i32)
                 (param $zw i32) (param $xsum i32)
  (local $o i32) (local $left i32) (local $q v128)
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
          (local.set $x0 (call $i8_gemm_hsum4 (local.get $c00) (local.get $c01) (local.get $c02) (local.get $c03)))
          (local.set $x1 (call $i8_gemm_hsum4 (local.get $c10) (local.get $c11) (local.get $c12) (local.get $c13)))
          (if (local.get $rq)  ;; requantised to int8 (i8_gemm_q), or the int32 sums
            (then
              (local.set $left (i32.sub (local.get $n) (local.get $j)))
              (local.set $o (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j))))
              (local.set $q (i32x4.sub (local.get $x0) (v128.load align=4 (i32.add (local.get $corr) (i32.shl (local.get $j) (i32.const 2))))))
              (if (local.get $zw)  ;; asymmetric weights: - zw[j] * xsum[i]
                (then (local.set $q (i32x4.sub (local.get $q) (i32x4.mul
                  (v128.load align=4 (i32.add (local.get $zw) (i32.shl (local.get $j) (i32.const 2))))
                  (v128.load32_splat (i32.add (local.get $xsum) (i32.shl (local.get $i) (i32.const 2)))))))))
              (local.set $q (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $q))
                                                 (v128.load align=4 (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 2)))))
                                     (v128.load align=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
              (local.set $q (f32x4.add (f32x4.nearest (f32x4.mul (f32x4.pmax (local.get $q) (v128.load offset=64 align=4 (local.get $rq)))
                                                                 (v128.load align=4 (local.get $rq))))
                                       (v128.load offset=16 align=4 (local.get $rq))))
              (local.set $q (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (local.get $q) (v128.load offset=32 align=4 (local.get $rq)))
                                                                 (v128.load offset=48 align=4 (local.get $rq)))))
              (local.set $q (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $q) (local.get $q)) (local.get $q)))
              (if (i32.ge_u (local.get $left) (i32.const 4))
                (then (v128.store32_lane align=1 0 (local.get $o) (local.get $q)))
                (else (v128.store8_lane 0 (local.get $o) (local.get $q))
                      (if (i32.gt_u (local.get $left) (i32.const 1)) (then (v128.store8_lane offset=1 1 (local.get $o) (local.get $q))))
                      (if (i32.gt_u (local.get $left) (i32.const 2)) (then (v128.store8_lane offset=2 2 (local.get $o) (local.get $q))))))
              (if (local.get $two)
                (then
                  (local.set $o (i32.add (local.get $c) (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldc)) (local.get $j))))
                  (local.set $q (i32x4.sub (local.get $x1) (v128.load align=4 (i32.add (local.get $corr) (i32.shl (local.get $j) (i32.const 2))))))
                  (if (local.get $zw)  ;; asymmetric weights: - zw[j] * xsum[i]
                    (then (local.set $q (i32x4.sub (local.get $q) (i32x4.mul
                      (v128.load align=4 (i32.add (local.get $zw) (i32.shl (local.get $j) (i32.const 2))))
                      (v128.load32_splat (i32.add (local.get $xsum) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 2)))))))))
                  (local.set $q (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $q))
                                                     (v128.load align=4 (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 2)))))
                                         (v128.load align=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                  (local.set $q (f32x4.add (f32x4.nearest (f32x4.mul (f32x4.pmax (local.get $q) (v128.load offset=64 align=4 (local.get $rq)))
                                                                     (v128.load align=4 (local.get $rq))))
                                           (v128.load offset=16 align=4 (local.get $rq))))
                  (local.set $q (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (local.get $q) (v128.load offset=32 align=4 (local.get $rq)))
                                                                     (v128.load offset=48 align=4 (local.get $rq)))))
                  (local.set $q (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $q) (local.get $q)) (local.get $q)))
                  (if (i32.ge_u (local.get $left) (i32.const 4))
                    (then (v128.store32_lane align=1 0 (local.get $o) (local.get $q)))
                    (else (v128.store8_lane 0 (local.get $o) (local.get $q))
                          (if (i32.gt_u (local.get $left) (i32.const 1)) (then (v128.store8_lane offset=1 1 (local.get $o) (local.get $q))))
                          (if (i32.gt_u (local.get $left) (i32.const 2)) (then (v128.store8_lane offset=2 2 (local.get $o) (local.get $q)))))))))
            (else
              (local.set $crow (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))
              (v128.store align=4 (local.get $crow) (local.get $x0))
              (if (local.get $two)
                (then (v128.store align=4 (i32.add (local.get $crow) (i32.shl (local.get $ldc) (i32.const 2)))
                                  (local.get $x1))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

(func $i8_gemm_panels (param $a i32) (param $bp i32) (param $c i32)
               (param $m i32) (param $n i32) (param $k i32)
               (param $lda i32) (param $ldc i32) (param $work i32)
               (param $rq i32) (param $corr i32) (param $scale i32) (param $bias i32)
                 (param $zw i32) (param $xsum i32)
  (local $o i32) (local $left i32) (local $q v128) (local $wa i32) (local $r0 i32) (local $r1 i32)
  (local $i i32) (local $j i32) (local $panel i32) (local $two i32) (local $crow i32)
  (local $src i32) (local $dst i32) (local $srcend i32)
  (local $pa0 i32) (local $b i32) (local $bend i32)
  (local $x0 v128) (local $x1 v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
  (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
  (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
  (local.set $panel (i32.shl (i32.and (i32.add (local.get $k) (i32.const 15)) (i32.const -16)) (i32.const 2)))
  (local.set $wa (i32.add (local.get $work) (i32.shl (local.get $panel) (i32.const 1))))
  (block $blocks_done
   (loop $blocks
    (br_if $blocks_done (i32.ge_u (local.get $r0) (local.get $m)))
    (local.set $r1 (select (local.get $m) (i32.add (local.get $r0) (i32.const 32))
                           (i32.lt_u (local.get $m) (i32.add (local.get $r0) (i32.const 32)))))
    ;; rows r0 .. r1 of A widened to int16, pairs interleaved per 8 k: pair r, group g, row h at
    ;; wa + ((r*G + g)*2 + h)*16 (G = Kp/8); an odd last row fills both halves
    (local.set $i (local.get $r0))
    (loop $wrows
      (local.set $src (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $srcend (i32.add (local.get $src) (i32.shr_u (local.get $panel) (i32.const 2))))
      (local.set $dst (i32.add (local.get $wa)
        (i32.add (i32.mul (i32.shr_u (i32.sub (local.get $i) (local.get $r0)) (i32.const 1)) (local.get $panel))
                 (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 4)))))
      (local.set $two (i32.and (i32.eqz (i32.and (local.get $i) (i32.const 1)))
                               (i32.eq (i32.add (local.get $i) (i32.const 1)) (local.get $m))))
      (loop $wk
        (local.set $x0 (v128.load8x8_s align=1 (local.get $src)))
        (v128.store (local.get $dst) (local.get $x0))
        (if (local.get $two) (then (v128.store offset=16 (local.get $dst) (local.get $x0))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br_if $wk (i32.lt_u (local.tee $src (i32.add (local.get $src) (i32.const 8))) (local.get $srcend))))
      (br_if $wrows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $r1))))
  (local.set $j (i32.const 0))
  (block $cols_done
    (loop $cols
      (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $src (i32.add (local.get $bp) (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $panel))))
      (local.set $srcend (i32.add (local.get $src) (local.get $panel)))
      (local.set $dst (local.get $work))
      ;; widen the panel to int16: 16-k group g of column c -> (g*2 + h)*64 + c*16, h the half
      (loop $widen
        (v128.store offset=0 (local.get $dst) (v128.load8x8_s offset=0 align=1 (local.get $src)))
        (v128.store offset=64 (local.get $dst) (v128.load8x8_s offset=8 align=1 (local.get $src)))
        (v128.store offset=16 (local.get $dst) (v128.load8x8_s offset=16 align=1 (local.get $src)))
        (v128.store offset=80 (local.get $dst) (v128.load8x8_s offset=24 align=1 (local.get $src)))
        (v128.store offset=32 (local.get $dst) (v128.load8x8_s offset=32 align=1 (local.get $src)))
        (v128.store offset=96 (local.get $dst) (v128.load8x8_s offset=40 align=1 (local.get $src)))
        (v128.store offset=48 (local.get $dst) (v128.load8x8_s offset=48 align=1 (local.get $src)))
        (v128.store offset=112 (local.get $dst) (v128.load8x8_s offset=56 align=1 (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
        (br_if $widen (i32.lt_u (local.tee $src (i32.add (local.get $src) (i32.const 64))) (local.get $srcend))))
      (local.set $bend (i32.add (local.get $work) (i32.shl (local.get $panel) (i32.const 1))))
      (local.set $i (local.get $r0))
      (block $rows_done
        (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $i) (local.get $r1)))
          (local.set $two (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))
          (local.set $pa0 (i32.add (local.get $wa) (i32.mul (i32.shr_u (i32.sub (local.get $i) (local.get $r0)) (i32.const 1))
                                                            (local.get $panel))))
          (local.set $b (local.get $work))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c02 (v128.const i32x4 0 0 0 0)) (local.set $c03 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c12 (v128.const i32x4 0 0 0 0)) (local.set $c13 (v128.const i32x4 0 0 0 0))
          (loop $kloop
            (local.set $x0 (v128.load (local.get $pa0)))
            (local.set $x1 (v128.load offset=16 (local.get $pa0)))
            (local.set $b0 (v128.load offset=0 (local.get $b)))
            (local.set $b1 (v128.load offset=16 (local.get $b)))
            (local.set $b2 (v128.load offset=32 (local.get $b)))
            (local.set $b3 (v128.load offset=48 (local.get $b)))
            (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $x0) (local.get $b0))))
            (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $x1) (local.get $b0))))
            (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $x0) (local.get $b1))))
            (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $x1) (local.get $b1))))
            (local.set $c02 (i32x4.add (local.get $c02) (i32x4.dot_i16x8_s (local.get $x0) (local.get $b2))))
            (local.set $c12 (i32x4.add (local.get $c12) (i32x4.dot_i16x8_s (local.get $x1) (local.get $b2))))
            (local.set $c03 (i32x4.add (local.get $c03) (i32x4.dot_i16x8_s (local.get $x0) (local.get $b3))))
            (local.set $c13 (i32x4.add (local.get $c13) (i32x4.dot_i16x8_s (local.get $x1) (local.get $b3))))
            (local.set $pa0 (i32.add (local.get $pa0) (i32.const 32)))
            (br_if $kloop (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 64))) (local.get $bend))))
          ;; the 4 lanes of each accumulator summed (no call: a call would clobber every
          ;; xmm, and Cranelift then spilled the accumulators inside the k loop), both
          ;; rows (an odd last row's second sum is a copy of the first, never stored)
          (local.set $c00 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c00) (local.get $c01))
                                (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c00) (local.get $c01))))
          (local.set $c02 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c02) (local.get $c03))
                                (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c02) (local.get $c03))))
          (local.set $c00 (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c00) (local.get $c02))
                                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c00) (local.get $c02))))
          (local.set $c10 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c10) (local.get $c11))
                                (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c10) (local.get $c11))))
          (local.set $c12 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c12) (local.get $c13))
                                (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c12) (local.get $c13))))
          (local.set $c10 (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c10) (local.get $c12))
                                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c10) (local.get $c12))))
          (if (local.get $rq)  ;; requantised to int8 (i8_gemm_q), or the int32 sums
            (then
              (local.set $left (i32.sub (local.get $n) (local.get $j)))
              (local.set $o (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j))))
              (local.set $q (i32x4.sub (local.get $c00) (v128.load align=4 (i32.add (local.get $corr) (i32.shl (local.get $j) (i32.const 2))))))
              (if (local.get $zw)  ;; asymmetric weights: - zw[j] * xsum[i]
                (then (local.set $q (i32x4.sub (local.get $q) (i32x4.mul
                  (v128.load align=4 (i32.add (local.get $zw) (i32.shl (local.get $j) (i32.const 2))))
                  (v128.load32_splat (i32.add (local.get $xsum) (i32.shl (local.get $i) (i32.const 2)))))))))
              (local.set $q (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $q))
                                                 (v128.load align=4 (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 2)))))
                                     (v128.load align=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
              (local.set $q (f32x4.add (f32x4.nearest (f32x4.mul (f32x4.pmax (local.get $q) (v128.load offset=64 align=4 (local.get $rq)))
                                                                 (v128.load align=4 (local.get $rq))))
                                       (v128.load offset=16 align=4 (local.get $rq))))
              (local.set $q (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (local.get $q) (v128.load offset=32 align=4 (local.get $rq)))
                                                                 (v128.load offset=48 align=4 (local.get $rq)))))
              (local.set $q (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $q) (local.get $q)) (local.get $q)))
              (if (i32.ge_u (local.get $left) (i32.const 4))
                (then (v128.store32_lane align=1 0 (local.get $o) (local.get $q)))
                (else (v128.store8_lane 0 (local.get $o) (local.get $q))
                      (if (i32.gt_u (local.get $left) (i32.const 1)) (then (v128.store8_lane offset=1 1 (local.get $o) (local.get $q))))
                      (if (i32.gt_u (local.get $left) (i32.const 2)) (then (v128.store8_lane offset=2 2 (local.get $o) (local.get $q))))))
              (if (local.get $two)
                (then
                  (local.set $o (i32.add (local.get $c) (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldc)) (local.get $j))))
                  (local.set $q (i32x4.sub (local.get $c10) (v128.load align=4 (i32.add (local.get $corr) (i32.shl (local.get $j) (i32.const 2))))))
                  (if (local.get $zw)  ;; asymmetric weights: - zw[j] * xsum[i]
                    (then (local.set $q (i32x4.sub (local.get $q) (i32x4.mul
                      (v128.load align=4 (i32.add (local.get $zw) (i32.shl (local.get $j) (i32.const 2))))
                      (v128.load32_splat (i32.add (local.get $xsum) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 2)))))))))
                  (local.set $q (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $q))
                                                     (v128.load align=4 (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 2)))))
                                         (v128.load align=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                  (local.set $q (f32x4.add (f32x4.nearest (f32x4.mul (f32x4.pmax (local.get $q) (v128.load offset=64 align=4 (local.get $rq)))
                                                                     (v128.load align=4 (local.get $rq))))
                                           (v128.load offset=16 align=4 (local.get $rq))))
                  (local.set $q (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (local.get $q) (v128.load offset=32 align=4 (local.get $rq)))
                                                                     (v128.load offset=48 align=4 (local.get $rq)))))
                  (local.set $q (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $q) (local.get $q)) (local.get $q)))
                  (if (i32.ge_u (local.get $left) (i32.const 4))
                    (then (v128.store32_lane align=1 0 (local.get $o) (local.get $q)))
                    (else (v128.store8_lane 0 (local.get $o) (local.get $q))
                          (if (i32.gt_u (local.get $left) (i32.const 1)) (then (v128.store8_lane offset=1 1 (local.get $o) (local.get $q))))
                          (if (i32.gt_u (local.get $left) (i32.const 2)) (then (v128.store8_lane offset=2 2 (local.get $o) (local.get $q)))))))))
            (else
              (local.set $crow (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))
              (v128.store align=4 (local.get $crow) (local.get $c00))
              (if (local.get $two)
                (then (v128.store align=4 (i32.add (local.get $crow) (i32.shl (local.get $ldc) (i32.const 2)))
                                  (local.get $c10))))))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $rows)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $cols)))
    (local.set $r0 (local.get $r1))
    (br $blocks))))
