"""``F.linear`` and ``F.bilinear``."""
from __future__ import annotations

from ...ops import nn_ops
from ...ops._util import ShapeError, describe
from ...tensor import Tensor

__all__ = ["bilinear", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight^T + bias as one fused op.

    Shape: input (*, in_features), weight (out_features, in_features), bias (out_features);
    output (*, out_features).
    """
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        if w.ndim == 1 and x.ndim >= 1 and x.shape[-1] == w.shape[0]:  # PyTorch allows 1-D
            out = input @ weight
            return out + bias if bias is not None else out
        raise ShapeError(f"linear: mat1 and mat2 shapes cannot be multiplied (input "
                         f"{describe(input)} @ weight^T of {describe(weight)}; expected the "
                         f"input's last dim to equal in_features = "
                         f"{w.shape[-1] if w.ndim else '?'})")
    if x.dtype != w.dtype:
        raise RuntimeError(f"linear: mat1 and mat2 must have the same dtype, but got {x.dtype} "
                           f"and {w.dtype} (input {describe(input)}, weight {describe(weight)})")
    if bias is None:
        return nn_ops.Linear()(input, weight)
    if bias._data.dtype != x.dtype or bias._data.shape not in ((w.shape[0],), (1,), ()):
        if bias._data.dtype != x.dtype:
            raise RuntimeError(f"linear: bias dtype {bias._data.dtype} does not match input "
                               f"dtype {x.dtype}")
        raise ShapeError(f"linear: bias of shape {list(bias.shape)} does not fit "
                         f"out_features = {w.shape[0]}")
    return nn_ops.Linear()(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k.

    Shape: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out);
    output (*, out).
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: got input1 {describe(input1)}, input2 {describe(input2)} "
                         f"and weight {describe(weight)}; expected (*, in1), (*, in2) and "
                         "(out, in1, in2)")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, 1, 1, weight.shape[1])             # (M, 1, 1, in1)
    x2 = input2.reshape(-1, 1, weight.shape[2], 1)             # (M, 1, in2, 1)
    out = (x1 @ weight @ x2).reshape(lead + (weight.shape[0],))  # (M, out, 1, 1) -> (*, out)
    return out + bias if bias is not None else out
