"""Look inside a network: the intermediate outputs ("feature maps") of its layers, by name.

    maps = nn.feature_maps(model, images)              # every leaf layer
    maps = nn.feature_maps(model, images, ["0", "3"])  # chosen layers (names as in
                                                        # model.named_modules())
    maps["0"].shape                                     # e.g. (N, 6, 28, 28) after conv 1

Built on forward hooks (``Module.register_forward_hook``): each chosen layer's hook stores
its output; the hooks are removed again when the call returns, even after an error.
"""
from __future__ import annotations

from typing import Iterable

from ..autograd import no_grad
from ..tensor import Tensor
from .modules.module import Module

__all__ = ["feature_maps", "FeatureMapRecorder"]


class FeatureMapRecorder:
    """A context manager that records the outputs of some of a model's layers.

    Args:
        model: the network.
        layers: names from ``model.named_modules()`` (default: every leaf module, i.e.
            every module without children).
        detach: store outputs cut from the graph (default True); False keeps them attached,
            so a gradient can be taken with respect to a feature map.

    Example:
        >>> with FeatureMapRecorder(model, ["features.0"]) as rec:
        ...     model(x)
        >>> rec.maps["features.0"].shape
    """

    def __init__(self, model: Module, layers: Iterable[str] | None = None,
                 detach: bool = True) -> None:
        modules = dict(model.named_modules())
        if layers is None:
            layers = [name for name, m in modules.items()
                      if name and not any(True for _ in m.children())]
        else:
            layers = list(layers)
            unknown = [name for name in layers if name not in modules]
            if unknown:
                raise KeyError(f"feature_maps: no layer named {unknown} in "
                               f"{type(model).__name__}; layer names are "
                               f"{[n for n in modules if n]}")
        self.model, self.layers, self.detach = model, layers, detach
        self.maps: dict = {}
        self._modules = modules
        self._handles: list = []

    def __enter__(self) -> "FeatureMapRecorder":
        for name in self.layers:
            self._handles.append(
                self._modules[name].register_forward_hook(self._hook_for(name)))
        return self

    def _hook_for(self, name: str):
        def hook(module, inputs, output):
            if self.detach:
                output = _detach(output)
            self.maps[name] = output
        return hook

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _detach(output):
    if isinstance(output, Tensor):
        return output.detach()
    if isinstance(output, (tuple, list)):
        return type(output)(_detach(o) for o in output)
    return output


def feature_maps(model: Module, input, layers: Iterable[str] | None = None, *,
                 detach: bool = True) -> dict:
    """Run ``model(input)`` and return ``{layer name: that layer's output}``.

    Args:
        model: the network (its mode, train or eval, is left as it is).
        input: the model's input (a Tensor, or a tuple of positional inputs).
        layers: names as in ``model.named_modules()`` (default: every leaf layer, in the
            order they ran).
        detach: with True (default) the forward runs without recording a graph and the maps
            are plain tensors; with False they stay attached to the graph.

    Returns:
        A dict in execution order; a layer that ran several times keeps its last output.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
        >>> maps = feature_maps(model, chainrule.randn(1, 1, 28, 28))
        >>> {name: tuple(m.shape) for name, m in maps.items()}
        {'0': (1, 6, 24, 24), '1': (1, 6, 24, 24), '2': (1, 6, 12, 12)}
    """
    args = input if isinstance(input, tuple) else (input,)
    recorder = FeatureMapRecorder(model, layers, detach)
    with recorder:
        if detach:
            with no_grad():
                model(*args)
        else:
            model(*args)
    return recorder.maps
