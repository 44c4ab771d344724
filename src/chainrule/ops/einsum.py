"""``einsum``: Einstein summation over tensors, as PyTorch's, differentiable to any order.

The gradient of an einsum with respect to one operand is itself an einsum: the output
gradient times every other operand, summed down to that operand's subscripts. Two details
make that exact:

- a letter that appears only in that operand (summed out, as ``j`` in ``ij->i``) is put
  back by a vector of ones, since an einsum cannot output a letter none of its inputs has;
- a letter repeated within the operand (a diagonal, as in ``ii->i`` or a trace ``ii``) gets
  a fresh letter for each further occurrence, tied to the first by an identity matrix, so
  that the gradient lands on the diagonal only.

Ellipses are turned into explicit letters first (right-aligned across operands, as
broadcasting is), so the forward pass and every backward pass see one explicit equation.
"""
from __future__ import annotations

import string

import numpy as np

from ..tensor import Tensor
from ._util import ShapeError, as_tensor_arg, describe
from .function import Function

_LETTERS = string.ascii_letters


class Einsum(Function):
    """One explicit einsum equation (letters only, no ellipsis, an output after ``->``)."""

    saves_inputs = True

    def __init__(self, inputs: list, output: str):
        self.inputs, self.output = inputs, output

    def forward(self, *arrays):
        equation = ",".join(self.inputs) + "->" + self.output
        return np.einsum(equation, *arrays, optimize=len(arrays) > 1)  # BLAS where it can

    def backward(self, grad):
        operands = self.saved_inputs()
        sizes = _letter_sizes(self.inputs, [t._data.shape for t in operands])
        grads = []
        for k, need in enumerate(self.next_functions):
            if need is None:
                grads.append(None)
                continue
            subs = [self.output] + [s for j, s in enumerate(self.inputs) if j != k]
            args = [grad] + [t for j, t in enumerate(operands) if j != k]
            target = _untie(self.inputs[k], subs, args, sizes, grad._data.dtype)
            for letter in target:  # summed out in the forward pass: broadcast back by ones
                if not any(letter in s for s in subs):
                    subs.append(letter)
                    args.append(Tensor._make(np.ones(sizes[letter], grad._data.dtype)))
            grads.append(Einsum(subs, target)(*args))
        return tuple(grads)


def _untie(operand: str, subs: list, args: list, sizes: dict, dtype) -> str:
    """The gradient's subscripts for ``operand``: each repeated letter after its first
    occurrence becomes a fresh letter, tied to the first by an identity matrix appended to
    ``subs``/``args``."""
    used = set("".join(subs)) | set(operand)
    fresh = (c for c in _LETTERS if c not in used)
    target = ""
    for letter in operand:
        if letter in target:
            other = next(fresh)
            subs.append(letter + other)
            args.append(Tensor._make(np.eye(sizes[letter], dtype=dtype)))
            letter = other
        target += letter
    return target


def _letter_sizes(inputs: list, shapes: list) -> dict:
    sizes: dict = {}
    for subs, shape in zip(inputs, shapes):
        for letter, n in zip(subs, shape):
            if sizes.get(letter, 1) == 1:
                sizes[letter] = n
    return sizes


def _parse(equation: str, shapes: list) -> tuple:
    """``(inputs, output)``: the equation's subscripts with ellipses made explicit letters
    and the output made explicit (PyTorch's implicit rule: the letters used once, sorted,
    after the ellipsis dimensions)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise RuntimeError(f"einsum(): {len(inputs)} operands in the equation {equation!r}, but "
                         f"{len(shapes)} tensors given")
    for subs in inputs + ([rhs] if arrow else []):
        bad = set(subs.replace("...", "")) - set(_LETTERS)
        if bad or subs.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid subscripts {subs!r} in {equation!r}: only "
                             "letters a-z, A-Z and at most one '...' per operand")
    ellipsis_dims = 0
    for subs, shape in zip(inputs, shapes):
        named = len(subs.replace("...", ""))
        if len(shape) != named and "..." not in subs or len(shape) < named:
            raise ShapeError(f"einsum(): the subscripts {subs!r} name {named} dimensions, but "
                             f"the operand has {len(shape)} (shape {tuple(shape)})")
        ellipsis_dims = max(ellipsis_dims, len(shape) - named)
    if not arrow:
        counts = {c: lhs.count(c) for c in set(lhs.replace("...", "").replace(",", ""))}
        rhs = ("..." if "..." in lhs else "") + "".join(sorted(c for c, n in counts.items()
                                                               if n == 1))
    elif "..." in rhs and "..." not in lhs:
        raise RuntimeError(f"einsum(): the output {rhs!r} has '...' but no operand does")
    unused = [c for c in _LETTERS if c not in eq]
    ellipsis = "".join(unused[:ellipsis_dims])
    explicit = [s.replace("...", ellipsis[ellipsis_dims - (len(shape) - len(s) + 3):])
                if "..." in s else s for s, shape in zip(inputs, shapes)]
    output = rhs.replace("...", ellipsis)
    known = set("".join(explicit))
    missing = [c for c in output if c not in known]
    if missing or len(set(output)) != len(output):
        raise RuntimeError(f"einsum(): the output subscripts {rhs!r} of {equation!r} must be "
                         "distinct letters that appear among the operands'")
    return explicit, output


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Repeated letters in one operand take its diagonal, letters missing from the output are
    summed, ``...`` stands for broadcast dimensions, and without ``->`` the output is the
    letters used once, in alphabetical order. The operands may also come as one list.
    """
    if not isinstance(equation, str):
        raise TypeError("einsum(): the first argument must be the equation string (the "
                        "sublist form einsum(a, [0, 1], b, [1, 2]) is not supported)")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [as_tensor_arg("einsum", t) for t in operands]
    if len({t._data.dtype for t in tensors}) > 1:  # as PyTorch: no type promotion here
        raise RuntimeError("einsum(): expected operands of one dtype, got "
                           + ", ".join(describe(t) for t in tensors))
    inputs, output = _parse(equation, [t._data.shape for t in tensors])
    sizes: dict = {}
    for subs, t in zip(inputs, tensors):
        for letter, n in zip(subs, t._data.shape):
            if sizes.setdefault(letter, n) != n and 1 not in (n, sizes[letter]):
                raise ShapeError(f"einsum(): subscript {letter!r} has size {sizes[letter]} "
                                 f"in one operand and {n} in another ({equation!r}; "
                                 + ", ".join(describe(x) for x in tensors) + ")")
    return Einsum(inputs, output)(*tensors)


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal (of a rectangular one too, as PyTorch's)."""
    from .shape import diagonal
    if not isinstance(input, Tensor) or input._data.ndim != 2:
        got = describe(input) if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"trace: expected a matrix, got {got}")
    return diagonal(input).sum()


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over ``dims`` of ``a`` and ``b``: an int n (a's last n dims with b's
    first n) or two lists of dims, as ``torch.tensordot``."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0 or dims > min(a._data.ndim, b._data.ndim):
            raise RuntimeError(f"tensordot: expected 0 <= dims <= {min(a.ndim, b.ndim)} for "
                               f"{describe(a)} and {describe(b)}, got {dims}")
        dims_a = list(range(a._data.ndim - dims, a._data.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: both dimension lists should have the same length, got "
                           f"{dims_a} and {dims_b}")
    dims_a = [d % a._data.ndim for d in dims_a]
    dims_b = [d % b._data.ndim for d in dims_b]
    subs_a = _LETTERS[:a._data.ndim]
    free = iter(_LETTERS[a._data.ndim:])
    subs_b = "".join(subs_a[dims_a[dims_b.index(i)]] if i in dims_b else next(free)
                     for i in range(b._data.ndim))
    out = "".join(c for i, c in enumerate(subs_a) if i not in dims_a) + \
        "".join(c for i, c in enumerate(subs_b) if i not in dims_b)
    return einsum(f"{subs_a},{subs_b}->{out}", a, b)
