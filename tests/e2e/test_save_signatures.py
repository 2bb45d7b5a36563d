"""``save()`` ships the graph that ran, names inputs after ``forward``'s parameters and
outputs after their keys, and says plainly why it cannot save a model."""

import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend.export import SaveError


class KeywordModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 4)
        self.register_buffer("unused", torch.zeros(3))  # a buffer the graph never reads

    def forward(self, features, *, scale, bias=None):
        h = self.lin(features) * scale
        return {"hidden": h, "summary": (h.sum(-1), h.amax(-1))}


def _ran(model, **kwargs):
    torch._dynamo.reset()
    fast = torch.compile(model.eval(), backend="wasm")
    with torch.no_grad():
        fast(**kwargs)
    return fast


def test_keyword_call_names_and_structure(tmp_path):
    model = KeywordModel()
    x, s = torch.randn(3, 6), torch.tensor(2.0)
    fast = _ran(model, features=x, scale=s)
    manifest = torch_wasm_backend.save(fast, tmp_path / "k.wasm")
    assert [i["name"] for i in manifest["inputs"]] == ["features", "scale"]
    assert [o["name"] for o in manifest["outputs"]] == ["hidden", "summary.0", "summary.1"]
    assert manifest["output_tree"] == {"dict": [["hidden", {"tensor": 0}],
                                                ["summary", {"tuple": [{"tensor": 1}, {"tensor": 2}]}]]}


def test_last_call_shapes_are_saved(tmp_path):
    model = torch.nn.Linear(5, 2).eval()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm", dynamic=False)
    with torch.no_grad():
        fast(torch.randn(3, 5))
        fast(torch.randn(7, 5))
    manifest = torch_wasm_backend.save(fast, tmp_path / "l.wasm")
    assert manifest["inputs"][0]["shape"] == [7, 5]


def test_example_inputs_as_keywords_before_any_call(tmp_path):
    model = KeywordModel().eval()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm")
    manifest = torch_wasm_backend.save(fast, tmp_path / "e.wasm",
                                       example_inputs={"features": torch.randn(2, 6), "scale": torch.tensor(3.0)})
    assert [i["name"] for i in manifest["inputs"]] == ["features", "scale"]


def test_unknown_dynamic_key_lists_the_names(tmp_path):
    fast = _ran(KeywordModel(), features=torch.randn(3, 6), scale=torch.tensor(2.0))
    with pytest.raises(SaveError, match=r"unknown input 'x'.*\['features', 'scale'\]"):
        torch_wasm_backend.save(fast, tmp_path / "d.wasm", dynamic={"x": {0: 8}})


def test_skipped_frame_is_a_clear_error(tmp_path):
    lstm = torch.nn.LSTM(4, 3).eval()
    torch._dynamo.reset()
    fast = torch.compile(lstm, backend="wasm")
    with torch.no_grad():
        fast(torch.randn(5, 2, 4))
    with pytest.raises(SaveError, match="(?s)no graph.*LSTM.*allow_rnn"):
        torch_wasm_backend.save(fast, tmp_path / "lstm.wasm", example_inputs=(torch.randn(5, 2, 4),))


def test_graph_break_error_gives_the_reason(tmp_path):
    def fn(x):
        y = x * 2
        print("a side effect")  # a graph break
        return y + 1

    with pytest.raises(SaveError, match="(?s)several graphs.*print"):
        torch_wasm_backend.save(torch.compile(fn, backend="wasm"), tmp_path / "b.wasm", (torch.ones(2),))
