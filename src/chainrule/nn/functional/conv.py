"""Convolutions as functions (``F.conv1d``, ``F.conv2d``, ``F.conv3d``, ``F.conv_transpose2d``,
``F.unfold``, ``F.fold``).

The 2-D ops are primitives in ``chainrule.ops.conv`` (im2col + one GEMM); the 1-D forms run
them on a height-1 image, and the 3-D one as a sum of 2-D convolutions (one per kernel depth
offset, over every output depth at once), so they share one tested kernel.
"""
from __future__ import annotations

from ...ops import conv as _conv
from ...ops._util import describe
from ...ops.resize import pad as _pad
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "unfold",
           "fold"]

conv2d = _conv.conv2d
conv_transpose2d = _conv.conv_transpose2d
unfold = _conv.unfold
fold = _conv.fold


def _one(value, op: str, name: str) -> int:
    return _conv._ntuple(value, 1, op, name)[0]


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over ``(N, C_in, L)`` (or ``(C_in, L)``) with weight
    ``(C_out, C_in / groups, k)``; arguments as ``conv2d`` (padding: int, 'same' or 'valid').

    Shape:
        ``L_out = floor((L + 2*padding - dilation*(k - 1) - 1) / stride) + 1``.

    Example:
        >>> conv1d(chainrule.randn(4, 2, 50), chainrule.randn(8, 2, 5)).shape
        chainrule.Size([4, 8, 46])
    """
    op = "conv1d"
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D input (N, C, L) or 2-D (C, L) and a 3-D weight "
                           f"(C_out, C_in/groups, k), got input {describe(input)} and weight "
                           f"{describe(weight)}")
    pad = padding if isinstance(padding, str) else (0, _one(padding, op, "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _one(stride, op, "stride")),
                 pad, (1, _one(dilation, op, "dilation")), groups)
    return out.squeeze(-2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution; weight ``(C_in, C_out / groups, k)``. See conv_transpose2d."""
    op = "conv_transpose1d"
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D input and a 3-D weight, got input "
                           f"{describe(input)} and weight {describe(weight)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                           (1, _one(stride, op, "stride")), (0, _one(padding, op, "padding")),
                           (0, _one(output_padding, op, "output_padding")), groups,
                           (1, _one(dilation, op, "dilation")))
    return out.squeeze(-2)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution over ``(N, C_in, D, H, W)`` (or ``(C_in, D, H, W)``) with weight
    ``(C_out, C_in / groups, kD, kH, kW)``; arguments as ``conv2d``, with triples.

    It is a sum over the kernel's depth offsets t of 2-D convolutions: the input's depth
    slices ``t*dilation + d*stride`` for every output depth d, batched as one 2-D convolution
    with ``weight[:, :, t]``. So kD calls of the im2col kernel, differentiable to any order.

    Shape:
        ``D_out = floor((D + 2*padding - dilation*(kD - 1) - 1) / stride) + 1``, same for H, W.

    Example:
        >>> conv3d(chainrule.randn(2, 3, 8, 16, 16), chainrule.randn(4, 3, 3, 3, 3)).shape
        chainrule.Size([2, 4, 6, 14, 14])
    """
    op = "conv3d"
    if input.ndim not in (4, 5) or weight.ndim != 5:
        raise RuntimeError(f"{op}: expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W) and "
                           f"a 5-D weight (C_out, C_in/groups, kD, kH, kW), got input "
                           f"{describe(input)} and weight {describe(weight)}")
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    n, c, depth = x.shape[:3]
    o, cg, kd = weight.shape[:3]
    if cg * int(groups) != c:
        raise RuntimeError(f"{op}: given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {cg * int(groups)} channels, "
                           f"but got {c} channels instead")
    sd, sh, sw = _conv._ntuple(stride, 3, op, "stride")
    dd, dh, dw = _conv._ntuple(dilation, 3, op, "dilation")
    if isinstance(padding, str):
        pads = _conv.conv_padding(op, padding, tuple(weight.shape[2:]), (sd, sh, sw),
                                  (dd, dh, dw))
        front, back, hw_padding = pads[0], pads[1], padding
    else:
        pd, ph, pw = _conv._ntuple(padding, 3, op, "padding")
        front, back, hw_padding = pd, pd, (ph, pw)
    if front or back:
        x = _pad(x, (0, 0, 0, 0, front, back))
    span = dd * (kd - 1) + 1
    d_out = (depth + front + back - span) // sd + 1
    if d_out < 1:
        raise RuntimeError(f"{op}: the kernel's depth {kd} (dilation {dd}) does not fit the "
                           f"padded input depth {depth + front + back} of {describe(input)}")
    total = None
    for t in range(kd):
        # depth slices t*dd, t*dd + sd, ...: (N, C, D_out, H, W) -> (N*D_out, C, H, W)
        part = x.narrow(2, t * dd, sd * (d_out - 1) + 1)[:, :, ::sd]
        part = part.transpose(1, 2).reshape(n * d_out, c, *x.shape[3:])
        y = conv2d(part, weight[:, :, t], None, (sh, sw), hw_padding, (dh, dw), groups)
        total = y if total is None else total + y
    out = total.reshape(n, d_out, o, *total.shape[2:]).transpose(1, 2).contiguous()
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1, 1)
    return out.squeeze(0) if unbatched else out
