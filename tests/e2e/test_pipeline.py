"""Properties of the whole pipeline: registration, weights, outputs, traps, debug dumps,
packaging."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from torch_wasm_backend.runtime import WasmTrap

ROOT = Path(__file__).parents[2]


def _compile(model, **options):
    torch._dynamo.reset()
    return torch.compile(model, backend="wasm", options={"strict": True, **options})


def test_backend_is_found_by_entry_point_without_import():
    code = "import torch; f = torch.compile(lambda x: x * 2 + 1, backend='wasm'); print(f(torch.ones(3)).tolist())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[3.0, 3.0, 3.0]"


def test_weights_copied_once_and_again_after_in_place_update(compiled_graphs):
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 4).eval()
    fast = _compile(lin)
    x = torch.randn(3, 6)
    with torch.no_grad():
        fast(x)
        (g,) = compiled_graphs
        calls = []
        runner = g.runner()
        real_prepare = runner.prepare
        runner.prepare = lambda: (calls.append(1), real_prepare())
        for _ in range(3):
            torch.testing.assert_close(fast(x), lin(x))
        assert calls == []  # weights unchanged: not copied, prepare not re-run
        lin.weight.mul_(-2)  # in place: _version changes
        torch.testing.assert_close(fast(x), lin(x))
        assert calls == [1]


def test_outputs_never_alias_wasm_memory(compiled_graphs):
    fast = _compile(lambda x: x * 2)
    x = torch.arange(8.0)
    a = fast(x)
    a.add_(100)  # mutating one result must not affect the next
    b = fast(x)
    torch.testing.assert_close(b, x * 2)
    mem = compiled_graphs[0].instance.memory_view()
    lo = mem.ctypes.data
    assert not (lo <= b.data_ptr() < lo + mem.size)


def test_identity_and_view_outputs(compiled_graphs):
    fast = _compile(lambda x: (x, x.t(), x[1:, ::2]))
    x = torch.randn(4, 5)
    for got, want in zip(fast(x), (x, x.t(), x[1:, ::2])):
        torch.testing.assert_close(got, want)
    assert compiled_graphs


def test_trap_is_an_exception_naming_the_kernel(compiled_graphs):
    emb = torch.nn.Embedding(10, 4).eval()
    fast = _compile(emb)
    with torch.no_grad():
        fast(torch.tensor([1, 2]))
        assert compiled_graphs
        with pytest.raises(WasmTrap, match="pointwise"):
            fast(torch.tensor([1, 12]))  # out of range: PyTorch raises IndexError
        torch.testing.assert_close(fast(torch.tensor([3])), emb(torch.tensor([3])))  # still usable


def test_debug_env_dumps_every_stage(tmp_path):
    code = "import torch; torch.compile(lambda x: torch.softmax(x, -1), backend='wasm')(torch.randn(2, 5))"
    env = dict(os.environ, TORCH_WASM_DEBUG_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    (graph_dir,) = tmp_path.iterdir()
    names = sorted(p.name for p in graph_dir.iterdir())
    assert names == ["0_aten_graph.py", "1_ir.txt", "2_schedule.txt", "3_memory_plan.txt", "4_module.wat"]
    assert "_softmax" in (graph_dir / "0_aten_graph.py").read_text()
    assert "(export \"forward\")" in (graph_dir / "4_module.wat").read_text()


def test_unknown_option_is_a_clear_error():
    torch._dynamo.reset()
    with pytest.raises(Exception, match="unknown torch_wasm_backend option"):
        torch.compile(lambda x: x + 1, backend="wasm", options={"simdd": False})(torch.ones(2))


def test_installed_wheel_finds_csrc(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "torch_wasm_backend/csrc/wat/f32_gemm.wat" in names
    assert "torch_wasm_backend/csrc/wat/math_f32x4.wat" in names
    assert {"LICENSE", "NOTICE"} <= {n.rsplit("/", 1)[1] for n in names if ".dist-info/licenses/" in n}, names
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    code = ("import torch_wasm_backend, sys; from torch_wasm_backend.emit.module import library_source; "
            "assert torch_wasm_backend.__file__.startswith(sys.argv[1]), torch_wasm_backend.__file__; "
            "print(len(library_source('f32_gemm.wat')))")
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(target)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 1000


def test_numpy_interpreter_option_matches_wasm():
    x = torch.randn(3, 7)
    torch._dynamo.reset()
    interp = torch.compile(lambda x: torch.log_softmax(x * 3, -1), backend="wasm", options={"interpret": True})(x)
    torch._dynamo.reset()
    wasm = torch.compile(lambda x: torch.log_softmax(x * 3, -1), backend="wasm")(x)
    np.testing.assert_allclose(interp.numpy(), wasm.numpy(), rtol=1e-5, atol=1e-6)
