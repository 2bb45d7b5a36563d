"""Scans as WebAssembly against eager PyTorch: cumsum, cumprod, cummax, cummin, logcumsumexp.

Every case runs in strict mode (a fallback raises) with SIMD and without, so the lane,
interleaved-rows and scalar code paths of ``emit/scan.py`` all run. Float sums and products
must equal eager bit for bit (both accumulate in float64, left to right), so they are
compared with zero tolerance (logcumsumexp, whose exp and log are float32 routines, within
2 ulps, ``ULP2``); output strides must equal eager's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import torch_wasm_backend
from tests.e2e.helpers import assert_same, check_interp, make_input, run_wasm
from torch_wasm_backend.backend import WasmFallbackWarning

NAN, INF = float("nan"), float("inf")
SIZES = (1, 3, 4, 5, 17, 64, 127)


def _check(fn, *args, exact=True, tol=None, **options):
    """wasm == eager (exactly unless ``exact=False`` or ``tol`` is given), same output strides,
    and the IR interpreter agrees with the ATen graph; with and without SIMD."""
    with torch.no_grad():
        want = fn(*[a.clone() for a in args])
    for simd in (True, False):
        got, rec = run_wasm(fn, *args, simd=simd, **options)
        tol = tol or ({"rtol": 0, "atol": 0} if exact else {})
        assert_same(got, want, msg=f"[wasm simd={simd}]", **tol)
        for g, w in zip(got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want]):
            assert g.stride() == w.stride(), f"strides {g.stride()} != eager's {w.stride()}"
    check_interp(rec, **tol)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dim", [0, -1])
def test_cumsum_2d_each_dim(n, dim):
    _check(lambda x: torch.cumsum(x, dim), make_input((n, 2 * n + 1), specials=True))


@pytest.mark.parametrize("dim", [0, 1, 2, -3])
def test_cumsum_cumprod_3d(dim):
    x = make_input((5, 17, 6), low=0.5, high=1.5)
    _check(lambda x: (torch.cumsum(x, dim), torch.cumprod(x, dim)), x)


@pytest.mark.parametrize("n", [4, 17, 127])
def test_cumprod_with_zeros_nan_inf(n):
    x = make_input((n, 9), specials=True)
    x[1, :3] = torch.tensor([INF, NAN, -INF])
    _check(lambda x: (torch.cumprod(x, 0), torch.cumprod(x, 1)), x)


def test_long_float_sum_is_bitwise_eager():
    """10^5 float32 values: a float32 running sum would differ from eager on most prefixes."""
    x = torch.rand(4, 25_000, generator=torch.Generator().manual_seed(1))
    _check(lambda x: (torch.cumsum(x, 1), torch.cumsum(x.t(), 0)), x)


@pytest.mark.parametrize("view", ["transposed", "strided", "expanded", "permuted"])
def test_non_contiguous_inputs(view):
    base = make_input((6, 10, 5))
    fn = {
        "transposed": lambda x: torch.cumsum(x.transpose(0, 2), 1),
        "strided": lambda x: torch.cumsum(x[:, ::3, 1:], 0),
        "expanded": lambda x: torch.cumsum(x[:1].expand(6, 10, 5), 0) + torch.cumprod(x[:, :1].expand(6, 10, 5), 1),
        "permuted": lambda x: torch.cummax(x.permute(2, 0, 1), 2),
    }[view]
    _check(fn, base)


def test_fused_input_and_consumers():
    """The scan's input is a fused pointwise expression and its result feeds more work."""
    _check(lambda x, y: torch.softmax(torch.cumsum(torch.relu(x) * y, -1) - 1, -1),
           make_input((5, 17)), make_input((17,)), exact=False)


@pytest.mark.parametrize("shape,dim", [((0,), 0), ((0, 5), 0), ((0, 5), 1), ((3, 0), 1), ((3, 0), 0), ((), 0),
                                       ((), -1), ((1,), 0), ((1, 1), 1)])
def test_empty_0d_and_size_1(shape, dim):
    x = make_input(shape)
    _check(lambda x: (torch.cumsum(x, dim), torch.cumprod(x, dim), *torch.cummax(x, dim)), x)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
@pytest.mark.parametrize("dim", [0, -1])
def test_integer_and_bool_inputs_promote_to_int64(dtype, dim):
    x = make_input((17, 6), dtype)
    _check(lambda x: (torch.cumsum(x, dim), torch.cumprod(x, dim) if dtype != torch.bool else x,
                      *torch.cummin(x, dim)), x)


def test_explicit_dtypes_and_wrapping():
    x = torch.full((9, 8), 2**29, dtype=torch.int32)
    _check(lambda x: (torch.cumsum(x, 0, dtype=torch.int32), torch.cumsum(x, 0, dtype=torch.float32),
                      torch.cumprod(x, 1, dtype=torch.int64), torch.cumprod(x % 7 - 3, 0, dtype=torch.int32)), x)


@pytest.mark.parametrize("op", [torch.cummax, torch.cummin])
@pytest.mark.parametrize("n", [5, 17, 64])
def test_cummax_cummin_ties_nan_signed_zero(op, n):
    """Ties take the later index; NaN sticks and each new NaN takes its own index."""
    x = make_input((n, 20), specials=True).round()
    x[2, 1], x[3, 1], x[1, 4], x[0, 5] = NAN, NAN, -0.0, 0.0
    x[n - 1, 7] = INF
    _check(lambda x: (*op(x, 0), *op(x, 1)), x)


# 2 ulps of the result, and of the float32 term log1p(exp(min - max)) (at most ln 2) where
# the sum cancels to near zero
ULP2 = {"rtol": 2.5e-7, "atol": 1.2e-7}


@pytest.mark.parametrize("n", [1, 5, 17, 127])
@pytest.mark.parametrize("dim", [0, -1])
def test_logcumsumexp(n, dim):
    x = make_input((n, 2 * n + 3), specials=True) * 4
    x[0, :4] = torch.tensor([-INF, INF, NAN, -INF])
    _check(lambda x: torch.logcumsumexp(x, dim), x, tol=ULP2)


def test_logcumsumexp_long_lines_stay_within_an_ulp_or_two():
    """The running value is float64 as in eager; only the correction term is float32, so
    10^5 steps do not drift (a float32 running value drifts by ~1e-5 relative here)."""
    x = torch.randn(2, 100_000, generator=torch.Generator().manual_seed(2)) * 3
    _check(lambda x: torch.logcumsumexp(x, 1), x, tol=ULP2)


def test_logcumsumexp_empty_0d_and_transposed():
    _check(lambda x, y, z: (torch.logcumsumexp(x, 1), torch.logcumsumexp(y, 0), torch.logcumsumexp(z.t(), 1)),
           make_input((3, 0)), make_input(()), make_input((9, 6)), tol=ULP2)


def test_dynamic_shapes_one_module():
    fn = lambda x: torch.cumsum(x, 0) * 2 + torch.cummax(x, 1).values
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="wasm", dynamic=True, options={"strict": True})
    with torch.no_grad():
        for n in (3, 17, 8):
            x = make_input((n, 21))
            assert_same(compiled(x), fn(x), rtol=0, atol=0)


def test_backward_through_scans():
    x = make_input((5, 7), specials=True)
    x[1, 2] = 0.0  # cumprod's backward has a special case for zeros
    g = make_input((5, 7))

    def fn(x):
        return torch.cumsum(x, 1) * 0.5 + torch.cumprod(x, 0) + torch.cummax(x, 1).values + torch.logcumsumexp(x, 0)

    grads = []
    for compiled in (False, True):
        xi = x.clone().requires_grad_(True)
        torch._dynamo.reset()
        f = torch.compile(fn, backend="wasm", options={"strict": True}) if compiled else fn
        f(xi).backward(g)
        grads.append(xi.grad)
    torch.testing.assert_close(grads[1], grads[0])


def _position_ids(mask):
    """GPT-2-style (Hugging Face) position ids from an attention mask."""
    pos = torch.cumsum(mask, dim=-1) - 1
    return pos.masked_fill(mask == 0, 1)


def test_gpt2_position_ids_compile_strict_and_save(tmp_path):
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1, 1]])
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error", WasmFallbackWarning)
        fast = torch.compile(_position_ids, backend="wasm", options={"strict": True})
        got = fast(mask)
    assert_same(got, _position_ids(mask))
    assert got.tolist()[0] == [1, 1, 0, 1, 2, 3, 4]
    torch_wasm_backend.save(fast, tmp_path / "pos.wasm", example_inputs=(mask,))
    out = torch_wasm_backend.load(tmp_path / "pos.wasm")(mask.numpy())
    assert (out == _position_ids(mask).numpy()).all()


def test_position_ids_feed_an_embedding():
    """The pattern inside a model: position ids index a position embedding."""
    torch.manual_seed(0)
    wpe = torch.nn.Embedding(16, 8)
    mask = torch.ones(2, 11, dtype=torch.int64)
    mask[1, :4] = 0
    _check(lambda m: F.embedding(_position_ids(m), wpe.weight), mask)


class _Scans(torch.nn.Module):
    def forward(self, x, mask):
        return (torch.cumsum(x, 0), torch.cumprod(x, -1), torch.cummax(x, 1).indices, torch.logcumsumexp(x, 0),
                _position_ids(mask))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_scan_artifact_in_node_matches_python_bitwise(tmp_path):
    """f64x2 lanes, interleaved lines and the logsumexp term give the same bytes in Node."""
    root = Path(__file__).parents[2]
    x, mask = make_input((19, 23), specials=True), torch.randint(0, 2, (3, 9))
    torch._dynamo.reset()
    path = tmp_path / "scans.wasm"
    torch_wasm_backend.save(torch.compile(_Scans().eval(), backend="wasm", options={"strict": True}), path,
                            example_inputs=(x, mask))
    files = []
    for i, a in enumerate((x, mask)):
        files.append(tmp_path / f"in{i}.bin")
        files[-1].write_bytes(a.numpy().tobytes())
    want = torch_wasm_backend.load(path)(x.numpy(), mask.numpy())
    proc = subprocess.run(["node", root / "tests/e2e/js/run_node.mjs", path, tmp_path, *files], check=False,
                          capture_output=True, text=True, timeout=60, cwd=root)
    assert proc.returncode == 0, proc.stderr
    outs = json.loads(proc.stdout)["outputs"]
    assert len(outs) == len(want) == 5
    for got, w in zip(outs, want):
        assert Path(got["file"]).read_bytes() == w.tobytes(), got["name"]
    with torch.no_grad():
        assert_same(tuple(torch.from_numpy(w) for w in want), _Scans()(x, mask), **ULP2)
