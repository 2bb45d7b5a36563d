"""A program of the loop IR: buffers, kernels in execution order, the graph's inputs and outputs
(with the layout each output must have) and its constants."""

from __future__ import annotations

from dataclasses import dataclass, field


import sympy

from ..errors import IRError
from .kernels import Buffer


@dataclass(frozen=True)
class ResultLayout:
    """How the host lays out an output tensor, in elements: what eager PyTorch produces
    (the FX node's value), which may differ from where the result sits in linear memory
    (a ``.contiguous()`` the lowering kept as a view, a permuted result it computed
    contiguously). ``storage`` is the element count of the tensor's storage."""

    strides: tuple
    offset: sympy.Expr
    storage: sympy.Expr

    def __str__(self) -> str:
        return f"strides={list(self.strides)} offset={self.offset} storage={self.storage}"


@dataclass(frozen=True)
class OutputSpec:
    """A graph output: a strided view of a buffer, copied out after each call into a tensor
    laid out as ``result`` says (contiguous when it is None)."""

    buffer: str
    shape: tuple
    strides: tuple
    offset: sympy.Expr
    dtype: str
    result: ResultLayout | None = None

    def __str__(self) -> str:
        text = f"{self.buffer}@{self.offset} shape={list(self.shape)} strides={list(self.strides)}"
        return text + (f" -> {self.result}" if self.result is not None else "")


@dataclass(frozen=True)
class InputSpec:
    buffer: str
    shape: tuple
    dtype: str
    is_weight: bool = False


@dataclass(frozen=True)
class SizeSpec:
    """A graph input that is a symbolic size (a SymInt): its value binds ``symbol``."""

    symbol: sympy.Symbol


@dataclass(frozen=True)
class Program:
    buffers: tuple  # of Buffer, in creation order
    kernels: tuple  # of Kernel, in execution order
    inputs: tuple  # of InputSpec | SizeSpec | None (an unused scalar), one per placeholder
    outputs: tuple  # of OutputSpec, one per graph output
    constants: dict = field(default_factory=dict)  # buffer name -> np.ndarray (baked in)
    # indirect symbol name -> what its out-of-range trap means in the user's terms
    # ("embedding: index out of range [0, 50)"); see ``trap_messages``
    checks: dict = field(default_factory=dict)

    @property
    def tensor_inputs(self) -> list:
        return [(i, s) for i, s in enumerate(self.inputs) if isinstance(s, InputSpec)]

    @property
    def symbols(self) -> tuple:
        """The size symbols of a dynamic-shape program, sorted by name (empty if static)."""
        syms = set()
        for b in self.buffers:
            syms |= sympy.sympify(b.numel).free_symbols
        for s in self.inputs:
            if isinstance(s, InputSpec):
                for d in s.shape:
                    syms |= sympy.sympify(d).free_symbols
            elif isinstance(s, SizeSpec):
                syms.add(s.symbol)
        return tuple(sorted(syms, key=str))

    def bind(self, args) -> dict:
        """Symbol values from concrete inputs (tensors or arrays, and ints for sizes)."""
        binding = {}
        for spec, arg in zip(self.inputs, args):
            if isinstance(spec, SizeSpec):
                binding[spec.symbol] = int(arg)
            elif isinstance(spec, InputSpec):
                for d, size in zip(spec.shape, arg.shape):
                    d = sympy.sympify(d)
                    if d.is_Symbol:
                        binding[d] = int(size)
        missing = set(self.symbols) - set(binding)
        if missing:
            raise IRError(f"cannot bind sizes {sorted(map(str, missing))} from the inputs")
        return binding

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def __str__(self) -> str:
        lines = ["program:"]
        lines += [f"  {b}" for b in self.buffers]
        lines += [f"  input {i}: {s.buffer} {list(s.shape)} {s.dtype}{' (weight)' if s.is_weight else ''}"
                  for i, s in self.tensor_inputs]
        lines += [f"  input {i}: size {s.symbol}" for i, s in enumerate(self.inputs) if isinstance(s, SizeSpec)]
        lines += [f"  {k}" for k in self.kernels]
        lines += [f"  output {i}: {o}" for i, o in enumerate(self.outputs)]
        return "\n".join(lines)

    def verify(self) -> None:
        """Raise IRError unless the program is well formed (``verify.py`` says what that is)."""
        from ..verify import verify

        verify(self)
