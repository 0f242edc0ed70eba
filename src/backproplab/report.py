"""A self-contained HTML report: every plot is a PNG data URI, the CSS is inline, nothing is fetched.

Plots use matplotlib's Figure API on the Agg canvas (no pyplot state), so reports build headless.
Every axis is labelled, every colour scale has a colour bar, and every number in the text goes
through :mod:`backproplab._format` (3 significant digits). For the interactive view of a run, see
:mod:`backproplab.dashboard`.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _format
from ._io import atomic_write

__all__ = ["write_report", "build_report", "loss_figure", "gradient_flow_figure", "data_figures", "polish",
           "activation_race_figure", "evidence_html"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5rem 0}
.finding{border-left:4px solid #999;padding:.3rem .8rem;margin:.6rem 0;background:#fafafa}
.error{border-color:#c0392b}.warning{border-color:#e67e22}.info{border-color:#2980b9}
.conclusion{background:#f0f7ff;padding:.6rem .9rem;border-radius:4px}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem;margin:.3rem 0}
dl.evidence dt{color:#666}dl.evidence dd{margin:0}
.muted{color:#777;font-size:.85rem}
"""
COLOURS = ["#2f6fd0", "#e8731a", "#1e9b5a", "#9b3fc0", "#c0392b", "#17a2b8", "#7f6a00", "#555555"]


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("reports need matplotlib: pip install 'backproplab[plot]'") from None


def _figure(width: float = 6.4, height: float = 3.6) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_to_img(figure: Any, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return str(value)
    return _format.num(value) if isinstance(value, int | float | np.number) else str(value)


def _table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0].keys())
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------- figures
def loss_figure(history: Any) -> Any | None:
    """Loss per epoch (training, validation) and, when recorded, the metrics (e.g. accuracy)."""
    curve = history.loss or history.window_loss
    if not curve:
        return None
    metrics = {k: v for k, v in (history.metrics or {}).items() if v}
    figure = _figure(9.5 if metrics else 6.4, 3.6)
    axes = figure.subplots(1, 2) if metrics else [figure.add_subplot()]
    ax = axes[0]
    x = np.arange(1, len(curve) + 1)
    values = [v for v in curve + history.val_loss if v is not None]
    log = bool(values) and all(v > 0 and math.isfinite(v) for v in values)
    ax.plot(x, curve, color=COLOURS[0], label="training loss" if history.loss else "training loss (window mean)")
    if history.val_loss:
        ax.plot(np.arange(1, len(history.val_loss) + 1), history.val_loss, color=COLOURS[1], label="validation loss")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if history.loss else "window")
    ax.set_ylabel("loss" + (" (log scale)" if log else ""))
    ax.set_title("loss")
    ax.legend(fontsize=8)
    if metrics:
        right = axes[1]
        for k, (name, series) in enumerate(metrics.items()):
            dashed = name.startswith("val_")
            right.plot(np.arange(1, len(series) + 1), series, color=COLOURS[(k // 2) % 8 if dashed else k % 8],
                       linestyle="--" if dashed else "-", label=name.replace("_", " "))
        right.set_xlabel("epoch")
        right.set_ylabel("metric value")
        right.set_title("metrics")
        right.legend(fontsize=8)
    return figure


def gradient_flow_figure(records: list[dict[str, Any]]) -> Any:
    """Per layer over the run: ||dL/dW||, the update-to-weight ratio, and unit health (dead ReLU
    units, saturated sigmoid/tanh outputs), each layer in its own colour with solid lines."""
    steps = [r["step"] for r in records]
    n_layers = len(records[0]["layers"])
    has_ratio = any("update_ratio" in layer for r in records for layer in r["layers"])
    figure = _figure(12 if has_ratio else 9, 3.6)
    axes = list(figure.subplots(1, 3 if has_ratio else 2))
    norms_ax, health_ax = axes[0], axes[-1]
    for layer in range(n_layers):
        colour = COLOURS[layer % 8]
        norms = np.array([r["layers"][layer].get("grad_norm", np.nan) for r in records], dtype=float)
        norms_ax.plot(steps, np.where(norms > 0, norms, np.nan), color=colour, label=f"layer {layer + 1}")
        if has_ratio:
            ratios = np.array([r["layers"][layer].get("update_ratio", np.nan) for r in records], dtype=float)
            axes[1].plot(steps, np.where(ratios > 0, ratios, np.nan), color=colour, label=f"layer {layer + 1}")
        for key, what, marker in (("dead", "dead (ReLU)", "o"), ("saturated", "saturated", "s")):
            values = [r["layers"][layer].get(key) for r in records]
            if any(v is not None for v in values):
                health_ax.plot(steps, [np.nan if v is None else v for v in values], color=colour, marker=marker,
                               markevery=max(len(steps) // 8, 1), markersize=4, label=f"layer {layer + 1} {what}")
    norms_ax.set_yscale("log")
    norms_ax.set(title="gradient norm per layer", xlabel="step", ylabel="||dL/dW|| (log scale)")
    norms_ax.legend(fontsize=7)
    if has_ratio:
        axes[1].axhline(1e-3, color="#999", linestyle=":", label="1e-3 rule of thumb")
        axes[1].set_yscale("log")
        axes[1].set(title="update-to-weight ratio", xlabel="step", ylabel="||W_t - W_t-1|| / ||W_t-1||")
        axes[1].legend(fontsize=7)
    health_ax.set(title="unit health", xlabel="step", ylabel="fraction of the layer's units / outputs")
    health_ax.set_ylim(-0.02, 1.02)
    if health_ax.get_legend_handles_labels()[0]:
        health_ax.legend(fontsize=7)
    else:
        health_ax.text(0.5, 0.5, "no ReLU, sigmoid or tanh hidden layer\nto measure", ha="center", va="center",
                       transform=health_ax.transAxes, color="#777")
    return figure


def _projection(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    mean = X.mean(axis=0)
    if X.shape[1] == 2:
        return np.zeros(2), np.eye(2), ["x1", "x2"]
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:2], ["principal axis 1", "principal axis 2"]


def _is_classification(net: Any, y: np.ndarray | None) -> bool:
    if getattr(net.loss_fn, "name", "") in ("bce", "cross_entropy"):
        return True
    return bool(y is not None and np.isin(np.unique(y), (0, 1)).all() and getattr(net.layers[-1], "name", "") == "sigmoid")


def _labels(y: np.ndarray | None, n_outputs: int) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(int) if n_outputs > 1 else np.rint(y.reshape(-1)).astype(int)


def data_figures(net: Any, X: np.ndarray, y: np.ndarray | None) -> list[tuple[str, Any]]:
    """The decision boundary (2-D inputs; 3-D on the plane of the two principal axes) and, for
    classification, the confusion matrix; for regression, predicted against true."""
    X = np.asarray(X, dtype=float)
    out: list[tuple[str, Any]] = []
    predictions = net.predict(X)
    classes = _is_classification(net, y)
    if X.ndim == 2 and X.shape[1] in (2, 3):
        out.append(("decision boundary" if classes else "regression surface", _surface_figure(net, X, y, classes)))
    if classes and y is not None:
        out.append(("confusion matrix", _confusion_figure(predictions, _labels(y, predictions.shape[1]))))
    elif y is not None and (X.ndim != 2 or X.shape[1] not in (2, 3)):
        figure = _figure(4.8, 4.2)
        ax = figure.add_subplot()
        truth = np.asarray(y, dtype=float).reshape(len(X), -1)[:, 0]
        ax.scatter(truth, predictions[:, 0], s=12, color=COLOURS[0], alpha=0.7)
        ends = [min(truth.min(), predictions[:, 0].min()), max(truth.max(), predictions[:, 0].max())]
        ax.plot(ends, ends, color="#999", linestyle=":", label="perfect fit")
        ax.set(xlabel="true value", ylabel="predicted (first output)", title="predicted against true")
        ax.legend(fontsize=8)
        out.append(("predicted against true", figure))
    return out


def _surface_figure(net: Any, X: np.ndarray, y: np.ndarray | None, classes: bool) -> Any:
    mean, basis, names = _projection(X)
    P = (X - mean) @ basis.T
    lo, hi = P.min(axis=0), P.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 1e-9)
    u, v = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 120), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 120))
    outputs = net.predict(mean + np.column_stack([u.ravel(), v.ravel()]) @ basis)
    surface = outputs[:, 1] if outputs.shape[1] == 2 else outputs[:, 0] if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    figure = _figure(5.6, 4.4)
    ax = figure.add_subplot()
    label = "P(class 1)" if classes and outputs.shape[1] <= 2 else "predicted class" if classes else "prediction"
    levels = np.linspace(0, 1, 21) if classes and outputs.shape[1] <= 2 else 20
    filled = ax.contourf(u, v, surface.reshape(u.shape), levels=levels, cmap="RdBu_r", alpha=0.6)
    figure.colorbar(filled, ax=ax, label=label)
    if classes and outputs.shape[1] <= 2:
        ax.contour(u, v, surface.reshape(u.shape), levels=[0.5], colors="k", linewidths=1)
    if y is not None:
        labels = _labels(y, outputs.shape[1]) if classes else np.asarray(y, dtype=float).reshape(len(X), -1)[:, 0]
        # the colour map's own ends, outlined in white, with one marker per class: visible on either side
        styles = [("#2166ac", "o"), ("#b2182b", "s"), ("#1e9b5a", "^"), ("#9b3fc0", "D"), ("#555555", "v")]
        for value in (np.unique(np.asarray(labels)) if classes else []):
            chosen = labels == value
            colour, marker = styles[int(value) % len(styles)]
            ax.scatter(P[chosen, 0], P[chosen, 1], s=20, marker=marker, edgecolors="white", linewidths=0.6,
                       color=colour, label=f"class {int(value)}")
        if not classes:
            ax.scatter(P[:, 0], P[:, 1], c=labels, cmap="RdBu_r", s=16, edgecolors="k", linewidths=0.4)
        if classes:
            ax.legend(fontsize=8, loc="best")
    else:
        ax.scatter(P[:, 0], P[:, 1], s=12, color="#555")
    view = "" if X.shape[1] == 2 else " (3-D inputs on their two principal axes)"
    ax.set(xlabel=names[0], ylabel=names[1], title=("decision boundary" if classes else "regression surface") + view)
    return figure


def _confusion_figure(predictions: np.ndarray, labels: np.ndarray | None) -> Any:
    guess = (predictions[:, 0] > 0.5).astype(int) if predictions.shape[1] == 1 else predictions.argmax(axis=1)
    truth = np.zeros_like(guess) if labels is None else labels
    k = int(max(guess.max(), truth.max())) + 1
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, guess), 1)
    figure = _figure(4.6, 4.0)
    ax = figure.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax, label="rows")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set(xlabel="predicted class", ylabel="true class", title=f"confusion matrix (accuracy {_format.percent(accuracy)})")
    return figure


def activation_race_figure(result: Any) -> Any | None:
    """Every seed of the activation race: steps to the blog's target as a beeswarm per activation
    and optimizer; seeds that never reached it drawn as crosses at the step limit."""
    raw = (result.data or {}).get("raw")
    if not raw:
        return None
    limit = float(result.data.get("max_steps", 0)) or None
    names = sorted({key.split("/")[1] for key in raw}, key=[k.split("/")[1] for k in raw].index)
    figure = _figure(7.5, 4.2)
    ax = figure.add_subplot()
    for k, optimizer in enumerate(("sgd", "adam")):
        for j, hidden in enumerate(names):
            runs = raw.get(f"{optimizer}/{hidden}", [])
            centre = j + (k - 0.5) * 0.36
            reached = np.array([float(s) for s, _, ok in runs if ok])
            failed = len(runs) - len(reached)
            if reached.size:
                ax.scatter(centre + _swarm(reached, 0.15), reached, s=18, color=COLOURS[k], edgecolors="k", linewidths=0.3,
                           label=("SGD lr 0.1" if optimizer == "sgd" else "Adam lr 0.01") if j == 0 else None)
            if failed and limit:
                ax.scatter(centre + _swarm(np.full(failed, limit), 0.15), np.full(failed, limit), marker="x", s=28,
                           color=COLOURS[k], label="did not reach it within the step limit" if (j, k) == (0, 0) else None)
    ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax.set_yscale("log")
    ax.set(xlabel="hidden activation", ylabel="steps to the target (log scale)",
           title=f"steps to a 1000-step mean loss below 0.01: every seed ({sum(len(v) for v in raw.values())} runs)")
    ax.legend(fontsize=8)
    return figure


def _swarm(values: np.ndarray, width: float) -> np.ndarray:
    """Horizontal offsets that spread equal (or close) values side by side: a small beeswarm."""
    offsets = np.zeros(len(values))
    order = np.argsort(values, kind="stable")
    logs = np.log10(np.maximum(values[order], 1e-300))
    group_start = 0
    for i in range(1, len(order) + 1):
        if i == len(order) or logs[i] - logs[group_start] > 0.03:
            size = i - group_start
            spread = np.linspace(-width, width, size) if size > 1 else np.zeros(1)
            offsets[order[group_start:i]] = spread
            group_start = i
    return offsets


def polish(figure: Any) -> Any:
    """Give a figure what readers need when its maker left it out: a colour bar for every filled
    contour or image and input-axis labels on a 2-D surface."""
    from matplotlib.contour import ContourSet
    from matplotlib.image import AxesImage

    for ax in list(figure.axes):
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        mappables = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled] + \
                    [i for i in ax.images if isinstance(i, AxesImage)]
        if mappables and not any(other.get_label() == "<colorbar>" for other in figure.axes):
            title = ax.get_title()
            label = title.split(": ", 1)[1] if ": " in title else "value"
            figure.colorbar(mappables[0], ax=ax, label=label)
        if any(isinstance(c, ContourSet) for c in ax.collections):
            if not ax.get_xlabel():
                ax.set_xlabel("x1 (input 1)")
            if not ax.get_ylabel():
                ax.set_ylabel("x2 (input 2)")
    return figure


# ---------------------------------------------------------------------- sections
def evidence_html(evidence: dict[str, Any]) -> str:
    """A finding's evidence as a definition list, numbers with 3 significant digits (no JSON)."""
    from .dashboard.findings import evidence_text

    rows = "".join(f"<dt>{html.escape(str(k).replace('_', ' '))}</dt><dd>{html.escape(evidence_text(v))}</dd>"
                   for k, v in evidence.items())
    return f'<dl class="evidence">{rows}</dl>'


def _history_section(history: Any) -> str:
    parts = ["<h2>Training</h2>"]
    summary = [{
        "stop reason": history.stop_reason, "steps": history.n_steps, "epochs": history.n_epochs,
        "final loss": history.loss[-1] if history.loss else None,
        "final val loss": history.val_loss[-1] if history.val_loss else None,
        "wall time (s)": history.wall_time,
    }]
    parts.append(_table(summary))
    if history.message:
        parts.append(f"<p>{html.escape(history.message)}</p>")
    figure = loss_figure(history)
    if figure is not None:
        parts.append(figure_to_img(figure, "loss and metric curves"))
    if history.monitor:
        parts.append("<h2>Gradient flow</h2>" + figure_to_img(gradient_flow_figure(history.monitor),
                                                            "per-layer gradient norms, update ratios and unit health"))
    if history.config:
        parts.append("<h2>Configuration</h2>" + _config_table(history.config))
    return "\n".join(parts)


def _config_table(config: dict[str, Any]) -> str:
    rows = []
    for key, value in config.items():
        if key == "network" and isinstance(value, dict):
            layers = [f"{layer.get('type')}({layer.get('in_features', '')}, {layer.get('out_features', '')})"
                      if "in_features" in layer else str(layer.get("type")) for layer in value.get("layers", [])]
            text = " -> ".join(layers) + f"; loss {value.get('loss')}, l2 {_format.num(value.get('l2', 0))}, {value.get('dtype')}"
        elif isinstance(value, dict):
            text = ", ".join(f"{k} {_cell(v)}" for k, v in value.items() if v not in (None, False))
        else:
            text = _cell(value)
        rows.append({"setting": key.replace("_", " "), "value": text or "-"})
    return _table(rows)


def _diagnosis_section(diagnosis: Any) -> str:
    parts = ["<h2>Diagnosis</h2>"]
    headline = getattr(diagnosis, "headline", "")
    if headline:
        parts.append(f"<p><b>{html.escape(str(headline))}</b></p>")
    if not diagnosis.findings:
        parts.append("<p>No findings: the run looks healthy.</p>")
    for finding in diagnosis.findings:
        because = getattr(finding, "because_of", None)
        parts.append(
            f'<div class="finding {html.escape(finding.severity)}"><b>{html.escape(finding.severity)}: {html.escape(finding.code)}</b>'
            + (f" <span class='muted'>(because of {html.escape(str(because))})</span>" if because else "")
            + f"<p>{html.escape(finding.message)}</p>{evidence_html(finding.evidence)}"
            f"<p><i>Remedy:</i> {html.escape(finding.suggestion)}</p></div>"
        )
    return "\n".join(parts)


def _data_section(net: Any, X: np.ndarray, y: np.ndarray | None) -> str:
    figures = data_figures(net, X, y)
    if not figures:
        return ""
    return "<h2>Data</h2>" + "".join(figure_to_img(figure, name) for name, figure in figures)


def _result_section(result: Any) -> str:
    parts = [
        f'<h2 id="{html.escape(result.name)}">{html.escape(result.name)}: {html.escape(result.title)}</h2>',
        f'<p class="muted">source: {html.escape(result.source)}</p>',
        _table(result.table),
        f'<p class="conclusion">{html.escape(result.conclusion)}</p>',
    ]
    for name, figure in result.figures:
        if result.name == "activation-race" and name == "steps":
            figure = activation_race_figure(result) or figure  # every seed, not a few overlapping dots
        parts.append(figure_to_img(polish(figure), f"{result.name} {name}"))
    return "\n".join(parts)


def build_report(
    title: str,
    history: Any = None,
    diagnosis: Any = None,
    net: Any = None,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    result: Any = None,
    results: Sequence[Any] = (),
) -> str:
    """The report as an HTML string. Any combination of sections may be given."""
    _require_matplotlib()
    from . import __version__

    sections = []
    all_results = list(results) + ([result] if result is not None else [])
    if len(all_results) > 1:
        summary = [{"experiment": r.name, "source": r.headline.get("claim", ""), "backproplab": r.headline.get("ours", "")} for r in all_results]
        sections.append("<h2>Summary: source vs backproplab</h2>" + _table(summary))
    sections += [_result_section(r) for r in all_results]
    if diagnosis is not None:
        sections.append(_diagnosis_section(diagnosis))
    if history is not None:
        sections.append(_history_section(history))
    if net is not None:
        sections.append("<h2>Network</h2><p>" + html.escape(repr(net)) + "</p>")
        if X is not None:
            sections.append(_data_section(net, X, y))
    body = "\n".join(s for s in sections if s)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"muted\">backproplab {html.escape(__version__)}</p>"
        f"{body}</body></html>\n"
    )


def write_report(path: str | os.PathLike[str], title: str = "backproplab report", **sections: Any) -> str:
    """Build the report and write it atomically to ``path``; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot write the report to {path!r}: the folder {folder!r} does not exist")
    text = build_report(title, **sections)
    return atomic_write(path, text)
