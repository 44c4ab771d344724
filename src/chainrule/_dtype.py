"""dtypes with PyTorch's names and type-promotion rules, backed by NumPy dtypes.

PyTorch promotes by *category* (bool < integer < floating) and, within a category, by
*priority*: a tensor with dimensions beats a 0-dim tensor, which beats a Python number.
So ``float32_tensor * 2.5`` stays float32, ``int64_tensor / 2`` gives the default float
dtype, and ``float32_tensor + float64_scalar_tensor`` stays float32.
"""
from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - PyTorch's spelling
    """A tensor element type: ``chainrule.float32``, ``chainrule.int64``, ..."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype: np.dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._category = category

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):  # dtypes are singletons
        return (_by_name, (self.name,))

    def to_complex(self):
        raise TypeError(f"{self!r}: complex dtypes are not supported")


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(
    {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
     "short": int16}
)

_default_float = float32


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The chainrule dtype of a NumPy dtype (raises TypeError for unsupported ones)."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert NumPy dtype {np_dtype!r}: supported are "
            + ", ".join(d.name for d in ALL)
        ) from None


def to_numpy_dtype(d) -> np.dtype:
    """Accept a chainrule dtype, a NumPy dtype, a Python type or a dtype name."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return _default_float.np
    if d is int:
        return int64.np
    if d is bool:
        return bool_.np
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d].np
    return from_numpy_dtype(d).np


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of floating tensors made from Python floats (float32 or float64)."""
    global _default_float
    d = from_numpy_dtype(to_numpy_dtype(d))
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d!r}")
    _default_float = d


def category(np_dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating types."""
    kind = np_dtype.kind
    return 2 if kind == "f" else (0 if kind == "b" else 1)


def scalar_np_dtype(value) -> np.dtype:
    """The dtype PyTorch gives a Python number on its own."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int64)
    return _default_float.np


def result_type(tensor_dtypes, zero_dim_dtypes=(), scalars=()) -> np.dtype:
    """PyTorch's promotion: the highest category wins; within it, the highest priority group.

    ``tensor_dtypes`` are dtypes of tensors with dimensions, ``zero_dim_dtypes`` of 0-dim
    tensors, ``scalars`` are Python numbers.
    """
    groups = [list(tensor_dtypes), list(zero_dim_dtypes),
              [scalar_np_dtype(s) for s in scalars]]
    top = max((category(d) for g in groups for d in g), default=2)
    for group in groups:
        in_cat = [d for d in group if category(d) == top]
        if in_cat:
            out = in_cat[0]
            for d in in_cat[1:]:
                out = np.promote_types(out, d)
            if group is groups[2] and top == 2:
                return _default_float.np
            return out
    raise AssertionError("unreachable")


class finfo:  # noqa: N801 - PyTorch's spelling
    """Machine limits of a floating-point dtype (``chainrule.finfo(chainrule.float32).eps``);
    without an argument, of the default dtype."""

    def __init__(self, type: dtype | None = None):  # noqa: A002 - PyTorch's name
        d = _default_float if type is None else type
        if not isinstance(d, dtype) or not d.is_floating_point:
            raise TypeError(f"finfo: expected a floating-point dtype, got {d!r}")
        info = np.finfo(d.np)
        self.dtype = d.name
        self.bits = info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's spelling
    """Limits of an integer dtype (``chainrule.iinfo(chainrule.int32).max``)."""

    def __init__(self, type: dtype):  # noqa: A002 - PyTorch's name
        if not isinstance(type, dtype) or type._category != 1:
            raise TypeError(f"iinfo: expected an integer dtype, got {type!r}")
        info = np.iinfo(type.np)
        self.dtype = type.name
        self.bits, self.min, self.max = info.bits, int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
