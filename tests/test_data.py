"""chainrule.utils.data: datasets, samplers, collation and the DataLoader.

Collation is compared with torch.utils.data.default_collate on the same samples; orders that
depend on random numbers are checked for their invariants and for reproducibility (chainrule's
random streams differ from PyTorch's by design).
"""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import chainrule
from chainrule.utils import data
from chainrule.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)

Point = collections.namedtuple("Point", "x label")


def _to_torch(obj):
    """The same nested sample with chainrule tensors replaced by torch tensors."""
    if isinstance(obj, chainrule.Tensor):
        return torch.from_numpy(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_torch(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


def _assert_same_batch(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, chainrule.Tensor), f"expected a tensor, got {type(ours)}"
        assert str(ours.dtype).replace("chainrule.", "") == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
        for k in theirs:
            _assert_same_batch(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same_batch(a, b)
    else:
        assert ours == theirs


SAMPLES = {
    "tensor-int": [(chainrule.tensor([1.0, 2.0]), 3), (chainrule.tensor([4.0, 5.0]), 7)],
    "floats": [1.5, 2.25, -3.0],
    "bools": [True, False],
    "ints": [[1, 2], [3, 4], [5, 6]],
    "numpy-arrays": [np.arange(3, dtype=np.int32), np.arange(3, 6, dtype=np.int32)],
    "numpy-scalars": [np.float32(1.5), np.float32(2.5)],
    "dicts": [{"image": chainrule.ones(2, 2), "label": 1, "name": "a"},
              {"image": chainrule.zeros(2, 2), "label": 0, "name": "b"}],
    "namedtuples": [Point(chainrule.tensor([0.5]), 1), Point(chainrule.tensor([1.5]), 2)],
    "nested": [({"a": (1, 2.0)}, [np.float64(3.0)]), ({"a": (4, 5.0)}, [np.float64(6.0)])],
    "float64-tensors": [chainrule.tensor([1.0], dtype=chainrule.float64),
                        chainrule.tensor([2.0], dtype=chainrule.float64)],
    "strings": ["cat", "dog"],
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_default_collate_matches_torch(name):
    batch = SAMPLES[name]
    _assert_same_batch(default_collate(batch), tdata.default_collate(_to_torch(batch)))


def test_collate_tensor_int_pairs():
    x, y = default_collate(SAMPLES["tensor-int"])
    assert x.dtype == chainrule.float32 and tuple(x.shape) == (2, 2)
    assert y.dtype == chainrule.int64 and y.tolist() == [3, 7]


def test_collate_errors():
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


@pytest.mark.parametrize("sample", [(np.arange(2), "a"), [np.arange(2), "a"],
                                    {"k": np.float32(2.0)}, Point(np.zeros(2), 3), 5, "s"])
def test_default_convert_matches_torch(sample):
    _assert_same_batch(default_convert(sample), tdata.default_convert(sample))


# -- datasets -----------------------------------------------------------------------------

def test_tensor_dataset():
    X, y = chainrule.randn(10, 3), chainrule.arange(10)
    ds = TensorDataset(X, y)
    assert len(ds) == 10
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), X.numpy()[4])
    assert int(yi) == 4
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(X, chainrule.arange(9))


def test_concat_and_subset():
    a = TensorDataset(chainrule.arange(3))
    b = TensorDataset(chainrule.arange(10, 15))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert [int(both[i][0]) for i in range(8)] == [0, 1, 2, 10, 11, 12, 13, 14]
    assert int(both[-1][0]) == 14
    with pytest.raises(ValueError, match="absolute value of index"):
        both[-9]
    sub = Subset(both, [7, 0, 3])
    assert len(sub) == 3 and [int(sub[i][0]) for i in range(3)] == [14, 0, 10]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])


def test_random_split_sizes_and_determinism():
    ds = TensorDataset(chainrule.arange(10))
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=chainrule.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    again = random_split(ds, [0.5, 0.3, 0.2], generator=chainrule.Generator().manual_seed(1))
    assert [p.indices for p in parts] == [p.indices for p in again]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    # fractions that do not divide evenly: remainders go to the first splits, as in torch
    sizes = [len(p) for p in random_split(range(11), [0.34, 0.33, 0.33])]
    torch_sizes = [len(p) for p in tdata.random_split(range(11), [0.34, 0.33, 0.33])]
    assert sizes == torch_sizes == [4, 4, 3]
    chainrule.manual_seed(5)
    first = [p.indices for p in random_split(range(6), [3, 3])]
    chainrule.manual_seed(5)
    assert [p.indices for p in random_split(range(6), [3, 3])] == first
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(5), [2, 2])


def test_iterable_dataset_loader():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    batches = list(DataLoader(Stream(), batch_size=3))
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(DataLoader(Stream(), batch_size=3)) == 3
    assert len(DataLoader(Stream(), batch_size=3, drop_last=True)) == 2
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(), sampler=[0, 1])


# -- samplers ------------------------------------------------------------------------------

def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == [[0, 1, 2], [3, 4, 5],
                                                                         [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3
    assert len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler():
    gen = chainrule.Generator().manual_seed(3)
    order = list(RandomSampler(range(20), generator=gen))
    assert sorted(order) == list(range(20)) and order != list(range(20))
    assert order == list(RandomSampler(range(20), generator=chainrule.Generator().manual_seed(3)))
    draws = list(RandomSampler(range(5), replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= set(range(5)) and len(set(draws)) > 1
    more = list(RandomSampler(range(4), num_samples=10))
    assert len(more) == 10
    assert sorted(more[:4]) == [0, 1, 2, 3] and sorted(more[4:8]) == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)


def test_subset_and_weighted_samplers():
    picks = list(SubsetRandomSampler([10, 20, 30], generator=chainrule.Generator().manual_seed(0)))
    assert sorted(picks) == [10, 20, 30]
    gen = chainrule.Generator().manual_seed(0)
    draws = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=gen))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and 0.7 < counts[2] / 4000 < 0.8
    no_repeat = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(no_repeat) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)


# -- the DataLoader ---------------------------------------------------------------------------

def _xy(n=10):
    X = chainrule.arange(n * 3, dtype=chainrule.float32).reshape(n, 3)
    return X, chainrule.arange(n)


def test_loader_batches_len_and_drop_last():
    ds = TensorDataset(*_xy())
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [tuple(x.shape) for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert batches[2][1].tolist() == [8, 9] and batches[0][1].dtype == chainrule.int64
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2


def test_tensor_dataset_fast_path_equals_per_sample_collation():
    X, y = _xy(23)
    gen = chainrule.Generator().manual_seed(7)
    fast = list(DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=gen))

    class Slow(Dataset):  # same samples, no batched fetch
        def __len__(self):
            return 23

        def __getitem__(self, i):
            return X[i], y[i]
    gen = chainrule.Generator().manual_seed(7)
    slow = list(DataLoader(Slow(), batch_size=5, shuffle=True, generator=gen))
    assert type(fast[0]) is type(slow[0]) is list
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        assert xa.dtype == xb.dtype and ya.dtype == yb.dtype
    # a subclass that transforms samples keeps its __getitem__ (no batched shortcut)
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, label = super().__getitem__(i)
            return x * 2, label
    (xd, _), = list(DataLoader(Doubled(X, y), batch_size=23))
    np.testing.assert_array_equal(xd.numpy(), X.numpy() * 2)
    (xd, _), = list(DataLoader(Subset(Doubled(X, y), [0, 1]), batch_size=2))
    np.testing.assert_array_equal(xd.numpy(), X.numpy()[:2] * 2)
    # a Subset of a TensorDataset is batched the same way
    sub = Subset(TensorDataset(X, y), [3, 1, 4, 1, 5])
    (_, ys), = list(DataLoader(sub, batch_size=5))
    assert ys.tolist() == [3, 1, 4, 1, 5]


def test_shuffle_is_reproducible_and_changes_each_epoch():
    ds = TensorDataset(*_xy(50))
    chainrule.manual_seed(123)
    loader = DataLoader(ds, batch_size=10, shuffle=True)
    epoch1 = [y.tolist() for _, y in loader]
    epoch2 = [y.tolist() for _, y in loader]
    assert epoch1 != epoch2
    assert sorted(i for batch in epoch1 for i in batch) == list(range(50))
    chainrule.manual_seed(123)
    assert [y.tolist() for _, y in loader] == epoch1
    g1, g2 = chainrule.Generator().manual_seed(9), chainrule.Generator().manual_seed(9)
    a = [y.tolist() for _, y in DataLoader(ds, batch_size=10, shuffle=True, generator=g1)]
    b = [y.tolist() for _, y in DataLoader(ds, batch_size=10, shuffle=True, generator=g2)]
    assert a == b


def test_loader_with_samplers_and_collate_fn():
    ds = TensorDataset(*_xy())
    loader = DataLoader(ds, batch_size=2, sampler=[9, 8, 7])
    assert [y.tolist() for _, y in loader] == [[9, 8], [7]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [2]])
    assert [y.tolist() for _, y in loader] == [[0, 5], [2]] and len(loader) == 2
    loader = DataLoader(ds, batch_size=3, collate_fn=lambda batch: len(batch))
    assert list(loader) == [3, 3, 3, 1]
    unbatched = list(DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and isinstance(unbatched[0], list)
    assert int(unbatched[3][1]) == 3


def test_loader_with_dict_samples_and_getitems():
    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, dtype=np.float32), "id": i, "tag": f"r{i}"}

    (batch, *_) = list(DataLoader(Records(), batch_size=5))
    assert batch["x"].dtype == chainrule.float32 and batch["id"].tolist() == [0, 1, 2, 3, 4]
    assert batch["tag"] == ["r0", "r1", "r2", "r3", "r4"]

    class Batched(Records):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]
    assert len(list(DataLoader(Batched(), batch_size=2))) == 3 and Batched.calls == 3


def test_loader_argument_errors_match_torch():
    ds = TensorDataset(*_xy())
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)


def test_workers_are_accepted_with_one_warning(monkeypatch):
    from chainrule.utils.data import dataloader
    monkeypatch.setattr(dataloader, "_warned_workers", False)
    ds = TensorDataset(*_xy())
    with pytest.warns(UserWarning, match="main process"):
        loader = DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True,
                            persistent_workers=True, prefetch_factor=2,
                            worker_init_fn=lambda i: None)
    assert next(y.tolist() for _, y in loader) == [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(ds, num_workers=4)  # only once per process
    assert data.get_worker_info() is None


def test_loader_over_chainrule_dataset_class():
    """The embedded digits dataset (a Dataset subclass from chainrule.datasets) batches."""
    from chainrule.datasets import Digits
    digits = Digits(train=False)
    loader = DataLoader(digits, batch_size=64)
    images, labels = next(iter(loader))
    assert tuple(images.shape) == (64, 1, 8, 8) and labels.dtype == chainrule.int64
    assert len(loader) == -(-len(digits) // 64)
    assert sum(len(y) for _, y in loader) == len(digits)
