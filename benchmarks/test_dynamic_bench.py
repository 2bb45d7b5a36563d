"""Variable batch: one compile serves every size, so after the first call a new batch size
costs no compilation. Eager (1 thread) is timed on the same cycle of sizes."""

from __future__ import annotations

import time

import pytest
import torch

import torch_wasm_backend.compiled as compiled

SIZES = (1, 7, 32, 13, 64, 3)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                               torch.nn.ReLU(), torch.nn.Linear(512, 10)).eval()


@pytest.mark.benchmark(group="mlp_variable_batch")
@pytest.mark.parametrize("backend", ["eager", "wasm"])
def test_variable_batch(benchmark, backend):
    import torch.fx.experimental._config as fx_config

    torch._dynamo.reset()
    model = _mlp()
    inputs = [torch.randn(n, 784) for n in SIZES]
    made = []
    real = compiled.CompiledGraph.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        made.append(self)

    compiled.CompiledGraph.__init__ = spy
    try:
        with fx_config.patch(backed_size_oblivious=True), torch.no_grad():
            fn = model if backend == "eager" else torch.compile(model, backend="wasm", dynamic=True)
            t0 = time.perf_counter()
            fn(inputs[0])
            first = time.perf_counter() - t0
            for x in inputs:  # every size once: correctness, and any recompilation would show here
                torch.testing.assert_close(fn(x), model(x))

            def cycle():
                for x in inputs:
                    fn(x)

            benchmark.pedantic(cycle, rounds=20, warmup_rounds=2)
    finally:
        compiled.CompiledGraph.__init__ = real
    benchmark.extra_info["first_call_s"] = round(first, 3)
    benchmark.extra_info["sizes"] = list(SIZES)
    if backend == "wasm":
        benchmark.extra_info["modules_compiled"] = len(made)
        assert len(made) == 1, f"{len(made)} modules for {len(SIZES)} batch sizes"
