"""Properties over random architectures and data (hypothesis)."""

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import backproplab as bp

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
PAIRINGS = [("mse", "identity"), ("mae", "sigmoid"), ("bce", "sigmoid"), ("cross_entropy", "softmax")]

architectures = st.fixed_dictionaries({
    "sizes": st.lists(st.integers(1, 6), min_size=2, max_size=5),
    "hidden": st.sampled_from(HIDDEN),
    "pairing": st.sampled_from(PAIRINGS),
    "seed": st.integers(0, 10_000),
    "n": st.integers(1, 12),
    "scale": st.sampled_from([1e-3, 1.0, 10.0, 1e3]),
})


def build(arch):
    loss, output = arch["pairing"]
    sizes = list(arch["sizes"])
    if loss == "cross_entropy":
        sizes[-1] = max(2, sizes[-1])
    net = bp.Network.mlp(sizes, hidden=arch["hidden"], output=output, loss=loss, seed=arch["seed"])
    rng = np.random.default_rng(arch["seed"])
    X = rng.normal(size=(arch["n"], sizes[0])) * arch["scale"]
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=arch["n"])
    elif loss == "bce":
        y = rng.integers(0, 2, size=(arch["n"], sizes[-1])).astype(float)
    else:
        y = rng.normal(size=(arch["n"], sizes[-1]))
    return net, X, y


@given(architectures)
def test_predictions_are_deterministic(arch):
    net, X, _ = build(arch)
    np.testing.assert_array_equal(net.predict(X), net.predict(X))


@given(architectures)
def test_row_by_row_equals_batch(arch):
    net, X, _ = build(arch)
    batch = net.predict(X)
    rows = np.vstack([net.predict(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(rows, batch, rtol=0, atol=1e-12 * max(1.0, np.abs(batch).max()))


@given(architectures)
def test_gradients_are_finite_for_finite_inputs(arch):
    net, X, y = build(arch)
    for grad in net.gradients(X, y):
        assert np.isfinite(grad).all()


@given(architectures, st.sampled_from([1e-3, 0.1, 10.0, 1e4]), st.sampled_from(["sgd", "adam", "rmsprop"]))
def test_training_never_returns_non_finite_weights(arch, lr, optimizer):
    net, X, y = build(arch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, y, optimizer=optimizer, lr=lr, max_steps=30, batch_size=4, seed=0)
    assert all(np.isfinite(p).all() for p in net.parameters())
    assert history.stop_reason in ("max_steps", "max_epochs", "diverged")
    assert np.isfinite(net.predict(X)).all()
