"""The module emitter: memory, constant data, library routines, kernels, entry points.

Entry point: ``emit_module(schedule, plan) -> WatModule``. Exports:

* ``memory``   the one linear memory (layout in the memory plan)
* ``prepare``  the weight-only kernels; the host calls it after (re)writing weights
* ``forward``  every other kernel, in order: one call per graph execution

Hand-written routines (``csrc/wat/*.wat``) are included only when a kernel uses them, and
the text is a pure function of the schedule and plan (byte-identical for the same graph).

A saved artifact (``bake.py``) passes its data segments, the prepare kernels it still runs
and the half-precision widenings that precede them; its ``prepare`` is then also the
module's start function (when it does anything), so hosts need not call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from .. import ir
from ..memory import MemoryPlan, param_block
from ..schedule import Schedule
from . import ops, text
from .kernels import emit_kernel


def library_source(name: str, relaxed: bool = False) -> str:
    """A hand-written WAT fragment shipped in the package's ``csrc/wat``; without
    ``relaxed``, only the part before its ``;; @relaxed-simd`` line (SIMD128 only)."""
    text = resources.files("torch_wasm_backend.csrc").joinpath("wat", name).read_text()
    if not relaxed and "\n;; @relaxed-simd" in text:
        text = text[: text.index("\n;; @relaxed-simd") + 1]
    return text


@dataclass(frozen=True)
class WatModule:
    text: str
    pages: int
    exports: tuple  # ("prepare", "forward")


def _uses_math(plans, names=ops.MATH) -> bool:
    for p in plans:
        k = p.kernel
        if not isinstance(k, (ir.Pointwise, ir.Reduce, ir.Scan)):  # GEMMs, matrix routines: no math routine
            continue
        if any(isinstance(n, ir.Op) and n.name in names and n.dtype != "f64" for n in ir.walk(k.body)):
            return True
        if isinstance(k, ir.Scan) and k.op == "logsumexp" and names is ops.MATH:
            return True
    return False


def _uses_f64_math(plans) -> bool:
    """A float64 kernel calls a routine of math_f64.wat."""
    return any(isinstance(n, ir.Op) and n.name in (*ops.MATH_F64_SCALAR, "mod", "pow") and n.dtype == "f64"
               for p in plans if isinstance(p.kernel, (ir.Pointwise, ir.Reduce, ir.Scan)) for n in ir.walk(p.kernel.body))


def _uses_f16(plans) -> bool:
    """A kernel loads, stores or casts to float16 (only loop kernels do)."""
    return any(n.dtype == "f16" for p in plans if isinstance(p.kernel, (ir.Pointwise, ir.Reduce, ir.Scan))
               for n in ir.walk(p.kernel.body))


def _any_kernel(plans, test) -> bool:
    return any(test(p.kernel) for p in plans)


def _packed_gemm(k) -> bool:
    return isinstance(k, ir.PackB) or (isinstance(k, ir.Gemm) and k.packed)


# The WAT libraries in csrc/wat, in the order they go into a module, each with when the
# kernels of a module need it (plans, widen -> bool). A library that calls another's
# functions makes that one needed too (poly_f32 and linalg_f32 call math_f32x4_f64).
LIBRARIES = (
    ("math_f32x4.wat", lambda plans, widen: _uses_math(plans)),
    ("math_f32x4_f64.wat", lambda plans, widen: _uses_math(plans, ops.MATH_F64 + ops.MATH_F64_BINARY + ops.POLY)
     or _any_kernel(plans, lambda k: isinstance(k, ir.MatrixCall)) or _uses_f64_math(plans)),
    ("math_f64.wat", lambda plans, widen: _uses_f64_math(plans)),  # calls math_f32x4_f64's f64x2 kernels
    ("poly_f32.wat", lambda plans, widen: _uses_math(plans, ops.POLY)),
    ("linalg_f32.wat", lambda plans, widen: _any_kernel(plans, lambda k: isinstance(k, ir.MatrixCall))),
    ("f32_gemm.wat", lambda plans, widen: _any_kernel(plans, lambda k: isinstance(k, ir.Gemm) and not k.packed)),
    ("f16_to_f32.wat", lambda plans, widen: widen or _uses_f16(plans)),
    ("f16_round.wat", lambda plans, widen: _uses_f16(plans)),  # calls f16_to_f32's $f16_to_f32_bits
    ("i8_gemm.wat", lambda plans, widen: _any_kernel(plans, lambda k: isinstance(k, ir.QGemm))),
    ("f32_gemm_packed.wat", lambda plans, widen: _any_kernel(plans, _packed_gemm)),
)


def libraries(plans, widen: bool = False) -> list:
    """The hand-written routines the kernels of ``plans`` call (and, with ``widen``, the
    half-precision widening routines), as WAT text (``LIBRARIES``)."""
    relaxed = _any_kernel(plans, lambda k: isinstance(k, ir.Gemm) and k.fma)
    return [library_source(name, relaxed=relaxed) if name == "f32_gemm_packed.wat" else library_source(name)
            for name, needed in LIBRARIES if needed(plans, widen)]


def constant_segments(prog: ir.Program, offsets: dict) -> list:
    """``(offset, bytes)``: one data segment per constant of ``prog``."""
    segments = []
    for name in sorted(prog.constants):
        data = prog.constants[name].tobytes()
        if data and name in offsets:
            segments.append((offsets[name], data))
    return segments


def kernel_functions(sched: Schedule, offsets: dict, prepare: tuple | None = None) -> tuple[list, dict]:
    """The kernel functions of a schedule and, per entry point (``prepare``, ``forward``),
    the calls that run them in order. ``offsets``: buffer name -> byte offset; ``prepare``:
    the prepare kernels to emit (default: all of the schedule's)."""
    prog = sched.program
    params = param_block(sched)
    buffers = {b.name: b for b in prog.buffers}
    funcs, entry = [], {"prepare": [], "forward": []}
    prepare = sched.prepare if prepare is None else prepare
    for group, group_plans in (("prepare", prepare), ("forward", sched.forward)):
        for p in group_plans:
            fn = emit_kernel(p, offsets, buffers, params)
            if fn is not None:
                funcs.append(fn)
                entry[group].append(f"(call ${p.kernel.name})")
    return funcs, entry


def entry_function(name: str, body: list) -> str:
    return f"(func ${name} (export \"{name}\"){''.join(f'{chr(10)}  {c}' for c in body)})"


def widen_calls(widen) -> list:
    """``prepare``'s first instructions in an artifact with half-precision weights: widen
    each run once (a later call finds the flag set and only re-derives)."""
    if not widen:
        return []
    calls = "".join(f" (call {fn} (i32.const {src}) (i32.const {dst}) (i32.const {n}))" for fn, src, dst, n in widen)
    return [f"(if (i32.eqz (global.get $widened)) (then{calls} (global.set $widened (i32.const 1))))"]


@dataclass(frozen=True)
class Part:
    """One program of a module: its schedule, the byte offset of each of its buffers in the
    module's one memory, and the prepare kernels to emit (None: all of the schedule's)."""

    sched: Schedule
    offsets: dict
    prepare: tuple | None = None


def build_module(parts: list, pages: int, segments: list, exports: dict, *, widen=(), start: bool = False) -> str:
    """The text of a module holding ``parts`` (programs) over one memory of ``pages``:
    ``segments`` (``(offset, bytes)`` data), the library routines their kernels call (once),
    every part's kernel functions, and one exported function per ``exports`` entry, whose
    body lists ``(part index, "prepare" | "forward")`` (that part's calls, in order) or raw
    instructions. ``widen`` (``bake.Baked.widen``) starts ``prepare``; ``start`` makes
    ``prepare`` the start function when it does anything."""
    out = [f"(module\n(memory (export \"memory\") {pages})"]
    out += [f"(data (i32.const {off}) \"{text.data_string(data)}\")" for off, data in segments]
    if widen:
        out.append("(global $widened (mut i32) (i32.const 0))")
    plans = [p for part in parts for p in (*(part.sched.prepare if part.prepare is None else part.prepare),
                                             *part.sched.forward)]
    out += libraries(plans, widen=bool(widen))
    calls = []
    for part in parts:
        funcs, entry = kernel_functions(part.sched, part.offsets, part.prepare)
        out += funcs
        calls.append(entry)
    bodies = {}
    for name, items in exports.items():
        body = widen_calls(widen) if name == "prepare" else []
        for item in items:
            body += [item] if isinstance(item, str) else calls[item[0]][item[1]]
        bodies[name] = body
        out.append(entry_function(name, body))
    if start and bodies.get("prepare"):
        out.append("(start $prepare)")
    return "\n".join(out) + ")\n"


def emit_module(sched: Schedule, plan: MemoryPlan, persistent_data: bytes | None = None, *,
                segments=None, prepare: tuple | None = None, widen=(), pages: int | None = None) -> WatModule:
    """One program's module (``build_module`` with one part), exporting ``prepare`` and
    ``forward``. ``persistent_data``: bytes of the persistent region (weights, constants,
    prepared buffers) to bake in as one data segment at offset 16.
    A saved artifact passes instead ``segments`` (``(offset, bytes)`` data segments), the
    ``prepare`` kernels it still runs, the ``widen`` calls before them
    (``(routine, src, dst, count)``) and its memory ``pages`` (``bake.Baked``); its
    ``prepare`` is then also the start function.
    For a dynamic-shape program, ``plan`` is any binding's plan: only the persistent
    offsets and the initial memory size are taken from it."""
    offsets = {name: p.offset for name, p in plan.placements.items()}
    pages = plan.pages if pages is None else pages
    if persistent_data is not None:
        data = [(16, persistent_data)]
    elif segments is not None:
        data = list(segments)
    else:
        data = constant_segments(sched.program, offsets)
    exports = {"prepare": [(0, "prepare")], "forward": [(0, "forward")]}
    wat = build_module([Part(sched, offsets, prepare)], pages, data, exports, widen=widen,
                       start=segments is not None)
    return WatModule(wat, pages, ("prepare", "forward"))
