"""The kernel emitter: one WAT function per scheduled kernel.

``emit_kernel`` dispatches on the kernel kind: pointwise loops here, reductions in
``reduce.py``, scans in ``scan.py``, GEMMs, B packing and matrix routines (``matrix.py``) as
calls into the hand-written routines of ``csrc/wat``. ``writer.py`` holds what every kind shares (loops, addresses, expressions).
"""

from __future__ import annotations

import sympy

from .. import ir
from ..indexing import index_vars
from ..schedule import KernelPlan
from .matrix import matrix_call
from .reduce import reduce
from .scan import scan
from .writer import FunctionWriter, loop_env


def pointwise(fw: FunctionWriter, k: ir.Pointwise, mode: str, out_dtype: str) -> None:
    vs = index_vars(len(k.ranges))
    env = loop_env(fw, vs)
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


def _emit_pack(fw, plan, buffers) -> bool:
    pack_b(fw, plan.kernel)
    return True


def _emit_gemm(fw, plan, buffers) -> bool:
    k = plan.kernel
    if k.batch * k.m * k.n == 0:
        return False
    gemm(fw, k)
    return True


def _emit_loop(emitter):
    """A Pointwise, Reduce or Scan kernel: nothing when its iteration space is empty."""

    def emit(fw, plan, buffers) -> bool:
        k = plan.kernel
        if any(sympy.sympify(r) == 0 for r in k.ranges) or sympy.sympify(getattr(k, "length", 1)) == 0:
            return False
        emitter(fw, k, plan.mode, buffers[k.out].dtype)
        return True

    return emit


def _emit_matrix_call(fw, plan, buffers) -> bool:
    if int(plan.kernel.batch) == 0:
        return False
    matrix_call(fw, plan.kernel)
    return True


_EMIT = {ir.PackB: _emit_pack, ir.Gemm: _emit_gemm, ir.Pointwise: _emit_loop(pointwise), ir.Reduce: _emit_loop(reduce),
         ir.Scan: _emit_loop(scan), ir.MatrixCall: _emit_matrix_call}


def emit_kernel(plan: KernelPlan, offsets: dict, buffers: dict, params=None) -> str | None:
    """The WAT function for one kernel, or None when its iteration space is empty."""
    fw = FunctionWriter(f"${plan.kernel.name}", offsets, params)
    return fw.text() if _EMIT[type(plan.kernel)](fw, plan, buffers) else None
