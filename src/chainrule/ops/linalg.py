"""Matrix products: ``matmul`` (1-D, 2-D and batched with broadcasting) and its aliases."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import ShapeError, as_tensor_arg, describe
from .function import Function


class Matmul(Function):
    """y = a @ b; dL/da = dL/dy @ b^T, dL/db = a^T @ dL/dy (1-D operands handled as PyTorch)."""

    saves_inputs = True

    def forward(self, a, b):
        self._input_ndims = (a.ndim, b.ndim)
        return np.matmul(a, b)

    def backward(self, grad):
        need_a, need_b = self.next_functions[0] is not None, self.next_functions[1] is not None
        a = self.saved_input(0) if need_b else None
        b = self.saved_input(1) if need_a else None
        ndim_a, ndim_b = self._input_ndims
        if ndim_a == 1 and ndim_b == 1:  # dot product
            return (grad * b if need_a else None), (grad * a if need_b else None)
        if ndim_a == 1:  # (k) @ (..., k, n) -> (..., n)
            g = grad.unsqueeze(-2)
            return ((g @ b.mT).squeeze(-2) if need_a else None,
                    (a.unsqueeze(-1) @ g) if need_b else None)
        if ndim_b == 1:  # (..., m, k) @ (k) -> (..., m)
            g = grad.unsqueeze(-1)
            return ((g @ b.unsqueeze(-2)) if need_a else None,
                    (a.mT @ g).squeeze(-1) if need_b else None)
        return (grad @ b.mT if need_a else None), (a.mT @ grad if need_b else None)


def matmul(input, other) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D operands and broadcast batch dims."""
    a, b = as_tensor_arg("matmul", input), as_tensor_arg("matmul", other)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got "
                           f"{describe(a)} and {describe(b)}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ShapeError(f"matmul: shapes {tuple(sa)} and {tuple(sb)} cannot be multiplied "
                         f"({ka} != {kb})")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2] if len(sa) > 1 else (), sb[:-2] if len(sb) > 1 else ())
        except ValueError:
            raise ShapeError(f"matmul: batch dimensions of {tuple(sa)} and {tuple(sb)} cannot be "
                             "broadcast") from None
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"matmul: expected both arguments to have the same dtype, but got "
                           f"{a._data.dtype} and {b._data.dtype}")
    if a._data.dtype == np.bool_:
        raise RuntimeError("matmul: not implemented for bool tensors")
    return Matmul()(a, b)


def mm(input, mat2) -> Tensor:
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {describe(input)} and {describe(mat2)}")
    return matmul(input, mat2)


def bmm(input, mat2) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got "
                           f"{describe(input)} and {describe(mat2)}")
    return matmul(input, mat2)


def mv(input, vec) -> Tensor:
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {describe(input)} and "
                           f"{describe(vec)}")
    return matmul(input, vec)


def dot(input, other) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D "
                           "tensors")
    return matmul(input, other)


inner = dot


def outer(input, vec2) -> Tensor:
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    prod = matmul(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta)



class Cross(Function):
    """The cross product of 3-vectors along ``dim``. With L = g . (a x b) = a . (b x g) =
    b . (g x a): dL/da = b x g, dL/db = g x a."""

    saves_inputs = True

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, a, b):
        return np.cross(a, b, axis=self.dim)

    def backward(self, grad):
        a, b = self.saved_inputs()
        need_a, need_b = self.next_functions
        return (Cross(self.dim)(b, grad) if need_a else None), \
            (Cross(self.dim)(grad, a) if need_b else None)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of the 3-vectors along ``dim`` (by default, as PyTorch's deprecated
    default, the first dim of size 3); inputs of equal rank, their other dims broadcast."""
    from ._util import normalize_dim, promote
    from .shape import broadcast_tensors
    a, b = promote("cross", input, other)
    a, b = as_tensor_arg("cross", a), as_tensor_arg("cross", b)
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got "
                           f"{describe(a)} and {describe(b)}")
    a, b = broadcast_tensors(a, b)
    shape = a._data.shape
    if dim is None:
        import warnings
        warnings.warn("Using chainrule.cross without specifying the dim arg is deprecated (as "
                      "in PyTorch): pass dim explicitly", UserWarning, stacklevel=2)
        dim = next((d for d, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in {describe(a)}")
    d = normalize_dim("cross", dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"cross: dimension {dim} does not have size 3: {describe(a)}")
    return Cross(d)(a, b)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` times all of ``other``, in blocks;
    the result's size along each dim is the product of the two sizes there."""
    from ._util import promote
    a, b = promote("kron", input, other)
    a, b = as_tensor_arg("kron", a), as_tensor_arg("kron", b)
    nd = max(a._data.ndim, b._data.ndim)
    sa = (1,) * (nd - a._data.ndim) + a._data.shape
    sb = (1,) * (nd - b._data.ndim) + b._data.shape
    blocks = a.reshape([n for s in sa for n in (s, 1)]) * \
        b.reshape([n for s in sb for n in (1, s)])
    return blocks.reshape([x * y for x, y in zip(sa, sb)])
