import numpy as np
import pytest

import backproplab as bp


def quadratic(A):
    return (lambda p: float(p[0] @ A @ p[0])), (lambda p: [(A + A.T) @ p[0]])


def test_check_gradient_passes_correct_code(rng):
    A = rng.normal(size=(4, 4))
    loss_fn, grad_fn = quadratic(A)
    result = bp.check_gradient(loss_fn, grad_fn, [rng.normal(size=4)])
    assert result.passed
    assert result.max_rel_error < 1e-8


def test_check_gradient_catches_a_wrong_gradient_and_names_the_entry(rng):
    A = rng.normal(size=(4, 4))
    loss_fn, _ = quadratic(A)
    result = bp.check_gradient(loss_fn, lambda p: [2 * A @ p[0]], [rng.normal(size=4)])  # forgets A.T
    assert not result.passed
    assert result.max_rel_error > 1e-2
    assert "FAILED" in str(result) and "p0" in str(result)
    assert len(result.params[0].worst_index) == 1


def test_check_gradient_never_modifies_the_callers_arrays(rng):
    A = rng.normal(size=(3, 3))
    loss_fn, grad_fn = quadratic(A)
    point = rng.normal(size=3)
    copy = point.copy()
    bp.check_gradient(loss_fn, grad_fn, [point])
    np.testing.assert_array_equal(point, copy)


def test_relu_kinks_are_reported_not_failed():
    net = bp.Network([bp.Dense(1, 1, rng=0), bp.ReLU(), bp.Dense(1, 1, rng=1)], loss="mse")
    W, b, _, _ = net.parameters()
    W[:] = 1.0
    b[:] = -2.0  # the ReLU input is exactly at the kink for x = 2
    result = bp.gradcheck(net, np.array([[2.0], [3.0]]), np.array([1.0, 0.0]))
    assert result.passed
    assert sum(p.n_kinks for p in result.params) >= 1
    assert "kinks skipped" in str(result)


def test_gradcheck_refuses_float32():
    net = bp.Network.mlp([2, 1], dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        bp.gradcheck(net, np.ones((2, 2)), np.ones(2))


def test_gradcheck_samples_entries_when_asked(rng):
    net = bp.Network.mlp([20, 30, 2], loss="cross_entropy", seed=0)
    result = bp.gradcheck(net, rng.normal(size=(5, 20)), rng.integers(0, 2, 5), max_entries=10)
    assert result.passed
    assert max(p.n_checked + p.n_kinks for p in result.params) == 10
