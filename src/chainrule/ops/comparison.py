"""Comparisons and logical ops: not differentiable, they return bool tensors."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import as_tensor_arg, promote


def _compare(name: str, np_fn):
    def fn(input, other) -> Tensor:
        a, b = promote(name, input, other)
        a = a._data if isinstance(a, Tensor) else a
        b = b._data if isinstance(b, Tensor) else b
        try:
            return Tensor._make(np.asarray(np_fn(a, b)))
        except ValueError:
            raise RuntimeError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be "
                               "broadcast") from None
    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` (a bool tensor; no gradient)."
    return fn


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _compare("logical_and", np.logical_and)
logical_or = _compare("logical_or", np.logical_or)
logical_xor = _compare("logical_xor", np.logical_xor)
bitwise_and = _compare("bitwise_and", np.bitwise_and)
bitwise_or = _compare("bitwise_or", np.bitwise_or)
bitwise_xor = _compare("bitwise_xor", np.bitwise_xor)


def logical_not(input) -> Tensor:
    return Tensor._make(np.logical_not(as_tensor_arg("logical_not", input)._data))


def bitwise_not(input) -> Tensor:
    data = as_tensor_arg("bitwise_not", input)._data
    if data.dtype.kind == "f":
        raise TypeError("bitwise_not: not implemented for floating point tensors")
    return Tensor._make(np.invert(data))


def isnan(input) -> Tensor:
    return Tensor._make(np.isnan(input._data))


def isinf(input) -> Tensor:
    return Tensor._make(np.isinf(input._data))


def isfinite(input) -> Tensor:
    return Tensor._make(np.isfinite(input._data))


def isposinf(input) -> Tensor:
    return Tensor._make(np.isposinf(input._data))


def isneginf(input) -> Tensor:
    return Tensor._make(np.isneginf(input._data))


def equal(input, other) -> bool:
    """True if both tensors have the same shape and elements."""
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data,
                                                                           other._data))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(input._data, as_tensor_arg("allclose", other)._data, rtol=rtol,
                            atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(input._data, as_tensor_arg("isclose", other)._data,
                                   rtol=rtol, atol=atol, equal_nan=equal_nan))
