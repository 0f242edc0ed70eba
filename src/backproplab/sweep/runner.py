"""One run of a sweep, as a plain function of a plain dict: what every worker executes.

A run's result depends only on its task (parameters and seed): the data, the initial weights and
the batches come from ``np.random.Generator`` objects seeded by the task, and the run computes on
one BLAS thread whatever the worker's default, so the same task gives bit-identical metrics in
the parent process, in a loky worker or on a dask worker.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import datasets
from ..network import Network
from ..training import ConvergenceWarning, DivergenceWarning, Stop
from .config import TARGET_REASONS

__all__ = ["run_one", "make_data", "load_file", "RESULT_COLUMNS", "TIMING_COLUMNS"]

#: what every row records after the key, the point, the seed and the varied parameters
RESULT_COLUMNS = ["stop_reason", "reached", "steps", "epochs", "train_loss", "window_loss"]
#: columns that differ between two executions of the same run (left out when comparing tables)
TIMING_COLUMNS = ["fit_seconds", "run_seconds", "worker"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """One BLAS thread for the run (threadpoolctl, when installed), restored afterwards."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it, loky's inner_max_num_threads still sets one thread per worker
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def load_file(path: str, target: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The one place a sweep reads a data file (.csv, .npz, .npy, .mat)."""
    X, y, _ = datasets.load_dataset(path, target=target)
    return X, y


def make_data(data: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from a ``[data]`` section: a built-in generator, seeded by the run or fixed."""
    if "file" in data:
        return load_file(data["file"], data.get("target"))
    generator = getattr(datasets, data["name"])
    options = {k: v for k, v in data.items() if k not in ("name", "seed")}
    if "seed" in inspect.signature(generator).parameters:
        options["seed"] = seed if data.get("seed", 0) == "run" else data.get("seed", 0)
    X, y = generator(**options)
    return X, y


def build_network(options: dict[str, Any], X: np.ndarray, y: np.ndarray, seed: int) -> Network:
    """``Network.mlp`` from the ``[network]`` arguments; ``layers`` takes the sizes of inputs and outputs from the data."""
    options = dict(options)
    layers = options.pop("layers", None)
    if layers is not None:
        if "sizes" in options:
            raise ValueError("sweep config: [network] takes layers (hidden sizes) or sizes, not both")
        classes = options.get("loss") == "cross_entropy" and (y.ndim == 1 or y.shape[1] == 1)
        n_out = int(np.max(y)) + 1 if classes else (1 if y.ndim == 1 else y.shape[1])
        options["sizes"] = [X.shape[1], *layers, n_out]
    if "sizes" not in options:
        raise ValueError("sweep config: [network] needs layers = [hidden sizes] or sizes = [inputs, ..., outputs]")
    return Network.mlp(seed=seed, **options)


def _diagnosis_codes(net: Network, X: np.ndarray, y: np.ndarray, history: Any, mode: str, seed: int) -> list[str]:
    """Diagnosis codes: "cheap" checks the trained network only (no control trainings, no probes of
    the run's history); "full" is ``bp.diagnose`` with the history and its controls."""
    if mode == "off":
        return []
    from ..diagnostics import diagnose

    accepted = inspect.signature(diagnose).parameters
    cheap: dict[str, Any] = {name: False for name in ("signal_test", "controls") if name in accepted}
    if mode == "cheap":
        return list(diagnose(net, X, y, seed=seed, **cheap).codes)
    return list(diagnose(net, X, y, history=history, seed=seed).codes)


def _finite_or_nan(values: list[float]) -> float:
    return float(values[-1]) if values else math.nan


def run_one(task: dict[str, Any], data: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """Train one network as ``task`` says and return its row (plain Python values only).

    Parameters
    ----------
    task : dict
        One entry of :meth:`SweepConfig.tasks`.
    data : (X, y), optional
        File data read once by the parent; otherwise the task's ``[data]`` generator is called.
    """
    started = time.perf_counter()
    seed = int(task["seed"])
    with one_blas_thread(), warnings.catch_warnings():
        # a run that does not converge or diverges is a result (its stop_reason), not a warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        X, y = data if data is not None else make_data(task["data"], seed)
        net = build_network(task["network"], X, y, seed)
        history = net.fit(X, y, **task["fit"], stop=Stop(**task["stop"]), seed=seed, progress=False)
        metrics = task["metrics"] or (["loss", "accuracy"] if net.loss_fn.name in ("bce", "cross_entropy") else ["loss"])
        with np.errstate(all="ignore"):  # a diverged run scores inf or nan, recorded as such
            scores = net.evaluate(X, y, metrics)
        codes = _diagnosis_codes(net, X, y, history, task["diagnose"], seed)
    row: dict[str, Any] = {"key": task["key"], "fingerprint": task["fingerprint"], "point": task["point"], "seed": seed}
    row.update(task["params"])
    row.update({
        "stop_reason": history.stop_reason,
        "reached": history.stop_reason in TARGET_REASONS,
        "steps": int(history.n_steps),
        "epochs": int(history.n_epochs),
        "train_loss": _finite_or_nan(history.loss),
        "window_loss": _finite_or_nan(history.window_loss),
    })
    row.update({name: float(value) for name, value in scores.items()})
    row["diagnosis"] = ";".join(codes)
    row["fit_seconds"] = float(history.wall_time)
    row["run_seconds"] = time.perf_counter() - started
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row
