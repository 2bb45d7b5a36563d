"""float32 vs int8 on a real data set: scikit-learn's bundled digits (8x8 images, no download).

Trains a small MLP and a small CNN for a few seconds each, quantizes them with ``torch_wasm_backend.quantize``
(PT2E, calibrated on 256 training images), saves both as artifacts and reports test
accuracy of eager float32, WebAssembly float32 and WebAssembly int8, and the file sizes.

    python examples/int8/digits.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

import torch_wasm_backend


def data():
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(y), generator=g)
    test, train = perm[:360], perm[360:]
    return x[train], y[train], x[test], y[test]


MODELS = {
    "MLP 64-256-128-10": lambda: torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10)),
    "CNN conv8-conv16-fc10": lambda: torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, padding=1, stride=2),
        torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16 * 4 * 4, 10)),
}


def train(make, xtr, ytr) -> torch.nn.Module:
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(60):
        for i in range(0, len(ytr), 64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[i:i + 64]), ytr[i:i + 64]).backward()
            opt.step()
    return model.eval()


def accuracy(logits, y) -> float:
    return float((np.asarray(logits).argmax(1) == y.numpy()).mean())


def main() -> None:
    xtr, ytr, xte, yte = data()
    print(f"digits test set: {len(yte)} images")
    for name, make in MODELS.items():
        evaluate(name, train(make, xtr, ytr), xtr, xte, yte)


def evaluate(name, model, xtr, xte, yte) -> None:
    torch._dynamo.reset()
    q = torch_wasm_backend.quantize(model, (xte[:8],), calibration=[xtr[i:i + 64] for i in range(0, 256, 64)])
    out = Path(tempfile.mkdtemp())
    with torch.no_grad():
        eager = model(xte)
        ff, fq = torch.compile(model, backend="wasm"), torch.compile(q, backend="wasm")
        ff(xte), fq(xte)
    torch_wasm_backend.save(ff, out / "f32.wasm")
    torch_wasm_backend.save(fq, out / "int8.wasm")
    f32 = torch_wasm_backend.load(out / "f32.wasm")(xte.numpy())
    i8 = torch_wasm_backend.load(out / "int8.wasm")(xte.numpy())
    sf, si = (out / "f32.wasm").stat().st_size, (out / "int8.wasm").stat().st_size
    print(name)
    print(f"  eager float32      accuracy {accuracy(eager, yte):.4f}")
    print(f"  artifact float32   accuracy {accuracy(f32, yte):.4f}  {sf} bytes")
    print(f"  artifact int8      accuracy {accuracy(i8, yte):.4f}  {si} bytes ({si / sf:.3f}x)")


if __name__ == "__main__":
    main()
