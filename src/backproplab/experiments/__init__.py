"""Reproductions of every experiment in the two source documents, with a registry and the demo."""

from __future__ import annotations

import json
import os
import time

from .._validation import choose
from . import activation_race, batch_mean_update, gradient_bug, stall, tolerance_sweep, vanishing_gradient, xor
from .base import Experiment, ExperimentResult, format_table

__all__ = ["REGISTRY", "get", "run_all", "run_demo", "Experiment", "ExperimentResult"]

REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("tolerance-sweep", "the question's data set 1 at tol 1..1e-4, buggy and exact gradient", tolerance_sweep.run),
        Experiment("stall", "the question's data set 2: noise, the constant baseline and a shuffled control", stall.run),
        Experiment("seed-gradient-bug", "check_gradient on the question's hidden delta vs the exact one", gradient_bug.run),
        Experiment("vanishing-gradient", "per-layer gradients of the blog's network, shallow and 8 layers deep", vanishing_gradient.run),
        Experiment("activation-race", "the blog's task per hidden activation over seeds, SGD and Adam", activation_race.run),
        Experiment("batch-mean-update", "the blog's outer product of batch means vs the exact gradient", batch_mean_update.run),
        Experiment("xor", "the blog appendix's XOR network and our defaults", xor.run),
    )
}


def get(name: str) -> Experiment:
    """An experiment by name, listing the valid names when it is unknown."""
    return REGISTRY[choose("experiment", name, REGISTRY)]


def run_all(seed: int = 0, quick: bool = False) -> list[ExperimentResult]:
    return [experiment(seed=seed, quick=quick) for experiment in REGISTRY.values()]


def run_demo(out: str | None = None, as_json: bool = False, seed: int = 0, quick: bool = False) -> int:
    """Run every experiment, print source-vs-ours, and write figures, JSON and the HTML report to ``out``."""
    start = time.perf_counter()
    results = []
    for experiment in REGISTRY.values():
        result = experiment(seed=seed, quick=quick)
        results.append(result)
        if not as_json:
            print(result.render(), end="\n\n", flush=True)
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
    elapsed = time.perf_counter() - start
    if as_json:
        print(json.dumps({"summary": summary, "results": [r.to_dict() for r in results], "files": written, "seconds": elapsed}, indent=1))
    else:
        print("== summary: source vs backproplab ==")
        print(format_table(summary))
        if out:
            print(f"\nwrote {len(written)} files to {out}/ (open {os.path.join(out, 'report.html')})")
        print(f"total {elapsed:.1f} s")
    return 0
