import copy

import numpy as np
import pytest

import backproplab as bp


def test_dense_weights_and_bias_are_views_of_one_block():
    layer = bp.Dense(3, 2, rng=0)
    assert np.shares_memory(layer.W.value, layer._block) and np.shares_memory(layer.b.value, layer._block)
    np.testing.assert_array_equal(layer._block[:-1], layer.W.value)


def test_training_forward_equals_inference_forward(rng):
    layer = bp.Dense(4, 3, rng=0)
    X = rng.normal(size=(5, 4))
    np.testing.assert_allclose(layer.forward(X, training=True), layer.forward(X), rtol=1e-14)


def test_deep_copies_of_layers_train_on_their_own_consistent_buffers(rng):
    layer = bp.Dense(3, 2, rng=0)
    X = rng.normal(size=(4, 3))
    layer.forward(X, training=True)  # allocate buffers, then copy
    clone = copy.deepcopy(layer)
    np.testing.assert_allclose(clone.forward(X + 1, training=True), layer.forward(X + 1))
    clone.backward(np.ones((4, 2)))
    np.testing.assert_allclose(clone.W.grad, (X + 1).T @ np.ones((4, 2)))
    np.testing.assert_allclose(clone.b.grad, [4.0, 4.0])
    assert not np.shares_memory(clone.W.value, layer.W.value)


def test_activation_writes_straight_into_the_next_dense_layers_input(rng):
    net = bp.Network.mlp([3, 4, 2], hidden="tanh", loss="mse", seed=0)
    X, y = net.check_Xy(rng.normal(size=(6, 3)), rng.normal(size=(6, 2)))
    net.forward_backward(X, y)
    activation, dense = net.layers[1], net.layers[2]
    assert np.shares_memory(activation.A, dense._extended) and not dense._copy_input  # no copy between the two layers
    np.testing.assert_array_equal(dense._extended[-1], np.ones(6))  # the bias row survives the writes
    np.testing.assert_allclose(activation.A, np.tanh(X @ net.layers[0].W.value + net.layers[0].b.value), rtol=1e-14)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_dense_training_path_accepts_any_memory_layout(layout, rng):
    layer = bp.Dense(4, 3, rng=0)
    base = rng.normal(size=(5, 8))
    X = {"C": np.ascontiguousarray(base[:, :4]), "F": np.asfortranarray(base[:, :4]), "strided": base[:, ::2]}[layout]
    grad = {"C": np.ones((5, 3)), "F": np.asfortranarray(np.ones((5, 3))), "strided": np.ones((5, 6))[:, ::2]}[layout]
    grad = grad * np.arange(1, 6)[:, None]
    np.testing.assert_allclose(layer.forward(X, training=True), X @ layer.W.value + layer.b.value, rtol=1e-14)
    grad_in = layer.backward(grad)
    np.testing.assert_allclose(layer.W.grad, X.T @ grad, rtol=1e-14)
    np.testing.assert_allclose(layer.b.grad, grad.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(grad_in, grad @ layer.W.value.T, rtol=1e-14)


def test_float32_dense_casts_a_float64_gradient(rng):
    layer = bp.Dense(3, 2, rng=0, dtype="float32")
    X = rng.normal(size=(4, 3)).astype(np.float32)
    layer.forward(X, training=True)
    grad = rng.normal(size=(4, 2))  # float64, from a custom layer for instance
    grad_in = layer.backward(grad)
    assert layer.W.grad.dtype == np.float32 and grad_in.dtype == np.float32
    np.testing.assert_allclose(layer.W.grad, X.astype(float).T @ grad, rtol=1e-5)


def test_undispatched_numpy_functions_give_numpys_results(rng):
    from backproplab import _fastnp

    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    out = np.empty((3, 2))
    np.testing.assert_array_equal(_fastnp.dot(a, b, out), np.dot(a, b))
    np.testing.assert_array_equal(_fastnp.vdot(a, a), np.vdot(a, a))
    target = np.empty_like(a)
    _fastnp.copyto(target, a)
    np.testing.assert_array_equal(target, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["column", "C", "F", "strided", "large", "empty"])
def test_total_sums_every_entry(case, dtype, rng):
    from backproplab import _fastnp

    base = rng.normal(size=(300, 7)).astype(dtype)
    a = {"column": base[:128, :1], "C": base, "F": np.asfortranarray(base), "strided": base[::2, ::3],
         "large": rng.normal(size=(_fastnp.TOTAL_DOT_MAX + 5,)).astype(dtype), "empty": base[:0]}[case]
    expected = float(np.sum(a, dtype=np.float64))
    scale = float(np.sum(np.abs(a), dtype=np.float64)) or 1.0
    assert abs(_fastnp.total(a) - expected) <= (1e-5 if dtype == np.float32 else 1e-13) * scale
    assert isinstance(_fastnp.total(a), float)
