"""In-place ops on non-leaf tensors against PyTorch: the gradient of ``y = f(x); y.op_(...)``
(and of in-place ops through views, which rewrite the base's history) must equal torch's."""
import pytest
from conformance import Case, T, params, pos, run_case, spec


def _inplace(method, *args):
    """``y = x * 1; y.method(*args)``: the non-leaf ``y`` changed in place."""
    def fn(m, x, *tensors):
        y = x * 1
        getattr(y, method)(*tensors, *args)
        return y
    return fn


def _view_then(fn):
    """``y = x * 1; fn(y's view)``: in place on a view of a non-leaf, then use the base."""
    def case(m, x, *tensors):
        y = x * 1
        fn(m, y, *tensors)
        return y * y  # uses the rewritten base (and its new history) non-linearly
    return case


CASES = [
    Case("add_", _inplace("add_"), [spec(3, 4), spec(4)]),
    Case("add_alpha", lambda m, x, z: (x * 1).add_(z, alpha=-2), [spec(3, 4), spec(3, 4)]),
    Case("add_number", _inplace("add_", 2.0), [spec(3, 4)]),
    Case("sub_", _inplace("sub_"), [spec(3, 4), T(3, 4)]),
    Case("mul_", _inplace("mul_"), [spec(3, 4), spec(3, 1)]),
    Case("mul_self", lambda m, x: (x * 1).mul_(x), [spec(3, 4)]),
    Case("mul_number", _inplace("mul_", 3), [spec(5)]),
    Case("div_", _inplace("div_"), [spec(3, 4), pos(4)]),
    Case("div_number", _inplace("div_", 4.0), [spec(3, 4)]),
    Case("pow_", _inplace("pow_", 2), [spec(3, 4)]),
    Case("clamp_", _inplace("clamp_", -0.5, 0.5), [spec(3, 4)]),
    Case("clamp_min", lambda m, x: (x * 1).clamp_(min=0), [spec(3, 4, domain="away0")]),
    Case("copy_", _inplace("copy_"), [spec(3, 4), spec(4)]),
    Case("copy_T", _inplace("copy_"), [spec(3, 4), T(3, 4)]),
    Case("zero_", lambda m, x, z: (x * 1).zero_() + z * x, [spec(3, 4), spec(3, 4)]),
    Case("fill_", lambda m, x: (x * 2).fill_(1.5) * x, [spec(3, 4)]),
    Case("fill_tensor", lambda m, x, v: (x * 2).fill_(v) * x, [spec(3, 4), spec()]),
    Case("exp_", lambda m, x: (x * 1).exp_(), [spec(3)]),
    Case("sigmoid_", lambda m, x: (x + 0).sigmoid_() * 2, [spec(3)]),
    Case("iadd", lambda m, x, z: _iadd(x * 1, z), [spec(3, 4), spec(3, 4)]),
    # fd off: the detached factor is a constant for autograd but moves under finite differences
    Case("imul_chain", lambda m, x: _imul_twice(x * 1), [spec(3, 4)], fd=False),
    Case("chain_of_inplace", lambda m, x, z: (x * 1).mul_(z).add_(x).div_(2).sub_(z),
         [spec(3, 4), spec(3, 4)]),
    Case("masked_fill_", lambda m, x: (x * 1).masked_fill_(x > 0, 0.0), [spec(3, 4)]),
    Case("scatter_", lambda m, x, s: (x * 1).scatter_(1, m.tensor([[0], [2], [1]]), s),
         [spec(3, 4), spec(3, 1)]),
    Case("index_add_", lambda m, x, s: (x * 1).index_add_(0, m.tensor([2, 0, 2]), s),
         [spec(3, 4), spec(3, 4)]),
    # -- through views: the base's history is rewritten (CopySlices) ------------------------
    Case("view_mul_", _view_then(lambda m, y: y[1:3].mul_(3)), [spec(4, 3)]),
    Case("view_add_tensor", _view_then(lambda m, y, z: y[:, 0::2].add_(z)),
         [spec(3, 4), spec(3, 2)]),
    Case("view_row_col", _view_then(lambda m, y: y[1][2].add_(1)), [spec(3, 4)]),
    Case("view_setitem", _view_then(lambda m, y, v: y.__setitem__((slice(None), 1), v * 2)),
         [spec(3, 4), spec(3)]),
    Case("view_transpose_copy_", _view_then(lambda m, y, v: y.t()[0].copy_(v)),
         [spec(3, 4), spec(3)]),
    Case("view_of_view_zero_", _view_then(lambda m, y: y.view(2, 6)[:, ::3].zero_()),
         [spec(3, 4)]),
    Case("view_then_view_used", lambda m, x: _view_used(x), [spec(4, 3)]),
    # a view made *before* its base changed in place sees the base's new history
    Case("stale_view_after_base_mul_", lambda m, x: _stale(x, lambda y, v: y.mul_(2)) * 1,
         [spec(3, 4)]),
    Case("stale_view_after_setitem", lambda m, x: _stale(x, lambda y, v: y.__setitem__(
        0, x[1] ** 2)) * 2, [spec(3, 4)]),
    Case("stale_view_changed_in_place", lambda m, x: _stale_inplace(x), [spec(3, 4)]),
]


def _stale(x, change):
    y = x * 1
    v = y[0]
    change(y, v)
    return v


def _stale_inplace(x):
    y = x * 1
    v = y[0]
    y.mul_(2)
    v.add_(1)
    return y * y


def _iadd(y, z):
    y += z
    y += 1
    return y


def _imul_twice(y):
    y *= y.detach() + 1
    y *= 2
    return y


def _view_used(x):
    y = x * 1
    v = y[1:3]
    v.mul_(3)
    return v * 2 + y.sum()  # the view and its base both carry the new history


@pytest.mark.parametrize("case,dtype", params(CASES))
def test_inplace(case, dtype):
    run_case(case, dtype)
