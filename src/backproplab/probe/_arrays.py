"""How the probe reads a user's arrays: lists, dicts or an object's attributes, in any layout.

The probe never needs the architecture for its statistics: every array is flattened into one row of
a float64 buffer, and per-array statistics are segment sums over that row. The layout (names, shapes,
offsets) is fixed by the first recorded call and reported back to the user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Layout", "collect", "from_model", "GRAD_PREFIXES"]

#: attribute-name conventions that mark a gradient of the attribute without the affix
GRAD_PREFIXES = ("grad_", "d_", "d", "g_", "delta_")
GRAD_SUFFIXES = ("_grad", "grad", "_g")


@dataclass(frozen=True)
class Layout:
    """Names, shapes and flat offsets of a set of arrays, fixed at the first record.

    ``kind`` is "list" or "dict": it decides what :meth:`Probe.check_gradient` passes to ``loss_fn``.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    kind: str

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s)) for s in self.shapes)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)

    @property
    def total(self) -> int:
        return int(sum(self.sizes))

    def split(self, row: np.ndarray) -> list[np.ndarray]:
        """Views of a flat row as the user's arrays (copy them before handing them out)."""
        pieces, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            pieces.append(row[start : start + size].reshape(shape))
            start += size
        return pieces

    def pack(self, arrays: list[np.ndarray]) -> list[np.ndarray] | dict[str, np.ndarray]:
        """The arrays in the container kind the user recorded (what ``loss_fn`` receives)."""
        return dict(zip(self.names, arrays)) if self.kind == "dict" else list(arrays)

    def describe(self) -> str:
        return ", ".join(f"{n} {tuple(s)}" for n, s in zip(self.names, self.shapes))


def _as_array(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu" or array.size == 0:
        raise TypeError(f"{name} must be a non-empty numeric array, got {type(value).__name__} with dtype {array.dtype}")
    return array


def collect(argument: str, value: Any, prefix: str) -> tuple[list[np.ndarray], tuple[str, ...], str]:
    """Arrays, names and container kind of ``weights=``/``grads=``/``activations=``.

    A single array counts as a list of one; a dict keeps its keys (in order) as names; a list is
    named ``prefix[0]``, ``prefix[1]``, ...
    """
    if isinstance(value, np.ndarray):
        value = [value]
    if isinstance(value, Mapping):
        names = tuple(str(k) for k in value)
        return [_as_array(f"{argument}[{k!r}]", v) for k, v in value.items()], names, "dict"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if not value:
            raise ValueError(f"{argument} is empty; expected a list or dict of arrays")
        arrays = [_as_array(f"{argument}[{i}]", v) for i, v in enumerate(value)]
        return arrays, tuple(f"{prefix}[{i}]" for i in range(len(arrays))), "list"
    raise TypeError(f"{argument} must be a list or dict of arrays, got {type(value).__name__}")


def _gradient_target(name: str, candidates: Mapping[str, np.ndarray]) -> str | None:
    """The weight attribute ``name`` is the gradient of, by naming convention (dW1 -> W1)."""
    for prefix in GRAD_PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in candidates:
            return name[len(prefix) :]
    for suffix in GRAD_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in candidates:
            return name[: -len(suffix)]
    return None


def from_model(model: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Weights and gradients found among an object's array attributes, and what was left out.

    A weight is an attribute with a gradient beside it named by convention (``dW1``, ``grad_W1``,
    ``W1_grad``) and of the same shape. Nothing is paired by shape alone: the probe never guesses.
    """
    try:
        attributes = vars(model)
    except TypeError:
        raise TypeError(f"model must be an object with array attributes, got {type(model).__name__}") from None
    arrays = {k: v for k, v in attributes.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size}
    weights: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        target = _gradient_target(name, arrays)
        if target is not None and arrays[target].shape == array.shape:
            weights[target], grads[target] = arrays[target], array
    left_out = [f"{k} {v.shape}" for k, v in arrays.items() if k not in weights and not any(grads[w] is v for w in grads)]
    if not weights:
        found = ", ".join(f"{k} {v.shape}" for k, v in arrays.items()) or "no float arrays"
        raise ValueError(
            f"model {type(model).__name__}: found {found} but no weight with a gradient named by convention "
            "(dW/W, grad_W/W, W_grad/W); pass weights=[...] and grads=[...] explicitly"
        )
    order = [k for k in arrays if k in weights]
    return {k: weights[k] for k in order}, {k: grads[k] for k in order}, left_out
