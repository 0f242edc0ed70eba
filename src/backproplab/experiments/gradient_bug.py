"""seed-gradient-bug: check_gradient exposes the question's hidden delta at once."""

from __future__ import annotations

import numpy as np

from .. import datasets
from ..gradcheck import check_gradient
from . import question
from .base import ExperimentResult, new_figure


def run(seed: int = 0, quick: bool = False) -> ExperimentResult:
    X, Y = datasets.qa_toy()
    params = question.init_weights(4, 3, 4, np.random.default_rng(seed))

    def loss_fn(p):
        return question.half_sse(p, X, Y)

    def gradients(buggy: bool):
        return lambda p: question.gradients(p, X, Y, buggy)

    checks = {}
    for buggy, label in ((True, "question's gradient"), (False, "exact gradient")):
        checks[label] = check_gradient(loss_fn, gradients(buggy), params, names=["V (hidden)", "W (output)"])
    table = []
    for label, result in checks.items():
        for p in result.params:
            table.append({
                "gradient": label, "array": p.name, "max rel error": p.max_rel_error,
                "analytic": p.analytic, "numeric": p.numeric, "passed": p.passed,
            })

    iterations = 5000 if quick else 40_000
    every = max(iterations // 200, 1)
    curves = {}
    moved = {}
    for buggy, label in ((True, "question's gradient"), (False, "exact gradient")):
        run_ = question.train(params, X, Y, tol=0.0, buggy=buggy, max_iterations=iterations, curve_every=every)
        curves[label] = run_.sse_curve
        moved[label] = float(np.linalg.norm(run_.params[0] - params[0]))
    bug = checks["question's gradient"]
    exact = checks["exact gradient"]
    moved_bug = moved["question's gradient"]
    bug_final, exact_final = curves["question's gradient"][-1], curves["exact gradient"][-1]
    conclusion = (
        f"A finite-difference check exposes the bug at once: the question's hidden-layer gradient has relative "
        f"error {bug.params[0].max_rel_error:.2g} (it is scaled by the learning rate, because the output weight "
        f"*update* stands where the output weights belong), while its output-layer gradient is right "
        f"({bug.params[1].max_rel_error:.1e}). The exact gradient passes with relative error "
        f"{exact.max_rel_error:.1e}. So the hidden layer barely learns: after {iterations} iterations its weights "
        f"moved by {moved_bug:.3g} (exact: {moved['exact gradient']:.3g}), and the SSE is "
        f"{bug_final:.3g} against {exact_final:.3g} with the exact gradient. The accepted answer (store the result "
        f"in a variable before returning it) changes none of these numbers."
    )
    figures = []
    figure = new_figure()
    if figure is not None:
        ax = figure.add_subplot()
        steps = np.arange(len(curves["exact gradient"])) * every
        for label, style in (("question's gradient", "r-"), ("exact gradient", "b-")):
            ax.semilogy(steps[: len(curves[label])], curves[label], style, label=label)
        ax.set_xlabel("iteration")
        ax.set_ylabel("SSE")
        ax.set_title("the question's data set 1: loss with each gradient")
        ax.legend()
        figures.append(("loss", figure))
    return ExperimentResult(
        name="seed-gradient-bug",
        title="the question's hidden delta against the exact gradient",
        source="question: hidden delta computed from the output weight update instead of the output weights",
        table=table,
        conclusion=conclusion,
        figures=figures,
        data={"buggy_rel_error": bug.max_rel_error, "exact_rel_error": exact.max_rel_error,
              "final_sse": {"bug": bug_final, "exact": exact_final}, "hidden_weight_change": moved},
        headline={"claim": "hidden gradient silently wrong", "ours": f"gradcheck rel error {bug.max_rel_error:.2g} (bug) vs {exact.max_rel_error:.1e} (exact)"},
    )
