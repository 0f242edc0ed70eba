"""Names for what a wrong gradient looks like: a scale factor's likely cause, where bad entries sit."""

from __future__ import annotations

import numpy as np

from .. import _format

__all__ = ["scale_cause", "locate_entries", "sample_counts"]


def sample_counts(X: np.ndarray | None, activations: list[np.ndarray], y: np.ndarray | None) -> list[int]:
    """Plausible numbers of samples a gradient may sum over: the rows of X and the longest axis of each
    recorded activation (a batch smaller than X)."""
    counts = []
    if X is not None:
        counts.append(len(X))
    counts += [max(a.shape) for a in activations if a.ndim == 2]
    return sorted({c for c in counts if c > 1})


def scale_cause(scale: float, samples: list[int], outputs: int) -> str:
    """Why a gradient is exactly ``scale`` times the gradient of the given loss, when a convention explains it."""
    factors: list[tuple[float, str]] = [
        (2.0, "an extra factor 2: your gradient is that of the sum of squares, the loss you gave is half of it"),
        (0.5, "a missing factor 2: your gradient is that of half the sum of squares (1/2 sum e^2), the loss you gave is "
              "the full sum (d e^2/de = 2e)"),
    ]
    for n in samples:
        factors += [
            (float(n), f"you differentiate a sum over {n} samples, not the mean (scale {n}x the mean)"),
            (1.0 / n, f"your gradient is a mean over {n} samples while the loss you gave sums them"),
            (2.0 * n, f"a sum over {n} samples and an extra factor 2 (the sum of squares where the loss is half the mean)"),
            (n / 2.0, f"a sum over {n} samples of half the squared error, where the loss you gave is the mean square"),
            (1.0 / (2 * n), f"a mean over {n} samples of half the squared error, where the loss you gave is the sum of squares"),
            (2.0 / n, f"a mean over {n} samples with the factor 2, where the loss you gave is half the sum of squares"),
        ]
        if outputs > 1:
            factors += [
                (float(n * outputs), f"a sum over all {n} x {outputs} outputs, not their mean"),
                (2.0 * n * outputs, f"the sum of squares over all {n} x {outputs} outputs, where the loss is half their mean"),
                (1.0 / (n * outputs), f"a mean over all {n} x {outputs} outputs while the loss you gave sums them"),
            ]
    if outputs > 1:
        factors += [(float(outputs), f"a sum over the {outputs} outputs where the loss you gave averages them"),
                    (1.0 / outputs, f"a mean over the {outputs} outputs where the loss you gave sums them")]
    for factor, cause in factors:
        if abs(scale / factor - 1.0) < 2e-3:
            return cause
    if scale < 0:
        return "the sign is flipped as well"
    return f"no usual convention (sum vs mean, 1/2 of the square) explains {_format.ratio(scale)}"


def locate_entries(bad: np.ndarray, shape: tuple[int, ...], bias_axes: dict[int, bool]) -> str:
    """Where the wrong entries of an array sit: one row, one column (the bias one?), or scattered.

    ``bad`` is a boolean mask of ``shape`` (False where not checked or correct); ``bias_axes[axis]`` says
    whether the last index along that axis is where an appended bias input's weights sit.
    """
    where = np.argwhere(bad)
    if len(where) == 0:
        return "no entry"
    if len(shape) == 1:
        if len(where) == 1:
            return f"entry {int(where[0, 0])}"
        return f"entries {', '.join(str(int(i)) for i in where[:6, 0])}"
    for axis, label in ((1, "column"), (0, "row")):
        values = np.unique(where[:, axis])
        if len(values) == 1 and len(where) > 1:
            index = int(values[0])
            last = index == shape[axis] - 1
            if last and bias_axes.get(axis, False):
                return f"the bias {label} ({label} {index}, the last: the weights of the appended bias input)"
            unit = " (one unit)" if axis == 1 else " (one input)"
            return f"{label} {index}{unit if len(shape) == 2 else ''}"
    if len(where) == 1:
        return f"entry {tuple(int(i) for i in where[0])}"
    return "scattered entries " + ", ".join(str(tuple(int(i) for i in w)) for w in where[:6])
