"""Baking a saved artifact's memory: which bytes go into the file, and what ``prepare`` still does.

Entry point: ``bake(schedule, plan, image, weights) -> Baked``; ``image`` holds the bytes of
``[0, plan.persistent_end)`` after the compiled graph ran once (weights copied in, ``prepare``
run, parameter block written).

The persistent region holds the weights *and* what ``prepare`` derived from them (packed
GEMM panels, folded batch-norm scales, ...). ``forward`` reads only some of it: a packed
GEMM reads its panels, not the weight they came from. So:

* ``weights="float32"``: the file stores exactly the persistent buffers ``forward`` reads or
  writes, graph outputs and the parameter block (dynamic shapes), as one data segment per
  run of adjacent buffers (alignment gaps filled; everything else stays zero). Everything
  ``prepare`` derives is then baked: the artifact's ``prepare`` is empty.
* ``weights="float16"`` / ``"bfloat16"``: the file stores the *roots* instead, the weights
  and constants from which ``forward``'s buffers derive, with the float32 weights rounded
  to the half dtype (round to nearest even, as torch's ``.to``). The artifact's ``prepare``
  widens them into their float32 buffers (``csrc/wat/f16_to_f32.wat``; exact) and runs the
  ``prepare`` kernels that derive what ``forward`` reads, so the outputs are those of the
  compiled model with its weights rounded first. The half values lie after the persistent
  region (in the space of inputs and arena, which ``forward`` overwrites later), so they
  are widened only once: a global flag makes a later ``prepare`` call re-derive from the
  float32 weights alone. The module's start function runs ``prepare`` at instantiation,
  so no host has to call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ir
from .memory import PAGE, MemoryPlan, align, param_block
from .schedule import Schedule

WEIGHT_DTYPES = {"float32": None, "float16": "f16", "bfloat16": "bf16"}
MERGE_GAP = 64  # adjacent stored ranges closer than this become one segment (zeros in between)


class BakeError(ValueError):
    pass


@dataclass(frozen=True)
class Baked:
    segments: tuple  # ((byte offset, bytes), ...): data segments, ascending, disjoint
    prepare: tuple  # KernelPlans the artifact's prepare runs, in schedule order
    widen: tuple  # ((routine, src, dst, count), ...): half -> f32 widenings, before the kernels
    pages: int  # memory pages the module declares (>= the plan's)
    dtype: str  # "float32" | "float16" | "bfloat16"

    @property
    def data_bytes(self) -> int:
        return sum(len(d) for _, d in self.segments)


def forward_reads(k) -> set:
    """Buffers a kernel reads as emitted: a packed GEMM reads its panels, not B."""
    if isinstance(k, ir.Gemm) and k.packed:
        return {k.a.buffer, k.packed} | ({k.bias} if k.bias else set())
    return k.reads()


def quantization(sched: Schedule) -> dict | None:
    """The manifest's ``quantization`` entry: the int8 scheme of the artifact's matrix
    products (``lower/quant_gemm.py``), or None when it has none."""
    n = sum(isinstance(p.kernel, ir.QGemm) for p in sched.forward)
    if not n:
        return None
    return {"scheme": "int8", "int8_matmuls": n, "accumulate": "int32",
            "weights": "int8, packed for $i8_gemm, float32 scale per output channel",
            "activations": "int8, per-tensor scale and zero point"}


def check_weights(weights) -> str:
    if weights not in WEIGHT_DTYPES:
        raise BakeError(f"weights={weights!r}: expected one of {sorted(WEIGHT_DTYPES)} (the dtype the weights "
                        "are stored in; float16/bfloat16 halve the file and round the weights)")
    return weights


def bake(sched: Schedule, plan: MemoryPlan, image: bytes, weights: str = "float32") -> Baked:
    half = WEIGHT_DTYPES[check_weights(weights)]
    prog = sched.program
    buffers = {b.name: b for b in prog.buffers}
    used = {n for p in sched.forward for n in forward_reads(p.kernel) | {p.kernel.writes()}}
    used |= {o.buffer for o in prog.outputs}
    need = {n for n in used if n in sched.persistent}
    kernels = ()
    if half:
        kernels, need = _derivation(sched, need)
    stored = sorted((n for n in need if n in plan.placements), key=lambda n: plan.offset(n))
    halved = [n for n in stored if half and buffers[n].kind == "weight" and buffers[n].dtype == "f32"]
    ranges = [(plan.offset(n), plan.offset(n) + plan.placements[n].nbytes) for n in stored if n not in halved]
    params = param_block(sched)
    if params is not None:
        ranges.append((params.base, params.end))
    segments = [(lo, image[lo:hi]) for lo, hi in ranges]
    widen, end = [], plan.persistent_end
    src = align(plan.persistent_end, 16)  # half values: after the persistent region
    for lo, hi in _runs(halved, stored, plan):
        f32 = np.zeros((hi - lo) // 4, np.float32)  # gaps: zeros (or derived buffers, rewritten later)
        for n in halved:
            p = plan.placements[n]
            if lo <= p.offset < hi:
                f32[(p.offset - lo) // 4: (p.offset + p.nbytes - lo) // 4] = np.frombuffer(
                    image, np.float32, p.nbytes // 4, p.offset)
        segments.append((src, round_half(f32, weights).tobytes()))
        widen.append((f"${half}_to_f32", src, lo, f32.size))
        end = src + 2 * f32.size
        src = align(end, 16)
    pages = max(plan.pages, -(-end // PAGE))
    return Baked(tuple(_merge(segments)), tuple(kernels), tuple(widen), pages, weights)


def _derivation(sched: Schedule, need: set) -> tuple[list, set]:
    """The prepare kernels that derive ``need`` from roots, and ``need`` grown by their inputs."""
    need = set(need)
    chosen = []
    for p in reversed(sched.prepare):  # a kernel's inputs are written by earlier kernels
        if p.kernel.writes() in need:
            chosen.append(p)
            need |= p.kernel.reads()
    derived = {p.kernel.writes() for p in chosen}
    return chosen[::-1], need - derived


def _runs(halved: list, stored: list, plan: MemoryPlan) -> list:
    """Byte ranges to widen: maximal runs of halved buffers (by offset) with no other stored
    buffer between them (the gaps are zeros, or derived buffers that prepare rewrites)."""
    keep = set(halved)
    runs = []
    for n in stored:
        p = plan.placements[n]
        if n not in keep:
            runs.append(None)
        elif runs and runs[-1] is not None:
            runs[-1] = (runs[-1][0], p.offset + p.nbytes)
        else:
            runs.append((p.offset, p.offset + p.nbytes))
    return [r for r in runs if r is not None]


def round_half(values: np.ndarray, weights: str) -> np.ndarray:
    """float32 values rounded to float16/bfloat16 (nearest even, torch's ``.to``), as uint16 bits."""
    import torch

    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[weights]
    return torch.from_numpy(values).to(dtype).view(torch.int16).numpy().view(np.uint16)


def _merge(segments) -> list:
    """``(offset, bytes)`` segments, ascending; those closer than ``MERGE_GAP`` joined with zeros."""
    groups = []  # [start, end, [pieces]]
    for off, data in sorted(segments, key=lambda seg: seg[0]):
        if not data:
            continue
        if groups and off - groups[-1][1] <= MERGE_GAP:
            groups[-1][2] += [bytes(off - groups[-1][1]), data]
            groups[-1][1] = off + len(data)
        else:
            groups.append([off, off + len(data), [data]])
    return [(start, b"".join(pieces)) for start, _, pieces in groups]


def rounded_inputs(prog: ir.Program, inputs: list, weights: str) -> list:
    """A graph's arguments with its float32 weights rounded to ``weights`` (and back to
    float32): what a half-precision artifact must reproduce. The others are unchanged."""
    if not WEIGHT_DTYPES[check_weights(weights)]:
        return list(inputs)
    import torch

    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[weights]
    return [x.detach().to(dtype).to(torch.float32) if isinstance(spec, ir.InputSpec) and spec.is_weight
            and spec.dtype == "f32" else x for spec, x in zip(prog.inputs, inputs)]
