"""Scan kernels (``ir.Scan``): an accumulator carried along the scan dim, stored at every step.

Loops: every output dim but the scan dim outside, the scan loop (``r0``) innermost, so each
scanned line runs in order with its accumulator in a local. In ``vector`` mode the innermost
output dim runs in lanes (it is contiguous in memory: e.g. ``cumsum`` over dim 0 of an
``[n, m]`` tensor takes 4 columns at a time, each lane its own column) in groups of 4 vectors
(a cache line per step down the scan dim), then single vectors, then a scalar tail.

Otherwise (``rows`` mode: i64, bodies that do not vectorise, ``simd=False``, or lines whose
elements are a row apart, as a scan along the last dim) the scalar loop interleaves several
lines, one accumulator each, for the same memory reason (see ``ROWS_ADJACENT``).
Measured (float32 cumsum along dim 0, whole compiled call, median of 15-40 calls, 2026-12-01),
lanes vs 16 interleaved scalar lines: [256, 256] 0.03-0.04 vs 0.04-0.05 ms, [2048, 64]
0.06-0.08 vs 0.08-0.09 ms, [64, 1024] 0.06 vs 0.05 ms, and on the bandwidth-bound
[512, 2048] 0.9-1.0 vs 0.6-0.85 ms (eager 14.5 ms): no clear winner; lanes are kept.

Arithmetic is PyTorch's CPU kernel's: an f32 ``sum``/``prod`` accumulates in f64
(``f64.promote_f32`` in, ``f32.demote_f64`` out at each store; in lanes two ``f64x2``
accumulators per vector), so results are bit-identical to eager. ``max``/``min`` take the
new element when ``x >= acc`` (``<=``) or ``x`` is NaN, branch-free (``select`` /
``v128.bitselect``); ``argmax``/``argmin`` track that element's position. ``logsumexp``
(``logcumsumexp``) keeps an f64 running value and computes its term ``log1p(exp(min - max))``
in f32 with the routines of ``csrc/wat/math_f32x4.wat``; it has no lane form.
"""

from __future__ import annotations

from .. import ir
from ..indexing import index_vars, reduction_vars
from ..schedule import lane_coeffs
from . import ops, text
from .reduce import OUTPUT_GROUPS, lane_shift
from .writer import FunctionWriter, lane_loops, loop_env

LO_HALF = " ".join(str(i) for i in range(8)) + " " + " ".join(str(16 + i) for i in range(8))  # lanes 0,1 | 0,1
HI_TO_LO = " ".join([str(8 + i) for i in range(8)] * 2)  # lanes 2,3 of a f32x4 moved to lanes 0,1
# Lines a "rows" scan interleaves: 16 adjacent in memory (a cache line of f32 per step down
# the scan dim), else 4 (their elements are a row apart). Measured, cumsum, median of 15:
# int64 [512, 2048] dim 0: one line at a time 9.7 ms, 4: 3.4 ms, 16: 1.4-1.7 ms (eager
# 6.5); float32 [512, 2048] dim -1: 1: 0.92 ms, 4: 0.58, 16: 4-8 ms (eager 0.78).
ROWS_ADJACENT, ROWS_STRIDED = (16, 4), (4,)
INT_MIN = {"i32": -2**31, "i64": -2**63}


def _wide_acc(k: ir.Scan) -> bool:
    """f32 sums, products and log-sum-exps accumulate in f64, as PyTorch's
    ``acc_type<float>`` (double)."""
    return k.body.dtype == "f32" and k.op in ("sum", "prod", "logsumexp")


def _init(k: ir.Scan) -> str:
    dt = k.body.dtype
    if k.op in ("sum", "prod"):
        v = 0 if k.op == "sum" else 1
        return f"(f64.const {v})" if _wide_acc(k) else text.const(v, dt)
    if k.op == "logsumexp":
        return "(f64.const -inf)"
    if dt in ("f32", "f64"):  # every element but NaN is >= -inf; a NaN element is taken anyway
        return text.const(float("-inf") if k.op in ("max", "argmax") else float("inf"), dt)
    lo = INT_MIN[dt]
    return text.const(lo if k.op in ("max", "argmax") else -lo - 1, dt)


def _take(k: ir.Scan, x: str, acc: str) -> str:
    """i32: the element ``x`` replaces the running extreme ``acc``."""
    dt = k.body.dtype
    cmp = "ge" if k.op in ("max", "argmax") else "le"
    if dt in ("f32", "f64"):
        return f"(i32.or ({dt}.{cmp} {x} {acc}) ({dt}.ne {x} {x}))"
    return f"({text.WASM_TYPE[dt]}.{cmp}_s {x} {acc})"


def _log_add_exp(fw: FunctionWriter, x: str, acc: str) -> list[str]:
    """``ir.Scan``'s ``logsumexp`` step of the f32 local ``x`` and the f64 local ``acc``,
    into ``acc``."""
    xd, lo, hi = (fw.local(f"$lse_{n}", "f64") for n in ("x", "lo", "hi"))
    e, u = fw.local("$lse_e", "f32"), fw.local("$lse_u", "f32")
    gx, ga, gl, gh, ge, gu = (f"(local.get {n})" for n in (xd, acc, lo, hi, e, u))
    exp = ops.scalar("exp", "f32", "f32", [f"(f32.demote_f64 (f64.sub {gl} {gh}))"], fw.tmp)
    log = ops.scalar("log", "f32", "f32", [gu], fw.tmp)
    log1p = f"(select {ge} (f32.div (f32.mul {log} {ge}) (f32.sub {gu} (f32.const 1))) (f32.eq {gu} (f32.const 1)))"
    same_inf = f"(i32.and (f64.eq {gl} {gh}) (f64.eq (f64.abs {gl}) (f64.const inf)))"
    return [f"(local.set {xd} (f64.promote_f32 (local.get {x})))",
            f"(local.set {lo} (f64.min {gx} {ga}))", f"(local.set {hi} (f64.max {gx} {ga}))",
            f"(local.set {e} {exp})", f"(local.set {u} (f32.add (f32.const 1) {ge}))",
            f"(local.set {acc} (select {gx} (f64.add {gh} (f64.promote_f32 {log1p})) {same_inf}))"]


def _scalar_point(fw: FunctionWriter, k: ir.Scan, body, env: dict, out_dtype: str, rows: int = 1) -> list[str]:
    """``rows`` adjacent lines (along the innermost output dim) scanned together, scalar:
    init, then the scan loop (update, store) with one accumulator per line."""
    (r,) = reduction_vars(1)
    v = index_vars(len(k.ranges))[-1] if k.ranges else None
    dt = k.body.dtype
    wt = "f64" if _wide_acc(k) else text.WASM_TYPE[dt]
    init, step = [], []
    for g in range(rows):
        shift = {v: g} if g else {}
        acc = fw.local(f"$acc{g}", wt)
        x = fw.scalar(lane_shift(body, shift), env)
        init.append(f"(local.set {acc} {_init(k)})")
        if k.op in ("sum", "prod"):
            name = "add" if k.op == "sum" else "mul"
            if _wide_acc(k):
                step.append(f"(local.set {acc} (f64.{name} (local.get {acc}) (f64.promote_f32 {x})))")
                value = f"(f32.demote_f64 (local.get {acc}))"
            else:
                step.append(f"(local.set {acc} ({wt}.{name} (local.get {acc}) {x}))")
                value = f"(local.get {acc})"
        elif k.op == "logsumexp":
            xl = fw.local(f"$xf{g}", "f32")
            step += [f"(local.set {xl} {x})"] + _log_add_exp(fw, xl, acc)
            value = f"(f32.demote_f64 (local.get {acc}))"
        else:
            xl = fw.local(f"$x{g}", wt)
            take = _take(k, f"(local.get {xl})", f"(local.get {acc})")
            step.append(f"(local.set {xl} {x})")
            if k.op in ("max", "min"):
                step.append(f"(local.set {acc} (select (local.get {xl}) (local.get {acc}) {take}))")
                value = f"(local.get {acc})"
            else:
                pos = fw.local(f"$pos{g}", "i32")
                init.append(f"(local.set {pos} (i32.const 0))")
                step.append(f"(if {take} (then (local.set {acc} (local.get {xl})) "
                            f"(local.set {pos} (local.get ${r}))))")
                value = f"(i64.extend_i32_u (local.get {pos}))"
        step.append(fw.store(k.out, lane_shift(k.out_index, shift), out_dtype, value, env))
    return init + fw.loop(f"${r}", 0, fw.bound(k.length), 1, step)


def _vector_points(fw: FunctionWriter, k: ir.Scan, body, env: dict, groups: int) -> list[str]:
    """``groups`` adjacent vectors of lines (4 lanes each along the innermost output dim)
    scanned together: one pass down the scan dim."""
    (r,) = reduction_vars(1)
    v = index_vars(len(k.ranges))[-1]
    dt = k.body.dtype
    init, step = [], []
    for g in range(groups):
        x = fw.local(f"$vx{g}", "v128")
        load = f"(local.set {x} {fw.vector(lane_shift(body, {v: 4 * g}), env, v)})"
        out = lane_shift(k.out_index, {v: 4 * g})
        if _wide_acc(k):
            lo, hi = fw.local(f"$vlo{g}", "v128"), fw.local(f"$vhi{g}", "v128")
            one = "0" if k.op == "sum" else "1"
            name = "add" if k.op == "sum" else "mul"
            init += [f"(local.set {a} (v128.const f64x2 {one} {one}))" for a in (lo, hi)]
            halves = {lo: f"(local.get {x})", hi: f"(i8x16.shuffle {HI_TO_LO} (local.get {x}) (local.get {x}))"}
            step += [load] + [f"(local.set {a} (f64x2.{name} (local.get {a}) (f64x2.promote_low_f32x4 {h})))"
                              for a, h in halves.items()]
            value = (f"(i8x16.shuffle {LO_HALF} (f32x4.demote_f64x2_zero (local.get {lo})) "
                     f"(f32x4.demote_f64x2_zero (local.get {hi})))")
        else:
            acc = fw.local(f"$vacc{g}", "v128")
            init.append(f"(local.set {acc} ({dt}x4.splat {_init(k)}))")
            a, xv = f"(local.get {acc})", f"(local.get {x})"
            if dt == "i32":
                name = {"sum": "add", "prod": "mul", "max": "max_s", "min": "min_s"}[k.op]
                update = f"(i32x4.{name} {a} {xv})"
            else:  # f32 max/min: take x where x >= acc (<=) or x is NaN
                cmp = "ge" if k.op == "max" else "le"
                update = f"(v128.bitselect {xv} {a} (v128.or (f32x4.{cmp} {xv} {a}) (f32x4.ne {xv} {xv})))"
            step += [load, f"(local.set {acc} {update})"]
            value = a
        step.append(fw.vstore(k.out, out, value, env))
    return init + fw.loop(f"${r}", 0, fw.bound(k.length), 1, step)


def scan(fw: FunctionWriter, k: ir.Scan, mode: str, out_dtype: str) -> None:
    vs, (r,) = index_vars(len(k.ranges)), reduction_vars(1)
    env = loop_env(fw, tuple(vs) + (r,))
    loops = [(f"${v}", e) for v, e in zip(vs, k.ranges)]
    if mode == "rows":  # several lines at a time, scalar: 16 then 4 adjacent ones, or 4 strided
        v = vs[-1]
        sizes = ROWS_ADJACENT if lane_coeffs(k.out_index, v)[1][v] == 1 else ROWS_STRIDED
        body, pre = fw.hoist(k.body, {r, v}, env, False)
        extent = fw.bound(k.ranges[-1])
        inner, start = [], 0
        for rows in sizes + (1,):
            if rows == 1:
                end = extent
            elif isinstance(extent, int):
                end = extent // rows * rows
            else:
                end = f"(i32.and {extent} (i32.const {-rows}))"
            if not (isinstance(start, int) and isinstance(end, int)) or end > start:
                inner += fw.loop(f"${v}", start, end, rows, _scalar_point(fw, k, body, env, out_dtype, rows))
            start = end
        fw.body += fw.nest(loops[:-1], pre + inner)
        return
    if mode != "vector":
        body, pre = fw.hoist(k.body, {r}, env, False)
        fw.body += fw.nest(loops, pre + _scalar_point(fw, k, body, env, out_dtype))
        return
    v = vs[-1]
    body, pre = fw.hoist(k.body, {r, v}, env, True)
    inner = lane_loops(fw, v, k.ranges[-1], OUTPUT_GROUPS, lambda: _vector_points(fw, k, body, env, OUTPUT_GROUPS),
                       lambda: _vector_points(fw, k, body, env, 1), lambda: _scalar_point(fw, k, body, env, out_dtype))
    fw.body += fw.nest(loops[:-1], pre + inner)
