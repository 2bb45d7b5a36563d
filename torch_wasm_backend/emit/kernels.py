"""The kernel emitter: one WAT function per scheduled kernel.

Loops are structured and always the same shape. With a static extent: ``(loop ...
(br_if ...))`` counting up (an empty loop is not emitted at all). With a symbolic extent the
loop is guarded at the top: ``(block (loop (br_if exit) ... (br loop)))``. A vectorised
loop runs in steps of 4 lanes up to the largest multiple of 4, then a scalar tail loop
finishes the remainder. A static buffer address is a constant from the memory plan, folded
into the ``offset=`` immediate of loads and stores; in a dynamic-shape module, sizes and the
addresses of moving buffers are read from the parameter block once at function entry.

Vector loads along the lanes may be strided (``FunctionWriter.gather``: pooling windows,
strided im2col); sub-expressions that do not depend on the inner loop variables are
computed once before those loops (``FunctionWriter.hoist``: a batch norm's per-channel
scale inside a pooling window).

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
from ..schedule import KernelPlan, lane_coeffs
from . import ops, text

INIT = {"sum": 0, "prod": 1}
HOIST = True  # loop-invariant sub-expressions computed once (FunctionWriter.hoist)
SHUFFLE_STRIDES = (2, 3)  # strided vector loads by two loads and a shuffle (FunctionWriter.gather)


@dataclass(frozen=True)
class Hoisted:
    """A loop-invariant sub-expression, computed once before the inner loops into the
    scalar local ``name`` (and, for vector code, splatted into ``vname``)."""

    name: str
    vname: str | None
    dtype: str


class FunctionWriter:
    def __init__(self, name: str, offsets: dict, params=None):
        self.name = name
        self.offsets = offsets  # buffer -> static byte offset (persistent buffers, static programs)
        self.params = params  # memory.ParamBlock of a dynamic-shape program, else None
        self.sizes = {s: f"(local.get $sz_{s})" for s in params.symbols} if params else {}
        self.locals: dict[str, str] = {}
        self.body: list[str] = []
        self._tmp = 0
        self._label = 0

    # -- locals and text
    def local(self, name: str, typ: str) -> str:
        self.locals.setdefault(name, typ)
        return name

    def tmp(self, typ: str) -> str:
        self._tmp += 1
        return self.local(f"$t{self._tmp}", typ)

    def label(self, stem: str) -> str:
        self._label += 1
        return f"${stem}{self._label}"

    def text(self) -> str:
        body = "".join(f"\n  {line}" for line in self.body)
        prologue = ""
        if self.params:  # read sizes and moving offsets the body uses, once
            for sym in self.params.symbols:
                if f"$sz_{sym})" in body:
                    self.local(f"$sz_{sym}", "i32")
                    prologue += f"\n  (local.set $sz_{sym} (i32.load offset={self.params.symbol_addr(sym)} (i32.const 0)))"
            for buf in self.params.buffers:
                if f"$b_{buf})" in body:
                    self.local(f"$b_{buf}", "i32")
                    prologue += f"\n  (local.set $b_{buf} (i32.load offset={self.params.buffer_addr(buf)} (i32.const 0)))"
        decl = "".join(f"\n  (local {n} {t})" for n, t in self.locals.items())
        return f"(func {self.name}{decl}{prologue}{body})"

    # -- sizes and addresses
    def bound(self, x):
        """A loop bound: an int when static, else WAT computing it."""
        x = sympy.sympify(x)
        return int(x) if x.is_Integer else text.index(x, self.sizes)

    def address(self, buf: str, idx, itemsize: int, env: dict) -> tuple[str, int]:
        """(dynamic part, static offset) of element ``idx`` of ``buf``."""
        if self.params and buf in self.params.buffers:
            dyn, static = text.address(0, idx, itemsize, env)
            base = f"(local.get $b_{buf})"
            return (base if dyn == "(i32.const 0)" else f"(i32.add {base} {dyn})"), static
        return text.address(self.offsets[buf], idx, itemsize, env)

    # -- loops
    def loop(self, var: str, start, stop, step: int, body: list[str]) -> list[str]:
        """``for var in range(start, stop, step)``. Static bounds: the caller guarantees
        start < stop. A bound may be WAT text (symbolic sizes): then the loop is guarded."""
        lbl = self.label("L")
        if isinstance(start, int) and isinstance(stop, int):
            out = [f"(local.set {var} (i32.const {start}))", f"(loop {lbl}"]
            out += ["  " + line for line in body]
            out.append(f"  (br_if {lbl} (i32.lt_u (local.tee {var} (i32.add (local.get {var}) (i32.const {step}))) "
                       f"(i32.const {stop}))))")
            return out
        wat = (lambda b: f"(i32.const {b})" if isinstance(b, int) else b)
        done = self.label("B")
        last = f"(i32.gt_s (i32.add (local.get {var}) (i32.const {step})) {wat(stop)})" if step > 1 else \
            f"(i32.ge_s (local.get {var}) {wat(stop)})"
        out = [f"(local.set {var} {wat(start)})", f"(block {done} (loop {lbl}", f"  (br_if {done} {last})"]
        out += ["  " + line for line in body]
        out.append(f"  (local.set {var} (i32.add (local.get {var}) (i32.const {step})))")
        out.append(f"  (br {lbl})))")
        return out

    def blocks(self, var: str, stop, step: int, block: int, pre: list[str], body: list[str],
               post: list[str]) -> list[str]:
        """For each block ``[start, min(start + block, stop))`` of ``[0, stop)``: ``pre``,
        ``body`` for ``var`` in the block in steps of ``step``, then ``post``. ``stop`` (an int
        or WAT) is a multiple of ``step``, and so is ``block``."""
        end, g = self.local("$bend", "i32"), f"(local.get {var})"
        limit = f"(i32.const {stop})" if isinstance(stop, int) else stop
        outer, inner = self.label("L"), self.label("L")
        nxt = f"(i32.add {g} (i32.const {block}))"
        out = [f"(local.set {var} (i32.const 0))", f"(loop {outer}",
               f"  (local.set {end} (select {nxt} {limit} (i32.lt_s {nxt} {limit})))"]
        out += ["  " + line for line in pre] + [f"  (loop {inner}"] + ["    " + line for line in body]
        out.append(f"    (br_if {inner} (i32.lt_u (local.tee {var} (i32.add {g} (i32.const {step}))) (local.get {end}))))")
        out += ["  " + line for line in post] + [f"  (br_if {outer} (i32.lt_u {g} {limit})))"]
        if not isinstance(stop, int):  # a symbolic extent may hold no whole step
            out = [f"(if (i32.gt_s {limit} (i32.const 0)) (then"] + ["  " + line for line in out]
            out[-1] += "))"
        return out

    def nest(self, vars_ranges: list, inner: list[str]) -> list[str]:
        lines = inner
        for var, extent in reversed(vars_ranges):
            lines = self.loop(var, 0, self.bound(extent), 1, lines)
        return lines

    def vector_split(self, extent):
        """(end of the 4-lane loop, whether a scalar tail may run) for ``extent``."""
        b = self.bound(extent)
        if isinstance(b, int):
            return b // 4 * 4, b % 4 != 0
        return f"(i32.and {b} (i32.const -4))", True

    # -- loop-invariant code
    def hoist(self, body, inner: set, env: dict, vector: bool) -> tuple:
        """``body`` with each largest sub-expression that uses none of the ``inner`` loop
        variables (e.g. a batch norm's per-channel ``1 / sqrt(var + eps)`` inside a pooling
        window) replaced by a ``Hoisted`` local, and the WAT setting those locals, to run
        before the inner loops. The same operations on the same values: results unchanged."""
        pre: list[str] = []
        done: dict = {}
        if not HOIST:
            return body, pre

        def visit(e):
            if not isinstance(e, ir.Op):
                return e
            if e.dtype in ("f32", "i32") and _invariant(e, inner):
                if e not in done:
                    name = self.local(f"$h{len(done)}", text.WASM_TYPE[e.dtype])
                    pre.append(f"(local.set {name} {self.scalar(e, env)})")
                    vname = None
                    if vector:
                        vname = self.local(f"$hv{len(done)}", "v128")
                        pre.append(f"(local.set {vname} ({e.dtype}x4.splat (local.get {name})))")
                    done[e] = Hoisted(name, vname, e.dtype)
                return done[e]
            return replace(e, args=tuple(visit(a) for a in e.args))

        return visit(body), pre

    # -- expressions
    def _load_address(self, node: ir.Load, env: dict, pre: list[str]) -> tuple[str, int]:
        env = dict(env)
        for sym, e, bound in node.indirect:
            t = self.tmp("i32")
            pre.append(f"(local.set {t} {self.scalar(e, env)})")
            pre.append(f"(if (i32.ge_u (local.get {t}) (i32.const {int(bound)})) (then unreachable))")
            env[sym] = f"(local.get {t})"
        return self.address(node.buffer, node.index, text.ITEMSIZE[node.dtype], env)

    def _wrap(self, pre: list[str], typ: str, value: str) -> str:
        if not pre:
            return value
        return f"(block (result {typ}) {' '.join(pre)} {value})"

    def scalar(self, node, env: dict) -> str:
        if isinstance(node, Hoisted):
            return f"(local.get {node.name})"
        if isinstance(node, ir.Load):
            pre: list[str] = []
            addr, off = self._load_address(node, env, pre)
            return self._wrap(pre, text.WASM_TYPE[node.dtype], f"({text.LOAD[node.dtype]} offset={off} {addr})")
        if isinstance(node, ir.Const):
            return text.const(node.value, node.dtype)
        if isinstance(node, ir.Index):
            idx = text.index(node.expr, env)
            return f"(i64.extend_i32_s {idx})" if node.dtype == "i64" else idx
        args = [self.scalar(a, env) for a in node.args]
        return ops.scalar(node.name, _src_dtype(node), node.dtype, args, self.tmp)

    def vector(self, node, env: dict, var) -> str:
        """4 lanes along ``var`` (lane k sees ``var + k``)."""
        if isinstance(node, Hoisted):
            return f"(local.get {node.vname})"
        if isinstance(node, ir.Load):
            coeff = lane_coeffs(node.index, var, [s for s, _, _ in node.indirect])[1][var]
            if coeff == 0:
                s = self.scalar(node, env)
                if node.dtype == "bool":
                    return f"(i32x4.splat (i32.sub (i32.const 0) {s}))"
                return f"({node.dtype}x4.splat {s})"
            pre: list[str] = []
            addr, off = self._load_address(node, env, pre)
            if node.dtype == "bool":
                v = (f"(i32x4.ne (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u "
                     f"(v128.load32_zero offset={off} align=1 {addr}))) {ops.ZERO})")
            elif coeff == 1:
                v = f"(v128.load offset={off} align=4 {addr})"
            else:
                v = self.gather(addr, off, int(coeff))
            return self._wrap(pre, "v128", v)
        if isinstance(node, ir.Const):
            return text.vconst(node.value, node.dtype)
        if isinstance(node, ir.Index):
            c = int(lane_coeffs(node.expr, var)[1][var])
            return (f"(i32x4.add (i32x4.splat {text.index(node.expr, env)}) "
                    f"(v128.const i32x4 0 {c} {2 * c} {3 * c}))")
        args = [self.vector(a, env, var) for a in node.args]
        return ops.vector(node.name, _src_dtype(node), node.dtype, args, self.tmp)

    def gather(self, addr: str, off: int, stride: int) -> str:
        """4-byte elements ``stride`` apart from ``addr + off``, in 4 lanes. Strides 2 and 3:
        two v128 loads (elements 0..3 and 3s-3..3s) and one shuffle taking lanes 0, s of the
        first and 3-s, 3 of the second; never reading past the last element used. Wider:
        one lane at a time."""
        setup = None
        if not addr.startswith("(i32.const "):  # computed once, read by every load
            a = self.tmp("i32")
            setup, addr = f"(local.set {a} {addr})", f"(local.get {a})"
        if stride in SHUFFLE_STRIDES:
            lanes = [0, stride, 4 + 3 - stride, 4 + 3]
            sel = " ".join(str(4 * lane + b) for lane in lanes for b in range(4))
            v = (f"(i8x16.shuffle {sel} (v128.load offset={off} align=4 {addr}) "
                 f"(v128.load offset={off + 4 * (3 * stride - 3)} align=4 {addr}))")
        else:
            v = f"(v128.load32_zero offset={off} align=4 {addr})"
            for lane in (1, 2, 3):
                v = f"(v128.load32_lane offset={off + 4 * stride * lane} align=4 {lane} {addr} {v})"
        return v if setup is None else f"(block (result v128) {setup} {v})"

    # -- stores
    def store(self, buf: str, idx, dtype: str, value: str, env: dict) -> str:
        addr, off = self.address(buf, idx, text.ITEMSIZE[dtype], env)
        return f"({text.STORE[dtype]} offset={off} {addr} {value})"

    def vstore(self, buf: str, idx, value: str, env: dict) -> str:
        addr, off = self.address(buf, idx, 4, env)
        return f"(v128.store offset={off} align=4 {addr} {value})"


def _src_dtype(node: ir.Op) -> str:
    if node.name == "where":
        return node.dtype
    if node.name == "cast" or node.name in ir.COMPARE_OPS:
        return node.args[0].dtype
    return node.dtype


def _invariant(expr, inner: set) -> bool:
    """``expr`` reads no index in ``inner``, no data-dependent address, and cannot trap
    (integer division), so it may be evaluated once, ahead of the loops over ``inner``."""
    for node in ir.walk(expr):
        if isinstance(node, ir.Load):
            if node.indirect or sympy.sympify(node.index).free_symbols & inner:
                return False
        elif isinstance(node, ir.Index):
            if sympy.sympify(node.expr).free_symbols & inner:
                return False
        elif isinstance(node, ir.Op) and node.dtype in ("i32", "i64") and node.name in ("div", "floordiv", "mod"):
            return False
    return True


def _env(fw: FunctionWriter, variables) -> dict:
    return {**fw.sizes, **{v: f"(local.get {fw.local('$' + str(v), 'i32')})" for v in variables}}


# --------------------------------------------------------------------------- pointwise
def pointwise(fw: FunctionWriter, k: ir.Pointwise, mode: str, out_dtype: str) -> None:
    vs = index_vars(len(k.ranges))
    env = _env(fw, vs)
    loops = [(f"${v}", r) for v, r in zip(vs, k.ranges)]
    v = vs[-1] if vs else None
    body, pre = fw.hoist(k.body, set(vs[-1:]), env, mode == "vector")
    if mode != "vector":
        fw.body += fw.nest(loops[:-1], pre + fw.nest(loops[-1:], [fw.store(k.out, k.out_index, out_dtype,
                                                                           fw.scalar(body, env), env)]))
        return
    vec_end, tail = fw.vector_split(k.ranges[-1])
    inner = fw.loop(f"${v}", 0, vec_end, 4, [fw.vstore(k.out, k.out_index, fw.vector(body, env, v), env)])
    if tail:
        inner += fw.loop(f"${v}", vec_end, fw.bound(k.ranges[-1]), 1,
                         [fw.store(k.out, k.out_index, out_dtype, fw.scalar(body, env), env)])
    fw.body += fw.nest(loops[:-1], pre + inner)


# --------------------------------------------------------------------------- reductions
ACCUMULATORS = 8  # independent accumulators (a power of two): bound by throughput, not add latency
OUTPUT_GROUPS = 4  # vector mode: 4 x 4 adjacent outputs (a cache line) per pass over the reduced axis
SMALL_BODY = 8  # IR nodes; a larger body gets at most 2 accumulators per group (less code)
SMALL_WINDOW = 9  # reduction spaces up to this many points (3x3) are unrolled completely
BLOCK = 32  # an f32 sum flushes its accumulators into a running total every BLOCK unrolled iterations


def _init(op: str, dtype: str):
    if op in INIT:
        return INIT[op]
    big = {"f32": float("inf"), "i32": 2**31 - 1, "i64": 2**63 - 1}[dtype]
    return -big - (0 if dtype == "f32" else 1) if op in ("max", "argmax") else big


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


def _shift(expr, offsets: dict):
    """``expr`` (an IR expression, or an index when a sympy expression) with each variable
    ``v`` of ``offsets`` replaced by ``v + offset``."""
    offsets = {v: v + o for v, o in offsets.items() if o}
    if not offsets:
        return expr
    fix = lambda e: sympy.expand(sympy.sympify(e).xreplace(offsets))
    if isinstance(expr, sympy.Basic):
        return fix(expr)
    from ..lower.core import map_expr

    return map_expr(expr, fix)


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
        return [], [], [_unrolled(k, value, combine, init_value, g) for g in groups]
    n = fw.bound(k.red_ranges[-1])
    per = max(1, ACCUMULATORS // len(groups))
    if sum(1 for _ in ir.walk(k.body)) > SMALL_BODY:  # its own work hides the add latency
        per = min(per, 2)
    if isinstance(n, int):  # a power of two, at most a quarter of the steps
        per = max(1, min(per, 1 << max(0, (n // (4 * step)).bit_length() - 1)))
    unroll = per * step
    accs = [[fw.local(f"${name}{g * per + j}", typ) for j in range(per)] for g in range(len(groups))]

    def add(acc: str, group: dict, offset: int) -> str:
        x = value(_shift(k.body, {**group, r: offset}))
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


def _unrolled(k: ir.Reduce, value, combine, init_value: str, group: dict) -> str:
    """The reduction of a small window as one straight-line expression, each point's loads
    at constant offsets (in the ``offset=`` immediates, one address computation): the
    same operations in the same order as ``_accumulate``'s loops with one accumulator,
    so the same results (an f32 sum of several dims adds per-row partials to a total)."""
    rs = reduction_vars(len(k.red_ranges))
    ext = [int(e) for e in k.red_ranges]
    blocked = k.op == "sum" and k.body.dtype == "f32" and len(ext) > 1
    from ..lower.core import map_expr

    def at(pos) -> str:
        sub = {**{v: v + o for v, o in group.items() if o}, **{r: sympy.Integer(p) for r, p in zip(rs, pos)}}
        return value(map_expr(k.body, lambda e: sympy.expand(sympy.sympify(e).xreplace(sub))))

    acc = total = init_value
    for row in itertools.product(*(range(e) for e in ext[:-1])):
        if blocked:
            acc = init_value
        for j in range(ext[-1]):
            acc = combine(acc, at(row + (j,)))
        if blocked:
            total = combine(total, acc)
    return total if blocked else acc


def reduce(fw: FunctionWriter, k: ir.Reduce, mode: str, out_dtype: str) -> None:
    if not k.red_ranges:  # over no dims: one point, one loop of one iteration
        k = replace(k, red_ranges=(sympy.Integer(1),))
    vs, rs = index_vars(len(k.ranges)), reduction_vars(len(k.red_ranges))
    env = _env(fw, vs + rs)
    dt = k.body.dtype
    wt = text.WASM_TYPE[dt]
    out_loops = [(f"${v}", r) for v, r in zip(vs, k.ranges)]
    red_loops = [(f"${r}", e) for r, e in zip(rs, k.red_ranges)]
    outer = red_loops[:-1]
    empty_red = any(e == 0 for e in k.red_ranges)

    if k.op in ("argmax", "argmin"):
        acc = fw.local("$bidx", "i32")
        best, pos, x = fw.local("$best", wt), fw.local("$pos", "i32"), fw.local("$x", wt)
        pick = _arg_pick(k.op, dt, x, best)
        update = [f"(local.set {x} {fw.scalar(k.body, env)})",
                  f"(if {pick} (then (local.set {best} (local.get {x})) (local.set {acc} (local.get {pos}))))",
                  f"(local.set {pos} (i32.add (local.get {pos}) (i32.const 1)))"]
        inner = [f"(local.set {best} {text.const(_init(k.op, dt), dt)})", f"(local.set {acc} (i32.const 0))",
                 f"(local.set {pos} (i32.const 0))"] + fw.nest(red_loops, update)
        inner.append(fw.store(k.out, k.out_index, "i64", f"(i64.extend_i32_u (local.get {acc}))", env))
        fw.body += fw.nest(out_loops, inner)
        return

    if empty_red:
        value = text.const(_init(k.op, dt), dt)
        fw.body += fw.nest(out_loops, [fw.store(k.out, k.out_index, out_dtype, value, env)])
        return

    # invariants of the reduction (and, but in vector_reduce mode, of the innermost output
    # dim) are computed once, before those loops
    inner_vars = set(rs) | ({vs[-1]} if vs and mode != "vector_reduce" else set())
    body, pre = fw.hoist(k.body, inner_vars, env, mode != "scalar")
    k = replace(k, body=body)

    def scalar_point() -> list[str]:
        init, run, (result,) = _accumulate(fw, k, lambda b: fw.scalar(b, env), wt, 1, "acc")
        return init + (fw.nest(outer, run) if run else []) + [fw.store(k.out, k.out_index, out_dtype, result, env)]

    if mode == "vector":  # lanes along the innermost output dim
        v = vs[-1]

        def vector_points(groups) -> list[str]:
            init, run, results = _accumulate(fw, k, lambda b: fw.vector(b, env, v), "v128", 1, "vacc", groups)
            stores = [fw.vstore(k.out, _shift(k.out_index, g), x, env) for g, x in zip(groups, results)]
            return init + (fw.nest(outer, run) if run else []) + stores

        extent = fw.bound(k.ranges[-1])
        wide = 4 * OUTPUT_GROUPS
        if isinstance(extent, int):
            wide_end, vec_end = extent // wide * wide, extent // 4 * 4
        else:
            wide_end, vec_end = f"(i32.and {extent} (i32.const {-wide}))", f"(i32.and {extent} (i32.const -4))"
        inner = []
        if not isinstance(wide_end, int) or wide_end > 0:
            inner += fw.loop(f"${v}", 0, wide_end, wide, vector_points([{v: 4 * g} for g in range(OUTPUT_GROUPS)]))
        if not isinstance(wide_end, int) or vec_end > wide_end:
            inner += fw.loop(f"${v}", wide_end, vec_end, 4, vector_points([{}]))
        if not isinstance(vec_end, int) or extent > vec_end:
            inner += fw.loop(f"${v}", vec_end, extent, 1, scalar_point())
        fw.body += fw.nest(out_loops[:-1], pre + inner)
        return

    if mode == "vector_reduce":  # lanes along the innermost reduction dim, scalar tail
        r = rs[-1]
        init, run, (result,) = _accumulate(fw, k, lambda b: fw.vector(b, env, r), "v128", 4, "vacc")
        acc = fw.local("$acc", wt)
        vec_end, tail = fw.vector_split(k.red_ranges[-1])
        if tail:
            step = f"(local.set {acc} {_combine_scalar(k.op, dt, f'(local.get {acc})', fw.scalar(k.body, env), fw.tmp)})"
            run = run + fw.loop(f"${r}", vec_end, fw.bound(k.red_ranges[-1]), 1, [step])
        point = pre + init + ([f"(local.set {acc} {text.const(_init(k.op, dt), dt)})"] if tail else [])
        point += fw.nest(outer, run)
        if result.startswith("(local.get "):
            vacc = result[len("(local.get "):-1]
        else:
            vacc = fw.local("$vsum", "v128")
            point.append(f"(local.set {vacc} {result})")
        lanes = [f"({dt}x4.extract_lane {i} (local.get {vacc}))" for i in range(4)]
        total = _tree(lambda a, b: _combine_scalar(k.op, dt, a, b, fw.tmp), lanes)
        if tail:
            total = _combine_scalar(k.op, dt, total, f"(local.get {acc})", fw.tmp)
        point.append(fw.store(k.out, k.out_index, out_dtype, total, env))
        fw.body += fw.nest(out_loops, point)
        return

    fw.body += fw.nest(out_loops[:-1], pre + fw.nest(out_loops[-1:], scalar_point()))


def _arg_pick(op: str, dt: str, x: str, best: str) -> str:
    gx, gb = f"(local.get {x})", f"(local.get {best})"
    if dt == "f32":
        better = f"(f32.{'gt' if op == 'argmax' else 'lt'} {gx} {gb})"
        first_nan = f"(i32.and (f32.ne {gx} {gx}) (f32.eq {gb} {gb}))"
        return f"(i32.or {better} {first_nan})"
    return f"({text.WASM_TYPE[dt]}.{'gt_s' if op == 'argmax' else 'lt_s'} {gx} {gb})"


# --------------------------------------------------------------------------- gemm
def gemm(fw: FunctionWriter, k: ir.Gemm) -> None:
    batch = fw.bound(k.batch)
    b = fw.local("$b", "i32")
    env = {**fw.sizes, sympy.Symbol("gemm_b"): f"(local.get {b})"}

    def addr(op: ir.Operand) -> str:
        idx = op.offset + (0 if batch == 1 else op.batch_stride * sympy.Symbol("gemm_b"))
        dyn, static = fw.address(op.buffer, idx, 4, env)
        return f"(i32.const {static})" if dyn == "(i32.const 0)" else \
            (dyn if static == 0 else f"(i32.add {dyn} (i32.const {static}))")

    def val(x) -> str:
        b_ = fw.bound(x)
        return f"(i32.const {b_})" if isinstance(b_, int) else b_

    bias = "(i32.const 0)"
    if k.bias:
        dyn, static = fw.address(k.bias, 0, 4, env)
        bias = f"(i32.const {static})" if dyn == "(i32.const 0)" else dyn
    bias_row, bias_col = (bias, "(i32.const 0)") if k.bias_axis == 0 else ("(i32.const 0)", bias)
    flags = 2 if k.relu else 0
    if k.packed:  # B packed by a PackB kernel (in prepare for a weight, else just before)
        pstride = k.packed_batch_stride if batch != 1 else 0
        packed = addr(ir.Operand(k.packed, 0, pstride, 0, 1))
        fn = "$f32_gemm_packed_fma" if k.fma else "$f32_gemm_packed"
        call = (f"(call {fn} {addr(k.a)} {packed} {addr(k.c)} {val(k.m)} {val(k.n)} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} (i32.const {flags}))")
    else:
        call = (f"(call $f32_gemm {addr(k.a)} {addr(k.b)} {addr(k.c)} {val(k.m)} {val(k.n)} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.b.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} "
                f"(i32.const {flags}))")
    fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def pack_b(fw: FunctionWriter, k: ir.PackB) -> None:
    batch = int(k.batch)
    b = fw.local("$b", "i32") if batch != 1 else None
    bvar = sympy.Symbol("gemm_b") if batch != 1 else sympy.Integer(0)
    env = {**fw.sizes, bvar: f"(local.get {b})"} if batch != 1 else fw.sizes

    def addr(buffer, idx) -> str:
        dyn, static = fw.address(buffer, idx, 4, env)
        return f"(i32.const {static})" if dyn == "(i32.const 0)" else \
            (dyn if static == 0 else f"(i32.add {dyn} (i32.const {static}))")

    src = addr(k.src.buffer, k.src.offset + k.src.batch_stride * bvar)
    dst = addr(k.out, sympy.Integer(ir.packed_size(k.k, k.n)) * bvar)
    fn, ld = ("$f32_gemm_pack_bt", k.src.col_stride) if k.transposed else ("$f32_gemm_pack_b", k.src.row_stride)
    call = f"(call {fn} {src} (i32.const {int(ld)}) (i32.const {int(k.k)}) (i32.const {int(k.n)}) {dst})"
    fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def emit_kernel(plan: KernelPlan, offsets: dict, buffers: dict, params=None) -> str | None:
    """The WAT function for one kernel, or None when its iteration space is empty."""
    k = plan.kernel
    fw = FunctionWriter(f"${k.name}", offsets, params)
    if isinstance(k, ir.PackB):
        pack_b(fw, k)
    elif isinstance(k, ir.Gemm):
        if k.batch * k.m * k.n == 0:
            return None
        gemm(fw, k)
    else:
        if any(sympy.sympify(r) == 0 for r in k.ranges):
            return None
        out_dtype = buffers[k.out].dtype
        (pointwise if isinstance(k, ir.Pointwise) else reduce)(fw, k, plan.mode, out_dtype)
    return fw.text()
