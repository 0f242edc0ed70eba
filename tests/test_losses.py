import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit

import backproplab as bp
from backproplab.losses import LOSSES


def reference(name, output, y):
    """Independent textbook formulas (mean reductions, as PyTorch)."""
    if name == "mse":
        return np.mean((output - y) ** 2)
    if name == "mae":
        return np.mean(np.abs(output - y))
    if name == "bce":
        p = expit(output)
        return np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    p = np.exp(output - output.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -np.mean(np.sum(y * np.log(p), axis=1))


def targets(name, shape, rng):
    if name == "bce":
        return rng.integers(0, 2, size=shape).astype(float)
    if name == "cross_entropy":
        return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]
    return rng.normal(size=shape)


@pytest.mark.parametrize("name", list(LOSSES))
def test_value_and_gradient(name, rng):
    loss = bp.losses.get(name)
    output = rng.normal(size=(6, 3)) * 2
    y = targets(name, output.shape, rng)
    grad = np.empty_like(output)
    value = loss.value_and_grad(output, y, grad)
    assert value == pytest.approx(reference(name, output, y), rel=1e-12)
    eps = 1e-6
    numeric = np.empty_like(output)
    for index in np.ndindex(output.shape):
        plus, minus = output.copy(), output.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (loss.value(plus, y) - loss.value(minus, y)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)), elements=st.floats(-100, 100)))
def test_regression_losses_are_zero_at_a_perfect_prediction(y):
    for name in ("mse", "mae"):
        assert bp.losses.get(name).value(y.copy(), y) == 0.0


def test_logit_losses_vanish_for_confident_correct_logits():
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    logits = np.where(y > 0, 50.0, -50.0)
    assert bp.losses.get("bce").value(logits, y) < 1e-20
    assert bp.losses.get("cross_entropy").value(np.where(y > 0, 100.0, -100.0), y) < 1e-20


@pytest.mark.parametrize("name", ["bce", "cross_entropy"])
def test_logit_losses_are_stable_for_huge_logits(name):
    output = np.array([[-1000.0, 1000.0], [1000.0, -1000.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    with np.errstate(all="raise"):
        grad = np.empty_like(output)
        value = bp.losses.get(name).value_and_grad(output, y, grad)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value > 100  # the first sample is confidently wrong


def test_cross_entropy_targets_indices_and_onehot_agree():
    loss = bp.losses.get("cross_entropy")
    indices = loss.prepare_targets(np.array([0, 2, 1]), 3, np.dtype(np.float64))
    np.testing.assert_array_equal(indices, np.eye(3)[[0, 2, 1]])
    with pytest.raises(ValueError, match="class indices in 0..2"):
        loss.prepare_targets(np.array([0, 3]), 3, np.dtype(np.float64))


def test_bce_refuses_non_binary_targets():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        bp.losses.get("bce").prepare_targets(np.array([0, 1, 2]), 1, np.dtype(np.float64))


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; expected one of: mse, mae, bce, cross_entropy"):
        bp.losses.get("hinge")
