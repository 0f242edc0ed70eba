"""Reproductions of every experiment in the two source documents, with a registry and the demo."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .._validation import choose
from . import (
    activation_race,
    batch_mean_update,
    blog_time,
    gradient_bug,
    stall,
    tolerance_sweep,
    vanishing_gradient,
    xor,
    your_own_code,
)
from .base import Experiment, ExperimentResult, format_table

__all__ = ["REGISTRY", "get", "run_all", "run_demo", "Experiment", "ExperimentResult", "format_table"]

REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("tolerance-sweep", "the question's data set 1 at tol 1..1e-4, independent starts of its train()", tolerance_sweep.run, many_seeds=True),
        Experiment("stall", "the question's data set 2: the bug freezes the hidden layer; noise stops generalisation", stall.run),
        Experiment("seed-gradient-bug", "check_gradient on the question's hidden delta vs the exact one", gradient_bug.run),
        Experiment("vanishing-gradient", "the blog's deltas at init and along its run, beside exact per-layer norms", vanishing_gradient.run),
        Experiment("activation-race", "the blog's rule as written, sigmoid and ReLU, to its target; exact gradients", activation_race.run, many_seeds=True),
        Experiment("batch-mean-update", "the blog's delta-of-means update: convergence and cosine along its path", batch_mean_update.run, many_seeds=True),
        Experiment("blog-time", "the blog's 1037 s as steps x per-step cost, both measured here", blog_time.run),
        Experiment("xor", "the blog appendix's XOR network as written, and our defaults", xor.run),
        Experiment("your-own-code", "bp.Probe on the sources' own hand-written loops: the proof and the cause", your_own_code.run),
    )
}
# further experiments register below, one line each (REGISTRY[e.name] = e)


def get(name: str) -> Experiment:
    """An experiment by name, listing the valid names when it is unknown."""
    return REGISTRY[choose("experiment", name, REGISTRY)]


def run_all(seed: int = 0, quick: bool = False) -> list[ExperimentResult]:
    return [experiment(seed=seed, quick=quick) for experiment in REGISTRY.values()]


def run_demo(
    out: str | None = None,
    seed: int = 0,
    quick: bool = False,
    on_result: Callable[[ExperimentResult], None] | None = None,
) -> dict[str, Any]:
    """Run every experiment; write figures, JSON and the HTML report to ``out`` when given.

    ``on_result`` is called with each result as it finishes (the CLI prints it). Returns the summary
    rows (source figure beside ours), the results, the files written and the elapsed seconds.
    """
    start = time.perf_counter()
    from . import shared

    shared.prefetch(seed, quick)  # the blog's long runs overlap with the other experiments
    results = []
    for experiment in REGISTRY.values():
        result = experiment(seed=seed, quick=quick)
        results.append(result)
        if on_result is not None:
            on_result(result)
    summary = [
        {"experiment": r.name, "source": r.headline.get("claim", ""), "backproplab": r.headline.get("ours", ""), "s": r.seconds}
        for r in results
    ]
    written = []
    if out:
        os.makedirs(out, exist_ok=True)
        for result in results:
            written += result.save_figures(out)
            result.to_json(os.path.join(out, f"{result.name}.json"))
        from ..report import write_report

        report_path = os.path.join(out, "report.html")
        write_report(report_path, title="backproplab demo: the two source documents, reproduced", results=results)
        written.append(report_path)
    return {"summary": summary, "results": results, "files": written, "seconds": time.perf_counter() - start}
