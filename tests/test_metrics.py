import numpy as np
import pytest
from sklearn import metrics as sk

import backproplab as bp


@pytest.fixture
def regression(rng):
    y = rng.normal(size=(50, 2))
    return y, y + rng.normal(scale=0.3, size=y.shape)


def test_regression_metrics_match_scikit_learn(regression):
    y, p = regression
    assert bp.metrics.mae(y, p) == pytest.approx(sk.mean_absolute_error(y, p))
    assert bp.metrics.mse(y, p) == pytest.approx(sk.mean_squared_error(y, p))
    assert bp.metrics.sse(y, p) == pytest.approx(((y - p) ** 2).sum())
    assert bp.metrics.r2(y, p) == pytest.approx(sk.r2_score(y, p))


def test_accuracy_for_binary_probabilities_and_one_hot(rng):
    y = rng.integers(0, 2, size=40)
    p = rng.random(40)
    assert bp.metrics.accuracy(y, p) == pytest.approx(sk.accuracy_score(y, p >= 0.5))
    labels = rng.integers(0, 3, size=40)
    probs = rng.random((40, 3))
    assert bp.metrics.accuracy(np.eye(3)[labels], probs) == pytest.approx(sk.accuracy_score(labels, probs.argmax(1)))


def test_r2_of_a_constant_target_and_shape_errors():
    assert bp.metrics.r2([1, 1, 1], [1, 1, 1]) == 1.0
    assert bp.metrics.r2([1, 1, 1], [1, 2, 1]) == 0.0
    with pytest.raises(ValueError, match=r"y_true has shape \(3, 1\) but y_pred has shape \(2, 1\)"):
        bp.metrics.mae([1, 2, 3], [1, 2])
