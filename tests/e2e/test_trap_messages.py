"""A trap names the operator and the cause in the user's terms (an embedding index out of
range says so and gives the valid range), compiled in Python and in the artifact's manifest."""

import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend.runtime import WasmTrap


def _trap(fn, *args) -> str:
    torch._dynamo.reset()
    fast = torch.compile(fn, backend="wasm", options={"strict": True})
    with torch.no_grad():
        with pytest.raises(WasmTrap) as info:
            fast(*args)
    return str(info.value)


def test_embedding_out_of_range_names_op_and_range():
    emb = torch.nn.Embedding(50, 4)
    msg = _trap(emb, torch.tensor([1, 60, 2]))
    assert "embedding: index out of range [0, 50)" in msg, msg


def test_advanced_index_counts_negative_indices():
    msg = _trap(lambda x, i: x[i] * 2, torch.randn(5, 3), torch.tensor([0, 7]))
    assert "index: index out of range [-5, 5)" in msg, msg


def test_assertion_keeps_pytorch_message():
    msg = _trap(lambda i: torch.nn.functional.one_hot(i, 4).sum(), torch.tensor([0, 7]))
    assert "Class values must be smaller than num_classes" in msg, msg


def test_manifest_lists_trap_messages(tmp_path):
    emb = torch.nn.Embedding(50, 4).eval()
    fast = torch.compile(emb, backend="wasm")
    with torch.no_grad():
        fast(torch.tensor([1, 2]))
    manifest = torch_wasm_backend.save(fast, tmp_path / "emb.wasm")
    assert "embedding: index out of range [0, 50)" in manifest["traps"].values(), manifest["traps"]


def test_loaded_artifact_trap_says_what_failed(tmp_path):
    emb = torch.nn.Embedding(50, 4).eval()
    fast = torch.compile(emb, backend="wasm")
    with torch.no_grad():
        fast(torch.tensor([1, 2]))
    torch_wasm_backend.save(fast, tmp_path / "emb.wasm")
    model = torch_wasm_backend.load(tmp_path / "emb.wasm")
    with pytest.raises(WasmTrap, match=r"embedding: index out of range \[0, 50\)"):
        model(torch.tensor([1, 60]).numpy())
