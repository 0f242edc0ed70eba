"""A self-contained HTML report: every plot is a PNG data URI, the CSS is inline, nothing is fetched.

Plots use matplotlib's Figure API on the Agg canvas (no pyplot state), so reports build headless.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["write_report", "build_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5rem 0}
.finding{border-left:4px solid #999;padding:.3rem .8rem;margin:.6rem 0;background:#fafafa}
.error{border-color:#c0392b}.warning{border-color:#e67e22}.info{border-color:#2980b9}
.conclusion{background:#f0f7ff;padding:.6rem .9rem;border-radius:4px}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}
.muted{color:#777;font-size:.85rem}
"""


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


def _table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0].keys())
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if isinstance(value, float):
                text = "-" if not np.isfinite(value) else (f"{value:.4g}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.2e}")
            else:
                text = "-" if value is None else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------------- sections
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
    curve = history.loss or history.window_loss
    if curve:
        figure = _figure()
        ax = figure.add_subplot()
        x = np.arange(1, len(curve) + 1)
        positive = all(v > 0 for v in curve + history.val_loss)
        plot = ax.semilogy if positive else ax.plot
        plot(x, curve, label="training loss" if history.loss else "windowed training loss")
        if history.val_loss:
            plot(np.arange(1, len(history.val_loss) + 1), history.val_loss, label="validation loss")
        ax.set_xlabel("epoch" if history.loss else "window")
        ax.set_ylabel("loss")
        ax.legend()
        ax.set_title("loss")
        parts.append(figure_to_img(figure, "loss curves"))
    if history.monitor:
        parts.append(_monitor_plots(history.monitor))
    if history.config:
        parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(history.config, indent=1, default=str)) + "</pre>")
    return "\n".join(parts)


def _monitor_plots(records: list[dict[str, Any]]) -> str:
    steps = [r["step"] for r in records]
    n_layers = len(records[0]["layers"])
    figure = _figure(9, 3.4)
    left, right = figure.subplots(1, 2)
    for layer in range(n_layers):
        norms = [r["layers"][layer]["grad_norm"] for r in records]
        if all(v > 0 for v in norms):
            left.semilogy(steps, norms, label=f"layer {layer + 1}")
        else:
            left.plot(steps, norms, label=f"layer {layer + 1}")
        for key, style in (("saturated", "-"), ("dead", "--")):
            values = [r["layers"][layer].get(key) for r in records]
            if any(v is not None for v in values):
                right.plot(steps, [np.nan if v is None else v for v in values], style, label=f"layer {layer + 1} {key}")
    left.set_title("||dL/dW|| per layer")
    left.set_xlabel("step")
    left.legend(fontsize=7)
    right.set_title("saturated (solid) and dead (dashed) fractions")
    right.set_xlabel("step")
    right.set_ylim(-0.02, 1.02)
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=7)
    return "<h2>Gradient flow</h2>" + figure_to_img(figure, "per-layer gradient norms and unit health")


def _diagnosis_section(diagnosis: Any) -> str:
    parts = ["<h2>Diagnosis</h2>"]
    if not diagnosis.findings:
        parts.append("<p>No findings: the run looks healthy.</p>")
    for finding in diagnosis.findings:
        evidence = html.escape(json.dumps(finding.evidence, default=str))
        parts.append(
            f'<div class="finding {finding.severity}"><b>{html.escape(finding.severity)}: {html.escape(finding.code)}</b>'
            f"<p>{html.escape(finding.message)}</p><p><i>Suggestion:</i> {html.escape(finding.suggestion)}</p>"
            f'<p class="muted">evidence: {evidence}</p></div>'
        )
    return "\n".join(parts)


def _data_section(net: Any, X: np.ndarray, y: np.ndarray | None) -> str:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] not in (2, 3):
        return ""
    predictions = net.predict(X)
    colour = predictions[:, 1] if predictions.shape[1] == 2 else predictions.argmax(axis=1) if predictions.shape[1] > 2 else predictions[:, 0]
    figure = _figure(5.5, 4.5)
    if X.shape[1] == 3:
        ax = figure.add_subplot(projection="3d")
        points = ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=colour, cmap="coolwarm", s=12)
    else:
        ax = figure.add_subplot()
        points = ax.scatter(X[:, 0], X[:, 1], c=colour, cmap="coolwarm", s=14, edgecolors="k", linewidths=0.3)
    figure.colorbar(points, ax=ax, shrink=0.7, label="prediction")
    ax.set_title("data coloured by the network's prediction")
    return "<h2>Data</h2>" + figure_to_img(figure, "data coloured by prediction")


def _result_section(result: Any) -> str:
    parts = [
        f'<h2 id="{html.escape(result.name)}">{html.escape(result.name)}: {html.escape(result.title)}</h2>',
        f'<p class="muted">source: {html.escape(result.source)}</p>',
        _table(result.table),
        f'<p class="conclusion">{html.escape(result.conclusion)}</p>',
    ]
    parts += [figure_to_img(figure, f"{result.name} {name}") for name, figure in result.figures]
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
        sections.append("<h2>Network</h2><pre>" + html.escape(repr(net)) + "</pre>")
        if X is not None:
            sections.append(_data_section(net, X, y))
    body = "\n".join(s for s in sections if s)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"muted\">backproplab {html.escape(__version__)}</p>"
        f"{body}</body></html>\n"
    )


def write_report(path: str | os.PathLike[str], title: str = "backproplab report", **sections: Any) -> str:
    """Build the report and write it atomically to ``path``; returns the path."""
    text = build_report(title, **sections)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot write the report to {path!r}: the folder {folder!r} does not exist")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
