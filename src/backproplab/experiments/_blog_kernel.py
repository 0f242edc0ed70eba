"""The blog's rule compiled with Numba: the same arithmetic as :func:`source_rules.blog_step`.

One call advances one network by ``len(U)`` steps. Step ``t`` draws its batch from ``U[t]`` exactly
as :func:`source_rules.blog_sample` does, then applies the delta-of-means rule to the 23 numbers of
``theta`` (the layout of :func:`source_rules.pack`) in place. Pinned against the NumPy rule in
``tests/test_source_rules.py``. Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# offsets into theta: W1 (3x3 row-major) b1 (3) W2 (3x2) b2 (2) W3 (2) b3 (1)
_B1, _W2, _B2, _W3, _B3 = 9, 12, 18, 20, 22


@njit(cache=True, inline="always")
def _f(z: float, relu: bool) -> float:
    if relu:
        return z if z > 0.0 else 0.0
    return 1.0 / (1.0 + math.exp(-z))


@njit(cache=True, inline="always")
def _df(z: float, a: float, relu: bool) -> float:
    if relu:
        return 1.0 if z > 0.0 else 0.0
    return a * (1.0 - a)


@njit(cache=True, inline="always")
def _draw_batch(perm, U, step):  # type: ignore[no-untyped-def]
    """Put step ``step``'s batch into ``perm[:B]``: the partial Fisher-Yates shuffle of
    :func:`source_rules.blog_sample`, driven by ``U[step]``."""
    n = perm.shape[0]
    for k in range(n):
        perm[k] = k
    for k in range(U.shape[1]):
        j = k + int(U[step, k] * (n - k))
        perm[k], perm[j] = perm[j], perm[k]


@njit(cache=True, inline="always")
def _deltas(theta, s3, md1, md2, B):  # type: ignore[no-untyped-def]
    """The delta-of-means: sig3 is the batch mean of (a3 - y) s'(z3); each layer back multiplies by
    the weights and the batch mean of f'. Returns (sig3, sig2_0, sig2_1, sig1_0, sig1_1, sig1_2)."""
    v00, v01, v10, v11, v20, v21 = theta[_W2], theta[_W2 + 1], theta[_W2 + 2], theta[_W2 + 3], theta[_W2 + 4], theta[_W2 + 5]
    u0, u1 = theta[_W3], theta[_W3 + 1]
    sig3 = s3 / B
    sig2_0 = sig3 * u0 * (md2[0] / B)
    sig2_1 = sig3 * u1 * (md2[1] / B)
    sig1_0 = (md1[0] / B) * (sig2_0 * v00 + sig2_1 * v01)
    sig1_1 = (md1[1] / B) * (sig2_0 * v10 + sig2_1 * v11)
    sig1_2 = (md1[2] / B) * (sig2_0 * v20 + sig2_1 * v21)
    return sig3, sig2_0, sig2_1, sig1_0, sig1_1, sig1_2


@njit(cache=True, inline="always")
def _update(theta, lr, B, mx, ma1, ma2, sig):  # type: ignore[no-untyped-def]
    """``theta -= lr x`` the rule's update: each weight by (mean input) x delta, each bias by delta."""
    sig3, sig2_0, sig2_1, sig1_0, sig1_1, sig1_2 = sig
    row0, row1, row2 = lr * ((mx[0] / B) * sig1_0), lr * ((mx[1] / B) * sig1_1), lr * ((mx[2] / B) * sig1_2)
    for i in range(3):  # W1[i, j] -= lr mean(x_j) sig1_j on every row i
        theta[3 * i] -= row0
        theta[3 * i + 1] -= row1
        theta[3 * i + 2] -= row2
    theta[_B1] -= lr * sig1_0
    theta[_B1 + 1] -= lr * sig1_1
    theta[_B1 + 2] -= lr * sig1_2
    for i in range(3):
        theta[_W2 + 2 * i] -= lr * ((ma1[i] / B) * sig2_0)
        theta[_W2 + 2 * i + 1] -= lr * ((ma1[i] / B) * sig2_1)
    theta[_B2] -= lr * sig2_0
    theta[_B2 + 1] -= lr * sig2_1
    theta[_W3] -= lr * ((ma2[0] / B) * sig3)
    theta[_W3 + 1] -= lr * ((ma2[1] / B) * sig3)
    theta[_B3] -= lr * sig3


@njit(cache=True)
def blog_chunk(theta, X, y, U, relu, lr, losses, deltas, first_index):  # type: ignore[no-untyped-def]
    """Advance ``theta`` by ``len(U)`` steps; per-step batch loss into ``losses``; the first step's
    (sig3, sig2, sig1) into ``deltas`` (6,) and its batch indices into ``first_index``.

    Written out for the 3-3-2-1 shape with every weight in a local scalar: the same sums in the same
    order as the NumPy rule (sample order, then division by the batch size). The helpers above are
    inlined by Numba (``inline="always"``): the machine code is the same as with everything written
    out here. The per-sample loop stays in this body: moved into a helper that takes ``X`` and ``y``,
    it would cost a reference-count increment and decrement of each array on every step."""
    n, B = X.shape[0], U.shape[1]
    perm = np.empty(n, np.int64)
    for step in range(U.shape[0]):
        _draw_batch(perm, U, step)
        w00, w01, w02, w10, w11, w12, w20, w21, w22 = theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6], theta[7], theta[8]
        c0, c1, c2 = theta[_B1], theta[_B1 + 1], theta[_B1 + 2]
        v00, v01, v10, v11, v20, v21 = theta[_W2], theta[_W2 + 1], theta[_W2 + 2], theta[_W2 + 3], theta[_W2 + 4], theta[_W2 + 5]
        d0, d1 = theta[_B2], theta[_B2 + 1]
        u0, u1, e3 = theta[_W3], theta[_W3 + 1], theta[_B3]
        mx0 = mx1 = mx2 = ma10 = ma11 = ma12 = md10 = md11 = md12 = 0.0
        ma20 = ma21 = md20 = md21 = s3 = loss = 0.0
        for t in range(B):
            r = perm[t]
            x0, x1, x2 = X[r, 0], X[r, 1], X[r, 2]
            z10 = x0 * w00 + x1 * w10 + x2 * w20 + c0
            z11 = x0 * w01 + x1 * w11 + x2 * w21 + c1
            z12 = x0 * w02 + x1 * w12 + x2 * w22 + c2
            a10, a11, a12 = _f(z10, relu), _f(z11, relu), _f(z12, relu)
            z20 = a10 * v00 + a11 * v10 + a12 * v20 + d0
            z21 = a10 * v01 + a11 * v11 + a12 * v21 + d1
            a20, a21 = _f(z20, relu), _f(z21, relu)
            a3 = 1.0 / (1.0 + math.exp(-(a20 * u0 + a21 * u1 + e3)))
            e = a3 - y[r]
            loss += e * e
            s3 += e * (a3 * (1.0 - a3))
            mx0 += x0
            mx1 += x1
            mx2 += x2
            ma10 += a10
            ma11 += a11
            ma12 += a12
            md10 += _df(z10, a10, relu)
            md11 += _df(z11, a11, relu)
            md12 += _df(z12, a12, relu)
            ma20 += a20
            ma21 += a21
            md20 += _df(z20, a20, relu)
            md21 += _df(z21, a21, relu)
        sig = _deltas(theta, s3, (md10, md11, md12), (md20, md21), B)
        losses[step] = loss / B
        if step == 0:
            for k in range(6):
                deltas[k] = sig[k]
            for t in range(B):
                first_index[t] = perm[t]
        _update(theta, lr, B, (mx0, mx1, mx2), (ma10, ma11, ma12), (ma20, ma21), sig)
