"""The JavaScript loader as an npm package (csrc/js): what ``npm pack`` ships, and a consumer
project that installs the tarball.

The consumer test packs csrc/js into a temporary directory, copies ``tests/e2e/js/consumer/``
into a scratch project, installs the tarball and TypeScript 5 from the npm registry, type-checks
a strict TypeScript consumer against the installed declarations (``tsc --noEmit``; the
consumer holds ``@ts-expect-error`` lines, so declarations that loosen to ``any`` fail too), and
runs an ES-module consumer in Node on an MLP saved by ``torch_wasm_backend.save``: its output
must equal the Python loader's byte for byte. Nothing is cached between runs (npm's own
download cache aside). Without ``npm``, or when the registry cannot be reached, the consumer
tests skip and say why; the licence and manifest checks need no npm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_wasm_backend

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "csrc" / "js"
CONSUMER = ROOT / "tests" / "e2e" / "js" / "consumer"
NPM, NODE = shutil.which("npm"), shutil.which("node")
needs_npm = pytest.mark.skipif(NPM is None or NODE is None,
                               reason="npm/node are not on PATH; install Node.js >= 18 (with npm) to test the package")
NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
                            r"network|request to \S+ failed|proxy", re.IGNORECASE)


def run(cmd, cwd, timeout=120):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_license_is_apache_2_and_shipped_copies_are_identical():
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"], text[:200]
    for heading in ("1. Definitions.", "4. Redistribution.", "9. Accepting Warranty or Additional Liability.",
                    "END OF TERMS AND CONDITIONS", "APPENDIX: How to apply the Apache License to your work."):
        assert heading in text, f"LICENSE lacks {heading!r}: not the complete Apache-2.0 text"
    assert (PACKAGE / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes(), \
        "csrc/js/LICENSE differs from LICENSE; copy it: cp LICENSE csrc/js/LICENSE"
    assert (PACKAGE / "NOTICE").read_bytes() == (ROOT / "NOTICE").read_bytes(), \
        "csrc/js/NOTICE differs from NOTICE; copy it: cp NOTICE csrc/js/NOTICE"
    assert "Copyright" in (ROOT / "NOTICE").read_text() and "The torch_wasm_backend authors" in \
        (ROOT / "NOTICE").read_text()


def test_package_json_is_publishable():
    meta = json.loads((PACKAGE / "package.json").read_text())
    assert meta["license"] == "Apache-2.0"
    for key in ("name", "version", "description", "repository", "homepage", "bugs", "exports", "types", "files"):
        assert meta.get(key), f"package.json lacks {key!r}"
    assert meta["repository"]["directory"] == "csrc/js"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    root_export = meta["exports"]["."]
    assert next(iter(root_export)) == "types", "the 'types' condition must come first in exports['.']"
    for rel in (root_export["types"], root_export["default"], meta["types"], meta["main"]):
        assert (PACKAGE / rel).is_file(), rel
    for name in meta["files"]:
        assert (PACKAGE / name).is_file(), f"package.json files lists {name}, which does not exist"
    assert {"README.md", "CHANGELOG.md", "LICENSE", "loader.mjs", "index.d.ts"} <= set(meta["files"])
    assert f"## {meta['version']}" in (PACKAGE / "CHANGELOG.md").read_text(), \
        f"CHANGELOG.md has no entry for version {meta['version']}"


def test_readme_documents_every_export_of_the_declarations():
    declared = set(re.findall(r"^export (?:declare )?(?:class|function|const|type|interface) (\w+)",
                              (PACKAGE / "index.d.ts").read_text(), re.M))
    assert {"load", "Model", "Trainer", "ArtifactError"} <= declared, declared
    readme = (PACKAGE / "README.md").read_text()
    missing = sorted(name for name in declared if f"`{name}" not in readme)
    assert not missing, f"csrc/js/README.md does not mention {missing}, exported by index.d.ts"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    if NPM is None or NODE is None:
        pytest.skip("npm/node are not on PATH; install Node.js >= 18 (with npm) to test the package")
    dest = tmp_path_factory.mktemp("npm_pack")
    proc = run([NPM, "pack", "--json", "--pack-destination", dest], cwd=PACKAGE)
    assert proc.returncode == 0, f"npm pack failed:\n{proc.stderr}"
    (info,) = json.loads(proc.stdout)
    return dest / info["filename"], sorted(f["path"] for f in info["files"])


@needs_npm
def test_tarball_holds_code_types_docs_and_license(tarball):
    _, files = tarball
    assert files == sorted(["CHANGELOG.md", "LICENSE", "NOTICE", "README.md", "index.d.ts", "loader.mjs",
                            "manifest.mjs", "model.mjs", "package.json", "threads.mjs", "variants.mjs", "worker.mjs"])


@pytest.fixture(scope="module")
def consumer(tarball, tmp_path_factory):
    """A scratch project with the tarball and TypeScript 5 installed from the registry."""
    project = tmp_path_factory.mktemp("npm_consumer") / "consumer"
    shutil.copytree(CONSUMER, project)
    proc = run([NPM, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error",
                "--fetch-retries=1", "--fetch-timeout=60000", tarball[0], "typescript@5"], cwd=project, timeout=300)
    if proc.returncode != 0:
        why = [line for line in proc.stderr.splitlines() if NETWORK_ERRORS.search(line)]
        if why:
            pytest.skip(f"npm install could not reach the registry, so the consumer project cannot get "
                        f"TypeScript 5: {why[0].strip()[:300]}")
        pytest.fail(f"npm install of the packed loader failed:\n{proc.stderr}")
    return project


@needs_npm
def test_strict_typescript_consumer_type_checks(consumer):
    tsc = consumer / "node_modules" / "typescript" / "bin" / "tsc"
    version = run([NODE, tsc, "--version"], cwd=consumer)
    assert version.stdout.startswith("Version 5."), version.stdout
    proc = run([NODE, tsc, "--noEmit", "-p", "tsconfig.json"], cwd=consumer)
    assert proc.returncode == 0, f"tsc --noEmit failed on the strict consumer:\n{proc.stdout}{proc.stderr}"
    listed = run([NODE, tsc, "--noEmit", "-p", "tsconfig.json", "--listFilesOnly"], cwd=consumer).stdout
    assert "node_modules/torch-wasm-backend-loader/index.d.ts" in listed, listed
    # The check is live: a plain type error against the same declarations is reported.
    (consumer / "broken.ts").write_text('import { load } from "torch-wasm-backend-loader";\n'
                                        'export const n: number = load("m.wasm");\n')
    (consumer / "tsconfig.broken.json").write_text(json.dumps({"extends": "./tsconfig.json", "files": ["broken.ts"]}))
    proc = run([NODE, tsc, "-p", "tsconfig.broken.json"], cwd=consumer)
    assert proc.returncode != 0 and "TS2322" in proc.stdout, proc.stdout


@needs_npm
def test_installed_package_runs_a_saved_artifact_in_node(consumer, tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).eval()
    x = torch.randn(5, 20)
    artifact = tmp_path / "mlp.wasm"
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), artifact, example_inputs=(x,))
    expected = torch_wasm_backend.load(artifact, variant="simd128")(x.numpy())  # Node 20: no relaxed SIMD
    with torch.no_grad():
        np.testing.assert_allclose(expected, model(x).numpy(), rtol=1e-5, atol=1e-5)
    (tmp_path / "x.bin").write_bytes(x.numpy().tobytes())
    proc = run([NODE, "run.mjs", artifact, tmp_path / "x.bin", tmp_path / "y.bin"], cwd=consumer, timeout=60)
    assert proc.returncode == 0, f"the installed package failed in Node:\n{proc.stderr}"
    report = json.loads(proc.stdout)
    assert report["version"] == json.loads((PACKAGE / "package.json").read_text())["version"]
    assert (report["name"], report["shape"], report["dtype"]) == ("output0", [5, 3], "float32")
    got = np.frombuffer((tmp_path / "y.bin").read_bytes(), np.float32).reshape(5, 3)
    assert got.tobytes() == np.ascontiguousarray(expected).tobytes(), f"node {got} vs python {expected}"
    assert report["errorName"] == "ArtifactError" and "99" in report["errorMessage"], report
