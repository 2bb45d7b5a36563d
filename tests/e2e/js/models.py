"""Models saved as artifacts for the JavaScript loader tests (``tests/e2e/test_node.py`` and
``tests/e2e/test_browser.py``), and the Python side of the comparison.

``save_case(name, directory)`` saves one model with ``torch_wasm_backend.save``, writes each
input's raw bytes next to it and returns a :class:`Case` holding the Python loader's
(``torch_wasm_backend.load``) outputs on those inputs, for each code variant the artifact
has: the reference that the JavaScript loader must reproduce byte for byte when it runs
that variant (``Case.reference``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import torch_wasm_backend

ROOT = Path(__file__).resolve().parents[3]
LOADER = ROOT / "csrc" / "js" / "loader.mjs"


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Mixed(torch.nn.Module):
    """Every dtype the manifest knows, several outputs, and outputs that are strided views."""

    def forward(self, x, idx, mask, n):
        y = (x * 2 + 1).t()
        return (y, torch.where(mask, x, -x).sum(1), (x > 0) & mask, idx * 3 - 1,
                n + idx.to(torch.int32)[:1], y[1:, ::2])


class Float64(torch.nn.Module):
    """float64 computed as float64: a linear layer, a reduction and a strided output."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(7, 5).double()

    def forward(self, x):
        y = torch.relu(self.lin(x)) * (1 + 2**-40)  # the factor is lost in float32
        return y.sum(-1) / 3, y.t()


class Float16(torch.nn.Module):
    """float16 stored as float16: a linear layer, a reduction and a strided output."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(7, 5).half()

    def forward(self, x):
        y = torch.relu(self.lin(x))
        return y.sum(-1) / 3, y.t()


class NarrowInts(torch.nn.Module):
    """uint8 and int16 tensors (an image and audio samples), computed in int32 and wrapped."""

    def forward(self, img, pcm):
        return (img * 2 + 1, (pcm // 3).to(torch.float32) / 32768, img.to(torch.int16) - pcm, img.amax(-1))


def _randomise_batchnorm(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model


def build(name: str):
    """(model in eval mode, example inputs) for a case name; deterministic."""
    torch.manual_seed(0)
    if name == "mlp":
        model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                    torch.nn.GELU(), torch.nn.Linear(64, 10), torch.nn.LogSoftmax(-1))
        inputs = (torch.randn(4, 784),)
    elif name == "cnn":
        model = _randomise_batchnorm(SmallCNN())
        inputs = (torch.randn(2, 3, 16, 16),)
    elif name == "transformer":
        model = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        inputs = (torch.randn(2, 7, 32),)
    elif name == "mixed":
        model = Mixed()
        inputs = (torch.randn(4, 6), torch.tensor([3, -1, 0, 7, 2]), torch.rand(4, 6) > 0.5,
                  torch.arange(5, dtype=torch.int32) * 1000)
    elif name == "float16":
        model = Float16()
        inputs = (torch.randn(3, 7, dtype=torch.float16),)
    elif name == "narrow_ints":
        model = NarrowInts()
        inputs = (torch.randint(0, 256, (3, 8), dtype=torch.uint8), torch.randint(-32768, 32768, (3, 8), dtype=torch.int16))
    elif name == "float64":
        model = Float64()
        inputs = (torch.randn(3, 7, dtype=torch.float64),)
    else:
        raise KeyError(name)
    return model.eval(), inputs


@dataclass
class Case:
    name: str
    artifact: Path
    manifest: dict
    input_files: list  # raw bytes of each input, manifest order
    expected: list  # numpy arrays from torch_wasm_backend.load(..., variant="simd128")
    eager: list  # numpy arrays from eager PyTorch
    fused: list | None = None  # from load(..., variant="relaxed_simd"), when the artifact has that variant

    def reference(self, variant: str) -> list:
        """What a loader running ``variant`` must give, byte for byte. V8 fuses relaxed_madd
        where the CPU has FMA (as wasmtime's deterministic mode always does) and multiplies
        and adds separately elsewhere (as the SIMD128 module does)."""
        if variant == "relaxed_simd" and self.fused is not None and cpu_has_fma():
            return self.fused
        return self.expected


def cpu_has_fma() -> bool:
    try:
        return " fma " in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def save_case(name: str, directory: Path) -> Case:
    model, inputs = build(name)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm")
    artifact = Path(directory) / f"{name}.wasm"
    manifest = torch_wasm_backend.save(compiled, artifact, example_inputs=inputs)
    # Fresh inputs (not the example ones) so the artifact is not just replaying save()'s check.
    torch.manual_seed(123)
    fresh = []
    for x in inputs:
        if x.dtype.is_floating_point:
            fresh.append(torch.randn(x.shape, dtype=x.dtype))
        elif x.dtype == torch.bool:
            fresh.append(torch.rand(x.shape) > 0.3)
        elif x.dtype == torch.uint8:
            fresh.append(torch.randint(0, 256, x.shape, dtype=x.dtype))
        else:
            fresh.append(torch.randint(-50, 50, x.shape, dtype=x.dtype))
    arrays = [x.numpy() for x in fresh]
    files = []
    for spec, arr in zip(manifest["inputs"], arrays):
        f = Path(directory) / f"{name}.{spec['name']}.bin"
        f.write_bytes(np.ascontiguousarray(arr).tobytes())
        files.append(f)
    got = torch_wasm_backend.load(artifact, variant="simd128").run_flat(*arrays)
    fused = torch_wasm_backend.load(artifact, variant="relaxed_simd").run_flat(*arrays) \
        if "variants" in manifest else None
    with torch.no_grad():
        want = model(*fresh)
    want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
    return Case(name, artifact, manifest, files, got, want, fused)


def raw(arr: np.ndarray) -> bytes:
    """C-contiguous little-endian bytes, as the JavaScript loader returns them."""
    return np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
