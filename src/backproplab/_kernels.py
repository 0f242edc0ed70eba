"""Compiled loops, with Numba when it is installed (``pip install 'backproplab[fast]'``).

An optimizer states its update rule once, as a function of one element (see
:mod:`backproplab.optimizers`); :func:`update_kernel` compiles it into one pass over a flat
parameter array that also copies each entry into the caller's snapshot before updating it. The
NumPy path applies the same function to whole arrays, one pass per operation. Both perform the same
operations in the same order in the arrays' dtype (scalars are passed in that dtype, as NumPy's
weak Python scalars are; ``np.sqrt`` keeps float32, where ``math.sqrt`` would not), with no fused
multiply-add and with Numba's NumPy error model (a division by zero gives inf or nan as in NumPy;
Python's model checks every division, which also stops LLVM from vectorizing). So results are
bit-identical with and without Numba (pinned by tests). A compiled loop also cannot be interrupted
halfway: a Ctrl-C lands before or after it, which is why the snapshot can share the pass.

The other kernels (:func:`kernels`) serve ReLU and the batch gather on large arrays: ReLU's
backward pass as one pass (:data:`FUSED_MIN` entries and up), masking a scratch gradient in place
and a forward pass without NumPy's zeros array (:data:`STREAM_MIN` and up), and ``fit``'s gather
of each batch straight into the first Dense layer's feature-major input buffer. All produce the
same bits as the NumPy code they replace (tests pin it, nan and -0.0 included). Their measured
effect is in ``benchmarks/results``.

Without Numba, or for fewer than :data:`FUSED_MIN` parameters (where one-time compilation or
loading outweighs the saving), optimizers run their NumPy passes.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FUSED_MIN", "STREAM_MIN", "kernels", "update_kernel"]

logger = logging.getLogger(__name__)

#: the fewest parameters for which fit uses the fused kernels
FUSED_MIN = 4096
#: the fewest entries for which fit gathers batches, and ReLU runs forward and masks in place, with
#: the kernels. A compiled call costs a few microseconds on cold caches, which smaller arrays do not
#: win back (measured on a 32-64-64-1 and the 784-512-256-10 network, see benchmarks/results).
STREAM_MIN = 1 << 16


def _build(numba: Any) -> dict[str, Any]:
    jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

    @jit
    def relu_backward(a, g, out, one, zero):
        # NumPy: out = greater(a, 0) as 1.0 / 0.0, then out * g (so 0 * inf is nan, as there)
        for i in range(a.size):
            out[i] = (one if a[i] > 0 else zero) * g[i]

    @jit
    def relu_backward_in_place(a, g, one, zero):
        # relu_backward with out = g, as its own loop: LLVM vectorizes a loop only when its output
        # does not overlap an input, and falls back to scalar code when it does (relu_backward(a, g,
        # g) was several times slower, see benchmarks/results/design_notes.md)
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
        # run along sixteen rows; row by row the stores would be strided (slower)
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

    return {"relu_backward": relu_backward, "relu_backward_in_place": relu_backward_in_place,
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


# One loop per number of state arrays. RULE is bound per rule by _compile: each compiled copy gets
# a name of its own (with a digest of the rule's code, so that a changed rule is never served from
# Numba's on-disk cache of an older one).
def _loop0(w, g, snap, h):  # pragma: no cover - compiled
    for i in range(w.size):
        wi = w[i]
        snap[i] = wi
        w[i] = RULE(wi, g[i], *h)  # noqa: F821


def _loop1(w, g, s0, snap, h):  # pragma: no cover - compiled
    for i in range(w.size):
        wi = w[i]
        snap[i] = wi
        w[i], s0[i] = RULE(wi, g[i], s0[i], *h)  # noqa: F821


def _loop2(w, g, s0, s1, snap, h):  # pragma: no cover - compiled
    for i in range(w.size):
        wi = w[i]
        snap[i] = wi
        w[i], s0[i], s1[i] = RULE(wi, g[i], s0[i], s1[i], *h)  # noqa: F821


_LOOPS = (_loop0, _loop1, _loop2)


def update_kernel(rule: Callable[..., Any], n_state: int, dtype: np.dtype,
                  hyperparameters: tuple[Any, ...]) -> Callable[..., None] | None:
    """``kernel(w, g, *state, snapshot, hyperparameters)``: ``snapshot[:] = w`` and then ``rule``
    applied to every entry of the flat arrays, in one compiled pass; None without a working Numba.

    ``rule(w, g, *state, *hyperparameters)`` returns the new ``w`` (and the new state entries, as a
    tuple, when there is state). The kernel is compiled (or loaded from Numba's cache) here, for
    arrays of ``dtype`` and hyperparameters like ``hyperparameters``, so that a failure shows now."""
    if kernels() is None or not 0 <= n_state < len(_LOOPS):
        return None
    kernel = _compile(rule, n_state)
    if kernel is None:
        return None
    arrays = [np.ones(1, dtype) for _ in range(n_state + 3)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a read-only cache directory: it then compiles each run
            kernel(*arrays, hyperparameters)
    except Exception as error:  # a speed-up only: a broken install must not stop training
        logger.debug("numba cannot compile the fused update %s: %s", rule.__name__, error)
        return None
    return kernel


@functools.cache
def _compile(rule: Callable[..., Any], n_state: int) -> Callable[..., None] | None:
    import numba

    template = _LOOPS[n_state]
    digest = hashlib.sha256(rule.__code__.co_code + repr(rule.__code__.co_consts).encode()).hexdigest()[:12]
    name = f"{template.__name__}_{rule.__name__.strip('_')}_{digest}"
    options: Any = {"nogil": True, "fastmath": False, "error_model": "numpy"}
    loop = types.FunctionType(template.__code__, {**template.__globals__, "RULE": numba.njit(**options)(rule)}, name)
    loop.__qualname__ = name
    return numba.njit(cache=True, **options)(loop)  # type: ignore[no-any-return]  # (numba's stubs)
