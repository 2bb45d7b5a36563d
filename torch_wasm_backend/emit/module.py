"""The module emitter: memory, constant data, library routines, kernels, entry points.

Entry point: ``emit_module(schedule, plan) -> WatModule``. Exports:

* ``memory``   the one linear memory (layout in the memory plan)
* ``prepare``  the weight-only kernels; the host calls it after (re)writing weights
* ``forward``  every other kernel, in order: one call per graph execution

Hand-written routines (``csrc/wat/*.wat``) are included only when a kernel uses them, and
the text is a pure function of the schedule and plan (byte-identical for the same graph).
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


def _uses_math(plans) -> bool:
    for p in plans:
        k = p.kernel
        if isinstance(k, (ir.Gemm, ir.PackB)):
            continue
        if any(isinstance(n, ir.Op) and n.name in ops.MATH for n in ir.walk(k.body)):
            return True
        if isinstance(k, ir.Scan) and k.op == "logsumexp":
            return True
    return False


def libraries(plans) -> list:
    """The hand-written routines the kernels of ``plans`` call, as WAT text."""
    parts = []
    if _uses_math(plans):
        parts.append(library_source("math_f32x4.wat"))
    if any(isinstance(p.kernel, ir.Gemm) and not p.kernel.packed for p in plans):
        parts.append(library_source("f32_gemm.wat"))
    if any(isinstance(p.kernel, ir.PackB) for p in plans):
        relaxed = any(isinstance(p.kernel, ir.Gemm) and p.kernel.fma for p in plans)
        parts.append(library_source("f32_gemm_packed.wat", relaxed=relaxed))
    return parts


def constant_segments(prog: ir.Program, offsets: dict) -> list:
    """One data segment per constant of ``prog``, at its offset."""
    parts = []
    for name in sorted(prog.constants):
        data = prog.constants[name].tobytes()
        if data and name in offsets:
            parts.append(f"(data (i32.const {offsets[name]}) \"{text.data_string(data)}\")")
    return parts


def kernel_functions(sched: Schedule, offsets: dict) -> tuple[list, dict]:
    """The kernel functions of a schedule and, per entry point (``prepare``, ``forward``),
    the calls that run them in order. ``offsets``: buffer name -> byte offset."""
    prog = sched.program
    params = param_block(sched)
    buffers = {b.name: b for b in prog.buffers}
    funcs, entry = [], {"prepare": [], "forward": []}
    for group, group_plans in (("prepare", sched.prepare), ("forward", sched.forward)):
        for p in group_plans:
            fn = emit_kernel(p, offsets, buffers, params)
            if fn is not None:
                funcs.append(fn)
                entry[group].append(f"(call ${p.kernel.name})")
    return funcs, entry


def entry_function(name: str, body: list) -> str:
    return f"(func ${name} (export \"{name}\"){''.join(f'{chr(10)}  {c}' for c in body)})"


def emit_module(sched: Schedule, plan: MemoryPlan, persistent_data: bytes | None = None) -> WatModule:
    """``persistent_data``: bytes of the persistent region (weights, constants, prepared
    buffers) to bake in as one data segment at offset 16, as a saved artifact does.
    For a dynamic-shape program, ``plan`` is any binding's plan: only the persistent
    offsets and the initial memory size are taken from it."""
    offsets = {name: p.offset for name, p in plan.placements.items()}
    parts = [f"(module\n(memory (export \"memory\") {plan.pages})"]
    if persistent_data is not None:
        parts.append(f"(data (i32.const 16) \"{text.data_string(persistent_data)}\")")
    else:
        parts += constant_segments(sched.program, offsets)
    parts += libraries(list(sched.prepare) + list(sched.forward))
    funcs, entry = kernel_functions(sched, offsets)
    parts += funcs
    parts += [entry_function(group, entry[group]) for group in ("prepare", "forward")]
    return WatModule("\n".join(parts) + ")\n", plan.pages, ("prepare", "forward"))
