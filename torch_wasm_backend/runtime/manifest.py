"""Reading an artifact's manifest: parse it, check every field, evaluate its sizes.

The manifest is untrusted input (a file from anywhere), so the loader never indexes into
it blindly. ``parse_manifest`` turns the custom section into a dict and ``check_manifest``
checks the type and range of every field the loaders read, raising an ``ArtifactError``
that names the field by its path (``outputs[2].strides[1]: ...``). Sizes may depend on the
dynamic dimensions, so bounds are checked per binding of them: ``check_extents`` evaluates
every offset, shape and stride for one binding and checks each tensor lies inside linear
memory; the loaders call it before they make any view of memory for that binding.

Optional keys (absent in older version-1 files, which keep loading): ``traps`` (wasm
function name -> message in user terms), ``variants`` (``{"relaxed_simd": {"section":
name, "bytes": n}}``: the FMA module stored beside the SIMD128 one, ``variants.py``) and
``output_tree`` (the structure the model returned: ``{"tensor": k}``, ``{"tuple": [...]}``, ``{"list": [...]}``,
``{"dict": [[key, subtree], ...]}``).

Writing lives here too (the last section): ``dim_json``, ``tensor_entry`` and ``envelope``
(the fields every manifest has), which ``export.py`` (``save``) and ``trainer.py``
(``save_training``) fill in, and ``manifest_section`` to append it to a module.
"""

from __future__ import annotations

import json

import numpy as np

from ..target import NUMPY_BY_NAME as DTYPES  # manifest dtype name -> numpy type
from .wasm_binary import ArtifactError, custom_section, custom_sections

MANIFEST_SECTION = "torch_wasm_backend.manifest"
FORMAT_VERSION = 1
MAX_INT = 2**53 - 1  # what JavaScript numbers hold exactly; the JS loader uses the same bound
MAX_POWER = 8  # of a symbol in a polynomial size
MAX_RANK = 64
MAX_TREE_DEPTH = 64
TREE_KINDS = ("tensor", "tuple", "list", "dict")


# --------------------------------------------------------------------------- parsing
def parse_manifest(raw: bytes | None) -> dict:
    if raw is None:
        raise ArtifactError(f"no {MANIFEST_SECTION!r} custom section: not a torch_wasm_backend artifact")
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError) as e:  # bad JSON, bad UTF-8, absurd numbers or nesting
        raise ArtifactError(f"the manifest is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"the manifest is a JSON {type(manifest).__name__}, expected an object")
    version = manifest.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ArtifactError(f"artifact format version {version} is not supported "
                            f"(this loader reads version {FORMAT_VERSION})")
    return manifest


def read_manifest(wasm: bytes) -> dict:
    """The checked manifest of an artifact's bytes."""
    return check_manifest(parse_manifest(custom_sections(wasm).get(MANIFEST_SECTION)))


# --------------------------------------------------------------------------- field checks
def _fail(path: str, what: str, value) -> None:
    shown = json.dumps(value)[:80] if _jsonable(value) else type(value).__name__
    raise ArtifactError(f"invalid manifest: {path}: {what}, got {shown}")


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError, RecursionError):
        return False


def _int(value, path: str, lo: int = 0, hi: int = MAX_INT) -> int:
    if type(value) is not int or not lo <= value <= hi:
        _fail(path, f"expected an integer in [{lo}, {hi}]", value)
    return value


def _str(value, path: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(path, "expected a non-empty string", value)
    return value


def _list(value, path: str, max_len: int = 1 << 20) -> list:
    if not isinstance(value, list) or len(value) > max_len:
        _fail(path, "expected a list" + (f" of at most {max_len} entries" if max_len < 1 << 20 else ""), value)
    return value


def _dict(value, path: str) -> dict:
    if not isinstance(value, dict):
        _fail(path, "expected an object", value)
    return value


def _dim(d, path: str, symbols: dict, static: bool = False) -> None:
    """A size: a non-negative int, a symbol's name or ``{"poly": [[coef, {symbol: power}], ...]}``."""
    if type(d) is int:
        _int(d, path)
    elif static:
        _fail(path, "expected a non-negative integer (this part of the artifact has static shapes)", d)
    elif isinstance(d, str):
        if d not in symbols:
            _fail(path, f"unknown symbol (symbols: {sorted(symbols)})", d)
    elif isinstance(d, dict) and set(d) == {"poly"}:
        for i, term in enumerate(_list(d["poly"], f"{path}.poly", 64)):
            if not isinstance(term, list) or len(term) != 2:
                _fail(f"{path}.poly[{i}]", "expected [coefficient, {symbol: power}]", term)
            _int(term[0], f"{path}.poly[{i}][0]", -MAX_INT, MAX_INT)
            for sym, p in _dict(term[1], f"{path}.poly[{i}][1]").items():
                if sym not in symbols:
                    _fail(f"{path}.poly[{i}][1]", f"unknown symbol {sym!r} (symbols: {sorted(symbols)})", term[1])
                _int(p, f"{path}.poly[{i}][1].{sym}", 0, MAX_POWER)
    else:
        _fail(path, "expected an integer, a symbol name or {\"poly\": [...]}", d)


def _tensor(spec, path: str, symbols: dict, strides: bool, static: bool = False) -> None:
    _dict(spec, path)
    for key in ("name", "shape", "dtype", "offset") + (("strides",) if strides else ()):
        if key not in spec:
            _fail(path, f"missing field {key!r}", sorted(spec))
    _str(spec["name"], f"{path}.name")
    if not isinstance(spec["dtype"], str) or spec["dtype"] not in DTYPES:
        _fail(f"{path}.dtype", f"expected one of {', '.join(DTYPES)}", spec["dtype"])
    for i, d in enumerate(_list(spec["shape"], f"{path}.shape", MAX_RANK)):
        _dim(d, f"{path}.shape[{i}]", symbols, static)
    _dim(spec["offset"], f"{path}.offset", symbols, static)
    if strides:
        if len(_list(spec["strides"], f"{path}.strides", MAX_RANK)) != len(spec["shape"]):
            _fail(f"{path}.strides", f"expected {len(spec['shape'])} strides (one per dim of shape)",
                  spec["strides"])
        for i, d in enumerate(spec["strides"]):
            _dim(d, f"{path}.strides[{i}]", symbols, static)


def _tensors(specs, path: str, symbols: dict, strides: bool, static: bool = False, unique: bool = True) -> None:
    names = set()
    for i, spec in enumerate(_list(specs, path)):
        _tensor(spec, f"{path}[{i}]", symbols, strides, static)
        if unique and spec["name"] in names:
            _fail(f"{path}[{i}].name", "duplicate name", spec["name"])
        names.add(spec["name"])


def check_tree(tree, n_outputs: int, path: str = "output_tree", depth: int = 0) -> None:
    if depth > MAX_TREE_DEPTH:
        _fail(path, f"nested deeper than {MAX_TREE_DEPTH} levels", "...")
    if not isinstance(tree, dict) or len(tree) != 1 or next(iter(tree)) not in TREE_KINDS:
        _fail(path, 'expected one of {"tensor": k}, {"tuple": [...]}, {"list": [...]}, {"dict": [[key, ...], ...]}',
              tree if depth < 4 else "...")
    (kind, value), = tree.items()
    if kind == "tensor":
        _int(value, f"{path}.tensor", 0, n_outputs - 1)
    elif kind in ("tuple", "list"):
        for i, sub in enumerate(_list(value, f"{path}.{kind}")):
            check_tree(sub, n_outputs, f"{path}.{kind}[{i}]", depth + 1)
    else:
        keys = set()
        for i, item in enumerate(_list(value, f"{path}.dict")):
            if not isinstance(item, list) or len(item) != 2:
                _fail(f"{path}.dict[{i}]", "expected [key, subtree]", item if depth < 4 else "...")
            key = item[0]
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                _fail(f"{path}.dict[{i}][0]", "expected a string or number key", key)
            if key in keys:
                _fail(f"{path}.dict[{i}][0]", "duplicate key", key)
            keys.add(key)
            check_tree(item[1], n_outputs, f"{path}.dict[{i}][1]", depth + 1)


def check_manifest(m: dict) -> dict:
    """Check the fields the loaders read (types, ranges, references between them); returns ``m``.
    Unknown keys are allowed (newer writers may add some)."""
    _dict(m, "manifest")
    if m.get("kind") not in (None, "trainer"):
        _fail("kind", 'expected "trainer" or no kind', m["kind"])
    symbols = {}
    for i, s in enumerate(_list(m.get("symbols", []), "symbols", 256)):
        path = f"symbols[{i}]"
        _dict(s, path)
        name = _str(s.get("name"), f"{path}.name")
        if name in symbols:
            _fail(f"{path}.name", "duplicate symbol", name)
        lo = _int(s.get("min"), f"{path}.min", 0, 2**31 - 1)
        _int(s.get("max"), f"{path}.max", lo, 2**31 - 1)
        _int(s.get("offset"), f"{path}.offset")
        symbols[name] = s
    for key in ("inputs", "outputs", "memory"):
        if key not in m:
            _fail("manifest", f"missing field {key!r}", sorted(m))
    _tensors(m["inputs"], "inputs", symbols, strides=False)
    _tensors(m["outputs"], "outputs", symbols, strides=True, unique=False)
    in_dims = {d for spec in m["inputs"] for d in spec["shape"] if isinstance(d, str)}
    for i, name in enumerate(symbols):
        if name not in in_dims:
            _fail(f"symbols[{i}]", "not a dimension of any input (its size is read from the inputs)", name)
    memory = _dict(m["memory"], "memory")
    _int(memory.get("pages"), "memory.pages", 0, 65536)
    _int(memory.get("bytes"), "memory.bytes")
    for key, value in _dict(m.get("exports", {}), "exports").items():
        _str(value, f"exports.{key}")
    for key, value in _dict(m.get("requires", {}), "requires").items():
        if not isinstance(value, bool):
            _fail(f"requires.{key}", "expected true or false", value)
    for key, value in _dict(m.get("traps", {}), "traps").items():
        _str(value, f"traps.{key}")
    for key, value in _dict(m.get("variants", {}), "variants").items():
        if key != "relaxed_simd":
            _fail("variants", 'expected only the key "relaxed_simd"', sorted(m["variants"]))
        _dict(value, f"variants.{key}")
        _str(value.get("section"), f"variants.{key}.section")
        if value["section"] == MANIFEST_SECTION:
            _fail(f"variants.{key}.section", "expected a section other than the manifest's", value["section"])
        _int(value.get("bytes"), f"variants.{key}.bytes", 8)
    if "output_tree" in m:
        check_tree(m["output_tree"], len(m["outputs"]))
    if m.get("kind") == "trainer":
        if symbols:
            _fail("symbols", "a trainer has static shapes; expected no symbols", sorted(symbols))
        step = _dict(m.get("train_step"), "train_step")
        _tensors(step.get("inputs"), "train_step.inputs", symbols, strides=False, static=True)
        if not step["inputs"]:
            _fail("train_step.inputs", "expected at least the target", step["inputs"])
        if not _list(step.get("outputs"), "train_step.outputs"):
            _fail("train_step.outputs", "expected the loss", step["outputs"])
        _tensor(step["outputs"][0], "train_step.outputs[0]", symbols, strides=False, static=True)
        if any(d != 1 for d in step["outputs"][0]["shape"]):
            _fail("train_step.outputs[0].shape", "expected one element (the loss)", step["outputs"][0]["shape"])
        _tensors(m.get("state"), "state", symbols, strides=False, static=True)
    return m


# --------------------------------------------------------------------------- sizes
def eval_dim(d, binding: dict) -> int:
    """A manifest size: an int, a symbol name, or ``{"poly": [[coef, {sym: power}], ...]}``."""
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return binding[d]
    total = 0
    for coef, powers in d["poly"]:
        term = coef
        for sym, p in powers.items():
            term *= binding[sym] ** p
        total += term
    return total


def max_binding(manifest: dict) -> dict:
    return {s["name"]: s["max"] for s in manifest.get("symbols", [])}


def _extent(spec, binding: dict, memory_bytes: int, path: str, strides: bool) -> None:
    """Every element of the tensor ``spec`` (with the sizes of ``binding``) lies in memory."""
    itemsize = np.dtype(DTYPES[spec["dtype"]]).itemsize
    shape = [eval_dim(d, binding) for d in spec["shape"]]
    offset = eval_dim(spec["offset"], binding)
    for i, n in enumerate(shape):
        if not 0 <= n <= memory_bytes:
            raise ArtifactError(f"invalid manifest: {path}.shape[{i}] is {n} with sizes {binding or 'static'}, "
                                f"outside [0, {memory_bytes}] (the memory size in bytes)")
    if strides:
        steps = [eval_dim(d, binding) for d in spec["strides"]]
        for i, s in enumerate(steps):
            if not 0 <= s <= memory_bytes:
                raise ArtifactError(f"invalid manifest: {path}.strides[{i}] is {s} with sizes {binding or 'static'}, "
                                    f"outside [0, {memory_bytes}]")
        last = sum((n - 1) * s for n, s in zip(shape, steps))
    else:
        last = int(np.prod(shape, dtype=object)) - 1 if shape else 0
    if 0 in shape:
        return
    end = offset + (last + 1) * itemsize
    if offset < 0 or end > memory_bytes:
        raise ArtifactError(f"invalid manifest: {path} spans bytes [{offset}, {end}) with sizes "
                            f"{binding or 'static'}, outside the module's memory of {memory_bytes} bytes")


def check_extents(manifest: dict, binding: dict, memory_bytes: int) -> None:
    """Every input, output (and trainer tensor) and size slot, evaluated with ``binding``,
    lies inside ``memory_bytes`` of linear memory."""
    for i, s in enumerate(manifest.get("symbols", [])):
        if s["offset"] + 4 > memory_bytes:
            raise ArtifactError(f"invalid manifest: symbols[{i}].offset {s['offset']} is outside the module's "
                                f"memory of {memory_bytes} bytes")
    for key, strides in (("inputs", False), ("outputs", True)):
        for i, spec in enumerate(manifest[key]):
            _extent(spec, binding, memory_bytes, f"{key}[{i}]", strides)
    if manifest.get("kind") == "trainer":
        for i, spec in enumerate(manifest["train_step"]["inputs"]):
            _extent(spec, {}, memory_bytes, f"train_step.inputs[{i}]", False)
        _extent(manifest["train_step"]["outputs"][0], {}, memory_bytes, "train_step.outputs[0]", False)
        for i, spec in enumerate(manifest["state"]):
            _extent(spec, {}, memory_bytes, f"state[{i}]", False)


# --------------------------------------------------------------------------- output structure
def unflatten(tree, outputs: list):
    """The structure ``tree`` (see the module docstring) with ``outputs`` at its leaves;
    without a tree, one output bare and several as a tuple."""
    if tree is None:
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
    (kind, value), = tree.items()
    if kind == "tensor":
        return outputs[value]
    if kind == "tuple":
        return tuple(unflatten(t, outputs) for t in value)
    if kind == "list":
        return [unflatten(t, outputs) for t in value]
    return {k: unflatten(t, outputs) for k, t in value}


# --------------------------------------------------------------------------- writing
def dim_json(expr):
    """A size for the manifest: an int, a symbol's name, or a polynomial
    ``{"poly": [[coefficient, {symbol: power}], ...]}`` (what the loaders evaluate)."""
    import sympy  # the writers' side only: loading an artifact needs no sympy

    expr = sympy.expand(sympy.sympify(expr))
    if expr.is_Integer:
        return int(expr)
    if expr.is_Symbol:
        return str(expr)
    terms = []
    for mono, coef in sorted(expr.as_coefficients_dict().items(), key=lambda t: str(t[0])):
        powers = mono.as_powers_dict()
        if not coef.is_Integer or any(not (b.is_Symbol and e.is_Integer) for b, e in powers.items() if b != 1):
            raise ValueError(f"size {expr} cannot be written to the manifest (only polynomials of the sizes)")
        terms.append([int(coef), {str(b): int(e) for b, e in powers.items() if b != 1}])
    return {"poly": terms}


def tensor_entry(name: str, shape, dtype: str, offset, strides=None) -> dict:
    """An input, output or state entry: ``dtype`` is the manifest's name (``float32``)."""
    entry = {"name": name, "shape": [dim_json(s) for s in shape], "dtype": dtype, "offset": dim_json(offset)}
    if strides is not None:
        entry["strides"] = [dim_json(s) for s in strides]
    return entry


def envelope(exports: dict, *, relaxed_simd: bool, options: dict, tools: dict, kind: str | None = None) -> dict:
    """The fields every manifest has: format, version, kind, exports, requirements, build
    options and tool versions."""
    head = {"format": "torch_wasm_backend", "format_version": FORMAT_VERSION}
    if kind is not None:
        head["kind"] = kind
    return {**head, "exports": exports, "requires": {"simd128": True, "relaxed_simd": relaxed_simd, "threads": False},
            "options": options, "tools": tools}


def manifest_section(manifest: dict) -> bytes:
    """The custom section holding ``manifest`` (deterministic JSON), to append to a module."""
    return custom_section(MANIFEST_SECTION, json.dumps(manifest, sort_keys=True).encode())
