"""The kernel kinds of the loop IR: ``Pointwise``, ``Reduce``, ``Scan`` (loop nests), ``Gemm``
and ``PackB`` (calls into the float32 GEMM microkernels), ``QGemm`` (the int8 GEMM) and
``MatrixCall`` (``ir/matrix.py``: linear-algebra routines), with ``reads()``/``writes()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import sympy

from ..target import ITEMSIZE
from .expr import Expr, loads
from .matrix import MatrixCall


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


# threads that may share one int8 GEMM (its column panels; emit/threads.py): each needs its
# own workspace after C's rows
QGEMM_THREADS = 8


def qgemm_workspace(k) -> int:
    """int32 elements after C's rows that ``$i8_gemm`` calls overwrite: per thread (up to
    ``QGEMM_THREADS``) ``qgemm_work_bytes(k)``."""
    return QGEMM_THREADS * qgemm_work_bytes(k) // 4


def qgemm_work_bytes(k) -> int:
    """Bytes of one thread's workspace (``csrc/wat/i8_gemm.wat``): one 4-column panel of B
    and a block of 32 rows of A, widened to int16: 72 per k rounded up to 16."""
    return 72 * (-(-int(k) // 16) * 16)


def qgemm_q_work_offset(m, ldc) -> sympy.Expr:
    """Byte offset, in an int8 C (``QRequant``), of the workspace: after C's m rows and 16
    bytes of slack (a following int8 GEMM reads its A rows up to 15 bytes past k), rounded
    up to 16."""
    return 16 * sympy.floor((sympy.sympify(m) * ldc + 31) / 16)


@dataclass(frozen=True)
class QRequant:
    """A ``QGemm`` whose sums are requantised to int8 in the kernel's store (``$i8_gemm_q``):
    ``C[i, j] = int8(clamp(round(max(f32(acc - corr[j] - zw[j]*xsum[i]) * scale[j] + bias[j],
    floor) * inv) + zp, qmin, qmax))`` in float32 (``round``: half to even; the zw term only
    when ``zw`` is given: int32 weight zero points, and the rows' sums of A), for j < n only; C is then an
    int8 buffer (rows ``ldc`` bytes apart, the workspace at ``qgemm_q_work_offset``). ``rq``
    is 20 float32: inv, zp, qmin, qmax, floor (-inf, or 0 for a fused relu), each 4 times;
    ``corr``, ``zw`` (int32), ``scale`` and ``bias`` (float32) hold n rounded up to 4 values,
    ``xsum`` (int32) m."""

    rq: str
    corr: str
    scale: str
    bias: str
    zw: str | None = None
    xsum: str | None = None

    def buffers(self) -> set:
        return {self.rq, self.corr, self.scale, self.bias} | ({self.zw, self.xsum} if self.zw else set())


@dataclass(frozen=True)
class QGemm:
    """``C[i, j] = sum_p A[i, p] * B[p, j]`` in int32, exactly, via ``$i8_gemm``
    (``csrc/wat/i8_gemm.wat``): A is int8 at ``a[i*lda + p]``, rows readable up to 15 bytes
    past ``k`` (the buffer has that slack); B is int8 (k, n) packed in ``packed``
    (``qpacked_size(k, n)`` bytes; element (p, j) at ``(j//4)*4*Kp + (p//16)*64 + (j%4)*16
    + p%16``, Kp = k rounded up to 16, zero where p >= k or j >= n); C is int32 at ``c[i*ldc + j]`` for every j below
    n rounded up to 4 (the padding columns get 0), and the ``qgemm_workspace(k)`` int32 after its m rows are the
    kernel's scratch (overwritten, meaningless after): thread t's at byte ``4*m*ldc + t*qgemm_work_bytes(k)``. ``lower/quant_gemm.py`` builds it: scales,
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
    requant: QRequant | None = None  # int8 C, requantised in the store (lower/quant_gemm.py)

    def __post_init__(self):
        _sympify_fields(self, ("m", "n", "k", "lda", "ldc"))

    def reads(self) -> set:
        """Names of the buffers this kernel reads."""
        rq = self.requant
        return {self.a, self.packed} | (set() if rq is None else rq.buffers())

    def writes(self) -> str:
        """Name of the buffer this kernel writes."""
        return self.c

    def __str__(self) -> str:
        rq = self.requant
        out = "i32" if rq is None else f"i8, requantised: rq={rq.rq} corr={rq.corr} scale={rq.scale} bias={rq.bias}"
        return (f"{self.name}: qgemm int8 m={self.m} n={self.n} k={self.k}\n"
                f"    C={self.c}[i*{self.ldc} + j] ({out})  A={self.a}[i*{self.lda} + p] (i8)  B packed in {self.packed}")


Kernel = Union[Pointwise, Reduce, Scan, Gemm, PackB, QGemm, MatrixCall]
# Every kernel kind. Each stage dispatches on the kind with a table keyed by these classes
# (verify._CHECKS, interp._RUN, emit.kernels._EMIT); tests/unit/test_kernel_kinds.py checks
# that every table covers every kind.
KERNEL_KINDS = (Pointwise, Reduce, Scan, Gemm, PackB, QGemm, MatrixCall)
