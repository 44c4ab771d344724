"""Module machinery against PyTorch: registration, names, state dicts, repr, hooks, modes."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from nn_testing import assert_close, check_fn, copy_torch_weights

import chainrule
from chainrule import nn


def build(lib):
    """The same nested model in either library."""
    m = lib.nn

    class Block(m.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.Linear(8, 8)
            self.norm = m.LayerNorm(8)
            self.register_buffer("scale", lib.ones(8))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.norm(self.fc(x)) * self.scale

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.Embedding(10, 8, padding_idx=0)
            self.body = m.Sequential(OrderedDict([
                ("block", Block()),
                ("bn", m.BatchNorm1d(8)),
                ("act", m.GELU()),
                ("drop", m.Dropout(0.0)),
            ]))
            self.heads = m.ModuleList([m.Linear(8, 3), m.Linear(8, 3, bias=False)])
            self.extra = m.ModuleDict({"proj": m.Linear(3, 2), "act": m.Tanh()})
            self.gain = m.Parameter(lib.ones(2))

        def forward(self, idx):
            h = self.body(self.embed(idx))
            out = self.heads[0](h) + self.heads[1](h)
            return self.extra["act"](self.extra["proj"](out)) * self.gain

    return Net()


def test_nested_state_dict_keys_repr_and_outputs_match_torch():
    torch.manual_seed(0)
    theirs = build(torch).double()
    ours = build(chainrule).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert repr(ours).replace("chainrule", "torch") == repr(theirs)
    # load a torch state dict converted through NumPy; outputs then agree
    result = ours.load_state_dict({k: chainrule.tensor(v.numpy().copy())
                                   for k, v in theirs.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    idx = np.array([1, 4, 0, 9, 3])
    ours.eval()
    theirs.eval()
    assert_close(ours(chainrule.tensor(idx)), theirs(torch.tensor(idx)))
    ours.train()
    theirs.train()
    out_c, out_t = ours(chainrule.tensor(idx)), theirs(torch.tensor(idx))
    assert_close(out_c, out_t)
    out_c.sum().backward()
    out_t.sum().backward()
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(ours_params[name].grad, p.grad, what=name)
    for name, b in theirs.named_buffers():
        assert_close(dict(ours.named_buffers())[name], b, what=name)


def test_load_state_dict_errors_like_torch():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    bad = {"weight": chainrule.zeros(2, 3), "foo": chainrule.zeros(1)}
    bad_t = {"weight": torch.zeros(2, 3), "foo": torch.zeros(1)}
    with pytest.raises(RuntimeError) as ours_err:
        ours.load_state_dict(bad)
    with pytest.raises(RuntimeError) as theirs_err:
        theirs.load_state_dict(bad_t)
    assert str(ours_err.value) == str(theirs_err.value)
    result = ours.load_state_dict(bad, strict=False)
    result_t = theirs.load_state_dict(bad_t, strict=False)
    assert result.missing_keys == result_t.missing_keys == ["bias"]
    assert result.unexpected_keys == result_t.unexpected_keys == ["foo"]
    assert repr(result) == repr(result_t)
    with pytest.raises(RuntimeError) as ours_err:
        ours.load_state_dict({"weight": chainrule.zeros(3, 3), "bias": chainrule.zeros(2)})
    with pytest.raises(RuntimeError) as theirs_err:
        theirs.load_state_dict({"weight": torch.zeros(3, 3), "bias": torch.zeros(2)})
    assert str(ours_err.value) == str(theirs_err.value)
    seq, seq_t = nn.Sequential(nn.Linear(2, 2)), torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(RuntimeError) as ours_err:
        seq.load_state_dict({"0.weight": chainrule.zeros(2, 2), "1.bias": chainrule.zeros(2)})
    with pytest.raises(RuntimeError) as theirs_err:
        seq_t.load_state_dict({"0.weight": torch.zeros(2, 2), "1.bias": torch.zeros(2)})
    assert str(ours_err.value) == str(theirs_err.value)


def test_state_dict_prefix_keep_vars_and_assign():
    m = nn.Sequential(nn.Linear(2, 3))
    sd = m.state_dict(prefix="model.")
    assert list(sd) == ["model.0.weight", "model.0.bias"]
    assert not isinstance(sd["model.0.weight"], nn.Parameter)
    assert not sd["model.0.weight"].requires_grad
    kept = m.state_dict(keep_vars=True)
    assert kept["0.weight"] is m[0].weight
    # state_dict values share memory with the parameters
    sd["model.0.bias"].zero_()
    assert np.all(m[0].bias._data == 0)
    new_w = chainrule.ones(3, 2)
    m.load_state_dict({"0.weight": new_w, "0.bias": chainrule.zeros(3)}, assign=True)
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.requires_grad
    assert np.all(m[0].weight._data == 1)


def test_registration_and_attribute_errors():
    lin = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        _ = lin.foo
    with pytest.raises(TypeError, match="cannot assign"):
        lin.weight = chainrule.zeros(2, 2)
    lin.weight = nn.Parameter(chainrule.zeros(2, 2))
    assert lin.weight._data.sum() == 0
    lin.bias = None
    assert list(dict(lin.named_parameters())) == ["weight"]
    assert "bias" not in lin.state_dict()
    m = nn.Module()
    m.child = nn.Linear(1, 1)
    m.register_buffer("buf", chainrule.zeros(1))
    m.plain = 3
    assert "child" in dir(m) and "buf" in dir(m) and "plain" in dir(m)
    del m.child
    del m.buf
    assert list(m.children()) == [] and list(m.buffers()) == []
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", chainrule.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError):
        m.register_buffer("b2", 3.0)
    m.add_module("sub", nn.ReLU())
    m.register_module("sub2", nn.Tanh())
    assert list(dict(m.named_children())) == ["sub", "sub2"]
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 2)))
    assert isinstance(nested.get_submodule("0.0"), nn.Linear)
    assert nested.get_parameter("0.0.bias") is nested[0][0].bias
    with pytest.raises(AttributeError):
        nested.get_submodule("0.1")


def test_parameter_basics():
    p = nn.Parameter(chainrule.tensor([1.0, 2.0]))
    t = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(t).replace("torch", "chainrule")
    assert isinstance(p, chainrule.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert not nn.Parameter(chainrule.zeros(1), requires_grad=False).requires_grad
    assert isinstance(copy.deepcopy(p), nn.Parameter)
    q = (p * 2)
    assert not isinstance(q, nn.Parameter)


def test_weight_tying_counts_once_and_sums_gradients():
    for lib in (chainrule, torch):
        enc = lib.nn.Embedding(5, 3)
        dec = lib.nn.Linear(3, 5, bias=False)
        dec.weight = enc.weight
        model = lib.nn.Sequential(enc, dec)
        assert [n for n, _ in model.named_parameters()] == ["0.weight"]
        assert len(list(model.named_parameters(remove_duplicate=False))) == 2
        assert list(model.state_dict()) == ["0.weight", "1.weight"]
    enc_t = torch.nn.Embedding(5, 3)
    dec_t = torch.nn.Linear(3, 5, bias=False)
    dec_t.weight = enc_t.weight
    enc = nn.Embedding(5, 3)
    dec = nn.Linear(3, 5, bias=False)
    dec.weight = enc.weight
    enc.load_state_dict({"weight": chainrule.tensor(enc_t.weight.detach().numpy().copy())})
    idx = np.array([0, 2, 2, 4])
    out_c = dec(enc(chainrule.tensor(idx))).sum()
    out_t = dec_t(enc_t(torch.tensor(idx))).sum()
    out_c.backward()
    out_t.backward()
    assert_close(enc.weight.grad, enc_t.weight.grad, "float32")


def test_train_eval_zero_grad_requires_grad_apply():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m and not any(mod.training for mod in m.modules())
    m.train()
    assert m[2][0].training
    with pytest.raises(ValueError):
        m.train("yes")
    m(chainrule.randn(3, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad._data == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]


def test_to_dtype_float_double_cpu():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m(chainrule.randn(4, 2)).sum().backward()
    weight = m[0].weight
    assert m.to(chainrule.float64) is m
    assert m[0].weight is weight  # the same Parameter object (optimizers hold it)
    assert weight.dtype == chainrule.float64 and weight.grad.dtype == chainrule.float64
    assert m[1].running_mean.dtype == chainrule.float64
    assert m[1].num_batches_tracked.dtype == chainrule.int64  # integer buffers untouched
    m.float()
    assert weight.dtype == chainrule.float32
    m.double()
    assert weight.dtype == chainrule.float64
    assert m.to("cpu") is m and m.cpu() is m
    m.to("cpu", chainrule.float32)
    assert weight.dtype == chainrule.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")


def test_forward_hooks_and_pre_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out) or out + 1)
    out = m(chainrule.ones(1, 2))
    np.testing.assert_allclose(out._data, m.bias._data[None] + 1, rtol=1e-6)
    assert len(calls) == 1
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(chainrule.zeros(1, 2))._data, m.bias._data[None], rtol=1e-6)
    h3 = m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs),
                                 with_kwargs=True)
    m(chainrule.zeros(1, 2))
    assert calls[-1] == {}
    h3.remove()
    assert not m._forward_hooks


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("input_grad", [True, False])
def test_full_backward_hook_matches_torch(input_grad):
    def make(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    theirs = make(torch).double()
    ours = make(chainrule).double()
    copy_torch_weights(theirs, ours)
    records = {"ours": [], "theirs": []}

    def hook_for(key):
        def hook(module, grad_input, grad_output):
            records[key].append((type(module).__name__, grad_input, grad_output))
        return hook
    for mod in [ours, ours[0], ours[2]]:
        mod.register_full_backward_hook(hook_for("ours"))
    for mod in [theirs, theirs[0], theirs[2]]:
        mod.register_full_backward_hook(hook_for("theirs"))
    x = np.random.default_rng(0).standard_normal((5, 3))
    xc = chainrule.tensor(x, requires_grad=input_grad)
    xt = torch.tensor(x, requires_grad=input_grad)
    (ours(xc) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    assert [r[0] for r in records["ours"]] == [r[0] for r in records["theirs"]]
    for (_, gi_c, go_c), (_, gi_t, go_t) in zip(records["ours"], records["theirs"]):
        for a, b in zip(gi_c + go_c, gi_t + go_t):
            assert (a is None) == (b is None)
            if b is not None:
                assert_close(a, b)
        assert len(gi_c) == len(gi_t) and len(go_c) == len(go_t)


def test_full_backward_hook_can_replace_grad_input():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = chainrule.ones(3, 2, requires_grad=True)
    lin(x).sum().backward()
    assert np.all(x.grad._data == 0)
    assert lin.weight.grad is not None and np.any(lin.weight.grad._data != 0)
    pre = nn.Linear(2, 2)
    pre.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    y = chainrule.ones(1, 2, requires_grad=True)
    pre(y).sum().backward()
    np.testing.assert_allclose(y.grad._data, 2 * pre.weight._data.sum(0, keepdims=True),
                               rtol=1e-6)


def test_containers():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == layers[1:]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    del seq[1]
    assert [k for k, _ in seq.named_children()] == ["0", "1", "2"]
    x = chainrule.randn(3, 2)
    np.testing.assert_allclose(seq(x)._data, seq[2](seq[1](seq[0](x)))._data)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert len(ml) == 6 and isinstance(ml[0], nn.Identity) and isinstance(ml[-1], nn.Tanh)
    assert len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert md.pop("b").__class__ is nn.ReLU
    pl = nn.ParameterList([nn.Parameter(chainrule.zeros(2)), chainrule.ones(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"b": chainrule.zeros(1), "a": nn.Parameter(chainrule.ones(1))})
    assert list(pd.keys()) == ["a", "b"]  # PyTorch sorts the keys of a plain dict
    assert isinstance(pd["b"], nn.Parameter) and len(list(pd.parameters())) == 2
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()


def test_container_reprs_match_torch():
    def make(lib):
        m = lib.nn
        return m.Sequential(
            m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.Linear(2, 2), m.ReLU()]),
            m.ModuleDict({"x": m.Tanh()}), m.Sequential(), m.Identity(),
            m.Flatten(), m.Unflatten(1, (2, 1)), m.Embedding(4, 2, padding_idx=1),
            m.Softmax(dim=1), m.LeakyReLU(0.2, inplace=True), m.BatchNorm1d(2, affine=False),
            m.Bilinear(2, 3, 4, bias=False), m.LayerNorm([2, 3], elementwise_affine=False),
            m.CrossEntropyLoss(), m.Dropout(0.3, inplace=True), m.GELU(approximate="tanh"),
            m.GroupNorm(2, 4), m.Softplus(beta=2.0))
    assert repr(make(chainrule)) == repr(make(torch))
    pl_ours = repr(nn.ParameterList([nn.Parameter(chainrule.zeros(2, 3))]))
    pl_theirs = repr(torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3))]))
    assert pl_ours.replace("chainrule", "torch") == pl_theirs


def test_module_deepcopy_and_group_norm():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    m2 = copy.deepcopy(m)
    assert m2[0].weight is not m[0].weight
    np.testing.assert_array_equal(m2[0].weight._data, m[0].weight._data)
    assert isinstance(m2[0].weight, nn.Parameter)
    gn, gn_t = nn.GroupNorm(2, 4).double(), torch.nn.GroupNorm(2, 4).double()
    with torch.no_grad():
        for p in gn_t.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    copy_torch_weights(gn_t, gn)
    x = np.random.default_rng(3).standard_normal((3, 4, 5))
    check_fn(gn, gn_t, [x])


def test_buffer_marker_lazy_linear_and_missing_forward():
    m = nn.Module()
    m.stats = nn.Buffer(chainrule.zeros(2), persistent=False)
    m.kept = nn.Buffer(chainrule.ones(1))
    assert [n for n, _ in m.named_buffers()] == ["stats", "kept"]
    assert list(m.state_dict()) == ["kept"]
    lazy = nn.LazyLinear(3)
    assert lazy.weight is None
    out = lazy(chainrule.randn(4, 5))
    assert out.shape == (4, 3) and lazy.weight.shape == (3, 5) and lazy.in_features == 5
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(chainrule.zeros(1))
