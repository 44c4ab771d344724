"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d``, ``ConvTranspose1d``,
``ConvTranspose2d``.

Parameter names, shapes and default initialisation are PyTorch's, so state dicts interchange:
``weight`` is ``(out_channels, in_channels // groups, *kernel_size)`` for a convolution and
``(in_channels, out_channels // groups, *kernel_size)`` for a transposed one; both weight and
bias start uniform in ``±1/sqrt(fan_in)`` (PyTorch's ``kaiming_uniform_(a=sqrt(5))``), where
``fan_in = weight.size(1) * prod(kernel_size)``.
"""
from __future__ import annotations

import math

from ... import ops
from ...autograd import no_grad
from ...ops.conv import _ntuple
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, output_padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        n = self._dims
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n, name, "kernel_size")
        self.stride = _ntuple(stride, n, name, "stride")
        self.dilation = _ntuple(dilation, n, name, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, name, "padding")
        self.output_padding = _ntuple(output_padding, n, name, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(ops.empty(shape, dtype=dtype))
        self.bias = Parameter(ops.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ±1/sqrt(fan_in) for weight and bias (kaiming_uniform_ with a=sqrt(5))."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        with no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def _explicit_padding(self) -> tuple:
        """F.pad's argument for a non-zero padding_mode (last dim first)."""
        pads = []
        for k, d, p in zip(reversed(self.kernel_size), reversed(self.dilation),
                           reversed(self.padding) if not isinstance(self.padding, str)
                           else (None,) * self._dims):
            if self.padding == "valid":
                pads += [0, 0]
            elif self.padding == "same":
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            else:
                pads += [p, p]
        return tuple(pads)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding if isinstance(self.padding, str) else self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """Conv1d, Conv2d and Conv3d: ``_function`` (F.conv1d/2d/3d), after F.pad for a
    non-zero ``padding_mode``."""

    _function = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            input = F.pad(input, self._explicit_padding(), mode=self.padding_mode)
            return self._function(input, weight, bias, self.stride, 0, self.dilation,
                                  self.groups)
        return self._function(input, weight, bias, self.stride, self.padding, self.dilation,
                              self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv2d(_Conv):
    """2-D convolution layer: ``out = bias + sum_c weight[:, c] * input[c]`` (cross-correlation).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: int or pair. stride, dilation: int or pair (default 1).
        padding: int, pair, ``'valid'`` or ``'same'`` (default 0).
        groups: connections are blocked into this many groups (``in_channels`` = depthwise).
        bias: learn an additive bias (default True).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; output ``(N, C_out, H_out, W_out)``,
        ``H_out = floor((H + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``.

    Attributes:
        weight: ``(out_channels, in_channels // groups, kH, kW)``.
        bias: ``(out_channels,)``.

    Example:
        >>> conv = nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(chainrule.randn(64, 1, 28, 28)).shape
        chainrule.Size([64, 6, 28, 28])
    """

    _function = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution layer over ``(N, C_in, D, H, W)`` (video, volumes); weight
    ``(out, in // groups, kD, kH, kW)``; arguments as ``Conv2d`` with triples.

    Example:
        >>> nn.Conv3d(3, 8, 3, padding=1)(chainrule.randn(2, 3, 4, 16, 16)).shape
        chainrule.Size([2, 8, 4, 16, 16])
    """

    _dims = 3
    _function = staticmethod(F.conv3d)


class Conv1d(_Conv):
    """1-D convolution layer over ``(N, C_in, L)``; weight ``(out, in // groups, k)``.

    Arguments as ``Conv2d`` with single ints. ``L_out = floor((L + 2*padding -
    dilation*(k - 1) - 1) / stride) + 1``.

    Example:
        >>> nn.Conv1d(16, 33, 3, stride=2)(chainrule.randn(20, 16, 50)).shape
        chainrule.Size([20, 33, 24])
    """

    _dims = 1
    _function = staticmethod(F.conv1d)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """output_padding, or the one that makes the output exactly ``output_size``."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        wanted = tuple(output_size)[-n:]
        extra = []
        for i in range(n):
            size = input.shape[input.ndim - n + i]
            smallest = ((size - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            pad = wanted[i] - smallest
            if not 0 <= pad < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"{type(self).__name__}: requested an output size of "
                                 f"{list(wanted)}, but valid sizes range from {smallest} to "
                                 f"{smallest + max(self.stride[i], self.dilation[i]) - 1} "
                                 f"(for an input of {list(input.shape[2:])})")
            extra.append(pad)
        return tuple(extra)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer (the gradient of Conv2d with respect to its input).

    Often used to upsample: with ``stride=2`` each input pixel spreads a ``kH x kW`` patch of
    the weight onto a twice-as-large output.

    Shape:
        ``H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``.
        ``forward(input, output_size=None)`` picks output_padding to reach ``output_size``.

    Attributes:
        weight: ``(in_channels, out_channels // groups, kH, kW)``. bias: ``(out_channels,)``.

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        >>> up(chainrule.randn(1, 16, 7, 7)).shape
        chainrule.Size([1, 8, 14, 14])
    """

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer; weight ``(in_channels, out_channels // groups, k)``."""

    _dims = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride[0],
                                  self.padding[0], self._output_padding(input, output_size)[0],
                                  self.groups, self.dilation[0])
