"""What a training run is told and what it reports: stop rules, the History, callbacks and warnings."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ._validation import check_int, check_real, plain

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Stop", "History", "Callback", "ConvergenceWarning", "DivergenceWarning", "STOP_REASONS"]

STOP_REASONS = (
    "loss_below",
    "grad_norm_below",
    "max_steps",
    "max_epochs",
    "plateau",
    "early_stopping",
    "diverged",
    "interrupted",
    "time_limit",
    "callback",
)


class ConvergenceWarning(UserWarning):
    """A run hit its step or epoch limit before meeting its target."""


class DivergenceWarning(RuntimeWarning):
    """The loss or the gradients became non-finite; the last finite weights were restored."""


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
        return (
            self.loss_below is not None
            or self.grad_norm_below is not None
            or self.plateau
            or self.early_stopping
        )


@dataclass
class History:
    """What a run did. ``loss`` is each epoch's mean training loss over its rows (batch losses weighted
    by batch size, measured before each update). Per-epoch lists (``loss``, ``val_loss``, ``lr``, ``metrics``, ``epoch_time``: seconds
    from the start of training to the end of each epoch) have one entry per completed epoch."""

    stop_reason: str = ""
    n_steps: int = 0
    n_epochs: int = 0
    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    step_loss: list[float] | None = None
    window_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    monitor: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    wall_time: float = 0.0
    epoch_time: list[float] = field(default_factory=list)
    message: str = ""
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self), nonfinite_as_none=False)  # JSON keeps NaN (allow_nan)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=1, allow_nan=True)
        if path is not None:
            _atomic_write_text(path, text)
        return text

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per epoch: epoch, loss, val_loss, lr and each metric."""
        columns: dict[str, list[float]] = {"loss": self.loss, "val_loss": self.val_loss, "lr": self.lr}
        columns.update(self.metrics)
        names = [name for name, values in columns.items() if values]
        tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *names])
            for epoch in range(self.n_epochs):
                writer.writerow([epoch + 1, *(_at(columns[name], epoch) for name in names)])
        os.replace(tmp, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown or "stop_reason" not in data:
            raise ValueError(f"not a backproplab History: unexpected keys {sorted(unknown)[:5]}")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> History:
        with open(path) as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"{os.fspath(path)} is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{os.fspath(path)} is not a backproplab History (expected a JSON object)")
        return cls.from_dict(data)


def _at(values: list[float], index: int) -> float | str:
    return values[index] if index < len(values) else ""


def _atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class Callback:
    """Hooks called by ``fit``. Return True from any of them to stop training (reason "callback").

    ``on_step_end`` is only called when a callback overrides it, so an unused hook costs nothing.
    """

    def on_train_begin(self, net: Network, history: History) -> bool | None:
        return None

    def on_step_end(self, step: int, loss: float) -> bool | None:
        return None

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        return None

    def on_train_end(self, history: History) -> bool | None:
        return None


def _overrides(callback: Any, hook: str) -> bool:
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)
