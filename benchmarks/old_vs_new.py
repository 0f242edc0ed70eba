"""An older commit of backproplab against this tree, in one process: make bench's workloads 1, 3 and 4.

The old package is exported from git (``git archive REV src/backproplab``) into a temporary folder
under the name ``backproplab_old`` (its absolute imports rewritten), so that both import side by
side. Every repeat runs old and new in alternating order; the result per workload is the median of
the per-pair ratios new/old (above 1: the new code is slower), with the interquartile range of the
ratios, and whether the final weights are the same bits.

    python benchmarks/old_vs_new.py [--rev 302ee45] [--repeats 40] [--only 1,3,4] [--cpu]

``--cpu`` measures process CPU time instead of wall time (less sensitive to other processes on a
shared machine; workload 4 uses two BLAS threads, so it is always timed by the wall clock).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def export_old(rev: str, folder: str) -> Any:
    """``backproplab`` at ``rev`` as the module ``backproplab_old``."""
    archive = os.path.join(folder, "old.tar")
    subprocess.run(["git", "-C", ROOT, "archive", "-o", archive, rev, "src/backproplab"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    package = os.path.join(folder, "backproplab_old")
    os.rename(os.path.join(folder, "src", "backproplab"), package)
    pattern = re.compile(r"\b(from|import) backproplab\b")
    for directory, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path) as handle:
                    text = handle.read()
                text = pattern.sub(lambda m: f"{m.group(1)} backproplab_old", text).replace('"backproplab.', '"backproplab_old.').replace("'backproplab.", "'backproplab_old.")
                with open(path, "w") as handle:
                    handle.write(text)
    sys.path.insert(0, folder)
    return importlib.import_module("backproplab_old")


def blog_step(mod: Any, clock: Callable[[], float]) -> Callable[[], tuple[float, list[np.ndarray]]]:
    """Workload 1: the blog's 3-3-2-1 sigmoid network, SGD, batch 128 of 200, 1000 steps (us/step)."""
    X, y = mod.datasets.two_spheres(seed=0)

    def run() -> tuple[float, list[np.ndarray]]:
        net = mod.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="bce", init="normal", seed=0)
        start = clock()
        net.fit(X, y, optimizer=mod.optimizers.SGD(lr=0.1), batch_size=128, sampling="random", max_steps=1000,
                seed=0, progress=False)
        return (clock() - start) / 1000 * 1e6, net.parameters()
    return run


def digits(mod: Any, clock: Callable[[], float]) -> Callable[[], tuple[float, list[np.ndarray]]]:
    """Workload 3: BackpropClassifier on digits, (128, 64) ReLU, Adam, batch 64, 10 epochs (ms/epoch)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    estimators = importlib.import_module(f"{mod.__name__}.estimators")
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(128, 64), solver="adam", batch_size=64, learning_rate_init=1e-3, max_iter=10,
                  tol=0.0, n_iter_no_change=10**9, alpha=1e-4, random_state=0)

    def run() -> tuple[float, list[np.ndarray]]:
        model = estimators.BackpropClassifier(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = clock()
            model.fit(X_train, y_train)
            return (clock() - start) / model.n_iter_ * 1e3, model.network_.parameters()
    return run


def mnist_like(mod: Any, clock: Callable[[], float]) -> Callable[[], tuple[float, list[np.ndarray]]]:
    """Workload 4: 784-512-256-10 ReLU, float32, SGD momentum, batch 256, one epoch of 49,152 rows (s)."""
    rng = np.random.default_rng(0)
    X = rng.random((49_152, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=49_152)

    def run() -> tuple[float, list[np.ndarray]]:
        net = mod.Network.mlp([784, 512, 256, 10], hidden="relu", loss="cross_entropy", dtype="float32", seed=0)
        start = time.perf_counter()
        net.fit(X, y, optimizer=mod.optimizers.SGD(lr=0.01, momentum=0.9), batch_size=256, max_epochs=1, seed=0,
                progress=False)
        return time.perf_counter() - start, net.parameters()
    return run


WORKLOADS = {"1": ("blog step, us/step", blog_step), "3": ("digits, ms/epoch", digits), "4": ("784 network, s/epoch", mnist_like)}


def compare(old: Callable[[], Any], new: Callable[[], Any], repeats: int) -> dict[str, Any]:
    _, old_weights = old()  # warm-up (imports, compiled kernels, caches), and the weights of each
    _, new_weights = new()
    same = len(old_weights) == len(new_weights) and all(np.array_equal(a, b) for a, b in zip(old_weights, new_weights))
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(repeats):
        for name, run in ((("old", old), ("new", new)) if r % 2 else (("new", new), ("old", old))):
            times[name].append(run()[0])
    ratios = [n / o for n, o in zip(times["new"], times["old"])]
    return {"old": statistics.median(times["old"]), "new": statistics.median(times["new"]),
            "ratio": statistics.median(ratios), "q1": float(np.percentile(ratios, 25)),
            "q3": float(np.percentile(ratios, 75)), "identical": same, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="302ee45", help="the old commit (default: main before the redesign)")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--only", default="1,3,4")
    parser.add_argument("--cpu", action="store_true", help="process CPU time for workloads 1 and 3")
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import backproplab

    clock = time.process_time if args.cpu else time.perf_counter
    with tempfile.TemporaryDirectory() as folder:
        old = export_old(args.rev, folder)
        print(f"old: {args.rev}; new: {os.path.dirname(backproplab.__file__)}; {args.repeats} pairs per workload")
        for key in args.only.split(","):
            label, factory = WORKLOADS[key.strip()]
            repeats = max(4, args.repeats // 4) if key.strip() == "4" else args.repeats
            r = compare(factory(old, clock), factory(backproplab, clock), repeats)
            print(f"workload {key} ({label}): old {r['old']:.4g}, new {r['new']:.4g}; new/old median {r['ratio']:.3f} "
                  f"(IQR {r['q1']:.3f}-{r['q3']:.3f}, {r['repeats']} pairs); weights identical: {r['identical']}", flush=True)


if __name__ == "__main__":
    main()
