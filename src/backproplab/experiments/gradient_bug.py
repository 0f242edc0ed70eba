"""seed-gradient-bug: check_gradient exposes the question's hidden delta at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import datasets
from .._format import num, percent
from ..gradcheck import GradCheckResult, check_gradient
from . import question
from .base import ExperimentResult, new_figure

QUICK = {"iterations": 5000, "path_points": 100}
FULL = {"iterations": 40_000, "path_points": 400}
_LABELS = {True: "question's gradient", False: "exact gradient"}
"""The two gradients compared, by ``buggy`` flag of :func:`question.gradients`."""


def run(seed: int = 0, quick: bool = False) -> ExperimentResult:
    X, Y = datasets.qa_toy()
    params = question.init_weights(4, 3, 4, np.random.default_rng(seed))
    checks = _checks(params, X, Y)
    config = QUICK if quick else FULL
    iterations = config["iterations"]
    every = max(iterations // 200, 1)
    curves, moved = _train_both(params, X, Y, iterations, every)
    paths = {name: _along_path(*data, seed, config["path_points"]) for name, data in
             (("data set 1", (X, Y)), ("data set 2", datasets.noise(20, 7, 2, seed=seed)))}
    bug = checks["question's gradient"]
    exact = checks["exact gradient"]
    moved_bug = moved["question's gradient"]
    bug_final, exact_final = curves["question's gradient"][-1], curves["exact gradient"][-1]
    conclusion = (
        f"A finite-difference check exposes the bug at once: the question's hidden-layer gradient has relative "
        f"error {num(bug.params[0].max_rel_error)} (the output weight *update* stands where the output weights "
        f"belong), while its output-layer gradient is right ({num(bug.params[1].max_rel_error)}). The exact gradient "
        f"passes with relative error {num(exact.max_rel_error)}. So the hidden layer barely learns: after "
        f"{num(iterations)} iterations its weights moved by {num(moved_bug)} (exact: {num(moved['exact gradient'])}), "
        f"and the SSE is {num(bug_final)} against {num(exact_final)} with the exact gradient. The accepted answer (store the result "
        f"in a variable before returning it) changes none of these numbers. {_path_sentence(paths)}"
    )
    return ExperimentResult(
        name="seed-gradient-bug",
        title="the question's hidden delta against the exact gradient",
        source="question: hidden delta computed from the output weight update instead of the output weights",
        table=_check_rows(checks),
        conclusion=conclusion,
        figures=_figures(curves, every),
        data={"buggy_rel_error": bug.max_rel_error, "exact_rel_error": exact.max_rel_error,
              "final_sse": {"bug": bug_final, "exact": exact_final}, "hidden_weight_change": moved, "along_path": paths},
        headline={"claim": "hidden gradient silently wrong", "ours": f"gradcheck rel error {num(bug.max_rel_error)} (bug) vs {num(exact.max_rel_error)} (exact)"},
    )


def _checks(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> dict[str, GradCheckResult]:
    """check_gradient on the question's gradient and on the exact one, at ``params``."""
    def loss_fn(p):
        return question.half_sse(p, X, Y)

    def gradients(buggy: bool):
        return lambda p: question.gradients(p, X, Y, buggy)

    return {label: check_gradient(loss_fn, gradients(buggy), params, names=["V (hidden)", "W (output)"])
            for buggy, label in _LABELS.items()}


def _check_rows(checks: dict[str, GradCheckResult]) -> list[dict[str, Any]]:
    return [{"gradient": label, "array": p.name, "max rel error": p.max_rel_error,
             "analytic": p.analytic, "numeric": p.numeric, "passed": p.passed}
            for label, result in checks.items() for p in result.params]


def _train_both(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray, iterations: int,
                every: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The question's train() with each gradient: the SSE curves and how far the hidden weights moved."""
    curves, moved = {}, {}
    for buggy, label in _LABELS.items():
        run_ = question.train(params, X, Y, tol=0.0, buggy=buggy, max_iterations=iterations, curve_every=every)
        curves[label] = run_.sse_curve
        moved[label] = float(np.linalg.norm(run_.params[0] - params[0]))
    return curves, moved


def _figures(curves: dict[str, list[float]], every: int) -> list[tuple[str, Any]]:
    figure = new_figure()
    if figure is None:
        return []
    ax = figure.add_subplot()
    steps = np.arange(len(curves["exact gradient"])) * every
    for label, style in (("question's gradient", "r-"), ("exact gradient", "b-")):
        ax.semilogy(steps[: len(curves[label])], curves[label], style, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("SSE")
    ax.set_title("the question's data set 1: loss with each gradient")
    ax.legend()
    return [("loss", figure)]


def _along_path(X: np.ndarray, Y: np.ndarray, seed: int, points: int, every: int = 100) -> dict[str, float]:
    """Train with the question's gradient; every ``every`` iterations compare its hidden gradient with
    the exact one at the same weights: cosine and norm ratio."""
    params = question.init_weights(X.shape[1], 3, Y.shape[1], np.random.default_rng(seed))
    cosines, scales = [], []
    for step in range(points * every):
        dV_bug, dW = question.gradients(params, X, Y, buggy=True)
        if step % every == 0:
            dV = question.gradients(params, X, Y, buggy=False)[0]
            norms = float(np.linalg.norm(dV_bug) * np.linalg.norm(dV))
            cosines.append(float(np.sum(dV_bug * dV)) / norms if norms else float("nan"))
            scales.append(float(np.linalg.norm(dV_bug) / np.linalg.norm(dV)))
        params = [params[0] - question.LR * dV_bug, params[1] - question.LR * dW]
    c = np.array(cosines)
    return {"cosine_start": float(c[0]), "cosine_median": float(np.nanmedian(c)), "negative": float(np.mean(c < 0)),
            "scale_min": float(np.min(scales)), "scale_max": float(np.max(scales)), "iterations": points * every}


def _path_sentence(paths: dict[str, dict[str, float]]) -> str:
    one, two = paths["data set 1"], paths["data set 2"]
    return (
        f"Along its own training path (every 100 iterations, {num(one['iterations'])} in all) the buggy hidden "
        f"gradient's cosine with the true one is {num(one['cosine_start'])} at the start and has a median of "
        f"{num(one['cosine_median'])} on data set 1 (negative {percent(one['negative'])} of the time), but a median "
        f"of {num(two['cosine_median'])} on data set 2 (negative {percent(two['negative'])}); its norm is "
        f"{percent(min(one['scale_min'], two['scale_min']))}-{percent(max(one['scale_max'], two['scale_max']))} of "
        f"the true gradient's.{' Its main defect is size.' if max(one['scale_max'], two['scale_max']) < 0.1 else ''}"
    )
