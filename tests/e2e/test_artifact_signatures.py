"""Loaded artifacts keep the model's signature and speak in its terms, in Python and in Node:
inputs by position or name, outputs in the structure the model returned (``output_tree``),
sizes outside a dynamic range named by input and dim, traps explained by the manifest's
``traps`` messages, int64 inputs widened in JavaScript, one-line reprs.

The manifest keys ``output_tree`` and ``traps`` are written here into real saved artifacts
when ``save`` does not write them yet; the artifacts and the model's outputs are real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend
from tests.e2e.artifact_mutation import add_keys, with_manifest
from torch_wasm_backend.runtime import WasmTrap
from torch_wasm_backend.runtime.artifact import ArtifactError, load, read_manifest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH")
TRAP_MESSAGE = "embedding: index out of range [0, 50)"


class Heads(torch.nn.Module):
    """Two inputs, a dict of a tensor and a nested tuple/list, an embedding that traps."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 4)
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, idx, scale):
        h = self.emb(idx) * scale
        logits = self.lin(h)
        return {"logits": logits, "aux": (h.sum(-1), [logits.argmax(-1)])}


# the structure of Heads' result over its flattened outputs, as save() describes it
TREE = {"dict": [["logits", {"tensor": 0}], ["aux", {"tuple": [{"tensor": 1}, {"list": [{"tensor": 2}]}]}]]}
NAMES = ["logits", "aux.0", "aux.1.0"]


def _inputs(batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 50, (batch, 5), generator=g), torch.randn(batch, 5, 1, generator=g)


def _trap_function(path) -> str:
    """The wasm function the embedding's bounds check traps in (what the writer will key
    ``traps`` by), found by making it trap."""
    with pytest.raises(WasmTrap) as info:
        load(path)(np.full((2, 5), 60), np.ones((2, 5, 1), np.float32))
    return info.value.func_name


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    path = tmp_path_factory.mktemp("signatures") / "heads.wasm"
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = Heads().eval()
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), path, example_inputs=_inputs(2),
                            dynamic={"idx": {0: 4}, "scale": {0: 4}})
    plain = path.with_name("plain.wasm")  # a version-1 file without the new keys
    manifest = read_manifest(path.read_bytes())
    plain.write_bytes(with_manifest(path.read_bytes(), {k: v for k, v in manifest.items()
                                                        if k not in ("output_tree", "traps")}))
    keys = {"traps": {_trap_function(path): TRAP_MESSAGE}}
    if "output_tree" not in manifest:  # save() does not describe the structure yet
        keys["output_tree"] = TREE
        keys["outputs"] = [{**o, "name": n} for o, n in zip(manifest["outputs"], NAMES)]
    add_keys(path, **keys)
    return model, path, plain


def _same(got, want):
    """``got`` (numpy from the loader) has the structure and values of eager's ``want``."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, np.ndarray), type(got)
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-5, atol=1e-6)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (type(got), list(got))
        for k in want:
            _same(got[k], want[k])
    else:
        assert type(got) is type(want) and len(got) == len(want), (type(got), type(want))
        for g, w in zip(got, want):
            _same(g, w)


def test_inputs_by_position_or_name_outputs_as_the_model_returned(heads):
    model, path, _ = heads
    loaded = load(path)
    idx, scale = _inputs(3, seed=1)
    with torch.no_grad():
        want = model(idx, scale)
    for got in (loaded(idx.numpy(), scale.numpy()), loaded(idx=idx.numpy(), scale=scale.numpy()),
                loaded(idx.numpy(), scale=scale.numpy()), loaded(scale=scale.numpy(), idx=idx.numpy())):
        _same(got, want)
    as_torch = loaded(idx, scale=scale)
    assert isinstance(as_torch["logits"], torch.Tensor) and isinstance(as_torch["aux"][1], list)
    flat = loaded.run_flat(idx.numpy(), scale.numpy())
    assert [f.shape for f in flat] == [(3, 5, 3), (3, 5), (3, 5)]
    with pytest.raises(ArtifactError, match=r"unknown input name\(s\) mask; the model takes 2 inputs \(idx, scale\)"):
        loaded(idx.numpy(), scale=scale.numpy(), mask=1)
    with pytest.raises(ArtifactError, match=r"input\(s\) idx given both by position and by name"):
        loaded(idx.numpy(), idx=idx.numpy(), scale=scale.numpy())
    with pytest.raises(ArtifactError, match=r"missing input\(s\) scale"):
        loaded(idx=idx.numpy())


def test_without_new_keys_the_old_behaviour_stays(heads):
    model, _, plain = heads
    loaded = load(plain)
    idx, scale = _inputs(2, seed=2)
    got = loaded(idx.numpy(), scale.numpy())
    with torch.no_grad():
        want = model(idx, scale)
    assert isinstance(got, tuple) and len(got) == 3
    np.testing.assert_allclose(got[0], want["logits"].numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(WasmTrap, match=r"^wasm trap in wasm function"):  # no message to add
        loaded(np.full((2, 5), 60), scale.numpy())


def test_dynamic_sizes_out_of_range_name_the_input_and_dim(heads):
    loaded = load(heads[1])
    with pytest.raises(ArtifactError, match=r"^input 'idx' dim 0: size 5 is outside \[1, 4\] "):
        loaded(*[x.numpy() for x in _inputs(5)])
    idx, _ = _inputs(2)
    _, scale = _inputs(3)
    with pytest.raises(ArtifactError, match=r"^input 'scale' dim 0: size 3 must equal input 'idx' dim 0, which is 2"):
        loaded(idx.numpy(), scale.numpy())


def test_a_trap_gives_the_manifest_message_first(heads):
    loaded = load(heads[1])
    with pytest.raises(WasmTrap) as info:
        loaded(np.full((2, 5), 60), np.ones((2, 5, 1), np.float32))
    message = str(info.value)
    assert message.startswith(TRAP_MESSAGE + " (wasm trap in wasm function `"), message
    assert "unreachable" in message and info.value.user_message == TRAP_MESSAGE
    # the instance stays usable after a trap
    idx, scale = _inputs(2, seed=3)
    assert loaded(idx.numpy(), scale.numpy())["logits"].shape == (2, 5, 3)


def test_repr_is_one_short_line(heads, tmp_path):
    text = repr(load(heads[1]))
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("<LoadedModel (idx: int64[1..4, 5], scale: float32[1..4, 5, 1]) -> (logits: "), text
    assert text.endswith(" kB>"), text
    lin = torch.nn.Linear(4, 2)
    torch_wasm_backend.save_training(lin, "mse", {"name": "sgd", "lr": 0.1}, (torch.randn(3, 4), torch.randn(3, 2)),
                                     tmp_path / "t.wasm")
    trainer = load(tmp_path / "t.wasm")
    text = repr(trainer)
    assert text.startswith("<LoadedTrainer train_step(input: float32[3, 4], target: float32[3, 2]) -> loss, "
                           "3 state tensors, "), text
    # train_step takes names too; both calls see the same weights, so the same loss
    x, y = np.ones((3, 4), np.float32), np.zeros((3, 2), np.float32)
    start = trainer.get_weights()
    by_position = trainer.train_step(x, y)
    trainer.set_weights(start)
    assert trainer.train_step(x, target=y) == by_position
    trainer.set_weights(start)
    assert trainer.train_step(input=x, target=y) == by_position
    with pytest.raises(ArtifactError, match="train_step takes input, target; missing: target"):
        trainer.train_step(input=x)


# --------------------------------------------------------------------------- JavaScript
def _probe(path, calls, tmp_path):
    calls_file = tmp_path / "calls.json"
    calls_file.write_text(json.dumps(calls))
    proc = subprocess.run([NODE, ROOT / "tests" / "e2e" / "js" / "probe.mjs", path, calls_file],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["results"]


def _typed(x: np.ndarray, kind=None):
    kind = kind or {"int64": "BigInt64Array", "float32": "Float32Array", "int32": "Int32Array"}[str(x.dtype)]
    data = [f"{v}n" for v in x.ravel().tolist()] if kind == "BigInt64Array" else x.ravel().tolist()
    return {"type": kind, "data": data}


def _decode(out):
    dt = {"Float32Array": np.float32, "BigInt64Array": np.int64, "Int32Array": np.int32}[out["data"]["type"]]
    data = [int(v[:-1]) if isinstance(v, str) else v for v in out["data"]["data"]]
    return np.array(data, dt).reshape(out["shape"])


@needs_node
def test_node_named_inputs_named_and_structured_outputs(heads, tmp_path):
    _, path, _ = heads
    idx, scale = (x.numpy() for x in _inputs(3, seed=4))
    want = load(path).run_flat(idx, scale)
    by_name = {"scale": _typed(scale), "idx": _typed(idx)}
    r = _probe(path, [{"method": "run", "inputs": [_typed(idx), _typed(scale)]},
                      {"method": "run", "inputs": by_name},
                      {"method": "runNamed", "inputs": by_name},
                      {"method": "runStructured", "inputs": by_name}], tmp_path)
    for res in r:
        assert "value" in res, res
    for outs in (r[0]["value"], r[1]["value"]):
        assert [o["name"] for o in outs] == NAMES
        for o, w in zip(outs, want):  # the same module in two engines: the same bits
            assert np.array_equal(_decode(o), w)
    assert list(r[2]["value"]) == NAMES
    structured = r[3]["value"]
    assert sorted(structured) == ["aux", "logits"] and structured["logits"]["name"] == "logits"
    assert isinstance(structured["aux"], list) and [o["name"] for o in [structured["aux"][0], *structured["aux"][1]]] \
        == ["aux.0", "aux.1.0"]


@needs_node
def test_node_int64_inputs_are_widened_or_refused_clearly(heads, tmp_path):
    _, path, _ = heads
    idx, scale = (x.numpy() for x in _inputs(2, seed=5))
    want = load(path).run_flat(idx, scale)[0]
    as_list = {"type": "Array", "data": idx.ravel().tolist()}
    bad_float = {"type": "Array", "data": [1.5] + idx.ravel().tolist()[1:]}
    too_big = {"type": "Array", "data": [2**60] + idx.ravel().tolist()[1:]}
    r = _probe(path, [{"method": "run", "inputs": [_typed(idx.astype(np.int32)), _typed(scale)]},
                      {"method": "run", "inputs": [as_list, _typed(scale)]},
                      {"method": "run", "inputs": [bad_float, _typed(scale)]},
                      {"method": "run", "inputs": [too_big, _typed(scale)]},
                      {"method": "run", "inputs": [_typed(scale[:, :, 0]), _typed(scale)]}], tmp_path)
    for res in r[:2]:
        assert np.array_equal(_decode(res["value"][0]), want)
    where = 'input "idx" (shape [2, 5], dtype int64): '
    assert r[2]["error"]["message"].startswith(where) and r[2]["error"]["message"].endswith(
        "element 0 is 1.5, not an integer")
    assert "element 0 is 1152921504606847000, outside ±(2^53 - 1)" in r[3]["error"]["message"]
    assert r[4]["error"]["message"].endswith("expected a BigInt64Array (or an Int32Array or array of integers, "
                                             "which are widened), got Float32Array of length 10")


@needs_node
def test_node_errors_in_the_model_terms(heads, tmp_path):
    _, path, _ = heads
    idx, scale = (x.numpy() for x in _inputs(2))
    big_idx, big_scale = (x.numpy() for x in _inputs(5))
    r = _probe(path, [{"method": "run", "inputs": [_typed(np.full((2, 5), 60)), _typed(scale)]},
                      {"method": "run", "inputs": [_typed(big_idx), _typed(big_scale)]},
                      {"method": "run", "inputs": [{"type": "BigInt64Array", "data": ["1n"] * 7}, _typed(scale)]},
                      {"method": "run", "inputs": [_typed(idx), _typed(scale)], "options": {"sizes": {"n": 2}}}],
               tmp_path)
    trap = r[0]["error"]
    assert trap["name"] == "ArtifactError" and trap["message"].startswith(TRAP_MESSAGE + " (forward() trapped in "
                                                                          "wasm function \""), trap
    assert trap["wasmFunction"] == _trap_function(path) and "unreachable" in trap["message"]
    assert r[1]["error"]["message"] == ('input "idx" dim 0: size 5 is outside [1, 4] '
                                        "(the range the artifact was saved for)")
    assert r[2]["error"]["message"] == 'input "idx" dim 0: 7 elements is not a multiple of 5 (shape [?, 5])'
    assert r[3]["error"]["message"].startswith("run(): unknown size name(s) n in {sizes}; the dynamic sizes are s")
