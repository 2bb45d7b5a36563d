"""Every model that compiles to one graph saves with a bare ``save(compiled, path)`` after a
call with its natural arguments (keywords for the transformers models), and the artifact
gives the compiled model's outputs bit for bit in a fresh Python process (torch blocked),
in Node and in headless Chromium. Random-init transformers models from small configs: no
download."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend
from tests.e2e.js.models import ROOT, cpu_has_fma, raw
from tests.e2e.test_browser import CHROMIUM, demo_model, open_page, server, workdir  # noqa: F401  (fixtures)
from tests.e2e.test_node import NODE, RUNNER, node

tf = pytest.importorskip("transformers", reason="transformers is a test extra: pip install -e .[test]")


class MHA(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = torch.nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, query, memory):
        return self.mha(query, memory, memory, need_weights=False)[0]


class BasicBlock(torch.nn.Module):
    """A ResNet basic block with batch norm (running statistics randomised)."""

    def __init__(self, c=8):
        super().__init__()
        self.conv1, self.bn1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c)
        self.conv2, self.bn2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


def _ids(batch, seq, vocab=99):
    ids = torch.randint(0, vocab, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[-1, seq - 2:] = 0  # padding in the last row
    return {"input_ids": ids, "attention_mask": mask}


def build(name):
    """(model, a function making keyword inputs, expected input names, expected output names)"""
    small = dict(num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
    if name == "bert":
        cfg = tf.BertConfig(vocab_size=99, hidden_size=32, max_position_embeddings=64, **small)
        return (tf.BertModel(cfg), lambda: _ids(2, 7), ["input_ids", "attention_mask"],
                ["last_hidden_state", "pooler_output"])
    if name == "gpt2":
        cfg = tf.GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64, use_cache=False,
                            bos_token_id=0, eos_token_id=0)
        return tf.GPT2LMHeadModel(cfg), lambda: _ids(2, 7), ["input_ids", "attention_mask"], ["logits"]
    if name == "vit":
        cfg = tf.ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=32, **small)
        return (tf.ViTModel(cfg), lambda: {"pixel_values": torch.randn(2, 3, 16, 16)}, ["pixel_values"],
                ["last_hidden_state", "pooler_output"])
    if name == "mha":
        return MHA(), lambda: {"query": torch.randn(2, 5, 32), "memory": torch.randn(2, 7, 32)}, \
            ["query", "memory"], ["output0"]
    if name == "resnet_block":
        return BasicBlock(), lambda: {"x": torch.randn(2, 8, 9, 9)}, ["x"], ["output0"]
    raise KeyError(name)


NAMES = ["bert", "gpt2", "vit", "mha", "resnet_block"]


@dataclass
class Saved:
    name: str
    artifact: Path
    manifest: dict
    input_files: list  # raw bytes per input, manifest order (fresh values, not the ones save() used)
    expected: dict  # manifest output index -> numpy array: the compiled model on those inputs
    fused: dict | None = None  # the same from the artifact's FMA variant in wasmtime, when it has one

    def reference(self, variant: str) -> dict:
        """What a loader running ``variant`` must give byte for byte (``models.Case.reference``)."""
        return self.fused if variant == "relaxed_simd" and self.fused is not None and cpu_has_fma() else self.expected


def _flat(tree, value, out):
    """{manifest output index: tensor} from the model's returned structure and output_tree."""
    if "tensor" in tree:
        out[tree["tensor"]] = value
    elif "dict" in tree:
        for key, sub in tree["dict"]:
            _flat(sub, value[key], out)
    else:
        for sub, v in zip(tree.get("tuple", tree.get("list", [])), value):
            _flat(sub, v, out)
    return out


@pytest.fixture(scope="module")
def saved(workdir):  # noqa: F811  (the browser tests' fixture: its server serves this directory)
    cases = {}
    for name in NAMES:
        torch.manual_seed(0)
        model, make_inputs, in_names, out_names = build(name)
        model.eval()
        torch._dynamo.reset()
        fast = torch.compile(model, backend="wasm")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("error", torch_wasm_backend.wasm_backend.__globals__["WasmFallbackWarning"])
            fast(**make_inputs())  # the natural call: keyword arguments
        path = workdir / f"{name}.wasm"
        manifest = torch_wasm_backend.save(fast, path)  # no example_inputs: it has run
        assert [i["name"] for i in manifest["inputs"]] == in_names, name
        assert [o["name"] for o in manifest["outputs"]] == out_names, name
        fresh = make_inputs()
        with torch.no_grad():
            want = _flat(manifest["output_tree"], fast(**fresh), {})
        files = []
        for spec in manifest["inputs"]:
            f = workdir / f"{name}.{spec['name']}.bin"
            f.write_bytes(raw(fresh[spec["name"]].numpy()))
            files.append(f)
        fused = None
        if "variants" in manifest:
            runs = torch_wasm_backend.load(path, variant="relaxed_simd").run_flat(**{k: v.numpy() for k, v in fresh.items()
                                                                                     if k in in_names})
            fused = dict(enumerate(runs))
        cases[name] = Saved(name, path, manifest, files, {k: v.numpy() for k, v in want.items()}, fused)
    return cases


def _assert_bitwise(name, k, data: bytes, want: np.ndarray, where: str):
    if data != raw(want):
        got = np.frombuffer(data, want.dtype) if len(data) == want.nbytes else None
        worst = float(np.max(np.abs(got - want.ravel()))) if got is not None and want.dtype.kind == "f" else None
        pytest.fail(f"{name} output {k}: {where} differs from the compiled model ({len(data)} vs {want.nbytes} "
                    f"bytes; max abs difference {worst})")


def test_fresh_python_process_without_torch(saved, tmp_path):
    for name, case in saved.items():
        out = tmp_path / name
        out.mkdir()
        # this checkout's package (not another editable install); its load() runs the SIMD128 module
        subprocess.run([sys.executable, str(ROOT / "tests" / "e2e" / "py" / "run_artifact.py"), str(case.artifact),
                        str(out), *map(str, case.input_files)], check=True, capture_output=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        for k, want in case.expected.items():
            _assert_bitwise(name, k, (out / f"{k}.bin").read_bytes(), want, "a fresh Python process")


@pytest.mark.skipif(NODE is None, reason="node is not on PATH; install Node.js >= 18 to run the JS loader tests")
def test_node_with_named_inputs(saved, tmp_path):
    for name, case in saved.items():
        out = tmp_path / name
        out.mkdir()
        report = json.loads(node(RUNNER, case.artifact, out, *case.input_files, timeout=120).stdout)
        names = [o["name"] for o in case.manifest["outputs"]]
        assert [o["name"] for o in report["outputs"]] == names
        for k, want in case.expected.items():
            _assert_bitwise(name, k, Path(report["outputs"][k]["file"]).read_bytes(), want, "Node")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH; install it (apt-get install -y "
                    "--no-install-recommends chromium) to run the browser tests")
def test_chromium(saved, server, workdir):  # noqa: F811
    listing = [{"name": name, "source": "url", "artifact": f"/_e2e/{case.artifact.name}",
                "inputs": [f"/_e2e/{f.name}" for f in case.input_files]} for name, case in saved.items()]
    (workdir / "real_models.json").write_text(json.dumps(listing))
    report = json.loads(open_page(server, "/tests/e2e/js/browser_check.html?cases=/_e2e/real_models.json", "real"))
    assert report["ok"], report.get("error")
    for name, case in saved.items():
        outputs = report["results"][name]["outputs"]
        variant = report["results"][name]["variant"]  # Chromium has relaxed SIMD: the FMA variant where there is one
        assert variant == ("relaxed_simd" if case.fused is not None else "simd128"), (name, variant)
        for k, want in case.reference(variant).items():
            _assert_bitwise(name, k, base64.b64decode(outputs[k]["base64"]), want, f"Chromium ({variant})")
