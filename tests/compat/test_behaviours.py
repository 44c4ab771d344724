"""The behaviours ordinary PyTorch scripts rely on (issue 7), checked against real PyTorch.

Each test does the same thing with ``torch`` and with ``chainrule`` and compares: values,
dtypes, which object is returned, which errors are raised. The runner itself
(``python -m chainrule.compat``) is tested in subprocesses, so that ``torch`` is never mapped
to chainrule inside this pytest process.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule
import chainrule.nn as cnn
from chainrule.utils.data import DataLoader, TensorDataset, random_split

torch = pytest.importorskip("torch")

SRC = Path(__file__).resolve().parents[2] / "src"
FRAMEWORKS = [chainrule, torch]


def run_python(code: str, tmp_path: Path, compat: bool, name: str = "script.py",
               args: tuple = ()) -> subprocess.CompletedProcess:
    """Run ``code`` as a script under real torch, or under ``python -m chainrule.compat``."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    runner = ["-m", "chainrule.compat"] if compat else []
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *runner, str(script), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------- the runner

IMPORTS = """
    import sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.nn.init, torch.nn.utils, torch.nn.utils.rnn, torch.nn.modules
    import torch.optim, torch.optim.lr_scheduler
    import torch.utils, torch.utils.data
    import torch.autograd, torch.serialization, torch.cuda, torch.accelerator, torch.onnx
    from torch.nn.modules.linear import Linear, LazyLinear, Identity
    from torch.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
    from torch.nn.modules.conv import Conv1d, Conv2d
    from torch.nn.modules.pooling import MaxPool2d, AvgPool2d
    from torch.nn.modules.rnn import LSTM, GRU, RNN, LSTMCell
    from torch.nn.modules.loss import NLLLoss, CrossEntropyLoss, MSELoss
    from torch.nn.modules.module import Module
    from torch.nn.modules.activation import ReLU, LogSoftmax
    from torch.nn.modules.container import Sequential, ModuleList
    from torch.nn.modules.dropout import Dropout
    from torch.nn.modules.sparse import Embedding
    from torch.nn.modules.normalization import LayerNorm
    from torch.nn.parameter import Parameter
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    from torch.nn.utils import clip_grad_norm_
    from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split, Subset
    from torch.autograd import Variable, Function
    from torch.optim.lr_scheduler import StepLR
    assert nn.modules.linear.Linear is nn.Linear and BatchNorm1d is nn.BatchNorm1d
    assert issubclass(BatchNorm2d, _BatchNorm) and LSTM is nn.LSTM
    assert callable(torch.onnx.export) and not torch.cuda.is_available()
    assert not torch.backends.mps.is_available()
    torch.backends.cudnn.deterministic = True
    print(torch.__name__, "ok")
"""


@pytest.mark.parametrize("compat", [False, True], ids=["torch", "chainrule"])
def test_submodules_and_dotted_class_paths_import(tmp_path, compat):
    proc = run_python(IMPORTS, tmp_path, compat)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ("chainrule ok" if compat else "torch ok")


def test_runner_script_sees_its_folder_argv_and_main(tmp_path):
    (tmp_path / "helper_module.py").write_text("VALUE = 41\n")
    code = """
        import sys
        import torch
        import helper_module  # a sibling module, as `python script.py` allows
        if __name__ == "__main__":
            print(helper_module.VALUE + 1, sys.argv[1:], torch.ones(2).sum().item())
    """
    proc = run_python(code, tmp_path, compat=True, args=("--flag", "3"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "42 ['--flag', '3'] 2.0"


def test_runner_names_a_missing_torch_module(tmp_path):
    proc = run_python("import torch.distributed.fsdp\n", tmp_path, compat=True)
    assert proc.returncode != 0
    assert "chainrule has no counterpart of 'torch.distributed" in proc.stderr


def test_runner_refuses_to_mix_with_an_imported_torch(tmp_path):
    code = """
        import sys
        import types
        sys.modules["torch"] = types.ModuleType("torch")  # stands for an imported real torch
        import chainrule.compat
        try:
            chainrule.compat.install()
        except RuntimeError as error:
            print("refused:", error)
    """
    proc = run_python(code, tmp_path, compat=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused:" in proc.stdout and "real torch is already imported" in proc.stdout


# ----------------------------------------------------------------------------- devices


def test_devices_cpu_only():
    for fw in FRAMEWORKS:
        device = fw.device("cpu")
        t = fw.ones(2)
        assert t.device == device and t.device.type == "cpu" and str(t.device) == "cpu"
        assert t.to(device) is t and t.to("cpu") is t and t.cpu() is t
        assert fw.zeros(2, device="cpu").device == device
        model = fw.nn.Linear(2, 2).to(device)
        assert next(model.parameters()).device == device
        assert fw.cuda.is_available() is False and fw.cuda.device_count() == 0
        assert fw.accelerator.is_available() is False
    chainrule.set_default_device("cpu")
    assert chainrule.get_default_device() == chainrule.device("cpu")


@pytest.mark.parametrize("ask", [
    lambda: chainrule.ones(2).to("cuda"), lambda: chainrule.ones(2).cuda(),
    lambda: chainrule.zeros(2, device="cuda"), lambda: chainrule.set_default_device("cuda"),
    lambda: cnn.Linear(2, 2).cuda(), lambda: chainrule.ones(2).to(chainrule.device("cuda:0"))])
def test_asking_for_cuda_is_a_clear_error(ask):
    with pytest.raises(RuntimeError, match="CPU only"):
        ask()


# ----------------------------------------------------------------------------- Generator


def test_generator_makes_streams_reproducible():
    def draw(seed):
        g = chainrule.Generator().manual_seed(seed)
        return [chainrule.randn(3, generator=g), chainrule.rand(3, generator=g),
                chainrule.randint(0, 10, (4,), generator=g), chainrule.randperm(6, generator=g)]
    first, again, other = draw(0), draw(0), draw(1)
    for a, b in zip(first, again):
        assert chainrule.equal(a, b)
    assert not chainrule.equal(first[0], other[0])
    assert sorted(first[3].tolist()) == list(range(6))
    assert chainrule.manual_seed(3) is chainrule.default_generator
    a = chainrule.randn(2)
    chainrule.manual_seed(3)
    assert chainrule.equal(a, chainrule.randn(2))


def test_generator_in_random_split_and_dataloader():
    data = TensorDataset(chainrule.arange(10.0), chainrule.arange(10))
    split = [s.indices for s in random_split(data, [7, 3],
                                             generator=chainrule.Generator().manual_seed(5))]
    again = [s.indices for s in random_split(data, [0.7, 0.3],
                                             generator=chainrule.Generator().manual_seed(5))]
    assert [list(s) for s in split] == [list(s) for s in again]
    assert sorted(list(split[0]) + list(split[1])) == list(range(10))
    for fw in FRAMEWORKS:  # fractions work the same way as lengths in both
        ds = fw.utils.data.TensorDataset(fw.arange(10.0))
        assert [len(s) for s in fw.utils.data.random_split(ds, [0.7, 0.3])] == [7, 3]

    def order(seed):
        loader = DataLoader(data, batch_size=4, shuffle=True,
                            generator=chainrule.Generator().manual_seed(seed))
        return [y.tolist() for _, y in loader]
    assert order(1) == order(1) and order(1) != order(2)
    assert sorted(sum(order(1), [])) == list(range(10))


# ----------------------------------------------------------------------------- tensors


def test_numpy_and_from_numpy_share_memory():
    for fw in FRAMEWORKS:
        t = fw.zeros(3)
        n = t.numpy()
        n[0] = 5.0
        t.add_(1)
        assert t.tolist() == [6.0, 1.0, 1.0] and n.tolist() == [6.0, 1.0, 1.0]
        a = np.zeros(3)
        b = fw.from_numpy(a)
        a[1] = 2.0
        b[2] = 7.0
        assert b.tolist() == [0.0, 2.0, 7.0] and a.tolist() == [0.0, 2.0, 7.0]
        assert b.dtype == fw.float64
        with pytest.raises(RuntimeError):
            fw.ones(2, requires_grad=True).numpy()


def test_basic_indexing_returns_views_that_write_through():
    results = []
    for fw in FRAMEWORKS:
        t = fw.zeros(3, 4)
        t[1][2] += 1
        t[:, 0::2] = fw.ones(3, 2) * 7
        row = t[2]
        row.add_(1)
        t[0] = 3
        t[1, 1:3] -= 0.5
        col = t[:, 3]
        col.mul_(2)
        view = t.view(12)
        view[0] = -1
        results.append(t.numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_python_protocols():
    for fw in FRAMEWORKS:
        i = fw.tensor(2)
        assert [10, 20, 30][i] == 30 and range(10)[fw.tensor(3)] == 3
        assert bool(fw.tensor(1.0)) is True and bool(fw.tensor([0])) is False
        assert int(fw.tensor(3.7)) == 3 and float(fw.tensor(2)) == 2.0
        assert len(fw.zeros(5, 2)) == 5
        assert [tuple(r.shape) for r in fw.zeros(2, 3)] == [(3,), (3,)]
        assert [x.item() for x in fw.tensor([4, 5])] == [4, 5]
        a, b = fw.tensor([1.0, 2.0])  # unpacking iterates over dim 0
        assert (a.item(), b.item()) == (1.0, 2.0)
        with pytest.raises(RuntimeError):
            bool(fw.ones(2))
        with pytest.raises(TypeError):
            len(fw.tensor(1.0))
        with pytest.raises(TypeError):
            [1, 2][fw.tensor(1.0)]  # a float tensor is not an index
        assert f"{fw.tensor(0.5):.2f}" == "0.50"


OPERATORS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b, "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b, "pow": lambda a, b: a ** b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
}


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("number", [2, 1.5, -3, np.float64(2.5)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_python_numbers_on_either_side_of_every_operator(op, number, dtype):
    fn = OPERATORS[op]
    values = [1.0, 2.0, 3.0, 5.0]
    for swap in (False, True):
        out = []
        for fw in FRAMEWORKS:
            t = fw.tensor(values, dtype=getattr(fw, dtype))
            try:
                out.append(fn(number, t) if swap else fn(t, number))
            except RuntimeError as error:  # e.g. integers to negative integer powers
                out.append(error)
        ours, ref = out
        if isinstance(ref, Exception):
            assert isinstance(ours, RuntimeError), f"{op}: torch raised {ref!r}, we gave {ours}"
            continue
        assert isinstance(ours, chainrule.Tensor), f"{op}: got {type(ours)}"
        assert ours.dtype.name == str(ref.dtype).replace("torch.", ""), (op, swap, ref.dtype)
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


def test_loss_accumulation_with_zero_on_the_left():
    for fw in FRAMEWORKS:
        total = 0
        for k in range(3):
            total = total + fw.tensor(float(k), requires_grad=True) * 2
        assert isinstance(total, fw.Tensor) and total.item() == 6.0
        total += 0.5
        assert (10.0 / total).item() == pytest.approx(10.0 / 6.5)
        assert fw.tensor(2.0) == pytest.approx(2.0)  # unknown types on the right: reflected


def test_size_behaves_like_a_tuple():
    s = chainrule.zeros(2, 3, 4).shape
    assert s == (2, 3, 4) and s == chainrule.Size([2, 3, 4]) and (2, 3, 4) == s
    assert isinstance(s, tuple) and list(s) == [2, 3, 4] and s[-1] == 4
    assert s[1:] == (3, 4) and isinstance(s[1:], chainrule.Size)
    assert s.numel() == 24 == torch.Size([2, 3, 4]).numel()
    n, c, h = s
    assert (n, c, h) == (2, 3, 4) and chainrule.zeros(2, 3).size() == torch.zeros(2, 3).size()
    assert chainrule.zeros(s).shape == s and chainrule.zeros(2, 3).size(-1) == 3
    assert hash(s) == hash((2, 3, 4))


def test_named_tuple_returns():
    data = [[1.0, 5.0, 2.0], [3.0, 2.0, 9.0]]
    for name, call in [("max", lambda fw, x: fw.max(x, 1)), ("min", lambda fw, x: x.min(dim=0)),
                       ("sort", lambda fw, x: fw.sort(x, descending=True)),
                       ("topk", lambda fw, x: x.topk(2)),
                       ("median", lambda fw, x: x.median(1)),
                       ("kthvalue", lambda fw, x: x.kthvalue(2, 1)),
                       ("max_keepdim", lambda fw, x: x.max(1, keepdim=True))]:
        ours, ref = (call(fw, fw.tensor(data)) for fw in FRAMEWORKS)
        values, indices = ours  # unpacks like a tuple
        np.testing.assert_array_equal(ours.values.numpy(), ref.values.numpy(), err_msg=name)
        np.testing.assert_array_equal(ours.indices.numpy(), ref.indices.numpy(), err_msg=name)
        assert values is ours.values and ours[1] is ours.indices
        assert ours.indices.dtype == chainrule.int64


def test_in_place_update_under_no_grad_keeps_the_leaf():
    finals = []
    for fw in FRAMEWORKS:
        a = fw.tensor([1.0, -2.0, 3.0], requires_grad=True)
        original = a
        for _ in range(3):
            loss = (a * a).sum()
            loss.backward()
            with fw.no_grad():
                a -= 0.1 * a.grad
                a.grad.zero_()
        assert a is original and a.is_leaf and a.requires_grad and a.grad_fn is None
        finals.append(a.detach().numpy().copy())
        with pytest.raises(RuntimeError):  # outside no_grad: an in-place op on a leaf
            a -= 1.0
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-6)


def test_grad_fn_names_and_next_functions():
    for fw in FRAMEWORKS:
        x = fw.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        out = z.mean()
        assert x.grad_fn is None and y.grad_fn.name() == "AddBackward0"
        assert z.grad_fn.name() == "MulBackward0" and out.grad_fn.name() == "MeanBackward0"
        assert "MulBackward0" in repr(z.grad_fn)
        (mul_node, index), = out.grad_fn.next_functions
        assert mul_node is z.grad_fn and index == 0
        w = fw.ones(2, requires_grad=True)
        q = w * fw.ones(2)  # a constant input: no edge
        edges = q.grad_fn.next_functions
        assert edges[0][0].name().endswith("AccumulateGrad") and edges[0][0].variable is w
        # torch writes (None, 0) for an input that needs no gradient, chainrule None
        assert edges[1] is None or edges[1][0] is None
    for name, make in [("SumBackward0", lambda t: t.sum()), ("ExpBackward0", lambda t: t.exp()),
                       ("TanhBackward0", lambda t: t.tanh()), ("DivBackward0", lambda t: t / 2),
                       ("SubBackward0", lambda t: t - 1), ("NegBackward0", lambda t: -t),
                       ("SigmoidBackward0", lambda t: t.sigmoid()),
                       ("LogSoftmaxBackward0", lambda t: t.log_softmax(1))]:
        names = [make(fw.ones(2, 2, requires_grad=True)).grad_fn.name() for fw in FRAMEWORKS]
        assert names == [name, name]


def test_variable_is_an_identity_for_old_tutorials():
    from chainrule.autograd import Variable
    v = Variable(chainrule.ones(2), requires_grad=True)
    assert isinstance(v, chainrule.Tensor) and v.requires_grad and v.is_leaf
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    t = chainrule.ones(2)
    assert Variable(t).data.tolist() == [1.0, 1.0]


def test_tensor_type_conversions():
    for fw in FRAMEWORKS:
        t = fw.tensor([1.5, 2.5])
        assert t.type() == "torch.FloatTensor"
        assert t.type(fw.float64).dtype == fw.float64
        assert t.type(fw.DoubleTensor).dtype == fw.float64
        assert t.type(fw.LongTensor).tolist() == [1, 2]
        assert t.type("torch.LongTensor").dtype == fw.int64
        assert t.type(fw.IntTensor).type() == "torch.IntTensor"
        assert isinstance(t, fw.FloatTensor) and not isinstance(t, fw.LongTensor)
        assert fw.LongTensor([1, 2]).dtype == fw.int64 and fw.FloatTensor(2, 3).shape == (2, 3)


def test_lazy_linear_infers_in_features():
    lazy = cnn.LazyLinear(4)
    out = lazy(chainrule.randn(3, 5))
    assert out.shape == (3, 4) and lazy.weight.shape == (4, 5) and lazy.in_features == 5
    reference = torch.nn.LazyLinear(4)
    reference(torch.randn(3, 5))
    assert tuple(reference.weight.shape) == tuple(lazy.weight.shape)
    plain = cnn.Linear(5, 4)
    plain.load_state_dict(lazy.state_dict())  # interchangeable once materialised
    assert chainrule.allclose(plain(chainrule.ones(1, 5)), lazy(chainrule.ones(1, 5)))
    out.sum().backward()
    assert lazy.weight.grad.shape == (4, 5)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_flatten_parameters_is_a_no_op(cls):
    rnn = getattr(cnn, cls)(3, 4, num_layers=2)
    x = chainrule.randn(5, 2, 3)
    before = rnn(x)[0]
    params_before = list(rnn.parameters())
    assert rnn.flatten_parameters() is None
    assert all(a is b for a, b in zip(rnn.parameters(), params_before))
    assert chainrule.equal(rnn(x)[0], before)


# ----------------------------------------------------------------------------- save / load


def test_save_load_calling_forms(tmp_path):
    model = cnn.Linear(3, 2)
    state = model.state_dict()
    path = tmp_path / "m.pt"
    chainrule.save(state, str(path))
    chainrule.save(state, path)  # os.PathLike
    with open(tmp_path / "f.pt", "wb") as f:
        chainrule.save(state, f)
    buffer = io.BytesIO()
    chainrule.save(state, buffer)
    buffer.seek(0)
    with open(tmp_path / "f.pt", "rb") as f:
        from_file = chainrule.load(f)
    loads = [chainrule.load(str(path)), chainrule.load(path, map_location="cpu"),
             chainrule.load(path, map_location=chainrule.device("cpu")),
             chainrule.load(path, map_location=lambda storage, loc: storage),
             chainrule.load(path, map_location={"cuda:0": "cpu"}),
             chainrule.load(path, weights_only=True), from_file, chainrule.load(buffer)]
    for loaded in loads:
        assert list(loaded) == ["weight", "bias"]
        assert chainrule.equal(loaded["weight"], model.weight)
        cnn.Linear(3, 2).load_state_dict(loaded)
    with pytest.raises(RuntimeError, match="CPU only|cpu"):
        chainrule.load(path, map_location="cuda")


def test_checkpoint_dict_with_optimizer_state_needs_no_opt_in(tmp_path):
    model = cnn.Linear(3, 2)
    optimizer = chainrule.optim.Adadelta(model.parameters(), lr=1.0)
    model(chainrule.randn(4, 3)).sum().backward()
    optimizer.step()
    path = tmp_path / "ckpt.pt"
    chainrule.save({"epoch": 3, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25}, path)
    ckpt = chainrule.load(path)  # weights_only=True by default, like torch >= 2.6
    assert ckpt["epoch"] == 3 and ckpt["loss"] == 0.25
    fresh = chainrule.optim.Adadelta(model.parameters(), lr=1.0)
    fresh.load_state_dict(ckpt["optimizer_state_dict"])
    assert fresh.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]


class TiedNet(cnn.Module):
    """A module-level class, so a whole saved model can be rebuilt by its class path."""

    def __init__(self):
        super().__init__()
        self.encoder = cnn.Embedding(5, 3)
        self.rnn = cnn.LSTM(3, 3, 2)
        self.decoder = cnn.Linear(3, 5)
        self.decoder.weight = self.encoder.weight
        self.kind = "LSTM"
        self.register_buffer("steps", chainrule.zeros(1))

    def forward(self, x):
        out, _ = self.rnn(self.encoder(x))
        return self.decoder(out)


def test_whole_module_needs_the_explicit_opt_in(tmp_path):
    model = TiedNet().eval()
    x = chainrule.tensor([[1, 2], [3, 4]])
    expected = model(x)
    path = tmp_path / "whole.pt"
    chainrule.save(model, path)
    with pytest.raises(RuntimeError, match="weights_only"):
        chainrule.load(path)  # like torch >= 2.6: a whole object is refused by default
    loaded = chainrule.load(path, weights_only=False)
    assert type(loaded) is TiedNet and loaded.kind == "LSTM" and not loaded.training
    assert loaded.decoder.weight is loaded.encoder.weight  # tied weights stay tied
    assert isinstance(loaded.decoder.weight, cnn.Parameter)
    assert [n for n, _ in loaded.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert chainrule.allclose(loaded(x), expected)
    loaded.rnn.flatten_parameters()
    classes = [TiedNet, cnn.Embedding, cnn.LSTM, cnn.Linear]
    with chainrule.serialization.safe_globals(classes):
        assert type(chainrule.load(path)) is TiedNet
    with pytest.raises(RuntimeError, match="weights_only"):
        chainrule.load(path)  # the allow-list ended with the with-block
    # torch agrees on the policy: a whole module needs weights_only=False
    reference = torch.nn.Linear(2, 2)
    buffer = io.BytesIO()
    torch.save(reference, buffer)
    buffer.seek(0)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        torch.load(buffer)


def test_module_with_hooks_refuses_whole_save():
    model = cnn.Linear(2, 2)
    model.register_forward_hook(lambda *a: None)
    with pytest.raises(TypeError, match="hooks"):
        chainrule.save(model, io.BytesIO())


# ----------------------------------------------------------------------------- DataLoader


class Samples(chainrule.utils.data.Dataset):
    def __init__(self, fw):
        self.fw = fw

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return self.fw.full((2, 2), float(i)), i


def test_dataloader_accepts_worker_options_and_collates_tensor_int_samples():
    batches = []
    for fw in FRAMEWORKS:
        loader_cls = fw.utils.data.DataLoader
        kwargs = dict(batch_size=2, num_workers=0, pin_memory=True)
        if fw is chainrule:
            kwargs.update(num_workers=2, persistent_workers=True, prefetch_factor=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batches.append(list(loader_cls(Samples(fw), **kwargs)))
    ours, ref = batches
    assert len(ours) == len(ref) == 3
    for (x, y), (rx, ry) in zip(ours, ref):
        assert x.dtype == chainrule.float32 and y.dtype == chainrule.int64
        assert str(rx.dtype) == "torch.float32" and str(ry.dtype) == "torch.int64"
        np.testing.assert_array_equal(x.numpy(), rx.numpy())
        np.testing.assert_array_equal(y.numpy(), ry.numpy())


def test_dataloader_worker_options_warn_once_that_they_are_ignored(monkeypatch):
    from chainrule.utils.data import dataloader
    monkeypatch.setattr(dataloader, "_warned_workers", False)
    data = TensorDataset(chainrule.arange(4.0))
    with pytest.warns(UserWarning, match="num_workers"):
        list(DataLoader(data, batch_size=2, num_workers=3, persistent_workers=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: silent
        assert len(list(DataLoader(data, batch_size=2, num_workers=3))) == 2


# ----------------------------------------------------------------------------- modern idioms


def test_out_keyword_on_top_level_functions():
    results = []
    for fw in FRAMEWORKS:
        x, y = fw.tensor([[1.0, 2.0]]), fw.tensor([[3.0, 4.0]])
        result = fw.empty(1, 2)
        returned = fw.add(x, y, out=result)
        assert returned is result
        fw.mul(x, 2, out=result)
        stacked = fw.empty(0)
        fw.cat([x, y], out=stacked)  # an empty out is resized silently
        results.append((result.numpy().copy(), stacked.numpy().copy()))
        with pytest.raises(RuntimeError, match="out=|automatic differentiation"):
            fw.add(fw.ones(2, requires_grad=True), 1, out=fw.empty(2))
        with pytest.raises(RuntimeError):
            fw.add(x, y, out=fw.empty(1, 2, dtype=fw.int64))
    for ours, ref in zip(*results):
        np.testing.assert_array_equal(ours, ref)


def test_compile_determinism_and_backends_switches():
    model = cnn.Linear(2, 2)
    assert chainrule.compile(model) is model
    assert chainrule.compile()(model) is model
    chainrule.use_deterministic_algorithms(True)
    assert chainrule.are_deterministic_algorithms_enabled()
    chainrule.use_deterministic_algorithms(False)
    chainrule.backends.cudnn.deterministic = True
    chainrule.backends.cudnn.benchmark = False
    assert not chainrule.backends.cudnn.is_available()
    assert not chainrule.backends.mps.is_available() and not chainrule.backends.cuda.is_built()


def test_autocast_and_grad_scaler_pass_through_like_torch_without_cuda():
    model = cnn.Linear(3, 1)
    optimizer = chainrule.optim.SGD(model.parameters(), lr=0.1)
    x = chainrule.randn(4, 3)
    before = model.weight.detach().clone()
    scaler = chainrule.amp.GradScaler(enabled=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with chainrule.autocast(device_type="cpu", dtype=chainrule.float16):
            loss = model(x).pow(2).mean()
    assert loss.dtype == chainrule.float32  # full precision: nothing was cast
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    expected = before - 0.1 * model.weight.grad
    assert chainrule.allclose(model.weight, expected)
    assert scaler.get_scale() == 1.0 and not scaler.is_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = torch.amp.GradScaler("cuda", enabled=True)  # no CUDA: disables itself
    assert not reference.is_enabled()


def test_onnx_export_is_the_real_exporter(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = cnn.Sequential(cnn.Linear(3, 4), cnn.ReLU(), cnn.Linear(4, 2))
    path = tmp_path / "model.onnx"
    chainrule.onnx.export(model, (chainrule.randn(1, 3),), str(path), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    graph = onnx.load(str(path)).graph
    onnx.checker.check_model(onnx.load(str(path)))
    assert [i.name for i in graph.input][:1] == ["x"] and graph.output[0].name == "y"
