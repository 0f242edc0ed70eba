"""Checks at the public boundary: every message names the argument, echoes the value and says what
was expected. Nothing here runs inside a training loop."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, Literal, overload

import numpy as np

from . import _fastnp

FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype: Any) -> np.dtype:
    """Map ``"float64"``/``"float32"`` (or the numpy types) to a dtype, refusing anything else."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return resolved


def choose(name: str, value: Any, valid: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``valid`` names, else raise naming all of them."""
    valid = list(valid)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {name} {value!r}; expected one of: {', '.join(valid)}")
    return value


@overload
def check_int(name: str, value: Any, minimum: int | None = ..., allow_none: Literal[False] = ...) -> int: ...
@overload
def check_int(name: str, value: Any, minimum: int | None = ..., *, allow_none: bool) -> int | None: ...
def check_int(name: str, value: Any, minimum: int | None = None, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


@overload
def check_real(name: str, value: Any, minimum: float | None = ..., strict: bool = ..., maximum: float | None = ...,
               allow_none: Literal[False] = ...) -> float: ...
@overload
def check_real(name: str, value: Any, minimum: float | None = ..., strict: bool = ..., maximum: float | None = ...,
               *, allow_none: bool) -> float | None: ...
def check_real(
    name: str,
    value: Any,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
    allow_none: bool = False,
) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return value


def _first_nonfinite(array: np.ndarray) -> str:
    bad = ~np.isfinite(array)
    index = np.argwhere(bad)[0]
    value = array[tuple(index)]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    where = f"row {index[0]}" + (f", column {index[1]}" if len(index) > 1 else "")
    return f"{kind} ({where})"


def _all_finite(array: np.ndarray) -> bool:
    """Whether every entry is finite, without a full-size boolean temporary.

    A dot product of the array with itself is one BLAS pass and is finite only when every entry is;
    it can also overflow on large finite data, so a non-finite result is settled by min and max
    (which propagate NaN and reveal inf)."""
    if array.flags.c_contiguous or array.flags.f_contiguous:
        flat = array.ravel(order="K")  # a view
        if np.isfinite(_fastnp.vdot(flat, flat)):
            return True
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def as_float_array(name: str, value: Any, dtype: Any, ndim: int | tuple[int, ...] = 2) -> np.ndarray:
    """Convert ``value`` to a finite float array of the given dtype and dimensionality.

    Refuses strings and objects, wrong dimensionality, empty arrays and NaN/inf, naming where.
    """
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be numeric, got an array of dtype {array.dtype} "
            f"(e.g. {array.ravel()[0]!r} if it has entries); convert text columns to numbers first"
        )
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ndims:
        hint = ""
        if array.ndim == 1 and 2 in ndims:
            hint = "; use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        expected = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {expected}, got a {array.ndim}-D array of shape {array.shape}{hint}")
    if array.size == 0 or array.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); at least one sample is needed")
    array = np.asarray(array, dtype=dtype)
    if not _all_finite(array):
        raise ValueError(
            f"{name} contains {_first_nonfinite(array)}; backproplab does not impute missing values"
        )
    return array


def check_rng_seed(name: str, seed: Any) -> np.random.Generator:
    """Accept None, an integer seed or a Generator; never touch the global numpy state."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def plain(value: Any, nonfinite_as_none: bool = True) -> Any:
    """``value`` with NumPy arrays and scalars turned into JSON-able Python objects (dict keys become
    strings); non-finite floats become None unless ``nonfinite_as_none`` is False."""
    if isinstance(value, dict):
        return {str(k): plain(v, nonfinite_as_none) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, nonfinite_as_none) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), nonfinite_as_none)
    if isinstance(value, np.generic):
        value = value.item()
    if nonfinite_as_none and isinstance(value, float) and not np.isfinite(value):
        return None
    return value
