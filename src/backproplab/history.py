"""What a training run reports: the History, the Callback hook protocol and the warnings.
(The stop rules it is told are in :mod:`backproplab.stops`.)"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ._io import atomic_write
from ._validation import plain

if TYPE_CHECKING:
    from .network import Network

__all__ = ["History", "Callback", "ConvergenceWarning", "DivergenceWarning", "overrides"]

class ConvergenceWarning(UserWarning):
    """A run hit its step or epoch limit before meeting its target."""


class DivergenceWarning(RuntimeWarning):
    """The loss or the gradients became non-finite; the last finite weights were restored."""


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
            atomic_write(path, text)
        return text

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per epoch: epoch, loss, val_loss, lr and each metric."""
        columns: dict[str, list[float]] = {"loss": self.loss, "val_loss": self.val_loss, "lr": self.lr}
        columns.update(self.metrics)
        names = [name for name, values in columns.items() if values]
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["epoch", *names])
        for epoch in range(self.n_epochs):
            writer.writerow([epoch + 1, *(_at(columns[name], epoch) for name in names)])
        atomic_write(path, text.getvalue())

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


class Callback:
    """Hooks called by ``fit``. Return True from any of them to stop training (reason "callback").

    ``on_step_end`` is only called when a callback overrides it, so an unused hook costs nothing.
    The stop rules (:mod:`backproplab.stops`), the monitor, checkpoints and the History's per-step
    records hang on the same four hooks inside ``fit``; ``stop_reason`` names what ended the run
    when a hook returns True.
    """

    stop_reason = "callback"

    def on_train_begin(self, net: Network, history: History) -> bool | None:
        return None

    def on_step_end(self, step: int, loss: float) -> bool | None:
        return None

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        return None

    def on_train_end(self, history: History) -> bool | None:
        return None


def overrides(callback: Any, hook: str) -> bool:
    """Whether ``callback``'s class defines its own ``hook`` (one of the four Callback methods)."""
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)
