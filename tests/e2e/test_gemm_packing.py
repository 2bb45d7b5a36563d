"""GEMMs whose B operand is packed at run time (forward) for the packed microkernel:
runtime B operands with enough rows of A, transposed views (packed straight from the
view), batched B (one packed block per batch entry), convolution columns, and the
relaxed-SIMD (FMA) kernels. WebAssembly vs eager, with odd sizes (not multiples of 4)."""

import pytest
import torch
import torch.nn.functional as F

from torch_wasm_backend import ir
from torch_wasm_backend.schedule import PACK_MIN_K, PACK_MIN_ROWS

from .helpers import check, make_input, run_wasm

# f32 sums of up to ~600 products in a different order than eager's
TOL = {"rtol": 2e-4, "atol": 2e-4}


def _kernels(rec, group="forward"):
    return [p.kernel for g in rec.graphs for p in getattr(g.schedule, group)]


def _packs(rec, group="forward"):
    return [k for k in _kernels(rec, group) if isinstance(k, ir.PackB)]


@pytest.mark.parametrize("relaxed", (False, True))
@pytest.mark.parametrize("m,k,n", [(PACK_MIN_ROWS, PACK_MIN_K, 5), (37, 45, 29), (64, 129, 3), (33, 64, 1)])
def test_mm_runtime_b_packed(m, k, n, relaxed):
    a, b = make_input((m, k)), make_input((k, n))
    out, rec = run_wasm(lambda a, b: (a @ b, torch.relu(a @ b)), a, b, relaxed_simd=relaxed)
    torch.testing.assert_close(out[0], a @ b, **TOL)
    torch.testing.assert_close(out[1], torch.relu(a @ b), **TOL)
    assert len(_packs(rec)) == 2
    gemms = [k_ for k_ in _kernels(rec) if isinstance(k_, ir.Gemm)]
    assert all(g.packed and g.fma == relaxed for g in gemms)


def test_mm_below_threshold_stays_strided():
    a, b = make_input((PACK_MIN_ROWS - 1, 40)), make_input((40, 7))
    c, d = make_input((40, PACK_MIN_K - 1)), make_input((PACK_MIN_K - 1, 9))
    out, rec = run_wasm(lambda a, b, c, d: (a @ b, c @ d), a, b, c, d)
    torch.testing.assert_close(out[0], a @ b, **TOL)
    torch.testing.assert_close(out[1], c @ d, **TOL)
    assert not _packs(rec)


@pytest.mark.parametrize("options", [{}, {"gemm_packing": False}, {"relaxed_simd": True}])
def test_transposed_b(options):
    # B^T views: packed with $f32_gemm_pack_bt, whatever m is (it replaces a copy);
    # copied when packing is off
    a, w, q, kk = make_input((3, 37)), make_input((29, 37)), make_input((2, 4, 33, 17)), make_input((2, 4, 31, 17))
    fn = (lambda a, w, q, kk: (a @ w.t(), F.linear(a, w), q @ kk.transpose(-1, -2), w[:5] @ w[3:].t()))
    out, rec = run_wasm(fn, a, w, q, kk, **options)
    for got, want in zip(out, fn(a, w, q, kk)):
        torch.testing.assert_close(got, want, **TOL)
    packs = _packs(rec)
    if options.get("gemm_packing", True):
        assert sum(p.transposed for p in packs) >= 3
        assert any(int(p.batch) == 8 for p in packs)  # one packed K^T per (batch, head)
    else:
        assert not packs


@pytest.mark.parametrize("relaxed", (False, True))
def test_batched_and_broadcast_b(relaxed):
    a, b, w = make_input((3, 33, 41)), make_input((3, 41, 6)), make_input((41, 10))
    fn = (lambda a, b, w: (torch.bmm(a, b), a @ w, torch.baddbmm(a[:, :, :6], a, b, beta=0.5)))
    out, rec = run_wasm(fn, a, b, w, relaxed_simd=relaxed)
    for got, want in zip(out, fn(a, b, w)):
        torch.testing.assert_close(got, want, **TOL)
    batches = sorted(int(p.batch) for p in _packs(rec))
    assert batches == [1, 3, 3]  # a @ w: one packed w shared by the 3 batch entries


CONV = [
    # (N, Cin, H, W), (Cout, Cin/groups, KH, KW), stride, padding, dilation, groups
    ((1, 8, 13, 11), (27, 8, 3, 3), 1, 1, 1, 1),
    ((2, 5, 15, 9), (33, 5, 3, 3), 2, (1, 2), 1, 1),  # batch, stride, K = 45
    ((1, 12, 16, 16), (30, 12, 3, 3), 1, 2, 2, 1),  # dilation
    ((2, 8, 9, 10), (50, 4, 3, 3), 1, 1, 1, 2),  # groups: 25 outputs per group, K = 36
    ((1, 40, 7, 7), (25, 40, 1, 1), 1, 0, 1, 1),  # 1x1: the input is B
]


@pytest.mark.parametrize("relaxed", (False, True))
@pytest.mark.parametrize("case", CONV, ids=[f"conv{i}" for i in range(len(CONV))])
def test_conv2d_packed_columns(case, relaxed):
    xs, ws, stride, padding, dilation, groups = case
    x, w, b = make_input(xs), make_input(ws), make_input(ws[:1])
    fn = (lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups).relu())
    out, rec = run_wasm(fn, x, w, b, relaxed_simd=relaxed)
    torch.testing.assert_close(out, fn(x, w, b), **TOL)
    assert _packs(rec) or any(isinstance(k, ir.Gemm) and k.packed for k in _kernels(rec))


ALIASED = [
    # output pixels a multiple of target.CACHE.alias_period: im2col rows get padded strides
    ((2, 3, 32, 32), (16, 3, 3, 3), 2, 1, 1, 1),  # 256 pixels, K = 27: the strided GEMM
    ((1, 8, 16, 16), (32, 8, 3, 3), 1, 1, 1, 1),  # K = 72: packed columns
    ((2, 8, 18, 18), (12, 2, 3, 3), 1, 0, 1, 4),  # grouped, 16x16 outputs per group
]


@pytest.mark.parametrize("case", ALIASED, ids=[f"aliased{i}" for i in range(len(ALIASED))])
def test_conv2d_padded_column_rows(case):
    from torch_wasm_backend.target import CACHE

    xs, ws, stride, padding, dilation, groups = case
    x, w, b = make_input(xs), make_input(ws), make_input(ws[:1])
    fn = (lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups))
    out, rec = run_wasm(fn, x, w, b)
    torch.testing.assert_close(out, fn(x, w, b), **TOL)
    assert out.stride() == fn(x, w, b).stride()
    gemms = [k for k in _kernels(rec) if isinstance(k, ir.Gemm)]
    npix = out.shape[2] * out.shape[3]
    assert npix % CACHE.alias_period == 0
    if gemms[0].packed:  # the packing reads the padded rows
        packs = _packs(rec)
        assert packs and int(packs[0].src.row_stride) == npix + CACHE.row_pad
    else:
        assert int(gemms[0].b.row_stride) == npix + CACHE.row_pad


@pytest.mark.parametrize("pads", [(1, 1), (2, 1), (0, 3)])
def test_padded_window_borders(pads):
    """The padded buffer's border is written by band stores only: conv (zero border) and
    max pooling (-inf border) over it, after another kernel has used the same memory."""
    x = make_input((2, 3, 9, 7))
    w = make_input((4, 3, 3, 3))

    def fn(x, w):
        y = F.conv2d(x * 3 + 1, w, padding=pads)  # the input of the padding is a fused expression
        return F.max_pool2d(-y.abs(), 3, 1, padding=1), F.avg_pool2d(y, 3, 1, padding=1)

    out, _ = run_wasm(fn, x, w)
    for got, want in zip(out, fn(x, w)):
        torch.testing.assert_close(got, want, **TOL)


def test_conv_module_packs_columns_in_forward():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.Conv2d(32, 48, 3, stride=2, padding=1)).eval()
    x = make_input((1, 3, 17, 19))
    check(m, x, **TOL)
    _, rec = run_wasm(m, x)
    gemms = [k for k in _kernels(rec) if isinstance(k, ir.Gemm)]
    assert [bool(g.packed) for g in gemms] == [False, True]  # K = 27 < PACK_MIN_K; K = 288


@pytest.mark.parametrize("save_relaxed", (False, True))
def test_save_is_plain_simd128_unless_asked(tmp_path, save_relaxed):
    import torch_wasm_backend

    m = torch.nn.Sequential(torch.nn.Linear(37, 29), torch.nn.ReLU()).eval()
    x = make_input((30, 37))
    compiled = torch.compile(m, backend="wasm", options={"relaxed_simd": True})
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), m(x), **TOL)
        path = tmp_path / "m.wasm"
        manifest = torch_wasm_backend.save(compiled, path, example_inputs=(x,), relaxed_simd=save_relaxed)
        assert manifest["requires"]["relaxed_simd"] is save_relaxed
        uses_fma = b"\xfd\x85\x02" in path.read_bytes()  # f32x4.relaxed_madd (0xfd 0x105)
        assert uses_fma is save_relaxed
        torch.testing.assert_close(torch.as_tensor(torch_wasm_backend.load(path)(x)), m(x), **TOL)
