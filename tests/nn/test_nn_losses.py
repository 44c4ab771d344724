"""Losses against PyTorch (values and gradients), finite differences, and stability."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_testing import assert_close, check_finite_differences, check_fn, pair

import chainrule
import chainrule.nn.functional as F
from chainrule import nn

rng = np.random.default_rng(0)


def logits(*shape, dtype="float64", scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, n_classes, ignore=None):
    t = rng.integers(0, n_classes, size=shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t.astype(np.int64)


def probs(*shape, dtype="float64"):
    p = rng.random(shape) + 0.05
    return (p / p.sum(axis=1, keepdims=True)).astype(dtype)


def _with_target(ours_kwargs, target, weight=None):
    """Two callables taking logits only, with the target (and weight) as constants."""
    tc, tt = chainrule.tensor(target), torch.tensor(target)
    wc = chainrule.tensor(weight) if weight is not None else None
    wt = torch.tensor(weight) if weight is not None else None
    return (lambda z: F.cross_entropy(z, tc, weight=wc, **ours_kwargs),
            lambda z: TF.cross_entropy(z, tt, weight=wt, **ours_kwargs))


CE_CASES = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.2},
    {"label_smoothing": 0.1, "reduction": "none"},
    {"ignore_index": 2},
    {"ignore_index": -100, "reduction": "sum", "label_smoothing": 0.3},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", CE_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(dtype, kwargs, weighted):
    z = logits(6, 5, dtype=dtype)
    t = labels((6,), 5, ignore=kwargs.get("ignore_index"))
    w = rng.random(5).astype(dtype) + 0.5 if weighted else None
    ours, theirs = _with_target(kwargs, t, w)
    check_fn(ours, theirs, [z], dtype)


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "none", "label_smoothing": 0.1},
                                    {"ignore_index": 1, "reduction": "mean"}])
def test_cross_entropy_extra_dims(kwargs):
    z = logits(3, 4, 5, 2)  # (N, C, d1, d2)
    t = labels((3, 5, 2), 4, ignore=kwargs.get("ignore_index"))
    w = rng.random(4) + 0.5
    ours, theirs = _with_target(kwargs, t, w)
    check_fn(ours, theirs, [z])


def test_cross_entropy_unbatched_and_batch_of_one():
    for shape, tshape in [((5,), ()), ((1, 5), (1,))]:
        z = logits(*shape)
        t = np.array(rng.integers(0, 5, size=tshape), dtype=np.int64)
        for reduction in ("mean", "none"):
            ours, theirs = _with_target({"reduction": reduction}, t)
            check_fn(ours, theirs, [z])


def test_cross_entropy_non_contiguous_logits():
    z = logits(5, 6)
    t = labels((6,), 5)
    tc, tt = chainrule.tensor(t), torch.tensor(t)
    check_fn(lambda a: F.cross_entropy(a.t(), tc), lambda a: TF.cross_entropy(a.t(), tt), [z])


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "none"}, {"label_smoothing": 0.25},
                                    {"reduction": "sum"}])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(kwargs, weighted):
    z, y = logits(4, 3, 2), probs(4, 3, 2)
    w = rng.random(3) + 0.5 if weighted else None
    wc = chainrule.tensor(w) if weighted else None
    wt = torch.tensor(w) if weighted else None
    # both the logits and the target distribution receive gradients
    check_fn(lambda a, b: F.cross_entropy(a, b, weight=wc, **kwargs),
             lambda a, b: TF.cross_entropy(a, b, weight=wt, **kwargs), [z, y])


def test_cross_entropy_extreme_logits_are_finite_and_grad_is_p_minus_t():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 1e4, -1e4]])
    t = np.array([1, 2, 0])
    zc = chainrule.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zc, chainrule.tensor(t), reduction="sum")
    loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    ref = TF.cross_entropy(zt, torch.tensor(t), reduction="sum")
    ref.backward()
    assert np.isfinite(loss.item())
    assert_close(loss, ref)
    p = torch.softmax(torch.tensor(z), 1).numpy()
    np.testing.assert_allclose(zc.grad._data, p - np.eye(3)[t], atol=1e-12)
    for dtype in ("float32", "float64"):
        out = F.cross_entropy(chainrule.tensor(z.astype(dtype)), chainrule.tensor(t))
        assert np.isfinite(out.item())


def test_cross_entropy_finite_differences():
    t = labels((4, 3), 5, ignore=-100)
    w = rng.random(5) + 0.5
    tc, wc = chainrule.tensor(t), chainrule.tensor(w)
    check_finite_differences(
        lambda z: F.cross_entropy(z.permute(0, 2, 1), tc, weight=wc, label_smoothing=0.1),
        [logits(4, 3, 5)])
    check_finite_differences(lambda z, y: F.cross_entropy(z, y, label_smoothing=0.2),
                             [logits(3, 4), probs(3, 4)])


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2, "reduction": "none"}])
def test_cross_entropy_second_order_matches_torch(kwargs):
    z = logits(4, 5)
    t = labels((4,), 5)
    w = rng.random(5) + 0.5
    zc, zt = pair(z)
    lc = F.cross_entropy(zc, chainrule.tensor(t), weight=chainrule.tensor(w), **kwargs)
    lt = TF.cross_entropy(zt, torch.tensor(t), weight=torch.tensor(w), **kwargs)
    gout = rng.standard_normal(tuple(lt.shape))
    (gc,) = chainrule.autograd.grad(lc, zc, chainrule.tensor(gout), create_graph=True)
    (gt,) = torch.autograd.grad(lt, zt, torch.tensor(gout), create_graph=True)
    assert_close(gc, gt)
    v = rng.standard_normal(z.shape)
    (hc,) = chainrule.autograd.grad((gc * chainrule.tensor(v)).sum(), zc)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), zt)
    assert_close(hc, ht)


def test_cross_entropy_errors():
    z = chainrule.randn(3, 4)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(z, chainrule.tensor([0, 7, 1]))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(z, chainrule.tensor([0, 1]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(z, chainrule.tensor([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                    {"ignore_index": 0}])
def test_nll_loss(dtype, kwargs):
    z = np.log(probs(5, 4, dtype=dtype))
    t = labels((5,), 4)
    w = (rng.random(4) + 0.5).astype(dtype)
    tc, tt = chainrule.tensor(t), torch.tensor(t)
    check_fn(lambda a: F.nll_loss(a, tc, weight=chainrule.tensor(w), **kwargs),
             lambda a: TF.nll_loss(a, tt, weight=torch.tensor(w), **kwargs), [z], dtype)
    t3 = labels((2, 3), 4, ignore=kwargs.get("ignore_index"))
    z3 = np.log(probs(2, 4, 3, dtype=dtype))
    check_fn(lambda a: F.nll_loss(a, chainrule.tensor(t3), **kwargs),
             lambda a: TF.nll_loss(a, torch.tensor(t3), **kwargs), [z3], dtype)


POINTWISE = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,kwargs", POINTWISE)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pointwise_losses(dtype, name, kwargs, reduction):
    x, y = logits(4, 3, dtype=dtype), logits(4, 3, dtype=dtype)
    check_fn(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kwargs),
             lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kwargs), [x, y], dtype)


def test_soft_margin_loss():
    y = np.sign(logits(4, 3))
    check_fn(lambda a: F.soft_margin_loss(a, chainrule.tensor(y)),
             lambda a: TF.soft_margin_loss(a, torch.tensor(y)), [logits(4, 3)])


def test_pointwise_losses_finite_differences():
    x, y = logits(3, 4), logits(3, 4)
    for fn in (F.mse_loss, F.l1_loss, lambda a, b: F.smooth_l1_loss(a, b, beta=0.3),
               lambda a, b: F.huber_loss(a, b, delta=0.4)):
        check_finite_differences(fn, [x, y])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(dtype, reduction):
    x = (rng.random((4, 3)) * 0.9 + 0.05).astype(dtype)
    y = rng.random((4, 3)).astype(dtype)
    w = (rng.random(3) + 0.5).astype(dtype)
    check_fn(lambda a, b: F.binary_cross_entropy(a, b, chainrule.tensor(w), reduction=reduction),
             lambda a, b: TF.binary_cross_entropy(a, b, torch.tensor(w), reduction=reduction),
             [x, y], dtype)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # d/dtarget is inf there
def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.5, 1e-50])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    check_fn(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [x, y])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(chainrule.tensor([1.5]), chainrule.tensor([1.0]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", [(False, False), (True, False), (False, True),
                                     (True, True)])
def test_bce_with_logits(dtype, reduction, weights):
    x = logits(5, 3, dtype=dtype, scale=4)
    y = rng.random((5, 3)).astype(dtype)
    w = (rng.random((1, 3)) + 0.5).astype(dtype) if weights[0] else None
    pw = (rng.random(3) + 0.5).astype(dtype) if weights[1] else None

    def ours(a, b):
        return F.binary_cross_entropy_with_logits(
            a, b, None if w is None else chainrule.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else chainrule.tensor(pw))

    def theirs(a, b):
        return TF.binary_cross_entropy_with_logits(
            a, b, None if w is None else torch.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw))
    check_fn(ours, theirs, [x, y], dtype)


def test_bce_with_logits_stable_and_finite_differences():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    check_fn(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none"), [x, y])
    pw = chainrule.tensor([2.0, 0.5, 1.5])
    check_finite_differences(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
        [logits(4, 3), rng.random((4, 3))])


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(probs(4, 5))
    y = np.log(probs(4, 5)) if log_target else probs(4, 5)
    with pytest.warns(UserWarning) if reduction == "mean" else _nullcontext():
        check_fn(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                 lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
                 [x, y])


def test_kl_div_zero_target_contributes_zero():
    x = np.log(probs(2, 3))
    y = probs(2, 3)
    y[0, 0] = 0.0  # 0 * log 0 = 0 (the target is a constant here: torch's d/dt there is nan)
    check_fn(lambda a: F.kl_div(a, chainrule.tensor(y), reduction="sum"),
             lambda a: TF.kl_div(a, torch.tensor(y), reduction="sum"), [x])


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_loss_modules_match_functions_and_torch():
    z, t = logits(6, 4), labels((6,), 4)
    w = rng.random(4) + 0.5
    pairs = [
        (nn.CrossEntropyLoss(weight=chainrule.tensor(w), label_smoothing=0.1, ignore_index=1),
         torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1,
                                   ignore_index=1), True),
        (nn.NLLLoss(reduction="sum"), torch.nn.NLLLoss(reduction="sum"), True),
        (nn.MSELoss(), torch.nn.MSELoss(), False),
        (nn.L1Loss(reduction="none"), torch.nn.L1Loss(reduction="none"), False),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), False),
        (nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0), False),
        (nn.BCEWithLogitsLoss(pos_weight=chainrule.tensor(w)),
         torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w)), False),
    ]
    for ours, theirs, indices in pairs:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        target = t if indices else rng.random((6, 4))
        tc, tt = chainrule.tensor(target), torch.tensor(target)
        check_fn(lambda a, ours=ours, tc=tc: ours(a, tc),
                 lambda a, theirs=theirs, tt=tt: theirs(a, tt), [z])
    kl = nn.KLDivLoss(reduction="batchmean", log_target=True)
    tkl = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    y = np.log(probs(6, 4))
    check_fn(lambda a: kl(a, chainrule.tensor(y)), lambda a: tkl(a, torch.tensor(y)),
             [np.log(probs(6, 4))])
    bce, tbce = nn.BCELoss(), torch.nn.BCELoss()
    p, yb = rng.random((3, 2)) * 0.8 + 0.1, rng.random((3, 2))
    check_fn(lambda a: bce(a, chainrule.tensor(yb)), lambda a: tbce(a, torch.tensor(yb)), [p])


def test_legacy_size_average_and_reduce():
    x, y = logits(3, 2), logits(3, 2)
    with pytest.warns(UserWarning):
        out = F.mse_loss(chainrule.tensor(x), chainrule.tensor(y), size_average=False)
    np.testing.assert_allclose(out.item(), ((x - y) ** 2).sum())
    assert nn.MSELoss(reduce=False).reduction == "none"


def test_similarity_normalize_one_hot_poisson_match_torch():
    x1, x2 = logits(4, 5), logits(4, 5)
    check_fn(lambda a, b: F.cosine_similarity(a, b, dim=1),
             lambda a, b: TF.cosine_similarity(a, b, dim=1), [x1, x2])
    check_fn(lambda a: F.normalize(a, p=2.0, dim=0), lambda a: TF.normalize(a, p=2.0, dim=0),
             [x1])
    check_fn(lambda a: F.normalize(a, p=1.0), lambda a: TF.normalize(a, p=1.0), [x1])
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(chainrule.tensor(idx), 5)._data,
                                  TF.one_hot(torch.tensor(idx), 5).numpy())
    assert F.one_hot(chainrule.tensor(idx)).shape == (2, 2, 4)
    counts = rng.poisson(2.0, (3, 4)).astype(np.float64)
    for log_input, full in [(True, False), (False, True)]:
        inp = logits(3, 4) if log_input else rng.random((3, 4)) + 0.5
        check_fn(lambda a, li=log_input, fu=full: F.poisson_nll_loss(
                     a, chainrule.tensor(counts), log_input=li, full=fu),
                 lambda a, li=log_input, fu=full: TF.poisson_nll_loss(
                     a, torch.tensor(counts), log_input=li, full=fu), [inp])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.3]), reduction=st.sampled_from(["mean", "sum", "none"]),
       seed=st.integers(0, 1000))
def test_cross_entropy_random_shapes_match_torch(n, c, extra, smoothing, reduction, seed):
    local = np.random.default_rng(seed)
    z = local.standard_normal((n, c, *extra)) * 3
    t = local.integers(0, c, size=(n, *extra))
    tc, tt = chainrule.tensor(t), torch.tensor(t)
    check_fn(lambda a: F.cross_entropy(a, tc, reduction=reduction, label_smoothing=smoothing),
             lambda a: TF.cross_entropy(a, tt, reduction=reduction, label_smoothing=smoothing),
             [z], seed=seed)


def test_pointwise_loss_shape_errors_name_the_loss():
    with pytest.raises(RuntimeError, match=r"mse_loss: input float32\[3\] and target float32\[4\]"):
        F.mse_loss(chainrule.zeros(3), chainrule.zeros(4))
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(chainrule.zeros(3, 1), chainrule.zeros(3))
