"""chainrule's own threads: an op whose work splits into independent pieces runs them on the
threads that ``set_num_threads`` allows.

NumPy's matrix products use every thread (through BLAS), but its element-wise loops and copies
use one core. A convolution's chunks of images, and the batch blocks of a large element-wise
op (ReLU's backward, max pooling), are independent pieces: they run on a few Python threads,
which work in parallel because NumPy releases the GIL in copies, ufunc loops and BLAS calls.
While they run, BLAS is held to one thread (each piece's products run on the thread that
calls them), so that the cores are not oversubscribed; and OpenBLAS's idle workers are told to
stop busy-waiting sooner (``_threads.shorten_blas_spin``), or they would take those cores.

Handing a piece to another thread and back costs ~50 us on this 2-core VM (an idle virtual
core wakes slowly), so only work of a few hundred microseconds or more is split. One parallel
section at a time: if another thread is already in one (a user running models on threads of
their own), the pieces run one after another in the caller.
"""
from __future__ import annotations

import os
import threading

from .._threads import blas_controller, get_num_threads, shorten_blas_spin

_workers: list = []  # the threads besides the caller's, started as first needed
_busy = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child has only the thread that forked: start afresh."""
    global _busy
    _workers.clear()
    _busy = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def threads() -> int:
    """How many threads an op may split its work over (1 if BLAS's threads can't be set)."""
    return get_num_threads() if blas_controller() is not None else 1


class _Worker:
    """A thread that runs one piece at a time, handed over and back by two locks (a lighter
    round trip than a concurrent.futures pool's futures and queue)."""

    def __init__(self):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._task = self._result = None
        threading.Thread(target=self._loop, name="chainrule-worker", daemon=True).start()

    def _loop(self):
        while True:
            self._go.acquire()
            fn, arg = self._task
            try:
                self._result = (True, fn(arg))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by join()
                self._result = (False, exc)
            self._task = None
            self._done.release()

    def start(self, fn, arg) -> None:
        self._task = (fn, arg)
        self._go.release()

    def join(self):
        self._done.acquire()
        ok, value = self._result
        self._result = None
        return ok, value


class _OneBlasThread:
    """BLAS held to one thread inside the block, its count restored after."""

    def __enter__(self):
        blas = blas_controller()
        self.saved = blas.get_num_threads() if blas is not None else 1
        if self.saved != 1:
            blas.set_num_threads(1)

    def __exit__(self, *exc):
        if self.saved != 1:
            blas_controller().set_num_threads(self.saved)


def run_parallel(fn, groups: list) -> list:
    """``[fn(group) for group in groups]``, the groups on as many threads (the caller runs the
    first), BLAS at one thread meanwhile. The results come back in order; an exception in any
    group is raised after all have finished. One group (or another section running) runs in
    the caller, BLAS left as it is."""
    if len(groups) < 2 or not _busy.acquire(blocking=False):
        return [fn(group) for group in groups]
    try:
        shorten_blas_spin()
        while len(_workers) < len(groups) - 1:
            _workers.append(_Worker())
        workers = _workers[:len(groups) - 1]
        with _OneBlasThread():
            for worker, group in zip(workers, groups[1:]):
                worker.start(fn, group)
            try:
                first = fn(groups[0])
            finally:
                joined = _join(workers)
        for ok, value in joined:
            if not ok:
                raise value
        return [first] + [value for _, value in joined]
    finally:
        _busy.release()


def _join(workers: list) -> list:
    """Each worker's (ok, value). If the wait is interrupted (Ctrl-C in the main thread), the
    workers not yet joined may still be running their piece: they leave the pool for good, so
    that a later section never takes their stale result for its own."""
    joined = []
    for i, worker in enumerate(workers):
        try:
            joined.append(worker.join())
        except BaseException:
            for stale in workers[i:]:
                _workers.remove(stale)
            raise
    return joined


# Element-wise work over at least this many bytes is split into blocks of its leading axis,
# one per thread; below it the ~50 us of handing work to another thread and back (measured
# on a 2-core VM, whose idle cores wake slowly) is more than the half it saves.
SPLIT_MIN_BYTES = 2 << 20


def blocks(n: int, nbytes: int, min_bytes: int | None = None) -> list:
    """Slices of a leading axis of length n: one per thread if ``nbytes`` of work is worth
    splitting (at least ``min_bytes``, by default SPLIT_MIN_BYTES), else one slice of all."""
    if min_bytes is None:
        min_bytes = SPLIT_MIN_BYTES
    parts = min(threads(), n) if nbytes >= min_bytes else 1
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]


def map_blocks(fn, n: int, nbytes: int) -> list:
    """``fn(block)`` for each of ``blocks(n, nbytes)``, on the threads (see run_parallel)."""
    return run_parallel(fn, blocks(n, nbytes))
