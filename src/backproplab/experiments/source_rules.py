r"""The sources' update rules as written: a comparison, never part of the library's training path.

Each function reproduces arithmetic described in SEEDS.md ("What the sources' own code does"),
vectorised, and is pinned in ``tests/test_source_rules.py`` against a literal per-unit
transcription. Nothing here is used by :func:`backproplab.Network.fit`.

The blog's rule (source B), for a 3-3-2-1 network with ``W`` of shape ``(in, out)``, a batch of
``B`` rows, hidden activation ``f`` (sigmoid or ReLU) and a sigmoid output ``s``:

    forward   Z1 = X W1 + b1, A1 = f(Z1); Z2 = A1 W2 + b2, A2 = f(Z2); Z3 = A2 W3 + b3, A3 = s(Z3)
    deltas    sig3   = mean_n((A3 - y) s'(Z3))                  (no factor 2 of the MSE derivative)
              sig2_j = sig3 W3[j] mean_n(f'(Z2_j))
              sig1_i = mean_n(f'(Z1_i)) sum_j sig2_j W2[i, j]    (products of batch means)
    updates   W3 -= lr outer(mean_n A2, sig3);  W2 -= lr outer(mean_n A1, sig2)
              W1[i, j] -= lr mean_n(X_j) sig1_j  for every row i  (the (3,) * (1, 3) broadcast)
              b3 -= lr sig3;  b2 -= lr sig2;  b1 -= lr sig1

Every delta is computed before any weight moves. Each ``mean_n`` is a sum divided by the batch
size, so a delta that multiplies several means is divided by the batch size several times.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "BLOG_SHAPES",
    "blog_init",
    "blog_step",
    "blog_step_as_written",
    "blog_sample",
    "pack",
    "unpack",
    "xor_appendix_init",
    "xor_appendix_step",
]

BLOG_SHAPES: tuple[tuple[int, ...], ...] = ((3, 3), (3,), (3, 2), (2,), (2, 1), (1,))
"""``W1, b1, W2, b2, W3, b3`` of the blog's 3-3-2-1 network, ``W`` as ``(in, out)``."""


def pack(params: Sequence[np.ndarray]) -> np.ndarray:
    """The blog's six arrays as one flat vector of 23 numbers (row-major, in order)."""
    return np.concatenate([np.ravel(p) for p in params])


def unpack(theta: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`pack`; views into ``theta``."""
    out, start = [], 0
    for shape in BLOG_SHAPES:
        size = int(np.prod(shape))
        out.append(theta[start:start + size].reshape(shape))
        start += size
    return out


def blog_init(rng: np.random.Generator) -> list[np.ndarray]:
    """N(0, 1) weights and biases, drawn in the order W1, b1, W2, b2, W3, b3."""
    return [rng.standard_normal(shape) for shape in BLOG_SHAPES]


def _sigmoid(Z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z < -709; 1/(1+inf) is 0, as in the blog
        return 1.0 / (1.0 + np.exp(-Z))


def _hidden(Z: np.ndarray, hidden: str) -> tuple[np.ndarray, np.ndarray]:
    """``f(Z)`` and ``f'(Z)``: sigmoid ``a (1 - a)``, or ReLU ``[Z > 0]``."""
    if hidden == "relu":
        return np.maximum(Z, 0.0), (Z > 0).astype(Z.dtype)
    A = _sigmoid(Z)
    return A, A * (1.0 - A)


def blog_step(
    params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, hidden: str = "sigmoid", lr: float = 0.1
) -> tuple[list[np.ndarray], float | np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    r"""One step of the blog's delta-of-means rule (module docstring), vectorised.

    Parameters
    ----------
    params : W1, b1, W2, b2, W3, b3, shapes as :data:`BLOG_SHAPES`, optionally with leading stack
        axes ``(...)`` to advance several independent networks at once.
    X : ndarray of shape (..., B, 3)
    y : ndarray of shape (..., B, 1)

    Returns
    -------
    new_params, loss (mean over the batch of (A3 - y)^2, before the update), (sig3, sig2, sig1)
    of shapes (..., 1), (..., 2), (..., 3).
    """
    W1, b1, W2, b2, W3, b3 = params
    A1, dA1 = _hidden(X @ W1 + b1[..., None, :], hidden)
    A2, dA2 = _hidden(A1 @ W2 + b2[..., None, :], hidden)
    A3 = _sigmoid(A2 @ W3 + b3[..., None, :])
    loss = np.mean((A3 - y) ** 2, axis=(-2, -1))
    sig3 = np.mean((A3 - y) * (A3 * (1.0 - A3)), axis=-2)
    sig2 = sig3 * W3[..., :, 0] * np.mean(dA2, axis=-2)
    sig1 = np.mean(dA1, axis=-2) * np.sum(sig2[..., None, :] * W2, axis=-1)
    new = [
        W1 - lr * (np.mean(X, axis=-2) * sig1)[..., None, :],  # the same row added to every row of W1
        b1 - lr * sig1,
        W2 - lr * (np.mean(A1, axis=-2)[..., :, None] * sig2[..., None, :]),
        b2 - lr * sig2,
        W3 - lr * (np.mean(A2, axis=-2)[..., :, None] * sig3[..., None, :]),
        b3 - lr * sig3,
    ]
    return new, loss, (sig3, sig2, sig1)


def blog_step_as_written(
    params: list[np.ndarray], X: np.ndarray, y: np.ndarray, rng: np.random.Generator, lr: float = 0.1
) -> float:
    """The same rule shaped like the blog's loop, sigmoid only: one line per neuron, numpy scalars.

    This is the subject of the per-step timing (what a step of the blog's code costs), not a model
    of style: it samples its batch with ``rng.choice``, computes each neuron's pre-activation over
    the batch on its own line, keeps each delta as a numpy scalar and updates ``params`` in place.
    Returns the batch loss.
    """
    W1, b1, W2, b2, W3, b3 = params
    index = rng.choice(len(X), 128, replace=False)
    x, t = X[index], y[index, 0]
    a11 = 1 / (1 + np.exp(-(x[:, 0] * W1[0, 0] + x[:, 1] * W1[1, 0] + x[:, 2] * W1[2, 0] + b1[0])))
    a12 = 1 / (1 + np.exp(-(x[:, 0] * W1[0, 1] + x[:, 1] * W1[1, 1] + x[:, 2] * W1[2, 1] + b1[1])))
    a13 = 1 / (1 + np.exp(-(x[:, 0] * W1[0, 2] + x[:, 1] * W1[1, 2] + x[:, 2] * W1[2, 2] + b1[2])))
    a21 = 1 / (1 + np.exp(-(a11 * W2[0, 0] + a12 * W2[1, 0] + a13 * W2[2, 0] + b2[0])))
    a22 = 1 / (1 + np.exp(-(a11 * W2[0, 1] + a12 * W2[1, 1] + a13 * W2[2, 1] + b2[1])))
    a3 = 1 / (1 + np.exp(-(a21 * W3[0, 0] + a22 * W3[1, 0] + b3[0])))
    loss = np.mean((a3 - t) ** 2)
    sig3 = np.sum((a3 - t) * a3 * (1 - a3)) / 128
    sig21 = sig3 * W3[0, 0] * np.sum(a21 * (1 - a21)) / 128
    sig22 = sig3 * W3[1, 0] * np.sum(a22 * (1 - a22)) / 128
    sig11 = np.sum(a11 * (1 - a11)) / 128 * (sig21 * W2[0, 0] + sig22 * W2[0, 1])
    sig12 = np.sum(a12 * (1 - a12)) / 128 * (sig21 * W2[1, 0] + sig22 * W2[1, 1])
    sig13 = np.sum(a13 * (1 - a13)) / 128 * (sig21 * W2[2, 0] + sig22 * W2[2, 1])
    W3 -= lr * np.array([[np.mean(a21)], [np.mean(a22)]]) * sig3
    b3 -= lr * sig3
    W2 -= lr * np.array([[np.mean(a11)], [np.mean(a12)], [np.mean(a13)]]) * np.array([[sig21, sig22]])
    b2 -= lr * np.array([sig21, sig22])
    sig1 = np.array([[sig11], [sig12], [sig13]])
    W1 -= lr * np.mean(x, axis=0) * np.transpose(sig1)  # (3,) * (1, 3): elementwise, broadcast on rows
    b1 -= lr * sig1[:, 0]
    return float(loss)


def blog_sample(uniforms: np.ndarray, n: int) -> np.ndarray:
    """Batches without replacement from uniforms: a partial Fisher-Yates shuffle of ``arange(n)``.

    ``uniforms`` of shape (..., B) in [0, 1) gives indices of shape (..., B): for k = 0..B-1 swap
    position k with ``k + floor(u_k (n - k))``, then take the first B. Every B-subset is equally
    likely. The compiled kernel draws its batches the same way from the same uniforms.
    """
    lead, B = uniforms.shape[:-1], uniforms.shape[-1]
    flat = uniforms.reshape(-1, B)
    perm = np.tile(np.arange(n), (len(flat), 1))
    rows = np.arange(len(flat))
    for k in range(B):
        j = k + (flat[:, k] * (n - k)).astype(np.int64)
        perm[rows, k], perm[rows, j] = perm[rows, j], perm[rows, k].copy()
    return perm[:, :B].reshape(*lead, B)


# ---------------------------------------------------------------------- the blog's appendix (XOR)
def xor_appendix_init(rng: np.random.Generator, n_hidden: int = 3) -> list[np.ndarray]:
    """2-3-2: N(0, 1) weights divided by sqrt(fan_in), zero biases (the appendix's initialisation)."""
    return [rng.standard_normal((2, n_hidden)) / np.sqrt(2), np.zeros(n_hidden),
            rng.standard_normal((n_hidden, 2)) / np.sqrt(n_hidden), np.zeros(2)]


def xor_appendix_step(
    params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, lr: float = 0.01
) -> tuple[list[np.ndarray], np.ndarray]:
    r"""One full-batch step of the appendix: tanh hidden, softmax output, cross-entropy, sum gradient.

    ``probs = softmax(tanh(X W1 + b1) W2 + b2)``; the output delta is written into the same array,
    ``delta3 = probs; delta3[n, y_n] -= 1``, so what the appendix later prints as "probabilities" is
    ``p - onehot(y)``. Then ``dW2 = A1^T delta3``, ``db2 = sum_n delta3``,
    ``delta2 = delta3 W2^T (1 - A1^2)``, ``dW1 = X^T delta2``, ``db1 = sum_n delta2`` (sums over the
    samples, not means) and every parameter moves by ``-lr`` times its gradient.

    Returns the new parameters and the aliased array (``p - onehot(y)``, what the appendix prints).
    """
    W1, b1, W2, b2 = params  # optionally with a leading stack axis: several seeds at once
    A1 = np.tanh(X @ W1 + b1[..., None, :])
    scores = np.exp(A1 @ W2 + b2[..., None, :])
    probs = scores / np.sum(scores, axis=-1, keepdims=True)
    delta3 = probs  # the alias: no copy
    delta3[..., np.arange(len(X)), y] -= 1
    delta2 = (delta3 @ np.swapaxes(W2, -1, -2)) * (1 - A1**2)
    grads = [X.T @ delta2, np.sum(delta2, axis=-2), np.swapaxes(A1, -1, -2) @ delta3, np.sum(delta3, axis=-2)]
    return [p - lr * g for p, g in zip(params, grads)], probs
