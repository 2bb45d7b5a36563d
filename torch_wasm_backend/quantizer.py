"""The PT2E quantizer of this backend: which tensors of an exported graph become int8.

``WasmQuantizer`` is a ``torchao`` ``Quantizer``: ``prepare_pt2e`` reads the annotations it
writes on the nodes of a ``torch.export`` graph, inserts observers, and ``convert_pt2e``
turns them into ``quantized_decomposed`` quantize/dequantize ops, which ``lower/quant.py``
lowers to int8 kernels. The scheme is the one the int8 kernels compute:

* weights of ``linear`` and ``conv2d``: int8 in [-127, 127], symmetric (zero point 0), one
  scale per output channel (axis 0; ``PerChannelMinMaxObserver``);
* activations (their inputs and outputs): int8 in [-128, 127], one scale and zero point
  per tensor, calibrated (``HistogramObserver``), or with ``dynamic=True`` chosen at run
  time from each input (only the inputs of linear/conv layers are quantized then);
* biases stay float32 (added to the dequantized accumulator);
* ``linear``/``conv2d`` followed by ``relu`` are one pattern (the output observer sits
  after the relu), and ``add`` (static only) quantizes its inputs and output.

This module imports ``torchao``; ``quantize.py`` imports it only when called.
"""

from __future__ import annotations

import torch
from torch.fx import Node
from torchao.quantization.pt2e import HistogramObserver, PerChannelMinMaxObserver, PlaceholderObserver
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer

aten = torch.ops.aten

SCHEME = {
    "weights": "int8 per-channel symmetric [-127, 127], axis 0",
    "activations": "int8 per-tensor affine [-128, 127]",
    "bias": "float32",
}

_ANNOTATION = "quantization_annotation"
_LAYERS = (aten.linear.default, aten.conv2d.default)
_RELU = (aten.relu.default, aten.relu_.default)
_ADD = (aten.add.Tensor, aten.add_.Tensor)


def activation_spec(dynamic: bool) -> QuantizationSpec:
    observer = PlaceholderObserver if dynamic else HistogramObserver
    return QuantizationSpec(
        dtype=torch.int8,
        quant_min=-128,
        quant_max=127,
        qscheme=torch.per_tensor_affine,
        is_dynamic=dynamic,
        observer_or_fake_quant_ctr=observer.with_args(eps=2**-12),
    )


def weight_spec() -> QuantizationSpec:
    return QuantizationSpec(
        dtype=torch.int8,
        quant_min=-127,
        quant_max=127,
        qscheme=torch.per_channel_symmetric,
        ch_axis=0,
        observer_or_fake_quant_ctr=PerChannelMinMaxObserver.with_args(eps=2**-12),
    )


def _annotated(*nodes) -> bool:
    return any(_ANNOTATION in n.meta and n.meta[_ANNOTATION]._annotated for n in nodes if n is not None)


def _mark(node: Node, inputs: dict, output) -> None:
    node.meta[_ANNOTATION] = QuantizationAnnotation(input_qspec_map=inputs, output_qspec=output, _annotated=True)


def _float(*nodes) -> bool:
    vals = [n.meta.get("val") if isinstance(n, Node) else None for n in nodes]
    return all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in vals)


def _sole_user(node: Node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


class WasmQuantizer(Quantizer):
    """Annotates linear, conv2d (each optionally followed by relu) and, when static, add."""

    def __init__(self, dynamic: bool = False):
        super().__init__()
        self.dynamic = dynamic

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        act, weight = activation_spec(self.dynamic), weight_spec()
        out = None if self.dynamic else act
        for node in list(model.graph.nodes):
            if node.op != "call_function" or node.target not in _LAYERS or _annotated(node):
                continue
            x, w = node.args[0], node.args[1]
            if not _float(x, w):
                continue
            relu = _sole_user(node)
            relu = relu if relu is not None and relu.op == "call_function" and relu.target in _RELU else None
            _mark(node, {x: act, w: weight}, None if relu is not None else out)
            if relu is not None:
                _mark(relu, {}, out)
        if not self.dynamic:
            for node in list(model.graph.nodes):
                if node.op != "call_function" or node.target not in _ADD or _annotated(node):
                    continue
                a, b = node.args[0], node.args[1]
                if not _float(a, b, node):
                    continue
                relu = _sole_user(node)
                relu = relu if relu is not None and relu.op == "call_function" and relu.target in _RELU else None
                _mark(node, {a: act, b: act}, None if relu is not None else act)
                if relu is not None:
                    _mark(relu, {}, act)
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass
