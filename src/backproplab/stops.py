r"""Stop rules: one small object per rule, built from a :class:`Stop` by :func:`build`.

Every rule speaks the hook protocol of :class:`~backproplab.history.Callback` (a hook returning True
ends training) and names itself in ``stop_reason``, which becomes ``History.stop_reason``. A rule
that runs every step overrides ``on_step_end``; one that runs at the end of each epoch overrides
``on_epoch_end``. ``late = True`` places a rule after the user's callbacks (so that a callback
stopping on the same step or epoch wins), otherwise it runs before them.

Adding a rule is one edit of this file: a field of :class:`Stop` (with its check in
``__post_init__``), a class here, and a line in :func:`goal_rules` that creates it from the field.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._fastnp import vdot
from ._validation import check_int, check_real
from .history import Callback, History

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Stop", "StopRule", "MaxSteps", "MaxEpochs", "LossBelow", "GradNormBelow", "Plateau", "EarlyStopping",
           "TimeLimit", "build", "STOP_REASONS"]


@dataclass
class Stop:
    """Stop rules; the first that holds ends training and names itself in ``History.stop_reason``.

    Parameters
    ----------
    loss_below : float, optional
        Stop when the mean training loss over a block of ``window`` steps is below this value,
        checked every ``window`` steps (the blog's rule: ``window=1000``, ``loss_below=0.01``).
    window : int, default 1
    grad_norm_below : float, optional
        Stop when the Euclidean norm of the full gradient (all parameters, current batch; the whole
        training set under full-batch training) is below this value (the question's rule is on its
        square). Checked before the update, so the returned weights have that small gradient.
    plateau : bool
        Stop when the epoch training loss has not improved by more than ``tol`` for ``patience`` epochs.
    early_stopping : bool
        Stop when the validation loss has not improved by more than ``tol`` for ``patience`` epochs.
        The weights of the best validation epoch are restored whichever rule ends the run. Without
        ``validation=`` in fit, 10% of the training data is held out.
    patience : int, default 10
    tol : float, default 1e-4
    time_limit : float, optional
        Seconds of wall time.
    """

    loss_below: float | None = None
    window: int = 1
    grad_norm_below: float | None = None
    plateau: bool = False
    early_stopping: bool = False
    patience: int = 10
    tol: float = 1e-4
    time_limit: float | None = None

    def __post_init__(self) -> None:
        check_real("Stop.loss_below", self.loss_below, minimum=0.0, strict=True, allow_none=True)
        check_int("Stop.window", self.window, minimum=1)
        check_real("Stop.grad_norm_below", self.grad_norm_below, minimum=0.0, strict=True, allow_none=True)
        check_int("Stop.patience", self.patience, minimum=1)
        check_real("Stop.tol", self.tol, minimum=0.0)
        check_real("Stop.time_limit", self.time_limit, minimum=0.0, strict=True, allow_none=True)
        if self.window > 1 and self.loss_below is None:
            raise ValueError(f"Stop.window={self.window} only applies to loss_below, which is not set")

    @property
    def has_target(self) -> bool:
        """Whether a goal is set (not only budgets): a budget reached first then warns."""
        return any(rule.is_target for rule in goal_rules(self, validation=self.early_stopping))


class StopRule(Callback):
    """Base class of the stop rules.

    Attributes
    ----------
    stop_reason : str
        What ``History.stop_reason`` says when this rule ends the run.
    is_target : bool
        A goal rather than a budget: reaching a budget first warns that the goal was not met.
    late : bool
        Checked after the user's callbacks rather than before them.
    step_limit : int or None
        A step budget the training loop checks itself (no call per step).
    counts_steps : bool
        A goal checked per step: without budgets, the run gets a step budget instead of 200 epochs.
    """

    stop_reason = ""
    is_target = False
    late = False
    counts_steps = False
    step_limit: int | None = None

    def start(self, net: Network, history: History, validation: bool) -> None:
        """Called once before training, after the data are split (``validation``: a set is held out)."""
        self.history = history

    def before_update(self, step: int) -> bool:
        """Called before each update with the gradient of the batch in place (only when overridden)."""
        return False

    def shortfall(self, history: History) -> str:
        """For a goal not met: how far from it the run ended (a phrase of the warning)."""
        return ""


class MaxSteps(StopRule):
    """Stop after ``steps`` updates (checked by the loop itself: ``step_limit``)."""

    stop_reason = "max_steps"

    def __init__(self, steps: int) -> None:
        self.step_limit = steps


class MaxEpochs(StopRule):
    """Stop after ``epochs`` complete epochs."""

    stop_reason = "max_epochs"
    late = True

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        return epoch >= self.epochs


class LossBelow(StopRule):
    """Stop when the mean training loss over a block of ``window`` steps is below ``level``; every
    block's mean goes to ``History.window_loss``."""

    stop_reason = "loss_below"
    is_target = counts_steps = True

    def __init__(self, level: float, window: int) -> None:
        self.level, self.window = level, window
        self.total, self.count = 0.0, 0

    def on_step_end(self, step: int, loss: float) -> bool:
        self.total += loss
        self.count += 1
        if self.count < self.window:
            return False
        mean = self.total / self.count
        self.history.window_loss.append(mean)
        self.total, self.count = 0.0, 0
        return mean < self.level

    def shortfall(self, history: History) -> str:
        last = history.window_loss[-1] if history.window_loss else (history.loss[-1] if history.loss else math.nan)
        return f"loss {last:.4g} is {last / self.level:.3g}x the target loss_below={self.level:g}"


class GradNormBelow(StopRule):
    """Stop when the Euclidean norm of the full gradient is below ``level``, before the update (so the
    returned weights have that small gradient); the last norm of each epoch goes to ``History.grad_norm``."""

    stop_reason = "grad_norm_below"
    is_target = counts_steps = True

    def __init__(self, level: float) -> None:
        self.level = level
        self.last = math.nan

    def start(self, net: Network, history: History, validation: bool) -> None:
        super().start(net, history, validation)
        flat = net.flat
        self.grads = [flat.grad] if flat is not None else [p.grad for p in net.parameter_objects()]

    def before_update(self, step: int) -> bool:
        self.last = math.sqrt(sum(float(vdot(g, g)) for g in self.grads))
        if self.last < self.level:
            self.history.grad_norm.append(self.last)
            return True
        return False

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        history.grad_norm.append(self.last)
        return False

    def shortfall(self, history: History) -> str:
        return (f"gradient norm {self.last:.4g} is {self.last / self.level:.3g}x the target "
                f"grad_norm_below={self.level:g}")


class Plateau(StopRule):
    """Stop when the epoch training loss has not improved by more than ``tol`` for ``patience`` epochs."""

    stop_reason = "plateau"
    is_target = True

    def __init__(self, patience: int, tol: float) -> None:
        self.patience, self.tol = patience, tol
        self.best, self.bad_epochs = math.inf, 0

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        loss = history.loss[-1]
        if loss < self.best - self.tol:
            self.best, self.bad_epochs = loss, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def shortfall(self, history: History) -> str:
        return "the loss was still improving"


class EarlyStopping(StopRule):
    """Track the best validation epoch (``History.best_epoch``); with ``stops=True``, stop when the
    validation loss has not improved by more than ``tol`` for ``patience`` epochs, and restore the
    best epoch's weights at the end whichever rule stopped the run."""

    stop_reason = "early_stopping"

    def __init__(self, patience: int, tol: float, stops: bool) -> None:
        self.patience, self.tol, self.stops = patience, tol, stops
        self.is_target = stops
        self.best, self.bad_epochs = math.inf, 0
        self.best_weights: list[np.ndarray] | None = None

    def start(self, net: Network, history: History, validation: bool) -> None:
        super().start(net, history, validation)
        self.net = net

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        val = history.val_loss[-1]
        if val < self.best - self.tol:
            self.best, self.bad_epochs = val, 0
            if self.stops:
                self.best_weights = self.net.get_weights()
            history.best_epoch = epoch
            return False
        self.bad_epochs += 1
        return self.stops and self.bad_epochs >= self.patience

    def on_train_end(self, history: History) -> None:
        if self.best_weights is None:
            return
        self.net.set_weights(self.best_weights)
        history.message = (history.message + " " if history.message else "") + (
            f"restored the weights of epoch {history.best_epoch} (best validation loss {self.best:.6g})"
        )

    def shortfall(self, history: History) -> str:
        return "the loss was still improving"


class TimeLimit(StopRule):
    """Stop after ``seconds`` of wall time."""

    stop_reason = "time_limit"
    late = counts_steps = True

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def start(self, net: Network, history: History, validation: bool) -> None:
        super().start(net, history, validation)
        self.started = time.perf_counter()

    def on_step_end(self, step: int, loss: float) -> bool:
        return time.perf_counter() - self.started > self.seconds


def goal_rules(stop: Stop, validation: bool) -> list[StopRule]:
    """The rules ``stop`` asks for, in the order they are checked; ``validation``: a validation set
    is held out (the best validation epoch is then tracked, and restored with early stopping)."""
    rules: list[StopRule] = []
    if stop.loss_below is not None:
        rules.append(LossBelow(stop.loss_below, stop.window))
    if stop.grad_norm_below is not None:
        rules.append(GradNormBelow(stop.grad_norm_below))
    if validation:
        rules.append(EarlyStopping(stop.patience, stop.tol, stops=stop.early_stopping))
    if stop.plateau:
        rules.append(Plateau(stop.patience, stop.tol))
    if stop.time_limit is not None:
        rules.append(TimeLimit(stop.time_limit))
    return rules


def default_limits(stop: Stop, max_epochs: int | None, max_steps: int | None) -> tuple[int | None, int | None]:
    """(max_epochs, max_steps), defaulted when neither is given: 200 epochs, or 1,000,000 steps when
    a rule checked per step (a loss, gradient or time target) is set."""
    if max_epochs is None and max_steps is None:
        if any(rule.counts_steps for rule in goal_rules(stop, validation=False)):
            return None, 1_000_000
        return 200, None
    return max_epochs, max_steps


def build(stop: Stop, max_epochs: int | None, max_steps: int | None, validation: bool) -> list[StopRule]:
    """Every rule of a run: the step budget, the goals of ``stop``, the epoch budget."""
    rules = goal_rules(stop, validation)
    if max_steps is not None:
        rules.insert(0, MaxSteps(max_steps))
    if max_epochs is not None:
        rules.append(MaxEpochs(max_epochs))
    return rules


def not_converged_message(reason: str, rules: list[StopRule], limit: str) -> str:
    """The warning when a budget (``limit``, e.g. "max_steps=100") ended a run before its goals."""
    parts: list[str] = []
    for rule in rules:
        part = rule.shortfall(rule.history) if rule.is_target else ""
        if part and part not in parts:
            parts.append(part)
    return f"did not converge within {limit}: " + "; ".join(parts)


#: every stop_reason a run can end with
STOP_REASONS = (*(cls.stop_reason for cls in StopRule.__subclasses__()), "diverged", "interrupted", "callback")
