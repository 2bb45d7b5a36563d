"""Memory planning: every buffer gets a fixed byte offset in one linear memory.

Layout (all offsets ``alignment``-aligned)::

    [0, 16)        reserved: address 0 means "no buffer" to the microkernels
    parameters     dynamic shapes only: one i32 per size symbol, then the byte offset of
                   every input and arena buffer (they move with the sizes); the host writes
                   them before a call, kernels read them at entry
    persistent     weights, constants and buffers computed by ``prepare``: placed once
    inputs         graph inputs, written by the host before each call
    arena          intermediates, shared: each buffer lives from the first kernel that
                   writes it to the last kernel that reads it (outputs: to the end)

With symbolic sizes the plan is made per binding of the size symbols (at call time, cached),
so one compiled module serves every size; the code reads offsets from the parameters.
Arena placement is greedy by size (largest first, lowest offset that does not collide with
an already placed buffer whose live range overlaps).
Invariant (checked by ``MemoryPlan.verify``): no two buffers whose live ranges overlap
share a byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .errors import Unsupported
from .schedule import Schedule

PAGE = 65536
MAX_MEMORY = 1 << 32


class MemoryPlanError(Unsupported):
    """The plan cannot exist (e.g. more than 4 GiB): the graph falls back, or strict raises."""


def pages_for(nbytes: int) -> int:
    """Wasm pages (64 KiB) that hold ``nbytes`` (at least one)."""
    return max(1, -(-nbytes // PAGE))


def align(x: int, a: int = 16) -> int:
    return (x + a - 1) // a * a


@dataclass(frozen=True)
class Placement:
    buffer: str
    offset: int
    nbytes: int
    region: str  # "persistent" | "input" | "arena"
    live: tuple  # (first, last) kernel positions in forward; persistent/input: whole call


@dataclass(frozen=True)
class MemoryPlan:
    placements: dict  # name -> Placement
    total_bytes: int
    arena_bytes: int
    intermediate_bytes: int  # sum of all arena buffers: what no reuse would cost

    @property
    def persistent_end(self) -> int:
        """End of the persistent region (weights, constants, prepared buffers)."""
        ends = [p.offset + p.nbytes for p in self.placements.values() if p.region == "persistent"]
        return max(ends, default=16)

    @property
    def pages(self) -> int:
        return pages_for(self.total_bytes)

    def offset(self, name: str) -> int:
        return self.placements[name].offset

    def __str__(self) -> str:
        lines = [f"memory plan: {self.total_bytes} bytes ({self.pages} pages); arena {self.arena_bytes} bytes "
                 f"for {self.intermediate_bytes} bytes of intermediates"]
        for p in sorted(self.placements.values(), key=lambda p: (p.offset, p.buffer)):
            lines.append(f"  {p.offset:>10} +{p.nbytes:<10} {p.region:<10} {p.buffer} live {p.live}")
        return "\n".join(lines)

    def verify(self) -> None:
        ps = list(self.placements.values())
        for i, a in enumerate(ps):
            if a.offset % 16:
                raise MemoryPlanError(f"{a.buffer} at {a.offset} is not 16-byte aligned")
            if a.offset < 16 or a.offset + a.nbytes > self.total_bytes:
                raise MemoryPlanError(f"{a.buffer} lies outside the memory")
            for b in ps[i + 1:]:
                if a.live[0] <= b.live[1] and b.live[0] <= a.live[1]:
                    if a.offset < b.offset + b.nbytes and b.offset < a.offset + a.nbytes:
                        raise MemoryPlanError(f"{a.buffer} and {b.buffer} are live together and overlap")


@dataclass(frozen=True)
class ParamBlock:
    """Where a dynamic-shape module finds its sizes and moving buffer offsets (i32 each)."""

    symbols: tuple  # sympy symbols, slot order
    buffers: tuple  # names of input and arena buffers, slot order
    base: int = 16

    def symbol_addr(self, sym) -> int:
        return self.base + 4 * self.symbols.index(sym)

    def buffer_addr(self, name: str) -> int:
        return self.base + 4 * (len(self.symbols) + self.buffers.index(name))

    @property
    def end(self) -> int:
        return self.base + 4 * (len(self.symbols) + len(self.buffers))

    def values(self, plan: "MemoryPlan", binding: dict) -> list:
        return [int(binding[s]) for s in self.symbols] + [plan.offset(b) for b in self.buffers]


def param_block(sched: Schedule) -> ParamBlock | None:
    """None for a static program; otherwise the layout of its parameters."""
    prog = sched.program
    if not prog.symbols:
        return None
    moving = tuple(b.name for b in prog.buffers if b.name not in sched.persistent)
    return ParamBlock(prog.symbols, moving)


def plan_memory(sched: Schedule, alignment: int = 16, binding: dict | None = None) -> MemoryPlan:
    """Offsets for every buffer; ``binding`` gives the size symbols' values (dynamic shapes)."""
    prog = sched.program
    kernels = [p.kernel for p in sched.forward]
    end = len(kernels)
    binding = binding or {}
    nbytes = {b.name: max(int(sympy.sympify(b.nbytes).xreplace(binding)), 1) for b in prog.buffers}
    placements = {}
    params = param_block(sched)
    cursor = params.end if params else 16

    def place_fixed(names, region):
        nonlocal cursor
        for name in names:
            cursor = align(cursor, alignment)
            placements[name] = Placement(name, cursor, nbytes[name], region, (-1, end))
            cursor += nbytes[name]

    place_fixed([b.name for b in prog.buffers if b.name in sched.persistent], "persistent")
    place_fixed([s.buffer for _, s in prog.tensor_inputs if s.buffer not in placements], "input")
    arena_base = align(cursor, alignment)

    first, last = {}, {}
    for pos, k in enumerate(kernels):
        for name in k.reads():
            last[name] = pos
        w = k.writes()
        first.setdefault(w, pos)
        last[w] = max(last.get(w, pos), pos)
    for o in prog.outputs:
        last[o.buffer] = end
    temps = [b.name for b in prog.buffers if b.name not in placements and b.name in first]
    order = sorted(temps, key=lambda n: (-nbytes[n], first[n], n))
    placed = []
    arena_end = arena_base
    for name in order:
        live = (first[name], last[name])
        size = align(nbytes[name], alignment)
        conflicts = sorted((p.offset, p.offset + align(p.nbytes, alignment)) for p in placed
                           if p.live[0] <= live[1] and live[0] <= p.live[1])
        offset = arena_base
        for lo, hi in conflicts:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        p = Placement(name, offset, nbytes[name], "arena", live)
        placements[name] = p
        placed.append(p)
        arena_end = max(arena_end, offset + size)
    # buffers nothing reads or writes (e.g. unused outputs of multi-output ops) get no space
    total = align(arena_end, alignment)
    if total > MAX_MEMORY:
        raise MemoryPlanError(f"the model needs {total} bytes of linear memory ({total / 2**30:.2f} GiB); "
                              f"a 32-bit WebAssembly memory holds at most {MAX_MEMORY / 2**30:g} GiB")
    plan = MemoryPlan(placements, total, total - arena_base, sum(align(nbytes[n], alignment) for n in temps))
    plan.verify()
    return plan
