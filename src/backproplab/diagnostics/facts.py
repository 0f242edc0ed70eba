r"""What every rule needs to know about a run, computed once from its :class:`RunRecord`.

Losses are evaluated on *predictions* (probabilities for "bce" and "cross_entropy"), so the same
formulas serve a backproplab network and anyone's own loop:

======================  ===========================================================================
loss name               value on predictions ``P`` for targets ``Y`` (n rows, k columns)
======================  ===========================================================================
mse                     ``mean((P - Y)**2)``
sse / half_sse          ``sum((P - Y)**2)`` / half of it
mae                     ``mean(|P - Y|)``
bce                     ``mean(-Y log P - (1 - Y) log(1 - P))``
cross_entropy           ``-(1/n) sum_i sum_k Y_ik log P_ik`` (Y one-hot; class indices are converted)
======================  ===========================================================================

The baseline is the same loss for the best constant prediction: the column mean (squared errors),
the median (absolute errors) or the class prior (cross-entropies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..runrecord import RunRecord
from .findings import GOOD_FIT

KNOWN_LOSSES = ("mse", "sse", "half_sse", "mae", "bce", "cross_entropy")
CLASSIFICATION_LOSSES = ("bce", "cross_entropy")
SATURATING = ("sigmoid", "tanh")


def as_targets(y: np.ndarray, loss_name: str | None, width: int | None = None) -> np.ndarray:
    """Targets as a 2-D float array; class indices become one-hot for cross-entropy."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if loss_name == "cross_entropy" and y.shape[1] == 1:
        labels = y.ravel().astype(np.intp)
        k = max(int(labels.max()) + 1 if labels.size else 1, width or 0, 2)
        onehot = np.zeros((labels.size, k))
        onehot[np.arange(labels.size), labels] = 1.0
        return onehot
    return y


def loss_value(loss_name: str, predictions: np.ndarray, Y: np.ndarray) -> float:
    """The loss ``loss_name`` of ``predictions`` against 2-D targets ``Y`` (see the module table)."""
    P = np.asarray(predictions, dtype=np.float64).reshape(Y.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if loss_name in ("mse", "sse", "half_sse"):
            squared = (P - Y) ** 2
            if loss_name == "mse":
                return float(np.mean(squared))
            return float(np.sum(squared)) * (1.0 if loss_name == "sse" else 0.5)
        if loss_name == "mae":
            return float(np.mean(np.abs(P - Y)))
        P = np.clip(P, 1e-12, 1 - 1e-12)
        if loss_name == "bce":
            return float(np.mean(-(Y * np.log(P) + (1 - Y) * np.log(1 - P))))
        if loss_name == "cross_entropy":
            return float(-np.mean(np.sum(Y * np.log(P), axis=1)))
    raise ValueError(f"unknown loss {loss_name!r}; expected one of: {', '.join(KNOWN_LOSSES)}")


def constant_prediction(loss_name: str, Y: np.ndarray) -> np.ndarray:
    """The best constant prediction for ``loss_name``, one row."""
    if loss_name == "mae":
        return np.median(Y, axis=0)
    return Y.mean(axis=0)


def baseline_of(loss_name: str, Y: np.ndarray) -> float:
    """The loss of the best constant prediction (mean, median or class prior)."""
    constant = np.broadcast_to(constant_prediction(loss_name, Y), Y.shape)
    return loss_value(loss_name, constant, Y)


@dataclass
class Facts:
    """Derived once from a record; read by every rule."""

    record: RunRecord
    loss_name: str | None
    task: str | None
    Y: np.ndarray | None
    baseline: float | None
    final_loss: float | None
    start_loss: float | None
    weight_names: list[str]
    hidden: list[str]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def fit_ratio(self) -> float | None:
        if self.baseline is None or self.final_loss is None or self.baseline <= 0:
            return None
        return self.final_loss / self.baseline

    @property
    def good_fit(self) -> bool:
        """The run reached a loss at most ``GOOD_FIT`` of the baseline's: whatever else is off, it learned."""
        ratio = self.fit_ratio
        return ratio is not None and math.isfinite(ratio) and ratio <= GOOD_FIT

    @property
    def fits_like_control(self) -> bool:
        """A good fit, or a training loss within ``CONTROL_MATCH`` (10%) of what the control network reaches
        on its training rows: the run learned what this data allows (e.g. diabetes, where half the
        variance is noise)."""
        from .findings import CONTROL_MATCH

        control = self.config.get("_control") or {}
        reach = control.get("real_train")
        return self.good_fit or (reach is not None and self.final_loss is not None and math.isfinite(self.final_loss)
                                 and self.final_loss <= (1 + CONTROL_MATCH) * reach)

    @property
    def deep_saturating(self) -> bool:
        from .findings import DEEP_LAYERS

        return len(self.hidden) >= DEEP_LAYERS and any(h in SATURATING for h in self.hidden)

    @property
    def n_classes(self) -> int | None:
        if self.task != "classification" or self.Y is None:
            return None
        return 2 if self.Y.shape[1] == 1 else self.Y.shape[1]


def finite(series: np.ndarray | None) -> np.ndarray:
    if series is None:
        return np.empty(0)
    values = np.asarray(series, dtype=np.float64)
    return values[np.isfinite(values)]


def _final_loss(record: RunRecord, loss_name: str | None, Y: np.ndarray | None) -> float | None:
    if record.predictions is not None and Y is not None and loss_name in KNOWN_LOSSES:
        try:
            return loss_value(loss_name, record.predictions, Y)
        except ValueError:
            pass
    losses = finite(record.loss)
    if not losses.size:
        return None
    tail = max(1, losses.size // 20)  # per-step batch losses are noisy: the mean of the last 5%
    return float(losses[-tail:].mean())


def infer_task(record: RunRecord, Y: np.ndarray | None) -> str | None:
    if record.task:
        return record.task
    if record.loss_name in CLASSIFICATION_LOSSES:
        return "classification"
    if record.loss_name in ("mse", "sse", "half_sse", "mae"):
        return "regression"
    return None


def weight_names(record: RunRecord) -> list[str]:
    """The weight matrices (2-D arrays), input side first; every array when shapes are unknown."""
    names = list(record.grad_norms) or list(record.shapes) or list(record.weights)
    if record.shapes:
        two_d = [n for n in names if len(record.shapes.get(n, ())) == 2]
        return two_d or names
    if record.weights:
        return [n for n in names if np.ndim(record.weights.get(n, 0)) == 2] or names
    return names


def build_facts(record: RunRecord) -> Facts:
    loss_name = record.loss_name
    Y = None
    if record.y is not None:
        width = None if record.predictions is None else np.asarray(record.predictions).reshape(len(record.y), -1).shape[1]
        Y = as_targets(record.y, loss_name, width)
    task = infer_task(record, Y)
    baseline = baseline_of(loss_name, Y) if Y is not None and loss_name in KNOWN_LOSSES else None
    losses = finite(record.loss)
    start = None
    if record.at_init and record.at_init.get("loss") is not None:
        start = float(record.at_init["loss"])
    elif losses.size:
        start = float(losses[0])
    hidden = record.config.get("hidden")
    hidden_list = [str(h) for h in hidden] if isinstance(hidden, list | tuple) else []
    if not hidden_list:
        kinds = [s.get("kind", "unknown") for s in record.activation_stats]
        hidden_list = kinds if kinds else ([str(hidden)] * max(len(weight_names(record)) - 1, 0) if hidden else [])
    return Facts(record, loss_name, task, Y, baseline, _final_loss(record, loss_name, Y), start,
                 weight_names(record), hidden_list, dict(record.config))
