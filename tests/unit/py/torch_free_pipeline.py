"""The stages after lowering need no torch: with ``import torch`` made to fail, build an IR
program by hand (``y = relu(x * 2 + b)``, 2x7, a tail that does not fill a v128), run it
through schedule -> plan_memory -> emit -> assemble -> wasmtime, and compare it with the
numpy interpreter. Prints "ok" (run by tests/unit/test_torch_free.py in a fresh process)."""

import sys

sys.modules["torch"] = None  # any import of torch now raises ImportError

import numpy as np  # noqa: E402
import sympy  # noqa: E402

from torch_wasm_backend import interp, ir  # noqa: E402
from torch_wasm_backend.assemble import assemble  # noqa: E402
from torch_wasm_backend.config import Options  # noqa: E402
from torch_wasm_backend.emit.module import emit_module  # noqa: E402
from torch_wasm_backend.indexing import index_vars  # noqa: E402
from torch_wasm_backend.memory import plan_memory  # noqa: E402
from torch_wasm_backend.runtime import get_engine  # noqa: E402
from torch_wasm_backend.schedule import schedule  # noqa: E402

i0, i1 = index_vars(2)
x = ir.Load("x", 7 * i0 + i1, "f32")
b = ir.Load("b", i1, "f32")
body = ir.Op("relu", (ir.Op("add", (ir.Op("mul", (x, ir.Const(2.0, "f32")), "f32"), b), "f32"),), "f32")
prog = ir.Program(
    buffers=(ir.Buffer("x", "f32", sympy.Integer(14), "input"), ir.Buffer("b", "f32", sympy.Integer(7), "input"),
             ir.Buffer("y", "f32", sympy.Integer(14), "temp")),
    kernels=(ir.Pointwise("k0", "y", 7 * i0 + i1, (2, 7), body),),
    inputs=(ir.InputSpec("x", (2, 7), "f32"), ir.InputSpec("b", (7,), "f32")),
    outputs=(ir.OutputSpec("y", (2, 7), (7, 1), sympy.Integer(0), "f32"),),
)
prog.verify()
xs = np.linspace(-3, 3, 14, dtype=np.float32).reshape(2, 7)
bs = np.arange(7, dtype=np.float32) - 3
want = interp.run(prog, [xs, bs])[0]

sched = schedule(prog, Options())
plan = plan_memory(sched, 16, {})
wasm = assemble(emit_module(sched, plan).text)
inst = get_engine("wasmtime").compile(wasm).instantiate()
inst.grow_memory(plan.pages)
mem = inst.memory_view()
for name, arr in (("x", xs), ("b", bs)):
    off = plan.offset(name)
    mem[off: off + arr.nbytes] = np.frombuffer(arr.tobytes(), np.uint8)
inst.caller("prepare")()
inst.caller("forward")()
off = plan.offset("y")
got = mem[off: off + 56].view(np.float32).reshape(2, 7)
assert "torch" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}, "torch got imported"
assert np.array_equal(got, want), (got, want)
assert np.array_equal(want, np.maximum(xs * 2 + bs, 0))
print("ok")
