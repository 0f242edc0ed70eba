"""Evaluation metrics, each ``metric(y_true, y_pred, sample_weight=None) -> float`` on arrays of shape
``(n_samples, n_outputs)`` (1-D arrays are treated as one column).

``sample_weight`` (n_samples,) weighs each row as scikit-learn's ``sample_weight`` does: a mean over rows
becomes ``sum_i w_i x_i / sum_i w_i``, a count becomes a sum of weights (the confusion matrix, the
support), and R^2 uses the weighted mean of the target. Integer weights equal repeated rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import choose

__all__ = ["mae", "mse", "rmse", "sse", "accuracy", "r2", "confusion_matrix", "classification_report",
           "regression_report", "METRICS", "get"]

Metric = Callable[..., float]


def _columns(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    return y_true, y_pred


def _weights(sample_weight: Any, n: int) -> np.ndarray | None:
    """Row weights as float64 of shape (n,), or None; refused when negative, not finite or all zero."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=float).reshape(-1)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight has {weights.size} values but there are {n} rows")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if weights.sum() <= 0:
        raise ValueError("sample_weight is 0 in every row: the weighted metrics are undefined")
    return weights


def _row_mean(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The mean over rows of each column, weighted by ``weights`` when given."""
    return values.mean(axis=0) if weights is None else weights @ values / weights.sum()


def mae(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Mean absolute error over all elements (rows weighted by ``sample_weight``)."""
    y_true, y_pred = _columns(y_true, y_pred)
    return float(_row_mean(np.abs(y_pred - y_true), _weights(sample_weight, len(y_true))).mean())


def mse(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Mean squared error over all elements (rows weighted by ``sample_weight``)."""
    y_true, y_pred = _columns(y_true, y_pred)
    return float(_row_mean((y_pred - y_true) ** 2, _weights(sample_weight, len(y_true))).mean())


def sse(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Sum of squared errors (the question's metric); each row's times its weight."""
    y_true, y_pred = _columns(y_true, y_pred)
    weights = _weights(sample_weight, len(y_true))
    squares = ((y_pred - y_true) ** 2).sum(axis=1)
    return float(squares.sum() if weights is None else weights @ squares)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Fraction of correct labels (of the total weight): argmax per row for several columns, a 0.5
    threshold for one."""
    y_true, y_pred = _columns(y_true, y_pred)
    if y_true.shape[1] == 1:
        correct = (y_pred >= 0.5) == (y_true >= 0.5)
    else:
        correct = (y_pred.argmax(axis=1) == y_true.argmax(axis=1))[:, None]
    return float(_row_mean(correct.astype(float), _weights(sample_weight, len(y_true)))[0])


def r2(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Coefficient of determination, averaged uniformly over outputs (as scikit-learn); with
    ``sample_weight`` both sums of squares are weighted and the target's mean is its weighted mean."""
    y_true, y_pred = _columns(y_true, y_pred)
    weights = _weights(sample_weight, len(y_true))
    column = 1.0 if weights is None else weights[:, None]
    residual = (column * (y_true - y_pred) ** 2).sum(axis=0)
    total = (column * (y_true - _row_mean(y_true, weights)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual > 0, 0.0, 1.0))
    return float(scores.mean())


METRICS: dict[str, Metric] = {
    f.__name__: f for f in (mae, mse, sse, accuracy, r2)
}


def get(name: str) -> Metric:
    return METRICS[choose("metric", name, METRICS)]


def rmse(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
    """Root mean squared error over all elements (the root of :func:`mse`, rows weighted the same way)."""
    return float(np.sqrt(mse(y_true, y_pred, sample_weight)))


METRICS["rmse"] = rmse


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, sample_weight: Any = None) -> np.ndarray:
    """``C[i, j]`` = number of rows of true class ``i`` predicted as class ``j`` (class indices 0..k-1);
    with ``sample_weight``, the sum of those rows' weights (a float array)."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    weights = _weights(sample_weight, y_true.size)
    cells = np.bincount(y_true * n_classes + y_pred, weights=weights, minlength=n_classes * n_classes)
    return cells.reshape(n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # 0 where the denominator is 0, as scikit-learn's zero_division=0
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: list[Any],
                          sample_weight: Any = None) -> dict[str, Any]:
    """Accuracy, the confusion matrix, per-class precision/recall/F1/support and their macro averages.

    ``y_true``/``y_pred`` are class indices into ``classes``. Precision of class k is
    ``C[k, k] / sum_i C[i, k]``, recall ``C[k, k] / sum_j C[k, j]``, F1 their harmonic mean; a class never
    predicted (or absent) scores 0 there, as scikit-learn's ``zero_division=0``. Macro averages are the
    unweighted means over classes (scikit-learn's ``average="macro"``). With ``sample_weight`` the
    confusion matrix and the support are sums of weights, as scikit-learn's ``sample_weight``.
    """
    C = confusion_matrix(y_true, y_pred, len(classes), sample_weight)
    correct = np.diag(C).astype(float)
    precision = _ratio(correct, C.sum(axis=0))
    recall = _ratio(correct, C.sum(axis=1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    count = int if sample_weight is None else float
    return {
        "accuracy": float(correct.sum() / C.sum()) if C.sum() > 0 else 0.0,
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "confusion": C.tolist(),
        "classes": list(classes),
        "per_class": {str(label): {"precision": float(p), "recall": float(r), "f1": float(f), "support": count(s)}
                      for label, p, r, f, s in zip(classes, precision, recall, f1, C.sum(axis=1))},
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> dict[str, float]:
    """MAE, MSE, RMSE and R^2 (averaged uniformly over outputs), rows weighted by ``sample_weight``."""
    return {"mae": mae(y_true, y_pred, sample_weight), "rmse": rmse(y_true, y_pred, sample_weight),
            "r2": r2(y_true, y_pred, sample_weight), "mse": mse(y_true, y_pred, sample_weight)}
