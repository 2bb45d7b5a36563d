"""Operators that are one small rule or one decomposition each (copysign, fmax/fmin, addbmm,
addmv, cdist/dist, ldexp, narrow_copy), against eager PyTorch with NaN/Inf, signed zeros,
odd sizes and non-contiguous inputs; and a region whose input dtype PyTorch's meta kernel
gets wrong runs eagerly with a warning instead of failing."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from tests.e2e.helpers import check, make_input, run_wasm

NAN, INF = float("nan"), float("inf")
SIGNED = torch.tensor([0.0, -0.0, 1.0, -1.0, NAN, -NAN, INF, -INF, 2.5, -3.0, 1e-40, -1e-40, 5.0])


def test_copysign():
    a = make_input((3, 17), specials=True)
    b = make_input((3, 17), specials=True)
    # every sign source, NaN's sign bit included, bit for bit
    out, _ = run_wasm(lambda a, b: torch.copysign(a, b), SIGNED.repeat(13), SIGNED.repeat_interleave(13))
    want = torch.copysign(SIGNED.repeat(13), SIGNED.repeat_interleave(13))
    assert torch.equal(out.view(torch.int32), want.view(torch.int32))
    check(lambda a, b: (torch.copysign(a, b), torch.copysign(a.t(), -2.0), torch.copysign(a, b[:1])), a, b)


@pytest.mark.parametrize("fn", [torch.fmax, torch.fmin])
def test_fmax_fmin_ignore_nan(fn):
    a, b = SIGNED.repeat(13), SIGNED.repeat_interleave(13)
    check(lambda a, b: (fn(a, b), fn(a[:5], b[:1])), a, b)
    x = make_input((4, 7), torch.int32)
    check(lambda x: fn(x, x.flip(0)), x)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1)])
def test_addbmm_addmv(beta, alpha):
    m = make_input((5, 7))
    b1, b2 = make_input((3, 5, 4)), make_input((3, 4, 7))
    v, mat, vec = make_input((5,)), make_input((5, 6)), make_input((6,))
    nan_self = torch.full((5, 7), NAN)  # beta = 0 ignores self, NaN included
    check(lambda m, b1, b2, v, mat, vec, n: (torch.addbmm(m, b1, b2, beta=beta, alpha=alpha),
                                             torch.addmv(v, mat, vec, beta=beta, alpha=alpha),
                                             torch.addbmm(n, b1, b2, beta=0) if beta == 0 else n),
          m, b1, b2, v, mat.t().contiguous().t(), vec, nan_self, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, INF])
def test_cdist_and_dist(p):
    x1, x2 = make_input((2, 5, 3)), make_input((2, 7, 3))
    check(lambda a, b: (torch.cdist(a, b, p=p), torch.dist(a, a.flip(1), p=p)), x1, x2, rtol=1e-5, atol=1e-5)


def test_ldexp_and_narrow_copy():
    x, e = make_input((4, 9), specials=True), make_input((4, 9), torch.int32, low=-10, high=10)
    check(lambda x, e: (torch.ldexp(x, e), torch.narrow_copy(x, 1, 2, 5)), x, e)


def test_region_with_a_wrong_meta_dtype_runs_eagerly():
    """prims.signbit's meta kernel says float32 where the kernel returns bool: the compiled
    region after it would get a bool input; it runs eagerly, says so once, and is right."""
    x, y = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([-0.0, 1.0, -5.0])

    def fn(a, b):
        return torch.ops.prims.signbit.default(b).to(torch.bool) & (a > 0)

    compiled = torch.compile(fn, backend="wasm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = compiled(x, y)
        again = compiled(x, y)
    assert torch.equal(out, fn(x, y)) and torch.equal(again, fn(x, y))
    said = [str(w.message) for w in caught if "meta kernel disagrees" in str(w.message)]
    assert len(said) == 1 and "torch.bool at run time but torch.float32 at compile time" in said[0]


def test_nearest_interpolation_of_integers_raises_as_eager_does():
    """PyTorch's nearest kernels refuse int32; their decomposition (run inside the dispatcher,
    before our table) would not: the backend refuses too instead of returning a value."""
    import torch.nn.functional as F

    def fn(x):
        return F.interpolate(x, size=(2,), mode="nearest")

    x = torch.ones(1, 1, 4, dtype=torch.int32)
    with pytest.raises(NotImplementedError):
        fn(x)
    with pytest.raises(Exception, match="nearest interpolation of torch.int32"):
        torch.compile(fn, backend="wasm", options={"strict": True})(x)
    torch._dynamo.reset()
    with pytest.raises(NotImplementedError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.compile(fn, backend="wasm")(x)  # falls back to eager, which raises
    torch._dynamo.reset()
    check(fn, x.float())


# reflection padding's decomposition computes with int8 tensors (falls back until they lower)
@pytest.mark.parametrize("mode,padding_mode,align_corners", [
    ("bilinear", "zeros", False), ("bilinear", "border", True), ("nearest", "zeros", True),
    ("nearest", "border", False), ("bicubic", "zeros", False), ("bicubic", "border", True)])
def test_grid_sample(mode, padding_mode, align_corners):
    """F.grid_sample through PyTorch's decomposition of grid_sampler_2d: grids reaching past
    the borders, odd sizes, more channels than one."""
    x = make_input((2, 3, 5, 7))
    grid = make_input((2, 4, 6, 2), low=-1.3, high=1.3)
    check(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners),
          x, grid, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, INF])
def test_pdist(p):
    x = make_input((6, 5))
    check(lambda x: (F.pdist(x, p=p), F.pdist(x[:1], p=p), F.pdist(x.t(), p=p)), x, rtol=1e-5, atol=1e-5)


def test_copying_views_are_contiguous_copies():
    """permute_copy, view_copy and unbind_copy return contiguous copies (their strides are
    checked against eager's by ``check``)."""
    x = make_input((3, 4, 5))
    check(lambda x: (torch.permute_copy(x, (2, 0, 1)), torch.view_copy(x.transpose(0, 1).contiguous(), (4, 15)),
                     *torch.unbind_copy(x.transpose(1, 2), 1)), x)


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 0, 1, 1), (1, 1, 1, 2), ((2, 1, 2), (0, 1, 2), (1, 2, 1), 2)])
def test_conv3d(stride, padding, dilation, groups):
    """3-d convolution as one window reduction (lower/conv.py ``_direct_conv``): odd sizes,
    grouped, zero padding by bounds."""
    x, w, b = make_input((2, 4, 5, 6, 7)), make_input((6, 4 // groups, 3, 2, 3)), make_input((6,))
    check(lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups), x, w, b, rtol=1e-4, atol=1e-4)
    check(lambda x, w: F.conv3d(x.double(), w.double(), None, stride, padding, dilation, groups), x, w,
          rtol=1e-12, atol=1e-12)
