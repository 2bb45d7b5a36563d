"""The loop IR: a program is buffers plus a list of kernels run in order.

Strategy
--------
Everything the later stages need is data in frozen dataclasses:

* ``Buffer``   a named region of linear memory with a dtype and an element count.
* ``Expr``     a scalar expression tree (``Load``, ``Const``, ``Index``, ``Op``) evaluated
               once per point of a kernel's iteration space.
* Kernels      ``Pointwise`` (a loop nest that stores one expression per point),
               ``Reduce`` (a loop nest with inner reduction loops), ``Scan`` (an inclusive
               prefix reduction along one dim, stored at every step), ``Gemm`` (a call
               into a hand-written WAT microkernel, looped over a batch) and
               ``MatrixCall`` (a hand-written linear-algebra routine on each matrix of a batch).
* ``Program``  the kernels in execution order, the graph inputs/outputs and constants.

Sizes and indices are sympy expressions over loop variables ``i0, i1, ...`` (iteration
space) and ``r0, r1, ...`` (reduction space). Static sizes are sympy Integers, so symbolic
sizes slot in later without changing the data structures.

``verify()`` states what a valid program is; ``interp.py`` gives it meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

import sympy

from .errors import IRError  # noqa: F401  (raised by every stage that checks IR)
from .target import IR_DTYPES as DTYPES  # noqa: F401  (the IR's dtypes, re-exported)
from .target import ITEMSIZE, NUMPY_DTYPE  # noqa: F401

# Operator names understood by every stage (interpreter, emitter). Arity and result rule.
UNARY_OPS = (
    "neg", "abs", "sqrt", "rsqrt", "exp", "log", "tanh", "erf", "sigmoid", "relu",
    "floor", "ceil", "round", "trunc", "recip", "not", "isnan", "sign",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "log1p", "expm1", "log2", "log10", "exp2", "erfc", "erfinv", "erfcx", "i0", "i0e", "i1", "i1e", "digamma", "lgamma",
)
BINARY_OPS = (
    "add", "sub", "mul", "div", "floordiv", "mod", "max", "min", "pow", "atan2", "hypot", "polygamma", "copysign",
    "chebyshev_t", "chebyshev_u", "chebyshev_v", "chebyshev_w", "shifted_chebyshev_t", "shifted_chebyshev_u",
    "shifted_chebyshev_v", "shifted_chebyshev_w", "hermite_h", "hermite_he", "laguerre_l", "legendre_p",
    "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "xor",
)
COMPARE_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "isnan")
OTHER_OPS = ("where", "cast")
REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin")
SCAN_OPS = ("sum", "prod", "max", "min", "argmax", "argmin", "logsumexp")


# --------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Load:
    """``buffer[index]``. ``indirect`` binds extra index symbols to data: each entry is
    ``(symbol, expr, bound)``; ``expr`` (an i32 expression) is evaluated first and must lie
    in ``[0, bound)`` (out-of-range traps, as PyTorch raises), e.g. an embedding lookup."""

    buffer: str
    index: sympy.Expr
    dtype: str
    indirect: tuple = ()

    def __str__(self) -> str:
        ind = "".join(f" where {s}={e} <{b}" for s, e, b in self.indirect)
        return f"{self.buffer}[{self.index}{ind}]"


@dataclass(frozen=True)
class Const:
    value: Union[float, int, bool]
    dtype: str

    def __str__(self) -> str:
        return f"{self.value!r}:{self.dtype}"


@dataclass(frozen=True)
class Index:
    """The integer value of an index expression, e.g. for ``arange`` or masks."""

    expr: sympy.Expr
    dtype: str

    def __str__(self) -> str:
        return f"index({self.expr}):{self.dtype}"


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple
    dtype: str

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))}):{self.dtype}"


Expr = Union[Load, Const, Index, Op]


def walk(expr: Expr):
    """Yield every node of an expression tree, parents before children."""
    yield expr
    if isinstance(expr, Op):
        for a in expr.args:
            yield from walk(a)
    elif isinstance(expr, Load):
        for _, e, _ in expr.indirect:
            yield from walk(e)


def loads(expr: Expr) -> list[Load]:
    return [n for n in walk(expr) if isinstance(n, Load)]


def map_expr(expr: Expr, fn_index) -> Expr:
    """Rebuild ``expr`` with ``fn_index`` applied to every index expression."""
    if isinstance(expr, Load):
        ind = tuple((s, map_expr(e, fn_index), b) for s, e, b in expr.indirect)
        return replace(expr, index=fn_index(expr.index), indirect=ind)
    if isinstance(expr, Index):
        return replace(expr, expr=fn_index(expr.expr))
    if isinstance(expr, Op):
        return replace(expr, args=tuple(map_expr(a, fn_index) for a in expr.args))
    return expr


def trap_messages(kernels, checks: dict) -> dict:
    """{kernel name: what a trap in it means}: the messages (``Program.checks``) of the
    bounds-checked indirect loads each kernel makes, joined with "; ", and a routine's own
    (``MatrixCall.trap``)."""
    out = {}
    for k in kernels:
        body = getattr(k, "body", None)
        found = [] if body is None else \
            [checks[str(s)] for ld in loads(body) for s, _, _ in ld.indirect if str(s) in checks]
        found += [k.trap] if getattr(k, "trap", "") else []
        if found:
            out[k.name] = "; ".join(dict.fromkeys(found))
    return out


# --------------------------------------------------------------------------- kernels
def _sympify_fields(obj, scalars=(), tuples=()) -> None:
    """Frozen dataclasses store sizes and indices as sympy expressions, whatever came in."""
    for name in scalars:
        object.__setattr__(obj, name, sympy.sympify(getattr(obj, name)))
    for name in tuples:
        object.__setattr__(obj, name, tuple(sympy.sympify(v) for v in getattr(obj, name)))


@dataclass(frozen=True)
class Buffer:
    name: str
    dtype: str
    numel: sympy.Expr
    kind: str  # "input" | "weight" | "const" | "temp"

    @property
    def nbytes(self) -> sympy.Expr:
        return self.numel * ITEMSIZE[self.dtype]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.dtype}[{self.numel}]"


class _LoopKernel:
    """What the loop kernels (Pointwise, Reduce, Scan) share: they read what their body
    loads and write ``out``."""

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        return {ld.buffer for ld in loads(self.body)}

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.out


@dataclass(frozen=True)
class Pointwise(_LoopKernel):
    """``out[out_index] = body`` for every point ``(i0, ..)`` of ``ranges``."""

    name: str
    out: str
    out_index: sympy.Expr
    ranges: tuple
    body: Expr

    def __post_init__(self):
        _sympify_fields(self, ("out_index",), ("ranges",))

    def __str__(self) -> str:
        loops = ", ".join(f"i{d}<{r}" for d, r in enumerate(self.ranges))
        return f"{self.name}: pointwise [{loops}]\n    {self.out}[{self.out_index}] = {self.body}"


@dataclass(frozen=True)
class Reduce(_LoopKernel):
    """``out[out_index] = reduce_op over (r0, ..) < red_ranges of body`` for every point of
    ``ranges``. ``argmax``/``argmin`` store the i64 position in the flattened reduction
    space (first occurrence wins; NaN counts as the largest value, as in PyTorch)."""

    name: str
    out: str
    out_index: sympy.Expr
    ranges: tuple
    red_ranges: tuple
    op: str
    body: Expr

    def __post_init__(self):
        _sympify_fields(self, ("out_index",), ("ranges", "red_ranges"))

    def __str__(self) -> str:
        loops = ", ".join(f"i{d}<{r}" for d, r in enumerate(self.ranges))
        red = ", ".join(f"r{d}<{r}" for d, r in enumerate(self.red_ranges))
        return (f"{self.name}: reduce {self.op} [{loops}] over [{red}]\n"
                f"    {self.out}[{self.out_index}] = {self.op}({self.body})")


@dataclass(frozen=True)
class Scan(_LoopKernel):
    """An inclusive scan along one dim, as PyTorch's CPU ``cumsum``/``cumprod``/``cummax``:
    for every point of ``ranges`` (``i0, ..``) an accumulator starts afresh and, for
    ``r0 = 0, 1, .. < length`` in order, ``acc = op(acc, body)`` then
    ``out[out_index] = acc`` (``out_index`` and ``body`` use ``i..`` and ``r0``).

    ``sum``/``prod`` of f32 accumulate in float64 and round each stored value to f32
    (PyTorch's ``acc_type<float>`` on CPU is double); integers wrap. ``max``/``min`` keep
    the running extreme, NaN sticking once seen; ``argmax``/``argmin`` store the i64 ``r0``
    where it last changed: ``x >= acc`` (``<=``) or a NaN ``x`` takes the new position, so
    ties go to the later element (as ``cummax``/``cummin``). ``logsumexp`` (f32 only, as
    ``logcumsumexp``) starts at -inf and combines as PyTorch's ``_log_add_exp_helper``:
    ``acc = max + log1p(exp(min - max))`` of ``x`` and ``acc`` (NaN if either is NaN; ``x``
    when both are the same infinity), ``acc`` in f64 but the term ``log1p(exp(..))`` in f32
    (f32 exp and log; ``log1p(e)`` as ``log(u) * e / (u - 1)``, ``u = 1 + e``, or ``e`` when
    ``u`` rounds to 1)."""

    name: str
    out: str
    out_index: sympy.Expr
    ranges: tuple
    length: sympy.Expr
    op: str
    body: Expr

    def __post_init__(self):
        _sympify_fields(self, ("out_index", "length"), ("ranges",))

    def __str__(self) -> str:
        loops = ", ".join(f"i{d}<{r}" for d, r in enumerate(self.ranges))
        return (f"{self.name}: scan {self.op} [{loops}] along r0<{self.length}\n"
                f"    {self.out}[{self.out_index}] = {self.op}({self.body}) so far")


@dataclass(frozen=True)
class Operand:
    """A strided 2-D f32 matrix inside a buffer: element (r, c) of batch b sits at
    ``offset + b*batch_stride + r*row_stride + c*col_stride`` (in elements)."""

    buffer: str
    offset: sympy.Expr
    batch_stride: sympy.Expr
    row_stride: sympy.Expr
    col_stride: sympy.Expr

    def __post_init__(self):
        _sympify_fields(self, ("offset", "batch_stride", "row_stride", "col_stride"))

    def __str__(self) -> str:
        return (f"{self.buffer}@{self.offset}[b*{self.batch_stride} + r*{self.row_stride}"
                f" + c*{self.col_stride}]")


@dataclass(frozen=True)
class Gemm:
    """``C[b] = A[b] @ B[b] (+ bias)`` for ``b < batch``, via the ``$f32_gemm`` microkernel.

    A is (m, k) and C is (m, n), both with unit column stride. B is (k, n) with unit column
    stride, or a transposed view (unit row stride), which only the packed path reads: the
    scheduler packs it (``$f32_gemm_pack_bt``) or copies it.
    ``bias`` is an optional 1-D buffer added along columns (``bias_axis=1``, as in
    ``addmm``) or rows (``bias_axis=0``, as in a convolution's per-channel bias)."""

    name: str
    a: Operand
    b: Operand
    c: Operand
    batch: sympy.Expr
    m: sympy.Expr
    n: sympy.Expr
    k: sympy.Expr
    bias: str | None = None
    bias_axis: int = 1
    relu: bool = False
    packed: str | None = None  # B packed by a PackB kernel: use $f32_gemm_packed
    fma: bool = False  # packed path with relaxed-SIMD FMA ($f32_gemm_packed_fma)

    def __post_init__(self):
        _sympify_fields(self, ("batch", "m", "n", "k"))

    @property
    def packed_batch_stride(self) -> int:
        """Floats between the packed B of consecutive batch entries (0: one B for all)."""
        return 0 if self.batch == 1 or self.b.batch_stride == 0 else packed_size(self.k, self.n)

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        extra = {self.bias} if self.bias else set()
        return {self.a.buffer, self.b.buffer} | extra | ({self.packed} if self.packed else set())

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.c.buffer

    def __str__(self) -> str:
        extra = f" + bias {self.bias} (axis {self.bias_axis})" if self.bias else ""
        extra += " then relu" if self.relu else ""
        extra += f" (B packed in {self.packed}{', fma' if self.fma else ''})" if self.packed else ""
        return (f"{self.name}: gemm batch={self.batch} m={self.m} n={self.n} k={self.k}\n"
                f"    C={self.c}\n    A={self.a}\n    B={self.b}{extra}")


def packed_size(k, n) -> int:
    """Floats in a packed B (``$f32_gemm_pack_b``): k and n rounded up to multiples of 4."""
    return (-(-int(k) // 4) * 4) * (-(-int(n) // 4) * 4)


@dataclass(frozen=True)
class PackB:
    """Pack the (k, n) matrix ``src`` into ``out`` in the panel layout of the packed GEMM
    microkernel: element (p, j) goes to ``(j//4)*4*Kp + (p//4)*16 + (j%4)*4 + p%4``, zero
    padded (Kp, Np: k, n rounded up to 4). ``src`` has unit column stride
    (``$f32_gemm_pack_b``) or unit row stride (a transposed view, ``$f32_gemm_pack_bt``).
    ``batch`` matrices (src advancing by its batch stride) go to consecutive packed blocks
    of ``packed_size(k, n)`` floats. In ``prepare`` when B is a weight, else in ``forward``
    right before its GEMM."""

    name: str
    src: Operand
    k: sympy.Expr
    n: sympy.Expr
    out: str
    batch: sympy.Expr = 1

    def __post_init__(self):
        _sympify_fields(self, ("k", "n", "batch"))

    @property
    def transposed(self) -> bool:
        return self.src.col_stride != 1 and self.n != 1

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        return {self.src.buffer}

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.out

    def __str__(self) -> str:
        how = "B^T" if self.transposed else "B"
        return (f"{self.name}: pack {how} batch={self.batch} k={self.k} n={self.n} from {self.src}"
                f" into {self.out}")


def qpacked_size(k, n) -> int:
    """Bytes of an int8 B packed for ``$i8_gemm``: k rounded up to 16 times n rounded up to 4."""
    return (-(-int(k) // 16) * 16) * (-(-int(n) // 4) * 4)


@dataclass(frozen=True)
class QGemm:
    """``C[i, j] = sum_p A[i, p] * B[p, j]`` in int32, exactly, via ``$i8_gemm``
    (``csrc/wat/i8_gemm.wat``): A is int8 at ``a[i*lda + p]``, rows readable up to 15 bytes
    past ``k`` (the buffer has that slack); B is int8 (k, n) packed in ``packed``
    (``qpacked_size(k, n)`` bytes; element (p, j) at ``(j//4)*4*Kp + (p//16)*64 + (j%4)*16
    + p%16``, Kp = k rounded up to 16, zero where p >= k or j >= n); C is int32 at ``c[i*ldc + j]`` for every j below
    n rounded up to 4 (the padding columns get 0). ``lower/quant.py`` builds it: scales,
    zero points and bias are pointwise kernels around it."""

    name: str
    a: str
    packed: str
    c: str
    m: sympy.Expr
    n: sympy.Expr
    k: sympy.Expr
    lda: sympy.Expr
    ldc: sympy.Expr

    def __post_init__(self):
        _sympify_fields(self, ("m", "n", "k", "lda", "ldc"))

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        return {self.a, self.packed}

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.c

    def __str__(self) -> str:
        return (f"{self.name}: qgemm int8 m={self.m} n={self.n} k={self.k}\n"
                f"    C={self.c}[i*{self.ldc} + j] (i32)  A={self.a}[i*{self.lda} + p] (i8)  B packed in {self.packed}")


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


Kernel = Union[Pointwise, Reduce, Scan, Gemm, PackB, QGemm, MatrixCall]
# Every kernel kind. Each stage dispatches on the kind with a table keyed by these classes
# (verify._CHECKS, interp._RUN, emit.kernels._EMIT); tests/unit/test_kernel_kinds.py checks
# that every table covers every kind.
KERNEL_KINDS = (Pointwise, Reduce, Scan, Gemm, PackB, QGemm, MatrixCall)


@dataclass(frozen=True)
class ResultLayout:
    """How the host lays out an output tensor, in elements: what eager PyTorch produces
    (the FX node's value), which may differ from where the result sits in linear memory
    (a ``.contiguous()`` the lowering kept as a view, a permuted result it computed
    contiguously). ``storage`` is the element count of the tensor's storage."""

    strides: tuple
    offset: sympy.Expr
    storage: sympy.Expr

    def __str__(self) -> str:
        return f"strides={list(self.strides)} offset={self.offset} storage={self.storage}"


@dataclass(frozen=True)
class OutputSpec:
    """A graph output: a strided view of a buffer, copied out after each call into a tensor
    laid out as ``result`` says (contiguous when it is None)."""

    buffer: str
    shape: tuple
    strides: tuple
    offset: sympy.Expr
    dtype: str
    result: ResultLayout | None = None

    def __str__(self) -> str:
        text = f"{self.buffer}@{self.offset} shape={list(self.shape)} strides={list(self.strides)}"
        return text + (f" -> {self.result}" if self.result is not None else "")


@dataclass(frozen=True)
class InputSpec:
    buffer: str
    shape: tuple
    dtype: str
    is_weight: bool = False


@dataclass(frozen=True)
class SizeSpec:
    """A graph input that is a symbolic size (a SymInt): its value binds ``symbol``."""

    symbol: sympy.Symbol


@dataclass(frozen=True)
class Program:
    buffers: tuple  # of Buffer, in creation order
    kernels: tuple  # of Kernel, in execution order
    inputs: tuple  # of InputSpec | SizeSpec | None (an unused scalar), one per placeholder
    outputs: tuple  # of OutputSpec, one per graph output
    constants: dict = field(default_factory=dict)  # buffer name -> np.ndarray (baked in)
    # indirect symbol name -> what its out-of-range trap means in the user's terms
    # ("embedding: index out of range [0, 50)"); see ``trap_messages``
    checks: dict = field(default_factory=dict)

    @property
    def tensor_inputs(self) -> list:
        return [(i, s) for i, s in enumerate(self.inputs) if isinstance(s, InputSpec)]

    @property
    def symbols(self) -> tuple:
        """The size symbols of a dynamic-shape program, sorted by name (empty if static)."""
        syms = set()
        for b in self.buffers:
            syms |= sympy.sympify(b.numel).free_symbols
        for s in self.inputs:
            if isinstance(s, InputSpec):
                for d in s.shape:
                    syms |= sympy.sympify(d).free_symbols
            elif isinstance(s, SizeSpec):
                syms.add(s.symbol)
        return tuple(sorted(syms, key=str))

    def bind(self, args) -> dict:
        """Symbol values from concrete inputs (tensors or arrays, and ints for sizes)."""
        binding = {}
        for spec, arg in zip(self.inputs, args):
            if isinstance(spec, SizeSpec):
                binding[spec.symbol] = int(arg)
            elif isinstance(spec, InputSpec):
                for d, size in zip(spec.shape, arg.shape):
                    d = sympy.sympify(d)
                    if d.is_Symbol:
                        binding[d] = int(size)
        missing = set(self.symbols) - set(binding)
        if missing:
            raise IRError(f"cannot bind sizes {sorted(map(str, missing))} from the inputs")
        return binding

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def __str__(self) -> str:
        lines = ["program:"]
        lines += [f"  {b}" for b in self.buffers]
        lines += [f"  input {i}: {s.buffer} {list(s.shape)} {s.dtype}{' (weight)' if s.is_weight else ''}"
                  for i, s in self.tensor_inputs]
        lines += [f"  input {i}: size {s.symbol}" for i, s in enumerate(self.inputs) if isinstance(s, SizeSpec)]
        lines += [f"  {k}" for k in self.kernels]
        lines += [f"  output {i}: {o}" for i, o in enumerate(self.outputs)]
        return "\n".join(lines)

    def verify(self) -> None:
        """Raise IRError unless the program is well formed (``verify.py`` says what that is)."""
        from .verify import verify

        verify(self)
