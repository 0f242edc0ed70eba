import copy

import numpy as np

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
