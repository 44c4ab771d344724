"""Layers against PyTorch with the same weights: values, input and parameter gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_testing import (
    assert_close,
    check_finite_differences,
    check_fn,
    check_module,
    copy_torch_weights,
    pair,
)

import chainrule
import chainrule.nn.functional as F
from chainrule import nn

rng = np.random.default_rng(0)


def data(*shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


def both(name, *args, dtype="float64", **kwargs):
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    if dtype == "float64":
        ours.double()
        theirs.double()
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(5, 4), (1, 4), (4,), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(dtype, shape, bias):
    ours, theirs = both("Linear", 4, 3, bias=bias, dtype=dtype)
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, data(*shape, dtype=dtype), dtype=dtype)


def test_linear_non_contiguous_input_and_finite_differences():
    ours, theirs = both("Linear", 4, 3)
    copy_torch_weights(theirs, ours)
    check_fn(lambda x: ours(x.t()), lambda x: theirs(x.t()), [data(4, 6)])
    w, b = data(3, 4), data(3)
    check_finite_differences(F.linear, [data(2, 5, 4), w, b])


@pytest.mark.parametrize("perm", [(1, 0, 2), (2, 0, 1, 3), (1, 2, 0, 3)])
def test_linear_on_axes_permuted_in_memory(perm):
    """An input whose leading axes are permuted in memory (a batch_first LSTM's output) is
    multiplied in memory order: values, gradients and second derivatives still match torch,
    and the output is contiguous, as torch's."""
    shape = (3, 5, 4) if len(perm) == 3 else (3, 5, 2, 4)
    ours, theirs = both("Linear", 4, 3)
    copy_torch_weights(theirs, ours)
    check_fn(lambda x: ours(x.permute(perm)), lambda x: theirs(x.permute(perm)),
             [data(*shape)])
    out = ours(chainrule.tensor(data(*shape)).permute(perm))
    assert out.is_contiguous()
    x, w, b = data(*shape), data(3, 4), data(3)
    (xc, xt), (wc, wt), (bc, bt) = pair(x), pair(w), pair(b)
    gc = chainrule.autograd.grad((F.linear(xc.permute(perm), wc, bc) ** 2).sum(), [xc, wc],
                                 create_graph=True)
    gt = torch.autograd.grad((torch.nn.functional.linear(xt.permute(perm), wt, bt) ** 2).sum(),
                             [xt, wt], create_graph=True)
    hc = chainrule.autograd.grad((gc[0] ** 2).sum() + (gc[1] ** 2).sum(), [xc, wc, bc])
    ht = torch.autograd.grad((gt[0] ** 2).sum() + (gt[1] ** 2).sum(), [xt, wt, bt])
    for a, b_ in zip(list(gc) + list(hc), list(gt) + list(ht)):
        assert_close(a, b_)


def test_linear_second_order_matches_torch():
    x, w, b = data(3, 4), data(2, 4), data(2)
    (xc, xt), (wc, wt), (bc, bt) = pair(x), pair(w), pair(b)
    gc = chainrule.autograd.grad((F.linear(xc, wc, bc) ** 2).sum(), [xc, wc], create_graph=True)
    gt = torch.autograd.grad((torch.nn.functional.linear(xt, wt, bt) ** 2).sum(), [xt, wt],
                             create_graph=True)
    hc = chainrule.autograd.grad(gc[0].sum() + (gc[1] ** 2).sum(), [xc, wc, bc])
    ht = torch.autograd.grad(gt[0].sum() + (gt[1] ** 2).sum(), [xt, wt, bt])
    for a, b_ in zip(hc, ht):
        assert_close(a, b_)


def test_linear_errors_name_shapes():
    fc = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match=r"linear: .*float32\[2, 5\].*in_features = 4"):
        fc(chainrule.randn(2, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        fc(chainrule.randn(2, 4, dtype=chainrule.float64))


def test_linear_default_init_bounds():
    chainrule.manual_seed(0)
    fc = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = fc.weight._data, fc.bias._data
    assert fc.weight.dtype == chainrule.float32 and fc.weight.requires_grad
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound  # U(-k, k) has std k/sqrt(3)
    assert np.abs(b).max() <= bound


def test_bilinear():
    ours, theirs = both("Bilinear", 3, 4, 2)
    assert repr(ours) == repr(theirs)
    copy_torch_weights(theirs, ours)
    check_fn(ours, theirs, [data(5, 3), data(5, 4)])
    for name, p in theirs.named_parameters():
        assert_close(dict(ours.named_parameters())[name].grad, p.grad)


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True, "padding_idx": 0}])
def test_embedding(kwargs):
    ours, theirs = both("Embedding", 6, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    copy_torch_weights(theirs, ours)
    idx = np.array([[1, 2, 1, 0], [5, 1, 1, 3]])
    out_c = ours(chainrule.tensor(idx))
    out_t = theirs(torch.tensor(idx))
    assert_close(out_c, out_t)
    g = data(2, 4, 3)
    out_c.backward(chainrule.tensor(g))
    out_t.backward(torch.tensor(g))
    assert_close(ours.weight.grad, theirs.weight.grad)
    if ours.padding_idx is not None:
        assert np.all(ours.weight.grad._data[ours.padding_idx] == 0)


def test_embedding_init_padding_and_from_pretrained():
    emb = nn.Embedding(10, 4, padding_idx=2)
    assert np.all(emb.weight._data[2] == 0) and emb.weight.dtype == chainrule.float32
    table = chainrule.tensor(data(3, 2))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    assert_close(frozen(chainrule.tensor([2, 0])), torch.tensor(data.__self__ if False else
                                                               table._data[[2, 0]]))
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and repr(trainable) == "Embedding(3, 2, padding_idx=0)"
    with pytest.raises(IndexError, match="out of range"):
        emb(chainrule.tensor([10]))


def test_embedding_max_norm_renormalises_rows():
    ours, theirs = both("Embedding", 5, 3, max_norm=1.0)
    copy_torch_weights(theirs, ours)
    idx = np.array([0, 2, 2])
    assert_close(ours(chainrule.tensor(idx)), theirs(torch.tensor(idx)), rtol=1e-7)
    assert_close(ours.weight, theirs.weight, rtol=1e-7)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,kwargs", [
    ((4, 5), {}), ((2, 3, 5), {}), ((2, 3, 4), {"normalized_shape": (3, 4)}),
    ((3, 5), {"elementwise_affine": False}), ((3, 5), {"bias": False}),
    ((1, 5), {"eps": 1e-3})])
def test_layer_norm(dtype, shape, kwargs):
    kwargs = dict(kwargs)
    normalized = kwargs.pop("normalized_shape", shape[-1])
    ours, theirs = both("LayerNorm", normalized, dtype=dtype, **kwargs)
    with torch.no_grad():  # non-trivial affine parameters
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, data(*shape, dtype=dtype), dtype=dtype)


def test_layer_norm_finite_differences_and_second_order():
    w, b = data(4), data(4)
    check_finite_differences(lambda x, w, b: F.layer_norm(x, (4,), w, b), [data(3, 4), w, b])
    x = data(2, 4)
    (xc, xt), (wc, wt) = pair(x), pair(w)
    (gc,) = chainrule.autograd.grad((F.layer_norm(xc, (4,), wc) ** 3).sum(), xc,
                                    create_graph=True)
    (gt,) = torch.autograd.grad((torch.nn.functional.layer_norm(xt, (4,), wt) ** 3).sum(), xt,
                                create_graph=True)
    assert_close(gc, gt)
    hc = chainrule.autograd.grad((gc ** 2).sum(), [xc, wc])
    ht = torch.autograd.grad((gt ** 2).sum(), [xt, wt])
    for a, b_ in zip(hc, ht):
        assert_close(a, b_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3)])  # N=2: output is +-1, grad ~0
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False},
                                    {"track_running_stats": False}, {"momentum": 0.3},
                                    {"bias": False}])
def test_batch_norm_1d_training_and_eval(dtype, shape, kwargs):
    ours, theirs = both("BatchNorm1d", 3, dtype=dtype, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    assert repr(ours) == repr(theirs)
    copy_torch_weights(theirs, ours)
    for step in range(3):  # running statistics after several batches
        ours.zero_grad()
        theirs.zero_grad()
        check_module(ours, theirs, data(*shape, dtype=dtype), dtype=dtype, copy=False,
                     seed=step)
    assert ours.num_batches_tracked is None or int(ours.num_batches_tracked) == \
        int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    check_module(ours, theirs, data(*shape, dtype=dtype), dtype=dtype, copy=False)


def test_batch_norm_errors_and_finite_differences():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(chainrule.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(chainrule.randn(1, 3))
    w, b = data(3), data(3)
    check_finite_differences(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [data(4, 3, 2), w, b])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (4, 3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 5)),
                                        ("InstanceNorm2d", (3, 4, 5)),  # unbatched
                                        ("InstanceNorm3d", (2, 3, 2, 3, 4))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True,
                                     "momentum": 0.3},
                                    {"track_running_stats": True, "momentum": None}])
def test_instance_norm_training_and_eval(dtype, name, shape, kwargs):
    ours, theirs = both(name, 3, dtype=dtype, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_torch_weights(theirs, ours)
    for step in range(3):  # running statistics (when tracked) after several batches
        ours.zero_grad()
        theirs.zero_grad()
        check_module(ours, theirs, data(*shape, dtype=dtype) * 2 + 1, dtype=dtype, copy=False,
                     seed=step)
    if ours.track_running_stats and ours.momentum is not None:  # None: PyTorch's stay put
        assert not np.allclose(ours.running_mean.numpy(), 0)
    ours.eval()
    theirs.eval()  # with running statistics these normalise with them, else with the input's
    check_module(ours, theirs, data(*shape, dtype=dtype), dtype=dtype, copy=False)


def test_instance_norm_functional_and_errors():
    x, w, b = data(2, 3, 4), data(3), data(3)
    rm, rv = data(3), data(3) ** 2 + 0.5
    for use_input_stats in (True, False):
        check_fn(lambda a, c, d: F.instance_norm(a, chainrule.tensor(rm), chainrule.tensor(rv),
                                                 c, d, use_input_stats, 0.2, 1e-3),
                 lambda a, c, d: torch.nn.functional.instance_norm(
                     a, torch.tensor(rm), torch.tensor(rv), c, d, use_input_stats, 0.2, 1e-3),
                 [x, w, b])
    check_finite_differences(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), [x, w, b])
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        nn.InstanceNorm2d(3)(chainrule.randn(2, 3, 1, 1))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.InstanceNorm2d(3)(chainrule.randn(2, 3))
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm2d(3, affine=True)(chainrule.randn(2, 4, 2, 2))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(chainrule.randn(2, 4, 5))


def test_batch_norm_load_without_num_batches_tracked():
    ours = nn.BatchNorm1d(2)
    state = {k: v for k, v in ours.state_dict().items() if k != "num_batches_tracked"}
    result = ours.load_state_dict(state)  # old checkpoints: filled in, not "missing"
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_dropout_train_and_eval():
    chainrule.manual_seed(0)
    drop = nn.Dropout(0.25)
    assert repr(drop) == repr(torch.nn.Dropout(0.25))
    x = chainrule.ones(200, 100, requires_grad=True)
    y = drop(x)
    values = np.unique(y._data)
    np.testing.assert_allclose(values, [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((y._data == 0).mean() - 0.25) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, y._data)  # gradient through the same mask
    drop.eval()
    assert drop(x) is x
    assert np.all(F.dropout(x, 1.0)._data == 0)
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    chans = F.dropout2d(chainrule.ones(4, 50, 3, 3), 0.5)
    per_channel = chans._data.reshape(4, 50, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # whole channels dropped


def test_flatten_unflatten_identity():
    x = data(2, 3, 4, 5)
    for ours, theirs in [(nn.Flatten(), torch.nn.Flatten()),
                         (nn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
                         (nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))),
                         (nn.Identity(3, bias=True), torch.nn.Identity(3, bias=True))]:
        assert repr(ours) == repr(theirs)
        check_fn(ours, theirs, [x])


def test_rms_norm_and_group_norm_functional():
    x, w = data(3, 4, 6), data(6)
    check_fn(lambda a, b: F.rms_norm(a, (6,), b, eps=1e-6),
             lambda a, b: torch.nn.functional.rms_norm(a, (6,), b, eps=1e-6), [x, w])
    ours, theirs = both("RMSNorm", 6)
    assert repr(ours) == repr(theirs)
    check_module(ours, theirs, x)
    gw, gb = data(4), data(4)
    check_fn(lambda a, b, c: F.group_norm(a, 2, b, c),
             lambda a, b, c: torch.nn.functional.group_norm(a, 2, b, c), [x, gw, gb])
    check_finite_differences(lambda a: F.group_norm(a, 2), [data(2, 4, 3)])


def test_alpha_dropout_keeps_zero_mean_unit_variance():
    chainrule.manual_seed(3)
    x = chainrule.randn(400, 500, dtype=chainrule.float64)
    out = nn.AlphaDropout(0.2)(x)._data
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1) < 0.02
    assert nn.AlphaDropout(0.2).eval()(x) is x
