import numpy as np
import pytest
from sklearn import metrics as sk

import backproplab as bp
from backproplab import metrics


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


def test_classification_report_matches_scikit_learn(rng):
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    y_pred[y_pred == 3] = 2  # class 3 is never predicted: its precision is 0, as zero_division=0
    report = metrics.classification_report(y_true, y_pred, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(report["confusion"], confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2, 3], zero_division=0)
    for k, label in enumerate("abcd"):
        row = report["per_class"][label]
        assert row["precision"] == pytest.approx(p[k]) and row["recall"] == pytest.approx(r[k])
        assert row["f1"] == pytest.approx(f[k]) and row["support"] == s[k]
    assert report["per_class"]["d"]["precision"] == 0.0
    assert report["f1"] == pytest.approx(f.mean()) and report["precision"] == pytest.approx(p.mean())
    assert report["accuracy"] == pytest.approx((y_true == y_pred).mean())


def test_regression_report_and_rmse(rng):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y = rng.normal(size=(50, 2))
    p = y + rng.normal(scale=0.3, size=(50, 2))
    report = metrics.regression_report(y, p)
    assert report["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)))
    assert report["mae"] == pytest.approx(mean_absolute_error(y, p)) and report["r2"] == pytest.approx(r2_score(y, p))
    assert metrics.get("rmse") is metrics.rmse
