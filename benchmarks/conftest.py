"""Shared fixtures of the benchmark suite.

Not collected by the default test run (pyproject sets ``testpaths = ["tests"]``); run it
by naming the directory::

    python -m pytest benchmarks -q --benchmark-only --benchmark-json=/tmp/bench.json

Rules: every wasm number has an eager number measured in the same run next to it (the
report prints ratios), nothing here asserts a timing, and a compiled model is checked
against eager before it is timed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from torch._dynamo.utils import counters

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import CASES, Case, build_model  # noqa: E402

# The eager reference runs single-threaded: the wasm module runs on one thread too, so the
# comparison is one core against one core. Set at import so it also holds for the
# warm-up done while collecting/compiling.
torch.set_num_threads(1)

CACHE_ENV = "TORCH_WASM_CACHE_DIR"


_cache_tmp: tempfile.TemporaryDirectory | None = None


def pytest_configure(config):
    global _cache_tmp
    torch.set_num_threads(1)
    # The backend caches assembled wasm and compiled wasmtime modules on disk. A warm cache
    # would make "compile time" mostly a cache lookup, so unless the caller chose a cache
    # directory, the session uses a fresh, empty one: compile times are cold.
    if not os.environ.get(CACHE_ENV):
        _cache_tmp = tempfile.TemporaryDirectory(prefix="torch_wasm_bench_cache_")
        os.environ[CACHE_ENV] = _cache_tmp.name


def pytest_unconfigure(config):
    global _cache_tmp
    if _cache_tmp is not None:
        os.environ.pop(CACHE_ENV, None)
        _cache_tmp.cleanup()
        _cache_tmp = None


@pytest.fixture(scope="session", autouse=True)
def _warm_backend():
    """Compile one throw-away graph first, so one-time costs (imports, engine creation,
    locating wat2wasm) are not charged to whichever model happens to be compiled first."""
    torch._dynamo.reset()
    f = torch.compile(lambda x: x - 3.0, backend="wasm", options={"strict": True})
    with torch.no_grad():
        f(torch.ones(4))
    torch._dynamo.reset()
    yield


def pytest_report_header(config):
    return f"torch_wasm_backend benchmarks: torch {torch.__version__}, threads={torch.get_num_threads()}, " \
        f"cpu capability={torch.backends.cpu.get_cpu_capability()}"


class Prepared:
    """A model, its inputs and its eager output, built identically for both benchmarks of a group."""

    def __init__(self, case: Case):
        self.case = case
        self.model = build_model(case)
        self.inputs = case.make_inputs()
        with torch.no_grad():
            self.expected = self.model(*self.inputs)


@pytest.fixture
def single_thread():
    """Guarantee the eager reference is single-threaded (and restore whatever a test changed)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def prepare():
    """``prepare(name) -> Prepared``: the model of ``models.CASES[name]`` in eval mode,
    seeded weights, randomised batch-norm statistics, fixed inputs, eager output."""

    def make(name: str) -> Prepared:
        return Prepared(CASES[name])

    return make


@pytest.fixture
def compile_wasm():
    """``compile_wasm(prepared) -> (compiled_model, compile_seconds)``.

    Resets Dynamo, compiles with ``backend="wasm"`` in strict mode (no silent eager
    fallback), runs the first call (which is when Dynamo traces and our backend compiles:
    its wall time is the compile time), and checks the result against eager with
    ``torch.testing.assert_close`` before anything is timed.
    """

    def make(p: Prepared):
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        torch._dynamo.reset()
        counters.clear()
        cm = torch.compile(p.model, backend="wasm", options={"strict": True})
        with torch.no_grad():
            t0 = time.perf_counter()
            out = cm(*p.inputs)
            compile_s = time.perf_counter() - t0
            graphs = counters["stats"]["unique_graphs"]
            # a graph break would leave Python/eager code between compiled graphs: the timing
            # would no longer be of the backend alone
            assert graphs == 1, f"{p.case.name}: Dynamo produced {graphs} graphs (graph breaks?), expected 1"
            torch.testing.assert_close(out, p.expected, **p.case.tolerance)
            # a second call must reuse the compiled module (no recompilation) and still be right
            torch.testing.assert_close(cm(*p.inputs), p.expected, **p.case.tolerance)
            assert counters["stats"]["unique_graphs"] == 1, f"{p.case.name}: recompiled on the second call"
        return cm, compile_s

    yield make
    torch._dynamo.reset()
