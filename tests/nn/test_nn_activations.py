"""Activations (functions and modules) against PyTorch; erf accuracy; second derivatives."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as TF
from nn_testing import assert_close, check_finite_differences, check_fn, check_module, pair

import chainrule
import chainrule.nn.functional as F
from chainrule import nn

rng = np.random.default_rng(0)


def data(*shape, dtype="float64", scale=2.0):
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    x.reshape(-1)[:2] = [0.0, 1.0]  # include the kink of relu-like functions
    return x


# (name, our callable, torch callable): F.<name> with the same arguments in both
ACTIVATIONS = [
    ("relu", lambda m, x: m.relu(x)),
    ("relu6", lambda m, x: m.relu6(x * 4)),
    ("leaky_relu", lambda m, x: m.leaky_relu(x, 0.2)),
    ("elu", lambda m, x: m.elu(x, alpha=0.7)),
    ("selu", lambda m, x: m.selu(x)),
    ("celu", lambda m, x: m.celu(x, alpha=1.3)),
    ("gelu", lambda m, x: m.gelu(x)),
    ("gelu_tanh", lambda m, x: m.gelu(x, approximate="tanh")),
    ("silu", lambda m, x: m.silu(x)),
    ("mish", lambda m, x: m.mish(x)),
    ("sigmoid", lambda m, x: m.sigmoid(x)),
    ("tanh", lambda m, x: m.tanh(x)),
    ("softplus", lambda m, x: m.softplus(x)),
    ("softplus_beta", lambda m, x: m.softplus(x, beta=2.0, threshold=3.0)),
    ("softsign", lambda m, x: m.softsign(x)),
    ("hardtanh", lambda m, x: m.hardtanh(x, -0.5, 1.5)),
    ("hardsigmoid", lambda m, x: m.hardsigmoid(x * 2)),
    ("hardswish", lambda m, x: m.hardswish(x * 2)),
    ("logsigmoid", lambda m, x: m.logsigmoid(x)),
    ("tanhshrink", lambda m, x: m.tanhshrink(x)),
    ("softmax", lambda m, x: m.softmax(x, dim=-1)),
    ("softmax0", lambda m, x: m.softmax(x, dim=0)),
    ("log_softmax", lambda m, x: m.log_softmax(x, dim=1)),
    ("softmin", lambda m, x: m.softmin(x, dim=1)),
    ("glu", lambda m, x: m.glu(x, dim=-1)),
    ("threshold", lambda m, x: m.threshold(x, 0.5, -2.0)),
    ("softshrink", lambda m, x: m.softshrink(x, 0.7)),
    ("hardshrink", lambda m, x: m.hardshrink(x, 0.7)),
    ("rrelu_eval", lambda m, x: m.rrelu(x, 0.1, 0.3)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, fn, dtype):
    # torch's celu/hardsigmoid backward kernels round their constants (1/alpha, 1/6) to
    # float32 even in float64 (relative error ~4e-8)
    loose = name in ("celu", "hardsigmoid", "hardswish") and dtype == "float64"
    tol = {"rtol": 1e-7, "atol": 1e-9} if loose else {}
    check_fn(lambda x: fn(F, x), lambda x: fn(TF, x), [data(3, 4, dtype=dtype)], dtype, **tol)


@pytest.mark.parametrize("name,fn", ACTIVATIONS[:20], ids=[a[0] for a in ACTIVATIONS[:20]])
def test_activation_non_contiguous_and_finite_differences(name, fn):
    x = data(4, 6)
    tol = {"rtol": 1e-7, "atol": 1e-9} if name in ("celu", "hardsigmoid", "hardswish") else {}
    check_fn(lambda a: fn(F, a.t()), lambda a: fn(TF, a.t()), [x], **tol)
    x = x + 0.05  # away from the kinks for finite differences (0 and 1 became 0.05, 1.05)
    if name not in ("threshold",):
        check_finite_differences(lambda a: fn(F, a), [x[:2, :3].copy()])


def test_activations_extreme_values_are_stable():
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4])
    for name in ("softplus", "logsigmoid", "sigmoid", "silu", "gelu", "mish", "elu"):
        check_fn(getattr(F, name), getattr(TF, name), [x])


@pytest.mark.parametrize("name,fn", [("gelu", lambda m, x: m.gelu(x)),
                                     ("elu", lambda m, x: m.elu(x)),
                                     ("softplus", lambda m, x: m.softplus(x, beta=1.5))])
def test_second_derivatives_match_torch(name, fn):
    x = data(5) + 0.05
    xc, xt = pair(x)
    (gc,) = chainrule.autograd.grad(fn(F, xc).sum(), xc, create_graph=True)
    (gt,) = torch.autograd.grad(fn(TF, xt).sum(), xt, create_graph=True)
    assert_close(gc, gt)
    (hc,) = chainrule.autograd.grad(gc.sum(), xc)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    assert_close(hc, ht)


def test_erf_is_accurate_to_1e_15():
    x = np.concatenate([np.linspace(-7, 7, 200001), np.logspace(-300, 1, 2000),
                        -np.logspace(-300, 1, 2000), [0.0, -0.0, np.inf, -np.inf]])
    ours = F.erf(chainrule.tensor(x))._data
    ref = scipy.special.erf(x)
    rel = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-300)
    assert rel.max() < 2e-15
    assert [ours[i] for i in (-4, -3, -2, -1)] == [0.0, 0.0, 1.0, -1.0]
    for v in (0.1, 0.5, 1.7, 2.9, 3.1, 4.5, 5.9, 6.5):
        v64 = chainrule.tensor(v, dtype=chainrule.float64)
        assert abs(F.erf(v64).item() - math.erf(v)) <= 4e-16
        v32 = float(np.float32(v))  # float32: computed in float32, within a few ulp
        assert abs(F.erf(chainrule.tensor(v32)).item() - math.erf(v32)) <= 6e-7 * math.erf(v32)
    assert np.isnan(F.erf(chainrule.tensor(np.nan)).item())
    check_fn(F.erf, torch.erf, [data(7)])


def test_softmax_implicit_dim_warns_and_follows_torch():
    for shape in [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        x = data(*shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            ours = F.softmax(chainrule.tensor(x))
        with pytest.warns(UserWarning):
            theirs = TF.softmax(torch.tensor(x))
        assert_close(ours, theirs)


def test_inplace_relu_and_module_inplace():
    x = data(3, 3)
    a = chainrule.tensor(x)
    out = F.relu(a, inplace=True)
    assert out is a and np.all(a._data >= 0)
    w, wt = pair(x)
    (w * 1).relu_ if False else None
    h = w * 2
    nn.ReLU(inplace=True)(h).sum().backward()
    ht = wt * 2
    torch.nn.ReLU(inplace=True)(ht).sum().backward()
    assert_close(w.grad, wt.grad)


MODULES = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("ReLU6", (), {}),
    ("LeakyReLU", (0.3,), {}), ("LeakyReLU", (), {"inplace": True}), ("ELU", (0.5,), {}),
    ("SELU", (), {}), ("CELU", (), {}), ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}), ("Mish", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Softplus", (2.0, 10.0), {}), ("Softsign", (), {}), ("Hardtanh", (-2.0, 2.0), {}),
    ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("LogSigmoid", (), {}),
    ("Tanhshrink", (), {}), ("Threshold", (0.1, 20.0), {}), ("GLU", (), {}),
    ("Softmax", (), {"dim": 1}), ("LogSoftmax", (), {"dim": -1}), ("Softmin", (1,), {}),
    ("PReLU", (), {}), ("PReLU", (4,), {"init": 0.1}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_activation_modules_match_torch(name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours.double()
    assert repr(ours) == repr(theirs)
    x = data(2, 4, 6)
    tol = {"rtol": 1e-7, "atol": 1e-9} if name in ("CELU", "Hardsigmoid", "Hardswish") else {}
    if kwargs.get("inplace"):  # in place on a non-leaf; the input's grad flows through
        check_fn(lambda a: ours(a * 1), lambda a: theirs(a * 1), [x], **tol)
    else:
        check_module(ours, theirs, x, **tol)


def test_hardswish_at_its_kinks_nan_and_inf_gradients():
    """PyTorch's hardswish derivative: 0 up to -3 (exactly, even for an inf upstream
    gradient), x/3 + 1/2 strictly inside (-3, 3), 1 from 3 on and at NaN; second derivative
    1/3 strictly inside, else 0."""
    a = np.array([-5.0, -3.0, -1.0, 0.0, 1.5, 3.0, 4.0, np.nan])
    results = []
    for lib, fn in ((chainrule, F.hardswish), (torch, TF.hardswish)):
        x = lib.tensor(a, requires_grad=True)
        y = fn(x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        (k,) = lib.autograd.grad(fn(x), x, lib.tensor(np.full(8, np.inf)))
        results.append([t.detach().numpy() for t in (y, g, h, k)])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_shrinks_at_the_edges_nan_inf_and_lambda_as_torch():
    """softshrink/hardshrink: 0 on [-lambd, lambd] (ends included; +0.0, as PyTorch's
    vectorized kernel, whose scalar kernel for an array's last elements gives -0.0 for
    negative x), NaN and inf kept, the gradient exactly 0 inside and at NaN (as PyTorch's
    vectorized kernels); softshrink refuses a negative lambda, hardshrink takes it."""
    a = np.array([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 2.0, np.nan, np.inf, -np.inf] * 4)
    upstream = np.full(a.shape, np.inf)  # 40 elements: PyTorch's vectorized kernels run
    for name in ("softshrink", "hardshrink"):
        results = []
        for lib, fn in ((chainrule, getattr(F, name)), (torch, getattr(TF, name))):
            x = lib.tensor(a, requires_grad=True)
            y = fn(x, 0.5)
            (g,) = lib.autograd.grad(y, x, lib.tensor(upstream))
            results.append((y.detach().numpy(), g.numpy()))
        for ours, theirs in zip(*results):
            np.testing.assert_array_equal(ours, theirs)
        assert not np.signbit(results[0][0][1:6]).any()
        assert results[0][1][7] == 0  # blocked at NaN
    with pytest.raises(RuntimeError, match="softshrink: lambda must be in range"):
        F.softshrink(chainrule.ones(3), -1.0)
    np.testing.assert_array_equal(F.hardshrink(chainrule.tensor(a), -1.0).numpy(), a)
    assert repr(nn.Softshrink()) == repr(torch.nn.Softshrink()) == "Softshrink(0.5)"
    assert repr(nn.Hardshrink(0.3)) == repr(torch.nn.Hardshrink(0.3))


def test_rrelu_draws_a_slope_per_element_in_training_and_uses_the_mean_in_eval():
    chainrule.manual_seed(0)
    a = np.linspace(-3, 3, 4001)
    x = chainrule.tensor(a, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    slope = x.grad.numpy()
    negative = a <= 0
    np.testing.assert_array_equal(slope[~negative], 1.0)
    assert slope[negative].min() >= 0.1 and slope[negative].max() <= 0.3
    assert abs(slope[negative].mean() - 0.2) < 0.01  # uniform on [0.1, 0.3]
    np.testing.assert_allclose(y.detach().numpy(), a * slope, rtol=0, atol=0)
    module = nn.RReLU(0.1, 0.3)
    assert repr(module) == repr(torch.nn.RReLU(0.1, 0.3)) == "RReLU(lower=0.1, upper=0.3)"
    assert repr(nn.RReLU()) == repr(torch.nn.RReLU())
    module.eval()
    np.testing.assert_allclose(module(chainrule.tensor(a)).numpy(),
                               torch.nn.RReLU(0.1, 0.3).eval()(torch.tensor(a)).numpy(),
                               rtol=1e-15)
    module.train()
    assert not np.allclose(module(chainrule.tensor(a)).numpy(), module(chainrule.tensor(a)).numpy())
    with pytest.raises(ValueError, match="rrelu: expected 0 <= lower <= upper"):
        F.rrelu(chainrule.ones(2), 0.5, 0.1)
