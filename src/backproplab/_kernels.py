"""Fused optimizer updates, compiled with Numba when it is installed (``pip install 'backproplab[fast]'``).

Each NumPy optimizer update is several passes over every parameter: SGD with momentum takes four,
Adam ten, and the fit loop's divergence snapshot one more. On networks whose parameters do not fit
in the core's caches those passes are memory-bound. In the 784-512-256-10 network, the snapshot
and momentum update took 320 us of a 2.6 ms step in quiet phases and 690 us in busy ones. The
kernels here do the snapshot and the update in one pass per element: 207-231 us against 411-495 us
in the same loop. Alone, Adam on digits' 17k float64 parameters takes 12 us instead of 51 us.

Every kernel performs the NumPy path's operations in the same order, in the arrays' dtype (scalars
are passed in that dtype, as NumPy's weak Python scalars are; ``np.sqrt`` keeps float32, where
``math.sqrt`` would not), with no fused multiply-add, and with Numba's NumPy error model (a division
by zero gives inf or nan as in NumPy; Python's model checks every division, which also stops LLVM
from vectorizing: the Adam kernel took 57 us instead of 12 us on digits' 17k parameters). So
results are bit-identical with and without Numba (pinned by tests). A compiled loop also cannot
be interrupted halfway: a Ctrl-C lands before or after it. That is why the snapshot can share the
pass.

ReLU's backward pass (a mask pass and a multiply pass in NumPy) is one pass here too, for arrays of
at least :data:`FUSED_MIN` entries. From :data:`STREAM_MIN` entries on, in a Network it masks the
next Dense layer's gradient buffer in place; ReLU's forward pass skips the zeros array that NumPy's
SIMD ``maximum`` reads; and ``fit`` gathers each batch straight into the first Dense layer's
feature-major input buffer, where ``np.take`` wrote a row-major buffer that the layer then copied
over in transposed order. All of these produce the same bits as the NumPy code they replace (tests
pin it, nan and -0.0 included).

Without Numba, or for fewer than :data:`FUSED_MIN` parameters (where one-time compilation or
loading outweighs the saving), optimizers run their NumPy passes.
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

import numpy as np

__all__ = ["FUSED_MIN", "STREAM_MIN", "kernels"]

logger = logging.getLogger(__name__)

#: the fewest parameters for which fit uses the fused kernels
FUSED_MIN = 4096
#: the fewest entries for which fit gathers batches, and ReLU runs forward and masks in place, with
#: the kernels. A compiled call costs a few microseconds on cold caches: on a 32-64-64-1 network
#: (batch 256: 8192-entry gathers, 16384-entry activations) these kernels made fits 2-9% slower,
#: while on the 784-512-256-10 network (65536-200704 entries) they made them 6% faster.
STREAM_MIN = 1 << 16


def _build(numba: Any) -> dict[str, Any]:
    jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

    @jit
    def sgd(w, g, snap, lr):
        for i in range(w.size):
            wi = w[i]
            snap[i] = wi
            w[i] = wi - g[i] * lr

    @jit
    def sgd_momentum(w, g, v, snap, lr, mu):
        for i in range(w.size):
            wi = w[i]
            snap[i] = wi
            vi = v[i] * mu + g[i]
            v[i] = vi
            w[i] = wi - vi * lr

    @jit
    def sgd_nesterov(w, g, v, snap, lr, mu):
        for i in range(w.size):
            wi = w[i]
            snap[i] = wi
            gi = g[i]
            vi = v[i] * mu + gi
            v[i] = vi
            w[i] = wi - (vi * mu + gi) * lr

    @jit
    def adam(w, g, m, v, snap, b1, b2, eps, step):
        for i in range(w.size):
            wi = w[i]
            snap[i] = wi
            gi = g[i]
            mi = m[i] * b1 + gi
            m[i] = mi
            vi = v[i] * b2 + gi * gi
            v[i] = vi
            w[i] = wi - mi / (np.sqrt(vi) + eps) * step

    @jit
    def rmsprop(w, g, v, snap, rho, one_minus_rho, eps, lr):
        for i in range(w.size):
            wi = w[i]
            snap[i] = wi
            gi = g[i]
            vi = v[i] * rho + gi * gi * one_minus_rho
            v[i] = vi
            w[i] = wi - gi / (np.sqrt(vi) + eps) * lr

    @jit
    def relu_backward(a, g, out, one, zero):
        # NumPy: out = greater(a, 0) as 1.0 / 0.0, then out * g (so 0 * inf is nan, as there)
        for i in range(a.size):
            out[i] = (one if a[i] > 0 else zero) * g[i]

    @jit
    def relu_backward_in_place(a, g, one, zero):
        # relu_backward with out = g, as its own loop: LLVM vectorizes a loop only when its output
        # does not overlap an input, and falls back to scalar code when it does (relu_backward(a, g,
        # g) took 58 us on 131072 float32 entries, this loop 15 us)
        for i in range(a.size):
            g[i] = (one if a[i] > 0 else zero) * g[i]

    @jit
    def relu_forward(z, out, zero):
        # NumPy: maximum(z, zeros) is z where z > 0 or z is nan (its payload kept), else +0.0 (-0.0 too)
        for i in range(z.size):
            zi = z[i]
            out[i] = zi if (zi > zero or zi != zi) else zero

    @jit
    def gather_transposed(X, rows, out):
        # out[k, j] = X[rows[j], k]: the batch straight into a feature-major buffer. Sixteen rows at
        # a time, so that each store of a feature fills contiguous entries of out while the loads
        # run along sixteen rows; row by row the stores would be strided (2.5x slower)
        d = X.shape[1]
        start = 0
        while start + 16 <= rows.size:
            block = rows[start : start + 16]
            for k in range(d):
                for j in range(16):
                    out[k, start + j] = X[block[j], k]
            start += 16
        for j in range(start, rows.size):
            r = rows[j]
            for k in range(d):
                out[k, j] = X[r, k]

    return {"sgd": sgd, "sgd_momentum": sgd_momentum, "sgd_nesterov": sgd_nesterov, "adam": adam, "rmsprop": rmsprop,
            "relu_backward": relu_backward, "relu_backward_in_place": relu_backward_in_place,
            "relu_forward": relu_forward, "gather_transposed": gather_transposed}


@functools.cache
def kernels() -> dict[str, Any] | None:
    """The compiled kernels by name, or None without a working Numba (imported on first use)."""
    try:
        import numba
    except ImportError:
        return None
    except Exception as error:  # a speed-up only: a broken install must not stop training
        logger.debug("numba cannot be imported: %s", error)
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a read-only cache directory: it then compiles each run
        try:
            return _build(numba)
        except Exception as error:
            logger.debug("numba cannot compile the fused updates: %s", error)
            return None
