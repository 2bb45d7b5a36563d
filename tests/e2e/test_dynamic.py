"""Dynamic shapes: one compiled module serves every batch size and sequence length."""

import pytest
import torch
import torch.fx.experimental._config as fx_config

from torch_wasm_backend.memory import plan_memory


def _run_sizes(model, make_input, sizes, mark=None, graphs=None, **compile_kw):
    """Run every size; with ``graphs``, check that all sizes but 1 shared one module.

    Size-oblivious mode keeps Dynamo from specialising size 1 up front; a decomposition
    may still guard on ``size != 1`` (e.g. the transformer fast path), and then size 1
    gets a module of its own."""
    with fx_config.patch(backed_size_oblivious=True), torch.no_grad():
        fast = torch.compile(model, backend="wasm", options={"strict": True, "dynamic": "symbolic"}, **compile_kw)
        for n in sorted(sizes, key=lambda n: n == 1):
            x = make_input(n)
            if mark is not None:
                torch._dynamo.mark_dynamic(x, mark)
            torch.testing.assert_close(fast(x), model(x))
            if graphs is not None and n != 1:
                assert len(graphs) == 1, f"size {n} recompiled"


def test_mlp_any_batch_one_compile(compiled_graphs):
    mlp = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.GELU(), torch.nn.Linear(64, 5),
                              torch.nn.LogSoftmax(-1)).eval()
    _run_sizes(mlp, lambda n: torch.randn(n, 20), (3, 1, 8, 13, 64, 7, 100), dynamic=True)
    assert len(compiled_graphs) == 1 and compiled_graphs[0].program.symbols  # here even size 1 shares it


def test_cnn_variable_batch_one_compile(compiled_graphs):
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.Conv2d(8, 16, 1), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(16, 4)).eval()
    # (PyTorch's conv shape function guards batch <= 15 in this setting: sizes stay below)
    _run_sizes(cnn, lambda n: torch.randn(n, 3, 12, 12), (2, 1, 5, 7, 11, 13), mark=0, graphs=compiled_graphs)


def test_transformer_variable_sequence_one_compile(compiled_graphs):
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    _run_sizes(layer, lambda s: torch.randn(2, s, 32), (5, 1, 3, 8, 17, 13, 40), mark=1, graphs=compiled_graphs)
    graph = compiled_graphs[0]
    # the plan for any size never overlaps live buffers, and is aligned
    (sym,) = graph.program.symbols
    for s in (1, 2, 3, 4, 5, 31, 77, 128):
        plan_memory(graph.schedule, 16, {sym: s}).verify()


def test_vector_loops_have_run_time_tails(compiled_graphs):
    def fn(x):
        return torch.softmax(x * 3, -1) + x.sum(0, keepdim=True)

    _run_sizes(fn, lambda n: torch.randn(3, n), (4, 5, 6, 7, 8, 9, 17, 64, 127), dynamic=True)
    (graph,) = compiled_graphs
    assert "v128.load" in graph.wat and "(i32.and" in graph.wat  # 4-lane loop up to n & -4


def test_operators_needing_static_sizes_specialise(compiled_graphs):
    conv = torch.nn.Conv2d(4, 6, 3, groups=2).eval()  # grouped: one GEMM per sample, a static count

    with torch.no_grad():
        fast = torch.compile(conv, backend="wasm")
        for n in (2, 3, 5):
            x = torch.randn(n, 4, 6, 6)
            torch._dynamo.mark_dynamic(x, 0)
            torch.testing.assert_close(fast(x), conv(x))
    assert len(compiled_graphs) == 3 and not any(g.program.symbols for g in compiled_graphs)  # one static module per shape
    torch._dynamo.reset()
    x = torch.randn(3, 4, 6, 6)
    torch._dynamo.mark_dynamic(x, 0)
    with pytest.raises(Exception, match="symbolic size"):
        torch.compile(conv, backend="wasm", options={"strict": True, "dynamic": "symbolic"})(x)
