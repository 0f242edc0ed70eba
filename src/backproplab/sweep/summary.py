"""What a sweep found: per-configuration summary, and three plots (matplotlib's Figure API, no pyplot).

- a heatmap of the median metric over two varied parameters (median over seeds and any other
  varied parameter);
- the distribution of steps-to-target per configuration (runs that reached the target);
- the counts of diagnosis codes among the stalled runs (those that did not reach the target, or,
  when the configuration sets no target, those whose diagnosis found something).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._format import num, percent
from .config import SweepConfig
from .table import format_cell, is_missing

__all__ = ["SweepResult"]


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={format_cell(value)}" for name, value in params.items()) or "(one configuration)"


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    q25, q50, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(q25), float(q50), float(q75)


def _figure(width: float = 6.4, height: float = 4.0) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("sweep plots need matplotlib: pip install 'backproplab[plot]'") from None
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


@dataclass
class SweepResult:
    """The rows of a sweep (ordered by configuration point and seed) and how they were obtained.

    ``executed`` runs ran in this call, ``skipped`` were already in the table; ``retries`` lists the
    lost-worker errors after which the missing runs were resubmitted.
    """

    config: SweepConfig
    rows: list[dict[str, Any]]
    path: str | None = None
    parquet: str | None = None
    executed: int = 0
    skipped: int = 0
    retries: list[str] = field(default_factory=list)
    backend: str = "loky"

    def stalled(self, row: dict[str, Any]) -> bool:
        """A run that did not reach the target (or, without a target, one with diagnosis codes)."""
        if self.config.has_target:
            return not row["reached"]
        return bool(row.get("diagnosis"))

    def groups(self) -> dict[int, list[dict[str, Any]]]:
        grouped: dict[int, list[dict[str, Any]]] = {}
        for row in self.rows:
            grouped.setdefault(int(row["point"]), []).append(row)
        return grouped

    def summary(self, metric: str | None = None) -> list[dict[str, Any]]:
        """One dict per configuration: its parameters, runs, reached fraction, steps-to-target and
        metric quartiles, and the most common diagnosis codes of its stalled runs."""
        metric = metric or self.config.metric
        table = []
        for rows in self.groups().values():
            params = {name: rows[0].get(name) for name in self.config.varied}
            reached = [row for row in rows if row["reached"]]
            steps = _quartiles([row["steps"] for row in reached])
            values = _quartiles([row[metric] for row in rows if not is_missing(row.get(metric))])
            codes = Counter(code for row in rows if self.stalled(row) for code in str(row.get("diagnosis") or "").split(";") if code)
            table.append({
                **params, "runs": len(rows), "reached": len(reached) / len(rows),
                "steps_median": steps[1], "steps_q25": steps[0], "steps_q75": steps[2],
                f"{metric}_median": values[1], f"{metric}_q25": values[0], f"{metric}_q75": values[2],
                "stalled": sum(self.stalled(row) for row in rows),
                "stall_codes": ", ".join(f"{code} {count}" for code, count in codes.most_common(3)),
            })
        return table

    def format_summary(self, metric: str | None = None) -> str:
        """The summary as aligned text, numbers to 3 significant digits."""
        metric = metric or self.config.metric
        lines = []
        for entry in self.summary(metric):
            params = _label({name: entry[name] for name in self.config.varied})
            steps = (f"steps to target {_count(entry['steps_median'])} (IQR {_count(entry['steps_q25'])}-{_count(entry['steps_q75'])})"
                     if self.config.has_target and not np.isnan(entry["steps_median"]) else "")
            parts = [f"{entry['runs']} runs", f"reached {percent(entry['reached'])}" if self.config.has_target else "",
                     steps, f"{metric} median {num(entry[f'{metric}_median'])}",
                     f"stalled: {entry['stall_codes']}" if entry["stall_codes"] else ""]
            lines.append(f"{params}: " + "; ".join(part for part in parts if part))
        return "\n".join(lines)

    def stall_codes(self) -> dict[str, int]:
        """Counts of each diagnosis code among stalled runs ("(none)": stalled, nothing diagnosed)."""
        counts: Counter[str] = Counter()
        for row in self.rows:
            if self.stalled(row):
                codes = [code for code in str(row.get("diagnosis") or "").split(";") if code]
                counts.update(codes or ["(none)"])
        return dict(counts.most_common())

    def heatmap(self, x: str | None = None, y: str | None = None, metric: str | None = None) -> tuple[list[Any], list[Any], np.ndarray]:
        """``(x values, y values, medians)`` with ``medians[i, j]`` the median metric at ``y[i], x[j]``."""
        metric = metric or self.config.metric
        names = self.config.heatmap or self.config.varied
        if x is None or y is None:
            if len(names) < 2:
                raise ValueError(f"a heatmap needs two varied parameters; this sweep varies {self.config.varied}")
            x, y = names[0], names[1]
        xs = sorted({format_cell(row[x]) for row in self.rows}, key=_natural)
        ys = sorted({format_cell(row[y]) for row in self.rows}, key=_natural)
        cells: dict[tuple[str, str], list[float]] = {}
        for row in self.rows:
            if not is_missing(row.get(metric)):
                cells.setdefault((format_cell(row[y]), format_cell(row[x])), []).append(float(row[metric]))
        grid = np.full((len(ys), len(xs)), np.nan)
        for (ky, kx), values in cells.items():
            grid[ys.index(ky), xs.index(kx)] = float(np.median(values))
        return xs, ys, grid

    def heatmap_figure(self, x: str | None = None, y: str | None = None, metric: str | None = None) -> Any:
        metric = metric or self.config.metric
        names = self.config.heatmap or self.config.varied
        x, y = x or names[0], y or (names[1] if len(names) > 1 else None)
        xs, ys, grid = self.heatmap(x, y, metric)
        figure = _figure()
        ax = figure.add_subplot()
        image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        for i in range(len(ys)):
            for j in range(len(xs)):
                ax.text(j, i, num(grid[i, j]), ha="center", va="center", color="white", fontsize=8)
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(str(x))
        ax.set_ylabel(str(y))
        ax.set_title(f"median {metric} over seeds")
        figure.colorbar(image, ax=ax, label=metric)
        return figure

    def steps_figure(self) -> Any:
        """Box plots of steps-to-target per configuration; the label counts the runs that stalled."""
        figure = _figure(width=max(6.4, 1.2 * len(self.groups())))
        ax = figure.add_subplot()
        labels, data = [], []
        for rows in self.groups().values():
            reached = [row["steps"] for row in rows if row["reached"]]
            labels.append(_label({n: rows[0].get(n) for n in self.config.varied}).replace(", ", "\n")
                          + f"\n({len(rows) - len(reached)}/{len(rows)} stalled)")
            data.append(reached or [np.nan])
        ax.boxplot(data)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        ax.set_ylabel("steps to target")
        ax.set_title("steps to target per configuration (runs that reached it)")
        return figure

    def stalls_figure(self) -> Any:
        """A bar per diagnosis code: how many stalled runs it was found in."""
        counts = self.stall_codes()
        figure = _figure()
        ax = figure.add_subplot()
        ax.barh(list(counts)[::-1], list(counts.values())[::-1])
        ax.set_xlabel("stalled runs")
        stalled = sum(self.stalled(row) for row in self.rows)
        ax.set_title(f"diagnosis codes among the {stalled} stalled runs of {len(self.rows)}")
        return figure

    def save_plots(self, folder: str | os.PathLike[str]) -> list[str]:
        """Write heatmap.png (when two parameters vary), steps.png and stalls.png; returns the paths."""
        from .._io import atomic_write

        os.makedirs(folder, exist_ok=True)
        figures = {"steps": self.steps_figure(), "stalls": self.stalls_figure()}
        if len(self.config.varied) >= 2:
            figures["heatmap"] = self.heatmap_figure()
        written = []
        for name, figure in figures.items():
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100)
            written.append(atomic_write(os.path.join(os.fspath(folder), f"{name}.png"), buffer.getvalue()))
        return written

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "parquet": self.parquet, "runs": len(self.rows), "executed": self.executed,
                "skipped": self.skipped, "retries": self.retries, "backend": self.backend,
                "fingerprint": self.config.fingerprint(), "summary": self.summary(), "stall_codes": self.stall_codes()}


def _count(value: float) -> str:
    """A step count: whole numbers as integers, others to 3 significant digits."""
    return num(int(value)) if float(value).is_integer() else num(value)


def _natural(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)
