"""Conv-net layers against PyTorch with the same weights: Conv1d/2d/3d, ConvTranspose1d/2d,
the pooling layers (3-D included), Upsample, BatchNorm2d, Dropout2d; parameter names, shapes
and default initialisation as PyTorch's (so state dicts load both ways), reprs."""
import math

import numpy as np
import pytest
import torch

import chainrule
from chainrule import nn


def same_weights(ours, theirs):
    ours.load_state_dict({k: chainrule.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


def check_layer(ours, theirs, shape, seed=0, rtol=1e-10, atol=1e-12, **call):
    """Same weights, float64: output, input gradient and every parameter gradient."""
    ours, theirs = ours.double(), theirs.double()
    same_weights(ours, theirs)
    x = np.random.default_rng(seed).standard_normal(shape)
    xc, xt = chainrule.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oc, ot = ours(xc, **call), theirs(xt, **call)
    np.testing.assert_allclose(oc.detach().numpy(), ot.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(seed + 1).standard_normal(tuple(ot.shape))
    oc.backward(chainrule.tensor(up))
    ot.backward(torch.tensor(up))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(),
                                   rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("args,kw,shape", [
    ((3, 8, 3), {}, (2, 3, 9, 8)),
    ((3, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), bias=False),
     (2, 3, 9, 8)),
    ((4, 8, 3), dict(groups=4, padding="same"), (1, 4, 7, 7)),
    ((2, 4, 3), dict(padding=2, padding_mode="reflect"), (2, 2, 6, 5)),
    ((2, 4, 3), dict(padding=1, padding_mode="replicate"), (2, 2, 6, 5)),
    ((2, 4, 4), dict(padding="same", padding_mode="circular"), (2, 2, 6, 5)),
    ((1, 1, 5), dict(padding=2), (1, 1, 5, 5)),
])
def test_conv2d_layer(args, kw, shape):
    check_layer(nn.Conv2d(*args, **kw), torch.nn.Conv2d(*args, **kw), shape)


@pytest.mark.parametrize("args,kw,shape", [
    ((3, 4, 3), dict(stride=2, padding=1), (2, 3, 11)),
    ((4, 4, 3), dict(groups=2, padding="same", padding_mode="reflect"), (2, 4, 7)),
])
def test_conv1d_layer(args, kw, shape):
    check_layer(nn.Conv1d(*args, **kw), torch.nn.Conv1d(*args, **kw), shape)


@pytest.mark.parametrize("args,kw,shape", [
    ((3, 4, 3), {}, (2, 3, 5, 6, 7)),
    ((4, 6, (2, 3, 1)), dict(stride=(2, 1, 2), padding=(1, 0, 2), dilation=(2, 1, 1),
                             groups=2, bias=False), (2, 4, 7, 6, 5)),
    ((2, 3, 3), dict(padding="same", padding_mode="replicate"), (1, 2, 4, 5, 3)),
    ((2, 2, 2), dict(padding=1, padding_mode="circular"), (2, 2, 3, 4, 4)),
    ((2, 3, 3), dict(padding=1), (2, 3, 4, 4)),  # unbatched (C, D, H, W)
])
def test_conv3d_layer(args, kw, shape):
    check_layer(nn.Conv3d(*args, **kw), torch.nn.Conv3d(*args, **kw), shape)
    assert repr(nn.Conv3d(*args, **kw)) == repr(torch.nn.Conv3d(*args, **kw))


def test_conv3d_float32_and_errors():
    check_layer(nn.Conv3d(3, 4, 3, stride=2), torch.nn.Conv3d(3, 4, 3, stride=2),
                (2, 3, 7, 8, 9))
    ours, theirs = nn.Conv3d(3, 4, 3), torch.nn.Conv3d(3, 4, 3)  # float32 end to end
    same_weights(ours, theirs)
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 6, 7)).astype(np.float32)
    np.testing.assert_allclose(ours(chainrule.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="conv3d: given groups=1, .* to have 3 channels"):
        ours(chainrule.randn(1, 2, 4, 4, 4))
    with pytest.raises(RuntimeError, match="conv3d: expected a 5-D input"):
        ours(chainrule.randn(3, 4, 4))
    with pytest.raises(RuntimeError, match="kernel's depth 3 .* does not fit"):
        ours(chainrule.randn(1, 3, 2, 5, 5))


def test_conv_transpose_layers():
    check_layer(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
                torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
                (2, 4, 4, 5))
    check_layer(nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2, bias=False),
                torch.nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2, bias=False), (1, 4, 3, 3))
    check_layer(nn.ConvTranspose1d(3, 2, 4, stride=3), torch.nn.ConvTranspose1d(3, 2, 4, stride=3),
                (2, 3, 5))
    check_layer(nn.ConvTranspose2d(2, 2, 3, stride=2), torch.nn.ConvTranspose2d(2, 2, 3, stride=2),
                (1, 2, 4, 4), output_size=(10, 10))


def test_conv_transpose_bad_output_size():
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(chainrule.randn(1, 2, 4, 4), output_size=(12, 12))


@pytest.mark.parametrize("ours,theirs,shape", [
    (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), (2, 3, 7, 9)),
    (nn.MaxPool2d((2, 3), ceil_mode=True, dilation=(1, 2)),
     torch.nn.MaxPool2d((2, 3), ceil_mode=True, dilation=(1, 2)), (2, 3, 7, 9)),
    (nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2), (2, 3, 9)),
    (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1,
                                                                        count_include_pad=False),
     (2, 3, 7, 9)),
    (nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3),
     (1, 2, 4, 6)),
    (nn.AvgPool1d(2, ceil_mode=True), torch.nn.AvgPool1d(2, ceil_mode=True), (2, 3, 9)),
    (nn.AdaptiveAvgPool2d((3, 4)), torch.nn.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 9)),
    (nn.AdaptiveMaxPool2d((3, None)), torch.nn.AdaptiveMaxPool2d((3, None)), (2, 3, 7, 9)),
    (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    (nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2), (2, 3, 3, 4)),
    (nn.Upsample(size=(5, 7), mode="bilinear"), torch.nn.Upsample(size=(5, 7), mode="bilinear"),
     (2, 3, 3, 4)),
    (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2),
     (1, 2, 3, 3)),
    (nn.UpsamplingNearest2d(size=5), torch.nn.UpsamplingNearest2d(size=5), (1, 2, 3, 3)),
    (nn.MaxPool3d(2), torch.nn.MaxPool3d(2), (2, 3, 4, 6, 5)),
    (nn.MaxPool3d((3, 2, 2), stride=2, padding=(1, 0, 1), dilation=(1, 2, 1), ceil_mode=True),
     torch.nn.MaxPool3d((3, 2, 2), stride=2, padding=(1, 0, 1), dilation=(1, 2, 1),
                        ceil_mode=True), (2, 2, 7, 6, 5)),
    (nn.MaxPool3d(2, 1), torch.nn.MaxPool3d(2, 1), (2, 3, 4, 3)),  # unbatched
    (nn.AvgPool3d(2), torch.nn.AvgPool3d(2), (2, 3, 4, 6, 5)),
    (nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     torch.nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 6, 7, 5)),
    (nn.AvgPool3d((2, 3, 1), divisor_override=4), torch.nn.AvgPool3d((2, 3, 1),
                                                                     divisor_override=4),
     (1, 2, 4, 6, 3)),
])
def test_parameterless_layers(ours, theirs, shape):
    check_layer(ours, theirs, shape)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("dims,kw", [(2, dict(kernel_size=2)),
                                     (3, dict(kernel_size=3, stride=2, padding=1)),
                                     (3, dict(kernel_size=(2, 2, 3), dilation=(2, 1, 1),
                                              ceil_mode=True))])
def test_max_pool_layer_return_indices(dims, kw):
    """The flat positions of the maxima, as torch gives them; on integer ties (many equal
    values) the first in (depth, row, column) order wins, here as there."""
    shape = (2, 3, 6, 7) if dims == 2 else (2, 3, 5, 6, 7)
    for x in (np.random.default_rng(0).standard_normal(shape),
              np.random.default_rng(1).integers(-1, 2, shape).astype(float)):
        out, idx = getattr(nn, f"MaxPool{dims}d")(return_indices=True, **kw)(chainrule.tensor(x))
        out_t, idx_t = getattr(torch.nn, f"MaxPool{dims}d")(return_indices=True, **kw)(
            torch.tensor(x))
        np.testing.assert_array_equal(out.numpy(), out_t.numpy())
        np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())
        assert idx.dtype == chainrule.int64


@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(3, 8, 5), lambda m: m.Conv2d(4, 6, (3, 2), groups=2, bias=False),
    lambda m: m.Conv1d(3, 5, 4), lambda m: m.ConvTranspose2d(6, 4, 3, groups=2),
    lambda m: m.Conv3d(4, 6, (1, 3, 2), groups=2),
])
def test_parameter_names_shapes_and_state_dict_interchange(make):
    ours, theirs = make(nn), make(torch.nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    same_weights(ours, theirs)  # torch -> chainrule
    theirs.load_state_dict({k: torch.tensor(v.numpy().copy())  # and back
                            for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)


def test_default_initialisation_matches_pytorch_bounds():
    """weight and bias uniform in ±1/sqrt(fan_in), fan_in = in/groups * kH * kW."""
    chainrule.manual_seed(0)
    conv = nn.Conv2d(16, 64, 3, groups=2)
    bound = 1 / math.sqrt(8 * 9)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.shape == (64, 8, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # a uniform's std
    t = nn.ConvTranspose2d(6, 4, 3)  # fan_in from weight.size(1): out_channels/groups
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(4 * 9)


def test_batchnorm2d_train_and_eval_against_torch():
    ours, theirs = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    for step in range(3):
        check_layer(ours, theirs, (4, 3, 5, 6), seed=step)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(),
                                   rtol=1e-10)
    ours.eval()
    theirs.eval()
    check_layer(ours, theirs, (2, 3, 4, 4), seed=7)
    with pytest.raises(ValueError, match="expected 4D input"):
        ours(chainrule.randn(2, 3, 4))


def test_dropout2d_drops_whole_channels():
    chainrule.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    x = chainrule.ones(8, 16, 4, 4)
    out = layer(x).numpy()
    per_channel = out.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_conv_layer_float32_default_and_unbatched():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    out = conv(chainrule.randn(3, 5, 5))
    assert out.shape == (4, 5, 5) and out.dtype == chainrule.float32
