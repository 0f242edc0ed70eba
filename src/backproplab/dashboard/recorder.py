r"""What the dashboard keeps of a run: bounded buffers the training thread appends to.

The training thread only appends: one decimating loss series (O(1) per step, at most ``capacity``
points however long the run) and, every so often, a *frame* (a snapshot of every layer: weights,
gradients, updates, activations on a data sample, the decision surface). The server thread reads.
Nothing here imports the server stack, so the buffers cost nothing more than NumPy.

Sampling never follows the browser's frame rate: a frame is taken when the run has advanced by a
step count that the recorder re-estimates from the measured step rate, aiming at ``fps`` frames per
wall-clock second and at most ``budget`` (1%) of the run's time spent on frames.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..monitor import SATURATION

__all__ = ["Series", "Recorder", "forward_layers"]

#: Units and inputs drawn per layer in the network diagram; wider layers show their first units.
MAX_UNITS = 16
#: Rows of the data sample used for activations, predictions and the data panel.
SAMPLE_ROWS = 256
#: Resolution of the decision-surface grid (GRID x GRID points).
GRID = 36
HIST_BINS = 24


class Series:
    """A step-indexed series in at most ``capacity`` points: each point is the mean of ``stride``
    consecutive values; when the buffer fills, neighbouring points merge and the stride doubles.

    Memory is O(capacity) for any number of appends; an append is O(1) (amortised).
    """

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self.points: list[tuple[int, float]] = []
        self.stride = 1
        self.version = 0  # bumps on every compaction: readers re-read the whole series
        self._sum = 0.0
        self._count = 0

    def add(self, step: int, value: float) -> None:
        self._sum += value
        self._count += 1
        if self._count >= self.stride:
            self.points.append((step, self._sum / self._count))
            self._sum, self._count = 0.0, 0
            if len(self.points) >= self.capacity:
                self._compact()

    def extend(self, first_step: int, values: list[float]) -> None:
        """``add`` for consecutive steps ``first_step, first_step + 1, ...``."""
        add = self.add
        for offset, value in enumerate(values):
            add(first_step + offset, value)

    def _compact(self) -> None:
        p = self.points
        merged = [(p[i + 1][0], 0.5 * (p[i][1] + p[i + 1][1])) for i in range(0, len(p) - 1, 2)]
        if len(p) % 2:
            merged.append(p[-1])
        self.points = merged  # one assignment: a reader sees the old or the new list, never half of one
        self.stride *= 2
        self.version += 1

    def __len__(self) -> int:
        return len(self.points)


def _activate(name: str, Z: np.ndarray, slope: float = 0.01) -> np.ndarray:
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * Z))  # the logistic function without overflow warnings
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, slope * Z)
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    return Z


def forward_layers(layers: Sequence[dict[str, Any]], weights: Sequence[tuple[np.ndarray, np.ndarray]],
                   X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""``(Z, A)`` of every dense layer on ``X``, from copies of the weights (never the live network,
    whose buffers belong to the training thread).

    Forward: ``Z_l = A_{l-1} W_l + b_l``, ``A_l = f_l(Z_l)`` with ``f_l`` the layer's activation.
    """
    out = []
    A = X
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for layer, (W, b) in zip(layers, weights):
            Z = A @ W + b
            A = _activate(layer["activation"], Z, layer.get("slope", 0.01))
            out.append((Z, A))
    return out


def _histogram(values: np.ndarray) -> list[Any]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0, 0.0, [0] * HIST_BINS]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    # np.histogram's general machinery costs ~20x this on a few hundred values
    index = ((finite - lo) * (HIST_BINS / (hi - lo))).astype(np.intp)
    np.clip(index, 0, HIST_BINS - 1, out=index)
    return [lo, hi, np.bincount(index, minlength=HIST_BINS).tolist()]


def _norm(a: np.ndarray) -> float:
    return float(math.sqrt(float(np.vdot(a, a)))) if a.size else 0.0


class Recorder:
    """The bounded store behind one dashboard: a loss series, per-epoch series, frames and meta.

    Parameters
    ----------
    fps : float
        Frames aimed at per second of training (the browser redraws at its own pace).
    budget : float
        Largest fraction of the run's wall time spent taking frames.
    max_frames : int
        Frames kept; when full every second frame is dropped (oldest first stays), so a long run
        keeps an even sample of its whole history.
    every : int, optional
        Take a frame exactly every ``every`` steps instead of by time (replays, tests, benchmarks).
    """

    def __init__(self, fps: float = 10.0, budget: float = 0.01, max_frames: int = 240,
                 every: int | None = None, capacity: int = 2048) -> None:
        self.fps, self.budget, self.max_frames, self.every = fps, budget, max_frames, every
        self.loss = Series(capacity)
        self.epoch_series: dict[str, Series] = {}
        self.frames: list[dict[str, Any]] = []
        self.frame_seq = 0  # id of the next frame
        self.meta: dict[str, Any] = {}
        self.findings: list[dict[str, Any]] = []
        self.findings_version = 0
        self.status: dict[str, Any] = {"state": "idle", "step": 0}
        self.min_gap = 1
        self.run = 0  # bumps when the buffers start over (the playground's new network)
        self.reset_clock()

    def clear(self) -> None:
        """Start over (a new network in the playground); pages drop what they hold."""
        self.loss = Series(self.loss.capacity)
        self.epoch_series = {}
        self.frames = []
        self.findings = []
        self.findings_version += 1
        self.min_gap = 1
        self.run += 1
        self.reset_clock()

    def reset_clock(self) -> None:
        self._last_time = time.perf_counter()
        self._last_step = 0
        self._gap = 1

    # ------------------------------------------------------------------ writer side (training thread)
    def next_frame_step(self, step: int, cost: float) -> int:
        """The step at which to take the next frame, from the measured step rate and frame cost."""
        if self.every is not None:
            return step + max(self.every, self.min_gap)
        now = time.perf_counter()
        elapsed = now - self._last_time
        steps = max(step - self._last_step, 1)
        per_step = max(elapsed - cost, 1e-9) / steps
        interval = max(1.0 / self.fps, cost / self.budget)  # seconds between frames
        gap = max(int(interval / per_step), self.min_gap, 1)
        self._last_time, self._last_step = now, step
        return step + gap

    def add_frame(self, frame: dict[str, Any]) -> None:
        frame["seq"] = self.frame_seq
        self.frame_seq += 1
        frames = self.frames + [frame]
        if len(frames) > self.max_frames:
            frames = frames[:-1:2] + [frames[-1]]  # an even sample of the whole run, newest kept
            self.min_gap *= 2
        self.frames = frames

    def add_epoch_value(self, name: str, step: int, value: float) -> None:
        series = self.epoch_series.get(name)
        if series is None:
            series = self.epoch_series[name] = Series(self.loss.capacity)
        series.add(step, value)

    def set_findings(self, findings: list[dict[str, Any]]) -> None:
        self.findings = findings
        self.findings_version += 1

    # ------------------------------------------------------------------ reader side (server thread)
    def state(self) -> dict[str, Any]:
        """Everything, for a page that connects (or a replay file)."""
        return {
            "meta": self.meta,
            "series": self.series_payload(),
            "frames": [frame_payload(f) for f in list(self.frames)],
            "findings": self.findings,
            "status": dict(self.status),
        }

    def series_payload(self) -> dict[str, Any]:
        series = {"loss": _points(self.loss.points)}
        for name, s in list(self.epoch_series.items()):
            series[name] = _points(s.points)
        return series

    def nbytes(self) -> int:
        """An upper estimate of the memory the buffers hold (for the benchmark)."""
        total = 64 * (len(self.loss.points) + sum(len(s.points) for s in self.epoch_series.values()))
        for frame in self.frames:
            total += _frame_bytes(frame)
        return total


def _points(points: list[tuple[int, float]]) -> list[list[Any]]:
    steps = [p[0] for p in points]
    values = [v if math.isfinite(v) else None for _, v in points]
    return [steps, values]


def _frame_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, dict):
        return 232 + sum(_frame_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 56 + 8 * len(value) + sum(_frame_bytes(v) for v in value)
    return 32


def frame_payload(frame: dict[str, Any]) -> dict[str, Any]:
    """A frame as JSON-able lists, non-finite numbers as None; cached on the frame, which never
    changes once recorded. The decision surface travels as 8-bit codes over its range."""
    cached = frame.get("_payload")
    if cached is None:
        cached = {k: _grid_codes(v) if k == "grid" else _plain(v) for k, v in frame.items()}
        frame["_payload"] = cached
    return cached


def _grid_codes(grid: np.ndarray) -> dict[str, Any]:
    """``{"lo", "hi", "codes"}``: value = lo + code / 254 * (hi - lo); code 255 marks a non-finite value."""
    values = np.asarray(grid, dtype=float)
    finite = np.isfinite(values)
    lo = float(values[finite].min()) if finite.any() else 0.0
    hi = float(values[finite].max()) if finite.any() else 0.0
    scale = 254.0 / (hi - lo) if hi > lo else 0.0
    codes = np.where(finite, np.rint((np.where(finite, values, lo) - lo) * scale), 255).astype(np.uint8)
    return {"lo": lo, "hi": hi, "codes": codes.tolist()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        # 5 significant digits of the array's largest entry, in one vectorised rounding
        array = value.astype(float)
        finite = np.isfinite(array)
        if not array.size:
            return array.tolist()
        peak = float(np.abs(array[finite]).max()) if finite.any() else 0.0
        decimals = 4 - math.floor(math.log10(peak)) if peak > 0 else 0
        rounded = np.round(np.where(finite, array, 0.0), decimals)
        if finite.all():
            return rounded.tolist()
        return np.where(finite, rounded.astype(object), None).tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "_payload"}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def layer_frame(layer: dict[str, Any], W: np.ndarray, b: np.ndarray, gW: np.ndarray | None,
                previous: np.ndarray | None, delta: np.ndarray | None,
                Z: np.ndarray | None, A: np.ndarray | None) -> dict[str, Any]:
    r"""One layer's part of a frame.

    ``grad_norm`` = ||dL/dW||; ``weight_norm`` = ||W||; ``update_ratio`` = ||W_t - W_{t-1}|| / ||W_{t-1}||
    over the last step; ``mean_abs_delta`` = mean |dL/dZ| over the batch; per unit ``act_mean`` =
    mean of A over the sample, ``dead`` = A is 0 for every sample row (ReLU), ``saturated`` = the
    fraction of the sample where sigmoid/tanh is in its flat tails (derivative below ~1% of its peak).
    """
    rows, cols = min(W.shape[0], MAX_UNITS), min(W.shape[1], MAX_UNITS)
    out: dict[str, Any] = {
        "name": layer["name"],
        "weight_norm": _norm(W),
        "W": W[:rows, :cols].astype(np.float32),
        "b": b[:cols].astype(np.float32),
        "hist": {"weights": _histogram(W.ravel())},
    }
    if gW is not None:
        out["grad_norm"] = _norm(gW)
        out["gW"] = gW[:rows, :cols].astype(np.float32)
        out["hist"]["gradients"] = _histogram(gW.ravel())
    if previous is not None:
        change = W - previous
        base = _norm(previous)
        out["update_ratio"] = _norm(change) / base if base else math.nan
        out["dW"] = change[:rows, :cols].astype(np.float32)
    if delta is not None and delta.size:
        absolute = np.abs(delta)
        out["mean_abs_delta"] = float(absolute.mean())
        out["unit_delta"] = absolute.mean(axis=0)[:cols].astype(np.float32)
    if A is not None and Z is not None:
        out.update(_unit_health(layer["activation"], Z, A, cols))
    return out


def _unit_health(activation: str, Z: np.ndarray, A: np.ndarray, cols: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "act_mean": A.mean(axis=0)[:cols].astype(np.float32),
        "hist_acts": _histogram(A.ravel()),
        "z0": Z[0, :cols].astype(np.float32),
        "a0": A[0, :cols].astype(np.float32),
    }
    if activation == "relu":
        out["dead"] = (~np.any(A > 0, axis=0))[:cols].astype(np.int8)
        out["dead_fraction"] = float(np.mean(~np.any(A > 0, axis=0)))
    if activation in SATURATION:
        low, high = SATURATION[activation]
        tails = (A < low) | (A > high)
        out["saturated"] = tails.mean(axis=0)[:cols].astype(np.float32)
        out["saturated_fraction"] = float(tails.mean())
    return out
