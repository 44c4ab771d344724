"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one to a Module attribute registers it,
    so it appears in ``parameters()`` and ``state_dict()``.

    Args:
        data: the initial values (a Tensor; shares its memory). ``None`` gives an empty tensor.
        requires_grad: whether the optimizer should learn it (default True).

    Example:
        >>> w = nn.Parameter(chainrule.zeros(3))
        >>> w
        Parameter containing:
        tensor([0., 0., 0.], requires_grad=True)
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor as data, got {type(data).__name__}")
        Tensor._init(self, data._data)
        self._version = data._version  # shares memory with `data`, so shares its versions too
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            result.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = result
        return result


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute
    (PyTorch's ``nn.Buffer``); ``persistent=False`` keeps it out of ``state_dict``."""

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from ..ops import empty
            data = empty(0)
        Tensor._init(self, data._data, requires_grad=data._requires_grad)
        self._version = data._version
        self.persistent = persistent


