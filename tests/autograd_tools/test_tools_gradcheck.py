"""gradcheck / gradgradcheck: verdicts agree with torch's, failures explain themselves."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError

import chainrule
from chainrule.autograd import Function, gradcheck, gradgradcheck
from chainrule.autograd.gradcheck import GradcheckError, analytical_jacobian, numerical_jacobian

RNG = np.random.default_rng(1)


def pair(*shape, positive=False):
    a = RNG.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return (chainrule.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))


# Each function is written once for both libraries (m = chainrule or torch).
CORRECT = {
    "mul_broadcast": (lambda m: lambda x, y: x * y, [(2, 3), (3,)]),
    "matmul_tanh": (lambda m: lambda x, W: (W @ x).tanh(), [(3, 2), (4, 3)]),
    "softmax": (lambda m: lambda x: m.softmax(x, dim=-1), [(2, 4)]),
    "two_outputs": (lambda m: lambda x: (x.exp(), (x * x).sum(0)), [(3, 2)]),
    "scalar": (lambda m: lambda x: (x.sin() * x).sum(), [()]),
    "log_positive": (lambda m: lambda x: x.log() / (1 + x), [(5,)]),
}


@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_ops_pass_like_torch(name):
    make, shapes = CORRECT[name]
    pairs = [pair(*s, positive=(name == "log_positive")) for s in shapes]
    ours = tuple(p[0] for p in pairs)
    theirs = tuple(p[1] for p in pairs)
    assert torch.autograd.gradcheck(make(torch), theirs)
    assert gradcheck(make(chainrule), ours) is True


def test_non_contiguous_input():
    base = chainrule.tensor(RNG.standard_normal((4, 3)), requires_grad=False)
    x = base.t().detach().requires_grad_()  # transposed view: not contiguous
    assert not x.is_contiguous()
    assert gradcheck(lambda t: (t * t.exp()).sum(1), (x,))


# -- deliberately wrong custom functions, in both libraries ---------------------------------------

class OursBadSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # wrong: should be 2x


class TorchBadSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


class OursBadMatmul(Function):
    """y = W x, with the gradient of x computed from W instead of W^T (a classic slip)."""

    @staticmethod
    def forward(ctx, W, x):
        ctx.save_for_backward(W, x)
        return W @ x

    @staticmethod
    def backward(ctx, grad):
        W, x = ctx.saved_tensors
        return grad[:, None] * x[None, :], (W.t() @ grad) * 1.5  # scaled: wrong


def test_wrong_backward_is_caught_like_torch():
    x, tx = pair(4)
    assert torch.autograd.gradcheck(TorchBadSquare.apply, (tx,), raise_exception=False) is False
    assert gradcheck(OursBadSquare.apply, (x,), raise_exception=False) is False
    with pytest.raises(TorchGradcheckError):
        torch.autograd.gradcheck(TorchBadSquare.apply, (tx,))
    with pytest.raises(GradcheckError):
        gradcheck(OursBadSquare.apply, (x,))


def test_failure_report_shows_both_jacobians_and_worst_entry():
    x = chainrule.tensor([1.0, -2.0, 3.0], dtype=chainrule.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(OursBadSquare.apply, (x,))
    msg = str(info.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in msg
    assert "numerical" in msg and "analytical" in msg
    # numerical diag(2x) = 2, -4, 6 beside analytical diag(x) = 1, -2, 3
    row2 = next(line for line in msg.splitlines() if re.match(r"\*\s+2 \[", line))
    left, right = row2.split("|")
    assert [float(v) for v in left.strip("* 2[]").split()][-1] == pytest.approx(6.0, rel=1e-6)
    assert [float(v) for v in right.strip(" []").split()][-1] == pytest.approx(3.0)
    assert "largest difference at row 2 (output0[2]), column 2 (input0[2])" in msg
    assert "3 of 9 entries differ" in msg


def test_report_names_input_and_window_for_large_jacobians():
    W = chainrule.tensor(RNG.standard_normal((12, 10)), requires_grad=True)
    x = chainrule.tensor(RNG.standard_normal(10), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(OursBadMatmul.apply, (W, x))
    msg = str(info.value)
    assert "with respect to input 1" in msg  # W's gradient is right, x's is wrong
    assert "12 x 10" in msg and "showing rows" in msg


def test_float32_warns_and_no_grad_inputs_raise():
    x32 = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        assert gradcheck(lambda t: t * 2, (x32,), eps=1e-2, atol=1e-2, rtol=1e-2)
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, (chainrule.ones(2, dtype=chainrule.float64),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float64: no warning
        gradcheck(lambda t: t * 2, (x32.double().detach().requires_grad_(),))


def test_non_differentiable_outputs_and_single_tensor_input():
    x = chainrule.tensor(RNG.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda t: t.argmax(), x)          # integer output: derivative is zero
    assert gradcheck(lambda t: chainrule.ones(2, dtype=chainrule.float64), x)  # a constant
    # Cutting the graph (detach) hides a real dependence: the numbers disagree.
    with pytest.raises(GradcheckError, match="expected to be zero"):
        gradcheck(lambda t: t.detach() * 2, x)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    with pytest.raises(TorchGradcheckError, match="expected to be zero"):
        torch.autograd.gradcheck(lambda t: t.detach() * 2, tx)


def test_jacobian_helpers_layout():
    x = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    y = chainrule.tensor([3.0, 4.0, 5.0], dtype=chainrule.float64, requires_grad=True)
    f = lambda a, b: a[:, None] * b[None, :]  # noqa: E731
    (jn_a, jn_b), = numerical_jacobian(f, (x, y))
    (ja_a, ja_b), = analytical_jacobian(f, (x, y))
    assert tuple(jn_a.shape) == (6, 2) and tuple(jn_b.shape) == (6, 3)
    np.testing.assert_allclose(jn_a.numpy(), ja_a.numpy(), atol=1e-8)
    np.testing.assert_allclose(jn_b.numpy(), ja_b.numpy(), atol=1e-8)
    # d out[i, j] / d a[i] = b[j]
    np.testing.assert_allclose(ja_a.numpy()[:3, 0], [3.0, 4.0, 5.0])


def test_gradgradcheck_on_ops_like_torch():
    for make, shapes in (CORRECT["matmul_tanh"], CORRECT["softmax"], CORRECT["mul_broadcast"]):
        pairs = [pair(*s) for s in shapes]
        ours = tuple(p[0] for p in pairs)
        theirs = tuple(p[1] for p in pairs)
        assert torch.autograd.gradgradcheck(make(torch), theirs)
        assert gradgradcheck(make(chainrule), ours)


class OursSquareWrongSecond(Function):
    """First derivative right (2 x g), second derivative wrong: backward uses a detached x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x.detach() * grad


def test_gradgradcheck_catches_wrong_second_derivative():
    x, _ = pair(3)
    assert gradcheck(OursSquareWrongSecond.apply, (x,))
    assert gradgradcheck(OursSquareWrongSecond.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(OursSquareWrongSecond.apply, (x,))
    g = chainrule.ones(3, dtype=chainrule.float64, requires_grad=True)
    assert gradgradcheck(lambda t: t ** 3, (x,), (g,), gen_non_contig_grad_outputs=True)
