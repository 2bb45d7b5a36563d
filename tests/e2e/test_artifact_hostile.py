"""Hostile artifacts: mutated and truncated files and manifests never crash, hang or read
outside linear memory in either loader; each gives a clear ArtifactError naming what is wrong.

Python: hypothesis mutates the manifest (valid JSON with wrong values: any field replaced by
a hostile value or deleted) and the bytes (truncation, flipped and inserted bytes) of real
artifacts, loads them and runs what loads. The only exceptions allowed are ``ArtifactError``
and ``WasmTrap``. A run is skipped only when the code section changed: a mutated loop may
legitimately loop forever. Node: ``js/fuzz_loader.mjs`` does the same with a seeded loop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torch_wasm_backend
from tests.e2e.artifact_mutation import inputs_for, with_manifest
from torch_wasm_backend.runtime import WasmTrap
from torch_wasm_backend.runtime.artifact import ArtifactError, load, read_manifest, sections
from torch_wasm_backend.runtime.wasmtime_engine import WasmtimeEngine

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
# TORCH_WASM_LOADER_FUZZ_EXAMPLES=5000 for a long run (Node: node js/fuzz_loader.mjs ARTIFACT SEED COUNT)
EXAMPLES = int(os.environ.get("TORCH_WASM_LOADER_FUZZ_EXAMPLES", "150"))
# one engine without the disk cache: mutated modules must not fill ~/.cache
ENGINE = WasmtimeEngine(cache_dir=False)


class Dyn(torch.nn.Module):
    """A dynamic batch, an int64 input, a strided output: symbols, polynomials and strides."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 4)

    def forward(self, x, idx):
        y = self.lin(x)
        return y, (y * 2).t(), idx + 1


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    torch.manual_seed(0)
    torch._dynamo.reset()
    model = Dyn().eval()
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), d / "dyn.wasm",
                            example_inputs=(torch.randn(3, 6), torch.tensor([1, 2])), dynamic={"x": {0: 8}})
    lin = torch.nn.Linear(4, 2)
    torch_wasm_backend.save_training(lin, "mse", {"name": "sgd", "lr": 0.1}, (torch.randn(3, 4), torch.randn(3, 2)),
                                     d / "trainer.wasm")
    return Artifacts({name: (d / f"{name}.wasm").read_bytes() for name in ("dyn", "trainer")})


class Artifacts(dict):
    def __repr__(self):  # hypothesis prints its arguments: not the bytes
        return f"<artifacts {sorted(self)}>"


def _code(wasm: bytes):
    try:
        return [wasm[s:e] for sid, s, e in sections(wasm) if sid == 10]
    except ArtifactError:
        return None


def _exercise(wasm: bytes, original: bytes, run: bool = True) -> str:
    """Load and (when ``run``) call with the inputs the mutated manifest asks for and with
    those of the ``original``; returns what happened. Any other exception fails the test."""
    try:
        model = load(wasm, engine=ENGINE)
    except ArtifactError:
        return "rejected"
    repr(model)
    if not run:
        return "loaded"
    for arrays in (inputs_for(model.manifest), inputs_for(read_manifest(original))):
        if arrays is None:
            continue
        try:
            model(*arrays)
            if hasattr(model, "train_step"):
                model.train_step(*inputs_for({"inputs": model.manifest["train_step"]["inputs"]}))
                model.set_weights(model.get_weights())
        except (ArtifactError, WasmTrap):
            pass
    return "ran"


# --------------------------------------------------------------------------- manifest mutations
HOSTILE = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 2**31, 2**53, 2**64, -(2**63), 0.5, 1e308, "", "s0", "x",
                     "bfloat16", [], {}, [1, -1], {"poly": [[2**60, {"s0": 8}]]}, {"poly": [[1, {"s0": 99}]]},
                     {"poly": [[-5, {}]]}, {"tensor": 99}, {"dict": [["a", {"tensor": 0}], ["a", {"tensor": 0}]]},
                     [[[[[[[[[[]]]]]]]]]]]),
    st.integers(-(2**70), 2**70),
    st.text(max_size=8),
    st.lists(st.integers(-3, 10**6), max_size=4),
)


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _get(value, path):
    for key in path:
        value = value[key]
    return value


def _near(value):
    """Plausible wrong values, which pass the type checks and test the bounds: sizes and
    offsets moved a little, another field's symbol."""
    if isinstance(value, int) and not isinstance(value, bool):
        return st.integers(max(value - 64, -8), value + 4096)
    return st.sampled_from(["s0", value])


def _mutate(manifest, path, value, delete):
    manifest = json.loads(json.dumps(manifest))
    if not path:
        return value
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    elif delete:
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return manifest


EXTRA_KEYS = {"traps": {"pointwise0": "a message"}, "output_tree": {"tuple": [{"tensor": 0}, {"tensor": 1}]}}


@pytest.mark.parametrize("name", ["dyn", "trainer"])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_manifests_give_artifact_errors(artifacts, name, data):
    manifest = {**read_manifest(artifacts[name]), **(EXTRA_KEYS if name == "dyn" else {})}
    paths = list(_paths(manifest))
    mutated = manifest
    for _ in range(data.draw(st.integers(1, 2), label="mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        try:
            value = data.draw(st.one_of(HOSTILE, _near(_get(mutated, path))), label="value")
            mutated = _mutate(mutated, path, value, data.draw(st.integers(0, 4), label="del") == 0)
        except (KeyError, IndexError, TypeError, AttributeError):
            pass  # the path went away with an earlier mutation
    _exercise(with_manifest(artifacts[name], json.dumps(mutated).encode()), artifacts[name])


@pytest.mark.parametrize("name", ["dyn", "trainer"])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_and_truncated_bytes_give_artifact_errors(artifacts, name, data):
    wasm = bytearray(artifacts[name])
    how = data.draw(st.sampled_from(["truncate", "flip", "insert", "manifest_bytes"]), label="how")
    if how == "truncate":
        wasm = wasm[: data.draw(st.integers(0, len(wasm) - 1), label="length")]
    elif how == "manifest_bytes":  # garbage where the JSON was
        raw = data.draw(st.binary(max_size=64), label="payload")
        wasm = bytearray(with_manifest(bytes(wasm), raw))
    else:
        for _ in range(data.draw(st.integers(1, 8), label="count")):
            pos = data.draw(st.integers(0, len(wasm) - 1), label="pos")
            byte = data.draw(st.integers(0, 255), label="byte")
            if how == "flip":
                wasm[pos] = byte
            else:
                wasm.insert(pos, byte)
    wasm = bytes(wasm)
    _exercise(wasm, artifacts[name], run=_code(wasm) == _code(artifacts[name]))


# --------------------------------------------------------------------------- named fields
def _set(manifest, path, value):
    return _mutate(manifest, path, value, delete=value is KeyError)


CASES = [
    (("inputs", 0, "dtype"), "bfloat16", r"inputs\[0\]\.dtype: expected one of float32, float64, int32, int64, bool"),
    (("inputs", 0, "offset"), -4, r"inputs\[0\]\.offset: expected an integer in \[0, "),
    (("inputs", 0, "offset"), 10**9, r"inputs\[0\] spans bytes \[1000000000, "),
    (("inputs", 0, "shape", 1), "s99", r"inputs\[0\]\.shape\[1\]: unknown symbol"),
    (("inputs", 0, "shape"), KeyError, r"inputs\[0\]: missing field 'shape'"),
    (("inputs", 1, "name"), "x", r"inputs\[1\]\.name: duplicate name"),
    (("outputs", 1, "strides", 0), 10**4, r"outputs\[1\] spans bytes"),
    (("outputs", 0, "strides"), [1], r"outputs\[0\]\.strides: expected 2 strides"),
    (("outputs", 0, "offset"), {"poly": [[1, {"SYM": 50}]]},
     r"outputs\[0\]\.offset\.poly\[0\]\[1\]\.s\d+: expected an"),
    (("outputs", 0, "offset"), {"poly": [[1, {"s999": 1}]]},
     r"outputs\[0\]\.offset\.poly\[0\]\[1\]: unknown symbol 's999'"),
    (("symbols", 0, "max"), 10**6, r"inputs\[0\]\.shape\[0\] is 1000000 with sizes \{'s\d+': 1000000\}, outside"),
    (("symbols", 0, "offset"), 2**40, r"symbols\[0\]\.offset 1099511627776 is outside the module's memory"),
    (("symbols", 0, "min"), "1", r"symbols\[0\]\.min: expected an integer"),
    (("memory", "pages"), -1, r"memory\.pages: expected an integer in \[0, 65536\]"),
    (("exports", "forward"), "nope", r"the module does not export a func named 'nope'"),
    (("traps",), {"pointwise0": 3}, r"traps\.pointwise0: expected a non-empty string, got 3"),
    (("output_tree",), {"tensor": 5}, r"output_tree\.tensor: expected an integer in \[0, 2\], got 5"),
    (("output_tree",), {"set": []}, r"output_tree: expected one of"),
    (("format_version",), "1", r"artifact format version 1 is not supported"),
    (("kind",), "optimizer", r'kind: expected "trainer" or no kind'),
    ((), [1, 2], r"the manifest is a JSON list, expected an object"),
    (("outputs",), KeyError, r"manifest: missing field 'outputs'"),
]


@pytest.mark.parametrize("path,value,message", CASES, ids=[".".join(map(str, c[0])) or "root" for c in CASES])
def test_each_bad_field_is_named(artifacts, path, value, message):
    manifest = read_manifest(artifacts["dyn"])
    if value is not KeyError:  # "SYM" stands for the artifact's symbol
        value = json.loads(json.dumps(value).replace("SYM", manifest["symbols"][0]["name"]))
    wasm = with_manifest(artifacts["dyn"], _set(manifest, path, value))
    with pytest.raises(ArtifactError, match=message):
        load(wasm, engine=ENGINE)


def test_not_json_and_not_a_module(artifacts):
    with pytest.raises(ArtifactError, match="the manifest is not valid JSON"):
        load(with_manifest(artifacts["dyn"], b'{"format_version": 1,'), engine=ENGINE)
    with pytest.raises(ArtifactError, match="the manifest is not valid JSON"):
        load(with_manifest(artifacts["dyn"], b"[" * 100_000), engine=ENGINE)
    with pytest.raises(ArtifactError, match="truncated WebAssembly"):
        load(artifacts["dyn"][:120], engine=ENGINE)
    with pytest.raises(ArtifactError, match="does not compile"):
        load(artifacts["dyn"][:8] + b"\x01\x05\x01\x60\x00\x01\x7f" + artifacts["dyn"][8:], engine=ENGINE)


def test_a_checked_size_is_checked_at_every_call(artifacts):
    """Sizes depend on the dynamic dimensions: a polynomial offset that fits at the maximum
    size but not at a smaller one is refused at that call, before any view is made."""
    manifest = read_manifest(artifacts["dyn"])
    sym = manifest["symbols"][0]["name"]
    memory = load(artifacts["dyn"], engine=ENGINE)._memory_bytes
    # outputs[2] (int64[2], 16 bytes) at memory - 16 - (8 - s) * memory / 8: inside memory only at s = 8
    manifest["outputs"][2]["offset"] = {"poly": [[2 * memory - 16, {}], [-memory // 8, {sym: 1}]]}
    model = load(with_manifest(artifacts["dyn"], manifest), engine=ENGINE)
    with pytest.raises(ArtifactError, match=r"outputs\[2\] spans bytes"):
        model(np.zeros((3, 6), np.float32), np.zeros(2, np.int64))
    assert model(np.zeros((8, 6), np.float32), np.zeros(2, np.int64))[2].shape == (2,)


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
@pytest.mark.parametrize("name", ["dyn", "trainer"])
def test_node_loader_fuzz(artifacts, name, tmp_path):
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(artifacts[name])
    proc = subprocess.run([NODE, ROOT / "tests" / "e2e" / "js" / "fuzz_loader.mjs", path, "7", "300"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["unexpected"] == [], report["unexpected"][:5]
    # the loop must have exercised both outcomes, or it proves little
    assert report["rejected"] > 100 and report["ran"] > 15, report


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_node_names_the_same_fields(artifacts, tmp_path):
    """The JavaScript loader refuses each bad field of CASES too, naming the same field."""
    files, want = [], []
    for k, (path, value, _) in enumerate(CASES):
        manifest = read_manifest(artifacts["dyn"])
        if value is not KeyError:
            value = json.loads(json.dumps(value).replace("SYM", manifest["symbols"][0]["name"]))
        wasm = with_manifest(artifacts["dyn"], _set(manifest, path, value))
        with pytest.raises(ArtifactError) as info:
            load(wasm, engine=ENGINE)
        files.append(tmp_path / f"case{k}.wasm")
        files[-1].write_bytes(wasm)
        want.append(str(info.value))
    proc = subprocess.run([NODE, ROOT / "tests" / "e2e" / "js" / "load_errors.mjs", *files], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    for case, python, js in zip(CASES, want, json.loads(proc.stdout)):
        assert js.get("error", {}).get("name") == "ArtifactError", (case, js)
        field = re.match(r"invalid manifest: ([^ :]+)", python)
        if field:
            assert js["error"]["message"].startswith(f"invalid manifest: {field.group(1)}"), (python, js)
