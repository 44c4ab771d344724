"""chainrule.autograd.functional against torch.autograd.functional: values and structures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import chainrule
import chainrule.autograd.functional as F

RNG = np.random.default_rng(0)


def arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def both(arrs, requires_grad=False):
    ours = tuple(chainrule.tensor(a, requires_grad=requires_grad) for a in arrs)
    theirs = tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrs)
    return ours, theirs


def assert_same(ours, theirs, tol=1e-10):
    """Same nesting of tuples, same shapes, same values."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), (type(ours), len(theirs))
        for o, t in zip(ours, theirs):
            assert_same(o, t, tol)
        return
    assert isinstance(ours, chainrule.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)


# Functions written once, run with either library (m is the module).
def f_one_one(m):
    return lambda x: (x.exp() * x).sin()


def f_one_many(m):
    return lambda x: (x.tanh(), (x * x).sum(), x.reshape(2, 3).sum(0))


def f_many_one(m):
    return lambda x, W: (W @ x).tanh()


def f_many_many(m):
    return lambda x, W: ((W @ x).sigmoid(), (W * W).sum() + x.sum())


def scalar_many(m):
    return lambda x, W: ((W @ x).tanh() ** 2).sum() + (x ** 3).sum()


def scalar_one(m):
    return lambda x: (x.exp() * x.sin()).sum() + (x ** 4).prod()


CASES = [
    ("one->one", f_one_one, [(6,)]),
    ("one->many", f_one_many, [(6,)]),
    ("many->one", f_many_one, [(3,), (4, 3)]),
    ("many->many", f_many_many, [(3,), (4, 3)]),
]


def _inputs(shapes):
    arrs = arrays(*shapes)
    ours, theirs = both(arrs)
    if len(shapes) == 1:
        return ours[0], theirs[0]
    return ours, theirs


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_jacobian_matches_torch(name, fn, shapes):
    ours_in, theirs_in = _inputs(shapes)
    ours = F.jacobian(fn(chainrule), ours_in)
    theirs = TF.jacobian(fn(torch), theirs_in)
    assert_same(ours, theirs)
    assert not _requires_grad(ours)


def _requires_grad(x):
    if isinstance(x, tuple):
        return any(_requires_grad(e) for e in x)
    return x.requires_grad


def test_jacobian_single_input_passed_as_tuple_keeps_tuple():
    (x,), (tx,) = both(arrays((4,)))
    ours = F.jacobian(lambda a: a * 2, (x,))
    theirs = TF.jacobian(lambda a: a * 2, (tx,))
    assert isinstance(ours, tuple) and len(ours) == 1
    assert_same(ours, theirs)


def test_jacobian_of_0d_and_unused_input_gives_zeros():
    (x, y), (tx, ty) = both(arrays((), (2, 2)))
    ours = F.jacobian(lambda a, b: a * 3.0, (x, y))
    theirs = TF.jacobian(lambda a, b: a * 3.0, (tx, ty))
    assert_same(ours, theirs)
    assert tuple(ours[1].shape) == (2, 2)


def test_jacobian_strict_and_create_graph():
    (x, y), _ = both(arrays((3,), (3,)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        F.jacobian(lambda a: chainrule.ones(3), x, strict=True)
    xg = chainrule.tensor(arrays((3,))[0], requires_grad=True)
    jac = F.jacobian(lambda a: a ** 3, xg, create_graph=True)
    assert jac.requires_grad
    # d/dx of trace(diag(3x^2)) = 6x
    (g,) = chainrule.autograd.grad(jac.diagonal().sum(), xg)
    np.testing.assert_allclose(g.numpy(), 6 * xg.detach().numpy(), rtol=1e-12)


def test_jacobian_rejects_non_tensors():
    with pytest.raises(TypeError, match="jacobian must be either a Tensor or a tuple"):
        F.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(TypeError, match="outputs of the user-provided function"):
        F.jacobian(lambda a: 3.0, chainrule.ones(2))


@pytest.mark.parametrize("tupled", [False, True])
def test_hessian_matches_torch(tupled):
    if tupled:
        (x, W), (tx, tW) = both(arrays((3,), (2, 3)))
        ours = F.hessian(scalar_many(chainrule), (x, W))
        theirs = TF.hessian(scalar_many(torch), (tx, tW))
    else:
        (x,), (tx,) = both(arrays((4,)))
        ours = F.hessian(scalar_one(chainrule), x)
        theirs = TF.hessian(scalar_one(torch), tx)
    assert_same(ours, theirs)


def test_hessian_errors_like_torch():
    x = chainrule.ones(3, dtype=chainrule.float64)
    with pytest.raises(RuntimeError, match="should contain a single element"):
        F.hessian(lambda a: a * a, x)
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        F.hessian(lambda a: (a.sum(), a.sum()), x)
    # A linear function has a Jacobian that does not depend on the input: strict refuses.
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function"):
        F.hessian(lambda a: (2 * a).sum(), x, strict=True)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_vjp_matches_torch(name, fn, shapes):
    ours_in, theirs_in = _inputs(shapes)
    out = fn(torch)(*(theirs_in if isinstance(theirs_in, tuple) else (theirs_in,)))
    vs = tuple(RNG.standard_normal(tuple(o.shape)) for o in
               (out if isinstance(out, tuple) else (out,)))
    v_ours = tuple(chainrule.tensor(v) for v in vs)
    v_theirs = tuple(torch.tensor(v) for v in vs)
    if not isinstance(out, tuple):
        v_ours, v_theirs = v_ours[0], v_theirs[0]
    ours = F.vjp(fn(chainrule), ours_in, v_ours)
    theirs = TF.vjp(fn(torch), theirs_in, v_theirs)
    assert_same(ours, theirs)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_torch(name, fn, shapes):
    ours_in, theirs_in = _inputs(shapes)
    vs = arrays(*shapes)
    v_ours, v_theirs = both(vs)
    if len(shapes) == 1:
        v_ours, v_theirs = v_ours[0], v_theirs[0]
    ours = F.jvp(fn(chainrule), ours_in, v_ours)
    theirs = TF.jvp(fn(torch), theirs_in, v_theirs)
    assert_same(ours, theirs)


def test_vjp_jvp_scalar_defaults_and_validation():
    x, tx = chainrule.tensor(0.7, dtype=chainrule.float64), torch.tensor(0.7, dtype=torch.float64)
    assert_same(F.vjp(lambda a: a.sin(), x), TF.vjp(lambda a: a.sin(), tx))
    assert_same(F.jvp(lambda a: a.sin(), x), TF.jvp(lambda a: a.sin(), tx))
    y = chainrule.ones(3, dtype=chainrule.float64)
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda a: a * 2, y)
    with pytest.raises(RuntimeError, match="v has invalid size"):
        F.vjp(lambda a: a * 2, y, chainrule.ones(4, dtype=chainrule.float64))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length"):
        F.jvp(lambda a, b: a * b, (y, y), (y,))


@pytest.mark.parametrize("which", ["hvp", "vhp"])
@pytest.mark.parametrize("tupled", [False, True])
def test_hvp_vhp_match_torch(which, tupled):
    ours_fn, theirs_fn = getattr(F, which), getattr(TF, which)
    if tupled:
        shapes = [(3,), (2, 3)]
        (x, W), (tx, tW) = both(arrays(*shapes))
        v, tv = both(arrays(*shapes))
        ours = ours_fn(scalar_many(chainrule), (x, W), v)
        theirs = theirs_fn(scalar_many(torch), (tx, tW), tv)
    else:
        (x,), (tx,) = both(arrays((4,)))
        (v,), (tv,) = both(arrays((4,)))
        ours = ours_fn(scalar_one(chainrule), x, v)
        theirs = theirs_fn(scalar_one(torch), tx, tv)
    assert_same(ours, theirs)


def test_hvp_equals_hessian_times_v():
    (x,), _ = both(arrays((5,)))
    (v,), _ = both(arrays((5,)))
    H = F.hessian(scalar_one(chainrule), x)
    _, hv = F.hvp(scalar_one(chainrule), x, v)
    np.testing.assert_allclose(hv.numpy(), H.numpy() @ v.numpy(), rtol=1e-10, atol=1e-12)


def test_create_graph_results_are_differentiable_wrt_user_inputs():
    a = RNG.standard_normal(3)
    x = chainrule.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    v, tv = chainrule.ones(3, dtype=chainrule.float64), torch.ones(3, dtype=torch.float64)
    _, ours = F.vjp(lambda t: t ** 3, x, v, create_graph=True)
    _, theirs = TF.vjp(lambda t: t ** 3, tx, tv, create_graph=True)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    # without create_graph nothing is attached and the user's tensor is untouched
    _, plain = F.vjp(lambda t: t ** 3, x, v)
    assert not plain.requires_grad and x.requires_grad
