"""The legacy typed-tensor names of old PyTorch scripts: ``torch.FloatTensor`` and friends.

Old tutorials write ``dtype = torch.FloatTensor``, ``x.type(torch.LongTensor)``,
``torch.LongTensor([1, 2])`` or ``isinstance(x, torch.FloatTensor)``. Each name here is a
class whose call makes a :class:`~chainrule.Tensor` of that dtype (``FloatTensor(2, 3)`` an
uninitialised 2x3 tensor, ``FloatTensor([1, 2])`` one with those values) and whose
``isinstance`` check asks the tensor's dtype, as in PyTorch.
"""
from __future__ import annotations

from . import _dtype
from .tensor import Tensor

__all__ = ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",
           "HalfTensor", "IntTensor", "LongTensor", "ShortTensor"]


class _LegacyTensorType(type):
    """Metaclass: ``isinstance(t, FloatTensor)`` is ``t.dtype == float32``."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, **kwargs) -> Tensor:
        return Tensor(*args, dtype=cls.dtype, **kwargs)

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _make(name: str, dtype: _dtype.dtype) -> type:
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "chainrule",
                                        "__doc__": f"Legacy name: a tensor of dtype {dtype}."})


FloatTensor = _make("FloatTensor", _dtype.float32)
DoubleTensor = _make("DoubleTensor", _dtype.float64)
HalfTensor = _make("HalfTensor", _dtype.float16)
LongTensor = _make("LongTensor", _dtype.int64)
IntTensor = _make("IntTensor", _dtype.int32)
ShortTensor = _make("ShortTensor", _dtype.int16)
CharTensor = _make("CharTensor", _dtype.int8)
ByteTensor = _make("ByteTensor", _dtype.uint8)
BoolTensor = _make("BoolTensor", _dtype.bool_)
