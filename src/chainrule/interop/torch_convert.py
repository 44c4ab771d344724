"""Moving models between chainrule and PyTorch: state dicts, layers and whole models.

chainrule's layers use PyTorch's names, constructor arguments and parameter layouts, so a
layer converts by reading its constructor arguments back from its attributes (``Linear``'s
``in_features``, ``Conv2d``'s ``stride``, ...), building the same-named class on the other
side and copying the state dict, whose keys, shapes and dtypes are identical.

    >>> torch_model = to_torch(model)                  # chainrule -> torch.nn.Module
    >>> model2 = from_torch(torch_model)                # and back: exact copies
    >>> model.load_state_dict(from_torch_state_dict(torch_model.state_dict()))

A user ``Module`` subclass says what it computes only in code, so ``to_torch`` traces its
forward on an example input (see ``tracing``) and emits a ``torch.fx.GraphModule`` that
replays the recorded ops with the converted submodules; ``from_torch`` does the mirror image
with ``torch.fx.symbolic_trace`` for torch subclasses whose forward fx can trace.

PyTorch is an optional extra (``chainrule[torch]``): it is imported only inside functions.
Checkpoint files are read with ``torch.load(weights_only=True)`` only: loading a file from a
stranger never runs its code.
"""
from __future__ import annotations

import inspect
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._lazy import require_torch
from .tracing import trace

__all__ = [
    "SUPPORTED_LAYERS",
    "ConversionError",
    "from_torch",
    "from_torch_state_dict",
    "load_torch_checkpoint",
    "to_torch",
    "to_torch_state_dict",
]


class ConversionError(TypeError):
    """A model (or a part of it) has no equivalent on the other side."""


# Layers that exist under the same name, with the same constructor and state dict, in both
# chainrule.nn and torch.nn. Containers (Sequential, ModuleList, ModuleDict) are walked.
SUPPORTED_LAYERS = (
    "Linear", "Bilinear", "Identity",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Softsign", "Tanhshrink",
    "LogSigmoid", "PReLU", "Softmax", "LogSoftmax", "Softmin",
    "Embedding", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Flatten", "Unflatten",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "GLU", "Threshold", "RMSNorm",
    "Dropout3d", "Softshrink", "Hardshrink", "RReLU",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "PixelShuffle", "PixelUnshuffle", "Unfold", "Fold", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "LocalResponseNorm", "MaxUnpool1d", "MaxUnpool2d", "Conv3d", "MaxPool3d",
    "AvgPool3d",
)
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")

_RNN_COMMON = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
               "bidirectional")
_RNN_ARGS = {"RNN": _RNN_COMMON + ("nonlinearity",), "LSTM": _RNN_COMMON + ("proj_size",),
             "GRU": _RNN_COMMON}

# Constructor arguments that are not model state and never copied across.
_SKIP_ARGS = {"self", "device", "dtype", "_weight", "_freeze"}


# -- state dicts ------------------------------------------------------------------------------

def _state_dict_of(obj) -> OrderedDict:
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return obj.state_dict()
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"expected a module or a state dict (a dict of tensors), got "
                    f"{type(obj).__name__}")


def to_torch_state_dict(model_or_state_dict) -> OrderedDict[str, Any]:
    """A chainrule state dict as PyTorch tensors: same keys, shapes and dtypes, copied.

    Args:
        model_or_state_dict: a chainrule ``Module`` or a dict of chainrule Tensors.

    Example:
        >>> torch_model.load_state_dict(to_torch_state_dict(model))
    """
    torch = require_torch()
    out = OrderedDict()
    for key, value in _state_dict_of(model_or_state_dict).items():
        if not isinstance(value, Tensor):
            raise TypeError(f"to_torch_state_dict: entry {key!r} is a "
                            f"{type(value).__name__}, expected a chainrule Tensor")
        # A copy: the two frameworks must not share (and silently co-modify) memory.
        out[key] = torch.from_numpy(np.array(value._data, copy=True))
    return out


def load_torch_checkpoint(path: str | os.PathLike) -> Any:
    """Read a PyTorch checkpoint file safely: ``torch.load(weights_only=True)`` only.

    Tensors, dicts, lists and numbers load; a file that would need to run code (pickled
    classes) raises PyTorch's ``UnpicklingError`` instead of executing anything.
    """
    torch = require_torch()
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True)


def from_torch_state_dict(state_dict_or_module) -> OrderedDict[str, Tensor]:
    """A PyTorch state dict as chainrule Tensors: same keys, shapes and dtypes, copied.

    Args:
        state_dict_or_module: a ``torch.nn.Module``, a dict of ``torch.Tensor``, or the path
            of a checkpoint file holding one (read with ``torch.load(weights_only=True)``).

    Example:
        >>> model.load_state_dict(from_torch_state_dict("resnet.pt"))
    """
    torch = require_torch()
    obj = state_dict_or_module
    if isinstance(obj, (str, os.PathLike)):
        obj = load_torch_checkpoint(obj)
    out = OrderedDict()
    for key, value in _state_dict_of(obj).items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"from_torch_state_dict: entry {key!r} is a "
                            f"{type(value).__name__}, expected a torch.Tensor")
        if value.dtype == torch.bfloat16 or value.is_complex():
            raise TypeError(f"from_torch_state_dict: entry {key!r} has dtype {value.dtype}, "
                            "which chainrule does not support (convert it to float32 first)")
        out[key] = Tensor._make(value.detach().cpu().numpy().copy())
    return out


# -- layers ------------------------------------------------------------------------------------

def _is_layer(module, namespace: str) -> bool:
    """A library layer (converted as a whole), not a container and not a user subclass.

    Layers beyond SUPPORTED_LAYERS (the tested set) are tried too: a same-named class with
    the same constructor arguments on the other side converts; otherwise the error names it.
    """
    cls = type(module)
    return cls.__module__.startswith(namespace + ".") and cls.__name__ not in CONTAINERS \
        and cls.__name__ != "Module"


def _is_container(module, namespace: str) -> bool:
    cls = type(module)
    return cls.__name__ in CONTAINERS and cls.__module__.startswith(namespace)


def _constructor_args(module, target_cls) -> dict:
    """Read ``target_cls``'s constructor arguments back from ``module``'s attributes.

    Both sides store their arguments under the constructor's names (PyTorch's convention);
    the one exception is ``bias``, which a layer stores as a parameter (or None).
    """
    kwargs = {}
    source = type(module).__name__
    if source in _RNN_ARGS:  # both sides declare RNN/LSTM/GRU.__init__(*args, **kwargs)
        for name in _RNN_ARGS[source]:
            if hasattr(module, name):
                kwargs[name] = getattr(module, name)
        if getattr(module, "proj_size", 0):
            raise ConversionError(f"cannot convert {source} with proj_size="
                                  f"{module.proj_size}: chainrule's {source} has no projection")
        kwargs.pop("proj_size", None)
        return kwargs
    for name, p in inspect.signature(target_cls.__init__).parameters.items():
        if name in _SKIP_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name == "bias" and hasattr(module, "bias") and not isinstance(module.bias, bool):
            kwargs[name] = module.bias is not None
            continue
        if hasattr(module, name):
            value = getattr(module, name)
            if isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        elif p.default is p.empty:
            raise ConversionError(f"cannot convert {source}: it has no attribute {name!r} "
                                  f"(needed by {target_cls.__module__}.{target_cls.__name__})")
    return kwargs


def _copy_state(src, dst, to_torch_side: bool) -> None:
    state = to_torch_state_dict(src.state_dict()) if to_torch_side else \
        from_torch_state_dict(src.state_dict())
    # load_state_dict casts into the new layer's (float32) tensors: give it the source's
    # floating dtype first, so a float64 model stays float64.
    floating = [v for v in state.values() if v.is_floating_point()]
    if floating:
        if to_torch_side:
            dst.to(floating[0].dtype)
        else:
            import chainrule
            dst.to(getattr(chainrule, floating[0].dtype.name))
    dst.load_state_dict(state, strict=True)
    params = dict(dst.named_parameters())
    for name, p_src in src.named_parameters():
        params[name].requires_grad_(p_src.requires_grad)


def _convert_layer(module, target_nn, to_torch_side: bool):
    name = type(module).__name__
    target_cls = getattr(target_nn, name, None)
    if target_cls is None:
        side = "PyTorch" if to_torch_side else "chainrule"
        raise ConversionError(f"cannot convert {name}: {side} has no nn.{name}")
    kwargs = _constructor_args(module, target_cls)
    try:
        out = target_cls(**kwargs)
        _copy_state(module, out, to_torch_side)
    except (TypeError, ValueError, RuntimeError, NotImplementedError, KeyError) as exc:
        raise ConversionError(f"cannot convert {name} (arguments {kwargs}): "
                              f"{type(exc).__name__}: {exc}") from None
    out.train(module.training)
    return out


# -- chainrule -> PyTorch -----------------------------------------------------------------------

def to_torch(model, example_input: Any = None):
    """The equivalent ``torch.nn.Module``, with the same weights, buffers and train/eval state.

    Args:
        model: a chainrule Module made of chainrule layers (``Sequential`` / ``ModuleList`` /
            ``ModuleDict`` trees of ``Linear``, ``Conv*``, pooling, norms, dropout,
            activations, ``Embedding``, ``RNN``/``LSTM``/``GRU``, ``Flatten``...).
        example_input: needed only when the model (or a part of it) is a user ``Module``
            subclass: its forward is traced on this input (a tensor, or a tuple of positional
            arguments) and replayed by a ``torch.fx.GraphModule``. The replay works for any
            batch size; Python control flow follows the path the example took. The trace
            runs in eval mode (the model's flags are restored), so a functional
            ``F.dropout(x, training=self.training)`` is not part of the replay; dropout
            layers (``nn.Dropout``) convert as layers and keep their train/eval behaviour.

    Returns:
        a ``torch.nn.Module`` whose ``state_dict()`` has the same keys as ``model``'s.

    Raises:
        ConversionError: naming the layer or op that has no PyTorch equivalent.

    Example:
        >>> tm = to_torch(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
        >>> tm(torch.randn(3, 4)).shape
        torch.Size([3, 2])
    """
    require_torch()
    examples = {}
    if example_input is not None:
        args = _as_args(example_input)
        examples[""] = (args, {})
        if _is_container(model, "chainrule.nn"):
            # A container's own forward is known; run it once to learn what each user module
            # inside it receives (the example its conversion traces with).
            with _eval_mode(model):
                graph = trace(model, args, is_leaf=lambda m: m is not model)
            for node in graph.nodes:
                if node.kind == "module":
                    examples.setdefault(node.target, node.example)
    out = _to_torch(model, "", examples)
    _retie(model, out)
    return out


def _retie(source, target) -> None:
    """Tied weights (one Parameter used by two layers, e.g. an LM's embedding and output
    layer) were converted layer by layer into two copies: make them one again."""
    groups: dict = {}
    for name, p in source.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    for names in groups.values():
        if len(names) < 2:
            continue
        shared = target.get_parameter(names[0])
        for name in names[1:]:
            owner, _, leaf = name.rpartition(".")
            setattr(target.get_submodule(owner) if owner else target, leaf, shared)


class _eval_mode:
    """Trace in eval mode (no running-statistics updates, no random dropout), then restore
    every module's own flag."""

    def __init__(self, model):
        self.flags = [(m, m.training) for m in model.modules()]
        self.model = model

    def __enter__(self):
        self.model.eval()

    def __exit__(self, *exc):
        for m, flag in self.flags:
            m.training = flag


def _as_args(example) -> tuple:
    return tuple(example) if isinstance(example, (tuple, list)) else (example,)


def _to_torch(module, prefix: str, examples: dict):
    torch = require_torch()
    if _is_layer(module, "chainrule.nn"):
        return _convert_layer(module, torch.nn, True)
    if _is_container(module, "chainrule.nn"):
        kind = type(module).__name__
        children = OrderedDict((name, _to_torch(child, _join(prefix, name), examples))
                               for name, child in module.named_children())
        if kind == "ModuleList":
            out = torch.nn.ModuleList(list(children.values()))
        elif kind == "ModuleDict":
            out = torch.nn.ModuleDict(children)
        else:
            out = torch.nn.Sequential(children)
        out.training = module.training
        return out
    from .to_fx import trace_to_fx
    return trace_to_fx(module, prefix, examples)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- PyTorch -> chainrule -----------------------------------------------------------------------

def from_torch(torch_module):
    """The equivalent chainrule Module of a ``torch.nn.Module``, with the same weights,
    buffers and train/eval state.

    Args:
        torch_module: a ``torch.nn.Module`` made of the layers in ``SUPPORTED_LAYERS``
            inside ``Sequential`` / ``ModuleList`` / ``ModuleDict`` trees.

    Raises:
        ConversionError: for a layer chainrule lacks, or a torch ``Module`` subclass (its
            forward is Python code chainrule cannot read; rebuild it as a chainrule subclass
            and load the weights with ``from_torch_state_dict``).

    Example:
        >>> model = from_torch(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU()))
    """
    torch = require_torch()
    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got "
                        f"{type(torch_module).__name__} (for a checkpoint file use "
                        "from_torch_state_dict(path))")
    out = _from_torch(torch_module, "")
    _retie(torch_module, out)
    return out


def _from_torch(module, prefix: str):
    from .. import nn
    if _is_layer(module, "torch.nn"):
        return _convert_layer(module, nn, False)
    if _is_container(module, "torch.nn"):
        kind = type(module).__name__
        children = OrderedDict((name, _from_torch(child, _join(prefix, name)))
                               for name, child in module.named_children())
        if kind == "ModuleList":
            out = nn.ModuleList(list(children.values()))
        elif kind == "ModuleDict":
            out = nn.ModuleDict(children)
        else:
            out = nn.Sequential(children)
        out.training = module.training
        return out
    from .from_fx import fx_from_torch
    return fx_from_torch(module, prefix)
