"""Speed regression suite: every model timed in eager PyTorch (1 thread, no_grad) and
through ``torch.compile(backend="wasm")`` in the same run, in the same benchmark group.

Nothing here asserts a timing: the numbers are for ``benchmarks/report.py`` (ratios
wasm/eager). A test fails only if the compiled model fails to compile or is wrong.

    python -m pytest benchmarks -q --benchmark-only --benchmark-json=/tmp/bench.json
    python benchmarks/report.py /tmp/bench.json

Opt-in cases (224x224 networks): ``TORCH_WASM_BENCH_LARGE=1``.
"""

from __future__ import annotations

import os

import pytest
import torch

from models import CASES


def _params():
    # one test per (model, backend), eager and wasm of a model adjacent in collection order,
    # so the pair is measured back to back under the same machine conditions
    out = []
    for name, case in CASES.items():
        for backend in ("eager", "wasm"):
            marks = [pytest.mark.benchmark(group=name)]
            if case.opt_in and os.environ.get(case.opt_in) != "1":
                marks.append(pytest.mark.skip(reason=f"opt-in: set {case.opt_in}=1"))
            elif backend == "wasm" and case.wasm_skip:
                marks.append(pytest.mark.skip(reason=case.wasm_skip))
            out.append(pytest.param(name, backend, marks=marks, id=f"{name}-{backend}"))
    return out


def _run(benchmark, fn, inputs, case, backend: str):
    """Time ``fn(*inputs)`` under ``torch.no_grad()``, one call per round."""
    benchmark.extra_info.update(model=case.name, backend=backend, input=case.shape, threads=torch.get_num_threads())
    if case.flops:
        benchmark.extra_info["flops"] = case.flops

    def call():
        with torch.no_grad():
            return fn(*inputs)

    benchmark.pedantic(call, rounds=case.rounds, warmup_rounds=max(2, case.rounds // 10))
    if case.flops and benchmark.stats is not None:  # stats is None under --benchmark-disable
        benchmark.extra_info["gflops"] = case.flops / benchmark.stats.stats.median / 1e9


@pytest.mark.parametrize("name,backend", _params())
def test_model(benchmark, prepare, compile_wasm, single_thread, name, backend):
    p = prepare(name)
    if backend == "eager":
        fn = p.model
    else:
        fn, compile_s = compile_wasm(p)
        benchmark.extra_info["compile_s"] = compile_s
    _run(benchmark, fn, p.inputs, p.case, backend)
