"""Never a wrong answer: what cannot be compiled runs in eager PyTorch, with one warning
that says what and why; strict mode turns that into an error."""

import warnings

import pytest
import torch

import torch_wasm_backend
from tests.e2e.helpers import UNLOWERED_OP, unlowered
from torch_wasm_backend.backend import WasmFallbackWarning
from torch_wasm_backend.partition import WasmRegion


def _run(fn, *args, **options):
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = torch.compile(fn, backend="wasm", options=options)(*args)
    return got, [str(w.message) for w in caught if issubclass(w.category, WasmFallbackWarning)]


def with_unlowered(x, y):
    a = torch.relu(x * 2)
    return torch.softmax(unlowered(a) + y, -1), a.sum()


def test_unsupported_op_falls_back_alone():
    x, y = torch.randn(3, 7), torch.randn(7)
    got, warned = _run(with_unlowered, x, y)
    torch.testing.assert_close(got, with_unlowered(x, y))
    assert len(warned) == 1
    assert "region(s) run as WebAssembly" in warned[0] and UNLOWERED_OP in warned[0]


def test_regions_really_run_as_wasm(monkeypatch):
    made = []
    real = WasmRegion.__init__

    def spy(self, *a):
        real(self, *a)
        made.append(self)

    monkeypatch.setattr(WasmRegion, "__init__", spy)
    x, y = torch.randn(3, 7), torch.randn(7)
    _run(with_unlowered, x, y)
    assert made


def test_strict_mode_raises_with_the_reason():
    with pytest.raises(Exception, match=UNLOWERED_OP.split(".")[1]):
        _run(with_unlowered, torch.randn(3, 7), torch.randn(7), strict=True)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.int8, torch.complex64])  # float64/16: test_float64/16.py
def test_other_dtypes_fall_back_correctly(dtype):
    x = (torch.randn(4, 5) * 10).to(dtype)

    def fn(x):
        return x * 2 + x

    got, warned = _run(fn, x)
    assert torch.equal(got, fn(x))
    assert warned and str(dtype).split(".")[1] in warned[0]


def test_explain_reports_breaks_and_coverage():
    def fn(x):
        y = unlowered(torch.relu(x))
        torch._dynamo.graph_break()
        return torch.softmax(y, -1)

    report = torch_wasm_backend.explain(fn, torch.randn(3, 4))
    assert report.graphs == 2 and len(report.graph_breaks) == 1
    assert set(report.unsupported) == {UNLOWERED_OP}
    assert report.op_counts["aten.relu.default"] == 1
    text = str(report)
    assert "3/4 ATen operator calls run as WebAssembly" in text and "eager: no lowering" in text  # relu, add, softmax


def test_explain_can_be_called_twice():
    """torch_wasm_backend.explain stays the function after its module has been imported."""
    torch_wasm_backend.explain(lambda x: x + 1, torch.randn(2))
    report = torch_wasm_backend.explain(lambda x: x * 2, torch.randn(2))
    assert report.graphs == 1
