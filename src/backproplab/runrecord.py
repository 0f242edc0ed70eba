"""What any run leaves behind for the diagnosis: a ``RunRecord``.

The diagnosis rules read a RunRecord, never a layer's private state, so that the same rules serve a
backproplab :class:`~backproplab.network.Network` (with its History and gradient-flow records) and a
:class:`~backproplab.probe.Probe` fed from a user's own hand-written loop.

Arrays are named in order from the input side to the output side. Per-record series share one time
axis, ``steps``; a value that was not recorded at some step is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RunRecord"]


@dataclass
class RunRecord:
    """Evidence from one run, independent of who trained it.

    Attributes
    ----------
    steps : ndarray of shape (n_records,)
        Step index of each record.
    loss : ndarray of shape (n_records,)
        Training loss at each recorded step (NaN where unknown).
    grad_norms : dict of str -> ndarray of shape (n_records,)
        Euclidean norm of each array's gradient (the gradient the run *applied*), input side first.
    update_ratios : dict of str -> ndarray of shape (n_records,)
        ``||W_t - W_prev|| / ||W_prev||`` between consecutive records, NaN where unknown.
    weight_norms : dict of str -> ndarray of shape (n_records,)
        Euclidean norm of each array.
    shapes : dict of str -> tuple of int
        Shape of each recorded array, as the user laid it out.
    activation_stats : list of dict
        Per hidden layer, at the last record: ``name``, ``dead_fraction``, ``saturated_fraction``,
        ``mean``, ``kind`` ("relu", "sigmoid", "tanh" or "unknown").
    stop_criterion : ndarray of shape (n_records,) or None
        The quantity the user's own stop rule tests, when known (e.g. the sum of squared gradients).
    val_loss : ndarray of shape (n_records,) or None
    X, y : ndarray or None
        Training inputs and targets, when given: they enable the baseline and the controls.
    predictions : ndarray or None
        The run's predictions on ``X`` at the last record, when known.
    loss_name : str or None
        "mse", "sse", "half_sse", "mae", "bce", "cross_entropy", ... when known.
    task : str or None
        "classification" or "regression", when known.
    gradient_check : object or None
        The result of a gradient check of this run (it explains everything downstream when it fails).
    config : dict
        Anything known about how the run was set up. The diagnosis reads these keys when present:
        ``lr`` (float), ``optimizer`` ("sgd", "adam", ...), ``init`` (initialiser name), ``hidden`` and
        ``output`` (activation names), ``l2`` (float), ``batch_size``, ``n_steps`` (steps run),
        ``stop_reason`` (see ``History.stop_reason``; unknown means "the loop ended by its budget"),
        ``stop`` (dict of the stop rule's settings), ``early_stopping_restored`` (bool).
    source : str
        "network" or "probe".
    weights : dict of str -> ndarray
        The arrays at the last record, input side first (enables the symmetric-units check). Optional.
    at_init : dict or None
        Evidence measured at step 0 when the series do not start there: ``grad_norms`` (dict name ->
        float), ``loss`` (float), ``activation_stats`` (list of dict, as above) and ``source`` (a
        short label, e.g. "re-initialised copy (same architecture and init, seed 0)"). The diagnosis
        reports it as "at initialisation", next to the last record as "now".
    update_ratio_steps : int or None
        How many steps each ``update_ratios`` value spans: 1 when it was measured across a single
        update (backproplab's monitor); None means the gap between consecutive records.
    """

    steps: np.ndarray
    loss: np.ndarray
    grad_norms: dict[str, np.ndarray] = field(default_factory=dict)
    update_ratios: dict[str, np.ndarray] = field(default_factory=dict)
    weight_norms: dict[str, np.ndarray] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    activation_stats: list[dict[str, Any]] = field(default_factory=list)
    stop_criterion: np.ndarray | None = None
    val_loss: np.ndarray | None = None
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    predictions: np.ndarray | None = None
    loss_name: str | None = None
    task: str | None = None
    gradient_check: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    source: str = "network"
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    at_init: dict[str, Any] | None = None
    update_ratio_steps: int | None = None
