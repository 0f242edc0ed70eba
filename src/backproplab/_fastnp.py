"""NumPy functions without the ``__array_function__`` dispatch layer, for the training hot path.

``np.dot``, ``np.copyto`` and ``np.vdot`` first ask every argument whether it overrides NumPy
(NEP 18), which is a measurable part of a step of the blog's 3-3-2-1 network (see
benchmarks/results/design_notes.md).
Training buffers are always plain ndarrays, so the hot path calls the functions underneath. NumPy
(1.25 and later) keeps them as ``_implementation`` on its C-level dispatchers; without it the public
functions are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["dot", "copyto", "vdot", "sum_product", "total"]


def _undispatched(function: Any) -> Any:
    return getattr(function, "_implementation", function)


dot = _undispatched(np.dot)
copyto = _undispatched(np.copyto)
vdot = _undispatched(np.vdot)


def sum_product(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` over all entries as one BLAS dot product. ``vdot`` flattens in C order, which
    copies Fortran-ordered (feature-major) arrays; their transposes flatten without a copy."""
    if a.flags.f_contiguous and b.flags.f_contiguous:
        return float(vdot(a.T, b.T))
    return float(vdot(a, b))


#: the largest array :func:`total` sums with a BLAS dot (its ones vector is this long, per dtype)
TOTAL_DOT_MAX = 1 << 16
_ones: dict[np.dtype, np.ndarray] = {}


def total(a: np.ndarray) -> float:
    """The sum of every entry of ``a``. For a contiguous array of up to :data:`TOTAL_DOT_MAX`
    entries it is one BLAS dot product with a ones vector, cheaper than ``np.add.reduce`` inside the
    fit loop on cold caches (benchmarks/results/design_notes.md). The dot sums in another order
    than NumPy's pairwise sum, so the last bits of the result may differ."""
    n = a.size
    if n <= TOTAL_DOT_MAX:
        flat = a if a.flags.c_contiguous else a.T if a.flags.f_contiguous else None
        if flat is not None:
            ones = _ones.get(a.dtype)
            if ones is None:
                ones = _ones[a.dtype] = np.ones(TOTAL_DOT_MAX, a.dtype)
            return float(vdot(flat, ones[:n]))
    return float(np.add.reduce(a, None))
