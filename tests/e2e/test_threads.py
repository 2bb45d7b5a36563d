"""Threads (``options={"threads": N}``): the threaded module's outputs are bitwise those of
the single-thread module (every float compared by its bits, NaN payloads included, and the
strides), at 2 and 3 threads, for a GEMM of odd sizes, an MLP, a small CNN, a transformer
block, and programs drawn by the fuzzer. ``split_all`` lowers the size threshold to zero,
so that every kernel that can be split is, on graphs small enough for a fast test; the
default threshold is checked too (small graphs start no workers).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from unittest import mock

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings

import torch_wasm_backend.emit.threads as threads_mod
from torch_wasm_backend.config import Options
from torch_wasm_backend.runtime.threaded import ThreadedInstance
from torch_wasm_backend.target import Threads

from .helpers import recording
from .test_fuzz import CI_FAMILIES, programs


@contextmanager
def split_all():
    """Every kernel that can be split is split (threshold 0)."""
    with mock.patch.object(threads_mod, "THREADS", Threads(min_ns=0.0, graph_min_ns=0.0)):
        yield


def _bits(t: torch.Tensor) -> torch.Tensor:
    if t.dtype == torch.float32:
        return t.view(torch.int32)
    if t.dtype == torch.float64:
        return t.view(torch.int64)
    return t


def run(fn, args, threads: int, **options):
    """Compile ``fn`` afresh with ``threads``, call it twice (the second call checks that
    nothing stays behind between calls); (outputs as a list, the CompiledGraphs)."""
    torch._dynamo.reset()
    compiled = torch.compile(
        fn, backend="wasm", options={"strict": True, "threads": threads, **options}, fullgraph=True
    )
    with recording() as rec, torch.no_grad():
        compiled(*args)
        out = compiled(*args)
    rec.assert_wasm_ran()
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return outs, rec.graphs


def assert_bitwise(got: list, want: list, what: str) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{what} output {i}: {g.dtype}{list(g.shape)}"
        assert g.stride() == w.stride(), f"{what} output {i}: strides {g.stride()} != {w.stride()}"
        if not torch.equal(_bits(g), _bits(w)):
            bad = (_bits(g) != _bits(w)).nonzero()[:4].tolist()
            raise AssertionError(f"{what} output {i}: bits differ at {bad}")


def check_threads(fn, args, counts=(2, 3), expect_threaded=True, **options):
    want, graphs = run(fn, args, 1, **options)
    assert all(g.threads == 1 for g in graphs)
    for n in counts:
        got, graphs = run(fn, args, n, **options)
        if expect_threaded:
            assert any(g.threads == n for g in graphs), f"no graph ran on {n} threads"
            assert any(isinstance(g.instance, ThreadedInstance) for g in graphs)
        assert_bitwise(got, want, f"threads={n}")


def _model(make, seed=0):
    torch.manual_seed(seed)
    m = make().eval()
    for mod in m.modules():  # non-trivial batch norms (the defaults are nearly the identity)
        if isinstance(mod, torch.nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        c = torch.nn
        self.f = c.Sequential(
            c.Conv2d(3, 16, 3, padding=1),
            c.BatchNorm2d(16),
            c.ReLU(),
            c.MaxPool2d(2),
            c.Conv2d(16, 24, 3, stride=2, padding=1),
            c.BatchNorm2d(24),
            c.ReLU(),
            c.Conv2d(24, 24, 3, padding=1, groups=24),
            c.ReLU(),
            c.Conv2d(24, 32, 1),
        )
        self.fc = c.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.f(x).mean((2, 3))), self.f(x).softmax(1)


def test_gemm_odd_sizes():
    g = torch.Generator().manual_seed(0)
    a, b, bias = torch.randn(67, 129, generator=g), torch.randn(129, 301, generator=g), torch.randn(301, generator=g)
    with split_all():
        check_threads(
            lambda a, b, c: (
                torch.relu(a @ b + c),
                (a @ b).T @ a,
                torch.bmm(a[None].expand(3, -1, -1), b[None].expand(3, -1, -1)),
            ),
            (a, b, bias),
        )


def test_mlp():
    m = _model(lambda: torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)))
    x = torch.randn(33, 784, generator=torch.Generator().manual_seed(1))
    with split_all():
        check_threads(m, (x,))


def test_small_cnn():
    m = _model(SmallCNN)
    x = torch.randn(2, 3, 29, 31, generator=torch.Generator().manual_seed(2))
    with split_all():
        check_threads(m, (x,))


def test_transformer_block():
    torch.manual_seed(0)
    m = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=96, dropout=0.0, batch_first=True).eval()
    x = torch.randn(2, 19, 64, generator=torch.Generator().manual_seed(3))
    with split_all():
        check_threads(m, (x,))


def test_default_threshold_splits_a_large_gemm_and_matches():
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(200, 300, generator=g), torch.randn(300, 260, generator=g)
    check_threads(lambda a, b: a @ b, (a, b), counts=(2,))


def test_small_graph_starts_no_workers():
    before = {t.name for t in threading.enumerate()}
    _, graphs = run(lambda x: torch.relu(x * 2 + 1).sum(0), (torch.randn(5, 33),), 4)
    assert [g.threads for g in graphs] == [1]
    assert not isinstance(graphs[0].instance, ThreadedInstance)
    assert "(import" not in graphs[0].wat  # the ordinary import-free module
    started = {t.name for t in threading.enumerate()} - before
    assert not any(n.startswith("wasm-worker") for n in started), started


def test_threads_default_follows_torch():
    a = torch.randn(256, 256, generator=torch.Generator().manual_seed(5))
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        _, graphs = run(lambda a: a @ a, (a,), None)
        assert [g.threads for g in graphs] == [2]
        torch.set_num_threads(1)
        _, graphs = run(lambda a: a @ a, (a,), None)
        assert [g.threads for g in graphs] == [1]
    finally:
        torch.set_num_threads(prev)


@pytest.mark.parametrize("bad", [0, -1, 2.0, "2", True, 65])
def test_bad_threads_values(bad):
    with pytest.raises(ValueError, match="threads must be an int from 1 to 64"):
        Options.from_dict({"threads": bad})


def test_threads_need_wasmtime():
    with pytest.raises(ValueError, match="needs engine='wasmtime'"):
        Options.from_dict({"threads": 2, "engine": "wasmer"})
    assert Options.from_dict({"threads": 1, "engine": "wasmer"}).threads == 1


def test_trap_on_a_worker_is_raised_and_the_model_still_runs():
    """An out-of-range embedding index traps in one thread's chunk: the call raises the
    real error (not the barrier's), and the next call with good indices is right."""
    emb = torch.nn.Embedding(50, 64).eval()
    fn = torch.compile(emb, backend="wasm", options={"strict": True, "threads": 2}, fullgraph=True)
    torch._dynamo.reset()
    good = torch.arange(64) % 50
    with split_all(), torch.no_grad():
        want = emb(good)
        assert torch.equal(fn(good), want)
        for where in (60, 3, 60, 60, 3, 60):  # thread 1's rows, then thread 0's
            bad = good.clone()
            bad[where] = 99
            with pytest.raises(Exception, match="index out of range|out of bounds|index") as exc:
                fn(bad)
            assert "threads_wait" not in str(exc.value) and "threads_barrier" not in str(exc.value)
            assert torch.equal(fn(good), want)


@settings(max_examples=10, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(prog=programs(families=CI_FAMILIES))
def test_fuzz_programs_bitwise(prog):
    inputs = prog.make_inputs()
    fn = prog.function()
    try:
        want, _ = run(fn, inputs, 1, **prog.options())
    except Exception:  # noqa: BLE001  (eager raises, or an unsupported case: not this test's business)
        assume(False)
    with split_all():
        for n in (2, 3):
            got, _ = run(fn, inputs, n, **prog.options())
            assert_bitwise(got, want, f"threads={n}\n{prog.source()}")


def test_workers_stop_when_the_graph_is_freed():
    import gc

    before = set(threading.enumerate())
    _, graphs = run(lambda a: a @ a, (torch.randn(256, 256),), 3)
    pool = graphs[0].instance.pool
    mine = [t for t in pool.threads if t not in before]
    assert len(mine) == 2 and all(t.is_alive() for t in mine)
    del graphs, pool
    torch._dynamo.reset()
    gc.collect()
    for t in mine:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in mine)


def test_split_rules_on_ir():
    """Which loop kernels may be shared out (no toolchain): only those whose points store to
    distinct elements and that read their output element-wise; grain 16 along a lane dim."""
    from torch_wasm_backend import ir
    from torch_wasm_backend.indexing import index_vars
    from torch_wasm_backend.schedule import KernelPlan

    i0, i1 = index_vars(2)
    x = ir.Load("x", i0 * 64 + i1, "f32")

    def plan(out_index, body=x, ranges=(64, 64)):
        return KernelPlan(ir.Pointwise("k", "out", out_index, ranges, body), "vector")

    with split_all():
        assert threads_mod.split_of(plan(i0 * 64 + i1)) == threads_mod.Split("dim0", 64, 1)
        assert threads_mod.split_of(plan(i0 + 64 * i1)) is not None  # a transposed store: still injective
        assert threads_mod.split_of(plan(i1)) is None  # every i0 stores to the same row
        assert threads_mod.split_of(plan(i0 * 32 + i1)) is None  # rows overlap
        own = ir.Op("add", (ir.Load("out", i0 * 64 + i1 + 1, "f32"), x), "f32")
        assert threads_mod.split_of(plan(i0 * 64 + i1, own)) is None  # reads a neighbour of its output
        same = ir.Op("add", (ir.Load("out", i0 * 64 + i1, "f32"), x), "f32")
        assert threads_mod.split_of(plan(i0 * 64 + i1, same)) is not None  # element-wise update
        assert threads_mod.split_of(plan(i0, ir.Load("x", i0, "f32"), (100,))) == threads_mod.Split("dim0", 100, 16)
        assert threads_mod.split_of(plan(i0, ir.Load("x", i0, "f32"), (31,))) is None  # < 2 lane units
    assert threads_mod.split_of(plan(i0 * 64 + i1)) is None  # 4096 points: below the default threshold


def test_artifact_threaded_variant(tmp_path):
    """``save(..., threads=True)`` records the threaded code; ``load(path, threads=N)`` runs it,
    bitwise as one thread; a plain artifact loads on one thread; a graph too small to split
    cannot be saved with threads."""
    import numpy as np

    import torch_wasm_backend
    from torch_wasm_backend.ran import SaveError
    from torch_wasm_backend.runtime.artifact import THREADED_SECTION, custom_sections, load

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).eval()
    x = torch.randn(64, 784, generator=torch.Generator().manual_seed(6))
    torch._dynamo.reset()
    f = torch.compile(m, backend="wasm", options={"threads": 1})
    with torch.no_grad():
        f(x)
    plain, threaded = tmp_path / "plain.wasm", tmp_path / "threaded.wasm"
    torch_wasm_backend.save(f, plain)
    manifest = torch_wasm_backend.save(f, threaded, threads=True)
    assert manifest["threads"] == {"section": THREADED_SECTION}
    assert THREADED_SECTION not in custom_sections(plain.read_bytes())
    want = np.asarray(load(plain)(x.numpy()))
    assert load(plain, threads=2).threads == 1
    assert torch_wasm_backend.load(threaded, threads=2).threads == 2  # the public load passes threads on
    for n in (1, 2, 3):
        model = load(threaded, threads=n)
        assert model.threads == n
        for _ in range(2):
            got = np.asarray(model(x.numpy()))
            assert np.array_equal(got.view(np.int32), want.view(np.int32)), n
    with pytest.raises(ValueError, match="threads must be an int"):
        load(threaded, threads=0)
    _check_node(tmp_path, threaded, plain, x.numpy(), want)
    torch._dynamo.reset()
    small = torch.compile(lambda x: x * 2, backend="wasm", options={"threads": 2})
    small(torch.randn(8))
    with pytest.raises(SaveError, match="runs on one thread"):
        torch_wasm_backend.save(small, tmp_path / "small.wasm", threads=True)


def _check_node(tmp_path, threaded, plain, x, want):
    """The JavaScript loader in Node: the threaded variant on worker threads, bitwise as one
    thread; a plain artifact asked for threads runs on one with one warning saying why."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        return
    script = Path(__file__).parent / "js" / "threads_check.mjs"
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    (tmp_path / "want.bin").write_bytes(want.tobytes())
    for model, counts, warned in ((threaded, ("1", "2", "3"), False), (plain, ("2",), True)):
        args = [node, str(script), str(model), str(tmp_path / "x.bin"), str(tmp_path / "want.bin"), *counts]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        assert p.returncode == 0, p.stderr
        report = json.loads(p.stdout.strip().splitlines()[-1])
        assert [r["threads"] for r in report["results"]] == [int(c) for c in counts]
        assert all(all(r["calls"]) for r in report["results"]), report
        for r in report["results"]:  # close() ends a threaded model's workers; a one-thread model runs on
            assert r["ran"] == (1 if warned else r["threads"]), r
            if r["ran"] > 1:
                assert r["closed"] and "ArtifactError" in r["closed"] and "closed" in r["closed"], r
            else:
                assert r["closed"] is None, r
        if warned:
            assert len(report["warnings"]) == 1 and "no threaded variant" in report["warnings"][0]
        else:
            assert report["warnings"] == []


def test_barriers_only_between_dependent_kernels():
    """A wait (for every chunk of the epoch's kernels) goes before a kernel that touches
    memory one of the kernels since the last wait writes (or writes what they read); any
    thread may claim any chunk, so kernels on one chunk ("thread 0 alone" before) wait too."""
    A = threads_mod.Access

    def barriers(*calls):
        wat = threads_mod.forward_function([(f"(call $k{i})", s, a) for i, (s, a) in enumerate(calls)], 1 << 16)
        forward = wat[: wat.index("(func $threads_reset")]
        out = ""
        for ln in (ln.strip() for ln in forward.splitlines()[2:]):
            mark = "|" if "threads_await" in ln else "k" if ln.startswith("(block $k") else "0" if "(if" in ln else "?"
            out += "" if mark == "|" and out.endswith("|") else mark
        return out

    x, q, k, v = ((0, 64),), ((64, 128),), ((128, 192),), ((192, 256),)
    # three projections of x (independent), then a kernel reading two of them
    # "k": a kernel cut into chunks, "0": a one-chunk kernel, "|": wait for the epoch's chunks
    assert barriers((True, A(x, q)), (True, A(x, k)), (True, A(x, v)), (True, A(q + k, x))) == "kkk|k"
    assert barriers((True, A(x, q)), (True, A(q, k))) == "k|k"  # read after write
    assert barriers((True, A(x, q)), (True, A(k, x))) == "k|k"  # write after read
    assert barriers((False, A(x, q)), (False, A(q, k))) == "0|0"  # one chunk each, maybe on two threads
    assert barriers((True, A(x, q)), (False, A(x, k))) == "k0"  # independent: no wait between
    assert barriers((True, A(None, q)), (True, A(x, k))) == "k|k"  # unknown reads: conflict
    assert threads_mod.depends(A(((0, 16),), ((16, 32),)), A(((32, 48),), ((48, 64),))) is False


def test_backward_graphs_run_threaded_and_bitwise():
    """Training under torch.compile: the backward graph (AOTAutograd) gets the threaded module
    too, and the gradients are bitwise those of one thread."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    x = torch.randn(64, 784, generator=torch.Generator().manual_seed(7))
    grads = {}
    for n in (1, 2):
        torch._dynamo.reset()
        m = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
        m.load_state_dict(ref.state_dict())
        f = torch.compile(m, backend="wasm", options={"strict": True, "threads": n})
        with recording() as rec:
            f(x).square().sum().backward()
        rec.assert_wasm_ran()
        assert len(rec.graphs) == 2 and all(g.threads == n for g in rec.graphs), [g.threads for g in rec.graphs]
        grads[n] = [p.grad for p in m.parameters()]
    assert_bitwise(grads[2], grads[1], "gradients at 2 threads")


def test_independent_kernels_share_an_epoch_and_match():
    """Projections of one input by baked weights have no barrier between them (each writes
    its own buffer and reads only x and its packed weight); the results are still bitwise
    those of one thread."""

    class Attention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (torch.nn.Linear(96, 96) for _ in range(3))

        def forward(self, x):
            return (self.q(x) @ self.k(x).T).softmax(-1) @ self.v(x)

    m = _model(Attention)
    x = torch.randn(96, 96, generator=torch.Generator().manual_seed(8))
    with split_all():
        check_threads(m, (x,))
        _, graphs = run(m, (x,), 2)
    (graph,) = graphs
    forward = graph.wat[graph.wat.index('(func $forward (export "forward")') :]
    calls = [ln.strip() for ln in forward.splitlines()[2:]]
    first_barrier = next(i for i, ln in enumerate(calls) if "threads_await" in ln)
    assert first_barrier >= 2, calls[:6]  # at least two projections back to back (v may come later)


def test_math_routines_and_scalar_loops_count_in_the_split_threshold():
    """A pointwise kernel calling ``tanh`` (GELU) or ``exp`` (softmax) costs ~20x a plain one
    a point (``target.THREADS.math_ns``), a scalar loop ``scalar_factor`` times a vector one:
    at the default threshold the first are split at sizes where a plain vector kernel is not."""
    from torch_wasm_backend import ir
    from torch_wasm_backend.indexing import index_vars
    from torch_wasm_backend.schedule import KernelPlan

    (i0,) = index_vars(1)
    x = ir.Load("x", i0, "f32")

    def split(body, n, mode="vector"):
        return threads_mod.split_of(KernelPlan(ir.Pointwise("k", "out", i0, (n,), body), mode))

    n = 1 << 15  # 32768 points: 3.3 us of plain work, ~69 us with a tanh
    assert split(x, n) is None
    assert split(ir.Op("tanh", (x,), "f32"), n) == threads_mod.Split("dim0", n, 16)
    assert split(ir.Op("mul", (ir.Op("exp", (x,), "f32"), x), "f32"), n) is not None
    assert split(x, 150_000) is None and split(x, 150_000, "scalar") is not None
