"""Anomaly detection: nan/inf in forward or backward names the op and the user's line."""
from __future__ import annotations

import inspect
import warnings

import pytest

import chainrule
from chainrule.autograd import Function, detect_anomaly, is_anomaly_enabled, set_detect_anomaly

pytestmark = [pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]  # NumPy on log(0)


def here() -> int:
    """The line number of the caller's next line (where the op under test is called)."""
    return inspect.currentframe().f_back.f_lineno + 1


def assert_points_here(message: str, line: int) -> None:
    assert f'File "{__file__}", line {line}' in message, message


def f64(values, requires_grad=True):
    return chainrule.tensor(values, dtype=chainrule.float64, requires_grad=requires_grad)


# -- forward ----------------------------------------------------------------------------------

def test_forward_log_of_zero():
    x = f64([1.0, 0.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as info:
        line = here()
        x.log()
    msg = str(info.value)
    assert "Log" in msg and "-inf" in msg and "forward" in msg
    assert_points_here(msg, line)


def test_forward_zero_divided_by_zero():
    a, b = f64([0.0, 1.0]), f64([0.0, 2.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as info:
        line = here()
        a / b
    msg = str(info.value)
    assert "Div" in msg and "nan" in msg
    assert_points_here(msg, line)


def test_forward_sqrt_of_negative():
    x = f64([4.0, -1.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as info:
        line = here()
        chainrule.sqrt(x)
    msg = str(info.value)
    assert "Sqrt" in msg and "nan" in msg and "index [1]" in msg
    assert_points_here(msg, line)


def test_forward_check_also_without_grad_and_blames_the_origin_only():
    with detect_anomaly(), pytest.raises(RuntimeError, match="Log"):
        f64([0.0], requires_grad=False).log()
    with detect_anomaly():  # a nan that came in is not this op's fault
        y = f64([float("nan"), 1.0]) * 2
    assert y.isnan().any().item()


# -- backward ---------------------------------------------------------------------------------

def test_backward_sqrt_at_zero_gives_inf():
    x = f64([0.0, 4.0])
    with detect_anomaly():
        line = here()
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError) as info:
            y.backward()
    msg = str(info.value)
    assert "SqrtBackward0" in msg and "nan or inf" in msg
    assert_points_here(msg, line)


class Normalize(Function):
    """x / max(|x|, eps) (like F.normalize), with a backward that forgot the eps: at x = 0
    it computes 0 / 0."""

    @staticmethod
    def forward(ctx, x):
        norm = x.norm()
        ctx.save_for_backward(x, norm)
        return x / norm.clamp(min=1e-12)

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        y = x / norm
        return (grad - y * (y * grad).sum()) / norm


def test_backward_zero_over_zero_in_a_custom_function():
    x = f64([0.0, 0.0, 0.0])
    with detect_anomaly():
        line = here()
        y = Normalize.apply(x)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "NormalizeBackward" in msg and "nan" in msg
    assert_points_here(msg, line)


class NaivePower(Function):
    """x ** p with a tensor exponent and the textbook d/dp = x^p log x (log 0 at x = 0)."""

    @staticmethod
    def forward(ctx, x, p):
        out = x ** p
        ctx.save_for_backward(x, p, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, p, out = ctx.saved_tensors
        return grad * p * x ** (p - 1), grad * out * x.log()


class SignedSqrt(Function):
    """sign(x) sqrt|x| with a backward that forgot the absolute value: sqrt of a negative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sign() * x.abs().sqrt()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (2 * x.sqrt())  # wrong for x < 0


def test_backward_log_of_zero_in_a_custom_function():
    x, p = f64([0.0, 2.0]), f64([2.0, 2.0])
    with detect_anomaly():
        line = here()
        y = NaivePower.apply(x, p).sum()
        with pytest.raises(RuntimeError) as info:
            y.backward()
    msg = str(info.value)
    assert "NaivePowerBackward" in msg and "input 1" in msg
    assert_points_here(msg, line)


def test_backward_sqrt_of_negative_in_a_custom_function():
    x = f64([-4.0, 9.0])
    with detect_anomaly():
        line = here()
        y = SignedSqrt.apply(x).sum()
        with pytest.raises(RuntimeError) as info:
            y.backward()
    msg = str(info.value)
    assert "SignedSqrtBackward" in msg
    assert_points_here(msg, line)


# -- switching ------------------------------------------------------------------------------

def test_off_by_default_and_switches_restore():
    assert not is_anomaly_enabled()
    x = f64([0.0])
    x.sqrt().sum().backward()  # inf gradient, silently, as in PyTorch without anomaly mode
    assert x.grad.isinf().all().item()
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
        with set_detect_anomaly(False):
            x.log()  # no error
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def decorated():
        assert is_anomaly_enabled()
        return f64([0.0]).log()

    with pytest.raises(RuntimeError, match="Log"):
        decorated()
    assert not is_anomaly_enabled()


def test_check_nan_false_only_records_and_check_forward_false_skips_forward():
    x = f64([0.0])
    with detect_anomaly(check_nan=False):
        x.log().sum().backward()
    with detect_anomaly(check_forward=False):
        y = x.sqrt()  # 0 is fine in forward
        x.log()  # -inf in forward: not checked
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            y.sum().backward()


def test_enabling_warns_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with detect_anomaly():
            pass
    assert any("Anomaly Detection has been enabled" in str(w.message) for w in caught)
