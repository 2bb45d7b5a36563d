"""Python side of the peer benchmark: installs onnxruntime-web, saves our artifacts, writes
inputs for the Node scripts and drives them (``run_ort.mjs`` / ``run_ours.mjs --serve``).

Nothing here runs at import time: ``ensure_node_modules()`` runs ``npm ci`` (or ``npm
install`` when there is no lockfile) in ``benchmarks/peers`` only when ``node_modules`` is
missing, and only when called (by the peer tests' session fixture, or ``python
benchmarks/peers/engines.py setup``). ``.npmrc`` here keeps registry addresses out of the
lockfile and runs no install scripts.

    python benchmarks/peers/engines.py setup                     # npm ci, if needed
    python benchmarks/peers/engines.py prepare cnn --out /tmp/p  # cnn.onnx, cnn.wasm, inputs.json
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUN_ORT = HERE / "run_ort.mjs"
RUN_OURS = HERE / "run_ours.mjs"
RUN_TFJS = HERE / "run_tfjs.mjs"
RUN_PEAK = HERE / "run_peak.mjs"
# V8 flags for both Node engines. --no-liftoff: compile every wasm function with the optimising
# compiler (TurboFan) up front; with the default tiering a short warm-up still runs Liftoff
# (baseline) code and measured onnxruntime-web up to 10x too slow on this machine.
NODE_FLAGS = ("--no-liftoff",)

_DTYPES = {torch.float32: "float32", torch.int32: "int32", torch.int64: "int64", torch.bool: "bool"}
_NP = {"float32": np.float32, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


class PeerUnavailable(RuntimeError):
    """A peer cannot run on this machine (no node/npm, install failed): tests skip with this."""


def node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH (install Node.js >= 18 to run the onnxruntime-web peer benchmarks)"
    return None


NPM_PACKAGES = ("onnxruntime-web", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm")


def ort_installed() -> bool:
    """Every package of package.json is in node_modules (onnxruntime-web and TF.js)."""
    return all((HERE / "node_modules" / p / "package.json").is_file() for p in NPM_PACKAGES)


def ensure_node_modules(timeout: float = 600) -> None:
    """Install onnxruntime-web and TF.js (pinned in package.json / package-lock.json) into
    ``benchmarks/peers/node_modules`` if it is not there yet."""
    if ort_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailable("npm is not on PATH: cannot install onnxruntime-web into benchmarks/peers/node_modules")
    cmd = [npm, "ci" if (HERE / "package-lock.json").is_file() else "install", "--no-audit", "--no-fund"]
    proc = subprocess.run(cmd, check=False, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not ort_installed():
        raise PeerUnavailable(f"`{' '.join(cmd[1:])}` in {HERE} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def ort_version(package: str = "onnxruntime-web") -> str | None:
    try:
        return json.loads((HERE / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def write_inputs(inputs, directory: Path, names: list[str]) -> Path:
    """Raw C-contiguous bytes of each input plus a spec JSON, as common.mjs reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    specs = []
    for i, (name, x) in enumerate(zip(names, inputs)):
        f = directory / f"input{i}.bin"
        f.write_bytes(x.detach().contiguous().numpy().tobytes())
        specs.append({"name": name, "shape": list(x.shape), "dtype": _DTYPES[x.dtype], "file": str(f)})
    spec = directory / "inputs.json"
    spec.write_text(json.dumps({"inputs": specs}, indent=1))
    return spec


def read_outputs(outputs: list[dict]) -> list[torch.Tensor]:
    return [torch.from_numpy(np.fromfile(o["file"], dtype=_NP[o["dtype"]]).reshape(o["shape"])) for o in outputs]


def save_artifact(model: torch.nn.Module, inputs, path: Path) -> dict:
    """Our artifact, exactly as the README documents it:
    ``torch_wasm_backend.save(torch.compile(model, backend="wasm"), path, example_inputs=inputs)``."""
    import torch_wasm_backend

    compiled = torch.compile(model, backend="wasm")
    return torch_wasm_backend.save(compiled, str(path), example_inputs=tuple(inputs))


class NodeEngine:
    """One long-lived ``node --no-liftoff run_*.mjs MODEL --inputs SPEC --serve`` process."""

    def __init__(self, script: Path, model: Path, inputs_spec: Path, flags: tuple[str, ...] = NODE_FLAGS,
                 args: tuple[str, ...] = ()):
        node = shutil.which("node")
        if node is None:
            raise PeerUnavailable(node_missing())
        self.script = script
        self.cmd = [node, *flags, str(script), str(model), "--inputs", str(inputs_spec), *args, "--serve"]
        self.proc = subprocess.Popen(self.cmd, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        self._info: dict | None = None

    @property
    def info(self) -> dict:
        """The start-up line (waits for it: loading and compiling the module happen meanwhile,
        so several engines can be started first and waited for later)."""
        if self._info is None:
            info = self._read()
            if not info.get("ready"):
                raise RuntimeError(f"{self.script.name} did not start: {info}")
            self._info = info
        return self._info

    def _read_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _read(self) -> dict:
        line = self.proc.stdout.readline()  # the scripts answer every command with one line
        if not line:
            self.proc.wait(timeout=10)
            self._drain.join(timeout=5)
            raise RuntimeError(f"{' '.join(self.cmd)} exited ({self.proc.returncode}):\n{''.join(self._stderr)[-3000:]}")
        msg = json.loads(line)
        if "error" in msg:
            raise RuntimeError(f"{self.script.name}: {msg['error']}")
        return msg

    def send(self, **cmd) -> None:
        """Send one command without waiting for its answer (``recv()`` reads it)."""
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict:
        return self._read()

    def request(self, **cmd) -> dict:
        self.info  # noqa: B018 (consume the start-up line first)
        self.send(**cmd)
        return self._read()

    def warmup(self, ms: float, min_runs: int = 3) -> dict:
        return self.request(op="warmup", ms=ms, min_runs=min_runs)

    def time(self, runs: int) -> dict:
        """{"times_ms": [...], ...}: per-call wall times of ``runs`` back-to-back calls."""
        return self.request(op="time", runs=runs)

    def outputs(self, directory: Path) -> list[torch.Tensor]:
        return read_outputs(self.request(op="outputs", dir=str(directory))["outputs"])

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def prepare(name: str, out: Path) -> dict:
    """``out/<name>.onnx``, ``out/<name>.wasm`` (our artifact) and ``out/inputs.json`` for the
    Node scripts, the model built as the benchmark builds it."""
    sys.path.insert(0, str(HERE.parent))  # benchmarks/, for models.py
    import export as onnx_export
    from models import CASES, build_model

    torch.set_num_threads(1)
    case = CASES[name]
    model, inputs = build_model(case), case.make_inputs()
    spec = write_inputs(inputs, out, onnx_export.input_names(model, len(inputs)))
    exported = onnx_export.export_case(name, out)
    save_artifact(model, inputs, out / f"{name}.wasm")
    return {"onnx": exported.path, "exporter": exported.exporter, "opset": exported.opset,
            "artifact": str(out / f"{name}.wasm"), "inputs": str(spec)}


USAGE = """usage:
  python benchmarks/peers/engines.py setup               # npm ci in benchmarks/peers (onnxruntime-web)
  python benchmarks/peers/engines.py prepare NAME --out DIR
      # DIR/NAME.onnx, DIR/NAME.wasm (our artifact) and DIR/inputs.json for run_ort.mjs / run_ours.mjs"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["setup"]:
        reason = node_missing()
        if reason:
            print(reason, file=sys.stderr)
            return 1
        ensure_node_modules()
        print(f"onnxruntime-web {ort_version()} in {HERE / 'node_modules'}")
        return 0
    if len(argv) == 4 and argv[0] == "prepare" and argv[2] == "--out":
        print(json.dumps(prepare(argv[1], Path(argv[3])), indent=1))
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
