"""Gradient-flow monitoring during training: per-Dense-layer statistics every ``every`` steps.

Pass ``monitor=GradientFlow(every=k)`` to ``fit``; records go to ``History.monitor``. Nothing is
computed on the other steps; off, it costs nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _fastnp
from ._validation import check_int
from .activations import Activation
from .layers import Dense

__all__ = ["GradientFlow", "layer_stats", "SATURATION"]

#: An activation output counts as saturated when its derivative is below about 1% of its maximum:
#: sigmoid below 0.01 or above 0.99, tanh with |a| above 0.99.
SATURATION = {"sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99)}


def _following_activation(net: Any, dense: Dense) -> Activation | None:
    layers = net.layers
    index = next(i for i, layer in enumerate(layers) if layer is dense)
    if index + 1 < len(layers) and isinstance(layers[index + 1], Activation):
        activation = layers[index + 1]
        return activation if activation in net.body else None  # a fused output is not computed in training
    return None


def _norm(a: np.ndarray) -> float:
    """``||a||`` as one BLAS dot product: what ``np.linalg.norm`` computes, without its Python layers
    (a record is a dozen such calls)."""
    return math.sqrt(_fastnp.sum_product(a, a))


def _fraction(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size


def layer_stats(net: Any, previous: list[np.ndarray] | None = None) -> list[dict[str, Any]]:
    """Statistics of every Dense layer after the last forward/backward pass of ``net``.

    For each layer: ``grad_norm`` = ||dL/dW||, ``mean_abs_delta`` = mean |dL/dZ|, ``update_ratio`` =
    ||W_now - W_before|| / ||W_before|| (when ``previous`` weights are given), ``saturated`` = the
    fraction of the following sigmoid/tanh outputs in their flat tails (see :data:`SATURATION`),
    ``dead`` = the fraction of the following ReLU units that are zero for every sample of the batch.
    """
    stats = []
    params = net.parameter_objects()
    position = {id(p): i for i, p in enumerate(params)}
    for number, dense in enumerate(layer for layer in net.layers if isinstance(layer, Dense)):
        record: dict[str, Any] = {
            "layer": number + 1,
            "grad_norm": _norm(dense.W.grad),
            "mean_abs_delta": (_fastnp.total(np.abs(dense.delta)) / dense.delta.size
                               if dense.delta is not None else float("nan")),
        }
        if previous is not None:
            before = previous[position[id(dense.W)]]
            norm = _norm(before)
            record["update_ratio"] = _norm(np.subtract(dense.W.value, before)) / norm if norm else float("nan")
        activation = _following_activation(net, dense)
        if activation is not None and activation.A is not None:
            A = activation.A
            record["activation"] = activation.name
            if activation.name in SATURATION:
                low, high = SATURATION[activation.name]
                record["saturated"] = _fraction(np.logical_or(np.less(A, low), np.greater(A, high)))
            if activation.name == "relu":
                alive = np.logical_or.reduce(np.greater(A, 0), axis=0)
                record["dead"] = float(alive.size - np.count_nonzero(alive)) / alive.size
        stats.append(record)
    return stats


class GradientFlow:
    """Record :func:`layer_stats` every ``every`` steps (with the loss-free cost of a few norms)."""

    def __init__(self, every: int = 100) -> None:
        self.every = check_int("every", every, minimum=1)

    def record(self, step: int, net: Any, previous: list[np.ndarray], lr: float) -> dict[str, Any]:
        return {"step": step, "lr": lr, "layers": layer_stats(net, previous)}

    def __repr__(self) -> str:
        return f"GradientFlow(every={self.every})"
