"""What every experiment returns, and the small helpers they share."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import atomic_write
from .._validation import plain

__all__ = ["ExperimentResult", "Experiment", "format_table", "new_figure"]


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "-"
        number = float(value)
        if number == 0 or 1e-3 <= abs(number) < 1e5:
            return f"{number:.4g}"
        return f"{number:.2e}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table; floats to 4 significant digits."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))) for r in cells]
    return "\n".join([line, rule, *body])


@dataclass
class ExperimentResult:
    """An experiment's measurements.

    ``table`` holds the rows to compare with the source; ``conclusion`` is written from the measured
    numbers; ``figures`` are (name, matplotlib Figure) pairs (empty without matplotlib); ``data``
    keeps everything else worth saving; ``headline`` is the one-line source-vs-ours summary.
    """

    name: str
    title: str
    source: str
    table: list[dict[str, Any]]
    conclusion: str
    figures: list[tuple[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    headline: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "name": self.name,
                "title": self.title,
                "source": self.source,
                "table": self.table,
                "conclusion": self.conclusion,
                "headline": self.headline,
                "data": self.data,
                "figures": [name for name, _ in self.figures],
                "seconds": self.seconds,
            }
        )

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            atomic_write(path, text)
        return text

    def render(self) -> str:
        return "\n".join(
            [
                f"== {self.name}: {self.title} ==",
                f"source: {self.source}",
                "",
                format_table(self.table),
                "",
                "conclusion: " + self.conclusion,
                f"({self.seconds:.2f} s)",
            ]
        )

    def save_figures(self, folder: str | os.PathLike[str]) -> list[str]:
        paths = []
        for name, figure in self.figures:
            path = os.path.join(os.fspath(folder), f"{self.name}-{name}.png")
            atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=90))  # noqa: B023 (called here)
            paths.append(path)
        return paths


@dataclass
class Experiment:
    name: str
    summary: str
    run: Callable[..., ExperimentResult]
    many_seeds: bool = False
    """True when ``--seeds N --backend`` apply (the per-seed runs go through ``sweep.parallel_map``)."""

    def __call__(self, seed: int = 0, quick: bool = False, seeds: int | None = None, backend: str | None = None,
                 scheduler: str | None = None) -> ExperimentResult:
        import time

        from . import shared

        if (seeds is not None or backend is not None or scheduler is not None) and not self.many_seeds:
            raise ValueError(f"--seeds/--backend/--scheduler: experiment {self.name!r} does not run over seeds; "
                             "they apply to activation-race, batch-mean-update and tolerance-sweep")
        if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
            raise ValueError(f"--seeds must be an integer >= 1, got {seeds!r}")
        start = time.perf_counter()
        with shared.overridden(seeds, backend, scheduler):
            result = self.run(seed=seed, quick=quick)
        result.seconds = time.perf_counter() - start
        return result


def new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    """A matplotlib Figure on the Agg canvas (no pyplot state), or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
