"""Divergence is caught before the loss overflows, and the weights kept are no worse than the start."""

import numpy as np
import pytest

import backproplab as bp


def _run(X, y, lr):
    net = bp.Network.mlp([X.shape[1], 8, 1], hidden="relu", output="identity", loss="mse", seed=0)
    start = net.loss(X, y)
    with pytest.warns(bp.DivergenceWarning):
        history = net.fit(X, y, lr=lr, max_epochs=200, batch_size=16, seed=0)
    return net, start, history


def test_a_huge_learning_rate_stops_before_inf_with_weights_no_worse_than_the_start():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ [[1.0], [-2.0], [0.5]]
    net, start, history = _run(X, y, lr=5.0)
    assert history.stop_reason == "diverged"
    assert all(np.isfinite(p).all() for p in net.parameters())
    assert net.loss(X, y) <= start * 1.5  # the weights kept are not the exploded ones
    assert "diverged" in history.message and "inf" not in history.message.split(";")[1]
    assert "learning rate below 5" in history.message


def test_huge_inputs_are_named_instead_of_the_learning_rate():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 2)) * 1e300
    y = rng.normal(size=(32, 1))
    net, _, history = _run(X, y, lr=0.001)
    assert history.stop_reason == "diverged"
    assert "standardise them first" in history.message and "learning rate below" not in history.message
    assert all(np.isfinite(p).all() for p in net.parameters())
