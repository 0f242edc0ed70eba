r"""The question's one-hidden-layer network, vectorised, with its hidden-gradient bug as a switch.

This is a faithful *comparison* model of the source's code (SEEDS.md, source A), not our
implementation: a bias is a constant input of -1 appended to the inputs and to the hidden
activations; weights start uniform in [0, 1); the loss is half the sum of squared errors (a sum, not a
mean); full-batch gradient descent with lr 1e-3; training stops when the sum of squared entries of
both gradient matrices drops below ``tol``.

Forward: ``H = sigmoid([X, -1] @ V)``, ``P = [H, -1] @ W``; ``L = 1/2 sum (P - Y)^2``.
Backward (exact): ``dW = [H, -1]^T (P - Y)``; ``delta_h = ((P - Y) @ W[:-1].T) * H (1 - H)``;
``dV = [X, -1]^T delta_h``.
The bug: ``delta_h`` uses the output weight *update* ``-lr * dW`` (taken after the update) where
``W`` belongs, so the hidden gradient is about ``lr * |dW| / |W|`` times too small and points the
wrong way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

LR = 1e-3


def with_bias(A: np.ndarray) -> np.ndarray:
    return np.hstack([A, -np.ones((A.shape[0], 1))])


def init_weights(n_in: int, n_hidden: int, n_out: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``[V, W]``: V of shape (n_in + 1, n_hidden), W of shape (n_hidden + 1, n_out), U[0, 1)."""
    return [rng.random((n_in + 1, n_hidden)), rng.random((n_hidden + 1, n_out))]


def predict(params: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    V, W = params
    return with_bias(expit(with_bias(X) @ V)) @ W


def half_sse(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    return 0.5 * float(np.sum((predict(params, X) - Y) ** 2))


def gradients(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray, buggy: bool, lr: float = LR) -> list[np.ndarray]:
    """``[dV, dW]`` of :func:`half_sse`: exact, or with the question's hidden-delta bug."""
    V, W = params
    Xb = with_bias(X)
    H = expit(Xb @ V)
    Hb = with_bias(H)
    error = Hb @ W - Y
    dW = Hb.T @ error
    back = -lr * dW if buggy else W  # the bug: the update stands where the weights belong
    delta_h = (error @ back[:-1].T) * H * (1 - H)
    return [Xb.T @ delta_h, dW]


@dataclass
class Run:
    iterations: int
    mae: float
    sse: float
    grad_sq: float
    converged: bool
    params: list[np.ndarray]
    sse_curve: list[float]


def train(
    params: list[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    tol: float,
    buggy: bool,
    max_iterations: int,
    lr: float = LR,
    curve_every: int = 0,
) -> Run:
    """The question's loop: compute both gradients; stop if their summed squares < tol; update."""
    params = [p.copy() for p in params]
    curve = []
    grad_sq = float("inf")
    iteration = 0
    for iteration in range(max_iterations + 1):
        dV, dW = gradients(params, X, Y, buggy, lr)
        grad_sq = float(np.sum(dV**2) + np.sum(dW**2))
        if curve_every and iteration % curve_every == 0:
            curve.append(2 * half_sse(params, X, Y))
        if grad_sq < tol or iteration == max_iterations:
            break
        params[0] -= lr * dV
        params[1] -= lr * dW
    P = predict(params, X)
    return Run(
        iterations=iteration,
        mae=float(np.mean(np.abs(P - Y))),
        sse=float(np.sum((P - Y) ** 2)),
        grad_sq=grad_sq,
        converged=grad_sq < tol,
        params=params,
        sse_curve=curve,
    )


def sweep(
    params: list[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    tols: list[float],
    buggy: bool,
    max_iterations: int,
    lr: float = LR,
) -> list[Run]:
    """One run per tolerance. Every tolerance follows the same trajectory from the same start, so a
    single run to the smallest tol records where each larger tol would have stopped."""
    params = [p.copy() for p in params]
    pending = sorted(tols, reverse=True)
    runs: dict[float, Run] = {}
    for iteration in range(max_iterations + 1):
        dV, dW = gradients(params, X, Y, buggy, lr)
        grad_sq = float(np.sum(dV**2) + np.sum(dW**2))
        while pending and (grad_sq < pending[0] or iteration == max_iterations):
            tol = pending.pop(0)
            P = predict(params, X)
            runs[tol] = Run(
                iterations=iteration,
                mae=float(np.mean(np.abs(P - Y))),
                sse=float(np.sum((P - Y) ** 2)),
                grad_sq=grad_sq,
                converged=grad_sq < tol,
                params=[p.copy() for p in params],
                sse_curve=[],
            )
        if not pending:
            break
        params[0] -= lr * dV
        params[1] -= lr * dW
    return [runs[tol] for tol in tols]
