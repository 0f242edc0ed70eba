r"""``Probe``: a few lines in a user's own training loop record what the diagnosis and the proof need.

Per recorded step the probe copies the weights and gradients into one row of a float64 chunk buffer
(one ``np.concatenate(..., out=row)`` each) and nothing else. Statistics are computed per chunk, all
rows at once:

    weight_norm[k] = ||W_k||,   grad_norm[k] = ||G_k||,   update_ratio[k] = ||W_k(t) - W_k(t-1)|| / ||W_k(t-1)||

where ``W_k(t-1)`` is the weights at the *call before* the recorded one (copied on that call when
``every > 1``), so the ratio is one step's update whatever ``every`` is. After a chunk is summarised
its rows are dropped except the last few (for :meth:`Probe.check_gradient`) and a thinned set for the
replay; statistics are kept (thinned 2:1 beyond ``max_records`` records), so memory stays bounded.
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from typing import Any

import numpy as np

from .. import _format
from ._arrays import Layout, collect, from_model

__all__ = ["Probe", "Snapshot"]


class Snapshot:
    """Full float64 copies of one recorded step: weights, gradients and the weights one call earlier."""

    __slots__ = ("step", "weights", "grads", "previous")

    def __init__(self, step: int, weights: np.ndarray, grads: np.ndarray, previous: np.ndarray | None) -> None:
        self.step, self.weights, self.grads, self.previous = step, weights, grads, previous


_SCALARS = (float, int, np.float64, np.float32)


def _scalar(loss: Any) -> float:
    """The loss as one float (a 0-d or one-element array is accepted)."""
    array = np.asarray(loss, dtype=np.float64)
    if array.size != 1:
        raise ValueError(f"loss must be one number, got an array of shape {array.shape}")
    return float(array.reshape(-1)[0])


def _segment_norms(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.sqrt(np.add.reduceat(rows * rows, offsets, axis=1))


def _row_stats(W: np.ndarray, G: np.ndarray, prev: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weight norms, gradient norms and update ratios of ``(n_rows, n_values)`` buffers, per array."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        weight = _segment_norms(W, offsets)
        grad = _segment_norms(G, offsets)
        before = _segment_norms(prev, offsets)
        ratio = _segment_norms(W - prev, offsets) / before
    return weight, grad, ratio


class Probe:
    r"""Record a hand-written training loop; then prove its gradient right or wrong and diagnose it.

    Parameters
    ----------
    every : int
        Record every ``every``-th call of :meth:`record` (the first call is always recorded).
    sink : object, optional
        Anything with ``on_probe_record(step, stats)`` (e.g. ``bp.Dashboard()``), called on every
        recorded step with ``loss``, ``grad_norms``, ``weight_norms``, ``update_ratios`` (dicts name ->
        float) and, on replay-snapshot steps, ``weights`` (dict name -> ndarray copy).
    keep_snapshots : int
        Full copies kept of the last recorded steps, for :meth:`check_gradient`.
    replay_snapshots : int
        At most this many weight snapshots kept for a replay, evenly spread over the run.
    max_records : int
        Statistics rows kept before older ones are thinned 2:1.

    Examples
    --------
    >>> import numpy as np, backproplab as bp
    >>> probe = bp.Probe()
    >>> W = np.ones((2, 1)); X = np.array([[1.0, 2.0]]); y = np.array([[1.0]])
    >>> for step in range(3):
    ...     error = X @ W - y
    ...     grad = X.T @ error
    ...     probe.record(step, loss=0.5 * float(np.sum(error**2)), weights=[W], grads=[grad], X=X, y=y)
    ...     W -= 0.1 * grad
    >>> probe.n_records
    3
    """

    CHUNK = 256

    def __init__(self, every: int = 1, sink: Any = None, *, keep_snapshots: int = 3, replay_snapshots: int = 64,
                 max_records: int = 200_000) -> None:
        for name, value, minimum in (("every", every, 1), ("keep_snapshots", keep_snapshots, 2),
                                     ("replay_snapshots", replay_snapshots, 2), ("max_records", max_records, 16)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if sink is not None and not callable(getattr(sink, "on_probe_record", None)):
            raise TypeError(f"sink must have an on_probe_record(step, stats) method, got {type(sink).__name__}")
        self.every, self.sink = int(every), sink
        self.keep_snapshots, self.replay_snapshots, self.max_records = int(keep_snapshots), int(replay_snapshots), int(max_records)
        self.layout: Layout | None = None
        self.has_grads = False
        self.model_report: str | None = None
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.activation_names: tuple[str, ...] = ()
        self._activations: list[np.ndarray] = []
        self._activation_source: Any = None
        self.first_activations: list[np.ndarray] = []
        self.gradient_check: Any = None
        self.notes: list[str] = []
        self.saved_check: dict[str, Any] | None = None
        self._grad_layout: Layout | None = None
        self._calls = 0
        self._records = 0
        self._n = 0
        self._prev_call = -2
        self._stats: dict[str, list[np.ndarray]] = {"steps": [], "loss": [], "weight": [], "grad": [], "ratio": []}
        self._stat_stride = 1
        self._snapshots: deque[Snapshot] = deque(maxlen=self.keep_snapshots)
        self._replay: list[tuple[np.ndarray, np.ndarray]] = []
        self._replay_stride = 1
        self._last_row: np.ndarray | None = None

    # ------------------------------------------------------------------ recording
    def record(self, step: int, loss: Any = None, weights: Any = None, grads: Any = None, activations: Any = None,
               X: Any = None, y: Any = None, model: Any = None) -> None:
        """Record one step of the user's loop (cheap: see the module notes).

        Parameters
        ----------
        step : int
            The user's step counter.
        loss : float, optional
            The training loss of this step, in the user's own units.
        weights : list or dict of ndarray, or a single ndarray
            The arrays being trained, in any layout (a bias column appended, ``(out, in)`` or ``(in, out)``).
        grads : same container as ``weights``
            The gradient the loop applies, one per weight array with the same shape.
        activations : list or dict of ndarray, optional
            Hidden activations in any orientation; an array shaped like ``y`` (or its transpose) is
            taken as the network's output (its predictions).
        X, y : ndarray, optional
            The training data (once is enough): they enable the baseline and the controls.
        model : object, optional
            Instead of ``weights``/``grads``: an object whose attributes hold the weights and their
            gradients named by convention (``W1``/``dW1``, ``W``/``grad_W``).
        """
        call = self._calls
        self._calls = call + 1
        if call % self.every:
            if (call + 1) % self.every == 0 and self.layout is not None:
                # the next call records: keep the weights it starts from, for a one-step update ratio
                source = weights if weights.__class__ is list else self._weights_of(weights, model)
                np.concatenate(source, axis=None, out=self._P[self._n])
                self._prev_call = call
            if X is not None and self.X is None:
                self._set_data(X, y)
            return
        if self.layout is None:
            self._start(weights, grads, model)
        if X is not None and self.X is None:
            self._set_data(X, y)
        row = self._n
        if weights.__class__ is not list:
            weights = list(self._weights_of(weights, model))
        if self.has_grads:  # one copy into one row: weights then gradients
            np.concatenate(weights + (grads if grads.__class__ is list else list(self._grads_of(grads, model))),
                           axis=None, out=self._B[row])
        else:
            np.concatenate(weights, axis=None, out=self._W[row])
        if self.every > 1 and self._prev_call != call - 1:
            self._P[row] = np.nan
        self._steps[row] = step
        self._loss[row] = math.nan if loss is None else loss if loss.__class__ in _SCALARS else _scalar(loss)
        if activations is not None:
            self._activation_source = activations  # read (and copied) only when needed
            if not self.first_activations:
                self._keep_activations(activations)
                self.first_activations = [a.copy() for a in self._activations]
        self._n = row + 1
        self._records += 1
        if self.sink is not None:
            self._emit(row)
        if self._n == self.CHUNK:
            self._flush()

    def _weights_of(self, weights: Any, model: Any) -> Any:
        if model is not None:
            return [getattr(model, name) for name in self._model_names]
        if isinstance(weights, dict):
            return list(weights.values())
        return [weights] if isinstance(weights, np.ndarray) else weights

    def _grads_of(self, grads: Any, model: Any) -> Any:
        if model is not None and grads is None:
            return [getattr(model, name) for name in self._model_grad_names]
        return list(grads.values()) if isinstance(grads, dict) else [grads] if isinstance(grads, np.ndarray) else grads

    def _start(self, weights: Any, grads: Any, model: Any) -> None:
        """First recorded call: fix the layout, allocate the chunk buffers, check gradients match."""
        if model is not None:
            found_w, found_g, left_out = from_model(model)
            self._model_names = list(found_w)
            self._model_grad_names = [self._grad_attribute(model, found_g[n]) for n in found_w]
            weights = found_w
            grads = found_g if grads is None else grads
            self.model_report = (
                f"model {type(model).__name__}: weights " + ", ".join(f"{n} {found_w[n].shape} (gradient {g})"
                for n, g in zip(found_w, self._model_grad_names))
                + (f"; left out (no gradient named by convention): {', '.join(left_out)}" if left_out else "")
            )
        if weights is None:
            raise ValueError("record needs weights=[...] (or model=obj): the arrays being trained")
        w_arrays, names, kind = collect("weights", weights, "W")
        self.layout = Layout(names, tuple(a.shape for a in w_arrays), kind)
        if grads is not None:
            g_arrays, _, _ = collect("grads", grads, "G")
            if len(g_arrays) != len(w_arrays):
                raise ValueError(f"grads has {len(g_arrays)} arrays for {len(w_arrays)} weights; give one gradient per weight array")
            for name, w, g in zip(names, w_arrays, g_arrays):
                if g.shape != w.shape:
                    try:
                        if g.size != w.size:
                            np.broadcast_to(g, w.shape)
                    except ValueError:
                        raise ValueError(f"the gradient of {name} has shape {g.shape}, the weights {w.shape}; they must "
                                         "match (or broadcast, as in W -= lr * g)") from None
                    self.notes.append(f"the gradient of {name} {g.shape} is read as the weights' shape {w.shape}" + (
                        "" if g.size == w.size else ", broadcast as numpy does in W -= lr * g"))
            self.has_grads = True
            self._grad_layout = Layout(names, tuple(g.shape for g in g_arrays), kind)
        self._allocate()

    def _allocate(self) -> None:
        assert self.layout is not None
        total = self.layout.total
        grads = self._grad_layout if self._grad_layout is not None else self.layout
        self._B = np.full((self.CHUNK, total + grads.total), np.nan)
        self._W, self._G = self._B[:, :total], self._B[:, total:]
        self._goffsets = grads.offsets
        # a broadcast gradient stands for every entry it is broadcast to: its norm counts each that often
        self._grad_repeat = np.sqrt(np.array(self.layout.sizes, dtype=float) / np.array(grads.sizes, dtype=float))
        self._P = np.full((self.CHUNK, total), np.nan) if self.every > 1 else self._W
        self._steps = np.zeros(self.CHUNK, dtype=np.int64)
        self._loss = np.full(self.CHUNK, np.nan)
        self._offsets = self.layout.offsets

    @staticmethod
    def _grad_attribute(model: Any, grad: np.ndarray) -> str:
        return next(k for k, v in vars(model).items() if v is grad)

    def _set_data(self, X: Any, y: Any) -> None:
        self.X = np.array(X, dtype=np.float64, copy=True)
        if self.X.ndim == 1:
            self.X = self.X[:, None]
        if y is not None:
            self.y = np.array(y, dtype=np.float64, copy=True)
            rows = self.y.shape[0] if self.y.ndim else 0
            if self.X.shape[0] != rows and self.y.ndim == 2 and self.X.shape[1] == self.y.shape[1]:
                self.X, self.y = self.X.T.copy(), self.y.T.copy()  # column-vector convention: samples are columns
                self.notes.append(f"X and y hold samples as columns; read as X {self.X.shape}, y {self.y.shape}")
            elif self.X.shape[0] != rows and self.X.shape[1] == rows:
                self.X = self.X.T.copy()
                self.notes.append(f"X holds samples as columns; read as X {self.X.shape}")

    def _keep_activations(self, activations: Any) -> None:
        arrays, names, _ = collect("activations", activations, "A")
        self.activation_names = names
        self._activations = [np.array(a, dtype=np.float64) for a in arrays]
        self._activation_source = None

    @property
    def activations(self) -> list[np.ndarray]:
        """Float64 copies of the activations of the last recorded step that passed any."""
        if self._activation_source is not None:
            self._keep_activations(self._activation_source)
        return self._activations

    @activations.setter
    def activations(self, arrays: list[np.ndarray]) -> None:
        self._activations, self._activation_source = list(arrays), None

    # ------------------------------------------------------------------ statistics
    def _previous_rows(self, n: int) -> np.ndarray:
        if self.every > 1:
            return self._P[:n]
        first = self._last_row if self._last_row is not None else np.full(self._W.shape[1], np.nan)
        return np.vstack([first[None], self._W[: n - 1]])

    def _emit(self, row: int) -> None:
        assert self.layout is not None
        prev = self._previous_rows(row + 1)[row : row + 1]
        weight, grad, ratio = self._row_stats(self._W[row : row + 1], self._G[row : row + 1], prev)
        names = self.layout.names
        stats: dict[str, Any] = {
            "loss": float(self._loss[row]),
            "grad_norms": dict(zip(names, grad[0].tolist())),
            "weight_norms": dict(zip(names, weight[0].tolist())),
            "update_ratios": dict(zip(names, ratio[0].tolist())),
        }
        if (self._records - 1) % self._replay_stride == 0:
            stats["weights"] = {n: a.copy() for n, a in zip(names, self.layout.split(self._W[row]))}
        self.sink.on_probe_record(int(self._steps[row]), stats)

    def _pending_stats(self) -> dict[str, np.ndarray]:
        n = self._n
        if self.layout is None or n == 0:
            return {}
        weight, grad, ratio = self._row_stats(self._W[:n], self._G[:n], self._previous_rows(n))
        return {"steps": self._steps[:n].copy(), "loss": self._loss[:n].copy(), "weight": weight, "grad": grad, "ratio": ratio}

    def _flush(self) -> None:
        """Summarise the chunk, keep the snapshots check_gradient and the replay use, reuse the buffers."""
        n = self._n
        for key, value in self._pending_stats().items():
            self._stats[key].append(value)
        first_index = self._records - n
        prev = self._previous_rows(n)
        for row in range(max(0, n - self.keep_snapshots), n):
            self._snapshots.append(self._snapshot(row, prev[row]))
        rows = np.arange(n)
        chosen = rows[(first_index + rows) % self._replay_stride == 0]
        if chosen.size:
            self._replay.append((self._steps[chosen].copy(), self._W[chosen].copy()))
        if sum(len(steps) for steps, _ in self._replay) > self.replay_snapshots:
            steps, kept = np.concatenate([a for a, _ in self._replay]), np.concatenate([b for _, b in self._replay])
            while len(steps) > self.replay_snapshots:
                steps, kept = steps[::2], kept[::2]
                self._replay_stride *= 2
            self._replay = [(steps, kept)]
        self._last_row = self._W[n - 1].copy()
        self._n = 0
        if sum(len(s) for s in self._stats["steps"]) > self.max_records:
            for key, parts in self._stats.items():
                self._stats[key] = [np.concatenate(parts)[::2]]
            self._stat_stride *= 2

    def _snapshot(self, row: int, prev: np.ndarray) -> Snapshot:
        previous = None if np.isnan(prev).all() else prev.copy()
        return Snapshot(int(self._steps[row]), self._W[row].copy(), self._expand(self._G[row]), previous)

    def _row_stats(self, W: np.ndarray, G: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, ...]:
        weight, _, ratio = _row_stats(W, W, prev, self._offsets)
        with np.errstate(invalid="ignore", over="ignore"):
            grad = _segment_norms(G, self._goffsets) * self._grad_repeat
        return weight, grad, ratio

    def _expand(self, row: np.ndarray) -> np.ndarray:
        """A gradient row in the weights' layout (broadcast gradients expanded), as a new array."""
        layout = self.layout
        assert layout is not None
        if self._grad_layout is None or self._grad_layout.shapes == layout.shapes:
            return row.copy()
        pieces = [np.broadcast_to(g, shape) if g.size != int(np.prod(shape)) else g.reshape(shape)
                  for g, shape in zip(self._grad_layout.split(row), layout.shapes)]
        return np.concatenate(pieces, axis=None)

    def snapshots(self) -> list[Snapshot]:
        """The full snapshots kept for :meth:`check_gradient`, oldest first."""
        kept = list(self._snapshots)
        if self._n:
            prev = self._previous_rows(self._n)
            kept += [self._snapshot(row, prev[row]) for row in range(max(0, self._n - self.keep_snapshots), self._n)]
        return kept[-self.keep_snapshots :]

    def _replay_rows(self) -> list[tuple[int, np.ndarray]]:
        rows = [(int(step), row) for steps, block in self._replay for step, row in zip(steps, block)]
        if self._n:
            first_index = self._records - self._n
            rows += [(int(self._steps[r]), self._W[r].copy()) for r in range(self._n)
                     if (first_index + r) % self._replay_stride == 0]
        while len(rows) > self.replay_snapshots:
            rows = rows[::2]
        return rows

    def replay(self) -> list[tuple[int, dict[str, np.ndarray]]]:
        """Weight snapshots spread over the run (at most ``replay_snapshots``), as (step, {name: array})."""
        if self.layout is None:
            return []
        layout = self.layout
        return [(step, {n: a.copy() for n, a in zip(layout.names, layout.split(row))}) for step, row in self._replay_rows()]

    def _restore(self, layout: Layout, header: dict[str, Any], arrays: dict[str, np.ndarray], snapshot: Any) -> None:
        """Fill a fresh probe from a file's header and arrays (see :mod:`._file`)."""
        self.layout, self.has_grads = layout, bool(header["has_grads"])
        self._allocate()
        self._calls, self._records = int(header["calls"]), int(header["records"])
        k = len(layout.names)
        self._stats = {"steps": [arrays["steps"].astype(np.int64)], "loss": [arrays["loss"].astype(float)]}
        for key, stored in (("weight", "weight_norms"), ("grad", "grad_norms"), ("ratio", "update_ratios")):
            self._stats[key] = [arrays[stored].astype(float).reshape(-1, k)]
        if len(self._stats["steps"][0]) and len(self._stats["weight"][0]) != len(self._stats["steps"][0]):
            raise ValueError("statistics and steps differ in length")
        for step, w, g, p in zip(arrays["snap_steps"], arrays["snap_weights"], arrays["snap_grads"], arrays["snap_previous"]):
            self._snapshots.append(snapshot(int(step), w.astype(float), g.astype(float), None if np.isnan(p).all() else p.astype(float)))
        self._replay = [(arrays["replay_steps"].astype(np.int64), arrays["replay_weights"].astype(float))]
        self._last_row = self._snapshots[-1].weights.copy() if self._snapshots else None
        self.X, self.y = arrays.get("X"), arrays.get("y")
        self.activations = [arrays[f"act_{i}"] for i in range(len(header["activation_names"])) if f"act_{i}" in arrays]
        self.first_activations = [arrays[f"first_act_{i}"] for i in range(len(header["activation_names"])) if f"first_act_{i}" in arrays]
        self.activation_names = tuple(header["activation_names"])
        self.notes, self.model_report = list(header.get("notes", [])), header.get("model_report")
        self.saved_check = header.get("gradient_check")

    def statistics(self) -> dict[str, Any]:
        """Every recorded statistic: ``steps``, ``loss`` (arrays) and ``grad_norms``, ``weight_norms``,
        ``update_ratios`` (dicts name -> array over the recorded steps)."""
        parts = {k: list(v) for k, v in self._stats.items()}
        for key, value in self._pending_stats().items():
            parts[key].append(value)
        names = self.layout.names if self.layout else ()
        joined = {k: (np.concatenate(v) if v else np.zeros((0, len(names)) if k in ("weight", "grad", "ratio") else 0)) for k, v in parts.items()}
        per_array = {label: {n: joined[key][:, i] for i, n in enumerate(names)}
                     for label, key in (("grad_norms", "grad"), ("weight_norms", "weight"), ("update_ratios", "ratio"))}
        return {"steps": joined["steps"].astype(np.int64), "loss": joined["loss"].astype(float), **per_array}

    # ------------------------------------------------------------------ reporting
    @property
    def n_records(self) -> int:
        return self._records

    @property
    def n_calls(self) -> int:
        return self._calls

    def describe(self) -> str:
        """What was recorded: names, shapes and how often."""
        if self.layout is None:
            return f"probe: nothing recorded yet ({self._calls} calls, every {self.every})"
        steps = self.statistics()["steps"]
        lines = [
            f"probe: {self._records} of {self._calls} calls recorded (every {self.every}), steps "
            f"{_format.num(int(steps[0]))} to {_format.num(int(steps[-1]))}",
            f"  weights: {self.layout.describe()}" + ("" if self.has_grads else " (no gradients recorded)"),
        ]
        if self.model_report:
            lines.append(f"  found in {self.model_report}")
        lines += [f"  note: {note}" for note in self.notes]
        if self.activations:
            lines.append("  activations: " + ", ".join(f"{n} {a.shape}" for n, a in zip(self.activation_names, self.activations)))
        if self.X is not None:
            lines.append(f"  data: X {self.X.shape}" + (f", y {self.y.shape}" if self.y is not None else ", no y"))
        kept = [s.step for s in self.snapshots()]
        lines.append(f"  full snapshots kept for check_gradient: steps {', '.join(map(str, kept))}; "
                     f"{len(self.replay())} for the replay; statistics of every recorded step"
                     + (f" (thinned to every {self._stat_stride}th)" if self._stat_stride > 1 else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        shapes = self.layout.describe() if self.layout else "nothing yet"
        return f"Probe(every={self.every}, records={self._records}, arrays: {shapes})"

    # ------------------------------------------------------------------ the proof, the cause, files
    def check_gradient(self, loss_fn: Any, at: int | None = None, entries: int = 20, all_entries: bool = False,
                       seed: int = 0) -> Any:
        """Finite differences of ``loss_fn`` at the recorded weights against the recorded gradients.

        See :func:`backproplab.probe.check.check_recorded` for the method and the patterns it names.
        """
        from .check import check_recorded

        self.gradient_check = check_recorded(self, loss_fn, at=at, entries=entries, all_entries=all_entries, seed=seed)
        return self.gradient_check

    def diagnose(self, *, seed: int = 0, controls: bool = True) -> Any:
        """The same rules as ``bp.diagnose``, fed from what was recorded (see :mod:`.diagnosis`)."""
        from .diagnosis import diagnose_probe

        return diagnose_probe(self, seed=seed, controls=controls)

    def to_record(self) -> Any:
        """A :class:`~backproplab.runrecord.RunRecord` of what was recorded."""
        from .diagnosis import build_record

        return build_record(self)

    def save(self, path: Any) -> str:
        """Write the probe to ``path`` (.npz, no pickle, JSON header with a format version)."""
        from ._file import save_probe

        return save_probe(self, path)

    @classmethod
    def load(cls, path: Any) -> Probe:
        """Read a probe file written by :meth:`save`; refuse anything else with a clear message."""
        from ._file import load_probe

        return load_probe(cls, path, Snapshot)
