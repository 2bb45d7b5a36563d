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
import weakref
from ctypes import memmove
from pathlib import Path
from typing import NamedTuple

import numpy as np
import sympy
import torch

from . import ir
from .assemble import assemble
from .config import Options
from .emit.module import emit_module
from .emit.threads import emit_threaded_module, thread_splits
from .lower import lower_graph
from .lower.registry import IR_TO_TORCH
from .memory import param_block, plan_memory
from .runtime import WasmTrap, get_engine
from .runtime.threaded import compile_threaded
from .schedule import schedule


class Runner:
    """One instance of the module with its memory views: what one thread calls into.

    A dynamic-shape module is re-laid out when the sizes change: the plan for the new
    binding (cached by the CompiledGraph), memory grown if needed, sizes and moving offsets
    written to the parameter block, views rebuilt."""

    def __init__(self, graph: "CompiledGraph"):
        # weak: the graph holds its runners (threading.local); a cycle would keep the graph and
        # its instances (linear memory) alive after Dynamo drops the graph, until a gc pass
        self.graph = weakref.proxy(graph)
        self.instance = graph.module.instantiate()
        self.forward = self.instance.caller("forward")
        self.prepare = self.instance.caller("prepare")
        self.weights_seen: dict[int, tuple] = {}  # input index -> (tensor, _version) last copied
        self.prepared = False
        self.key = None
        self._layout(graph.plan, graph.hint_binding)

    def _layout(self, plan, binding: dict) -> None:
        program, params = self.graph.program, self.graph.params
        self.instance.grow_memory(plan.pages)
        mem = self.instance.memory_view()
        if params is not None:
            mem[params.base: params.end].view(np.int32)[:] = params.values(plan, binding)
        self.key = tuple(binding[s] for s in program.symbols)

        def concrete(x):
            return int(sympy.sympify(x).xreplace(binding))

        self.inputs = []  # (numpy view or None, spec or None, concrete shape, (address, bytes) or None)
        for spec in program.inputs:
            if not isinstance(spec, ir.InputSpec):
                self.inputs.append((None, None, None, None))
                continue
            shape = torch.Size(concrete(d) for d in spec.shape)
            n = shape.numel()
            dtype = np.dtype(ir.NUMPY_DTYPE[spec.dtype])
            off = plan.offset(spec.buffer)
            view = mem[off: off + n * dtype.itemsize].view(dtype).reshape(shape) if n else None
            # (address, bytes): contiguous inputs are copied with one memmove
            self.inputs.append((view, spec, shape, (view.ctypes.data, n * dtype.itemsize) if n else None))
        self.outputs = []  # (numpy view of the result in memory or None if empty, Result)
        for o in program.outputs:
            dtype = np.dtype(ir.NUMPY_DTYPE[o.dtype])
            result = Result.of(o, concrete)
            shape = result.shape
            if 0 in shape:
                self.outputs.append((None, result))
                continue
            off = plan.offset(o.buffer) + dtype.itemsize * concrete(o.offset)
            base = mem[off:]
            base = base[: base.size // dtype.itemsize * dtype.itemsize].view(dtype)
            strides = tuple(concrete(s) * dtype.itemsize for s in o.strides)
            self.outputs.append((np.lib.stride_tricks.as_strided(base, shape, strides, writeable=False), result))

    def run(self, args):
        graph = self.graph
        if graph.params is not None:
            key = tuple(int(args[i]) if d is None else args[i].shape[d] for i, d in graph.size_sources)
            if key != self.key:
                binding = graph.program.bind(args)  # full check, only when the sizes change
                self._layout(graph.plan_for(binding), binding)
        changed = not self.prepared  # prepare also derives from constants: run it once at least
        for i, (view, spec, shape, span) in enumerate(self.inputs):
            if spec is None:
                continue
            t = args[i]
            if t.shape != shape or t.dtype != IR_TO_TORCH[spec.dtype]:
                raise ValueError(f"input {i}: expected {spec.dtype}{list(shape)}, got {t.dtype}{list(t.shape)}")
            if spec.is_weight:
                seen = self.weights_seen.get(i)
                if seen is not None and seen[0] is t and seen[1] == t._version:
                    continue
                self.weights_seen[i] = (t, t._version)
                changed = True
            if view is None:
                continue
            if t.is_contiguous():  # the common case: ~2x cheaper than through numpy
                memmove(span[0], t.data_ptr(), span[1])
            else:
                view[...] = t.detach().numpy()
        if changed:
            self.prepare()
            self.prepared = True
        try:
            self.forward()
        except WasmTrap as e:  # say what failed in the user's terms
            # the kernel's message; a hand-written routine that traps is called by its kernel
            message = next((graph.traps[f] for f in (e.func_name, *e.frames) if f in graph.traps), None)
            if message is None:
                raise
            raise WasmTrap(f"{message} ({e.reason})", func_name=e.func_name, export=e.export, frames=e.frames,
                           trap_code=e.trap_code, raw_message=e.raw_message) from None
        return [result.tensor(view) for view, result in self.outputs]


class Result(NamedTuple):
    """An output as the host returns it: a fresh tensor with eager PyTorch's sizes and, when
    ``layout`` = (strides, storage offset, storage elements) is set, its strides and storage."""

    shape: tuple
    dtype: torch.dtype
    layout: tuple | None

    @classmethod
    def of(cls, o: ir.OutputSpec, concrete) -> "Result":
        """``o``'s result with its sizes evaluated by ``concrete`` (an expression -> int)."""
        layout = None if o.result is None else (
            tuple(concrete(x) for x in o.result.strides), concrete(o.result.offset), concrete(o.result.storage))
        return cls(tuple(concrete(s) for s in o.shape), IR_TO_TORCH[o.dtype], layout)

    def tensor(self, values: np.ndarray | None) -> torch.Tensor:
        if self.layout is None:  # contiguous (order="C": the default "K" keeps a view's memory order)
            if values is None:
                return torch.empty(self.shape, dtype=self.dtype)
            return torch.from_numpy(np.array(values, order="C"))
        strides, offset, storage = self.layout
        out = torch.empty(storage, dtype=self.dtype).as_strided(self.shape, strides, offset)
        if values is not None:
            np.copyto(out.numpy(), values)
        return out


class CompiledGraph:
    """A compiled graph. Each thread that calls it gets its own instance (``Runner``):
    calls from several threads run in parallel (ctypes releases the GIL during a wasm
    call) and never share memory."""

    def __init__(self, gm, program: ir.Program, sched, plan, wat: str, wasm: bytes, options: Options,
                 hint_binding: dict | None = None, threads: int = 1):
        # AOTAutograd passes one list of arguments. An instance attribute, not a class one:
        # wrappers that copy ``__dict__`` (functools.wraps in torch._dynamo.disable) keep it.
        self._boxed_call = True
        self.program, self.schedule, self.plan, self.wat, self.wasm = program, sched, plan, wat, wasm
        self.options = options
        self.params = param_block(sched)
        self.traps = ir.trap_messages([p.kernel for p in sched.prepare + sched.forward], program.checks)
        # where each size symbol is read from a call's arguments: (argument, dim or None for an int)
        self.size_sources = [self._size_source(s) for s in program.symbols]
        self.hint_binding = hint_binding or {}
        self._plans = {tuple(self.hint_binding.get(s) for s in program.symbols): plan}
        self.threads = threads  # threads running each call (> 1: a threaded module, runtime/threaded.py)
        if threads > 1:
            self.module = compile_threaded(wasm, threads, options.relaxed_simd, options.threads_adaptive)
        else:
            self.module = get_engine(options.engine, relaxed_simd=options.relaxed_simd).compile(wasm)
        self._local = threading.local()
        self.probe: list | None = None  # save() sets a list: each call appends (args, outputs)
        self.runner()  # instantiate now: errors surface at compile time

    def _size_source(self, sym) -> tuple:
        for i, spec in enumerate(self.program.inputs):
            if isinstance(spec, ir.SizeSpec) and spec.symbol == sym:
                return i, None
            if isinstance(spec, ir.InputSpec):
                for d, size in enumerate(spec.shape):
                    if sympy.sympify(size) == sym:
                        return i, d
        raise ir.IRError(f"size {sym} is not a dimension of any input")

    def plan_for(self, binding: dict):
        """The memory plan for these sizes (dynamic shapes), made once per distinct sizes."""
        key = tuple(binding[s] for s in self.program.symbols)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = plan_memory(self.schedule, self.options.alignment, binding)
        return plan

    def runner(self) -> Runner:
        r = getattr(self._local, "runner", None)
        if r is None:
            r = self._local.runner = Runner(self)
        return r

    def release(self) -> None:
        """Free every thread's instance (its linear memory) now; a later call makes a new one."""
        self._local = threading.local()

    @property
    def instance(self):
        return self.runner().instance

    @property
    def threads_used(self) -> int:
        """The thread count this thread's calls run on: ``threads``, or 1 where the threaded
        module measured one thread faster (``runtime/thread_choice.py``)."""
        return getattr(self.instance, "threads_used", 1)

    def __call__(self, args):
        outs = self.runner().run(args)
        if self.probe is not None:
            self.probe.append((list(args), outs))
        return outs


class InterpretedGraph:
    """The IR run by the numpy interpreter (``options={"interpret": True}``): no toolchain."""

    def __init__(self, program: ir.Program):
        self.program = program
        self._boxed_call = True

    def __call__(self, args):
        from . import interp

        outs = interp.run(self.program, [a.detach().numpy() if isinstance(a, torch.Tensor) else a for a in args])
        binding = self.program.bind(args) if self.program.symbols else {}

        def concrete(x):
            return int(sympy.sympify(x).xreplace(binding))

        return [Result.of(o, concrete).tensor(values if values.size else None)
                for o, values in zip(self.program.outputs, outs)]




def dump(debug_dir: str, stages: dict) -> Path:
    """Write every stage into a new ``graph_NNN`` folder of ``debug_dir`` (the next free number)."""
    Path(debug_dir).mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        root = Path(debug_dir) / f"graph_{n:03d}"
        try:
            root.mkdir()
            break
        except FileExistsError:
            continue
    for name, content in stages.items():
        (root / name).write_text(str(content))
    return root


def hint_binding(program: ir.Program, example_inputs) -> dict:
    """Example values of the size symbols (Dynamo's hints), for the first memory plan."""
    from torch.fx.experimental.symbolic_shapes import guarding_hint_or_throw as hint_int

    hints = {}
    for spec, ex in zip(program.inputs, example_inputs):
        sizes = [ex] if isinstance(spec, ir.SizeSpec) else list(ex.shape) if isinstance(spec, ir.InputSpec) else []
        exprs = [spec.symbol] if isinstance(spec, ir.SizeSpec) else list(spec.shape) if sizes else []
        for expr, size in zip(exprs, sizes):
            if sympy.sympify(expr).is_Symbol:
                try:
                    hints[expr] = hint_int(size)
                except Exception as e:  # an unbacked size (e.g. after nonzero): no example value
                    from .lower import Unsupported

                    raise Unsupported(f"size {expr} depends on the data ({type(e).__name__})") from None
    return hints


def compile_graph(gm: torch.fx.GraphModule, example_inputs, weight_indices, options: Options):
    stages = {"0_aten_graph.py": gm.code}
    try:
        program = lower_graph(gm, example_inputs, frozenset(weight_indices))
        stages["1_ir.txt"] = program
        if options.interpret:
            return InterpretedGraph(program)
        sched = schedule(program, options)
        stages["2_schedule.txt"] = sched
        hints = hint_binding(program, example_inputs)
        plan = plan_memory(sched, options.alignment, hints)
        stages["3_memory_plan.txt"] = plan
        wat = emit_module(sched, plan).text
        threads = options.threads if options.threads is not None else torch.get_num_threads()
        splits = thread_splits(sched) if threads > 1 and options.engine == "wasmtime" else None
        if splits is not None:  # some kernel is worth splitting: the threaded module
            wat = emit_threaded_module(sched, plan, splits).text
        stages["4_module.wat"] = wat
        wasm = assemble(wat)
        return CompiledGraph(gm, program, sched, plan, wat, wasm, options, hints, threads if splits else 1)
    finally:
        if options.debug_dir:
            dump(options.debug_dir, stages)
