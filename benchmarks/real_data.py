"""backproplab's estimators against scikit-learn's MLP at the same configuration, on scikit-learn's
bundled data sets: test accuracy (R^2 for diabetes), median over seeds. Part of `make bench`."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backproplab.estimators import BackpropClassifier, BackpropRegressor

DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}
# the same configuration for both libraries (scikit-learn's defaults, hidden layer 64)
CONFIG = dict(hidden_layer_sizes=(64,), activation="relu", solver="adam", alpha=1e-4, batch_size="auto",
              learning_rate_init=1e-3, max_iter=300, tol=1e-4, n_iter_no_change=10)


def model(library: str, task: str, seed: int):
    if task == "classification":
        cls = BackpropClassifier if library == "backproplab" else MLPClassifier
        return make_pipeline(StandardScaler(), cls(random_state=seed, **CONFIG))
    cls = BackpropRegressor if library == "backproplab" else MLPRegressor
    return TransformedTargetRegressor(make_pipeline(StandardScaler(), cls(random_state=seed, **CONFIG)),
                                      transformer=StandardScaler())


def compare(seeds: int = 10, folds: int = 5) -> dict:
    """Per seed, the mean test score over a shuffled (stratified) k-fold split, so that every row is
    tested once (a single 25% test split of wine has 45 rows: 2.2 points per row); then the median
    over seeds."""
    results = {}
    for name, (loader, task) in DATASETS.items():
        X, y = loader(return_X_y=True)
        scores = {"backproplab": [], "scikit-learn": []}
        seconds = {"backproplab": [], "scikit-learn": []}
        for seed in range(seeds):
            splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
            fold_scores = {"backproplab": [], "scikit-learn": []}
            for k, (train, test) in enumerate(splitter.split(X, y)):
                for library in ("backproplab", "scikit-learn") if k % 2 == 0 else ("scikit-learn", "backproplab"):
                    estimator = model(library, task, seed)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        estimator.fit(X[train], y[train])
                        seconds[library].append(time.perf_counter() - start)
                    fold_scores[library].append(float(estimator.score(X[test], y[test])))
            for library in scores:
                scores[library].append(statistics.mean(fold_scores[library]))
        ours, theirs = statistics.median(scores["backproplab"]), statistics.median(scores["scikit-learn"])
        results[name] = {
            "metric": "accuracy" if task == "classification" else "R^2",
            "backproplab": ours, "scikit-learn": theirs, "difference_points": 100 * (ours - theirs),
            "within_1_point": ours >= theirs - 0.01,
            "fit_seconds": {k: statistics.median(v) for k, v in seconds.items()},
            "seeds": seeds, "folds": folds,
        }
    return results


def markdown(results: dict) -> str:
    first = next(iter(results.values()))
    lines = [f"Test score: per seed the mean over {first['folds']}-fold cross-validation (every row tested once), "
             f"then the median of {first['seeds']} seeds; both libraries with "
             "hidden (64,), ReLU, Adam lr 1e-3, alpha 1e-4, batch 'auto', max_iter 300, tol 1e-4, 10 epochs patience, "
             "standardised inputs (and targets for diabetes). Reproduce: `make bench` or `python benchmarks/real_data.py`.",
             "", "| data set | metric | backproplab | scikit-learn MLP | difference (points) | fit s (ours / sklearn) |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['metric']} | {r['backproplab']:.4f} | {r['scikit-learn']:.4f} | "
                     f"{r['difference_points']:+.2f} | {r['fit_seconds']['backproplab']:.3f} / {r['fit_seconds']['scikit-learn']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    results = compare(args.seeds)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "real_data.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    table = markdown(results)
    with open(os.path.join(args.out, "real_data.md"), "w") as handle:
        handle.write(table)
    print(table)
