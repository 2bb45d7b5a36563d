"""Linear-memory reservations of the wasmtime engine: fitted to each module, grown past,
one wasmtime Engine per setting, cached modules freed with their last user."""

from __future__ import annotations

import gc
import os
import re

import numpy as np
import pytest
import wasmtime

from torch_wasm_backend.runtime import WasmTrap
from torch_wasm_backend.runtime.engine import wasm_memory_limits
from torch_wasm_backend.runtime.wasmtime_engine import (
    FULL_RESERVATION,
    WasmtimeEngine,
    memory_settings,
    wasmtime_settings,
)

MIB = 1 << 20
PAGE = 1 << 16

# "put" stores the i32 at 0 to the address at 4; "get" loads from the address at 4 into 8
RW_WAT = """
(module
  (memory (export "memory") {pages})
  (func (export "forward")
    (i32.store (i32.load (i32.const 4)) (i32.load (i32.const 0))))
  (func (export "get")
    (i32.store (i32.const 8) (i32.load (i32.load (i32.const 4))))))
"""


def wasm_of(pages: int) -> bytes:
    return wasmtime.wat2wasm(RW_WAT.format(pages=pages))


def vm_size_mib() -> float:
    text = open("/proc/self/status").read()
    return int(re.search(r"^VmSize:\s+(\d+) kB", text, re.M).group(1)) / 1024


def put(inst, address: int, value: int) -> None:
    inst.memory_view()[0:8].view(np.int32)[:] = [value, address]
    inst.call("forward")


def get(inst, address: int) -> int:
    inst.memory_view()[4:8].view(np.int32)[0] = address
    inst.call("get")
    return int(inst.memory_view()[8:12].view(np.int32)[0])


@pytest.mark.parametrize("memory", ["", "(memory (export \"m\") 3)", "(func) (memory (export \"m\") 300 400)",
                                    "(memory (export \"m\") 40000)", "(memory (export \"m\") 1 512 shared)"])
def test_memory_limits_read_from_the_wasm_bytes_agree_with_wasmtime(memory):
    wasm = wasmtime.wat2wasm(f"(module {memory})")
    cfg = wasmtime.Config()
    cfg.wasm_threads = cfg.shared_memory = True
    types = [e.type for e in wasmtime.Module(wasmtime.Engine(cfg), wasm).exports]
    expected = (types[0].limits.min, types[0].limits.max, types[0].is_shared) if types else None
    assert wasm_memory_limits(wasm) == expected
    for cut in range(len(wasm)):  # truncated bytes: None or the limits, never an exception
        assert wasm_memory_limits(wasm[:cut]) in (None, expected)
    assert wasm_memory_limits(b"not wasm") is None


def test_reservation_is_the_initial_size_rounded_up_to_a_power_of_two():
    for pages, reserved in [(None, 1), (1, 1), (16, 1), (17, 2), (100, 8), (1024, 64), (1025, 128)]:
        s = memory_settings(pages)
        assert s["memory_reservation"] == reserved * MIB, pages
        assert s["memory_reservation"] >= (pages or 0) * PAGE
        assert s["memory_may_move"] is True
        assert s["memory_reservation_for_growth"] == max(reserved, 16) * MIB
        assert s["memory_guard_size"] == 64 * 1024
    # 2 GiB or more initially: wasmtime's own defaults (the 4 GiB reservation)
    assert memory_settings(40000) == FULL_RESERVATION


def test_spectre_cmov_off_without_threads_only():
    assert wasmtime_settings()["cranelift_flags"] == {"enable_heap_access_spectre_mitigation": "false"}
    assert wasmtime_settings(threads=True)["cranelift_flags"] == {"enable_heap_access_spectre_mitigation": "true"}
    forced = wasmtime_settings(spectre_mitigation=True)["cranelift_flags"]
    assert forced["enable_heap_access_spectre_mitigation"] == "true"


def test_an_instance_reserves_about_what_its_memory_needs():
    wasm = wasm_of(16)  # 1 MiB
    for kwargs, low, high in [({}, 1, 2), ({"memory": FULL_RESERVATION}, 4096, 4096 + 128)]:
        cm = WasmtimeEngine(cache_dir=False, **kwargs).compile(wasm)
        keep = [cm.instantiate()]
        before = vm_size_mib()
        keep += [cm.instantiate() for _ in range(8)]
        per_instance = (vm_size_mib() - before) / 8
        assert low <= per_instance <= high, (kwargs, per_instance)
        del keep


def test_memory_grows_past_its_reservation_and_keeps_its_contents():
    inst = WasmtimeEngine(cache_dir=False).compile(wasm_of(2)).instantiate()  # 1 MiB reserved
    put(inst, 65536 + 12, 1234)
    with pytest.raises(WasmTrap, match="out of bounds"):
        put(inst, 2 * PAGE, 1)  # beyond the memory, inside the reservation: still a trap
    for pages in (16, 300, 2000):  # 1 MiB, 18.75 MiB (past reservation and growth), 125 MiB
        inst.grow_memory(pages)
        assert inst.memory_view().size == pages * PAGE
        put(inst, pages * PAGE - 4, pages)
        assert get(inst, pages * PAGE - 4) == pages
        assert get(inst, 65536 + 12) == 1234  # moved with its contents
    assert get(inst, 16 * PAGE - 4) == 16 and get(inst, 300 * PAGE - 4) == 300


def test_shared_memory_reserves_its_maximum():
    wat = '(module (memory (export "memory") 1 512 shared) (func (export "forward")))'
    eng = WasmtimeEngine(threads=True, cache_dir=False)
    cm = eng.compile(wasmtime.wat2wasm(wat))
    assert cm.memory["memory_reservation"] == 32 * MIB
    inst = cm.instantiate()
    inst.grow_memory(512)
    assert inst.memory_view().size == 512 * PAGE


def test_one_wasmtime_engine_per_memory_setting_and_cache_entries_per_setting(tmp_path):
    eng = WasmtimeEngine(cache_dir=str(tmp_path))
    small = [eng.compile(wasm_of(p)) for p in (1, 2, 16)]  # all reserve 1 MiB
    big = eng.compile(wasm_of(100))  # 8 MiB
    assert eng.engine_count == 2
    assert len({id(cm.wasmtime_engine) for cm in small}) == 1 and big.wasmtime_engine is not small[0].wasmtime_engine
    # the same wasm under another setting is another disk entry (compiled code differs)
    full = WasmtimeEngine(cache_dir=str(tmp_path), memory=FULL_RESERVATION)
    assert full.compile(wasm_of(1)).source == "compiled"
    again = WasmtimeEngine(cache_dir=str(tmp_path))
    assert again.compile(wasm_of(1)).source == "disk"
    assert len(os.listdir(tmp_path / "modules")) == 5


def test_cached_module_is_freed_with_its_last_user():
    eng = WasmtimeEngine(cache_dir=False)
    wasm = wasm_of(1)
    cm = eng.compile(wasm)
    inst = cm.instantiate()
    assert eng.compile(wasm) is cm and eng.stats["compiles"] == 1
    del cm
    gc.collect()
    put(inst, 100, 7)  # an instance keeps its module's code alive by itself
    assert get(inst, 100) == 7
    del inst
    eng.compile(wasm)
    assert eng.stats["compiles"] == 2
