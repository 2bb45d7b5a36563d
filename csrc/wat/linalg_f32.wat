;; linalg_f32.wat -- dense linear algebra on one float32 matrix: LU, Cholesky, triangular solves.
;;
;; A FRAGMENT of module fields: only (func ...) definitions, no memory, exports, globals,
;; imports or data.  The compiler concatenates it into the modules it generates when a
;; kernel is an ir.MatrixCall; the generated kernel loops over the batch and calls one
;; routine per matrix.  $linalg_lu calls $f64x2_log (math_f32x4_f64.wat, included with it).
;;
;; Calling convention (ir.MATRIX_ROUTINES): every operand is (address, row stride, column
;; stride), strides in elements, any sign-free layout (a transposed view is the same matrix
;; with its strides swapped); then the routine's integer sizes; then $out, where the results
;; go, contiguous (ir.matrix_call_floats gives the layout), and $w, 8-byte aligned f64
;; scratch the routine may overwrite.
;;
;; Strategy and accuracy: every routine reads its f32 operands into float64 and computes in
;; float64, rounding each result once to float32 at the end.  The algorithms are the
;; unblocked textbook ones LAPACK's reference routines state (getf2, potf2, trsm): O(n^3)
;; scalar loops, no SIMD, meant for the small matrices models and tests meet (n up to a few
;; hundred).  Their float64 errors (backward stable: LU with partial pivoting ~ n * growth *
;; 2^-53 relative to |A|, Cholesky and substitution ~ n * 2^-53) are far below float32's
;; 2^-24, so a result differs from the exact answer of the float32 input by the rounding to
;; float32 plus the problem's conditioning times ~1e-16, where LAPACK's float32 routines
;; (sgetrf, spotrf, strsm) carry ~cond * 6e-8: results agree with torch's within torch's own
;; float32 error.  Pivot choice: the first row with the largest |value| (LAPACK's isamax;
;; a NaN is never chosen unless it is the diagonal entry itself), from the float64 working
;; values, so a near-tie (within float32 rounding) may pick another row than sgetrf.
;; Bit-for-bit the same as the numpy reference (matrix_routines.ROUTINES), which does the same
;; operations in the same order, except log|det| ($f64x2_log against numpy's log).
;; Measured (48x48, batch of 4, max |x - x64| / max |x64| against float64 LAPACK; torch's
;; float32 LAPACK in brackets): inv 2.3e-7 (3.2e-6), solve 1.8e-7 (2.1e-6), det 5.5e-9
;; (1.4e-6), log|det| 3.1e-8 (8.2e-8), LU 3.8e-8 (9.7e-7), cholesky 3.7e-8 (7.0e-8),
;; cholesky_solve 5.3e-8 (9.4e-8), QR's R 3.0e-8 (5.1e-7), eigenvalues 3.3e-8 (1.1e-6),
;; singular values 3.5e-8 (3.3e-7), pinv 1.1e-7 (7.4e-7).
;; Where LAPACK fails to converge (a NaN into eigh or svd; PyTorch raises) the routine traps
;; (unreachable), as it does for a caller's pivot out of range; an infinity there gives NaN.
;;
;; Routines:
;;   $linalg_lu        (a ars acs m n out w)   LU of an (m, n) matrix with partial pivoting
;;   $linalg_lu_solve  (lu lrs lcs piv prs pcs b brs bcs n k adjoint out w)   A X = B from lu
;;   $linalg_cholesky  (a ars acs n out w)     lower Cholesky factor of a symmetric matrix
;;   $linalg_trsm      (a ars acs b brs bcs n k upper unit out w)   triangular A X = B
;;   $linalg_lu_perm   (piv prs pcs m k out w)  the row permutation the pivots make
;;   $linalg_qr        (a ars acs m n complete out w)  Householder QR (geqrf + orgqr)
;;   $linalg_eigh      (a ars acs n upper out w)  symmetric eigendecomposition (cyclic Jacobi)
;;   $linalg_svd       (a ars acs m n out w)   SVD of a tall matrix (one-sided Jacobi)
;;   $linalg_ormqr     (v vrs vcs tau trs tcs c crs ccs m p k transpose out w)  Q C or Q^T C from reflectors
;;   $linalg_ldl       (a ars acs n out w)     Bunch-Kaufman LDL^T (sytf2, lower)
;;   $linalg_ldl_solve (ld lrs lcs piv prs pcs b brs bcs n k out w)  A X = B from LDL^T (sytrs)
;; and helpers: $linalg_rot (plane rotation), $linalg_swap, $linalg_sumsq, $linalg_finite, $linalg_nan, $linalg_dot, $linalg_amax, $linalg_at, $linalg_get, $linalg_axpy_row, $linalg_neg_pivot, $linalg_reflect
;; (a Householder reflector), $linalg_load (f32 strided -> f64 row-major), $linalg_store (f64 -> f32),
;; $linalg_tri (substitution in f64 scratch), $linalg_swap_rows, $linalg_pivot (a pivot given
;; by the caller, as lu_solve's and lu_unpack's are: a pivot outside [1, rows] traps, where
;; PyTorch would read out of bounds or raise).

  ;; w[i*cols + c] = f64(a[i*rs + c*cs]) for i < rows, c < cols
  (func $linalg_load (param $a i32) (param $rs i32) (param $cs i32) (param $rows i32) (param $cols i32)
                     (param $w i32)
    (local $i i32) (local $c i32)
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $done_c (loop $next_c
        (br_if $done_c (i32.ge_u (local.get $c) (local.get $cols)))
        (f64.store
          (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $c))
                                           (i32.const 3)))
          (f64.promote_f32 (f32.load
            (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $rs))
                                                      (i32.mul (local.get $c) (local.get $cs)))
                                             (i32.const 2))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next_c)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_i))))

  ;; out[i] = f32(w[i]) for i < count
  (func $linalg_store (param $w i32) (param $count i32) (param $out i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
                 (f32.demote_f64 (f64.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; the 0-based row of the 1-based pivot j (f32 at piv + j * pcs); traps unless it is in [0, rows)
  (func $linalg_pivot (param $piv i32) (param $pcs i32) (param $j i32) (param $rows i32) (result i32)
    (local $p f32)
    (local.set $p (f32.load (i32.add (local.get $piv) (i32.shl (i32.mul (local.get $j) (local.get $pcs)) (i32.const 2)))))
    (if (i32.eqz (i32.and (f32.ge (local.get $p) (f32.const 1))
                          (f32.le (local.get $p) (f32.convert_i32_u (local.get $rows)))))
      (then unreachable))
    (i32.sub (i32.trunc_f32_u (local.get $p)) (i32.const 1)))

  ;; swap rows $r and $s of the (?, cols) f64 matrix at $w
  (func $linalg_swap_rows (param $w i32) (param $cols i32) (param $r i32) (param $s i32)
    (local $c i32) (local $pr i32) (local $ps i32) (local $t f64)
    (if (i32.eq (local.get $r) (local.get $s)) (then (return)))
    (local.set $pr (i32.add (local.get $w) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 3))))
    (local.set $ps (i32.add (local.get $w) (i32.shl (i32.mul (local.get $s) (local.get $cols)) (i32.const 3))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
      (local.set $t (f64.load (local.get $pr)))
      (f64.store (local.get $pr) (f64.load (local.get $ps)))
      (f64.store (local.get $ps) (local.get $t))
      (local.set $pr (i32.add (local.get $pr) (i32.const 8)))
      (local.set $ps (i32.add (local.get $ps) (i32.const 8)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $next))))

  ;; Solve T X = B in place: $x holds B, (n, k) f64 row-major; T is the upper (or lower)
  ;; triangle of the f32 matrix (t, trs, tcs), unit diagonal if $unit. Row i (from the last
  ;; up for upper, from the first down for lower) minus t[i, r] * row r for the rows r
  ;; already solved, in increasing r, then divided by t[i, i].
  (func $linalg_tri (param $t i32) (param $trs i32) (param $tcs i32) (param $x i32) (param $n i32) (param $k i32)
                    (param $upper i32) (param $unit i32)
    (local $step i32) (local $i i32) (local $r i32) (local $r_end i32) (local $c i32)
    (local $f f64) (local $xi i32) (local $xr i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (if (local.get $upper)
      (then (local.set $i (i32.sub (local.get $n) (i32.const 1))) (local.set $step (i32.const -1)))
      (else (local.set $i (i32.const 0)) (local.set $step (i32.const 1))))
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))  ;; -1 wraps to a large unsigned
      (local.set $xi (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 3))))
      (if (local.get $upper)
        (then (local.set $r (i32.add (local.get $i) (i32.const 1))) (local.set $r_end (local.get $n)))
        (else (local.set $r (i32.const 0)) (local.set $r_end (local.get $i))))
      (block $done_r (loop $next_r
        (br_if $done_r (i32.ge_u (local.get $r) (local.get $r_end)))
        (local.set $f (f64.promote_f32 (f32.load (i32.add (local.get $t)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $trs)) (i32.mul (local.get $r) (local.get $tcs)))
                   (i32.const 2))))))
        (local.set $xr (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 3))))
        (local.set $c (i32.const 0))
        (block $done_c (loop $next_c
          (br_if $done_c (i32.ge_u (local.get $c) (local.get $k)))
          (f64.store (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3)))
            (f64.sub (f64.load (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3))))
                     (f64.mul (local.get $f) (f64.load (i32.add (local.get $xr) (i32.shl (local.get $c) (i32.const 3)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $next_c)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next_r)))
      (if (i32.eqz (local.get $unit))
        (then
          (local.set $f (f64.promote_f32 (f32.load (i32.add (local.get $t)
            (i32.shl (i32.mul (local.get $i) (i32.add (local.get $trs) (local.get $tcs))) (i32.const 2))))))
          (local.set $c (i32.const 0))
          (block $done_d (loop $next_d
            (br_if $done_d (i32.ge_u (local.get $c) (local.get $k)))
            (f64.store (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3)))
              (f64.div (f64.load (i32.add (local.get $xi) (i32.shl (local.get $c) (i32.const 3)))) (local.get $f)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $next_d)))))
      (local.set $i (i32.add (local.get $i) (local.get $step)))
      (br $next_i))))

  ;; LU with partial pivoting of the (m, n) matrix a (LAPACK getf2 order). out: LU (m*n),
  ;; min(m,n) pivots (1-based), info, then for m == n sign, log|det|, det (else zeros).
  (func $linalg_lu (param $a i32) (param $ars i32) (param $acs i32) (param $m i32) (param $n i32)
                   (param $out i32) (param $w i32)
    (local $kk i32) (local $j i32) (local $i i32) (local $c i32) (local $p i32) (local $info i32)
    (local $best f64) (local $v f64) (local $piv f64) (local $l f64) (local $rowj i32) (local $rowi i32)
    (local $sign f64) (local $logabs f64) (local $det f64) (local $d f64) (local $tail i32)
    (call $linalg_load (local.get $a) (local.get $ars) (local.get $acs) (local.get $m) (local.get $n) (local.get $w))
    (local.set $kk (select (local.get $m) (local.get $n) (i32.lt_u (local.get $m) (local.get $n))))
    (local.set $tail (i32.add (local.get $out) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2))))
    (block $done_j (loop $next_j
      (br_if $done_j (i32.ge_u (local.get $j) (local.get $kk)))
      ;; pivot: first largest |w[i, j]|, i >= j
      (local.set $p (local.get $j))
      (local.set $best (f64.abs (f64.load (i32.add (local.get $w)
        (i32.shl (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $j)) (i32.const 3))))))
      (local.set $i (i32.add (local.get $j) (i32.const 1)))
      (block $done_p (loop $next_p
        (br_if $done_p (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $v (f64.abs (f64.load (i32.add (local.get $w)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))))
        (if (f64.gt (local.get $v) (local.get $best))
          (then (local.set $best (local.get $v)) (local.set $p (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_p)))
      (f32.store (i32.add (local.get $tail) (i32.shl (local.get $j) (i32.const 2)))
                 (f32.convert_i32_u (i32.add (local.get $p) (i32.const 1))))
      (local.set $piv (f64.load (i32.add (local.get $w)
        (i32.shl (i32.add (i32.mul (local.get $p) (local.get $n)) (local.get $j)) (i32.const 3)))))
      (local.set $rowj (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 3))))
      (if (f64.ne (local.get $piv) (f64.const 0))
        (then
          (call $linalg_swap_rows (local.get $w) (local.get $n) (local.get $j) (local.get $p))
          (local.set $i (i32.add (local.get $j) (i32.const 1)))
          (block $done_s (loop $next_s
            (br_if $done_s (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $rowi (i32.add (local.get $w)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))
            (f64.store (local.get $rowi) (f64.div (f64.load (local.get $rowi)) (local.get $piv)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_s))))
        (else
          (if (i32.eqz (local.get $info)) (then (local.set $info (i32.add (local.get $j) (i32.const 1)))))))
      ;; trailing update: w[i, c] -= w[i, j] * w[j, c] for i, c > j
      (local.set $i (i32.add (local.get $j) (i32.const 1)))
      (block $done_u (loop $next_u
        (br_if $done_u (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $rowi (i32.add (local.get $w) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 3))))
        (local.set $l (f64.load (i32.add (local.get $rowi) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $c (i32.add (local.get $j) (i32.const 1)))
        (block $done_c (loop $next_c
          (br_if $done_c (i32.ge_u (local.get $c) (local.get $n)))
          (f64.store (i32.add (local.get $rowi) (i32.shl (local.get $c) (i32.const 3)))
            (f64.sub (f64.load (i32.add (local.get $rowi) (i32.shl (local.get $c) (i32.const 3))))
                     (f64.mul (local.get $l) (f64.load (i32.add (local.get $rowj) (i32.shl (local.get $c) (i32.const 3)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $next_c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_u)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_j)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $m) (local.get $n)) (local.get $out))
    (local.set $tail (i32.add (local.get $tail) (i32.shl (local.get $kk) (i32.const 2))))
    (f32.store (local.get $tail) (f32.convert_i32_u (local.get $info)))
    (if (i32.eq (local.get $m) (local.get $n))
      (then
        ;; the parity of the row swaps, then U's diagonal in order
        (local.set $sign (f64.const 1))
        (local.set $j (i32.const 0))
        (block $done_q (loop $next_q
          (br_if $done_q (i32.ge_u (local.get $j) (local.get $kk)))
          (if (f32.ne (f32.load (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $m) (local.get $n))
                                                                             (local.get $j)) (i32.const 2))))
                      (f32.convert_i32_u (i32.add (local.get $j) (i32.const 1))))
            (then (local.set $sign (f64.neg (local.get $sign)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $next_q)))
        (local.set $det (local.get $sign))
        (local.set $j (i32.const 0))
        (block $done_d (loop $next_d
          (br_if $done_d (i32.ge_u (local.get $j) (local.get $kk)))
          (local.set $d (f64.load (i32.add (local.get $w)
            (i32.shl (i32.mul (local.get $j) (i32.add (local.get $n) (i32.const 1))) (i32.const 3)))))
          (local.set $sign
            (if (result f64) (f64.ne (local.get $d) (local.get $d))
              (then (local.get $d))
              (else (f64.mul (local.get $sign)
                (select (f64.const 1)
                        (select (f64.const -1) (f64.const 0) (f64.lt (local.get $d) (f64.const 0)))
                        (f64.gt (local.get $d) (f64.const 0)))))))
          (local.set $logabs (f64.add (local.get $logabs)
            (f64x2.extract_lane 0 (call $f64x2_log (f64x2.splat (f64.abs (local.get $d)))))))
          (local.set $det (f64.mul (local.get $det) (local.get $d)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $next_d)))
        (f32.store offset=4 (local.get $tail) (f32.demote_f64 (local.get $sign)))
        (f32.store offset=8 (local.get $tail) (f32.demote_f64 (local.get $logabs)))
        (f32.store offset=12 (local.get $tail) (f32.demote_f64 (local.get $det))))
      (else
        (f32.store offset=4 (local.get $tail) (f32.const 0))
        (f32.store offset=8 (local.get $tail) (f32.const 0))
        (f32.store offset=12 (local.get $tail) (f32.const 0)))))

  ;; X with A X = B (or A^T X = B when $adjoint), A = P L U from $linalg_lu's factors (lu)
  ;; and pivots (piv, a (1, n) row of 1-based f32 values); B and X are (n, k).
  (func $linalg_lu_solve (param $lu i32) (param $lrs i32) (param $lcs i32) (param $piv i32) (param $prs i32)
                         (param $pcs i32) (param $b i32) (param $brs i32) (param $bcs i32) (param $n i32) (param $k i32)
                         (param $adjoint i32) (param $out i32) (param $w i32)
    (local $j i32)
    (call $linalg_load (local.get $b) (local.get $brs) (local.get $bcs) (local.get $n) (local.get $k) (local.get $w))
    (if (local.get $adjoint)
      (then
        ;; U^T (lower, lu transposed), L^T (upper, unit), then the swaps in reverse order
        (call $linalg_tri (local.get $lu) (local.get $lcs) (local.get $lrs) (local.get $w) (local.get $n) (local.get $k)
                          (i32.const 0) (i32.const 0))
        (call $linalg_tri (local.get $lu) (local.get $lcs) (local.get $lrs) (local.get $w) (local.get $n) (local.get $k)
                          (i32.const 1) (i32.const 1))
        (local.set $j (local.get $n))
        (block $done (loop $next
          (br_if $done (i32.eqz (local.get $j)))
          (local.set $j (i32.sub (local.get $j) (i32.const 1)))
          (call $linalg_swap_rows (local.get $w) (local.get $k) (local.get $j)
            (call $linalg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))
          (br $next))))
      (else
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
          (call $linalg_swap_rows (local.get $w) (local.get $k) (local.get $j)
            (call $linalg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $next)))
        (call $linalg_tri (local.get $lu) (local.get $lrs) (local.get $lcs) (local.get $w) (local.get $n) (local.get $k)
                          (i32.const 0) (i32.const 1))
        (call $linalg_tri (local.get $lu) (local.get $lrs) (local.get $lcs) (local.get $w) (local.get $n) (local.get $k)
                          (i32.const 1) (i32.const 0))))
    (call $linalg_store (local.get $w) (i32.mul (local.get $n) (local.get $k)) (local.get $out)))

  ;; A = L L^T from the lower triangle of a (potf2's column order). out: L (n*n, zeros
  ;; above the diagonal and in the columns a failure leaves), then info.
  (func $linalg_cholesky (param $a i32) (param $ars i32) (param $acs i32) (param $n i32) (param $out i32) (param $w i32)
    (local $j i32) (local $i i32) (local $r i32) (local $info i32) (local $d f64) (local $s f64)
    (local $rowj i32) (local $rowi i32)
    (memory.fill (local.get $w) (i32.const 0) (i32.shl (i32.mul (local.get $n) (local.get $n)) (i32.const 3)))
    (block $done_j (loop $next_j
      (br_if $done_j (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $rowj (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 3))))
      (local.set $d (f64.promote_f32 (f32.load (i32.add (local.get $a)
        (i32.shl (i32.mul (local.get $j) (i32.add (local.get $ars) (local.get $acs))) (i32.const 2))))))
      (local.set $r (i32.const 0))
      (block $done_r (loop $next_r
        (br_if $done_r (i32.ge_u (local.get $r) (local.get $j)))
        (local.set $s (f64.load (i32.add (local.get $rowj) (i32.shl (local.get $r) (i32.const 3)))))
        (local.set $d (f64.sub (local.get $d) (f64.mul (local.get $s) (local.get $s))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next_r)))
      (if (i32.eqz (f64.gt (local.get $d) (f64.const 0)))
        (then (local.set $info (i32.add (local.get $j) (i32.const 1))) (br $done_j)))
      (local.set $d (f64.sqrt (local.get $d)))
      (f64.store (i32.add (local.get $rowj) (i32.shl (local.get $j) (i32.const 3))) (local.get $d))
      (local.set $i (i32.add (local.get $j) (i32.const 1)))
      (block $done_i (loop $next_i
        (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $rowi (i32.add (local.get $w) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 3))))
        (local.set $s (f64.promote_f32 (f32.load (i32.add (local.get $a)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ars)) (i32.mul (local.get $j) (local.get $acs)))
                   (i32.const 2))))))
        (local.set $r (i32.const 0))
        (block $done_r2 (loop $next_r2
          (br_if $done_r2 (i32.ge_u (local.get $r) (local.get $j)))
          (local.set $s (f64.sub (local.get $s)
            (f64.mul (f64.load (i32.add (local.get $rowi) (i32.shl (local.get $r) (i32.const 3))))
                     (f64.load (i32.add (local.get $rowj) (i32.shl (local.get $r) (i32.const 3)))))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $next_r2)))
        (f64.store (i32.add (local.get $rowi) (i32.shl (local.get $j) (i32.const 3)))
                   (f64.div (local.get $s) (local.get $d)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_i)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_j)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $n) (local.get $n)) (local.get $out))
    (f32.store (i32.add (local.get $out) (i32.shl (i32.mul (local.get $n) (local.get $n)) (i32.const 2)))
               (f32.convert_i32_u (local.get $info))))

  ;; X (n, k) with A X = B, A the upper or lower triangle of a (unit diagonal if $unit)
  (func $linalg_trsm (param $a i32) (param $ars i32) (param $acs i32) (param $b i32) (param $brs i32) (param $bcs i32)
                     (param $n i32) (param $k i32) (param $upper i32) (param $unit i32) (param $out i32) (param $w i32)
    (call $linalg_load (local.get $b) (local.get $brs) (local.get $bcs) (local.get $n) (local.get $k) (local.get $w))
    (call $linalg_tri (local.get $a) (local.get $ars) (local.get $acs) (local.get $w) (local.get $n) (local.get $k)
                      (local.get $upper) (local.get $unit))
    (call $linalg_store (local.get $w) (i32.mul (local.get $n) (local.get $k)) (local.get $out)))

  ;; the row permutation of k 1-based pivots over m rows: out[i] (f32) = 0-based row of A
  ;; that row i of P^T A is (rows 0..m-1, then entries j and piv[j]-1 swapped, j = 0..k-1)
  (func $linalg_lu_perm (param $piv i32) (param $prs i32) (param $pcs i32) (param $m i32) (param $k i32)
                        (param $out i32) (param $w i32)
    (local $i i32) (local $p i32) (local $t f32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (f32.convert_i32_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.set $i (i32.const 0))
    (block $done_j (loop $next_j
      (br_if $done_j (i32.ge_u (local.get $i) (local.get $k)))
      (local.set $p (call $linalg_pivot (local.get $piv) (local.get $pcs) (local.get $i) (local.get $m)))
      (local.set $t (f32.load (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
                 (f32.load (i32.add (local.get $out) (i32.shl (local.get $p) (i32.const 2)))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $p) (i32.const 2))) (local.get $t))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_j))))

  ;; M[i, c] -= v_i * tau * (v^T M)[c] for rows i = j..rows-1 and columns c0 <= c < c1 of the
  ;; f64 matrix M (row width ldm): the Householder reflector H = I - tau v v^T whose v is
  ;; column j of the f64 matrix A (row width lda) below row j, with v_j = 1. $w: c1 f64s.
  (func $linalg_reflect (param $mm i32) (param $ldm i32) (param $c0 i32) (param $c1 i32) (param $av i32)
                        (param $lda i32) (param $j i32) (param $rows i32) (param $tau f64) (param $w i32)
    (local $i i32) (local $c i32) (local $v f64) (local $row i32) (local $pass i32)
    (local.set $c (local.get $c0))
    (block $done_z (loop $next_z
      (br_if $done_z (i32.ge_u (local.get $c) (local.get $c1)))
      (f64.store (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $next_z)))
    ;; pass 0: w = v^T M; then w *= tau; pass 1: M -= v w
    (block $done_pass (loop $next_pass
      (br_if $done_pass (i32.ge_u (local.get $pass) (i32.const 2)))
      (local.set $i (local.get $j))
      (block $done_i (loop $next_i
        (br_if $done_i (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $v (if (result f64) (i32.eq (local.get $i) (local.get $j))
          (then (f64.const 1))
          (else (f64.load (i32.add (local.get $av)
            (i32.shl (i32.add (i32.mul (local.get $i) (local.get $lda)) (local.get $j)) (i32.const 3)))))))
        (local.set $row (i32.add (local.get $mm) (i32.shl (i32.mul (local.get $i) (local.get $ldm)) (i32.const 3))))
        (local.set $c (local.get $c0))
        (block $done_c (loop $next_c
          (br_if $done_c (i32.ge_u (local.get $c) (local.get $c1)))
          (if (i32.eqz (local.get $pass))
            (then
              (f64.store (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3)))
                (f64.add (f64.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3))))
                         (f64.mul (local.get $v) (f64.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 3))))))))
            (else
              (f64.store (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 3)))
                (f64.sub (f64.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 3))))
                         (f64.mul (local.get $v) (f64.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3)))))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $next_c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_i)))
      (if (i32.eqz (local.get $pass))
        (then
          (local.set $c (local.get $c0))
          (block $done_t (loop $next_t
            (br_if $done_t (i32.ge_u (local.get $c) (local.get $c1)))
            (f64.store (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3)))
              (f64.mul (local.get $tau) (f64.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 3))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $next_t)))))
      (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
      (br $next_pass))))

  ;; Householder QR of the (m, n) matrix a (LAPACK geqrf's larfg, then orgqr). out: the geqrf
  ;; matrix (m*n), tau (min(m,n)), Q (m x (m if $complete else min(m,n))), row-major.
  (func $linalg_qr (param $a i32) (param $ars i32) (param $acs i32) (param $m i32) (param $n i32) (param $complete i32)
                   (param $out i32) (param $w i32)
    (local $kk i32) (local $j i32) (local $i i32) (local $cols i32) (local $q i32) (local $ws i32) (local $taus i32)
    (local $alpha f64) (local $xnorm f64) (local $x f64) (local $beta f64) (local $tau f64) (local $scale f64)
    (local $pjj i32) (local $p i32) (local $t64 i32)
    (call $linalg_load (local.get $a) (local.get $ars) (local.get $acs) (local.get $m) (local.get $n) (local.get $w))
    (local.set $kk (select (local.get $m) (local.get $n) (i32.lt_u (local.get $m) (local.get $n))))
    (local.set $cols (select (local.get $m) (local.get $kk) (local.get $complete)))
    (local.set $q (i32.add (local.get $w) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 3))))
    (local.set $ws (i32.add (local.get $q) (i32.shl (i32.mul (local.get $m) (local.get $cols)) (i32.const 3))))
    (local.set $taus (i32.add (local.get $out) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2))))
    (local.set $t64 (i32.add (local.get $ws) (i32.shl (select (local.get $m) (local.get $n) (i32.gt_u (local.get $m) (local.get $n)))
                                                      (i32.const 3))))  ;; the taus in f64
    (block $done_j (loop $next_j
      (br_if $done_j (i32.ge_u (local.get $j) (local.get $kk)))
      (local.set $pjj (i32.add (local.get $w)
        (i32.shl (i32.mul (local.get $j) (i32.add (local.get $n) (i32.const 1))) (i32.const 3))))
      (local.set $alpha (f64.load (local.get $pjj)))
      (local.set $xnorm (f64.const 0))
      (local.set $i (i32.add (local.get $j) (i32.const 1)))
      (block $done_x (loop $next_x
        (br_if $done_x (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $x (f64.load (i32.add (local.get $w)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3)))))
        (local.set $xnorm (f64.add (local.get $xnorm) (f64.mul (local.get $x) (local.get $x))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_x)))
      (local.set $tau (f64.const 0))
      (if (f64.ne (local.get $xnorm) (f64.const 0))
        (then
          (local.set $beta (f64.sqrt (f64.add (f64.mul (local.get $alpha) (local.get $alpha)) (local.get $xnorm))))
          (if (f64.ge (local.get $alpha) (f64.const 0)) (then (local.set $beta (f64.neg (local.get $beta)))))
          (local.set $tau (f64.div (f64.sub (local.get $beta) (local.get $alpha)) (local.get $beta)))
          (local.set $scale (f64.div (f64.const 1) (f64.sub (local.get $alpha) (local.get $beta))))
          (local.set $i (i32.add (local.get $j) (i32.const 1)))
          (block $done_s (loop $next_s
            (br_if $done_s (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $p (i32.add (local.get $w)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))
            (f64.store (local.get $p) (f64.mul (f64.load (local.get $p)) (local.get $scale)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_s)))
          (f64.store (local.get $pjj) (local.get $beta))
          (call $linalg_reflect (local.get $w) (local.get $n) (i32.add (local.get $j) (i32.const 1)) (local.get $n)
                                (local.get $w) (local.get $n) (local.get $j) (local.get $m) (local.get $tau) (local.get $ws))))
      (f32.store (i32.add (local.get $taus) (i32.shl (local.get $j) (i32.const 2))) (f32.demote_f64 (local.get $tau)))
      (f64.store (i32.add (local.get $t64) (i32.shl (local.get $j) (i32.const 3))) (local.get $tau))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_j)))
    ;; Q: the identity's first $cols columns, then the reflectors from the last one back
    (memory.fill (local.get $q) (i32.const 0) (i32.shl (i32.mul (local.get $m) (local.get $cols)) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $done_e (loop $next_e
      (br_if $done_e (i32.ge_u (local.get $i) (select (local.get $m) (local.get $cols) (i32.lt_u (local.get $m) (local.get $cols)))))
      (f64.store (i32.add (local.get $q) (i32.shl (i32.mul (local.get $i) (i32.add (local.get $cols) (i32.const 1))) (i32.const 3)))
                 (f64.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_e)))
    (local.set $j (local.get $kk))
    (block $done_q (loop $next_q
      (br_if $done_q (i32.eqz (local.get $j)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (call $linalg_reflect (local.get $q) (local.get $cols) (i32.const 0) (local.get $cols) (local.get $w) (local.get $n)
        (local.get $j) (local.get $m)
        (f64.load (i32.add (local.get $t64) (i32.shl (local.get $j) (i32.const 3)))) (local.get $ws))
      (br $next_q)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $m) (local.get $n)) (local.get $out))
    (call $linalg_store (local.get $q) (i32.mul (local.get $m) (local.get $cols))
                        (i32.add (local.get $taus) (i32.shl (local.get $kk) (i32.const 2)))))

  ;; (x_k, y_k) <- (c x_k - s y_k, s x_k + c y_k) for k < count, x_k at $x + k * $step bytes
  (func $linalg_rot (param $x i32) (param $y i32) (param $step i32) (param $count i32) (param $c f64) (param $s f64)
    (local $k i32) (local $u f64) (local $v f64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (local.set $u (f64.load (local.get $x)))
      (local.set $v (f64.load (local.get $y)))
      (f64.store (local.get $x) (f64.sub (f64.mul (local.get $c) (local.get $u)) (f64.mul (local.get $s) (local.get $v))))
      (f64.store (local.get $y) (f64.add (f64.mul (local.get $s) (local.get $u)) (f64.mul (local.get $c) (local.get $v))))
      (local.set $x (i32.add (local.get $x) (local.get $step)))
      (local.set $y (i32.add (local.get $y) (local.get $step)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next))))

  ;; swap x_k and y_k (or, with $negate and x = y, negate x_k) for k < count, x_k at $x + k * $step
  (func $linalg_swap (param $x i32) (param $y i32) (param $step i32) (param $count i32) (param $negate i32)
    (local $k i32) (local $u f64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (local.set $u (f64.load (local.get $x)))
      (f64.store (local.get $x) (f64.load (local.get $y)))
      (f64.store (local.get $y) (select (f64.neg (local.get $u)) (local.get $u) (local.get $negate)))
      (local.set $x (i32.add (local.get $x) (local.get $step)))
      (local.set $y (i32.add (local.get $y) (local.get $step)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next))))

  ;; 1 if the count f64s at $w are all finite, 0 if one is infinite; a NaN traps (LAPACK's
  ;; eigen and singular value routines fail to converge on it: PyTorch raises)
  (func $linalg_finite (param $w i32) (param $count i32) (result i32)
    (local $k i32) (local $x f64) (local $ok i32)
    (local.set $ok (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (local.set $x (f64.load (i32.add (local.get $w) (i32.shl (local.get $k) (i32.const 3)))))
      (if (f64.ne (local.get $x) (local.get $x)) (then unreachable))
      (if (f64.eq (f64.abs (local.get $x)) (f64.const inf)) (then (local.set $ok (i32.const 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next)))
    (local.get $ok))

  ;; out[i] = NaN for i < count
  (func $linalg_nan (param $out i32) (param $count i32)
    (local $k i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2))) (f32.const nan))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next))))

  ;; sum of squares of the f64 matrix (n x n at $a) over all entries, or (upper) over i < j
  (func $linalg_sumsq (param $a i32) (param $n i32) (param $strict_upper i32) (result f64)
    (local $i i32) (local $j i32) (local $x f64) (local $sum f64)
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (select (i32.add (local.get $i) (i32.const 1)) (i32.const 0) (local.get $strict_upper)))
      (block $done_j (loop $next_j
        (br_if $done_j (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $x (f64.load (i32.add (local.get $a)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3)))))
        (local.set $sum (f64.add (local.get $sum) (f64.mul (local.get $x) (local.get $x))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_i)))
    (local.get $sum))

  ;; Symmetric eigendecomposition by cyclic Jacobi (matrix_routines._eigh states the rules: the same
  ;; sweeps, stopping test, sort and sign convention). out: eigenvalues (n, ascending), then
  ;; the eigenvectors (n x n row-major, one per column).
  (func $linalg_eigh (param $a i32) (param $ars i32) (param $acs i32) (param $n i32) (param $upper i32)
                     (param $out i32) (param $w i32)
    (local $v i32) (local $i i32) (local $j i32) (local $p i32) (local $q i32) (local $sweep i32) (local $n8 i32)
    (local $total f64) (local $apq f64) (local $theta f64) (local $t f64) (local $c f64) (local $s f64) (local $x f64)
    (local $src i32) (local $dst i32)
    (call $linalg_load (local.get $a) (local.get $ars) (local.get $acs) (local.get $n) (local.get $n) (local.get $w))
    (local.set $n8 (i32.shl (local.get $n) (i32.const 3)))
    (local.set $v (i32.add (local.get $w) (i32.mul (local.get $n8) (local.get $n))))
    (local.set $i (i32.const 0))
    ;; mirror the triangle read; V = I
    (memory.fill (local.get $v) (i32.const 0) (i32.mul (local.get $n8) (local.get $n)))
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.add (local.get $v) (i32.mul (local.get $i) (i32.add (local.get $n8) (i32.const 8)))) (f64.const 1))
      (local.set $j (i32.add (local.get $i) (i32.const 1)))
      (block $done_j (loop $next_j
        (br_if $done_j (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $src (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $i))
                                                        (i32.const 3))))  ;; (j, i), below
        (local.set $dst (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j))
                                                        (i32.const 3))))  ;; (i, j), above
        (if (local.get $upper)
          (then (f64.store (local.get $src) (f64.load (local.get $dst))))
          (else (f64.store (local.get $dst) (f64.load (local.get $src)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_i)))
    (if (i32.eqz (call $linalg_finite (local.get $w) (i32.mul (local.get $n) (local.get $n))))
      (then (call $linalg_nan (local.get $out) (i32.add (local.get $n) (i32.mul (local.get $n) (local.get $n)))) (return)))
    (local.set $total (call $linalg_sumsq (local.get $w) (local.get $n) (i32.const 0)))
    (block $converged (loop $next_sweep
      (br_if $converged (i32.ge_u (local.get $sweep) (i32.const 40)))  ;; matrix_routines.EIGH_SWEEPS
      (br_if $converged (i32.eqz (f64.gt (call $linalg_sumsq (local.get $w) (local.get $n) (i32.const 1))
                                         (f64.mul (f64.const 1e-30) (local.get $total)))))
      (local.set $p (i32.const 0))
      (block $done_p (loop $next_p
        (br_if $done_p (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $q (i32.add (local.get $p) (i32.const 1)))
        (block $done_q (loop $next_q
          (br_if $done_q (i32.ge_u (local.get $q) (local.get $n)))
          (local.set $apq (f64.load (i32.add (local.get $w)
            (i32.shl (i32.add (i32.mul (local.get $p) (local.get $n)) (local.get $q)) (i32.const 3)))))
          (if (f64.ne (local.get $apq) (f64.const 0))
            (then
              (local.set $theta (f64.div
                (f64.sub (f64.load (i32.add (local.get $w) (i32.mul (local.get $q) (i32.add (local.get $n8) (i32.const 8)))))
                         (f64.load (i32.add (local.get $w) (i32.mul (local.get $p) (i32.add (local.get $n8) (i32.const 8))))))
                (f64.mul (f64.const 2) (local.get $apq))))
              (local.set $x (f64.abs (local.get $theta)))
              (local.set $t (if (result f64) (f64.lt (local.get $x) (f64.const 1e150))
                (then (f64.div (f64.const 1) (f64.add (local.get $x)
                  (f64.sqrt (f64.add (f64.const 1) (f64.mul (local.get $theta) (local.get $theta)))))))
                (else (f64.div (f64.const 0.5) (local.get $x)))))
              (if (f64.lt (local.get $theta) (f64.const 0)) (then (local.set $t (f64.neg (local.get $t)))))
              (local.set $c (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.const 1) (f64.mul (local.get $t) (local.get $t))))))
              (local.set $s (f64.mul (local.get $t) (local.get $c)))
              ;; columns p, q of A and of V, then rows p, q of A
              (call $linalg_rot (i32.add (local.get $w) (i32.shl (local.get $p) (i32.const 3)))
                                (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3)))
                                (local.get $n8) (local.get $n) (local.get $c) (local.get $s))
              (call $linalg_rot (i32.add (local.get $v) (i32.shl (local.get $p) (i32.const 3)))
                                (i32.add (local.get $v) (i32.shl (local.get $q) (i32.const 3)))
                                (local.get $n8) (local.get $n) (local.get $c) (local.get $s))
              (call $linalg_rot (i32.add (local.get $w) (i32.mul (local.get $p) (local.get $n8)))
                                (i32.add (local.get $w) (i32.mul (local.get $q) (local.get $n8)))
                                (i32.const 8) (local.get $n) (local.get $c) (local.get $s))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $next_q)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next_p)))
      (local.set $sweep (i32.add (local.get $sweep) (i32.const 1)))
      (br $next_sweep)))
    ;; the diagonal into w[0..n) (A's first row is no longer needed after this pass's reads:
    ;; element i of the diagonal sits at row i >= row 0, column i >= i, read before row 0 ends)
    (local.set $i (i32.const 0))
    (block $done_d (loop $next_d
      (br_if $done_d (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))
                 (f64.load (i32.add (local.get $w) (i32.mul (local.get $i) (i32.add (local.get $n8) (i32.const 8))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_d)))
    ;; selection sort, ascending, the first smallest first; columns of V follow
    (local.set $i (i32.const 0))
    (block $done_s (loop $next_s
      (br_if $done_s (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (local.get $i))
      (local.set $q (i32.add (local.get $i) (i32.const 1)))
      (block $done_m (loop $next_m
        (br_if $done_m (i32.ge_u (local.get $q) (local.get $n)))
        (if (f64.lt (f64.load (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3))))
                    (f64.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
          (then (local.set $j (local.get $q))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $next_m)))
      (if (i32.ne (local.get $i) (local.get $j))
        (then
          (local.set $x (f64.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))
          (f64.store (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))
                     (f64.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
          (f64.store (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3))) (local.get $x))
          (call $linalg_swap (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))
                             (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3)))
                             (local.get $n8) (local.get $n) (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_s)))
    ;; each column's first largest |entry| positive
    (local.set $j (i32.const 0))
    (block $done_g (loop $next_g
      (br_if $done_g (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $p (i32.const 0))
      (local.set $t (f64.abs (f64.load (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))))))
      (local.set $i (i32.const 1))
      (block $done_r (loop $next_r
        (br_if $done_r (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (f64.abs (f64.load (i32.add (local.get $v)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))))
        (if (f64.gt (local.get $x) (local.get $t)) (then (local.set $t (local.get $x)) (local.set $p (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_r)))
      (if (f64.lt (f64.load (i32.add (local.get $v) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $n)) (local.get $j))
                                                            (i32.const 3))))
                  (f64.const 0))
        (then (call $linalg_swap (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3)))
                                 (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3)))
                                 (local.get $n8) (local.get $n) (i32.const 1))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_g)))
    (call $linalg_store (local.get $w) (local.get $n) (local.get $out))
    (call $linalg_store (local.get $v) (i32.mul (local.get $n) (local.get $n))
                        (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2)))))

  ;; sum of x_k * y_k for k < count, in order, x_k at $x + k * $step bytes
  (func $linalg_dot (param $x i32) (param $y i32) (param $step i32) (param $count i32) (result f64)
    (local $k i32) (local $sum f64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (local.set $sum (f64.add (local.get $sum) (f64.mul (f64.load (local.get $x)) (f64.load (local.get $y)))))
      (local.set $x (i32.add (local.get $x) (local.get $step)))
      (local.set $y (i32.add (local.get $y) (local.get $step)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next)))
    (local.get $sum))

  ;; SVD of the (m, n) matrix a, m >= n, by one-sided Jacobi (matrix_routines._svd states the rules).
  ;; out: singular values (n, descending), U (m x m row-major), V (n x n row-major).
  ;; Scratch: W (m x n), U (m x m), V (n x n), x (m), all f64.
  (func $linalg_svd (param $a i32) (param $ars i32) (param $acs i32) (param $m i32) (param $n i32)
                    (param $out i32) (param $w i32)
    (local $u i32) (local $v i32) (local $x i32) (local $sig i32) (local $n8 i32) (local $m8 i32)
    (local $p i32) (local $q i32) (local $i i32) (local $j i32) (local $k i32) (local $sweep i32) (local $rotated i32)
    (local $pass i32) (local $col i32)
    (local $alpha f64) (local $beta f64) (local $gamma f64) (local $zeta f64) (local $t f64) (local $c f64) (local $s f64)
    (local $y f64) (local $norm f64)
    (call $linalg_load (local.get $a) (local.get $ars) (local.get $acs) (local.get $m) (local.get $n) (local.get $w))
    (local.set $n8 (i32.shl (local.get $n) (i32.const 3)))
    (local.set $m8 (i32.shl (local.get $m) (i32.const 3)))
    (local.set $u (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $n8))))
    (local.set $v (i32.add (local.get $u) (i32.mul (local.get $m) (local.get $m8))))
    (local.set $x (i32.add (local.get $v) (i32.mul (local.get $n) (local.get $n8))))
    (if (i32.eqz (call $linalg_finite (local.get $w) (i32.mul (local.get $m) (local.get $n))))
      (then (call $linalg_nan (local.get $out)
              (i32.add (local.get $n) (i32.add (i32.mul (local.get $m) (local.get $m)) (i32.mul (local.get $n) (local.get $n)))))
            (return)))
    (memory.fill (local.get $v) (i32.const 0) (i32.mul (local.get $n) (local.get $n8)))
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.add (local.get $v) (i32.mul (local.get $i) (i32.add (local.get $n8) (i32.const 8)))) (f64.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_i)))
    (block $converged (loop $next_sweep
      (br_if $converged (i32.ge_u (local.get $sweep) (i32.const 40)))  ;; matrix_routines.EIGH_SWEEPS
      (local.set $rotated (i32.const 0))
      (local.set $p (i32.const 0))
      (block $done_p (loop $next_p
        (br_if $done_p (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $q (i32.add (local.get $p) (i32.const 1)))
        (block $done_q (loop $next_q
          (br_if $done_q (i32.ge_u (local.get $q) (local.get $n)))
          (local.set $alpha (call $linalg_dot (i32.add (local.get $w) (i32.shl (local.get $p) (i32.const 3)))
            (i32.add (local.get $w) (i32.shl (local.get $p) (i32.const 3))) (local.get $n8) (local.get $m)))
          (local.set $beta (call $linalg_dot (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3)))
            (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3))) (local.get $n8) (local.get $m)))
          (local.set $gamma (call $linalg_dot (i32.add (local.get $w) (i32.shl (local.get $p) (i32.const 3)))
            (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3))) (local.get $n8) (local.get $m)))
          (if (f64.gt (f64.abs (local.get $gamma))
                      (f64.mul (f64.const 1e-15) (f64.sqrt (f64.mul (local.get $alpha) (local.get $beta)))))
            (then
              (local.set $rotated (i32.const 1))
              (local.set $zeta (f64.div (f64.sub (local.get $beta) (local.get $alpha))
                                        (f64.mul (f64.const 2) (local.get $gamma))))
              (local.set $y (f64.abs (local.get $zeta)))
              (local.set $t (if (result f64) (f64.lt (local.get $y) (f64.const 1e150))
                (then (f64.div (f64.const 1) (f64.add (local.get $y)
                  (f64.sqrt (f64.add (f64.const 1) (f64.mul (local.get $zeta) (local.get $zeta)))))))
                (else (f64.div (f64.const 0.5) (local.get $y)))))
              (if (f64.lt (local.get $zeta) (f64.const 0)) (then (local.set $t (f64.neg (local.get $t)))))
              (local.set $c (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.const 1) (f64.mul (local.get $t) (local.get $t))))))
              (local.set $s (f64.mul (local.get $t) (local.get $c)))
              (call $linalg_rot (i32.add (local.get $w) (i32.shl (local.get $p) (i32.const 3)))
                                (i32.add (local.get $w) (i32.shl (local.get $q) (i32.const 3)))
                                (local.get $n8) (local.get $m) (local.get $c) (local.get $s))
              (call $linalg_rot (i32.add (local.get $v) (i32.shl (local.get $p) (i32.const 3)))
                                (i32.add (local.get $v) (i32.shl (local.get $q) (i32.const 3)))
                                (local.get $n8) (local.get $n) (local.get $c) (local.get $s))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $next_q)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next_p)))
      (br_if $converged (i32.eqz (local.get $rotated)))
      (local.set $sweep (i32.add (local.get $sweep) (i32.const 1)))
      (br $next_sweep)))
    ;; sigma_j = |W_j| into x (n <= m entries), then the sort, descending
    (local.set $j (i32.const 0))
    (block $done_n (loop $next_n
      (br_if $done_n (i32.ge_u (local.get $j) (local.get $n)))
      (f64.store (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))
        (f64.sqrt (call $linalg_dot (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))
                                    (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3))) (local.get $n8) (local.get $m))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_n)))
    (local.set $i (i32.const 0))
    (block $done_s (loop $next_s
      (br_if $done_s (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (local.get $i))
      (local.set $k (i32.add (local.get $i) (i32.const 1)))
      (block $done_m (loop $next_m
        (br_if $done_m (i32.ge_u (local.get $k) (local.get $n)))
        (if (f64.gt (f64.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3))))
                    (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))))
          (then (local.set $j (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next_m)))
      (if (i32.ne (local.get $i) (local.get $j))
        (then
          (call $linalg_swap (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))
                             (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3))) (i32.const 0) (i32.const 1)
                             (i32.const 0))
          (call $linalg_swap (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))
                             (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3))) (local.get $n8) (local.get $m)
                             (i32.const 0))
          (call $linalg_swap (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))
                             (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 3))) (local.get $n8) (local.get $n)
                             (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_s)))
    (call $linalg_store (local.get $x) (local.get $n) (local.get $out))
    ;; U: W_j / sigma_j, else the first e_i that survives two Gram-Schmidt passes with |u| > 1/2
    (memory.fill (local.get $u) (i32.const 0) (i32.mul (local.get $m) (local.get $m8)))
    (local.set $j (i32.const 0))
    (block $done_u (loop $next_u
      (br_if $done_u (i32.ge_u (local.get $j) (local.get $m)))
      (if (i32.and (i32.lt_u (local.get $j) (local.get $n))
                   (f64.ne (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))) (f64.const 0)))
        (then
          (local.set $norm (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))))
          (local.set $k (i32.const 0))
          (block $done_c (loop $next_c
            (br_if $done_c (i32.ge_u (local.get $k) (local.get $m)))
            (f64.store (i32.add (local.get $u) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $m)) (local.get $j)) (i32.const 3)))
              (f64.div (f64.load (i32.add (local.get $w)
                         (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3))))
                       (local.get $norm)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $next_c))))
        (else
          ;; the candidate e_i is built in column j of U itself (strided like the others)
          (local.set $col (i32.add (local.get $u) (i32.shl (local.get $j) (i32.const 3))))
          (local.set $i (i32.const 0))
          (block $found (loop $next_e
            (br_if $found (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $k (i32.const 0))
            (block $done_z (loop $next_z
              (br_if $done_z (i32.ge_u (local.get $k) (local.get $m)))
              (f64.store (i32.add (local.get $col) (i32.mul (local.get $k) (local.get $m8)))
                         (select (f64.const 1) (f64.const 0) (i32.eq (local.get $k) (local.get $i))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $next_z)))
            (local.set $pass (i32.const 0))
            (block $done_pass (loop $next_pass
              (br_if $done_pass (i32.ge_u (local.get $pass) (i32.const 2)))
              (local.set $p (i32.const 0))
              (block $done_col (loop $next_col
                (br_if $done_col (i32.ge_u (local.get $p) (local.get $j)))
                (local.set $y (call $linalg_dot (i32.add (local.get $u) (i32.shl (local.get $p) (i32.const 3)))
                                                (local.get $col) (local.get $m8) (local.get $m)))
                (local.set $k (i32.const 0))
                (block $done_k (loop $next_k
                  (br_if $done_k (i32.ge_u (local.get $k) (local.get $m)))
                  (local.set $q (i32.mul (local.get $k) (local.get $m8)))
                  (f64.store (i32.add (local.get $col) (local.get $q))
                    (f64.sub (f64.load (i32.add (local.get $col) (local.get $q)))
                             (f64.mul (local.get $y) (f64.load (i32.add (i32.add (local.get $u) (local.get $q))
                                                                        (i32.shl (local.get $p) (i32.const 3)))))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $next_k)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $next_col)))
              (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
              (br $next_pass)))
            (local.set $norm (f64.sqrt (call $linalg_dot (local.get $col) (local.get $col) (local.get $m8) (local.get $m))))
            (if (f64.gt (local.get $norm) (f64.const 0.5))
              (then
                (local.set $k (i32.const 0))
                (block $done_w (loop $next_w
                  (br_if $done_w (i32.ge_u (local.get $k) (local.get $m)))
                  (local.set $q (i32.add (local.get $col) (i32.mul (local.get $k) (local.get $m8))))
                  (f64.store (local.get $q) (f64.div (f64.load (local.get $q)) (local.get $norm)))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $next_w)))
                (br $found)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_e)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_u)))
    (call $linalg_store (local.get $u) (i32.mul (local.get $m) (local.get $m))
                        (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (call $linalg_store (local.get $v) (i32.mul (local.get $n) (local.get $n))
                        (i32.add (local.get $out) (i32.shl (i32.add (local.get $n) (i32.mul (local.get $m) (local.get $m)))
                                                           (i32.const 2)))))

  ;; Q C (Q^T C when $transpose) for Q = H_0 .. H_{k-1} in geqrf's form: v (m, k), tau (1, k),
  ;; C (m, p). out: the (m, p) result. Scratch: C (m x p), v (m x k), w (p), tau (k), all f64.
  (func $linalg_ormqr (param $v i32) (param $vrs i32) (param $vcs i32) (param $tau i32) (param $trs i32) (param $tcs i32)
                      (param $c i32) (param $crs i32) (param $ccs i32) (param $m i32) (param $p i32) (param $k i32)
                      (param $transpose i32) (param $out i32) (param $w i32)
    (local $vw i32) (local $ws i32) (local $tw i32) (local $j i32) (local $i i32)
    (call $linalg_load (local.get $c) (local.get $crs) (local.get $ccs) (local.get $m) (local.get $p) (local.get $w))
    (local.set $vw (i32.add (local.get $w) (i32.shl (i32.mul (local.get $m) (local.get $p)) (i32.const 3))))
    (call $linalg_load (local.get $v) (local.get $vrs) (local.get $vcs) (local.get $m) (local.get $k) (local.get $vw))
    (local.set $ws (i32.add (local.get $vw) (i32.shl (i32.mul (local.get $m) (local.get $k)) (i32.const 3))))
    (local.set $tw (i32.add (local.get $ws) (i32.shl (local.get $p) (i32.const 3))))
    (call $linalg_load (local.get $tau) (local.get $trs) (local.get $tcs) (i32.const 1) (local.get $k) (local.get $tw))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
      (local.set $j (if (result i32) (local.get $transpose)
        (then (local.get $i))
        (else (i32.sub (i32.sub (local.get $k) (i32.const 1)) (local.get $i)))))
      (call $linalg_reflect (local.get $w) (local.get $p) (i32.const 0) (local.get $p) (local.get $vw) (local.get $k)
        (local.get $j) (local.get $m) (f64.load (i32.add (local.get $tw) (i32.shl (local.get $j) (i32.const 3))))
        (local.get $ws))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $m) (local.get $p)) (local.get $out)))

  ;; the index of the first largest |x_k|, k < count (>= 1), x_k at $x + k * $step (i?amax)
  (func $linalg_amax (param $x i32) (param $step i32) (param $count i32) (result i32)
    (local $k i32) (local $p i32) (local $best f64) (local $v f64)
    (local.set $best (f64.abs (f64.load (local.get $x))))
    (local.set $k (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
      (local.set $x (i32.add (local.get $x) (local.get $step)))
      (local.set $v (f64.abs (f64.load (local.get $x))))
      (if (f64.gt (local.get $v) (local.get $best)) (then (local.set $best (local.get $v)) (local.set $p (local.get $k))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next)))
    (local.get $p))

  ;; Bunch-Kaufman LDL^T (LAPACK sytf2, lower; matrix_routines._ldl states the steps) of the symmetric
  ;; matrix of a's lower triangle. out: LD (n x n, zeros above the diagonal), pivots, info.
  (func $linalg_ldl (param $a i32) (param $ars i32) (param $acs i32) (param $n i32) (param $out i32) (param $w i32)
    (local $n8 i32) (local $k i32) (local $kstep i32) (local $imax i32) (local $jmax i32) (local $kp i32) (local $kk i32)
    (local $i i32) (local $j i32) (local $info i32) (local $pk i32)
    (local $absakk f64) (local $colmax f64) (local $rowmax f64) (local $d11 f64) (local $d21 f64) (local $d22 f64)
    (local $t f64) (local $wk f64) (local $wkp1 f64) (local $x f64)
    (call $linalg_load (local.get $a) (local.get $ars) (local.get $acs) (local.get $n) (local.get $n) (local.get $w))
    (local.set $n8 (i32.shl (local.get $n) (i32.const 3)))
    ;; mirror the lower triangle
    (block $done_i (loop $next_i
      (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (i32.add (local.get $i) (i32.const 1)))
      (block $done_j (loop $next_j
        (br_if $done_j (i32.ge_u (local.get $j) (local.get $n)))
        (f64.store (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $j))
                   (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (local.get $i))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_j)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_i)))
    (block $done_k (loop $next_k
      (br_if $done_k (i32.ge_u (local.get $k) (local.get $n)))
      (local.set $kstep (i32.const 1))
      (local.set $absakk (f64.abs (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $k) (local.get $k)))))
      (local.set $imax (local.get $k))
      (local.set $colmax (f64.const 0))
      (if (i32.lt_u (i32.add (local.get $k) (i32.const 1)) (local.get $n))
        (then
          (local.set $imax (i32.add (i32.add (local.get $k) (i32.const 1))
            (call $linalg_amax (call $linalg_at (local.get $w) (local.get $n) (i32.add (local.get $k) (i32.const 1)) (local.get $k))
                               (local.get $n8) (i32.sub (i32.sub (local.get $n) (local.get $k)) (i32.const 1)))))
          (local.set $colmax (f64.abs (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $imax) (local.get $k)))))))
      (local.set $kp (local.get $k))
      (if (i32.or (f64.eq (f64.max (local.get $absakk) (local.get $colmax)) (f64.const 0))
                  (f64.ne (local.get $absakk) (local.get $absakk)))
        (then (if (i32.eqz (local.get $info)) (then (local.set $info (i32.add (local.get $k) (i32.const 1))))))
        (else
          (if (f64.lt (local.get $absakk) (f64.mul (f64.const 0.6403882032022076) (local.get $colmax)))  ;; matrix_routines.BK_ALPHA
            (then
              (local.set $jmax (i32.add (local.get $k)
                (call $linalg_amax (call $linalg_at (local.get $w) (local.get $n) (local.get $imax) (local.get $k)) (i32.const 8)
                                   (i32.sub (local.get $imax) (local.get $k)))))
              (local.set $rowmax (f64.abs (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $imax) (local.get $jmax)))))
              (if (i32.lt_u (i32.add (local.get $imax) (i32.const 1)) (local.get $n))
                (then
                  (local.set $jmax (i32.add (i32.add (local.get $imax) (i32.const 1))
                    (call $linalg_amax (call $linalg_at (local.get $w) (local.get $n) (i32.add (local.get $imax) (i32.const 1))
                                                        (local.get $imax))
                                       (local.get $n8) (i32.sub (i32.sub (local.get $n) (local.get $imax)) (i32.const 1)))))
                  (local.set $rowmax (f64.max (local.get $rowmax)
                    (f64.abs (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $jmax) (local.get $imax))))))))
              (if (f64.lt (local.get $absakk) (f64.mul (f64.mul (f64.const 0.6403882032022076) (local.get $colmax))
                                                       (f64.div (local.get $colmax) (local.get $rowmax))))
                (then
                  (local.set $kp (local.get $imax))
                  (if (f64.lt (f64.abs (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $imax) (local.get $imax))))
                              (f64.mul (f64.const 0.6403882032022076) (local.get $rowmax)))
                    (then (local.set $kstep (i32.const 2))))))))
          (local.set $kk (i32.sub (i32.add (local.get $k) (local.get $kstep)) (i32.const 1)))
          (if (i32.ne (local.get $kp) (local.get $kk))
            (then  ;; rows kk, kp over columns k.., then columns kk, kp over rows k..
              (call $linalg_swap (call $linalg_at (local.get $w) (local.get $n) (local.get $kk) (local.get $k))
                                 (call $linalg_at (local.get $w) (local.get $n) (local.get $kp) (local.get $k))
                                 (i32.const 8) (i32.sub (local.get $n) (local.get $k)) (i32.const 0))
              (call $linalg_swap (call $linalg_at (local.get $w) (local.get $n) (local.get $k) (local.get $kk))
                                 (call $linalg_at (local.get $w) (local.get $n) (local.get $k) (local.get $kp))
                                 (local.get $n8) (i32.sub (local.get $n) (local.get $k)) (i32.const 0))))
          (if (i32.eq (local.get $kstep) (i32.const 1))
            (then
              (if (i32.lt_u (i32.add (local.get $k) (i32.const 1)) (local.get $n))
                (then
                  (local.set $d11 (f64.div (f64.const 1)
                    (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $k) (local.get $k)))))
                  ;; a[i, j] -= x_i * (x_j * d11) for i, j > k, with x = column k below the diagonal
                  (local.set $i (i32.add (local.get $k) (i32.const 1)))
                  (block $done_u (loop $next_u
                    (br_if $done_u (i32.ge_u (local.get $i) (local.get $n)))
                    (local.set $x (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $k))))
                    (local.set $j (i32.add (local.get $k) (i32.const 1)))
                    (block $done_v (loop $next_v
                      (br_if $done_v (i32.ge_u (local.get $j) (local.get $n)))
                      (local.set $pk (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $j)))
                      (f64.store (local.get $pk) (f64.sub (f64.load (local.get $pk)) (f64.mul (local.get $x)
                        (f64.mul (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (local.get $k)))
                                 (local.get $d11)))))
                      (local.set $j (i32.add (local.get $j) (i32.const 1)))
                      (br $next_v)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $next_u)))
                  (local.set $i (i32.add (local.get $k) (i32.const 1)))
                  (block $done_s (loop $next_s
                    (br_if $done_s (i32.ge_u (local.get $i) (local.get $n)))
                    (local.set $pk (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $k)))
                    (f64.store (local.get $pk) (f64.mul (f64.load (local.get $pk)) (local.get $d11)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $next_s))))))
            (else
              (if (i32.lt_u (i32.add (local.get $k) (i32.const 2)) (local.get $n))
                (then
                  (local.set $d21 (f64.load (call $linalg_at (local.get $w) (local.get $n) (i32.add (local.get $k) (i32.const 1))
                                                             (local.get $k))))
                  (local.set $d11 (f64.div (f64.load (call $linalg_at (local.get $w) (local.get $n) (i32.add (local.get $k) (i32.const 1))
                                                                      (i32.add (local.get $k) (i32.const 1))))
                                           (local.get $d21)))
                  (local.set $d22 (f64.div (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $k) (local.get $k)))
                                           (local.get $d21)))
                  (local.set $t (f64.div (f64.const 1) (f64.sub (f64.mul (local.get $d11) (local.get $d22)) (f64.const 1))))
                  (local.set $d21 (f64.div (local.get $t) (local.get $d21)))
                  (local.set $j (i32.add (local.get $k) (i32.const 2)))
                  (block $done_j2 (loop $next_j2
                    (br_if $done_j2 (i32.ge_u (local.get $j) (local.get $n)))
                    (local.set $x (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (local.get $k))))
                    (local.set $t (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (i32.add (local.get $k) (i32.const 1)))))
                    (local.set $wk (f64.mul (local.get $d21) (f64.sub (f64.mul (local.get $d11) (local.get $x)) (local.get $t))))
                    (local.set $wkp1 (f64.mul (local.get $d21) (f64.sub (f64.mul (local.get $d22) (local.get $t)) (local.get $x))))
                    (local.set $i (local.get $j))
                    (block $done_i2 (loop $next_i2
                      (br_if $done_i2 (i32.ge_u (local.get $i) (local.get $n)))
                      (local.set $pk (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $j)))
                      (f64.store (local.get $pk) (f64.sub (f64.load (local.get $pk)) (f64.add
                        (f64.mul (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $k))) (local.get $wk))
                        (f64.mul (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (i32.add (local.get $k) (i32.const 1))))
                                 (local.get $wkp1)))))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $next_i2)))
                    (f64.store (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (local.get $k)) (local.get $wk))
                    (f64.store (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (i32.add (local.get $k) (i32.const 1)))
                               (local.get $wkp1))
                    ;; keep the trailing part symmetric: a[j, i] = a[i, j] for i > j
                    (local.set $i (i32.add (local.get $j) (i32.const 1)))
                    (block $done_m2 (loop $next_m2
                      (br_if $done_m2 (i32.ge_u (local.get $i) (local.get $n)))
                      (f64.store (call $linalg_at (local.get $w) (local.get $n) (local.get $j) (local.get $i))
                                 (f64.load (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $j))))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $next_m2)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $next_j2)))))))))
      ;; pivots: kp+1, or -(kp+1) twice for a 2x2 block
      (if (i32.eq (local.get $kstep) (i32.const 1))
        (then (f32.store (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $n) (local.get $n)) (local.get $k)) (i32.const 2)))
                         (f32.convert_i32_s (i32.add (local.get $kp) (i32.const 1)))))
        (else
          (f32.store (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $n) (local.get $n)) (local.get $k)) (i32.const 2)))
                     (f32.convert_i32_s (i32.sub (i32.const -1) (local.get $kp))))
          (f32.store (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $n) (local.get $n)) (i32.add (local.get $k) (i32.const 1)))
                                                        (i32.const 2)))
                     (f32.convert_i32_s (i32.sub (i32.const -1) (local.get $kp))))))
      (local.set $k (i32.add (local.get $k) (local.get $kstep)))
      (br $next_k)))
    ;; LD: the lower triangle, zeros above
    (local.set $i (i32.const 0))
    (block $done_z (loop $next_z
      (br_if $done_z (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (i32.add (local.get $i) (i32.const 1)))
      (block $done_zj (loop $next_zj
        (br_if $done_zj (i32.ge_u (local.get $j) (local.get $n)))
        (f64.store (call $linalg_at (local.get $w) (local.get $n) (local.get $i) (local.get $j)) (f64.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_zj)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next_z)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $n) (local.get $n)) (local.get $out))
    (f32.store (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $n) (local.get $n)) (local.get $n)) (i32.const 2)))
               (f32.convert_i32_u (local.get $info))))

  ;; the address of element (i, j) of the (?, n) f64 matrix at $w
  (func $linalg_at (param $w i32) (param $n i32) (param $i i32) (param $j i32) (result i32)
    (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))

  ;; element (i, j) of the strided f32 matrix (a, rs, cs), as f64
  (func $linalg_get (param $a i32) (param $rs i32) (param $cs i32) (param $i i32) (param $j i32) (result f64)
    (f64.promote_f32 (f32.load (i32.add (local.get $a)
      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $rs)) (i32.mul (local.get $j) (local.get $cs))) (i32.const 2))))))

  ;; row r of the (n, k) f64 matrix x minus f * row s
  (func $linalg_axpy_row (param $x i32) (param $k i32) (param $r i32) (param $s i32) (param $f f64)
    (local $c i32) (local $pr i32) (local $ps i32)
    (local.set $pr (call $linalg_at (local.get $x) (local.get $k) (local.get $r) (i32.const 0)))
    (local.set $ps (call $linalg_at (local.get $x) (local.get $k) (local.get $s) (i32.const 0)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $c) (local.get $k)))
      (f64.store (local.get $pr) (f64.sub (f64.load (local.get $pr)) (f64.mul (local.get $f) (f64.load (local.get $ps)))))
      (local.set $pr (i32.add (local.get $pr) (i32.const 8)))
      (local.set $ps (i32.add (local.get $ps) (i32.const 8)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $next))))

  ;; X (n, k) with A X = B, A = L D L^T from $linalg_ldl's LD and pivots (LAPACK sytrs, lower;
  ;; matrix_routines._ldl_solve states the steps). A pivot outside [1, n] (in magnitude) traps.
  (func $linalg_ldl_solve (param $ld i32) (param $lrs i32) (param $lcs i32) (param $piv i32) (param $prs i32)
                          (param $pcs i32) (param $b i32) (param $brs i32) (param $bcs i32) (param $n i32) (param $k i32)
                          (param $out i32) (param $w i32)
    (local $j i32) (local $i i32) (local $r i32) (local $p i32) (local $c i32) (local $step i32) (local $pv f32)
    (local $akm1k f64) (local $akm1 f64) (local $ak f64) (local $denom f64) (local $bkm1 f64) (local $bk f64) (local $px i32)
    (call $linalg_load (local.get $b) (local.get $brs) (local.get $bcs) (local.get $n) (local.get $k) (local.get $w))
    (block $done_f (loop $next_f
      (br_if $done_f (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $pv (f32.load (i32.add (local.get $piv) (i32.shl (i32.mul (local.get $j) (local.get $pcs)) (i32.const 2)))))
      (if (f32.gt (local.get $pv) (f32.const 0))
        (then
          (local.set $p (call $linalg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))
          (call $linalg_swap_rows (local.get $w) (local.get $k) (local.get $j) (local.get $p))
          (local.set $i (i32.add (local.get $j) (i32.const 1)))
          (block $done_i (loop $next_i
            (br_if $done_i (i32.ge_u (local.get $i) (local.get $n)))
            (call $linalg_axpy_row (local.get $w) (local.get $k) (local.get $i) (local.get $j)
              (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $i) (local.get $j)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i)))
          (local.set $akm1 (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $j) (local.get $j)))
          (local.set $c (i32.const 0))
          (block $done_c (loop $next_c
            (br_if $done_c (i32.ge_u (local.get $c) (local.get $k)))
            (local.set $px (call $linalg_at (local.get $w) (local.get $k) (local.get $j) (local.get $c)))
            (f64.store (local.get $px) (f64.div (f64.load (local.get $px)) (local.get $akm1)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $next_c)))
          (local.set $j (i32.add (local.get $j) (i32.const 1))))
        (else
          (if (i32.ge_u (i32.add (local.get $j) (i32.const 1)) (local.get $n)) (then unreachable))  ;; a 2x2 block at the end
          (local.set $p (call $linalg_neg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))
          (call $linalg_swap_rows (local.get $w) (local.get $k) (i32.add (local.get $j) (i32.const 1)) (local.get $p))
          (local.set $i (i32.add (local.get $j) (i32.const 2)))
          (block $done_i2 (loop $next_i2
            (br_if $done_i2 (i32.ge_u (local.get $i) (local.get $n)))
            (call $linalg_axpy_row (local.get $w) (local.get $k) (local.get $i) (local.get $j)
              (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $i) (local.get $j)))
            (call $linalg_axpy_row (local.get $w) (local.get $k) (local.get $i) (i32.add (local.get $j) (i32.const 1))
              (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $i) (i32.add (local.get $j) (i32.const 1))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next_i2)))
          (local.set $akm1k (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (i32.add (local.get $j) (i32.const 1))
                                              (local.get $j)))
          (local.set $akm1 (f64.div (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $j) (local.get $j))
                                    (local.get $akm1k)))
          (local.set $ak (f64.div (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (i32.add (local.get $j) (i32.const 1))
                                                    (i32.add (local.get $j) (i32.const 1)))
                                  (local.get $akm1k)))
          (local.set $denom (f64.sub (f64.mul (local.get $akm1) (local.get $ak)) (f64.const 1)))
          (local.set $c (i32.const 0))
          (block $done_c2 (loop $next_c2
            (br_if $done_c2 (i32.ge_u (local.get $c) (local.get $k)))
            (local.set $px (call $linalg_at (local.get $w) (local.get $k) (local.get $j) (local.get $c)))
            (local.set $bkm1 (f64.div (f64.load (local.get $px)) (local.get $akm1k)))
            (local.set $bk (f64.div (f64.load (i32.add (local.get $px) (i32.shl (local.get $k) (i32.const 3)))) (local.get $akm1k)))
            (f64.store (local.get $px) (f64.div (f64.sub (f64.mul (local.get $ak) (local.get $bkm1)) (local.get $bk)) (local.get $denom)))
            (f64.store (i32.add (local.get $px) (i32.shl (local.get $k) (i32.const 3)))
                       (f64.div (f64.sub (f64.mul (local.get $akm1) (local.get $bk)) (local.get $bkm1)) (local.get $denom)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $next_c2)))
          (local.set $j (i32.add (local.get $j) (i32.const 2)))))
      (br $next_f)))
    ;; L^T X = Y, from the last block up
    (local.set $j (local.get $n))
    (block $done_b (loop $next_b
      (br_if $done_b (i32.eqz (local.get $j)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (local.set $pv (f32.load (i32.add (local.get $piv) (i32.shl (i32.mul (local.get $j) (local.get $pcs)) (i32.const 2)))))
      (local.set $step (select (i32.const 1) (i32.const 2) (f32.gt (local.get $pv) (f32.const 0))))
      (if (i32.lt_u (local.get $j) (i32.sub (local.get $step) (i32.const 1))) (then unreachable))
      (local.set $r (i32.sub (i32.add (local.get $j) (i32.const 1)) (local.get $step)))
      (block $done_r (loop $next_r
        (br_if $done_r (i32.gt_u (local.get $r) (local.get $j)))
        (local.set $i (i32.add (local.get $j) (i32.const 1)))
        (block $done_i3 (loop $next_i3
          (br_if $done_i3 (i32.ge_u (local.get $i) (local.get $n)))
          (call $linalg_axpy_row (local.get $w) (local.get $k) (local.get $r) (local.get $i)
            (call $linalg_get (local.get $ld) (local.get $lrs) (local.get $lcs) (local.get $i) (local.get $r)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next_i3)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next_r)))
      (local.set $p (if (result i32) (f32.gt (local.get $pv) (f32.const 0))
        (then (call $linalg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))
        (else (call $linalg_neg_pivot (local.get $piv) (local.get $pcs) (local.get $j) (local.get $n)))))
      (call $linalg_swap_rows (local.get $w) (local.get $k) (local.get $j) (local.get $p))
      (local.set $j (i32.sub (local.get $j) (i32.sub (local.get $step) (i32.const 1))))
      (br $next_b)))
    (call $linalg_store (local.get $w) (i32.mul (local.get $n) (local.get $k)) (local.get $out)))

  ;; the 0-based row of a negative (2x2 block) pivot -(p+1); traps unless p is in [0, rows)
  (func $linalg_neg_pivot (param $piv i32) (param $pcs i32) (param $j i32) (param $rows i32) (result i32)
    (local $p f32)
    (local.set $p (f32.neg (f32.load (i32.add (local.get $piv) (i32.shl (i32.mul (local.get $j) (local.get $pcs)) (i32.const 2))))))
    (if (i32.eqz (i32.and (f32.ge (local.get $p) (f32.const 1))
                          (f32.le (local.get $p) (f32.convert_i32_u (local.get $rows)))))
      (then unreachable))
    (i32.sub (i32.trunc_f32_u (local.get $p)) (i32.const 1)))
