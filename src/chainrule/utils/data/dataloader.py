"""The DataLoader: batches from a dataset, in order or shuffled, in the main process.

chainrule loads data in the calling process only. ``num_workers``, ``pin_memory``,
``persistent_workers``, ``prefetch_factor``, ``worker_init_fn``, ``timeout`` and
``multiprocessing_context`` are accepted so PyTorch scripts run unchanged, and are checked
as PyTorch checks them, but no worker processes are started (``num_workers > 0`` warns once).
With NumPy doing the work, a ``TensorDataset`` batch costs one fancy-indexing call per tensor,
which is faster than shipping samples between processes would be.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

_warned_workers = False


def get_worker_info() -> None:
    """Always ``None``: chainrule never runs a dataset inside a worker process."""
    return


def _warn_no_workers(num_workers: int) -> None:
    global _warned_workers
    if not _warned_workers:
        _warned_workers = True
        warnings.warn(f"DataLoader: num_workers={num_workers} is accepted for compatibility, "
                      "but chainrule loads every batch in the main process (no worker "
                      "processes); this warning is shown once.", UserWarning, stacklevel=3)


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style ``Dataset`` (indexable, with a length) or an ``IterableDataset``.
        batch_size: samples per batch (default 1); ``None`` turns automatic batching off (each
            sample is converted with ``default_convert`` and yielded alone).
        shuffle: visit the samples in a new random order every epoch.
        sampler: the order of indices (instead of ``shuffle``).
        batch_sampler: yields whole lists of indices (instead of ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: accepted for compatibility; loading is always in the main process.
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted, no effect (no GPU).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout, worker_init_fn, multiprocessing_context, prefetch_factor,
        persistent_workers, pin_memory_device, in_order: accepted for compatibility.
        generator: the random generator for shuffling (default: the global one, so
            ``chainrule.manual_seed`` makes the order reproducible).

    Example:
        >>> import chainrule
        >>> from chainrule.utils.data import TensorDataset
        >>> ds = TensorDataset(chainrule.randn(10, 3), chainrule.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True)
        >>> [tuple(x.shape) for x, y in loader]
        [(4, 3), (4, 3), (2, 3)]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers > 0:
            _warn_no_workers(num_workers)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last \
                    else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            return self._iter_stream()
        return self._iter_map()

    def _iter_map(self) -> Iterator[Any]:
        dataset, collate = self.dataset, self.collate_fn
        if not self._auto_collation:
            for index in self.sampler:
                yield collate(dataset[index])
            return
        # Fast paths: a dataset that fetches a whole collated batch itself (TensorDataset),
        # or one that fetches a list of samples (__getitems__, PyTorch's protocol).
        get_batch = getattr(dataset, "_get_batch", None) if collate is default_collate else None
        if get_batch is not None and not _can_batch(dataset):
            get_batch = None
        get_items = getattr(dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            if get_batch is not None:
                yield get_batch(indices)
            elif get_items is not None:
                yield collate(get_items(indices))
            else:
                yield collate([dataset[i] for i in indices])

    def _iter_stream(self) -> Iterator[Any]:
        collate = self.collate_fn
        if self.batch_size is None:
            for sample in self.dataset:
                yield collate(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}"
                f", drop_last={self.drop_last}, num_workers={self.num_workers})")


def _can_batch(dataset) -> bool:
    """Only a plain TensorDataset (or plain Subsets of one) fetches whole batches: a subclass
    may override ``__getitem__`` (to transform samples), which the batched fetch would skip."""
    from .dataset import Subset, TensorDataset
    while type(dataset) is Subset:
        dataset = dataset.dataset
    return type(dataset) is TensorDataset
