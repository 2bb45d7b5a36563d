"""The relaxed-SIMD (FMA) variant an artifact carries beside its SIMD128 module.

``save()`` stores the FMA code in a custom section without a data section (the weights are
stored once); the loaders run it where the engine has relaxed SIMD (wasmtime; Node 20 only
with ``--experimental-wasm-relaxed-simd``; headless Chromium: ``test_browser.py``) and the
SIMD128 module elsewhere. Checked here: the format and its size, which variant runs, that
the SIMD128 module is the compiled model bit for bit and the FMA variant matches eager
within a rounding tolerance while really differing (fused), determinism, the options that
force either, and hostile variant sections in both loaders.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend
from tests.e2e.js.models import ROOT, raw, save_case
from torch_wasm_backend.export import SaveError
from torch_wasm_backend.runtime.artifact import ArtifactError, read_manifest
from torch_wasm_backend.runtime.manifest import MANIFEST_SECTION, manifest_section
from torch_wasm_backend.runtime.variants import RELAXED_SECTION, splice, variant_section
from torch_wasm_backend.runtime.wasm_binary import custom_sections, sections, size_breakdown, strip_custom_section
from torch_wasm_backend.runtime.wasmtime_engine import WasmtimeEngine

NODE = shutil.which("node")
RUNNER = ROOT / "tests" / "e2e" / "js" / "run_node.mjs"
RELAXED_FLAG = "--experimental-wasm-relaxed-simd"
# the FMA variant against eager: float32 dot products of length <= 784, one rounding per step
RTOL, ATOL = 1e-4, 1e-4


def _mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(300, 96), torch.nn.ReLU(), torch.nn.Linear(96, 10)).eval()
    return model, torch.randn(5, 300)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    d = tmp_path_factory.mktemp("fma")
    model, x = _mlp()
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm")
    with torch.no_grad():
        compiled = fast(x)
        eager = model(x)
    manifest = torch_wasm_backend.save(fast, d / "both.wasm")
    torch_wasm_backend.save(fast, d / "plain.wasm", relaxed_simd=False)
    return {
        "dir": d,
        "x": x.numpy(),
        "compiled": compiled.numpy(),
        "eager": eager.numpy(),
        "manifest": manifest,
        "both": (d / "both.wasm").read_bytes(),
        "plain": (d / "plain.wasm").read_bytes(),
    }


def test_format_stores_the_weights_once(mlp):
    wasm, plain = mlp["both"], mlp["plain"]
    entry = mlp["manifest"]["variants"]["relaxed_simd"]
    assert entry["section"] == RELAXED_SECTION
    stored = custom_sections(wasm)[RELAXED_SECTION]
    assert len(stored) == entry["bytes"]
    assert "data" not in size_breakdown(stored)  # the variant has code, no weights
    assert size_breakdown(wasm)["data"] == size_breakdown(plain)["data"]
    assert len(wasm) - len(plain) <= len(stored) + 200  # the section, its header and the manifest entry
    assert len(stored) < 0.1 * size_breakdown(plain)["data"]  # code only: small beside 120 kB of weights
    assert read_manifest(plain).get("variants") is None and read_manifest(wasm)["requires"]["relaxed_simd"] is False
    main = strip_custom_section(strip_custom_section(wasm, MANIFEST_SECTION), RELAXED_SECTION)
    assert b"\xfd\x85\x02" in splice(main, stored) and b"\xfd\x85\x02" not in main  # f32x4.relaxed_madd


def test_python_runs_simd128_by_default_and_the_fma_variant_on_request(mlp):
    """In wasmtime the FMA variant measured slower, so Python's "auto" keeps the SIMD128 module."""
    x = mlp["x"]
    assert torch_wasm_backend.load(mlp["both"]).variant == "simd128"
    auto = torch_wasm_backend.load(mlp["both"], variant="relaxed_simd")
    plain = torch_wasm_backend.load(mlp["both"], variant="simd128")
    assert (auto.variant, plain.variant) == ("relaxed_simd", "simd128")
    assert torch_wasm_backend.load(mlp["plain"]).variant == "simd128"
    fused, unfused = auto(x), plain(x)
    assert np.array_equal(unfused, mlp["compiled"])  # the SIMD128 module is the code the compiled model ran
    np.testing.assert_allclose(fused, mlp["eager"], rtol=RTOL, atol=ATOL)
    assert not np.array_equal(fused, unfused), "the FMA variant gave the SIMD128 bits: it did not run fused"
    again = torch_wasm_backend.load(mlp["both"], variant="relaxed_simd")(x)
    assert np.array_equal(again, fused)  # deterministic for a given engine setting


def test_engine_without_relaxed_simd_runs_the_simd128_module(mlp):
    engine = WasmtimeEngine(relaxed_simd=False, cache_dir=False)
    model = torch_wasm_backend.load(mlp["both"], engine=engine)
    assert model.variant == "simd128" and np.array_equal(model(mlp["x"]), mlp["compiled"])
    with pytest.raises(ArtifactError, match="runs without relaxed SIMD"):
        torch_wasm_backend.load(mlp["both"], engine=engine, variant="relaxed_simd")


def test_forcing_and_bad_options_are_clear(mlp, tmp_path):
    with pytest.raises(ArtifactError, match="has no relaxed-SIMD variant"):
        torch_wasm_backend.load(mlp["plain"], variant="relaxed_simd")
    with pytest.raises(ArtifactError, match="expected one of 'auto', 'simd128', 'relaxed_simd'"):
        torch_wasm_backend.load(mlp["both"], variant="fma")
    model, x = _mlp()
    fast = torch.compile(model, backend="wasm")
    with pytest.raises(SaveError, match="relaxed_simd='yes'.*expected 'both'"):
        torch_wasm_backend.save(fast, tmp_path / "m.wasm", example_inputs=(x,), relaxed_simd="yes")
    torch_wasm_backend.save(fast, tmp_path / "only.wasm", example_inputs=(x,), relaxed_simd=True)
    only = (tmp_path / "only.wasm").read_bytes()
    assert read_manifest(only)["requires"]["relaxed_simd"] is True and "variants" not in read_manifest(only)
    assert torch_wasm_backend.load(only).variant == "relaxed_simd"
    with pytest.raises(ArtifactError, match="has no SIMD128 module"):
        torch_wasm_backend.load(only, variant="simd128")


def test_a_graph_without_gemm_gets_no_variant(tmp_path):
    fast = torch.compile(lambda x: torch.tanh(x) * 2, backend="wasm")
    manifest = torch_wasm_backend.save(fast, tmp_path / "p.wasm", example_inputs=(torch.randn(40),))
    assert "variants" not in manifest and RELAXED_SECTION not in custom_sections((tmp_path / "p.wasm").read_bytes())


# --------------------------------------------------------------------------- Node
def _node(*args):
    proc = subprocess.run([NODE, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_node_runs_the_variant_its_flags_allow(name, tmp_path):
    case = save_case(name, tmp_path)
    assert case.fused is not None, "the case has no packed GEMM any more: pick a model with one"
    assert any(not np.array_equal(f, e) for f, e in zip(case.fused, case.expected)), "FMA changed nothing"
    for flags, variant in (
        ((), "simd128"),
        ((RELAXED_FLAG,), "relaxed_simd"),
        ((RELAXED_FLAG, "--variant=simd128"), "simd128"),
    ):
        out = tmp_path / f"out_{len(flags)}_{variant}"
        out.mkdir()
        node_flags = [f for f in flags if not f.startswith("--variant")]
        script = [f for f in flags if f.startswith("--variant")]
        report = _node(*node_flags, RUNNER, *script, case.artifact, out, *case.input_files)
        assert report["variant"] == variant, flags
        for got, want, eager in zip(report["outputs"], case.reference(variant), case.eager):
            data = Path(got["file"]).read_bytes()
            assert data == raw(want), f"{name} {got['name']} with {flags}: node and python {variant} differ"
            np.testing.assert_allclose(want, eager, rtol=RTOL, atol=RTOL, err_msg=f"{name} {variant} vs eager")


# --------------------------------------------------------------------------- hostile variant sections
def _rebuild(wasm: bytes, payload: bytes | None, declared: int | None = None) -> bytes:
    """``wasm`` with its variant section replaced by ``payload`` (None: removed but still
    declared in the manifest) and the manifest's ``bytes`` set to ``declared`` (default: the
    payload's length)."""
    manifest = read_manifest(wasm)
    main = strip_custom_section(strip_custom_section(wasm, MANIFEST_SECTION), RELAXED_SECTION)
    manifest["variants"]["relaxed_simd"]["bytes"] = declared if declared is not None else len(payload or b"x" * 8)
    return main + manifest_section(manifest) + (variant_section(payload) if payload is not None else b"")


def _tiny(wat: str, tmp_path) -> bytes:
    src, out = tmp_path / "t.wat", tmp_path / "t.wasm"
    src.write_text(wat)
    subprocess.run([shutil.which("wat2wasm"), src, "-o", out], check=True)
    return out.read_bytes()


def _hostile(mlp, tmp_path) -> dict:
    wasm = mlp["both"]
    stored = custom_sections(wasm)[RELAXED_SECTION]
    main = strip_custom_section(strip_custom_section(wasm, MANIFEST_SECTION), RELAXED_SECTION)
    code = next((s, e) for sid, s, e in sections(stored) if sid == 10)
    bad_code = bytearray(stored)
    bad_code[code[0] + (code[1] - code[0]) // 2] = 0xFF  # an invalid opcode mid-body; the layout stays
    return {
        "garbage": (_rebuild(wasm, b"\0asm\x01\0\0\0" + b"\x0a\xff\xff" + bytes(40)), "not a valid WebAssembly module"),
        "with_data": (_rebuild(wasm, splice(main, stored)), "has a data section of its own"),
        "imports": (_rebuild(wasm, _tiny('(module (import "env" "f" (func)))', tmp_path)), "imports something"),
        "memory": (
            _rebuild(
                wasm,
                _tiny(
                    '(module (memory (export "memory") 1) (func (export "forward")) (func (export "prepare")))',
                    tmp_path,
                ),
            ),
            "another memory section",
        ),
        "length": (_rebuild(wasm, stored, declared=len(stored) + 4), "the manifest says"),
        "missing": (_rebuild(wasm, None), "the file has no such section"),
        "bad_code": (_rebuild(wasm, bytes(bad_code)), "the relaxed-SIMD variant does not compile"),
    }


def test_python_rejects_hostile_variants(mlp, tmp_path):
    for name, (wasm, message) in _hostile(mlp, tmp_path).items():
        with pytest.raises(ArtifactError, match=message):
            torch_wasm_backend.load(wasm, variant="relaxed_simd")
        if name == "bad_code":  # well-formed but not valid code: compiled (and rejected) only where it runs
            assert torch_wasm_backend.load(wasm).variant == "simd128"
        else:  # structurally wrong: rejected whichever variant would run
            with pytest.raises(ArtifactError, match=message):
                torch_wasm_backend.load(wasm, variant="simd128")


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_node_rejects_hostile_variants(mlp, tmp_path):
    cases = _hostile(mlp, tmp_path)
    paths = []
    for name, (wasm, _) in cases.items():
        paths.append(tmp_path / f"{name}.wasm")
        paths[-1].write_bytes(wasm)
    script = ROOT / "tests" / "e2e" / "js" / "load_errors.mjs"
    for flags in ((), (RELAXED_FLAG,)):
        results = _node(*flags, script, *paths)
        for (name, (_, message)), result in zip(cases.items(), results):
            if name == "bad_code" and not flags:  # Node 20 without the flag never compiles the variant
                assert result == {"loaded": True}, result
                continue
            assert "error" in result, (name, flags, result)
            assert result["error"]["name"] == "ArtifactError" and message in result["error"]["message"], (
                name,
                flags,
                result,
            )


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_fma_variant_with_dynamic_sizes_and_half_weights(tmp_path):
    """The variant shares the start function's widening of float16 weights and the parameter
    block of dynamic sizes: Node (flag on) and Python run it to the same bits at every size."""
    from tests.e2e.js.models import cpu_has_fma

    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    path = tmp_path / "dyn.wasm"
    manifest = torch_wasm_backend.save(
        torch.compile(layer, backend="wasm"),
        path,
        example_inputs=(torch.randn(2, 9, 32),),
        dynamic={"src": {1: 48}},
        weights="float16",
    )
    assert "variants" in manifest and manifest["weights"] == {"dtype": "float16"}
    fused, plain = torch_wasm_backend.load(path, variant="relaxed_simd"), torch_wasm_backend.load(path, variant="simd128")
    assert fused.variant == "relaxed_simd"
    for s in (1, 17, 48):
        x = np.random.default_rng(s).standard_normal((2, s, 32)).astype(np.float32)
        (tmp_path / "x.bin").write_bytes(raw(x))
        out = tmp_path / f"out{s}"
        out.mkdir()
        report = _node(RELAXED_FLAG, RUNNER, path, out, tmp_path / "x.bin")
        assert report["variant"] == "relaxed_simd"
        want = fused(x) if cpu_has_fma() else plain(x)
        got = np.frombuffer(Path(report["outputs"][0]["file"]).read_bytes(), np.float32).reshape(want.shape)
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), s
        np.testing.assert_allclose(got, plain(x), rtol=1e-3, atol=1e-4)  # rounding apart from SIMD128
