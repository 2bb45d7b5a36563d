"""Artifact size: each weight stored once, and half-precision weights on request.

* The data section of a saved artifact holds what ``forward`` reads (packed GEMM panels
  instead of the weights they come from), so it is at most 1.02x the bytes of the model's
  parameters and buffers (+ a few bytes of constants), for the models of
  ``benchmarks/models.py`` (the 224x224 nets and the 4-layer encoder behind --runslow).
* ``save(..., weights="float16" | "bfloat16")`` stores rounded weights and widens them at
  instantiation: outputs are bit-identical to ``torch.compile`` of the model whose
  parameters and buffers were rounded first (``.to(dtype).to(float32)``), and the file is at
  most 0.52x the float32 one for weight-dominated models.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import torch_wasm_backend
from tests.e2e.js.models import ROOT, build
from torch_wasm_backend.runtime.artifact import read_manifest, size_breakdown

CONSTANTS_ALLOWANCE = 1024  # bytes: small constants of a graph (index tables, scalars)
NODE = shutil.which("node")


def _bench_models():
    spec = importlib.util.spec_from_file_location("bench_models", ROOT / "benchmarks" / "models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


BENCH = _bench_models()
SLOW = {"transformer4", "resnet18", "mobilenetv2", "gemm1024"}


def state_bytes(model) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def _save(model, inputs, path, **kwargs):
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm")
    manifest = torch_wasm_backend.save(fast, path, example_inputs=inputs, **kwargs)
    return manifest, path.read_bytes()


def _fresh(inputs, seed=123):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(x.shape, generator=g) for x in inputs)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in BENCH.CASES])
def test_data_segment_at_most_parameter_bytes(name, tmp_path):
    case = BENCH.CASES[name]
    model = BENCH.build_model(case)
    inputs = case.make_inputs()
    manifest, wasm = _save(model, inputs, tmp_path / f"{name}.wasm")
    data = size_breakdown(wasm).get("data", 0)
    params = state_bytes(model)
    assert data <= 1.02 * params + CONSTANTS_ALLOWANCE, (
        f"{name}: data section {data} bytes for {params} bytes of parameters and buffers "
        f"({data / max(params, 1):.3f}x)")
    assert manifest["weights"] == {"dtype": "float32"}
    if name in SLOW:
        return
    # the slimmer artifact still computes the model (save() checked it against the compiled
    # graph on the example inputs; here a fresh input against eager)
    x = _fresh(inputs)
    got = torch_wasm_backend.load(wasm)(*x)
    with torch.no_grad():
        want = model(*x)
    torch.testing.assert_close(got, want, **(case.tolerance or {"rtol": 1e-4, "atol": 1e-4}))


def _rounded(model, dtype):
    ref = copy.deepcopy(model)
    with torch.no_grad():
        for t in list(ref.parameters()) + list(ref.buffers()):
            if t.dtype == torch.float32:
                t.copy_(t.to(dtype).to(torch.float32))
    return ref


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer"])
def test_half_weights_bit_identical_to_rounded_model(name, dtype, tmp_path):
    model, inputs = build(name)
    manifest, wasm = _save(model, inputs, tmp_path / "half.wasm", weights=dtype)
    assert manifest["weights"] == {"dtype": dtype}
    assert read_manifest(wasm)["weights"] == {"dtype": dtype}
    x = _fresh(inputs)
    got = torch_wasm_backend.load(wasm, variant="simd128")(*x)  # the code the compiled model runs
    torch._dynamo.reset()
    ref = torch.compile(_rounded(model, getattr(torch, dtype)), backend="wasm")
    with torch.no_grad():
        want = ref(*x)
        unrounded = model(*x)
    assert torch.equal(got, want), f"{name} {dtype}: max |diff| {(got - want).abs().max().item():.3g}"
    assert not torch.equal(got, unrounded), "the weights were not rounded"
    torch.testing.assert_close(got, unrounded, rtol=0.1, atol=0.1)


@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_half_weights_halve_the_file(name, tmp_path):
    case = BENCH.CASES[name]
    model = BENCH.build_model(case)
    inputs = case.make_inputs()
    _, f32 = _save(model, inputs, tmp_path / "f32.wasm")
    _, f16 = _save(model, inputs, tmp_path / "f16.wasm", weights="float16")
    assert len(f16) <= 0.52 * len(f32), f"{name}: float16 file {len(f16)} bytes, float32 {len(f32)}"


def test_half_weights_with_dynamic_shapes(tmp_path):
    """One artifact for batch 1..16: the float16 one equals the float32 artifact of the
    rounded model at every size (same code, rounded weights)."""
    model, inputs = build("mlp")
    _, half = _save(model, inputs, tmp_path / "h.wasm", dynamic={0: {0: 16}}, weights="float16")
    _, ref = _save(_rounded(model, torch.float16), inputs, tmp_path / "r.wasm", dynamic={0: {0: 16}})
    half, ref = torch_wasm_backend.load(half), torch_wasm_backend.load(ref)
    for n in (1, 5, 16, 3):
        x = torch.randn(n, 784)
        assert torch.equal(half(x), ref(x)), n


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_half_weights_in_node(tmp_path):
    """The start function widens the weights in V8 too: same bytes as the Python loader."""
    model, inputs = build("cnn")
    _, wasm = _save(model, inputs, tmp_path / "cnn.wasm", weights="float16")
    x = _fresh(inputs)[0].numpy()
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([NODE, ROOT / "tests" / "e2e" / "js" / "run_node.mjs", tmp_path / "cnn.wasm", out,
                           tmp_path / "x.bin"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    got = np.frombuffer(open(report["outputs"][0]["file"], "rb").read(), np.float32)
    want = torch_wasm_backend.load(wasm, variant="simd128")(x)  # Node 20 without flags: no relaxed SIMD
    assert got.tobytes() == np.ascontiguousarray(want).tobytes()


def test_unknown_weights_dtype_is_a_clear_error(tmp_path):
    model, inputs = build("mlp")
    fast = torch.compile(model, backend="wasm")
    with pytest.raises(ValueError, match="float16"):
        torch_wasm_backend.save(fast, tmp_path / "m.wasm", example_inputs=inputs, weights="int8")
