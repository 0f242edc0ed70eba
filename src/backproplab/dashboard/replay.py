"""Replays: turn a saved run (a History JSON, a model or checkpoint, a probe file, a RunRecord or a
saved dashboard) into the dashboard's state, and write it as one self-contained HTML file.

A replay's state has the same shape as a live recorder's (``meta``, ``series``, ``frames``,
``findings``, ``status``), so the page draws both with the same code.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from .._io import check_regular_file
from . import findings as findings_module
from .page import build_page, write_replay  # noqa: F401  (re-exported)

__all__ = ["load_run", "write_replay", "history_state", "record_state", "network_state"]

CLASSIFICATION_LOSSES = ("bce", "cross_entropy")


def _layers_from_spec(spec: dict[str, Any]) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for item in spec.get("layers", []):
        kind = str(item.get("type", ""))
        if "in_features" in item and "out_features" in item:
            layers.append({"name": f"layer {len(layers) + 1}", "in": int(item["in_features"]),
                           "out": int(item["out_features"]), "activation": "identity", "type": kind})
        elif layers:
            name = {"LeakyReLU": "leaky_relu", "ReLU": "relu"}.get(kind, kind.lower())
            layers[-1]["activation"] = name
    return layers


def _meta_for(layers: list[dict[str, Any]], loss: str, title: str, source: str) -> dict[str, Any]:
    sizes = ([layers[0]["in"]] + [layer["out"] for layer in layers]) if layers else []
    return {"title": title, "mode": "replay", "layers": layers, "sizes": sizes, "loss": loss, "source": source,
            "task": "classification" if loss in CLASSIFICATION_LOSSES else "regression"}


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def history_state(history: Any, title: str = "replay of a saved History") -> dict[str, Any]:
    """A History's loss curves and gradient-flow records as a replay (no weights: the diagram shows
    the architecture, the gradient-flow and unit-health panels show what the monitor recorded)."""
    config = history.config or {}
    spec = config.get("network", {}) or {}
    n = int(config.get("n_samples") or 1)
    batch = config.get("batch_size") or n
    per_epoch = max(math.ceil(n / int(batch)), 1)
    series: dict[str, Any] = {}
    if history.step_loss:
        series["loss"] = [list(range(1, len(history.step_loss) + 1)), [_finite(v) for v in history.step_loss]]
    elif history.window_loss:
        window = int((config.get("stop") or {}).get("window") or 1)
        series["loss"] = [[window * (i + 1) for i in range(len(history.window_loss))], [_finite(v) for v in history.window_loss]]
    epochs = [per_epoch * (i + 1) for i in range(len(history.loss))]
    if history.loss:
        series["epoch_loss"] = [epochs, [_finite(v) for v in history.loss]]
    if history.val_loss:
        series["val_loss"] = [epochs[: len(history.val_loss)], [_finite(v) for v in history.val_loss]]
    for name, values in (history.metrics or {}).items():
        series[name] = [epochs[: len(values)], [_finite(v) for v in values]]
    frames = [_monitor_frame(record, i) for i, record in enumerate(history.monitor or [])]
    if not frames:  # the scrubber still walks through the run, epoch by epoch
        frames = [{"seq": i, "step": s, "loss": _finite(v), "layers": []} for i, (s, v) in enumerate(zip(epochs, history.loss))]
    meta = _meta_for(_layers_from_spec(spec), str(spec.get("loss", "")), title, "history")
    last_loss = _finite(history.loss[-1]) if history.loss else None
    found = findings_module.live_findings(frames[-1] if frames else None,
                                          math.inf if history.stop_reason == "diverged" else last_loss,
                                          None, history.n_steps, 0)
    status = {"state": "finished", "step": history.n_steps, "stop_reason": history.stop_reason, "message": history.message}
    return {"meta": meta, "series": series, "frames": frames, "findings": found, "status": status}


def _monitor_frame(record: dict[str, Any], seq: int) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    for item in record.get("layers", []):
        layer: dict[str, Any] = {"name": f"layer {item.get('layer', len(layers) + 1)}"}
        for key in ("grad_norm", "mean_abs_delta", "update_ratio"):
            if key in item:
                layer[key] = _finite(item[key])
        if "saturated" in item:
            layer["saturated_fraction"] = _finite(item["saturated"])
        if "dead" in item:
            layer["dead_fraction"] = _finite(item["dead"])
        layers.append(layer)
    return {"seq": seq, "step": int(record.get("step", seq)), "loss": None, "layers": layers}


def network_state(net: Any, title: str = "replay of a saved model", data: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """One frame of a saved model: its weights, and with ``data`` its activations and surface."""
    from .live import Dashboard

    board = Dashboard(data=data, serve=False, title=title)
    board.attach(net, data)
    board._network_frame(0, math.nan, with_grads=False)  # a saved model carries no gradients
    state = board.recorder.state()
    state["meta"].update(mode="replay", source="model")
    state["status"] = {"state": "saved model", "step": 0}
    return state


def record_state(record: Any, title: str = "replay of a probe") -> dict[str, Any]:
    """A :class:`~backproplab.runrecord.RunRecord` (what a Probe recorded) as a replay."""
    steps = [int(s) for s in np.asarray(record.steps).tolist()]
    loss = [_finite(v) for v in np.asarray(record.loss, dtype=float).tolist()]
    names = list(record.grad_norms) or list(record.weight_norms)
    frames = []
    for i, step in enumerate(steps):
        layers = []
        for name in names:
            layer: dict[str, Any] = {"name": name}
            for key, table in (("grad_norm", record.grad_norms), ("weight_norm", record.weight_norms),
                               ("update_ratio", record.update_ratios)):
                if name in table and i < len(table[name]):
                    layer[key] = _finite(table[name][i])
            layers.append(layer)
        frames.append({"seq": i, "step": step, "loss": loss[i], "layers": layers})
    meta = _meta_for([], str(record.loss_name or ""), title, "probe")
    meta["arrays"] = names
    found = findings_module.live_findings(frames[-1] if frames else None, next((v for v in reversed(loss) if v is not None), None),
                                          None, steps[-1] if steps else 0, 0)
    return {"meta": meta, "series": {"loss": [steps, loss]}, "frames": frames, "findings": found,
            "status": {"state": "finished", "step": steps[-1] if steps else 0}}


def _add_snapshots(state: dict[str, Any], snapshots: list[tuple[int, dict[str, Any]]]) -> None:
    """The probe's weight snapshots on the frames of their steps: the diagram and the histograms."""
    from .live import chained_layers
    from .recorder import _histogram

    by_step = {frame["step"]: frame for frame in state["frames"]}
    for step, weights in snapshots:
        frame = by_step.get(int(step))
        if frame is None:
            continue
        for layer in frame["layers"]:
            array = np.asarray(weights.get(layer["name"], []), dtype=float)
            if array.size:
                layer["hist"] = {"weights": _histogram(array.ravel())}
                if array.ndim == 2:
                    layer["W"] = np.round(array[:16, :16], 5).tolist()
        chain = chained_layers(weights)
        if chain and "sizes" not in state["meta"] and len(chain) == len(frame["layers"]):
            state["meta"].update(layers=chain, sizes=[chain[0]["in"]] + [c["out"] for c in chain])


def _probe_state(path: str) -> dict[str, Any]:
    import backproplab as bp

    probe_class = getattr(bp, "Probe", None)
    if probe_class is None:
        raise ValueError(f"{path!r} is not a backproplab model, and this backproplab has no bp.Probe to read probe files")
    probe = probe_class.load(path)
    for method in ("to_record", "run_record", "record_", "as_record"):
        make = getattr(probe, method, None)
        if callable(make):
            state = record_state(make(), title=f"probe {os.path.basename(path)}")
            _add_snapshots(state, probe.replay() if callable(getattr(probe, "replay", None)) else [])
            return state
    raise ValueError(f"{path!r} is a probe file, but this bp.Probe offers no RunRecord to replay it from")


def load_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The replay state of a saved run: a History JSON, a saved dashboard (.json), a model or
    checkpoint (.npz), or a probe file (.npz)."""
    from ..history import History
    from ..persistence import ModelFileError, load

    path = check_regular_file(path, "RUN")
    name = os.path.basename(path)
    if path.lower().endswith(".json"):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"RUN {path!r} is not valid JSON: {error}") from None
        if isinstance(data, dict) and "frames" in data and "meta" in data:
            return data
        if not isinstance(data, dict):
            raise ValueError(f"RUN {path!r} is neither a History nor a saved dashboard (expected a JSON object)")
        return history_state(History.from_dict(data), title=f"History {name}")
    if path.lower().endswith(".npz"):
        try:
            net = load(path)
        except ModelFileError as error:
            if "probe" in str(error).lower() or "not a backproplab" in str(error).lower() or "header" in str(error).lower():
                return _probe_state(path)
            raise
        return network_state(net, title=f"model {name}")
    raise ValueError(f"RUN {path!r}: expected a History or dashboard .json, or a model, checkpoint or probe .npz")
