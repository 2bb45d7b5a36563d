"""End-to-end tests of the operators of issue 14 (coverage): padding in every mode,
upsampling, vector norms, repeat / diagonal / unfold and their relatives, adaptive max
pooling. Each graph is compiled with ``backend="wasm"`` in strict mode and compared with
eager PyTorch (values and layouts, see ``check``); where the values must be bit-identical
the comparison is exact (``EXACT``). Gradient tests run the AOTAutograd path (the
decomposition table can differ from the inference path's) and prove that a backward graph
ran as WebAssembly.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.e2e.helpers import check, make_input, recording

EXACT = {"rtol": 0, "atol": 0}
NAN, INF = float("nan"), float("inf")


def with_nonfinite(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    flat = x.view(-1)
    for i, v in enumerate((NAN, INF, -INF)):
        if 5 * i + 2 < flat.numel():
            flat[5 * i + 2] = v
    return x


def check_grad(fn, *inputs, atol=1e-5, rtol=1e-4):
    """The input gradients of ``sum(fn(*inputs) * weight)`` through the wasm backend (with
    autograd on: AOTAutograd's forward and backward graphs) equal eager's."""
    def run(f):
        xs = [x.clone().requires_grad_(True) for x in inputs]
        out = f(*xs)
        weight = make_input(tuple(out.shape))
        (out * weight).sum().backward()
        return out.detach(), [x.grad for x in xs]

    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="wasm", options={"strict": True}, fullgraph=True)
    with recording() as rec:
        out, grads = run(compiled)
    rec.assert_wasm_ran()
    backward = [gm for gm, _, _ in rec.compiled if any("tangents" in n.name for n in gm.graph.nodes)]
    assert backward, "no backward graph was compiled to WebAssembly"
    ref_out, ref_grads = run(fn)
    torch.testing.assert_close(out, ref_out, atol=atol, rtol=rtol, equal_nan=True)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=atol, rtol=rtol, equal_nan=True)


# --------------------------------------------------------------------------- padding
CONSTANT_PADS = [(1, 2), (0, 0), (3, 0, 0, 1), (-1, 2), (2, -3, -1, 1), (1, 1, 1, 1, 1, 1), (-2, -2)]


def test_constant_pad_nd_positive_negative_and_values():
    xs = [make_input((2, 3, 5, 7), specials=True), with_nonfinite(make_input((1, 17))), make_input((3, 4, 5))]

    def fn(a, b, c):
        outs = [F.pad(a, p, value=v) for p in CONSTANT_PADS for v in (0.0, -1.5)]
        outs += [F.pad(b, (2, 3), value=INF), F.pad(b, (0, 0, 1, 1), value=NAN), F.pad(c.transpose(0, 2), (1, 2, 3, 4))]
        outs += [F.pad(a[:, :, ::2, 1:], (1, 1, -1, 2)) * 2]  # a non-contiguous view, then a consumer
        return outs

    check(fn, *xs, interp=True, **EXACT)


def test_constant_pad_nd_integer_bool_and_empty():
    i = make_input((3, 5), torch.int64)
    b = make_input((4, 3), torch.bool)
    e = make_input((0, 3))
    check(lambda i, b, e: [F.pad(i, (1, 2), value=7), F.pad(b, (1, 1, 0, 2), value=True), F.pad(e, (1, 1)),
                           F.pad(e, (0, 0, 2, 1), value=3.0), F.pad(i, (-5, 0))], i, b, e, **EXACT)


def test_constant_pad_nd_float_value_of_an_integer_tensor_truncates():
    i = make_input((3, 4), torch.int32)
    check(lambda i: [F.pad(i, (1, 1), value=v) for v in (1.5, -1.5, -2.7, 0.5)] + [F.pad(i > 0, (1, 0), value=0.5)], i,
          **EXACT)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_non_constant_pad_1d_2d_3d(mode):
    x3 = make_input((2, 3, 17), specials=True)
    x4 = with_nonfinite(make_input((2, 3, 5, 7)))
    x5 = make_input((1, 2, 3, 4, 5))
    u = make_input((3, 5, 6))  # unbatched 2-d

    def fn(x3, x4, x5, u):
        return [F.pad(x3, (1, 2), mode=mode), F.pad(x3, (0, 3), mode=mode), F.pad(x4, (1, 2, 2, 1), mode=mode),
                F.pad(x4, (3, 0, 0, 4), mode=mode), F.pad(x5, (1, 2, 1, 1, 2, 0), mode=mode),
                F.pad(u, (2, 2, 1, 1), mode=mode), F.pad(x4.transpose(2, 3), (1, 1, 2, 2), mode=mode)]

    check(fn, x3, x4, x5, u, interp=True, **EXACT)


def test_circular_pad_negative_crops():
    x = make_input((2, 3, 5, 7))
    check(lambda x: [F.pad(x, (-1, 2, 1, -2), mode="circular"), F.pad(x, (-2, -1, 0, 0), mode="circular")], x,
          **EXACT)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradients(mode):
    check_grad(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode), make_input((2, 3, 5, 7)))


# --------------------------------------------------------------------------- upsampling
def _interp_tol(*xs):
    """Linear modes differ from PyTorch's fused multiply-adds by rounding (see
    lower/upsample.py): allow 2 eps of the largest finite input magnitude."""
    big = max(x[torch.isfinite(x)].abs().max().item() for x in xs if x.numel())
    return {"rtol": 0, "atol": 2 * torch.finfo(torch.float32).eps * big}


NEAREST_CASES = [  # (input shape, keyword arguments)
    ((2, 3, 5, 7), {"scale_factor": 2}), ((2, 3, 5, 7), {"size": (7, 3)}), ((1, 2, 17, 4), {"scale_factor": 0.5}),
    ((2, 3, 5, 7), {"scale_factor": (1.7, 0.4)}), ((1, 1, 3, 3), {"size": (17, 1)}), ((2, 3, 17), {"size": 40}),
    ((2, 3, 17), {"scale_factor": 0.3}), ((1, 2, 3, 4, 5), {"size": (4, 7, 9)}), ((1, 2, 3, 4, 5), {"scale_factor": 1.5}),
]


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_upsample_nearest_is_exact(mode):
    xs = [with_nonfinite(make_input(shape)) for shape, _ in NEAREST_CASES]

    def fn(*xs):
        return [F.interpolate(x, mode=mode, **kw) for x, (_, kw) in zip(xs, NEAREST_CASES)]

    check(fn, *xs, **EXACT)


LINEAR_CASES = [  # (mode, input shape, keyword arguments)
    ("bilinear", (2, 3, 5, 7), {"size": (7, 9)}), ("bilinear", (2, 3, 5, 7), {"scale_factor": 1.5}),
    ("bilinear", (1, 4, 16, 16), {"size": (100, 90)}), ("bilinear", (2, 3, 5, 7), {"size": (3, 4)}),
    ("bilinear", (2, 3, 1, 1), {"size": (5, 5)}), ("bilinear", (1, 2, 9, 40), {"size": (130, 7)}),
    ("bilinear", (2, 3, 5, 7), {"scale_factor": (0.4, 2.3)}), ("bilinear", (1, 1, 4, 17), {"size": (4, 17)}),
    ("linear", (2, 3, 17), {"size": 40}), ("linear", (2, 3, 17), {"scale_factor": 0.7}), ("linear", (1, 5, 1), {"size": 3}),
    ("trilinear", (1, 2, 3, 4, 5), {"size": (4, 7, 9)}), ("trilinear", (2, 1, 3, 3, 3), {"scale_factor": 0.6}),
]


@pytest.mark.parametrize("align_corners", [False, True])
def test_upsample_linear_modes(align_corners):
    xs = [make_input(shape, specials=True) for _, shape, _ in LINEAR_CASES]

    def fn(*xs):
        return [F.interpolate(x, mode=mode, align_corners=align_corners, **kw)
                for x, (mode, _, kw) in zip(xs, LINEAR_CASES)]

    check(fn, *xs, interp=True, **_interp_tol(*xs))


BICUBIC_CASES = [((2, 3, 5, 7), {"size": (7, 9)}), ((2, 3, 5, 7), {"scale_factor": 1.5}),
                 ((1, 2, 16, 16), {"size": (100, 90)}), ((2, 3, 5, 7), {"size": (3, 4)}), ((2, 1, 1, 1), {"size": (5, 5)}),
                 ((1, 2, 2, 3), {"size": (2, 3)}), ((3, 4, 17), {"size": (5, 2)})]


@pytest.mark.parametrize("align_corners", [False, True])
def test_upsample_bicubic(align_corners):
    xs = [make_input(shape, specials=True) for shape, _ in BICUBIC_CASES]
    xs[-1] = xs[-1].transpose(0, 1).unsqueeze(0)  # a non-contiguous (1, 4, 3, 17) input

    def fn(*xs):
        return [F.interpolate(x, mode="bicubic", align_corners=align_corners, **kw) for x, (_, kw) in zip(xs, BICUBIC_CASES)]

    tol = _interp_tol(*xs)
    check(fn, *xs, interp=True, rtol=0, atol=2 * tol["atol"])


def test_upsample_bilinear_layouts_nonfinite_and_empty():
    a = make_input((2, 3, 7, 5)).transpose(2, 3)  # a non-contiguous input
    b = with_nonfinite(make_input((1, 2, 5, 6)))
    c = make_input((0, 3, 4, 4))

    def fn(a, b, c):
        return [F.interpolate(a, size=(9, 11), mode="bilinear"), F.interpolate(b, scale_factor=2, mode="bilinear"),
                F.interpolate(c, size=(5, 5), mode="bilinear"), F.interpolate(a[:, :, ::2], size=(4, 4), mode="bilinear")]

    check(fn, a, b, c, **_interp_tol(a, b))


def test_upsample_linear_indices_and_weights_are_pytorch_s():
    """Small integers and scales of 2 and 4 make every weight a multiple of 1/8 and every
    product and sum exact, PyTorch's fused or not: the results must be bit-identical, so a
    wrong index or weight shows."""
    x = make_input((2, 3, 5, 7), torch.int32, low=-50, high=50).float()
    y = make_input((1, 2, 3, 4, 6), torch.int32, low=-50, high=50).float()

    def fn(x, y):
        return [F.interpolate(x, scale_factor=2, mode="bilinear"), F.interpolate(x, scale_factor=4, mode="bilinear"),
                F.interpolate(x, size=(9, 13), mode="bilinear", align_corners=True),
                F.interpolate(x[:, :, 0], scale_factor=2, mode="linear"),
                F.interpolate(y, scale_factor=2, mode="trilinear"),
                F.interpolate(y, size=(5, 7, 11), mode="trilinear", align_corners=True)]

    check(fn, x, y, **EXACT)


def test_upsample_gradients():
    check_grad(lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), make_input((2, 3, 5, 4)))
    check_grad(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), make_input((2, 3, 5, 4)))


# --------------------------------------------------------------------------- vector norms
ORDS = [2, 1, INF, -INF, 0, 3, 0.5, -1, 1.5]
NORM_TOL = {"rtol": 2e-5, "atol": 1e-5}


@pytest.mark.parametrize("ord", ORDS)
def test_vector_norm_ords_dims_keepdim(ord):
    xs = [make_input((n,), specials=True) for n in (1, 3, 4, 5, 17, 64, 127)]
    m = make_input((3, 5, 7), specials=True)
    t = make_input((6, 9)).t()  # non-contiguous

    def fn(m, t, *xs):
        outs = [torch.linalg.vector_norm(x, ord) for x in xs]
        outs += [torch.linalg.vector_norm(m, ord, dim=d, keepdim=k) for d in (None, 0, -1, (0, 2)) for k in (False, True)]
        return outs + [torch.linalg.vector_norm(t, ord, dim=1)]

    check(fn, m, t, *xs, **NORM_TOL)


def test_vector_norm_nonfinite_and_empty():
    x = with_nonfinite(make_input((4, 17)))
    e = make_input((3, 0))
    check(lambda x, e: [torch.linalg.vector_norm(x, o, dim=1) for o in ORDS] +
          [torch.linalg.vector_norm(e, o, dim=1) for o in (2, 1, 0, 3)] + [torch.linalg.vector_norm(e, 2, dim=0)],
          x, e, **NORM_TOL)


def test_normalize_and_tensor_norm():
    x = make_input((4, 5, 17), specials=True)
    z = torch.zeros(2, 3)  # clamped by eps, not divided by zero
    check(lambda x, z: [F.normalize(x, dim=1), F.normalize(x, p=1, dim=-1), x.norm(dim=-1), x.norm(p=INF),
                        F.normalize(z, dim=1), torch.norm(x, dim=(0, 1))], x, z, **NORM_TOL)


def test_vector_norm_gradients():
    def fn(x):
        return sum(torch.linalg.vector_norm(x, o, dim=1) for o in (2, 1, INF, 3)) + F.normalize(x, dim=1).sum(1)

    check_grad(fn, make_input((4, 9)))


# --------------------------------------------------------------------------- repeat, roll, tril/triu, diagonal, unfold
def test_repeat():
    xs = [make_input((n,), specials=True) for n in (1, 3, 5, 17)]
    m = make_input((3, 1, 5))
    i = make_input((2, 3), torch.int64)
    xs.append(make_input((1, 0, 2)))  # an empty dim repeated (found by the fuzzer)

    def fn(m, i, *xs):
        return [x.repeat(3) for x in xs[:-1]] + [xs[2].repeat(2, 2), m.repeat(2, 3, 1), m.repeat(1, 1, 1, 2),
                                            m.transpose(0, 2).repeat(2, 1, 1), m.repeat(0, 2, 1), i.repeat(2, 2),
                                            i.repeat(1, 1) * 3, torch.diagonal(xs[-1].repeat(1, 2, 3), 1, 0, -1)]

    check(fn, m, i, *xs, interp=True, **EXACT)


def test_roll_tril_triu():
    x = make_input((4, 5, 7), specials=True)
    b = make_input((6, 6), torch.bool)
    check(lambda x, b: [torch.roll(x, 2, 1), torch.roll(x, -3, -1), torch.roll(x, 9), torch.roll(x, (1, 2), (0, 2)),
                        torch.tril(x), torch.triu(x, 2), torch.tril(x, -1), torch.triu(x.transpose(1, 2), -2),
                        torch.tril(b, 1), torch.triu(x, 10)], x, b, **EXACT)


def test_diagonal_views_and_scatter():
    x = make_input((4, 5, 7), specials=True)
    s = make_input((6, 6))
    i = make_input((5, 3), torch.int32)

    def fn(x, s, i):
        return [torch.diagonal(x), torch.diagonal(x, 1, 1, 2), torch.diagonal(x, -2, -1, 0), torch.diagonal(x, 9, 1, 2),
                torch.diagonal(x, 1, 1, 2) * 2, torch.diag(s), torch.diag(s, -3), torch.diag(s[0]), torch.diagonal(i),
                torch.diag_embed(s[:2]), torch.diagonal_scatter(s, s[0, :5] * 3, 1), torch.diagonal(s.t(), 1)]

    check(fn, x, s, i, interp=True, **EXACT)


def test_slice_and_select_scatter():
    x = make_input((5, 7))
    check(lambda x: [torch.slice_scatter(x, x[:, :3] * 2, 1, 0, 3), torch.slice_scatter(x, x[::2] * 2, 0, 0, 5, 2),
                     torch.slice_scatter(x, x[:, 1::3] + 1, 1, 1, None, 3), torch.select_scatter(x, x[2] * 5, 0, -1),
                     torch.select_scatter(x, x[:, 0] * 5, 1, 3)], x, **EXACT)


def test_unfold():
    x = make_input((3, 17), specials=True)
    y = make_input((2, 4, 9))
    check(lambda x, y: [x.unfold(1, 3, 2), x.unfold(1, 17, 1), x.unfold(0, 2, 1) * 2, y.unfold(-1, 4, 4),
                        y.transpose(0, 2).unfold(0, 3, 3), x.unfold(1, 1, 5)], x, y, interp=True, **EXACT)


def test_view_ops_gradients():
    check_grad(lambda x: torch.diagonal(x, 1, 1, 2) * 3 + x.sum(1)[:, :4], make_input((2, 4, 5)))
    check_grad(lambda x: x.unfold(1, 3, 2).sum(-1) + x.repeat(1, 2)[:, :6:2], make_input((3, 7)))
    check_grad(lambda x: torch.roll(x, 2, 1) * torch.tril(x), make_input((5, 5)))


# --------------------------------------------------------------------------- adaptive max pooling
ADAPTIVE = [((2, 3, 8, 8), (4, 4)), ((1, 2, 7, 5), (3, 2)), ((2, 1, 5, 17), (2, 5)), ((1, 3, 4, 4), (1, 1)),
            ((1, 2, 3, 3), (5, 7)), ((3, 6, 9), (4, 4)), ((1, 1, 1, 1), (2, 3))]


def test_adaptive_max_pool2d_values_and_indices():
    xs = [make_input(shape, specials=True) for shape, _ in ADAPTIVE]
    xs[1] = with_nonfinite(xs[1])
    xs[2][0, 0, :3, :4] = -INF  # a window that is all -inf
    xs[2][0, 0, 3, 9] = NAN  # NaN wins over every value; with two NaNs the last
    xs[2][0, 0, 4, 8] = NAN
    ties = torch.ones(1, 1, 6, 6)  # ties: the first maximum

    def fn(ties, *xs):
        outs = [F.adaptive_max_pool2d(x, size, return_indices=True) for x, (_, size) in zip(xs, ADAPTIVE)]
        return outs + [F.adaptive_max_pool2d(ties, (4, 3), return_indices=True), F.adaptive_max_pool2d(xs[0].transpose(2, 3), 3),
                       F.adaptive_max_pool1d(xs[5], 4)]

    check(fn, ties, *xs, interp=True, **EXACT)


def test_adaptive_max_pool2d_gradients():
    check_grad(lambda x: F.adaptive_max_pool2d(x, (3, 2)), make_input((2, 3, 7, 5)))


# --------------------------------------------------------------------------- dynamic batch
def test_dynamic_batch_compiles_once():
    """A variable batch (``mark_dynamic(x, 0)``; image sizes static, as the README says
    pooling and indexing need): one symbolic module serves every batch size."""
    def fn(x):
        return [F.pad(x, (1, 2, -1, 1), value=2.0), F.pad(x, (1, 2, 1, 1), mode="reflect"),
                F.pad(x, (1, 2, 1, 0), mode="circular"), F.interpolate(x, size=(7, 9), mode="bilinear"),
                torch.linalg.vector_norm(x, 2, dim=-1), x.repeat(2, 1, 1, 3), torch.diagonal(x, 0, 2, 3),
                x.unfold(3, 2, 1), F.adaptive_max_pool2d(x, (2, 3))]

    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="wasm", options={"strict": True, "dynamic": "symbolic"})
    with recording() as rec, torch.no_grad():
        for n in (3, 5, 2):
            x = make_input((n, 2, 5, 6))
            torch._dynamo.mark_dynamic(x, 0)
            for got, want in zip(compiled(x), fn(x)):
                torch.testing.assert_close(got, want, **_interp_tol(x))
    rec.assert_wasm_ran()
    assert len(rec.compiled) == 1, f"{len(rec.compiled)} graphs compiled for three batch sizes"


# --------------------------------------------------------------------------- 3-d pooling
POOL3D = [  # (input shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 4, 5, 6), 2, None, 0, 1, False), ((1, 2, 5, 7, 6), (3, 2, 2), (2, 1, 2), (1, 0, 1), 1, False),
    ((1, 2, 5, 7, 6), 3, 2, 1, 1, True), ((2, 1, 6, 6, 6), 2, 1, 0, (2, 1, 2), False), ((3, 5, 4, 6), 2, 2, 1, 1, True),
]


def test_max_pool3d_values_and_indices():
    xs = [make_input(shape, specials=True) for shape, *_ in POOL3D]
    xs[0] = with_nonfinite(xs[0])
    xs[1][0, 0, :2, :2, :2] = -INF

    def fn(*xs):
        return [F.max_pool3d(x, k, s, p, d, ceil_mode=c, return_indices=True)
                for x, (_, k, s, p, d, c) in zip(xs, POOL3D)]

    check(fn, *xs, interp=True, **EXACT)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool3d(count_include_pad):
    xs = [make_input(shape, specials=True) for shape, *_ in POOL3D]

    def fn(*xs):
        outs = [F.avg_pool3d(x, k, s, p, ceil_mode=c, count_include_pad=count_include_pad)
                for x, (_, k, s, p, _, c) in zip(xs, POOL3D)]
        return outs + [F.avg_pool3d(xs[1], 2, divisor_override=3)]

    check(fn, *xs, interp=True)
