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
    vstore = fw.vstore_i8 if out_dtype == "i8" else fw.vstore
    inner = fw.loop(f"${v}", 0, vec_end, 4, [vstore(k.out, k.out_index, fw.vector(body, env, v), env)])
    if tail:
        inner += fw.loop(f"${v}", vec_end, fw.bound(k.ranges[-1]), 1,
                         [fw.store(k.out, k.out_index, out_dtype, fw.scalar(body, env), env)])
    fw.body += fw.nest(loops[:-1], pre + inner)


def _shifted(addr: str, part, axis: str, nbytes: int) -> str:
    """``addr`` moved to the first row (column, ...) of ``part``: + ``nbytes`` per unit."""
    if part is None or part[0] != axis or nbytes == 0:
        return addr
    return f"(i32.add {addr} (i32.mul {part[1]} (i32.const {nbytes})))"


def gemm(fw: FunctionWriter, k: ir.Gemm, part=None) -> None:
    """The microkernel call(s) of a GEMM. ``part`` (threads: ``emit/threads.py``) restricts
    it to one thread's share, ``(axis, first, count)`` with ``axis`` "m" (rows of A and C),
    "n" (columns of B and C; ``first`` a multiple of 4) or "batch", ``first`` and ``count``
    WAT: the microkernels' results do not depend on m, n or the tiling, so every element
    comes out as with the whole GEMM."""
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
    if k.bias and k.bias_axis == 0:
        bias_row = _shifted(bias_row, part, "m", 4)
    elif k.bias:
        bias_col = _shifted(bias_col, part, "n", 4)
    m, n = (part[2] if part and part[0] == ax else val(x) for ax, x in (("m", k.m), ("n", k.n)))
    a = _shifted(addr(k.a), part, "m", 4 * int(k.a.row_stride)) if part else addr(k.a)
    c = _shifted(_shifted(addr(k.c), part, "m", 4 * int(k.c.row_stride)), part, "n", 4) if part else addr(k.c)
    flags = 2 if k.relu else 0
    if k.packed:  # B packed by a PackB kernel (in prepare for a weight, else just before)
        pstride = k.packed_batch_stride if batch != 1 else 0
        packed = addr(ir.Operand(k.packed, 0, pstride, 0, 1))
        packed = _shifted(packed, part, "n", ir.packed_size(k.k, 1)) if part else packed  # 4 Kp bytes a column
        fn = "$f32_gemm_packed_fma" if k.fma else "$f32_gemm_packed"
        call = (f"(call {fn} {a} {packed} {c} {m} {n} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} (i32.const {flags}))")
    else:
        bb = _shifted(addr(k.b), part, "n", 4) if part else addr(k.b)
        call = (f"(call $f32_gemm {a} {bb} {c} {m} {n} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.b.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} "
                f"(i32.const {flags}))")
    if part and part[0] == "batch":
        fw.body += fw.loop(b, part[1], f"(i32.add {part[1]} {part[2]})", 1, [call])
    else:
        fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def pack_b(fw: FunctionWriter, k: ir.PackB, part=None) -> None:
    """The packing call(s); ``part`` = ``("n", first, count)`` (WAT, ``first`` a multiple of 4)
    packs only those columns' panels (threads)."""
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
    n = f"(i32.const {int(k.n)})"
    if part:
        src = _shifted(src, part, "n", 4 * (int(ld) if k.transposed else 1))
        dst, n = _shifted(dst, part, "n", ir.packed_size(k.k, 1)), part[2]
    call = f"(call {fn} {src} (i32.const {int(ld)}) (i32.const {int(k.k)}) {n} {dst})"
    fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def qgemm(fw: FunctionWriter, k: ir.QGemm) -> None:
    def addr(buffer: str, itemsize: int) -> str:
        dyn, static = fw.address(buffer, 0, itemsize, fw.sizes)
        return f"(i32.const {static})" if dyn == "(i32.const 0)" else \
            (dyn if static == 0 else f"(i32.add {dyn} (i32.const {static}))")

    def val(x) -> str:
        b_ = fw.bound(x)
        return f"(i32.const {b_})" if isinstance(b_, int) else b_

    rq = k.requant
    if rq is None:
        c = addr(k.c, 4)
        work = f"(i32.add {c} (i32.mul {val(k.m)} (i32.const {4 * int(k.ldc)})))"  # after C's rows (ir.QGemm)
        fw.body.append(f"(call $i8_gemm {addr(k.a, 1)} {addr(k.packed, 1)} {c} {val(k.m)} {val(k.n)} "
                       f"{val(k.k)} {val(k.lda)} {val(k.ldc)} {work})")
        return
    c = addr(k.c, 1)  # int8 C, then the workspace (ir.qgemm_q_work_offset)
    work = (f"(i32.add {c} (i32.and (i32.add (i32.mul {val(k.m)} (i32.const {int(k.ldc)})) (i32.const 31)) "
            f"(i32.const -16)))")
    zw = f"{addr(rq.zw, 4)} {addr(rq.xsum, 4)}" if rq.zw else "(i32.const 0) (i32.const 0)"
    fw.body.append(f"(call $i8_gemm_q {addr(k.a, 1)} {addr(k.packed, 1)} {c} {val(k.m)} {val(k.n)} "
                   f"{val(k.k)} {val(k.lda)} {val(k.ldc)} {work} {addr(rq.rq, 4)} {addr(rq.corr, 4)} "
                   f"{addr(rq.scale, 4)} {addr(rq.bias, 4)} {zw})")


def _emit_qgemm(fw, plan, buffers) -> bool:
    if sympy.sympify(plan.kernel.m) == 0:
        return False
    qgemm(fw, plan.kernel)
    return True


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
         ir.Scan: _emit_loop(scan), ir.QGemm: _emit_qgemm,
         ir.MatrixCall: _emit_matrix_call}


def emit_kernel_body(fw: FunctionWriter, plan: KernelPlan, buffers: dict) -> bool:
    """Write one kernel's code into ``fw``; False when its iteration space is empty."""
    return _EMIT[type(plan.kernel)](fw, plan, buffers)


def emit_kernel(plan: KernelPlan, offsets: dict, buffers: dict, params=None) -> str | None:
    """The WAT function for one kernel, or None when its iteration space is empty."""
    fw = FunctionWriter(f"${plan.kernel.name}", offsets, params)
    return fw.text() if emit_kernel_body(fw, plan, buffers) else None
