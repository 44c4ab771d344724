"""ONNX nodes for chainrule's layers, one ``emit_<Layer>`` function per layer class.

Each receives the exporter (``onnx_export.Emitter``), the traced module call (``node.module``
is the layer, ``node.args`` its arguments as Refs) and ``inp(ref)`` (the ONNX name of an
argument); it returns the ONNX names of the call's outputs, flattened in order (LSTM: output,
h_n, c_n). Weights are initializers named as in the state dict (``"features.0.weight"``).
The export is of inference: Dropout is the identity and BatchNorm uses running statistics.

Recurrent layers and cells are in ``onnx_recurrent`` (re-exported here).
"""
from __future__ import annotations

import math

import numpy as np

from .tracing import Ref


def _error(node, what: str):
    from .onnx_export import OnnxExportError
    layer = type(node.module).__name__
    return OnnxExportError(f"export_onnx: layer {layer} (at '{node.target}') {what}")


def _x(node, inp) -> str:
    if len(node.args) != 1 or node.kwargs:
        raise _error(node, "was called with more than one argument; ONNX export supports one "
                           "input tensor for it")
    return inp(node.args[0])


def _in_shape(em, node) -> tuple:
    ref = node.args[0]
    if isinstance(ref, Ref) and ref.kind == "value":
        return em.shape(ref.target)
    return np.shape(em.array(ref.target) if ref.kind == "param" else ref.target)


def _p(node, name: str) -> str:
    return f"{node.target}.{name}" if node.target else name


def _tuple(v, n: int) -> list:
    return [int(a) for a in v] if isinstance(v, (tuple, list)) else [int(v)] * n


def _dtype(em, node):
    return em.dtype(node.outputs[0])


def _scalar(em, node, value) -> str:
    return em.const(np.asarray(value, dtype=_dtype(em, node)))


# -- linear, embedding, shape -----------------------------------------------------------------

def emit_Linear(em, node, inp):
    x = _x(node, inp)
    m = node.module
    rank = len(_in_shape(em, node))
    bias = em.param(_p(node, "bias")) if m.bias is not None else None
    if rank == 2:
        return em.node("Gemm", [x, em.param(_p(node, "weight"))] + ([bias] if bias else []),
                       transB=1)
    y = em.node("MatMul", [x, em.param(_p(node, "weight"), np.transpose, "_transposed")])
    return em.node("Add", [y, bias]) if bias else y


def emit_Identity(em, node, inp):
    return em.node("Identity", [_x(node, inp)])


emit_Dropout = emit_Dropout1d = emit_Dropout2d = emit_AlphaDropout = emit_Identity


def emit_Embedding(em, node, inp):
    m = node.module
    if m.max_norm is not None:
        raise _error(node, "with max_norm is not supported (it rescales the weights during "
                           "the forward)")
    # Gather takes int32 or int64 indices, as Embedding does.
    return em.node("Gather", [em.param(_p(node, "weight")), _x(node, inp)], axis=0)


def emit_Flatten(em, node, inp):
    x = _x(node, inp)
    shape = _in_shape(em, node)
    rank = len(shape)
    start = node.module.start_dim % rank if rank else 0
    end = node.module.end_dim % rank if rank else 0
    if end == rank - 1:
        if start == 0:
            return em.node("Reshape", [x, em.ints([-1])])
        if start == 1:
            return em.node("Flatten", [x], axis=1)
    # 0 copies the input's size: the dims before start (the batch) stay dynamic.
    target = [0] * start + [-1] + [int(s) for s in shape[end + 1:]]
    return em.node("Reshape", [x, em.ints(target, "shape")])


def emit_Unflatten(em, node, inp):
    x = _x(node, inp)
    shape = _in_shape(em, node)
    dim = node.module.dim % len(shape)
    sizes = [int(s) for s in node.module.unflattened_size]
    return em.node("Reshape", [x, em.ints([0] * dim + sizes + [int(s) for s in shape[dim + 1:]],
                                          "shape")])


# -- activations ------------------------------------------------------------------------------

def _simple(op_type: str, **fixed):
    def emit(em, node, inp):
        return em.node(op_type, [_x(node, inp)], **fixed)
    return emit


emit_ReLU = _simple("Relu")
emit_Sigmoid = _simple("Sigmoid")
emit_Tanh = _simple("Tanh")
emit_Softsign = _simple("Softsign")
emit_SELU = _simple("Selu")
emit_Hardswish = _simple("HardSwish")
emit_Hardsigmoid = _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5)


def emit_LeakyReLU(em, node, inp):
    return em.node("LeakyRelu", [_x(node, inp)], alpha=float(node.module.negative_slope))


def emit_RReLU(em, node, inp):
    # Exported for inference: the evaluation-mode slope, the mean of [lower, upper].
    m = node.module
    return em.node("LeakyRelu", [_x(node, inp)], alpha=(float(m.lower) + float(m.upper)) / 2)


def emit_Softshrink(em, node, inp):
    lambd = float(node.module.lambd)
    return em.node("Shrink", [_x(node, inp)], bias=lambd, lambd=lambd)


def emit_Hardshrink(em, node, inp):
    return em.node("Shrink", [_x(node, inp)], bias=0.0, lambd=float(node.module.lambd))


def emit_ELU(em, node, inp):
    return em.node("Elu", [_x(node, inp)], alpha=float(node.module.alpha))


def emit_CELU(em, node, inp):
    return em.node("Celu", [_x(node, inp)], alpha=float(node.module.alpha))


def _clip(em, node, x, lo, hi):
    return em.node("Clip", [x, _scalar(em, node, lo), _scalar(em, node, hi)])


def emit_ReLU6(em, node, inp):
    return _clip(em, node, _x(node, inp), 0.0, 6.0)


def emit_Hardtanh(em, node, inp):
    m = node.module
    return _clip(em, node, _x(node, inp), m.min_val, m.max_val)


def gelu(em, node, x: str, approximate: str) -> str:
    """GELU: native from opset 20, else 0.5 x (1 + erf(x / sqrt 2)) (or its tanh form)."""
    if em.opset >= 20:
        return em.node("Gelu", [x], approximate=approximate)
    half, one = _scalar(em, node, 0.5), _scalar(em, node, 1.0)
    if approximate == "tanh":
        cube = em.node("Mul", [em.node("Mul", [x, x]), x])
        inner = em.node("Add", [x, em.node("Mul", [cube, _scalar(em, node, 0.044715)])])
        t = em.node("Tanh", [em.node("Mul", [inner, _scalar(em, node,
                                                             math.sqrt(2.0 / math.pi))])])
    else:
        t = em.node("Erf", [em.node("Div", [x, _scalar(em, node, math.sqrt(2.0))])])
    return em.node("Mul", [em.node("Mul", [x, half]), em.node("Add", [t, one])])


def emit_GELU(em, node, inp):
    return gelu(em, node, _x(node, inp), getattr(node.module, "approximate", "none"))


def emit_SiLU(em, node, inp):
    x = _x(node, inp)
    return em.node("Mul", [x, em.node("Sigmoid", [x])])


def emit_Mish(em, node, inp):
    x = _x(node, inp)
    return em.node("Mul", [x, em.node("Tanh", [em.node("Softplus", [x])])])


def emit_Softplus(em, node, inp):
    # PyTorch: log(1 + exp(beta x)) / beta, and x itself where beta x > threshold.
    x = _x(node, inp)
    m = node.module
    beta, threshold = float(m.beta), float(m.threshold)
    bx = em.node("Mul", [x, _scalar(em, node, beta)]) if beta != 1 else x
    soft = em.node("Softplus", [bx])
    if beta != 1:
        soft = em.node("Div", [soft, _scalar(em, node, beta)])
    linear = em.node("Greater", [bx, _scalar(em, node, threshold)])
    return em.node("Where", [linear, x, soft])


def emit_Tanhshrink(em, node, inp):
    x = _x(node, inp)
    return em.node("Sub", [x, em.node("Tanh", [x])])


def emit_LogSigmoid(em, node, inp):
    x = _x(node, inp)
    return em.node("Neg", [em.node("Softplus", [em.node("Neg", [x])])])


def emit_PReLU(em, node, inp):
    x = _x(node, inp)
    rank = len(_in_shape(em, node))
    weight = em.array(_p(node, "weight"))
    # The slope is per channel (dim 1): shape it (C, 1, ..., 1) to broadcast from dim 1 on.
    shape = (weight.shape[0],) + (1,) * max(rank - 2, 0) if weight.size > 1 else (1,)
    slope = em.param(_p(node, "weight"), lambda w: w.reshape(shape), "_broadcast")
    return em.node("PRelu", [x, slope])


def _softmax_dim(node) -> int:
    dim = node.module.dim
    if dim is None:
        raise _error(node, "with dim=None is not supported (pass dim explicitly)")
    return int(dim)


def emit_Softmax(em, node, inp):
    return em.node("Softmax", [_x(node, inp)], axis=_softmax_dim(node))


def emit_LogSoftmax(em, node, inp):
    return em.node("LogSoftmax", [_x(node, inp)], axis=_softmax_dim(node))


def emit_Softmin(em, node, inp):
    return em.node("Softmax", [em.node("Neg", [_x(node, inp)])], axis=_softmax_dim(node))


# -- normalisation ----------------------------------------------------------------------------

def _affine(em, node, name: str, n: int, fill: float) -> str:
    if getattr(node.module, name, None) is not None:
        return em.param(_p(node, name))
    return em.const(np.full((n,), fill, dtype=_dtype(em, node)), name)


def emit_BatchNorm1d(em, node, inp):
    m = node.module
    if m.running_mean is None:
        raise _error(node, "with track_running_stats=False is not supported (it normalises "
                           "with batch statistics even in eval mode)")
    x = _x(node, inp)
    c = m.num_features
    return em.node("BatchNormalization",
                   [x, _affine(em, node, "weight", c, 1.0), _affine(em, node, "bias", c, 0.0),
                    em.param(_p(node, "running_mean")), em.param(_p(node, "running_var"))],
                   epsilon=float(m.eps))


emit_BatchNorm2d = emit_BatchNorm1d


def emit_LayerNorm(em, node, inp):
    m = node.module
    x = _x(node, inp)
    shape = tuple(m.normalized_shape)
    n = int(np.prod(shape))

    def affine(name, fill):
        if getattr(m, name, None) is not None:
            return em.param(_p(node, name))
        return em.const(np.full(shape, fill, dtype=_dtype(em, node)), name)
    return em.node("LayerNormalization", [x, affine("weight", 1.0), affine("bias", 0.0)],
                   axis=-len(shape), epsilon=float(m.eps)) if n else x


def emit_GroupNorm(em, node, inp):
    # (N, C, *) -> (N, G, -1), normalise over the last axis, back, then the per-channel affine.
    m = node.module
    x = _x(node, inp)
    rank = len(_in_shape(em, node))
    grouped = em.node("Reshape", [x, em.ints([0, int(m.num_groups), -1])])
    mean = em.reduce("ReduceMean", grouped, [2], True)
    centred = em.node("Sub", [grouped, mean])
    var = em.reduce("ReduceMean", em.node("Mul", [centred, centred]), [2], True)
    std = em.node("Sqrt", [em.node("Add", [var, _scalar(em, node, m.eps)])])
    y = em.node("Reshape", [em.node("Div", [centred, std]), em.node("Shape", [x])])
    if m.weight is not None:
        channel = (int(m.num_channels),) + (1,) * (rank - 2)
        y = em.node("Mul", [y, em.param(_p(node, "weight"), lambda w: w.reshape(channel),
                                        "_broadcast")])
        y = em.node("Add", [y, em.param(_p(node, "bias"), lambda b: b.reshape(channel),
                                        "_broadcast")])
    return y


# -- convolution and pooling ------------------------------------------------------------------

def _conv_pads(node, n: int) -> list:
    m = node.module
    padding = m.padding
    kernel = _tuple(m.kernel_size, n)
    dilation = _tuple(m.dilation, n)
    if padding == "valid":
        return [0] * (2 * n)
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]  # extra on the right
    pads = _tuple(padding, n)
    return pads + pads


def _conv(em, node, inp, n: int, transposed: bool):
    m = node.module
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise _error(node, f"with padding_mode={m.padding_mode!r} is not supported (only "
                           "'zeros')")
    x = _x(node, inp)
    inputs = [x, em.param(_p(node, "weight"))]
    if m.bias is not None:
        inputs.append(em.param(_p(node, "bias")))
    attrs = {"kernel_shape": _tuple(m.kernel_size, n), "strides": _tuple(m.stride, n),
             "dilations": _tuple(m.dilation, n), "group": int(m.groups),
             "pads": _conv_pads(node, n)}
    if transposed:
        attrs["output_padding"] = _tuple(m.output_padding, n)
        return em.node("ConvTranspose", inputs, **attrs)
    return em.node("Conv", inputs, **attrs)


def emit_Conv1d(em, node, inp):
    return _conv(em, node, inp, 1, False)


def emit_Conv2d(em, node, inp):
    return _conv(em, node, inp, 2, False)


def emit_Conv3d(em, node, inp):
    return _conv(em, node, inp, 3, False)


def emit_ConvTranspose1d(em, node, inp):
    return _conv(em, node, inp, 1, True)


def emit_ConvTranspose2d(em, node, inp):
    return _conv(em, node, inp, 2, True)


def _pool(em, node, inp, n: int, op_type: str):
    m = node.module
    x = _x(node, inp)
    kernel = _tuple(m.kernel_size, n)
    stride = _tuple(m.stride if m.stride is not None and m.stride != () else m.kernel_size, n)
    pads = _tuple(m.padding, n)
    attrs = {"kernel_shape": kernel, "strides": stride, "pads": pads + pads,
             "ceil_mode": int(bool(m.ceil_mode))}
    if op_type == "MaxPool":
        if getattr(m, "return_indices", False):
            raise _error(node, "with return_indices=True is not supported")
        attrs["dilations"] = _tuple(getattr(m, "dilation", 1), n)
    else:
        if getattr(m, "divisor_override", None):
            raise _error(node, "with divisor_override is not supported")
        attrs["count_include_pad"] = int(bool(m.count_include_pad))
    return em.node(op_type, [x], **attrs)


def emit_MaxPool1d(em, node, inp):
    return _pool(em, node, inp, 1, "MaxPool")


def emit_MaxPool2d(em, node, inp):
    return _pool(em, node, inp, 2, "MaxPool")


def emit_MaxPool3d(em, node, inp):
    return _pool(em, node, inp, 3, "MaxPool")


def emit_AvgPool1d(em, node, inp):
    return _pool(em, node, inp, 1, "AveragePool")


def emit_AvgPool2d(em, node, inp):
    return _pool(em, node, inp, 2, "AveragePool")


def emit_AvgPool3d(em, node, inp):
    return _pool(em, node, inp, 3, "AveragePool")


def _adaptive(em, node, inp, n: int, kind: str):
    x = _x(node, inp)
    spatial = [int(s) for s in _in_shape(em, node)[-n:]]
    out = node.module.output_size
    out = [out] * n if not isinstance(out, (tuple, list)) else list(out)
    out = [s if o is None else int(o) for o, s in zip(out, spatial)]
    if all(o == 1 for o in out):
        return em.node("GlobalAveragePool" if kind == "Avg" else "GlobalMaxPool", [x])
    if any(s % o for s, o in zip(spatial, out)):
        raise _error(node, f"with output size {out} that does not divide the input size "
                           f"{spatial} is not supported (its windows overlap unevenly)")
    kernel = [s // o for s, o in zip(spatial, out)]
    return em.node("AveragePool" if kind == "Avg" else "MaxPool", [x], kernel_shape=kernel,
                   strides=kernel)


def emit_AdaptiveAvgPool1d(em, node, inp):
    return _adaptive(em, node, inp, 1, "Avg")


def emit_AdaptiveAvgPool2d(em, node, inp):
    return _adaptive(em, node, inp, 2, "Avg")


def emit_AdaptiveMaxPool1d(em, node, inp):
    if getattr(node.module, "return_indices", False):
        raise _error(node, "with return_indices=True is not supported")
    return _adaptive(em, node, inp, 1, "Max")


def emit_AdaptiveMaxPool2d(em, node, inp):
    if getattr(node.module, "return_indices", False):
        raise _error(node, "with return_indices=True is not supported")
    return _adaptive(em, node, inp, 2, "Max")


# -- more layers --------------------------------------------------------------------------------

emit_Dropout3d = emit_Identity


def emit_Threshold(em, node, inp):
    # y = x where x > threshold, else value.
    x = _x(node, inp)
    m = node.module
    keep = em.node("Greater", [x, _scalar(em, node, m.threshold)])
    return em.node("Where", [keep, x, _scalar(em, node, m.value)])


def emit_GLU(em, node, inp):
    # a * sigmoid(b), a and b the two halves along dim.
    x = _x(node, inp)
    a, b = em.node("Split", [x], n_outputs=2, axis=int(node.module.dim), num_outputs=2) \
        if em.opset >= 18 else em.node("Split", [x], n_outputs=2, axis=int(node.module.dim))
    return em.node("Mul", [a, em.node("Sigmoid", [b])])


def emit_RMSNorm(em, node, inp):
    # x / sqrt(mean(x^2 over the normalised dims) + eps) * weight.
    m = node.module
    x = _x(node, inp)
    n = len(m.normalized_shape)
    eps = m.eps if m.eps is not None else float(np.finfo(_dtype(em, node)).eps)
    axes = list(range(-n, 0))
    mean_sq = em.reduce("ReduceMean", em.node("Mul", [x, x]), axes, True)
    y = em.node("Div", [x, em.node("Sqrt", [em.node("Add", [mean_sq, _scalar(em, node, eps)])])])
    if getattr(m, "weight", None) is not None:
        y = em.node("Mul", [y, em.param(_p(node, "weight"))])
    return y


def emit_Bilinear(em, node, inp):
    # y_k = x1^T W_k x2 + b_k: (x1 @ W.reshape) as one MatMul, then a product-sum with x2.
    if len(node.args) != 2:
        raise _error(node, "expects two inputs")
    m = node.module
    x1, x2 = inp(node.args[0]), inp(node.args[1])
    o, i1, i2 = (int(s) for s in em.array(_p(node, "weight")).shape)
    # W (O, I1, I2) -> (I1, O*I2): x1 @ that is (B, O*I2), reshaped (B, O, I2).
    w = em.param(_p(node, "weight"), lambda a: a.transpose(1, 0, 2).reshape(i1, o * i2),
                 "_matrix")
    t = em.node("Reshape", [em.node("MatMul", [x1, w]), em.ints([0, o, i2], "shape")])
    y = em.reduce("ReduceSum", em.node("Mul", [t, em.node("Unsqueeze", [
        x2, em.ints([1], "axes")])]), [2], False)
    return em.node("Add", [y, em.param(_p(node, "bias"))]) if m.bias is not None else y


def _upsample(em, node, inp, mode: str, align_corners):
    m = node.module
    x = _x(node, inp)
    shape = _in_shape(em, node)
    out_shape = em.shape(node.outputs[0])
    if mode not in ("nearest", "bilinear", "linear"):
        raise _error(node, f"with mode={mode!r} is not supported (nearest, linear, bilinear)")
    attrs = {"mode": "nearest" if mode == "nearest" else "linear"}
    if mode == "nearest":
        attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs["coordinate_transformation_mode"] = \
            "align_corners" if align_corners else "pytorch_half_pixel"
    if m.scale_factor is not None and not getattr(m, "recompute_scale_factor", None):
        factors = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else \
            [m.scale_factor] * (len(shape) - 2)
        scales = em.const(np.asarray([1.0, 1.0] + [float(f) for f in factors],
                                     dtype=np.float32), "scales")
        return em.node("Resize", [x, "", scales], **attrs)
    # A target size: the batch and channels from the input, the spatial sizes fixed.
    head = em.node("Slice", [em.node("Shape", [x]), em.ints([0]), em.ints([2]), em.ints([0])])
    sizes = em.node("Concat", [head, em.ints(out_shape[2:], "sizes")], axis=0)
    return em.node("Resize", [x, "", "", sizes], **attrs)


def emit_Upsample(em, node, inp):
    return _upsample(em, node, inp, node.module.mode, node.module.align_corners)


def emit_UpsamplingNearest2d(em, node, inp):
    return _upsample(em, node, inp, "nearest", None)


def emit_UpsamplingBilinear2d(em, node, inp):
    return _upsample(em, node, inp, "bilinear", True)


# -- padding, pixel shuffle, instance norm ------------------------------------------------------

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


def _pad(em, node, inp):
    # F.pad's (left, right) for the last dim first -> ONNX's all begins, then all ends.
    m = node.module
    x = _x(node, inp)
    rank = len(_in_shape(em, node))
    if m.mode == "circular" and em.opset < 19:
        raise _error(node, f"needs opset 19 or later (Pad's 'wrap' mode), got opset {em.opset}")
    pairs = [(0, 0)] * rank
    for i in range(len(m.padding) // 2):
        pairs[rank - 1 - i] = (m.padding[2 * i], m.padding[2 * i + 1])
    pads = em.ints([lo for lo, _ in pairs] + [hi for _, hi in pairs], "pads")
    inputs = [x, pads]
    if m.mode == "constant":
        inputs.append(_scalar(em, node, getattr(m, "value", 0.0)))
    return em.node("Pad", inputs, mode=_PAD_MODES[m.mode])


emit_ConstantPad1d = emit_ConstantPad2d = emit_ConstantPad3d = _pad
emit_ZeroPad1d = emit_ZeroPad2d = emit_ZeroPad3d = _pad
emit_ReflectionPad1d = emit_ReflectionPad2d = emit_ReflectionPad3d = _pad
emit_ReplicationPad1d = emit_ReplicationPad2d = emit_ReplicationPad3d = _pad
emit_CircularPad1d = emit_CircularPad2d = emit_CircularPad3d = _pad


def _four_d(em, node) -> tuple:
    shape = _in_shape(em, node)
    if len(shape) != 4:
        raise _error(node, f"is exported for 4-D (N, C, H, W) input only, got shape {shape}")
    return shape


def emit_PixelShuffle(em, node, inp):
    _four_d(em, node)
    return em.node("DepthToSpace", [_x(node, inp)], blocksize=int(node.module.upscale_factor),
                   mode="CRD")


def emit_PixelUnshuffle(em, node, inp):
    # (N, C, H*r, W*r) -> (N, C, H, r, W, r) -> (N, C, r, r, H, W) -> (N, C*r*r, H, W); ONNX's
    # SpaceToDepth orders the channels the other way (block offset first).
    _, c, h, w = _four_d(em, node)
    r = int(node.module.downscale_factor)
    blocks = em.node("Reshape", [_x(node, inp), em.ints([0, c, h // r, r, w // r, r], "shape")])
    moved = em.node("Transpose", [blocks], perm=[0, 1, 3, 5, 2, 4])
    return em.node("Reshape", [moved, em.ints([0, c * r * r, h // r, w // r], "shape")])


def emit_InstanceNorm1d(em, node, inp):
    m = node.module
    if len(_in_shape(em, node)) == m.no_batch_dims:
        raise _error(node, "is exported for batched input only")
    if m.running_mean is not None:  # inference with running statistics: a batch norm
        return emit_BatchNorm1d(em, node, inp)
    c = m.num_features
    return em.node("InstanceNormalization",
                   [_x(node, inp), _affine(em, node, "weight", c, 1.0),
                    _affine(em, node, "bias", c, 0.0)], epsilon=float(m.eps))


emit_InstanceNorm2d = emit_InstanceNorm3d = emit_InstanceNorm1d


def emit_LocalResponseNorm(em, node, inp):
    m = node.module
    if m.size % 2 == 0:  # ONNX centres an even window one channel later than PyTorch
        raise _error(node, f"with an even size ({m.size}) is not supported: ONNX's LRN "
                           "places an even window one channel off PyTorch's")
    return em.node("LRN", [_x(node, inp)], alpha=float(m.alpha), beta=float(m.beta),
                   bias=float(m.k), size=int(m.size))

# The recurrent layers and cells live in their own file; the exporter looks them up here.
from .onnx_recurrent import emit_GRU, emit_GRUCell, emit_LSTM, emit_LSTMCell, emit_RNN, emit_RNNCell  # noqa: E402,F401 - after the emitters it builds on
