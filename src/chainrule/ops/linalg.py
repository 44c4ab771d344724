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


_CDIST_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distance between each row of ``x1 (*, P, M)`` and each row of
    ``x2 (*, R, M)``: ``(*, P, R)``, batch dims broadcast; as ``torch.cdist``.

    ``p`` may be any value >= 0: 0 counts the differing coordinates, ``inf`` takes the
    largest difference. For p = 2 with more than 25 rows on either side (or
    ``compute_mode='use_mm_for_euclid_dist'``) the squared distances come from one matrix
    product, ``|a|^2 + |b|^2 - 2 a.b`` (clamped at 1e-30 before the square root, as PyTorch
    does), instead of a (P, R, M) array of differences. Gradients are PyTorch's: zero where
    a distance (or, for p < 1, a coordinate difference) is zero; with p = inf each tied
    largest coordinate gets the whole gradient.

    Example:
        >>> cdist(chainrule.tensor([[0., 0.], [3., 4.]]), chainrule.tensor([[0., 0.]]))
        tensor([[0.],
                [5.]])
    """
    op = "cdist"
    for name, x in (("X1", x1), ("X2", x2)):
        if x._data.ndim < 2:
            raise RuntimeError(f"{op} only supports at least 2D tensors, {name} got: "
                               f"{x._data.ndim}D")
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"{op} only supports floating-point dtypes, {name} got: "
                               f"{describe(x)}")
    if x1._data.dtype != x2._data.dtype:
        raise RuntimeError(f"{op}: expected both inputs of one dtype, got {describe(x1)} and "
                           f"{describe(x2)}")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._data.shape[-1]} X2: {x2._data.shape[-1]}")
    if not p >= 0:
        raise RuntimeError(f"{op} only supports non-negative p values, got {p}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    rows = max(x1._data.shape[-2], x2._data.shape[-2])
    if p == 2 and compute_mode != "donot_use_mm_for_euclid_dist" and (
            compute_mode == "use_mm_for_euclid_dist" or rows > 25):
        return _euclidean_by_matmul(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (*, P, R, M)
    size = diff.abs()
    if p == 0:  # how many coordinates differ; its gradient is zero
        return (size * 0).sum(-1) + (size._data != 0).sum(-1).astype(size._data.dtype)
    if p == float("inf"):
        # The largest |difference|, its gradient sent whole to each coordinate that ties for it.
        top = size.amax(-1)
        ties = size._data == top._data[..., None]
        return top.detach() + ((size - size.detach()) * ties).sum(-1)
    if p == 1:
        return size.sum(-1)
    if p < 1:  # |d|^p has an infinite slope at d = 0, where PyTorch's gradient is 0
        nonzero = size._data != 0
        powers = size.where(nonzero, 1.0) ** p * nonzero
    else:
        powers = size ** p
    total = powers.sum(-1)
    positive = total._data > 0  # (sum)^(1/p) has an infinite slope at 0: gradient 0 there
    return (total.where(positive, 1.0) ** (1 / p)) * positive


def _euclidean_by_matmul(x1: Tensor, x2: Tensor) -> Tensor:
    """sqrt(max(|a|^2 + |b|^2 - 2 a.b, 1e-30)) for every pair of rows, by one matmul of rows
    extended with the squared norms and ones (PyTorch's _euclidean_dist, differentiable)."""
    from .shape import cat
    n1 = (x1 * x1).sum(-1, keepdim=True)
    n2 = (x2 * x2).sum(-1, keepdim=True)
    a = cat([x1 * -2, n1, n1.new_ones(n1.shape)], -1)
    b = cat([x2, n2.new_ones(n2.shape), n2], -1)
    return (a @ b.transpose(-1, -2)).clamp(min=1e-30).sqrt()
