"""Reductions and dim-wise ops: sum, mean, var, max/min, prod, logsumexp, norm, cumsum,
softmax/log_softmax, sort/topk, argmax and friends."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd import engine
from ..tensor import Tensor
from ._util import constant, describe, normalize_dim, normalize_dims, unbroadcast
from .elementwise import to_dtype, where
from .function import Function

values_indices = namedtuple("values_indices", ["values", "indices"])


def _keep_shape(shape: tuple, dims: tuple) -> tuple:
    """The shape a reduction over ``dims`` has with keepdim=True."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(grad: Tensor, in_shape: tuple, dims: tuple) -> Tensor:
    """Broadcast a reduced gradient back to the input's shape (the adjoint of a sum)."""
    return grad.reshape(_keep_shape(in_shape, dims)).expand(in_shape)


class SumToSize(Function):
    """The adjoint of broadcasting (``unbroadcast``); its own adjoint is ``expand``."""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return unbroadcast(x, self.shape)

    def backward(self, grad):
        return grad.expand(self.in_shape)


class Sum(Function):
    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        self.in_shape = x.shape
        return np.sum(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        return _expand_back(grad, self.in_shape, self.dims)


class Mean(Function):
    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        self.in_shape = x.shape
        return np.mean(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        count = 1
        for d in self.dims:
            count *= self.in_shape[d]
        if not count:
            return _expand_back(grad * 0, self.in_shape, self.dims)
        return _expand_back(grad / count, self.in_shape, self.dims)


class Var(Function):
    """Variance with Bessel's ``correction``: d var / dx = 2 (x - mean) / (N - correction)."""

    saves_inputs = True

    def __init__(self, dims: tuple, correction: float, keepdim: bool):
        self.dims, self.correction, self.keepdim = dims, correction, keepdim

    def forward(self, x):
        return np.var(x, axis=self.dims, ddof=self.correction, keepdims=self.keepdim)

    def backward(self, grad):
        (x,) = self.saved_inputs()
        n = 1
        for d in self.dims:
            n *= x.shape[d]
        centered = x - x.mean(self.dims, keepdim=True)
        g = _expand_back(grad, tuple(x.shape), self.dims)
        return g * centered * (2.0 / builtins.max(n - self.correction, 0))


class Amax(Function):
    """max/min over dims; ties share the gradient evenly (as PyTorch's amax and max())."""

    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool, np_fn):
        self.dims, self.keepdim, self.np_fn = dims, keepdim, np_fn

    def name(self) -> str:
        return ("Amax" if self.np_fn is np.max else "Amin") + "Backward0"

    def forward(self, x):
        self.in_shape = x.shape
        out = self.np_fn(x, axis=self.dims, keepdims=True)
        mask = (x == out)
        self.share = mask / mask.sum(axis=self.dims, keepdims=True)
        return out if self.keepdim else np.squeeze(out, axis=self.dims)

    def backward(self, grad):
        share = constant(self.share.astype(grad._data.dtype, copy=False))
        return _expand_back(grad, self.in_shape, self.dims) * share


class MaxDim(Function):
    """max/min along one dim with indices; the gradient goes to the chosen index."""

    nondifferentiable_outputs = (1,)

    def __init__(self, dim: int, keepdim: bool, largest: bool):
        self.dim, self.keepdim, self.largest = dim, keepdim, largest

    def name(self) -> str:
        return ("Max" if self.largest else "Min") + "Backward1"

    def forward(self, x):
        self.in_shape = x.shape
        idx = (np.argmax if self.largest else np.argmin)(x, axis=self.dim, keepdims=True)
        values = np.take_along_axis(x, idx, axis=self.dim)
        self.index = idx
        if not self.keepdim:
            values, idx = np.squeeze(values, self.dim), np.squeeze(idx, self.dim)
        return values, idx.astype(np.int64, copy=False)

    def backward(self, grad, _grad_indices):
        from .indexing import scatter
        grad = grad.reshape(_keep_shape(self.in_shape, (self.dim,)))
        zeros = Tensor._zeros(self.in_shape, grad._data.dtype)
        return scatter(zeros, self.dim, Tensor._make(self.index), grad)


class Prod(Function):
    saves_inputs = True
    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        return np.prod(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        (x,) = self.saved_inputs()
        out = self.saved_output()
        shape = tuple(x.shape)
        g = _expand_back(grad, shape, self.dims)
        if not (x._data == 0).any():
            return g * _expand_back(out, shape, self.dims) / x  # d prod / dx_i = prod / x_i
        if engine.GRAD_ENABLED:  # create_graph: the product of the others, differentiably
            return g * _others_product(x, self.dims)
        # With zeros, prod/x_i is undefined: use the product of the *other* elements.
        moved = np.moveaxis(x._data, self.dims, range(len(self.dims)))
        flat = moved.reshape(-1, *moved.shape[len(self.dims):])
        left = np.cumprod(np.concatenate([np.ones_like(flat[:1]), flat[:-1]]), axis=0)
        right = np.cumprod(np.concatenate([np.ones_like(flat[:1]), flat[:0:-1]]), axis=0)[::-1]
        others = (left * right).reshape(moved.shape)
        others = np.moveaxis(others, range(len(self.dims)), self.dims)
        return g * constant(others)


def _others_product(x: Tensor, dims: tuple) -> Tensor:
    """prod_{j != i} x_j over ``dims`` for every i, exact to first order where x has zeros
    (what second derivatives need). With P = the product of the non-zero elements and z the
    number of zeros in a slice: others_i = P / x_i * W_i, where W_i is the product of the
    zeros other than x_i: 1 if there are none, the single other zero's x if there is one,
    and 0 (with zero derivative) if there are two or more."""
    data = x._data
    dtype = data.dtype
    zero_mask = data == 0
    mask = constant(zero_mask)
    one, nil = constant(np.ones((), dtype)), constant(np.zeros((), dtype))
    safe = where(mask, one, x)
    nonzero_product = Prod(dims, True)(safe)
    z = zero_mask.sum(axis=dims, keepdims=True)
    zero_sum = where(mask, x, nil).sum(dims, keepdim=True)  # 0, with derivative 1 at each zero
    w_at_zero = where(constant(z == 1), one, where(constant(z == 2), zero_sum - x, nil))
    w_elsewhere = where(constant(z == 0), one, where(constant(z == 1), zero_sum, nil))
    return nonzero_product / safe * where(mask, w_at_zero, w_elsewhere)


class StdFromVar(Function):
    """std = sqrt(var); where std is 0 the gradient is taken as 0, as PyTorch does (the
    exact derivative is infinite there)."""

    saves_output = True

    def forward(self, v):
        return np.sqrt(v)

    def backward(self, grad):
        out = self.saved_output()
        zero = constant(out._data == 0)
        safe = where(zero, constant(np.ones((), out._data.dtype)), out)
        return where(zero, constant(np.zeros((), out._data.dtype)), grad / (2 * safe))


class LogSumExp(Function):
    saves_inputs = True
    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        m = np.max(x, axis=self.dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=self.dims, keepdims=True)) + m
        return out if self.keepdim else np.squeeze(out, axis=self.dims)

    def backward(self, grad):
        (x,) = self.saved_inputs()
        shape = tuple(x.shape)
        out = _expand_back(self.saved_output(), shape, self.dims)
        return _expand_back(grad, shape, self.dims) * (x - out).exp()  # softmax(x)


class Norm2(Function):
    """The Euclidean norm; its gradient x/||x|| is taken as 0 where the norm is 0."""

    saves_inputs = True
    saves_output = True

    def __init__(self, dims: tuple, keepdim: bool):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        return np.sqrt(np.sum(x * x, axis=self.dims, keepdims=self.keepdim))

    def backward(self, grad):
        (x,) = self.saved_inputs()
        shape = tuple(x.shape)
        out = self.saved_output()
        zero = constant(out._data == 0)
        safe = where(zero, constant(np.ones((), out._data.dtype)), out)
        return _expand_back(grad / safe, shape, self.dims) * x


class Cumsum(Function):
    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        return np.cumsum(x, axis=self.dim)

    def backward(self, grad):
        return grad.flip(self.dim).cumsum(self.dim).flip(self.dim)


class Cumprod(Function):
    """Running product along ``dim``. Its gradient, in tensor ops (so differentiable again):
    before a slice's first zero, the reversed running sum of g * y divided by x; at the first
    zero, the reversed running sum of g times the running product with that zero read as 1;
    after it, exactly 0 (changing x there cannot change y)."""

    saves_inputs = True
    saves_output = True

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        return np.cumprod(x, axis=self.dim)

    def backward(self, grad):
        from .elementwise import KeepWhere
        x, y, d = self.saved_input(0), self.saved_output(), self.dim
        zero = x._data == 0
        zeros_so_far = np.cumsum(zero, axis=d)
        before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
        as_one = constant(zero.astype(x._data.dtype))  # x + as_one: the zeros read as 1

        def reversed_running_sum(t):
            return t.flip(d).cumsum(d).flip(d)

        # The sums keep their terms that are 0 in value past a zero (a product, not a select):
        # their derivatives are not 0, and the second derivative needs them. So an inf or NaN
        # upstream gradient past a slice's first zero makes the earlier gradients NaN, where
        # PyTorch keeps them finite.
        out = KeepWhere(before)(reversed_running_sum(grad * y) / (x + as_one))
        if first.any():  # the first zeros read as a constant 1 (no derivative in x there)
            ones_at_first = constant(first.astype(x._data.dtype))
            through = Cumprod(d)(KeepWhere(~first)(x) + ones_at_first)
            out = out + KeepWhere(first)(reversed_running_sum(grad * through))
        return out


class Softmax(Function):
    saves_output = True

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        z = x - np.max(x, axis=self.dim, keepdims=True)
        np.exp(z, out=z)
        z /= np.sum(z, axis=self.dim, keepdims=True)
        return z

    def backward(self, grad):
        p = self.saved_output()
        return p * (grad - (grad * p).sum(self.dim, keepdim=True))  # J = diag(p) - p p^T


class LogSoftmax(Function):
    saves_output = True

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        z = x - np.max(x, axis=self.dim, keepdims=True)
        return z - np.log(np.sum(np.exp(z), axis=self.dim, keepdims=True))

    def backward(self, grad):
        logp = self.saved_output()
        return grad - logp.exp() * grad.sum(self.dim, keepdim=True)


class SortLike(Function):
    """sort / topk: values are differentiable (gradient scattered back), indices are not."""

    nondifferentiable_outputs = (1,)

    def __init__(self, dim: int, order: np.ndarray):
        self.dim, self.order = dim, order

    def forward(self, x):
        self.in_shape = x.shape
        return np.take_along_axis(x, self.order, axis=self.dim), self.order.astype(np.int64)

    def backward(self, grad, _grad_indices):
        from .indexing import scatter
        zeros = Tensor._zeros(self.in_shape, grad._data.dtype)
        return scatter(zeros, self.dim, Tensor._make(self.order), grad)


# -- functions -------------------------------------------------------------------------------


def _float_input(op: str, input: Tensor) -> Tensor:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point tensor, got {input.dtype!r}; "
                           "use .float() first")
    return input


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or None for all). Integer/bool inputs sum to int64."""
    dims = normalize_dims("sum", dim, input._data.ndim)
    if dtype is not None:
        input = to_dtype(input, dtype)
    elif input._data.dtype.kind in "biu":
        input = to_dtype(input, _dtype.int64)
    return Sum(dims, keepdim)(input)


def sum_to_size(input, shape) -> Tensor:
    """Sum ``input`` down to ``shape`` (which must broadcast to input's shape)."""
    shape = tuple(shape)
    if tuple(input._data.shape) == shape:
        return input
    try:
        np.broadcast_shapes(shape, input._data.shape)
        if len(shape) > input._data.ndim:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size "
                           f"{list(input._data.shape)}") from None
    return SumToSize(shape)(input)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    if dtype is not None:
        input = to_dtype(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype!r}")
    return Mean(normalize_dims("mean", dim, input._data.ndim), keepdim)(input)


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance; ``correction=1`` (default) divides by N-1, as PyTorch."""
    _float_input("var", input)
    if isinstance(dim, bool):  # var(x, False): the old positional ``unbiased``
        unbiased, dim = dim, None
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return Var(normalize_dims("var", dim, input._data.ndim), correction, keepdim)(input)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return StdFromVar()(var(input, dim, unbiased, keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def _max_min(op: str, input, dim, keepdim, largest: bool, other=None):
    if isinstance(dim, Tensor):  # max(a, b): elementwise
        from .elementwise import maximum, minimum
        return (maximum if largest else minimum)(input, dim)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return Amax(tuple(range(input._data.ndim)), False, np.max if largest else np.min)(input)
    d = normalize_dim(op, dim, input._data.ndim)
    if input._data.ndim == 0:
        return values_indices(input, Tensor._make(np.zeros((), np.int64)))
    if input._data.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    return values_indices(*MaxDim(d, keepdim, largest)(input))


def max(input, dim=None, keepdim: bool = False):  # noqa: A001
    """The largest element; with ``dim``, ``(values, indices)`` along it."""
    return _max_min("max", input, dim, keepdim, True)


def min(input, dim=None, keepdim: bool = False):  # noqa: A001
    return _max_min("min", input, dim, keepdim, False)


def amax(input, dim=(), keepdim: bool = False):
    dims = normalize_dims("amax", None if dim == () else dim, input._data.ndim)
    return Amax(dims, keepdim, np.max)(input)


def amin(input, dim=(), keepdim: bool = False):
    dims = normalize_dims("amin", None if dim == () else dim, input._data.ndim)
    return Amax(dims, keepdim, np.min)(input)


def aminmax(input, *, dim=None, keepdim=False):
    return namedtuple("aminmax", ["min", "max"])(amin(input, dim if dim is not None else (),
                                                      keepdim),
                                                 amax(input, dim if dim is not None else (),
                                                      keepdim))


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    if dtype is not None:
        input = to_dtype(input, dtype)
    if input._data.dtype.kind != "f":
        return Tensor._make(np.prod(input._data, axis=dim, keepdims=keepdim).astype(np.int64))
    return Prod(normalize_dims("prod", dim, input._data.ndim), keepdim)(input)


def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(x))) over ``dim``, computed without overflow (max subtracted first)."""
    _float_input("logsumexp", input)
    return LogSumExp(normalize_dims("logsumexp", dim, input._data.ndim), keepdim)(input)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """The p-norm over ``dim`` (all elements by default): 2/'fro', 1, inf, -inf, 0 or any p."""
    _float_input("norm", input)
    if dtype is not None:
        input = to_dtype(input, dtype)
    dims = normalize_dims("norm", dim, input._data.ndim)
    if p in ("fro", 2, 2.0, None):
        return Norm2(dims, keepdim)(input)
    a = input.abs()
    if p == float("inf"):
        return amax(a, dims, keepdim)
    if p == float("-inf"):
        return amin(a, dims, keepdim)
    if p == 0:
        return sum((a != 0).to(input.dtype), dims, keepdim)
    if p == 1:
        return sum(a, dims, keepdim)
    return sum(a ** p, dims, keepdim) ** (1.0 / p)


def _running(op: str, cls, input, dim: int, dtype):
    """A running sum/product along ``dim``: integer and bool inputs accumulate as int64."""
    if dtype is not None:
        input = to_dtype(input, dtype)
    elif input._data.dtype.kind in "biu":
        input = to_dtype(input, _dtype.int64)
    return cls(normalize_dim(op, dim, input._data.ndim))(input)


def cumsum(input, dim: int, *, dtype=None):
    """Running sum along ``dim``."""
    return _running("cumsum", Cumsum, input, dim, dtype)


def cumprod(input, dim: int, *, dtype=None):
    """Running product along ``dim``."""
    return _running("cumprod", Cumprod, input, dim, dtype)


class CumExtreme(Function):
    """Running max (or min) along ``dim``; ``self.indices`` holds, for each position, where
    that extreme was last reached (PyTorch's ties: the later index; a NaN sticks and is
    its own index). dL/dx adds each gradient at its index (a scatter-add, so
    differentiable again)."""

    def __init__(self, dim: int, largest: bool):
        self.dim, self.largest = dim, largest

    def forward(self, x):
        flat = x.reshape(1) if x.ndim == 0 else x
        values = (np.maximum if self.largest else np.minimum).accumulate(flat, axis=self.dim)
        hit = flat == values
        if flat.dtype.kind == "f":
            hit |= np.isnan(flat) & np.isnan(values)
        position = np.arange(flat.shape[self.dim]).reshape(
            (-1,) + (1,) * (flat.ndim - 1 - self.dim))
        self.indices = np.maximum.accumulate(np.where(hit, position, 0), axis=self.dim)
        return values.reshape(x.shape)

    def backward(self, grad):
        from .indexing import scatter_add
        flat = grad.reshape(1) if grad._data.ndim == 0 else grad
        out = scatter_add(Tensor._zeros(flat._data.shape, grad._data.dtype), self.dim,
                          Tensor._make(self.indices), flat)
        return out.reshape(grad._data.shape)


def _cum_extreme(op: str, input, dim: int, largest: bool):
    fn = CumExtreme(normalize_dim(op, dim, builtins.max(input._data.ndim, 1)), largest)
    values = fn(input)
    return values_indices(values, Tensor._make(fn.indices.reshape(input._data.shape)))


def cummax(input, dim: int):
    """The running maximum along ``dim`` and where it was reached: (values, indices), as
    ``torch.cummax`` (ties take the later index; from a NaN on, NaN at the NaN's index)."""
    return _cum_extreme("cummax", input, dim, True)


def cummin(input, dim: int):
    """The running minimum along ``dim`` and where it was reached (see ``cummax``)."""
    return _cum_extreme("cummin", input, dim, False)


def softmax(input, dim: int, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed after subtracting the max (no overflow)."""
    if dtype is not None:
        input = to_dtype(input, dtype)
    _float_input("softmax", input)
    return Softmax(normalize_dim("softmax", dim, input._data.ndim))(input)


def log_softmax(input, dim: int, dtype=None):
    """x - logsumexp(x) along ``dim``; stable for any logits."""
    if dtype is not None:
        input = to_dtype(input, dtype)
    _float_input("log_softmax", input)
    return LogSoftmax(normalize_dim("log_softmax", dim, input._data.ndim))(input)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    d = normalize_dim("sort", dim, input._data.ndim)
    data = input._data
    order = np.argsort(-data if descending and data.dtype.kind != "b" else data, axis=d,
                       kind="stable")
    if descending and data.dtype.kind == "b":
        order = np.flip(order, axis=d)
    return values_indices(*SortLike(d, order)(input))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    return sort(input, dim, descending, stable).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    d = normalize_dim("topk", dim, input._data.ndim)
    size = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {d} of size {size}")
    data = input._data
    order = np.argsort(-data if largest else data, axis=d, kind="stable")
    order = np.take(order, np.arange(k), axis=d)
    return values_indices(*SortLike(d, order)(input))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    d = normalize_dim("kthvalue", dim, input._data.ndim)
    values, indices = sort(input, d)
    v, i = values.narrow(d, k - 1, 1), indices.narrow(d, k - 1, 1)
    return values_indices(v if keepdim else v.squeeze(d), i if keepdim else i.squeeze(d))


def median(input, dim=None, keepdim: bool = False):
    if dim is None:  # the lower median; its gradient is shared by the elements equal to it
        flat = input.reshape(-1)
        value = np.sort(flat._data)[(flat.shape[0] - 1) // 2]
        if input._data.dtype.kind != "f":
            return Tensor._make(np.asarray(value))
        mask = flat._data == value
        at = constant(np.asarray(value))
        # value + 0, written so that the gradient is mask / count and the value exact
        return at + ((flat - at) * constant(mask.astype(value.dtype))).sum() / int(mask.sum())
    d = normalize_dim("median", dim, input._data.ndim)
    return kthvalue(input, (input._data.shape[d] + 1) // 2, d, keepdim)


# -- non-differentiable reductions ---------------------------------------------------------------


def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._make(np.asarray(np.argmax(input._data), dtype=np.int64))
    d = normalize_dim("argmax", dim, input._data.ndim)
    return Tensor._make(np.argmax(input._data, axis=d, keepdims=keepdim).astype(np.int64))


def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._make(np.asarray(np.argmin(input._data), dtype=np.int64))
    d = normalize_dim("argmin", dim, input._data.ndim)
    return Tensor._make(np.argmin(input._data, axis=d, keepdims=keepdim).astype(np.int64))


def any(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    dims = normalize_dims("any", dim, input._data.ndim)
    return Tensor._make(np.any(input._data, axis=dims, keepdims=keepdim))


def all(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    dims = normalize_dims("all", dim, input._data.ndim)
    return Tensor._make(np.all(input._data, axis=dims, keepdims=keepdim))


def count_nonzero(input, dim=None) -> Tensor:
    dims = normalize_dims("count_nonzero", dim, input._data.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=dims), dtype=np.int64))


def _nans_as_zeros(input) -> tuple:
    """``input`` with its NaNs replaced by 0 (their gradient is zero), and where they were."""
    from .comparison import isnan
    nan = isnan(input)
    return where(nan, 0.0, input), nan


def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``sum`` with NaNs counted as zero (their gradient is zero)."""
    if input._data.dtype.kind == "f":
        input, _ = _nans_as_zeros(input)
    return sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``mean`` over the elements that are not NaN (NaN where all are)."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean: expected a floating-point tensor, got {describe(input)}")
    zeroed, nan = _nans_as_zeros(input)
    return sum(zeroed, dim, keepdim, dtype=dtype) / sum(~nan, dim, keepdim)
