"""Tabular data with names: one reader, task inference, label encoding and column matching.

One reader for ``.csv``, ``.tsv``, ``.npz``, ``.npy``, ``.mat`` and pandas DataFrames turns every source
into a DataFrame with named columns. Text files are parsed by pandas' C reader (delimiters, quotes,
a UTF-8 byte-order mark, NA markers, fields of any length and column dtypes), so nothing about CSV
is handled by hand here; pandas is the ``data`` extra (``pip install 'backproplab[data]'``).

Columns are always matched by *name*: a header ``2,1,0`` has the columns named "2", "1" and "0", and
``target="0"`` is the last of them. Arrays without names (``.npy``, ``.mat``, an ``.npz`` member ``X``)
get the names "0", "1", ... so that for them a name and a position agree.

The task is inferred from the target the way scikit-learn's ``type_of_target`` does (strings, booleans
and small sets of integers are classes; other numbers are values) unless it is given.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._io import check_regular_file

__all__ = [
    "DatasetError", "Dataset", "Labels", "read_table", "load", "from_frame", "infer_task", "type_of_target",
    "match_columns", "guess_id_column", "weight_column", "SUFFIXES", "MAX_CLASSES",
]

SUFFIXES = (".csv", ".tsv", ".npz", ".npy", ".mat")
# an integer-valued target with more distinct values than this is a quantity, not a set of classes
MAX_CLASSES = 20
NA_VALUES = ["?"]  # on top of pandas' defaults ("", "NA", "N/A", "NaN", "null", ...): UCI's marker
DELIMITERS = ",;\t|"
PANDAS_HINT = "reading tables needs pandas: pip install 'backproplab[data]'"


class DatasetError(ValueError):
    """A data file or table that cannot be used as given; the message names the file and the reason."""


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(PANDAS_HINT) from None
    return pandas


def _shown(names: Sequence[Any], limit: int = 20) -> str:
    shown = ", ".join(repr(str(n)) for n in list(names)[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ---------------------------------------------------------------------- reading
def read_table(source: Any, *, variable: str | None = None) -> Any:
    """Read ``source`` (a path or a DataFrame) into a DataFrame whose column names are unique strings.

    Parameters
    ----------
    source : path to a .csv, .tsv, .npz, .npy or .mat file, or a pandas DataFrame
    variable : str, optional
        .mat only: the variable to read (default: "samples", or the only one).
    """
    pd = _pandas()
    if isinstance(source, pd.DataFrame):
        frame = source.copy(deep=False)
        frame.columns = _unique_names("the DataFrame", [str(c) for c in frame.columns])
        return frame
    path = check_regular_file(os.fspath(source), "data file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".csv", ".tsv"):
        return _read_text(path, "\t" if suffix == ".tsv" else None)
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".npy":
        return _array_frame(path, _load_npy(path))
    if suffix == ".mat":
        return _array_frame(path, _load_mat(path, variable))
    raise DatasetError(f"cannot read {path!r}: unknown file type {suffix!r}; expected {', '.join(SUFFIXES)}")


def _unique_names(source: str, names: list[str]) -> list[str]:
    names = [name.strip() for name in names]
    empty = [i for i, name in enumerate(names) if not name]
    if empty:
        raise DatasetError(
            f"{source}: column {empty[0] + 1} has no name in the header (a DataFrame index written by "
            "to_csv has none: write it with index=False, or name the column)"
        )
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    duplicates = [name for name, count in seen.items() if count > 1]
    if duplicates:
        raise DatasetError(f"{source} has duplicate column names: {_shown(duplicates)}; every column needs its own name")
    return names


def _sniff_delimiter(path: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab | outside quotes (comma if none)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise DatasetError(f"cannot read {path!r}: it is not a UTF-8 text file (byte {error.start})") from None
        text = head[: error.start].decode("utf-8-sig")
    line, quoted = [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            break
        elif not quoted:
            line.append(char)
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_text(path: str, sep: str | None) -> Any:
    pd = _pandas()
    sep = sep or _sniff_delimiter(path)
    options = dict(sep=sep, encoding="utf-8-sig", skipinitialspace=True, na_values=NA_VALUES, engine="c")
    try:
        with warnings.catch_warnings():
            # index_col=False: rows with more cells than the header are an error (pandas would otherwise
            # make the first column the index when every row has one cell too many)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # the header as pandas parses it, before it renames duplicates ("label.1")
            header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
            frame = pd.read_csv(path, header=0, low_memory=False, index_col=False, **options)
    except pd.errors.ParserWarning:
        raise DatasetError(f"cannot read {path!r}: some rows have more cells than the header has names") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path!r} is empty (a header line and at least one row are needed)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatasetError(f"cannot read {path!r}: {reason}") from None
    names = _unique_names(repr(path), [str(v) for v in header.iloc[0].tolist()])
    if len(names) != frame.shape[1]:
        raise DatasetError(f"{path!r}: the header has {len(names)} names but the rows have {frame.shape[1]} cells")
    if len(frame) == 0:
        raise DatasetError(f"{path!r} has no data rows (a header line and at least one row are needed)")
    frame.columns = names
    return frame


def _read_npz(path: str) -> Any:
    pd = _pandas()
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as error:
        raise DatasetError(f"cannot read {path!r}: {error}") from None
    if "X" in arrays:
        X = np.asarray(arrays.pop("X"))
        if X.ndim != 2:
            raise DatasetError(f"{path!r}: array 'X' must be 2-D (samples x features), got shape {X.shape}")
        names = arrays.pop("feature_names", None)
        names = [str(n) for n in names.tolist()] if names is not None else [str(i) for i in range(X.shape[1])]
        if len(names) != X.shape[1]:
            raise DatasetError(f"{path!r}: 'feature_names' has {len(names)} entries but X has {X.shape[1]} columns")
        columns: dict[str, Any] = dict(zip(names, X.T))
        n = X.shape[0]
    else:
        lengths = {len(a) for a in arrays.values() if a.ndim in (1, 2)}
        if len(lengths) != 1:
            raise DatasetError(f"{path!r} must hold an array 'X' (or columns of one length); it has {sorted(arrays)}")
        columns, n = {}, lengths.pop()
    for name, array in arrays.items():
        if array.ndim == 1 and len(array) == n:
            columns[name] = array
        elif array.ndim == 2 and len(array) == n:
            columns.update({f"{name}[{j}]" if array.shape[1] > 1 else name: array[:, j] for j in range(array.shape[1])})
    frame = pd.DataFrame(columns)
    frame.columns = _unique_names(repr(path), list(frame.columns))
    if len(frame) == 0:
        raise DatasetError(f"{path!r} has no rows")
    return frame


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as error:
        raise DatasetError(f"cannot read {path!r}: {error}") from None


def _load_mat(path: str, variable: str | None) -> np.ndarray:
    from scipy.io import loadmat

    try:
        contents = loadmat(path)
    except Exception as error:
        raise DatasetError(f"cannot read {path!r} as a MATLAB file: {error}") from None
    names = [name for name in contents if not name.startswith("__")]
    if variable is None:
        variable = "samples" if "samples" in names else (names[0] if len(names) == 1 else None)
    if variable not in names:
        raise DatasetError(f"{path!r}: choose a variable with variable=...; it holds {sorted(names)}")
    return np.asarray(contents[variable])


def _array_frame(path: str, table: np.ndarray) -> Any:
    if table.ndim != 2 or table.size == 0:
        raise DatasetError(f"{path!r} must hold a non-empty 2-D array (samples x columns), got shape {table.shape}")
    return _pandas().DataFrame(table, columns=[str(i) for i in range(table.shape[1])])


# ---------------------------------------------------------------------- columns
def _names(value: str | int | Sequence[str | int] | None) -> list[str]:
    """Column names from a name, a list of names or a comma-separated string ("a,b")."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()] if "," in value else [value.strip()]
    if isinstance(value, Sequence):
        return [str(v).strip() for v in value]
    return [str(value)]  # one integer: the name of a column of an unnamed array


def _require(frame: Any, names: list[str], source: str, what: str) -> list[str]:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source} has no column {_shown(missing)} (the {what}); its columns are: {_shown(list(frame.columns))}"
        )
    return names


def _numeric(frame: Any, names: list[str], source: str, what: str) -> np.ndarray:
    """The named columns as one row-ordered float64 array, refusing text and missing values by name."""
    pd = _pandas()
    for name in names:
        column = frame[name]
        if column.dtype.kind in "biu" or (column.dtype.kind == "f" and not column.hasnans):
            continue  # the common case, checked without a pass over the values
        if column.dtype.kind not in "f":
            values = pd.to_numeric(column, errors="coerce")
            bad = values.isna() & column.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DatasetError(
                    f"{source}, column {name!r} ({what}), row {row + 1}: {column.iloc[row]!r} is not a number; "
                    f"drop the column (--drop {name}) or encode it as numbers"
                )
        missing = column.isna().to_numpy()
        if missing.any():
            raise DatasetError(
                f"{source}, column {name!r} ({what}) has {int(missing.sum())} missing value(s), the first in row "
                f"{int(np.flatnonzero(missing)[0]) + 1} (an empty cell, an NA marker such as NA or ?, or a row with fewer "
                "cells than the header); backproplab does not impute missing values: fill or drop them"
            )
    try:
        block = frame[names].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{source}: the {what} cannot be read as numbers ({error})") from None
    # one row-ordered copy here: DataFrame.to_numpy() is column-ordered, and batches gather rows
    block = np.ascontiguousarray(block)
    if not np.isfinite(block).all():
        row, col = np.argwhere(~np.isfinite(block))[0]
        raise DatasetError(f"{source}, column {names[col]!r} ({what}), row {row + 1}: {block[row, col]} is not finite")
    return block


@dataclass
class Dataset:
    """Named arrays read from one table.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64, row-ordered
    y : ndarray of shape (n_samples,) for one target or (n_samples, n_targets), or None
        The target values as read (strings stay strings); see :class:`Labels` to encode classes.
    feature_names, target_names : list of str
    ids : ndarray of shape (n_samples,), optional; ``id_name`` names its column (``id_guessed`` when it
        was recognised by :func:`guess_id_column` rather than named)
    sample_weight : ndarray of shape (n_samples,), optional; ``weight_name`` names its column
    source : str
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_names: list[str] = field(default_factory=list)
    ids: np.ndarray | None = None
    id_name: str | None = None
    sample_weight: np.ndarray | None = None
    weight_name: str | None = None
    source: str = ""
    id_guessed: bool = False


def from_frame(
    frame: Any,
    target: str | int | Sequence[str | int] | None = None,
    *,
    features: str | Sequence[str] | None = None,
    drop: str | Sequence[str] | None = None,
    id: str | None = None,
    weight: str | None = None,
    source: str = "the table",
) -> Dataset:
    """Split a DataFrame into features, targets, ids and weights, all by column name.

    The features are ``features`` when given, else every column that is not a target, the id, the
    weight or in ``drop``. Without ``id`` and ``features``, a column named like an id with a distinct
    value in every row is taken as the id (see :func:`guess_id_column`; ``Dataset.id_guessed`` says so).
    """
    targets = _require(frame, _names(target), source, "target")
    auto_id = False
    if id is None and features is None:
        id = guess_id_column(frame, exclude=[*targets, *_names(weight), *_names(drop)])
        auto_id = id is not None
    special = [*_names(id), *_names(weight)]
    _require(frame, special, source, "id/weight")
    dropped = _require(frame, _names(drop), source, "--drop")
    if features is not None:
        chosen = _require(frame, _names(features), source, "feature")
        overlap = [name for name in chosen if name in targets or name in special]
        if overlap:
            raise DatasetError(f"{source}: column {_shown(overlap)} cannot be both a feature and a target/id/weight")
    else:
        excluded = {*targets, *special, *dropped}
        chosen = [name for name in frame.columns if name not in excluded]
    if not chosen:
        raise DatasetError(f"{source}: no feature columns are left after taking the target(s), id, weight and --drop")
    X = _numeric(frame, chosen, source, "feature")
    y = None
    if targets:
        _no_missing(frame, targets, source)
        y = frame[targets[0]].to_numpy() if len(targets) == 1 else frame[targets].to_numpy()
    sample_weight = None if weight is None else weight_column(frame, str(weight), source)
    ids = frame[str(id)].to_numpy() if id is not None else None
    return Dataset(X, y, list(chosen), targets, ids, None if id is None else str(id), sample_weight,
                   None if weight is None else str(weight), source, auto_id)


def weight_column(frame: Any, name: str, source: str = "the table") -> np.ndarray:
    """The column ``name`` as per-row weights: numbers, none missing or negative, not all zero."""
    _require(frame, [name], source, "weight")
    weights = _numeric(frame, [name], source, "weight")[:, 0]
    if (weights < 0).any():
        row = int(np.flatnonzero(weights < 0)[0])
        raise DatasetError(f"{source}: column {name!r} (the weight) holds negative values, the first "
                           f"{weights[row]:g} in row {row + 1}")
    if not weights.any():
        raise DatasetError(f"{source}: column {name!r} (the weight) is 0 in every row; nothing would count")
    return weights


ID_NAMES = ("id", "index", "row", "rowid", "row_id", "identifier", "key", "uuid")


def guess_id_column(frame: Any, exclude: Sequence[str] = ()) -> str | None:
    """The first column that is named like an id ("id", "ID", "row_id", "patient_id", ...) and holds a
    distinct integer or text value in every row, or None. Such a column numbers rows; as a feature it
    only lets a network memorise row order."""
    for name in frame.columns:
        lowered = str(name).lower().replace(" ", "_")
        if name in exclude or not (lowered in ID_NAMES or lowered.endswith("_id")):
            continue
        column = frame[name]
        if column.dtype.kind in "iuO" or column.dtype.name.startswith(("str", "string")):
            if column.notna().all() and column.is_unique:
                return str(name)
    return None


def _no_missing(frame: Any, names: list[str], source: str) -> None:
    for name in names:
        missing = frame[name].isna().to_numpy()
        if missing.any():
            raise DatasetError(
                f"{source}, column {name!r} (the target) has {int(missing.sum())} missing value(s), the first in "
                f"row {int(np.flatnonzero(missing)[0]) + 1} (an empty cell, an NA marker, or a row with fewer cells than "
                "the header); drop or fill those rows"
            )


def load(
    source: Any,
    target: str | int | Sequence[str | int] | None = None,
    *,
    features: str | Sequence[str] | None = None,
    drop: str | Sequence[str] | None = None,
    id: str | None = None,
    weight: str | None = None,
    variable: str | None = None,
) -> Dataset:
    """Read ``source`` with :func:`read_table` and split it with :func:`from_frame`."""
    frame = read_table(source, variable=variable)
    name = "the DataFrame" if not isinstance(source, (str, os.PathLike)) else repr(os.fspath(source))
    return from_frame(frame, target, features=features, drop=drop, id=id, weight=weight, source=name)


def match_columns(
    frame: Any,
    feature_names: Sequence[str],
    *,
    known: Sequence[str] = (),
    ignore_extra: bool = False,
    source: str = "the table",
) -> list[str]:
    """Check that ``frame`` holds every one of a model's ``feature_names``, by name.

    ``known`` columns (the model's targets, an id, a weight) may be present. Any other extra column is
    refused unless ``ignore_extra``; a table that would match only by position (same number of
    columns, none of the names) is refused with the names the model expects.
    """
    columns = list(frame.columns)
    missing = [name for name in feature_names if name not in columns]
    others = [c for c in columns if c not in known]
    if missing:
        if len(missing) == len(feature_names) and len(others) == len(feature_names):
            raise DatasetError(
                f"the columns of {source} match the model's features only by position: it has {_shown(others)}, "
                f"the model was trained on {_shown(feature_names)}; give the file a header with those names"
            )
        raise DatasetError(
            f"{source} is missing the column(s) {_shown(missing)} that the model was trained on "
            f"(it has {_shown(columns)})"
        )
    extra = [c for c in others if c not in feature_names]
    if extra and not ignore_extra:
        raise DatasetError(
            f"{source} has column(s) the model was not trained on: {_shown(extra)}; pass --ignore-extra "
            "(ignore_extra=True) to leave them out, or --id/--drop to name them"
        )
    return list(feature_names)


# ---------------------------------------------------------------------- task and labels
def _is_integral(values: np.ndarray) -> bool:
    if values.dtype.kind in "biu":
        return True
    return bool(values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def type_of_target(y: Any) -> str:
    """scikit-learn's kinds, with a size limit on integer classes.

    Returns "binary" (two values), "multiclass" (strings or booleans, or at most :data:`MAX_CLASSES`
    integer values, no more than half the number of rows), "continuous" (other numbers), or the
    "-multioutput" variants for several target columns.
    """
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] > 1:
        kinds = {type_of_target(values[:, j]) for j in range(values.shape[1])}
        return "continuous-multioutput" if "continuous" in kinds else "multiclass-multioutput"
    values = values.reshape(-1)
    if values.dtype.kind in "OUSb" or values.dtype.name == "category":
        numeric = _as_numbers(values)
        if numeric is None:
            return "binary" if len(_unique(values)) <= 2 else "multiclass"
        values = numeric
    if not _is_integral(values):
        return "continuous"
    distinct = np.unique(values)
    if len(distinct) <= 2:
        return "binary"
    return "multiclass" if len(distinct) <= MAX_CLASSES and 2 * len(distinct) <= len(values) else "continuous"


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    """Object values that are all real numbers (not bools, not strings) as floats, else None."""
    if values.dtype.kind != "O" or not all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
                                           for v in values):
        return None
    return values.astype(np.float64)


def infer_task(y: Any, task: str | None = None) -> str:
    """ "classification" or "regression": ``task`` when given, else from :func:`type_of_target`."""
    if task is not None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        return task
    kind = type_of_target(y)
    return "regression" if kind.startswith("continuous") else "classification"


def _plain(value: Any) -> Any:
    """A label as a JSON-plain Python value (numpy scalars unwrapped; integral floats kept as floats)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DatasetError(f"a class label is {value}; labels must be finite")
        return value
    return str(value)


def _key(value: Any) -> Any:
    """What two equal labels have in common: 1, 1.0 and np.int64(1) match; "1" and 1 do not."""
    value = _plain(value)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    return ("s", value)


#: element types whose equal values (of one type) always have equal :func:`_key`; the dict in
#: :func:`_distinct` may merge them before the labels' own rules see them
_PLAIN_TYPES = frozenset({bool, int, float, str})


def _distinct(values: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """(the first entry of each run of equal values, in order of first appearance; the position of
    each entry's among them). The label rules (:func:`_key`, :func:`_plain`) then run once per
    distinct value instead of once per row: per row they cost about a second for 200k labels.

    Equal values merged here always have equal keys, so the rules see the same first-seen labels
    as they would row by row (a key may still merge several of them: 1 and 1.0, 2**53 and 2**53 + 1)."""
    values = values.reshape(-1)
    if values.dtype.kind in "biufUS":
        _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # np.unique sorts; put them in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return values[first[order]].tolist(), rank[inverse.reshape(-1)]
    items = values.tolist()
    if set(map(type, items)) <= _PLAIN_TYPES:
        table: dict[tuple[type, Any], int] = {}
        inverse = np.fromiter((table.setdefault((type(v), v), len(table)) for v in items), np.int64, len(items))
        return [value for _, value in table], inverse
    return items, np.arange(len(items))


def _unique(values: np.ndarray) -> list[Any]:
    seen: dict[Any, Any] = {}
    for value in _distinct(values)[0]:
        seen.setdefault(_key(value), _plain(value))
    return list(seen.values())


class Labels:
    """Classes of any values (1..k, -1/1, "yes"/"no", strings) mapped to indices 0..k-1 and back.

    ``classes`` are sorted (numbers numerically, strings alphabetically, as ``np.unique`` would) and
    kept as JSON-plain Python values, so a model file stores strings as strings.
    """

    def __init__(self, classes: Sequence[Any]) -> None:
        self.classes = [_plain(c) for c in classes]
        self._index = {_key(c): i for i, c in enumerate(self.classes)}
        if len(self._index) != len(self.classes):
            raise ValueError(f"classes must be distinct, got {self.classes!r}")

    @classmethod
    def fit(cls, y: Any) -> Labels:
        values = _unique(np.asarray(y).reshape(-1))
        kinds = {_key(v)[0] for v in values}
        if len(kinds) > 1:  # mixed numbers and text: compare them as text
            values = sorted({str(v) for v in values})
        else:
            values = sorted(values)
        return cls(values)

    def encode(self, y: Any, source: str = "y") -> np.ndarray:
        """Indices of ``y``'s labels, shape (n_samples,); labels that are not classes are refused by name."""
        values, inverse = _distinct(np.asarray(y))
        text = all(isinstance(c, str) for c in self.classes)
        keys = [_key(str(_plain(v)) if text else v) for v in values]
        try:
            return np.fromiter((self._index[k] for k in keys), dtype=np.int64, count=len(keys))[inverse]
        except KeyError:
            unknown = sorted({str(_plain(v)) for v, k in zip(values, keys) if k not in self._index})
            raise DatasetError(
                f"{source} holds label(s) the model does not know: {_shown(unknown)}; its classes are "
                f"{_shown(self.classes)}"
            ) from None

    def decode(self, indices: Any) -> np.ndarray:
        """The class of each index, as an array (strings stay strings, numbers numbers)."""
        table = np.asarray(self.classes, dtype=object if any(isinstance(c, str) for c in self.classes) else None)
        return table[np.asarray(indices, dtype=np.int64)]

    def __len__(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return f"Labels({self.classes!r})"
