"""Bad input fails loudly and precisely: each error names the op and what it received (shapes,
dtypes, dims), and is of the exception class PyTorch raises for the same mistake (so ``except
RuntimeError`` in a PyTorch script still works)."""
import re

import pytest
import torch

import chainrule

# name: (call with m = chainrule or torch, patterns the chainrule message must contain)
ERRORS = {
    # incompatible shapes
    "add_shapes": (lambda m: m.ones(2, 3) + m.ones(4, 3), ["add", r"2, 3", r"4, 3"]),
    "mul_shapes": (lambda m: m.ones(2, 3) * m.ones(2, 4), ["mul", r"2, 3", r"2, 4"]),
    "sub_shapes": (lambda m: m.ones(5) - m.ones(2), ["sub", r"\b5\b", r"\b2\b"]),
    "div_shapes": (lambda m: m.ones(2, 3) / m.ones(3, 2), ["div", r"2, 3", r"3, 2"]),
    "maximum_shapes": (lambda m: m.maximum(m.ones(2), m.ones(3)), ["maximum", "2", "3"]),
    "where_shapes": (lambda m: m.where(m.ones(2) > 0, m.ones(3), m.ones(2)), ["where", "3"]),
    "matmul_shapes": (lambda m: m.ones(2, 3) @ m.ones(4, 5),
                      ["matmul", r"2, 3", r"4, 5", r"3 != 4"]),
    "matmul_vec_shapes": (lambda m: m.ones(3) @ m.ones(4), ["matmul", "3", "4"]),
    "matmul_batch_shapes": (lambda m: m.ones(2, 3, 4) @ m.ones(3, 4, 5),
                            ["matmul", r"2, 3, 4", r"3, 4, 5"]),
    "mm_rank": (lambda m: m.mm(m.ones(2, 3, 4), m.ones(4, 5)), ["mm", r"2, 3, 4"]),
    "cat_shapes": (lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]),
                   ["cat", r"2, 3", r"2, 4", "dimension 0"]),
    "cat_0d": (lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]), ["cat", "zero-dim"]),
    "stack_shapes": (lambda m: m.stack([m.ones(2, 3), m.ones(3, 2)]),
                     ["stack", r"2, 3", r"3, 2"]),
    "expand_shapes": (lambda m: m.ones(2, 3).expand(4, 3), ["expand", r"\b4\b", r"2, 3"]),
    "view_numel": (lambda m: m.ones(2, 3).view(4, 2), ["view", r"4, 2", r"\b6\b"]),
    "view_stride": (lambda m: m.ones(2, 3).t().view(6), ["view", r"3, 2", "reshape"]),
    "reshape_numel": (lambda m: m.ones(2, 3).reshape(5), ["reshape", r"\b5\b", r"\b6\b"]),
    "masked_fill_shapes": (lambda m: m.ones(2, 3).masked_fill(m.ones(3, 2) > 0, 0.0),
                           ["masked_fill", r"3, 2", r"2, 3"]),
    "setitem_shapes": (lambda m: m.ones(2, 3).__setitem__(0, m.ones(4)), [r"\b4\b", r"\b3\b"]),
    "inplace_shapes": (lambda m: m.ones(3).add_(m.ones(2, 3)), ["add", r"\b3\b", r"2, 3"]),
    "split_sizes": (lambda m: m.ones(5).split([2, 2]), ["split", r"\b5\b", r"2, 2"]),
    "unflatten_sizes": (lambda m: m.ones(2, 6).unflatten(1, (4, 2)),
                        ["unflatten", r"4, 2", r"\b6\b"]),
    "permute_ndims": (lambda m: m.ones(2, 3).permute(0), ["permute", "2"]),
    "repeat_ndims": (lambda m: m.ones(2, 3).repeat(2), ["repeat", "1", "2"]),
    "narrow_range": (lambda m: m.ones(5).narrow(0, 3, 4), ["narrow", "3", "4", "5"]),
    "backward_gradient_shape": (
        lambda m: (m.ones(2, 3, requires_grad=True) * 2).backward(m.ones(3, 2)),
        [r"2, 3", r"3, 2"]),
    # wrong dtypes
    "matmul_int_float": (lambda m: m.ones(2, 3, dtype=m.int64) @ m.ones(3, 2),
                         ["matmul", "int64", "float32"]),
    "requires_grad_int": (lambda m: m.ones(2, dtype=m.int64).requires_grad_(),
                          ["requires_grad", "floating point", "int64"]),
    "requires_grad_int_tensor": (lambda m: m.tensor([1, 2], requires_grad=True),
                                 ["floating point", "int64"]),
    "index_with_float": (lambda m: m.ones(3)[m.tensor([0.0, 1.0])],
                         ["ind", "long", "float32"]),
    "gather_float_index": (lambda m: m.ones(2, 3).gather(1, m.zeros(2, 3)),
                           ["gather", "int64", "float32"]),
    "index_select_float_index": (lambda m: m.ones(2, 3).index_select(1, m.tensor([0.5])),
                                 ["index_select", "float32"]),
    "mean_of_int": (lambda m: m.ones(2, dtype=m.int64).mean(), ["mean", "int64"]),
    "sub_bool": (lambda m: m.ones(2, dtype=m.bool) - m.ones(2, dtype=m.bool), ["ub", "bool"]),
    "where_int_condition": (lambda m: m.where(m.ones(2, dtype=m.int64), m.ones(2), m.ones(2)),
                            ["where", "bool"]),
    "inplace_leaf": (lambda m: m.ones(2, requires_grad=True).add_(1), ["leaf", "in-place"]),
    # out-of-range dims
    "sum_dim": (lambda m: m.ones(2, 3).sum(2), ["sum", r"\b2\b", r"-2, 1"]),
    "mean_dim": (lambda m: m.ones(2, 3).mean(-3), ["mean", "-3", r"-2, 1"]),
    "softmax_dim": (lambda m: m.ones(2, 3).softmax(-3), ["softmax", "-3", r"-2, 1"]),
    "log_softmax_dim": (lambda m: m.ones(2, 3).log_softmax(2), ["log_softmax", "2"]),
    "transpose_dim": (lambda m: m.ones(2, 3).transpose(0, 2), ["transpose", r"\b2\b"]),
    "gather_dim": (lambda m: m.ones(2, 3).gather(2, m.zeros(2, 3, dtype=m.int64)),
                   ["gather", r"\b2\b"]),
    "gather_index_oob": (lambda m: m.ones(2, 3).gather(1, m.full((2, 3), 5)),
                         ["gather", r"\b5\b", r"\b3\b"]),
    "squeeze_dim": (lambda m: m.ones(2).squeeze(3), ["squeeze", r"\b3\b"]),
    "unsqueeze_dim": (lambda m: m.ones(2).unsqueeze(3), ["unsqueeze", r"\b3\b"]),
    "cat_dim": (lambda m: m.cat([m.ones(2), m.ones(2)], 1), ["cat", r"\b1\b"]),
    "max_dim": (lambda m: m.ones(2, 3).max(5), ["max", r"\b5\b"]),
    "cumsum_dim": (lambda m: m.ones(2, 3).cumsum(2), ["cumsum", r"\b2\b"]),
    "var_dim": (lambda m: m.ones(2, 3).var(3), ["var", r"\b3\b"]),
    "index_out_of_range": (lambda m: m.ones(3)[5], [r"\b5\b", r"\b3\b"]),
    "size_dim": (lambda m: m.ones(2, 3).size(2), ["size", r"\b2\b"]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_names_op_and_inputs(name):
    call, patterns = ERRORS[name]
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(Exception) as got:
        call(chainrule)
    message = str(got.value)
    assert isinstance(got.value, type(want.value)), (
        f"{name}: chainrule raised {type(got.value).__name__}, torch raises "
        f"{type(want.value).__name__}")
    for pattern in patterns:
        assert re.search(pattern, message), f"{name}: {pattern!r} not in message {message!r}"


def test_shape_error_is_a_runtime_error():
    with pytest.raises(RuntimeError):
        chainrule.ones(2) + chainrule.ones(3)
    assert issubclass(chainrule.ops.ShapeError, RuntimeError)


def test_no_raw_numpy_errors_for_common_mistakes():
    """The classic mistakes never surface as a NumPy error from deep inside."""
    import numpy as np

    for name, (call, _) in ERRORS.items():
        try:
            call(chainrule)
        except Exception as e:  # noqa: BLE001 - inspecting what was raised
            assert not isinstance(e, np.exceptions.AxisError), name
            assert "numpy" not in type(e).__module__, f"{name}: {type(e)}"
