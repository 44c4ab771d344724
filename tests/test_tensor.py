"""The Tensor object against PyTorch: attributes, conversions, dtype promotion (every pair of
bool/int32/int64/float32/float64 as tensor, 0-d tensor and Python number), creation functions,
seeding, repr, thread control."""
import itertools
import math

import numpy as np
import pytest
import torch

import chainrule


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


# -- attributes and conversions ------------------------------------------------------------------

def test_basic_attributes():
    for m in (chainrule, torch):
        x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(-1) == 3 and x.size(0) == 2
        assert x.dim() == 2 and x.ndim == 2 and x.numel() == 6 and len(x) == 2
        assert x.dtype == m.float32 and x.is_leaf and x.grad_fn is None and x.grad is None
        assert str(x.device) == "cpu" and x.requires_grad
        y = x * 2
        assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
        assert type(y.grad_fn).__name__ == "MulBackward0" or y.grad_fn.name() == "MulBackward0"
        assert isinstance(x.shape, tuple) and list(x.shape) == [2, 3]


def test_size_is_tuple_like():
    s = chainrule.zeros(2, 3, 4).shape
    assert s == (2, 3, 4) and s[1:] == (3, 4) and s.numel() == 24 and tuple(s) == (2, 3, 4)
    assert repr(s) == "chainrule.Size([2, 3, 4])"


def test_requires_grad_and_requires_grad_():
    x = chainrule.zeros(2)
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        chainrule.zeros(2, dtype=chainrule.int64).requires_grad_()
    y = chainrule.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_item_tolist_and_python_numbers():
    x = chainrule.tensor([[1.5, 2.0]])
    assert x[0, 1].item() == 2.0 and isinstance(x[0, 0].item(), float)
    assert chainrule.tensor(3).item() == 3 and isinstance(chainrule.tensor(3).item(), int)
    assert chainrule.tensor(True).item() is True
    assert x.tolist() == [[1.5, 2.0]] and chainrule.tensor(2.5).tolist() == 2.5
    assert float(chainrule.tensor([2.5])) == 2.5 and int(chainrule.tensor(7)) == 7
    assert [1, 2, 3][chainrule.tensor(1)] == 2  # __index__
    with pytest.raises(RuntimeError, match="item"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


def test_numpy_shares_memory():
    x = chainrule.zeros(3)
    a = x.numpy()
    a[0] = 5.0
    assert x[0].item() == 5.0
    x.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="detach"):
        chainrule.zeros(2, requires_grad=True).numpy()
    arr = np.arange(4.0)
    t = chainrule.from_numpy(arr)
    arr[1] = 10
    assert t[1].item() == 10.0 and t.dtype == chainrule.float64


def test_detach_clone_contiguous():
    x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.detach().numpy(),
                                                          x.detach().numpy())
    c.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    t = x.detach().t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert t.contiguous().tolist() == [[1.0, 3.0], [2.0, 4.0]]
    y = chainrule.ones(3)
    assert y.contiguous() is y


def test_to_and_dtype_conversions():
    for m in (chainrule, torch):
        x = m.tensor([1.7, -2.2, 0.0])
        assert x.to(m.float64).dtype == m.float64 and x.double().dtype == m.float64
        assert x.float().dtype == m.float32 and x.long().dtype == m.int64
        assert x.int().dtype == m.int32 and x.bool().dtype == m.bool
        assert x.long().tolist() == [1, -2, 0] and x.bool().tolist() == [True, True, False]
        assert x.to("cpu") is x and x.to(m.float32) is x
        assert x.to(m.zeros(1, dtype=m.int64)).dtype == m.int64
        assert x.to("cpu", m.float64).dtype == m.float64
        assert x.to(dtype=m.float64).dtype == m.float64
        assert x.to(m.float32, copy=True) is not x
        assert x.cpu() is x


def test_to_is_differentiable():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * x.double()
    assert y.dtype == chainrule.float64
    y.sum().backward()
    assert x.grad.dtype == chainrule.float32 and x.grad.tolist() == [2.0, 4.0]


def test_T_and_mT():
    x = chainrule.arange(24.0).reshape(2, 3, 4)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)  # torch deprecates T for 3-D
    np.testing.assert_array_equal(x.T.numpy(), np.arange(24.0).reshape(2, 3, 4).T)
    tx = torch.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.mT.numpy(), tx.mT.numpy())
    np.testing.assert_array_equal(chainrule.arange(6.0).reshape(2, 3).T.numpy(),
                                  torch.arange(6.0).reshape(2, 3).T.numpy())


def test_new_methods():
    for m in (chainrule, torch):
        x = m.zeros(2, dtype=m.float64)
        assert x.new_zeros(3, 2).shape == (3, 2) and x.new_zeros((3,)).dtype == m.float64
        assert x.new_ones(2).tolist() == [1.0, 1.0] and x.new_ones(2).dtype == m.float64
        f = x.new_full((2, 2), 7)
        assert f.dtype == m.float64 and f.tolist() == [[7.0, 7.0], [7.0, 7.0]]
        n = x.new_tensor([1, 2])
        assert n.dtype == m.float64 and n.tolist() == [1.0, 2.0]
        assert x.new_empty(4).shape == (4,) and x.new_empty(4).dtype == m.float64
        assert x.new_zeros(2, dtype=m.int64).dtype == m.int64


# -- dtype promotion -----------------------------------------------------------------------------

DTYPE_NAMES = ["bool", "int32", "int64", "float32", "float64"]
FORMS = ["tensor", "0d", "int", "float"]


def _operand(m, form, dtype_name):
    if form == "int":
        return 3
    if form == "float":
        return 2.5
    dtype = getattr(m, dtype_name)
    value = [1, 2] if form == "tensor" else 2
    if dtype_name == "bool":
        value = [True, True] if form == "tensor" else True  # no zeros: x / False warns
    return m.tensor(value, dtype=dtype)


def _promotion_cases():
    for (fa, da), (fb, db) in itertools.product(
            itertools.product(["tensor", "0d"], DTYPE_NAMES),
            [(f, d) for f in FORMS for d in (DTYPE_NAMES if f in ("tensor", "0d") else [f])]):
        for op in ("add", "mul", "div"):
            yield pytest.param(op, fa, da, fb, db, id=f"{op}-{fa}:{da}-{fb}:{db}")


@pytest.mark.parametrize("op,fa,da,fb,db", list(_promotion_cases()))
def test_promotion_matches_torch(op, fa, da, fb, db):
    fn = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    results = []
    for m in (chainrule, torch):
        a, b = _operand(m, fa, da), _operand(m, fb, db)
        try:
            forward, reflected = fn(a, b), fn(b, a)
        except (RuntimeError, TypeError) as e:  # e.g. bool - bool; both must refuse
            results.append(type(e).__name__)
            continue
        results.append((_name(forward.dtype), _name(reflected.dtype), forward.tolist(),
                        reflected.tolist()))
    if isinstance(results[1], str):
        assert isinstance(results[0], str), f"torch raises, chainrule gives {results[0]}"
        return
    assert not isinstance(results[0], str), f"chainrule raises, torch gives {results[1]}"
    assert results[0][:2] == results[1][:2], f"dtypes {results[0][:2]} vs torch {results[1][:2]}"
    np.testing.assert_allclose(np.array(results[0][2], float), np.array(results[1][2], float),
                               rtol=1e-6)
    np.testing.assert_allclose(np.array(results[0][3], float), np.array(results[1][3], float),
                               rtol=1e-6)


@pytest.mark.parametrize("da,db", list(itertools.product(DTYPE_NAMES, DTYPE_NAMES)))
def test_sub_and_comparison_promotion(da, db):
    out = []
    for m in (chainrule, torch):
        a, b = _operand(m, "tensor", da), _operand(m, "0d", db)
        try:
            r = (a - b).dtype
            r = _name(r)
        except (RuntimeError, TypeError):
            r = "error"
        out.append((r, _name((a < b).dtype), _name(m.maximum(a, b).dtype)))
    assert out[0] == out[1]


def test_default_dtype_rules():
    assert chainrule.tensor([1.0, 2]).dtype == chainrule.float32
    assert chainrule.tensor([1, 2]).dtype == chainrule.int64
    assert chainrule.tensor([True]).dtype == chainrule.bool
    assert (chainrule.tensor([1, 2]) / 2).dtype == chainrule.float32
    assert (chainrule.ones(2) * 2.5).dtype == chainrule.float32
    assert (chainrule.ones(2) + chainrule.tensor(1.0, dtype=chainrule.float64)).dtype == \
        chainrule.float32
    assert chainrule.from_numpy(np.zeros(2)).dtype == chainrule.float64
    try:
        chainrule.set_default_dtype(chainrule.float64)
        assert chainrule.tensor([1.5]).dtype == chainrule.float64
        assert chainrule.zeros(2).dtype == chainrule.float64
    finally:
        chainrule.set_default_dtype(chainrule.float32)
    assert chainrule.get_default_dtype() == chainrule.float32


# -- creation -------------------------------------------------------------------------------------

CREATION = {
    "tensor_nested": lambda m: m.tensor([[1, 2], [3, 4]]),
    "tensor_float_dtype": lambda m: m.tensor([1, 2], dtype=m.float64),
    "tensor_scalar": lambda m: m.tensor(3.5),
    "tensor_mixed": lambda m: m.tensor([1, 2.5]),
    "tensor_empty": lambda m: m.tensor([]),
    "as_tensor": lambda m: m.as_tensor([1, 2, 3]),
    "as_tensor_np": lambda m: m.as_tensor(np.arange(3, dtype=np.int32)),
    "from_numpy": lambda m: m.from_numpy(np.ones((2, 2), np.float32)),
    "zeros": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3), dtype=m.int32),
    "ones": lambda m: m.ones([3]),
    "ones_bool": lambda m: m.ones(2, dtype=m.bool),
    "full_float": lambda m: m.full((2, 2), 1.5),
    "full_int": lambda m: m.full((2,), 7),
    "full_bool": lambda m: m.full((2,), True),
    "full_dtype": lambda m: m.full((1, 2), 3, dtype=m.float64),
    "zeros_like": lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int64)),
    "ones_like_dtype": lambda m: m.ones_like(m.ones(2), dtype=m.float64),
    "full_like": lambda m: m.full_like(m.ones(2), 4),
    "arange_int": lambda m: m.arange(5),
    "arange_start_step": lambda m: m.arange(1, 10, 3),
    "arange_float": lambda m: m.arange(0, 1, 0.25),
    "arange_float_end": lambda m: m.arange(3.0),
    "arange_neg_step": lambda m: m.arange(5, 0, -2),
    "arange_dtype": lambda m: m.arange(4, dtype=m.float64),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace_dtype": lambda m: m.linspace(-1, 1, 4, dtype=m.float64),
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 3, dtype=m.int64),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_matches_torch(name):
    got, want = CREATION[name](chainrule), CREATION[name](torch)
    assert _name(got.dtype) == _name(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(np.asarray(got.tolist(), float), np.asarray(want.tolist(), float),
                               rtol=1e-6)


SHAPED = {
    "empty": lambda m: m.empty(2, 3),
    "empty_like": lambda m: m.empty_like(m.ones(2, dtype=m.int32)),
    "rand": lambda m: m.rand(2, 3),
    "rand_dtype": lambda m: m.rand((4,), dtype=m.float64),
    "randn": lambda m: m.randn(3, 2),
    "randn_like": lambda m: m.randn_like(m.ones(2, 2)),
    "rand_like": lambda m: m.rand_like(m.ones(2, dtype=m.float64)),
    "randint": lambda m: m.randint(0, 10, (3, 4)),
    "randint_high_only": lambda m: m.randint(5, (6,)),
    "randint_dtype": lambda m: m.randint(0, 3, (2,), dtype=m.int32),
    "randperm": lambda m: m.randperm(7),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_random_and_empty_creation_dtype_and_shape(name):
    got, want = SHAPED[name](chainrule), SHAPED[name](torch)
    assert _name(got.dtype) == _name(want.dtype) and tuple(got.shape) == tuple(want.shape)


def test_random_value_ranges():
    chainrule.manual_seed(0)
    r = chainrule.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    n = chainrule.randn(20000)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05
    k = chainrule.randint(2, 5, (1000,))
    assert set(k.tolist()) == {2, 3, 4}
    assert sorted(chainrule.randperm(10).tolist()) == list(range(10))


def test_creation_requires_grad():
    for fn in (lambda: chainrule.zeros(2, requires_grad=True),
               lambda: chainrule.tensor([1.0], requires_grad=True),
               lambda: chainrule.randn(2, requires_grad=True),
               lambda: chainrule.ones_like(chainrule.ones(2), requires_grad=True)):
        t = fn()
        assert t.requires_grad and t.is_leaf


def test_tensor_copies_and_as_tensor_shares():
    a = np.zeros(3)
    t, s = chainrule.tensor(a), chainrule.as_tensor(a)
    a[0] = 1
    assert t[0].item() == 0 and s[0].item() == 1


def test_manual_seed_reproducible():
    chainrule.manual_seed(1234)
    first = (chainrule.rand(5).tolist(), chainrule.randn(3).tolist(),
             chainrule.randint(0, 100, (4,)).tolist(), chainrule.randperm(6).tolist())
    chainrule.manual_seed(1234)
    second = (chainrule.rand(5).tolist(), chainrule.randn(3).tolist(),
              chainrule.randint(0, 100, (4,)).tolist(), chainrule.randperm(6).tolist())
    assert first == second
    chainrule.manual_seed(1235)
    assert chainrule.rand(5).tolist() != first[0]


def test_generator_object_reproducible():
    g = chainrule.Generator().manual_seed(7)
    a = chainrule.randn(4, generator=g).tolist()
    g.manual_seed(7)
    assert chainrule.randn(4, generator=g).tolist() == a


# -- repr, threads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1.0, 2.0, 3.0]),
    lambda m: m.tensor([[1, 2], [3, 4]]),
    lambda m: m.tensor([0.5, 1.25], requires_grad=True),
    lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    lambda m: m.tensor([True, False]),
    lambda m: m.tensor(2.5),
    lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
])
def test_repr_looks_like_torch(make):
    got, want = repr(make(chainrule)), repr(make(torch))
    normalise = (lambda s: " ".join(s.replace("chainrule.", "torch.").split()))
    assert normalise(got) == normalise(want)


def test_repr_of_large_tensor_is_summarised():
    text = repr(chainrule.arange(5000))
    assert "..." in text and len(text) < 200


def test_set_and_get_num_threads():
    before = chainrule.get_num_threads()
    try:
        chainrule.set_num_threads(1)
        assert chainrule.get_num_threads() == 1
    finally:
        chainrule.set_num_threads(before)
    assert chainrule.get_num_threads() == before
    with pytest.raises(ValueError):
        chainrule.set_num_threads(0)


def test_float_inf_and_nan_values():
    x = chainrule.tensor([1.0, math.inf, -math.inf, math.nan])
    assert x.isinf().tolist() == [False, True, True, False]
    assert x.isnan().tolist() == [False, False, False, True]
    assert x.isfinite().tolist() == [True, False, False, False]


@pytest.mark.parametrize("name", ["float16", "float32", "float64", None])
def test_finfo_matches_torch(name):
    ours = chainrule.finfo(getattr(chainrule, name)) if name else chainrule.finfo()
    theirs = torch.finfo(getattr(torch, name)) if name else torch.finfo()
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.dtype == theirs.dtype and repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    ours, theirs = chainrule.iinfo(getattr(chainrule, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.min, ours.max, ours.dtype) == (theirs.bits, theirs.min, theirs.max,
                                                            theirs.dtype)
    assert repr(ours) == repr(theirs)


def test_finfo_and_iinfo_refuse_the_other_kind():
    with pytest.raises(TypeError, match="finfo: expected a floating-point dtype"):
        chainrule.finfo(chainrule.int32)
    with pytest.raises(TypeError, match="iinfo: expected an integer dtype"):
        chainrule.iinfo(chainrule.float32)
