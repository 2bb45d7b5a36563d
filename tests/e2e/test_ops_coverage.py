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

from tests.e2e.helpers import check, expect_unsupported, make_input, recording

EXACT = dict(rtol=0, atol=0)
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


def test_constant_pad_nd_with_a_float_value_of_an_integer_tensor_is_refused():
    expect_unsupported(lambda i: F.pad(i, (1, 1), value=0.5), make_input((3, 4), torch.int32), match="integer")


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
