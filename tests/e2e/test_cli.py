"""The command line, run as users run it: ``python -m torch_wasm_backend ...`` in a subprocess.

``run`` and ``inspect`` get an MLP saved by ``torch_wasm_backend.save``; ``serve`` is started
on a free port (``--port 0``), its printed demo URL is fetched and the response headers are
checked (MIME types, COOP/COEP), then the server process is terminated.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend.__main__ import build_parser, describe_ratio, plural

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "torch_wasm_backend", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=ENV)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """(artifact path, input .npy path, the Python loader's output)."""
    d = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4)).eval()
    x = torch.randn(3, 12)
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), d / "mlp.wasm", example_inputs=(x,))
    np.save(d / "x.npy", x.numpy())
    return d / "mlp.wasm", d / "x.npy", torch_wasm_backend.load(d / "mlp.wasm")(x.numpy())


def test_version_matches_the_package_metadata():
    proc = cli("--version")
    assert proc.returncode == 0, proc.stderr
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.stdout.strip() == f"torch_wasm_backend {version}"


def test_every_command_and_argument_has_help():
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == {"demo", "inspect", "run", "serve"}
    helps = {c.dest: c.help for c in commands._choices_actions}
    for name, sub in [("", parser), *commands.choices.items()]:
        if name:
            assert helps.get(name), f"command {name} has no help line"
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name or 'top level'} {action.dest}: no help"
    for name in commands.choices:
        proc = cli(name, "--help")
        assert proc.returncode == 0 and "usage: python -m torch_wasm_backend" in proc.stdout, proc.stderr


def test_plural():
    assert [plural(n, "input") for n in (0, 1, 2)] == ["0 inputs", "1 input", "2 inputs"]


@pytest.mark.parametrize("ratios, sentence", [
    ([0.5, 0.4, 0.8], "WebAssembly was 2.00x faster than eager (median of 3 rounds; rounds 1.25x-2.50x faster)"),
    ([2.0, 1.5, 3.0], "WebAssembly was 2.00x slower than eager (median of 3 rounds; rounds 1.50x-3.00x slower)"),
    ([1.25], "WebAssembly was 1.25x slower than eager (1 round)"),
])
def test_describe_ratio_says_faster_or_slower_and_the_spread(ratios, sentence):
    assert describe_ratio(ratios) == sentence


def test_describe_ratio_flags_rounds_that_disagree():
    text = describe_ratio([0.8, 1.1, 1.25])
    assert text.startswith("WebAssembly was 1.10x slower than eager (median of 3 rounds;")
    assert "from 1.25x faster to 1.25x slower" in text and "noise" in text


def test_run_prints_outputs_and_latency_and_writes_npy(mlp, tmp_path):
    artifact, x, expected = mlp
    proc = cli("run", artifact, x, "--repeat", 7, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("output0: float32[3, 4] ["), proc.stdout
    assert "wrote 1 output to" in proc.stdout
    number = r"(\d+\.\d{3})"
    m = re.search(rf"latency per call: {number} ms \(median of 7 runs, min {number}, max {number};", proc.stdout)
    assert m, proc.stdout
    med, lo, hi = map(float, m.groups())
    assert 0 < lo <= med <= hi < 1000
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "output0.npy"), expected)
    one = cli("run", artifact, x)
    assert one.returncode == 0 and "(median of 1 run;" in one.stdout, one.stdout + one.stderr


def test_run_with_the_wrong_number_of_inputs_says_what_it_takes(mlp):
    artifact, x, _ = mlp
    proc = cli("run", artifact, x, x)
    assert proc.returncode == 2
    assert "takes 1 input (input float32[3, 12]), got 2 .npy files; pass one .npy file per input" in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("run", artifact, x, "--repeat", 0)
    assert proc.returncode == 2 and "--repeat: must be at least 1, got 0" in proc.stderr, proc.stderr


def test_inspect_counts_inputs_and_outputs(mlp):
    proc = cli("inspect", mlp[0])
    assert proc.returncode == 0, proc.stderr
    assert re.match(r".*mlp\.wasm: \d+ bytes; 1 input, 1 output\n", proc.stdout), proc.stdout


def _start_serve(directory: Path):
    """Start ``serve --port 0``; return the process and what it printed up to the demo-page line."""
    proc = subprocess.Popen([sys.executable, "-m", "torch_wasm_backend", "serve", "--port", "0", "--dir", directory],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    out, deadline = "", time.monotonic() + 30
    while not re.search(r"^(demo page:|no examples/browser/)", out, re.M) and time.monotonic() < deadline:
        try:
            out += lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
    return proc, out


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_serve_prints_the_demo_url_and_sends_isolation_headers(tmp_path):
    (tmp_path / "examples" / "browser").mkdir(parents=True)
    (tmp_path / "examples" / "browser" / "index.html").write_text("<!doctype html><title>demo</title>")
    (tmp_path / "examples" / "browser" / "model.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "examples" / "browser" / "main.mjs").write_text("export {};\n")
    proc, out = _start_serve(tmp_path)
    try:
        m = re.search(r"^demo page: (http://127\.0\.0\.1:(\d+)/examples/browser/)$", out, re.M)
        assert m, f"no demo page URL in:\n{out}{proc.stderr.read() if proc.poll() is not None else ''}"
        assert f"at http://127.0.0.1:{m.group(2)}/ " in out and "make_model.py" not in out, out
        page = m.group(1)
        with urllib.request.urlopen(page, timeout=10) as r:
            assert r.status == 200 and b"<title>demo</title>" in r.read()
            assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert r.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert r.headers["Content-Type"].startswith("text/html")
        for name, mime in (("model.wasm", "application/wasm"), ("main.mjs", "text/javascript")):
            with urllib.request.urlopen(page + name, timeout=10) as r:
                assert r.headers["Content-Type"] == mime, name
                assert r.headers["Cross-Origin-Embedder-Policy"] == "require-corp", name
    finally:
        _stop(proc)


def test_serve_without_the_demo_says_where_it_is(tmp_path):
    proc, out = _start_serve(tmp_path)
    try:
        assert re.search(r"at http://127\.0\.0\.1:\d+/ ", out), out
        assert "no examples/browser/ under" in out and "repository root" in out, out
    finally:
        _stop(proc)


def test_demo_says_faster_or_slower_with_the_spread():
    proc = cli("demo", "--rounds", 2, timeout=300)
    assert proc.returncode == 0, proc.stderr
    verdicts = re.findall(r"^  WebAssembly was (?:\d+\.\d\dx (?:faster|slower) than eager|as fast as eager, 1\.00x) "
                          r"\(median of 2 rounds; ", proc.stdout, re.M)
    assert len(verdicts) == 2, proc.stdout
    assert proc.stdout.count("matches eager") == 2, proc.stdout
    assert len(re.findall(r"wasm \d+\.\d{3} ms \(\d+\.\d{3}-\d+\.\d{3}\), eager \d+\.\d{3} ms", proc.stdout)) == 2
