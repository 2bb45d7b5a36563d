#!/usr/bin/env python3
"""Threads: our speed at 1 vs N threads in wasmtime, the per-call cost of waking the
workers, and the kernel size at which splitting pays (``target.THREADS``).

Usage:
  python benchmarks/threads_probe.py [--models gemm1024 resnet18 transformer gpt2 mlp cnn tiny]
                                     [--threads 2] [--rounds 9] [--wake] [--calibrate]
                                     [--spin 20000 200000 ...] [--kernels MODEL]

* models (default): each model of ``benchmarks/models.py`` (and ``gpt2``: two GPT-2 blocks,
  ``transformers.GPT2Model``) compiled three times: with
  ``threads=1``, with ``threads=N`` and every call on N (``threads_adaptive=False``), and with
  ``threads=N`` as a user gets it (the runtime measures N against one on the first calls and
  keeps the faster: ``runtime/thread_choice.py``; "auto" below, timed after its first
  trial, with the count it chose at the end; its re-checks fall in the rounds); in every round each variant runs one timed batch of calls
  (batch sized to ~0.2 s), the variants interleaved; medians over the rounds and their
  ratios: of wall-clock time, and of on-CPU time per thread (``/proc/self/task/*/schedstat``:
  thread 0's and the busiest worker's, spinning included). When other jobs keep the cores
  busy our threads wait for a core most of the time and the wall ratio says little; the
  on-CPU ratio (1-thread time / the largest per-thread time at N) is the speed-up when each
  thread has a core of its own (memory contention included). Outputs are checked bitwise
  equal first.
* ``--wake``: the fixed cost of a threaded call. One module whose only kernel is split
  (``x * 2 + 1`` on 256 floats, threshold 0), called through the raw entry point with 1
  thread (no wake-up) and with N (wake the parked workers; thread 0 waits at the end for
  those that joined the call), interleaved; and a whole ``torch.compile`` call at threads=1 vs N.
* ``--spin S ...``: each model at 1 thread and at N threads once per spin count ``S`` of
  the barrier (``THREADS_SPIN`` in csrc/wat/barrier.wat: atomic loads before a waiting
  thread sleeps in ``memory.atomic.wait32``), all interleaved; wall clock medians and
  ratios to 1 thread. The evidence for ``THREADS_SPIN``.
* ``--kernels MODEL``: each forward kernel of MODEL's threaded module alone (a module whose
  forward is that kernel with its split and barrier, over the memory of a real call) at 1 and
  N threads, interleaved; sorted by the time above a perfect split (what to fix first).
* ``--calibrate``: per kernel kind and size, 1 vs N threads on the same threaded instance
  (raw calls, interleaved), wall clock and on-CPU time; the smallest size whose on-CPU ratio
  exceeds 1.2x and its single-thread time: the evidence for ``target.THREADS``.

The machine is shared (2 cores, other engineers' jobs): compare only figures of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import threading
import time
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # models.py, and this checkout's torch_wasm_backend

import torch

import torch_wasm_backend.emit.threads as threads_mod
from torch_wasm_backend.compiled import CompiledGraph
from torch_wasm_backend.runtime.thread_choice import TRIAL
from torch_wasm_backend.target import Threads


def graphs_of(fn, args) -> list:
    """The CompiledGraphs a compiled callable runs (one call, recorded)."""
    found = []
    orig = CompiledGraph.__call__

    def call(self, a):
        found.append(self)
        return orig(self, a)

    CompiledGraph.__call__ = call
    try:
        with torch.no_grad():
            fn(*args)
    finally:
        CompiledGraph.__call__ = orig
    return found


def on_cpu_ns(native_id: int) -> int:
    """Nanoseconds thread ``native_id`` of this process has spent on a CPU (Linux schedstat)."""
    with open(f"/proc/self/task/{native_id}/schedstat") as f:
        return int(f.read().split()[0])


def worker_ids(graphs) -> list:
    return [t.native_id for g in graphs for t in getattr(getattr(g.instance, "pool", None), "threads", [])]


def timed_cpu(fn, args, reps: int, workers: list) -> tuple:
    """(wall s, on-CPU s of the calling thread, largest on-CPU s of a worker) per call."""
    me = threading.get_native_id()
    c0, w0 = on_cpu_ns(me), [on_cpu_ns(w) for w in workers]
    wall = timed(fn, args, reps)
    c = (on_cpu_ns(me) - c0) / 1e9 / reps
    w = max([(on_cpu_ns(x) - y) / 1e9 / reps for x, y in zip(workers, w0)], default=0.0)
    return wall, c, w


def timed(fn, args, reps: int) -> float:
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        return (time.perf_counter() - t0) / reps


def bits(t):
    return t.view(torch.int32) if t.dtype == torch.float32 else t


class GPT2Blocks(torch.nn.Module):
    """GPT-2 blocks (``transformers.GPT2Model``, 2 layers of GPT-2 small's width: 768, 12
    heads, causal attention, GELU MLP 3072) on token ids: the last hidden state."""

    def __init__(self):
        super().__init__()
        import transformers

        cfg = transformers.GPT2Config(
            vocab_size=1000, n_embd=768, n_layer=2, n_head=12, n_positions=128, use_cache=False
        )
        self.gpt2 = transformers.GPT2Model(cfg)

    def forward(self, ids):
        return self.gpt2(input_ids=ids).last_hidden_state


def _cases() -> dict:
    """``models.CASES`` and the GPT-2 blocks (transformers is a benchmark-only dependency)."""
    from models import CASES, Case

    ids = lambda: (torch.randint(0, 1000, (1, 128), generator=torch.Generator().manual_seed(0)),)
    return {**CASES, "gpt2": Case("gpt2", GPT2Blocks, ids, shape="1x128 tokens, 2 blocks of 768")}


def run_models(names, n: int, rounds: int) -> None:
    from models import build_model

    cases = _cases()

    print(f"medians of {rounds} interleaved rounds. wall: wall clock per call; cpu: on-CPU time per call of thread 0")
    print(
        f"and of the busiest worker (schedstat, spinning included); cpu ratio = 1-thread cpu / largest {n}-thread cpu"
    )
    print(
        f"model         1t wall ms  {n}t wall ms  wall ratio | auto wall ms  ratio |  1t cpu ms  "
        f"{n}t cpu ms: t0 / worker   cpu ratio"
    )
    variants = {"1": {"threads": 1}, "n": {"threads": n, "threads_adaptive": False}, "auto": {"threads": n}}
    for name in names:
        case = cases[name]
        args = case.make_inputs()
        torch._dynamo.reset()  # once: a reset between the variants would make the earlier ones recompile
        fns = {k: torch.compile(build_model(case), backend="wasm", options=o) for k, o in variants.items()}
        graphs = {k: graphs_of(f, args) for k, f in fns.items()}
        workers = {k: worker_ids(gs) for k, gs in graphs.items()}
        used = sorted({g.threads for g in graphs["n"]})
        with torch.no_grad():
            outs = {k: fns[k](*args) for k in fns}
            for _ in range(2 * TRIAL):  # auto: through its trial (1 vs N), so the rounds time its choice
                fns["auto"](*args)
        same = all(torch.equal(bits(outs["1"]), bits(o)) for o in outs.values())
        one = timed(fns["1"], args, 1)
        reps = max(1, int(0.2 / max(one, 1e-6)))
        times = {k: [] for k in fns}
        for _ in range(rounds):
            for k, fn in fns.items():
                times[k].append(timed_cpu(fn, args, reps, workers[k]))
        med = {k: [statistics.median(x[i] for x in v) * 1e3 for i in range(3)] for k, v in times.items()}
        (w1, c1, _), (wn, cn, kn), (wa, _, _) = med["1"], med["n"], med["auto"]
        chose = [g.threads_used for g in graphs["auto"]]
        print(
            f"{name:12s} {w1:10.3f}  {wn:10.3f}  {w1 / wn:9.2f}x | {wa:12.3f} {w1 / wa:5.2f}x | {c1:9.3f}  "
            f"{cn:9.3f} / {kn:9.3f}  {c1 / max(cn, kn):9.2f}x  bitwise {'equal' if same else 'DIFFERENT'}; "
            f"ran on {used} threads; auto chose {chose}"
        )


def _barrier_with_spin(spin: int):
    """A patch of the emitter's library source: barrier.wat with THREADS_SPIN = ``spin``."""
    from torch_wasm_backend.emit import module as module_mod

    real = module_mod.library_source

    def source(name):
        text = real(name)
        if name != "barrier.wat":
            return text
        current = next(line for line in text.splitlines() if "THREADS_SPIN" in line and "i32.const" in line)
        return text.replace(current, f"  (local.set $i (i32.const {spin}))  ;; THREADS_SPIN")

    return mock.patch.object(threads_mod, "library_source", source)


def run_spin(names, n: int, rounds: int, spins: list) -> None:
    from models import build_model

    cases = _cases()

    print(
        f"wall ms per call, medians of {rounds} interleaved rounds; 1 thread, then {n} threads per barrier spin count"
    )
    for name in names:
        case = cases[name]
        args = case.make_inputs()
        fns = {}
        for label, t, spin in [("1 thread", 1, None), *((f"spin {s}", n, s) for s in spins)]:
            torch._dynamo.reset()
            fns[label] = torch.compile(
                build_model(case), backend="wasm", options={"threads": t, "threads_adaptive": False}
            )
            with _barrier_with_spin(spin) if spin is not None else contextlib.nullcontext():
                graphs_of(fns[label], args)
        with torch.no_grad():
            outs = {k: f(*args) for k, f in fns.items()}
        same = all(torch.equal(bits(outs["1 thread"]), bits(o)) for o in outs.values())
        reps = max(1, int(0.2 / max(timed(fns["1 thread"], args, 1), 1e-6)))
        times = {k: [] for k in fns}
        for _ in range(rounds):
            for k, f in fns.items():
                times[k].append(timed(f, args, reps))
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        one = med["1 thread"]
        cells = ", ".join(f"{k} {v:.3f} ({one / v:.2f}x)" for k, v in med.items())
        print(f"{name:12s} {cells}; bitwise {'equal' if same else 'DIFFERENT'}")


def _threaded_instance(fn, args):
    (g,) = graphs_of(fn, args)
    return g, g.instance


def run_wake(n: int, rounds: int) -> None:
    x = torch.randn(256)
    with mock.patch.object(threads_mod, "THREADS", Threads(min_ns=0.0, graph_min_ns=0.0)):
        torch._dynamo.reset()
        fn_n = torch.compile(lambda x: x * 2 + 1, backend="wasm", options={"threads": n, "threads_adaptive": False})
        g, inst = _threaded_instance(fn_n, (x,))
    assert g.threads == n, "the probe graph did not get a threaded module"
    raw1, rawn = inst.members[0].raw_caller("run", 1), inst.caller("forward")  # forward: every call on n
    torch._dynamo.reset()
    fn_1 = torch.compile(lambda x: x * 2 + 1, backend="wasm", options={"threads": 1})
    graphs_of(fn_1, (x,))
    reps = 2000
    t = {"raw 1": [], f"raw {n}": [], "call 1": [], f"call {n}": []}
    for _ in range(rounds):
        for key, f in (("raw 1", raw1), (f"raw {n}", rawn)):
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            t[key].append((time.perf_counter() - t0) / reps)
        t["call 1"].append(timed(fn_1, (x,), reps))
        t[f"call {n}"].append(timed(fn_n, (x,), reps))
    med = {k: statistics.median(v) * 1e6 for k, v in t.items()}
    print(
        f"wake-up: raw run(1) {med['raw 1']:.2f} us, raw run({n}) {med[f'raw {n}']:.2f} us "
        f"(+{med[f'raw {n}'] - med['raw 1']:.2f} us: wake the workers, wait for those that joined), back to back"
    )
    print(f"         torch.compile call: threads=1 {med['call 1']:.2f} us, threads={n} {med[f'call {n}']:.2f} us")
    # a worker that had time to fall asleep (past its spin) must be woken by the kernel
    sleepy = []
    for _ in range(rounds * 5):
        time.sleep(0.002)
        t0 = time.perf_counter()
        rawn()
        sleepy.append(time.perf_counter() - t0)
    print(f"         run({n}) after 2 ms idle (workers asleep in wait32): {statistics.median(sleepy) * 1e6:.2f} us")


def run_calibrate(n: int, rounds: int) -> None:
    cases = {
        "Pointwise": (lambda s: (torch.randn(s),), lambda x: x * 2 + 1, lambda s: s),
        "Gemm": (
            lambda s: (torch.randn(max(s // 64, 4), 256), torch.randn(256, 256)),
            lambda a, b: a @ b,
            lambda s: max(s // 64, 4) * 256 * 256,
        ),
        "Reduce": (lambda s: (torch.randn(s, 64),), lambda x: x.sum(1), lambda s: s * 64),
    }
    sizes = [1 << e for e in range(8, 21, 2)]
    for kind, (make, fn, units) in cases.items():
        found = None
        for s in sizes:
            args = make(s)
            with mock.patch.object(threads_mod, "THREADS", Threads(min_ns=0.0, graph_min_ns=0.0)):
                torch._dynamo.reset()
                f = torch.compile(fn, backend="wasm", options={"threads": n, "threads_adaptive": False})
                gs = graphs_of(f, args)
            if len(gs) != 1 or gs[0].threads != n:
                continue
            inst = gs[0].instance
            r1, rn = inst.members[0].raw_caller("run", 1), inst.caller("forward")
            workers = worker_ids(gs)
            one = max(1e-7, min(timed(r1, (), 3), 1))
            reps = max(1, int(0.02 / one))
            a, b = [], []
            for _ in range(rounds):
                a.append(timed_cpu(r1, (), reps, []))
                b.append(timed_cpu(rn, (), reps, workers))
            w1, c1 = (statistics.median(x[i] for x in a) for i in (0, 1))
            wn, cn, kn = (statistics.median(x[i] for x in b) for i in (0, 1, 2))
            cpu_ratio = c1 / max(cn, kn)
            print(
                f"  {kind:9s} size {s:8d}: wall 1 thread {w1 * 1e6:9.1f} us, {n} threads {wn * 1e6:9.1f} us "
                f"({w1 / wn:.2f}x); on-CPU {c1 * 1e6:9.1f} us vs {cn * 1e6:.1f} / {kn * 1e6:.1f} us "
                f"({cpu_ratio:.2f}x); {c1 * 1e9 / units(s):.3f} ns/unit"
            )
            del inst, gs, f
            gc.collect()
            if found is None and cpu_ratio > 1.2:
                found = (s, c1)
        if found:
            print(f"{kind}: on-CPU ratio above 1.2x from size {found[0]} ({found[1] * 1e6:.1f} us on one thread)")


def run_kernels(name: str, n: int, rounds: int) -> None:
    """Each forward kernel of ``name``'s threaded module alone, at 1 and N threads: a module
    whose forward is that kernel (its split, and the final barrier when it is split) over a
    copy of the memory after a real call, called ``reps`` times per round, interleaved."""
    from dataclasses import replace

    import numpy as np
    from models import build_model

    from torch_wasm_backend.assemble import assemble
    from torch_wasm_backend.runtime.threaded import compile_threaded

    case = _cases()[name]
    args = case.make_inputs()
    torch._dynamo.reset()
    fn = torch.compile(build_model(case), backend="wasm", options={"threads": n, "threads_adaptive": False})
    rows = []
    for g in graphs_of(fn, args):
        if g.threads != n:
            continue
        memory = np.array(g.instance.memory_view(), copy=True)
        splits = threads_mod.thread_splits(g.schedule)
        for plan, split in zip(g.schedule.forward, splits):
            sched = replace(g.schedule, forward=(plan,))
            wat = threads_mod.emit_threaded_module(sched, g.plan, (split,), data=False).text
            inst = compile_threaded(assemble(wat), n, adaptive=False).instantiate()
            inst.memory_view()[16 : memory.size] = memory[16:]
            r1, rn = inst.members[0].raw_caller("run", 1), inst.members[0].raw_caller("run", n)
            one = max(1e-7, timed(r1, (), 3))
            reps = max(1, int(0.01 / one))
            a, b = [], []
            for _ in range(rounds):
                a.append(timed(r1, (), reps))
                b.append(timed(rn, (), reps))
            rows.append((plan.kernel.name, split, statistics.median(a), statistics.median(b)))
            del inst
    t1, tn = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(
        f"{name}: {len(rows)} kernels; sum 1 thread {t1 * 1e3:.3f} ms, {n} threads {tn * 1e3:.3f} ms ({t1 / tn:.2f}x)"
    )
    print("kernel                    1t us     Nt us  ratio  share of the N-thread loss  split")
    loss = sum(max(0.0, r[3] - r[2] / n) for r in rows)
    for k, split, a, b in sorted(rows, key=lambda r: -(r[3] - r[2] / n)):
        lost = b - a / n  # time above a perfect split
        print(
            f"{k:24s} {a * 1e6:8.1f}  {b * 1e6:8.1f}  {a / b:5.2f}x  {100 * max(0.0, lost) / max(loss, 1e-12):5.1f}%  "
            f"{split}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=["gemm1024", "resnet18", "transformer", "mlp", "cnn", "tiny"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--wake", action="store_true")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--spin", type=int, nargs="+", help="compare these barrier spin counts (THREADS_SPIN)")
    ap.add_argument("--kernels", metavar="MODEL", help="each kernel of MODEL alone at 1 and N threads")
    a = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}; the machine is shared: ratios of this run only")
    if a.wake:
        run_wake(a.threads, a.rounds)
    if a.calibrate:
        run_calibrate(a.threads, a.rounds)
    if a.spin:
        run_spin(a.models, a.threads, a.rounds, a.spin)
    if a.kernels:
        run_kernels(a.kernels, a.threads, a.rounds)
    if not (a.wake or a.calibrate or a.spin or a.kernels):
        run_models(a.models, a.threads, a.rounds)


if __name__ == "__main__":
    main()
