"""Saved artifacts run in Node with the JavaScript loader (csrc/js/loader.mjs) and must give
the same bytes as the Python loader (torch_wasm_backend.load)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.js.models import ROOT, raw, save_case

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None,
                                reason="node is not on PATH; install Node.js >= 18 to run the JS loader tests")
JS = ROOT / "tests" / "e2e" / "js"
RUNNER = JS / "run_node.mjs"


def node(*args, check=True, timeout=60):
    proc = subprocess.run([NODE, *map(str, args)], check=False, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"node {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def node_js(script: str, *args, **kw):
    """Run one of the scripts in tests/e2e/js with ``args``; returns the parsed JSON it prints."""
    return json.loads(node(JS / script, *args, **kw).stdout)


def _row_major(shape):
    return [int(np.prod(shape[i + 1:])) for i in range(len(shape))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("node_e2e")


@pytest.fixture(scope="module")
def mixed(workdir):
    return save_case("mixed", workdir)


@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer", "mixed", "float64", "float16", "narrow_ints"])
def test_node_matches_python_bitwise(name, workdir, request):
    case = request.getfixturevalue("mixed") if name == "mixed" else save_case(name, workdir)
    if name == "mixed":  # keep the strided-output path covered
        assert any(o["strides"] != _row_major(o["shape"]) for o in case.manifest["outputs"]), \
            "no output of the mixed model is a strided view any more; change the model to keep that path tested"
    out_dir = workdir / f"{name}_out"
    out_dir.mkdir(exist_ok=True)
    report = json.loads(node(RUNNER, case.artifact, out_dir, *case.input_files).stdout)
    assert report["variant"] == "simd128"  # Node 20 without --experimental-wasm-relaxed-simd
    assert [o["name"] for o in report["outputs"]] == [o["name"] for o in case.manifest["outputs"]]
    assert len(report["outputs"]) == len(case.expected)
    for got, want, eager in zip(report["outputs"], case.expected, case.eager):
        assert got["shape"] == list(want.shape), got["name"]
        assert got["dtype"] == str(want.dtype), got["name"]
        data = Path(got["file"]).read_bytes()
        assert len(data) == want.nbytes, got["name"]
        if data != raw(want):
            diff = np.flatnonzero(np.frombuffer(data, np.uint8) != np.frombuffer(raw(want), np.uint8))
            pytest.fail(f"{name} {got['name']}: node and python outputs differ at bytes {diff[:10].tolist()} "
                        f"({diff.size} of {len(data)})")
        # Both loaders agreeing is only meaningful if they read the right thing.
        np.testing.assert_allclose(want, eager, rtol=1e-4, atol=1e-4, err_msg=f"{name} {got['name']} vs eager")
    assert isinstance(report["lastRunMs"], (int, float)) and report["lastRunMs"] >= 0


def test_node_loader_errors(mixed):
    msg = node_js("loader_errors.mjs", mixed.artifact)
    assert msg["length"] == 'input "x" (shape [4, 6], dtype float32): expected 24 elements, got 23'
    assert msg["dtype"] == ('input "x" (shape [4, 6], dtype float32): expected a Float32Array, '
                            'got Float64Array of length 24')
    assert msg["int64AsInt32"] is None  # widened to a BigInt64Array (tests/e2e/test_artifact_signatures.py)
    assert msg["int64AsFloat"] == ('input "idx" (shape [5], dtype int64): expected a BigInt64Array (or an Int32Array '
                                   "or array of integers, which are widened), got Float32Array of length 5")
    assert msg["plainArray"] == 'input "n" (shape [5], dtype int32): expected an Int32Array, got Array of length 5'
    assert msg["badBool"] == 'input "mask" (shape [4, 6], dtype bool): a bool input holds only 0 and 1'
    assert msg["count"] == "the model takes 4 input(s) (x, idx, mask, n), got 3"
    assert msg["missing"] == "missing input(s) idx, mask, n; the model takes x, idx, mask, n"
    assert msg["unknown"] == "unknown input(s) y; the model takes x, idx, mask, n"
    assert msg["notWasm"].startswith("the artifact does not compile:"), msg["notWasm"]
    assert msg["noManifest"] == 'no "torch_wasm_backend.manifest" custom section: not a torch_wasm_backend artifact'
    assert msg["noFile"] is not None and "ENOENT" in msg["noFile"]


def test_node_loader_semantics(mixed, workdir):
    """Sources other than a path, fresh (non-aliasing) outputs, specs, timing, format version."""
    future = workdir / "future.wasm"
    wasm = mixed.artifact.read_bytes()
    old = b'"format_version": 1'
    assert wasm.count(old) == 1
    future.write_bytes(wasm.replace(old, b'"format_version": 9'))
    r = node_js("loader_semantics.mjs", mixed.artifact, future)
    y = np.arange(24, dtype=np.float32).reshape(4, 6) - np.float32(11.5)
    want = ((y * 2 + 1).T).ravel().tolist()
    for key in ("path", "fileUrl", "fileUrlString", "buffer", "arrayBuffer", "response", "responseOctet"):
        assert r[key] == want, key
    assert r["unchanged"] and r["changed"] and r["fresh"]
    assert r["kinds"] == ["Float32Array", "Float32Array", "Uint8Array", "BigInt64Array", "Int32Array", "Float32Array"]
    assert [s["name"] for s in r["specs"]["inputs"]] == ["x", "idx", "mask", "n"]
    assert r["specs"]["inputs"][1] == {**mixed.manifest["inputs"][1], "size": 5}
    assert r["specs"]["outputs"][5]["strides"] == mixed.manifest["outputs"][5]["strides"]
    assert r["lastRunMs"] >= 0
    t = r["timed"]
    assert t["outputs"] == 6 and len(t["times"]) == 5 and all(ms >= 0 for ms in t["times"])
    assert t["minMs"] == min(t["times"]) and t["medianMs"] == sorted(t["times"])[2]
    assert t["meanMs"] == pytest.approx(sum(t["times"]) / 5)
    assert r["future"] == "artifact format version 9 is not supported (this loader reads version 1)"


def test_dynamic_artifact_in_node_matches_python_at_every_size(workdir):
    """A saved artifact with a variable sequence length, run in Node at several sizes."""
    import torch

    import torch_wasm_backend

    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    path = workdir / "dynamic.wasm"
    manifest = torch_wasm_backend.save(torch.compile(layer, backend="wasm"), path,
                                       example_inputs=(torch.randn(2, 9, 32),), dynamic={"src": {1: 48}})
    (sym,) = manifest["symbols"]
    assert manifest["inputs"][0]["shape"] == [2, sym["name"], 32] and sym["max"] == 48
    python = torch_wasm_backend.load(path, variant="simd128")  # Node 20 runs it without relaxed SIMD
    for s in (1, 5, 17, 48):
        x = np.random.default_rng(s).standard_normal((2, s, 32)).astype(np.float32)
        (workdir / "dyn_x.bin").write_bytes(raw(x))
        out_dir = workdir / f"dyn_out_{s}"
        out_dir.mkdir(exist_ok=True)
        report = json.loads(node(RUNNER, path, out_dir, workdir / "dyn_x.bin").stdout)
        want = python(x)
        assert report["outputs"][0]["shape"] == [2, s, 32]
        assert Path(report["outputs"][0]["file"]).read_bytes() == raw(want), f"size {s}"
        with torch.no_grad():
            np.testing.assert_allclose(want, layer(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-4)
    calls = workdir / "dyn_calls.json"
    too_long = {"type": "Float32Array", "data": [0.0] * (2 * 49 * 32)}
    calls.write_text(json.dumps([{"method": "run", "inputs": [too_long]}]))
    bad = node_js("probe.mjs", path, calls)["results"][0]["error"]
    assert bad == {"name": "ArtifactError", "wasmFunction": None,
                   "message": 'input "src" dim 1: size 49 is outside [1, 48] (the range the artifact was saved for)'}
