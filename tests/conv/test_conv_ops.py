"""Convolution ops against PyTorch: conv2d/conv1d (stride, padding ints/tuples/'same'/'valid',
dilation, groups incl. depthwise, bias), conv_transpose2d/1d (output_padding), unfold/fold;
values and gradients of input, weight and bias, float64 finite differences, second
derivatives, odd sizes, batch of 1, a single channel, non-contiguous inputs, errors."""
import numpy as np
import pytest
import torch
from conformance import Case, T, check_against_torch, params, run_case, spec, strided

import chainrule
import chainrule.nn  # noqa: F401  (m.nn.functional below)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")


def F(m):
    return m.nn.functional


def conv(**kw):
    return lambda m, x, w, b: F(m).conv2d(x, w, b, **kw)


def conv_nb(**kw):
    return lambda m, x, w: F(m).conv2d(x, w, **kw)


CONV2D = [
    Case("conv2d_basic", conv(), [spec(2, 3, 7, 8), spec(4, 3, 3, 3), spec(4)]),
    Case("conv2d_no_bias", conv_nb(), [spec(2, 3, 6, 5), spec(4, 3, 3, 2)]),
    Case("conv2d_pad1", conv(padding=1), [spec(2, 3, 6, 6), spec(5, 3, 3, 3), spec(5)]),
    Case("conv2d_pad_tuple", conv(padding=(2, 1)), [spec(2, 2, 5, 7), spec(3, 2, 3, 3), spec(3)]),
    Case("conv2d_pad_gt_half", conv(padding=3), [spec(1, 2, 4, 5), spec(3, 2, 3, 3), spec(3)]),
    Case("conv2d_pad_gt_kernel", conv(padding=2), [spec(2, 2, 4, 4), spec(3, 2, 1, 1), spec(3)]),
    Case("conv2d_stride2", conv(stride=2), [spec(2, 3, 9, 8), spec(4, 3, 3, 3), spec(4)]),
    Case("conv2d_stride_tuple", conv(stride=(2, 3), padding=1),
         [spec(2, 3, 9, 11), spec(4, 3, 3, 2), spec(4)]),
    Case("conv2d_stride_gt_kernel", conv(stride=3), [spec(2, 2, 10, 8), spec(3, 2, 2, 2), spec(3)]),
    Case("conv2d_dilation", conv(dilation=2, padding=2),
         [spec(2, 2, 9, 8), spec(3, 2, 3, 3), spec(3)]),
    Case("conv2d_dilation_tuple", conv(dilation=(2, 1), stride=(1, 2)),
         [spec(2, 2, 9, 8), spec(3, 2, 3, 2), spec(3)]),
    Case("conv2d_same", conv(padding="same"), [spec(2, 3, 7, 6), spec(4, 3, 3, 3), spec(4)]),
    Case("conv2d_same_even_kernel", conv(padding="same"),
         [spec(2, 2, 5, 6), spec(3, 2, 4, 2), spec(3)]),
    Case("conv2d_same_dilated", conv(padding="same", dilation=2),
         [spec(1, 2, 7, 7), spec(3, 2, 3, 3), spec(3)]),
    Case("conv2d_valid", conv(padding="valid"), [spec(2, 3, 5, 5), spec(2, 3, 3, 3), spec(2)]),
    Case("conv2d_groups2", conv(groups=2, padding=1),
         [spec(2, 4, 5, 6), spec(6, 2, 3, 3), spec(6)]),
    Case("conv2d_depthwise", conv(groups=3, padding=1),
         [spec(2, 3, 6, 5), spec(3, 1, 3, 3), spec(3)]),
    Case("conv2d_depthwise_multiplier", conv(groups=3, stride=2),
         [spec(2, 3, 7, 7), spec(6, 1, 3, 3), spec(6)]),
    Case("conv2d_batch1_single_channel", conv(padding=2),
         [spec(1, 1, 6, 7), spec(1, 1, 5, 5), spec(1)]),
    Case("conv2d_odd_sizes", conv(stride=2, padding=(1, 2), dilation=(1, 2)),
         [spec(3, 5, 11, 13), spec(7, 5, 3, 3), spec(7)]),
    Case("conv2d_kernel_equals_input", conv(), [spec(2, 3, 4, 5), spec(2, 3, 4, 5), spec(2)]),
    Case("conv2d_1x1", conv(), [spec(2, 6, 3, 4), spec(4, 6, 1, 1), spec(4)]),
    Case("conv2d_transposed_out_channels_fewer", conv(padding=(1, 2)),
         [spec(2, 5, 6, 5), spec(2, 5, 3, 3), spec(2)]),
    Case("conv2d_unbatched", conv(padding=1), [spec(3, 5, 5), spec(2, 3, 3, 3), spec(2)]),
    Case("conv2d_noncontiguous", conv(padding=1),
         [strided(2, 3, 5, 6), strided(4, 3, 3, 3), spec(4)]),
    Case("conv2d_input_only_grad", lambda m, x, w: F(m).conv2d(x, w, padding=1),
         [spec(2, 2, 4, 4), spec(3, 2, 3, 3, grad=False)]),
    Case("conv2d_weight_only_grad", lambda m, x, w: F(m).conv2d(x, w, stride=2),
         [spec(2, 2, 5, 5, grad=False), spec(3, 2, 3, 3)]),
]

CONV_OTHER = [
    Case("conv1d", lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, padding=1, dilation=2),
         [spec(2, 3, 11), spec(4, 3, 3), spec(4)]),
    Case("conv1d_same_groups", lambda m, x, w, b: F(m).conv1d(x, w, b, padding="same", groups=2),
         [spec(2, 4, 9), spec(6, 2, 4), spec(6)]),
    Case("conv1d_unbatched", lambda m, x, w: F(m).conv1d(x, w), [spec(3, 7), spec(2, 3, 3)]),
    Case("conv3d", lambda m, x, w, b: F(m).conv3d(x, w, b), [spec(2, 3, 4, 5, 4),
                                                            spec(2, 3, 2, 3, 2), spec(2)]),
    Case("conv3d_all_options", lambda m, x, w, b: F(m).conv3d(
        x, w, b, stride=(2, 1, 2), padding=(2, 1, 0), dilation=(2, 1, 1), groups=2),
         [strided(1, 4, 6, 5, 5), spec(4, 2, 2, 2, 3), spec(4)]),
    Case("conv3d_same_unbatched", lambda m, x, w: F(m).conv3d(x, w, padding="same"),
         [spec(2, 3, 4, 3), T(3, 2, 2, 3, 2)]),
    Case("conv_transpose2d", lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=2,
                                                                       padding=1),
         [spec(2, 3, 4, 5), spec(3, 4, 3, 3), spec(4)]),
    Case("conv_transpose2d_output_padding",
         lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0),
                                                  output_padding=(1, 2)),
         [spec(2, 2, 3, 4), spec(2, 3, 3, 4), spec(3)]),
    Case("conv_transpose2d_groups_dilation",
         lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, groups=2, dilation=2, padding=1),
         [spec(1, 4, 4, 3), spec(4, 3, 3, 2), spec(6)]),
    Case("conv_transpose2d_stride1", lambda m, x, w: F(m).conv_transpose2d(x, w),
         [spec(2, 3, 4, 4), spec(3, 2, 2, 3)]),
    Case("conv_transpose1d", lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, stride=3,
                                                                       output_padding=1),
         [spec(2, 3, 5), spec(3, 2, 4), spec(2)]),
    Case("unfold", lambda m, x: F(m).unfold(x, 3), [spec(2, 3, 5, 6)]),
    Case("unfold_all_options", lambda m, x: F(m).unfold(x, (2, 3), dilation=(2, 1),
                                                        padding=(1, 2), stride=(2, 1)),
         [spec(2, 2, 6, 5)]),
    Case("fold", lambda m, c: F(m).fold(c, (5, 6), 3), [spec(2, 18, 12)]),
    Case("fold_all_options", lambda m, c: F(m).fold(c, (6, 5), (2, 3), dilation=(2, 1),
                                                    padding=(1, 2), stride=(2, 1)),
         [spec(2, 12, 21)]),
    Case("fold_strided_nonoverlapping", lambda m, c: F(m).fold(c, (4, 6), 2, stride=2),
         [spec(1, 12, 6)]),
]


@pytest.mark.parametrize("case,dtype", params(CONV2D + CONV_OTHER))
def test_conv_against_torch(case, dtype):
    run_case(case, dtype)


def test_conv2d_float32_lenet_sizes():
    """The sizes the LeNet benchmark uses, in float32 (the fast path's dtype)."""
    check_against_torch("conv2d_lenet", lambda x, w, b: chainrule.nn.functional.conv2d(
        x, w, b, padding=2), lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=2),
        [spec(8, 1, 28, 28), spec(6, 1, 5, 5), spec(6)], "float32", tol32=(1e-4, 1e-4))


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1, groups=2),
                                dict(padding=(0, 2), dilation=2)])
def test_conv2d_second_derivatives(kw):
    """The conv backward is made of differentiable conv ops: grad of grad matches torch."""
    rng = np.random.default_rng(0)
    groups = kw.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 6, 7)), rng.standard_normal((4, 4 // groups, 3, 3)), \
        rng.standard_normal(4)

    def second(m, grad_fn):
        xs, ws, bs = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        out = m.nn.functional.conv2d(xs, ws, bs, **kw)
        gx, gw = grad_fn((out ** 2).sum(), (xs, ws), create_graph=True)
        ((gx ** 2).sum() + (gw * gw.sin()).sum()).backward()
        return [t.grad.detach().numpy() for t in (xs, ws, bs)]

    ours = second(chainrule, chainrule.autograd.grad)
    theirs = second(torch, torch.autograd.grad)
    for a, b_ in zip(ours, theirs):
        np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-9)


def test_conv_transpose2d_second_derivatives():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((3, 2, 3, 3))

    def second(m, grad_fn):
        xs, ws = (m.tensor(a, requires_grad=True) for a in (x, w))
        out = m.nn.functional.conv_transpose2d(xs, ws, stride=2, padding=1)
        gx, gw = grad_fn((out ** 3).sum(), (xs, ws), create_graph=True)
        ((gx ** 2).sum() + (gw ** 2).sum()).backward()
        return [t.grad.detach().numpy() for t in (xs, ws)]

    for a, b_ in zip(second(chainrule, chainrule.autograd.grad),
                     second(torch, torch.autograd.grad)):
        np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-9)


def test_fold_unfold_round_trip():
    """fold(unfold(x)) multiplies each pixel by the number of blocks covering it; with
    non-overlapping blocks that tile the image it is the identity."""
    x = chainrule.randn(2, 3, 6, 8, dtype=chainrule.float64)
    F_ = chainrule.nn.functional
    np.testing.assert_array_equal(F_.fold(F_.unfold(x, 2, stride=2), (6, 8), 2, stride=2).numpy(),
                                  x.numpy())
    counts = F_.fold(F_.unfold(chainrule.ones(1, 1, 6, 8, dtype=chainrule.float64), 3,
                               padding=1), (6, 8), 3, padding=1)
    np.testing.assert_allclose(F_.fold(F_.unfold(x, 3, padding=1), (6, 8), 3, padding=1).numpy(),
                               (x * counts).numpy(), rtol=1e-12)
    assert counts[0, 0, 2, 3].item() == 9 and counts[0, 0, 0, 0].item() == 4


def test_unfold_is_im2col_of_conv():
    """conv2d == weight matrix @ unfold(x): the im2col identity, shared layout with torch."""
    x = chainrule.randn(2, 3, 5, 6, dtype=chainrule.float64)
    w = chainrule.randn(4, 3, 3, 3, dtype=chainrule.float64)
    F_ = chainrule.nn.functional
    cols = F_.unfold(x, 3)  # (2, 27, 12)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 4)
    np.testing.assert_allclose(out.numpy(), F_.conv2d(x, w).numpy(), rtol=1e-12)


def test_conv2d_no_grad_keeps_no_columns():
    """Under no_grad nothing is recorded, so no im2col buffer outlives the call."""
    x, w = chainrule.randn(2, 3, 8, 8), chainrule.randn(4, 3, 3, 3, requires_grad=True)
    with chainrule.no_grad():
        out = chainrule.nn.functional.conv2d(x, w)
    assert out.grad_fn is None and not out.requires_grad


@pytest.mark.parametrize("call,message", [
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 5, 5), chainrule.randn(4, 2, 3, 3)),
     "to have 2 channels, but got 3"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 2, 2), chainrule.randn(4, 3, 3, 3)),
     "Kernel size can't be greater"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 5), chainrule.randn(4, 3, 3)),
     "expected a 4-D input"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 4, 5, 5), chainrule.randn(6, 2, 3, 3), groups=3),
     "groups=3"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 5, 5), chainrule.randn(4, 3, 3, 3), stride=2,
                          padding="same"), "padding='same' is not supported for strided"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 5, 5), chainrule.randn(4, 3, 3, 3),
                          chainrule.randn(3)), "bias of shape (4,)"),
    (lambda F_: F_.conv2d(chainrule.randn(2, 3, 5, 5),
                          chainrule.randn(4, 3, 3, 3, dtype=chainrule.float64)), "same dtype"),
    (lambda F_: F_.conv_transpose2d(chainrule.randn(1, 2, 3, 3), chainrule.randn(2, 2, 3, 3),
                                    stride=2, output_padding=2), "output padding must be"),
    (lambda F_: F_.fold(chainrule.randn(1, 18, 10), (5, 6), 3), "sliding blocks"),
])
def test_conv_errors_name_the_op_and_shapes(call, message):
    with pytest.raises((RuntimeError, ValueError)) as info:
        call(chainrule.nn.functional)
    assert message in str(info.value)


@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((1, 1, 400, 400), (1, 1, 1, 1), {}),  # results whose transposes are already contiguous
    ((1, 2, 200, 200), (1, 2, 3, 3), dict(padding=1)),
    ((2, 4, 100, 100), (4, 4, 3, 3), dict(padding=1, stride=2)),
    ((1, 3, 120, 120), (2, 3, 3, 3), dict(padding=1)),  # out <= in channels: transpose as conv
])
def test_workspace_buffers_never_alias_results(x_shape, w_shape, kw):
    """The conv ops reuse their large scratch arrays between calls; no result (output or
    gradient) may share memory with them, or a later call would overwrite it."""
    F_ = chainrule.nn.functional
    rng = np.random.default_rng(0)
    w = chainrule.tensor(rng.standard_normal(w_shape), requires_grad=True)
    xs = [chainrule.tensor(rng.standard_normal(x_shape), requires_grad=True) for _ in range(2)]
    outs = [F_.conv2d(x, w, **kw) for x in xs]
    for out in outs:
        out.backward(chainrule.ones(out.shape, dtype=chainrule.float64), retain_graph=True)
    first_out, first_grad = outs[0].detach().numpy().copy(), xs[0].grad.numpy().copy()
    outs[1].backward(chainrule.ones(outs[1].shape, dtype=chainrule.float64))  # reuses buffers
    F_.unfold(xs[1], 3)
    np.testing.assert_array_equal(outs[0].detach().numpy(), first_out)
    np.testing.assert_array_equal(xs[0].grad.numpy(), first_grad)
    expected = torch.nn.functional.conv2d(torch.tensor(xs[0].detach().numpy()),
                                          torch.tensor(w.detach().numpy()), **kw)
    np.testing.assert_allclose(first_out, expected.numpy(), rtol=1e-10, atol=1e-10)


def test_clear_workspace_frees_buffers():
    from chainrule.ops.conv import WORKSPACE, clear_workspace
    x = chainrule.randn(4, 8, 64, 64)
    chainrule.nn.functional.conv2d(x, chainrule.randn(8, 8, 3, 3), padding=1)
    assert WORKSPACE.nbytes > 0
    clear_workspace()
    assert WORKSPACE.nbytes == 0


CHUNKED = [
    Case("conv2d_chunks_groups", conv(padding=1, groups=2),
         [spec(5, 4, 7, 8), spec(6, 2, 3, 3), spec(6)]),
    # weights of over 500 elements: the weight gradient's batched-GEMM path (below, np.dot)
    Case("conv2d_chunks_groups_large_weight", conv(padding=1, groups=2),
         [spec(5, 8, 6, 5), spec(24, 4, 3, 3), spec(24)]),
    Case("conv2d_chunks_strided", conv(stride=2, dilation=(1, 2)),
         [spec(5, 3, 9, 10), spec(4, 3, 3, 3), spec(4)]),
    Case("conv_transpose2d_chunks_col2im",
         lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=2, padding=1),
         [spec(5, 4, 4, 5), spec(4, 3, 3, 3), spec(3)]),
    Case("conv_transpose2d_chunks_as_convolution",
         lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, padding=1),
         [spec(5, 3, 5, 4), spec(3, 4, 3, 3), spec(4)]),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunk_bytes", [1, 45_000])
@pytest.mark.parametrize("case", CHUNKED, ids=lambda c: c.name)
def test_conv_ops_over_chunks_of_images(case, chunk_bytes, threads, monkeypatch):
    """The conv ops run im2col + GEMM a few images at a time, the batch split over the
    threads: with one image per chunk, and with chunks of two images and a last one of one,
    on one thread and on two, values and all gradients still match."""
    from chainrule.ops import im2col
    monkeypatch.setattr(im2col, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(im2col, "ONE_CHUNK_BYTES", 0)
    monkeypatch.setattr(im2col, "PARALLEL_MIN_BYTES", 0)
    one_thread = [5 if chunk_bytes == 1 else 3]
    assert [len(im2col.image_chunks(0, 5, 20_160))] == one_thread
    before = chainrule.get_num_threads()
    chainrule.set_num_threads(threads)
    try:
        assert [len(group) for group in im2col.chunk_groups(5, 20_160)] == \
            (one_thread if threads == 1 else [2, 3] if chunk_bytes == 1 else [1, 2])
        run_case(case, "float64")
    finally:
        chainrule.set_num_threads(before)
