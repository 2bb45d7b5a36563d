"""Reduction kernels.

Reductions (``_accumulate``) keep several independent accumulators (unrolled along the
reduced axis, or over adjacent output vectors in vector mode), combine them pairwise in a
fixed order, and block long f32 sums (partials added to a running total) for accuracy; a
small static window (a 3x3 pool) is unrolled into one expression in the same order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import sympy

from .. import ir
from ..indexing import index_vars, reduction_vars
from ..target import FLOATS
from . import ops, text
from .writer import FunctionWriter, lane_loops, loop_env

INIT = {"sum": 0, "prod": 1}
ACCUMULATORS = 8  # independent accumulators (a power of two): bound by throughput, not add latency
OUTPUT_GROUPS = 4  # vector mode: 4 x 4 adjacent outputs (a cache line) per pass over the reduced axis
SMALL_BODY = 8  # IR nodes; a larger body gets at most 2 accumulators per group (less code)
SMALL_WINDOW = 9  # reduction spaces up to this many points (3x3) are unrolled completely
# ... into one straight-line expression when it has at most this many loads; a window with
# more keeps its rows (all but the innermost window dim) as loops, each row unrolled. V8's
# TurboFan issues every load of a straight-line expression before the arithmetic, so a 3x3
# depthwise window (two loads a point, 4 output vectors) kept ~100 values live against 15
# xmm registers and spilled. Such a window's rows take ROW_GROUPS output vectors per pass:
# 3x3 depthwise (stride 1 and 2) and max pooling layers of MobileNetV2/ResNet sizes, best of
# three runs on a loaded host (2026-12-02), 1.0-1.7x faster in Node than one expression of
# 4 vectors, and 0.95-2x in wasmtime; 1 and 4 vectors per pass were slower in one or the other
STRAIGHT_LOADS = 16  # a 2x2 pool of 4 vectors stays one expression
ROW_GROUPS = 2
BLOCK = 32  # an f32 sum flushes its accumulators into a running total every BLOCK unrolled iterations


def _init(op: str, dtype: str):
    if op in INIT:
        return INIT[op]
    big = {"f32": float("inf"), "f64": float("inf"), "i32": 2**31 - 1, "i64": 2**63 - 1}[dtype]
    return -big - (0 if dtype in FLOATS else 1) if op in ("max", "argmax") else big


def _combine_scalar(op: str, dtype: str, acc: str, x: str, tmp) -> str:
    name = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[op]
    return ops.scalar(name, dtype, dtype, [acc, x], tmp)


def _combine_vector(op: str, dtype: str, acc: str, x: str, tmp) -> str:
    if dtype == "f32" and op in ("max", "min"):
        # pmax/pmin (one instruction; f32x4.max/min need ~8 on x86 for NaN and -0) keep
        # acc on a tie or an unordered compare, so a NaN acc sticks; a NaN x is or-ed in
        # as an all-ones lane (a NaN) by the x != x mask
        t = tmp("v128")
        return (f"(v128.or (f32x4.p{op} {acc} (local.tee {t} {x})) "
                f"(f32x4.ne (local.get {t}) (local.get {t})))")
    name = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[op]
    return ops.vector(name, dtype, dtype, [acc, x], tmp)


def _tree(combine, values: list) -> str:
    """Combine ``values`` pairwise in a fixed order: ((v0, v1), (v2, v3))."""
    while len(values) > 1:
        values = [combine(values[i], values[i + 1]) if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


def lane_shift(expr, offsets: dict):
    """``expr`` (an IR expression, or an index when a sympy expression) with each variable
    ``v`` of ``offsets`` replaced by ``v + offset``."""
    offsets = {v: v + o for v, o in offsets.items() if o}
    if not offsets:
        return expr
    fix = lambda e: sympy.expand(sympy.sympify(e).xreplace(offsets))
    if isinstance(expr, sympy.Basic):
        return fix(expr)

    return ir.map_expr(expr, fix)


def _accumulate(fw: FunctionWriter, k: ir.Reduce, value, typ: str, step: int, name: str, groups=({},)):
    """Accumulate ``value(body)`` (``step`` consecutive elements, ``typ`` a scalar type or
    ``v128``) over the innermost reduction dim, rounded down to a multiple of ``step``, for
    each of ``groups`` (offsets of output variables: vector mode reduces several adjacent
    output vectors in one pass). The ``ACCUMULATORS`` independent accumulators are shared out
    between the groups; within a group they interleave along the reduced axis (accumulator j
    takes ``r + j*step`` of each unrolled iteration, whole steps left over go to the first).
    A short static extent uses fewer, so the unrolled loop still runs a few times, and so
    does a large body (``SMALL_BODY``), whose own work already hides the add latency.

    An f32 sum longer than one block of ``BLOCK`` unrolled iterations (or with outer reduction
    dims, or a symbolic extent) is blocked: each block starts from fresh accumulators and
    adds their partial to a running total, so no lane adds more than ``BLOCK`` values in a
    row and the total grows by ``n / (BLOCK * lanes)`` partials: rounding error grows with
    those chain lengths, not with ``n``. Accumulators combine pairwise in a fixed order.

    Returns ``(init, run, results)``: ``init`` goes before the outer reduction loops, ``run``
    inside them, and ``results`` holds the WAT of each group's reduced value afterwards."""
    dt = k.body.dtype
    r = reduction_vars(len(k.red_ranges))[-1]
    var = f"${r}"
    vec = typ == "v128"
    combine = lambda a, b: (_combine_vector if vec else _combine_scalar)(k.op, dt, a, b, fw.tmp)
    init_value = (text.vconst if vec else text.const)(_init(k.op, dt), dt)
    if step == 1 and _small_window(k):
        if _straight(k, len(groups)):
            return [], [], [_unrolled(k, value, combine, init_value, g) for g in groups]
        return _rows_unrolled(fw, k, value, combine, init_value, groups, typ, name)
    n = fw.bound(k.red_ranges[-1])
    per = max(1, ACCUMULATORS // len(groups))
    if sum(1 for _ in ir.walk(k.body)) > SMALL_BODY:  # its own work hides the add latency
        per = min(per, 2)
    if isinstance(n, int):  # a power of two, at most a quarter of the steps
        per = max(1, min(per, 1 << max(0, (n // (4 * step)).bit_length() - 1)))
    unroll = per * step
    accs = [[fw.local(f"${name}{g * per + j}", typ) for j in range(per)] for g in range(len(groups))]

    def add(acc: str, group: dict, offset: int) -> str:
        x = value(lane_shift(k.body, {**group, r: offset}))
        return f"(local.set {acc} {combine(f'(local.get {acc})', x)})"

    if isinstance(n, int):
        main, stop = n // unroll * unroll, n // step * step
    else:
        main, stop = f"(i32.and {n} (i32.const {-unroll}))", n if step == 1 else f"(i32.and {n} (i32.const {-step}))"
    unrolled = [add(a, grp, j * step) for grp, row in zip(groups, accs) for j, a in enumerate(row)]
    reset = [f"(local.set {a} {init_value})" for row in accs for a in row]
    partials = [_tree(combine, [f"(local.get {a})" for a in row]) for row in accs]
    block = BLOCK * unroll
    blocked = k.op == "sum" and dt == "f32" and (len(k.red_ranges) > 1 or not isinstance(n, int) or n > block)
    targets = [fw.local(f"${name}_total{g}", typ) for g in range(len(groups))] if blocked else [row[0] for row in accs]
    run = []
    if not isinstance(main, int) or main > 0:
        if not blocked:
            run += fw.loop(var, 0, main, unroll, unrolled)
        else:
            flush = [f"(local.set {t} {combine(f'(local.get {t})', p)})" for t, p in zip(targets, partials)]
            if isinstance(main, int) and main <= block:
                run += reset + fw.loop(var, 0, main, unroll, unrolled) + flush
            else:
                run += fw.blocks(var, main, unroll, block, reset, unrolled, flush)
    if not (isinstance(main, int) and main == stop):
        run += fw.loop(var, main, stop, step, [add(t, grp, 0) for t, grp in zip(targets, groups)])
    if blocked:
        return [f"(local.set {t} {init_value})" for t in targets], run, [f"(local.get {t})" for t in targets]
    return reset, run, partials


def _small_window(k: ir.Reduce) -> bool:
    """A static reduction space of at most ``SMALL_WINDOW`` points whose innermost extent
    gets one accumulator in ``_accumulate`` (under 8): pooling and depthwise windows."""
    ext = [sympy.sympify(e) for e in k.red_ranges]
    return (all(e.is_Integer for e in ext) and int(ext[-1]) < 8
            and int(sympy.Mul(*ext)) <= SMALL_WINDOW)


def _straight(k: ir.Reduce, groups: int) -> bool:
    """Whether a small window is emitted as one straight-line expression (``STRAIGHT_LOADS``):
    always when it has one row."""
    ext = [int(e) for e in k.red_ranges]
    loads = sum(1 for e in ir.walk(k.body) if isinstance(e, ir.Load))
    return len(ext) == 1 or int(sympy.Mul(*ext)) * loads * groups <= STRAIGHT_LOADS


def _rows_unrolled(fw: FunctionWriter, k: ir.Reduce, value, combine, init_value: str, groups, typ: str, name: str):
    """A small window's rows as the reduction loops around the innermost dim (the caller's),
    each row unrolled: the same operations in the same order as ``_unrolled`` (an f32 sum
    adds each row's partial to a total), with one row's loads live at a time."""
    r = reduction_vars(len(k.red_ranges))[-1]
    blocked = k.op == "sum" and k.body.dtype == "f32"
    totals = [fw.local(f"${name}{g}", typ) for g in range(len(groups))]
    rows = [fw.local(f"${name}_row{g}", typ) for g in range(len(groups))] if blocked else totals
    run = [f"(local.set {a} {init_value})" for a in rows] if blocked else []
    for acc, group in zip(rows, groups):
        for j in range(int(k.red_ranges[-1])):
            x = value(lane_shift(k.body, {**group, r: j}))
            run.append(f"(local.set {acc} {combine(f'(local.get {acc})', x)})")
    if blocked:
        run += [f"(local.set {t} {combine(f'(local.get {t})', f'(local.get {a})')})" for t, a in zip(totals, rows)]
    return [f"(local.set {t} {init_value})" for t in totals], run, [f"(local.get {t})" for t in totals]


def _unrolled(k: ir.Reduce, value, combine, init_value: str, group: dict) -> str:
    """The reduction of a small window as one straight-line expression, each point's loads
    at constant offsets (in the ``offset=`` immediates, one address computation): the
    same operations in the same order as ``_accumulate``'s loops with one accumulator,
    so the same results (an f32 sum of several dims adds per-row partials to a total)."""
    rs = reduction_vars(len(k.red_ranges))
    ext = [int(e) for e in k.red_ranges]
    blocked = k.op == "sum" and k.body.dtype == "f32" and len(ext) > 1

    def at(pos) -> str:
        sub = {**{v: v + o for v, o in group.items() if o}, **{r: sympy.Integer(p) for r, p in zip(rs, pos)}}
        return value(ir.map_expr(k.body, lambda e: sympy.expand(sympy.sympify(e).xreplace(sub))))

    acc = total = init_value
    for row in itertools.product(*(range(e) for e in ext[:-1])):
        if blocked:
            acc = init_value
        for j in range(ext[-1]):
            acc = combine(acc, at(row + (j,)))
        if blocked:
            total = combine(total, acc)
    return total if blocked else acc


@dataclass
class _Loops:
    """What every mode of one reduction kernel shares: its kernel, variables and loops."""

    fw: FunctionWriter
    k: ir.Reduce
    out_dtype: str
    env: dict
    vs: tuple  # output index variables
    rs: tuple  # reduction variables
    out_loops: list
    red_loops: list

    @property
    def dt(self) -> str:
        return self.k.body.dtype

    @property
    def wt(self) -> str:
        return text.WASM_TYPE[self.dt]

    @property
    def outer(self) -> list:  # the reduction loops around the innermost one
        return self.red_loops[:-1]


def reduce(fw: FunctionWriter, k: ir.Reduce, mode: str, out_dtype: str) -> None:
    """One reduction kernel: arg-reductions and empty reductions first, then by ``mode``:
    ``vector`` (lanes along the innermost output dim), ``vector_reduce`` (lanes along the
    innermost reduction dim) or ``scalar``."""
    if not k.red_ranges:  # over no dims: one point, one loop of one iteration
        k = replace(k, red_ranges=(sympy.Integer(1),))
    vs, rs = index_vars(len(k.ranges)), reduction_vars(len(k.red_ranges))
    c = _Loops(fw, k, out_dtype, loop_env(fw, vs + rs), vs, rs, [(f"${v}", r) for v, r in zip(vs, k.ranges)],
               [(f"${r}", e) for r, e in zip(rs, k.red_ranges)])
    if k.op in ("argmax", "argmin"):
        return _arg_reduce(c)
    if any(e == 0 for e in k.red_ranges):
        value = text.const(_init(k.op, c.dt), c.dt)
        fw.body += fw.nest(c.out_loops, [fw.store(k.out, k.out_index, out_dtype, value, c.env)])
        return None
    # invariants of the reduction (and, but in vector_reduce mode, of the innermost output
    # dim) are computed once, before those loops
    inner_vars = set(rs) | ({vs[-1]} if vs and mode != "vector_reduce" else set())
    body, pre = fw.hoist(k.body, inner_vars, c.env, mode != "scalar")
    c.k = replace(k, body=body)
    return _MODES[mode](c, pre)


def _arg_reduce(c: _Loops) -> None:
    fw, k, env = c.fw, c.k, c.env
    acc = fw.local("$bidx", "i32")
    best, pos, x = fw.local("$best", c.wt), fw.local("$pos", "i32"), fw.local("$x", c.wt)
    pick = _arg_pick(k.op, c.dt, x, best)
    update = [f"(local.set {x} {fw.scalar(k.body, env)})",
              f"(if {pick} (then (local.set {best} (local.get {x})) (local.set {acc} (local.get {pos}))))",
              f"(local.set {pos} (i32.add (local.get {pos}) (i32.const 1)))"]
    inner = [f"(local.set {best} {text.const(_init(k.op, c.dt), c.dt)})", f"(local.set {acc} (i32.const 0))",
             f"(local.set {pos} (i32.const 0))"] + fw.nest(c.red_loops, update)
    inner.append(fw.store(k.out, k.out_index, "i64", f"(i64.extend_i32_u (local.get {acc}))", env))
    fw.body += fw.nest(c.out_loops, inner)


def _scalar_point(c: _Loops) -> list[str]:
    fw, k = c.fw, c.k
    init, run, (result,) = _accumulate(fw, k, lambda b: fw.scalar(b, c.env), c.wt, 1, "acc")
    return init + (fw.nest(c.outer, run) if run else []) + [fw.store(k.out, k.out_index, c.out_dtype, result, c.env)]


def _vector_out(c: _Loops, pre: list) -> None:
    """Lanes along the innermost output dim: OUTPUT_GROUPS vectors at a time, then one, then
    a scalar tail."""
    fw, k, v = c.fw, c.k, c.vs[-1]

    def vector_points(groups) -> list[str]:
        init, run, results = _accumulate(fw, k, lambda b: fw.vector(b, c.env, v), "v128", 1, "vacc", groups)
        stores = [fw.vstore(k.out, lane_shift(k.out_index, g), x, c.env) for g, x in zip(groups, results)]
        return init + (fw.nest(c.outer, run) if run else []) + stores

    wide = OUTPUT_GROUPS if not _small_window(k) or _straight(k, OUTPUT_GROUPS) else ROW_GROUPS
    inner = lane_loops(fw, v, k.ranges[-1], wide,
                       lambda: vector_points([{v: 4 * g} for g in range(wide)]),
                       lambda: vector_points([{}]), lambda: _scalar_point(c))
    fw.body += fw.nest(c.out_loops[:-1], pre + inner)


def _vector_red(c: _Loops, pre: list) -> None:
    """Lanes along the innermost reduction dim, a scalar tail, the lanes combined at the end."""
    fw, k, dt, r = c.fw, c.k, c.dt, c.rs[-1]
    init, run, (result,) = _accumulate(fw, k, lambda b: fw.vector(b, c.env, r), "v128", 4, "vacc")
    acc = fw.local("$acc", c.wt)
    vec_end, tail = fw.vector_split(k.red_ranges[-1])
    if tail:
        step = f"(local.set {acc} {_combine_scalar(k.op, dt, f'(local.get {acc})', fw.scalar(k.body, c.env), fw.tmp)})"
        run = run + fw.loop(f"${r}", vec_end, fw.bound(k.red_ranges[-1]), 1, [step])
    point = pre + init + ([f"(local.set {acc} {text.const(_init(k.op, dt), dt)})"] if tail else [])
    point += fw.nest(c.outer, run)
    if result.startswith("(local.get "):
        vacc = result[len("(local.get "):-1]
    else:
        vacc = fw.local("$vsum", "v128")
        point.append(f"(local.set {vacc} {result})")
    lanes = [f"({dt}x4.extract_lane {i} (local.get {vacc}))" for i in range(4)]
    total = _tree(lambda a, b: _combine_scalar(k.op, dt, a, b, fw.tmp), lanes)
    if tail:
        total = _combine_scalar(k.op, dt, total, f"(local.get {acc})", fw.tmp)
    point.append(fw.store(k.out, k.out_index, c.out_dtype, total, c.env))
    fw.body += fw.nest(c.out_loops, point)


def _scalar(c: _Loops, pre: list) -> None:
    c.fw.body += c.fw.nest(c.out_loops[:-1], pre + c.fw.nest(c.out_loops[-1:], _scalar_point(c)))


_MODES = {"vector": _vector_out, "vector_reduce": _vector_red, "scalar": _scalar}


def _arg_pick(op: str, dt: str, x: str, best: str) -> str:
    gx, gb = f"(local.get {x})", f"(local.get {best})"
    if dt in FLOATS:
        better = f"({dt}.{'gt' if op == 'argmax' else 'lt'} {gx} {gb})"
        first_nan = f"(i32.and ({dt}.ne {gx} {gx}) ({dt}.eq {gb} {gb}))"
        return f"(i32.or {better} {first_nan})"
    return f"({text.WASM_TYPE[dt]}.{'gt_s' if op == 'argmax' else 'lt_s'} {gx} {gb})"
