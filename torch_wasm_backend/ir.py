"""The loop IR: a program is buffers plus a list of kernels run in order.

Strategy
--------
Everything the later stages need is data in frozen dataclasses:

* ``Buffer``   a named region of linear memory with a dtype and an element count.
* ``Expr``     a scalar expression tree (``Load``, ``Const``, ``Index``, ``Op``) evaluated
               once per point of a kernel's iteration space.
* Kernels      ``Pointwise`` (a loop nest that stores one expression per point),
               ``Reduce`` (a loop nest with inner reduction loops) and ``Gemm`` (a call into
               a hand-written WAT microkernel, looped over a batch).
* ``Program``  the kernels in execution order, the graph inputs/outputs and constants.

Sizes and indices are sympy expressions over loop variables ``i0, i1, ...`` (iteration
space) and ``r0, r1, ...`` (reduction space). Static sizes are sympy Integers, so symbolic
sizes slot in later without changing the data structures.

``verify()`` states what a valid program is; ``interp.py`` gives it meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np
import sympy

from .indexing import index_vars, reduction_vars

DTYPES = ("f32", "i32", "i64", "bool")
ITEMSIZE = {"f32": 4, "i32": 4, "i64": 8, "bool": 1}
NUMPY_DTYPE = {"f32": np.float32, "i32": np.int32, "i64": np.int64, "bool": np.bool_}

# Operator names understood by every stage (interpreter, emitter). Arity and result rule.
UNARY_OPS = (
    "neg", "abs", "sqrt", "rsqrt", "exp", "log", "tanh", "erf", "sigmoid", "relu",
    "floor", "ceil", "round", "trunc", "recip", "not", "isnan", "sign",
)
BINARY_OPS = (
    "add", "sub", "mul", "div", "floordiv", "mod", "max", "min", "pow",
    "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "xor",
)
COMPARE_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "isnan")
OTHER_OPS = ("where", "cast")
REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin")


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


@dataclass(frozen=True)
class Pointwise:
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
class Reduce:
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

    A is (m, k), B is (k, n) with unit column stride, C is (m, n) with unit column stride.
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
    packed: str | None = None  # B pre-packed by a PackB kernel: use $f32_gemm_packed

    def __post_init__(self):
        _sympify_fields(self, ("batch", "m", "n", "k"))

    def __str__(self) -> str:
        extra = f" + bias {self.bias} (axis {self.bias_axis})" if self.bias else ""
        extra += " then relu" if self.relu else ""
        extra += f" (B packed in {self.packed})" if self.packed else ""
        return (f"{self.name}: gemm batch={self.batch} m={self.m} n={self.n} k={self.k}\n"
                f"    C={self.c}\n    A={self.a}\n    B={self.b}{extra}")


def packed_size(k, n) -> int:
    """Floats in a packed B (``$f32_gemm_pack_b``): k and n rounded up to multiples of 4."""
    return (-(-int(k) // 4) * 4) * (-(-int(n) // 4) * 4)


@dataclass(frozen=True)
class PackB:
    """Pack the (k, n) matrix ``src`` into ``out`` in the panel layout of the packed GEMM
    microkernel: element (p, j) goes to ``(j//4)*4*Kp + (p//4)*16 + (j%4)*4 + p%4``, zero
    padded (Kp, Np: k, n rounded up to 4). Runs in ``prepare``: B is a weight."""

    name: str
    src: Operand
    k: sympy.Expr
    n: sympy.Expr
    out: str

    def __str__(self) -> str:
        return f"{self.name}: pack B k={self.k} n={self.n} from {self.src} into {self.out}"


Kernel = Union[Pointwise, Reduce, Gemm, PackB]


@dataclass(frozen=True)
class OutputSpec:
    """A graph output: a strided view of a buffer, copied out after each call."""

    buffer: str
    shape: tuple
    strides: tuple
    offset: sympy.Expr
    dtype: str

    def __str__(self) -> str:
        return f"{self.buffer}@{self.offset} shape={list(self.shape)} strides={list(self.strides)}"


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
        verify(self)


# --------------------------------------------------------------------------- verify
class IRError(ValueError):
    pass


def _check_expr(expr, bufs: dict, allowed_syms: set, where: str) -> None:
    for node in walk(expr):
        if node.dtype not in DTYPES:
            raise IRError(f"{where}: bad dtype {node.dtype!r} in {node}")
        if isinstance(node, Load):
            if node.buffer not in bufs:
                raise IRError(f"{where}: load from unknown buffer {node.buffer}")
            if bufs[node.buffer].dtype != node.dtype:
                raise IRError(f"{where}: load of {node.buffer} as {node.dtype}, buffer is "
                              f"{bufs[node.buffer].dtype}")
            for sym, e, _ in node.indirect:
                if e.dtype != "i32":
                    raise IRError(f"{where}: indirect index {sym} must be i32")
            _check_index(node.index, allowed_syms | {s for s, _, _ in node.indirect}, where)
        elif isinstance(node, Index):
            _check_index(node.expr, allowed_syms, where)
        elif isinstance(node, Op):
            arity = {**{n: 1 for n in UNARY_OPS}, **{n: 2 for n in BINARY_OPS},
                     "where": 3, "cast": 1}
            if node.name not in arity:
                raise IRError(f"{where}: unknown op {node.name}")
            if len(node.args) != arity[node.name]:
                raise IRError(f"{where}: {node.name} takes {arity[node.name]} args")
            if node.name in COMPARE_OPS and node.dtype != "bool":
                raise IRError(f"{where}: comparison {node.name} must give bool")
            if node.name == "where" and node.args[0].dtype != "bool":
                raise IRError(f"{where}: where() condition must be bool")
            if node.name not in ("cast", "where") and node.name not in COMPARE_OPS:
                if any(a.dtype != node.dtype for a in node.args):
                    raise IRError(f"{where}: operands of {node.name} must share its dtype: {node}")


def _check_index(expr, allowed_syms: set, where: str) -> None:
    extra = {s for s in sympy.sympify(expr).free_symbols} - allowed_syms
    if extra:
        raise IRError(f"{where}: index {expr} uses unbound symbols {sorted(map(str, extra))}")


def verify(prog: Program) -> None:
    """Raise IRError unless ``prog`` is well formed."""
    bufs = {}
    for b in prog.buffers:
        if b.name in bufs:
            raise IRError(f"duplicate buffer {b.name}")
        if b.dtype not in DTYPES:
            raise IRError(f"buffer {b.name}: bad dtype {b.dtype}")
        bufs[b.name] = b
    written = {s.buffer for _, s in prog.tensor_inputs} | set(prog.constants)
    size_syms = set(prog.symbols)
    names = set()
    for k in prog.kernels:
        if k.name in names:
            raise IRError(f"duplicate kernel name {k.name}")
        names.add(k.name)
        if isinstance(k, (Pointwise, Reduce)):
            if k.out not in bufs:
                raise IRError(f"{k.name}: unknown output buffer {k.out}")
            if bufs[k.out].kind in ("input", "weight", "const"):
                raise IRError(f"{k.name}: writes read-only buffer {k.out}")
            syms = set(index_vars(len(k.ranges))) | size_syms
            if isinstance(k, Reduce):
                if k.op not in REDUCE_OPS:
                    raise IRError(f"{k.name}: unknown reduction {k.op}")
                syms |= set(reduction_vars(len(k.red_ranges)))
            _check_expr(k.body, bufs, syms, k.name)
            for ld in loads(k.body):
                if ld.buffer not in written:
                    raise IRError(f"{k.name}: reads {ld.buffer} before anything writes it")
            _check_index(k.out_index, set(index_vars(len(k.ranges))) | size_syms, k.name)
            written.add(k.out)
        elif isinstance(k, Gemm):
            for opnd in (k.a, k.b, k.c):
                if opnd.buffer not in bufs or bufs[opnd.buffer].dtype != "f32":
                    raise IRError(f"{k.name}: gemm operand {opnd.buffer} must be an f32 buffer")
            for opnd in (k.a, k.b):
                if opnd.buffer not in written:
                    raise IRError(f"{k.name}: reads {opnd.buffer} before anything writes it")
            if k.b.col_stride != 1 or k.c.col_stride != 1:
                raise IRError(f"{k.name}: B and C need unit column stride")
            if k.bias is not None and k.bias not in written:
                raise IRError(f"{k.name}: bias {k.bias} not written")
            if k.packed is not None and k.packed not in written:
                raise IRError(f"{k.name}: packed B {k.packed} not written")
            written.add(k.c.buffer)
        elif isinstance(k, PackB):
            if k.src.buffer not in written:
                raise IRError(f"{k.name}: reads {k.src.buffer} before anything writes it")
            if bufs.get(k.out) is None or int(bufs[k.out].numel) < packed_size(k.k, k.n):
                raise IRError(f"{k.name}: packed buffer {k.out} too small")
            written.add(k.out)
        else:
            raise IRError(f"unknown kernel type {type(k).__name__}")
    for o in prog.outputs:
        if o.buffer not in written:
            raise IRError(f"output reads {o.buffer}, which nothing writes")
    for name, arr in prog.constants.items():
        if name not in bufs or bufs[name].kind != "const":
            raise IRError(f"constant {name} has no const buffer")
        if arr.dtype != NUMPY_DTYPE[bufs[name].dtype]:
            raise IRError(f"constant {name} has numpy dtype {arr.dtype}")
