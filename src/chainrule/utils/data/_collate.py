"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``.

The rules are PyTorch's: tensors are stacked along a new first dimension; NumPy arrays and
NumPy scalars become tensors (then stacked); Python floats become a float64 tensor, ints an
int64 tensor, bools a bool tensor; strings stay a list; dicts, namedtuples, tuples and lists
are collated field by field (a tuple of fields comes back as a list, as in PyTorch).
"""
from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

import chainrule
from chainrule.tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _rebuild(elem, items):
    """A mapping/sequence of ``elem``'s type holding ``items`` (a plain one if that fails)."""
    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                out = elem.copy()  # keeps the type and any attributes of a dict subclass
                out.update(items)
                return out
            return type(elem)(items)
        except TypeError:
            return dict(items)
    try:
        return type(elem)(items)
    except TypeError:
        return list(items)


def default_collate(batch: list) -> Any:
    """Collate a list of samples into a batch (PyTorch's rules; see the module docstring).

    Example:
        >>> batch = default_collate([(chainrule.zeros(2), 0), (chainrule.ones(2), 1)])
        >>> batch[0].shape, batch[1].dtype
        (chainrule.Size([2, 2]), chainrule.int64)
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return chainrule.stack(batch, 0)
    if isinstance(elem, (np.ndarray, np.generic)):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_ERROR.format(elem.dtype))
        if isinstance(elem, np.ndarray):
            return chainrule.stack([chainrule.as_tensor(b) for b in batch], 0)
        return chainrule.as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return chainrule.tensor(batch)
    if isinstance(elem, float):
        return chainrule.tensor(batch, dtype=chainrule.float64)
    if isinstance(elem, int):
        return chainrule.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch returns a list for tuple samples
        return _rebuild(elem, fields)
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays/scalars into tensors, recursively; leave everything else as is.

    Used by the DataLoader instead of ``default_collate`` when automatic batching is off
    (``batch_size=None``).

    Example:
        >>> default_convert({"x": np.arange(3)})["x"].dtype
        chainrule.int64
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in "OSUV":
            return data
        return chainrule.as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {key: default_convert(v) for key, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
