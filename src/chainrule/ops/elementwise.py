"""Elementwise ops: arithmetic, powers, exponentials, trigonometry, activations, casts.

Each class is one primitive: forward on arrays, VJP with tensor ops (so differentiable
again). Broadcasting is undone by the engine, not here.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..autograd import engine
from ..tensor import Tensor
from ._parallel import map_blocks
from ._util import as_tensor_arg, broadcast_shapes, constant, describe, promote
from .function import Function

# -- arithmetic -------------------------------------------------------------------------------


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.next_functions[1] else None)


class Mul(Function):
    saves_inputs = True

    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        need_a, need_b = self.next_functions
        return (grad * self.saved_input(1) if need_a else None), \
            (grad * self.saved_input(0) if need_b else None)


class Div(Function):
    saves_inputs = True

    def forward(self, a, b):
        return a / b

    def backward(self, grad):
        b = self.saved_input(1)
        grad_a = grad / b
        if not self.next_functions[1]:
            return grad_a, None
        return grad_a, -grad_a * self.saved_input(0) / b  # d(a/b)/db = -a/b^2


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class PowScalar(Function):
    """x ** c for a constant exponent c."""

    saves_inputs = True

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, grad):
        (x,) = self.saved_inputs()
        c = self.exponent
        if c == 2:
            return grad * (2 * x)
        return grad * (c * x ** (c - 1))


class Pow(Function):
    """a ** b for tensors: d/da = b a^(b-1); d/db = a^b ln a (0 where a = 0 and b >= 0)."""

    saves_inputs = True
    saves_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, grad):
        a, b = self.saved_inputs()
        out = self.saved_output()
        grad_a = grad * b * a ** (b - 1) if self.next_functions[0] else None
        grad_b = None
        if self.next_functions[1]:
            zero_base = (a._data == 0) & (b._data >= 0)
            safe_a = where(constant(zero_base), constant(np.ones((), a._data.dtype)), a)
            grad_b = where(constant(zero_base), constant(np.zeros((), a._data.dtype)),
                           grad * out * safe_a.log())
        return grad_a, grad_b


class Maximum(Function):
    """Elementwise max. The gradient, as PyTorch's: each input gets it where it is not the
    smaller one (so both do at a NaN), halved on ties, exactly 0 elsewhere."""

    def forward(self, a, b):
        self.tie, self.smaller_a, self.smaller_b = a == b, a < b, a > b
        return np.maximum(a, b)

    def backward(self, grad):
        return _max_min_grads(grad, self.tie, self.smaller_a, self.smaller_b)


class Minimum(Function):
    """Elementwise min; the gradient as ``Maximum``'s, with "larger" for "smaller"."""

    def forward(self, a, b):
        self.tie, self.larger_a, self.larger_b = a == b, a > b, a < b
        return np.minimum(a, b)

    def backward(self, grad):
        return _max_min_grads(grad, self.tie, self.larger_a, self.larger_b)


def _max_min_grads(grad: Tensor, tie: np.ndarray, loses_a: np.ndarray,
                   loses_b: np.ndarray) -> tuple:
    """The gradients of max/min's two inputs: ``grad``, halved on ties, to each input except
    where it lost (there exactly 0: a product with 0 would make an inf or NaN gradient NaN)."""
    if tie.any():
        grad = grad * constant(np.where(tie, 0.5, 1.0).astype(grad._data.dtype))
    return KeepWhere(~loses_a)(grad), KeepWhere(~loses_b)(grad)


class Where(Function):
    def __init__(self, condition: np.ndarray):
        self.condition = condition

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def backward(self, grad):
        zero = constant(np.zeros((), grad._data.dtype))
        cond = constant(self.condition)
        return where(cond, grad, zero), where(cond, zero, grad)


# -- unary math ------------------------------------------------------------------------------


class Exp(Function):
    saves_output = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad):
        return grad * self.saved_output()


class Expm1(Function):
    saves_output = True

    def forward(self, x):
        return np.expm1(x)

    def backward(self, grad):
        return grad * (self.saved_output() + 1)


class Log(Function):
    saves_inputs = True

    def forward(self, x):
        return np.log(x)

    def backward(self, grad):
        return grad / self.saved_inputs()[0]


class Log1p(Function):
    saves_inputs = True

    def forward(self, x):
        return np.log1p(x)

    def backward(self, grad):
        return grad / (self.saved_inputs()[0] + 1)


class Sqrt(Function):
    saves_output = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad):
        return grad / (2 * self.saved_output())


class Rsqrt(Function):
    saves_output = True

    def forward(self, x):
        return 1 / np.sqrt(x)

    def backward(self, grad):
        out = self.saved_output()
        return grad * (-0.5 * out * out * out)  # d(x^-1/2)/dx = -x^-3/2 / 2


class Abs(Function):
    saves_inputs = True

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad):
        return grad * _piecewise_factor(np.sign, self.saved_input(0))


class Sin(Function):
    saves_inputs = True

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad):
        return grad * self.saved_inputs()[0].cos()


class Cos(Function):
    saves_inputs = True

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad):
        return grad * -self.saved_inputs()[0].sin()


class Tanh(Function):
    saves_output = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad):
        return TanhBackward()(grad, self.saved_output())


class TanhBackward(Function):
    """g * (1 - y^2) as one op (as PyTorch's tanh_backward), itself differentiable."""

    saves_inputs = True

    def forward(self, g, y):
        return g * (1 - y * y)

    def backward(self, gg):
        g, y = self.saved_inputs()
        need_g, need_y = self.next_functions
        return (gg * (1 - y * y) if need_g else None), (gg * g * y * -2 if need_y else None)


class Sigmoid(Function):
    saves_output = True

    def forward(self, x):
        # 1/(1+e^-x) = (1 + tanh(x/2))/2: no overflow for any x.
        out = np.tanh(x * 0.5)
        out *= 0.5
        out += 0.5
        return out

    def backward(self, grad):
        return SigmoidBackward()(grad, self.saved_output())


class SigmoidBackward(Function):
    """g * y (1 - y) as one op (as PyTorch's sigmoid_backward), itself differentiable."""

    saves_inputs = True

    def forward(self, g, y):
        return g * (y * (1 - y))

    def backward(self, gg):
        g, y = self.saved_inputs()
        need_g, need_y = self.next_functions
        return ((gg * (y * (1 - y))) if need_g else None), \
            ((gg * g * (1 - 2 * y)) if need_y else None)


class Relu(Function):
    saves_output = True  # backward recomputes the mask from the output: forward is one ufunc

    def forward(self, x):
        return _max_zero(x)

    def backward(self, grad):
        return ReluGrad()(grad, self.saved_output())


class ReluGrad(Function):
    """ReLU's backward as an op: ``g`` where ReLU's output ``y`` is not 0, else exactly 0
    (see ``_relu_grad``). Linear in ``g``, so its adjoint in ``g`` is itself; piecewise
    constant in ``y``, so its derivative there is zero (as PyTorch's ``threshold_backward``):
    a gradient of the gradient (``create_graph=True``) goes through it."""

    saves_inputs = True

    def name(self) -> str:
        return "ThresholdBackwardBackward0"

    def forward(self, g, y):
        if y.shape != g.shape or not (y.flags.c_contiguous and g.flags.c_contiguous):
            return _relu_grad(g, y)
        # One result array, split over threads for large ones: fresh multi-megabyte arrays
        # cost page faults, which made a form with more temporaries 2-5x slower in a CNN step.
        out = np.empty_like(g)
        y1, g1, out1 = y.reshape(-1), g.reshape(-1), out.reshape(-1)
        map_blocks(lambda part: _relu_grad(g1[part], y1[part], out1[part]), y1.size, out.nbytes)
        return out

    def backward(self, gg):
        _, y = self.saved_inputs()
        need_g, need_y = self.next_functions
        return (ReluGrad()(gg, y) if need_g else None), (_zeros_like(gg) if need_y else None)


def _relu_grad(g: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``g`` where ReLU's output ``y`` is not <= 0, else exactly 0 (PyTorch's
    ``threshold_backward``): a NaN output passes its gradient on. ``y`` is never negative, so
    "not <= 0" is "not 0"."""
    return _select(g, np.not_equal(y, 0), out)


def _select(g: np.ndarray, keep: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``g`` where the boolean ``keep`` is True, else exactly 0: the backward of ReLU, clamp
    and hardtanh in PyTorch is a select, not a product with a 0/1 mask, so an inf or NaN
    gradient at a blocked element gives 0 (a product would give NaN).

    Done on the bits: the mask as integers of all ones or all zeros, ANDed with ``g``'s bits.
    ``np.where`` is 15x slower on irregular masks, and this is faster than the product was.
    """
    ints = np.dtype(f"i{g.dtype.itemsize}")
    every_bit = np.negative(keep.view(np.int8))  # True (1) becomes -1: every bit set
    if out is None:
        out = np.empty(np.broadcast_shapes(g.shape, keep.shape), dtype=g.dtype)
    # The int8 mask is widened in NumPy's small cast buffers, not as a g-sized temporary.
    np.bitwise_and(every_bit, g.view(ints), out=out.view(ints))
    return out


class KeepWhere(Function):
    """``g`` where a fixed boolean mask is True, else exactly 0 (see ``_select``): the backward
    of clamp-like ops. Linear, so its adjoint is itself."""

    def __init__(self, keep: np.ndarray):
        self.keep = keep

    def forward(self, g):
        return _select(g, self.keep)

    def backward(self, gg):
        return KeepWhere(self.keep)(gg)


def _zeros_like(grad: Tensor) -> Tensor:
    """Exact zeros shaped like ``grad``, still a function of it under ``create_graph`` (as
    ``grad * 0`` is, but that makes an inf or NaN gradient NaN; PyTorch gives zeros)."""
    return KeepWhere(np.zeros((), dtype=bool))(grad)


# Length of the row of zeros that _max_zero compares against: each row is one call of NumPy's
# inner loop, and rows of 4096 elements made ReLU on a 4 MB array 35% slower (134 against
# 98 us) than rows of 8192 or more.
_ZERO_ROW = 16384


def _max_zero(x: np.ndarray) -> np.ndarray:
    """``np.maximum(x, 0)``, bit for bit, 1.3-3x faster on arrays of ``_ZERO_ROW`` elements
    or more.

    NumPy's SIMD loop for ``maximum`` needs both operands contiguous; a scalar operand takes
    a slow strided loop. So a contiguous ``x`` is compared, in rows of ``_ZERO_ROW`` elements
    and a shorter last piece, against one row of zeros. Not split over threads: it runs at
    memory speed, and on the 2-core VM of benchmarks/ two threads were no faster on a 4 MB
    array and 1.5x slower on a 2 MB one.
    """
    if x.size < _ZERO_ROW or not x.flags.c_contiguous:
        return np.maximum(x, 0)
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    zeros = np.zeros(_ZERO_ROW, dtype=x.dtype)
    body = flat.size - flat.size % _ZERO_ROW
    np.maximum(flat[:body].reshape(-1, _ZERO_ROW), zeros,
               out=out[:body].reshape(-1, _ZERO_ROW))
    if body < flat.size:
        np.maximum(flat[body:], zeros[:flat.size - body], out=out[body:])
    return out.reshape(x.shape)


def _piecewise_factor(fn, x: Tensor) -> Tensor:
    """``fn(x)`` for a piecewise-constant ``fn`` (a mask, a sign) as a backward factor.

    Normally a constant. Under ``create_graph`` it stays attached to ``x`` with a zero
    derivative (as PyTorch's ``sgn(x)``), so differentiating the gradient again gives zeros
    rather than "does not require grad".
    """
    if engine.GRAD_ENABLED and x.requires_grad:
        return ZeroGrad(fn)(x)
    return constant(fn(x._data))


class Clamp(Function):
    """Clamp to [lo, hi] (constants); the gradient passes where lo <= x <= hi (so not at a
    NaN, as in PyTorch)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.mask = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.mask &= x >= self.lo
        if self.hi is not None:
            self.mask &= x <= self.hi
        return np.clip(x, self.lo, self.hi)

    def backward(self, grad):
        return KeepWhere(self.mask)(grad)


class ClampTensor(Function):
    """Clamp with tensor bounds (either may be absent): ``min(max(x, lo), hi)``. The
    gradients are PyTorch's (``clamp_backward``, ``clamp_backward_min_max``), all selects:
    to x where lo <= x <= hi (not at a NaN), to lo where x < lo and lo < hi, to hi where
    x > hi or hi < lo (there the result is hi)."""

    def __init__(self, has_lo: bool, has_hi: bool):
        self.has_lo, self.has_hi = has_lo, has_hi

    def forward(self, x, *bounds):
        lo = bounds[0] if self.has_lo else None
        hi = bounds[-1] if self.has_hi else None
        out = x if lo is None else np.maximum(x, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        shape = out.shape
        keep_x = np.ones(shape, dtype=bool)
        if lo is not None:
            keep_x &= x >= lo
            self.keep_lo = np.broadcast_to(x < lo, shape) if hi is None else (x < lo) & (lo < hi)
        if hi is not None:
            self.keep_hi = np.broadcast_to(x > hi, shape) if lo is None else (x > hi) | (hi < lo)
            keep_x &= x <= hi
        self.keep_x = keep_x
        return out

    def backward(self, grad):
        need = self.next_functions
        grads = [KeepWhere(self.keep_x)(grad) if need[0] is not None else None]
        if self.has_lo:
            grads.append(KeepWhere(self.keep_lo)(grad) if need[1] is not None else None)
        if self.has_hi:
            grads.append(KeepWhere(self.keep_hi)(grad) if need[-1] is not None else None)
        return tuple(grads)


class ToDtype(Function):
    def __init__(self, np_dtype):
        self.np_dtype = np_dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.np_dtype)

    def backward(self, grad):
        if self.source.kind != "f":
            return None
        return to_dtype(grad, self.source)


class Clone(Function):
    def forward(self, x):
        return np.array(x, copy=True, order="C")

    def backward(self, grad):
        return grad


class ZeroGrad(Function):
    """Piecewise-constant functions (sign, floor, round, ...): the gradient is zero."""

    def __init__(self, fn):
        self.fn = fn

    def name(self) -> str:
        return self.fn.__name__.capitalize() + "Backward0"

    def forward(self, x):
        return self.fn(x)

    def backward(self, grad):
        return _zeros_like(grad)


# -- the functions (chainrule.add, Tensor.__add__, ...) ---------------------------------------


def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote("add", input, other)
    return Add()(a, b)


def sub(input, other, *, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    if _is_bool(input) or _is_bool(other):  # PyTorch refuses any bool operand
        raise RuntimeError(f"sub: subtraction, the `-` operator, with a bool tensor is not "
                           f"supported (got {describe(input)} and {describe(other)}); use "
                           "logical_xor or ~ instead")
    a, b = promote("sub", input, other)
    return Sub()(a, b)


def mul(input, other):
    a, b = promote("mul", input, other)
    return Mul()(a, b)


def div(input, other, *, rounding_mode=None):
    """True division (integers give floats); ``rounding_mode`` 'trunc' or 'floor' rounds."""
    a, b = promote("div", input, other)
    if rounding_mode is not None:
        if rounding_mode == "floor":
            return floor_divide(a, b)
        if rounding_mode == "trunc":
            q = Div()(*_as_float(a, b))
            q = ZeroGrad(np.trunc)(q)
            return q if _kind(a) == "f" else q.to(_dtype_of(a))
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    if _kind(a) != "f":
        a, b = _as_float(a, b)
    return Div()(a, b)


true_divide = divide = div


def floor_divide(input, other):
    a, b = promote("floor_divide", input, other)
    if _kind(a) == "f":
        return ZeroGrad(np.floor)(Div()(a, b))
    return Tensor._make(np.floor_divide(_arr(a), _arr(b)))


def remainder(input, other):
    a, b = promote("remainder", input, other)
    if _kind(a) == "f":  # x - floor(x/y)*y: gradient 1 for x, -floor(x/y) for y
        return sub(a, mul(floor_divide(a, b), b))
    return Tensor._make(np.remainder(_arr(a), _arr(b)))


def neg(input):
    if input._data.dtype == np.bool_:
        raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not supported; "
                           "use logical_not or ~ instead")
    return Neg()(input)


negative = neg


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """``input ** exponent``; either may be a tensor or a number."""
    if not isinstance(exponent, Tensor) and isinstance(input, Tensor) and np.isscalar(exponent):
        if _kind(input) != "f" and isinstance(exponent, float):
            input = to_dtype(input, _dtype.get_default_dtype())
        elif _kind(input) != "f" and exponent < 0:
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        return PowScalar(input._data.dtype.type(exponent) if _kind(input) == "f"
                         else exponent)(input)
    a, b = promote("pow", input, exponent)
    return Pow()(a, b)


def square(input):
    return pow(input, 2)


def reciprocal(input):
    return div(1.0, input)


def maximum(input, other):
    a, b = promote("maximum", input, other)
    return Maximum()(a, b)


def minimum(input, other):
    a, b = promote("minimum", input, other)
    return Minimum()(a, b)


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (both broadcast).

    With only a condition, the indices where it holds (as ``nonzero(as_tuple=True)``).
    """
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(as_tensor_arg("where", condition), as_tuple=True)
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where: expected condition to be a bool tensor, got {cond.dtype}")
    a, b = promote("where", input, other)
    broadcast_shapes("where", cond.shape, np.shape(_arr(a)), np.shape(_arr(b)))
    return Where(cond)(a, b)


def _floating(input):
    """An integer or bool tensor as the default float dtype (as PyTorch's float-only ops)."""
    if input._data.dtype.kind != "f":
        return to_dtype(input, _dtype.get_default_dtype())
    return input


def _unary(cls, float_only: bool = True):
    def fn(input):
        if not isinstance(input, Tensor):
            input = as_tensor_arg(cls.__name__.lower(), input)
        return cls()(_floating(input) if float_only else input)
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"Elementwise {fn.__name__}, differentiable."
    return fn


exp = _unary(Exp)
expm1 = _unary(Expm1)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
relu = _unary(Relu, float_only=False)
abs = _unary(Abs, float_only=False)  # noqa: A001
absolute = abs


class _Smooth(Function):
    """A smooth elementwise function of one input: forward applies ``ufunc``; backward
    multiplies the gradient once by ``derivative(x)``, written with tensor ops so that it is
    differentiable again (PyTorch's formulas)."""

    saves_inputs = True
    ufunc = None
    derivative = None

    def forward(self, x):
        return type(self).ufunc(x)

    def backward(self, grad):
        return grad * type(self).derivative(self.saved_input(0))


def _smooth(name: str, ufunc, derivative):
    cls = type(name.capitalize(), (_Smooth,), {"ufunc": staticmethod(ufunc),
                                               "derivative": staticmethod(derivative)})
    return _unary(cls)


asin = _smooth("asin", np.arcsin, lambda x: rsqrt(1 - x * x))
acos = _smooth("acos", np.arccos, lambda x: -rsqrt(1 - x * x))
atan = _smooth("atan", np.arctan, lambda x: 1 / (x * x + 1))
sinh = _smooth("sinh", np.sinh, lambda x: cosh(x))
cosh = _smooth("cosh", np.cosh, lambda x: sinh(x))
asinh = _smooth("asinh", np.arcsinh, lambda x: rsqrt(x * x + 1))
acosh = _smooth("acosh", np.arccosh, lambda x: rsqrt(x * x - 1))
atanh = _smooth("atanh", np.arctanh, lambda x: 1 / (1 - x * x))
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


class _SmoothBinary(Function):
    """A smooth elementwise function of two inputs: forward applies ``ufunc``; backward
    multiplies the gradient by each partial derivative, ``partials(a, b)``, tensor ops."""

    saves_inputs = True
    ufunc = None
    partials = None

    def forward(self, a, b):
        return type(self).ufunc(a, b)

    def backward(self, grad):
        d_a, d_b = type(self).partials(*self.saved_inputs())
        need_a, need_b = self.next_functions
        return (grad * d_a if need_a else None), (grad * d_b if need_b else None)


def _atan2_partials(y, x):  # atan2(y, x): d/dy = x / r^2, d/dx = -y / r^2
    r2 = x * x + y * y
    return x / r2, -y / r2


Atan2 = type("Atan2", (_SmoothBinary,), {"ufunc": staticmethod(np.arctan2),
                                         "partials": staticmethod(_atan2_partials)})
# log(e^a + e^b) without overflow; d/da = sigmoid(a - b), d/db = sigmoid(b - a)
LogAddExp = type("LogAddExp", (_SmoothBinary,), {
    "ufunc": staticmethod(np.logaddexp),
    "partials": staticmethod(lambda a, b: (sigmoid(a - b), sigmoid(b - a)))})


def _binary_float(op: str, cls, input, other):
    a, b = promote(op, input, other)
    if not isinstance(a, Tensor) or a._data.dtype.kind != "f":
        a = to_dtype(as_tensor_arg(op, a), _dtype.get_default_dtype())
        a, b = promote(op, a, b)
    return cls()(a, b)


def atan2(input, other):
    """The angle of the point (other, input), i.e. atan(input / other) in the right quadrant."""
    return _binary_float("atan2", Atan2, input, other)


arctan2 = atan2


def logaddexp(input, other):
    """log(exp(input) + exp(other)), computed without overflow."""
    return _binary_float("logaddexp", LogAddExp, input, other)


def deg2rad(input):
    return mul(_floating(input), math.pi / 180)


def rad2deg(input):
    return mul(_floating(input), 180 / math.pi)


def log2(input):
    return div(log(input), float(np.log(2.0)))


def log10(input):
    return div(log(input), float(np.log(10.0)))


def tan(input):
    return div(sin(input), cos(input))


def clamp(input, min=None, max=None):  # noqa: A002
    """Clamp into [min, max]; bounds may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x, lo, hi = input, min, max
        if lo is not None:
            x, lo = promote("clamp", x, lo)
        if hi is not None:
            x, hi = promote("clamp", x, hi)
            if lo is not None:  # hi may have widened x
                x, lo = promote("clamp", x, lo)
        bounds = [b for b in (lo, hi) if b is not None]
        return ClampTensor(lo is not None, hi is not None)(x, *bounds)
    if input._data.dtype.kind != "f" and any(isinstance(b, (float, np.floating))
                                             for b in (min, max)):
        input = to_dtype(input, _dtype.get_default_dtype())  # int tensor, float bound: float
    return Clamp(min, max)(input)


clip = clamp


class NanToNum(Function):
    """NaN, +inf and -inf replaced by given values; the gradient is ``grad * isfinite(x)``,
    as PyTorch's (a product)."""

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        self.finite = np.isfinite(x)
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, grad):
        return grad * constant(self.finite.astype(grad._data.dtype))


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None):
    """NaN to ``nan``, +inf to ``posinf`` and -inf to ``neginf`` (by default the largest and
    lowest finite values of the dtype); integer and bool tensors come back unchanged."""
    if not isinstance(input, Tensor):
        raise TypeError(f"nan_to_num(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind not in "fc":
        return clone(input)
    return NanToNum(nan, posinf, neginf)(input)


def _zero_grad_unary(fn):
    def op(input):
        if input._data.dtype.kind != "f":
            return Tensor._make(fn(input._data))
        return ZeroGrad(fn)(input)
    op.__name__ = fn.__name__
    return op


sign = _zero_grad_unary(np.sign)
floor = _zero_grad_unary(np.floor)
ceil = _zero_grad_unary(np.ceil)
trunc = _zero_grad_unary(np.trunc)


def round(input, decimals: int = 0):  # noqa: A001
    return ZeroGrad(lambda x: np.round(x, decimals))(input) if input._data.dtype.kind == "f" \
        else input.clone()


def frac(input):
    return sub(input, trunc(input))


def lerp(input, end, weight):
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1):
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    return add(input, mul(div(tensor1, tensor2), value))


def to_dtype(input: Tensor, dtype) -> Tensor:
    """A differentiable cast (gradients are cast back to the input's dtype)."""
    np_dtype = _dtype.to_numpy_dtype(dtype)
    if input._data.dtype == np_dtype:
        return input
    return ToDtype(np_dtype)(input)


def clone(input: Tensor) -> Tensor:
    return Clone()(input)


# -- helpers -----------------------------------------------------------------------------------


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _is_bool(x) -> bool:
    return x._data.dtype == np.bool_ if isinstance(x, Tensor) else isinstance(x, (bool, np.bool_))


def _kind(x) -> str:
    return np.asarray(_arr(x)).dtype.kind if not isinstance(x, Tensor) else x._data.dtype.kind


def _dtype_of(x):
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _as_float(a, b):
    f = _dtype.get_default_dtype().np
    a = to_dtype(a, f) if isinstance(a, Tensor) else np.asarray(a, f)
    b = to_dtype(b, f) if isinstance(b, Tensor) else np.asarray(b, f)
    return a, b
