"""Save the browser demo's model: a small CNN (random weights, seed 0) for one 1x28x28 image.

    python examples/browser/make_model.py            # writes examples/browser/model.wasm
    python examples/browser/make_model.py out.wasm   # or anywhere else

Then serve the repository root and open the demo page:

    python -m torch_wasm_backend serve --port 8000   # http://127.0.0.1:8000/examples/browser/

``demo_input()`` is the same deterministic image that main.mjs builds in the browser, so the
logits printed here are the ones the page shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import torch_wasm_backend

HERE = Path(__file__).resolve().parent
SHAPE = (1, 1, 28, 28)


def build() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10),
    ).eval()


def demo_input() -> np.ndarray:
    """x[i] = ((37 i) mod 101) / 50 - 1: exact arithmetic, so JavaScript gets the same floats."""
    i = np.arange(int(np.prod(SHAPE)), dtype=np.float64)
    return ((i * 37 % 101) / 50 - 1).astype(np.float32).reshape(SHAPE)


def save(path=HERE / "model.wasm") -> dict:
    compiled = torch.compile(build(), backend="wasm")
    return torch_wasm_backend.save(compiled, path, example_inputs=(torch.from_numpy(demo_input()),))


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "model.wasm"
    manifest = save(out)
    logits = torch_wasm_backend.load(out)(demo_input())
    print(f"wrote {out} ({out.stat().st_size} bytes, {manifest['memory']['weights_bytes']} bytes of weights)")
    print("logits on the demo input:", np.array2string(logits.ravel(), precision=5))
