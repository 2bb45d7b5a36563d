#!/usr/bin/env python3
"""Markdown table from a pytest-benchmark JSON file written by the benchmark suite.

Usage:
    python -m pytest benchmarks -q --benchmark-only --benchmark-json=/tmp/bench.json
    python benchmarks/report.py /tmp/bench.json

One row per model (benchmark group): median eager time, median wasm time, the ratio of
the medians wasm/eager (> 1 means the wasm backend is slower), the ratio of the fastest
rounds (min/min: the best case of each, much less sensitive to other processes competing
for the CPU than the medians; check both), GFLOP/s (from the medians) where the FLOP count
is known, and the wasm compile time (wall time of the first call: Dynamo tracing,
AOTAutograd, lowering, WAT emission, wat2wasm and wasmtime compilation, with an empty
on-disk cache).

If the JSON holds peer benchmarks (``benchmarks/peers``: onnxruntime-web in Node, measured in
the same run), one more column gives the ratio of medians onnxruntime-web/ours, both in Node
(> 1 means onnxruntime-web is slower); a model timed only by the peer benchmark takes its
eager and wasm columns from that benchmark's interleaved timings.
``python benchmarks/peers/report_peers.py`` prints the peer benchmark's full table.
"""

from __future__ import annotations

import argparse
import json
import sys


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_num(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def collect(data: dict) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        model = info.get("model") or b.get("group") or b["name"]
        backend = info.get("backend")
        if backend is None:  # fall back on the test id, e.g. test_model[mlp-wasm]
            backend = "wasm" if "wasm" in b["name"] else "eager"
        row = rows.setdefault(model, {"input": info.get("input", "")})
        if backend == "peers":  # benchmarks/peers/test_peers.py: several engines in one test
            row["peers"] = info.get("engines", {})
            row["peers_flops"] = info.get("flops")
            continue
        row[backend] = {
            "median": b["stats"]["median"],
            "min": b["stats"]["min"],
            "rounds": b["stats"]["rounds"],
            "flops": info.get("flops"),
            "compile_s": info.get("compile_s"),
        }
    return rows


def _from_peers(row: dict, engine: str) -> dict | None:
    """An eager or wasm entry from the peer benchmark's timings, for a model test_bench did not time."""
    p = row.get("peers", {}).get(engine)
    if not p:
        return None
    # no compile time: in the peer benchmark it overlaps Node start-up (test_bench.py times it alone)
    return {"median": p["median_s"], "min": p["min_s"], "rounds": p["rounds"], "flops": row.get("peers_flops"),
            "compile_s": None}


def _ort_over_ours(row: dict) -> str:
    p = row.get("peers", {})
    ort, ours = p.get("node_ort"), p.get("node_ours")
    return f"{ort['median_s'] / ours['median_s']:.2f}×" if ort and ours else "—"


def table(rows: dict[str, dict]) -> str:
    head = (
        "| model | input | eager median | wasm median | wasm/eager (medians) | wasm/eager (min/min) "
        "| eager GFLOP/s | wasm GFLOP/s | wasm compile |"
    )
    peers = any("peers" in row for row in rows.values())
    if peers:
        head += " ORT-web/ours (Node) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for model, row in rows.items():
        e = row.get("eager") or _from_peers(row, "eager")
        w = row.get("wasm") or _from_peers(row, "wasm")
        em = e["median"] if e else None
        wm = w["median"] if w else None
        ratio = f"{wm / em:.2f}×" if e and w else "—"
        ratio_min = f"{w['min'] / e['min']:.2f}×" if e and w else "—"
        flops = (e or w or {}).get("flops")
        eg = flops / em / 1e9 if flops and em else None
        wg = flops / wm / 1e9 if flops and wm else None
        comp = w.get("compile_s") if w else None
        lines.append(
            f"| {model} | {row['input']} | {fmt_time(em)} | {fmt_time(wm)} | {ratio} | {ratio_min} "
            f"| {fmt_num(eg, '.1f')} | {fmt_num(wg, '.1f')} | {fmt_time(comp)} |"
            + (f" {_ort_over_ours(row)} |" if peers else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="file written by pytest --benchmark-json=...")
    args = ap.parse_args(argv)
    with open(args.json) as f:
        data = json.load(f)
    rows = collect(data)
    if not rows:
        print(f"{args.json}: no benchmarks (was the suite run with --benchmark-only?)", file=sys.stderr)
        return 1
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {}).get("brand_raw") or mi.get("processor") or "unknown CPU"
    commit = data.get("commit_info", {})
    rev = (commit.get("id") or "")[:10] + (" (dirty)" if commit.get("dirty") else "")
    print(f"Run {data.get('datetime', '?')} on {cpu}, Python {mi.get('python_version', '?')}"
          + (f", commit {rev}" if rev.strip() else ""))
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
