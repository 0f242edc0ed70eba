"""Sentences for a recorded-gradient check: one per array, a headline, and the applied update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _format

__all__ = ["CheckReport", "array_message", "headline"]


def _wrong_direction_cause(check: Any) -> str:
    size = check.size_ratio
    if check.cause:
        return check.cause
    if size < 0.1:
        return (f"it is also far too small ({_format.ratio(size)} the true size): a factor applied twice (a division by "
                "the batch size more than once?), deltas averaged before they are multiplied, or a delta built from the "
                "next weights' update instead of the weights")
    transposed = check.next_square is not False
    if size > 1.3 and check.cosine > 0.3:
        return (f"it is {_format.ratio(size)} too large with a roughly right direction: the signature of a missing "
                "activation derivative (sigmoid' <= 1/4, tanh' <= 1, relu' = 0 on inactive units)"
                + ("; a transposed (square) weight in the backward step can look the same" if transposed else ""))
    if transposed:
        return ("the direction itself is wrong: the signature of a wrong matrix in the backward step (a transposed "
                "weight: the next weights are square, so W and W.T both fit; or another layer's weights) or of a wrong "
                "activation derivative")
    return ("the direction itself is wrong: the signature of a wrong activation derivative or the wrong array in "
            "the backward step (the next weights are not square, so a transposed weight would not even fit)")


def array_message(check: Any, later: list[Any]) -> str:
    """One sentence for one array's check; ``later`` are the arrays nearer the output."""
    c, v = check, check.verdict
    if v == "non-finite":
        return f"{c.name}: FAILED, non-finite: {c.message}"
    if v == "exact":
        return f"{c.name}: exact (relative error {_format.num(c.rel_error)} over {c.n_checked} entries)"
    if v == "right direction, wrong scale":
        return (f"{c.name}: right direction, wrong scale: your gradient is {_format.ratio(c.scale)} the gradient of the "
                f"loss you gave: {c.cause}")
    if v == "wrong for some entries only":
        worst = c.worst[0] if c.worst else None
        detail = (f"; worst {c.name}{worst['index']}: yours {_format.num(worst['recorded'])}, finite difference "
                  f"{_format.num(worst['finite_difference'])}") if worst else ""
        return f"{c.name}: FAILED, wrong for some entries only: {c.where}; the other entries match{detail}"
    if v == "wrong sign":
        exact = " (exactly the negative of the true gradient)" if abs(c.scale + 1) < 1e-3 else ""
        return (f"{c.name}: FAILED, wrong sign: cosine {_format.num(c.cosine)}, scale {_format.num(c.scale)}{exact}: your "
                "gradient points uphill, so the update climbs the loss")
    head = f"{c.name}: FAILED, {v}: cosine {_format.num(c.cosine)} with the true gradient, relative error {_format.num(c.rel_error)}"
    if c.cause.startswith("proved:"):
        return f"{head}, {_format.ratio(c.size_ratio)} its size; {c.cause}"
    if v in ("nearly right", "out of step"):
        return head + (f"; {c.cause}" if c.cause else "")
    sentence = f"{head}, {_format.ratio(c.size_ratio)} its size; {_wrong_direction_cause(c)}"
    if later and all(x.direction_ok for x in later):
        names = ", ".join(x.name for x in later)
        sentence += (f". {names} (nearer the output) pass, so the error enters in the backward step into {c.name}: the "
                     "delta sent back to it is wrong")
    return sentence


def _update_sentence(update: dict[str, Any] | None) -> str:
    if not update:
        return ""
    cos = np.array(list(update["cosine"].values()), dtype=float)
    lrs = np.array(list(update["lr"].values()), dtype=float)
    if not np.isfinite(cos).any():
        return ""
    if np.nanmin(cos) > 0.9999 and np.nanmax(lrs) <= 1.001 * np.nanmin(lrs):
        return f"the applied update is -lr x your recorded gradient with lr {_format.num(float(np.nanmedian(lrs)))}"
    if np.nanmax(cos) < -0.9999:
        return ("the applied update ADDS your gradient (W += lr x g): it climbs the loss; subtract it "
                f"(lr {_format.num(float(-np.nanmedian(lrs)))})")
    low = min(update["cosine"], key=lambda k: update["cosine"][k] if np.isfinite(update["cosine"][k]) else 2)
    return (f"the applied update is not -lr x your recorded gradient (cosine {_format.num(update['cosine'][low])} for "
            f"{low}): expected with momentum or Adam, a mistake with plain gradient descent")


@dataclass
class CheckReport:
    """The check of every recorded array at one step; ``str()`` gives the sentences."""

    step: int
    arrays: list[Any]
    loss: float
    timing: str = "as recorded"
    update: dict[str, Any] | None = None
    headline: str = ""
    notes: list[str] = field(default_factory=list)
    cause: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """Every array matches the gradient of the given loss exactly (scale 1)."""
        return all(a.passed for a in self.arrays)

    @property
    def common_scale(self) -> float | None:
        """The one factor every array shares with the true gradient, when all directions are exact."""
        if not all(a.direction_ok for a in self.arrays):
            return None
        scales = [1.0 if a.passed else a.scale for a in self.arrays]
        return scales[0] if max(scales) <= min(scales) * (1 + 1e-3) and min(scales) > 0 else None

    @property
    def passed_up_to_scale(self) -> bool:
        return self.common_scale is not None

    @property
    def params(self) -> list[Any]:
        return self.arrays

    @property
    def max_rel_error(self) -> float:
        return max((a.rel_error for a in self.arrays if np.isfinite(a.rel_error)), default=float("inf"))

    @property
    def failing(self) -> list[Any]:
        """Arrays that are wrong: those with a wrong direction; and, unless every array whose direction
        is right shares one scale, those off the scale of the others."""
        if self.common_scale is not None:
            return []
        right = [a for a in self.arrays if a.direction_ok]
        scales = [1.0 if a.passed else a.scale for a in right]
        if right and max(scales) <= min(scales) * (1 + 1e-3):
            return [a for a in self.arrays if not a.direction_ok]
        return [a for a in self.arrays if not a.passed]

    def get(self, name: str) -> Any:
        return next(a for a in self.arrays if a.name == name)

    def to_dict(self) -> dict[str, Any]:
        from .._validation import plain

        return plain({"step": self.step, "passed": self.passed, "passed_up_to_scale": self.passed_up_to_scale,
                      "common_scale": self.common_scale, "headline": self.headline, "timing": self.timing,
                      "update": self.update, "arrays": [{k: getattr(a, k) for k in (
                          "name", "shape", "verdict", "rel_error", "cosine", "scale", "size_ratio", "max_entry_error",
                          "n_checked", "n_kinks", "worst", "where", "cause", "message")} for a in self.arrays],
                      "cause": self.cause})

    def __str__(self) -> str:
        lines = [self.headline] + [f"  {a.message}" for a in self.arrays]
        update = _update_sentence(self.update)
        if update:
            lines.append(f"  update: {update}")
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def headline(report: CheckReport) -> str:
    """The one-sentence verdict of a check."""
    when = f"at step {report.step}"
    if report.timing == "before the update":
        when += " (your gradients belong to the weights before this step's update: record was called after it; checked there)"
    if report.passed:
        return (f"gradient check PASSED {when}: every array matches finite differences of your loss "
                f"(relative error at most {_format.num(report.max_rel_error)})")
    scale = report.common_scale
    if scale is not None:
        cause = next(a.cause for a in report.arrays if not a.passed)
        return (f"gradient check PASSED up to scale {when}: every array is exactly {_format.ratio(scale)} the gradient of "
                f"the loss you gave ({cause}); the direction is right, so this only rescales the learning rate")
    failing = [a for a in report.arrays if not a.direction_ok]
    parts = [f"{a.name} {a.verdict}" + (f" (cosine {_format.num(a.cosine)})" if np.isfinite(a.cosine) else "") for a in failing]
    scaled = [f"{a.name} right direction, wrong scale ({_format.ratio(a.scale)})" for a in report.arrays
              if a.direction_ok and not a.passed]
    passing = [f"{a.name} exact" for a in report.arrays if a.passed]
    parts += scaled
    text = f"gradient check FAILED {when}: " + "; ".join(parts) + (f"; {', '.join(passing)}" if passing else "")
    if report.cause:
        text += f". Cause (proved): {report.cause['sentence']}"
    update = report.update
    if update and all(np.isfinite(c) and c > 0.9999 for c in update["cosine"].values()):
        lr = float(np.nanmedian(list(update["lr"].values())))
        text += (f". Your loop applies exactly these arrays (W -= lr x g, lr {_format.num(lr)}), so the update it applies "
                 "is not the gradient of your loss")
    return text
