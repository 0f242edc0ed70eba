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
``W`` belongs, so the hidden gradient is scaled by the learning rate and by the output gradient
instead of the output weights: its norm is a few percent of the true one, and its direction is
whatever ``dW`` happens to be (close to the true direction on data set 1, often not on data set 2).

:func:`train_stacked` is the source's ``train()`` loop as written (update, then test the stop rule),
for many independent starts at once; :func:`source_train` draws fresh U[0, 1) weights on every call,
as the source's ``train()`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def train_stacked(
    V: np.ndarray,
    W: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    tol: np.ndarray | float,
    buggy: bool | np.ndarray,
    max_iterations: int,
    lr: float = LR,
) -> dict[str, np.ndarray]:
    r"""The source's ``train()`` loop for ``S`` independent networks at once, each with its own tol
    (and, when ``buggy`` is an array of S flags, each with or without the bug).

    One iteration, per network, in the source's order:

        H = sigmoid([X, -1] V);  error = [H, -1] W - Y;  E_o = [H, -1]^T error
        update = -lr E_o;  W += update
        delta_h = (error B^T) * H (1 - H),  B = update[:-1] with the bug, else the old W[:-1]
        E_h = [X, -1]^T delta_h;  V -= lr E_h
        iterations += 1;  stop if sum(E_h^2) + sum(E_o^2) < tol

    Parameters
    ----------
    V : ndarray (S, n_in + 1, n_hidden);  W : ndarray (S, n_hidden + 1, n_out)
    X : ndarray (S, n, n_in);  Y : ndarray (S, n, n_out);  tol : float or ndarray (S,)

    Returns
    -------
    dict of arrays over the S networks: iterations, converged, grad_sq (the stop quantity at the end),
    output_share (the output layer's part of it), mae, sse (after training), V, W (final weights).
    """
    S = len(V)
    V, W = np.array(V, dtype=float), np.array(W, dtype=float)
    tol = np.broadcast_to(np.asarray(tol, dtype=float), (S,))
    bug = np.broadcast_to(np.asarray(buggy, dtype=bool), (S,))[:, None, None]
    Xb = np.concatenate([X, -np.ones(X.shape[:-1] + (1,))], axis=-1)
    out: dict[str, Any] = {"iterations": np.full(S, max_iterations), "converged": np.zeros(S, bool),
                           "grad_sq": np.zeros(S), "output_share": np.zeros(S)}
    active = np.arange(S)
    v, w, xb, y, t = V.copy(), W.copy(), Xb.copy(), np.asarray(Y, float).copy(), tol.copy()
    all_bug, no_bug = bool(bug.all()), not bug.any()
    for iteration in range(1, max_iterations + 1):
        H = expit(xb @ v)
        Hb = np.concatenate([H, -np.ones(H.shape[:-1] + (1,))], axis=-1)
        error = Hb @ w - y
        E_o = Hb.swapaxes(1, 2) @ error
        update = -lr * E_o
        # the bug: the update where the weights belong
        back = update if all_bug else w.copy() if no_bug else np.where(bug, update, w)
        w += update
        E_h = xb.swapaxes(1, 2) @ ((error @ back[:, :-1].swapaxes(1, 2)) * H * (1 - H))
        v -= lr * E_h
        g_o = np.sum(E_o**2, axis=(1, 2))
        g = np.sum(E_h**2, axis=(1, 2)) + g_o
        done = g < t
        if iteration == max_iterations:
            done[:] = True
        if done.any():
            k = active[done]
            V[k], W[k] = v[done], w[done]
            out["iterations"][k] = iteration
            out["converged"][k] = g[done] < t[done]
            out["grad_sq"][k], out["output_share"][k] = g[done], g_o[done] / g[done]
            keep = ~done
            active, v, w, xb, y, t, bug = active[keep], v[keep], w[keep], xb[keep], y[keep], t[keep], bug[keep]
            if not len(active):
                break
    P = np.concatenate([expit(Xb @ V), -np.ones(X.shape[:-1] + (1,))], axis=-1) @ W
    out["mae"] = np.mean(np.abs(P - Y), axis=(1, 2))
    out["sse"] = np.sum((P - Y) ** 2, axis=(1, 2))
    out["V"], out["W"] = V, W
    return out


def source_train(
    X: np.ndarray, Y: np.ndarray, tol: float, rng: np.random.Generator, n_hidden: int = 3,
    buggy: bool = True, max_iterations: int = 200_000, starts: int = 1,
) -> dict[str, np.ndarray]:
    """The source's ``train()``: fresh U[0, 1) weights on every call (``starts`` calls at once)."""
    n_in, n_out = X.shape[1], Y.shape[1]
    V = rng.random((starts, n_in + 1, n_hidden))
    W = rng.random((starts, n_hidden + 1, n_out))
    stack = (starts,) + X.shape, (starts,) + Y.shape
    result = train_stacked(V, W, np.broadcast_to(X, stack[0]), np.broadcast_to(Y, stack[1]), tol, buggy,
                           max_iterations)
    result["V0"], result["W0"] = V, W
    return result
