;; ---------------------------------------------------------------------------
;; f32_gemm.wat -- register-blocked float32 GEMM microkernel (WebAssembly SIMD128)
;;
;; FRAGMENT of module fields: only (func ...) definitions -- no (module ...)
;; wrapper, exports, imports, globals, data or memory.  It is concatenated
;; into generated modules and uses their memory (index 0).  Every function
;; name starts with $f32_gemm.  Needs the SIMD128 proposal only (no relaxed
;; SIMD, no threads).
;;
;; Entry point
;;   (func $f32_gemm (param $a i32) (param $b i32) (param $c i32)
;;                   (param $m i32) (param $n i32) (param $k i32)
;;                   (param $lda i32) (param $ldb i32) (param $ldc i32)
;;                   (param $bias_row i32) (param $bias_col i32) (param $flags i32))
;;
;;   For every i < m, j < n:
;;     s      = (((+0.0 + A[i,0]*B[0,j]) + A[i,1]*B[1,j]) + ...) + A[i,k-1]*B[k-1,j]
;;     s      = s + bias_row[i]          (only if bias_row != 0)
;;     s      = s + bias_col[j]          (only if bias_col != 0)
;;     s      = C[i,j] + s               (only if flags & 1, "accumulate")
;;     s      = max(s, +0.0)             (only if flags & 2, "relu"; NaN stays NaN)
;;     C[i,j] = s
;;   m, n, k may be 0.  m == 0 or n == 0: nothing is touched.  k == 0 gives
;;   s = +0.0 (+ biases).  k == 0 with flags == 1 and no bias returns at once,
;;   leaving C bit-for-bit unchanged.  Only bits 0 and 1 of $flags are
;;   meaningful; the others are ignored.
;;
;; Layout (sizes and leading dimensions in f32 elements, addresses in bytes):
;;   A[i,p]      at a + 4*(i*lda + p)      (unit stride along p)
;;   B[p,j]      at b + 4*(p*ldb + j)      (unit stride along j)
;;   C[i,j]      at c + 4*(i*ldc + j)      (unit stride along j)
;;   bias_row[i] at bias_row + 4*i, bias_col[j] at bias_col + 4*j; an address
;;   of 0 means "no bias" (address 0 is never a real buffer).
;;   Alignment: none assumed.  All v128 loads/stores carry the default
;;   alignment hint, which is only a hint and is legal on unaligned addresses.
;;   Bounds: only the elements named above are read; only C[0..m, 0..n) is
;;   written, so every operand may be a sub-matrix view with live neighbours.
;;   C must not overlap A, B or the biases (C is also used to hold partial
;;   sums between k blocks, see below).
;;
;; Numerics: every product is one f32 mul and is added with one f32 add, in
;; increasing p order, starting from +0.0 (no FMA, no relaxed SIMD, no
;; reassociation, no k splitting into independent partial sums).  SIMD and
;; scalar paths perform the same IEEE operations, so results are bit-identical
;; on every host (up to NaN payloads) and independent of the tiling.
;;
;; Algorithm (no packing, operands are read in place):
;;   $f32_gemm       splits the columns into strips of nc columns and, when
;;                   not accumulating, k into blocks of kc = 256, so that the
;;                   kc x nc block of B (<= 256 KiB) stays cache resident while
;;                   all row panels of A stream past it.  Between k blocks the
;;                   raw partial sums are parked in C and reloaded as the
;;                   starting accumulator values, which keeps the summation
;;                   order (and so the result) identical to a single pass.
;;                   In accumulate mode C holds the old values, so k is not
;;                   split (only columns are).
;;   $f32_gemm_rows  row panels of 4 ($f32_gemm_panel4), then the remaining
;;                   m % 4 rows one by one ($f32_gemm_panel1).
;;   panels          column blocks of 8, then at most one block of 4, then
;;                   single columns, each handled by a microkernel that keeps
;;                   the whole output tile in registers over the k loop:
;;     4x8  8 f32x4 accumulators; per p: B row segment loaded as 2 v128, each
;;          of the 4 A elements broadcast (v128.load32_splat), 8 mul +
;;          8 add.  8 acc + 2 B + splat + product = 12 of 16 xmm registers.
;;          (V8 lowers v128.load32_splat to one vbroadcastss from memory and
;;          f32x4.splat(f32.load) to vmovss + vbroadcastss; Cranelift the
;;          first to a GPR load + vmovd + vpbroadcastd, the second to two.
;;          load32_splat, same rounds (gemm_probe-style loop, 4 small-k
;;          shapes, best batches, loaded host, 2026-12-02): Chromium 1.1-1.4x,
;;          Node 1.15-1.25x, wasmtime 0.86-1.13x.)
;;     4x4  4 accumulators, 1 v128 of B per p.
;;     4x1  4 scalar f32 accumulators (n tail).
;;     1x8 / 1x4 / 1x1   single-row variants (m tail).
;;   The epilogue (bias, accumulate, relu, store) is written inline in each
;;   microkernel: any call while the accumulators are live makes Cranelift
;;   spill them inside the k loop (measured: 18 -> 28 GFLOP/s).
;;   Measurements (benchmarks/gemm_probe.py, wasmtime 50, x86-64 AVX-512
;;   host, register-only SIMD128 mul+add peak ~42 GFLOP/s): 4x8, 5x8, 6x8,
;;   4x12, 3x16, 2x24, 4x16, with and without unrolling p by 2, all landed
;;   within ~10% of each other (25-31 GFLOP/s, about the run-to-run noise),
;;   so the simplest, 4x8, was kept: ~27-28 GFLOP/s at 256^3 and 512^3.
;;   The k blocking matters for power-of-two ldb (every B row in the same
;;   cache set): 1024^3 went from ~9 to ~26 GFLOP/s.  Accumulate mode cannot
;;   block k, so large power-of-two shapes stay at ~9 GFLOP/s there.
;;   When B is a constant (weights), f32_gemm_packed.wat is faster: B packed
;;   once at prepare time, 2x4 dot-product tiles, ~86-92% of the register-
;;   only peak of f32_peak.wat against ~58-68% for this kernel in the same
;;   runs (benchmarks/gemm_probe.py); its summation order differs.
;;
;; Internal flag bits passed to the microkernels (never by callers):
;;   4  ("continue")  start from the partial sums stored in C, not from +0.0
;;   8  ("partial")   store the raw sums; skip bias / accumulate / relu
;; ---------------------------------------------------------------------------

;; p ? p + d : 0   (advance an optional bias pointer)
(func $f32_gemm_adv (param $p i32) (param $d i32) (result i32)
  (select (i32.add (local.get $p) (local.get $d)) (i32.const 0) (local.get $p)))

;; ---------------------------------------------------------------------------
;; Microkernels.  Common parameters:
;;   $a     address of A[i0, p0]          $b    address of B[p0, j0]
;;   $c     address of C[i0, j0]          $k    depth of this k block (>= 0)
;;   $lda4 / $ldb4 / $ldc4                leading dimensions in BYTES
;;   $br    address of bias_row[i0] or 0  $bc   address of bias_col[j0] or 0
;;   $flags bits 0, 1 as for $f32_gemm, plus internal bits 4 and 8
;; ---------------------------------------------------------------------------

;; 4 rows x 8 columns
(func $f32_gemm_4x8 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $lda4 i32) (param $ldb4 i32) (param $ldc4 i32)
                    (param $br i32) (param $bc i32) (param $flags i32)
  (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $aend i32)
  (local $c1 i32) (local $c2 i32) (local $c3 i32)
  (local $v0 v128) (local $v1 v128) (local $s v128)
  (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
  (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
  (if (i32.and (local.get $flags) (i32.const 4))
    (then
      (local.set $c1 (i32.add (local.get $c) (local.get $ldc4)))
      (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
      (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
      (local.set $c00 (v128.load (local.get $c)))
      (local.set $c01 (v128.load offset=16 (local.get $c)))
      (local.set $c10 (v128.load (local.get $c1)))
      (local.set $c11 (v128.load offset=16 (local.get $c1)))
      (local.set $c20 (v128.load (local.get $c2)))
      (local.set $c21 (v128.load offset=16 (local.get $c2)))
      (local.set $c30 (v128.load (local.get $c3)))
      (local.set $c31 (v128.load offset=16 (local.get $c3)))))
  (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
  (local.set $a2 (i32.add (local.get $a1) (local.get $lda4)))
  (local.set $a3 (i32.add (local.get $a2) (local.get $lda4)))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $v0 (v128.load (local.get $b)))
        (local.set $v1 (v128.load offset=16 (local.get $b)))
        (local.set $s (v128.load32_splat (local.get $a)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $v0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $v1))))
        (local.set $s (v128.load32_splat (local.get $a1)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $v0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $v1))))
        (local.set $s (v128.load32_splat (local.get $a2)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $v0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $v1))))
        (local.set $s (v128.load32_splat (local.get $a3)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $v0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $v1))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (local.set $c1 (i32.add (local.get $c) (local.get $ldc4)))
  (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
  (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then
          (local.set $s (v128.load32_splat (local.get $br)))
          (local.set $c00 (f32x4.add (local.get $c00) (local.get $s)))
          (local.set $c01 (f32x4.add (local.get $c01) (local.get $s)))
          (local.set $s (v128.load32_splat offset=4 (local.get $br)))
          (local.set $c10 (f32x4.add (local.get $c10) (local.get $s)))
          (local.set $c11 (f32x4.add (local.get $c11) (local.get $s)))
          (local.set $s (v128.load32_splat offset=8 (local.get $br)))
          (local.set $c20 (f32x4.add (local.get $c20) (local.get $s)))
          (local.set $c21 (f32x4.add (local.get $c21) (local.get $s)))
          (local.set $s (v128.load32_splat offset=12 (local.get $br)))
          (local.set $c30 (f32x4.add (local.get $c30) (local.get $s)))
          (local.set $c31 (f32x4.add (local.get $c31) (local.get $s)))))
      (if (local.get $bc)
        (then
          (local.set $v0 (v128.load (local.get $bc)))
          (local.set $v1 (v128.load offset=16 (local.get $bc)))
          (local.set $c00 (f32x4.add (local.get $c00) (local.get $v0)))
          (local.set $c01 (f32x4.add (local.get $c01) (local.get $v1)))
          (local.set $c10 (f32x4.add (local.get $c10) (local.get $v0)))
          (local.set $c11 (f32x4.add (local.get $c11) (local.get $v1)))
          (local.set $c20 (f32x4.add (local.get $c20) (local.get $v0)))
          (local.set $c21 (f32x4.add (local.get $c21) (local.get $v1)))
          (local.set $c30 (f32x4.add (local.get $c30) (local.get $v0)))
          (local.set $c31 (f32x4.add (local.get $c31) (local.get $v1)))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then
          (local.set $c00 (f32x4.add (v128.load (local.get $c)) (local.get $c00)))
          (local.set $c01 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c01)))
          (local.set $c10 (f32x4.add (v128.load (local.get $c1)) (local.get $c10)))
          (local.set $c11 (f32x4.add (v128.load offset=16 (local.get $c1)) (local.get $c11)))
          (local.set $c20 (f32x4.add (v128.load (local.get $c2)) (local.get $c20)))
          (local.set $c21 (f32x4.add (v128.load offset=16 (local.get $c2)) (local.get $c21)))
          (local.set $c30 (f32x4.add (v128.load (local.get $c3)) (local.get $c30)))
          (local.set $c31 (f32x4.add (v128.load offset=16 (local.get $c3)) (local.get $c31)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then
          (local.set $s (v128.const i32x4 0 0 0 0))
          (local.set $c00 (f32x4.max (local.get $c00) (local.get $s)))
          (local.set $c01 (f32x4.max (local.get $c01) (local.get $s)))
          (local.set $c10 (f32x4.max (local.get $c10) (local.get $s)))
          (local.set $c11 (f32x4.max (local.get $c11) (local.get $s)))
          (local.set $c20 (f32x4.max (local.get $c20) (local.get $s)))
          (local.set $c21 (f32x4.max (local.get $c21) (local.get $s)))
          (local.set $c30 (f32x4.max (local.get $c30) (local.get $s)))
          (local.set $c31 (f32x4.max (local.get $c31) (local.get $s)))))))
  (v128.store (local.get $c) (local.get $c00))
  (v128.store offset=16 (local.get $c) (local.get $c01))
  (v128.store (local.get $c1) (local.get $c10))
  (v128.store offset=16 (local.get $c1) (local.get $c11))
  (v128.store (local.get $c2) (local.get $c20))
  (v128.store offset=16 (local.get $c2) (local.get $c21))
  (v128.store (local.get $c3) (local.get $c30))
  (v128.store offset=16 (local.get $c3) (local.get $c31)))

;; 4 rows x 4 columns
(func $f32_gemm_4x4 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $lda4 i32) (param $ldb4 i32) (param $ldc4 i32)
                    (param $br i32) (param $bc i32) (param $flags i32)
  (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $aend i32)
  (local $c1 i32) (local $c2 i32) (local $c3 i32)
  (local $v0 v128) (local $s v128)
  (local $c0 v128) (local $c1v v128) (local $c2v v128) (local $c3v v128)
  (local.set $c1 (i32.add (local.get $c) (local.get $ldc4)))
  (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
  (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
  (if (i32.and (local.get $flags) (i32.const 4))
    (then
      (local.set $c0 (v128.load (local.get $c)))
      (local.set $c1v (v128.load (local.get $c1)))
      (local.set $c2v (v128.load (local.get $c2)))
      (local.set $c3v (v128.load (local.get $c3)))))
  (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
  (local.set $a2 (i32.add (local.get $a1) (local.get $lda4)))
  (local.set $a3 (i32.add (local.get $a2) (local.get $lda4)))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $v0 (v128.load (local.get $b)))
        (local.set $c0 (f32x4.add (local.get $c0)
                         (f32x4.mul (v128.load32_splat (local.get $a)) (local.get $v0))))
        (local.set $c1v (f32x4.add (local.get $c1v)
                          (f32x4.mul (v128.load32_splat (local.get $a1)) (local.get $v0))))
        (local.set $c2v (f32x4.add (local.get $c2v)
                          (f32x4.mul (v128.load32_splat (local.get $a2)) (local.get $v0))))
        (local.set $c3v (f32x4.add (local.get $c3v)
                          (f32x4.mul (v128.load32_splat (local.get $a3)) (local.get $v0))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then
          (local.set $c0 (f32x4.add (local.get $c0) (v128.load32_splat (local.get $br))))
          (local.set $c1v (f32x4.add (local.get $c1v) (v128.load32_splat offset=4 (local.get $br))))
          (local.set $c2v (f32x4.add (local.get $c2v) (v128.load32_splat offset=8 (local.get $br))))
          (local.set $c3v (f32x4.add (local.get $c3v) (v128.load32_splat offset=12 (local.get $br))))))
      (if (local.get $bc)
        (then
          (local.set $v0 (v128.load (local.get $bc)))
          (local.set $c0 (f32x4.add (local.get $c0) (local.get $v0)))
          (local.set $c1v (f32x4.add (local.get $c1v) (local.get $v0)))
          (local.set $c2v (f32x4.add (local.get $c2v) (local.get $v0)))
          (local.set $c3v (f32x4.add (local.get $c3v) (local.get $v0)))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then
          (local.set $c0 (f32x4.add (v128.load (local.get $c)) (local.get $c0)))
          (local.set $c1v (f32x4.add (v128.load (local.get $c1)) (local.get $c1v)))
          (local.set $c2v (f32x4.add (v128.load (local.get $c2)) (local.get $c2v)))
          (local.set $c3v (f32x4.add (v128.load (local.get $c3)) (local.get $c3v)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then
          (local.set $s (v128.const i32x4 0 0 0 0))
          (local.set $c0 (f32x4.max (local.get $c0) (local.get $s)))
          (local.set $c1v (f32x4.max (local.get $c1v) (local.get $s)))
          (local.set $c2v (f32x4.max (local.get $c2v) (local.get $s)))
          (local.set $c3v (f32x4.max (local.get $c3v) (local.get $s)))))))
  (v128.store (local.get $c) (local.get $c0))
  (v128.store (local.get $c1) (local.get $c1v))
  (v128.store (local.get $c2) (local.get $c2v))
  (v128.store (local.get $c3) (local.get $c3v)))

;; 4 rows x 1 column (scalar)
(func $f32_gemm_4x1 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $lda4 i32) (param $ldb4 i32) (param $ldc4 i32)
                    (param $br i32) (param $bc i32) (param $flags i32)
  (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $aend i32)
  (local $c1 i32) (local $c2 i32) (local $c3 i32)
  (local $x f32)
  (local $c0 f32) (local $c1s f32) (local $c2s f32) (local $c3s f32)
  (local.set $c1 (i32.add (local.get $c) (local.get $ldc4)))
  (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
  (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
  (if (i32.and (local.get $flags) (i32.const 4))
    (then
      (local.set $c0 (f32.load (local.get $c)))
      (local.set $c1s (f32.load (local.get $c1)))
      (local.set $c2s (f32.load (local.get $c2)))
      (local.set $c3s (f32.load (local.get $c3)))))
  (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
  (local.set $a2 (i32.add (local.get $a1) (local.get $lda4)))
  (local.set $a3 (i32.add (local.get $a2) (local.get $lda4)))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $x (f32.load (local.get $b)))
        (local.set $c0 (f32.add (local.get $c0) (f32.mul (f32.load (local.get $a)) (local.get $x))))
        (local.set $c1s (f32.add (local.get $c1s) (f32.mul (f32.load (local.get $a1)) (local.get $x))))
        (local.set $c2s (f32.add (local.get $c2s) (f32.mul (f32.load (local.get $a2)) (local.get $x))))
        (local.set $c3s (f32.add (local.get $c3s) (f32.mul (f32.load (local.get $a3)) (local.get $x))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then
          (local.set $c0 (f32.add (local.get $c0) (f32.load (local.get $br))))
          (local.set $c1s (f32.add (local.get $c1s) (f32.load offset=4 (local.get $br))))
          (local.set $c2s (f32.add (local.get $c2s) (f32.load offset=8 (local.get $br))))
          (local.set $c3s (f32.add (local.get $c3s) (f32.load offset=12 (local.get $br))))))
      (if (local.get $bc)
        (then
          (local.set $x (f32.load (local.get $bc)))
          (local.set $c0 (f32.add (local.get $c0) (local.get $x)))
          (local.set $c1s (f32.add (local.get $c1s) (local.get $x)))
          (local.set $c2s (f32.add (local.get $c2s) (local.get $x)))
          (local.set $c3s (f32.add (local.get $c3s) (local.get $x)))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then
          (local.set $c0 (f32.add (f32.load (local.get $c)) (local.get $c0)))
          (local.set $c1s (f32.add (f32.load (local.get $c1)) (local.get $c1s)))
          (local.set $c2s (f32.add (f32.load (local.get $c2)) (local.get $c2s)))
          (local.set $c3s (f32.add (f32.load (local.get $c3)) (local.get $c3s)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then
          (local.set $c0 (f32.max (local.get $c0) (f32.const 0)))
          (local.set $c1s (f32.max (local.get $c1s) (f32.const 0)))
          (local.set $c2s (f32.max (local.get $c2s) (f32.const 0)))
          (local.set $c3s (f32.max (local.get $c3s) (f32.const 0)))))))
  (f32.store (local.get $c) (local.get $c0))
  (f32.store (local.get $c1) (local.get $c1s))
  (f32.store (local.get $c2) (local.get $c2s))
  (f32.store (local.get $c3) (local.get $c3s)))

;; 1 row x 8 columns
(func $f32_gemm_1x8 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $ldb4 i32) (param $br i32) (param $bc i32) (param $flags i32)
  (local $aend i32) (local $s v128) (local $c0 v128) (local $c1 v128)
  (if (i32.and (local.get $flags) (i32.const 4))
    (then
      (local.set $c0 (v128.load (local.get $c)))
      (local.set $c1 (v128.load offset=16 (local.get $c)))))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $s (v128.load32_splat (local.get $a)))
        (local.set $c0 (f32x4.add (local.get $c0)
                         (f32x4.mul (local.get $s) (v128.load (local.get $b)))))
        (local.set $c1 (f32x4.add (local.get $c1)
                         (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then
          (local.set $s (v128.load32_splat (local.get $br)))
          (local.set $c0 (f32x4.add (local.get $c0) (local.get $s)))
          (local.set $c1 (f32x4.add (local.get $c1) (local.get $s)))))
      (if (local.get $bc)
        (then
          (local.set $c0 (f32x4.add (local.get $c0) (v128.load (local.get $bc))))
          (local.set $c1 (f32x4.add (local.get $c1) (v128.load offset=16 (local.get $bc))))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then
          (local.set $c0 (f32x4.add (v128.load (local.get $c)) (local.get $c0)))
          (local.set $c1 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c1)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then
          (local.set $s (v128.const i32x4 0 0 0 0))
          (local.set $c0 (f32x4.max (local.get $c0) (local.get $s)))
          (local.set $c1 (f32x4.max (local.get $c1) (local.get $s)))))))
  (v128.store (local.get $c) (local.get $c0))
  (v128.store offset=16 (local.get $c) (local.get $c1)))

;; 1 row x 4 columns
(func $f32_gemm_1x4 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $ldb4 i32) (param $br i32) (param $bc i32) (param $flags i32)
  (local $aend i32) (local $c0 v128)
  (if (i32.and (local.get $flags) (i32.const 4))
    (then (local.set $c0 (v128.load (local.get $c)))))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $c0 (f32x4.add (local.get $c0)
                         (f32x4.mul (v128.load32_splat (local.get $a))
                                    (v128.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then (local.set $c0 (f32x4.add (local.get $c0) (v128.load32_splat (local.get $br))))))
      (if (local.get $bc)
        (then (local.set $c0 (f32x4.add (local.get $c0) (v128.load (local.get $bc))))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then (local.set $c0 (f32x4.add (v128.load (local.get $c)) (local.get $c0)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then (local.set $c0 (f32x4.max (local.get $c0) (v128.const i32x4 0 0 0 0)))))))
  (v128.store (local.get $c) (local.get $c0)))

;; 1 row x 1 column (scalar)
(func $f32_gemm_1x1 (param $a i32) (param $b i32) (param $c i32) (param $k i32)
                    (param $ldb4 i32) (param $br i32) (param $bc i32) (param $flags i32)
  (local $aend i32) (local $c0 f32)
  (if (i32.and (local.get $flags) (i32.const 4))
    (then (local.set $c0 (f32.load (local.get $c)))))
  (local.set $aend (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
  (if (local.get $k)
    (then
      (loop $p
        (local.set $c0 (f32.add (local.get $c0)
                         (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb4)))
        (br_if $p (i32.ne (local.get $a) (local.get $aend))))))
  (if (i32.eqz (i32.and (local.get $flags) (i32.const 8)))
    (then
      (if (local.get $br)
        (then (local.set $c0 (f32.add (local.get $c0) (f32.load (local.get $br))))))
      (if (local.get $bc)
        (then (local.set $c0 (f32.add (local.get $c0) (f32.load (local.get $bc))))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then (local.set $c0 (f32.add (f32.load (local.get $c)) (local.get $c0)))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then (local.set $c0 (f32.max (local.get $c0) (f32.const 0)))))))
  (f32.store (local.get $c) (local.get $c0)))

;; ---------------------------------------------------------------------------
;; Row panels: all n columns of 4 rows / of 1 row.
;;   $br   address of bias_row[i0] or 0
;;   $bcol address of bias_col[j0] or 0 (j0 = first column of the panel)
;; ---------------------------------------------------------------------------

(func $f32_gemm_panel4 (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $k i32)
                       (param $lda4 i32) (param $ldb4 i32) (param $ldc4 i32)
                       (param $br i32) (param $bcol i32) (param $flags i32)
  (local $j i32) (local $jo i32)
  ;; blocks of 8 columns
  (block $done8
    (loop $j8
      (br_if $done8 (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_4x8
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $lda4) (local.get $ldb4) (local.get $ldc4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $j8)))
  ;; at most one block of 4
  (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $n))
    (then
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_4x4
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $lda4) (local.get $ldb4) (local.get $ldc4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))))
  ;; 0..3 single columns
  (block $done1
    (loop $j1
      (br_if $done1 (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_4x1
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $lda4) (local.get $ldb4) (local.get $ldc4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $j1))))

(func $f32_gemm_panel1 (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $k i32)
                       (param $ldb4 i32) (param $br i32) (param $bcol i32) (param $flags i32)
  (local $j i32) (local $jo i32)
  (block $done8
    (loop $j8
      (br_if $done8 (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_1x8
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $ldb4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $j8)))
  (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $n))
    (then
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_1x4
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $ldb4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))))
  (block $done1
    (loop $j1
      (br_if $done1 (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $jo (i32.shl (local.get $j) (i32.const 2)))
      (call $f32_gemm_1x1
        (local.get $a) (i32.add (local.get $b) (local.get $jo)) (i32.add (local.get $c) (local.get $jo))
        (local.get $k) (local.get $ldb4)
        (local.get $br) (call $f32_gemm_adv (local.get $bcol) (local.get $jo)) (local.get $flags))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $j1))))

;; ---------------------------------------------------------------------------
;; All m rows of one (k block, column strip): panels of 4 rows, then single
;; rows.  $bcol: address of bias_col[j0] or 0.  Leading dimensions in bytes.
;; ---------------------------------------------------------------------------
(func $f32_gemm_rows (param $a i32) (param $b i32) (param $c i32)
                     (param $m i32) (param $n i32) (param $k i32)
                     (param $lda4 i32) (param $ldb4 i32) (param $ldc4 i32)
                     (param $bias_row i32) (param $bcol i32) (param $flags i32)
  (local $i i32)
  (block $done4
    (loop $i4
      (br_if $done4 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
      (call $f32_gemm_panel4
        (local.get $a) (local.get $b) (local.get $c) (local.get $n) (local.get $k)
        (local.get $lda4) (local.get $ldb4) (local.get $ldc4)
        (call $f32_gemm_adv (local.get $bias_row) (i32.shl (local.get $i) (i32.const 2)))
        (local.get $bcol) (local.get $flags))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lda4) (i32.const 2))))
      (local.set $c (i32.add (local.get $c) (i32.shl (local.get $ldc4) (i32.const 2))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $i4)))
  (block $done1
    (loop $i1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $m)))
      (call $f32_gemm_panel1
        (local.get $a) (local.get $b) (local.get $c) (local.get $n) (local.get $k)
        (local.get $ldb4)
        (call $f32_gemm_adv (local.get $bias_row) (i32.shl (local.get $i) (i32.const 2)))
        (local.get $bcol) (local.get $flags))
      (local.set $a (i32.add (local.get $a) (local.get $lda4)))
      (local.set $c (i32.add (local.get $c) (local.get $ldc4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i1))))

;; ---------------------------------------------------------------------------
;; Entry point (contract in the header comment).
;; ---------------------------------------------------------------------------
(func $f32_gemm (param $a i32) (param $b i32) (param $c i32)
                (param $m i32) (param $n i32) (param $k i32)
                (param $lda i32) (param $ldb i32) (param $ldc i32)
                (param $bias_row i32) (param $bias_col i32) (param $flags i32)
  (local $lda4 i32) (local $ldb4 i32) (local $ldc4 i32)
  (local $kc i32) (local $nc i32) (local $jc i32) (local $nb i32) (local $jo i32)
  (local $pc i32) (local $kb i32) (local $fl i32)
  (local.set $flags (i32.and (local.get $flags) (i32.const 3)))
  (if (i32.or (i32.eqz (local.get $m)) (i32.eqz (local.get $n))) (then (return)))
  ;; k == 0, accumulate, no bias, no relu: C += 0 -> leave C untouched
  ;; (avoids turning -0.0 into +0.0 or rewriting NaN payloads).
  (if (i32.and
        (i32.and (i32.eqz (local.get $k)) (i32.eq (local.get $flags) (i32.const 1)))
        (i32.eqz (i32.or (local.get $bias_row) (local.get $bias_col))))
    (then (return)))
  (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
  (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
  (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
  ;; k block: 256, or all of k when accumulating (C holds the old values then)
  (local.set $kc (local.get $k))
  (if (i32.and (i32.eqz (i32.and (local.get $flags) (i32.const 1)))
               (i32.gt_u (local.get $k) (i32.const 256)))
    (then (local.set $kc (i32.const 256))))
  ;; column strip: kc x nc floats of B <= 65536 floats (256 KiB);
  ;; a multiple of 8, at least 8
  (local.set $nc (i32.and (i32.div_u (i32.const 65536)
                                     (select (local.get $kc) (i32.const 1) (local.get $kc)))
                          (i32.const -8)))
  (if (i32.lt_u (local.get $nc) (i32.const 8)) (then (local.set $nc (i32.const 8))))
  (loop $strip
    (local.set $nb (i32.sub (local.get $n) (local.get $jc)))
    (if (i32.lt_u (local.get $nc) (local.get $nb)) (then (local.set $nb (local.get $nc))))
    (local.set $jo (i32.shl (local.get $jc) (i32.const 2)))
    (local.set $pc (i32.const 0))
    (loop $kblock
      (local.set $kb (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.lt_u (local.get $kc) (local.get $kb)) (then (local.set $kb (local.get $kc))))
      ;; internal bits: 4 = continue from partial sums in C, 8 = more k follows
      (local.set $fl (i32.or (local.get $flags)
                     (i32.or (select (i32.const 4) (i32.const 0) (local.get $pc))
                             (select (i32.const 8) (i32.const 0)
                                     (i32.lt_u (i32.add (local.get $pc) (local.get $kb))
                                               (local.get $k))))))
      (call $f32_gemm_rows
        (i32.add (local.get $a) (i32.shl (local.get $pc) (i32.const 2)))
        (i32.add (i32.add (local.get $b) (i32.mul (local.get $pc) (local.get $ldb4)))
                 (local.get $jo))
        (i32.add (local.get $c) (local.get $jo))
        (local.get $m) (local.get $nb) (local.get $kb)
        (local.get $lda4) (local.get $ldb4) (local.get $ldc4)
        (local.get $bias_row) (call $f32_gemm_adv (local.get $bias_col) (local.get $jo))
        (local.get $fl))
      (local.set $pc (i32.add (local.get $pc) (local.get $kb)))
      (br_if $kblock (i32.lt_u (local.get $pc) (local.get $k))))
    (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
    (br_if $strip (i32.lt_u (local.get $jc) (local.get $n)))))
