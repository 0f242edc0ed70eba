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


def test_the_float64_copy_of_gradchecks_docstring(rng):
    """gradcheck's docstring: same layers in float64, then set_weights(get_weights()) casts the weights."""
    net32 = bp.Network.mlp([3, 4, 1], hidden="tanh", dtype="float32", seed=0)
    net64 = bp.Network.mlp([3, 4, 1], hidden="tanh", seed=1)
    net64.set_weights(net32.get_weights())
    assert net64.dtype == np.float64 and all(p.dtype == np.float64 for p in net64.parameters())
    for copy, original in zip(net64.parameters(), net32.parameters()):
        np.testing.assert_array_equal(copy, original.astype(np.float64))
    assert bp.gradcheck(net64, rng.normal(size=(5, 3)), rng.normal(size=5)).passed


def test_gradcheck_samples_entries_when_asked(rng):
    net = bp.Network.mlp([20, 30, 2], loss="cross_entropy", seed=0)
    result = bp.gradcheck(net, rng.normal(size=(5, 20)), rng.integers(0, 2, 5), max_entries=10)
    assert result.passed
    assert max(p.n_checked + p.n_kinks for p in result.params) == 10


# ---------------------------------------------------------------------- non-finite values fail, always
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
points = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite)
bad_values = st.sampled_from([np.nan, np.inf, -np.inf])


def quartic():
    """L(w) = sum(w^2) + 0.1 sum(w^4): smooth, gradient 2w + 0.4 w^3."""
    return (lambda p: float(np.sum(p[0] ** 2) + 0.1 * np.sum(p[0] ** 4))), (lambda p: [2 * p[0] + 0.4 * p[0] ** 3])


@given(point=points, data=st.data())
def test_check_gradient_fails_on_any_nonfinite_analytic_entry(point, data):
    loss_fn, grad_fn = quartic()
    index = data.draw(st.tuples(st.integers(0, point.shape[0] - 1), st.integers(0, point.shape[1] - 1)))
    value = data.draw(bad_values)

    def broken(p):
        g = grad_fn(p)[0]
        g[index] = value
        return [g]

    assert bp.check_gradient(loss_fn, grad_fn, [point]).passed
    for max_entries in (None, 1):  # sampling must never skip the bad entry
        result = bp.check_gradient(loss_fn, broken, [point], max_entries=max_entries, names=["W"])
        assert not result.passed
        assert result.max_rel_error == np.inf
        assert f"analytic gradient of W is {value} at entry {index}" in result.problems[0]
        assert f"entry {index}" in str(result)


@given(point=points, data=st.data())
def test_check_gradient_fails_whenever_an_entry_is_off_by_more_than_rtol(point, data):
    loss_fn, grad_fn = quartic()
    index = data.draw(st.tuples(st.integers(0, point.shape[0] - 1), st.integers(0, point.shape[1] - 1)))
    size = data.draw(st.floats(1e-3, 1e3)) * data.draw(st.sampled_from([-1.0, 1.0]))

    def off(p):
        g = grad_fn(p)[0]
        g[index] += size * max(abs(g[index]), 1.0)  # relative error >= size / (1 + size) >= 1e-3
        return [g]

    result = bp.check_gradient(loss_fn, off, [point])
    assert not result.passed
    assert result.params[0].worst_index == index
    assert result.max_rel_error > 1e-5


@given(point=points, bad=bad_values)
def test_check_gradient_fails_on_a_nonfinite_loss(point, bad):
    _, grad_fn = quartic()
    result = bp.check_gradient(lambda p: float(bad), grad_fn, [point])
    assert not result.passed and "the loss is" in result.problems[0]


def test_check_gradient_fails_when_the_loss_is_nonfinite_only_near_the_point():
    def loss_fn(p):  # log is -inf / NaN left of 1e-5
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.log(p[0][0] - 1e-5) + p[0] @ p[0])

    def grad_fn(p):
        g = 2 * p[0]
        g[0] += 1 / (p[0][0] - 1e-5)
        return [g]

    result = bp.check_gradient(loss_fn, grad_fn, [np.array([1.5e-4, 1.0])])
    assert not result.passed
    assert "numerical gradient of p0" in result.problems[0] and "entry (0,)" in result.problems[0]


def test_the_issue_example_fails():
    result = bp.check_gradient(lambda p: float(p[0] @ p[0]), lambda p: [p[0] * np.nan], [np.ones(3)])
    assert not result.passed and result.max_rel_error == np.inf
    assert result.to_dict()["max_rel_error"] is None  # JSON has no inf; the problem says what happened


def _corrupting(net, param_index, entry, change):
    """Make ``net.forward_backward`` (the analytic side of gradcheck) return a corrupted gradient entry."""
    original = net.forward_backward

    def forward_backward(X, y):
        loss = original(X, y)
        grad = net.parameter_objects()[param_index].grad
        grad[entry] = change(grad[entry])
        return loss

    net.forward_backward = forward_backward


@given(seed=st.integers(0, 2**16), data=st.data())
def test_gradcheck_fails_whenever_any_analytic_entry_is_broken(seed, data):
    rng = np.random.default_rng(seed)
    net = bp.Network.mlp([3, 4, 2], hidden="tanh", loss="mse", seed=seed)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    assert bp.gradcheck(net, X, y).passed
    param_index = data.draw(st.integers(0, 3))
    shape = net.parameters()[param_index].shape
    entry = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    if data.draw(st.booleans()):
        bad = data.draw(bad_values)
        _corrupting(net, param_index, entry, lambda g: bad)
        result = bp.gradcheck(net, X, y, max_entries=1)
        name = result.params[param_index].name
        assert f"analytic gradient of {name} is {bad} at entry {entry}" in result.params[param_index].problem
    else:
        size = data.draw(st.floats(1e-3, 1e3)) * data.draw(st.sampled_from([-1.0, 1.0]))
        _corrupting(net, param_index, entry, lambda g: g + size * max(abs(g), 1.0))
        result = bp.gradcheck(net, X, y)
        assert result.params[param_index].worst_index == entry
    assert not result.passed
    assert not result.params[param_index].passed


def test_gradcheck_lists_the_kinks_it_skipped():
    net = bp.Network([bp.Dense(1, 1, rng=0), bp.ReLU(), bp.Dense(1, 1, rng=1)], loss="mse")
    W, b, _, _ = net.parameters()
    W[:] = 1.0
    b[:] = -2.0
    result = bp.gradcheck(net, np.array([[2.0], [3.0]]), np.array([1.0, 0.0]))
    assert len(result.kinks) == sum(p.n_kinks for p in result.params) >= 1
    assert all(0 <= index < 4 for index, _ in result.kinks)


# ---------------------------------------------------------------------- networks nested as layers
class _OffByOnePercent(bp.Dense):
    """A Dense layer whose backward is wrong: it scales the incoming gradient by 1.01, so its own
    parameter gradients and every gradient behind it are 1% too large."""

    def backward(self, grad_out):
        return super().backward(grad_out * 1.01)


def _nested(second_dense=bp.Dense):
    inner = bp.Network([bp.Dense(3, 4, rng=1), bp.Tanh(), second_dense(4, 4, rng=2), bp.Tanh()])
    return bp.Network([bp.Dense(2, 3, rng=0), bp.Sigmoid(), inner, bp.Dense(4, 1, rng=3)], loss="mse", l2=0.1)


NESTED_NAMES = ["W1", "b1", "W2.1", "b2.1", "W2.2", "b2.2", "W3", "b3"]


def test_gradcheck_names_and_passes_a_nested_network(rng):
    net = _nested()
    assert net.dtype == np.float64
    result = bp.gradcheck(net, rng.normal(size=(7, 2)), rng.normal(size=(7, 1)))
    assert [p.name for p in result.params] == NESTED_NAMES
    assert [p.shape for p in result.params] == [p.shape for p in net.parameters()]
    assert result.passed and result.max_rel_error < 1e-7
    assert "W2.2" in str(result)
    flat = bp.gradcheck(bp.Network.mlp([2, 3, 1], seed=0), rng.normal(size=(7, 2)), rng.normal(size=(7, 1)))
    assert [p.name for p in flat.params] == ["W1", "b1", "W2", "b2"]  # networks without nesting: as before


def test_gradcheck_fails_a_nested_layer_with_a_wrong_backward(rng):
    net = _nested(_OffByOnePercent)
    result = bp.gradcheck(net, rng.normal(size=(7, 2)), rng.normal(size=(7, 1)))
    assert not result.passed
    failed = {p.name: p.max_rel_error for p in result.params if not p.passed}
    # the wrong layer (the nested network's second Dense) and everything before it
    assert list(failed) == ["W1", "b1", "W2.1", "b2.1", "W2.2", "b2.2"]
    assert min(failed.values()) > 1e-3
    assert all(p.passed for p in result.params if p.name in ("W3", "b3"))


def test_gradcheck_finds_the_kinks_of_a_nested_relu():
    inner = bp.Network([bp.Dense(1, 1, rng=0), bp.ReLU()])
    net = bp.Network([inner, bp.Dense(1, 1, rng=1)], loss="mse")
    W, b, _, _ = net.parameters()
    W[:] = 1.0
    b[:] = -2.0  # the nested ReLU's input is exactly at the kink for x = 2
    result = bp.gradcheck(net, np.array([[2.0], [3.0]]), np.array([1.0, 0.0]))
    assert [p.name for p in result.params] == ["W1.1", "b1.1", "W2", "b2"]
    assert result.passed
    assert sum(p.n_kinks for p in result.params) >= 1
