"""Child process of ``test_address_space.py``: address space and memory of many instances.

``python address_space_child.py many N LIMIT_GIB``: sets ``RLIMIT_AS`` to LIMIT_GIB GiB before
importing torch, compiles N distinct tiny graphs (``x * k + j``, each its own code object,
so Dynamo compiles each once), keeps them all, runs each on this thread and on a second
thread (a second instance per graph) and checks every output.

``python address_space_child.py cycles N``: N cycles of build a model, compile it, run it
(every other cycle forward and backward, through AOTAutograd), drop it (``del``,
``torch._dynamo.reset()``), without calling ``gc.collect()``.

Both print one JSON line of figures (MiB from ``/proc/self/status``) on stdout.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import threading
import time


def status() -> dict:
    text = open("/proc/self/status").read()
    return {k: int(re.search(rf"^{k}:\s+(\d+) kB", text, re.M).group(1)) / 1024 for k in ("VmSize", "VmRSS")}


def many(n: int, limit_gib: float) -> dict:
    limit = int(limit_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import torch

    before = status()
    t0 = time.perf_counter()
    fns = []
    for i in range(n):
        k, j = 1.0 + i / 64, float(i % 7) - 3.0
        ns: dict = {}
        exec(f"def f(x):\n    return x * {k!r} + {j!r}\n", ns)  # a new code object per graph
        fns.append((torch.compile(ns["f"], backend="wasm", options={"strict": True}), k, j))
    x = torch.arange(16, dtype=torch.float32)
    with torch.no_grad():
        for f, k, j in fns:  # compiles here: one graph and one instance each
            torch.testing.assert_close(f(x), x * k + j, rtol=0, atol=0)
    compiled = status()
    compile_s = time.perf_counter() - t0
    errors, seen = [], {}

    def again():  # a second thread: every graph instantiates again for it (freed when it ends)
        try:
            with torch.no_grad():
                for f, k, j in fns:
                    torch.testing.assert_close(f(x + 1), (x + 1) * k + j, rtol=0, atol=0)
            seen["in_second_thread"] = status()
        except BaseException as e:  # reported by the parent
            errors.append(repr(e))

    t = threading.Thread(target=again)
    t.start()
    t.join()
    if errors:
        raise RuntimeError(errors[0])
    return {"graphs": n, "limit_gib": limit_gib, "compile_s": round(compile_s, 1), "before": before,
            "after_compile": compiled, **seen, "after_second_thread": status()}


def cycles(n: int) -> dict:
    import torch

    class Net(torch.nn.Module):
        def __init__(self, k: float):
            super().__init__()
            self.k = k
            self.lin = torch.nn.Linear(512, 512)  # 1 MiB of weights (+ its packed copy) per instance

        def forward(self, x):
            return torch.relu(self.lin(x)) * self.k

    x = torch.randn(64, 512)
    marks = {}
    for i in range(n):
        net = Net(1.0 + i)  # a distinct constant: a distinct module each cycle
        fast = torch.compile(net, backend="wasm", options={"strict": True})
        if i % 2:  # every other cycle with autograd: forward and backward graphs, through AOTAutograd
            fast(x).sum().backward()
        else:
            with torch.no_grad():
                torch.testing.assert_close(fast(x), net(x), rtol=1e-4, atol=1e-4)
        del net, fast
        torch._dynamo.reset()
        if i + 1 in (10, n):
            marks[i + 1] = status()
    return {"cycles": n, "after_10": marks[10], f"after_{n}": marks[n]}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "many":
        out = many(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "cycles":
        out = cycles(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}: expected 'many' or 'cycles'")
    print(json.dumps(out))
