"""Address space and memory of instances: many graphs fit under an address-space limit,
and graphs that are gone give their instances back.

Each test runs ``address_space_child.py`` in a fresh Python (the limit, and the figures
from ``/proc/self/status``, are per process) with this checkout on ``PYTHONPATH`` and an
empty module cache, and reads the JSON line of figures it prints.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from torch_wasm_backend.compiled import CompiledGraph

CHILD = Path(__file__).with_name("address_space_child.py")
REPO = CHILD.parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def run_child(tmp_path, *args: str, timeout: float = 300) -> dict:
    env = dict(os.environ, TORCH_WASM_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    p = subprocess.run([sys.executable, str(CHILD), *args], capture_output=True, text=True, env=env,
                       timeout=timeout, cwd=tmp_path)
    assert p.returncode == 0, f"child {args} failed:\n{p.stderr[-4000:]}"
    out = json.loads(p.stdout.strip().splitlines()[-1])
    print(json.dumps(out))
    return out


def test_300_graphs_under_an_8_gib_address_space_limit(tmp_path):
    # With wasmtime's default reservation (4 GiB + 2 x 32 MiB guards per instance) the
    # second instance fails: "mmap failed to reserve 0x104000000 bytes".
    out = run_child(tmp_path, "many", "300", "8")
    assert out["graphs"] == 300
    # a tiny graph's instance reserves 1 MiB + 2 x 64 KiB guards: a second thread's 300
    # instances take well under 1 GiB of address space (the limit is checked by the kernel)
    second = out["in_second_thread"]["VmSize"] - out["after_second_thread"]["VmSize"]
    assert 0 < second < 300 * 2, f"300 instances of a second thread reserved {second:.0f} MiB"


def test_instances_are_released_after_100_compile_free_cycles(tmp_path):
    # Each cycle compiles a distinct model with 1 MiB of weights, runs it (every other cycle
    # forward and backward, through AOTAutograd) and drops it (del, torch._dynamo.reset(),
    # no gc.collect()). Measured from cycle 10 to 100: +11..18 MiB of RSS and of VmSize;
    # +84 MiB of each when instances waited for a gc pass (a Runner <-> CompiledGraph
    # cycle, and AOTAutograd's autograd.Function class holding the graphs).
    out = run_child(tmp_path, "cycles", "100")
    a, b = out["after_10"], out["after_100"]
    grown = {k: b[k] - a[k] for k in ("VmRSS", "VmSize")}
    assert grown["VmRSS"] < 48 and grown["VmSize"] < 48, f"after 90 more compile/free cycles: +{grown} MiB"


def test_dynamic_shape_memory_grows_past_its_reservation():
    # compiled at batch 3 (memory well under its 1 MiB reservation), then run at batches
    # whose activations need 20 and 80 MiB: the memory moves (past the reservation and past
    # the growth reservation), results stay right, and smaller batches still run after
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64)).eval()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm", dynamic=True, options={"strict": True})
    with torch.no_grad():
        for n in (3, 40_000, 7, 160_000, 5):
            x = torch.randn(n, 64)
            torch.testing.assert_close(fast(x), model(x), rtol=1e-4, atol=1e-4)
    graphs = [o for o in gc.get_objects() if type(o) is CompiledGraph]
    sizes = [g.instance.memory_view().size for g in graphs if g.params is not None]
    assert sizes and max(sizes) > 80 << 20, sizes  # it did grow (one module for every size)
    torch._dynamo.reset()


def test_loaded_artifacts_reserve_what_their_manifest_needs(tmp_path):
    # runtime/artifact.py's load() instantiates through the same engine: its reservation
    # is fitted to the artifact's memory (manifest "memory.pages"), not 4 GiB
    import torch_wasm_backend

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)).eval()
    x = torch.randn(2, 12)
    manifest = torch_wasm_backend.save(torch.compile(model, backend="wasm"), tmp_path / "m.wasm", example_inputs=(x,))
    need_mib = manifest["memory"]["pages"] / 16
    loaded = [torch_wasm_backend.load(tmp_path / "m.wasm")]
    before = _vm_size_mib()
    loaded += [torch_wasm_backend.load(tmp_path / "m.wasm") for _ in range(20)]
    per_load = (_vm_size_mib() - before) / 20
    assert per_load <= 2 * max(need_mib, 1) + 0.5, f"{per_load:.1f} MiB per loaded artifact of {need_mib:.2f} MiB"
    with torch.no_grad():
        expected = model(x).numpy()
    for m in loaded[-3:]:  # a numpy array in, a numpy array out
        np.testing.assert_allclose(m(x.numpy()), expected, rtol=1e-5, atol=1e-5)


def _vm_size_mib() -> float:
    text = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("VmSize:"))) / 1024
