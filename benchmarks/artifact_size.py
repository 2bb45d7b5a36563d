"""Artifact size against parameter bytes for the benchmark models (``models.py``).

Saves each model with ``torch_wasm_backend.save`` and prints a Markdown table: the bytes of
the model's state (parameters and buffers, what ``state_dict`` holds), the bytes of the
module's data section, the file's bytes, and the ratios data / state and file / state; and
the relaxed-SIMD (FMA) variant's bytes (code only: it shares the data section) with the
file's growth over the same artifact saved ``relaxed_simd=False``.
No timing: sizes are exact and do not depend on the machine.

    python benchmarks/artifact_size.py                       # the small and medium models
    python benchmarks/artifact_size.py --large               # also transformer4, resnet18, mobilenetv2
    python benchmarks/artifact_size.py --weights float16     # save(..., weights="float16")
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # models.py, and this checkout's torch_wasm_backend
from models import CASES, build_model  # noqa: E402

import torch_wasm_backend  # noqa: E402
from torch_wasm_backend.runtime.artifact import read_manifest, size_breakdown  # noqa: E402


def state_bytes(model: torch.nn.Module) -> int:
    """Bytes of the parameters and buffers (what the artifact must carry at least)."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def measure(name: str, weights: str | None = None) -> dict:
    case = CASES[name]
    model = build_model(case)
    inputs = case.make_inputs()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm")
    kwargs = {"weights": weights} if weights else {}
    if weights and "weights" not in inspect.signature(torch_wasm_backend.save).parameters:
        raise SystemExit("this version of save() has no weights= option")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.wasm"
        torch_wasm_backend.save(fast, path, example_inputs=inputs, **kwargs)
        wasm = path.read_bytes()
        torch_wasm_backend.save(fast, path, example_inputs=inputs, relaxed_simd=False, **kwargs)
        plain = path.read_bytes()
    params = state_bytes(model)
    data = size_breakdown(wasm).get("data", 0)
    variant = read_manifest(wasm).get("variants", {}).get("relaxed_simd", {}).get("bytes", 0)
    return {"model": name, "params": params, "data": data, "file": len(wasm), "variant": variant,
            "growth": len(wasm) - len(plain), "plain": len(plain), "code": size_breakdown(plain).get("code", 0)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="also the opt-in models (224x224 nets, transformer4)")
    ap.add_argument("--weights", default=None, help="save(..., weights=...): float16 or bfloat16")
    ap.add_argument("models", nargs="*", help="model names (default: all that apply)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    names = args.models or [n for n, c in CASES.items() if args.large or not c.opt_in]
    print(f"weights: {args.weights or 'float32'}")
    print("| model | parameter bytes | data segment bytes | file bytes | data / params | file / params "
          "| SIMD128 code bytes | FMA variant bytes | file growth for it |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        r = measure(name, args.weights)
        ratio = f"{r['data'] / r['params']:.4f}" if r["params"] else "-"
        fratio = f"{r['file'] / r['params']:.4f}" if r["params"] else "-"
        growth = f"{r['growth']} (+{100 * r['growth'] / r['plain']:.1f}%)"
        print(f"| {name} | {r['params']} | {r['data']} | {r['file']} | {ratio} | {fratio} | {r['code']} "
              f"| {r['variant']} | {growth} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
