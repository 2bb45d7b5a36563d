#!/usr/bin/env python3
"""Markdown table of the peer benchmark (``benchmarks/peers/test_peers.py``) from its
pytest-benchmark JSON:

    python -m pytest benchmarks/peers -q --benchmark-only --benchmark-json=/tmp/peers.json
    python benchmarks/peers/report_peers.py /tmp/peers.json

Per model, the median time per call of each engine, all measured in the same run,
interleaved in blocks: eager PyTorch (1 thread), ours in wasmtime (torch.compile), ours in
Node (the saved artifact through csrc/js/loader.mjs), onnxruntime-web in Node (wasm backend,
1 thread); then the ratios ORT-web/ours (> 1: onnxruntime-web is slower), both in Node (same
engine, V8) and against ours in wasmtime, and ours Node/wasmtime (the same .wasm file in two
engines). ``--detail`` adds the fastest rounds (min) and the saved artifact in wasmtime.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report import fmt_time  # benchmarks/report.py

ENGINES = ("eager", "wasm", "wasm_artifact", "node_ours", "node_ort")


def collect(data: dict) -> dict[str, dict]:
    rows = {}
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        if info.get("backend") != "peers" or "engines" not in info:
            continue
        rows[info["model"]] = info
    return rows


def _ratio(a: dict | None, b: dict | None, key: str = "median_s") -> str:
    if not a or not b or not b.get(key):
        return "—"
    return f"{a[key] / b[key]:.2f}×"


def _t(e: dict | None, key: str = "median_s") -> str:
    return fmt_time(e.get(key)) if e and e.get(key) is not None else "—"


def table(rows: dict[str, dict], detail: bool = False) -> str:
    head = ["model", "input", "eager (1 thread)", "ours, wasmtime", "ours, Node", "ORT-web, Node",
            "ORT-web/ours (Node)", "ORT-web (Node)/ours (wasmtime)", "ours Node/wasmtime"]
    if detail:
        head += ["ours artifact, wasmtime", "ours Node forward() only", "ORT-web/ours (Node, min/min)",
                 "ours Node/artifact wasmtime", "eager min", "ours wasmtime min", "ours Node min", "ORT-web min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model, info in rows.items():
        e = info["engines"]
        eager, wasm, art, ours, ort = (e.get(k) for k in ENGINES)
        cells = [model, info.get("input", ""), _t(eager), _t(wasm), _t(ours), _t(ort),
                 _ratio(ort, ours), _ratio(ort, wasm), _ratio(ours, wasm)]
        if detail:
            cells += [_t(art), _t(ours, "forward_median_s"), _ratio(ort, ours, "min_s"), _ratio(ours, art),
                      _t(eager, "min_s"), _t(wasm, "min_s"), _t(ours, "min_s"), _t(ort, "min_s")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="file written by pytest --benchmark-json=... for benchmarks/peers")
    ap.add_argument("--detail", action="store_true", help="also min times and the artifact in wasmtime")
    args = ap.parse_args(argv)
    data = json.loads(Path(args.json).read_text())
    rows = collect(data)
    if not rows:
        print(f"{args.json}: no peer benchmarks (run benchmarks/peers with --benchmark-only)", file=sys.stderr)
        return 1
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {}).get("brand_raw") or "unknown CPU"
    any_row = next(iter(rows.values()))
    commit = data.get("commit_info", {})
    rev = "" if commit.get("id") in (None, "", "unversioned") else \
        commit["id"][:10] + (" (dirty)" if commit.get("dirty") else "")
    print(f"Run {data.get('datetime', '?')} on {cpu}, Python {mi.get('python_version', '?')}"
          + (f", commit {rev}" if rev.strip() else "")
          + f"; onnxruntime-web {any_row.get('ort_version')}, Node {any_row.get('node_version')} "
          + " ".join(any_row.get("node_flags", [])))
    loads = [v for info in rows.values() for v in (info.get("loadavg_before"), info.get("loadavg_after")) if v]
    if loads:
        print(f"load average during timing: {min(loads):.1f}–{max(loads):.1f}")
    print()
    print(table(rows, args.detail))
    notes = []
    for m, i in rows.items():
        note = []
        if i.get("onnx_exporter"):
            note.append(f"ONNX by the {i['onnx_exporter']} exporter, opset {i['onnx_opset']}, {i.get('onnx_nodes')} nodes, "
                        f"ORT-web max abs error vs eager {i.get('node_ort_max_abs_err', float('nan')):.2g}")
        if i.get("flops"):
            e = i["engines"]
            g = ", ".join(f"{label} {i['flops'] / e[k]['median_s'] / 1e9:.1f}" for k, label in
                          (("eager", "eager"), ("wasm", "ours wasmtime"), ("node_ours", "ours Node"),
                           ("node_ort", "ORT-web")) if k in e)
            note.append(f"GFLOP/s (medians): {g}")
        rounds = sorted({e["rounds"] for e in i["engines"].values()})
        note.append(f"{'/'.join(map(str, rounds))} rounds per engine in blocks of {i.get('block')}")
        notes.append(f"{m}: " + "; ".join(note))
    if notes:
        print()
        print("\n".join(f"* {n}" for n in notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
