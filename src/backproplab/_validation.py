"""Checks at the public boundary: every message names the argument, echoes the value and says what
was expected. Nothing here runs inside a training loop."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
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


def _first_nonfinite(array: np.ndarray, columns: Any = None) -> str:
    bad = ~np.isfinite(array)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = array[index]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{kind} ({_where(index, columns)})"


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


def _is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA/NaT: what a data frame uses for a missing cell."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def _where(index: tuple[int, ...], columns: Any = None) -> str:
    if len(index) < 2:
        return f"row {index[0]}" if index else "the only entry"
    column = f"column {index[1]}"
    if columns is not None and index[1] < len(columns) and str(columns[index[1]]) != str(index[1]):
        column += f" ({str(columns[index[1]])!r})"
    return f"row {index[0]}, {column}"


def _refuse_non_numeric(name: str, array: np.ndarray, columns: Any) -> None:
    """Raise the most useful error for an array that is not numeric: the first missing cell, the
    first text cell, or the dtype (with an example entry when there is one)."""
    if array.size == 0:
        raise TypeError(f"{name} must be numeric, got an empty array of dtype {array.dtype}")
    if array.dtype.kind == "O":
        for index in np.ndindex(array.shape):
            item = array[index]
            if _is_missing(item):
                raise ValueError(
                    f"{name} has a missing value ({item!r}) at {_where(index, columns)}; backproplab does not "
                    "impute missing values"
                )
            if not isinstance(item, numbers.Real):
                raise TypeError(
                    f"{name} must be numeric, got {item!r} ({type(item).__name__}) at {_where(index, columns)}; "
                    "convert text columns to numbers first"
                )
    kind = {"U": "text", "S": "bytes", "c": "complex numbers", "M": "dates", "m": "time spans"}.get(array.dtype.kind, "")
    advice = "convert text columns to numbers first" if array.dtype.kind in "USO" else "convert it to real numbers first"
    raise TypeError(
        f"{name} must be numeric, got an array of dtype {array.dtype}{f' ({kind})' if kind else ''} "
        f"(e.g. {array.ravel()[0].item() if hasattr(array.ravel()[0], 'item') else array.ravel()[0]!r}); {advice}"
    )


def _as_dense(name: str, value: Any) -> tuple[np.ndarray, Any]:
    """``value`` as an ndarray, and its column names when it is a data frame; refuses sparse
    matrices and masked arrays, whose conversion would silently misread them."""
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        raise TypeError(
            f"{name} is a sparse matrix ({type(value).__name__}); backproplab needs a dense array: pass {name}.toarray()"
        )
    if isinstance(value, np.ma.MaskedArray) and np.ma.count_masked(value):
        raise ValueError(
            f"{name} is a masked array with {np.ma.count_masked(value)} masked entries; backproplab does not "
            "impute missing values"
        )
    columns = getattr(value, "columns", None)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists, pd.NA in a nullable column
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.dtype.kind == "O":
        try:
            converted = np.asarray(array, dtype=np.float64)
        except (ValueError, TypeError):
            _refuse_non_numeric(name, array, columns)
        if array.size and any(_is_missing(v) for v in array.ravel()):
            _refuse_non_numeric(name, array, columns)
        array = converted
    elif array.dtype.kind not in "biuf":
        _refuse_non_numeric(name, array, columns)
    return array, columns


def as_float_array(name: str, value: Any, dtype: Any, ndim: int | tuple[int, ...] = 2) -> np.ndarray:
    """Convert ``value`` to a finite float array of the given dtype and dimensionality.

    Refuses sparse matrices, masked arrays, text, missing cells (None, NaN, ``pd.NA``), wrong
    dimensionality, empty arrays, NaN/inf (naming row and column), and values that overflow the
    dtype (a float32 cast of 1e39 is an overflow, not an inf in the data).
    """
    array, columns = _as_dense(name, value)
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ndims:
        hint = ""
        if array.ndim == 1 and 2 in ndims:
            hint = "; use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        expected = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {expected}, got a {array.ndim}-D array of shape {array.shape}{hint}")
    if array.size == 0 or array.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); at least one sample is needed")
    if array.dtype.kind == "f" and not _all_finite(array):
        raise ValueError(f"{name} contains {_first_nonfinite(array, columns)}; backproplab does not impute missing values")
    with np.errstate(over="ignore"):
        cast = np.asarray(array, dtype=dtype)
    if cast is not array and cast.dtype.kind == "f" and not _all_finite(cast):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
        limit = np.finfo(cast.dtype).max
        raise ValueError(
            f"{name} has {float(array[index]):g} at {_where(index, columns)}, which overflows {cast.dtype} "
            f"(largest {limit:.3g}); rescale the data or use dtype='float64'"
        )
    return cast


def check_seed(name: str, seed: Any) -> int | None:
    """An integer seed (``numbers.Integral``, not bool) of at least 0, or None."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy Generator, got {seed!r} "
                        f"({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{name} must be None, a non-negative integer or a numpy Generator, got {seed!r}")
    return int(seed)


def check_rng_seed(name: str, seed: Any) -> np.random.Generator:
    """Accept None, an integer seed or a Generator; never touch the global numpy state."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(name, seed))


def check_sizes(name: str, sizes: Any, minimum_length: int = 2) -> list[int]:
    """Layer sizes: a list, tuple or 1-D integer array of at least ``minimum_length`` integers >= 1."""
    if isinstance(sizes, np.ndarray):
        if sizes.ndim != 1:
            raise ValueError(f"{name} must be a 1-D list of layer sizes, got an array of shape {sizes.shape}")
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple)) or len(sizes) < minimum_length:
        raise ValueError(f"{name} must be a list of at least {minimum_length} layer sizes, got {sizes!r}")
    return [check_int(f"{name}[{i}]", size, minimum=1) for i, size in enumerate(sizes)]


def check_names(name: str, values: Any, valid: Iterable[str]) -> list[str]:
    """A list of names from ``valid``; a bare string is one name (``metrics="accuracy"``)."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a name or a list of names, got {values!r} ({type(values).__name__})")
    valid = list(valid)
    return [choose(name.rstrip("s") if name.endswith("s") else name, v, valid) for v in values]


#: parameter arrays held per weight during training: values, gradients, the divergence snapshot,
#: two optimizer state arrays (Adam) and the initialiser's float64 draw
MEMORY_COPIES = 6


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of Dense layers of these sizes: ``sum((n_in + 1) * n_out)``."""
    return sum((int(a) + 1) * int(b) for a, b in zip(sizes, sizes[1:]))


def available_memory() -> int:
    """Physical memory in bytes (a large default when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def check_parameter_memory(name: str, sizes: Sequence[int], dtype: Any = "float64", limit: int | None = None) -> int:
    """Refuse, before anything is allocated, layer sizes whose training needs more memory than the
    machine has (about ``MEMORY_COPIES`` copies of every parameter). Returns the estimate in bytes."""
    count = parameter_count(sizes)
    need = count * MEMORY_COPIES * max(np.dtype(resolve_dtype(dtype)).itemsize, 8)
    limit = available_memory() if limit is None else limit
    if need > limit:
        raise ValueError(
            f"{name} {list(sizes)} make {count:,} parameters, which need about {_bytes(need)} to train; "
            f"this machine has {_bytes(limit)}"
        )
    return need


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_output_units(output: str, loss: str, n_outputs: int) -> None:
    """Softmax over one unit is 1.0 whatever the input: refuse it (and cross_entropy, which is
    softmax-fused, with one output), pointing at sigmoid + bce."""
    if n_outputs == 1 and (output == "softmax" or loss == "cross_entropy"):
        raise ValueError(
            f"output='softmax'{' (loss=' + repr(loss) + ')' if loss == 'cross_entropy' else ''} over 1 output unit "
            "always predicts 1.0; for a binary target use output='sigmoid' with loss='bce', or give "
            "one output per class"
        )


def check_finite_arrays(name: str, arrays: Sequence[Any]) -> None:
    """Refuse NaN or inf in any of ``arrays`` (for example weights given to ``set_weights``)."""
    for index, array in enumerate(arrays):
        array = np.asarray(array)
        if array.dtype.kind in "fc" and array.size and not _all_finite(array):
            position = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(f"{name}[{index}] holds {array[position].item()!r} at entry {position}; weights must be finite")


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


#: (minimum, strict, maximum, strict maximum) of the estimators' real-valued parameters
ESTIMATOR_REALS: dict[str, tuple[float | None, bool, float | None, bool]] = {
    "alpha": (0.0, False, None, False),
    "tol": (0.0, False, None, False),
    "learning_rate_init": (0.0, True, None, False),
    "power_t": (0.0, False, None, False),
    "momentum": (0.0, False, 1.0, False),
    "validation_fraction": (0.0, True, 1.0, True),
    "beta_1": (0.0, False, 1.0, True),
    "beta_2": (0.0, False, 1.0, True),
    "epsilon": (0.0, True, None, False),
}
ESTIMATOR_INTS = {"max_iter": 1, "n_iter_no_change": 1}


def check_estimator_params(params: dict[str, Any]) -> None:
    """Check a scikit-learn style estimator's own parameters (``get_params()``) by their own names,
    before any are translated into backproplab's (``max_iter`` is checked as ``max_iter``, never as
    ``max_epochs``; ``n_iter_no_change`` never as ``Stop.patience``)."""
    for name, minimum in ESTIMATOR_INTS.items():
        if name in params:
            check_int(name, params[name], minimum=minimum)
    for name, (low, strict, high, strict_high) in ESTIMATOR_REALS.items():
        if name not in params:
            continue
        value = check_real(name, params[name], minimum=low, strict=strict, maximum=high)
        if high is not None and strict_high and value >= high:
            raise ValueError(f"{name} must be < {high}, got {params[name]!r}")
    # hidden_layer_sizes and batch_size are checked by the estimator itself, by those names


CALLBACK_HOOKS = ("on_train_begin", "on_step_end", "on_epoch_end", "on_train_end")


def check_callbacks(name: str, callbacks: Any) -> list[Any]:
    """A list of objects with the four Callback hooks (a single callback is accepted as one)."""
    if callbacks is None:
        return []
    if any(hasattr(callbacks, hook) for hook in CALLBACK_HOOKS):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"{name} must be a list of backproplab.Callback objects, got {type(callbacks).__name__}")
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        missing = [hook for hook in CALLBACK_HOOKS if not callable(getattr(callback, hook, None))]
        if missing:
            raise TypeError(f"{name}[{index}] is {type(callback).__name__}, which lacks {', '.join(missing)}; "
                            "subclass backproplab.Callback")
    return callbacks
