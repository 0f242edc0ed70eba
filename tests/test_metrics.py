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


def _weight_cases(n, seed):
    """Random weights of several kinds, and all-equal weights (which must give the unweighted values)."""
    rng = np.random.default_rng(seed)
    zeros = rng.uniform(0, 3, n)
    zeros[rng.random(n) < 0.3] = 0.0
    return {"uniform": rng.uniform(0.1, 5, n), "integers": rng.integers(1, 5, n).astype(float), "with zeros": zeros,
            "equal": np.full(n, 2.5)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_classification_report_matches_scikit_learn(seed):
    rng = np.random.default_rng(100 + seed)
    n, k = 150, 4
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    labels = list(range(k))
    for kind, w in _weight_cases(n, seed).items():
        report = metrics.classification_report(y_true, y_pred, ["a", "b", "c", "d"], sample_weight=w)
        np.testing.assert_allclose(report["confusion"], sk.confusion_matrix(y_true, y_pred, labels=labels,
                                                                             sample_weight=w), err_msg=kind)
        assert report["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred, sample_weight=w)), kind
        p, r, f, s = sk.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0, sample_weight=w)
        rows = [report["per_class"][label] for label in "abcd"]
        np.testing.assert_allclose([row["precision"] for row in rows], p, err_msg=kind)
        np.testing.assert_allclose([row["recall"] for row in rows], r, err_msg=kind)
        np.testing.assert_allclose([row["f1"] for row in rows], f, err_msg=kind)
        np.testing.assert_allclose([row["support"] for row in rows], s, err_msg=kind)
        for name in ("precision", "recall", "f1"):
            macro = getattr(sk, f"{name}_score")(y_true, y_pred, labels=labels, average="macro", zero_division=0,
                                                  sample_weight=w)
            assert report[name] == pytest.approx(macro), (kind, name)
        if kind == "equal":  # equal weights: the unweighted scores; the matrix and support scaled by the weight
            plain = metrics.classification_report(y_true, y_pred, ["a", "b", "c", "d"])
            for name in ("accuracy", "precision", "recall", "f1"):
                assert report[name] == pytest.approx(plain[name])
            np.testing.assert_allclose(np.array(report["confusion"]) / 2.5, plain["confusion"])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("outputs", [1, 3])
def test_weighted_regression_metrics_match_scikit_learn(seed, outputs):
    rng = np.random.default_rng(200 + seed)
    y = rng.normal(size=(80, outputs)) * rng.uniform(0.5, 10, outputs)
    p = y + rng.normal(scale=0.5, size=y.shape) + rng.normal(size=outputs)
    for kind, w in _weight_cases(80, seed).items():
        report = metrics.regression_report(y, p, sample_weight=w)
        assert report["mae"] == pytest.approx(sk.mean_absolute_error(y, p, sample_weight=w)), kind
        assert report["mse"] == pytest.approx(sk.mean_squared_error(y, p, sample_weight=w)), kind
        assert report["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, p, sample_weight=w))), kind
        if outputs == 1:  # several outputs: the root of the mean over all of them, not sklearn's mean of roots
            assert report["rmse"] == pytest.approx(sk.root_mean_squared_error(y, p, sample_weight=w)), kind
        assert report["r2"] == pytest.approx(sk.r2_score(y, p, sample_weight=w)), kind
        if kind == "equal":
            assert report == pytest.approx(metrics.regression_report(y, p))
        else:  # the weights change the numbers (a test of the weighting, not of a no-op)
            assert report["mae"] != pytest.approx(metrics.regression_report(y, p)["mae"], rel=1e-6), kind


def test_weighted_accuracy_of_probabilities_and_the_weights_checks(rng):
    y = rng.integers(0, 2, 60)
    scores = rng.random(60)
    w = rng.uniform(0, 2, 60)
    assert metrics.accuracy(y, scores, sample_weight=w) == pytest.approx(sk.accuracy_score(y, scores >= 0.5,
                                                                                          sample_weight=w))
    labels = rng.integers(0, 3, 60)
    probs = rng.random((60, 3))
    assert metrics.accuracy(np.eye(3)[labels], probs, sample_weight=w) == pytest.approx(
        sk.accuracy_score(labels, probs.argmax(1), sample_weight=w))
    assert metrics.sse(y, scores, sample_weight=w) == pytest.approx(np.dot(w, (y - scores) ** 2))
    for bad, message in ((np.ones(5), "sample_weight has 5 values but there are 60 rows"),
                         (-w, "sample_weight must be finite and non-negative"),
                         (np.zeros(60), "sample_weight is 0 in every row")):
        with pytest.raises(ValueError, match=message):
            metrics.mae(y, scores, sample_weight=bad)


def test_network_evaluate_weighs_the_loss_and_the_metrics(rng):
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40)
    w = rng.uniform(0, 3, 40)
    net = bp.Network.mlp([3, 5, 3], loss="cross_entropy", seed=0, l2=0.01)
    P = net.predict(X)
    rows = -np.log(P[np.arange(40), y])
    result = net.evaluate(X, y, ["loss", "accuracy"], sample_weight=w)
    l2 = net.loss(X, y) - rows.mean()
    assert result["loss"] == pytest.approx(np.dot(w, rows) / w.sum() + l2)
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(y, P.argmax(1), sample_weight=w))
    assert net.evaluate(X, y, ["loss"], sample_weight=np.ones(40))["loss"] == pytest.approx(net.loss(X, y))
