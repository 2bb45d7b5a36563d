"""The saved artifact: one self-describing ``.wasm`` file, and its loader.

An artifact is an ordinary WebAssembly module that imports nothing and exports
``memory``, ``forward`` and ``prepare``. Weights (and anything ``prepare`` derives from
them) are baked into a data segment. A custom section named ``torch_wasm_backend.manifest``
holds a JSON manifest: format version, input and output names, shapes, dtypes and byte
offsets in memory, the features the module needs, the options it was built with and tool
versions. This module needs numpy and a WebAssembly engine only (no torch).

Loading trusts nothing in the file: the manifest is checked field by field
(``manifest.check_manifest``), the exports it names must exist, and every tensor's bytes
must lie inside linear memory for the sizes of a call (``manifest.check_extents``) before
a view of memory is made. The code is compiled without the manifest section, so artifacts
that differ only in their manifest share one compiled module.

An artifact may carry a relaxed-SIMD (FMA) variant of its code beside the SIMD128 module
(``variants.py``: format, checks, choice). ``load(..., variant="auto")`` runs the SIMD128
module (the FMA variant measured slower in wasmtime); ``variant="relaxed_simd"`` runs the FMA
one where the engine has relaxed SIMD (wasmtime, deterministic mode; not wasmer).
``LoadedModel.variant`` says which runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine import Engine, WasmCompileError, WasmTrap, get_engine
from .manifest import (  # noqa: F401  (re-exported: the reading side of the format lives here)
    DTYPES,
    FORMAT_VERSION,
    MANIFEST_SECTION,
    check_extents,
    check_manifest,
    eval_dim,
    max_binding,
    parse_manifest,
    read_manifest,
    unflatten,
)
from .variants import RELAXED, SIMD128, check_variant, choose, splice, variant_entry
from .wasm_binary import (  # noqa: F401
    ArtifactError,
    custom_section,
    custom_sections,
    exports,
    import_count,
    sections,
    size_breakdown,
    strip_custom_section,
)


THREADED_SECTION = "torch_wasm_backend.threaded"  # save(..., threads=True): the threaded variant's code


def _dims_text(spec, symbols: dict) -> str:
    """``[2, 1..64, 12]``: a dynamic size as its range."""
    dims = [f"{symbols[d]['min']}..{symbols[d]['max']}" if isinstance(d, str) and d in symbols
            else str(d) if isinstance(d, int) else "?" for d in spec["shape"]]
    return f"[{', '.join(dims)}]"


def _shape_text(spec, symbols: dict) -> str:
    return spec["dtype"] + _dims_text(spec, symbols)


def _list_text(specs, symbols: dict, limit: int = 3) -> str:
    shown = [f"{s['name']}: {_shape_text(s, symbols)}" for s in specs[:limit]]
    return ", ".join(shown + ([f"... {len(specs) - limit} more"] if len(specs) > limit else []))


def _as_array(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


class LoadedModel:
    """A callable artifact: numpy arrays (or torch tensors) in, the same kind out.

    Inputs are passed positionally or by the manifest's input names (``model(x, mask=m)``);
    outputs come back in the structure the model returned (the manifest's ``output_tree``:
    tuples, lists, dicts) or, for older artifacts, one output bare and several as a tuple.
    Dimensions named by a symbol in the manifest accept any size in the symbol's
    [min, max] range; their values go to the module's parameter block before each call.
    A trap inside WebAssembly raises ``WasmTrap`` with the manifest's message for the
    function that trapped (``traps``) when it has one."""

    def __init__(self, manifest: dict, wasm: bytes, engine="wasmtime", variant: str = "auto"):
        self.manifest = check_manifest(manifest)
        self.wasm = wasm
        self.engine = engine if isinstance(engine, str) else engine.name
        self.variant = variant  # "simd128" | "relaxed_simd" once chosen (_instantiate)
        self._instance = self._instantiate(engine)
        self._memory_bytes = self._instance.memory_view().size
        check_extents(self.manifest, max_binding(self.manifest), self._memory_bytes)
        self._forward = self._caller("forward")
        self._symbols = {s["name"]: s for s in self.manifest.get("symbols", [])}
        self._names = [s["name"] for s in self.manifest["inputs"]]
        self._traps = self.manifest.get("traps", {})
        self._key = None
        self.threads = 1  # threads each call runs on (load(..., threads=N) with a threaded variant)

    # ---------------------------------------------------------------- loading
    def _export(self, role: str) -> str:
        return self.manifest.get("exports", {}).get(role, role)

    def _caller(self, role: str):
        try:
            return self._instance.caller(self._export(role))
        except (KeyError, TypeError) as e:  # e.g. an export that takes arguments
            raise ArtifactError(f"the artifact's {role!r} export cannot be called: {e}") from None

    def _needed_exports(self) -> dict:
        return {self._export("memory"): "memory", self._export("forward"): "func"}

    def _instantiate(self, engine):
        n = import_count(self.wasm)
        if n:
            raise ArtifactError(f"the module imports {n} thing(s); an artifact imports nothing")
        have = exports(self.wasm)
        for name, kind in self._needed_exports().items():
            if have.get(name) != kind:
                raise ArtifactError(f"the module does not export a {kind} named {name!r} (exports: {sorted(have)})")
        if self._export("memory") != "memory":
            raise ArtifactError(f"exports.memory is {self._export('memory')!r}; this loader needs it to be 'memory'")
        eng, code = self._code(engine)
        try:
            return eng.compile(code).instantiate()
        except WasmCompileError as e:
            if self.variant == RELAXED and "variants" in self.manifest:
                raise ArtifactError(f"the relaxed-SIMD variant does not compile: {e} (load it with "
                                    "variant='simd128' to run the SIMD128 module)") from None
            raise ArtifactError(f"the artifact does not compile: {e}") from None
        except Exception as e:  # noqa: BLE001 - e.g. a data segment outside memory traps at instantiation
            raise ArtifactError(f"the artifact could not be instantiated: {type(e).__name__}: {e}") from None

    def _code(self, engine) -> tuple:
        """The engine and the module bytes to compile: the SIMD128 module or the FMA variant
        spliced with its data (``variants.py``), as ``self.variant`` asks; sets ``self.variant``."""
        stored = variant_entry(self.manifest, self.wasm)
        main = strip_custom_section(self.wasm, MANIFEST_SECTION)
        if stored is not None:
            main = strip_custom_section(main, self.manifest["variants"][RELAXED]["section"])
        if stored is not None:
            check_variant(main, stored)  # a hostile variant is rejected whatever runs
        requires = bool(self.manifest.get("requires", {}).get("relaxed_simd"))
        if isinstance(engine, Engine):
            relaxed_ok = bool(getattr(engine, "relaxed_simd", False))
        else:
            try:
                get_engine(engine, relaxed_simd=True)
                relaxed_ok = True
            except RuntimeError:  # e.g. wasmer: no relaxed SIMD
                relaxed_ok = False
        # wasmtime runs the FMA variant 3-16% slower than the SIMD128 module on the machines we
        # measured (benchmarks/README.md), so "auto" keeps SIMD128 here (the bits the compiled
        # model gave); variant="relaxed_simd" runs the FMA one. The JavaScript loader's "auto"
        # prefers FMA wherever the engine has relaxed SIMD.
        requested = SIMD128 if self.variant == "auto" and not requires else self.variant
        self.variant = choose(requested, stored is not None, relaxed_ok, requires)
        if not isinstance(engine, Engine):
            engine = get_engine(engine, relaxed_simd=self.variant == RELAXED)
        return engine, (splice(main, stored) if stored is not None and self.variant == RELAXED else main)

    def _use_threads(self, variant: bytes, threads: int, adaptive: bool = True) -> None:
        """Run on ``threads`` threads: the threaded variant's instances over a shared memory
        that starts as a copy of this (prepared) instance's memory."""
        from .threaded import compile_threaded

        try:
            inst = compile_threaded(bytes(variant), threads, adaptive=adaptive).instantiate()
        except Exception as e:  # noqa: BLE001 - a damaged section, or a runtime without threads
            raise ArtifactError(f"the artifact's threaded variant could not be instantiated: {e}") from None
        src, dst = self._instance.memory_view(), inst.memory_view()
        if dst.size < src.size:
            raise ArtifactError(f"the threaded variant's memory ({dst.size} bytes) is smaller than the module's")
        dst[16: src.size] = src[16:]  # bytes 0..15: the threads' control block
        self._instance = inst
        self._forward = self._caller("forward")
        self._key = None
        self.threads = threads

    # ---------------------------------------------------------------- describing
    @property
    def threads_used(self) -> int:
        """The thread count calls run on: ``threads``, or 1 where the model measured one
        thread faster on its first calls (``load(..., threads_adaptive=False)``: always
        ``threads``)."""
        return getattr(self._instance, "threads_used", 1)

    @property
    def input_names(self) -> list:
        return list(self._names)

    @property
    def output_names(self) -> list:
        return [s["name"] for s in self.manifest["outputs"]]

    def _size_text(self) -> str:
        n = len(self.wasm)
        return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"

    def __repr__(self) -> str:
        m = self.manifest
        return (f"<{type(self).__name__} ({_list_text(m['inputs'], self._symbols)}) -> "
                f"({_list_text(m['outputs'], self._symbols)}), {self._size_text()}>")

    # ---------------------------------------------------------------- calling
    def _layout(self, binding: dict) -> None:
        check_extents(self.manifest, binding, self._memory_bytes)  # before any view
        mem = self._instance.memory_view()
        for name, sym in self._symbols.items():
            mem[sym["offset"]: sym["offset"] + 4].view(np.int32)[0] = binding[name]
        self._in = []
        for spec in self.manifest["inputs"]:
            shape = [eval_dim(d, binding) for d in spec["shape"]]
            n = int(np.prod(shape)) if shape else 1
            dt = np.dtype(DTYPES[spec["dtype"]])
            off = eval_dim(spec["offset"], binding)
            view = mem[off: off + n * dt.itemsize].view(dt).reshape(shape) if n else None
            self._in.append((spec, shape, view))
        self._out = []
        for spec in self.manifest["outputs"]:
            dt = np.dtype(DTYPES[spec["dtype"]])
            shape = [eval_dim(d, binding) for d in spec["shape"]]
            if 0 in shape:
                self._out.append((spec, shape, None))
                continue
            base = mem[eval_dim(spec["offset"], binding):]
            base = base[: base.size // dt.itemsize * dt.itemsize].view(dt)
            strides = [eval_dim(s, binding) * dt.itemsize for s in spec["strides"]]
            self._out.append((spec, shape, np.lib.stride_tricks.as_strided(base, shape, strides, writeable=False)))
        self._key = tuple(sorted(binding.items()))

    def _arrange(self, args: tuple, kwargs: dict) -> list:
        """Positional and keyword inputs, in manifest order."""
        names = self._names
        takes = f"the model takes {len(names)} inputs ({', '.join(names)})"
        if len(args) > len(names):
            raise ArtifactError(f"{takes}, got {len(args)} positional")
        if not kwargs:
            if len(args) != len(names):
                raise ArtifactError(f"{takes}, got {len(args)}")
            return list(args)
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise ArtifactError(f"unknown input name(s) {', '.join(unknown)}; {takes}")
        twice = [k for k in names[:len(args)] if k in kwargs]
        if twice:
            raise ArtifactError(f"input(s) {', '.join(twice)} given both by position and by name")
        missing = [k for k in names[len(args):] if k not in kwargs]
        if missing:
            raise ArtifactError(f"missing input(s) {', '.join(missing)}; {takes}")
        return list(args) + [kwargs[k] for k in names[len(args):]]

    def _bind(self, arrays) -> dict:
        binding, where = {}, {}
        for arr, spec in zip(arrays, self.manifest["inputs"]):
            if arr.ndim != len(spec["shape"]):
                raise ArtifactError(f"input {spec['name']!r}: expected shape {_dims_text(spec, self._symbols)}, "
                                    f"got {list(arr.shape)}")
            for dim, (d, size) in enumerate(zip(spec["shape"], arr.shape)):
                if isinstance(d, str):
                    sym = self._symbols[d]
                    here = f"input {spec['name']!r} dim {dim}"
                    if not sym["min"] <= size <= sym["max"]:
                        raise ArtifactError(f"{here}: size {size} is outside [{sym['min']}, {sym['max']}] "
                                            "(the range the artifact was saved for)")
                    if binding.setdefault(d, size) != size:
                        raise ArtifactError(f"{here}: size {size} must equal {where[d]}, which is {binding[d]}")
                    where.setdefault(d, here)
        return binding

    def _run(self, export_call, export: str) -> None:
        try:
            export_call()
        except WasmTrap as trap:
            raise self._explain(trap) from None

    def _explain(self, trap: WasmTrap) -> WasmTrap:
        """The trap with the manifest's message for the innermost function that has one."""
        func = next((f for f in (trap.func_name, *trap.frames) if f in self._traps), None)
        if func is None:
            return trap
        out = WasmTrap(trap.reason, func_name=func, export=trap.export, frames=trap.frames,
                       trap_code=trap.trap_code, raw_message=trap.raw_message)
        out.user_message = self._traps[func]
        out.args = (f"{out.user_message} ({trap})",)
        return out

    def run_flat(self, *inputs, **named) -> list:
        """The outputs as a list in manifest order (``manifest["outputs"]``), whatever the
        structure the model returned; numpy arrays, or torch tensors for torch inputs."""
        given = self._arrange(inputs, named)
        as_torch = any(type(x).__module__.startswith("torch") for x in given)
        arrays = [_as_array(x) for x in given]
        binding = self._bind(arrays)
        if self._key != tuple(sorted(binding.items())):
            self._layout(binding)
        for arr, (spec, shape, _view) in zip(arrays, self._in):
            if list(arr.shape) != shape:
                raise ArtifactError(f"input {spec['name']!r}: expected shape {shape}, got {list(arr.shape)}")
            if arr.dtype != DTYPES[spec["dtype"]]:
                raise ArtifactError(f"input {spec['name']!r}: expected dtype {spec['dtype']}, got {arr.dtype} "
                                    f"(convert it with .astype / .to first)")
        for arr, (_spec, _shape, view) in zip(arrays, self._in):
            if view is not None:
                view[...] = arr
        self._run(self._forward, "forward")
        outs = [np.array(v) if v is not None else np.zeros(shape, DTYPES[s["dtype"]]) for s, shape, v in self._out]
        if as_torch:
            import torch

            outs = [torch.from_numpy(o) for o in outs]
        return outs

    def __call__(self, *inputs, **named):
        return unflatten(self.manifest.get("output_tree"), self.run_flat(*inputs, **named))


class LoadedTrainer(LoadedModel):
    """A trainable artifact (``save_training``): ``model(*inputs)`` runs the eval-mode
    forward with the current weights; ``train_step(*inputs, target)`` runs forward, loss,
    backward and the optimizer update inside WebAssembly and returns the loss (of the batch,
    before the update); ``get_weights()``/``set_weights()`` read and write the state
    (parameters, buffers, optimizer state) by name."""

    def __init__(self, manifest: dict, wasm: bytes, engine="wasmtime", variant: str = "auto"):
        super().__init__(manifest, wasm, engine, variant)
        self._train = self._caller("train_step")
        self._run(self._caller("prepare"), "prepare")
        self._train_in = [self._view(s) for s in self.manifest["train_step"]["inputs"]]
        self._loss = self._view(self.manifest["train_step"]["outputs"][0])

    def _needed_exports(self) -> dict:
        return {**super()._needed_exports(), self._export("train_step"): "func", self._export("prepare"): "func"}

    def __repr__(self) -> str:
        m = self.manifest
        return (f"<LoadedTrainer train_step({_list_text(m['train_step']['inputs'], {})}) -> loss, "
                f"{len(m['state'])} state tensors, {self._size_text()}>")

    def _view(self, spec):  # static shapes, inside memory: checked at load (check_extents)
        dt = np.dtype(DTYPES[spec["dtype"]])
        n = int(np.prod(spec["shape"])) if spec["shape"] else 1
        mem = self._instance.memory_view()
        return mem[spec["offset"]: spec["offset"] + n * dt.itemsize].view(dt).reshape(spec["shape"])

    @property
    def state_names(self) -> list:
        return [s["name"] for s in self.manifest["state"]]

    def train_step(self, *batch, **named) -> float:
        specs = self.manifest["train_step"]["inputs"]
        names = [s["name"] for s in specs]
        if named:
            unknown = [k for k in named if k not in names[len(batch):]]
            missing = [k for k in names[len(batch):] if k not in named]
            if unknown or missing:
                raise ArtifactError(f"train_step takes {', '.join(names)}; "
                                    + (f"unknown or repeated: {', '.join(unknown)} " if unknown else "")
                                    + (f"missing: {', '.join(missing)}" if missing else ""))
            batch = batch + tuple(named[k] for k in names[len(batch):])
        if len(batch) != len(specs):
            raise ArtifactError(f"train_step takes {len(specs)} arrays ({', '.join(names)}), got {len(batch)}")
        arrays = [_as_array(x) for x in batch]
        for arr, spec in zip(arrays, specs):
            if list(arr.shape) != spec["shape"] or arr.dtype != DTYPES[spec["dtype"]]:
                raise ArtifactError(f"train_step input {spec['name']!r}: expected {spec['dtype']}{spec['shape']}, "
                                    f"got {arr.dtype}{list(arr.shape)}")
        for arr, view in zip(arrays, self._train_in):
            view[...] = arr
        self._run(self._train, "train_step")
        return float(self._loss.reshape(()))

    def get_weights(self, prefix: str = "") -> dict:
        """Copies of the state tensors whose names start with ``prefix`` (``"param:"`` for
        the parameters only), by name."""
        return {s["name"]: np.array(self._view(s)) for s in self.manifest["state"] if s["name"].startswith(prefix)}

    def set_weights(self, weights: dict) -> None:
        """Overwrite state tensors by name (any subset); checked before anything is written."""
        specs = {s["name"]: s for s in self.manifest["state"]}
        unknown = sorted(set(weights) - set(specs))
        if unknown:
            raise ArtifactError(f"unknown state name(s) {unknown}; see .state_names")
        arrays = {}
        for name, value in weights.items():
            arr = np.asarray(_as_array(value))
            spec = specs[name]
            if list(arr.shape) != spec["shape"]:
                raise ArtifactError(f"{name}: expected shape {spec['shape']}, got {list(arr.shape)}")
            arrays[name] = arr.astype(DTYPES[spec["dtype"]], copy=False)
        for name, arr in arrays.items():
            self._view(specs[name])[...] = arr


def load(
    source, engine="wasmtime", variant: str = "auto", threads: int = 1, threads_adaptive: bool = True
) -> LoadedModel:
    """Load an artifact from a path or bytes; returns a callable model (a ``LoadedTrainer``
    for a trainable artifact). ``engine``: an engine name or an ``Engine`` instance.
    ``variant``: ``"auto"`` and ``"simd128"`` run the SIMD128 module, ``"relaxed_simd"`` the
    artifact's relaxed-SIMD (FMA) variant (``model.variant`` says which runs).
    ``threads``: run on that many threads (wasmtime) when the artifact records a threaded
    variant (``save(..., threads=True)``; the SIMD128 code); an artifact without one runs on
    one thread. ``threads_adaptive``: the model measures ``threads`` threads against one on
    its first calls and keeps the faster, re-checking now and then (``model.threads_used``;
    ``thread_choice.py``); False runs every call on ``threads``."""
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
        raise ValueError(f"threads must be an int from 1 to 64, got {threads!r}")
    if not isinstance(threads_adaptive, bool):
        raise ValueError(f"threads_adaptive must be True or False, got {threads_adaptive!r}")  # noqa: TRY004
    wasm = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    found = custom_sections(wasm)
    manifest = parse_manifest(found.get(MANIFEST_SECTION))
    model = (LoadedTrainer if manifest.get("kind") == "trainer" else LoadedModel)(manifest, wasm, engine, variant)
    threaded = found.get(THREADED_SECTION)
    if threads > 1 and threaded and isinstance(model, LoadedModel) and not isinstance(model, LoadedTrainer):
        if model.variant != SIMD128:
            raise ArtifactError("threads > 1 runs the threaded twin of the SIMD128 code: load with variant='simd128' "
                                "(or 'auto') to use threads")
        model._use_threads(threaded, threads, threads_adaptive)
    return model
