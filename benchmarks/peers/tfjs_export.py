#!/usr/bin/env python3
"""Weights of a benchmark model (``benchmarks/models.py``) for the TF.js builders in
``tfjs_models.mjs``: ``DIR/<name>.tfjs.json`` (layer list and tensor table) and
``DIR/<name>.tfjs.bin`` (the float32 tensors, little-endian, one after another).

Strategy: walk the model's leaf modules in registration order (the order ``forward`` uses
them in every model here) and record

* every ``Conv2d`` with the ``BatchNorm2d`` that directly follows it folded in, the way
  onnxruntime's exporter folds it: ``w' = w * g``, ``b' = beta - mean * g`` with
  ``g = gamma / sqrt(var + eps)``; the filter in TF.js layout (``[kh, kw, in, out]``, or
  ``[kh, kw, channels, 1]`` for a depthwise convolution), with its stride, padding and groups,
* every ``Linear`` as ``[in, out]`` weights and a bias,
* the block structure the builders need (``BasicBlock`` and ``InvertedResidual`` names, the
  residual flag), all under the PyTorch module names.

No graph is traced: the JavaScript builders write each model's forward by hand (mapped op
by op from ``models.py``) and look their tensors up by module name; a name the builder asks
for that is not here is an error there. Models without a mapping (the transformer layers:
TF.js has no fused attention or layer norm kernel worth comparing) are listed in
``NO_TFJS``.

    python benchmarks/peers/tfjs_export.py cnn --out /tmp/p
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # benchmarks/, for models.py
    sys.path.insert(0, str(HERE.parent))

import models

TFJS_MODELS = ("mlp", "cnn", "tiny", "gemm256", "gemm1024", "resnet18", "mobilenetv2")
NO_TFJS = {
    "transformer": "no mapping: attention and layer norm would be a dozen unfused TF.js ops",
    "transformer4": "no mapping: attention and layer norm would be a dozen unfused TF.js ops",
}


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor]:
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        g = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * g[:, None, None, None]
        b = bn.bias.detach().double() + (b - bn.running_mean.double()) * g
    return w.float(), b.float()


def layers(model: nn.Module) -> tuple[list[dict], list[tuple[str, np.ndarray]]]:
    """(layer records, [(tensor name, array)]) for ``model`` (see the module docstring)."""
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    records, tensors = [], []
    for i, (name, m) in enumerate(leaves):
        if isinstance(m, nn.Conv2d):
            nxt = leaves[i + 1][1] if i + 1 < len(leaves) else None
            bn = nxt if isinstance(nxt, nn.BatchNorm2d) else None
            w, b = _fold(m, bn)
            depthwise = m.groups > 1
            if depthwise and not (m.groups == m.in_channels == m.out_channels):
                raise ValueError(f"{name}: grouped convolution (groups={m.groups}) has no TF.js mapping here")
            hwio = w.permute(2, 3, 0, 1) if depthwise else w.permute(2, 3, 1, 0)  # [kh, kw, in(, out)]
            tensors += [(f"{name}.w", hwio.contiguous().numpy()), (f"{name}.b", b.numpy())]
            records.append({"op": "conv", "name": name, "stride": list(m.stride), "pad": list(m.padding),
                            "kernel": list(m.kernel_size), "depthwise": depthwise, "bn_folded": bn is not None})
        elif isinstance(m, nn.Linear):
            tensors += [(f"{name}.w", m.weight.detach().t().contiguous().numpy()),
                        (f"{name}.b", m.bias.detach().numpy())]
            records.append({"op": "linear", "name": name})
    for name, m in model.named_modules():
        if isinstance(m, models.BasicBlock):
            records.append({"op": "basic_block", "name": name, "down": m.down is not None})
        elif isinstance(m, models.InvertedResidual):
            records.append({"op": "inverted_residual", "name": name, "residual": m.residual})
    return records, tensors


def export(name: str, out_dir: str | Path) -> Path:
    """Write ``out_dir/<name>.tfjs.json`` and ``.bin``; returns the JSON path."""
    if name in NO_TFJS:
        raise ValueError(f"{name}: {NO_TFJS[name]}")
    if name not in TFJS_MODELS:
        raise ValueError(f"{name}: no TF.js builder (have: {', '.join(TFJS_MODELS)})")
    model = models.build_model(models.CASES[name])
    records, tensors = layers(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table, offset, chunks = {}, 0, []
    for tname, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        table[tname] = {"shape": list(arr.shape), "offset": offset}
        chunks.append(arr.tobytes())
        offset += arr.nbytes
    bin_path = out_dir / f"{name}.tfjs.bin"
    bin_path.write_bytes(b"".join(chunks))
    spec = {"model": name, "layers": records, "tensors": table, "bin": bin_path.name, "bytes": offset}
    json_path = out_dir / f"{name}.tfjs.json"
    json_path.write_text(json.dumps(spec, indent=1))
    return json_path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", help=f"models: {', '.join(TFJS_MODELS)}")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    for n in args.names:
        print(export(n, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
