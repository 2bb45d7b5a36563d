"""csrc/wat/f16_to_f32.wat against numpy, over every one of the 65536 half bit patterns.

The fragment is wrapped in a small module (memory plus exports), assembled with the real
``wat2wasm`` and run in wasmtime with relaxed SIMD off. References: numpy's
``float16.astype(float32)`` (IEEE half: subnormals, infinities, NaN payloads) and, for
bfloat16, torch's ``bfloat16.to(float32)``. Counts that are not multiples of 4 and
unaligned addresses exercise the scalar tail next to the vector loop.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_wasm_backend.assemble import assemble
from torch_wasm_backend.emit.module import library_source

wasmtime = pytest.importorskip("wasmtime")

N = 65536
SRC, DST = 16, 16 + 2 * N + 16  # DST + 4 * N fits in 7 pages


@pytest.fixture(scope="module")
def instance():
    exports = "".join(f'(export "{f}" (func ${f}))' for f in ("f16_to_f32", "bf16_to_f32"))
    wat = f'(module (memory (export "memory") 7) {library_source("f16_to_f32.wat")} {exports})'
    from torch_wasm_backend.runtime.wasmtime_engine import build_wasmtime_config

    store = wasmtime.Store(wasmtime.Engine(build_wasmtime_config(relaxed_simd=False)))
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, assemble(wat)), [])
    return store, inst


def _widen(instance, fn: str, halves: np.ndarray, src: int, dst: int) -> np.ndarray:
    store, inst = instance
    memory = inst.exports(store)["memory"]
    mem = np.frombuffer(memory.get_buffer_ptr(store), np.uint8, memory.data_len(store))
    mem[:] = 0xA5  # garbage around the operands: nothing outside dst[0:n] may change
    mem[src: src + 2 * halves.size] = halves.view(np.uint8)
    before = mem.copy()
    inst.exports(store)[fn](store, src, dst, halves.size)
    out = mem[dst: dst + 4 * halves.size].view(np.uint32).copy()
    outside = np.ones(mem.size, bool)
    outside[dst: dst + 4 * halves.size] = False
    assert np.array_equal(mem[outside], before[outside]), f"{fn} wrote outside its destination"
    return out


def _f16_reference(bits: np.ndarray) -> np.ndarray:
    return bits.view(np.float16).astype(np.float32).view(np.uint32)


def _bf16_reference(bits: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).to(torch.float32)
    return t.view(torch.int32).numpy().view(np.uint32)


@pytest.mark.parametrize("fn, reference", [("f16_to_f32", _f16_reference), ("bf16_to_f32", _bf16_reference)])
def test_every_bit_pattern(instance, fn, reference):
    bits = np.arange(N, dtype=np.uint16)
    got = _widen(instance, fn, bits, SRC, DST)
    want = reference(bits)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{fn}: {bad.size} patterns differ, e.g. 0x{int(bits[bad[0]]):04x} -> "
                           f"0x{int(got[bad[0]]):08x}, want 0x{int(want[bad[0]]):08x}")


@pytest.mark.parametrize("fn, reference", [("f16_to_f32", _f16_reference), ("bf16_to_f32", _bf16_reference)])
@pytest.mark.parametrize("n, src, dst", [(0, 16, 64), (1, 18, 64), (3, 16, 100), (5, 22, 70), (17, 17, 203)])
def test_tails_and_unaligned(instance, fn, reference, n, src, dst):
    """The scalar tail (n % 4), and addresses that are not multiples of 2, 4 or 16."""
    rng = np.random.default_rng(n)
    bits = rng.integers(0, N, n, dtype=np.uint16)
    bits[: min(n, 4)] = [0x0001, 0x8000, 0x7C01, 0xFC00][: min(n, 4)]  # subnormal, -0, NaN, -inf
    assert np.array_equal(_widen(instance, fn, bits, src, dst), reference(bits))
