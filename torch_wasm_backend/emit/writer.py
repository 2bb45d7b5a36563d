"""Writing one WAT function: locals, loops, addresses, scalar and vector expressions.

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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from .. import ir
from ..schedule import lane_coeffs
from ..target import SIMD128
from . import ops, text


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
            return self._wrap(pre, text.WASM_TYPE[node.dtype], text.load(node.dtype, f"offset={off} {addr}"))
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
                if node.dtype in ("f32", "i32"):  # one instruction (V8 does not fuse a load and a splat)
                    pre: list[str] = []
                    addr, off = self._load_address(node, env, pre)
                    return self._wrap(pre, "v128", f"(v128.load32_splat offset={off} {addr})")
                s = self.scalar(node, env)
                if node.dtype == "bool":
                    return f"(i32x4.splat (i32.sub (i32.const 0) {s}))"
                return f"({'i32' if node.dtype == 'i8' else node.dtype}x4.splat {s})"
            pre: list[str] = []
            addr, off = self._load_address(node, env, pre)
            if node.dtype == "bool":
                v = (f"(i32x4.ne (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u "
                     f"(v128.load32_zero offset={off} align=1 {addr}))) {ops.ZERO})")
            elif node.dtype == "i8":  # int8 lanes: i32x4, sign-extended
                v = (f"(i32x4.extend_low_i16x8_s (i16x8.extend_low_i8x16_s "
                     f"(v128.load32_zero offset={off} align=1 {addr})))")
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
        if stride in SIMD128.shuffle_strides:
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
        return text.store(dtype, f"offset={off} {addr}", value)

    def vstore_i8(self, buf: str, idx, value: str, env: dict) -> str:
        """4 int8 lanes (an i32x4, each lane's low byte) stored as 4 contiguous bytes."""
        addr, off = self.address(buf, idx, 1, env)
        # the second operand is never selected: a constant (the value twice was computed twice by V8)
        narrow = f"(i8x16.shuffle 0 4 8 12 0 0 0 0 0 0 0 0 0 0 0 0 {value} (v128.const i32x4 0 0 0 0))"
        return f"(v128.store32_lane offset={off} align=1 0 {addr} {narrow})"

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


def lane_loops(fw: FunctionWriter, var, bound, groups: int, wide, one, tail) -> list[str]:
    """Loops over ``var`` in [0, ``bound``): ``groups`` v128s per iteration (``wide()``), then
    one (``one()``), then one element at a time (``tail()``). The bodies are built only for
    the loops emitted (loops known to be empty are left out), in that order."""
    extent, step = fw.bound(bound), 4 * groups
    if isinstance(extent, int):
        wide_end, vec_end = extent // step * step, extent // 4 * 4
    else:
        wide_end, vec_end = f"(i32.and {extent} (i32.const {-step}))", f"(i32.and {extent} (i32.const -4))"
    out = []
    if not isinstance(wide_end, int) or wide_end > 0:
        out += fw.loop(f"${var}", 0, wide_end, step, wide())
    if not isinstance(wide_end, int) or vec_end > wide_end:
        out += fw.loop(f"${var}", wide_end, vec_end, 4, one())
    if not isinstance(vec_end, int) or extent > vec_end:
        out += fw.loop(f"${var}", vec_end, extent, 1, tail())
    return out


def loop_env(fw: FunctionWriter, variables) -> dict:
    """The WAT of each size symbol and loop variable (an i32 local named after it)."""
    return {**fw.sizes, **{v: f"(local.get {fw.local('$' + str(v), 'i32')})" for v in variables}}
