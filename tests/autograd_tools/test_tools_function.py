"""Custom autograd Functions behave as torch.autograd.Function does."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule
from chainrule.autograd import Function, gradcheck, gradgradcheck, once_differentiable

RNG = np.random.default_rng(2)


def make_exp(base):
    class Exp(base):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y  # dL/dx = dL/dy * exp(x): differentiable again through y
    return Exp


def make_scaled_mul(base, record):
    """Two tensor inputs and a Python constant; records needs_input_grad."""
    class ScaledMul(base):
        @staticmethod
        def forward(ctx, a, b, scale):
            record.append(tuple(ctx.needs_input_grad))
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
            gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
            return ga, gb, None
    return ScaledMul


def test_forward_backward_and_double_backward_match_torch():
    a = RNG.standard_normal(5)
    x, tx = chainrule.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = make_exp(chainrule.autograd.Function).apply(x)
    ty = make_exp(torch.autograd.Function).apply(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    assert y.grad_fn.name() == "ExpBackward" and type(ty.grad_fn).__name__ == "ExpBackward"
    (g,) = chainrule.autograd.grad((y * y).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad((ty * ty).sum(), tx, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    g.sum().backward()
    tg.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_gradcheck_and_gradgradcheck_accept_a_correct_function():
    Exp = make_exp(Function)
    x = chainrule.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(Exp.apply, (x,))
    assert gradgradcheck(Exp.apply, (x,))


@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)])
def test_needs_input_grad_like_torch(grads):
    ours_rec, torch_rec = [], []
    arrs = RNG.standard_normal((2, 3))
    a, b = (chainrule.tensor(v, requires_grad=r) for v, r in zip(arrs, grads))
    ta, tb = (torch.tensor(v, requires_grad=r) for v, r in zip(arrs, grads))
    out = make_scaled_mul(Function, ours_rec).apply(a, b, 2.5)
    tout = make_scaled_mul(torch.autograd.Function, torch_rec).apply(ta, tb, 2.5)
    assert ours_rec == torch_rec == [grads + (False,)]
    out.sum().backward()
    tout.sum().backward()
    for ours, theirs in ((a, ta), (b, tb)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_no_graph_under_no_grad_and_for_constant_inputs():
    rec = []
    Mul = make_scaled_mul(Function, rec)
    x = chainrule.ones(2, requires_grad=True)
    with chainrule.no_grad():
        out = Mul.apply(x, x, 1.0)
    assert out.grad_fn is None and not out.requires_grad and rec[-1] == (False, False, False)
    out = Mul.apply(chainrule.ones(2), chainrule.ones(2), 1.0)
    assert out.grad_fn is None


def make_sort(base, once):
    class SortValues(base):
        """Sorted values (differentiable) and their indices (not differentiable)."""

        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def backward(ctx, grad_values, grad_idx):
            (idx,) = ctx.saved_tensors
            grad_x = grad_values.new_zeros(grad_values.shape)
            grad_x[idx] = grad_values
            return grad_x
    if once:
        SortValues.backward = staticmethod(once_differentiable(SortValues.backward))
    return SortValues


def test_mark_non_differentiable_like_torch():
    a = RNG.standard_normal(5)
    x, tx = chainrule.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, i = make_sort(Function, once=False).apply(x)
    tv, ti = make_sort(torch.autograd.Function, once=False).apply(tx)
    assert v.requires_grad and not i.requires_grad
    assert tv.requires_grad and not ti.requires_grad
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    w = np.arange(5.0)
    (v * chainrule.tensor(w)).sum().backward()
    (tv * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_once_differentiable_raises_when_differentiated_twice():
    Sort = make_sort(Function, once=True)
    x = chainrule.tensor(RNG.standard_normal(4), requires_grad=True)
    v, _ = Sort.apply(x)
    (g,) = chainrule.autograd.grad((v ** 2).sum(), x, create_graph=True)
    assert g.requires_grad  # marked, not silently detached
    with pytest.raises(RuntimeError, match="differentiate twice.*once_differentiable.*Sort"):
        g.sum().backward()
    # one derivative is fine, and gradcheck agrees with it
    v, _ = Sort.apply(x)
    (g1,) = chainrule.autograd.grad((v ** 2).sum(), x)
    np.testing.assert_allclose(g1.numpy(), 2 * x.detach().numpy())
    assert gradcheck(lambda t: Sort.apply(t)[0], (x,))


def test_set_materialize_grads_false_passes_none():
    seen = []

    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            total = None
            for g, k in ((g1, 2), (g2, 3)):
                if g is not None:
                    total = g * k if total is None else total + g * k
            return total

    x = chainrule.ones(3, requires_grad=True)
    a, b = Split.apply(x)
    b.sum().backward()
    assert seen == [(True, False)]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_materialized_grads_are_zeros_by_default():
    seen = []

    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append(float(g1.abs().sum().item()))
            return g1 * 2 + g2 * 3

    x = chainrule.ones(3, requires_grad=True)
    Split.apply(x)[1].sum().backward()
    assert seen == [0.0]


def test_setup_context_style():
    class Cube(Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    x = chainrule.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))


def test_errors_are_clear():
    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    x = chainrule.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooManyBackward returned an incorrect number of "
                                           "gradients \\(expected 1, got 2\\)"):
        TooMany.apply(x).sum().backward()

    class Modified(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x

    h = x * 1
    out = Modified.apply(h)
    with chainrule.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()

    out = Modified.apply(x * 1)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()
    with pytest.raises(RuntimeError, match="apply"):
        Modified()(x)


def test_returning_an_input_unchanged_keeps_its_history():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2  # deliberately not 1, to see that this backward is used

    x = chainrule.ones(3, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and y.grad_fn.name() == "IdentityBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_dtype_of_gradient_is_cast_to_input_dtype():
    class Promote(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.double() * 2

    x = chainrule.ones(2, requires_grad=True)
    Promote.apply(x).sum().backward()
    assert x.grad.dtype == chainrule.float32
