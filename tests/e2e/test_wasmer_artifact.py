"""A saved artifact runs in the wasmer engine (Python 3.10 venv, no torch there) with the
same outputs as wasmtime: the same module, two engines, bit for bit."""

import subprocess
from pathlib import Path

import numpy as np
import torch

import torch_wasm_backend
from tests.unit.test_runtime import _py310_venv

REPO = Path(__file__).parents[2]

SCRIPT = r"""
import os, sys, types
repo, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, repo)
import numpy as np
import torch_wasm_backend
from torch_wasm_backend.runtime.artifact import load
assert "torch" not in sys.modules
model = load(os.path.join(work, "model.wasm"), engine="wasmer")
outs = model(np.load(os.path.join(work, "x.npy")))
np.save(os.path.join(work, "wasmer_out.npy"), outs)
try:
    model(np.zeros((1, 2), np.float32))
except ValueError as e:
    print("ERR", e)
"""


def test_artifact_runs_in_wasmer_like_wasmtime(tmp_path):
    py = _py310_venv()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(8, 4), torch.nn.Softmax(-1)).eval()
    x = torch.randn(2, 3, 9, 10)
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), tmp_path / "model.wasm", example_inputs=(x,))
    np.save(tmp_path / "x.npy", x.numpy())
    r = subprocess.run([py, "-c", SCRIPT, str(REPO), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ERR input 'input': expected shape [2, 3, 9, 10], got [1, 2]" in r.stdout
    wasmer = np.load(tmp_path / "wasmer_out.npy")
    wasmtime = torch_wasm_backend.load(tmp_path / "model.wasm")(x.numpy())
    assert wasmer.tobytes() == wasmtime.tobytes()
    torch.testing.assert_close(torch.from_numpy(wasmtime), model(x).detach())
