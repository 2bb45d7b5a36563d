"""int8: models quantized by PyTorch's PT2E flow (``torch_wasm_backend.quantize``) run as int8
kernels in WebAssembly, against the converted graph run eagerly (PyTorch's reference).

* Where the reference's own float arithmetic is exact (power-of-two scales, biases on the
  grid), every output equals the reference bit for bit, integer outputs included.
* With calibrated scales, float outputs are within one quantisation step of the reference
  and integer outputs differ by at most one, rarely (the reference rounds every product and
  partial sum in its float GEMM; our int32 sums are exact).
* Artifacts store int8 weights (<= 0.3x the float32 file) and run in Python, Node and
  headless Chromium with the same output bytes.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import math
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend import ir

pytest.importorskip("torchao", reason="the quant extra: pip install torch_wasm_backend[quant]")

qd = torch.ops.quantized_decomposed
ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def mlp(k=37, hidden=29, n=13):
    torch.manual_seed(0)  # K and N not multiples of 8 or 16, a relu fused into the requantisation
    return torch.nn.Sequential(torch.nn.Linear(k, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n)).eval()


def quantized(model, k, batch=6):
    torch.manual_seed(1)
    calibration = [torch.randn(batch * 2, k) for _ in range(3)]
    return torch_wasm_backend.quantize(model, (torch.randn(batch, k),), calibration=calibration)


def qgemms(graphs) -> int:
    return sum(isinstance(p.kernel, ir.QGemm) for g in graphs for p in g.schedule.forward)


def compile_strict(model, **options):
    return torch.compile(model, backend="wasm", options={"strict": True, **options})


def last_output_scale(gm) -> float:
    node = next(n for n in reversed(gm.graph.nodes) if n.target == qd.dequantize_per_tensor.default)
    return float(node.args[1])


def integer_outputs(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """The converted graph returning the int8 tensor its last dequantize reads."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    dq = out.args[0][0]
    assert dq.target == qd.dequantize_per_tensor.default
    out.args = ((dq.args[0],),)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def power_of_two_scales(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Every scale rounded to a power of two and every bias to the grid of its products:
    then the reference's float dequantize, GEMM and quantize are exact whatever the order
    of its sums, and any difference from it is ours."""

    def p2(s):
        return 2.0 ** round(math.log2(s))

    x_scale = {}
    for node in gm.graph.nodes:
        if node.target in (qd.quantize_per_tensor.default, qd.dequantize_per_tensor.default):
            node.args = (node.args[0], p2(node.args[1]), *node.args[2:])
            x_scale[node] = node.args[1]
    gm.recompile()
    with torch.no_grad():
        for name, buf in gm.named_buffers():
            if name.startswith("_scale"):
                buf.copy_(torch.tensor([p2(float(s)) for s in buf]))
        for node in gm.graph.nodes:  # linear(dequant(x), dequant_per_channel(w, s), b): b on the grid s_x * s[n]
            if node.target in (torch.ops.aten.linear.default, torch.ops.aten.conv2d.default) and len(node.args) > 2:
                sx = x_scale[node.args[0]]
                sw = getattr(gm, node.args[1].args[1].target)
                bias = gm.get_parameter(node.args[2].target)
                grid = sx * sw
                bias.copy_(torch.round(bias / grid) * grid)
    gm.recompile()
    return gm


def test_converted_graph_holds_reference_qdq_ops():
    gm = quantized(mlp(), 37)
    ops = {n.target for n in gm.graph.nodes if n.op == "call_function"}
    assert {qd.quantize_per_tensor.default, qd.dequantize_per_tensor.default,
            qd.dequantize_per_channel.default} <= ops
    weights = [b for name, b in gm.named_buffers() if b.dtype == torch.int8]
    assert len(weights) == 2 and all(int(w.abs().max()) <= 127 for w in weights)
    dequantize = [n for n in gm.graph.nodes if n.target == qd.dequantize_per_channel.default]
    assert len(dequantize) == 2 and all(n.args[2] is None for n in dequantize)  # symmetric: zero points 0
    assert not [name for name, _ in gm.named_buffers() if name.startswith("_zero_point")]


def test_exact_when_the_reference_is_exact(compiled_graphs):
    gm = power_of_two_scales(quantized(mlp(), 37))
    x = torch.randn(5, 37) * 2
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert qgemms(compiled_graphs) == 2
    assert torch.equal(got, want)
    torch._dynamo.reset()
    gm = integer_outputs(gm)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert got.dtype == torch.int8 and torch.equal(got, want)


def test_float_outputs_within_one_step(compiled_graphs):
    model = mlp()
    gm = quantized(model, 37)
    step = last_output_scale(gm)
    fast = compile_strict(gm)
    for batch in (3, 8, 1):  # 8: a recompile with a symbolic batch
        x = torch.randn(batch, 37)
        with torch.no_grad():
            want, got = gm(x), fast(x)
        assert got.shape == want.shape
        assert (got - want).abs().max().item() <= step * 1.0001, batch
        assert want.abs().max().item() > 10 * step  # not a degenerate comparison
        with torch.no_grad():  # and the reference is the model, approximately
            assert (want - model(x)).abs().max().item() < 0.05
    assert qgemms(compiled_graphs) >= 3


def test_integer_outputs_match_the_reference():
    gm = integer_outputs(quantized(mlp(53, 61, 19), 53))
    x = torch.randn(40, 53)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert got.dtype == torch.int8
    diff = (got.int() - want.int()).abs()
    assert diff.max().item() <= 1
    assert (diff != 0).float().mean().item() <= 0.01, int((diff != 0).sum())


def test_a_quantized_layer_result_is_requantised_in_the_gemm_store(compiled_graphs):
    """Linear -> relu -> quantize (n = 29: a partial last panel) is one int8 GEMM writing
    int8 (``ir.QRequant``), which the next GEMM reads in place as its A (no copy between);
    the last layer's quantized output too (its dequantize reads the int8). Outputs as the
    reference's, bit for bit, where it is exact; integers within one otherwise."""
    gm = power_of_two_scales(quantized(mlp(), 37))
    x = torch.randn(9, 37) * 2
    with torch.no_grad():
        assert torch.equal(compile_strict(gm)(x), gm(x))
    kernels = [p.kernel for g in compiled_graphs for p in g.schedule.forward]
    q = [k for k in kernels if isinstance(k, ir.QGemm)]
    assert [k.requant is not None for k in q] == [True, True]
    assert q[1].a == q[0].c  # read in place
    assert not any(isinstance(k, ir.Pointwise) and k.out == q[1].a for k in kernels)
    torch._dynamo.reset()
    compiled_graphs.clear()
    gm = integer_outputs(quantized(mlp(40, 64, 20), 40))  # n % 4 == 0, calibrated scales, int8 output
    x = torch.randn(33, 40)
    with torch.no_grad():
        want, got = gm(x), compile_strict(gm)(x)
    assert [k.requant is not None for g in compiled_graphs for p in g.schedule.forward
            if isinstance(k := p.kernel, ir.QGemm)] == [True, True]
    diff = (got.int() - want.int()).abs()
    assert diff.max().item() <= 1 and (diff != 0).float().mean().item() <= 0.01


def test_weight_zero_points_that_are_not_zero(compiled_graphs):
    """Per-channel weight zero points other than 0 (not this quantizer's scheme, but valid
    q/dq): the GEMM subtracts ``z_w[n] * sum(x[m, :])`` in its store; exact where the
    reference is; two threads give the single thread's bits."""
    gm = power_of_two_scales(quantized(mlp(), 37))
    for i, node in enumerate(n for n in list(gm.graph.nodes) if n.target == qd.dequantize_per_channel.default):
        zp = torch.tensor([(c % 5) - 2 for c in range(getattr(gm, node.args[0].target).shape[0])], dtype=torch.int64)
        gm.register_buffer(f"_test_zero_point_{i}", zp)
        with gm.graph.inserting_before(node):
            node.args = (*node.args[:2], gm.graph.get_attr(f"_test_zero_point_{i}"), *node.args[3:])
    gm.recompile()
    x = torch.randn(9, 37) * 2
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    q = [p.kernel for g in compiled_graphs for p in g.schedule.forward if isinstance(p.kernel, ir.QGemm)]
    assert q and all(k.requant is not None and k.requant.zw for k in q)
    assert torch.equal(got, want)
    from tests.e2e.test_threads import check_threads, split_all

    with split_all():  # the row sums and per-column zero points of each thread's panels
        check_threads(gm, (x,), counts=(2,))


def test_transformer_encoder_layers(compiled_graphs):
    """Two nn.TransformerEncoderLayers (attention's matmuls and the layer norms in float):
    every linear layer's result is requantised in its GEMM's store (through the residual
    branch's transposes of unit dims and dropouts), the layer norm's output quantized once
    for its two readers; within one step of the reference."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1)
    model = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(6, 1, 16)
    gm = torch_wasm_backend.quantize(model, (x,), calibration=[torch.randn(6, 1, 16) for _ in range(3)])
    with torch.no_grad():
        want, got = gm(x), compile_strict(gm)(x)
    assert (got - want).abs().max().item() <= last_output_scale(gm) * 1.0001
    q = [p.kernel for g in compiled_graphs for p in g.schedule.forward if isinstance(p.kernel, ir.QGemm)]
    assert len(q) == 8 and all(k.requant is not None for k in q)


def test_interpreter_is_the_kernels_spec():
    gm = quantized(mlp(), 37)
    x = torch.randn(7, 37)
    with torch.no_grad():
        wasm = compile_strict(gm)(x)
        torch._dynamo.reset()
        spec = compile_strict(gm, interpret=True)(x)
    assert torch.equal(wasm, spec)


def test_quantize_op_is_pytorchs_bit_for_bit():
    scale, zp = 0.0123, 7

    def f(x):
        q = qd.quantize_per_tensor.default(x, scale, zp, -128, 127, torch.int8)
        return q, qd.dequantize_per_tensor.default(q, scale, zp, -128, 127, torch.int8)

    halves = (torch.arange(-140, 140) + 0.5) * scale  # ties of round-half-even, and values past the clamp
    x = torch.cat([halves, torch.randn(1000) * 2, torch.tensor([0.0, -0.0, 1e6, -1e6])])
    want = f(x)
    got = compile_strict(f)(x)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_unsupported_int8_use_falls_back_with_a_reason():
    def f(a, b):
        return a + b  # int8 arithmetic: not quantized storage

    a = torch.randint(-100, 100, (8,), dtype=torch.int8)
    with pytest.warns(torch_wasm_backend.backend.WasmFallbackWarning, match="int8"):
        got = torch.compile(f, backend="wasm")(a, a)
    assert torch.equal(got, f(a, a))


def test_artifact_stores_int8_weights_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 200), torch.nn.ReLU(), torch.nn.Linear(200, 100),
                                torch.nn.ReLU(), torch.nn.Linear(100, 10)).eval()
    gm = quantized(model, 256, batch=16)
    x = torch.randn(16, 256)
    with torch.no_grad():
        fq, ff = compile_strict(gm), compile_strict(model)
        want = fq(x)
        ff(x)
    manifest = torch_wasm_backend.save(fq, tmp_path / "q.wasm")
    torch_wasm_backend.save(ff, tmp_path / "f.wasm")
    ratio = (tmp_path / "q.wasm").stat().st_size / (tmp_path / "f.wasm").stat().st_size
    assert ratio <= 0.3, ratio
    assert manifest["quantization"]["scheme"] == "int8" and manifest["quantization"]["int8_matmuls"] == 3
    assert [i["dtype"] for i in manifest["inputs"]] == ["float32"]
    x2 = torch.randn(16, 256)
    with torch.no_grad():
        want2 = fq(x2)
    loaded = torch_wasm_backend.load(tmp_path / "q.wasm")
    assert np.array_equal(loaded(x.numpy()), want.numpy())
    assert np.array_equal(loaded(x2.numpy()), want2.numpy())
    if NODE is None:
        pytest.skip("node is not on PATH")
    (tmp_path / "x.bin").write_bytes(x2.numpy().tobytes())
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([NODE, ROOT / "tests" / "e2e" / "js" / "run_node.mjs", tmp_path / "q.wasm", out,
                           tmp_path / "x.bin"], check=False, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    data = Path(report["outputs"][0]["file"]).read_bytes()
    assert data == want2.numpy().tobytes()


def test_without_torchao_the_helper_says_how_to_install():
    blocked = {name: None for name in list(sys.modules) if name == "torchao" or name.startswith("torchao.")}
    blocked.update({"torchao": None, "torch_wasm_backend.quantizer": None})
    with mock.patch.dict(sys.modules, blocked), pytest.raises(ImportError, match=r"pip install torch_wasm_backend\[quant\]"):
        torch_wasm_backend.quantize(mlp(), (torch.randn(2, 37),))


class ConvAdd(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 5, 3)
        self.head = torch.nn.Linear(5 * 6 * 6, 7)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.head(torch.flatten(y + y, 1))


def test_other_quantized_patterns_run_in_float_from_the_dequantized_values(compiled_graphs):
    """add has no int8 kernel: it runs in WebAssembly on the dequantized values, as the
    reference computes it, between an int8 convolution and an int8 linear layer."""
    torch.manual_seed(0)
    model = ConvAdd().eval()
    gm = torch_wasm_backend.quantize(model, (torch.randn(2, 3, 8, 8),),
                                     calibration=[torch.randn(4, 3, 8, 8) for _ in range(3)])
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert (got - want).abs().max().item() <= last_output_scale(gm) * 1.0001
    assert qgemms(compiled_graphs) == 2


def test_dynamic_quantization_chooses_scales_as_pytorch(compiled_graphs):
    def f(x):
        scale, zp = qd.choose_qparams.tensor(x, -128, 127, 2**-12, torch.int8)
        q = qd.quantize_per_tensor.tensor(x, scale, zp, -128, 127, torch.int8)
        return q, qd.dequantize_per_tensor.tensor(q, scale, zp, -128, 127, torch.int8)

    fast = compile_strict(f)
    for x in (torch.randn(300) * 3 + 1, torch.rand(64) * 5, -torch.rand(17), torch.zeros(9)):
        want, got = f(x), fast(x)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_dynamic_quantized_mlp(compiled_graphs):
    model = mlp()
    gm = torch_wasm_backend.quantize(model, (torch.randn(6, 37),), dynamic=True)
    ops = {n.target for n in gm.graph.nodes if n.op == "call_function"}
    assert qd.choose_qparams.tensor in ops
    fast = compile_strict(gm)
    for batch in (5, 12):
        x = torch.randn(batch, 37)
        with torch.no_grad():
            want, got = gm(x), fast(x)
            assert (want - model(x)).abs().max().item() < 0.05
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert qgemms(compiled_graphs) >= 4


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 6, 3, padding=1, stride=2)
        self.c2 = torch.nn.Conv2d(6, 5, 3, padding=2, dilation=2)
        self.head = torch.nn.Linear(5 * 5 * 5, 7)

    def forward(self, x):
        y = torch.relu(self.c2(torch.relu(self.c1(x))))
        return self.head(torch.flatten(y, 1))


def test_int8_convolution(compiled_graphs):
    """conv2d (padding filled with the zero point, stride, dilation) through an int8
    im2col and the same GEMM: within one step, and exact where the reference is."""
    torch.manual_seed(0)
    model = SmallCNN().eval()
    gm = torch_wasm_backend.quantize(model, (torch.randn(2, 3, 9, 9),),
                                     calibration=[torch.randn(4, 3, 9, 9) for _ in range(3)])
    x = torch.randn(3, 3, 9, 9)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert qgemms(compiled_graphs) == 3
    assert (got - want).abs().max().item() <= last_output_scale(gm) * 1.0001
    torch._dynamo.reset()
    gm = power_of_two_scales(gm)
    with torch.no_grad():
        assert torch.equal(compile_strict(gm)(x), gm(x))


class Residual3d(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(24, 40)
        self.down = torch.nn.Linear(40, 24)

    def forward(self, x):
        return self.down(torch.relu(self.up(x))) + x


def test_int8_linear_on_a_3d_input(compiled_graphs):
    """A linear layer on (B, S, K) flattens its input with a view: still the int8 GEMM."""
    torch.manual_seed(0)
    gm = torch_wasm_backend.quantize(Residual3d().eval(), (torch.randn(2, 5, 24),),
                                     calibration=[torch.randn(2, 5, 24) for _ in range(3)])
    x = torch.randn(3, 5, 24)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert qgemms(compiled_graphs) == 2
    assert (got - want).abs().max().item() <= last_output_scale(gm) * 1.0001


def test_artifact_with_a_variable_batch(tmp_path):
    gm = quantized(mlp(), 37)
    with torch.no_grad():
        fast = torch.compile(gm, backend="wasm")
        fast(torch.randn(6, 37))
    torch_wasm_backend.save(fast, tmp_path / "m.wasm", dynamic={"input": {0: 64}})
    loaded = torch_wasm_backend.load(tmp_path / "m.wasm")
    for batch in (1, 5, 64):
        x = torch.randn(batch, 37)
        with torch.no_grad():
            want = gm(x).numpy()
        assert np.abs(loaded(x.numpy()) - want).max() <= last_output_scale(gm) * 1.0001


def _rounds(graphs) -> int:
    """``round`` ops in the forward kernels: one per quantize the program computes."""
    return sum(1 for g in graphs for p in g.schedule.forward if hasattr(p.kernel, "body")
               for node in ir.walk(p.kernel.body) if isinstance(node, ir.Op) and node.name == "round")


def test_requantizing_with_the_same_parameters_is_the_int8_value(compiled_graphs):
    """quantize(dequantize(q, s, z), s, z) (PT2E's pair around ops that share parameters,
    here around a dropout of an eval model and a reshape) is q, clamped: bit for bit the
    reference's result, with one quantize computed instead of three."""
    scale, zp = 0.0123, 7

    def f(x):
        q = qd.quantize_per_tensor.default(x, scale, zp, -128, 127, torch.int8)
        d = torch.nn.functional.dropout(qd.dequantize_per_tensor.default(q, scale, zp, -128, 127, torch.int8),
                                        0.5, False)
        q2 = qd.quantize_per_tensor.default(d.reshape(-1, 4), scale, zp, -128, 127, torch.int8)
        d2 = qd.dequantize_per_tensor.default(q2, scale, zp, -128, 127, torch.int8)
        q3 = qd.quantize_per_tensor.default(d2, scale, zp, -20, 30, torch.int8)  # a narrower range: clamped
        return q2, q3

    halves = (torch.arange(-140, 140) + 0.5) * scale
    x = torch.cat([halves, torch.randn(996) * 2, torch.tensor([0.0, -0.0, 1e6, -1e6])])
    want = f(x)
    got = compile_strict(f)(x)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert _rounds(compiled_graphs) == 1


def test_a_quantized_value_read_by_float_ops_is_stored_once(compiled_graphs):
    """The int8 result of a quantize read by several float computations (a layer norm's
    mean, variance and normalisation) is stored as int8, not recomputed in each."""
    torch.manual_seed(0)

    class LinearNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(24, 24)
            self.norm = torch.nn.LayerNorm(24)

        def forward(self, x):
            return self.norm(self.fc(x) + x)

    model = LinearNorm().eval()
    gm = torch_wasm_backend.quantize(model, (torch.randn(5, 24),), calibration=[torch.randn(8, 24) for _ in range(3)])
    x = torch.randn(6, 24)
    with torch.no_grad():
        want = gm(x)
        got = compile_strict(gm)(x)
    assert qgemms(compiled_graphs) == 1
    assert (got - want).abs().max().item() < 1e-4 + 0.05 * want.abs().max().item()
    quantizes = sum(n.target == qd.quantize_per_tensor.default for n in gm.graph.nodes)
    assert _rounds(compiled_graphs) <= quantizes


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH; install it (apt-get install -y "
                    "--no-install-recommends chromium) to run the browser test")
def test_int8_artifact_runs_in_chromium(tmp_path):
    """An int8 artifact (convolutions with stride, dilation and padding, and a linear layer;
    batch 3: the GEMMs' widened-panel path for m >= 4 and the direct one for the linear
    layer's 3 rows) gives in headless Chromium, through csrc/js/loader.mjs, the bytes the
    Python loader gives, which are torch.compile's output. The page and its server are
    tests/e2e/test_browser.py's."""
    from tests.e2e import test_browser as tb

    torch.manual_seed(0)
    model = SmallCNN().eval()
    gm = torch_wasm_backend.quantize(model, (torch.randn(2, 3, 9, 9),),
                                     calibration=[torch.randn(4, 3, 9, 9) for _ in range(3)])
    x = torch.randn(3, 3, 9, 9)
    with torch.no_grad():
        fast = compile_strict(gm)
        want = fast(x).numpy()
    torch_wasm_backend.save(fast, tmp_path / "q.wasm")
    (tmp_path / "x.bin").write_bytes(x.numpy().tobytes())
    (tmp_path / "cases.json").write_text(json.dumps(
        [{"name": "int8", "source": "url", "artifact": "/_e2e/q.wasm", "inputs": ["/_e2e/x.bin"]}]))
    handler = type("Int8Handler", (tb.Handler,), {"routes": {"/_e2e/": tmp_path}, "reports": {},
                                                  "arrived": threading.Condition()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(ROOT)))
    httpd.handler = handler
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        report = json.loads(tb.open_page(httpd, "/tests/e2e/js/browser_check.html?cases=/_e2e/cases.json", "int8"))
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
    assert report["ok"], report.get("error")
    result = report["results"]["int8"]
    python = torch_wasm_backend.load(tmp_path / "q.wasm", variant=result["variant"])(x.numpy())
    assert np.array_equal(python, want)
    out = result["outputs"][0]
    assert out["shape"] == list(want.shape) and out["dtype"] == "float32"
    assert base64.b64decode(out["base64"]) == want.tobytes(), report["userAgent"]


def test_int8_gemms_shared_by_threads_are_bitwise_one_thread():
    """threads=2 and 3 (every kernel split, ``split_all``; 10 threads: more than the int8
    GEMM's ``ir.QGEMM_THREADS`` shares): the int8 GEMMs' column panels are shared out, with
    the single-thread module's output bits, for linear layers (m >= 4 and m < 4) and
    convolutions, n not a multiple of 4 included."""
    from tests.e2e.test_threads import check_threads, split_all

    from torch_wasm_backend.emit import threads

    torch.manual_seed(0)
    model = SmallCNN().eval()
    gm = torch_wasm_backend.quantize(model, (torch.randn(2, 3, 9, 9),),
                                     calibration=[torch.randn(4, 3, 9, 9) for _ in range(3)])
    mlp_gm = quantized(mlp(53, 61, 19), 53)
    shared = []
    real = threads._split_qgemm

    def spy(k, offsets):
        shared.append(k.name)
        return real(k, offsets)

    with split_all(), mock.patch.object(threads, "_split_qgemm", spy):
        check_threads(gm, (torch.randn(3, 3, 9, 9),), counts=(2, 3, 10))
        check_threads(mlp_gm, (torch.randn(7, 53),), counts=(2,))
        check_threads(mlp_gm, (torch.randn(2, 53),), counts=(3,))
    assert shared
