;; ---------------------------------------------------------------------------
;; f32_gemm_packed.wat -- float32 GEMM with a pre-packed B operand (SIMD128)
;;
;; FRAGMENT of module fields: only (func ...) definitions -- no (module ...)
;; wrapper, exports, imports, globals, data or memory.  It is concatenated
;; into generated modules and uses their memory (index 0).  Every function
;; name starts with $f32_gemm_pack ($f32_gemm_pack_b, $f32_gemm_packed*), so
;; it can sit in one module next to f32_gemm.wat and f32_peak.wat.
;; Everything above the line that starts with ";; @relaxed-simd" needs
;; SIMD128 only; the FMA twins below it need relaxed SIMD.  For a runtime
;; without relaxed SIMD include only the text before that line.
;;
;; Tile sizes (machine-readable; benchmarks/gemm_probe.py prints them):
;; @tiles {"MR": 2, "NR": 4, "KG": 4, "MC_BYTES": 786432, "KC": null, "A_PACKED": false, "B_TOUCH_AHEAD": "next panel", "FMA_ROW1_OPERANDS": "b,a"}
;;
;; Entry points
;;   (func $f32_gemm_pack_b (param $b i32) (param $ldb i32) (param $k i32)
;;                          (param $n i32) (param $dst i32))
;;   (func $f32_gemm_pack_bt (param $w i32) (param $ldw i32) (param $k i32)
;;                           (param $n i32) (param $dst i32))   from B^T
;;   (func $f32_gemm_packed (param $a i32) (param $bp i32) (param $c i32)
;;                          (param $m i32) (param $n i32) (param $k i32)
;;                          (param $lda i32) (param $ldc i32)
;;                          (param $bias_row i32) (param $bias_col i32) (param $flags i32))
;;   (func $f32_gemm_packed_fma ...)   same parameters; relaxed SIMD
;;
;; Packed B (NR = 4 columns per panel, KG = 4 rows per group):
;;   Kp = round_up(k, 4), Np = round_up(n, 4); the buffer is 4 * Kp * Np bytes.
;;   B[p, j] is float number
;;       (j / 4) * (4 * Kp)  +  (p / 4) * 16  +  (j % 4) * 4  +  (p % 4)
;;   of the buffer: panel q = j / 4 (4 columns) is Kp * 16 contiguous bytes;
;;   in it, group g = p / 4 is 64 bytes = 4 v128, the v128 number j % 4
;;   holding B[4g, j], B[4g+1, j], B[4g+2, j], B[4g+3, j].  Every slot with
;;   p >= k or j >= n is +0.0.  (numpy: pad B to (Kp, Np) with zeros, then
;;   Bp.reshape(Kp/4, 4, Np/4, 4).transpose(2, 0, 3, 1).ravel().)
;;   $f32_gemm_pack_b reads B[p, j] at b + 4*(p*ldb + j) (p < k, j < n only)
;;   and writes all 4*Kp*Np bytes at dst, padding included; nothing else.
;;   $f32_gemm_pack_bt writes the same bytes from W = B^T, reading
;;   B[p, j] = W[j, p] at w + 4*(j*ldw + p) (p < k, j < n only).
;;   k == 0 or n == 0 writes nothing.  dst must not overlap B.  No alignment
;;   is required of b or dst; a 16-byte aligned dst is slightly faster.
;;
;; $f32_gemm_packed / $f32_gemm_packed_fma:  C = A * B (+ epilogue), where
;;   A[i,p] is at a + 4*(i*lda + p), C[i,j] at c + 4*(i*ldc + j), bp is the
;;   buffer written by $f32_gemm_pack_b/_bt for this (k, n), bias_row[i] at
;;   bias_row + 4*i, bias_col[j] at bias_col + 4*j (address 0 = no bias).
;;   For every i < m, j < n (all arithmetic f32, round to nearest):
;;     s_r = +0.0 + A[i,r]*B[r,j] + A[i,r+4]*B[r+4,j] + ...   for r = 0..3:
;;           the products with p % 4 == r, added one at a time in increasing p
;;           (plain: one f32 mul then one f32 add per product;
;;            fma:   s_r = relaxed_madd(A[i,p], B[p,j], s_r))
;;     s = (s_0 + s_2) + (s_1 + s_3)
;;     s = s + bias_row[i]                 (bias_row != 0)
;;     s = s + bias_col[j]                 (bias_col != 0)
;;     s = C[i,j] + s                      (flags & 1, accumulate)
;;     s = max(s, +0.0)                    (flags & 2 or flags & 4; NaN stays NaN)
;;     s = min(s, 6.0)                     (flags & 4, relu6; NaN stays NaN)
;;     C[i,j] = s
;;   Other flag bits are ignored.  m == 0 or n == 0: nothing is touched.
;;   k == 0 gives s = +0.0 (+ biases); k == 0 with flags & 7 == 1 and no bias
;;   returns at once, leaving C bit-for-bit unchanged.
;;   Reads: A[i, 0..k) of rows i < m, the packed buffer, bias_row[0..m),
;;   bias_col[0..n), C (accumulate only); writes C[0..m, 0..n) only, so every
;;   operand may be a view with live neighbours.  No alignment is assumed
;;   (v128 accesses with the default hint are legal on any address).  C must
;;   not overlap A, the packed buffer or the biases.
;;
;; Numerics.  Plain kernel: bit-identical on every host (no FMA, fixed
;;   order), and independent of m, n, the tiling, the row blocking and the
;;   alignment (tests check all of these).  It is NOT the sequential order of
;;   $f32_gemm: results differ from it by rounding.  Error (first order,
;;   u = 2^-24, t = ceil(k / 4)):
;;     |s - exact| <= (t + 2) * u * sum_p |A[i,p] * B[p,j]|  before the
;;   epilogue, each epilogue add costing one more rounding -- tighter than a
;;   sequential sum's k * u.  FMA kernel: each relaxed_madd is fused where
;;   the runtime fuses it (wasmtime on x86-64 with FMA, and always with
;;   Config.wasm_relaxed_simd_deterministic = True: then it matches a
;;   correctly rounded fma emulation bit for bit) and is mul + add otherwise
;;   (then it equals the plain kernel); the same bound holds either way, so
;;   plain and FMA results differ by at most about twice that bound.  The
;;   FMA kernel's results are reproducible across hosts only in wasmtime's
;;   deterministic relaxed-SIMD mode.
;;
;; Algorithm.  No workspace: A is read in place (row-major, unit stride along
;;   p), B comes pre-packed.  Dot-product form: each accumulator is one
;;   output C[i,j] whose 4 lanes hold the partial sums of p = 0, 1, 2, 3 mod 4,
;;   so one v128 load of A[i, 4g..4g+3] and one of the packed B column group
;;   feed one f32x4.mul + f32x4.add, no broadcasts (f32x4.splat costs an extra
;;   shuffle uop on the FP ports in Cranelift), and the 4 lanes are reduced
;;   once per tile (3 shuffles + adds per 4 outputs).
;;   $f32_gemm_packed     row blocks of MC rows, MC = MC_BYTES / (4k) (even,
;;                        >= 2) so the A block stays in L2; in a block, for
;;                        each 4-column panel (Kp*16 bytes, L1-resident),
;;                        all row pairs ($f32_gemm_packed_k2), then the odd
;;                        last row against all panels ($f32_gemm_packed_row).
;;                        k is not blocked: the summation order must not
;;                        depend on a block size.
;;   $f32_gemm_packed_k2  MR x NR = 2 x 4: 8 accumulators + 4 B + 1 A + 1
;;                        temporary = 14 of 16 xmm; per 4 k: 6 loads, 8 mul,
;;                        8 add.  Epilogue inline for full panels, via
;;                        $f32_gemm_packed_store (partial loads/stores) for
;;                        the last panel when n % 4 != 0.  Before its k loop
;;                        each row pair touches (one i32.load8_u per 64-byte
;;                        line) its share of the NEXT panel, so a B that lives
;;                        in L3 (packed B > L2, small m) streams in during the
;;                        current panel instead of stalling the first pair of
;;                        the next: 64x1000x1000 76 -> 86%, 64x2048x512 77 ->
;;                        88% of peak, no loss elsewhere.  Only bytes of the
;;                        packed buffer are touched.
;;   $f32_gemm_packed_row 1 x 4, k loop unrolled by 2 groups, panel loop
;;                        inside (m == 1 pays no call per panel).
;;   Tails: k % 4 != 0 -> the last A group is loaded with
;;   v128.load32_zero / load64_zero (+ load32_lane), never past A[i, k-1];
;;   the packed B group is zero-padded.  n % 4 != 0 -> the last panel is
;;   zero-padded; its extra columns are computed and dropped.
;;   k2 loads each B vector of a group once into $b0..$b3 and uses it for
;;   both rows.  Cranelift and Chromium 156's V8 merge the two identical
;;   loads of the earlier form themselves, Node 20's V8 (11.3, TurboFan) does
;;   not: it loaded B twice (10 loads per group instead of 6), ran out of its
;;   15 allocatable xmm (xmm15 is its scratch) and spilled 3 accumulators to
;;   the stack, stored and reloaded in every iteration (node
;;   --print-wasm-code).  With the locals its loop is 6 loads + 16 arith, no
;;   spill (V8 unrolls it 2x), and Cranelift's code is the same instructions
;;   as before.  Same operations in the same order: bit-identical results.
;;   benchmarks/peers/gemm_engines.py (before/after in one run, load 7-8 on
;;   2 cores, medians): Node 20 1.5-1.9x faster at 256^3, 1024^3,
;;   32x512x784, 64x3136x576; Chromium 156 and wasmtime within noise
;;   (0.94-1.16).
;;   Cranelift details that mattered (check Module.serialize() disassembly
;;   after edits): 2 x 4 fits in registers, 3 x 4 and 4 x 3 spill; loads are
;;   not folded into
;;   vmulps; a loop-invariant end pointer that is live across the epilogue
;;   calls is stored and reloaded in every k iteration (the k loop therefore
;;   ends on an A pointer derived per row pair: 31.9 -> 36.6 GFLOP/s at
;;   256^3).
;;
;; Tile choice, measured (wasmtime 50, 2-core x86-64 AVX-512 host, thread CPU
;;   time).  Exploration, simple drivers at 256^3 / 512^3 / 32x512x784, in %
;;   of an earlier, weaker peak kernel (12 chains a = a*m + d, short runs):
;;   compare these with each other only.  Outer-product forms read A with
;;   f32x4.splat or from an A panel packed on the fly with each element
;;   pre-broadcast to a v128:
;;     outer product, A splat     4x8 72-75%, 3x16 78-82%, 2x24 72-79%
;;     outer product, A packed    4x8 94-100%, 4x12 84-90%, 6x8 81-90%,
;;                                8x8 68-77%  (needs a workspace for A)
;;     dot product, A in place    2x4 95-100%, 4x2 93-97%, 3x4 86-93%
;;                                (spills), 4x3 88-92%, 2x6 83-93%, 1x8 69-76%
;;   2x4 dot product matches the packed-A 4x8 kernel (same run, % of the
;;   f32_peak.wat peak: 91 vs 92%, 88 vs 91%, 89 vs 85% at 256^3, 512^3,
;;   32x512x784; splat 4x8: 71, 70, 69%) without a workspace parameter or a
;;   packing pass over A, so A is not packed.
;;   Unrolling k by 2 in the 2x4 kernel loses (Cranelift issues all loads of
;;   the body first: 20 live values, spills).  MC_BYTES: 512 KiB, 768 KiB and
;;   1 MiB are within noise of each other on 256^3 .. 2048^3 and MLP shapes;
;;   768 KiB was the most even.  Results (benchmarks/gemm_probe.py, % of the
;;   f32_peak.wat mul+add peak measured in the same run):
;;     256^3 92%, 512^3 89%, 1024^3 89%, 2048^3 88%, 32x512x784 87%,
;;     128x256x1152 89%, 64x1000x1000 86% (37-39 GFLOP/s
;;     against 41-43; $f32_gemm 61-69% in the same runs); FMA twin the same
;;     GFLOP/s = 67-69% of the relaxed_madd peak.
;;     m = 1 (GEMV) is bound by streaming B (each weight used once): 1x512x784
;;     63% (B in L2, ~55 GB/s), ~35% once B no longer fits in L2.
;;     k >= 4096 drops to ~80% (a 4-column B panel no longer fits in L1;
;;     blocking k would make the summation order depend on the block size).
;;
;; Compiler use: B constant (weights) -> at prepare time allocate
;;   4 * round_up(k, 4) * round_up(n, 4) bytes (16-byte aligned) in the
;;   persistent region, call $f32_gemm_pack_b (B stored k x n) or
;;   $f32_gemm_pack_bt (stored n x k, e.g. Linear / flattened conv weights)
;;   once, or pack in Python with the numpy formula above and emit the bytes
;;   as data; then in forward call $f32_gemm_packed (or _fma) with bp = that
;;   buffer.  linear(x, W, b): a = x, m = batch rows, k = in, n = out,
;;   pack_bt(W, ldw = in), bias_col = b, flags = 2 for a fused ReLU,
;;   4 for ReLU6.  The packed buffer is read-only in forward (no workspace),
;;   so it may be shared by concurrent instances.
;; ---------------------------------------------------------------------------

;; p ? p + d : 0   (advance an optional bias pointer)
(func $f32_gemm_packed_adv (param $p i32) (param $d i32) (result i32)
  (select (i32.add (local.get $p) (local.get $d)) (i32.const 0) (local.get $p)))

;; ---------------------------------------------------------------------------
;; Packing.  Layout (constants NR = 4 columns per panel, KG = 4 rows per group):
;;   Kp = round_up(k, 4), Np = round_up(n, 4); the packed buffer is 4*Kp*Np
;;   bytes.  B[p, j] goes to float index
;;       (j / 4) * (4 * Kp) + (p / 4) * 16 + (j % 4) * 4 + (p % 4)
;;   i.e. panel q = j / 4 (4 columns) is one contiguous block of Kp*16 bytes;
;;   inside it, group g = p / 4 is 64 bytes = 4 v128, v128 number (j % 4)
;;   holding B[4g .. 4g+3, j].  Every slot with p >= k or j >= n is +0.0.
;; ---------------------------------------------------------------------------
(func $f32_gemm_pack_b (param $b i32) (param $ldb i32) (param $k i32) (param $n i32) (param $dst i32)
  (local $ldb4 i32) (local $q i32) (local $g i32) (local $jj i32) (local $pp i32)
  (local $src i32) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
  (if (i32.or (i32.eqz (local.get $k)) (i32.eqz (local.get $n))) (then (return)))
  (loop $panel
    (local.set $g (i32.const 0))
    (loop $group
      (if (i32.and (i32.le_u (i32.add (local.get $q) (i32.const 4)) (local.get $n))
                   (i32.le_u (i32.add (local.get $g) (i32.const 4)) (local.get $k)))
        (then
          ;; full 4x4 block: load 4 rows, transpose, store 4 columns
          (local.set $src (i32.add (local.get $b)
                            (i32.add (i32.mul (local.get $g) (local.get $ldb4))
                                     (i32.shl (local.get $q) (i32.const 2)))))
          (local.set $r0 (v128.load (local.get $src)))
          (local.set $src (i32.add (local.get $src) (local.get $ldb4)))
          (local.set $r1 (v128.load (local.get $src)))
          (local.set $src (i32.add (local.get $src) (local.get $ldb4)))
          (local.set $r2 (v128.load (local.get $src)))
          (local.set $src (i32.add (local.get $src) (local.get $ldb4)))
          (local.set $r3 (v128.load (local.get $src)))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
          (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
          (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
          (v128.store (local.get $dst)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
          (v128.store offset=16 (local.get $dst)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
          (v128.store offset=32 (local.get $dst)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
          (v128.store offset=48 (local.get $dst)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3))))
        (else
          ;; edge block: element by element, zero outside B
          (local.set $jj (i32.const 0))
          (loop $col
            (local.set $pp (i32.const 0))
            (loop $row
              (f32.store
                (i32.add (local.get $dst) (i32.shl (i32.add (i32.shl (local.get $jj) (i32.const 2))
                                                            (local.get $pp)) (i32.const 2)))
                (if (result f32)
                    (i32.and (i32.lt_u (i32.add (local.get $g) (local.get $pp)) (local.get $k))
                             (i32.lt_u (i32.add (local.get $q) (local.get $jj)) (local.get $n)))
                  (then (f32.load (i32.add (local.get $b)
                          (i32.add (i32.mul (i32.add (local.get $g) (local.get $pp)) (local.get $ldb4))
                                   (i32.shl (i32.add (local.get $q) (local.get $jj)) (i32.const 2))))))
                  (else (f32.const 0))))
              (local.set $pp (i32.add (local.get $pp) (i32.const 1)))
              (br_if $row (i32.lt_u (local.get $pp) (i32.const 4))))
            (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
            (br_if $col (i32.lt_u (local.get $jj) (i32.const 4))))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (br_if $group (i32.lt_u (local.get $g) (local.get $k))))
    (local.set $q (i32.add (local.get $q) (i32.const 4)))
    (br_if $panel (i32.lt_u (local.get $q) (local.get $n)))))

;; The same packed layout from B^T: B[p, j] = W[j, p] read at w + 4*(j*ldw + p)
;; (p < k, j < n only) -- e.g. torch.nn.Linear's weight (out, in) for
;; y = x W^T: pack_bt(W, in_features, in_features, out_features, dst).  A
;; column group is a contiguous run W[j, 4g .. 4g+3], copied as one v128
;; (partial load at the k tail, zeros past k and for j >= n).
(func $f32_gemm_pack_bt (param $w i32) (param $ldw i32) (param $k i32) (param $n i32) (param $dst i32)
  (local $ldw4 i32) (local $q i32) (local $g i32) (local $j i32) (local $src i32) (local $r i32)
  (local.set $ldw4 (i32.shl (local.get $ldw) (i32.const 2)))
  (if (i32.or (i32.eqz (local.get $k)) (i32.eqz (local.get $n))) (then (return)))
  (local.set $r (i32.sub (local.get $k) (i32.and (local.get $k) (i32.const -4))))
  (loop $panel
    (local.set $g (i32.const 0))
    (loop $group
      (local.set $j (i32.const 0))
      (loop $col
        (local.set $src (i32.add (i32.add (local.get $w) (i32.shl (local.get $g) (i32.const 2)))
                                 (i32.mul (i32.add (local.get $q) (local.get $j)) (local.get $ldw4))))
        (v128.store (local.get $dst)
          (if (result v128) (i32.ge_u (i32.add (local.get $q) (local.get $j)) (local.get $n))
            (then (v128.const i32x4 0 0 0 0))
            (else
              (if (result v128) (i32.le_u (i32.add (local.get $g) (i32.const 4)) (local.get $k))
                (then (v128.load (local.get $src)))
                (else
                  (if (result v128) (i32.eq (local.get $r) (i32.const 1))
                    (then (v128.load32_zero (local.get $src)))
                    (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
                      (then (v128.load64_zero (local.get $src)))
                      (else (v128.load32_lane offset=8 2 (local.get $src)
                                              (v128.load64_zero (local.get $src))))))))))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $col (i32.lt_u (local.get $j) (i32.const 4))))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (br_if $group (i32.lt_u (local.get $g) (local.get $k))))
    (local.set $q (i32.add (local.get $q) (i32.const 4)))
    (br_if $panel (i32.lt_u (local.get $q) (local.get $n)))))

;; ---------------------------------------------------------------------------
;; Epilogue helpers
;; ---------------------------------------------------------------------------

;; load nc (1..4; >= 4 means 4) consecutive floats at p into lanes 0..nc-1,
;; zeros above; reads nothing past p + 4*nc
(func $f32_gemm_packed_load (param $p i32) (param $nc i32) (result v128)
  (if (result v128) (i32.ge_u (local.get $nc) (i32.const 4))
    (then (v128.load (local.get $p)))
    (else
      (if (result v128) (i32.eq (local.get $nc) (i32.const 3))
        (then (v128.load32_lane offset=8 2 (local.get $p) (v128.load64_zero (local.get $p))))
        (else
          (if (result v128) (i32.eq (local.get $nc) (i32.const 2))
            (then (v128.load64_zero (local.get $p)))
            (else (v128.load32_zero (local.get $p)))))))))

;; finish one row of (up to) 4 outputs: s holds the raw sums of C[i, j..j+3]
;;   s = s + bias_row[i] (br != 0);  s = s + bias_col[j..] (bc != 0)
;;   s = C + s (flags & 1);  max(s, 0) (flags & 6);  min(s, 6) (flags & 4)
;; and store lanes 0..nc-1 to C[i, j..].
(func $f32_gemm_packed_store (param $s v128) (param $c i32) (param $br i32) (param $bc i32)
                             (param $flags i32) (param $nc i32)
  (if (local.get $br)
    (then (local.set $s (f32x4.add (local.get $s) (v128.load32_splat (local.get $br))))))
  (if (local.get $bc)
    (then (local.set $s (f32x4.add (local.get $s)
                          (call $f32_gemm_packed_load (local.get $bc) (local.get $nc))))))
  (if (i32.and (local.get $flags) (i32.const 1))
    (then (local.set $s (f32x4.add (call $f32_gemm_packed_load (local.get $c) (local.get $nc))
                                   (local.get $s)))))
  (if (i32.and (local.get $flags) (i32.const 6))
    (then (local.set $s (f32x4.max (local.get $s) (v128.const f32x4 0 0 0 0)))))
  (if (i32.and (local.get $flags) (i32.const 4))
    (then (local.set $s (f32x4.min (local.get $s) (v128.const f32x4 6 6 6 6)))))
  (if (i32.ge_u (local.get $nc) (i32.const 4))
    (then (v128.store (local.get $c) (local.get $s)) (return)))
  (if (i32.ge_u (local.get $nc) (i32.const 2))
    (then
      (v128.store64_lane 0 (local.get $c) (local.get $s))
      (if (i32.eq (local.get $nc) (i32.const 3))
        (then (v128.store32_lane offset=8 2 (local.get $c) (local.get $s)))))
    (else (v128.store32_lane 0 (local.get $c) (local.get $s)))))

;; ---------------------------------------------------------------------------
;; Kernels.  Common parameters:
;;   $a     address of A[i0, 0]              $bp   address of packed panel q
;;   $c     address of C[i0, 4q]             $rows rows to do (k2: even)
;;   $k     depth                            $lda4 / $ldc4 in BYTES
;;   $br    address of bias_row[i0] or 0     $bc   address of bias_col[4q] or 0
;;   $flags bits 0..2                        $nc   valid columns in panel (1..4)
;; ---------------------------------------------------------------------------

;; pairs of rows x one 4-column panel; 8 f32x4 accumulators (lanes = k mod 4)
(func $f32_gemm_packed_k2 (param $a i32) (param $bp i32) (param $c i32) (param $rows i32)
                          (param $k i32) (param $lda4 i32) (param $ldc4 i32)
                          (param $br i32) (param $bc i32) (param $flags i32) (param $nc i32)
                          (param $pf i32)
  (local $a0 i32) (local $a1 i32) (local $b i32) (local $aend i32) (local $r i32)
  (local $pfend i32) (local $lpp i32) (local $x i32)
  (local $s v128) (local $t v128) (local $u v128)
  (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
  (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
  (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
  ;; $pf: start of the next panel (same size, Kp*16 bytes, a multiple of 64)
  ;; or 0.  Each row pair first touches its share of the next panel's cache
  ;; lines (lpp of them), so B arrives from L3 spread over the panel instead
  ;; of in one burst at the start of the next one.
  (if (local.get $pf)
    (then
      (local.set $pfend (i32.add (local.get $pf)
                          (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4))))
      (local.set $lpp (i32.add (i32.div_u (i32.shr_u (i32.sub (local.get $pfend) (local.get $pf)) (i32.const 6))
                                          (i32.add (i32.shr_u (local.get $rows) (i32.const 1)) (i32.const 1)))
                               (i32.const 1)))))
  (block $done
    (loop $pair
      (br_if $done (i32.lt_u (local.get $rows) (i32.const 2)))
      (local.set $x (local.get $lpp))
      (block $touched
        (loop $touch
          (br_if $touched (i32.or (i32.eqz (local.get $x)) (i32.ge_u (local.get $pf) (local.get $pfend))))
          (drop (i32.load8_u (local.get $pf)))
          (local.set $pf (i32.add (local.get $pf) (i32.const 64)))
          (local.set $x (i32.sub (local.get $x) (i32.const 1)))
          (br $touch)))
      (local.set $r (i32.and (local.get $k) (i32.const 3)))
      (local.set $c00 (v128.const i32x4 0 0 0 0))
      (local.set $c01 (v128.const i32x4 0 0 0 0))
      (local.set $c02 (v128.const i32x4 0 0 0 0))
      (local.set $c03 (v128.const i32x4 0 0 0 0))
      (local.set $c10 (v128.const i32x4 0 0 0 0))
      (local.set $c11 (v128.const i32x4 0 0 0 0))
      (local.set $c12 (v128.const i32x4 0 0 0 0))
      (local.set $c13 (v128.const i32x4 0 0 0 0))
      (local.set $a0 (local.get $a))
      (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
      (local.set $b (local.get $bp))
      ;; the k loop ends on A's pointer: an end address derived from the
      ;; per-pair $a is not hoisted out of the pair loop, so it is not live
      ;; across the epilogue calls (a loop-invariant end pointer was, and
      ;; Cranelift then stored and reloaded it in every k iteration)
      (local.set $aend (i32.add (local.get $a) (i32.shl (i32.and (local.get $k) (i32.const -4)) (i32.const 2))))
      (if (i32.ne (local.get $a0) (local.get $aend))
        (then
          (loop $p
            (local.set $b0 (v128.load (local.get $b)))
            (local.set $b1 (v128.load offset=16 (local.get $b)))
            (local.set $b2 (v128.load offset=32 (local.get $b)))
            (local.set $b3 (v128.load offset=48 (local.get $b)))
            (local.set $s (v128.load (local.get $a0)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
            (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $s) (local.get $b2))))
            (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $s) (local.get $b3))))
            (local.set $s (v128.load (local.get $a1)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
            (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $s) (local.get $b2))))
            (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $s) (local.get $b3))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 16)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 64)))
            (br_if $p (i32.ne (local.get $a0) (local.get $aend))))))
      (if (local.get $r)
        (then
          ;; last k % 4 values of each row (zero lanes above), zero-padded B group
          (local.set $b0 (v128.load (local.get $b)))
          (local.set $b1 (v128.load offset=16 (local.get $b)))
          (local.set $b2 (v128.load offset=32 (local.get $b)))
          (local.set $b3 (v128.load offset=48 (local.get $b)))
          (local.set $s
            (if (result v128) (i32.eq (local.get $r) (i32.const 1))
              (then (v128.load32_zero (local.get $a0)))
              (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
                (then (v128.load64_zero (local.get $a0)))
                (else (v128.load32_lane offset=8 2 (local.get $a0) (v128.load64_zero (local.get $a0))))))))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $s) (local.get $b2))))
          (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $s) (local.get $b3))))
          (local.set $s
            (if (result v128) (i32.eq (local.get $r) (i32.const 1))
              (then (v128.load32_zero (local.get $a1)))
              (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
                (then (v128.load64_zero (local.get $a1)))
                (else (v128.load32_lane offset=8 2 (local.get $a1) (v128.load64_zero (local.get $a1))))))))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $s) (local.get $b2))))
          (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $s) (local.get $b3))))))
      ;; lane reduction: out[j] = (acc_j[0] + acc_j[2]) + (acc_j[1] + acc_j[3])
      (local.set $t (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c00) (local.get $c01))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c00) (local.get $c01))))
      (local.set $u (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c02) (local.get $c03))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c02) (local.get $c03))))
      (local.set $c00 (f32x4.add
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
      (local.set $t (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c10) (local.get $c11))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c10) (local.get $c11))))
      (local.set $u (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c12) (local.get $c13))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c12) (local.get $c13))))
      (local.set $c10 (f32x4.add
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
      (if (i32.ge_u (local.get $nc) (i32.const 4))
        (then
          ;; full panel: epilogue inline (a call here costs more than the work)
          (if (local.get $br)
            (then
              (local.set $c00 (f32x4.add (local.get $c00) (v128.load32_splat (local.get $br))))
              (local.set $c10 (f32x4.add (local.get $c10) (v128.load32_splat offset=4 (local.get $br))))))
          (if (local.get $bc)
            (then
              (local.set $t (v128.load (local.get $bc)))
              (local.set $c00 (f32x4.add (local.get $c00) (local.get $t)))
              (local.set $c10 (f32x4.add (local.get $c10) (local.get $t)))))
          (if (i32.and (local.get $flags) (i32.const 1))
            (then
              (local.set $c00 (f32x4.add (v128.load (local.get $c)) (local.get $c00)))
              (local.set $c10 (f32x4.add (v128.load (i32.add (local.get $c) (local.get $ldc4))) (local.get $c10)))))
          (if (i32.and (local.get $flags) (i32.const 6))
            (then
              (local.set $c00 (f32x4.max (local.get $c00) (v128.const f32x4 0 0 0 0)))
              (local.set $c10 (f32x4.max (local.get $c10) (v128.const f32x4 0 0 0 0)))))
          (if (i32.and (local.get $flags) (i32.const 4))
            (then
              (local.set $c00 (f32x4.min (local.get $c00) (v128.const f32x4 6 6 6 6)))
              (local.set $c10 (f32x4.min (local.get $c10) (v128.const f32x4 6 6 6 6)))))
          (v128.store (local.get $c) (local.get $c00))
          (v128.store (i32.add (local.get $c) (local.get $ldc4)) (local.get $c10)))
        (else
          (call $f32_gemm_packed_store (local.get $c00) (local.get $c) (local.get $br) (local.get $bc)
                                       (local.get $flags) (local.get $nc))
          (call $f32_gemm_packed_store (local.get $c10) (i32.add (local.get $c) (local.get $ldc4))
                                       (call $f32_gemm_packed_adv (local.get $br) (i32.const 4))
                                       (local.get $bc) (local.get $flags) (local.get $nc))))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lda4) (i32.const 1))))
      (local.set $c (i32.add (local.get $c) (i32.shl (local.get $ldc4) (i32.const 1))))
      (local.set $br (call $f32_gemm_packed_adv (local.get $br) (i32.const 8)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 2)))
      (br $pair))))

;; one row x all panels (the odd last row of a row block, and m == 1):
;; 4 accumulators, k loop unrolled by 2 groups; the panel loop is inside so a
;; single row (GEMV) pays no call per panel.
(func $f32_gemm_packed_row (param $a i32) (param $bp i32) (param $c i32) (param $n i32)
                           (param $k i32) (param $br i32) (param $bc i32) (param $flags i32)
  (local $q i32) (local $ps i32) (local $b i32) (local $bend i32) (local $ak i32)
  (local $r i32) (local $nc i32)
  (local $s v128) (local $t v128) (local $u v128)
  (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
  (local.set $ps (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4)))
  (local.set $r (i32.and (local.get $k) (i32.const 3)))
  (loop $panel
    (local.set $c0 (v128.const i32x4 0 0 0 0))
    (local.set $c1 (v128.const i32x4 0 0 0 0))
    (local.set $c2 (v128.const i32x4 0 0 0 0))
    (local.set $c3 (v128.const i32x4 0 0 0 0))
    (local.set $ak (local.get $a))
    (local.set $b (local.get $bp))
    ;; derived from the per-panel $bp, so not hoisted out of the panel loop
    (local.set $bend (i32.add (local.get $bp) (i32.shl (i32.shr_u (local.get $k) (i32.const 2)) (i32.const 6))))
    (if (i32.and (local.get $k) (i32.const 4))
      (then
        ;; odd number of full groups: one group first
        (local.set $s (v128.load (local.get $ak)))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load (local.get $b)))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $b)))))
        (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $b)))))
        (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $b)))))
        (local.set $ak (i32.add (local.get $ak) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 64)))))
    (if (i32.ne (local.get $b) (local.get $bend))
      (then
        (loop $p
          (local.set $s (v128.load (local.get $ak)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load (local.get $b)))))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $b)))))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $b)))))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $b)))))
          (local.set $s (v128.load offset=16 (local.get $ak)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load offset=64 (local.get $b)))))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (v128.load offset=80 (local.get $b)))))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (v128.load offset=96 (local.get $b)))))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (v128.load offset=112 (local.get $b)))))
          (local.set $ak (i32.add (local.get $ak) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 128)))
          (br_if $p (i32.ne (local.get $b) (local.get $bend))))))
    (if (local.get $r)
      (then
        (local.set $s
          (if (result v128) (i32.eq (local.get $r) (i32.const 1))
            (then (v128.load32_zero (local.get $ak)))
            (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
              (then (v128.load64_zero (local.get $ak)))
              (else (v128.load32_lane offset=8 2 (local.get $ak) (v128.load64_zero (local.get $ak))))))))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load (local.get $b)))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $b)))))
        (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $b)))))
        (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $b)))))))
    (local.set $t (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c0) (local.get $c1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c0) (local.get $c1))))
    (local.set $u (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c2) (local.get $c3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c2) (local.get $c3))))
    (local.set $s (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
    (local.set $nc (i32.sub (local.get $n) (local.get $q)))
    (if (i32.ge_u (local.get $nc) (i32.const 4))
      (then
        (if (local.get $br)
          (then (local.set $s (f32x4.add (local.get $s) (v128.load32_splat (local.get $br))))))
        (if (local.get $bc)
          (then (local.set $s (f32x4.add (local.get $s) (v128.load (local.get $bc))))))
        (if (i32.and (local.get $flags) (i32.const 1))
          (then (local.set $s (f32x4.add (v128.load (local.get $c)) (local.get $s)))))
        (if (i32.and (local.get $flags) (i32.const 6))
          (then (local.set $s (f32x4.max (local.get $s) (v128.const f32x4 0 0 0 0)))))
        (if (i32.and (local.get $flags) (i32.const 4))
          (then (local.set $s (f32x4.min (local.get $s) (v128.const f32x4 6 6 6 6)))))
        (v128.store (local.get $c) (local.get $s)))
      (else
        (call $f32_gemm_packed_store (local.get $s) (local.get $c) (local.get $br) (local.get $bc)
                                     (local.get $flags) (local.get $nc))))
    (local.set $bp (i32.add (local.get $bp) (local.get $ps)))
    (local.set $c (i32.add (local.get $c) (i32.const 16)))
    (local.set $bc (call $f32_gemm_packed_adv (local.get $bc) (i32.const 16)))
    (local.set $q (i32.add (local.get $q) (i32.const 4)))
    (br_if $panel (i32.lt_u (local.get $q) (local.get $n)))))

;; ---------------------------------------------------------------------------
;; Entry point
;; ---------------------------------------------------------------------------
(func $f32_gemm_packed (param $a i32) (param $bp i32) (param $c i32)
                       (param $m i32) (param $n i32) (param $k i32)
                       (param $lda i32) (param $ldc i32)
                       (param $bias_row i32) (param $bias_col i32) (param $flags i32)
  (local $lda4 i32) (local $ldc4 i32) (local $ps i32) (local $mc i32)
  (local $ic i32) (local $mb i32) (local $q i32) (local $last i32)
  (local $ai i32) (local $ci i32) (local $bri i32) (local $bq i32) (local $bcq i32)
  (local.set $flags (i32.and (local.get $flags) (i32.const 7)))
  (if (i32.or (i32.eqz (local.get $m)) (i32.eqz (local.get $n))) (then (return)))
  (if (i32.and
        (i32.and (i32.eqz (local.get $k)) (i32.eq (local.get $flags) (i32.const 1)))
        (i32.eqz (i32.or (local.get $bias_row) (local.get $bias_col))))
    (then (return)))
  (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
  (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
  ;; bytes per packed panel: Kp * 16
  (local.set $ps (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4)))
  ;; row block: MC rows of A, MC * k * 4 <= MC_BYTES = 786432, even, >= 2
  (local.set $mc (i32.and (i32.div_u (i32.const 786432)
                                     (i32.shl (select (local.get $k) (i32.const 1) (local.get $k)) (i32.const 2)))
                          (i32.const -2)))
  (if (i32.lt_u (local.get $mc) (i32.const 2)) (then (local.set $mc (i32.const 2))))
  (loop $block
    (local.set $mb (i32.sub (local.get $m) (local.get $ic)))
    (if (i32.lt_u (local.get $mc) (local.get $mb)) (then (local.set $mb (local.get $mc))))
    (local.set $ai (i32.add (local.get $a) (i32.mul (local.get $ic) (local.get $lda4))))
    (local.set $ci (i32.add (local.get $c) (i32.mul (local.get $ic) (local.get $ldc4))))
    (local.set $bri (call $f32_gemm_packed_adv (local.get $bias_row) (i32.shl (local.get $ic) (i32.const 2))))
    ;; the odd last row of the block (only the last block can be odd)
    (local.set $last (i32.sub (local.get $mb) (i32.const 1)))
    (local.set $q (i32.const 0))
    (local.set $bq (local.get $bp))
    (local.set $bcq (local.get $bias_col))
    (if (i32.ge_u (local.get $mb) (i32.const 2))
      (then
        (loop $panel
          (call $f32_gemm_packed_k2
            (local.get $ai) (local.get $bq) (i32.add (local.get $ci) (i32.shl (local.get $q) (i32.const 2)))
            (i32.and (local.get $mb) (i32.const -2)) (local.get $k) (local.get $lda4) (local.get $ldc4)
            (local.get $bri) (local.get $bcq) (local.get $flags) (i32.sub (local.get $n) (local.get $q))
            (select (i32.add (local.get $bq) (local.get $ps)) (i32.const 0)
                    (i32.lt_u (i32.add (local.get $q) (i32.const 4)) (local.get $n))))
          (local.set $bq (i32.add (local.get $bq) (local.get $ps)))
          (local.set $bcq (call $f32_gemm_packed_adv (local.get $bcq) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 4)))
          (br_if $panel (i32.lt_u (local.get $q) (local.get $n))))))
    (if (i32.and (local.get $mb) (i32.const 1))
      (then
        (call $f32_gemm_packed_row
          (i32.add (local.get $ai) (i32.mul (local.get $last) (local.get $lda4)))
          (local.get $bp)
          (i32.add (local.get $ci) (i32.mul (local.get $last) (local.get $ldc4)))
          (local.get $n) (local.get $k)
          (call $f32_gemm_packed_adv (local.get $bri) (i32.shl (local.get $last) (i32.const 2)))
          (local.get $bias_col) (local.get $flags))))
    (local.set $ic (i32.add (local.get $ic) (local.get $mb)))
    (br_if $block (i32.lt_u (local.get $ic) (local.get $m)))))

;; @relaxed-simd -- everything below needs the relaxed-SIMD proposal
;; ---------------------------------------------------------------------------
;; FMA twins: $f32_gemm_packed_fma_k2, $f32_gemm_packed_fma_row and
;; $f32_gemm_packed_fma are copies of $f32_gemm_packed_k2, $f32_gemm_packed_row
;; and $f32_gemm_packed in which every
;;     (f32x4.add (local.get $cX) (f32x4.mul (local.get $s) LOAD))
;; became (f32x4.relaxed_madd (local.get $s) LOAD (local.get $cX)), except
;; that for the second row of k2 ($c1j) the operands are (LOAD, $s, $c1j), and
;; the calls point at the twins (tests/unit/test_gemm_packed_wat.py checks
;; this correspondence, so edit the plain code and regenerate the copy).
;; Why the operand order matters: Cranelift lowers relaxed_madd(x, y, z) to
;; vfmadd213ps / 132ps with the destination in a multiplicand's register,
;; never in the addend's (no 231 form), so each accumulating FMA costs a
;; register copy.  The B value dies at its second use, so (LOAD, $s) on the
;; second row saves 4 of the 8 copies per step: 49% -> 77% of the FMA peak
;; at 256^3 (all 4 orders measured).  Even so the FMA GEMM is front-end and
;; latency bound (8 accumulators x 4-cycle FMA = exactly 2 FMAs/cycle) at
;; ~67-72% of the relaxed_madd peak, i.e. the same GFLOP/s as the plain
;; kernel -- in wasmtime 50 and in Node 20 (V8: plain 90-93% of its mul+add
;; peak, FMA 61-64% of its FMA peak, same GFLOP/s).  With 16 xmm registers a
;; larger tile of this (dot-product) form does not fit.  Saved artifacts ship
;; the twin as their relaxed-SIMD variant (torch_wasm_backend/fma_variant.py)
;; beside the plain kernel; measured 2026-12-01 it runs at the plain kernel's
;; speed in Chromium 156 and Node 20 (0.9-1.1x) and 3-16% slower in wasmtime.
;; A 6x8 "loadsplat" outer-product FMA tile over B rows (12 accumulators,
;; benchmarks/peers/fma_tile_probe.py) is 5-12% faster in Chromium but 20-35%
;; slower in Node 20 and wasmtime, and needs another packed layout: not used.
;; ---------------------------------------------------------------------------

(func $f32_gemm_packed_fma_k2 (param $a i32) (param $bp i32) (param $c i32) (param $rows i32)
                          (param $k i32) (param $lda4 i32) (param $ldc4 i32)
                          (param $br i32) (param $bc i32) (param $flags i32) (param $nc i32)
                          (param $pf i32)
  (local $a0 i32) (local $a1 i32) (local $b i32) (local $aend i32) (local $r i32)
  (local $pfend i32) (local $lpp i32) (local $x i32)
  (local $s v128) (local $t v128) (local $u v128)
  (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
  (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
  (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
  ;; $pf: start of the next panel (same size, Kp*16 bytes, a multiple of 64)
  ;; or 0.  Each row pair first touches its share of the next panel's cache
  ;; lines (lpp of them), so B arrives from L3 spread over the panel instead
  ;; of in one burst at the start of the next one.
  (if (local.get $pf)
    (then
      (local.set $pfend (i32.add (local.get $pf)
                          (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4))))
      (local.set $lpp (i32.add (i32.div_u (i32.shr_u (i32.sub (local.get $pfend) (local.get $pf)) (i32.const 6))
                                          (i32.add (i32.shr_u (local.get $rows) (i32.const 1)) (i32.const 1)))
                               (i32.const 1)))))
  (block $done
    (loop $pair
      (br_if $done (i32.lt_u (local.get $rows) (i32.const 2)))
      (local.set $x (local.get $lpp))
      (block $touched
        (loop $touch
          (br_if $touched (i32.or (i32.eqz (local.get $x)) (i32.ge_u (local.get $pf) (local.get $pfend))))
          (drop (i32.load8_u (local.get $pf)))
          (local.set $pf (i32.add (local.get $pf) (i32.const 64)))
          (local.set $x (i32.sub (local.get $x) (i32.const 1)))
          (br $touch)))
      (local.set $r (i32.and (local.get $k) (i32.const 3)))
      (local.set $c00 (v128.const i32x4 0 0 0 0))
      (local.set $c01 (v128.const i32x4 0 0 0 0))
      (local.set $c02 (v128.const i32x4 0 0 0 0))
      (local.set $c03 (v128.const i32x4 0 0 0 0))
      (local.set $c10 (v128.const i32x4 0 0 0 0))
      (local.set $c11 (v128.const i32x4 0 0 0 0))
      (local.set $c12 (v128.const i32x4 0 0 0 0))
      (local.set $c13 (v128.const i32x4 0 0 0 0))
      (local.set $a0 (local.get $a))
      (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
      (local.set $b (local.get $bp))
      ;; the k loop ends on A's pointer: an end address derived from the
      ;; per-pair $a is not hoisted out of the pair loop, so it is not live
      ;; across the epilogue calls (a loop-invariant end pointer was, and
      ;; Cranelift then stored and reloaded it in every k iteration)
      (local.set $aend (i32.add (local.get $a) (i32.shl (i32.and (local.get $k) (i32.const -4)) (i32.const 2))))
      (if (i32.ne (local.get $a0) (local.get $aend))
        (then
          (loop $p
            (local.set $b0 (v128.load (local.get $b)))
            (local.set $b1 (v128.load offset=16 (local.get $b)))
            (local.set $b2 (v128.load offset=32 (local.get $b)))
            (local.set $b3 (v128.load offset=48 (local.get $b)))
            (local.set $s (v128.load (local.get $a0)))
            (local.set $c00 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c00)))
            (local.set $c01 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c01)))
            (local.set $c02 (f32x4.relaxed_madd (local.get $s) (local.get $b2) (local.get $c02)))
            (local.set $c03 (f32x4.relaxed_madd (local.get $s) (local.get $b3) (local.get $c03)))
            (local.set $s (v128.load (local.get $a1)))
            (local.set $c10 (f32x4.relaxed_madd (local.get $b0) (local.get $s) (local.get $c10)))
            (local.set $c11 (f32x4.relaxed_madd (local.get $b1) (local.get $s) (local.get $c11)))
            (local.set $c12 (f32x4.relaxed_madd (local.get $b2) (local.get $s) (local.get $c12)))
            (local.set $c13 (f32x4.relaxed_madd (local.get $b3) (local.get $s) (local.get $c13)))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 16)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 64)))
            (br_if $p (i32.ne (local.get $a0) (local.get $aend))))))
      (if (local.get $r)
        (then
          ;; last k % 4 values of each row (zero lanes above), zero-padded B group
          (local.set $b0 (v128.load (local.get $b)))
          (local.set $b1 (v128.load offset=16 (local.get $b)))
          (local.set $b2 (v128.load offset=32 (local.get $b)))
          (local.set $b3 (v128.load offset=48 (local.get $b)))
          (local.set $s
            (if (result v128) (i32.eq (local.get $r) (i32.const 1))
              (then (v128.load32_zero (local.get $a0)))
              (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
                (then (v128.load64_zero (local.get $a0)))
                (else (v128.load32_lane offset=8 2 (local.get $a0) (v128.load64_zero (local.get $a0))))))))
          (local.set $c00 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c00)))
          (local.set $c01 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c01)))
          (local.set $c02 (f32x4.relaxed_madd (local.get $s) (local.get $b2) (local.get $c02)))
          (local.set $c03 (f32x4.relaxed_madd (local.get $s) (local.get $b3) (local.get $c03)))
          (local.set $s
            (if (result v128) (i32.eq (local.get $r) (i32.const 1))
              (then (v128.load32_zero (local.get $a1)))
              (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
                (then (v128.load64_zero (local.get $a1)))
                (else (v128.load32_lane offset=8 2 (local.get $a1) (v128.load64_zero (local.get $a1))))))))
          (local.set $c10 (f32x4.relaxed_madd (local.get $b0) (local.get $s) (local.get $c10)))
          (local.set $c11 (f32x4.relaxed_madd (local.get $b1) (local.get $s) (local.get $c11)))
          (local.set $c12 (f32x4.relaxed_madd (local.get $b2) (local.get $s) (local.get $c12)))
          (local.set $c13 (f32x4.relaxed_madd (local.get $b3) (local.get $s) (local.get $c13)))))
      ;; lane reduction: out[j] = (acc_j[0] + acc_j[2]) + (acc_j[1] + acc_j[3])
      (local.set $t (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c00) (local.get $c01))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c00) (local.get $c01))))
      (local.set $u (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c02) (local.get $c03))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c02) (local.get $c03))))
      (local.set $c00 (f32x4.add
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
      (local.set $t (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c10) (local.get $c11))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c10) (local.get $c11))))
      (local.set $u (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c12) (local.get $c13))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c12) (local.get $c13))))
      (local.set $c10 (f32x4.add
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
      (if (i32.ge_u (local.get $nc) (i32.const 4))
        (then
          ;; full panel: epilogue inline (a call here costs more than the work)
          (if (local.get $br)
            (then
              (local.set $c00 (f32x4.add (local.get $c00) (v128.load32_splat (local.get $br))))
              (local.set $c10 (f32x4.add (local.get $c10) (v128.load32_splat offset=4 (local.get $br))))))
          (if (local.get $bc)
            (then
              (local.set $t (v128.load (local.get $bc)))
              (local.set $c00 (f32x4.add (local.get $c00) (local.get $t)))
              (local.set $c10 (f32x4.add (local.get $c10) (local.get $t)))))
          (if (i32.and (local.get $flags) (i32.const 1))
            (then
              (local.set $c00 (f32x4.add (v128.load (local.get $c)) (local.get $c00)))
              (local.set $c10 (f32x4.add (v128.load (i32.add (local.get $c) (local.get $ldc4))) (local.get $c10)))))
          (if (i32.and (local.get $flags) (i32.const 6))
            (then
              (local.set $c00 (f32x4.max (local.get $c00) (v128.const f32x4 0 0 0 0)))
              (local.set $c10 (f32x4.max (local.get $c10) (v128.const f32x4 0 0 0 0)))))
          (if (i32.and (local.get $flags) (i32.const 4))
            (then
              (local.set $c00 (f32x4.min (local.get $c00) (v128.const f32x4 6 6 6 6)))
              (local.set $c10 (f32x4.min (local.get $c10) (v128.const f32x4 6 6 6 6)))))
          (v128.store (local.get $c) (local.get $c00))
          (v128.store (i32.add (local.get $c) (local.get $ldc4)) (local.get $c10)))
        (else
          (call $f32_gemm_packed_store (local.get $c00) (local.get $c) (local.get $br) (local.get $bc)
                                       (local.get $flags) (local.get $nc))
          (call $f32_gemm_packed_store (local.get $c10) (i32.add (local.get $c) (local.get $ldc4))
                                       (call $f32_gemm_packed_adv (local.get $br) (i32.const 4))
                                       (local.get $bc) (local.get $flags) (local.get $nc))))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lda4) (i32.const 1))))
      (local.set $c (i32.add (local.get $c) (i32.shl (local.get $ldc4) (i32.const 1))))
      (local.set $br (call $f32_gemm_packed_adv (local.get $br) (i32.const 8)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 2)))
      (br $pair))))

(func $f32_gemm_packed_fma_row (param $a i32) (param $bp i32) (param $c i32) (param $n i32)
                           (param $k i32) (param $br i32) (param $bc i32) (param $flags i32)
  (local $q i32) (local $ps i32) (local $b i32) (local $bend i32) (local $ak i32)
  (local $r i32) (local $nc i32)
  (local $s v128) (local $t v128) (local $u v128)
  (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
  (local.set $ps (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4)))
  (local.set $r (i32.and (local.get $k) (i32.const 3)))
  (loop $panel
    (local.set $c0 (v128.const i32x4 0 0 0 0))
    (local.set $c1 (v128.const i32x4 0 0 0 0))
    (local.set $c2 (v128.const i32x4 0 0 0 0))
    (local.set $c3 (v128.const i32x4 0 0 0 0))
    (local.set $ak (local.get $a))
    (local.set $b (local.get $bp))
    ;; derived from the per-panel $bp, so not hoisted out of the panel loop
    (local.set $bend (i32.add (local.get $bp) (i32.shl (i32.shr_u (local.get $k) (i32.const 2)) (i32.const 6))))
    (if (i32.and (local.get $k) (i32.const 4))
      (then
        ;; odd number of full groups: one group first
        (local.set $s (v128.load (local.get $ak)))
        (local.set $c0 (f32x4.relaxed_madd (local.get $s) (v128.load (local.get $b)) (local.get $c0)))
        (local.set $c1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $b)) (local.get $c1)))
        (local.set $c2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=32 (local.get $b)) (local.get $c2)))
        (local.set $c3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=48 (local.get $b)) (local.get $c3)))
        (local.set $ak (i32.add (local.get $ak) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 64)))))
    (if (i32.ne (local.get $b) (local.get $bend))
      (then
        (loop $p
          (local.set $s (v128.load (local.get $ak)))
          (local.set $c0 (f32x4.relaxed_madd (local.get $s) (v128.load (local.get $b)) (local.get $c0)))
          (local.set $c1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $b)) (local.get $c1)))
          (local.set $c2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=32 (local.get $b)) (local.get $c2)))
          (local.set $c3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=48 (local.get $b)) (local.get $c3)))
          (local.set $s (v128.load offset=16 (local.get $ak)))
          (local.set $c0 (f32x4.relaxed_madd (local.get $s) (v128.load offset=64 (local.get $b)) (local.get $c0)))
          (local.set $c1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=80 (local.get $b)) (local.get $c1)))
          (local.set $c2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=96 (local.get $b)) (local.get $c2)))
          (local.set $c3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=112 (local.get $b)) (local.get $c3)))
          (local.set $ak (i32.add (local.get $ak) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 128)))
          (br_if $p (i32.ne (local.get $b) (local.get $bend))))))
    (if (local.get $r)
      (then
        (local.set $s
          (if (result v128) (i32.eq (local.get $r) (i32.const 1))
            (then (v128.load32_zero (local.get $ak)))
            (else (if (result v128) (i32.eq (local.get $r) (i32.const 2))
              (then (v128.load64_zero (local.get $ak)))
              (else (v128.load32_lane offset=8 2 (local.get $ak) (v128.load64_zero (local.get $ak))))))))
        (local.set $c0 (f32x4.relaxed_madd (local.get $s) (v128.load (local.get $b)) (local.get $c0)))
        (local.set $c1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $b)) (local.get $c1)))
        (local.set $c2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=32 (local.get $b)) (local.get $c2)))
        (local.set $c3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=48 (local.get $b)) (local.get $c3)))))
    (local.set $t (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c0) (local.get $c1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c0) (local.get $c1))))
    (local.set $u (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c2) (local.get $c3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c2) (local.get $c3))))
    (local.set $s (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t) (local.get $u))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t) (local.get $u))))
    (local.set $nc (i32.sub (local.get $n) (local.get $q)))
    (if (i32.ge_u (local.get $nc) (i32.const 4))
      (then
        (if (local.get $br)
          (then (local.set $s (f32x4.add (local.get $s) (v128.load32_splat (local.get $br))))))
        (if (local.get $bc)
          (then (local.set $s (f32x4.add (local.get $s) (v128.load (local.get $bc))))))
        (if (i32.and (local.get $flags) (i32.const 1))
          (then (local.set $s (f32x4.add (v128.load (local.get $c)) (local.get $s)))))
        (if (i32.and (local.get $flags) (i32.const 6))
          (then (local.set $s (f32x4.max (local.get $s) (v128.const f32x4 0 0 0 0)))))
        (if (i32.and (local.get $flags) (i32.const 4))
          (then (local.set $s (f32x4.min (local.get $s) (v128.const f32x4 6 6 6 6)))))
        (v128.store (local.get $c) (local.get $s)))
      (else
        (call $f32_gemm_packed_store (local.get $s) (local.get $c) (local.get $br) (local.get $bc)
                                     (local.get $flags) (local.get $nc))))
    (local.set $bp (i32.add (local.get $bp) (local.get $ps)))
    (local.set $c (i32.add (local.get $c) (i32.const 16)))
    (local.set $bc (call $f32_gemm_packed_adv (local.get $bc) (i32.const 16)))
    (local.set $q (i32.add (local.get $q) (i32.const 4)))
    (br_if $panel (i32.lt_u (local.get $q) (local.get $n)))))

(func $f32_gemm_packed_fma (param $a i32) (param $bp i32) (param $c i32)
                       (param $m i32) (param $n i32) (param $k i32)
                       (param $lda i32) (param $ldc i32)
                       (param $bias_row i32) (param $bias_col i32) (param $flags i32)
  (local $lda4 i32) (local $ldc4 i32) (local $ps i32) (local $mc i32)
  (local $ic i32) (local $mb i32) (local $q i32) (local $last i32)
  (local $ai i32) (local $ci i32) (local $bri i32) (local $bq i32) (local $bcq i32)
  (local.set $flags (i32.and (local.get $flags) (i32.const 7)))
  (if (i32.or (i32.eqz (local.get $m)) (i32.eqz (local.get $n))) (then (return)))
  (if (i32.and
        (i32.and (i32.eqz (local.get $k)) (i32.eq (local.get $flags) (i32.const 1)))
        (i32.eqz (i32.or (local.get $bias_row) (local.get $bias_col))))
    (then (return)))
  (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
  (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
  ;; bytes per packed panel: Kp * 16
  (local.set $ps (i32.shl (i32.and (i32.add (local.get $k) (i32.const 3)) (i32.const -4)) (i32.const 4)))
  ;; row block: MC rows of A, MC * k * 4 <= MC_BYTES = 786432, even, >= 2
  (local.set $mc (i32.and (i32.div_u (i32.const 786432)
                                     (i32.shl (select (local.get $k) (i32.const 1) (local.get $k)) (i32.const 2)))
                          (i32.const -2)))
  (if (i32.lt_u (local.get $mc) (i32.const 2)) (then (local.set $mc (i32.const 2))))
  (loop $block
    (local.set $mb (i32.sub (local.get $m) (local.get $ic)))
    (if (i32.lt_u (local.get $mc) (local.get $mb)) (then (local.set $mb (local.get $mc))))
    (local.set $ai (i32.add (local.get $a) (i32.mul (local.get $ic) (local.get $lda4))))
    (local.set $ci (i32.add (local.get $c) (i32.mul (local.get $ic) (local.get $ldc4))))
    (local.set $bri (call $f32_gemm_packed_adv (local.get $bias_row) (i32.shl (local.get $ic) (i32.const 2))))
    ;; the odd last row of the block (only the last block can be odd)
    (local.set $last (i32.sub (local.get $mb) (i32.const 1)))
    (local.set $q (i32.const 0))
    (local.set $bq (local.get $bp))
    (local.set $bcq (local.get $bias_col))
    (if (i32.ge_u (local.get $mb) (i32.const 2))
      (then
        (loop $panel
          (call $f32_gemm_packed_fma_k2
            (local.get $ai) (local.get $bq) (i32.add (local.get $ci) (i32.shl (local.get $q) (i32.const 2)))
            (i32.and (local.get $mb) (i32.const -2)) (local.get $k) (local.get $lda4) (local.get $ldc4)
            (local.get $bri) (local.get $bcq) (local.get $flags) (i32.sub (local.get $n) (local.get $q))
            (select (i32.add (local.get $bq) (local.get $ps)) (i32.const 0)
                    (i32.lt_u (i32.add (local.get $q) (i32.const 4)) (local.get $n))))
          (local.set $bq (i32.add (local.get $bq) (local.get $ps)))
          (local.set $bcq (call $f32_gemm_packed_adv (local.get $bcq) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 4)))
          (br_if $panel (i32.lt_u (local.get $q) (local.get $n))))))
    (if (i32.and (local.get $mb) (i32.const 1))
      (then
        (call $f32_gemm_packed_fma_row
          (i32.add (local.get $ai) (i32.mul (local.get $last) (local.get $lda4)))
          (local.get $bp)
          (i32.add (local.get $ci) (i32.mul (local.get $last) (local.get $ldc4)))
          (local.get $n) (local.get $k)
          (call $f32_gemm_packed_adv (local.get $bri) (i32.shl (local.get $last) (i32.const 2)))
          (local.get $bias_col) (local.get $flags))))
    (local.set $ic (i32.add (local.get $ic) (local.get $mb)))
    (br_if $block (i32.lt_u (local.get $ic) (local.get $m)))))
