"""Datasets: the map-style `Dataset`, `IterableDataset`, and the usual combinators.

A map-style dataset answers ``dataset[i]`` for ``0 <= i < len(dataset)``; an iterable dataset
yields samples from ``__iter__`` (for streams whose length is unknown or that are read in
order). ``TensorDataset`` wraps tensors that share their first dimension; the DataLoader
fetches a whole batch from it with one indexing call per tensor.
"""
from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

import chainrule
from chainrule.tensor import Tensor

T_co = TypeVar("T_co", covariant=True)

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__()``.

    A subclass may also define ``__getitems__(indices) -> list of samples`` to fetch a batch
    at once; the DataLoader then calls it instead of ``__getitem__`` once per index.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 10
        ...     def __getitem__(self, i): return i, i * i
        >>> Squares()[3]
        (3, 9)
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__`` (and ``__len__`` if known).

    The DataLoader reads it in order and batches consecutive samples; ``shuffle`` and
    ``sampler`` do not apply to it.

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self): return iter(range(5))
        >>> list(Count())
        [0, 1, 2, 3, 4]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


def _as_index_tensor(indices) -> Tensor:
    return chainrule.as_tensor(indices, dtype=chainrule.int64)


class TensorDataset(Dataset):
    """Samples are slices of tensors along their first dimension: ``(t0[i], t1[i], ...)``.

    Args:
        *tensors: tensors with the same size of the first dimension.

    Example:
        >>> X, y = chainrule.randn(100, 3), chainrule.arange(100)
        >>> ds = TensorDataset(X, y)
        >>> len(ds), ds[0][0].shape, int(ds[7][1])
        (100, chainrule.Size([3]), 7)
    """

    def __init__(self, *tensors: Tensor) -> None:
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected tensors, got {type(t).__name__}")
        if tensors and any(tensors[0].shape[:1] != t.shape[:1] or t.dim() == 0
                           for t in tensors):
            sizes = [tuple(t.shape) for t in tensors]
            raise AssertionError(f"Size mismatch between tensors (shapes {sizes}: every "
                                 "tensor needs the same size of dim 0)")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0

    def _get_batch(self, indices: Sequence[int]) -> list:
        """The collated batch for ``indices``: one fancy-indexing call per tensor. The same
        result as ``default_collate([self[i] for i in indices])`` (a list, as PyTorch's
        collation returns for tuple samples) at a fraction of the cost."""
        index = _as_index_tensor(indices)
        return [t[index] for t in self.tensors]


class StackDataset(Dataset):
    """Samples of several datasets side by side: a tuple (positional) or a dict (keywords).

    Example:
        >>> ds = StackDataset(images=TensorDataset(chainrule.zeros(4, 2)), ids=list(range(4)))
        >>> sorted(ds[1])
        ['ids', 'images']
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other.

    Example:
        >>> parts = [TensorDataset(chainrule.zeros(3)), TensorDataset(chainrule.ones(2))]
        >>> ds = ConcatDataset(parts)
        >>> len(ds), float(ds[4][0])
        (5, 1.0)
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError(  # noqa: TRY004 (PyTorch's type)
                    "ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence) -> list[int]:
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after the other."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")  # noqa: TRY004
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")  # noqa: TRY004
            total += len(d)
        return total


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> ds = Subset(TensorDataset(chainrule.arange(10)), [9, 0])
        >>> len(ds), int(ds[0][0])
        (2, 9)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def _get_batch(self, indices: Sequence[int]):
        """Batched fetch when the underlying dataset has one (a TensorDataset)."""
        return self.dataset._get_batch([self.indices[i] for i in indices])


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Turn fractions into counts as PyTorch does: floor each, then hand out the remainder
    one at a time from the first split on."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * frac))
        remainder = n - sum(counts)
        for i in range(remainder):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=3)
        return counts
    return [int(x) for x in lengths]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: chainrule.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: sizes of the splits, or fractions summing to 1 (counts are floored and the
            remainder given one by one to the first splits, as PyTorch does).
        generator: the random generator for the permutation (default: the global one, so
            ``chainrule.manual_seed`` makes the split reproducible).

    Example:
        >>> train, val = random_split(range(10), [0.8, 0.2],
        ...                           generator=chainrule.Generator().manual_seed(42))
        >>> len(train), len(val)
        (8, 2)
    """
    counts = _split_lengths(len(dataset), lengths)
    if sum(counts) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = chainrule.randperm(sum(counts), generator=generator).tolist()
    subsets, offset = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[offset:offset + count]))
        offset += count
    return subsets
