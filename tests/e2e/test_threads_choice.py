"""The measured choice between N threads and one (``runtime/thread_choice.py``): a threaded
module runs a call on thread 0 alone (``run(1)``) as well as on all threads, with bitwise the
same results, and the runtime keeps whichever its first calls measured faster.

The rule itself is checked with given timings (in Python and, through Node, the JavaScript
loader's copy); the runtimes (wasmtime for compiled graphs and loaded artifacts, the
JavaScript loader in Node) on a small graph split by lowering the threshold to zero, with
the calls on one of the counts made slower by a delay after the real run (what a host with
no free core does): the choice must follow, the workers woken only by the calls on 2
threads (the job counter GO in the control block counts them), every call's outputs bitwise
those of the single-thread module; with the choice turned off every call wakes the workers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend.config import Options
from torch_wasm_backend.runtime import thread_choice as tc
from torch_wasm_backend.runtime.artifact import load
from torch_wasm_backend.runtime.thread_choice import ThreadChoice
from torch_wasm_backend.runtime.threaded import ThreadedInstance

from .helpers import recording
from .test_threads import split_all

CALLS = 12  # the warm-up, the trial's 2 * TRIAL calls, then calls on the chosen count
WOKEN_BY_TRIAL = 1 + tc.TRIAL  # the warm-up and the trial's calls on N threads


def _drive(choice: ThreadChoice, ns: dict, calls: int) -> list:
    """The counts of ``calls`` calls when a call on n threads takes ``ns[n]``."""
    out = []
    for _ in range(calls):
        n = choice.count()
        out.append(n)
        choice.record(n, ns[n])
    return out


MS = 1e6  # ns


def test_rule_keeps_the_faster_count_and_rechecks():
    trial = [2, 1, 2, 1, 2, 1, 2][: 1 + 2 * tc.TRIAL]  # warm-up on N, then 1, N alternating
    c = ThreadChoice(2)
    assert _drive(c, {1: 100.0, 2: 60.0}, len(trial)) == trial
    assert c.used == 2 and c.trials == 1 and c.best_ns == {1: 100.0, 2: 60.0}
    c = ThreadChoice(2)
    slow = {1: 100 * MS, 2: 140 * MS}  # 64 calls take more than RECHECK_MIN_NS
    counts = _drive(c, slow, len(trial) + tc.RECHECK_FIRST)
    assert c.used == 1 and counts[len(trial) :] == [1] * tc.RECHECK_FIRST
    # the re-check: a trial again; the host got quiet, so N threads win now
    quiet = {1: 100 * MS, 2: 50 * MS}
    assert _drive(c, quiet, 2 * tc.TRIAL + 1) == [1, 2] * tc.TRIAL + [2]
    assert c.used == 2 and c.trials == 2 and c._interval == tc.RECHECK_FIRST  # changed: the shortest interval
    _drive(c, quiet, tc.RECHECK_FIRST + 2 * tc.TRIAL)
    assert c.trials == 3 and c._interval == 2 * tc.RECHECK_FIRST  # the choice stood: twice as long


def test_rule_rechecks_short_calls_after_a_second_of_them():
    c = ThreadChoice(2)
    _drive(c, {1: 0.1 * MS, 2: 0.2 * MS}, 1 + 2 * tc.TRIAL)
    calls = int(tc.RECHECK_MIN_NS / (0.1 * MS))  # 64 calls are not 1 s: the re-check waits for the second
    assert _drive(c, {1: 0.1 * MS, 2: 0.2 * MS}, calls - 10) == [1] * (calls - 10)
    assert 2 in _drive(c, {1: 0.1 * MS, 2: 0.2 * MS}, 20)  # the next trial


def test_rule_rechecks_at_once_when_the_chosen_count_drifts_slower():
    c = ThreadChoice(2)
    _drive(c, {1: 100 * MS, 2: 0.1 * MS}, 1 + 2 * tc.TRIAL)  # long calls: no periodic re-check soon
    assert c.used == 2
    assert _drive(c, {1: 100 * MS, 2: 0.14 * MS}, 50) == [2] * 50  # 1.4x its fastest: not slow
    for _ in range(5):  # slow calls, but never DRIFT_CALLS in a row: jitter, not a busier host
        assert (
            _drive(c, {1: 100 * MS, 2: 0.4 * MS}, tc.DRIFT_CALLS - 1) + _drive(c, {1: 100 * MS, 2: 0.1 * MS}, 1)
            == [2] * tc.DRIFT_CALLS
        )
    busy = {1: 0.2 * MS, 2: 0.4 * MS}  # another job arrived: 2 threads 4x slower, now slower than 1
    assert _drive(c, busy, tc.DRIFT_CALLS) == [2] * tc.DRIFT_CALLS
    assert _drive(c, busy, 2 * tc.TRIAL) == [1, 2] * tc.TRIAL  # the trial, at once
    assert c.used == 1 and c.trials == 2


def test_rule_ties_and_margin_keep_one_thread():
    for ns in ({1: 100.0, 2: 100.0}, {1: 100.0, 2: 96.0}, {1: 0.0, 2: 0.0}):
        c = ThreadChoice(2)
        _drive(c, ns, 1 + 2 * tc.TRIAL)
        assert c.used == 1, ns


def test_rule_takes_the_fastest_call_of_each_count():
    c = ThreadChoice(3)
    times = iter([0, 100, 50, 100, 5000, 100, 4000])  # two slow calls on 3 threads (another job's burst)
    for _ in range(7):
        n = c.count()
        c.record(n, next(times))
    assert c.used == 3 and c.best_ns == {1: 100, 3: 50}


def test_fixed_choice_always_uses_every_thread():
    c = ThreadChoice(2, adaptive=False)
    assert _drive(c, {1: 1.0, 2: 1000.0}, 50) == [2] * 50 and c.used == 2 and c.trials == 0
    assert _drive(ThreadChoice(1), {1: 1.0}, 5) == [1] * 5


def _tiny(x):
    return x * 2 + 1


X = torch.randn(4096, generator=torch.Generator().manual_seed(11))
DELAY_S = 0.002  # what a host with no free core adds to a call on N threads (a worker waited for)


def _slowed(inst: ThreadedInstance, count: int) -> None:
    """Calls on ``count`` threads of ``inst`` take ``DELAY_S`` longer (after the real run)."""
    real = inst._runs[count]

    def run():
        real()
        time.sleep(DELAY_S)

    inst._runs[count] = run


def _woken(inst: ThreadedInstance) -> int:
    return int(inst.pool.control[2])  # GO: the calls that woke the workers (csrc/wat/barrier.wat)


def _compiled_calls(threads: int, slow: int | None = None, **options):
    """``CALLS`` calls of the tiny graph compiled with ``threads`` (every kernel split), the calls
    on ``slow`` threads made slower after the first (the unmeasured warm-up); (outputs, graph)."""
    torch._dynamo.reset()
    f = torch.compile(_tiny, backend="wasm", options={"strict": True, "threads": threads, **options}, fullgraph=True)
    with split_all(), recording() as rec:
        outs = [f(X)]
        if slow is not None:
            _slowed(rec.graphs[0].instance, slow)
        outs += [f(X) for _ in range(CALLS - 1)]
    rec.assert_wasm_ran()
    (graph,) = rec.graphs
    return outs, graph


def _assert_bitwise(got: list, want: torch.Tensor) -> None:
    for i, g in enumerate(got):
        assert torch.equal(g.view(torch.int32), want.view(torch.int32)), f"call {i}"


def test_compiled_graph_keeps_the_faster_count_bitwise():
    """In wasmtime: calls on 2 threads made slower -> one thread (the workers woken only by the
    warm-up and the trial); calls on 1 made slower -> 2 threads; forced -> every call wakes them.
    Every call's outputs bitwise those of the single-thread module."""
    (want, *_), _ = _compiled_calls(1)
    got, graph = _compiled_calls(2, slow=2)
    assert graph.threads == 2 and isinstance(graph.instance, ThreadedInstance)
    assert graph.threads_used == 1, graph.instance.choice.best_ns
    assert _woken(graph.instance) == WOKEN_BY_TRIAL
    _assert_bitwise(got, want)
    got, graph = _compiled_calls(2, slow=1)
    assert graph.threads_used == 2 and _woken(graph.instance) == CALLS - tc.TRIAL, graph.instance.choice.best_ns
    _assert_bitwise(got, want)
    got, graph = _compiled_calls(2, slow=2, threads_adaptive=False)
    assert graph.threads_used == 2 and _woken(graph.instance) == CALLS
    _assert_bitwise(got, want)


@pytest.mark.parametrize("bad", [0, "no", None])
def test_bad_threads_adaptive(bad):
    with pytest.raises(ValueError, match="threads_adaptive must be True or False"):
        Options.from_dict({"threads": 2, "threads_adaptive": bad})


def test_artifact_choice_in_python_and_node(tmp_path):
    torch._dynamo.reset()
    f = torch.compile(_tiny, backend="wasm", options={"threads": 1})
    f(X)
    path = tmp_path / "tiny.wasm"
    with split_all():
        torch_wasm_backend.save(f, path, threads=True)
    want = np.asarray(load(path)(X.numpy()))
    for adaptive, used, woken in ((True, 1, WOKEN_BY_TRIAL), (False, 2, CALLS)):
        model = torch_wasm_backend.load(path, threads=2, threads_adaptive=adaptive)
        for i in range(CALLS):
            got = np.asarray(model(X.numpy()))
            assert np.array_equal(got.view(np.int32), want.view(np.int32)), (adaptive, i)
            if i == 0:
                _slowed(model._instance, 2)
        assert model.threads == 2 and model.threads_used == used, model._instance.choice.best_ns
        assert _woken(model._instance) == woken
    assert load(path).threads_used == 1
    with pytest.raises(ValueError, match="threads_adaptive must be True or False"):
        load(path, threads=2, threads_adaptive=1)

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    (tmp_path / "x.bin").write_bytes(X.numpy().tobytes())
    (tmp_path / "want.bin").write_bytes(want.tobytes())
    script = Path(__file__).parent / "js" / "threads_choice_check.mjs"
    args = [node, str(script), str(path), str(tmp_path / "x.bin"), str(tmp_path / "want.bin"), str(CALLS), "2"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    (auto, fixed, slowed) = report["results"]
    # measured for real: either count may win on this graph, the wake-ups must match the choice
    assert auto["adaptive"] and auto["threads"] == 2 and auto["used"] in (1, 2), auto
    assert auto["woken"] == woken_for(auto["used"]), auto
    assert fixed["used"] == 2 and fixed["woken"] == CALLS, fixed
    assert slowed["used"] == 1 and slowed["woken"] == WOKEN_BY_TRIAL, slowed  # calls on 2 threads made slower
    for r in (auto, fixed, slowed):
        assert all(r["calls"]) and len(r["calls"]) == CALLS, r
    assert "threadsAdaptive must be true or false" in report["badOption"], report
    want_rule = {"faster2": 2, "faster1": 1, "tie": 1, "zeros": 1, "recheck": [1, 2], "drift": [2, 1]}
    assert report["rule"] == want_rule, report["rule"]


def woken_for(used: int) -> int:
    """GO after ``CALLS`` calls when the trial chose ``used`` threads (1, or all of them)."""
    return WOKEN_BY_TRIAL + (CALLS - 1 - 2 * tc.TRIAL if used > 1 else 0)
