"""Evaluation metrics, each ``metric(y_true, y_pred) -> float`` on arrays of shape
``(n_samples, n_outputs)`` (1-D arrays are treated as one column)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validation import choose

__all__ = ["mae", "mse", "sse", "accuracy", "r2", "METRICS", "get"]


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
