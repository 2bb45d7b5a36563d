"""Bad input, limits and safety: new shapes, threads, memory growth over many calls."""

import resource
import threading

import pytest
import torch

import torch_wasm_backend.compiled as compiled


def test_new_shapes_and_dtypes_give_correct_results():
    torch._dynamo.reset()
    lin = torch.nn.Linear(6, 3).eval()
    fast = torch.compile(lin, backend="wasm")
    with torch.no_grad():
        for n in (1, 4, 7, 4, 2):
            x = torch.randn(n, 6)
            torch.testing.assert_close(fast(x), lin(x))

    def fn(t):
        return t * 2 + t.sum()

    fast = torch.compile(fn, backend="wasm")
    torch.testing.assert_close(fast(torch.ones(3)), fn(torch.ones(3)))
    x = torch.randn(2, 6, dtype=torch.float64)  # a new dtype: recompiled, in float64
    torch.testing.assert_close(fast(x), fn(x), rtol=1e-13, atol=1e-13)
    x = torch.randn(2, 6).to(torch.bfloat16)  # no wasm for bfloat16: eager gives the answer
    with pytest.warns(UserWarning, match="bfloat16"):
        out = fast(x)
    assert torch.equal(out, fn(x))


def test_too_large_model_falls_back_with_the_size(monkeypatch):
    import torch_wasm_backend.memory as memory

    monkeypatch.setattr(memory, "MAX_MEMORY", 1 << 16)  # pretend memories hold 64 KiB (the real limit is 4 GiB)

    def fn(x):
        return x.relu() * 2

    x = torch.randn(64, 512)  # 128 KiB per buffer
    torch._dynamo.reset()
    with pytest.warns(UserWarning, match="bytes of linear memory"):
        assert torch.equal(torch.compile(fn, backend="wasm")(x), fn(x))
    torch._dynamo.reset()
    with pytest.raises(Exception, match="needs .* bytes of linear memory"):
        torch.compile(fn, backend="wasm", options={"strict": True})(x)


def test_concurrent_calls_from_threads_are_correct():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8)).eval()
    fast = torch.compile(model, backend="wasm")
    inputs = [torch.randn(5, 32) for _ in range(8)]
    with torch.no_grad():
        fast(inputs[0])
        want = [model(x) for x in inputs]
    errors = []

    def worker(k):
        try:
            with torch.no_grad():
                for _ in range(50):
                    torch.testing.assert_close(fast(inputs[k]), want[k])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def test_ten_thousand_calls_keep_memory_flat():
    torch._dynamo.reset()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.GELU()).eval()
    fast = torch.compile(model, backend="wasm")
    x = torch.randn(16, 64)
    with torch.no_grad():
        for _ in range(500):  # warm up allocator caches
            fast(x)
        before = _rss_mb()
        for _ in range(10_000):
            fast(x)
        after = _rss_mb()
    assert after - before < 20, f"RSS grew by {after - before:.1f} MiB over 10,000 calls"


def test_graphs_are_released_after_reset():
    import gc
    import weakref

    torch._dynamo.reset()
    refs = []
    real = compiled.CompiledGraph.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        refs.append(weakref.ref(self))

    compiled.CompiledGraph.__init__ = spy
    try:
        torch.compile(lambda x: x + 1, backend="wasm")(torch.ones(3))
    finally:
        compiled.CompiledGraph.__init__ = real
    torch._dynamo.reset()
    gc.collect()
    assert refs and all(r() is None for r in refs)


def test_zero_dim_tensors_keep_their_shape(compiled_graphs):
    """0-d constants and tables stay 0-d (found by the OpInfo sweep)."""
    x, m = torch.tensor(2.0), torch.tensor(True)

    def masked_sum(x, m):
        return torch.where(m, x, torch.tensor(0.0)).sum([0], keepdim=True)

    def select(x, i):
        return torch.index_select(x, 0, i)

    torch._dynamo.reset()
    got = torch.compile(masked_sum, backend="wasm", options={"strict": True})(x, m)
    assert got.shape == masked_sum(x, m).shape and torch.equal(got, masked_sum(x, m))
    i = torch.tensor([0])
    torch._dynamo.reset()
    got = torch.compile(select, backend="wasm", options={"strict": True})(x, i)
    assert got.shape == select(x, i).shape and torch.equal(got, select(x, i))
    assert len(compiled_graphs) == 2
