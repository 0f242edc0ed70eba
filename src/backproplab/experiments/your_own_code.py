"""your-own-code: the sources' own hand-written loops, re-created, with ``bp.Probe`` added in four lines.

The classes and functions below are written the way a learner writes them (SEEDS.md: source A's
class, source B's loop and its appendix), flaws included, and are *not* backproplab's implementation.
Each takes an optional ``probe``; the lines marked ``# probe`` are the only additions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _format, datasets
from ..probe import Probe
from .base import ExperimentResult, new_figure


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class QuestionNet:
    """Source A's class: bias as a -1 input, U[0,1) weights, full-batch GD, the gradient-norm stop rule."""

    def __init__(self, n_hidden: int = 3, learning_rate: float = 10e-4, fixed: bool = False, seed: int = 0) -> None:
        self.n_hidden, self.learning_rate, self.fixed, self.seed = n_hidden, learning_rate, fixed, seed

    def forward(self, X: np.ndarray, W_input: np.ndarray, W_hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X_b = np.hstack([X, -np.ones((len(X), 1))])
        hidden = sigmoid(X_b @ W_input)
        hidden_b = np.hstack([hidden, -np.ones((len(X), 1))])
        return hidden, hidden_b @ W_hidden

    def train(self, X: np.ndarray, Y: np.ndarray, tol: float, max_iterations: int = 200_000, probe: Probe | None = None) -> QuestionNet:
        rng = np.random.default_rng(self.seed)
        self.W_input = rng.random((X.shape[1] + 1, self.n_hidden))
        self.W_hidden = rng.random((self.n_hidden + 1, Y.shape[1]))
        X_b = np.hstack([X, -np.ones((len(X), 1))])
        for iteration in range(max_iterations):
            hidden, output = self.forward(X, self.W_input, self.W_hidden)
            hidden_b = np.hstack([hidden, -np.ones((len(X), 1))])
            error = output - Y
            E_output = np.zeros_like(self.W_hidden)
            for sample in range(len(X)):  # the output gradient: a sum over samples
                E_output += np.outer(hidden_b[sample], error[sample])
            delta_W_hidden = -self.learning_rate * E_output
            back = self.W_hidden if self.fixed else delta_W_hidden  # the question's bug: the update, not the weights
            delta_hidden = (error @ back[:-1].T) * hidden * (1 - hidden)
            E_hidden = X_b.T @ delta_hidden
            if probe is not None:  # probe
                probe.record(iteration, loss=np.sum(error**2), weights=[self.W_input, self.W_hidden],  # probe
                             grads=[E_hidden, E_output], activations=[hidden, output], X=X, y=Y)  # probe
            if np.sum(E_hidden**2) + np.sum(E_output**2) < tol:
                break
            self.W_hidden += delta_W_hidden
            self.W_input -= self.learning_rate * E_hidden
        self.iterations = iteration
        return self

    def sse(self, weights: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
        """The question's metric, the sum of squared errors, at ``weights = [W_input, W_hidden]``."""
        return float(np.sum((self.forward(X, *weights)[1] - Y) ** 2))


def blog_steps(X: np.ndarray, y: np.ndarray, seed: int = 0, probe: Probe | None = None) -> Iterator[dict[str, Any]]:
    """Source B's loop, one step per ``next()``: 3-3-2-1 sigmoid, N(0,1) init, batch 128 of 200, one delta
    per unit summed over the batch, the update as an outer product of batch means, divisions by the batch
    size more than once. (A generator only so that benchmarks can interleave loops step by step.)"""
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(3, 3)), rng.normal(size=3)
    W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=2)
    W3, b3 = rng.normal(size=(2, 1)), rng.normal(size=1)
    lr, n = 0.1, 128
    for step in itertools.count():
        batch = rng.choice(len(X), n, replace=False)
        x, t = X[batch], y[batch]
        a1 = sigmoid(x @ W1 + b1)
        a2 = sigmoid(a1 @ W2 + b2)
        a3 = sigmoid(a2 @ W3 + b3)
        loss = np.mean((a3 - t) ** 2)
        sig3 = np.sum((a3[:, 0] - t[:, 0]) * a3[:, 0] * (1 - a3[:, 0])) / n
        sig2_0 = sig3 * W3[0, 0] * np.sum(a2[:, 0] * (1 - a2[:, 0])) / n
        sig2_1 = sig3 * W3[1, 0] * np.sum(a2[:, 1] * (1 - a2[:, 1])) / n
        sig1_0 = np.sum(a1[:, 0] * (1 - a1[:, 0])) / n * (sig2_0 * W2[0, 0] + sig2_1 * W2[0, 1])
        sig1_1 = np.sum(a1[:, 1] * (1 - a1[:, 1])) / n * (sig2_0 * W2[1, 0] + sig2_1 * W2[1, 1])
        sig1_2 = np.sum(a1[:, 2] * (1 - a1[:, 2])) / n * (sig2_0 * W2[2, 0] + sig2_1 * W2[2, 1])
        sig2, sig1 = np.array([sig2_0, sig2_1]), np.array([[sig1_0], [sig1_1], [sig1_2]])
        dW3 = np.outer(np.sum(a2, axis=0) / n, [sig3])
        dW2 = np.outer(np.sum(a1, axis=0) / n, sig2)
        dW1 = np.sum(x, axis=0) / n * np.transpose(sig1)  # (3,) times (1, 3): one row, broadcast on every row of W1
        if probe is not None:  # probe
            probe.record(step, loss=loss, weights=[W1, b1, W2, b2, W3, b3], grads=[dW1, sig1, dW2, sig2, dW3, np.array([sig3])],  # probe
                         activations=[a1, a2], X=X, y=y)  # probe
        W1 -= lr * dW1
        b1 -= lr * sig1[:, 0]
        W2 -= lr * dW2
        b2 -= lr * sig2
        W3 -= lr * dW3
        b3 -= lr * sig3
        yield {"weights": [W1, b1, W2, b2, W3, b3], "batch": (x, t), "loss": float(loss)}


def blog_loop(X: np.ndarray, y: np.ndarray, steps: int, seed: int = 0, probe: Probe | None = None) -> dict[str, Any]:
    """Run :func:`blog_steps` for ``steps`` steps; the last state (weights, last batch, its loss)."""
    run = blog_steps(X, y, seed, probe)
    state: dict[str, Any] = {}
    for _ in range(steps):
        state = next(run)
    return state


def blog_mse(weights: list[np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    W1, b1, W2, b2, W3, b3 = weights
    a3 = sigmoid(sigmoid(sigmoid(x @ W1 + b1) @ W2 + b2) @ W3 + b3)
    return float(np.mean((a3 - t) ** 2))


def xor_appendix(steps: int = 10_000, seed: int = 0, probe: Probe | None = None) -> dict[str, Any]:
    """The appendix: 2-3-2 tanh/softmax, cross-entropy, gradient summed over the 4 samples, aliased delta."""
    X, y = datasets.xor()
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(2, 3)) / np.sqrt(2), np.zeros((1, 3))
    W2, b2 = rng.normal(size=(3, 2)) / np.sqrt(3), np.zeros((1, 2))
    for step in range(steps):
        a1 = np.tanh(X @ W1 + b1)
        scores = np.exp(a1 @ W2 + b2)
        probs = scores / np.sum(scores, axis=1, keepdims=True)
        delta3 = probs  # aliased: the next line overwrites the probabilities
        delta3[range(len(X)), y] -= 1
        dW2, db2 = a1.T @ delta3, np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3 @ W2.T * (1 - a1**2)
        dW1, db1 = X.T @ delta2, np.sum(delta2, axis=0)
        if probe is not None:  # probe
            probe.record(step, weights=[W1, b1, W2, b2], grads=[dW1, db1, dW2, db2], activations=[a1], X=X, y=y)  # probe
        W1 -= 0.01 * dW1
        b1 -= 0.01 * db1
        W2 -= 0.01 * dW2
        b2 -= 0.01 * db2
    return {"weights": [W1, b1, W2, b2], "printed": probs}


def xor_mean_ce(weights: list[np.ndarray]) -> float:
    W1, b1, W2, b2 = weights
    X, y = datasets.xor()
    z = np.tanh(X @ W1 + b1) @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return float(-np.mean(log_p[range(len(X)), y]))


def run(seed: int = 0, quick: bool = False) -> ExperimentResult:
    """Probe each re-created loop; check its gradient against its own loss and diagnose it."""
    rows, texts = [], []
    X1, Y1 = datasets.qa_toy()
    for label, fixed in (("question, data set 1 (as posted)", False), ("question, data set 1, hidden delta fixed", True)):
        probe = Probe()
        net = QuestionNet(fixed=fixed, seed=seed).train(X1, Y1, tol=1.0, probe=probe)
        check = probe.check_gradient(lambda w, net=net: net.sse(w, X1, Y1))
        rows.append({"loop": label, "steps": net.iterations, "check": check.headline.split(":")[0]})
        texts.append(f"--- {label}\n{probe.describe()}\n{check}")
    X2, Y2 = datasets.noise(seed=seed)
    probe = Probe()
    net = QuestionNet(seed=seed).train(X2, Y2, tol=0.1 if quick else 0.01, probe=probe)
    diagnosis = _diagnose_text(probe, seed)
    rows.append({"loop": "question, data set 2", "steps": net.iterations, "check": "(diagnose)"})
    texts.append(f"--- question, data set 2 (noise)\n{probe.describe()}\n{diagnosis}")
    X, y = datasets.two_spheres(seed=seed)
    probe = Probe()
    out = blog_loop(X, y, steps=500 if quick else 2000, seed=seed, probe=probe)
    check = probe.check_gradient(lambda w: blog_mse(w, *out["batch"]))
    figures = _blog_figures(probe, check)
    rows.append({"loop": "blog, 3-3-2-1 sigmoid", "steps": probe.n_records, "check": check.headline.split(":")[0]})
    texts.append(f"--- blog loop\n{probe.describe()}\n{check}\n{_diagnose_text(probe, seed)}")
    probe = Probe(every=10)
    xor_appendix(steps=2000 if quick else 10_000, seed=seed, probe=probe)
    check = probe.check_gradient(xor_mean_ce)
    rows.append({"loop": "blog appendix, XOR", "steps": probe.n_calls, "check": check.headline.split(":")[0]})
    texts.append(f"--- XOR appendix\n{probe.describe()}\n{check}")
    return ExperimentResult(
        name="your-own-code", title="bp.Probe on the sources' own hand-written loops",
        source="question's class, blog's loop and appendix, re-created with four probe lines each",
        table=rows, conclusion="\n\n".join(texts), figures=figures,
        headline={"claim": "hand-written loops that 'work but stall'", "ours": "; ".join(f"{r['loop']}: {r['check']}" for r in rows)},
        data={"rows": rows, "seed": seed, "format": _format.num(1.0)},
    )


def _blog_figures(probe: Probe, check: Any) -> list[tuple[str, Any]]:
    """The blog loop's recorded per-array gradient norms, and each array's cosine with the true gradient."""
    figure = new_figure(9, 3.6)
    if figure is None:
        return []
    left, right = figure.subplots(1, 2)
    stats = probe.statistics()
    for name, norms in stats["grad_norms"].items():
        left.semilogy(stats["steps"], norms, label=name)
    left.set_xlabel("step")
    left.set_ylabel("||recorded gradient||")
    left.set_title("blog loop: what the probe recorded")
    left.legend(fontsize=7)
    names = [a.name for a in check.arrays]
    right.bar(names, [a.cosine for a in check.arrays], color=["tab:green" if a.direction_ok else "tab:red" for a in check.arrays])
    right.axhline(1.0, color="k", ls=":")
    right.set_ylim(-1.05, 1.05)
    right.set_ylabel("cosine(recorded, finite differences)")
    right.set_title(f"check_gradient at step {check.step}")
    return [("blog-probe", figure)]


def _diagnose_text(probe: Probe, seed: int) -> str:
    try:
        return str(probe.diagnose(seed=seed))
    except RuntimeError as error:  # diagnose_record not in this build
        return f"(diagnosis unavailable: {error})"
