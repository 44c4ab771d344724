"""Property tests (hypothesis): random broadcastable shape pairs for binary ops and random
dims/keepdim for reductions, each checked against PyTorch (values and gradients) and, in
float64, against finite differences, through the conformance harness."""
import hypothesis.extra.numpy as hnp
import numpy as np
from conformance import Spec, check_against_torch
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

BINARY = {
    "add": (lambda x, y: x + y, "real"),
    "sub": (lambda x, y: x - y, "real"),
    "mul": (lambda x, y: x * y, "real"),
    "div": (lambda x, y: x / y, "positive"),
    "pow": (lambda x, y: y ** x, "positive"),  # tensor ** tensor with a positive base
    "maximum": (lambda x, y: x.maximum(y), "real"),
    "where": (lambda x, y: _where(x, y), "real"),
    "composite": (lambda x, y: (x * y).tanh() / (y * y + 1), "real"),
}


def _where(x, y):
    import torch

    import chainrule
    m = torch if isinstance(x, torch.Tensor) else chainrule
    return m.where(x > y, x * 2, y)


def _layout(draw, shape):
    options = ["contiguous"] + (["T"] if len(shape) >= 2 else []) + \
        (["strided"] if len(shape) >= 1 else [])
    return draw(st.sampled_from(options))


@st.composite
def binary_cases(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=1, max_side=4))
    name = draw(st.sampled_from(sorted(BINARY)))
    fn, second_domain = BINARY[name]
    a, b = shapes.input_shapes
    specs = [Spec(a, "real", _layout(draw, a)), Spec(b, second_domain, _layout(draw, b))]
    if name not in ("div", "pow") and draw(st.booleans()):
        specs.reverse()  # the broadcast operand on either side
    return name, fn, specs, draw(st.sampled_from(["float64", "float32"])), draw(st.integers(0, 99))


@SETTINGS
@given(binary_cases())
def test_binary_ops_broadcast_against_torch(case):
    name, fn, specs, dtype, seed = case
    check_against_torch(f"{name}{[s.shape for s in specs]}", fn, fn, specs, dtype, seed=seed)


def _reduce(name, dims, keepdim):
    """The same call for both libraries (they share the method names and arguments)."""
    d = dims if len(dims) != 1 else dims[0]
    one = dims[0]
    return {
        "sum": lambda x: x.sum(d, keepdim=keepdim),
        "mean": lambda x: x.mean(d, keepdim=keepdim),
        "var": lambda x: x.var(d, keepdim=keepdim),
        "var_corr0": lambda x: x.var(d, keepdim=keepdim, correction=0),
        "std": lambda x: x.std(d, keepdim=keepdim),
        "amax": lambda x: x.amax(d, keepdim=keepdim),
        "amin": lambda x: x.amin(d, keepdim=keepdim),
        "logsumexp": lambda x: x.logsumexp(d, keepdim=keepdim),
        "norm": lambda x: x.norm(2, dim=d, keepdim=keepdim),
        "prod": lambda x: x.prod(one, keepdim=keepdim),
        "max_dim": lambda x: tuple(x.max(one, keepdim=keepdim)),
        "min_dim": lambda x: tuple(x.min(one, keepdim=keepdim)),
        "softmax": lambda x: x.softmax(one),
        "log_softmax": lambda x: x.log_softmax(one),
        "cumsum": lambda x: x.cumsum(one),
    }[name]


REDUCTIONS = ["sum", "mean", "var", "var_corr0", "std", "amax", "amin", "logsumexp", "norm",
              "prod", "max_dim", "min_dim", "softmax", "log_softmax", "cumsum"]


@st.composite
def reduction_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    name = draw(st.sampled_from(REDUCTIONS))
    nd = len(shape)
    dims = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    dims = tuple(d - nd if draw(st.booleans()) else d for d in dims)  # negative dims too
    if name in ("var", "std"):  # N - 1 must be positive for a finite result
        n = int(np.prod([shape[d] for d in dims]))
        if n < 2:
            dims = tuple(range(nd)) if np.prod(shape) >= 2 else dims
            if np.prod([shape[d] for d in dims]) < 2:
                name = "sum"
    keepdim = draw(st.booleans())
    spec = Spec(shape, "real", _layout(draw, shape))
    return name, dims, keepdim, spec, draw(st.sampled_from(["float64", "float32"])), \
        draw(st.integers(0, 99))


@SETTINGS
@given(reduction_cases())
def test_reductions_random_dims_against_torch(case):
    name, dims, keepdim, spec, dtype, seed = case
    fn = _reduce(name, dims, keepdim)
    check_against_torch(f"{name}(dims={dims}, keepdim={keepdim}) of {spec.shape}", fn, fn,
                        [spec], dtype, seed=seed)


@st.composite
def slicing_cases(draw):
    """A random basic index (ints, slices with steps, None, Ellipsis) into a random shape."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = []
    for size in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "slice", "none"]))
        if kind == "int":
            index.append(draw(st.integers(-size, size - 1)))
        elif kind == "none":
            index.append(None)
            index.append(slice(None))
        else:
            start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            index.append(slice(start, stop, draw(st.integers(1, 3))))
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), Ellipsis)
    return shape, tuple(index), draw(st.integers(0, 99))


@SETTINGS
@given(slicing_cases())
def test_basic_slicing_against_torch(case):
    shape, index, seed = case
    fn = (lambda x: x[index] * 2)  # * 2: a view's gradient flows on through an op
    check_against_torch(f"x{list(index)} of {shape}", fn, fn, [Spec(shape, "real")],
                        "float64", seed=seed)


@st.composite
def advanced_index_cases(draw):
    """Integer arrays (with repeats), integers and slices mixed, in any order: covers
    PyTorch's placement of the indexed dims (integers are applied first, as basic indices)."""
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    index_shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    index, arrays = [], 0
    for size in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["array", "int", "slice"]))
        if kind == "array":
            arrays += 1
            index.append(np.asarray(draw(hnp.arrays(np.int64, index_shape,
                                                    elements=st.integers(-size, size - 1)))))
        elif kind == "int":
            index.append(draw(st.integers(-size, size - 1)))
        else:
            index.append(slice(draw(st.integers(0, size - 1)), None))
    if not arrays:
        index[0] = np.zeros(index_shape, np.int64)
    return shape, index, draw(st.integers(0, 99))


@SETTINGS
@given(advanced_index_cases())
def test_advanced_indexing_against_torch(case):
    import torch

    import chainrule
    shape, index, seed = case

    def as_index(m):
        return tuple(m.from_numpy(i.copy()) if isinstance(i, np.ndarray) else i for i in index)
    check_against_torch(f"x{index} of {shape}", lambda x: x[as_index(chainrule)] * 2,
                        lambda x: x[as_index(torch)] * 2, [Spec(shape, "real")], "float64",
                        seed=seed)
