"""Helpers for end-to-end tests: compile with the wasm backend, prove the wasm path ran,
compare against eager PyTorch (and, optionally, against the IR interpreter).

Typical use::

    from tests.e2e.helpers import check
    check(lambda x: torch.relu(x), torch.randn(3, 17))          # wasm vs eager
    check(fn, x, interp=True)                                      # + interp vs eager graph

``check`` resets Dynamo, compiles ``fn`` with ``backend="wasm"`` and ``strict=True`` (an
unsupported op raises instead of falling back to eager), runs it under ``no_grad`` and
asserts that at least one ``CompiledGraph`` was built *and called*, so an eager fallback
can never make a test pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.utils._pytree as pytree

import torch_wasm_backend.compiled as compiled_mod
from torch_wasm_backend import interp
from torch_wasm_backend.lower import Unsupported

__all__ = [
    "Record", "recording", "compile_wasm", "run_wasm", "check", "assert_same", "assert_same_layout", "meta_outputs",
    "expect_unsupported", "Unsupported", "make_input", "FLOAT_SPECIALS", "UNLOWERED_OP", "unlowered",
]

# Values worth having in every float input: signed zeros, halves (round-to-even), big/small.
FLOAT_SPECIALS = (0.0, -0.0, 0.5, -0.5, 1.5, -2.5, 3.0, -3.0, 1e-3, -7.25, 100.0, -100.0)


# The tests' stand-in for "an operator we do not lower": igamma (the regularised lower incomplete
# gamma function) has no lowering (no decomposition either), so it falls back to eager. If it
# ever gets one, pick another here.
UNLOWERED_OP = "aten.igamma.default"


def unlowered(x: torch.Tensor) -> torch.Tensor:
    """``x`` through ``UNLOWERED_OP`` (finite for x >= 0)."""
    y = x + 1
    return torch.igamma(y, y)


@dataclass
class Record:
    """What the wasm backend did while a compiled callable ran."""

    compiled: list = field(default_factory=list)  # (gm, example_inputs, CompiledGraph)
    calls: list = field(default_factory=list)  # (CompiledGraph, [input tensors], [output tensors])

    @property
    def graphs(self) -> list:
        return [g for _, _, g in self.compiled]

    def assert_wasm_ran(self) -> None:
        assert self.compiled, "the wasm backend compiled no graph (did everything fall back to eager?)"
        for _, _, g in self.compiled:
            assert isinstance(g, compiled_mod.CompiledGraph), f"compile_graph returned {type(g).__name__}"
        assert self.calls, "no CompiledGraph was called"


@contextlib.contextmanager
def recording():
    """Record every graph ``compile_graph`` builds and every call into a CompiledGraph."""
    rec = Record()
    orig_compile = compiled_mod.compile_graph
    orig_call = compiled_mod.CompiledGraph.__call__

    def compile_graph(gm, example_inputs, weight_indices, options):
        g = orig_compile(gm, example_inputs, weight_indices, options)
        rec.compiled.append((gm, list(example_inputs), g))
        return g

    def call(self, args):
        inputs = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args]
        outs = orig_call(self, args)
        rec.calls.append((self, inputs, outs))
        return outs

    compiled_mod.compile_graph = compile_graph
    compiled_mod.CompiledGraph.__call__ = call
    try:
        yield rec
    finally:
        compiled_mod.compile_graph = orig_compile
        compiled_mod.CompiledGraph.__call__ = orig_call


def compile_wasm(fn, fullgraph: bool = True, **options):
    """``torch.compile(fn, backend="wasm")`` after a Dynamo reset, with ``strict=True``
    unless overridden (an unsupported op raises instead of running eagerly) and
    ``fullgraph=True`` (a Dynamo graph break raises, so every op of ``fn`` is in a graph
    the backend compiled)."""
    options = {"strict": True, **options}
    torch._dynamo.reset()
    return torch.compile(fn, backend="wasm", options=options, fullgraph=fullgraph)


def run_wasm(fn, *args, fullgraph: bool = True, **options):
    """Compile ``fn`` fresh, run it once on ``args`` under no_grad; return (output, Record)."""
    compiled = compile_wasm(fn, fullgraph, **options)
    with recording() as rec, torch.no_grad():
        out = compiled(*args)
    rec.assert_wasm_ran()
    return out, rec


def assert_same(actual, expected, rtol=None, atol=None, msg: str = "", meta=None) -> None:
    """Outputs equal: float tensors by ``assert_close`` (NaN == NaN), integer and bool
    tensors exactly (dtype and shape too), and laid out as eager's (``assert_same_layout``;
    ``meta``: the outputs of the same function under FakeTensorMode, see ``meta_outputs``).
    Pytrees are compared leaf by leaf."""
    a_leaves, a_spec = pytree.tree_flatten(actual)
    e_leaves, e_spec = pytree.tree_flatten(expected)
    m_leaves = pytree.tree_leaves(meta) if meta is not None else [None] * len(e_leaves)
    assert a_spec == e_spec, f"{msg} output structure differs: {a_spec} vs {e_spec}"
    for i, (a, e, m) in enumerate(zip(a_leaves, e_leaves, m_leaves)):
        where = f"{msg} output {i}" if len(e_leaves) > 1 else msg
        if not isinstance(e, torch.Tensor):
            assert a == e, f"{where}: {a!r} != {e!r}"
            continue
        assert isinstance(a, torch.Tensor), f"{where}: got {type(a).__name__}"
        assert a.dtype == e.dtype, f"{where}: dtype {a.dtype} != {e.dtype}"
        assert a.shape == e.shape, f"{where}: shape {tuple(a.shape)} != {tuple(e.shape)}"
        assert_same_layout(a, e, where, meta=m)
        if e.dtype.is_floating_point:
            torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=True,
                                       msg=lambda m: f"{where}: {m}")
        else:
            if not torch.equal(a, e):
                bad = (a != e).nonzero()[:8].tolist()
                raise AssertionError(f"{where}: values differ at {bad}: got {a[tuple(zip(*bad))] if bad else a} "
                                     f"expected {e[tuple(zip(*bad))] if bad else e}")


def _layout(t: torch.Tensor) -> tuple:
    """(strides of the dims longer than 1, storage offset): torch's own notion of equal
    layouts (a size-1 dim's stride is never used); None for an empty tensor."""
    if t.numel() == 0:
        return None
    return tuple(st for st, n in zip(t.stride(), t.shape) if n > 1), t.storage_offset()


def assert_same_layout(actual: torch.Tensor, expected: torch.Tensor, where: str = "", meta=None) -> None:
    """Eager's layout (strides, storage offset). The compiler takes a graph's layouts from
    its FX values, i.e. from torch's meta kernels; where those disagree with torch's own
    CPU kernel (``meta``, the output under FakeTensorMode, differs from eager: e.g.
    ``div(a.t(), b, rounding_mode="floor")`` is contiguous under fake tensors, ``a.t()``'s
    layout in eager), the meta layout is accepted, as Inductor does."""
    got, want = _layout(actual), _layout(expected)
    if got == want:
        return
    if isinstance(meta, torch.Tensor) and _layout(meta) == got:
        return
    raise AssertionError(f"{where}: strides {actual.stride()} (storage offset {actual.storage_offset()}) != eager's "
                         f"{expected.stride()} ({expected.storage_offset()}), shape {tuple(expected.shape)}")


def meta_outputs(fn, args):
    """``fn``'s outputs under FakeTensorMode (torch's meta kernels), or None if it cannot run there."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    try:
        with FakeTensorMode(allow_non_fake_inputs=True) as mode, torch.no_grad():
            return fn(*[mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args])
    except Exception:
        return None


def _interp_outputs(graph, inputs):
    # interp.run copies each input into a buffer of max(numel, 1) elements and chokes on
    # size-0 arrays; such buffers are never read, so hand it one dummy element instead
    arrays = [a.numpy() if a.numel() else np.zeros(1, a.numpy().dtype) for a in inputs]
    return [torch.from_numpy(np.array(o)) for o in interp.run(graph.program, arrays)]


def check_interp(rec: Record, rtol=None, atol=None) -> None:
    """For each compiled graph: the IR interpreter agrees with the eager ATen graph on the
    inputs the wasm module saw (a mismatch here is a lowering bug; a mismatch only in the
    wasm output is an emission bug)."""
    gms = {id(g): gm for gm, _, g in rec.compiled}
    for graph, inputs, _ in rec.calls:
        gm = gms[id(graph)]
        with torch.no_grad():
            ref = gm(*[a.clone() for a in inputs])
        ref = [r for r in (ref if isinstance(ref, (list, tuple)) else [ref])]
        got = _interp_outputs(graph, inputs)
        ref = [r for r in ref if isinstance(r, torch.Tensor)]
        assert len(got) == len(ref), f"interp gave {len(got)} outputs, graph {len(ref)}"
        for i, (g, r) in enumerate(zip(got, ref)):
            assert_same(g, r.contiguous(), rtol=rtol, atol=atol, msg=f"[interp] graph output {i}")


def check(fn, *args, interp: bool = False, rtol=None, atol=None, expected=None, fullgraph: bool = True,
          **options):
    """Run ``fn`` eagerly and through the wasm backend; assert equal outputs. With
    ``interp=True`` also check the IR interpreter against the eager ATen graph first, so
    a failure says whether lowering or emission is wrong. Returns the Record."""
    with torch.no_grad():
        if expected is None:
            expected = fn(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
    out, rec = run_wasm(fn, *args, fullgraph=fullgraph, **options)
    if interp:
        check_interp(rec, rtol=rtol, atol=atol)
    assert_same(out, expected, rtol=rtol, atol=atol, msg="[wasm]", meta=meta_outputs(fn, args))
    return rec


def expect_unsupported(fn, *args, match: str | None = None):
    """In strict mode ``fn`` must raise ``Unsupported`` (possibly wrapped by Dynamo)."""
    compiled = compile_wasm(fn, fullgraph=False)
    try:
        with torch.no_grad():
            compiled(*args)
    except Exception as e:  # Dynamo wraps backend errors (BackendCompilerFailed)
        chain, cur = [], e
        while cur is not None:
            chain.append(cur)
            cur = cur.__cause__ or getattr(cur, "inner_exception", None) or cur.__context__
            if cur in chain:
                break
        found = [c for c in chain if isinstance(c, Unsupported)]
        assert found, f"expected Unsupported, got {type(e).__name__}: {e}"
        if match is not None:
            assert match in str(found[0]), f"Unsupported message {str(found[0])!r} lacks {match!r}"
        return found[0]
    raise AssertionError("expected Unsupported, but the graph compiled and ran")


def make_input(shape, dtype=torch.float32, *, low=None, high=None, specials=False, gen=None):
    """A deterministic test tensor. Floats are N(0, 1)*2 (optionally with FLOAT_SPECIALS
    spread in); ints uniform in [low, high); bools fair coins."""
    gen = gen if gen is not None else torch.Generator().manual_seed(hash(tuple(shape)) % (2**31))
    if dtype == torch.bool:
        return torch.randint(0, 2, tuple(shape), generator=gen).bool()
    if not dtype.is_floating_point:
        return torch.randint(-5 if low is None else low, 6 if high is None else high, tuple(shape),
                             generator=gen, dtype=dtype)
    x = torch.randn(tuple(shape), generator=gen, dtype=dtype) * 2
    if low is not None or high is not None:
        lo = 0.0 if low is None else low
        hi = 1.0 if high is None else high
        x = torch.rand(tuple(shape), generator=gen, dtype=dtype) * (hi - lo) + lo
    if specials and x.numel():
        flat = x.view(-1)
        for i, v in enumerate(FLOAT_SPECIALS):
            if 3 * i < flat.numel():
                flat[3 * i] = v
    return x
