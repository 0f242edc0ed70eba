"""fit runs on one BLAS thread when every product of a step is small, and restores the count."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import backproplab as bp
from backproplab import _threads
from backproplab.training import _largest_product


def blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


class RecordThreads(bp.Callback):
    def __init__(self):
        self.seen: list[list[int]] = []

    def on_epoch_end(self, epoch, history):
        self.seen.append(blas_threads())


class Square:
    """A layer of the user's own: its products are unknown to fit."""

    def forward(self, X, training=False):
        self.X = X
        return X * X

    def backward(self, grad_out):
        return 2 * self.X * grad_out

    def parameters(self):
        return []

    def spec(self):
        return {"type": "Square"}


@pytest.fixture
def two_threads():
    # a known starting count, also on a one-core machine, restored afterwards
    with threadpool_limits(limits=2, user_api="blas"):
        assert set(blas_threads()) == {2}
        yield


def small_run(callback, **kwargs):
    X = np.random.default_rng(0).random((64, 8))
    net = bp.Network.mlp([8, 16, 1], seed=0)
    return net.fit(X, X[:, :1], batch_size=32, max_epochs=2, callbacks=[callback], seed=0, **kwargs)


def test_small_network_trains_on_one_blas_thread_and_restores_the_count(two_threads):
    recorder = RecordThreads()
    small_run(recorder)
    assert recorder.seen == [[1] * len(blas_threads())] * 2
    assert set(blas_threads()) == {2}


def test_large_products_keep_the_thread_count(two_threads):
    # batch 256 x (64 + 1) x 64 = 1,064,960 multiply-adds: above SMALL_PRODUCT
    X = np.random.default_rng(0).random((512, 64))
    net = bp.Network.mlp([64, 64, 1], seed=0)
    assert _largest_product(net, 256) == 256 * 65 * 64 >= _threads.SMALL_PRODUCT
    recorder = RecordThreads()
    net.fit(X, X[:, :1], batch_size=256, max_epochs=1, callbacks=[recorder], seed=0)
    assert recorder.seen == [[2] * len(blas_threads())]


def test_a_layer_of_the_users_own_keeps_the_thread_count(two_threads):
    net = bp.Network([bp.Dense(3, 4, rng=0), Square(), bp.Dense(4, 1, rng=1)], loss="mse")
    assert _largest_product(net, 8) > _threads.SMALL_PRODUCT
    recorder = RecordThreads()
    X = np.random.default_rng(0).random((16, 3))
    net.fit(X, X[:, :1], batch_size=8, max_epochs=1, callbacks=[recorder], seed=0)
    assert recorder.seen == [[2] * len(blas_threads())]


def test_nested_fits_restore_the_count_only_when_the_outer_one_ends(two_threads):
    inner_after = []

    class FitInside(bp.Callback):
        def on_epoch_end(self, epoch, history):
            small_run(bp.Callback())
            inner_after.append(blas_threads())

    small_run(FitInside())
    assert inner_after == [[1] * len(blas_threads())] * 2
    assert set(blas_threads()) == {2}


def test_the_count_is_restored_when_fit_raises(two_threads):
    class Boom(bp.Callback):
        def on_epoch_end(self, epoch, history):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        small_run(Boom())
    assert set(blas_threads()) == {2}


def test_without_threadpoolctl_nothing_changes(two_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_controller", lambda: None)
    recorder = RecordThreads()
    history = small_run(recorder)
    assert history.n_epochs == 2
    assert recorder.seen == [[2] * len(blas_threads())] * 2


def test_largest_product_counts_the_bias_row():
    net = bp.Network.mlp([3, 5, 2], seed=0)
    assert _largest_product(net, 10) == max(10 * 4 * 5, 10 * 6 * 2)


def test_a_subclass_of_our_layer_counts_as_the_users_own():
    class LoudReLU(bp.ReLU):
        pass

    net = bp.Network([bp.Dense(3, 4, rng=0), LoudReLU(), bp.Dense(4, 1, rng=1)], loss="mse")
    assert _largest_product(net, 8) > _threads.SMALL_PRODUCT
    assert _largest_product(bp.Network([bp.Dense(3, 4, rng=0), bp.ReLU(), bp.Dense(4, 1, rng=1)], loss="mse"), 8) == 8 * 4 * 4


def test_a_failing_thread_limit_never_stops_training(two_threads, monkeypatch):
    class Broken:
        def limit(self, **kwargs):
            raise OSError("no such symbol: openblas_set_num_threads")

    monkeypatch.setattr(_threads, "_controller", lambda: Broken())
    recorder = RecordThreads()
    history = small_run(recorder)
    assert history.n_epochs == 2 and history.stop_reason == "max_epochs"
    assert recorder.seen == [[2] * len(blas_threads())] * 2
    assert _threads._users == 0 and _threads._limiter is None


def test_predict_rows_runs_small_blocks_on_one_blas_thread_with_the_same_numbers(two_threads, monkeypatch):
    from backproplab import tabular

    X = np.random.default_rng(1).normal(size=(3000, 20))
    seen = []
    small = bp.Network.mlp([20, 100, 1], seed=0)  # 1024 x 21 x 100 per block: below PREDICT_PRODUCT
    expected = np.concatenate([small.predict(X[i : i + 1024]) for i in range(0, len(X), 1024)])
    original = bp.Network.predict
    monkeypatch.setattr(bp.Network, "predict", lambda self, A: seen.append(blas_threads()) or original(self, A))
    assert np.array_equal(tabular.predict_rows(small, X, chunk=1024), expected)
    assert seen and all(threads == [1] * len(threads) for threads in seen) and set(blas_threads()) == {2}
    seen.clear()
    wide = bp.Network.mlp([20, 1024, 1], seed=0)  # 8192 x 21 x 1024 = 176M per block: both threads
    assert 8192 * 21 * 1024 >= _threads.PREDICT_PRODUCT
    tabular.predict_rows(wide, np.zeros((9000, 20)))
    assert seen and all(set(threads) == {2} for threads in seen)
