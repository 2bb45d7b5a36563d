"""ir, verify, interp, schedule, memory, emit, assemble, bake and runtime import and run
with torch absent (issue: they imported helpers from lower/, which needs torch)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "py" / "torch_free_pipeline.py"


def test_post_lowering_stages_run_without_torch():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_post_lowering_modules_import_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import torch_wasm_backend.ir, torch_wasm_backend.verify, torch_wasm_backend.interp\n"
            "import torch_wasm_backend.schedule, torch_wasm_backend.memory, torch_wasm_backend.bake\n"
            "import torch_wasm_backend.emit.module, torch_wasm_backend.assemble, torch_wasm_backend.runtime\n"
            "import torch_wasm_backend.runtime.artifact")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
