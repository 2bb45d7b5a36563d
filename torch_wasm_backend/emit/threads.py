"""Threaded modules: one module, N instances over one shared memory, each kernel's outermost
parallel loop split between the threads, with bitwise the results of one thread.

Entry points: ``thread_splits(sched)`` (how each forward kernel is shared out, or None when
no kernel is worth it: the graph then gets the ordinary single-thread module) and
``emit_threaded_module(sched, plan, splits) -> WatModule``.

The module imports exactly one thing, its memory (``env.memory``, shared, the plan's pages and
one page of chunk counters, maximum 4 GiB; re-exported as ``memory``): the one exception to
"modules import nothing". It exports ``prepare`` (run by thread 0 alone), ``forward(tid,
nthreads)`` (thread ``tid`` claiming chunks of every kernel), and
``run``/``worker``/``stop``/``abort``/``spin_only`` (``csrc/wat/barrier.wat``: parking,
waking, joining a call and waiting for chunks). The thread count is a run-time value: one module serves
every count, and nothing in it depends on the count chosen.

How a kernel is shared out (``Split``), each output element computed by exactly one thread
by the same instructions in the same order as with one thread:

* loop kernels (pointwise, reductions, scans): the first output dim of at least 8 points
  (else the largest) is cut into contiguous chunks of whole ``grain`` units;
  the chunk's first unit and its length are the locals ``$thr_q`` and ``$thr_n``, and the
  kernel is emitted as it would be with that dim's index ``i_d + grain * thr_q`` and extent
  ``thr_n`` (the emitters already handle run-time extents, from dynamic shapes). When the
  dim is the innermost (the lane dim), ``grain`` is 16 = 4 lanes x 4 output groups, so
  every element falls in the same wide-vector / one-vector / scalar-tail loop, with the same
  accumulators, as with one thread. Reduced dims are never split.
* GEMMs: rows of A and C (``m``), columns of B and C (``n``, whole 4-column panels) or the
  batch; the microkernels' results do not depend on m, n or the tiling
  (``csrc/wat/f32_gemm*.wat``). Columns when B is the larger operand (each thread then
  streams half of it), else rows. Packing a run-time B: whole panels of columns.
* int8 GEMMs: whole 4-column panels (each thread widens only its own panels of B), among
  at most ``ir.QGEMM_THREADS`` threads, each with its own workspace (``_split_qgemm``);
  integer sums are exact, so any share-out gives the same bits.
* a kernel whose estimated time is below ``target.THREADS.min_ns``: one chunk; a graph
  whose split kernels add up to less than ``graph_min_ns``: the single-thread module.

Chunks, claimed (``forward_function``, ``csrc/wat/barrier.wat``): a split kernel is cut into
``CHUNKS_PER_THREAD * nthreads`` chunks (its units shared out as among that many threads),
any other kernel is one chunk; each kernel has a counter of chunks claimed and one of chunks
finished, in the page after the memory plan's (the module's memory is one page larger), zeroed
by ``run`` before each call. Every thread claims chunks with an atomic add until none is
left, so a thread without a core (a busy host) holds the others up by at most the chunk it
took, not by its whole share (static shares did: 2 threads 0.5-0.8x one on a busy host,
0.9-1.0x with chunks, ``benchmarks/README.md``, *Threads*). The chunk a thread runs changes
nothing in the results: each output element is computed by the same instructions in the same
order whichever chunk holds it. Between the kernels since the last wait (an *epoch*) and the
next kernel when they touch the same memory (one writes bytes the other reads or writes, by
the memory plan's byte ranges, rounded out to ``ACCESS_GRAIN``), every chunk of the epoch's
kernels is awaited; independent kernels (e.g. the query, key and value projections) run
without a wait in between. ``run`` returns when the workers that joined the call have left
it (a worker that wakes after thread 0 finished skips the call). No data race, so the
results do not depend on the timing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from .. import ir
from ..indexing import affine_coeffs, index_vars, reduction_vars
from ..memory import MemoryPlan
from ..schedule import KernelPlan, Schedule
from ..target import THREADS
from . import kernels, ops, text
from .module import WatModule, constant_segments, entry_function, libraries, library_source
from .writer import FunctionWriter

Q = sympy.Symbol("thr_q", integer=True, nonnegative=True)  # first unit of this thread's chunk
COUNT = sympy.Symbol("thr_n", integer=True, nonnegative=True)  # points in it
# the shared memory's declared maximum: 4 GiB. wasmtime then reserves 4 GiB of address space
# (once per model: the instances share it) and compiles accesses without bounds checks; with
# maximum = initial, the checks cost 12-15% on gemm 1024^3 (benchmarks/threads_probe.py)
MAX_PAGES = 65536
LANE_GRAIN = 16  # points per unit along a lane dim: 4 lanes x reduce.OUTPUT_GROUPS vectors
GEMM_ROW_GRAIN = 4
PANEL = 4  # packed B: 4 columns per panel
ACCESS_GRAIN = 16  # bytes: reads and writes rounded out to the memory plan's alignment (its padding)


@dataclass(frozen=True)
class Split:
    """One kernel's share-out: along ``axis`` ("dim<d>" of a loop kernel, "m", "n" or "batch"
    of a GEMM or packing) of ``extent`` points, in units of ``grain``."""

    axis: str
    extent: int
    grain: int


def _static(*xs) -> bool:
    return all(sympy.sympify(x).is_Integer for x in xs)


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


# the kernel kinds this module knows how to split; any other kind (matrix routines, ...)
# runs as one chunk (one thread) between waits, which is always correct
SPLITTABLE = (ir.Pointwise, ir.Reduce, ir.Scan, ir.Gemm, ir.PackB, ir.QGemm)
# the math routines of loop kernels' bodies (csrc/wat/math_f32x4*.wat, poly_f32.wat, math_f64.wat)
MATH_ROUTINES = frozenset((*ops.MATH, *ops.MATH_F64, *ops.MATH_F64_BINARY, *ops.POLY, *ops.MATH_F64_SCALAR))
QGEMM_SPEEDUP = 2.0  # an int8 product's time: the float32 GEMM's per unit over this (i8_gemm.wat)


def _math_calls(k) -> int:
    """Calls of math routines (``exp``, ``tanh``, ...: a polynomial each) per point of a loop kernel."""
    return sum(1 for n in ir.walk(k.body) if isinstance(n, ir.Op) and n.name in MATH_ROUTINES)


def work_ns(k, mode: str | None = None) -> float:
    """Estimated single-thread time of kernel ``k`` (``target.THREADS``); 0 for a kind that
    is not split. A loop kernel's point costs ``ns_per_unit`` of its kind plus ``math_ns`` per
    math routine its body calls, times ``scalar_factor`` when ``mode`` is scalar."""
    if not isinstance(k, SPLITTABLE):
        return 0.0
    if isinstance(k, ir.QGemm):
        return _prod((k.m, k.n, k.k)) * dict(THREADS.ns_per_unit)["Gemm"] / QGEMM_SPEEDUP
    cost = dict(THREADS.ns_per_unit)[type(k).__name__]
    if isinstance(k, ir.Gemm):
        units = _prod((k.batch, k.m, k.n, k.k))
    elif isinstance(k, ir.PackB):
        units = _prod((k.batch, k.k, k.n))
    elif isinstance(k, ir.Reduce):
        units = _prod(k.ranges) * _prod(k.red_ranges)
    elif isinstance(k, ir.Scan):
        units = _prod(k.ranges) * int(k.length)
    else:
        units = _prod(k.ranges)
    if isinstance(k, (ir.Pointwise, ir.Reduce, ir.Scan)):
        cost += THREADS.math_ns * _math_calls(k)
        if mode is not None and mode.startswith("scalar"):
            cost *= THREADS.scalar_factor
    return units * cost


def split_of(plan: KernelPlan) -> Split | None:
    """How ``plan``'s kernel is shared out between threads, or None: thread 0 runs it."""
    k = plan.kernel
    if not isinstance(k, SPLITTABLE):
        return None
    if isinstance(k, ir.Gemm):
        sizes = (k.batch, k.m, k.n, k.k)
    elif isinstance(k, ir.QGemm):
        sizes = (k.m, k.n, k.k)
    elif isinstance(k, ir.PackB):
        sizes = (k.batch, k.k, k.n)
    else:
        sizes = (*k.ranges, *getattr(k, "red_ranges", ()), getattr(k, "length", 1))
    if not _static(*sizes) or 0 in [int(s) for s in sizes] or work_ns(k, plan.mode) < THREADS.min_ns:
        return None
    if isinstance(k, ir.PackB):
        return Split("n", int(k.n), PANEL) if int(k.n) >= 2 * PANEL else None
    if isinstance(k, ir.QGemm):  # column panels: each thread widens only its own
        return Split("n", int(k.n), PANEL) if int(k.n) >= 2 * PANEL else None
    if isinstance(k, ir.Gemm):
        batch, m, n = int(k.batch), int(k.m), int(k.n)
        if n >= 8 * PANEL and (n >= m or m < 4 * GEMM_ROW_GRAIN):
            return Split("n", n, PANEL)
        if m >= 4 * GEMM_ROW_GRAIN:
            return Split("m", m, GEMM_ROW_GRAIN)
        return Split("batch", batch, 1) if batch >= 2 else None
    if not k.ranges or not _disjoint_writes(k):
        return None
    ranges = [int(r) for r in k.ranges]
    d = next((d for d, r in enumerate(ranges) if r >= 8), max(range(len(ranges)), key=ranges.__getitem__))
    grain = LANE_GRAIN if d == len(ranges) - 1 else 1
    return Split(f"dim{d}", ranges[d], grain) if ranges[d] >= 2 * grain else None


def _disjoint_writes(k) -> bool:
    """Chunks of a loop kernel's points may run on different threads: every point stores to
    its own element (the store index is affine in the loop variables and injective: sorted by
    size, each stride exceeds the span of the smaller ones), and the kernel reads its output
    buffer only at the element it stores (an element-wise update)."""
    variables = list(index_vars(len(k.ranges)))
    extents = [int(r) for r in k.ranges]
    if isinstance(k, ir.Scan):
        variables.append(reduction_vars(1)[0])
        extents.append(int(k.length))
    aff = affine_coeffs(k.out_index, variables)
    if aff is None or any(not sympy.sympify(c).is_Integer for c in aff[1].values()):
        return False
    span = 0
    for c, r in sorted((abs(int(aff[1][v])), r) for v, r in zip(variables, extents) if r > 1):
        if c <= span:
            return False
        span += c * (r - 1)
    return all(ld.index == k.out_index for ld in ir.loads(k.body) if ld.buffer == k.out)


def thread_splits(sched: Schedule) -> tuple | None:
    """Each forward kernel's ``Split`` (None: thread 0 alone), or None when the split kernels
    add up to less than ``THREADS.graph_min_ns`` or the program has symbolic sizes (those run
    single-threaded)."""
    if sched.program.symbols:
        return None
    splits = tuple(split_of(p) for p in sched.forward)
    shared = sum(work_ns(p.kernel, p.mode) for p, s in zip(sched.forward, splits) if s is not None)
    return splits if shared and shared >= THREADS.graph_min_ns else None


class ThreadWriter(FunctionWriter):
    """A kernel function emitting one thread's share: its prologue computes ``$thr_q`` (the
    chunk's first unit) and ``$thr_n`` (its points) from ``$tid``/``$nthreads``, and the body
    runs only when the chunk is not empty."""

    def __init__(self, name: str, offsets: dict, split: Split):
        super().__init__(name, offsets)
        self.split = split
        self.sizes = {Q: "(local.get $thr_q)", COUNT: "(local.get $thr_n)"}

    def first(self) -> str:
        """WAT: the chunk's first point."""
        g = self.split.grain
        return "(local.get $thr_q)" if g == 1 else f"(i32.mul (local.get $thr_q) (i32.const {g}))"

    def text(self) -> str:
        s = self.split
        units = -(-s.extent // s.grain)
        self.local("$thr_q", "i32")
        self.local("$thr_n", "i32")
        self.local("$thr_end", "i32")

        def unit(tid: str) -> str:
            return f"(i32.div_u (i32.mul (i32.const {units}) {tid}) (global.get $nthreads))"

        end = f"(i32.mul {unit('(i32.add (global.get $tid) (i32.const 1))')} (i32.const {s.grain}))"
        prologue = [
            f"(local.set $thr_q {unit('(global.get $tid)')})",
            f"(local.set $thr_end (select {end} (i32.const {s.extent}) (i32.lt_s {end} (i32.const {s.extent}))))",
            f"(local.set $thr_n (i32.sub (local.get $thr_end) {self.first()}))",
            "(if (i32.gt_s (local.get $thr_n) (i32.const 0)) (then",
        ]
        self.body = prologue + ["  " + line for line in self.body] + ["))"]
        return super().text()


def _split_loop(k, split: Split):
    """The loop kernel ``k`` restricted to one thread's chunk of dim ``d``: index
    ``i_d + grain * thr_q``, extent ``thr_n``."""
    d = int(split.axis[3:])
    v = index_vars(len(k.ranges))[d]
    sub = {v: v + split.grain * Q}

    def fix(e):
        return sympy.expand(sympy.sympify(e).xreplace(sub))

    ranges = tuple(COUNT if i == d else r for i, r in enumerate(k.ranges))
    return replace(k, ranges=ranges, out_index=fix(k.out_index), body=ir.map_expr(k.body, fix))


def emit_split_kernel(plan: KernelPlan, split: Split, offsets: dict, buffers: dict) -> str | None:
    """The WAT function running one thread's share of ``plan``'s kernel."""
    k = plan.kernel
    if isinstance(k, ir.QGemm):
        return _split_qgemm(k, offsets)
    fw = ThreadWriter(f"${k.name}", offsets, split)
    if isinstance(k, ir.Gemm):
        kernels.gemm(fw, k, (split.axis, fw.first(), "(local.get $thr_n)"))
    elif isinstance(k, ir.PackB):
        kernels.pack_b(fw, k, (split.axis, fw.first(), "(local.get $thr_n)"))
    else:
        ok = kernels.emit_kernel_body(fw, KernelPlan(_split_loop(k, split), plan.mode), buffers)
        if not ok:
            return None
    return fw.text()


def _split_qgemm(k: ir.QGemm, offsets: dict) -> str | None:
    """One thread's share of an int8 GEMM: whole 4-column panels, among at most
    ``ir.QGEMM_THREADS`` threads (C's buffer holds that many workspaces; further threads
    have no share), thread t's workspace the t-th after C's rows (``ir.QGemm``). Static
    sizes (threaded modules have no symbolic ones), so every address is a constant."""
    m, n, kk, lda, ldc = (int(x) for x in (k.m, k.n, k.k, k.lda, k.ldc))
    if m == 0:
        return None
    panels, panel_bytes = -(-n // PANEL), PANEL * (-(-kk // 16) * 16)
    rq = k.requant
    work = offsets[k.c] + (4 * m * ldc if rq is None else int(ir.qgemm_q_work_offset(m, ldc)))

    def share(t: str) -> str:  # WAT: the first panel of thread t's share
        return f"(i32.div_u (i32.mul (i32.const {panels}) {t}) (local.get $nt))"

    q0, q1 = "(local.get $q0)", "(local.get $q1)"
    cols = f"(i32.shl (i32.sub {q1} {q0}) (i32.const 2))"
    rest = f"(i32.sub (i32.const {n}) (i32.shl {q0} (i32.const 2)))"
    def col(buffer: str, shift: int) -> str:  # column 4*q0 of a buffer, 2^shift bytes per column
        return f"(i32.add (i32.const {offsets[buffer]}) (i32.shl {q0} (i32.const {2 + shift})))"

    fn, extra = ("$i8_gemm", "") if rq is None else \
        ("$i8_gemm_q", f" (i32.const {offsets[rq.rq]}) {col(rq.corr, 2)} {col(rq.scale, 2)} {col(rq.bias, 2)} "
         + (f"{col(rq.zw, 2)} (i32.const {offsets[rq.xsum]})" if rq.zw else "(i32.const 0) (i32.const 0)"))
    call = (f"(call {fn} (i32.const {offsets[k.a]}) (i32.add (i32.const {offsets[k.packed]}) "
            f"(i32.mul {q0} (i32.const {panel_bytes}))) {col(k.c, 2 if rq is None else 0)} "
            f"(i32.const {m}) (select {cols} {rest} (i32.lt_u {cols} {rest})) (i32.const {kk}) "
            f"(i32.const {lda}) (i32.const {ldc}) (i32.add (i32.const {work}) (i32.mul (global.get $tid) "
            f"(i32.const {ir.qgemm_work_bytes(kk)}))){extra})")
    return "\n".join([
        f"(func ${k.name} (local $nt i32) (local $q0 i32) (local $q1 i32)",
        (f"  (local.set $nt (select (global.get $nthreads) (i32.const {ir.QGEMM_THREADS}) "
         f"(i32.lt_u (global.get $nthreads) (i32.const {ir.QGEMM_THREADS}))))"),
        "  (if (i32.lt_u (global.get $tid) (local.get $nt)) (then",
        f"    (local.set $q0 {share('(global.get $tid)')})",
        f"    (local.set $q1 {share('(i32.add (global.get $tid) (i32.const 1))')})",
        f"    (if (i32.gt_u {q1} {q0}) (then {call})))))",
    ])


@dataclass(frozen=True)
class Access:
    """The byte ranges [lo, hi) a kernel reads and writes (``None``: unknown, conflicts with all)."""

    reads: tuple | None
    writes: tuple | None


def kernel_access(k, offsets: dict, nbytes: dict) -> Access:
    """``k``'s reads and writes by the memory plan (offsets and sizes by buffer name)."""

    def ranges(names):
        if any(n not in offsets for n in names):
            return None
        lo = (offsets[n] // ACCESS_GRAIN * ACCESS_GRAIN for n in names)
        hi = (-(-(offsets[n] + nbytes[n]) // ACCESS_GRAIN) * ACCESS_GRAIN for n in names)
        return tuple(zip(lo, hi))

    return Access(ranges(sorted(k.reads())), ranges([k.writes()]))


def _overlap(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return True
    return any(lo < bhi and blo < hi for lo, hi in a for blo, bhi in b)


def depends(a: Access, b: Access) -> bool:
    """Whether two kernels must not run at the same time: one writes what the other touches."""
    return _overlap(a.writes, b.reads) or _overlap(a.writes, b.writes) or _overlap(b.writes, a.reads)


CHUNKS_PER_THREAD = 4  # a split kernel's chunks: this many per thread, claimed by whichever thread is free


def forward_function(calls: list, counters: int) -> str:
    """``forward(tid, nthreads)``: ``calls`` = (kernel call, shared?, Access) in order. Kernel
    ``j`` has two counters at ``counters + 8 j`` (chunks claimed, chunks finished); a shared
    kernel is cut into ``CHUNKS_PER_THREAD * nthreads`` chunks (the split's units shared out as
    among that many threads: ``$tid``/``$nthreads`` are the chunk and the count while it runs),
    any other is one chunk. A thread claims chunks until none is left, so one that has no core
    holds the others up only by the chunk it took. Before a kernel that depends on one of the
    epoch's kernels (one writes what the other touches), every chunk of the epoch's kernels
    is awaited; ``run`` waits for the workers to leave at the end."""
    body = [f"(local.set $n (i32.mul (local.get $nthreads) (i32.const {CHUNKS_PER_THREAD})))"]
    epoch = []  # (index, shared?, Access) of the kernels since the last wait
    for j, (call, shared, access) in enumerate(calls):
        if any(depends(a, access) for _, _, a in epoch):
            for i, s, _ in epoch:
                n = "(local.get $n)" if s else "(i32.const 1)"
                body.append(f"(call $threads_await (i32.const {counters + 8 * i + 4}) {n})")
            epoch = []
        claim = f"(i32.const {counters + 8 * j})"
        done = f"(call $threads_done (i32.const {counters + 8 * j + 4}) {'(local.get $n)' if shared else '(i32.const 1)'})"
        if shared:
            body.append(
                f"(block $k{j} (loop $c{j} (local.set $c (i32.atomic.rmw.add {claim} (i32.const 1))) "
                f"(br_if $k{j} (i32.ge_u (local.get $c) (local.get $n))) (global.set $tid (local.get $c)) "
                f"(global.set $nthreads (local.get $n)) {call} {done} (br $c{j})))"
            )
        else:
            body.append(f"(if (i32.eqz (i32.atomic.rmw.add {claim} (i32.const 1))) (then {call} {done}))")
        epoch.append((j, shared, access))
    lines = "".join(f"\n  {c}" for c in body)
    return (
        '(func $forward (export "forward") (param $tid i32) (param $nthreads i32) (local $n i32) (local $c i32)'
        f"{lines})\n(func $threads_reset (memory.fill (i32.const {counters}) (i32.const 0) (i32.const {8 * len(calls)})))"
    )


def emit_threaded_module(
    sched: Schedule, plan: MemoryPlan, splits: tuple, *, data: bool = True, pages: int | None = None
) -> WatModule:
    """The threaded module of a static program (``splits``: ``thread_splits(sched)``).
    ``data=False`` leaves out the constants' data segments (a saved artifact's threaded
    variant starts from the memory of its single-thread module, prepared); ``pages``: the
    memory's initial size (default: the plan's)."""
    prog = sched.program
    offsets = {name: p.offset for name, p in plan.placements.items()}
    buffers = {b.name: b for b in prog.buffers}
    pages = plan.pages if pages is None else pages
    counters = pages * 65536  # the page after the plan's: each kernel's chunk counters
    out = [
        "(module",
        f'(import "env" "memory" (memory {pages + 1} {MAX_PAGES} shared))',
        '(export "memory" (memory 0))',
        "(global $tid (mut i32) (i32.const 0))",
        "(global $nthreads (mut i32) (i32.const 1))",
    ]
    segments = constant_segments(prog, offsets) if data else []
    out += [f'(data (i32.const {off}) "{text.data_string(b)}")' for off, b in segments]
    out += libraries((*sched.prepare, *sched.forward))
    out.append(library_source("barrier.wat"))
    prepare = []
    for p in sched.prepare:
        fn = kernels.emit_kernel(p, offsets, buffers)
        if fn is not None:
            out.append(fn)
            prepare.append(f"(call ${p.kernel.name})")
    nbytes = {name: p.nbytes for name, p in plan.placements.items()}
    calls = []
    for p, split in zip(sched.forward, splits):
        fn = (
            kernels.emit_kernel(p, offsets, buffers) if split is None else emit_split_kernel(p, split, offsets, buffers)
        )
        if fn is not None:
            out.append(fn)
            calls.append((f"(call ${p.kernel.name})", split is not None, kernel_access(p.kernel, offsets, nbytes)))
    out.append(entry_function("prepare", prepare))
    if len(calls) > 65536 // 8:
        raise ValueError(f"a threaded module holds at most {65536 // 8} kernels, this one has {len(calls)}")
    out.append(forward_function(calls, counters))
    return WatModule(
        "\n".join(out) + ")\n", pages + 1, ("prepare", "forward", "run", "worker", "stop", "abort", "spin_only")
    )
