r"""``bp.Dashboard``: a ``fit`` callback and a :class:`~backproplab.Probe` sink that feeds a live
dashboard in the browser (127.0.0.1 only).

The training thread only appends to the :class:`~backproplab.dashboard.recorder.Recorder`'s bounded
buffers (one ``Series.add`` per step; a frame every few hundred milliseconds, its cost held under 1%
of the run); the server thread reads them and pushes to the page with server-sent events. Closing
the page does not touch the run; the run keeps going and the dashboard keeps serving until the
process ends or :meth:`Dashboard.close` is called.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..history import Callback, History
from . import findings as findings_module
from .recorder import GRID, SAMPLE_ROWS, Recorder, forward_layers, layer_frame

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["Dashboard", "network_layers", "data_meta"]

FORMULAS_CLASSIFICATION = ("bce", "cross_entropy")
#: Step losses wait in a plain list at most this many steps before they join the bounded series.
FLUSH_STEPS = 256


def _dense_like(layer: Any) -> bool:
    W: Any = getattr(layer, "W", None)
    b: Any = getattr(layer, "b", None)
    return hasattr(W, "value") and hasattr(b, "value") and getattr(W.value, "ndim", 0) == 2


def network_layers(net: Network) -> tuple[list[Any], list[dict[str, Any]]]:
    """The dense(-like) layers of ``net`` and their descriptions: name, in/out width, the activation
    that follows (``identity`` when none), and the layer's class for custom layers."""
    objects: list[Any] = []
    described: list[dict[str, Any]] = []
    layer: Any
    for layer in net.layers:
        if _dense_like(layer):
            W = layer.W.value
            objects.append(layer)
            described.append({"name": f"layer {len(objects)}", "in": int(W.shape[0]), "out": int(W.shape[1]),
                              "activation": "identity", "type": type(layer).__name__})
        elif described and isinstance(getattr(layer, "name", None), str) and layer.name:
            described[-1]["activation"] = layer.name
            if hasattr(layer, "negative_slope"):
                described[-1]["slope"] = float(layer.negative_slope)
    return objects, described


def chained_layers(weights: dict[str, Any]) -> list[dict[str, Any]]:
    """Describe a probe's 2-D weight arrays as layers when they chain as ``(in, out)`` matrices
    (``W_l.shape[1] == W_{l+1}.shape[0]``), so the diagram can draw them; [] otherwise."""
    matrices = [(name, np.shape(value)) for name, value in weights.items() if np.ndim(value) == 2]
    if not matrices or any(a[1][1] != b[1][0] for a, b in zip(matrices, matrices[1:])):
        return []
    return [{"name": name, "in": int(shape[0]), "out": int(shape[1]), "activation": "unknown"} for name, shape in matrices]


def _projection(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 2 x d basis: the input axes for 2-D data, the two leading principal axes otherwise."""
    mean = X.mean(axis=0)
    if X.shape[1] == 2:
        return mean * 0, np.eye(2)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    basis = Vt[:2]
    if basis.shape[0] < 2:
        basis = np.vstack([basis, np.zeros_like(basis)])
    return mean, basis


def data_meta(X: np.ndarray, y: np.ndarray | None, loss: str, rng_seed: int = 0) -> tuple[dict[str, Any], np.ndarray, np.ndarray | None]:
    """A sample of the data for the page, its 2-D view (identity or principal-axis projection) and
    the grid of input points the decision surface is evaluated on."""
    rng = np.random.default_rng(rng_seed)
    index = np.sort(rng.choice(len(X), SAMPLE_ROWS, replace=False)) if len(X) > SAMPLE_ROWS else np.arange(len(X))
    Xs = np.asarray(X, dtype=float)[index]
    ys = None if y is None else np.asarray(y)[index]
    meta: dict[str, Any] = {"n_inputs": int(Xs.shape[1]), "rows": int(len(X)), "x0": Xs[0, :16].tolist()}
    if Xs.shape[1] in (2, 3):
        mean, basis = _projection(Xs)
        P = (Xs - mean) @ basis.T
        lo, hi = P.min(axis=0), P.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1e-9)
        lo, hi = lo - pad, hi + pad
        u, v = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
        U, V = np.meshgrid(u, v)
        grid = mean + np.column_stack([U.ravel(), V.ravel()]) @ basis
        meta.update({"view": "2d" if Xs.shape[1] == 2 else "projection", "points": P.tolist(),
                     "extent": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])], "grid": GRID,
                     "axes": ["x1", "x2"] if Xs.shape[1] == 2 else ["principal axis 1", "principal axis 2"]})
    else:
        meta["view"] = "other"
        grid = None
    if ys is not None:
        labels = ys.reshape(len(ys), -1)
        if loss == "cross_entropy" and labels.shape[1] > 1:
            meta["labels"] = labels.argmax(axis=1).tolist()
        else:
            meta["labels"] = labels[:, 0].astype(float).tolist()
            if labels.shape[1] > 1:
                meta["targets"] = labels.astype(float).tolist()
    return meta, Xs, grid


class Dashboard(Callback):
    """A live dashboard for a run: pass it to ``fit(callbacks=[...])`` or as ``bp.Probe(sink=...)``.

    Parameters
    ----------
    data : (X, y), optional
        Training data for the data panel (decision boundary, predicted against true) and for the
        on-demand diagnosis. Without it the dashboard samples the inputs of the first batch.
    port : int, optional
        Serve on this port of 127.0.0.1; a free port otherwise.
    open_browser : bool
        Open the page in the default browser when the server starts.
    serve : bool
        Start the web server (False records only, e.g. to export a replay afterwards).
    every : int, optional
        Take a frame every ``every`` steps; by default frames are timed (``fps`` a second, at most
        1% of the run's time).
    save : path, optional
        Write the replay (self-contained HTML, or JSON when the name ends in .json) when training
        ends, also after Ctrl-C.
    title : str

    Notes
    -----
    Per step the training thread does ``Series.add(step, loss)`` (O(1), bounded memory) and one
    comparison; frames, each a few array copies and one forward pass on at most 256 sample rows,
    come at the re-estimated step gap. ``url`` gives the page with its session token.
    """

    def __init__(self, data: tuple[Any, Any] | None = None, *, port: int | None = None, open_browser: bool = True,
                 serve: bool = True, every: int | None = None, fps: float = 10.0, save: str | os.PathLike[str] | None = None,
                 title: str = "backproplab dashboard") -> None:
        from .._validation import check_int, check_real

        check_int("port", port, minimum=0, allow_none=True)
        if port is not None and port > 65535:
            raise ValueError(f"port must be at most 65535, got {port}")
        check_int("every", every, minimum=1, allow_none=True)
        check_real("fps", fps, minimum=0.0, strict=True)
        if save is not None:
            from .._io import check_output_path

            check_output_path(save, "save")
        self.recorder = Recorder(fps=fps, every=every)
        self.recorder.meta = {"title": title, "mode": "live"}
        self.port, self.open_browser, self.serve, self.save = port, open_browser, serve, save
        self.title = title
        self._data = data
        self.server: Any = None
        self._objects: list[Any] = []
        self._layers: list[dict[str, Any]] = []
        self._net: Any = None
        self._history: History | None = None
        self._previous: list[np.ndarray] | None = None
        self._next = 1
        self._arm = 0
        self._due = 1
        self._losses: list[float] = []
        self._last_loss = math.nan
        self._X: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._grid: np.ndarray | None = None
        self._baseline: float | None = None
        self._offset = 0
        self._probe_names: list[str] = []
        self._input_findings: list[dict[str, Any]] = []
        self.diverged = False

    # ------------------------------------------------------------------ server
    @property
    def url(self) -> str | None:
        """The page's address with its session token, once the server runs."""
        return None if self.server is None else self.server.url

    def start_server(self) -> str:
        """Start serving (idempotent); returns the page URL."""
        if self.server is None:
            from .server import DashboardServer

            self.server = DashboardServer(self.recorder, controller=self, port=self.port)
            self.server.start(open_browser=self.open_browser)
        return self.server.url

    def close(self) -> None:
        """Stop the web server (the recorded data stays)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def wait(self) -> None:
        """Block (keep serving) until Ctrl-C; for scripts that end right after ``fit``."""
        try:
            while self.server is not None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.close()

    # ------------------------------------------------------------------ fit callback
    def on_train_begin(self, net: Network, history: History) -> bool | None:
        self.attach(net, self._data)
        self._history = history
        self.recorder.status.update(state="training", step=self._offset)
        if self.serve:
            self.start_server()
        return None

    def attach(self, net: Network, data: tuple[Any, Any] | None = None, offset: int = 0) -> None:
        """Describe ``net`` (and its data) to the page; steps are shown as ``offset + step``."""
        self._net, self._offset = net, offset
        self._objects, self._layers = network_layers(net)
        loss = str(getattr(net.loss_fn, "name", ""))
        sizes = [self._layers[0]["in"]] + [layer["out"] for layer in self._layers] if self._layers else []
        meta = self.recorder.meta
        meta.update({"layers": self._layers, "sizes": sizes, "loss": loss,
                     "task": "classification" if loss in FORMULAS_CLASSIFICATION else "regression",
                     "network": repr(net)})
        self._input_findings = []
        if data is not None:
            X, y = np.asarray(data[0], dtype=float), data[1]
            self._set_data(X, None if y is None else np.asarray(y))
        self._previous = None
        self.diverged = False
        self._next = offset + 1
        self._arm = offset
        self._due = 1
        self._losses = []
        self.recorder.reset_clock()

    def _set_data(self, X: np.ndarray, y: np.ndarray | None) -> None:
        meta, self._X, self._grid = data_meta(X, y, self.recorder.meta.get("loss", ""))
        self._y = y
        self.recorder.meta["data"] = meta
        output = self._layers[-1]["activation"] if self._layers else ""
        if y is not None and output in ("sigmoid", "softmax") and np.isin(np.unique(np.asarray(y)), (0, 1)).all():
            self.recorder.meta["task"] = "classification"  # e.g. the blog's MSE on 0/1 labels
        if y is not None and self._net is not None:
            from ..diagnostics import baseline_loss

            try:
                self._baseline = float(baseline_loss(self._net, self._net.check_Xy(X, y)[1]))
            except (ValueError, TypeError):
                self._baseline = None
        self._input_findings = findings_module.input_findings(self._X)

    def on_step_end(self, step: int, loss: float) -> bool | None:
        # the hot path: one append and one comparison; everything else happens on due steps
        self._losses.append(loss)
        if step >= self._due:
            self._due_step(step + self._offset, loss)
        return None

    def _due_step(self, step: int, loss: float) -> None:
        self.flush(step)
        if step >= self._next:
            self._network_frame(step, loss)
        if step >= self._arm and self._previous is None:
            # the weights one step before the next frame: its update-to-weight ratio is over one step
            self._previous = [layer.W.value.copy() for layer in self._objects]
        upcoming = self._next if self._previous is not None else self._arm
        self._due = min(upcoming, step + FLUSH_STEPS) - self._offset

    def set_offset(self, offset: int) -> None:
        """Show the next fit's steps as ``offset + step`` (the playground trains in chunks)."""
        self._due += self._offset - offset
        self._offset = offset

    def flush(self, step: int) -> None:
        """Move the step losses gathered since the last flush (ending at ``step``) into the series."""
        losses, self._losses = self._losses, []
        if losses:
            self._last_loss = losses[-1]
            self.recorder.loss.extend(step - len(losses) + 1, losses)

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        step = history.n_steps + self._offset if history.n_steps else self.recorder.status.get("step", 0)
        if history.loss:
            self.recorder.add_epoch_value("epoch_loss", step, history.loss[-1])
        if history.val_loss:
            self.recorder.add_epoch_value("val_loss", step, history.val_loss[-1])
        for name, values in history.metrics.items():
            if values:
                self.recorder.add_epoch_value(name, step, values[-1])
        return None

    def on_train_end(self, history: History) -> bool | None:
        steps = history.n_steps + self._offset
        self.flush(steps)
        if self._net is not None and steps and (not self.recorder.frames or self.recorder.frames[-1]["step"] != steps):
            self._network_frame(steps, self._last_loss)
        self.recorder.status.update(state="finished", step=steps, stop_reason=history.stop_reason,
                                    message=history.message)
        if history.stop_reason == "diverged":
            self.diverged = True
            self.refresh_findings(steps)
        if self.save is not None:
            self.save_replay(self.save)
        return None

    # ------------------------------------------------------------------ frames
    def _network_frame(self, step: int, loss: float, with_grads: bool = True) -> None:
        start = time.perf_counter()
        with np.errstate(all="ignore"):  # a diverging run's frames hold inf and nan, shown as such
            self._frame_body(step, loss, with_grads)
        self.recorder.status["step"] = step
        self.refresh_findings(step)
        self._previous = None
        cost = time.perf_counter() - start
        self._next = self.recorder.next_frame_step(step, cost)
        self._arm = self._next - 1

    def _frame_body(self, step: int, loss: float, with_grads: bool) -> None:
        if self._X is None:
            self._sample_first_batch()
        weights = [(layer.W.value.copy(), layer.b.value.copy()) for layer in self._objects]
        acts = forward_layers(self._layers, weights, self._X) if self._X is not None else None
        layers = []
        for index, (layer, meta, (W, b)) in enumerate(zip(self._objects, self._layers, weights)):
            previous = self._previous[index] if self._previous is not None else None
            Z, A = acts[index] if acts is not None else (None, None)
            gW = layer.W.grad if with_grads else None
            delta = getattr(layer, "delta", None) if with_grads else None
            layers.append(layer_frame(meta, W, b, gW, previous, delta, Z, A))
        frame: dict[str, Any] = {"step": step, "loss": loss, "layers": layers}
        if acts is not None:
            frame["pred"] = acts[-1][1][:, : min(acts[-1][1].shape[1], 10)].astype(np.float32)
        if self._grid is not None:
            surface = forward_layers(self._layers, weights, self._grid)[-1][1]
            frame["grid"] = _surface(surface).astype(np.float32)
        self.recorder.add_frame(frame)

    def _sample_first_batch(self) -> None:
        first = self._objects[0] if self._objects else None
        batch = getattr(first, "A_prev", None)
        if isinstance(batch, np.ndarray) and batch.ndim == 2 and batch.shape[1] == self._layers[0]["in"]:
            self._set_data(np.array(batch, dtype=float), None)

    def refresh_findings(self, step: int) -> None:
        """Re-run the live rules on the newest frame and the recent loss (cheap: no training)."""
        values = [v for _, v in self.recorder.loss.points[-8:]]
        level: float | None = None
        if self.diverged or any(not math.isfinite(v) for v in values):
            level = math.inf
        elif values:
            level = float(np.mean(values))
        frame = self.recorder.frames[-1] if self.recorder.frames else None
        live = self._input_findings + findings_module.live_findings(
            frame, level, self._baseline, step, 0 if self._X is None else len(self._X))
        for item in live:
            if item["code"] == "no_better_than_baseline" and self._input_findings and "because_of" not in item:
                item["because_of"] = "unscaled_inputs"
        kept = [f for f in self.recorder.findings if f.get("source") == "diagnosis"]
        if [f["code"] for f in live] != [f["code"] for f in self.recorder.findings if f.get("source") == "live"]:
            self.recorder.set_findings(kept + live)

    # ------------------------------------------------------------------ probe sink
    def on_probe_record(self, step: int, stats: dict[str, Any]) -> None:
        """Interface 3: called by ``bp.Probe(sink=dashboard)`` at every recorded step.

        ``stats`` holds ``loss`` (float), ``grad_norms``, ``weight_norms``, ``update_ratios`` (name ->
        float) and, on snapshot steps, ``weights`` (name -> ndarray).
        """
        if self.serve and self.server is None:
            self.recorder.meta.setdefault("mode", "live")
            self.start_server()
        loss = float(stats.get("loss", math.nan))
        self.recorder.loss.add(step, loss)
        self._last_loss = loss
        grads = dict(stats.get("grad_norms") or {})
        names = list(grads) or list(stats.get("weight_norms") or {})
        if names != self._probe_names:
            self._probe_names = names
            self.recorder.meta.update({"arrays": names, "source": "probe"})
        weights = stats.get("weights")
        layers = [{"name": name, "grad_norm": float(grads.get(name, math.nan)),
                   "weight_norm": float((stats.get("weight_norms") or {}).get(name, math.nan)),
                   "update_ratio": float((stats.get("update_ratios") or {}).get(name, math.nan))} for name in names]
        if weights:
            self._probe_weights(layers, weights)
        if step >= self._next or weights:
            self.recorder.add_frame({"step": step, "loss": loss, "layers": layers})
            self.recorder.status.update(state="training", step=step)
            self.refresh_findings(step)
            self._next = self.recorder.next_frame_step(step, 0.0)

    def _probe_weights(self, layers: list[dict[str, Any]], weights: dict[str, Any]) -> None:
        from .recorder import _histogram

        if "sizes" not in self.recorder.meta:
            chain = chained_layers(weights)
            if chain and len(chain) == len(layers):
                self.recorder.meta.update(layers=chain, sizes=[chain[0]["in"]] + [c["out"] for c in chain])
        by_name = {layer["name"]: layer for layer in layers}
        for name, value in weights.items():
            array = np.asarray(value, dtype=float)
            entry = by_name.get(name)
            if entry is not None and array.size:
                entry["hist"] = {"weights": _histogram(array.ravel())}
                if array.ndim == 2:
                    entry["W"] = array[:16, :16].astype(np.float32)

    # ------------------------------------------------------------------ diagnosis and replay
    def handle(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The page's controls for a fit run: only ``diagnose`` (the run itself is not steered)."""
        if action != "diagnose":
            raise ValueError(f"action {action!r} is not available for a fit run; the page can only ask for 'diagnose'")
        if self._net is None or self._X is None or self._y is None or self._data is None:
            raise ValueError("the full diagnosis needs the training data: pass Dashboard(data=(X, y))")
        X, y = self._data
        found, headline = findings_module.full_diagnosis(self._net, np.asarray(X), np.asarray(y), self._history)
        live = [f for f in self.recorder.findings if f.get("source") == "live"]
        self.recorder.set_findings(found + [f for f in live if f["code"] not in {g["code"] for g in found}])
        self.recorder.meta["headline"] = headline
        return {"headline": headline, "findings": len(found)}

    def save_replay(self, path: str | os.PathLike[str]) -> str:
        """Write the recorded run: a self-contained HTML replay, or JSON for a ``.json`` path."""
        from .page import write_replay

        return write_replay(self.recorder.state(), path)


def _surface(outputs: np.ndarray) -> np.ndarray:
    """One number per grid point: P(class 1) for one or two outputs, the class index for more."""
    if outputs.shape[1] == 1:
        return outputs[:, 0]
    if outputs.shape[1] == 2:
        return outputs[:, 1]
    return outputs.argmax(axis=1).astype(float)
