"""Reductions: row sums over a long and a short last dim, a column sum, softmax and layer_norm, each
timed in eager PyTorch (1 thread, no_grad) and through ``torch.compile(backend="wasm")``
in the same benchmark group, like ``test_bench.py`` (compiled in strict mode and checked
against eager before timing; nothing asserts a timing).

    python -m pytest benchmarks/test_reduce_bench.py -q --benchmark-only --benchmark-json=/tmp/reduce.json
    python benchmarks/report.py /tmp/reduce.json
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from models import Case, build_model
from test_bench import _run
from torch import nn


class SumLast(nn.Module):
    def forward(self, x):
        return x.sum(-1)


class SumFirst(nn.Module):
    def forward(self, x):
        return x.sum(0)


class Softmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x, -1)


def _randn(*shape):
    def make():
        return (torch.randn(*shape, generator=torch.Generator().manual_seed(0)),)

    return make


def _layer_norm():
    torch.manual_seed(0)
    ln = nn.LayerNorm(2048)
    with torch.no_grad():  # not the identity affine map
        ln.weight.copy_(1 + 0.1 * torch.randn(2048))
        ln.bias.copy_(0.1 * torch.randn(2048))
    return ln


CASES = {
    c.name: c
    for c in (
        # a 4096-element f32 sum differs from eager's by ~1e-5 relative whatever the order:
        # the speed check only needs the right answer, accuracy is tested in tests/
        Case("sum_64x4096", SumLast, _randn(64, 4096), shape="64x4096 sum(-1)", rounds=400,
             tolerance={"rtol": 1e-4, "atol": 1e-4}),
        Case("sum_4096x64", SumLast, _randn(4096, 64), shape="4096x64 sum(-1)", rounds=400,
             tolerance={"rtol": 1e-4, "atol": 1e-4}),
        Case("sum0_4096x64", SumFirst, _randn(4096, 64), shape="4096x64 sum(0)", rounds=400,
             tolerance={"rtol": 1e-4, "atol": 1e-4}),
        Case("softmax_128x1024", Softmax, _randn(128, 1024), shape="128x1024 softmax(-1)", rounds=300),
        Case("layer_norm_128x2048", _layer_norm, _randn(128, 2048), shape="128x2048 layer_norm", rounds=200,
             tolerance={"rtol": 1e-4, "atol": 1e-4}),
    )
}


def _params():
    return [pytest.param(name, backend, marks=pytest.mark.benchmark(group=name), id=f"{name}-{backend}")
            for name in CASES for backend in ("eager", "wasm")]


@pytest.mark.parametrize("name,backend", _params())
def test_reduce(benchmark, compile_wasm, single_thread, name, backend):
    case = CASES[name]
    model, inputs = build_model(case), case.make_inputs()
    with torch.no_grad():
        p = SimpleNamespace(case=case, model=model, inputs=inputs, expected=model(*inputs))
    fn = model
    if backend == "wasm":
        fn, benchmark.extra_info["compile_s"] = compile_wasm(p)
    _run(benchmark, fn, inputs, case, backend)
