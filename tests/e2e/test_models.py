"""Whole models through torch.compile(backend="wasm") against eager PyTorch."""

import pytest
import torch


STRICT = {"strict": True}


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 16, 3, padding=1, groups=16), torch.nn.BatchNorm2d(16), torch.nn.ReLU6(),
            torch.nn.Conv2d(16, 32, 1), torch.nn.ReLU(),
            torch.nn.Conv2d(32, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
        )
        self.head = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def _randomise_batchnorm(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model


def run_both(made, model, *inputs, **tol):
    """Compile, check the graph really ran as WebAssembly (``made``: the compiled_graphs
    fixture), compare with eager."""
    torch._dynamo.reset()
    fast = torch.compile(model, backend="wasm", options=STRICT)
    with torch.no_grad():
        got, want = fast(*inputs), model(*inputs)
    assert made, "no graph was compiled to WebAssembly"
    torch.testing.assert_close(got, want, **tol)
    return made


def test_mlp(compiled_graphs):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.GELU(),
                              torch.nn.Linear(64, 10), torch.nn.LogSoftmax(-1)).eval()
    run_both(compiled_graphs, mlp, torch.randn(5, 784))


def test_small_cnn(compiled_graphs):
    torch.manual_seed(0)
    model = _randomise_batchnorm(SmallCNN()).eval()
    run_both(compiled_graphs, model, torch.randn(2, 3, 33, 31))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer(norm_first, compiled_graphs):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True, norm_first=norm_first,
                                             activation="gelu").eval()
    run_both(compiled_graphs, layer, torch.randn(2, 9, 64))


def test_transformer_encoder_stack(compiled_graphs):
    torch.manual_seed(0)
    enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True),
                                      2, enable_nested_tensor=False).eval()
    run_both(compiled_graphs, enc, torch.randn(1, 7, 32))


def test_embedding_model_with_int64_input(compiled_graphs):
    torch.manual_seed(0)

    class Bag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(50, 16)
            self.fc = torch.nn.Linear(16, 3)

        def forward(self, idx):
            return self.fc(self.emb(idx).mean(1)), idx.argmax(-1)

    run_both(compiled_graphs, Bag().eval(), torch.randint(0, 50, (4, 6)))
