"""Running artifacts without torch, installed as the README says: a fresh virtual
environment with `pip install numpy wasmtime && pip install --no-deps torch_wasm_backend`
(this repository), then an artifact saved here runs there with the same bytes out."""

import subprocess
import venv
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "py" / "run_artifact.py"


def _pip(py, *args):
    proc = subprocess.run([str(py), "-m", "pip", "install", "-q", *args], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        if "Could not find a version" in proc.stderr or "NewConnectionError" in proc.stderr:
            pytest.skip(f"the package index is unreachable: {proc.stderr[-300:]}")
        raise AssertionError(f"pip install {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def test_artifact_runs_in_a_torch_free_install(tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    _pip(py, "numpy", "wasmtime")
    _pip(py, "--no-deps", str(ROOT))
    probe = subprocess.run([str(py), "-c", "import torch"], capture_output=True)
    assert probe.returncode != 0, "torch is importable in the runtime-only environment"

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 3)).eval()
    fast = torch.compile(model, backend="wasm")
    x = torch.randn(4, 6)
    with torch.no_grad():
        want = fast(x).numpy()
    torch_wasm_backend.save(fast, tmp_path / "m.wasm")
    assert np.array_equal(torch_wasm_backend.load(tmp_path / "m.wasm", variant="simd128")(x.numpy()), want)
    # load() there runs the variant it runs here (the FMA one in wasmtime): the same bytes out
    want = torch_wasm_backend.load(tmp_path / "m.wasm")(x.numpy())
    (tmp_path / "x.bin").write_bytes(x.numpy().tobytes())
    out = tmp_path / "out"
    out.mkdir()
    # run from the scratch directory so the repository itself is not on sys.path
    subprocess.run([str(py), str(SCRIPT), str(tmp_path / "m.wasm"), str(out), str(tmp_path / "x.bin")],
                   check=True, capture_output=True, timeout=120, cwd=tmp_path)
    assert (out / "0.bin").read_bytes() == np.ascontiguousarray(want).tobytes()
