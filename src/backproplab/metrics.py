"""Evaluation metrics, each ``metric(y_true, y_pred) -> float`` on arrays of shape
``(n_samples, n_outputs)`` (1-D arrays are treated as one column)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import choose

__all__ = ["mae", "mse", "rmse", "sse", "accuracy", "r2", "confusion_matrix", "classification_report",
           "regression_report", "METRICS", "get"]


def _columns(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    return y_true, y_pred


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error over all elements."""
    y_true, y_pred = _columns(y_true, y_pred)
    return float(np.abs(y_pred - y_true).mean())


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error over all elements."""
    y_true, y_pred = _columns(y_true, y_pred)
    return float(((y_pred - y_true) ** 2).mean())


def sse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Sum of squared errors (the question's metric)."""
    y_true, y_pred = _columns(y_true, y_pred)
    return float(((y_pred - y_true) ** 2).sum())


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct labels: argmax per row for several columns, a 0.5 threshold for one."""
    y_true, y_pred = _columns(y_true, y_pred)
    if y_true.shape[1] == 1:
        return float(((y_pred >= 0.5) == (y_true >= 0.5)).mean())
    return float((y_pred.argmax(axis=1) == y_true.argmax(axis=1)).mean())


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, averaged uniformly over outputs (as scikit-learn)."""
    y_true, y_pred = _columns(y_true, y_pred)
    residual = ((y_true - y_pred) ** 2).sum(axis=0)
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual > 0, 0.0, 1.0))
    return float(scores.mean())


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    f.__name__: f for f in (mae, mse, sse, accuracy, r2)
}


def get(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    return METRICS[choose("metric", name, METRICS)]


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error over all elements."""
    return float(np.sqrt(mse(y_true, y_pred)))


METRICS["rmse"] = rmse


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of rows of true class ``i`` predicted as class ``j`` (class indices 0..k-1)."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # 0 where the denominator is 0, as scikit-learn's zero_division=0
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """Accuracy, the confusion matrix, per-class precision/recall/F1/support and their macro averages.

    ``y_true``/``y_pred`` are class indices into ``classes``. Precision of class k is
    ``C[k, k] / sum_i C[i, k]``, recall ``C[k, k] / sum_j C[k, j]``, F1 their harmonic mean; a class never
    predicted (or absent) scores 0 there, as scikit-learn's ``zero_division=0``. Macro averages are the
    unweighted means over classes (scikit-learn's ``average="macro"``).
    """
    C = confusion_matrix(y_true, y_pred, len(classes))
    correct = np.diag(C).astype(float)
    precision = _ratio(correct, C.sum(axis=0))
    recall = _ratio(correct, C.sum(axis=1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {
        "accuracy": float(correct.sum() / max(C.sum(), 1)),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "confusion": C.tolist(),
        "classes": list(classes),
        "per_class": {str(label): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for label, p, r, f, s in zip(classes, precision, recall, f1, C.sum(axis=1))},
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, MSE, RMSE and R^2 (averaged uniformly over outputs)."""
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "r2": r2(y_true, y_pred),
            "mse": mse(y_true, y_pred)}
