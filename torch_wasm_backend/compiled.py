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


class Runner:
    """One instance of the module with its memory views: what one thread calls into."""

    def __init__(self, module, program: ir.Program, plan):
        self.instance = module.instantiate()
        mem = self.instance.memory_view()
        self.forward = self.instance.caller("forward")
        self.prepare = self.instance.caller("prepare")
        self.inputs = []  # (numpy view or None, spec or None)
        for spec in program.inputs:
            if spec is None:
                self.inputs.append((None, None))
                continue
            n = int(np.prod(spec.shape)) if spec.shape else 1
            dtype = np.dtype(ir.NUMPY_DTYPE[spec.dtype])
            off = plan.offset(spec.buffer)
            view = mem[off: off + n * dtype.itemsize].view(dtype).reshape(spec.shape) if n else None
            self.inputs.append((view, spec))
        self.outputs = []
        for o in program.outputs:
            dtype = np.dtype(ir.NUMPY_DTYPE[o.dtype])
            shape = tuple(int(s) for s in o.shape)
            if 0 in shape:
                self.outputs.append((None, shape, o.dtype))
                continue
            off = plan.offset(o.buffer) + dtype.itemsize * int(o.offset)
            base = mem[off:]
            base = base[: base.size // dtype.itemsize * dtype.itemsize].view(dtype)
            view = np.lib.stride_tricks.as_strided(base, shape, tuple(int(s) * dtype.itemsize for s in o.strides),
                                                   writeable=False)
            self.outputs.append((view, shape, o.dtype))
        self.weights_seen: dict[int, tuple] = {}  # input index -> (tensor, _version) last copied

    def run(self, args):
        changed = False
        for i, (view, spec) in enumerate(self.inputs):
            if spec is None:
                continue
            t = args[i]
            if t.shape != spec.shape or t.dtype != _TORCH_DTYPE[spec.dtype]:
                raise ValueError(f"input {i}: expected {spec.dtype}{list(spec.shape)}, got {t.dtype}{list(t.shape)}")
            if spec.is_weight:
                seen = self.weights_seen.get(i)
                if seen is not None and seen[0] is t and seen[1] == t._version:
                    continue
                self.weights_seen[i] = (t, t._version)
                changed = True
            if view is not None:
                view[...] = t.detach().numpy()
        if changed:
            self.prepare()
        self.forward()
        return [torch.from_numpy(np.array(v)) if v is not None else torch.empty(shape, dtype=_TORCH_DTYPE[d])
                for v, shape, d in self.outputs]


class CompiledGraph:
    """A compiled graph. Each thread that calls it gets its own instance (``Runner``):
    calls from several threads run in parallel (ctypes releases the GIL during a wasm
    call) and never share memory."""

    _boxed_call = True  # AOTAutograd passes one list of arguments

    def __init__(self, gm, program: ir.Program, sched, plan, wat: str, wasm: bytes, options: Options):
        self.program, self.schedule, self.plan, self.wat, self.wasm = program, sched, plan, wat, wasm
        self.options = options
        self.graph_code = gm.code
        self.module = get_engine(options.engine).compile(wasm)
        self._local = threading.local()
        self.runner()  # instantiate now: errors surface at compile time

    def runner(self) -> Runner:
        r = getattr(self._local, "runner", None)
        if r is None:
            r = self._local.runner = Runner(self.module, self.program, self.plan)
        return r

    @property
    def instance(self):
        return self.runner().instance

    def __call__(self, args):
        return self.runner().run(args)


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
