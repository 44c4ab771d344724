"""``Linear``, ``Bilinear``, ``Identity``: affine maps, with PyTorch's layout and init."""
from __future__ import annotations

import math

from ... import ops
from ..._device import check_device
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored); a placeholder
    when a layer is optional, e.g. ``model.fc = nn.Identity()``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if False, no additive bias is learned.

    Shape:
        input (*, in_features) -> output (*, out_features).

    Attributes:
        weight: (out_features, in_features), initialised from U(-k, k), k = 1/sqrt(in_features)
            (kaiming_uniform_ with a = sqrt(5), as PyTorch).
        bias: (out_features), initialised from U(-k, k).

    Example:
        >>> fc = nn.Linear(20, 30)
        >>> fc(chainrule.randn(128, 20)).shape
        chainrule.Size([128, 30])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(ops.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(ops.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class LazyLinear(Linear):
    """A Linear whose ``in_features`` is taken from the first input it sees."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self._lazy_bias, self._lazy_dtype = bias, dtype
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def forward(self, input):
        if self.weight is None:
            self.in_features = input.shape[-1]
            dtype = self._lazy_dtype or input.dtype
            self.weight = Parameter(ops.empty(self.out_features, self.in_features, dtype=dtype))
            if self._lazy_bias:
                self.bias = Parameter(ops.empty(self.out_features, dtype=dtype))
            self.reset_parameters()
        return F.linear(input, self.weight, self.bias)


class Bilinear(Module):
    """y = x1^T A x2 + b.

    Shape: input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features).
    weight (out_features, in1_features, in2_features) and bias from U(-k, k),
    k = 1/sqrt(in1_features).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        check_device(device, "Bilinear")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(ops.empty(out_features, in1_features, in2_features, dtype=dtype))
        if bias:
            self.bias = Parameter(ops.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
