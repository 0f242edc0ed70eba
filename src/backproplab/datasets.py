"""Built-in data sets from the two source documents, and loaders for .csv, .npz, .npy and .mat files.

Every generator takes a ``seed`` and draws from its own ``np.random.Generator``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import as_float_array, check_int, check_real, check_rng_seed

__all__ = ["two_spheres", "xor", "qa_toy", "noise", "load_dataset", "save_mat", "DatasetError"]


class DatasetError(ValueError):
    """A data file that cannot be read as a data set; the message names the file and the reason."""


def two_spheres(
    n_per_class: int = 100,
    centers: Sequence[Sequence[float]] = ((1, 1, 1), (-1, 2, -7)),
    labels: Sequence[float] = (1, 0),
    radius: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The blog's data: ``n_per_class`` points uniform in a ball around each center.

    Returns ``X`` of shape ``(n_classes * n_per_class, 3)`` and ``y`` of shape ``(n, 1)``.
    """
    n_per_class = check_int("n_per_class", n_per_class, minimum=1)
    radius = check_real("radius", radius, minimum=0.0, strict=True)
    centers_array = np.asarray(centers, dtype=float)
    if centers_array.ndim != 2 or len(labels) != len(centers_array):
        raise ValueError("centers must be a list of points and labels must give one label per center")
    rng = check_rng_seed("seed", seed)
    dim = centers_array.shape[1]
    points, targets = [], []
    for center, label in zip(centers_array, labels):
        direction = rng.normal(size=(n_per_class, dim))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        r = radius * rng.random(n_per_class) ** (1.0 / dim)
        points.append(center + direction * r[:, None])
        targets.append(np.full((n_per_class, 1), float(label)))
    return np.vstack(points), np.vstack(targets)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The blog appendix's XOR: 4 samples, class labels 0 1 1 0 (as indices)."""
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])


def qa_toy() -> tuple[np.ndarray, np.ndarray]:
    """The question's data set 1: 2 samples with 4 features, 4 targets each."""
    X = np.array([[1.0, 2.0, -3.0, 10.0], [0.3, -7.8, 1.0, 2.0]])
    Y = np.array([[10.0, -3.0, 6.0, 1.0], [1.0, 1.0, 6.0, 1.0]])
    return X, Y


def noise(
    n: int = 20, n_features: int = 7, n_targets: int = 2, seed: int | np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The question's data set 2: ``X`` and ``Y`` independent U(0, 1) noise (nothing to learn)."""
    n = check_int("n", n, minimum=1)
    n_features = check_int("n_features", n_features, minimum=1)
    n_targets = check_int("n_targets", n_targets, minimum=1)
    rng = check_rng_seed("seed", seed)
    return rng.random((n, n_features)), rng.random((n, n_targets))


# ---------------------------------------------------------------------- files
def load_dataset(
    path: str | os.PathLike[str],
    target: str | int | Sequence[str | int] | None = None,
    variable: str | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read ``(X, y, info)`` from a .csv, .npz, .npy or .mat file.

    Parameters
    ----------
    target : column name(s) or index(es)
        .csv: names from the header (or integer positions). .npz: the name of the target array
        (default "y"; the features are "X"). .npy/.mat: column index(es) of a single 2-D array
        (default: the last column, the blog's ``[x1, x2, x3, label]`` layout).
    variable : str, optional
        .mat: the variable to read (default: the only one, or "samples").

    ``info`` has ``feature_names`` and ``target_names``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"data file {path!r} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    readers: dict[str, Any] = {".csv": _load_csv, ".npz": _load_npz, ".npy": _load_npy, ".mat": _load_mat}
    if suffix not in readers:
        raise DatasetError(f"cannot read {path!r}: unknown file type {suffix!r}; expected .csv, .npz, .npy or .mat")
    if suffix == ".mat":
        return _load_mat(path, target, variable)
    return readers[suffix](path, target)


def _targets(target: Any) -> list[Any]:
    if target is None:
        return []
    if isinstance(target, (str, int, np.integer)):
        return [target]
    return list(target)


def _split_columns(path: str, table: np.ndarray, names: list[str], target: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    wanted = _targets(target) or [len(names) - 1]
    columns = []
    for item in wanted:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -len(names) <= item < len(names):
                raise DatasetError(f"{path!r} has {len(names)} columns; target column {item} does not exist")
            columns.append(int(item) % len(names))
        elif item in names:
            columns.append(names.index(item))
        else:
            raise DatasetError(
                f"{path!r} has no column {item!r}; columns are: {', '.join(names[:20])}"
                + (" ..." if len(names) > 20 else "")
            )
    features = [i for i in range(len(names)) if i not in columns]
    if not features:
        raise DatasetError(f"{path!r}: no feature columns are left after taking the target(s)")
    X = as_float_array(f"{os.path.basename(path)} features", table[:, features], np.float64)
    y = as_float_array(f"{os.path.basename(path)} target", table[:, columns], np.float64)
    return X, y, {"feature_names": [names[i] for i in features], "target_names": [names[i] for i in columns]}


def _load_csv(path: str, target: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    try:
        with open(path, newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise DatasetError(f"cannot read {path!r}: it is not a text CSV file") from None
    try:  # comma, semicolon (common where the decimal mark is a comma), tab or pipe
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise DatasetError(f"{path!r} has no data rows (a header line and at least one row are needed)")
    names = [cell.strip() for cell in rows[0]]
    table = np.empty((len(rows) - 1, len(names)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(names):
            raise DatasetError(f"{path!r} line {line} has {len(row)} cells, the header has {len(names)}")
        for column, cell in enumerate(row):
            try:
                table[line - 2, column] = float(cell)
            except ValueError:
                raise DatasetError(
                    f"{path!r} line {line}, column {names[column]!r}: {cell!r} is not a number"
                ) from None
    return _split_columns(path, table, names, target)


def _load_npz(path: str, target: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as error:
        raise DatasetError(f"cannot read {path!r}: {error}") from None
    x_name = "X" if "X" in arrays else None
    y_name = str(target) if target is not None else "y"
    if x_name is None or y_name not in arrays:
        raise DatasetError(f"{path!r} must hold arrays 'X' and {y_name!r}; it has {sorted(arrays)}")
    X = as_float_array("X", arrays[x_name], np.float64)
    y = as_float_array(y_name, arrays[y_name], np.float64, ndim=(1, 2))
    return X, y.reshape(len(y), -1), {"feature_names": [f"x{i}" for i in range(X.shape[1])], "target_names": [y_name]}


def _load_npy(path: str, target: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    try:
        table = np.load(path, allow_pickle=False)
    except Exception as error:
        raise DatasetError(f"cannot read {path!r}: {error}") from None
    table = as_float_array(os.path.basename(path), table, np.float64)
    return _split_columns(path, table, [f"c{i}" for i in range(table.shape[1])], target)


def _load_mat(path: str, target: Any, variable: str | None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
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
    table = as_float_array(str(variable), contents[variable], np.float64)
    return _split_columns(path, table, [f"c{i}" for i in range(table.shape[1])], target)


def save_mat(path: str | os.PathLike[str], X: np.ndarray, y: np.ndarray, variable: str = "samples") -> None:
    """Write the blog's ``samples.mat`` layout: rows ``[x1, ..., xd, label]`` in ``variable``."""
    from scipy.io import savemat

    X = as_float_array("X", X, np.float64)
    y = as_float_array("y", y, np.float64, ndim=(1, 2)).reshape(len(X), -1)
    savemat(os.fspath(path), {variable: np.hstack([X, y])})
