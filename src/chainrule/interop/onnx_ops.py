"""ONNX nodes for the primitive ops a traced user forward performs between layers.

Each ``emit_<OpClass>(em, node, inp)`` receives the exporter (``onnx_export.Emitter``), the
traced node (``node.target`` is the op object, whose attributes say what it did) and
``inp(ref)``, which gives the ONNX name of an argument; it returns the output name(s).
Ops without an ``emit_`` function here are reported by name as unsupported.
"""
from __future__ import annotations

import numpy as np

from .tracing import Ref

_INT64_MAX = np.iinfo(np.int64).max


def _args(node, inp) -> list:
    return [inp(a) for a in node.args]


def _in_shape(em, node, i: int = 0) -> tuple:
    ref = node.args[i]
    if isinstance(ref, Ref) and ref.kind == "value":
        return em.shape(ref.target)
    if isinstance(ref, Ref) and ref.kind == "param":
        return tuple(em.array(ref.target).shape)
    return np.shape(ref.target)


def _elementwise(op_type: str):
    def emit(em, node, inp):
        return em.node(op_type, _args(node, inp))
    emit.__doc__ = f"ONNX {op_type}."
    return emit


emit_Add = _elementwise("Add")
emit_Sub = _elementwise("Sub")
emit_Mul = _elementwise("Mul")
emit_Div = _elementwise("Div")
emit_Pow = _elementwise("Pow")
emit_Neg = _elementwise("Neg")
emit_Exp = _elementwise("Exp")
emit_Log = _elementwise("Log")
emit_Sqrt = _elementwise("Sqrt")
emit_Abs = _elementwise("Abs")
emit_Sin = _elementwise("Sin")
emit_Cos = _elementwise("Cos")
emit_Tanh = _elementwise("Tanh")
emit_Sigmoid = _elementwise("Sigmoid")
emit_Relu = _elementwise("Relu")
emit_Matmul = _elementwise("MatMul")
emit_Maximum = _elementwise("Max")
emit_Minimum = _elementwise("Min")
emit_Clone = _elementwise("Identity")


def emit_Rsqrt(em, node, inp):
    x = inp(node.args[0])
    return em.node("Reciprocal", [em.node("Sqrt", [x])])


def emit_Expm1(em, node, inp):
    x = inp(node.args[0])
    one = em.const(np.asarray(1, dtype=em.dtype(node.outputs[0])))
    return em.node("Sub", [em.node("Exp", [x]), one])


def emit_Log1p(em, node, inp):
    x = inp(node.args[0])
    one = em.const(np.asarray(1, dtype=em.dtype(node.outputs[0])))
    return em.node("Log", [em.node("Add", [x, one])])


def emit_PowScalar(em, node, inp):
    x = inp(node.args[0])
    exponent = em.const(np.asarray(node.target.exponent, dtype=em.dtype(node.outputs[0])))
    return em.node("Pow", [x, exponent])


def emit_Clamp(em, node, inp):
    x = inp(node.args[0])
    dtype = em.dtype(node.outputs[0])
    op = node.target
    lo = em.const(np.asarray(op.lo, dtype=dtype)) if op.lo is not None else ""
    hi = em.const(np.asarray(op.hi, dtype=dtype)) if op.hi is not None else ""
    return em.node("Clip", [x, lo, hi])


def emit_Reshape(em, node, inp):
    shape = node.dynamic_shape or node.target.shape
    return em.node("Reshape", [inp(node.args[0]), em.ints(shape, "shape")])


def emit_Expand(em, node, inp):
    # ONNX Expand broadcasts like NumPy; -1 (a batch-sized dim) becomes 1, which broadcasts.
    shape = [1 if s == -1 else s for s in (node.dynamic_shape or node.target.shape)]
    return em.node("Expand", [inp(node.args[0]), em.ints(shape, "shape")])


def emit_Permute(em, node, inp):
    return em.node("Transpose", [inp(node.args[0])], perm=[int(d) for d in node.target.dims])


def emit_Cat(em, node, inp):
    return em.node("Concat", _args(node, inp), axis=int(node.target.dim))


def emit_Stack(em, node, inp):
    dim = int(node.target.dim)
    axes = em.ints([dim], "axes")
    parts = [em.node("Unsqueeze", [x, axes]) for x in _args(node, inp)]
    return em.node("Concat", parts, axis=dim)


def _dims(em, node):
    dims = node.target.dims
    if dims is None:
        dims = range(len(_in_shape(em, node)))
    return [int(d) for d in dims]


def emit_Sum(em, node, inp):
    return em.reduce("ReduceSum", inp(node.args[0]), _dims(em, node), node.target.keepdim)


def emit_Mean(em, node, inp):
    return em.reduce("ReduceMean", inp(node.args[0]), _dims(em, node), node.target.keepdim)


def emit_Amax(em, node, inp):
    kind = "ReduceMax" if node.target.np_fn is np.max else "ReduceMin"
    return em.reduce(kind, inp(node.args[0]), _dims(em, node), node.target.keepdim)


def emit_Softmax(em, node, inp):
    return em.node("Softmax", [inp(node.args[0])], axis=int(node.target.dim))


def emit_LogSoftmax(em, node, inp):
    return em.node("LogSoftmax", [inp(node.args[0])], axis=int(node.target.dim))


def emit_ToDtype(em, node, inp):
    from onnx import helper
    to = helper.np_dtype_to_tensor_dtype(np.dtype(node.target.np_dtype))
    return em.node("Cast", [inp(node.args[0])], to=int(to))


def emit_Where(em, node, inp):
    condition = em.const(np.asarray(node.target.condition, dtype=bool), "condition")
    return em.node("Where", [condition] + _args(node, inp))


def emit_GetItem(em, node, inp):
    """Basic indexing (ints, slices, None, Ellipsis) plus at most one integer-array index."""
    from .onnx_export import OnnxExportError
    x = inp(node.args[0])
    rank = len(_in_shape(em, node))
    index = node.target.index if isinstance(node.target.index, tuple) else (node.target.index,)
    n_real = sum(1 for it in index if it is not None and it is not Ellipsis)
    if sum(1 for it in index if isinstance(it, np.ndarray)) > 1:
        raise OnnxExportError("export_onnx: op GetItem with more than one tensor index is not "
                              "supported by ONNX export")
    axis = 0
    for position, item in enumerate(index):
        if item is Ellipsis:
            axis += rank - n_real  # the dims the Ellipsis stands for
        elif item is None:
            x = em.node("Unsqueeze", [x, em.ints([axis], "axes")])
            axis += 1
        elif isinstance(item, slice):
            if item != slice(None):
                start = 0 if item.start is None else int(item.start)
                stop = _INT64_MAX if item.stop is None else int(item.stop)
                step = 1 if item.step is None else int(item.step)
                x = em.node("Slice", [x, em.ints([start]), em.ints([stop]), em.ints([axis]),
                                      em.ints([step])])
            axis += 1
        elif isinstance(item, (int, np.integer)):
            x = em.node("Gather", [x, em.const(np.asarray(int(item), dtype=np.int64))],
                        axis=axis)  # a scalar index removes the axis
        elif isinstance(item, np.ndarray):
            ref = node.array_refs.get(("index", position))
            if ref is not None:  # the index is a traced tensor: read it at run time
                if item.dtype == np.bool_:
                    raise OnnxExportError("export_onnx: op GetItem with a boolean mask tensor "
                                          "is not supported by ONNX export")
                x = em.node("Gather", [x, inp(ref)], axis=axis)
                axis += item.ndim
                continue
            if item.dtype == np.bool_:
                raise OnnxExportError("export_onnx: op GetItem with a boolean mask is not "
                                      "supported by ONNX export (its output size depends on the "
                                      "data)")
            x = em.node("Gather", [x, em.const(item.astype(np.int64), "indices")], axis=axis)
            axis += item.ndim
        else:
            raise OnnxExportError(f"export_onnx: op GetItem with index {item!r} is not supported")
    return em.node("Identity", [x])


# -- the fused ops behind chainrule.nn.functional ---------------------------------------------

def emit_Linear(em, node, inp):
    x, w = inp(node.args[0]), inp(node.args[1])
    bias = [inp(node.args[2])] if len(node.args) > 2 else []
    if len(_in_shape(em, node)) == 2:
        return em.node("Gemm", [x, w] + bias, transB=1)
    y = em.node("MatMul", [x, em.node("Transpose", [w], perm=[1, 0])])
    return em.node("Add", [y] + bias) if bias else y


def emit_Gelu(em, node, inp):
    from .onnx_layers import gelu
    return gelu(em, node, inp(node.args[0]), "none")


emit_Erf = _elementwise("Erf")


def emit_LeakyRelu(em, node, inp):
    return em.node("LeakyRelu", [inp(node.args[0])], alpha=float(node.target.slope))


def emit_Elu(em, node, inp):
    return em.node("Elu", [inp(node.args[0])], alpha=float(node.target.alpha))


def _scalar(em, node, value) -> str:
    return em.const(np.asarray(value, dtype=em.dtype(node.outputs[0])))


def emit_Hardtanh(em, node, inp):
    op = node.target
    return em.node("Clip", [inp(node.args[0]), _scalar(em, node, op.lo), _scalar(em, node, op.hi)])


def emit_Softplus(em, node, inp):
    x = inp(node.args[0])
    beta, threshold = float(node.target.beta), float(node.target.threshold)
    bx = em.node("Mul", [x, _scalar(em, node, beta)]) if beta != 1 else x
    soft = em.node("Softplus", [bx])
    if beta != 1:
        soft = em.node("Div", [soft, _scalar(em, node, beta)])
    if np.isinf(threshold):
        return soft
    return em.node("Where", [em.node("Greater", [bx, _scalar(em, node, threshold)]), x, soft])


def emit_Normalize(em, node, inp):
    op = node.target
    x = inp(node.args[0])
    axes = [int(a) for a in op.axes]
    centred = em.node("Sub", [x, em.reduce("ReduceMean", x, axes, True)])
    var = em.reduce("ReduceMean", em.node("Mul", [centred, centred]), axes, True)
    y = em.node("Div", [centred, em.node("Sqrt", [em.node("Add", [var, _scalar(em, node,
                                                                               op.eps)])])])
    shape = em.ints([int(s) for s in op.param_shape], "shape")
    i = 1
    if op.has_weight:
        y = em.node("Mul", [y, em.node("Reshape", [inp(node.args[i]), shape])])
        i += 1
    if op.has_bias:
        y = em.node("Add", [y, em.node("Reshape", [inp(node.args[i]), shape])])
    return y


def emit_Embedding(em, node, inp):
    op = node.target
    ref = node.array_refs.get("indices", Ref("const", np.asarray(op.indices, dtype=np.int64)))
    return em.node("Gather", [inp(node.args[0]), inp(ref)], axis=0)


def emit_IndexSelect(em, node, inp):
    op = node.target
    ref = node.array_refs.get("index", Ref("const", np.asarray(op.index, dtype=np.int64)))
    return em.node("Gather", [inp(node.args[0]), inp(ref)], axis=int(op.dim))


def emit_Conv2d(em, node, inp):
    g = node.target.g
    return em.node("Conv", _args(node, inp), kernel_shape=[g.kh, g.kw], strides=[g.sh, g.sw],
                   dilations=[g.dh, g.dw], group=int(g.groups), pads=[g.pt, g.pl, g.pb, g.pr])


def emit_MaxPool2d(em, node, inp):
    g = node.target.g
    hp, wp = g.padded_hw()
    return em.node("MaxPool", [inp(node.args[0])], kernel_shape=[g.kh, g.kw],
                   strides=[g.sh, g.sw], dilations=[g.dh, g.dw],
                   pads=[g.ph, g.pw, hp - g.h - g.ph, wp - g.w - g.pw])
