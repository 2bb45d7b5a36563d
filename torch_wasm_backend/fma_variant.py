"""The relaxed-SIMD (FMA) variant that ``save()`` stores beside an artifact's SIMD128 module.

Entry point: ``fma_variant(schedule, plan, baked) -> bytes | None``. The variant is the same
schedule and memory plan with every packed GEMM switched to ``$f32_gemm_packed_fma``
(``f32x4.relaxed_madd``), emitted and assembled *without* data segments: the artifact keeps
one copy of the weights, in the SIMD128 module's data section, and loaders splice it into
the variant (``runtime/variants.py`` has the format, the checks and the choice). A graph
without packed GEMMs gets no variant (its code would be the same).
"""

from __future__ import annotations

from dataclasses import replace

from . import ir
from .assemble import assemble
from .bake import Baked
from .emit.module import emit_module
from .memory import MemoryPlan
from .runtime.variants import without_data
from .schedule import Schedule


def _fma(plans: tuple) -> tuple:
    return tuple(
        replace(p, kernel=replace(p.kernel, fma=True)) if isinstance(p.kernel, ir.Gemm) and p.kernel.packed else p
        for p in plans
    )


def fma_schedule(sched: Schedule) -> Schedule | None:
    """``sched`` with its packed GEMMs fused (FMA); None when it has none."""
    if not any(isinstance(p.kernel, ir.Gemm) and p.kernel.packed for p in (*sched.prepare, *sched.forward)):
        return None
    return replace(sched, prepare=_fma(sched.prepare), forward=_fma(sched.forward))


def fma_variant(sched: Schedule, plan: MemoryPlan, baked: Baked) -> bytes | None:
    """The FMA variant's bytes as the artifact stores them (no data section), or None."""
    twin = fma_schedule(sched)
    if twin is None:
        return None
    wat = emit_module(twin, plan, segments=(), prepare=_fma(baked.prepare), widen=baked.widen, pages=baked.pages).text
    return without_data(assemble(wat))
