"""Helpers every op shares: dim checks, PyTorch type promotion, and undoing broadcasting."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from ..tensor import Tensor


class ShapeError(RuntimeError):
    """Incompatible shapes for an op (a RuntimeError, as PyTorch raises)."""


def describe(x) -> str:
    """``float32[2, 3]`` for a tensor or array, the repr for anything else (for messages)."""
    data = x._data if isinstance(x, Tensor) else x
    if isinstance(data, np.ndarray):
        return f"{data.dtype}{list(data.shape)}"
    return repr(x)


def normalize_dim(op: str, dim, ndim: int) -> int:
    """A dim in ``[-ndim, ndim)`` as a non-negative int; a clear IndexError otherwise."""
    try:
        d = int(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}") from None
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not lo <= d <= hi:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims "
                         f"(expected to be in range of [{lo}, {hi}])")
    return d % ndim if ndim else 0


def normalize_dims(op: str, dims, ndim: int) -> tuple:
    """``None`` means every dim; an int or a sequence of ints otherwise (no repeats)."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        d = normalize_dim(op, dims, ndim)
        return (d,) if ndim else ()
    out = tuple(normalize_dim(op, d, ndim) for d in dims)
    if ndim == 0:  # dim 0 (or -1) of a 0-d tensor is valid and names no NumPy axis
        return ()
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return out


def unbroadcast(array: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``array`` down to ``shape``: the adjoint of broadcasting ``shape`` up to array.shape.

    First the leading axes broadcasting added, then the axes where ``shape`` has size 1.
    Raises ValueError if ``shape`` does not broadcast to ``array.shape``.
    """
    if array.shape == shape:
        return array
    extra = array.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: can't sum shape {array.shape} to {shape}")
    if extra:
        array = array.sum(axis=tuple(range(extra)))
    axes = []
    for i, (have, want) in enumerate(zip(array.shape, shape)):
        if want == 1 and have != 1:
            axes.append(i)
        elif want != have:
            raise ValueError(f"unbroadcast: can't sum shape {array.shape} to {shape}")
    if axes:
        array = array.sum(axis=tuple(axes), keepdims=True)
    return array


def broadcast_shapes(op: str, *shapes) -> tuple:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be "
                         "broadcast together") from None


_PY_SCALARS = (float, int, bool)


def _is_scalar(x) -> bool:
    if type(x) in _PY_SCALARS:  # the common case, without the slow ABC check below
        return True
    return isinstance(x, (numbers.Number, np.number, np.bool_)) and not isinstance(x, Tensor)


def as_tensor_arg(op: str, x) -> Tensor:
    """Turn a Python number, list or array argument into a Tensor (no copy for arrays)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x)
    if _is_scalar(x):
        return Tensor._make(np.asarray(x, dtype=_dtype.scalar_np_dtype(x)))
    try:
        from .creation import tensor
        return tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}") from None


def promote(op: str, a, b):
    """Bring two operands to PyTorch's common dtype; Python numbers stay cheap NumPy scalars.

    Returns ``(x, y)``: Tensors (cast differentiably if needed) or NumPy constants.
    """
    if isinstance(a, Tensor):
        da = a._data.dtype
        if isinstance(b, Tensor):
            db = b._data.dtype
            if da == db:
                return a, b
            return _cast_pair(a, b)
        if _is_scalar(b):
            return _with_scalar(a, b, da, first=True)
        return _cast_pair(a, as_tensor_arg(op, b))
    if isinstance(b, Tensor):
        if _is_scalar(a):
            return _with_scalar(b, a, b._data.dtype, first=False)
        return _cast_pair(as_tensor_arg(op, a), b)
    return _cast_pair(as_tensor_arg(op, a), as_tensor_arg(op, b))


def _with_scalar(t: Tensor, s, dt: np.dtype, first: bool):
    kind = dt.kind
    if kind == "f" or (kind in "iu" and not isinstance(s, (float, np.floating))) or (
            kind == "b" and isinstance(s, (bool, np.bool_))):
        scalar = dt.type(s)
        return (t, scalar) if first else (scalar, t)
    target = _dtype.result_type([dt] if t._data.ndim else [], [] if t._data.ndim else [dt], [s])
    t = cast(t, target)
    scalar = target.type(s)
    return (t, scalar) if first else (scalar, t)


def _cast_pair(a: Tensor, b: Tensor):
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return a, b
    dims = [t._data.dtype for t in (a, b) if t._data.ndim]
    zero = [t._data.dtype for t in (a, b) if not t._data.ndim]
    target = _dtype.result_type(dims, zero)
    return cast(a, target), cast(b, target)


def cast(t: Tensor, np_dtype: np.dtype) -> Tensor:
    if t._data.dtype == np_dtype:
        return t
    from .elementwise import to_dtype
    return to_dtype(t, np_dtype)


def constant(array) -> Tensor:
    """Wrap an array that backward uses as a constant (a mask, a count) in a Tensor."""
    return Tensor._make(np.asarray(array))
