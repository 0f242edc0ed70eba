import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import backproplab as bp
from conftest import make_targets

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
PAIRINGS = [("mse", "identity"), ("mse", "sigmoid"), ("mse", "softmax"), ("mae", "tanh"), ("bce", "sigmoid"),
            ("cross_entropy", "softmax")]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,output", PAIRINGS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_gradcheck_every_activation_loss_and_depth(hidden, loss, output, depth):
    rng = np.random.default_rng(depth * 100 + len(hidden) + len(loss))
    sizes = [3] + [4] * (depth - 1) + [3]
    net = bp.Network.mlp(sizes, hidden=hidden, output=output, loss=loss, seed=depth, l2=0.01)
    X = rng.normal(size=(5, 3))
    y = make_targets(loss, 5, 3, rng)
    result = bp.gradcheck(net, X, y)
    assert result.passed, str(result)
    assert result.max_rel_error < 1e-5


@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
    n=st.integers(1, 6),
    hidden=st.sampled_from(HIDDEN),
    pairing=st.sampled_from(PAIRINGS),
    seed=st.integers(0, 1000),
)
def test_gradcheck_on_random_shapes(sizes, n, hidden, pairing, seed):
    loss, output = pairing
    if output == "softmax" or loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    if loss == "mae":
        # |.| has a kink at zero; keep the targets far from the tanh range so no residual is 0
        pass
    rng = np.random.default_rng(seed)
    net = bp.Network.mlp(sizes, hidden=hidden, output=output, loss=loss, seed=seed)
    X = rng.normal(size=(n, sizes[0]))
    y = make_targets(loss, n, sizes[-1], rng)
    result = bp.gradcheck(net, X, y)
    assert result.passed, str(result)


def test_parameters_order_and_shapes():
    net = bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=0)
    shapes = [p.shape for p in net.parameters()]
    assert shapes == [(3, 3), (3,), (3, 2), (2,), (2, 1), (1,)]
    assert all(g.shape == s for g, s in zip(net.gradients(np.ones((4, 3)), np.ones(4)), shapes))
    # parameters() are live: editing them changes predictions
    before = net.predict(np.ones((1, 3)))
    net.parameters()[-1][:] += 1.0
    assert not np.allclose(before, net.predict(np.ones((1, 3))))


def test_explicit_layers_with_sigmoid_and_bce_are_fused(rng):
    layers = [bp.Dense(2, 3, rng=0), bp.Tanh(), bp.Dense(3, 1, rng=1), bp.Sigmoid()]
    net = bp.Network(layers, loss="bce")
    assert net.body == layers[:-1]
    X = rng.normal(size=(4, 2))
    Z = layers[2].forward(layers[1].forward(layers[0].forward(X)))
    np.testing.assert_allclose(net.predict(X), 1 / (1 + np.exp(-Z)))
    assert bp.gradcheck(net, X, np.array([0, 1, 1, 0])).passed


def test_predict_returns_probabilities_for_fused_softmax(rng):
    net = bp.Network.mlp([4, 5, 3], loss="cross_entropy", seed=0)
    P = net.predict(rng.normal(size=(6, 4)))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_l2_term_is_half_lambda_sum_of_squared_weights(rng):
    plain = bp.Network.mlp([2, 3, 1], seed=0)
    regular = bp.Network.mlp([2, 3, 1], seed=0, l2=0.5)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    W1, _, W2, _ = plain.parameters()
    expected = plain.loss(X, y) + 0.25 * (np.sum(W1**2) + np.sum(W2**2))
    assert regular.loss(X, y) == pytest.approx(expected, rel=1e-12)


def test_l2_gradient_is_lambda_w_on_weights_only_and_follows_changes_of_l2(rng):
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    plain = bp.Network.mlp([2, 3, 1], seed=0)
    regular = bp.Network.mlp([2, 3, 1], seed=0, l2=0.5)
    base = plain.gradients(X, y)
    for l2 in (0.5, 0.125):  # l2 changed after the first training pass
        regular.l2 = l2
        loss = regular.forward_backward(*regular.check_Xy(X, y))
        assert loss == pytest.approx(plain.loss(X, y) + 0.5 * l2 * sum(np.sum(w**2) for w in plain.parameters()[::2]), rel=1e-12)
        for got, want, value, name in zip(regular.gradients(X, y), base, plain.parameters(), ["W", "b", "W", "b"]):
            np.testing.assert_allclose(got, want + (l2 * value if name == "W" else 0.0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_float32_runs_end_to_end_and_agrees_with_float64(hidden, rng):
    net64 = bp.Network.mlp([4, 8, 3], hidden=hidden, loss="cross_entropy", seed=3)
    net32 = bp.Network.mlp([4, 8, 3], hidden=hidden, loss="cross_entropy", seed=3, dtype="float32")
    X = rng.normal(size=(10, 4))
    y = rng.integers(0, 3, size=10)
    assert all(p.dtype == np.float32 for p in net32.parameters())
    P32 = net32.predict(X)
    assert P32.dtype == np.float32
    np.testing.assert_allclose(P32, net64.predict(X), rtol=1e-5, atol=1e-6)
    grads32 = net32.gradients(X, y)
    assert all(g.dtype == np.float32 for g in grads32)
    for g32, g64 in zip(grads32, net64.gradients(X, y)):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)
    history = net32.fit(X, y, max_epochs=3, batch_size=4, seed=0)
    assert all(p.dtype == np.float32 for p in net32.parameters())
    assert history.n_epochs == 3


def test_default_initialiser_is_he_for_relu_and_glorot_otherwise():
    assert bp.Network.mlp([2, 2, 1], hidden="relu").layers[0].init == "he_uniform"
    assert bp.Network.mlp([2, 2, 1], hidden="tanh").layers[0].init == "glorot_uniform"


def test_same_seed_same_weights_different_seed_different_weights():
    a = bp.Network.mlp([3, 4, 1], seed=7).parameters()
    b = bp.Network.mlp([3, 4, 1], seed=7).parameters()
    c = bp.Network.mlp([3, 4, 1], seed=8).parameters()
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_mlp_pairing_errors():
    with pytest.raises(ValueError, match="pairs with output='sigmoid'"):
        bp.Network.mlp([2, 1], output="identity", loss="bce")
    with pytest.raises(ValueError, match="unknown hidden activation 'softmax'"):
        bp.Network.mlp([2, 3, 1], hidden="softmax")
    with pytest.raises(ValueError, match="layer shapes do not chain"):
        bp.Network([bp.Dense(2, 3), bp.ReLU(), bp.Dense(4, 1)])


def test_parameters_are_views_of_one_flat_buffer_and_copies_keep_that(rng):
    import copy

    net = bp.Network.mlp([3, 4, 2], seed=0)
    for p in net.parameters():
        assert np.shares_memory(p, net.flat.value)
    clone = copy.deepcopy(net)
    for p in clone.parameters():
        assert np.shares_memory(p, clone.flat.value) and not np.shares_memory(p, net.flat.value)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    clone.fit(X, y, max_steps=5, lr=0.1)
    assert not np.array_equal(clone.parameters()[0], net.parameters()[0])  # the copy trains on its own weights
    np.testing.assert_array_equal(net.predict(X), bp.Network.mlp([3, 4, 2], seed=0).predict(X))


def test_layers_cannot_silently_serve_two_networks():
    import copy
    import pickle  # noqa: F401  (only to check that third-party pickling of a network still works)

    layers = [bp.Dense(2, 3, rng=0), bp.Tanh(), bp.Dense(3, 1, rng=1)]
    net = bp.Network(layers, loss="mse")
    with pytest.raises(ValueError, match=r"layers\[0\] \(Dense\) already belongs to another Network"):
        bp.Network(layers, loss="mae")
    clone = copy.deepcopy(net)  # a copy owns fresh layers
    assert clone.layers[0] is not layers[0]
    revived = pickle.loads(pickle.dumps(net))  # what joblib does; backproplab itself never pickles
    np.testing.assert_array_equal(revived.predict(np.ones((1, 2))), net.predict(np.ones((1, 2))))
    del net
    import gc

    gc.collect()
    bp.Network(layers, loss="mae")  # once the first network is gone, the layers are free again


class Doubler:
    """A user's own layer (the Layer protocol only): returns row-major arrays."""

    def forward(self, X, training=False):
        return np.ascontiguousarray(2.0 * X)

    def backward(self, grad_out):
        return np.ascontiguousarray(2.0 * grad_out)

    def parameters(self):
        return []


def test_training_buffers_follow_the_layout_of_each_layers_input(rng):
    """The workspace lays each layer's buffers out like its input, and lets an activation write into
    the next Dense layer's input only when both are feature-major and the activation is one of ours."""
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    after_dense = bp.Network([bp.Dense(3, 4, rng=0), bp.Tanh(), bp.Dense(4, 2, rng=1)], loss="mse")
    assert (after_dense.workspace.orders, after_dense.workspace.output_order) == (["C", "F", "F"], "F")
    after_dense.forward_backward(*after_dense.check_Xy(X, y))
    tanh, dense = after_dense.layers[1], after_dense.layers[2]
    assert tanh.A.flags.f_contiguous and np.shares_memory(tanh.A, dense._extended) and not dense._copy_input
    first = bp.Network([bp.Tanh(), bp.Dense(3, 2, rng=0)], loss="mse")
    assert first.workspace.orders == ["C", "C"]  # the tanh is fed the row-major batch
    first.forward_backward(*first.check_Xy(X, y))
    assert first.layers[0].A.flags.c_contiguous and first.layers[1]._copy_input
    custom = bp.Network([bp.Dense(3, 4, rng=0), bp.Tanh(), Doubler(), bp.Sigmoid(), bp.Dense(4, 2, rng=1)], loss="mse")
    assert custom.workspace.orders == ["C", "F", "F", "C", "C"]
    custom.forward_backward(*custom.check_Xy(X, y))
    assert custom.layers[3].A.flags.c_contiguous and custom.layers[4]._copy_input  # copied after a row-major input
    for net in (after_dense, first, custom):
        result = bp.gradcheck(net, X, y)
        assert result.passed and result.max_rel_error < 1e-6, str(result)


@pytest.mark.parametrize("batch_size", [2, None])
def test_wide_targets_train_the_same_in_batches_as_by_hand(batch_size, rng):
    # multi-column targets are gathered into the output's (feature-major) layout: one SGD step must
    # still equal w - lr * gradient on the same rows
    X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    net = bp.Network.mlp([3, 6, 5], hidden="tanh", loss="mse", seed=0)
    reference = bp.Network.mlp([3, 6, 5], hidden="tanh", loss="mse", seed=0)
    net.fit(X, y, optimizer=bp.SGD(lr=0.1), batch_size=batch_size, max_steps=1, shuffle=False, progress=False)
    rows = slice(0, 2) if batch_size else slice(None)
    expected = [w - 0.1 * g for w, g in zip(reference.parameters(), reference.gradients(X[rows], y[rows]))]
    for got, want in zip(net.parameters(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
