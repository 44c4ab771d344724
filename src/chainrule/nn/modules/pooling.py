"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``,
``AdaptiveMaxPool1d/2d``. They hold no parameters; each calls its ``F.`` function.
"""
from __future__ import annotations

from ...ops.conv import _ntuple
from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d",
           "MaxUnpool2d", "MaxPool3d", "AvgPool3d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """The maximum of each ``kernel_size`` window of every channel.

    Args:
        kernel_size: window size. stride: step between windows (default: kernel_size).
        padding: implicit -inf padding (at most half the kernel). dilation: window spacing.
        return_indices: also return the flat positions of the maxima (for MaxUnpool2d).
        ceil_mode: round the output size up instead of down.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``,
        ``H_out = floor((H + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``.

    Example:
        >>> nn.MaxPool2d(2)(chainrule.randn(8, 6, 28, 28)).shape
        chainrule.Size([8, 6, 14, 14])
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Max pooling over ``(N, C, L)``; arguments as ``MaxPool2d`` with single ints."""

    def forward(self, input: Tensor):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool3d(_MaxPoolNd):
    """Max pooling over ``(N, C, D, H, W)``; arguments as ``MaxPool2d`` with triples.

    Example:
        >>> nn.MaxPool3d(2)(chainrule.randn(1, 3, 8, 16, 16)).shape
        chainrule.Size([1, 3, 4, 8, 8])
    """

    def forward(self, input: Tensor):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """The mean of each ``kernel_size`` window of every channel.

    Args:
        kernel_size, stride (default kernel_size), padding, ceil_mode: as ``MaxPool2d``.
        count_include_pad: count zero padding in the divisor (default True).
        divisor_override: divide window sums by this number instead.

    Example:
        >>> nn.AvgPool2d(2)(chainrule.ones(1, 1, 4, 4)).shape
        chainrule.Size([1, 1, 2, 2])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPoolNd):
    """Average pooling over ``(N, C, L)``; arguments as ``AvgPool2d`` with single ints."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        one = lambda v: _ntuple(v, 1, "AvgPool1d", "argument")  # noqa: E731 (as PyTorch)
        super().__init__(one(kernel_size), one(stride if stride is not None else kernel_size),
                         one(padding), ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _AdaptivePoolNd(Module):
    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling to a fixed output size, whatever the input size (``None`` keeps a dim).

    Output pixel ``i`` averages input rows ``[floor(i*H/OH), ceil((i+1)*H/OH))``, so the
    windows tile the input and overlap when the sizes don't divide.

    Example:
        >>> nn.AdaptiveAvgPool2d((1, 1))(chainrule.randn(2, 64, 7, 5)).shape
        chainrule.Size([2, 64, 1, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling of ``(N, C, L)`` to a fixed length."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    """Max pooling to a fixed output size (windows as in ``AdaptiveAvgPool2d``)."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    """Max pooling of ``(N, C, L)`` to a fixed length."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class _MaxUnpoolNd(Module):
    """Settings as PyTorch stores them: tuples, the stride defaulting to the kernel size."""

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _ntuple(kernel_size, self.dims, name, "kernel_size")
        self.stride = _ntuple(stride if stride is not None else kernel_size, self.dims, name,
                              "stride")
        self.padding = _ntuple(padding, self.dims, name, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        unpool = F.max_unpool2d if self.dims == 2 else F.max_unpool1d
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpoolNd):
    """Undo MaxPool2d where it can: each pooled value back at its max's position, zeros
    elsewhere (``forward(input, indices, output_size=None)``; see ``F.max_unpool2d``).

    Example:
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> y, idx = pool(chainrule.randn(1, 3, 6, 6))
        >>> unpool(y, idx).shape
        chainrule.Size([1, 3, 6, 6])
    """

    dims = 2


class MaxUnpool1d(_MaxUnpoolNd):
    """Undo MaxPool1d where it can (see ``MaxUnpool2d``)."""

    dims = 1


class AvgPool3d(_AvgPoolNd):
    """Average pooling over ``(N, C, D, H, W)``; arguments as ``AvgPool2d`` with triples."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)
