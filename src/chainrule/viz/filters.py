"""See what a conv net learned: its filters as image grids, and the feature maps an input
produces in each layer. Plots are written to image files with Matplotlib's Agg renderer (no
screen needed; ``pip install chainrule[plots]``); the grids themselves are plain arrays
(``filter_grid``, ``feature_map_grid``) and need no Matplotlib.

    viz.plot_filters(model[0], "conv1_filters.png")            # a Conv2d layer
    viz.plot_feature_maps(model, image, "maps/")                # one file per layer
"""
from __future__ import annotations

import math
import os
from typing import Iterable

import numpy as np

from ..tensor import Tensor

__all__ = ["filter_grid", "feature_map_grid", "plot_filters", "plot_feature_maps",
           "plot_feature_map_grid"]


def _array(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _normalise(tiles: np.ndarray, per_tile: bool) -> np.ndarray:
    """Scale to [0, 1]: each tile on its own (shape contrast) or all together (magnitudes)."""
    axes = tuple(range(1, tiles.ndim)) if per_tile else None
    lo = tiles.min(axis=axes, keepdims=True)
    span = tiles.max(axis=axes, keepdims=True) - lo
    return (tiles - lo) / np.where(span > 0, span, 1.0)


def _tile(tiles: np.ndarray, ncols: int | None, pad: int) -> np.ndarray:
    """Lay ``tiles (K, h, w[, 3])`` out row by row, ``pad`` pixels of NaN between them (NaN
    is drawn as the background colour)."""
    k, h, w = tiles.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(k))
    nrows = math.ceil(k / ncols)
    grid = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad) + tiles.shape[3:],
                   np.nan)
    for idx in range(k):
        r, c = divmod(idx, ncols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tiles[idx]
    return grid


def filter_grid(weight, channel: int | None = None, ncols: int | None = None, pad: int = 1,
                per_filter: bool = True) -> np.ndarray:
    """The filters of a conv layer as one image (a grid with one tile per output channel).

    Args:
        weight: a ``Conv2d`` module or its weight ``(out, in, kH, kW)``.
        channel: which input channel to show. Default: RGB tiles when the layer reads 3
            channels, the only channel when it reads 1, else the mean over input channels.
        ncols: tiles per row (default: a square-ish grid).
        pad: pixels between tiles (NaN, drawn as background).
        per_filter: normalise each tile to [0, 1] on its own (default) or all together.

    Returns:
        ``(H, W)`` or, for RGB tiles, ``(H, W, 3)`` floats in [0, 1] with NaN padding.
    """
    w = _array(getattr(weight, "weight", weight)).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"filter_grid: expected a Conv2d layer or a 4-D weight "
                         f"(out, in, kH, kW), got shape {w.shape}")
    if channel is not None:
        if not 0 <= channel < w.shape[1]:
            raise ValueError(f"filter_grid: channel {channel} out of range for {w.shape[1]} "
                             "input channels")
        tiles = w[:, channel]
    elif w.shape[1] == 3:
        tiles = w.transpose(0, 2, 3, 1)  # RGB
    elif w.shape[1] == 1:
        tiles = w[:, 0]
    else:
        tiles = w.mean(axis=1)
    return _tile(_normalise(tiles, per_filter), ncols, pad)


def feature_map_grid(maps, max_maps: int = 64, ncols: int | None = None, pad: int = 1,
                     per_map: bool = True) -> np.ndarray:
    """The channels of one feature map ``(C, H, W)`` (or ``(1, C, H, W)``) as one grid image
    (at most ``max_maps`` channels); see ``filter_grid`` for the other arguments."""
    m = _array(maps).astype(np.float64)
    if m.ndim == 4:
        if m.shape[0] != 1:
            raise ValueError(f"feature_map_grid: expected one sample (C, H, W) or (1, C, H, W), "
                             f"got shape {m.shape}; index the batch first")
        m = m[0]
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"feature_map_grid: expected a (C, H, W) feature map, got shape "
                         f"{m.shape}")
    return _tile(_normalise(m[:max_maps], per_map), ncols, pad)


def _save(image: np.ndarray, path: str, title: str | None, cmap: str, dpi: int) -> str:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("chainrule.viz plots need Matplotlib: pip install "
                          "'chainrule[plots]'") from None
    # The object-oriented API with an Agg canvas: no pyplot state, no screen, and the
    # user's global backend is left alone.
    h, w = image.shape[:2]
    scale = max(2.0, 6.0 / max(h, w) * 10)
    fig = Figure(figsize=(max(2.0, w * scale / 10), max(2.0, h * scale / 10 + (0.4 if title
                                                                             else 0))))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(np.ma.masked_invalid(image) if image.ndim == 2 else np.nan_to_num(image, nan=1.0),
              cmap=cmap, interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_filters(layer, path: str, channel: int | None = None, ncols: int | None = None,
                 title: str | None = None, cmap: str = "gray", dpi: int = 100) -> str:
    """Save the filters of a conv layer (or a 4-D weight) as a grid image; returns ``path``.

    Example:
        >>> viz.plot_filters(model.conv1, "conv1.png", title="conv1: 6 filters 5x5")
    """
    if title is None and hasattr(layer, "weight"):
        title = f"{type(layer).__name__} filters {tuple(layer.weight.shape)}"
    return _save(filter_grid(layer, channel, ncols), path, title, cmap, dpi)


def plot_feature_map_grid(maps, path: str, max_maps: int = 64, ncols: int | None = None,
                          title: str | None = None, cmap: str = "viridis",
                          dpi: int = 100) -> str:
    """Save the channels of one feature map ``(C, H, W)`` as a grid image; returns ``path``."""
    return _save(feature_map_grid(maps, max_maps, ncols), path, title, cmap, dpi)


def plot_feature_maps(model, input, directory: str, layers: Iterable[str] | None = None,
                      max_maps: int = 64, cmap: str = "viridis", dpi: int = 100) -> dict:
    """Run one input through ``model`` and save each layer's feature maps as an image.

    Args:
        model: the network. input: ONE sample, ``(C, H, W)`` or ``(1, C, H, W)``.
        directory: where to write ``<layer name>.png`` (created if missing).
        layers: names from ``model.named_modules()``; default: every leaf layer whose output
            is an image-shaped (4-D) tensor.

    Returns:
        ``{layer name: file path}``.
    """
    from ..nn.feature_maps import feature_maps
    x = input if not isinstance(input, Tensor) or input.ndim == 4 else input.unsqueeze(0)
    maps = feature_maps(model, x, layers)
    paths = {}
    for name, m in maps.items():
        if not isinstance(m, Tensor) or m.ndim != 4:
            if layers is not None:
                raise ValueError(f"plot_feature_maps: layer {name!r} gives "
                                 f"{getattr(m, 'shape', type(m))}, not an (N, C, H, W) map")
            continue
        path = os.path.join(directory, f"{name.replace('.', '_') or 'model'}.png")
        paths[name] = plot_feature_map_grid(m[0], path, max_maps, title=f"{name}: "
                                            f"{type(dict(model.named_modules())[name]).__name__}"
                                            f" {tuple(m.shape[1:])}", cmap=cmap, dpi=dpi)
    return paths
