"""``unbroadcast``, the one helper that undoes broadcasting, on its own: it sums the leading
axes broadcasting added, then the axes where the target has size 1; it is the adjoint of
broadcasting (checked by the dot-product test), and ``sum_to_size`` matches PyTorch's."""
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
from chainrule.ops import unbroadcast


def test_same_shape_returns_the_array_itself():
    a = np.ones((2, 3))
    assert unbroadcast(a, (2, 3)) is a


def test_leading_axes_are_summed():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(g, (3, 4)), g.sum(0))
    np.testing.assert_array_equal(unbroadcast(g, (4,)), g.sum((0, 1)))


def test_size_one_axes_are_summed_and_kept():
    g = np.arange(24.0).reshape(2, 3, 4)
    out = unbroadcast(g, (2, 1, 4))
    assert out.shape == (2, 1, 4)
    np.testing.assert_array_equal(out, g.sum(1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(g, (1, 1, 1)), g.sum(keepdims=True))


def test_leading_and_size_one_together():
    g = np.arange(60.0).reshape(5, 3, 4)
    out = unbroadcast(g, (3, 1))
    assert out.shape == (3, 1)
    np.testing.assert_array_equal(out, g.sum(0).sum(1, keepdims=True))


def test_to_zero_dim():
    g = np.arange(6.0).reshape(2, 3)
    out = unbroadcast(g, ())
    assert out.shape == () and out == 15.0


def test_size_one_source_axis_is_kept():
    g = np.ones((4, 1, 3))
    np.testing.assert_array_equal(unbroadcast(g, (1, 1, 3)), np.full((1, 1, 3), 4.0))


@pytest.mark.parametrize("source,target", [((2, 3), (3, 3)), ((2, 3), (2, 3, 1)),
                                           ((4,), (2,)), ((2, 3), (1, 2, 3))])
def test_incompatible_shapes_raise(source, target):
    with pytest.raises(ValueError, match="unbroadcast"):
        unbroadcast(np.ones(source), target)


def test_keeps_dtype():
    assert unbroadcast(np.ones((3, 2), np.float32), (2,)).dtype == np.float32


@st.composite
def shape_and_target(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    keep = draw(st.integers(0, len(shape)))  # drop some leading dims
    target = list(shape[len(shape) - keep:])
    target = tuple(1 if draw(st.booleans()) else s for s in target)
    return shape, target


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shape_and_target(), st.integers(0, 2**16))
def test_adjoint_of_broadcasting(case, seed):
    """<broadcast(x), g> == <x, unbroadcast(g)> for every x and g: the defining property."""
    shape, target = case
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal(target), rng.standard_normal(shape)
    out = unbroadcast(g, target)
    assert out.shape == target
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, shape) * g), np.sum(x * out),
                               rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape_and_target())
def test_sum_to_size_matches_torch(case):
    shape, target = case
    a = np.random.default_rng(0).standard_normal(shape)
    x = chainrule.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = x.sum_to_size(target), tx.sum_to_size(target)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(target)
    y.backward(chainrule.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_engine_undoes_broadcasting_for_every_input():
    """A broadcasting op's input gradients come back in each input's own shape."""
    a = chainrule.ones(3, 1, requires_grad=True)
    b = chainrule.ones(4, requires_grad=True)
    c = chainrule.tensor(2.0, requires_grad=True)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    assert a.grad.tolist() == [[8.0]] * 3 and b.grad.tolist() == [6.0] * 4 and c.grad.item() == 12
