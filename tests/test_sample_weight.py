"""fit(sample_weight=...): the weighted loss and its exact gradient (float64 finite differences)."""

import numpy as np
import pytest

import backproplab as bp
from backproplab.losses import LOSSES, WeightedLoss


def _case(name, rng):
    output = rng.normal(size=(7, 3))
    if name == "cross_entropy":
        y = np.eye(3)[rng.integers(0, 3, 7)]
    elif name == "bce":
        y = rng.integers(0, 2, size=(7, 3)).astype(float)
    else:
        y = rng.normal(size=(7, 3))
    return output, y


@pytest.mark.parametrize("name", ["mse", "mae", "bce", "cross_entropy"])
def test_weighted_loss_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(3)
    output, y = _case(name, rng)
    weights = rng.uniform(0.1, 3.0, size=7)
    loss = WeightedLoss(LOSSES[name]())
    target = np.hstack([y, weights[:, None]])
    grad = np.empty_like(output)
    value = loss.value_and_grad(output, target, grad)
    assert value == pytest.approx(np.dot(weights, [LOSSES[name]().value(output[i:i + 1], y[i:i + 1]) for i in range(7)])
                                  / weights.sum(), rel=1e-12)
    numeric = np.zeros_like(output)
    h = 1e-6
    for index in np.ndindex(output.shape):
        up, down = output.copy(), output.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss.value(up, target) - loss.value(down, target)) / (2 * h)
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_integer_weights_equal_repeated_rows_in_a_full_batch_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X @ [1.0, -2.0, 0.5] > 0).astype(float).reshape(-1, 1)
    weights = rng.integers(1, 4, size=20)
    weighted = bp.Network.mlp([3, 4, 1], hidden="tanh", output="sigmoid", loss="bce", seed=1)
    repeated = bp.Network.mlp([3, 4, 1], hidden="tanh", output="sigmoid", loss="bce", seed=1)
    weighted.fit(X, y, sample_weight=weights, batch_size=None, max_epochs=30, lr=0.5, seed=0)
    repeated.fit(np.repeat(X, weights, axis=0), np.repeat(y, weights, axis=0), batch_size=None, max_epochs=30,
                 lr=0.5, seed=0)
    for a, b in zip(weighted.parameters(), repeated.parameters()):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert type(weighted.loss_fn).__name__ == "BinaryCrossEntropy"  # the wrapper lives for one run only


def test_zero_weights_ignore_their_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    y = X[:, :1] * 3.0
    noisy = y.copy()
    noisy[20:] = 100.0  # rows that weight 0 must not move anything
    weights = np.r_[np.ones(20), np.zeros(10)]
    a = bp.Network.mlp([2, 1], output="identity", loss="mse", seed=0)
    b = bp.Network.mlp([2, 1], output="identity", loss="mse", seed=0)
    a.fit(X, noisy, sample_weight=weights, batch_size=None, max_epochs=20, lr=0.1)
    b.fit(X[:20], y[:20], batch_size=None, max_epochs=20, lr=0.1)
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.allclose(p, q, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weights, message", [
    (np.ones(5), "sample_weight must have shape \\(20,\\)"),
    (np.r_[np.ones(19), -1.0], "non-negative"),
    (np.zeros(20), "not all zero"),
    (np.r_[np.ones(19), np.nan], "finite"),
])
def test_bad_sample_weight_is_refused(weights, message):
    net = bp.Network.mlp([2, 1], seed=0)
    with pytest.raises(ValueError, match=message):
        net.fit(np.ones((20, 2)), np.ones((20, 1)), sample_weight=weights, max_epochs=1)
    assert type(net.loss_fn).__name__ == "MSE"


def test_standardize_layer_fits_at_fit_time_and_is_exact():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3)) * [1e3, 1e-2, 1.0] + [5e3, 0.0, 0.0]
    y = (X[:, 1] > 0).astype(float).reshape(-1, 1)
    net = bp.Network.mlp([3, 5, 1], hidden="tanh", output="sigmoid", loss="bce", seed=0, scale="standard")
    assert not net.layers[0].fitted
    net.fit(X, y, max_epochs=3, seed=0)
    scaler = net.layers[0]
    assert np.allclose(scaler.mean_, X.mean(axis=0)) and np.allclose(scaler.scale_, X.std(axis=0))
    assert net.parameters()[0].shape == (3, 5)  # the fixed layer adds no parameter
    assert bp.gradcheck(net, X[:10], y[:10]).passed
    grad_out = rng.normal(size=(4, 3))
    assert np.allclose(scaler.backward(grad_out), grad_out / X.std(axis=0))
    minmax = bp.Standardize("minmax").fit(X)
    Z = minmax.forward(X)
    assert np.allclose(Z.min(axis=0), 0) and np.allclose(Z.max(axis=0), 1)


def test_standardize_travels_with_the_model_file(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2)) * [100.0, 0.01]
    y = X[:, :1] / 100.0
    net = bp.Network.mlp([2, 3, 1], loss="mse", seed=0, scale="minmax")
    net.fit(X, y, max_epochs=2, seed=0)
    bp.save(net, tmp_path / "m.npz")
    loaded = bp.load(tmp_path / "m.npz")
    assert isinstance(loaded.layers[0], bp.Standardize) and loaded.layers[0].mode == "minmax"
    assert np.array_equal(loaded.predict(X), net.predict(X))


def test_weighted_fit_takes_class_indices_in_a_validation_set():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), np.arange(30) % 3
    net = bp.Network.mlp([2, 4, 3], loss="cross_entropy", seed=0)
    history = net.fit(X[:24], y[:24], sample_weight=rng.uniform(0.5, 2, 24), validation=(X[24:], y[24:]),
                      max_epochs=2, lr=0.1)
    assert len(history.val_loss) == 2 and history.val_loss[-1] == pytest.approx(net.loss(X[24:], y[24:]))
