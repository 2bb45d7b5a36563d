"""Scans (``ir.Scan``: cumsum, cumprod, cummax, cummin) through lowering, the interpreter,
verify() and the scheduler; no WebAssembly toolchain."""

import numpy as np
import pytest
import torch

from torch_wasm_backend import interp, ir
from torch_wasm_backend.config import Options
from torch_wasm_backend.indexing import index_vars, reduction_vars
from torch_wasm_backend.schedule import schedule

from .helpers import flat_outputs, lower_fn

NAN, INF = float("nan"), float("inf")

CASES = {
    "cumsum_last": (lambda x: torch.cumsum(x, -1), torch.randn(3, 17)),
    "cumsum_first": (lambda x: torch.cumsum(x, 0), torch.randn(5, 4, 3)),
    "cumsum_middle_transposed": (lambda x: torch.cumsum(x.transpose(0, 2), 1), torch.randn(5, 4, 3)),
    "cumsum_expanded": (lambda x: torch.cumsum(x.expand(6, 5), 0), torch.randn(5)),
    "cumsum_0d": (lambda x: torch.cumsum(x, 0), torch.tensor(2.5)),
    "cumsum_empty": (lambda x: torch.cumsum(x, 1), torch.randn(3, 0)),
    "cumsum_int32_to_int64": (lambda x: torch.cumsum(x, 0), torch.randint(-9, 9, (7, 3), dtype=torch.int32)),
    "cumsum_bool": (lambda x: torch.cumsum(x, 1), torch.rand(3, 9) > 0.5),
    "cumsum_dtype_int32_wraps": (lambda x: torch.cumsum(x, 0, dtype=torch.int32),
                                 torch.full((5,), 2**30, dtype=torch.int32)),
    "cumsum_int_to_float": (lambda x: torch.cumsum(x, 0, dtype=torch.float32), torch.arange(9)),
    "cumsum_nan_inf": (lambda x: torch.cumsum(x, 0), torch.tensor([1.0, INF, -INF, 2.0, NAN, 3.0])),
    "cumprod": (lambda x: torch.cumprod(x, 1), torch.randn(4, 9)),
    "cumprod_int64": (lambda x: torch.cumprod(x, 0), torch.randint(-4, 5, (30,))),
    "cummax": (lambda x: torch.cummax(x, 0), torch.tensor([1.0, 3.0, 3.0, 2.0, NAN, 5.0, NAN, 1.0])),
    "cummin": (lambda x: torch.cummin(x, -1), torch.tensor([[2.0, 1.0, 1.0, -0.0, 0.0, NAN], [0.0, -0.0, 5, 5, 4, 4]])),
    "cummax_int_ties": (lambda x: torch.cummax(x, 1), torch.tensor([[2, 1, 1, 3, 3, 0]])),
    "cummin_bool": (lambda x: torch.cummin(x, 0), torch.tensor([True, True, False, True])),
}


LOGCUMSUMEXP = {
    "last": (torch.randn(3, 17) * 4, -1),
    "first_transposed": (torch.randn(9, 4).t(), 1),
    "specials": (torch.tensor([-INF, -INF, 1.0, INF, 2.0, INF, NAN, 1.0]), 0),
    "same_infinities": (torch.tensor([[INF, INF, -INF], [-INF, -INF, 3.0]]), 1),
    "tiny_terms": (torch.tensor([1e-3, -30.0, -40.0, 2e-3, -90.0]), 0),
}


@pytest.mark.parametrize("name", sorted(LOGCUMSUMEXP))
def test_interpreter_logcumsumexp_close_to_eager(name):
    """Its f32 term (exp, log) is within an ulp or two of eager's float64 arithmetic."""
    x, dim = LOGCUMSUMEXP[name]
    (got,) = interp.run(lower_fn(lambda x: torch.logcumsumexp(x, dim), x), [x.contiguous().numpy()])
    torch.testing.assert_close(torch.from_numpy(got), torch.logcumsumexp(x, dim), rtol=2.5e-7, atol=1.2e-7,
                               equal_nan=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_interpreter_matches_eager_exactly(name):
    fn, x = CASES[name]
    prog = lower_fn(fn, x)
    assert any(isinstance(k, ir.Scan) for k in prog.kernels) or x.ndim == 0 or x.numel() == 0
    got = interp.run(prog, [x.numpy() if x.numel() else np.zeros(1, x.numpy().dtype)])
    want = flat_outputs(fn(x))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g = torch.from_numpy(np.asarray(g))
        assert g.dtype == w.dtype and g.shape == w.shape
        torch.testing.assert_close(g, w, rtol=0, atol=0, equal_nan=True)


def test_float_sums_accumulate_in_float64_like_eager():
    """PyTorch's CPU cumsum accumulates float32 in double: a float32 running sum differs
    from eager on most of 10^5 prefixes, the float64 one (ir.Scan's rule) on none."""
    x = torch.rand(100_000, generator=torch.Generator().manual_seed(0))
    want = torch.cumsum(x, 0).numpy()
    f32_scan = np.cumsum(x.numpy(), dtype=np.float32)
    assert (f32_scan != want).mean() > 0.5
    (got,) = interp.run(lower_fn(lambda x: torch.cumsum(x, 0), x), [x.numpy()])
    np.testing.assert_array_equal(got, want)


def _scan(out="out", dtype="f32", op="sum", length=4):
    (r,) = reduction_vars(1)
    return ir.Scan("s", out, r, (), length, op, ir.Load("x", r, dtype))


def _prog(kernel, out_dtype="f32", in_dtype="f32"):
    bufs = (ir.Buffer("x", in_dtype, 4, "input"), ir.Buffer("out", out_dtype, 4, "temp"))
    return ir.Program(bufs, (kernel,), (ir.InputSpec("x", (4,), in_dtype),),
                      (ir.OutputSpec("out", (4,), (1,), 0, out_dtype),))


def test_verify_accepts_and_rejects_scans():
    _prog(_scan()).verify()
    _prog(_scan(op="argmax"), out_dtype="i64").verify()
    with pytest.raises(ir.IRError, match="unknown scan"):
        _prog(_scan(op="mean")).verify()
    with pytest.raises(ir.IRError, match="stores i64"):
        _prog(_scan(op="argmin")).verify()
    with pytest.raises(ir.IRError, match="f32 only"):
        _prog(_scan(dtype="i32", op="logsumexp"), out_dtype="i32", in_dtype="i32").verify()
    with pytest.raises(ir.IRError, match="bool"):
        _prog(_scan(dtype="bool"), out_dtype="bool", in_dtype="bool").verify()
    i1 = index_vars(2)[1]
    bad = ir.Scan("s", "out", i1, (), 4, "sum", ir.Load("x", 0, "f32"))
    with pytest.raises(ir.IRError, match="unbound"):
        _prog(bad).verify()


@pytest.mark.parametrize("fn,x,simd,mode", [
    (lambda x: torch.cumsum(x, 0), torch.randn(9, 20), True, "vector"),  # lanes across columns
    (lambda x: torch.cumsum(x, 0), torch.randn(9, 20), False, "rows"),
    (lambda x: torch.cumsum(x, -1), torch.randn(20, 9), True, "rows"),  # lines a row apart
    (lambda x: torch.cumsum(x, 0), torch.randint(0, 3, (9, 20)), True, "rows"),  # int64: no lanes
    (lambda x: torch.cumsum(x, 0), torch.randn(9, 3), True, "scalar"),  # too narrow
    (lambda x: torch.cumsum(x, 0), torch.randn(30), True, "scalar"),
])
def test_schedule_modes(fn, x, simd, mode):
    sched = schedule(lower_fn(fn, x), Options(simd=simd))
    (plan,) = [p for p in sched.forward if isinstance(p.kernel, ir.Scan)]
    assert plan.mode == mode, str(plan)


def test_contiguous_outer_dims_collapse():
    """cumsum along dim 1 of [2, 5, 3, 4]: the two dims after it merge into one of 12."""
    sched = schedule(lower_fn(lambda x: torch.cumsum(x, 1), torch.randn(2, 5, 3, 4)), Options())
    (plan,) = sched.forward
    assert [int(r) for r in plan.kernel.ranges] == [2, 12] and plan.mode == "vector"
