"""chainrule's own threads (ops/_parallel.py): pieces of one op on several threads, results in
order, errors passed on, BLAS's thread count restored; and the ops that split their work
(ReLU, max pooling; the convolutions in conv/test_conv_ops.py) still match PyTorch when every
input, however small, is split over two threads."""
import multiprocessing
import threading

import numpy as np
import pytest
import torch
from conformance import Case, run_case, spec

import chainrule
import chainrule.nn  # noqa: F401
from chainrule import _threads
from chainrule.ops import _parallel


@pytest.fixture
def two_threads():
    before = chainrule.get_num_threads()
    chainrule.set_num_threads(2)
    yield
    chainrule.set_num_threads(before)


@pytest.fixture
def split_everything(two_threads, monkeypatch):
    """Every op that can split its work does, on two threads, whatever its size."""
    from chainrule.ops import im2col
    monkeypatch.setattr(_parallel, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(im2col, "PARALLEL_MIN_BYTES", 0)


needs_blas = pytest.mark.skipif(_threads.blas_controller() is None,
                                reason="NumPy's BLAS threads can't be controlled here")


@needs_blas
def test_pieces_run_on_two_threads_in_order(two_threads):
    def piece(k):
        return k, threading.get_ident(), _threads.blas_controller().get_num_threads()

    results = _parallel.run_parallel(piece, [10, 20])
    assert [k for k, _, _ in results] == [10, 20]
    assert results[0][1] == threading.get_ident() != results[1][1]
    assert [blas for _, _, blas in results] == [1, 1]  # BLAS held to one thread meanwhile
    assert _threads.blas_controller().get_num_threads() == 2  # and restored after


@needs_blas
def test_an_error_in_any_piece_is_raised_after_all_finish(two_threads):
    finished = []

    def piece(k):
        if k == 1:
            raise ValueError("piece 1 failed")
        finished.append(k)

    with pytest.raises(ValueError, match="piece 1 failed"):
        _parallel.run_parallel(piece, [0, 1])
    assert finished == [0]
    assert _threads.blas_controller().get_num_threads() == 2
    assert _parallel.run_parallel(lambda k: k * 2, [1, 2]) == [2, 4]  # the workers still work


@needs_blas
def test_a_section_inside_a_section_runs_in_its_caller(two_threads):
    def inner(k):
        return threading.get_ident()

    def outer(k):
        return _parallel.run_parallel(inner, [0, 1])

    for idents in _parallel.run_parallel(outer, [0, 1]):
        assert idents[0] == idents[1]  # no deadlock: both inner pieces ran in one thread


def test_blocks_split_only_work_worth_splitting(two_threads):
    big = _parallel.SPLIT_MIN_BYTES
    assert _parallel.blocks(10, big - 1) == [slice(0, 10)]
    assert _parallel.blocks(10, big) == [slice(0, 5), slice(5, 10)]
    assert _parallel.blocks(1, big) == [slice(0, 1)]
    assert _parallel.blocks(7, 0, min_bytes=0) == [slice(0, 3), slice(3, 7)]
    chainrule.set_num_threads(1)
    assert _parallel.blocks(10, big) == [slice(0, 10)]


@needs_blas
def test_blas_gives_the_same_products_after_its_spin_is_shortened(two_threads, monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 250))
    want = a @ b
    monkeypatch.setattr(_threads, "_spin_shortened", [])
    monkeypatch.setenv("CHAINRULE_BLAS_TUNING", "0")
    assert _threads.shorten_blas_spin() is False  # opted out
    monkeypatch.setattr(_threads, "_spin_shortened", [])
    monkeypatch.delenv("CHAINRULE_BLAS_TUNING")
    done = _threads.shorten_blas_spin()
    assert done is (_threads.blas_controller().internal_api == "openblas")
    assert _threads.shorten_blas_spin() is done  # once
    np.testing.assert_allclose(a @ b, want, rtol=1e-12)  # OpenBLAS restarted its workers
    assert "OPENBLAS_THREAD_TIMEOUT" not in __import__("os").environ


def _conv_in_child(queue):
    x = chainrule.ones(4, 3, 40, 40)
    out = chainrule.nn.functional.conv2d(x, chainrule.ones(8, 3, 3, 3), padding=1)
    queue.put(float(out.sum()))


@needs_blas
def test_a_forked_child_starts_its_own_threads(split_everything):
    chainrule.nn.functional.conv2d(chainrule.ones(4, 3, 40, 40), chainrule.ones(8, 3, 3, 3))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_conv_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    # every output pixel sums 27 ones, less where the padding cuts the window
    assert result == float(torch.nn.functional.conv2d(torch.ones(4, 3, 40, 40),
                                                      torch.ones(8, 3, 3, 3), padding=1).sum())


def F(m):
    return m.nn.functional


CONV_TOL32 = (1e-4, 1e-4)  # weight gradients: float32 sums of hundreds of products
SPLIT_CASES = [
    Case("relu", lambda m, x: F(m).relu(x), [spec(2, 4, 32, 32, domain="away0")]),
    Case("relu_after_conv", lambda m, x, w: F(m).relu(F(m).conv2d(x, w, padding=1)),
         [spec(3, 2, 16, 16), spec(16, 2, 3, 3)], tol32=CONV_TOL32),
    Case("max_pool2d_k2", lambda m, x: F(m).max_pool2d(x, 2), [spec(3, 2, 8, 6)]),
    Case("max_pool2d_k3_s2_p1_overlapping",
         lambda m, x: F(m).max_pool2d(x, 3, stride=2, padding=1), [spec(5, 3, 7, 9)]),
    Case("max_pool2d_dilation_ceil",
         lambda m, x: F(m).max_pool2d(x, (2, 3), stride=2, dilation=(2, 1), ceil_mode=True),
         [spec(4, 2, 9, 8)]),
    Case("max_pool2d_ties", lambda m, x: F(m).max_pool2d(x, 2, return_indices=True)[0],
         [spec(3, 2, 6, 8, domain="ties")], fd=False),  # no derivative at a tie
    Case("max_pool2d_indices", lambda m, x: F(m).max_pool2d(x, 3, 2, 1, return_indices=True),
         [spec(2, 2, 7, 7)]),
    Case("conv_relu_pool", lambda m, x, w: F(m).max_pool2d(F(m).relu(F(m).conv2d(x, w)), 2),
         [spec(4, 3, 12, 12), spec(5, 3, 3, 3)], tol32=CONV_TOL32),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", SPLIT_CASES, ids=lambda c: c.name)
def test_split_ops_match_torch(case, dtype, split_everything):
    run_case(case, dtype)


@needs_blas
def test_an_interrupted_wait_retires_the_worker(two_threads, monkeypatch):
    """Ctrl-C while the main thread waits for a worker: that worker may still be running, so
    it must never be handed a later section's piece (whose result it would mix up)."""
    _parallel.run_parallel(lambda k: k, [0, 1])  # a worker exists
    stale = _parallel._workers[0]
    real_join = _parallel._Worker.join

    def interrupted(self):
        monkeypatch.setattr(_parallel._Worker, "join", real_join)
        real_join(self)  # let it finish, then report the interruption
        raise KeyboardInterrupt

    monkeypatch.setattr(_parallel._Worker, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _parallel.run_parallel(lambda k: k, [0, 1])
    assert stale not in _parallel._workers
    assert _parallel.run_parallel(lambda k: k + 1, [0, 1]) == [1, 2]  # a fresh worker
    assert _threads.blas_controller().get_num_threads() == 2
