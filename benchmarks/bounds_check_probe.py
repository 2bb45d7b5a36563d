"""Cost of the bounds checks that a small memory reservation brings back.

With wasmtime's default reservation (4 GiB + guards) Cranelift elides every bounds check
of a 32-bit memory; with the reservation fitted to the module (``memory_settings``) each
load and store is compared against the memory's current size (and, with wasmtime's
default Spectre mitigation, the address is also masked by a conditional move). This compiles each model
once, recompiles the same wasm under each memory setting, and times the model's calls with
the settings interleaved (A B C, C B A, ...) in the same process: per round, the median of
``--calls`` calls; per setting, the median over rounds; ratios to the 4 GiB setting.

    python benchmarks/bounds_check_probe.py                  # mlp, gemm256, cnn, transformer
    python benchmarks/bounds_check_probe.py --models mlp --rounds 9 --calls 200
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from models import CASES, build_model  # noqa: E402

from torch_wasm_backend.compiled import CompiledGraph  # noqa: E402
from torch_wasm_backend.runtime.wasmtime_engine import FULL_RESERVATION, WasmtimeEngine  # noqa: E402

# label -> WasmtimeEngine keyword arguments; the first is the baseline of the ratios
SETTINGS = {
    "4GiB": {"memory": FULL_RESERVATION},  # wasmtime's defaults: no bounds checks
    "fitted": {},  # what the backend uses: fitted reservation, bounds checks without the Spectre cmov
    "fitted+spectre": {"spectre_mitigation": True},  # the same with wasmtime's default Spectre mitigation
}


def live_graphs() -> list:
    """The CompiledGraphs alive after compiling (found through the garbage collector)."""
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is CompiledGraph]


def probe(name: str, rounds: int, calls: int) -> dict:
    case = CASES[name]
    model, inputs = build_model(case), case.make_inputs()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm", options={"strict": True})
    with torch.no_grad():
        expected = model(*inputs)
        fast(*inputs)
    graphs = live_graphs()
    variants = {}
    for label, kwargs in SETTINGS.items():
        eng = WasmtimeEngine(cache_dir=False, **kwargs)
        variants[label] = [(g, eng.compile(g.wasm), threading.local()) for g in graphs]

    def use(label):
        for g, module, local in variants[label]:
            g.module, g._local = module, local

    times = {label: [] for label in SETTINGS}
    with torch.no_grad():
        for label in SETTINGS:  # warm up each, and check it is still right
            use(label)
            torch.testing.assert_close(fast(*inputs), expected, **case.tolerance)
        for r in range(rounds):
            for label in list(SETTINGS)[:: 1 if r % 2 == 0 else -1]:  # A B C, C B A, ...: no order bias
                use(label)
                ts = []
                for _ in range(calls):
                    t0 = time.perf_counter()
                    fast(*inputs)
                    ts.append(time.perf_counter() - t0)
                times[label].append(statistics.median(ts))
    torch._dynamo.reset()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["mlp", "gemm256", "cnn", "transformer"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    base, *others = SETTINGS
    heads = " | ".join(f"{o} (µs) | {o} / {base} (per round)" for o in others)
    print(f"| model | {base} (median µs) | {heads} |")
    print("|---|---|" + "---|---|" * len(others))
    for name in args.models:
        t = probe(name, args.rounds, args.calls)
        b = statistics.median(t[base])
        cells = []
        for o in others:
            rr = ", ".join(f"{x / y:.2f}" for x, y in zip(t[o], t[base]))
            cells.append(f"{statistics.median(t[o]) * 1e6:.1f} | **{statistics.median(t[o]) / b:.3f}** ({rr})")
        print(f"| {name} | {b * 1e6:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
