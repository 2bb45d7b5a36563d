"""``MatrixCall``: a hand-written linear-algebra routine (csrc/wat/linalg_f32.wat) run on each
matrix of a batch, its routines and the layout of their results."""

from __future__ import annotations

from dataclasses import dataclass


import sympy

from ..errors import IRError

# Routines of ``MatrixCall`` (csrc/wat/linalg_f32.wat), with the operands each reads and the
# integer parameters it takes, in order. The numpy meaning of each is ``matrix_routines.ROUTINES``.
MATRIX_ROUTINES = {
    "lu": (("a",), ("m", "n")),
    "lu_solve": (("lu", "piv", "b"), ("n", "k", "adjoint")),
    "cholesky": (("a",), ("n",)),
    "trsm": (("a", "b"), ("n", "k", "upper", "unit")),
    "lu_perm": (("piv",), ("m", "k")),
    "qr": (("a",), ("m", "n", "complete")),
    "eigh": (("a",), ("n", "upper")),
    "svd": (("a",), ("m", "n")),
    "ormqr": (("v", "tau", "c"), ("m", "p", "k", "transpose")),
    "ldl": (("a",), ("n",)),
    "ldl_solve": (("ld", "piv", "b"), ("n", "k")),
}


def matrix_call_floats(routine: str, sizes: tuple) -> tuple[int, int]:
    """(floats each matrix of the batch writes into ``MatrixCall.out``, floats of f64 scratch
    after the batch's results) for ``routine`` with integer parameters ``sizes``.

    * ``lu`` (m, n): the (m, n) LU factors row-major (L below the diagonal, unit diagonal
      implied; U on and above), then min(m, n) pivots (1-based, LAPACK's ``getrf``), then
      ``info`` (0, or the 1-based first exactly zero pivot), then, for a square matrix,
      the sign and log|det| (slogdet) and det.
    * ``lu_solve`` (n, k, adjoint): X (n, k) row-major with ``A X = B`` (``A^T X = B`` when
      ``adjoint``) where A = P L U is given by ``lu``'s factors and pivots.
    * ``cholesky`` (n): L (n, n) row-major, lower, zeros above; then ``info`` (0, or the
      1-based order of the first leading minor that is not positive definite).
    * ``trsm`` (n, k, upper, unit): X (n, k) row-major with ``A X = B``, A triangular (only
      its upper or lower triangle read; a unit diagonal assumed when ``unit``).
    * ``lu_perm`` (m, k): the row permutation that k 1-based pivots (a (1, k) operand) make
      of m rows, as m 0-based row indices: row i of ``P^T A`` is row ``perm[i]`` of A.
    * ``qr`` (m, n, complete): Householder QR as LAPACK's ``geqrf`` + ``orgqr``: the (m, n)
      ``geqrf`` result row-major (R on and above the diagonal, the reflectors' vectors
      below), the k = min(m, n) ``tau``, then Q (m, m if ``complete`` else k) row-major.
    * ``eigh`` (n, upper): eigenvalues (n, ascending) then eigenvectors (n, n row-major, one
      per column) of the symmetric matrix given by A's lower (upper) triangle, by cyclic
      Jacobi rotations; each eigenvector's first largest-magnitude entry is made positive.
      A NaN in the matrix traps (LAPACK fails to converge: PyTorch raises); an infinity
      makes every result NaN (as LAPACK's).
    * ``svd`` (m, n), m >= n: singular values (n, descending), U (m, m row-major: the left
      singular vectors, then an orthonormal completion), V (n, n row-major, one right
      singular vector per column), by one-sided (Hestenes) Jacobi. NaN and infinity as
      for ``eigh``.
    * ``ormqr`` (m, p, k, transpose): Q C (Q^T C when ``transpose``), C (m, p), for Q = H_0 ..
      H_{k-1} given as ``geqrf`` gives it: reflector j's vector in column j of the (m, k) ``v``
      below row j (1 at row j implied), its factor ``tau[j]`` (a (1, k) operand).
    * ``ldl`` (n): Bunch-Kaufman LDL^T of A's lower triangle as LAPACK's ``sytf2``: LD (n, n,
      lower, zeros above), n pivots (1-based; a 2x2 block's two are negative), ``info``.
    * ``ldl_solve`` (n, k): X (n, k) with A X = B from ``ldl``'s LD and pivots (LAPACK's
      ``sytrs``, lower)."""
    if routine == "lu":
        m, n = sizes
        return m * n + min(m, n) + 4, m * n
    if routine == "lu_solve":
        n, k, _ = sizes
        return n * k, n * k
    if routine == "cholesky":
        (n,) = sizes
        return n * n + 1, n * n
    if routine == "trsm":
        n, k = sizes[:2]
        return n * k, n * k
    if routine == "lu_perm":
        return sizes[0], 0
    if routine == "ldl_solve":
        n, k = sizes
        return n * k, n * k
    if routine == "ldl":
        (n,) = sizes
        return n * n + n + 1, n * n
    if routine == "ormqr":
        m, p, k, _ = sizes
        return m * p, m * p + m * k + p + k
    if routine == "svd":
        m, n = sizes
        return n + m * m + n * n, m * n + m * m + n * n + m
    if routine == "eigh":
        (n, _) = sizes
        return n + n * n, 2 * n * n
    if routine == "qr":
        m, n, complete = sizes
        q = m * (m if complete else min(m, n))
        return m * n + min(m, n) + q, m * n + q + max(m, n) + min(m, n)
    raise IRError(f"unknown matrix routine {routine}")


@dataclass(frozen=True)
class MatrixCall:
    """For each ``b < batch``: the hand-written routine ``routine`` (``MATRIX_ROUTINES``) of
    ``$linalg_<routine>`` reads matrix b of every operand in ``args`` (strided f32, as for
    ``Gemm``) and writes its results, contiguous, at ``out[b * stride ..]`` (``stride`` =
    ``matrix_call_floats(..)[0]``); the f64 scratch it needs sits after the batch's results
    in ``out`` (one, reused). A routine traps where PyTorch raises (a NaN input of eigh
    and svd; a pivot out of range), ``trap`` saying why. Results are computed in f64 and
    rounded once to f32; integers (pivots, info) are stored as exact f32 values. ``batch``
    and ``sizes`` are static ints."""

    name: str
    routine: str
    args: tuple  # of Operand
    out: str
    batch: sympy.Expr
    sizes: tuple
    trap: str = ""  # what a trap in the routine means, in PyTorch's terms (``trap_messages``)

    def __post_init__(self):
        object.__setattr__(self, "batch", sympy.Integer(int(self.batch)))
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))

    @property
    def stride(self) -> int:
        return matrix_call_floats(self.routine, self.sizes)[0]

    @property
    def scratch_at(self) -> int:
        """Where the f64 scratch starts in ``out`` (in floats; even, so 8-byte aligned)."""
        end = int(self.batch) * self.stride
        return end + end % 2

    def out_floats(self) -> int:
        """Floats ``out`` must hold: every batch entry's results, then the scratch (as f32s)."""
        return self.scratch_at + 2 * matrix_call_floats(self.routine, self.sizes)[1]

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        return {a.buffer for a in self.args}

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.out

    def __str__(self) -> str:
        args = "\n    ".join(map(str, self.args))
        return f"{self.name}: matrix {self.routine}{list(self.sizes)} batch={self.batch} -> {self.out}\n    {args}"
