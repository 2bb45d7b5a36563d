"""A compiled graph: the stages run in order, and the callable AOTAutograd invokes.

``compile_graph(gm, example_inputs, weight_indices, options)`` runs
lower -> schedule -> plan memory -> emit WAT -> assemble -> instantiate and returns a
``CompiledGraph``. Calling it copies inputs into linear memory through zero-copy numpy
views (weights only when they changed: identity and ``_version`` are checked), runs
``prepare`` if a weight changed, makes one call into ``forward``, and copies outputs out
into fresh tensors (they never alias wasm memory).
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import torch

from . import ir
from .assemble import assemble
from .config import Options
from .emit.module import emit_module
from .lower import lower_graph
from .memory import plan_memory
from .runtime import get_engine
from .schedule import schedule

_graph_ids = itertools.count()


class CompiledGraph:
    _boxed_call = True  # AOTAutograd passes one list of arguments

    def __init__(self, gm, program: ir.Program, sched, plan, wat: str, wasm: bytes, options: Options):
        self.program, self.schedule, self.plan, self.wat, self.wasm = program, sched, plan, wat, wasm
        self.options = options
        self.graph_code = gm.code
        self._lock = threading.Lock()
        self.instance = get_engine(options.engine).compile(wasm).instantiate()
        mem = self.instance.memory_view()
        self._forward = self.instance.caller("forward")
        self._prepare = self.instance.caller("prepare")
        self._inputs = []  # (numpy view or None, spec)
        for spec in program.inputs:
            if spec is None:
                self._inputs.append((None, None))
                continue
            n = int(np.prod(spec.shape)) if spec.shape else 1
            dtype = ir.NUMPY_DTYPE[spec.dtype]
            off = plan.offset(spec.buffer)
            view = mem[off: off + n * dtype().itemsize].view(dtype).reshape(spec.shape) if n else None
            self._inputs.append((view, spec))
        self._outputs = []
        for o in program.outputs:
            dtype = ir.NUMPY_DTYPE[o.dtype]
            item = dtype().itemsize
            shape = tuple(int(s) for s in o.shape)
            if 0 in shape:
                self._outputs.append((None, shape, o.dtype))
                continue
            off = plan.offset(o.buffer) + item * int(o.offset)
            base = mem[off:].view(np.uint8)
            view = np.lib.stride_tricks.as_strided(base.view(dtype) if base.size % item == 0 else
                                                   base[: base.size // item * item].view(dtype),
                                                   shape, tuple(int(s) * item for s in o.strides), writeable=False)
            self._outputs.append((view, shape, o.dtype))
        self._weights_seen: dict[int, tuple] = {}  # input index -> (tensor, _version) last copied

    def __call__(self, args):
        with self._lock:
            changed = False
            for i, (view, spec) in enumerate(self._inputs):
                if spec is None:
                    continue
                t = args[i]
                if tuple(t.shape) != tuple(spec.shape) or t.dtype != _TORCH_DTYPE[spec.dtype]:
                    raise ValueError(f"input {i}: expected {spec.dtype}{list(spec.shape)}, got "
                                     f"{t.dtype}{list(t.shape)}")
                if spec.is_weight:
                    seen = self._weights_seen.get(i)
                    if seen is not None and seen[0] is t and seen[1] == t._version:
                        continue
                    self._weights_seen[i] = (t, t._version)
                    changed = True
                if view is not None:
                    view[...] = t.detach().numpy()
            if changed:
                self._prepare()
            self._forward()
            return [torch.from_numpy(np.array(v)) if v is not None else torch.empty(shape, dtype=_TORCH_DTYPE[d])
                    for v, shape, d in self._outputs]


class InterpretedGraph:
    """The IR run by the numpy interpreter (``options={"interpret": True}``): no toolchain."""

    _boxed_call = True

    def __init__(self, program: ir.Program):
        self.program = program

    def __call__(self, args):
        from . import interp

        outs = interp.run(self.program, [a.detach().numpy() if isinstance(a, torch.Tensor) else a for a in args])
        return [torch.from_numpy(np.array(o)) for o in outs]


_TORCH_DTYPE = {"f32": torch.float32, "i32": torch.int32, "i64": torch.int64, "bool": torch.bool}


def dump(debug_dir: str, gid: int, stages: dict) -> Path:
    root = Path(debug_dir) / f"graph_{gid:03d}"
    root.mkdir(parents=True, exist_ok=True)
    for name, content in stages.items():
        (root / name).write_text(str(content))
    return root


def compile_graph(gm: torch.fx.GraphModule, example_inputs, weight_indices, options: Options):
    gid = next(_graph_ids)
    stages = {"0_aten_graph.py": gm.code}
    try:
        program = lower_graph(gm, example_inputs, frozenset(weight_indices))
        stages["1_ir.txt"] = program
        if options.interpret:
            return InterpretedGraph(program)
        sched = schedule(program, options)
        stages["2_schedule.txt"] = sched
        plan = plan_memory(sched, options.alignment)
        stages["3_memory_plan.txt"] = plan
        wat = emit_module(sched, plan).text
        stages["4_module.wat"] = wat
        wasm = assemble(wat)
        return CompiledGraph(gm, program, sched, plan, wat, wasm, options)
    finally:
        if options.debug_dir:
            dump(options.debug_dir, gid, stages)
