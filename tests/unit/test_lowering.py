"""Lowering checked through the interpreter: ATen graph -> IR -> numpy, against eager.
No WebAssembly toolchain is involved, so a failure here is a lowering bug."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from torch_wasm_backend import interp, ir

from .helpers import flat_outputs, lower_fn

torch.manual_seed(0)

CASES = {
    "fused_pointwise": (lambda x, y: torch.relu(x * y + 1).sigmoid() - x, [(3, 17), (17,)]),
    "broadcast_compare_where": (lambda x, y: torch.where(x > y, x, y * 2), [(4, 1, 5), (3, 1)]),
    "softmax_last": (lambda x: torch.softmax(x, -1), [(3, 7)]),
    "log_softmax_first": (lambda x: torch.log_softmax(x, 0), [(5, 4)]),
    "layer_norm": (lambda x: F.layer_norm(x, (8,)), [(3, 8)]),
    "sum_mean_var": (lambda x: (x.sum(1), x.mean((0, 2)), x.var(1, correction=0)), [(2, 3, 5)]),
    "amax_argmax": (lambda x: (x.amax(-1), x.argmax(-1)), [(4, 6)]),
    "permute_reshape": (lambda x: x.permute(2, 0, 1).reshape(5, -1) * 2, [(2, 3, 5)]),
    "slice_select_cat": (lambda x: torch.cat([x[:, ::2], x[:, 1:2], x[1:, :].sum(0, keepdim=True).expand(2, 3)], 1), [(2, 3)]),
    "mm_addmm": (lambda a, b, c: (a @ b, torch.addmm(c, a, b)), [(3, 4), (4, 5), (5,)]),
    "bmm_transposed": (lambda a, b: torch.bmm(a, b.transpose(1, 2)), [(2, 3, 4), (2, 5, 4)]),
    "conv_pool": (lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 2), [(1, 2, 6, 7), (3, 2, 3, 3)]),
    "depthwise_avgpool": (lambda x, w: F.avg_pool2d(F.conv2d(x, w, stride=2, padding=1, groups=3), 2, ceil_mode=True),
                          [(2, 3, 7, 7), (3, 1, 3, 3)]),
    "adaptive_nonuniform": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(1, 2, 7, 5)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_interpreter_matches_eager(name):
    fn, shapes = CASES[name]
    inputs = [torch.randn(s) for s in shapes]
    prog = lower_fn(fn, *inputs)
    got = interp.run(prog, [t.numpy() for t in inputs])
    want = flat_outputs(fn(*inputs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(np.asarray(g)), w, check_dtype=True)


def test_embedding_uses_indirect_load():
    table = torch.randn(10, 4)
    idx = torch.tensor([[1, 9], [0, 3]])
    prog = lower_fn(lambda w, i: F.embedding(i, w) * 2, table, idx)
    assert any(isinstance(n, ir.Load) and n.indirect for k in prog.kernels for n in ir.walk(k.body))
    (got,) = interp.run(prog, [table.numpy(), idx.numpy()])
    torch.testing.assert_close(torch.from_numpy(got), F.embedding(idx, table) * 2)


def test_pointwise_chain_is_one_kernel():
    prog = lower_fn(lambda x: ((x + 1) * 2).relu().exp() - 3, torch.randn(4, 5))
    assert len(prog.kernels) == 1 and isinstance(prog.kernels[0], ir.Pointwise)


def test_views_do_not_copy():
    prog = lower_fn(lambda x: x.t()[1:, ::2].unsqueeze(0), torch.randn(4, 6))
    assert prog.kernels == ()
    assert prog.outputs[0].buffer == prog.inputs[0].buffer


def test_softmax_reductions_get_their_own_kernels():
    prog = lower_fn(lambda x: torch.softmax(x, -1), torch.randn(4, 6))
    kinds = [type(k).__name__ for k in prog.kernels]
    # max, exp(x - max) into a buffer (read by the sum and the output), sum, output
    assert kinds == ["Reduce", "Pointwise", "Reduce", "Pointwise"]


def test_packed_gemm_program_interprets_like_eager():
    """The prepare-time packing (PackB) keeps the program's meaning: interpreter vs eager."""
    import torch_wasm_backend.interp as interp_mod
    from torch_wasm_backend.config import Options
    from torch_wasm_backend.lower import lower_graph
    from torch_wasm_backend.schedule import schedule

    from .helpers import aten_graph

    x, w, b = torch.randn(3, 7), torch.randn(9, 7), torch.randn(9)
    prog = lower_graph(aten_graph(lambda x, w, b: F.linear(x, w, b).relu(), x, w, b), [x, w, b], frozenset({1, 2}))
    packed = schedule(prog, Options()).program
    assert any(isinstance(k, ir.PackB) for k in packed.kernels)
    packed.verify()
    (got,) = interp_mod.run(packed, [x.numpy(), w.numpy(), b.numpy()])
    torch.testing.assert_close(torch.from_numpy(got), F.linear(x, w, b).relu())
