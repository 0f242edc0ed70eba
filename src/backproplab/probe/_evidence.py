"""What the recorded arrays say on their own: the output, the loss's name, unit health, the stop rule,
and the architecture a comparable network should have."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..monitor import SATURATION

__all__ = ["predictions", "loss_name", "task", "activation_stats", "stop_rule", "layer_sizes"]


def _output_index(probe: Any) -> int | None:
    y = probe.y
    if y is None:
        return None
    target = y.shape if y.ndim == 2 else (len(y), 1)
    for k in range(len(probe.activations) - 1, -1, -1):
        a = probe.activations[k]
        if a.shape == target or a.shape[::-1] == target or (y.ndim == 1 and a.shape == y.shape):
            return k
    return None


def predictions(probe: Any) -> tuple[np.ndarray | None, int | None]:
    """The network's output on X, oriented like y, when an activation has the shape of y."""
    k = _output_index(probe)
    if k is None:
        return None, None
    a = probe.activations[k]
    y = probe.y
    target = y.shape if y.ndim == 2 else (len(y), 1)
    out = a if a.shape == target else a.T
    return (out if y.ndim == 2 else out.reshape(-1)), k


def loss_name(loss: float, P: np.ndarray | None, y: np.ndarray | None) -> str | None:
    """Which usual loss of (P, y) the recorded loss value is: "sse", "half_sse", "mse", "half_mse", "mae", ..."""
    if P is None or y is None or not math.isfinite(loss) or P.shape != y.shape:
        return None
    e = P - y
    candidates = {"sse": float(np.sum(e**2)), "half_sse": 0.5 * float(np.sum(e**2)), "mse": float(np.mean(e**2)),
                  "half_mse": 0.5 * float(np.mean(e**2)), "mae": float(np.mean(np.abs(e))), "sae": float(np.sum(np.abs(e))),
                  "rmse": float(np.sqrt(np.mean(e**2)))}
    for name, value in candidates.items():
        if abs(value - loss) <= 1e-6 * max(abs(loss), 1e-12):
            return name
    return None


def loss_value(name: str, P: np.ndarray, y: np.ndarray) -> float:
    e = P - y
    return {"sse": lambda: np.sum(e**2), "half_sse": lambda: 0.5 * np.sum(e**2), "mse": lambda: np.mean(e**2),
            "half_mse": lambda: 0.5 * np.mean(e**2), "mae": lambda: np.mean(np.abs(e)), "sae": lambda: np.sum(np.abs(e)),
            "rmse": lambda: np.sqrt(np.mean(e**2))}[name]().item()


def task(y: np.ndarray | None) -> str | None:
    if y is None:
        return None
    integral = bool(np.all(y == np.round(y)))
    if y.ndim == 1 or y.shape[1] == 1:
        return "classification" if integral and len(np.unique(y)) <= 20 else "regression"
    one_hot = integral and set(np.unique(y)) <= {0.0, 1.0} and bool(np.all(y.sum(axis=1) == 1))
    return "classification" if one_hot else "regression"


def _kind(a: np.ndarray) -> str:
    low, high = float(a.min()), float(a.max())
    if low >= 0 and bool(np.any(a == 0)):
        return "relu"
    if low >= 0 and high <= 1:
        return "sigmoid"
    if low >= -1 and high <= 1:
        return "tanh"
    return "unknown"


def _units_by_samples(a: np.ndarray, n_samples: int | None) -> np.ndarray:
    """The activation as (samples, units), whatever the user's orientation."""
    if a.ndim == 1:
        return a[:, None]
    a = a.reshape(a.shape[0], -1)
    if n_samples is not None and a.shape[1] == n_samples and a.shape[0] != n_samples:
        return a.T
    if n_samples is not None and a.shape[0] == n_samples:
        return a
    return a if a.shape[0] >= a.shape[1] else a.T


def activation_stats(probe: Any, activations: list[np.ndarray], skip: int | None) -> list[dict[str, Any]]:
    """Per hidden activation: kind, dead and saturated fractions, mean; appended bias columns left out."""
    n_samples = len(probe.X) if probe.X is not None else None
    stats = []
    for k, a in enumerate(activations):
        if k == skip or a.size == 0:
            continue
        A = _units_by_samples(a, n_samples)
        bias = np.all(A == A[:1], axis=0) & (np.abs(A[0]) == 1)
        units = A[:, ~bias] if (~bias).any() else A
        kind = _kind(units)
        entry: dict[str, Any] = {"name": probe.activation_names[k], "kind": kind, "units": int(units.shape[1]),
                                 "samples": int(units.shape[0]), "mean": float(units.mean()),
                                 "bias_columns": int(bias.sum()), "dead_fraction": 0.0, "saturated_fraction": 0.0}
        if kind == "relu":
            entry["dead_fraction"] = float(np.mean(np.all(units == 0, axis=0)))
        if kind in SATURATION:
            low, high = SATURATION[kind]
            entry["saturated_fraction"] = float(np.mean((units < low) | (units > high)))
        stats.append(entry)
    return stats


def stop_rule(stats: dict[str, Any]) -> dict[str, Any] | None:
    """The user's stop rule when the last record is the first to cross a power of ten of a quantity."""
    grad = np.array(list(stats["grad_norms"].values()))
    if grad.size == 0 or grad.shape[1] < 2:
        return None
    series = {"sum of squared gradients": np.sum(grad**2, axis=0), "gradient norm": np.sqrt(np.sum(grad**2, axis=0)),
              "loss": stats["loss"]}
    for label, values in series.items():
        if not np.isfinite(values).all():
            continue
        for power in range(6, -13, -1):
            threshold = 10.0**power
            if values[-1] < threshold <= values[:-1].min():
                return {"quantity": label, "threshold": threshold, "values": values}
    return None


def layer_sizes(probe: Any) -> tuple[list[int], str]:
    """Layer widths of a comparable network, read from the recorded shapes (bias rows allowed)."""
    X, y = probe.X, probe.y
    width = X.shape[1]
    sizes = [width]
    for shape in (s for s in probe.layout.shapes if len(s) == 2):
        rows, cols = shape
        if rows in (width, width + 1):
            width = cols
        elif cols in (width, width + 1):
            width = rows
        else:
            break
        sizes.append(width)
    classes = len(np.unique(y)) if y is not None and task(y) == "classification" and (y.ndim == 1 or y.shape[1] == 1) else None
    outputs = {1, classes} if classes else {1 if y is None or y.ndim == 1 else y.shape[1]}
    if len(sizes) >= 2 and sizes[-1] in outputs:
        return sizes, "read from your recorded shapes"
    fallback = [X.shape[1], 16, max(outputs)]
    return fallback, f"the recorded shapes do not chain from X's {X.shape[1]} features to the outputs, so a " \
        f"{'-'.join(map(str, fallback))} net stands in"
