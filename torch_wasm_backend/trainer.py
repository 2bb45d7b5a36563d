"""``save_training``: a trainable ``.wasm`` artifact (``train_step``, ``forward``, weights).

Two programs share one module and one memory:

* the **train step**: forward (training mode), loss, gradients (``torch.func.grad``: the
  backward operators are traced into the same ATen graph) and the optimizer update
  (``optim.py``), traced by ``trace.trace_aten`` (``make_fx``, functionalized). The in-place updates of
  parameters, batch-norm buffers and optimizer state become ``copy_`` nodes into the
  graph's inputs; they are taken out of the graph, computed as extra outputs, and the
  exported ``train_step`` copies each one over its input buffer after the kernels ran;
* the **forward**: the model in eval mode, whose parameter and buffer inputs are placed at
  the train step's offsets, so it always sees the latest weights.

The state (parameters, buffers, optimizer state, step count) is baked in as data segments;
the manifest lists the byte offset, shape and dtype of every state tensor, so a host reads
and writes weights directly (federated averaging). Before it is returned, the module is
loaded and one train step and one forward are checked against the traced graphs run by
eager PyTorch on the example batch (``_check``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import ir
from .assemble import assemble
from .config import Options
from .emit import module as wat
from .export import envelope_for
from .lower import Unsupported, lower_graph
from .memory import align, pages_for, plan_memory
from .optim import OptimizerError, from_config, from_torch
from .ran import SaveError
from .runtime.manifest import manifest_section, tensor_entry
from .schedule import schedule
from .target import ITEMSIZE, MANIFEST_DTYPE
from .trace import trace_aten

LOSSES = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss, "l1": F.l1_loss, "nll": F.nll_loss}


def _input_names(orig, n: int) -> list:
    fn = orig.forward if isinstance(orig, torch.nn.Module) else orig
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    names = params[:n] if len(params) >= n and not any(p.startswith("*") for p in params[:n]) else []
    return names if len(names) == n else [f"input{i}" for i in range(n)]


def _state_updates(gm: torch.fx.GraphModule) -> dict:
    """Turn the trailing ``copy_(input, value)`` nodes (in-place updates of inputs) into
    extra graph outputs. Returns {output position: input position}."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    out = next(n for n in gm.graph.nodes if n.op == "output")
    results = list(out.args[0]) if isinstance(out.args[0], (list, tuple)) else [out.args[0]]
    writes = {}
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target is torch.ops.aten.copy_.default \
                and node.args[0] in placeholders:
            if node.users:
                raise SaveError("internal error: an in-place input update is read later in the train step")
            dst, value = node.args
            writes[len(results)] = placeholders.index(dst)
            results.append(value)
            gm.graph.erase_node(node)
    if any(n.op == "call_function" and n.target is torch.ops.aten.copy_.default for n in gm.graph.nodes):
        raise SaveError("internal error: an in-place update of an intermediate value survived functionalization")
    out.args = (tuple(results),)
    gm.recompile()
    return writes


@dataclasses.dataclass
class _Part:
    """One program of the module: its schedule, plan, and byte offset of every buffer."""

    program: ir.Program
    sched: object
    offsets: dict


def _build(gm, example_args, options: Options, prefix: str, base: int, fixed: dict) -> _Part:
    """Lower, schedule and place one graph; kernels are renamed ``{prefix}…`` so two programs
    fit in one module; buffers land after ``base``, except inputs listed in ``fixed``
    ({input position: byte offset}), which are placed where another program keeps them."""
    prog = lower_graph(gm, example_args, ())
    if prog.symbols:
        raise SaveError("a trainable artifact needs static shapes")
    sched = schedule(prog, options)

    def renamed(plans):  # after scheduling, which may add kernels (e.g. GEMM packing)
        return tuple(dataclasses.replace(p, kernel=dataclasses.replace(p.kernel, name=prefix + p.kernel.name))
                     for p in plans)

    prepare, forward = renamed(sched.prepare), renamed(sched.forward)
    prog = dataclasses.replace(sched.program, kernels=tuple(p.kernel for p in prepare + forward))
    sched = dataclasses.replace(sched, program=prog, prepare=prepare, forward=forward)
    plan = plan_memory(sched, options.alignment, {})
    offsets = {name: base + p.offset for name, p in plan.placements.items()}
    for pos, off in fixed.items():
        offsets[prog.inputs[pos].buffer] = off
    return _Part(prog, sched, offsets), base + plan.total_bytes


def _spec(name, shape, dtype, offset) -> dict:
    return tensor_entry(name, [int(s) for s in shape], MANIFEST_DTYPE[dtype], int(offset))


@dataclasses.dataclass
class TrainerModule:
    """A built trainable module: its text, binary (with the manifest), and two programs."""

    wat: str
    wasm: bytes
    manifest: dict
    train: _Part
    forward: _Part


def save_training(model: torch.nn.Module, loss_fn, optimizer, example_inputs, path, options=None) -> dict:
    """Write a trainable artifact for ``model`` (see ``build_training``); returns its manifest."""
    built = build_training(model, loss_fn, optimizer, example_inputs, options)
    Path(path).write_bytes(built.wasm)
    return built.manifest


def build_training(model: torch.nn.Module, loss_fn, optimizer, example_inputs, options=None) -> TrainerModule:
    """A trainable module for ``model``. ``example_inputs``: ``(inputs..., target)``;
    the loss is ``loss_fn(model(*inputs), target)`` (a callable, or one of ``LOSSES``).
    ``optimizer``: a ``torch.optim`` SGD/Adam/AdamW over ``model.parameters()`` (its
    hyper-parameters and any state are used) or a dict ``{"name": "sgd", "lr": ...}``.
    The module exports ``train_step`` (returns the loss of the batch before the update),
    ``forward`` (eval mode), ``prepare`` and ``memory``. It is checked against PyTorch on
    the example batch before it is returned."""
    opts = Options.from_dict(options)
    loss_fn, inputs, target = _arguments(model, loss_fn, example_inputs)
    names = [n for n, _ in model.named_parameters()]
    params = [p.detach().clone() for p in model.parameters()]
    bnames = [n for n, _ in model.named_buffers()]
    buffers = [b.detach().clone() for b in model.buffers()]
    opt, slots, state, step = _optimizer_state(optimizer, model, params)
    net = copy.deepcopy(model)

    def train_step(params, buffers, state, step, *batch):
        *xs, y = batch

        def loss_of(ps):
            bufs = {n: b.clone() for n, b in zip(bnames, buffers)}
            out = torch.func.functional_call(net, (dict(zip(names, ps)), bufs), tuple(xs))
            return loss_fn(out, y), [bufs[n] for n in bnames]

        grads, (loss, new_buffers) = torch.func.grad_and_value(loss_of, has_aux=True)(list(params))
        for b, nb in zip(buffers, new_buffers):
            b.copy_(nb)
        step.add_(1)
        for i, (p, g) in enumerate(zip(params, grads)):
            opt.update(p, g, {s: state[slots.index((i, s))] for s in opt.state_names()}, step)
        return loss

    def forward(params, buffers, *xs):
        return torch.func.functional_call(net, (dict(zip(names, params)), dict(zip(bnames, buffers))), tuple(xs))

    try:
        net.train()
        t_args = (params, buffers, state, step, *inputs, target)
        t_gm = trace_aten(train_step, t_args)
        writes = _state_updates(t_gm)
        net.eval()
        f_args = (params, buffers, *inputs)
        f_gm = trace_aten(forward, f_args)
    except Unsupported as e:
        raise SaveError(f"the train step cannot be traced: {e}") from None
    flat_t = [*params, *buffers, *state, step, *inputs, target]
    flat_f = [*params, *buffers, *inputs]
    n_state = len(params) + len(buffers) + len(state) + 1
    try:
        train, end = _build(t_gm, flat_t, opts, "t_", 0, {})
        shared = {i: train.offsets[train.program.inputs[i].buffer] for i in range(len(params) + len(buffers))}
        fwd, end = _build(f_gm, flat_f, opts, "f_", align(end), shared)
    except Unsupported as e:
        raise SaveError(f"some operators of the train step cannot run as WebAssembly: {e}") from None

    text, pages = _module_text(train, fwd, end, flat_t[:n_state], writes)
    in_names = _input_names(model, len(inputs))
    state_names = ([f"param:{n}" for n in names] + [f"buffer:{n}" for n in bnames]
                   + [f"optimizer:{names[i]}:{s}" for i, s in slots] + ["optimizer:step"])
    manifest = _manifest(opts, opt, train, fwd, pages, end, list(zip(in_names, inputs)), target,
                         list(zip(state_names, flat_t[:n_state])), len(params) + len(buffers))
    wasm = assemble(text) + manifest_section(manifest)
    _check(wasm, t_gm, flat_t, n_state, writes, f_gm, flat_f)
    return TrainerModule(text, wasm, manifest, train, fwd)


def _arguments(model, loss_fn, example_inputs):
    """Check save_training()'s arguments: (loss function, model inputs, target)."""
    if not isinstance(model, torch.nn.Module):
        raise SaveError(f"save_training() expects an nn.Module, got {type(model).__name__}")
    if isinstance(loss_fn, str):
        if loss_fn not in LOSSES:
            raise SaveError(f"unknown loss {loss_fn!r}; known: {sorted(LOSSES)} (or pass a callable)")
        loss_fn = LOSSES[loss_fn]
    example_inputs = tuple(example_inputs)
    if len(example_inputs) < 2 or not all(isinstance(x, torch.Tensor) for x in example_inputs):
        raise SaveError("example_inputs must be (inputs..., target): at least one model input and a target, "
                        "all tensors")
    return loss_fn, example_inputs[:-1], example_inputs[-1]


def _optimizer_state(optimizer, model, params):
    """(update rule, state slots (param index, name), their initial tensors, the step counter)."""
    try:
        if isinstance(optimizer, torch.optim.Optimizer):
            opt, init_state, step0 = from_torch(optimizer, list(model.parameters()))
        else:
            opt, init_state, step0 = from_config(optimizer), {}, 0.0
    except OptimizerError as e:
        raise SaveError(str(e)) from None
    slots = [(i, s) for i in range(len(params)) for s in opt.state_names()]
    state = [init_state.get(k, torch.zeros_like(params[k[0]])) for k in slots]
    return opt, slots, state, torch.tensor(step0, dtype=torch.float32)


def _module_text(train, fwd, end: int, state: list, writes: dict):
    """The module: two programs over one memory, the state baked as data, three entry points
    (``train_step`` runs the train program, then copies each updated state tensor back over
    its input). Returns (WAT, pages)."""
    pages = pages_for(end)
    segments = [seg for part in (train, fwd) for seg in wat.constant_segments(part.program, part.offsets)]
    for k, t in enumerate(state):
        data = t.detach().contiguous().numpy().tobytes()
        if data:
            segments.append((train.offsets[train.program.inputs[k].buffer], data))
    copies = []
    for out_pos, in_pos in sorted(writes.items()):
        o, spec = train.program.outputs[out_pos], train.program.inputs[in_pos]
        nbytes = int(np.prod([int(s) for s in spec.shape])) * ITEMSIZE[spec.dtype]
        if not nbytes:
            continue
        if not _contiguous(o):
            raise SaveError(f"internal error: the update of state input {in_pos} is not contiguous")
        src = train.offsets[o.buffer] + int(o.offset) * ITEMSIZE[o.dtype]
        copies.append(f"(memory.copy (i32.const {train.offsets[spec.buffer]}) (i32.const {src}) (i32.const {nbytes}))")
    exports = {"prepare": [(0, "prepare"), (1, "prepare")], "train_step": [(0, "forward"), *copies],
               "forward": [(1, "forward")]}
    text = wat.build_module([wat.Part(train.sched, train.offsets), wat.Part(fwd.sched, fwd.offsets)], pages,
                            segments, exports)
    return text, pages


def _manifest(opts, opt, train, fwd, pages: int, end: int, inputs: list, target, state: list, n_weights: int):
    """The trainer artifact's manifest: forward's inputs follow the weights (params and buffers,
    shared with the train program); train_step's follow the whole state. ``inputs`` and
    ``state``: (name, tensor) pairs."""

    def place(part, pos):
        return part.offsets[part.program.inputs[pos].buffer]

    def out_spec(part, k, name):
        o = part.program.outputs[k]
        offset = part.offsets[o.buffer] + int(o.offset) * ITEMSIZE[o.dtype]
        return tensor_entry(name, o.shape, MANIFEST_DTYPE[o.dtype], offset, o.strides)

    batch = [*inputs, ("target", target)]
    return {
        **envelope_for(opts, {"memory": "memory", "forward": "forward", "prepare": "prepare",
                              "train_step": "train_step"}, kind="trainer"),
        "inputs": [_spec(n, x.shape, _ir_dtype(x), place(fwd, n_weights + k)) for k, (n, x) in enumerate(inputs)],
        "outputs": [out_spec(fwd, k, f"output{k}") for k in range(len(fwd.program.outputs))],
        "train_step": {
            "inputs": [_spec(n, x.shape, _ir_dtype(x), place(train, len(state) + k))
                       for k, (n, x) in enumerate(batch)],
            "outputs": [out_spec(train, 0, "loss")],
        },
        "state": [_spec(n, t.shape, _ir_dtype(t), place(train, k)) for k, (n, t) in enumerate(state)],
        "symbols": [],
        "memory": {"pages": pages, "bytes": end},
        "optimizer": {"kind": type(opt).__name__.lower(), **dataclasses.asdict(opt)},
    }


def _check(wasm: bytes, t_gm, flat_t, n_state: int, writes: dict, f_gm, flat_f) -> None:
    """One train step and one forward of the artifact against the traced graphs run by
    eager PyTorch on the same data: a wrong artifact is never written.

    The loss, the buffer updates (batch-norm statistics) and the forward are compared
    element by element. Parameter and optimizer-state updates are compared as one vector
    (relative error of the whole update): element by element they can be ill-conditioned,
    e.g. Adam turns the round-off noise of a zero gradient (a convolution bias followed by
    batch norm) into steps of +-lr whose signs differ between any two implementations."""
    from .runtime.artifact import load

    trainer = load(wasm)
    old = [t.detach().clone() for t in flat_t[:n_state]]
    with torch.no_grad():
        outs = t_gm(*[t.clone() for t in old], *flat_t[n_state:])
        want_forward = f_gm(*flat_f)
    loss = trainer.train_step(*flat_t[n_state:])
    problems = []
    if not np.isclose(loss, float(outs[0]), rtol=1e-4, atol=1e-5):
        problems.append(f"loss {loss} vs {float(outs[0])}")
    got_state = list(trainer.get_weights().values())
    diff = scale = 0.0
    for out_pos, in_pos in writes.items():
        got, want = got_state[in_pos].astype(np.float64), outs[out_pos].numpy().astype(np.float64)
        if trainer.state_names[in_pos].startswith("buffer:"):
            if not np.allclose(got, want, rtol=1e-3, atol=1e-5, equal_nan=True):
                problems.append(f"state {trainer.state_names[in_pos]} after one step")
        else:
            diff += float(np.sum((got - want) ** 2))
            scale += float(np.sum((want - old[in_pos].numpy()) ** 2))
    if not np.isfinite(diff) or np.sqrt(diff) > 0.05 * np.sqrt(scale) + 1e-6:
        problems.append(f"parameter update (relative error {np.sqrt(diff / max(scale, 1e-30)):.3g})")
    trainer.set_weights(dict(zip(trainer.state_names, (t.numpy() for t in old))))
    got = trainer(*flat_t[n_state:-1])
    got = list(got) if isinstance(got, tuple) else [got]
    want = list(want_forward) if isinstance(want_forward, (tuple, list)) else [want_forward]
    for g, w in zip(got, want):
        if not np.allclose(g, w.numpy(), rtol=1e-3, atol=1e-5, equal_nan=True):
            problems.append("forward output")
    if problems:
        raise SaveError("internal error: the trainable artifact disagrees with PyTorch on the example batch: "
                        + ", ".join(problems))


def _ir_dtype(t: torch.Tensor) -> str:
    from .lower.registry import ir_dtype

    return ir_dtype(t.dtype)


def _contiguous(o: ir.OutputSpec) -> bool:
    expected = 1
    for size, stride in reversed(list(zip(o.shape, o.strides))):
        if int(size) != 1 and int(stride) != expected:
            return False
        expected *= int(size)
    return True
