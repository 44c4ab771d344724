"""chainrule <-> PyTorch <-> ONNX: every supported layer and four whole models.

For each model: chainrule -> PyTorch -> chainrule is exact (same state dict, same outputs);
PyTorch's outputs agree with chainrule's to 1e-5 (float32); the ONNX file passes the checker
and ONNX Runtime agrees to 1e-5, on the export example and on another batch size.
"""
from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.interop import (
    ConversionError,
    OnnxExportError,
    export_onnx,
    from_torch,
    from_torch_state_dict,
    to_torch,
    to_torch_state_dict,
)

ATOL = 1e-5

# PyTorch's own note about even kernels with padding='same' (Conv2d-same row).
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def needs(*names):
    """Skip (with the reason) when a layer this test uses is not in chainrule.nn yet."""
    missing = [n for n in names if not hasattr(nn, n)]
    return pytest.mark.skipif(bool(missing), reason=f"chainrule.nn lacks {missing}")


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _np(t) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _torch_args(args):
    return tuple(torch.from_numpy(np.array(a.numpy(), copy=True)) for a in args)


def run_cr(model, args):
    with cr.no_grad():
        return [_np(o) for o in _flat(model(*args))]


def run_torch(model, args):
    with torch.no_grad():
        return [o.numpy() for o in _flat(model(*_torch_args(args)))]


def assert_close(got, want, what):
    assert len(got) == len(want), f"{what}: {len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{what}: output {i} shape {g.shape} != {w.shape}"
        err = float(np.max(np.abs(g - w))) if g.size else 0.0
        assert err <= ATOL, f"{what}: output {i} differs by {err}"


def check_model(model, example, other, tmp_path, example_input=None):
    """The whole contract for one model: torch round trip, torch outputs, ONNX outputs."""
    example = example if isinstance(example, tuple) else (example,)
    other = other if isinstance(other, tuple) else (other,)
    tm = to_torch(model, example_input=example_input)
    # Same keys, dtypes, shapes and values in PyTorch.
    sd, tsd = model.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tsd[k].numpy().dtype == sd[k].numpy().dtype, k
        np.testing.assert_array_equal(tsd[k].numpy(), sd[k].numpy(), err_msg=k)
    assert tm.training == model.training
    if example_input is None:  # the same tree on both sides, flag by flag
        assert [m.training for m in tm.modules()] == [m.training for m in model.modules()]
    for args in (example, other):
        assert_close(run_torch(tm, args), run_cr(model, args), f"torch {type(model).__name__}")
    # ... and back: exact.
    if example_input is None:
        back = from_torch(tm)
        assert type(back) is type(model)
        sd2 = back.state_dict()
        assert list(sd2) == list(sd)
        for k in sd:
            np.testing.assert_array_equal(sd2[k].numpy(), sd[k].numpy(), err_msg=k)
            assert sd2[k].numpy().dtype == sd[k].numpy().dtype
        assert back.training == model.training
        for args in (example, other):
            for a, b in zip(run_cr(back, args), run_cr(model, args)):
                np.testing.assert_array_equal(a, b)
    # ONNX: checker, then ONNX Runtime with two batch sizes.
    path = tmp_path / "model.onnx"
    export_onnx(model, example, path)
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for args in (example, other):
        got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
        assert_close(got, run_cr(model, args), f"onnx {type(model).__name__}")
    return tm


def randn(*shape):
    return cr.randn(*shape)


# -- every layer --------------------------------------------------------------------------------

def _trained_bn(bn, shape):
    bn.train()
    with cr.no_grad():
        for _ in range(3):
            bn(cr.randn(*shape) * 2 + 1)
    return bn.eval()


LAYERS = [
    ("Linear", lambda: nn.Linear(6, 4), (3, 6)),
    ("Linear-3d", lambda: nn.Linear(6, 4), (3, 5, 6)),
    ("Linear-nobias", lambda: nn.Linear(6, 4, bias=False), (3, 6)),
    ("Conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 11)),
    ("Conv2d", lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 9, 9)),
    ("Conv2d-same", lambda: nn.Conv2d(3, 4, 4, padding="same", bias=False), (2, 3, 7, 7)),
    ("Conv2d-stride", lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)),
     (2, 3, 8, 7)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                   output_padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d-groups", lambda: nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2),
     (2, 4, 3, 3)),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 2, 3, stride=2), (2, 3, 6)),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
    ("MaxPool2d-pad", lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 9)),
    ("MaxPool1d", lambda: nn.MaxPool1d(2), (2, 3, 8)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), (2, 3, 8, 8)),
    ("AvgPool2d-pad", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
    ("AvgPool1d", lambda: nn.AvgPool1d(3, 2), (2, 3, 9)),
    ("AdaptiveAvgPool2d-1", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    ("AdaptiveAvgPool2d-2", lambda: nn.AdaptiveAvgPool2d((2, 2)), (2, 3, 4, 4)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 5)),
    ("BatchNorm1d", lambda: _trained_bn(nn.BatchNorm1d(6), (8, 6)), (4, 6)),
    ("BatchNorm1d-3d", lambda: _trained_bn(nn.BatchNorm1d(3), (8, 3, 5)), (4, 3, 5)),
    ("BatchNorm2d", lambda: _trained_bn(nn.BatchNorm2d(3), (4, 3, 5, 5)), (2, 3, 5, 5)),
    ("BatchNorm2d-noaffine", lambda: _trained_bn(nn.BatchNorm2d(3, affine=False),
                                                 (4, 3, 5, 5)), (2, 3, 5, 5)),
    ("LayerNorm", lambda: nn.LayerNorm(6), (3, 6)),
    ("LayerNorm-2d", lambda: nn.LayerNorm((4, 6), eps=1e-3), (3, 4, 6)),
    ("LayerNorm-noaffine", lambda: nn.LayerNorm(6, elementwise_affine=False), (3, 5, 6)),
    ("Dropout", lambda: nn.Dropout(0.5).eval(), (3, 6)),
    ("Dropout2d", lambda: nn.Dropout2d(0.5).eval(), (2, 3, 4, 4)),
    ("Identity", lambda: nn.Identity(), (3, 6)),
    ("ReLU", lambda: nn.ReLU(), (3, 6)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.1), (3, 6)),
    ("ELU", lambda: nn.ELU(0.7), (3, 6)),
    ("GELU", lambda: nn.GELU(), (3, 6)),
    ("GELU-tanh", lambda: nn.GELU("tanh"), (3, 6)),
    ("Sigmoid", lambda: nn.Sigmoid(), (3, 6)),
    ("Tanh", lambda: nn.Tanh(), (3, 6)),
    ("Softmax", lambda: nn.Softmax(dim=1), (3, 6)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), (3, 6)),
    ("Softmin", lambda: nn.Softmin(dim=1), (3, 6)),
    ("SiLU", lambda: nn.SiLU(), (3, 6)),
    ("Mish", lambda: nn.Mish(), (3, 6)),
    ("SELU", lambda: nn.SELU(), (3, 6)),
    ("CELU", lambda: nn.CELU(0.5), (3, 6)),
    ("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.7), (3, 6)),
    ("ReLU6", lambda: nn.ReLU6(), (3, 6)),
    ("Hardsigmoid", lambda: nn.Hardsigmoid(), (3, 6)),
    ("Hardswish", lambda: nn.Hardswish(), (3, 6)),
    ("Softplus", lambda: nn.Softplus(beta=2.0, threshold=1.0), (3, 6)),
    ("Softsign", lambda: nn.Softsign(), (3, 6)),
    ("Tanhshrink", lambda: nn.Tanhshrink(), (3, 6)),
    ("Softshrink", lambda: nn.Softshrink(0.3), (3, 6)),
    ("Hardshrink", lambda: nn.Hardshrink(0.4), (3, 6)),
    ("RReLU", lambda: nn.RReLU(0.1, 0.3).eval(), (3, 6)),
    ("LogSigmoid", lambda: nn.LogSigmoid(), (3, 6)),
    ("PReLU", lambda: nn.PReLU(), (3, 6)),
    ("PReLU-channels", lambda: nn.PReLU(3, init=0.1), (2, 3, 4, 4)),
    ("Flatten", lambda: nn.Flatten(), (2, 3, 4, 5)),
    ("Flatten-mid", lambda: nn.Flatten(2, 3), (2, 3, 4, 5)),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), (4, 6)),
    ("Upsample", lambda: nn.Upsample(scale_factor=2), (2, 3, 4, 4)),
    ("Upsample-bilinear", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4, 5)),
    ("Upsample-size", lambda: nn.Upsample(size=(6, 7), mode="nearest"), (2, 3, 3, 4)),
    ("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2), (2, 3, 4, 4)),
    ("GLU", lambda: nn.GLU(), (3, 6)),
    ("Threshold", lambda: nn.Threshold(0.1, 20.0), (3, 6)),
    ("RMSNorm", lambda: nn.RMSNorm(6), (3, 6)),
    ("RMSNorm-eps", lambda: nn.RMSNorm((2, 6), eps=1e-3), (3, 2, 6)),
    ("Dropout3d", lambda: nn.Dropout3d().eval(), (2, 3, 2, 2, 2)),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    ("GroupNorm-noaffine", lambda: nn.GroupNorm(3, 6, affine=False), (2, 6, 5)),
    ("AlphaDropout", lambda: nn.AlphaDropout(0.2).eval(), (3, 6)),
    ("Dropout1d", lambda: nn.Dropout1d(0.2).eval(), (2, 3, 6)),
    ("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(3), (2, 3, 6)),
    ("AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(1), (2, 3, 7)),
    ("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=3), (2, 3, 2, 3)),
    ("ZeroPad2d", lambda: nn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 5)),
    ("ZeroPad1d-crop", lambda: nn.ZeroPad1d((-1, 2)), (2, 3, 5)),
    ("ConstantPad1d", lambda: nn.ConstantPad1d(2, 3.5), (2, 3, 5)),
    ("ConstantPad3d", lambda: nn.ConstantPad3d((1, 0, 0, 1, 1, 1), -1.0), (2, 3, 2, 3, 4)),
    ("ReflectionPad1d", lambda: nn.ReflectionPad1d((2, 1)), (2, 3, 5)),
    ("ReflectionPad2d", lambda: nn.ReflectionPad2d(2), (2, 3, 4, 5)),
    ("ReplicationPad2d", lambda: nn.ReplicationPad2d((0, 3, 1, 2)), (2, 3, 4, 5)),
    ("ReplicationPad3d", lambda: nn.ReplicationPad3d(1), (2, 3, 2, 3, 4)),
    ("ReplicationPad1d", lambda: nn.ReplicationPad1d((0, 2)), (2, 3, 4)),
    ("ConstantPad2d", lambda: nn.ConstantPad2d((1, 0, 2, 1), 0.5), (2, 3, 4, 5)),
    ("ReflectionPad3d", lambda: nn.ReflectionPad3d((1, 0, 1, 2, 1, 1)), (2, 3, 2, 3, 4)),
    ("ZeroPad3d", lambda: nn.ZeroPad3d(1), (2, 3, 2, 3, 4)),
    ("PixelShuffle", lambda: nn.PixelShuffle(2), (2, 8, 3, 4)),
    ("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), (2, 3, 4, 6)),
    ("InstanceNorm2d", lambda: nn.InstanceNorm2d(3), (2, 3, 4, 5)),
    ("InstanceNorm1d-affine", lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 6)),
    ("InstanceNorm2d-running", lambda: _trained_instance_norm(), (2, 3, 4, 5)),
    ("InstanceNorm3d", lambda: nn.InstanceNorm3d(3, affine=True), (2, 3, 2, 3, 4)),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3, alpha=0.3, beta=0.6, k=1.5),
     (2, 5, 3, 4)),
    ("Conv3d", lambda: nn.Conv3d(3, 4, (2, 3, 3), stride=(1, 2, 1), padding=(1, 0, 1),
                                 groups=1), (2, 3, 4, 6, 5)),
    ("Conv3d-same-groups", lambda: nn.Conv3d(4, 4, 3, padding="same", groups=2, bias=False),
     (2, 4, 3, 5, 4)),
    ("MaxPool3d", lambda: nn.MaxPool3d(3, 2, 1, ceil_mode=True), (2, 3, 5, 6, 7)),
    ("AvgPool3d", lambda: nn.AvgPool3d(2, count_include_pad=False, padding=1), (2, 3, 4, 5, 6)),
    ("Sequential-nested", lambda: nn.Sequential(nn.Linear(6, 5), nn.Sequential(
        nn.Tanh(), nn.Linear(5, 2))), (3, 6)),
]


def _trained_instance_norm():
    """In eval mode with running statistics moved off their start by two training steps."""
    layer = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    for _ in range(2):
        layer(randn(2, 3, 4, 5) * 2 + 1)
    return layer.eval()


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[row[0] for row in LAYERS])
def test_layer(name, make, shape, tmp_path):
    layer_name = name.split("-")[0]
    if not hasattr(nn, layer_name):
        pytest.skip(f"chainrule.nn lacks {layer_name}")
    cr.manual_seed(1)
    model = make()
    other = (5,) + shape[1:]
    check_model(model, randn(*shape), randn(*other), tmp_path)


def test_embedding(tmp_path):
    cr.manual_seed(2)
    model = nn.Embedding(10, 4, padding_idx=0)
    check_model(model, cr.randint(0, 10, (3, 5)), cr.randint(0, 10, (6, 5)), tmp_path)


RECURRENT = [(kind, layers, bf, bi) for kind in ("LSTM", "GRU", "RNN")
             for layers, bf, bi in ((1, False, False), (2, True, True), (2, False, True))]


@pytest.mark.parametrize("kind,layers,batch_first,bidirectional", RECURRENT)
def test_recurrent(kind, layers, batch_first, bidirectional, tmp_path):
    if not hasattr(nn, kind):
        pytest.skip(f"chainrule.nn lacks {kind}")
    cr.manual_seed(3)
    extra = {"nonlinearity": "relu"} if kind == "RNN" and layers == 2 else {}
    model = getattr(nn, kind)(5, 7, num_layers=layers, batch_first=batch_first,
                              bidirectional=bidirectional, **extra)
    # Axis 0 is dynamic: the batch with batch_first, the sequence without.
    check_model(model, randn(3, 4, 5), randn(6, 4, 5), tmp_path)


@needs("LSTM", "GRU")
def test_recurrent_with_initial_state(tmp_path):
    cr.manual_seed(4)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x = randn(2, 5, 3)
    h0, c0 = randn(2, 2, 4), randn(2, 2, 4)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h0, c0):
            out, (h, c) = self.lstm(x, (h0, c0))
            return out, h, c

    model = WithState()
    # The states' batch is dim 1, so this model is exported with a fixed batch.
    tm = to_torch(model, example_input=(x, h0, c0))
    assert_close(run_torch(tm, (x, h0, c0)), run_cr(model, (x, h0, c0)), "torch")
    path = tmp_path / "s.onnx"
    export_onnx(model, (x, h0, c0), path, dynamic_batch=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_0": x.numpy(), "input_1": h0.numpy(),
                             "input_2": c0.numpy()})
    assert_close(got, run_cr(model, (x, h0, c0)), "onnx")


# -- whole models -------------------------------------------------------------------------------

def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def vgg():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, 10))


class LanguageModel(nn.Module):
    """Embedding -> 2-layer LSTM -> Linear: a user subclass, converted by tracing."""

    def __init__(self, vocab: int = 20, embed: int = 8, hidden: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


@needs("Conv2d", "MaxPool2d")
def test_lenet(tmp_path):
    cr.manual_seed(5)
    check_model(lenet().eval(), randn(2, 1, 28, 28), randn(3, 1, 28, 28), tmp_path)


@needs("Conv2d", "MaxPool2d")
def test_vgg(tmp_path):
    cr.manual_seed(6)
    check_model(vgg().eval(), randn(2, 3, 16, 16), randn(4, 3, 16, 16), tmp_path)


def test_mlp_train_mode_flag_survives(tmp_path):
    cr.manual_seed(7)
    model = mlp()  # in training mode: the flag is copied; export runs in eval and restores it
    tm = check_model(model, randn(2, 1, 28, 28), randn(7, 1, 28, 28), tmp_path)
    assert tm.training and model.training


@needs("LSTM", "Embedding")
def test_lstm_language_model(tmp_path):
    cr.manual_seed(8)
    model = LanguageModel().eval()
    tokens = cr.randint(0, 20, (2, 7))
    tm = check_model(model, tokens, cr.randint(0, 20, (5, 7)), tmp_path, example_input=tokens)
    assert type(tm).__name__ == "LanguageModel"
    # The traced torch model loads back into a fresh chainrule LanguageModel exactly.
    fresh = LanguageModel().eval()
    fresh.load_state_dict(from_torch_state_dict(tm))
    for a, b in zip(run_cr(fresh, (tokens,)), run_cr(model, (tokens,))):
        np.testing.assert_array_equal(a, b)


@needs("LSTM", "Embedding")
def test_lstm_language_model_sequential(tmp_path):
    """The same language model as a Sequential needs no tracing of user code."""
    cr.manual_seed(9)
    model = nn.Sequential(nn.Embedding(20, 8), nn.LSTM(8, 16, 2, batch_first=True)).eval()
    check_model(model, cr.randint(0, 20, (2, 7)), cr.randint(0, 20, (4, 7)), tmp_path)


class Residual(nn.Module):
    """A user forward with ops between layers: residual add, reshape by size, softmax."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 6)
        self.fc2 = nn.Linear(6, 6)
        self.scale = nn.Parameter(cr.ones(6) * 0.5)

    def forward(self, x):
        h = F.relu(self.fc1(x)) + x * self.scale
        h = h.view(x.size(0), 2, 3).transpose(1, 2).reshape(x.shape[0], -1)
        h = self.fc2(h) - h.mean(dim=1, keepdim=True)
        return F.softmax(h[:, 1:] * 2.0, dim=-1), cr.tanh(h).sum(1)


def test_traced_user_module(tmp_path):
    cr.manual_seed(10)
    model = Residual()
    x = randn(3, 6)
    tm = check_model(model, x, randn(8, 6), tmp_path, example_input=x)
    assert isinstance(tm, torch.fx.GraphModule)
    assert set(tm.state_dict()) == set(model.state_dict())


# -- state dicts and checkpoints ---------------------------------------------------------------

@needs("BatchNorm1d")
def test_state_dict_interchange():
    cr.manual_seed(11)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 2))
    with cr.no_grad():
        model(randn(6, 4))  # moves the running stats, counts a batch
    model.eval()
    tsd = to_torch_state_dict(model)
    assert list(tsd) == list(model.state_dict())
    assert tsd["1.num_batches_tracked"].dtype == torch.int64
    assert int(tsd["1.num_batches_tracked"]) == 1
    # A PyTorch model's weights, loaded into the equivalent chainrule model, give its outputs.
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5),
                             torch.nn.Linear(5, 2))
    with torch.no_grad():
        tm(torch.randn(6, 4))
    tm.eval()
    result = model.load_state_dict(from_torch_state_dict(tm.state_dict()))
    assert not result.missing_keys and not result.unexpected_keys
    x = randn(3, 4)
    assert_close(run_cr(model, (x,)), run_torch(tm, (x,)), "loaded state dict")
    # Copies, not shared memory.
    tsd["0.weight"].zero_()
    assert float(model[0].weight.abs().sum()) > 0


def test_checkpoint_file_is_read_with_weights_only(tmp_path):
    tm = torch.nn.Linear(3, 2)
    path = tmp_path / "ok.pt"
    torch.save(tm.state_dict(), path)
    sd = from_torch_state_dict(path)
    np.testing.assert_array_equal(sd["weight"].numpy(), tm.weight.detach().numpy())

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    bad = tmp_path / "bad.pt"
    with open(bad, "wb") as f:
        pickle.dump({"weight": Evil()}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        from_torch_state_dict(bad)
    assert not (tmp_path / "pwned").exists()


def test_from_torch_state_dict_rejects_non_tensors():
    with pytest.raises(TypeError, match="'step'"):
        from_torch_state_dict({"step": 3})


# -- errors -------------------------------------------------------------------------------------

class UsesCumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x).cumsum(1)


def test_unsupported_op_names_it_and_writes_nothing(tmp_path):
    path = tmp_path / "out.onnx"
    with pytest.raises(OnnxExportError, match="Cumsum"):
        export_onnx(UsesCumsum(), randn(2, 4), path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ConversionError, match="Cumsum"):
        to_torch(UsesCumsum(), example_input=randn(2, 4))


def test_unsupported_layer_names_it_and_writes_nothing(tmp_path):
    path = tmp_path / "out.onnx"
    path.write_bytes(b"previous")  # an existing file is left untouched on failure
    # Adaptive pooling whose windows overlap unevenly has no ONNX operator.
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(2))
    with pytest.raises(OnnxExportError, match=r"AdaptiveAvgPool2d \(at '1'\)"):
        export_onnx(model, randn(1, 1, 5, 5), path)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.onnx"]


def test_user_module_needs_an_example():
    with pytest.raises(ConversionError, match="UsesCumsum.*example_input"):
        to_torch(UsesCumsum())


def test_shape_depending_on_batch_through_control_flow():
    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.shape[0] < 3 else x + 1
    with pytest.raises(OnnxExportError, match="different path|different sequence"):
        export_onnx(Branchy(), randn(2, 4), io.BytesIO())


# -- chainrule.onnx.export: PyTorch's calling form ----------------------------------------------

def test_onnx_export_torch_calling_form(tmp_path):
    import chainrule.onnx
    cr.manual_seed(12)
    model = mlp().eval()
    x = randn(2, 1, 28, 28)
    buffer = io.BytesIO()
    chainrule.onnx.export(model, (x,), buffer, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}},
                          opset_version=18)
    proto = onnx.load_from_string(buffer.getvalue())
    assert proto.opset_import[0].version == 18
    assert [i.name for i in proto.graph.input] == ["image"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    x5 = randn(5, 1, 28, 28)
    (got,) = session.run(["logits"], {"image": x5.numpy()})
    assert_close([got], run_cr(model, (x5,)), "chainrule.onnx.export")
    # Without dynamic_axes the shapes are fixed, as in PyTorch.
    path = tmp_path / "static.onnx"
    chainrule.onnx.export(model, x, str(path))
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 1, 28, 28]


def test_gelu_native_at_opset_20(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU())
    for opset, has_gelu in ((17, False), (20, True)):
        buffer = io.BytesIO()
        export_onnx(model, randn(2, 4), buffer, opset=opset)
        proto = onnx.load_from_string(buffer.getvalue())
        assert any(n.op_type == "Gelu" for n in proto.graph.node) == has_gelu
        session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
        x = randn(3, 4)
        assert_close(session.run(None, {"input": x.numpy()}), run_cr(model, (x,)), "gelu")


CIRCULAR = [("CircularPad1d", (2, 1), (2, 3, 5)), ("CircularPad2d", (1, 2, 0, 1), (2, 3, 5, 6)),
            ("CircularPad3d", 1, (2, 3, 2, 3, 4))]


@pytest.mark.parametrize("name,padding,shape", CIRCULAR)
def test_circular_pad_needs_opset_19(name, padding, shape, tmp_path):
    model = nn.Sequential(nn.Identity(), getattr(nn, name)(padding))
    x, other = randn(*shape), randn(4, *shape[1:])
    with pytest.raises(OnnxExportError, match=rf"{name} \(at '1'\) needs opset 19"):
        export_onnx(model, x, io.BytesIO())
    buffer = io.BytesIO()
    export_onnx(model, x, buffer, opset=19)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for args in (x, other):
        assert_close(session.run(None, {"input": args.numpy()}), run_cr(model, (args,)), name)
    tm = to_torch(model)
    assert_close(run_torch(tm, (other,)), run_cr(model, (other,)), f"torch {name}")
    assert type(from_torch(tm)[1]) is type(model[1])


def test_local_response_norm_of_even_size_has_no_onnx_equivalent():
    with pytest.raises(OnnxExportError, match="even size"):
        export_onnx(nn.LocalResponseNorm(4), randn(2, 5, 3, 3), io.BytesIO())


@pytest.mark.parametrize("dims", [1, 2])
def test_max_unpool_converts_to_torch_but_is_not_exported(dims, tmp_path):
    class PoolUnpool(nn.Module):
        def __init__(self, lib):
            super().__init__()
            self.pool = getattr(lib.nn, f"MaxPool{dims}d")(3, 2, 1, return_indices=True)
            self.unpool = getattr(lib.nn, f"MaxUnpool{dims}d")(3, 2, 1)

        def forward(self, x):
            return self.unpool(*self.pool(x), output_size=x.shape[2:])

    unpool = PoolUnpool(cr).unpool
    tm = to_torch(unpool)
    assert repr(tm) == repr(unpool) and type(from_torch(tm)) is type(unpool)
    x = randn(2, 3, 7, 6)[..., 0] if dims == 1 else randn(2, 3, 7, 6)
    y, idx = PoolUnpool(cr).pool(x)
    ty, tidx = torch.tensor(y.numpy()), torch.tensor(idx.numpy())
    expected = tm(ty, tidx, output_size=x.shape[2:]).numpy()
    np.testing.assert_array_equal(unpool(y, idx, output_size=x.shape[2:]).numpy(), expected)
    # ONNX's MaxPool/MaxUnpool index the whole tensor, not each plane: neither is exported.
    with pytest.raises(OnnxExportError, match=f"MaxPool{dims}d .*return_indices=True"):
        export_onnx(PoolUnpool(cr), x, tmp_path / "out.onnx")


def test_unfold_and_fold_convert_to_torch_but_have_no_onnx_operator(tmp_path):
    model = nn.Sequential(nn.Unfold(2, padding=1), nn.Fold((4, 5), 2, padding=1))
    x = randn(2, 3, 4, 5)
    tm = to_torch(model)
    assert [type(m).__name__ for m in tm] == ["Unfold", "Fold"]
    assert_close(run_torch(tm, (x,)), run_cr(model, (x,)), "torch Unfold/Fold")
    back = from_torch(tm)
    assert repr(back) == repr(model)
    with pytest.raises(OnnxExportError, match=r"Unfold \(at '0'\)"):
        export_onnx(model, x, tmp_path / "out.onnx")


# -- traced user forwards with functional calls -------------------------------------------------

class FunctionalNet(nn.Module):
    """Only nn.functional calls and parameters: every op between inputs and outputs traced,
    including an embedding lookup whose indices are an input."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(cr.randn(10, 4))
        self.ln_w, self.ln_b = nn.Parameter(cr.rand(4) + 0.5), nn.Parameter(cr.randn(4))
        self.w, self.b = nn.Parameter(cr.randn(3, 4)), nn.Parameter(cr.randn(3))
        self.conv_w = nn.Parameter(cr.randn(2, 1, 3, 3))

    def forward(self, tokens, image):
        e = F.layer_norm(F.embedding(tokens, self.table), (4,), self.ln_w, self.ln_b)
        h = F.gelu(F.linear(e, self.w, self.b)).mean(1)
        c = F.max_pool2d(F.conv2d(image, self.conv_w, padding=1), 2, ceil_mode=True)
        c = F.leaky_relu(c.flatten(1), 0.2)
        return cr.cat([h, F.elu(c), F.softplus(c, beta=2.0), F.hardtanh(c)], dim=1)


def test_traced_functional_forward(tmp_path):
    cr.manual_seed(13)
    model = FunctionalNet()
    example = (cr.randint(0, 10, (2, 5)), randn(2, 1, 5, 5))
    other = (cr.randint(0, 10, (4, 5)), randn(4, 1, 5, 5))
    check_model(model, example, other, tmp_path, example_input=example)


def test_untraceable_values_are_an_error_not_a_constant():
    class Masked(nn.Module):
        def forward(self, x):
            return x * (x > 0)  # the comparison is not a recorded op
    with pytest.raises(OnnxExportError, match="outside chainrule's recorded ops"):
        export_onnx(Masked(), randn(2, 3), io.BytesIO())
    with pytest.raises(ConversionError, match="outside chainrule's recorded ops"):
        to_torch(Masked(), example_input=randn(2, 3))


class CellLoop(nn.Module):
    """A user loop over time around recurrent cells, then a bilinear readout."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTMCell(3, 5)
        self.gru = nn.GRUCell(5, 4)
        self.rnn = nn.RNNCell(4, 4, nonlinearity="relu")
        self.readout = nn.Bilinear(5, 4, 2)

    def forward(self, x):
        state, g, r = None, None, None
        for t in range(x.shape[1]):
            state = self.lstm(x[:, t], state)
            g = self.gru(state[0], g)
            r = self.rnn(g, r)
        return self.readout(state[1], r)


def test_cells_in_a_user_loop(tmp_path):
    cr.manual_seed(14)
    model = CellLoop()
    x = randn(2, 4, 3)
    check_model(model, x, randn(5, 4, 3), tmp_path, example_input=x)


class TorchBlock(torch.nn.Module):
    """A torch subclass with ops between layers: from_torch replays it via torch.fx."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(4)
        self.head = torch.nn.Linear(4 * 4 * 4, 3)
        self.gain = torch.nn.Parameter(torch.tensor(1.5))

    def forward(self, x):
        h = torch.relu(self.norm(self.conv(x))) + x * self.gain
        h = torch.nn.functional.max_pool2d(h, 2)
        h = h.flatten(1)
        return torch.log_softmax(self.head(h), dim=-1)


def test_from_torch_subclass_by_fx(tmp_path):
    torch.manual_seed(0)
    tm = TorchBlock().eval()
    model = from_torch(tm)
    assert type(model).__name__ != "TorchBlock" and model._get_name() == "TorchBlock"
    assert list(model.state_dict()) == list(tm.state_dict())
    assert not model.training
    for batch in (2, 5):
        x = randn(batch, 1, 8, 8)
        assert_close(run_cr(model, (x,)), run_torch(tm, (x,)), "from_torch(fx)")
    # ... and it goes on to PyTorch again (traced) and to ONNX.
    x = randn(2, 1, 8, 8)
    check_model(model, x, randn(3, 1, 8, 8), tmp_path, example_input=x)


def test_from_torch_subclass_that_fx_cannot_trace():
    class DataDependent(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(ConversionError, match="DataDependent.*torch.fx cannot trace"):
        from_torch(torch.nn.Sequential(DataDependent()))

    class UsesFft(torch.nn.Module):
        def forward(self, x):
            return torch.fft.fft(x).real
    with pytest.raises(ConversionError, match="UsesFft.*fft"):
        from_torch(UsesFft())


class Tower(nn.Module):
    """A user module whose forward walks a ModuleList and a ModuleDict."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.acts = nn.ModuleDict({"first": nn.Tanh(), "rest": nn.GELU()})
        self.out = nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 2))

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = self.acts["first" if i == 0 else "rest"](block(x)) + x
        return self.out(x)


def test_user_module_with_module_list_and_dict(tmp_path):
    cr.manual_seed(15)
    model = Tower()
    x = randn(3, 4)
    tm = check_model(model, x, randn(6, 4), tmp_path, example_input=x)
    assert isinstance(tm.blocks, torch.nn.ModuleList) and isinstance(tm.acts, torch.nn.ModuleDict)
    assert isinstance(tm.out[0], torch.nn.LayerNorm)


def test_mixed_train_eval_flags_and_float64():
    cr.manual_seed(16)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.3), nn.Sequential(nn.BatchNorm1d(4),
                                                                           nn.ReLU())).double()
    model[1].eval()
    model[2][0].eval()
    tm = to_torch(model)
    assert [m.training for m in tm.modules()] == [m.training for m in model.modules()]
    assert tm[0].weight.dtype == torch.float64
    assert tm[2][0].running_mean.dtype == torch.float64
    x = cr.randn(5, 3, dtype=cr.float64)
    assert_close(run_torch(tm, (x,)), run_cr(model, (x,)), "float64 torch")  # no dropout
    back = from_torch(tm)
    assert [m.training for m in back.modules()] == [m.training for m in model.modules()]
    assert back[0].weight.dtype == cr.float64


def test_requires_grad_flags_survive():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    tm = to_torch(model)
    assert tm.weight.requires_grad and not tm.bias.requires_grad
    back = from_torch(tm)
    assert back.weight.requires_grad and not back.bias.requires_grad


def test_user_module_inside_a_sequential(tmp_path):
    cr.manual_seed(17)
    model = nn.Sequential(nn.Linear(6, 6), Residual())
    x = randn(3, 6)
    tm = to_torch(model, example_input=x)
    assert isinstance(tm, torch.nn.Sequential) and isinstance(tm[1], torch.fx.GraphModule)
    for batch in (3, 7):
        x = randn(batch, 6)
        assert_close(run_torch(tm, (x,)), run_cr(model, (x,)), "sequential with user module")


def test_unbatched_recurrent_input(tmp_path):
    cr.manual_seed(18)
    model = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    check_model(model, randn(5, 3), randn(8, 3), tmp_path)  # (T, features): T is dynamic


def test_every_supported_layer_is_tested():
    from chainrule.interop import SUPPORTED_LAYERS
    tested = {row[0].split("-")[0] for row in LAYERS} | {
        "Embedding", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell", "Bilinear",
        "Unfold", "Fold", "MaxUnpool1d", "MaxUnpool2d"} | {row[0] for row in CIRCULAR}
    assert set(SUPPORTED_LAYERS) <= tested, set(SUPPORTED_LAYERS) - tested


@needs("LSTM", "Embedding")
def test_language_model_with_dynamic_batch_and_sequence():
    import chainrule.onnx
    cr.manual_seed(19)
    model = LanguageModel().eval()
    buffer = io.BytesIO()
    chainrule.onnx.export(model, (cr.randint(0, 20, (2, 7)),), buffer, input_names=["tokens"],
                          output_names=["logits"],
                          dynamic_axes={"tokens": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch", 1: "seq"}})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    tokens = cr.randint(0, 20, (3, 11))
    assert_close(session.run(None, {"tokens": tokens.numpy()}), run_cr(model, (tokens,)),
                 "language model, other batch and length")


def test_tied_weights_stay_tied(tmp_path):
    cr.manual_seed(20)
    model = nn.Sequential(nn.Embedding(10, 6), nn.Tanh(), nn.Linear(6, 10, bias=False))
    model[2].weight = model[0].weight  # the output layer reuses the embedding table
    tm = to_torch(model)
    assert tm[2].weight is tm[0].weight
    back = from_torch(tm)
    assert back[2].weight is back[0].weight
    tokens = cr.randint(0, 10, (2, 5))
    assert_close(run_torch(tm, (tokens,)), run_cr(model, (tokens,)), "tied")
    path = tmp_path / "tied.onnx"
    export_onnx(model, tokens, path)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.initializer].count("0.weight") == 1
    assert not any(i.name.startswith("2.weight") for i in proto.graph.initializer)
