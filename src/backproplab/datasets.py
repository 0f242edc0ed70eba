"""Built-in data sets from the two source documents, and a numeric loader for .csv, .tsv, .npz, .npy and .mat files.

Every generator takes a ``seed`` and draws from its own ``np.random.Generator``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import as_float_array, check_int, check_real, check_rng_seed
from .data import DatasetError  # one error type for every data file, defined with the reader

__all__ = ["two_spheres", "xor", "qa_toy", "noise", "load_dataset", "save_mat", "DatasetError"]


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
    """Read numeric ``(X, y, info)`` from a .csv, .tsv, .npz, .npy or .mat file (see :mod:`backproplab.data`).

    Parameters
    ----------
    target : column name(s)
        Names from the header (a header ``2,1,0`` has the columns "2", "1" and "0"). Arrays without
        names (.npy, .mat, an .npz member ``X``) have the columns "0", "1", ..., so an integer there is
        also the position. Default: the last column (the blog's ``[x1, x2, x3, label]`` layout).
    variable : str, optional
        .mat: the variable to read (default: the only one, or "samples").

    ``info`` has ``feature_names`` and ``target_names``. For text labels, class inference and column
    matching use :func:`backproplab.data.load`.
    """
    from . import data

    frame = data.read_table(path, variable=variable)
    if target is None:
        target = "y" if os.fspath(path).lower().endswith(".npz") and "y" in frame.columns else frame.columns[-1]
    dataset = data.from_frame(frame, target, source=repr(os.fspath(path)))
    assert dataset.y is not None
    y = as_float_array(f"{os.path.basename(os.fspath(path))} target", dataset.y, np.float64, ndim=(1, 2))
    return dataset.X, y.reshape(len(y), -1), {"feature_names": dataset.feature_names,
                                              "target_names": dataset.target_names}


def save_mat(path: str | os.PathLike[str], X: np.ndarray, y: np.ndarray, variable: str = "samples") -> None:
    """Write the blog's ``samples.mat`` layout: rows ``[x1, ..., xd, label]`` in ``variable``."""
    from scipy.io import savemat

    X = as_float_array("X", X, np.float64)
    y = as_float_array("y", y, np.float64, ndim=(1, 2)).reshape(len(X), -1)
    savemat(os.fspath(path), {variable: np.hstack([X, y])})
