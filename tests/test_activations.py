import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import backproplab as bp
from backproplab.activations import ACTIVATIONS

NAMES = list(ACTIVATIONS)
finite = st.floats(-30, 30, allow_nan=False)


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_finite_differences(name, rng):
    layer = bp.activations.get(name)
    Z = rng.normal(size=(5, 4)) * 2
    Z[np.abs(Z) < 1e-3] = 0.5  # keep away from the ReLU kink
    weights = rng.normal(size=Z.shape)  # L = sum(weights * f(Z))
    layer.forward(Z, training=True)
    analytic = layer.backward(weights)
    eps = 1e-6
    numeric = np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (np.sum(weights * layer.forward(plus)) - np.sum(weights * layer.forward(minus))) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_for_huge_preactivations(name, dtype):
    layer = bp.activations.get(name)
    Z = np.array([[-1000.0, -745.0, -100.0, 0.0, 100.0, 745.0, 1000.0]], dtype=dtype)
    with np.errstate(all="raise"):
        A = layer.forward(Z, training=True)
        grad = layer.backward(np.full_like(Z, 0.5))
    assert A.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(A).all() and np.isfinite(grad).all()


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-1000, 1000)))
def test_softmax_rows_sum_to_one(Z):
    with np.errstate(all="raise"):
        A = bp.Softmax().forward(Z)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-12)
    assert (A >= 0).all()


def test_sigmoid_values_and_derivative_bound():
    layer = bp.Sigmoid()
    Z = np.linspace(-10, 10, 101).reshape(1, -1)
    A = layer.forward(Z, training=True)
    np.testing.assert_allclose(A, 1 / (1 + np.exp(-Z)), rtol=1e-12)
    derivative = layer.backward(np.ones_like(Z))
    assert derivative.max() == pytest.approx(0.25)


def test_training_buffers_are_reused_and_inference_is_fresh(rng):
    layer = bp.Tanh()
    Z = rng.normal(size=(4, 3))
    first = layer.forward(Z, training=True)
    second = layer.forward(Z + 1, training=True)
    assert first is second  # same buffer while the batch size is unchanged
    a = layer.forward(Z)
    b = layer.forward(Z)
    assert a is not b


def test_leaky_relu_slope_is_validated():
    with pytest.raises(ValueError, match="negative_slope"):
        bp.LeakyReLU(1.5)


@given(arrays(np.float64, (3, 4), elements=finite))
def test_relu_derivative_is_indicator(Z):
    layer = bp.ReLU()
    layer.forward(Z, training=True)
    np.testing.assert_array_equal(layer.backward(np.ones_like(Z)), (Z > 0).astype(float))


@pytest.mark.parametrize("dtype, limit, rtol", [(np.float64, 700.0, 1e-15), (np.float32, 85.0, 1e-6)])
def test_sigmoid_simd_path_for_large_arrays_matches_expit(dtype, limit, rtol, rng):
    from scipy.special import expit

    from backproplab.activations import SIGMOID_SIMD_MIN, sigmoid

    Z = rng.uniform(-limit, limit, size=(SIGMOID_SIMD_MIN // 16 + 1, 16)).astype(dtype)
    Z[0, :5] = [0.0, -limit, limit, -1e-30, 30.0]
    np.testing.assert_allclose(sigmoid(Z), expit(Z), rtol=rtol, atol=0)
    layer = bp.Sigmoid()
    np.testing.assert_allclose(layer.forward(Z, training=True), expit(Z), rtol=rtol, atol=0)
    # beyond the exp limit: no floating-point flags, values stay in [0, 1], NaN propagates
    huge = np.tile(np.array([-1e4, -1000.0, 1000.0, 1e4, np.nan], dtype=dtype), SIGMOID_SIMD_MIN // 5 + 1)
    with np.errstate(all="raise"):
        A = sigmoid(huge)
    assert A.dtype == dtype
    np.testing.assert_array_equal(A[2:4], [1.0, 1.0])
    assert 0 <= A[0] < 1e-30 and np.isnan(A[4])
