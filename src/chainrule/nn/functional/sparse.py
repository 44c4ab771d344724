"""``F.embedding``, ``F.one_hot``: lookups by integer index."""
from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops import nn_ops
from ...ops._util import describe
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``.

    Args:
        input: int tensor of any shape (*) of row indices.
        weight: (num_embeddings, embedding_dim).
        padding_idx: this row receives no gradient.
        max_norm: rows that are looked up and have a larger ``norm_type``-norm are first
            rescaled in place to norm ``max_norm``.
        scale_grad_by_freq: divide each row's gradient by how often it occurs in ``input``.
        sparse: accepted for compatibility; the gradient is always a dense tensor here.

    Shape: output (*, embedding_dim).
    """
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: Expected tensor for argument #1 'indices' to have one "
                           f"of the following scalar types: Long, Int; but got {describe(input)}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got {describe(weight)}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"embedding: index out of range in self (indices must be in [0, {n}), "
                         f"got range [{idx.min()}, {idx.max()}])")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= n
    if max_norm is not None:
        with no_grad():
            nn_ops.embedding_renorm_(weight, Tensor._make(idx), max_norm, norm_type)
    return nn_ops.Embedding(idx, padding_idx, scale_grad_by_freq)(weight)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*, ) int64 class indices -> (*, num_classes) int64 one-hot rows."""
    from ... import ops
    idx = tensor._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return ops.eq(ops.unsqueeze(tensor, -1), ops.arange(num_classes)).long()
