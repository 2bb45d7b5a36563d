"""Lowering of the operators of issue 14 (padding, view scatters, upsampling, vector norms,
diagonal/unfold/repeat, adaptive max pooling) checked through the interpreter against
eager: no WebAssembly toolchain, so a failure here is a lowering bug."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from torch_wasm_backend import interp, ir
from torch_wasm_backend.lower import lower_graph
from torch_wasm_backend.lower.upsample import linear_table
from torch_wasm_backend.trace import trace_aten

from .helpers import flat_outputs, lower_fn

EXACT_CASES = {
    "constant_pad_crop": (lambda x: (F.pad(x, (1, -2, 0, 3), value=2.5), F.pad(x, (-1, -1))), [(2, 5, 7)]),
    "circular_pad": (lambda x: F.pad(x, (1, 2, 2, 0), mode="circular"), [(1, 2, 4, 5)]),
    "reflect_replicate": (lambda x: (F.pad(x, (2, 1), mode="reflect"), F.pad(x, (0, 3), mode="replicate")),
                          [(2, 3, 6)]),
    "slice_scatter": (lambda x: torch.slice_scatter(x, x[:, 1::2] * 2, 1, 1, None, 2), [(3, 7)]),
    "diagonal_repeat_unfold": (lambda x: (torch.diagonal(x, 1, 0, 2), x.repeat(2, 1, 3), x.unfold(2, 2, 3)),
                               [(4, 3, 5)]),
    "adaptive_max_pool": (lambda x: F.adaptive_max_pool2d(x, (3, 2), return_indices=True), [(1, 2, 7, 5)]),
    "nearest": (lambda x: F.interpolate(x, size=(7, 3)), [(1, 2, 5, 4)]),
}
CLOSE_CASES = {
    "bilinear": (lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), [(1, 2, 5, 4)]),
    "trilinear_ac": (lambda x: F.interpolate(x, size=(3, 4, 6), mode="trilinear", align_corners=True),
                     [(1, 1, 2, 3, 4)]),
    "vector_norms": (lambda x: (torch.linalg.vector_norm(x, 2, 1), torch.linalg.vector_norm(x, float("inf")),
                                torch.linalg.vector_norm(x, 0, (0, 2), keepdim=True),
                                torch.linalg.vector_norm(x, 3, -1)), [(3, 4, 5)]),
}


def _run(fn, shapes):
    torch.manual_seed(0)
    inputs = [torch.randn(s) for s in shapes]
    # trace_aten functionalizes (circular padding writes into slices of a new tensor)
    got = interp.run(lower_graph(trace_aten(fn, inputs), inputs), [t.numpy() for t in inputs])
    want = flat_outputs(fn(*inputs))
    assert len(got) == len(want)
    return [torch.from_numpy(np.asarray(g)) for g in got], want


@pytest.mark.parametrize("name", sorted(EXACT_CASES))
def test_interpreter_matches_eager_exactly(name):
    for g, w in zip(*_run(*EXACT_CASES[name])):
        torch.testing.assert_close(g, w.contiguous(), rtol=0, atol=0, check_dtype=True)


@pytest.mark.parametrize("name", sorted(CLOSE_CASES))
def test_interpreter_matches_eager(name):
    for g, w in zip(*_run(*CLOSE_CASES[name])):
        torch.testing.assert_close(g, w, rtol=2e-6, atol=2e-6, check_dtype=True)


def test_upsample_uses_indirect_loads_of_constant_tables():
    prog = lower_fn(lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), torch.randn(1, 1, 4, 4))
    loads = [n for k in prog.kernels for n in ir.walk(k.body) if isinstance(n, ir.Load) and n.indirect]
    assert len(loads) == 4  # the four neighbours


@pytest.mark.parametrize("align_corners", [False, True])
def test_linear_table_matches_pytorch_s_source_positions(align_corners):
    """Interpolating an index ramp along one dim gives index0 + lambda1 wherever the two
    neighbours differ by one: PyTorch's source position, to float32 rounding of that sum."""
    for n_in, n_out in ((5, 7), (7, 5), (4, 16), (17, 3), (1, 4)):
        ramp = torch.arange(n_in, dtype=torch.float32).reshape(1, 1, n_in)
        want = F.interpolate(ramp, size=n_out, mode="linear", align_corners=align_corners).flatten().numpy()
        i0, i1, l0, l1 = linear_table(n_in, n_out, align_corners)
        got = i0 * l0 + i1 * l1
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-7 * n_in)
