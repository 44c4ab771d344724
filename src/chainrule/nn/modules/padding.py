"""Padding layers: ``ConstantPad1d/2d/3d``, ``ZeroPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
``ReplicationPad1d/2d/3d`` and ``CircularPad1d/2d/3d``, each ``F.pad`` with its mode.

``padding`` is an int (the same on every side) or a tuple of ``2 * d`` ints ordered as
``F.pad``'s: (left, right) for the last dim, then (top, bottom), then (front, back). A
``d``-dimensional layer pads the last ``d`` dims of a batched or unbatched input.

Example:
    >>> nn.ReflectionPad2d((1, 1, 2, 0))(chainrule.zeros(1, 3, 4, 4)).shape
    chainrule.Size([1, 3, 6, 6])
"""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [f"{kind}Pad{d}d" for kind in ("Constant", "Zero", "Reflection", "Replication",
                                          "Circular") for d in (1, 2, 3)]


class _PadNd(Module):
    """``F.pad(input, self.padding, self.mode)``; subclasses set ``dims`` and ``mode``."""

    dims = 1
    mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        n = 2 * self.dims
        if isinstance(padding, int):
            padding = (padding,) * n
        padding = tuple(int(p) for p in padding)
        if len(padding) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} "
                             f"ints, got {padding}")
        self.padding = padding

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Pads with ``value`` (negative amounts crop)."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    dims = 3


class _Zero:
    """Mixed into a ConstantPad layer: the value is 0 (ZeroPad2d is a ConstantPad2d)."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_Zero, ConstantPad1d):
    pass


class ZeroPad2d(_Zero, ConstantPad2d):
    pass


class ZeroPad3d(_Zero, ConstantPad3d):
    pass


class _Reflection(_PadNd):
    """Mirrors the input at its edges, without repeating the edge (amounts < size)."""

    mode = "reflect"


class _Replication(_PadNd):
    """Repeats the edge values."""

    mode = "replicate"


class _Circular(_PadNd):
    """Wraps around: pads with the values of the far side."""

    mode = "circular"


class ReflectionPad1d(_Reflection):
    dims = 1


class ReflectionPad2d(_Reflection):
    dims = 2


class ReflectionPad3d(_Reflection):
    dims = 3


class ReplicationPad1d(_Replication):
    dims = 1


class ReplicationPad2d(_Replication):
    dims = 2


class ReplicationPad3d(_Replication):
    dims = 3


class CircularPad1d(_Circular):
    dims = 1


class CircularPad2d(_Circular):
    dims = 2


class CircularPad3d(_Circular):
    dims = 3
