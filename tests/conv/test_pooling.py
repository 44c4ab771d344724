"""Pooling, padding and resizing against PyTorch: max/avg pooling 1-D, 2-D and 3-D (kernel,
stride, padding, dilation, ceil_mode, return_indices, count_include_pad, divisor_override),
adaptive avg/max pooling (sizes that don't divide), F.pad (constant, reflect, replicate,
circular, negative), F.interpolate (nearest, linear, bilinear, align_corners both),
pixel_shuffle/unshuffle, max_unpool, local_response_norm, and the padding, pixel-shuffle,
unpooling and Unfold/Fold layers; values, gradients, finite differences (float64), second
derivatives, ties, errors."""
import numpy as np
import pytest
import torch
from conformance import Case, T, check_against_torch, params, run_case, spec, strided

import chainrule
import chainrule.nn  # noqa: F401


def F(m):
    return m.nn.functional


def pool(name, **kw):
    return lambda m, x: getattr(F(m), name)(x, **kw)


X = spec(2, 3, 7, 9)  # odd sizes
TIES = spec(2, 2, 6, 7, domain="ties")  # many equal values: argmax must pick as torch does

POOLS = [
    Case("max_pool2d_k2", pool("max_pool2d", kernel_size=2), [spec(2, 3, 8, 6)]),
    Case("max_pool2d_k2_odd", pool("max_pool2d", kernel_size=2), [X]),
    Case("max_pool2d_k3_s2_p1", pool("max_pool2d", kernel_size=3, stride=2, padding=1), [X]),
    Case("max_pool2d_stride_gt_kernel", pool("max_pool2d", kernel_size=2, stride=3), [X]),
    Case("max_pool2d_dilation", pool("max_pool2d", kernel_size=(2, 3), dilation=(2, 1),
                                     padding=(1, 1)), [X]),
    Case("max_pool2d_ceil_mode", pool("max_pool2d", kernel_size=3, stride=2, ceil_mode=True),
         [spec(2, 2, 8, 8)]),
    Case("max_pool2d_ceil_mode_pad", pool("max_pool2d", kernel_size=(3, 2), stride=(2, 3),
                                          padding=(1, 1), ceil_mode=True), [X]),
    Case("max_pool2d_indices", pool("max_pool2d", kernel_size=3, stride=2, padding=1,
                                    return_indices=True), [X]),
    Case("max_pool2d_indices_ceil", pool("max_pool2d", kernel_size=2, ceil_mode=True,
                                         return_indices=True), [X]),
    Case("max_pool2d_ties", pool("max_pool2d", kernel_size=2, return_indices=True), [TIES],
         fd=False),
    Case("max_pool2d_ties_overlap", pool("max_pool2d", kernel_size=3, stride=1, padding=1),
         [TIES], fd=False),
    Case("max_pool2d_batch1_channel1", pool("max_pool2d", kernel_size=2), [spec(1, 1, 4, 5)]),
    Case("max_pool2d_unbatched", pool("max_pool2d", kernel_size=2), [spec(3, 6, 6)]),
    Case("max_pool1d", pool("max_pool1d", kernel_size=3, stride=2, padding=1, dilation=2,
                            return_indices=True), [spec(2, 3, 11)]),
    Case("max_pool1d_ceil", pool("max_pool1d", kernel_size=2, ceil_mode=True), [spec(2, 3, 7)]),
    Case("avg_pool2d_k2", pool("avg_pool2d", kernel_size=2), [spec(2, 3, 8, 6)]),
    Case("avg_pool2d_k3_s2_p1", pool("avg_pool2d", kernel_size=3, stride=2, padding=1), [X]),
    Case("avg_pool2d_exclude_pad", pool("avg_pool2d", kernel_size=3, stride=2, padding=1,
                                        count_include_pad=False), [X]),
    Case("avg_pool2d_ceil_mode", pool("avg_pool2d", kernel_size=(3, 2), stride=(2, 3),
                                      padding=(1, 1), ceil_mode=True), [X]),
    Case("avg_pool2d_ceil_exclude", pool("avg_pool2d", kernel_size=(3, 2), stride=(2, 3),
                                         padding=(1, 1), ceil_mode=True,
                                         count_include_pad=False), [X]),
    Case("avg_pool2d_divisor_override", pool("avg_pool2d", kernel_size=3, divisor_override=4),
         [X]),
    Case("avg_pool2d_stride_gt_kernel", pool("avg_pool2d", kernel_size=2, stride=3), [X]),
    Case("avg_pool1d", pool("avg_pool1d", kernel_size=3, stride=2, padding=1,
                            count_include_pad=False), [spec(2, 3, 10)]),
    Case("adaptive_avg_pool2d_1", pool("adaptive_avg_pool2d", output_size=1), [X]),
    Case("adaptive_avg_pool2d_divides", pool("adaptive_avg_pool2d", output_size=(7, 3)), [X]),
    Case("adaptive_avg_pool2d_uneven", pool("adaptive_avg_pool2d", output_size=(4, 5)), [X]),
    Case("adaptive_avg_pool2d_none", pool("adaptive_avg_pool2d", output_size=(3, None)), [X]),
    Case("adaptive_avg_pool2d_upsample", pool("adaptive_avg_pool2d", output_size=(9, 11)), [X]),
    Case("adaptive_max_pool2d_uneven", pool("adaptive_max_pool2d", output_size=(4, 5),
                                            return_indices=True), [X]),
    Case("adaptive_max_pool2d_1", pool("adaptive_max_pool2d", output_size=1), [X]),
    Case("adaptive_max_pool2d_ties", pool("adaptive_max_pool2d", output_size=(4, 3)), [TIES],
         fd=False),
    Case("adaptive_avg_pool1d", pool("adaptive_avg_pool1d", output_size=4), [spec(2, 3, 10)]),
    Case("adaptive_max_pool1d", pool("adaptive_max_pool1d", output_size=3, return_indices=True),
         [spec(2, 3, 10)]),
]

RESIZE = [
    Case("pad_constant", lambda m, x: F(m).pad(x, (1, 2)), [spec(2, 3, 4)]),
    Case("pad_constant_value_2d", lambda m, x: F(m).pad(x, (1, 2, 0, 3), value=1.5),
         [spec(2, 3, 4, 5)]),
    Case("pad_constant_negative", lambda m, x: F(m).pad(x, (-1, 2, 1, -2)), [spec(2, 3, 5, 6)]),
    Case("pad_constant_3dims", lambda m, x: F(m).pad(x, (1, 1, 0, 2, 1, 0)), [spec(2, 3, 4)]),
    Case("pad_reflect_1d", lambda m, x: F(m).pad(x, (2, 3), mode="reflect"), [spec(2, 3, 5)]),
    Case("pad_reflect_2d", lambda m, x: F(m).pad(x, (2, 1, 1, 3), mode="reflect"),
         [spec(2, 3, 5, 6)]),
    Case("pad_replicate_2d", lambda m, x: F(m).pad(x, (2, 1, 3, 0), mode="replicate"),
         [spec(2, 3, 4, 5)]),
    Case("pad_circular_2d", lambda m, x: F(m).pad(x, (2, 1, 1, 3), mode="circular"),
         [spec(2, 3, 4, 5)]),
    Case("pad_reflect_unbatched", lambda m, x: F(m).pad(x, (1, 1, 2, 2), mode="reflect"),
         [spec(3, 4, 5)]),
    Case("interp_nearest_x2", lambda m, x: F(m).interpolate(x, scale_factor=2), [spec(2, 3, 4, 5)]),
    Case("interp_nearest_size", lambda m, x: F(m).interpolate(x, size=(7, 3)), [spec(2, 3, 4, 5)]),
    Case("interp_nearest_frac", lambda m, x: F(m).interpolate(x, scale_factor=(1.7, 0.6)),
         [spec(2, 3, 4, 5)]),
    Case("interp_nearest_1d", lambda m, x: F(m).interpolate(x, size=9), [spec(2, 3, 4)]),
    Case("interp_linear_1d", lambda m, x: F(m).interpolate(x, size=9, mode="linear"),
         [spec(2, 3, 4)]),
    Case("interp_bilinear", lambda m, x: F(m).interpolate(x, size=(7, 9), mode="bilinear"),
         [spec(2, 3, 4, 5)]),
    Case("interp_bilinear_corners", lambda m, x: F(m).interpolate(
        x, size=(7, 9), mode="bilinear", align_corners=True), [spec(2, 3, 4, 5)]),
    Case("interp_bilinear_down", lambda m, x: F(m).interpolate(
        x, scale_factor=0.5, mode="bilinear"), [spec(2, 3, 8, 7)]),
    Case("interp_bilinear_scale_corners", lambda m, x: F(m).interpolate(
        x, scale_factor=(2.5, 1.5), mode="bilinear", align_corners=True), [spec(1, 2, 3, 4)]),
    Case("interp_bilinear_recompute", lambda m, x: F(m).interpolate(
        x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True), [spec(1, 2, 5, 4)]),
    Case("pixel_shuffle", lambda m, x: F(m).pixel_shuffle(x, 2), [spec(2, 8, 3, 4)]),
    Case("pixel_shuffle_r3_unbatched", lambda m, x: F(m).pixel_shuffle(x, 3), [spec(18, 2, 3)]),
    Case("pixel_shuffle_5d_strided", lambda m, x: m.pixel_shuffle(x, 2),
         [strided(2, 3, 4, 2, 3)]),
    Case("pixel_unshuffle", lambda m, x: F(m).pixel_unshuffle(x, 2), [spec(2, 3, 4, 6)]),
    Case("pixel_unshuffle_5d_T", lambda m, x: F(m).pixel_unshuffle(x, 3), [T(2, 1, 2, 6, 3)]),
    Case("pixel_unshuffle_r1", lambda m, x: F(m).pixel_unshuffle(x, 1), [spec(2, 3, 4, 5)]),
]

def unpool(dims, size=None, **kw):
    """max_pool with indices, then max_unpool of the pooled values back to ``size``."""
    def fn(m, x):
        y, idx = getattr(F(m), f"max_pool{dims}d")(x, return_indices=True, **kw)
        return getattr(F(m), f"max_unpool{dims}d")(y, idx, output_size=size, **kw)
    return fn


POOLS_3D = [
    Case("max_pool3d", pool("max_pool3d", kernel_size=2), [spec(2, 3, 4, 6, 5)]),
    Case("max_pool3d_options", pool("max_pool3d", kernel_size=(3, 2, 2), stride=2,
                                    padding=(1, 0, 1), dilation=(1, 2, 1), ceil_mode=True),
         [strided(2, 2, 7, 6, 5)]),
    Case("max_pool3d_ties", pool("max_pool3d", kernel_size=2),
         [spec(1, 2, 4, 4, 4, domain="ties")], fd=False),
    Case("avg_pool3d", pool("avg_pool3d", kernel_size=2), [spec(2, 3, 4, 6, 5)]),
    Case("avg_pool3d_exclude_pad_ceil", pool("avg_pool3d", kernel_size=3, stride=2, padding=1,
                                             ceil_mode=True, count_include_pad=False),
         [T(2, 2, 6, 7, 5)]),
    Case("avg_pool3d_divisor_unbatched", pool("avg_pool3d", kernel_size=(2, 3, 1),
                                              divisor_override=4), [spec(2, 4, 6, 3)]),
]

UNPOOL = [
    Case("max_unpool2d", unpool(2, kernel_size=2), [spec(2, 3, 6, 8)]),
    # Overlapping windows: an element that is the max of two windows is written twice and
    # gets both gradients, in PyTorch too (finite differences see it once).
    Case("max_unpool2d_overlap_odd", unpool(2, (7, 9), kernel_size=3, stride=2, padding=1),
         [X], fd=False),
    Case("max_unpool2d_unbatched", unpool(2, (7, 9), kernel_size=(2, 3), stride=(2, 3)),
         [spec(3, 7, 9)]),
    Case("max_unpool2d_size4", unpool(2, (2, 3, 7, 9), kernel_size=(2, 3), stride=(2, 3)),
         [spec(2, 3, 7, 9)]),
    Case("max_unpool1d", unpool(1, (9,), kernel_size=2), [spec(2, 3, 9)]),
    Case("MaxUnpool2d", lambda m, x: m.nn.MaxUnpool2d(2)(*m.nn.MaxPool2d(
        2, return_indices=True)(x)), [strided(2, 3, 4, 6)]),
    Case("MaxUnpool1d_overlap", lambda m, x: m.nn.MaxUnpool1d(3, 2, 1)(*m.nn.MaxPool1d(
        3, 2, 1, return_indices=True)(x), output_size=(8,)), [spec(2, 3, 8)], fd=False),
    Case("local_response_norm", lambda m, x: F(m).local_response_norm(x, 3, 0.3, 0.6, 1.5),
         [spec(2, 6, 3, 4)]),
    Case("local_response_norm_even_3d", lambda m, x: F(m).local_response_norm(x, 4, 0.2),
         [spec(2, 5, 7)]),
    Case("LocalResponseNorm_5d", lambda m, x: m.nn.LocalResponseNorm(2, k=2.0)(x),
         [spec(2, 3, 2, 3, 2)]),
]

# The padding, pixel-shuffle and fold layers: each a functional call with its settings.
LAYERS = [
    Case("ZeroPad2d", lambda m, x: m.nn.ZeroPad2d((1, 2, 0, 3))(x), [spec(2, 3, 4, 5)]),
    Case("ZeroPad1d_crop", lambda m, x: m.nn.ZeroPad1d((-1, 2))(x), [spec(2, 3, 5)]),
    Case("ConstantPad2d", lambda m, x: m.nn.ConstantPad2d(2, 3.5)(x), [spec(3, 4, 5)]),
    Case("ConstantPad3d", lambda m, x: m.nn.ConstantPad3d((1, 0, 0, 1, 2, 1), -1.0)(x),
         [spec(2, 3, 2, 3, 4)]),
    Case("ReflectionPad1d", lambda m, x: m.nn.ReflectionPad1d((3, 1))(x), [spec(2, 3, 5)]),
    Case("ReflectionPad2d", lambda m, x: m.nn.ReflectionPad2d((1, 2, 2, 0))(x),
         [strided(2, 3, 4, 5)]),
    Case("ReflectionPad3d", lambda m, x: m.nn.ReflectionPad3d(1)(x), [spec(1, 2, 3, 3, 4)]),
    Case("ReplicationPad1d", lambda m, x: m.nn.ReplicationPad1d(2)(x), [spec(3, 5)]),
    Case("ReplicationPad2d", lambda m, x: m.nn.ReplicationPad2d((0, 3, 1, 2))(x),
         [spec(2, 3, 4, 5)]),
    Case("ReplicationPad3d", lambda m, x: m.nn.ReplicationPad3d((1, 2, 0, 1, 1, 0))(x),
         [spec(2, 2, 2, 3, 4)]),
    Case("CircularPad1d", lambda m, x: m.nn.CircularPad1d((2, 1))(x), [spec(2, 3, 5)]),
    Case("CircularPad2d", lambda m, x: m.nn.CircularPad2d(1)(x), [spec(2, 3, 4, 5)]),
    Case("CircularPad3d", lambda m, x: m.nn.CircularPad3d((1, 0, 2, 1, 1, 1))(x),
         [spec(1, 2, 2, 3, 4)]),
    Case("PixelShuffle", lambda m, x: m.nn.PixelShuffle(2)(x), [spec(2, 12, 3, 2)]),
    Case("PixelUnshuffle", lambda m, x: m.nn.PixelUnshuffle(2)(x), [spec(2, 3, 4, 2)]),
    Case("Unfold", lambda m, x: m.nn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=2)(x),
         [spec(2, 3, 6, 7)]),
    Case("Fold", lambda m, x: m.nn.Fold((5, 6), 2, padding=1, stride=(1, 2))(x),
         [spec(2, 12, 24)]),
]


@pytest.mark.parametrize("case,dtype", params(POOLS + POOLS_3D + RESIZE + UNPOOL + LAYERS))
def test_against_torch(case, dtype):
    run_case(case, dtype)


def test_max_pool2d_lenet_float32():
    check_against_torch("max_pool2d_lenet", lambda x: chainrule.nn.functional.max_pool2d(x, 2),
                        lambda x: torch.nn.functional.max_pool2d(x, 2),
                        [spec(16, 6, 28, 28)], "float32")


@pytest.mark.parametrize("name,kw", [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
])
def test_pool_second_derivatives(name, kw):
    """Each pooling backward is a differentiable op (its adjoint is the forward gather/mean)."""
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6))

    def second(m, grad_fn):
        xs = m.tensor(x, requires_grad=True)
        out = getattr(m.nn.functional, name)(xs, **kw)
        (gx,) = grad_fn((out ** 3).sum(), (xs,), create_graph=True)
        (gx ** 2).sum().backward()
        return xs.grad.detach().numpy()

    np.testing.assert_allclose(second(chainrule, chainrule.autograd.grad),
                               second(torch, torch.autograd.grad), rtol=1e-10, atol=1e-12)


def test_max_pool_nan_propagates():
    x = chainrule.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert np.isnan(chainrule.nn.functional.max_pool2d(x, 2).item())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=(3, 2), stride=(2, 1))])
def test_max_pool_backward_sends_inf_and_nan_only_to_the_max(kw):
    """An inf or NaN gradient goes to its window's max; every other input gets exactly 0, as
    in PyTorch (a product with a 0/1 mask would give NaN there)."""
    a = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.functional.max_pool2d(x, **kw)
        upstream = np.ones(tuple(y.shape))
        upstream.reshape(-1)[::3], upstream.reshape(-1)[1::5] = np.inf, np.nan
        (g,) = lib.autograd.grad(y, x, lib.tensor(upstream))
        results.append(g.numpy())
    np.testing.assert_array_equal(results[0], results[1])
    assert (results[0] == 0).sum() > a.size // 3


@pytest.mark.parametrize("call,message", [
    (lambda F_: F_.max_pool2d(chainrule.randn(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda F_: F_.max_pool2d(chainrule.randn(1, 1, 2, 2), 3), "too small"),
    (lambda F_: F_.avg_pool2d(chainrule.randn(5, 5), 2), "expected a 3-D or 4-D input"),
    (lambda F_: F_.pad(chainrule.randn(1, 2, 3), (3, 0), mode="reflect"),
     "padding size should be less"),
    (lambda F_: F_.pad(chainrule.randn(1, 2, 3), (1,)), "divisible by 2"),
    (lambda F_: F_.interpolate(chainrule.randn(1, 2, 3, 3), size=4, scale_factor=2),
     "only one of size or scale_factor"),
    (lambda F_: F_.interpolate(chainrule.randn(1, 2, 3, 3), size=4, mode="bicubic"),
     "not supported"),
    (lambda F_: F_.pixel_shuffle(chainrule.randn(2, 5, 3, 3), 2),
     "input.size(-3)=5 is not divisible by 4"),
    (lambda F_: F_.pixel_shuffle(chainrule.randn(4, 3), 2), "at least 3 dimensions"),
    (lambda F_: F_.pixel_shuffle(chainrule.randn(2, 4, 3, 3), 0), "positive upscale_factor"),
    (lambda F_: F_.pixel_unshuffle(chainrule.randn(2, 1, 3, 4), 2),
     "height to be divisible by downscale_factor, but input.size(-2)=3"),
    (lambda F_: F_.pixel_unshuffle(chainrule.randn(2, 1, 4, 3), 2), "width to be divisible"),
    (lambda F_: F_.max_unpool2d(*F_.max_pool2d(chainrule.randn(1, 2, 6, 7), 2,
                                               return_indices=True), 2),
     "(the output planes are of size 6x6)"),
    (lambda F_: F_.max_unpool2d(*F_.max_pool2d(chainrule.randn(1, 2, 6, 7), 2,
                                               return_indices=True), 2, output_size=(9, 8)),
     "(dim 0 must be between 4 and 8)"),
    (lambda F_: F_.max_unpool2d(chainrule.randn(1, 2, 3, 3), chainrule.zeros(1, 2, 3, 3), 2),
     "should be type int64"),
    (lambda F_: F_.max_unpool2d(chainrule.randn(2, 3), chainrule.zeros(2, 3).long(), 2),
     "expected a 3-D or 4-D input"),
    (lambda F_: F_.max_unpool2d(chainrule.randn(1, 2, 3, 3), chainrule.zeros(1, 2, 2, 3).long(),
                                2), "indices of the input's shape"),
    (lambda F_: F_.max_unpool1d(chainrule.randn(1, 2, 3), chainrule.zeros(1, 2, 3).long(), 2,
                                output_size=(1, 2)), "containing 1 or 3 elements"),
    (lambda F_: F_.local_response_norm(chainrule.randn(2, 3), 2), "3D or higher"),
    (lambda F_: F_.max_pool3d(chainrule.randn(1, 2, 4, 4, 4), 2, padding=(2, 0, 0)),
     "pad should be at most half"),
    (lambda F_: F_.avg_pool3d(chainrule.randn(2, 4, 4), 2), "expected a 4-D or 5-D input"),
    (lambda F_: F_.avg_pool3d(chainrule.randn(1, 1, 2, 2, 2), 2, divisor_override=0),
     "divisor must be not zero"),
    (lambda F_: chainrule.nn.ZeroPad2d((1, 2, 3))(chainrule.randn(1, 2, 3)),
     "a tuple of 4 ints"),
    (lambda F_: chainrule.nn.ReflectionPad1d(3)(chainrule.randn(1, 2, 3)),
     "padding size should be less"),
])
def test_errors(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError, TypeError)) as info:
        call(chainrule.nn.functional)
    assert message in str(info.value)
