#!/usr/bin/env python3
"""Export the benchmark models (``benchmarks/models.py``) to ONNX for onnxruntime-web.

    python benchmarks/peers/export.py --out /tmp/peers_onnx              # the default models
    python benchmarks/peers/export.py --out /tmp/peers_onnx resnet18 mobilenetv2

Benchmark-only requirement: ``pip install -r benchmarks/requirements.txt`` (onnx, onnxscript;
``torch.onnx.export`` needs both).

Every model is built exactly as the benchmark builds it (``models.build_model``: eval mode,
seeded weights, randomised batch-norm statistics) and exported at a fixed opset (17). An
exported file is accepted only if

* ``onnx.checker.check_model(..., full_check=True)`` passes (shape inference included),
* its default-domain opset is the one requested (the dynamo exporter silently keeps opset 18
  on convolutional nets when it cannot convert down), and
* ``onnx.reference.ReferenceEvaluator`` (onnx's own numpy implementation of the operators,
  independent of onnxruntime) reproduces eager PyTorch on the benchmark input
  (``assert_close`` with rtol=atol=1e-4).

Exporters are tried in order until one passes: the TorchScript exporter (``dynamo=False``)
first, which exports the MLP, the GEMM and the conv nets cleanly at opset 17, then the
dynamo exporter, which the transformer layer needs (the TorchScript exporter fails on its
``scaled_dot_product_attention``). Every rejected attempt is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import logging
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # benchmarks/, for models.py
    sys.path.insert(0, str(HERE.parent))

from models import CASES, build_model

OPSET = 17
EXPORTERS = ("torchscript", "dynamo")
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


class ExportFailed(RuntimeError):
    pass


@dataclass
class Exported:
    name: str
    path: str
    exporter: str
    opset: int
    nodes: int
    op_types: list[str]
    max_abs_err: float  # onnx.reference vs eager, on the benchmark input
    seconds: float
    input_names: list[str]
    rejected: list[str] = field(default_factory=list)  # "exporter: reason" of earlier attempts

    def to_json(self) -> dict:
        return asdict(self)


def requirements_missing() -> str | None:
    """None when the export can run, else the reason it cannot (for a pytest skip)."""
    missing = []
    for mod in ("onnx", "onnxscript"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        return (f"{' and '.join(missing)} not installed (benchmark-only requirements for torch.onnx.export): "
                "pip install -r benchmarks/requirements.txt")
    return None


def input_names(model: torch.nn.Module, n: int) -> list[str]:
    """Names of the first ``n`` forward() parameters: the names torch_wasm_backend.save gives
    the artifact's inputs, so both files name their inputs alike."""
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[:n] if len(params) >= n else [f"input{i}" for i in range(n)]


def _export_once(model, inputs, path: Path, exporter: str, names: list[str]) -> None:
    quiet = io.StringIO()
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)  # the dynamo exporter logs opset-conversion and torchvision notes
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            warnings.simplefilter("ignore")
            kw = {"opset_version": OPSET, "input_names": names, "output_names": ["output0"]}
            if exporter == "torchscript":
                torch.onnx.export(model, inputs, str(path), dynamo=False, do_constant_folding=True, **kw)
            else:
                torch.onnx.export(model, inputs, str(path), dynamo=True, external_data=False, **kw)
    finally:
        log.setLevel(level)


def _verify(path: Path, inputs, expected: torch.Tensor) -> tuple[int, int, list[str], float]:
    """(opset, node count, op types, max abs error vs eager); raises ExportFailed."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # onnx raises ValidationError and InferenceError
        raise ExportFailed(f"onnx.checker: {str(e).strip().splitlines()[0]}") from None
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    opset = opsets.get("ai.onnx")
    if opset != OPSET:
        raise ExportFailed(f"opset is {opset}, not the requested {OPSET} (opset imports {opsets})")
    names = [i.name for i in model.graph.input]
    if len(names) != len(inputs):
        raise ExportFailed(f"the graph has {len(names)} inputs ({names}), the model takes {len(inputs)}")
    try:
        got = ReferenceEvaluator(model).run(None, {n: x.numpy() for n, x in zip(names, inputs)})[0]
    except Exception as e:
        raise ExportFailed(f"onnx.reference could not run it: {type(e).__name__}: {e}") from None
    got_t = torch.from_numpy(np.asarray(got))
    if got_t.shape != expected.shape:
        raise ExportFailed(f"output shape {tuple(got_t.shape)}, eager gives {tuple(expected.shape)}")
    try:
        torch.testing.assert_close(got_t, expected, **TOLERANCE)
    except AssertionError as e:
        raise ExportFailed("output differs from eager: " + " ".join(str(e).split())[:300]) from None
    err = float((got_t - expected).abs().max())
    return opset, len(model.graph.node), sorted({n.op_type for n in model.graph.node}), err


def export_case(name: str, out_dir: str | Path, exporters=EXPORTERS) -> Exported:
    """Export ``models.CASES[name]`` to ``out_dir/<name>.onnx``; raises ExportFailed listing every attempt."""
    case = CASES[name]
    model = build_model(case)
    inputs = case.make_inputs()
    with torch.no_grad():
        expected = model(*inputs)
    names = input_names(model, len(inputs))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{name}.onnx"
    rejected = []
    for exporter in exporters:
        tmp = out_dir / f"{name}.{exporter}.onnx"
        t0 = time.perf_counter()
        try:
            _export_once(model, inputs, tmp, exporter, names)
            opset, nodes, ops, err = _verify(tmp, inputs, expected)
        except ExportFailed as e:
            rejected.append(f"{exporter}: {e}")
            tmp.unlink(missing_ok=True)
            continue
        except Exception as e:  # the exporter itself raised
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            rejected.append(f"{exporter}: export raised {type(e).__name__}: {first[:300]}")
            tmp.unlink(missing_ok=True)
            continue
        tmp.replace(final)
        return Exported(name, str(final), exporter, opset, nodes, ops, err, time.perf_counter() - t0, names, rejected)
    raise ExportFailed(f"{name}: no exporter produced a valid opset-{OPSET} model:\n  " + "\n  ".join(rejected))


def default_names() -> list[str]:
    return [n for n, c in CASES.items() if not c.opt_in]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"models (default: {' '.join(default_names())}; all: {' '.join(CASES)})")
    ap.add_argument("--out", required=True, help="directory for <name>.onnx")
    args = ap.parse_args(argv)
    reason = requirements_missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    status = 0
    for name in args.names or default_names():
        if name not in CASES:
            print(f"unknown model {name!r}; known: {', '.join(CASES)}", file=sys.stderr)
            return 2
        try:
            info = export_case(name, args.out)
        except ExportFailed as e:
            print(f"FAILED {e}", file=sys.stderr)
            status = 1
            continue
        print(json.dumps(info.to_json()))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
