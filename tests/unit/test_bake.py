"""bake(): which bytes a saved artifact stores and what its prepare still runs (no toolchain).

A linear layer ``F.linear(x, W, b)``: ``prepare`` packs W into GEMM panels, ``forward`` reads the
panels and b. A float32 artifact stores panels and b but not W, and runs no prepare kernel;
a float16 one stores W and b rounded (after the persistent region), widens them and
re-derives the panels.
"""

import numpy as np
import pytest
import torch

from torch_wasm_backend import ir
from torch_wasm_backend.bake import BakeError, bake, forward_reads, round_half
from torch_wasm_backend.config import Options
from torch_wasm_backend.lower import lower_graph
from torch_wasm_backend.memory import plan_memory
from torch_wasm_backend.schedule import schedule

from .helpers import aten_graph


@pytest.fixture(scope="module")
def linear():
    inputs = [torch.randn(32, 40), torch.randn(24, 40), torch.randn(24)]
    prog = lower_graph(aten_graph(torch.nn.functional.linear, *inputs), inputs, weight_indices=frozenset({1, 2}))
    sched = schedule(prog, Options())
    plan = plan_memory(sched)
    weight, bias = (s.buffer for s in prog.inputs[1:])
    packs = [p.kernel for p in sched.prepare if isinstance(p.kernel, ir.PackB)]
    assert len(packs) == 1 and packs[0].src.buffer == weight, "expected prepare to pack W"
    # an image of the persistent region: distinct non-zero bytes per buffer
    image = bytearray(plan.persistent_end)
    rng = np.random.default_rng(0)
    for name in sched.persistent:
        p = plan.placements[name]
        image[p.offset: p.offset + p.nbytes] = rng.standard_normal(p.nbytes // 4).astype(np.float32).tobytes()
    return sched, plan, bytes(image), weight, bias, packs[0].out


def _covered(segments, plan, name) -> bool:
    p = plan.placements[name]
    return any(off <= p.offset and p.offset + p.nbytes <= off + len(d) for off, d in segments)


def _touched(segments, plan, name) -> bool:
    p = plan.placements[name]
    return any(off < p.offset + p.nbytes and p.offset < off + len(d) for off, d in segments)


def test_forward_reads_the_panels_not_the_weight(linear):
    sched, _, _, weight, bias, packed = linear
    gemm = next(p.kernel for p in sched.forward if isinstance(p.kernel, ir.Gemm))
    assert forward_reads(gemm) == {gemm.a.buffer, packed, bias}


def test_float32_stores_what_forward_reads(linear):
    sched, plan, image, weight, bias, packed = linear
    baked = bake(sched, plan, image, "float32")
    assert _covered(baked.segments, plan, packed) and _covered(baked.segments, plan, bias)
    assert not _touched(baked.segments, plan, weight)
    assert baked.prepare == () and baked.widen == () and baked.pages == plan.pages
    for off, data in baked.segments:  # the stored bytes are the image's
        assert data == image[off: off + len(data)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_stores_the_rounded_weight_and_rederives(linear, dtype):
    sched, plan, image, weight, bias, packed = linear
    baked = bake(sched, plan, image, dtype)
    for name in (packed, weight, bias):  # nothing in float32: W and b are halved, the panels re-derived
        assert not _touched(baked.segments, plan, name)
    assert [type(p.kernel) for p in baked.prepare] == [ir.PackB]
    routines = {fn for fn, *_ in baked.widen}
    assert routines == {"$f16_to_f32" if dtype == "float16" else "$bf16_to_f32"}
    # every f32 weight lies in one widened run, whose source holds its rounded values
    stored = {off: data for off, data in baked.segments}
    for name in (weight, bias):
        p = plan.placements[name]
        fn, src, dst, n = next(w for w in baked.widen if w[2] <= p.offset < w[2] + 4 * w[3])
        assert src >= plan.persistent_end, "the half values must not overlap the persistent region"
        seg_off = max(o for o in stored if o <= src)
        halves = np.frombuffer(stored[seg_off], np.uint16, n, src - seg_off)
        i = (p.offset - dst) // 4
        want = round_half(np.frombuffer(image, np.float32, p.nbytes // 4, p.offset).copy(), dtype)
        assert np.array_equal(halves[i: i + p.nbytes // 4], want)
    assert baked.data_bytes < 0.6 * bake(sched, plan, image, "float32").data_bytes


def test_round_half_is_round_to_nearest_even():
    x = np.array([1 + 2**-11, 1 + 3 * 2**-11, 65520.0, 1e-8, -0.0], np.float32)  # ties, overflow, underflow
    assert round_half(x, "float16").view(np.float16).tolist() == [1.0, 1 + 2**-9, float("inf"), 0.0, -0.0]
    y = np.array([1 + 2**-8, 1 + 3 * 2**-8], np.float32)
    assert round_half(y, "bfloat16").tolist() == [0x3F80, 0x3F82]


def test_unknown_dtype(linear):
    sched, plan, image, *_ = linear
    with pytest.raises(BakeError, match="float16"):
        bake(sched, plan, image, "int8")
