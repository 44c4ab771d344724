"""PyTorch -> chainrule for torch Module subclasses: a torch.fx graph replayed in chainrule.

``from_torch`` converts torch layers one by one; for a torch subclass it asks
``torch.fx.symbolic_trace`` for the forward's graph and builds a chainrule Module that runs
the same steps with chainrule's functions, tensor methods and the converted submodules (same
state-dict keys). A forward fx cannot trace, or a torch function chainrule lacks, raises a
``ConversionError`` naming it.
"""
from __future__ import annotations

from ..tensor import Tensor
from .torch_convert import ConversionError, _from_torch, _join

__all__ = ["fx_from_torch"]


def fx_from_torch(module, prefix: str):
    """A torch Module subclass: trace it with torch.fx and replay the graph in chainrule."""
    from torch import fx

    cls = type(module)
    where = f" (at '{prefix}')" if prefix else ""
    what = f"{cls.__module__}.{cls.__name__}{where}"
    advice = ("; write the same class with chainrule.nn and load its weights with "
              "from_torch_state_dict(torch_module.state_dict())")
    try:
        gm = module if isinstance(module, fx.GraphModule) else fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds (TraceError, TypeError)
        raise ConversionError(f"cannot convert {what}: torch.fx cannot trace its forward "
                              f"({type(exc).__name__}: {exc}){advice}") from None
    steps = []
    for node in gm.graph.nodes:
        if node.op == "call_function":
            target = _chainrule_function(node.target)
            if target is None:
                raise ConversionError(f"cannot convert {what}: its forward calls "
                                      f"{_describe_target(node.target)}, which chainrule does "
                                      f"not provide{advice}")
        elif node.op == "call_method":
            if not hasattr(Tensor, node.target):
                raise ConversionError(f"cannot convert {what}: its forward calls the tensor "
                                      f"method .{node.target}(), which chainrule's Tensor "
                                      f"lacks{advice}")
            target = node.target
        else:
            target = node.target
        try:
            steps.append((node.op, target, node.name, _strip_fx(node.args),
                          _strip_fx(node.kwargs)))
        except TypeError as exc:
            raise ConversionError(f"cannot convert {what}: {exc}{advice}") from None

    replay = _replay_class()(cls.__name__, steps)
    for name, child in module.named_children():
        replay.add_module(name, _from_torch(child, _join(prefix, name)))
    for name, p in module._parameters.items():
        if p is not None:
            from ..nn import Parameter
            replay.register_parameter(name, Parameter(
                Tensor._make(p.detach().cpu().numpy().copy()), requires_grad=p.requires_grad))
    for name, b in module._buffers.items():
        if b is not None:
            replay.register_buffer(name, Tensor._make(b.detach().cpu().numpy().copy()),
                                   persistent=name not in module._non_persistent_buffers_set)
    replay.training = module.training
    return replay


class _Var(str):
    """A reference to an earlier step's result inside a replayed fx step's arguments."""

    __slots__ = ()


def _strip_fx(a):
    """fx arguments without torch objects: Nodes become _Var names, dtypes chainrule's."""
    import torch

    import chainrule
    if isinstance(a, torch.fx.Node):
        return _Var(a.name)
    if isinstance(a, tuple):
        return tuple(_strip_fx(x) for x in a)
    if isinstance(a, list):
        return [_strip_fx(x) for x in a]
    if isinstance(a, dict):
        return {k: _strip_fx(v) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(_strip_fx(a.start), _strip_fx(a.stop), _strip_fx(a.step))
    if isinstance(a, torch.dtype):
        return getattr(chainrule, str(a).split(".")[-1])
    if isinstance(a, torch.device):
        return "cpu"
    if isinstance(a, (torch.Tensor, torch.nn.Module)):
        raise TypeError(f"its traced graph holds a constant {type(a).__name__} argument")
    return a


def _describe_target(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__name__', repr(fn))}"


def _chainrule_function(fn):
    """The chainrule function with the same role as a torch (or operator) function."""
    import chainrule

    from .. import nn
    if getattr(fn, "__module__", None) in ("_operator", "operator") or fn is getattr:
        return fn  # operator.add & co. work on chainrule tensors as they are
    name = getattr(fn, "__name__", None)
    if name is None:
        return None
    module = getattr(fn, "__module__", "") or ""
    if module.startswith("torch.nn.functional") or module == "torch.nn.functional":
        return getattr(nn.functional, name, None)
    return getattr(chainrule, name, None) or getattr(nn.functional, name, None)


_REPLAY_CLASS: list = []


def _replay_class():
    """The replay Module class, made on first use (it subclasses chainrule.nn.Module)."""
    if not _REPLAY_CLASS:
        _REPLAY_CLASS.append(_make_fx_replay_class())
    return _REPLAY_CLASS[0]


def _make_fx_replay_class():
    from ..nn import Module

    class _FxReplay(Module):
        """A torch.fx graph replayed with chainrule: ``from_torch`` of a torch subclass.

        Its submodules and parameters carry the torch module's names, so state dicts
        interchange; ``forward`` runs the traced steps in order.
        """

        def __init__(self, name: str, steps: list):
            super().__init__()
            self._class_name = name
            self._steps = steps

        def _get_name(self) -> str:
            return self._class_name

        def forward(self, *args, **kwargs):
            env: dict = {}
            inputs = list(args)

            def load(a):
                if isinstance(a, _Var):
                    return env[a]
                if isinstance(a, (tuple, list)):
                    return type(a)(load(x) for x in a)
                if isinstance(a, dict):
                    return {k: load(v) for k, v in a.items()}
                if isinstance(a, slice):
                    return slice(load(a.start), load(a.stop), load(a.step))
                return a
            for op, target, name, a, k in self._steps:
                if op == "placeholder":
                    env[name] = inputs.pop(0) if inputs else kwargs.pop(target)
                elif op == "get_attr":
                    obj = self
                    for part in target.split("."):
                        obj = getattr(obj, part)
                    env[name] = obj
                elif op == "call_module":
                    env[name] = self.get_submodule(target)(*load(a), **load(k))
                elif op == "call_function":
                    env[name] = target(*load(a), **load(k))
                elif op == "call_method":
                    this, *rest = load(a)
                    env[name] = getattr(this, target)(*rest, **load(k))
                elif op == "output":
                    return load(a[0])
            return None

    return _FxReplay

