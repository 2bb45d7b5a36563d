"""Scheduling: split off weight-only work, collapse loop nests, choose vectorisation.

Entry point: ``schedule(prog, options) -> Schedule``.

* Kernels that read only weights and constants (e.g. transposing a linear layer's weight
  for the GEMM microkernel) move to ``prepare``, which the runtime calls once and again
  only when a weight changes. Their outputs become persistent buffers.
* Adjacent loop dims that every access walks contiguously are merged, so a contiguous
  4-D pointwise kernel becomes one long loop (better vectorisation, less loop overhead).
* Each loop kernel gets a ``mode``: ``"vector"`` (the innermost output dim in f32x4/i32x4
  lanes with a scalar tail; loads along it may have a small stride, e.g. a pool's 2),
  ``"vector_reduce"`` (the innermost reduction dim in lanes, combined horizontally at the
  end) or ``"scalar"``. A scan (``ir.Scan``) is ``"vector"`` with lanes along its innermost
  output dim (the scan dim stays a sequential loop), ``"rows"`` (scalar, several of those
  lines interleaved) or ``"scalar"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from . import ir
from .config import Options
from .emit.ops import VECTOR_OPS
from .indexing import FloorDiv, ModIndex, affine_coeffs, index_vars, reduction_vars
from .target import SIMD128


@dataclass(frozen=True)
class KernelPlan:
    kernel: object  # ir.Pointwise | ir.Reduce | ir.Gemm, after collapsing
    mode: str  # "vector" | "vector_reduce" | "scalar" | "gemm" | "call" (a MatrixCall)

    def __str__(self) -> str:
        return f"[{self.mode}] {self.kernel}".replace("\n", "\n    ")


@dataclass(frozen=True)
class Schedule:
    program: ir.Program
    prepare: tuple  # of KernelPlan, run once per weight update
    forward: tuple  # of KernelPlan, run every call
    persistent: frozenset  # buffers that live across calls (weights, consts, prepared)

    def __str__(self) -> str:
        lines = ["schedule:", "  prepare:"] + [f"    {p}" for p in self.prepare]
        lines += ["  forward:"] + [f"    {p}" for p in self.forward]
        return "\n".join(lines)


def split_prepare(prog: ir.Program) -> tuple[list, list, set]:
    """Kernels that read only weights/constants (or buffers computed that way) and are
    the sole writer of their output move to ``prepare``."""
    writers: dict[str, int] = {}
    for k in prog.kernels:
        writers[k.writes()] = writers.get(k.writes(), 0) + 1
    outputs = {o.buffer for o in prog.outputs}
    constant = {b.name for b in prog.buffers if b.kind in ("weight", "const")}
    prepare, forward = [], []
    for k in prog.kernels:
        out = k.writes()
        if k.reads() and k.reads() <= constant and writers[out] == 1 and out not in outputs:
            prepare.append(k)
            constant.add(out)
        else:
            forward.append(k)
    return prepare, forward, constant


# --------------------------------------------------------------------------- collapsing
def _accesses(k) -> list:
    """Every index expression of a loop kernel (loads, Index nodes, the store)."""
    out = [k.out_index]
    for node in ir.walk(k.body):
        if isinstance(node, ir.Load):
            out.append(node.index)
        elif isinstance(node, ir.Index):
            out.append(node.expr)
    return out


def collapse(k):
    """Drop loops of one iteration and merge adjacent dims d, d+1 whenever every access has
    ``coeff(v_d) == coeff(v_{d+1}) * range_{d+1}``: output dims, and the reduction dims of a
    reduction (which keeps their row-major order: argmax's flat position is unchanged)."""
    if not isinstance(k, (ir.Pointwise, ir.Reduce, ir.Scan)):
        return k
    if any(isinstance(n, ir.Load) and n.indirect for n in ir.walk(k.body)):
        return k
    k = _collapse_dims(k, "ranges", index_vars)
    return _collapse_dims(k, "red_ranges", reduction_vars) if isinstance(k, ir.Reduce) else k


def _collapse_dims(k, field: str, make_vars):
    ranges = list(getattr(k, field))
    if len(ranges) < 2:
        return k
    unit = [d for d, r in enumerate(ranges) if r == 1]
    if unit and len(unit) < len(ranges):  # a loop of one iteration: index 0, loop gone
        vs = make_vars(len(ranges))
        keep = [d for d in range(len(ranges)) if d not in unit]
        sub = {vs[d]: sympy.Integer(0) for d in unit}
        sub.update({vs[d]: vs[j] for j, d in enumerate(keep)})
        k = _substitute(k, sub, field, [ranges[d] for d in keep])
    ranges = list(getattr(k, field))
    changed = True
    while changed and len(ranges) > 1:
        changed = False
        n = len(ranges)
        vs = make_vars(n)
        exprs = _accesses(k)
        coeffs = [affine_coeffs(e, vs) for e in exprs]
        if any(c is None for c in coeffs):
            return k
        for d in range(n - 1):
            if all(c[1][vs[d]] == c[1][vs[d + 1]] * ranges[d + 1] for c in coeffs):
                # v_d * R_{d+1} + v_{d+1} -> w; renumber later dims down by one
                sub = {vs[d]: sympy.Integer(0), vs[d + 1]: vs[d]}
                sub.update({vs[e]: vs[e - 1] for e in range(d + 2, n)})
                k = _substitute(k, sub, field, ranges[:d] + [ranges[d] * ranges[d + 1]] + ranges[d + 2:])
                ranges = list(getattr(k, field))
                changed = True
                break
    return k


def _substitute(k, sub: dict, field: str, new_ranges):

    def fix(e):
        return sympy.expand(sympy.sympify(e).xreplace(sub))

    return replace(k, **{field: tuple(new_ranges)}, out_index=fix(k.out_index), body=ir.map_expr(k.body, fix))


# --------------------------------------------------------------------------- vectorising
def _depends(expr, var) -> bool:
    for node in _nodes(expr):
        idx = node.index if isinstance(node, ir.Load) else node.expr if isinstance(node, ir.Index) else None
        if idx is not None and var in sympy.sympify(idx).free_symbols:
            return True
    return False


def _nodes(expr):
    """Like ir.walk, but not into the scalar sub-expressions of indirect loads."""
    yield expr
    if isinstance(expr, ir.Op):
        for a in expr.args:
            yield from _nodes(a)


def lane_coeffs(expr, var, others=()):
    """``affine_coeffs(expr, [var, *others])`` within an aligned group of 4 lanes of ``var``
    (vector loops start at multiples of 4): a floor division or remainder by a multiple
    of 4 of ``var + rest``, ``rest`` a multiple of 4, is constant there, its remainder
    ``var`` plus a constant (a reshape splitting the lane dim, e.g. merging heads)."""
    fresh = iter(sympy.Symbol(f"lane_const{i}", integer=True) for i in range(1 << 30))

    def form(e):
        if not e.has(FloorDiv, ModIndex):
            return e
        args = [form(a) for a in e.args]
        if any(a is None for a in args):
            return None
        if not isinstance(e, (FloorDiv, ModIndex)):
            return e.func(*args)
        a, c = args
        if var not in a.free_symbols:
            return next(fresh)
        aff = affine_coeffs(a, [var])
        if not (c.is_Integer and int(c) % 4 == 0 and aff is not None and aff[1][var] == 1):
            return None
        if any(t.as_coeff_Mul()[0] % 4 for t in sympy.Add.make_args(sympy.expand(a - var))):
            return None
        return next(fresh) if isinstance(e, FloorDiv) else var + next(fresh)

    e = form(sympy.sympify(expr))
    return None if e is None else affine_coeffs(e, [var, *others])




def _vector_ok(expr, var) -> bool:
    """Every node can run in 4 lanes along ``var``: loads along it are contiguous, constant
    or, for 4-byte elements, strided by one of ``SIMD128.gather_strides`` (pooling windows, im2col
    of a strided convolution, interleaved channels)."""
    for node in _nodes(expr):
        if node.dtype == "i8" and isinstance(node, ir.Op) and node.name == "cast" and \
                node.args[0].dtype in ("f32", "i32"):
            continue  # int8 lanes are i32x4 lanes wrapped to 8 bits (stored narrowed: emit.writer.vstore_i8)
        if node.dtype == "i8" and isinstance(node, ir.Load) and not node.indirect:
            aff = lane_coeffs(node.index, var)
            if aff is None or aff[1][var] not in (0, 1):
                return False
            continue  # 4 contiguous bytes, sign-extended into i32x4 lanes
        if node.dtype not in ("f32", "i32", "bool"):
            return False
        if isinstance(node, ir.Op):
            src = node.args[0].dtype
            if node.name == "cast":
                if src not in ("f32", "i32", "bool", "i8"):
                    return False
            elif node.name == "where":
                if node.dtype not in ("f32", "i32"):
                    return False
            elif node.name not in VECTOR_OPS.get(src, ()):
                return False
        elif isinstance(node, ir.Load):
            aff = lane_coeffs(node.index, var, [s for s, _, _ in node.indirect])
            if aff is None:
                return False
            c = aff[1][var]
            if c not in (0, 1) and not (c in SIMD128.gather_strides and node.dtype in ("f32", "i32") and not node.indirect):
                return False
            if node.indirect and (aff[1][var] == 0 or any(_depends(e, var) for _, e, _ in node.indirect)):
                return False
        elif isinstance(node, ir.Index):
            if lane_coeffs(node.expr, var) is None or node.dtype != "i32":
                return False
    return True


def _store_ok(k, var) -> bool:
    aff = lane_coeffs(k.out_index, var)
    return aff is not None and aff[1][var] == 1


def _wide(extent) -> bool:
    """Worth 4 lanes: at least 4 when static; a symbolic extent gets a run-time tail."""
    return not extent.is_Integer or int(extent) >= 4


# Scans in lanes along the innermost output dim (f32 sum/prod: two f64x2 accumulators)
VECTOR_SCANS = {"f32": ("sum", "prod", "max", "min"), "i32": ("sum", "prod", "max", "min")}


def _plan_scan(k: ir.Scan, simd: bool) -> str:
    """``vector`` when the innermost output dim is wide and contiguous (loads may gather),
    else ``rows`` (scalar, several lines interleaved: emit/scan.py) when it is wide; the
    scan dim itself is sequential."""
    if not k.ranges:
        return "scalar"
    v = index_vars(len(k.ranges))[-1]
    if simd and k.op in VECTOR_SCANS.get(k.body.dtype, ()) and _wide(k.ranges[-1]) and _store_ok(k, v) \
            and _vector_ok(k.body, v):
        return "vector"
    if _wide(k.ranges[-1]) and lane_coeffs(k.out_index, v) is not None:
        return "rows"
    return "scalar"


def plan_kernel(k, buffers: dict, options: Options) -> KernelPlan:
    if isinstance(k, (ir.Gemm, ir.PackB, ir.QGemm)):
        return KernelPlan(k, "gemm")
    if isinstance(k, ir.MatrixCall):
        return KernelPlan(k, "call")
    if isinstance(k, ir.Scan):
        return KernelPlan(k, _plan_scan(k, options.simd))
    if not options.simd:
        return KernelPlan(k, "scalar")
    out_dtype = buffers[k.out].dtype
    lanes_ok = out_dtype in ("f32", "i32", "i8")
    if k.ranges:
        v = index_vars(len(k.ranges))[-1]
        extent = k.ranges[-1]
        if (lanes_ok and _wide(extent) and _store_ok(k, v)
                and _vector_ok(k.body, v)):
            if not isinstance(k, ir.Reduce) or k.op in ("sum", "prod", "max", "min"):
                return KernelPlan(k, "vector")
    if isinstance(k, ir.Reduce) and k.red_ranges and k.op in ("sum", "max", "min") and k.body.dtype in ("f32", "i32"):
        r = reduction_vars(len(k.red_ranges))[-1]
        extent = k.red_ranges[-1]
        if _wide(extent) and _vector_ok(k.body, r):
            return KernelPlan(k, "vector_reduce")
    return KernelPlan(k, "scalar")


# Runtime B operands (inputs, activations, im2col columns) are packed in ``forward`` right
# before their GEMM when the rows of A that reuse the packed copy amortise the pass over
# it. Measured (benchmarks/gemm_probe.py kernels called in a loop inside wasm, thread CPU
# time, 2-core AVX-512 host): packing costs 0.12-0.2 ns per element of B, the packed
# kernel saves ~30% of the strided kernel's time per row of A once k >= 48; break-even
# at m = 8-12 rows (k = 48..1152, n = 64..3136), 15-16 rows at k = 36-40, 23 at k = 32;
# at k = 27 the packed kernel is slower even without packing (144 vs 139 us, 64x1024x27).
PACK_MIN_ROWS = 24  # rows of A per packed B (m, times the batch when B is shared)
PACK_MIN_K = 32


def _static(*xs) -> bool:
    return all(sympy.sympify(x).is_Integer for x in xs)


def _pack_pays(k: ir.Gemm, per_batch: bool) -> bool:
    rows = k.m if per_batch else k.m * k.batch
    return _static(rows, k.k) and int(rows) >= PACK_MIN_ROWS and int(k.k) >= PACK_MIN_K


def _copy_b(k: ir.Gemm, name: str, per_batch: bool):
    """A contiguous copy of a transposed B that is not packed: (buffer, kernel, operand)."""
    i0, i1, i2 = index_vars(3)
    b = k.b
    nb = k.batch if per_batch else sympy.Integer(1)
    body = ir.Load(b.buffer, b.offset + i0 * b.batch_stride + i1 * b.row_stride + i2 * b.col_stride, "f32")
    numel = sympy.sympify(nb * k.k * k.n)
    buf = ir.Buffer(name, "f32", sympy.Integer(max(int(numel), 1)) if numel.is_Integer else numel, "temp")
    kernel = ir.Pointwise(f"copy_{name}", name, i0 * k.k * k.n + i1 * k.n + i2, (nb, k.k, k.n), body)
    return buf, kernel, ir.Operand(name, 0, k.k * k.n if per_batch else 0, k.n, 1)


def pack_gemm_operands(prog: ir.Program, prepare: list, forward: list, persistent: set, options: Options):
    """GEMMs read B packed for the packed microkernel (~90% of the SIMD128 peak, against
    ~65% for the strided kernel). A weight B (or one derived from weights) is packed once,
    in ``prepare``, into a persistent buffer; a runtime B right before its GEMM, into an
    arena buffer, when ``_pack_pays``; a transposed B (unit row stride) always, since
    ``$f32_gemm_pack_bt`` costs what the copy the strided kernel needs costs. A transposed
    B that cannot be packed (symbolic sizes, ``gemm_packing=False``) is copied."""
    buffers, done = list(prog.buffers), {}
    prepare, out, persistent = list(prepare), [], set(persistent)
    count = 0
    weight_only = []
    for k in prepare:  # a weight-only GEMM (w @ w.T) reads a transposed B copied first
        if isinstance(k, ir.Gemm) and k.b.col_stride != 1 and k.n != 1:
            name = f"bcopy{count}"
            count += 1
            buf, copy, operand = _copy_b(k, name, k.batch != 1 and k.b.batch_stride != 0)
            buffers.append(buf)
            persistent.add(name)
            weight_only.append(copy)
            k = replace(k, b=operand)
        weight_only.append(k)
    prepare = weight_only
    for k in forward:
        if not isinstance(k, ir.Gemm):
            out.append(k)
            continue
        b = k.b
        transposed = b.col_stride != 1 and k.n != 1
        per_batch = k.batch != 1 and b.batch_stride != 0
        weight = b.buffer in persistent
        group = prepare if weight else out
        static = _static(k.k, k.n, b.row_stride, b.col_stride) and (not per_batch or _static(k.batch, b.batch_stride))
        if not (options.gemm_packing and static and (weight or transposed or _pack_pays(k, per_batch))):
            if transposed:
                name = f"bcopy{count}"
                count += 1
                buf, copy, operand = _copy_b(k, name, per_batch)
                buffers.append(buf)
                group.append(copy)
                if weight:
                    persistent.add(name)
                k = replace(k, b=operand)
            out.append(k)
            continue
        nb = k.batch if per_batch else sympy.Integer(1)
        key = (b, k.k, k.n, nb)
        if not weight or key not in done:
            name = f"packed{count}"
            buffers.append(ir.Buffer(name, "f32", sympy.Integer(max(ir.packed_size(k.k, k.n) * int(nb), 1)), "temp"))
            group.append(ir.PackB(f"pack{count}", b, k.k, k.n, name, nb))
            count += 1
            if weight:
                done[key] = name
                persistent.add(name)
        else:
            name = done[key]
        out.append(replace(k, packed=name, fma=options.relaxed_simd))
    if len(buffers) == len(prog.buffers):
        return prog, prepare, forward, persistent
    prog = replace(prog, buffers=tuple(buffers), kernels=tuple(prepare) + tuple(out))
    return prog, prepare, out, persistent


def schedule(prog: ir.Program, options: Options) -> Schedule:
    prepare, forward, persistent = split_prepare(prog)
    prog, prepare, forward, persistent = pack_gemm_operands(prog, prepare, forward, persistent, options)
    buffers = {b.name: b for b in prog.buffers}
    plans = [tuple(plan_kernel(collapse(k), buffers, options) for k in ks) for ks in (prepare, forward)]
    return Schedule(prog, plans[0], plans[1], frozenset(persistent))
