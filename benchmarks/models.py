"""Models benchmarked by ``benchmarks/test_bench.py``.

Every model is written here (no torchvision: it does not import in this environment).
``CASES`` maps a benchmark group name to a :class:`Case`: a factory for the module, a
factory for its example inputs, when it is easy to count the FLOPs of one call (a
multiply-add counts as 2 FLOPs), how many rounds to time, and whether the case is opt-in
or has a known compiler failure (the wasm benchmark then skips with that reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

# --------------------------------------------------------------------------- small models


class MLP(nn.Module):
    """784-512-512-10 with ReLU."""

    def __init__(self, dims=(784, 512, 512, 10)):
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.dims = dims

    def forward(self, x):
        return self.net(x)


def mlp_flops(batch: int, dims=(784, 512, 512, 10)) -> int:
    return sum(2 * batch * a * b for a, b in zip(dims[:-1], dims[1:]))


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """A small CNN for 3x64x64: conv-bn-relu blocks, max pool, a depthwise conv,
    adaptive average pool and a linear classifier."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(3, 16),  # 16x64x64
            nn.MaxPool2d(2),  # 16x32x32
            conv_bn_relu(16, 32),  # 32x32x32
            conv_bn_relu(32, 32, groups=32),  # depthwise 3x3
            conv_bn_relu(32, 64, k=1),  # pointwise
            nn.MaxPool2d(2),  # 64x16x16
            conv_bn_relu(64, 64),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x).flatten(1)
        return self.fc(x)


class Tiny(nn.Module):
    """``x * 2 + 1``: measures per-call overhead, not arithmetic."""

    def forward(self, x):
        return x * 2 + 1


class MM(nn.Module):
    """``torch.mm(a, b)`` with both operands runtime inputs (no weights)."""

    def forward(self, a, b):
        return torch.mm(a, b)


def transformer_layer() -> nn.Module:
    return nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, dropout=0.0, batch_first=True)


def transformer_encoder() -> nn.Module:
    """nn.TransformerEncoder: 4 of the layers above (d 256, 4 heads, ff 1024)."""
    return nn.TransformerEncoder(transformer_layer(), num_layers=4, enable_nested_tensor=False)


# --------------------------------------------------------------------------- 224x224 networks
# "ResNet-18-shaped" and "MobileNetV2-shaped": same layer shapes as the torchvision models
# (written here, torchvision does not import). Opt-in through TORCH_WASM_BENCH_LARGE=1, as
# are the 4-layer transformer encoder and the 1024 GEMM.


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.down is None else self.down(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + idt)


class ResNet18Shaped(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )
        blocks = []
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(self.pool(x).flatten(1))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(True)))
        layers += [
            nn.Sequential(
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(True),
            ),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class MobileNetV2Shaped(nn.Module):
    # (expand t, channels c, repeats n, stride s) as in the MobileNetV2 paper
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(True))
        ]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(True)))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Case:
    name: str
    make_model: Callable[[], nn.Module]
    make_inputs: Callable[[], tuple[torch.Tensor, ...]]
    flops: int | None = None  # FLOPs of one forward call, when easy to count
    shape: str = ""  # human-readable input description for the report
    opt_in: str | None = None  # environment variable that must be "1" to run this case
    rounds: int = 50  # timed rounds (one call each) per benchmark
    tolerance: dict = field(default_factory=dict)  # torch.testing.assert_close kwargs (default: its f32 defaults)
    wasm_skip: str | None = None  # known compiler failure: the wasm benchmark skips with this reason


def build_model(case: Case) -> nn.Module:
    """The case's model in eval mode with seeded weights. Batch-norm running statistics and
    affine parameters are randomised (seeded): with their default values (mean 0, var 1,
    weight 1, bias 0) BN is nearly the identity and deep stacks can collapse to constant
    outputs, which would make the correctness check before timing meaningless."""
    torch.manual_seed(0)
    model = case.make_model()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
    return model.eval()


def _randn(*shape):
    def make():
        g = torch.Generator().manual_seed(0)
        return (torch.randn(*shape, generator=g),)

    return make


def _mm_inputs(n: int):
    def make():
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)

    return make


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("mlp", MLP, _randn(32, 784), flops=mlp_flops(32), shape="32x784", rounds=600),
        Case("cnn", SmallCNN, _randn(1, 3, 64, 64), shape="1x3x64x64", rounds=500),
        Case("tiny", Tiny, _randn(16), shape="16", rounds=5000),
        Case(
            "gemm256",
            MM,
            _mm_inputs(256),
            flops=2 * 256**3,
            shape="256x256 @ 256x256",
            rounds=800,
            # packed kernel: 4 partial sums per output (not eager's order); max error 3e-5 on
            # outputs of size ~16
            tolerance={"rtol": 1e-4, "atol": 1e-4},
        ),
        Case(
            "transformer",
            transformer_layer,
            _randn(1, 128, 256),
            shape="1x128x256",
            rounds=150,
        ),
        Case(
            "transformer4",
            transformer_encoder,
            _randn(1, 128, 256),
            shape="1x128x256",
            opt_in="TORCH_WASM_BENCH_LARGE",
            rounds=30,
        ),
        Case(
            "gemm1024",
            MM,
            _mm_inputs(1024),
            flops=2 * 1024**3,
            shape="1024x1024 @ 1024x1024",
            opt_in="TORCH_WASM_BENCH_LARGE",
            rounds=15,
            tolerance={"rtol": 1e-4, "atol": 1e-4},
        ),
        Case(
            "resnet18",
            ResNet18Shaped,
            _randn(1, 3, 224, 224),
            shape="1x3x224x224",
            opt_in="TORCH_WASM_BENCH_LARGE",
            rounds=10,
        ),
        Case(
            "mobilenetv2",
            MobileNetV2Shaped,
            _randn(1, 3, 224, 224),
            shape="1x3x224x224",
            opt_in="TORCH_WASM_BENCH_LARGE",
            rounds=10,
        ),
    )
}
