"""Seeing inside a CNN: feature maps by layer name through forward hooks, and the viz plots
(filters as image grids, feature maps), saved to files with the Agg renderer."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, viz


def small_cnn():
    chainrule.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 4, 3), nn.Flatten(), nn.Linear(4 * 2 * 2, 10))


def test_feature_maps_every_leaf_layer_in_order():
    model = small_cnn()
    x = chainrule.randn(2, 3, 8, 8)
    maps = nn.feature_maps(model, x)
    assert list(maps) == ["0", "1", "2", "3", "4", "5"]
    assert maps["0"].shape == (2, 6, 8, 8) and maps["2"].shape == (2, 6, 4, 4)
    assert maps["3"].shape == (2, 4, 2, 2) and maps["5"].shape == (2, 10)
    np.testing.assert_allclose(maps["5"].numpy(), model(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(maps["1"].numpy(), np.maximum(maps["0"].numpy(), 0))
    assert not maps["0"].requires_grad
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed


def test_feature_maps_selected_and_attached_to_graph():
    model = small_cnn()
    x = chainrule.randn(1, 3, 8, 8, requires_grad=True)
    maps = nn.feature_maps(model, x, ["3"], detach=False)
    assert list(maps) == ["3"] and maps["3"].requires_grad
    maps["3"][0, 1].sum().backward()  # which input pixels drive feature map 1 of layer 3
    assert x.grad is not None and x.grad.shape == x.shape


def test_feature_maps_unknown_layer_names_the_choices():
    with pytest.raises(KeyError, match="no layer named"):
        nn.feature_maps(small_cnn(), chainrule.randn(1, 3, 8, 8), ["conv9"])


def test_recorder_removes_hooks_after_an_error():
    model = small_cnn()
    with pytest.raises(RuntimeError):
        with nn.FeatureMapRecorder(model, ["0"]):
            model(chainrule.randn(1, 5, 8, 8))  # wrong channel count
    assert not model[0]._forward_hooks


def test_filter_grid_layouts():
    model = small_cnn()
    rgb = viz.filter_grid(model[0])  # 6 filters of 3 channels -> RGB tiles, 2 rows of 3
    assert rgb.shape == (2 * 3 + 1, 3 * 3 + 2, 3)
    tiles = rgb[~np.isnan(rgb)]
    assert tiles.min() >= 0 and tiles.max() <= 1
    grey = viz.filter_grid(model[3], ncols=4)  # 4 filters of 6 channels -> channel mean
    assert grey.shape == (3, 4 * 3 + 3)
    one = viz.filter_grid(model[3].weight, channel=2)  # 4 single-channel tiles, 2x2
    assert one.shape == (2 * 3 + 1, 2 * 3 + 1)
    np.testing.assert_allclose(np.nanmax(one[:3, :3]), 1.0)  # each tile scaled to [0, 1]
    with pytest.raises(ValueError):
        viz.filter_grid(chainrule.randn(3, 3))


def test_plots_are_written_to_files(tmp_path):
    pytest.importorskip("matplotlib")
    model = small_cnn()
    path = viz.plot_filters(model[0], str(tmp_path / "filters.png"))
    assert (tmp_path / "filters.png").stat().st_size > 0 and path.endswith("filters.png")
    paths = viz.plot_feature_maps(model, chainrule.randn(3, 8, 8), str(tmp_path / "maps"))
    assert set(paths) == {"0", "1", "2", "3"}  # the image-shaped outputs only
    for p in paths.values():
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
