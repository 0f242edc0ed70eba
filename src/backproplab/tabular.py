"""From a named table to a trained model and back: the command line's data path.

:func:`prepare` turns a :class:`~backproplab.data.Dataset` into network targets (class indices or
standardised values), :func:`model_metadata` records what ``predict``/``evaluate`` need to read new
tables the same way (feature and target names, classes, task, loss, scaling), and
:func:`decode` turns network outputs back into class names, probabilities or values.

Regression targets are standardised for training, ``y_s = (y - mean) / std`` per column, and
predictions are mapped back by ``y = y_s * std + mean`` with the training rows' mean and std.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from . import metrics as metric_module
from ._format import num
from .data import Dataset, DatasetError, Labels, infer_task, type_of_target
from .history import Callback, History

__all__ = ["Prepared", "prepare", "model_metadata", "encode_targets", "decode", "split_rows", "scaling_warning", "scaling_warnings",
           "EpochLines", "task_line", "evaluate_outputs", "predict_rows", "SCALES"]

SCALES = ("standard", "minmax", "none")
CLASSIFICATION_LOSSES = ("bce", "cross_entropy")
REGRESSION_LOSSES = ("mse", "mae")


@dataclass
class Prepared:
    """Network-ready targets for a data set. ``Y`` is (n,) class indices for cross_entropy, (n, 1)
    0/1 for bce, or (n, k) values (standardised when ``target_mean`` is set) for regression."""

    task: str
    loss: str
    n_outputs: int
    Y: np.ndarray
    labels: Labels | None = None
    target_mean: np.ndarray | None = None
    target_std: np.ndarray | None = None
    kind: str = ""


def prepare(dataset: Dataset, task: str | None = None, loss: str | None = None,
            scale_targets: bool = True) -> Prepared:
    """Infer (or take) the task, encode the labels and choose the loss and the number of outputs."""
    if dataset.y is None:
        raise DatasetError(f"{dataset.source}: no target column was named")
    if loss is not None and loss not in (*CLASSIFICATION_LOSSES, *REGRESSION_LOSSES):
        raise ValueError(f"unknown loss {loss!r} (--loss); expected one of: {', '.join((*REGRESSION_LOSSES, *CLASSIFICATION_LOSSES))}")
    kind = type_of_target(dataset.y)
    task = infer_task(dataset.y, task)
    if task == "classification":
        return _classes(dataset, loss, kind)
    if loss is not None and loss not in REGRESSION_LOSSES:
        raise ValueError(f"--loss {loss!r} is a classification loss but the task is regression; use mse or mae "
                         "(or --task classification)")
    try:
        values = np.asarray(dataset.y, dtype=np.float64).reshape(len(dataset.y), -1)
    except (TypeError, ValueError):
        raise DatasetError(f"{dataset.source}: target {', '.join(dataset.target_names)} holds text, which regression "
                           "cannot use; use --task classification") from None
    prepared = Prepared("regression", loss or "mse", values.shape[1], values, kind=kind)
    if scale_targets:
        mean, std = values.mean(axis=0), values.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        prepared.Y, prepared.target_mean, prepared.target_std = (values - mean) / std, mean, std
    return prepared


def _classes(dataset: Dataset, loss: str | None, kind: str) -> Prepared:
    assert dataset.y is not None
    if np.ndim(dataset.y) == 2:
        raise DatasetError(f"{dataset.source}: classification takes one target column, got "
                           f"{', '.join(dataset.target_names)}; use --task regression for several")
    labels = Labels.fit(dataset.y)
    if len(labels) < 2:
        raise DatasetError(f"{dataset.source}: target {dataset.target_names[0]!r} has a single class "
                           f"{labels.classes[0]!r}; classification needs at least two")
    if loss is not None and loss not in CLASSIFICATION_LOSSES:
        raise ValueError(f"--loss {loss!r} is a regression loss but the task is classification; use bce or "
                         "cross_entropy (or --task regression)")
    loss = loss or ("bce" if len(labels) == 2 else "cross_entropy")
    if loss == "bce" and len(labels) > 2:
        raise ValueError(f"--loss bce takes two classes but the target has {len(labels)}; use cross_entropy")
    index = labels.encode(dataset.y, dataset.source)
    if loss == "bce":
        return Prepared("classification", loss, 1, index.reshape(-1, 1).astype(np.float64), labels, kind=kind)
    return Prepared("classification", loss, len(labels), index, labels, kind=kind)


def task_line(prepared: Prepared, target_names: list[str]) -> str:
    """One line: the task, why, and the classes (or the target's scaling)."""
    target = ", ".join(target_names)
    if prepared.labels is not None:
        classes = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in prepared.labels.classes[:10])
        more = f", ... ({len(prepared.labels)} in all)" if len(prepared.labels) > 10 else ""
        return f"task: classification of {target!r} into {len(prepared.labels)} classes: {classes}{more} (loss {prepared.loss})"
    scaled = ""
    if prepared.target_mean is not None and prepared.target_std is not None:
        scaled = f", standardised with mean {num(prepared.target_mean[0])} and std {num(prepared.target_std[0])}"
    return f"task: regression of {target!r}{scaled} (loss {prepared.loss})"


def model_metadata(dataset: Dataset, prepared: Prepared, scale: str) -> dict[str, Any]:
    """JSON-plain facts a model file keeps so that new tables are read the way the training table was."""
    return {
        "kind": "table",
        "feature_names": list(dataset.feature_names),
        "target_names": list(dataset.target_names),
        "task": prepared.task,
        "loss": prepared.loss,
        "classes": prepared.labels.classes if prepared.labels is not None else None,
        "scale": scale,
        "target_scaling": None if prepared.target_mean is None or prepared.target_std is None else {
            "mean": [float(v) for v in prepared.target_mean], "std": [float(v) for v in prepared.target_std]},
        "id": dataset.id_name,
        "weight": dataset.weight_name,
    }


def encode_targets(metadata: dict[str, Any], y: Any, source: str) -> np.ndarray:
    """New targets encoded as the model was trained (class indices, 0/1, or standardised values)."""
    if metadata.get("task") == "classification":
        index = Labels(metadata["classes"]).encode(y, source)
        return index.reshape(-1, 1).astype(np.float64) if metadata.get("loss") == "bce" else index
    values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    scaling = metadata.get("target_scaling")
    if scaling:
        values = (values - np.asarray(scaling["mean"])) / np.asarray(scaling["std"])
    return values


def decode(metadata: dict[str, Any], outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(labels or values, class probabilities or None) from network outputs.

    Classification: the most probable class of each row and a (n, k) probability array, columns in
    the order of the classes. Regression: values of shape (n, n_targets) in the target's own units."""
    if metadata.get("task") == "classification":
        labels = Labels(metadata["classes"])
        P = np.hstack([1 - outputs, outputs]) if outputs.shape[1] == 1 else outputs
        return labels.decode(P.argmax(axis=1)), P
    scaling = metadata.get("target_scaling")
    if scaling:
        outputs = outputs * np.asarray(scaling["std"]) + np.asarray(scaling["mean"])
    return outputs, None


PREDICT_CHUNK = 8192  # (Network._predict_blocks's block too: the block size decides the bits)


def predict_rows(net: Any, X: np.ndarray, chunk: int = PREDICT_CHUNK) -> np.ndarray:
    """``net.predict(X)`` in blocks of ``chunk`` rows: the same numbers, and on 200k rows about half
    the time of one pass, whose activations do not fit in the cache. On one BLAS thread when every
    product of a block is below :data:`backproplab._threads.PREDICT_PRODUCT` (the thread count does
    not change the numbers; the block size would)."""
    from ._threads import PREDICT_PRODUCT, blas_threads_for
    from .training import _largest_product

    with blas_threads_for(_largest_product(net, min(chunk, len(X))), PREDICT_PRODUCT):
        if len(X) <= chunk:
            return net.predict(X)
        return np.concatenate([net.predict(X[i : i + chunk]) for i in range(0, len(X), chunk)])


def split_rows(n: int, fraction: float | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Training and validation row indices; the validation rows are a seeded random ``fraction``."""
    if fraction is None:
        return np.arange(n), None
    if not 0 < fraction < 1:
        raise ValueError(f"--val-fraction must be between 0 and 1, got {fraction!r}")
    n_val = int(round(fraction * n))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"--val-fraction {fraction} leaves {n_val} of {n} rows for validation; need at least one "
                         "row on each side")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def scaling_warning(X: np.ndarray, names: list[str]) -> str | None:
    """A sentence with the numbers when the columns are far from mean 0 and standard deviation 1."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    # a column is unscaled when its typical magnitude is far from 1 (or it is constant)
    size = np.sqrt(mean**2 + std**2)
    bad = np.flatnonzero((size > 5) | (size < 0.2) | (std == 0))
    if bad.size == 0:
        return None
    worst = int(bad[np.argmax(np.abs(np.log10(np.maximum(size[bad], 1e-300))))])
    return (f"--scale none with unscaled inputs: {bad.size} of {X.shape[1]} columns are far from mean 0 and "
            f"std 1, e.g. {names[worst]!r} has mean {num(mean[worst])} and std {num(std[worst])}; training may "
            "stall or diverge (drop --scale none to standardise)")


def scaling_warnings(X: np.ndarray, names: list[str], Y: np.ndarray | None = None,
                     target_names: list[str] | None = None) -> list[str]:
    """:func:`scaling_warning` for the inputs and, for regression, the same about unscaled targets."""
    found = [scaling_warning(X, names)]
    if Y is not None:
        mean, std = Y.mean(axis=0), Y.std(axis=0)
        worst = int(np.argmax(np.sqrt(mean**2 + std**2)))
        if np.sqrt(mean[worst] ** 2 + std[worst] ** 2) > 5:
            name = (target_names or ["the target"])[worst]
            found.append(f"--scale none leaves the regression target unscaled: {name!r} has mean {num(mean[worst])} "
                         f"and std {num(std[worst])}, so a squared error starts near its variance {num(std[worst] ** 2)} "
                         "instead of near 1")
    return [message for message in found if message]


class EpochLines(Callback):
    """Keras-style lines, one per epoch: ``Epoch 3/200 - 0.05s - loss: 0.1234 - accuracy: 0.95 - val_loss: ...``."""

    def __init__(self, stream: IO[str], total_epochs: int | None) -> None:
        self.stream = stream
        self.total = total_epochs
        self._start = time.perf_counter()
        self._last = self._start

    def on_train_begin(self, net: Any, history: History) -> bool | None:
        self._start = self._last = time.perf_counter()
        return None

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        now = time.perf_counter()
        parts = [f"Epoch {epoch}" + (f"/{self.total}" if self.total else ""), f"{now - self._last:.2f}s"]
        self._last = now
        if history.loss:
            parts.append(f"loss: {history.loss[-1]:.4f}")
        parts += [f"{name}: {values[-1]:.4f}" for name, values in history.metrics.items()
                  if values and not name.startswith("val_")]
        if history.val_loss:
            parts.append(f"val_loss: {history.val_loss[-1]:.4f}")
        parts += [f"{name}: {values[-1]:.4f}" for name, values in history.metrics.items()
                  if values and name.startswith("val_")]
        self.stream.write(" - ".join(parts) + "\n")
        self.stream.flush()
        return None


CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "confusion")
REGRESSION_METRICS = ("mae", "rmse", "r2", "mse")


def evaluate_outputs(metadata: dict[str, Any], y: Any, outputs: np.ndarray, names: list[str] | None,
                     source: str, sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of a model's ``outputs`` against true targets ``y`` in their own units (or labels); with
    ``sample_weight``, weighted as scikit-learn's ``sample_weight`` (see :mod:`backproplab.metrics`)."""
    if metadata.get("task") == "classification":
        valid: tuple[str, ...] = CLASSIFICATION_METRICS
        labels = Labels(metadata["classes"])
        truth = labels.encode(y, source)
        predicted, _ = decode(metadata, outputs)
        report = metric_module.classification_report(truth, labels.encode(predicted), labels.classes, sample_weight)
    else:
        valid = REGRESSION_METRICS
        predicted, _ = decode(metadata, outputs)
        truth_values = np.asarray(y, dtype=np.float64).reshape(len(outputs), -1)
        report = metric_module.regression_report(truth_values, predicted, sample_weight)
    wanted = list(valid) if not names else names
    unknown = [n for n in wanted if n not in valid]
    if unknown:
        raise ValueError(f"--metrics {','.join(unknown)} does not apply to {metadata.get('task')}; choose from "
                         f"{', '.join(valid)}")
    result = {name: report[name] for name in wanted}
    per_class = [n for n in ("precision", "recall", "f1") if n in wanted]
    if per_class and "per_class" in report:
        result["per_class"] = {label: {**{n: row[n] for n in per_class}, "support": row["support"]}
                               for label, row in report["per_class"].items()}
    if "confusion" in wanted:
        result["classes"] = report["classes"]
    return result
