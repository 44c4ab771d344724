"""``parameters_to_vector`` / ``vector_to_parameters``: all parameters as one flat vector."""
from __future__ import annotations

from collections.abc import Iterable

from ... import ops
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the parameters, each flattened, into one 1-D tensor (differentiable)."""
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set the parameters' values from slices of ``vec`` (the inverse of
    ``parameters_to_vector``). Like PyTorch, each parameter's ``.data`` becomes a view of
    ``vec`` (no gradient is recorded)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        if pointer + n > vec.numel():
            raise RuntimeError(f"vector_to_parameters: vector of {vec.numel()} elements is too "
                               "short for the parameters")
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
