"""Scheduling: split off weight-only work, collapse loop nests, choose vectorisation.

Entry point: ``schedule(prog, options) -> Schedule``.

* Kernels that read only weights and constants (e.g. transposing a linear layer's weight
  for the GEMM microkernel) move to ``prepare``, which the runtime calls once and again
  only when a weight changes. Their outputs become persistent buffers.
* Adjacent loop dims that every access walks contiguously are merged, so a contiguous
  4-D pointwise kernel becomes one long loop (better vectorisation, less loop overhead).
* Each loop kernel gets a ``mode``: ``"vector"`` (the innermost output dim in f32x4/i32x4
  lanes with a scalar tail), ``"vector_reduce"`` (the innermost reduction dim in lanes,
  combined horizontally at the end) or ``"scalar"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from . import ir
from .config import Options
from .indexing import affine_coeffs, index_vars, reduction_vars

VECTOR_OPS = {
    "f32": {"neg", "abs", "sqrt", "rsqrt", "exp", "log", "tanh", "erf", "sigmoid", "relu", "floor", "ceil",
            "round", "trunc", "recip", "isnan", "sign", "add", "sub", "mul", "div", "floordiv", "mod", "max",
            "min", "lt", "le", "gt", "ge", "eq", "ne", "where", "cast"},
    "i32": {"neg", "abs", "add", "sub", "mul", "max", "min", "lt", "le", "gt", "ge", "eq", "ne", "and", "or",
            "xor", "where", "cast", "sign"},
    "bool": {"not", "and", "or", "xor", "eq", "ne", "where", "cast"},
}


@dataclass(frozen=True)
class KernelPlan:
    kernel: object  # ir.Pointwise | ir.Reduce | ir.Gemm, after collapsing
    mode: str  # "vector" | "vector_reduce" | "scalar" | "gemm"

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


def _reads(k) -> set:
    if isinstance(k, ir.Gemm):
        return {k.a.buffer, k.b.buffer} | ({k.bias} if k.bias else set()) | ({k.packed} if k.packed else set())
    if isinstance(k, ir.PackB):
        return {k.src.buffer}
    return {ld.buffer for ld in ir.loads(k.body)}


def _writes(k) -> str:
    return k.c.buffer if isinstance(k, ir.Gemm) else k.out


def split_prepare(prog: ir.Program) -> tuple[list, list, set]:
    """Kernels that read only weights/constants (or buffers computed that way) and are
    the sole writer of their output move to ``prepare``."""
    writers: dict[str, int] = {}
    for k in prog.kernels:
        writers[_writes(k)] = writers.get(_writes(k), 0) + 1
    outputs = {o.buffer for o in prog.outputs}
    constant = {b.name for b in prog.buffers if b.kind in ("weight", "const")}
    prepare, forward = [], []
    for k in prog.kernels:
        out = _writes(k)
        if _reads(k) and _reads(k) <= constant and writers[out] == 1 and out not in outputs:
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
    if not isinstance(k, (ir.Pointwise, ir.Reduce)):
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
    from .lower.core import map_expr

    def fix(e):
        return sympy.expand(sympy.sympify(e).xreplace(sub))

    return replace(k, **{field: tuple(new_ranges)}, out_index=fix(k.out_index), body=map_expr(k.body, fix))


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


def _vector_ok(expr, var) -> bool:
    """Every node can run in 4 lanes along ``var``."""
    for node in _nodes(expr):
        if node.dtype not in ("f32", "i32", "bool"):
            return False
        if isinstance(node, ir.Op):
            src = node.args[0].dtype
            if node.name == "cast":
                if src not in ("f32", "i32", "bool"):
                    return False
            elif node.name == "where":
                if node.dtype not in ("f32", "i32"):
                    return False
            elif node.name not in VECTOR_OPS.get(src, ()):
                return False
        elif isinstance(node, ir.Load):
            syms = [var] + [s for s, _, _ in node.indirect]
            aff = affine_coeffs(node.index, syms)
            if aff is None or aff[1][var] not in (0, 1):
                return False
            if node.indirect and (aff[1][var] == 0 or any(_depends(e, var) for _, e, _ in node.indirect)):
                return False
        elif isinstance(node, ir.Index):
            if affine_coeffs(node.expr, [var]) is None or node.dtype != "i32":
                return False
    return True


def _store_ok(k, var) -> bool:
    aff = affine_coeffs(k.out_index, [var])
    return aff is not None and aff[1][var] == 1


def _wide(extent) -> bool:
    """Worth 4 lanes: at least 4 when static; a symbolic extent gets a run-time tail."""
    return not extent.is_Integer or int(extent) >= 4


def plan_kernel(k, buffers: dict, options: Options) -> KernelPlan:
    if isinstance(k, (ir.Gemm, ir.PackB)):
        return KernelPlan(k, "gemm")
    if not options.simd:
        return KernelPlan(k, "scalar")
    out_dtype = buffers[k.out].dtype
    lanes_ok = out_dtype in ("f32", "i32")
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


def pack_weights(prog: ir.Program, prepare: list, forward: list, persistent: set):
    """GEMMs whose B is a weight (or derived from weights) read B pre-packed for the packed
    microkernel (~90% of the SIMD128 peak, against ~65% for the strided kernel): one PackB
    kernel per such B, in ``prepare``, into a new persistent buffer."""
    buffers, extra, done = list(prog.buffers), [], {}
    out = []
    for k in forward:
        b = k.b if isinstance(k, ir.Gemm) else None
        if (b is None or b.buffer not in persistent or not (k.k.is_Integer and k.n.is_Integer)
                or (k.batch != 1 and b.batch_stride != 0)):
            out.append(k)
            continue
        key = (b.buffer, b.offset, b.row_stride, k.k, k.n)
        if key not in done:
            name = f"packed{len(done)}"
            buffers.append(ir.Buffer(name, "f32", sympy.Integer(max(ir.packed_size(k.k, k.n), 1)), "temp"))
            extra.append(ir.PackB(f"pack{len(done)}", b, k.k, k.n, name))
            done[key] = name
        out.append(replace(k, packed=done[key]))
    if not done:
        return prog, prepare, forward, persistent
    prepare = list(prepare) + extra
    prog = replace(prog, buffers=tuple(buffers), kernels=tuple(prepare) + tuple(out))
    return prog, prepare, out, persistent | set(done.values())


def schedule(prog: ir.Program, options: Options) -> Schedule:
    prepare, forward, persistent = split_prepare(prog)
    if options.gemm_packing:
        prog, prepare, forward, persistent = pack_weights(prog, prepare, forward, persistent)
    buffers = {b.name: b for b in prog.buffers}
    plans = [tuple(plan_kernel(collapse(k), buffers, options) for k in ks) for ks in (prepare, forward)]
    return Schedule(prog, plans[0], plans[1], frozenset(persistent))
