"""``Module``: the base class of every layer and model.

A Module owns three ordered dicts, filled by plain attribute assignment (``__setattr__``):

- ``_parameters``: learnable :class:`~chainrule.nn.Parameter` tensors (``self.weight = ...``);
- ``_buffers``: state that is saved but not learned (BatchNorm's running mean), made with
  ``register_buffer``;
- ``_modules``: child modules (``self.fc1 = nn.Linear(...)``).

Everything else follows from walking them: ``named_parameters()`` with dotted names
(``"encoder.0.weight"``), ``state_dict()`` / ``load_state_dict()`` with PyTorch's keys (so
checkpoints interchange), ``train()`` / ``eval()``, ``to(dtype)``, hooks and a nested ``repr``.

Example:
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> [name for name, _ in MLP().named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
"""
from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

from ... import _dtype
from ...autograd import engine
from ...autograd.grad_mode import no_grad
from ...ops.function import Function
from ...tensor import Tensor, to_arguments
from ..parameter import Buffer, Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: keys the model wanted but did not get, and keys it got
    but has no place for."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _HookHandle:
    """Returned by ``register_*_hook``: ``remove()`` takes the hook off again."""

    __slots__ = ("_entry", "_hooks")

    def __init__(self, hooks: list, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self) -> None:
        for i, e in enumerate(self._hooks):
            if e is self._entry:
                del self._hooks[i]
                return

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add_hook(hooks: list, entry, prepend: bool) -> _HookHandle:
    if prepend:
        hooks.insert(0, entry)
    else:
        hooks.append(entry)
    return _HookHandle(hooks, entry)


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (how nested reprs line up under their parent)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


class Module:
    """Base class for all neural-network modules; subclass it and define ``forward``.

    Call the module (``model(x)``), not ``forward``: ``__call__`` also runs the hooks.
    ``training`` is True after construction; ``eval()`` switches layers such as Dropout and
    BatchNorm to their inference behaviour.
    """

    training: bool
    _version: int = 1
    call_super_init: bool = False
    dump_patches: bool = False

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{kwargs or ''}")
        # object.__setattr__: our own __setattr__ needs these dicts to exist first.
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = []
        d["_forward_pre_hooks"] = []
        d["_backward_hooks"] = []
        d["_backward_pre_hooks"] = []
        d["_state_dict_hooks"] = []
        d["_load_state_dict_post_hooks"] = []

    def _forward_unimplemented(self, *input: Any) -> None:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    forward = _forward_unimplemented

    # -- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # The common case (no hooks) goes straight to forward: this is on every layer's path.
        if (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        for hook, with_kwargs in list(self._forward_pre_hooks):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_state = None
        if (self._backward_hooks or self._backward_pre_hooks) and engine.GRAD_ENABLED:
            backward_state = _BackwardHookState(self)
            args = backward_state.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        if backward_state is not None:
            output = backward_state.wrap_outputs(output)
        return output

    # -- attribute registration ------------------------------------------------------------
    def __getattr__(self, name: str):
        # Only called when normal lookup failed: look in the three registries.
        d = self.__dict__
        if "_parameters" in d:
            params = d["_parameters"]
            if name in params:
                return params[name]
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _remove_from(name, d, self._parameters, self._buffers,
                         self._non_persistent_buffers_set)
            modules[name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            d["_modules"][name] = value
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            if isinstance(value, Buffer):
                self.register_buffer(name, value, value.persistent)
            else:
                d["_buffers"][name] = value
        elif isinstance(value, Buffer):
            if "_buffers" not in d:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self.register_buffer(name, value, value.persistent)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del d["_parameters"][name]
        elif name in d.get("_buffers", ()):
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d.get("_modules", ()):
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list:
        attrs = list(object.__dir__(self))
        names = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(attrs + [n for n in names if not n[:1].isdigit()]))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. a disabled bias) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in ``state_dict`` (if ``persistent``) but not learned.

        Example: ``self.register_buffer("running_mean", chainrule.zeros(num_features))``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
            tensor = tensor.detach()
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (same as ``setattr(self, name, module)``)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path, e.g. ``model.get_submodule("encoder.0")``."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")  # noqa: TRY004
        return mod

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")  # noqa: TRY004
        return param

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    # -- walking the tree ----------------------------------------------------------------
    def _named_members(self, get_members, prefix: str = "", recurse: bool = True,
                       remove_duplicate: bool = True) -> Iterator:
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(value))
                yield (module_prefix + ("." if module_prefix else "") + name, value)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module and (with ``recurse``) its descendants, each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple]:
        """``(dotted_name, parameter)`` pairs; a parameter shared by two layers appears once
        (under its first name) unless ``remove_duplicate=False``."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple]:
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple]:
        """``(dotted_name, module)`` for this module (name ``prefix``) and all descendants,
        depth first; a module reachable twice appears once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    # -- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and its children."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout passes inputs through, BatchNorm uses running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g.zero_()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module.

        Example: ``model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear)
        else None)``.
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype / device ------------------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        """Replace every parameter's values (and grad) and every buffer by ``fn`` of itself."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for param in self._parameters.values():
            if param is None:
                continue
            with no_grad():
                new = fn(param)
            if new is not param:
                param._data = new._data  # keep the Parameter object: optimizers hold it
            if param.grad is not None:
                with no_grad():
                    new_grad = fn(param.grad)
                if new_grad is not param.grad:
                    param.grad = new_grad.detach()
        for name, buf in self._buffers.items():
            if buf is not None:
                self._buffers[name] = fn(buf)
        return self

    def to(self, *args, **kwargs) -> Module:
        """``to(dtype)``, ``to("cpu")``, ``to(device, dtype)``, ``to(tensor)``: floating-point
        parameters and buffers are cast to ``dtype``; integer buffers are left alone."""
        dtype, _copy = to_arguments("Module.to", args, kwargs)
        if dtype is None:
            return self
        dtype = _dtype.from_numpy_dtype(_dtype.to_numpy_dtype(dtype))
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def cpu(self) -> Module:
        return self

    def cuda(self, device=None) -> Module:
        raise RuntimeError("cuda: chainrule runs on the CPU only (no CUDA support)")

    def type(self, dst_type) -> Module:
        return self._apply(lambda t: t.to(dst_type))

    def float(self) -> Module:
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    # -- state dict ----------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    # -- whole-module checkpoints (``chainrule.save(model, f)``; loading needs weights_only=False)
    _HOOK_LISTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                   "_backward_pre_hooks", "_state_dict_hooks", "_load_state_dict_post_hooks")

    def __chainrule_getstate__(self) -> dict:
        """This module's attributes for ``chainrule.save(model, f)``: plain settings,
        parameters, buffers and submodules (saved whole, recursively). Hooks are code, which a
        checkpoint never holds: a module with hooks registered refuses to be saved whole."""
        state = {}
        for name, value in self.__dict__.items():
            if name in Module._HOOK_LISTS:
                if value:
                    raise TypeError(f"save: {type(self).__name__} has {name} registered; hooks "
                                    "cannot be saved, save model.state_dict() instead")
                continue
            state[name] = sorted(value) if isinstance(value, set) else value
        return state

    def __chainrule_restore__(self, state: dict) -> None:
        """Rebuild a module saved by ``__chainrule_getstate__`` (its constructor is not run)."""
        Module.__init__(self)
        d = self.__dict__
        d.update(state)
        d["_non_persistent_buffers_set"] = set(state.get("_non_persistent_buffers_set", ()))

    def state_dict(self, *args, destination=None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every persistent parameter and buffer by dotted name, as PyTorch names them.

        Values are detached tensors sharing memory with the module (``keep_vars=True`` gives
        the parameters themselves). Save it with ``chainrule.save``; restore with
        ``load_state_dict``.
        """
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks:
            result = hook(self, destination, prefix, {})
            if result is not None:
                destination = result
        return destination

    def get_extra_state(self) -> Any:
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called.")

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called.")

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """Load this module's own entries (not its children's); subclasses may override to
        upgrade old checkpoints (BatchNorm fills in a missing ``num_batches_tracked``)."""
        local_state = {k: v for k, v in itertools.chain(
            self._parameters.items(),
            ((k, v) for k, v in self._buffers.items()
             if k not in self._non_persistent_buffers_set)) if v is not None}
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            value = _as_tensor(value)
            if value is None:
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  "torch.Tensor or Tensor-like object from checkpoint but "
                                  f"received {type(state_dict[key])}")
                continue
            if param.ndim == 0 and value.ndim == 1 and value.shape[0] == 1:
                value = value[0]
            if value.shape != param.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{_torch_size(value.shape)} from checkpoint, the shape in current model is "
                    f"{_torch_size(param.shape)}.")
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter) and not isinstance(value, Parameter):
                            value = Parameter(value, requires_grad=param.requires_grad)
                        setattr(self, name, value)
                    else:
                        param.copy_(value)
            except Exception as ex:  # noqa: BLE001 - report every failing key, as PyTorch
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model '
                    f"are {_torch_size(param.shape)} and whose dimensions in the checkpoint are "
                    f"{_torch_size(value.shape)}, an exception occurred : {ex.args}.")
        extra_key = prefix + "_extra_state"
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    head, *rest = key[len(prefix):].split(".", 1)
                    if rest:
                        if head not in self._modules:
                            unexpected_keys.append(key)
                    elif head not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module (in place).

        Args:
            state_dict: a dict of dotted name -> Tensor (NumPy arrays are accepted too).
            strict: raise if keys are missing or unexpected (size mismatches always raise).
            assign: put the given tensors in the module instead of copying their values.

        Returns:
            ``(missing_keys, unexpected_keys)`` as a named tuple.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list = []
        unexpected: list = []
        errors: list = []
        metadata = getattr(state_dict, "_metadata", None)
        state = dict(state_dict)

        def load(module: Module, local: dict, prefix: str = "") -> None:
            meta = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                meta["assign_to_params_buffers"] = True
            module._load_from_state_dict(local, prefix, meta, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)},
                         child_prefix)
            keys = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks:
                hook(module, keys)

        load(self, state)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    def register_state_dict_post_hook(self, hook: Callable) -> _HookHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` runs after ``state_dict``."""
        return _add_hook(self._state_dict_hooks, hook, False)

    register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_post_hook(self, hook: Callable) -> _HookHandle:
        """``hook(module, incompatible_keys)`` runs after ``load_state_dict`` loaded a module."""
        return _add_hook(self._load_state_dict_post_hooks, hook, False)

    # -- hooks ---------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _HookHandle:
        """``hook(module, args) -> None or new args`` runs before ``forward``.

        With ``with_kwargs=True``: ``hook(module, args, kwargs) -> None or (args, kwargs)``.
        """
        return _add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False
                              ) -> _HookHandle:
        """``hook(module, args, output) -> None or new output`` runs after ``forward``.

        Example (record activations):
            >>> acts = {}
            >>> h = model.fc1.register_forward_hook(lambda m, a, out: acts.update(fc1=out))
            >>> h.remove()
        """
        return _add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> _HookHandle:
        """``hook(module, grad_input, grad_output) -> None or new grad_input`` runs when the
        gradients with respect to the module's tensor inputs have been computed.

        ``grad_input`` has one entry per tensor positional argument of ``forward`` (None for
        one that needs no gradient); ``grad_output`` one per tensor output. Parameters'
        gradients are not part of it (use ``Tensor.register_hook`` for those).
        """
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> _HookHandle:
        """``hook(module, grad_output) -> None or new grad_output`` runs before the module's
        backward (when the gradients with respect to its outputs are known)."""
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable) -> _HookHandle:
        """PyTorch's deprecated form; here the same as :meth:`register_full_backward_hook`."""
        return self.register_full_backward_hook(hook)

    # -- printing ------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside ``Name(...)`` in the repr (e.g. ``in_features=4, out_features=2``);
        override it in layers."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


# -- full backward hooks ---------------------------------------------------------------------

class _HookIdentity(Function):
    """Identity on one or more tensors: a graph node at the module's boundary where the
    gradients with respect to its inputs (or outputs) can be seen and replaced."""

    def forward(self, *arrays):
        return arrays if len(arrays) > 1 else arrays[0]

    def backward(self, *grads):
        return grads if len(grads) > 1 else grads[0]


class _BackwardHookState:
    """One forward call's bookkeeping for full backward hooks (PyTorch's BackwardHook)."""

    def __init__(self, module: Module):
        self.module = module
        self.n_inputs = 0
        self.input_positions: list = []  # positions (among tensor args) that require grad
        self.grad_outputs = None
        self.input_node = None

    def wrap_inputs(self, args: tuple) -> tuple:
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(tensor_positions)
        grad_positions = [k for k, i in enumerate(tensor_positions) if args[i].requires_grad]
        if not grad_positions:
            return args
        self.input_positions = grad_positions
        wrapped = _HookIdentity()(*(args[tensor_positions[k]] for k in grad_positions))
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        self.input_node = wrapped[0].grad_fn
        self.input_node.register_hook(self._on_input_grads)
        args = list(args)
        for k, t in zip(grad_positions, wrapped):
            args[tensor_positions[k]] = t
        return tuple(args)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple):
            return output
        positions = [i for i, o in enumerate(outputs)
                     if isinstance(o, Tensor) and o.requires_grad]
        if not positions:
            return output
        self.n_outputs = len(outputs)
        self.output_positions = positions
        wrapped = _HookIdentity()(*(outputs[i] for i in positions))
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        wrapped[0].grad_fn.register_prehook(self._on_output_grads)
        new = list(outputs)
        for i, t in zip(positions, wrapped):
            new[i] = t
        return new[0] if single else tuple(new)

    def _on_output_grads(self, grads: tuple):
        full = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            full[i] = g
        grad_outputs = tuple(full)
        changed = False
        for hook in list(self.module._backward_pre_hooks):
            result = hook(self.module, grad_outputs)
            if result is not None:
                grad_outputs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                changed = True
        self.grad_outputs = grad_outputs
        if self.input_node is None and self.module._backward_hooks:
            # No input needs a gradient: PyTorch calls the hooks now, with grad_input all None.
            for hook in list(self.module._backward_hooks):
                hook(self.module, (None,) * self.n_inputs, grad_outputs)
        if changed:
            return tuple(grad_outputs[i] for i in self.output_positions)
        return None

    def _on_input_grads(self, in_grads: tuple, _out_grads: tuple):
        full = [None] * self.n_inputs
        for k, g in zip(self.input_positions, in_grads):
            full[k] = g
        grad_inputs = tuple(full)
        changed = False
        for hook in list(self.module._backward_hooks):
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grad_inputs):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got "
                        f"{len(result)}, but expected {len(grad_inputs)}")
                grad_inputs = result
                changed = True
        if changed:
            return tuple(grad_inputs[k] for k in self.input_positions)
        return None


# -- helpers -----------------------------------------------------------------------------------

def _remove_from(name: str, *containers) -> None:
    for c in containers:
        if name in c:
            if isinstance(c, set):
                c.discard(name)
            else:
                del c[name]


def _check_name(kind: str, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain "."')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _typename(value) -> str:
    if isinstance(value, Tensor):
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "bool": "Bool"}
        return f"torch.{names.get(value.dtype.name, value.dtype.name)}Tensor"
    return type(value).__name__


def _torch_size(shape) -> str:
    return f"torch.Size({list(shape)})"


def _as_tensor(value) -> Tensor | None:
    """A checkpoint entry as a Tensor: chainrule tensors, NumPy arrays, or anything with a
    ``numpy()`` method (e.g. a PyTorch tensor); None if it is none of these."""
    import numpy as np
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._make(value)
    to_numpy = getattr(value, "numpy", None)
    if callable(to_numpy) and hasattr(value, "shape"):
        detach = getattr(value, "detach", None)
        array = (detach() if callable(detach) else value).numpy()
        return Tensor._make(np.asarray(array))
    return None
