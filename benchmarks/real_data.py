"""Real data, two ways. Part of `make bench`.

1. The command line with its defaults (only `--target`) on CSV files as a user has them (text labels,
   labels 1..k, an id column), against scikit-learn's `make_pipeline(StandardScaler(), MLPClassifier())`
   (or `MLPRegressor()`) with its defaults: 5-fold cross-validated accuracy or R^2.
2. backproplab's estimators against scikit-learn's MLP at the same configuration: test accuracy
   (R^2 for diabetes), median over seeds.
3. `backproplab train big.csv` (200k x 20, one epoch) against parsing the file plus the API's fit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backproplab.cli import main
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


# ---------------------------------------------------------------------- 1. the command line on CSV files
def _frames() -> dict:
    """Each data set as the DataFrame a user would have, its target column and task."""
    iris, wine, cancer, diabetes, digits = (load_iris(as_frame=True), load_wine(as_frame=True),
                                            load_breast_cancer(as_frame=True), load_diabetes(as_frame=True),
                                            load_digits(as_frame=True))
    frames = {}
    frame = iris.frame.copy()
    frame["species"] = np.asarray(iris.target_names, dtype=object)[frame.pop("target")]  # "setosa", ...
    frames["iris (text labels)"] = (frame, "species", "classification")
    frame = wine.frame.copy()
    frame.insert(0, "class", frame.pop("target") + 1)  # UCI's wine.data: classes 1, 2, 3 in the first column
    frames["wine (labels 1..3)"] = (frame, "class", "classification")
    frame = cancer.frame.copy()
    frame["diagnosis"] = np.asarray(cancer.target_names, dtype=object)[frame.pop("target")]
    frames["breast cancer (text labels)"] = (frame, "diagnosis", "classification")
    frame = diabetes.frame.copy()  # the scaled features; the target is the raw disease progression (std 77)
    frames["diabetes (regression)"] = (frame, "target", "regression")
    frame = digits.frame.copy()
    words = np.array("zero one two three four five six seven eight nine".split(), dtype=object)
    frame["digit"] = words[frame.pop("target")]
    frame.insert(0, "id", np.random.default_rng(0).permutation(len(frame)) + 10_000)
    frames["digits (text labels, id column)"] = (frame, "digit", "classification")
    return frames


def _cli_score(folder: str, train, test, target: str, task: str, seed: int) -> float:
    train_path, test_path, model = (os.path.join(folder, n) for n in ("train.csv", "test.csv", "model.npz"))
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["train", train_path, "--target", target, "--save", model, "--seed", str(seed)])
    assert code == 0, f"train failed on {target}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["evaluate", model, test_path, "--json"])
    assert code == 0, f"evaluate failed on {target}"
    return json.loads(out.getvalue())["accuracy" if task == "classification" else "r2"]


def _sklearn_score(train, test, target: str, task: str, seed: int) -> float:
    features = [c for c in train.columns if c not in (target, "id")]  # a scikit-learn user drops the id by hand
    cls = MLPClassifier if task == "classification" else MLPRegressor
    model = make_pipeline(StandardScaler(), cls(random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train[features].to_numpy(), train[target].to_numpy())
    return float(model.score(test[features].to_numpy(), test[target].to_numpy()))


def compare_cli(seeds: int = 3, folds: int = 5) -> dict:
    """Per seed the mean score over a shuffled (stratified) 5-fold split; then the median over seeds."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (frame, target, task) in _frames().items():
            scores: dict[str, list[float]] = {"backproplab CLI": [], "scikit-learn": []}
            seconds: dict[str, list[float]] = {"backproplab CLI": [], "scikit-learn": []}
            for seed in range(seeds):
                splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
                fold: dict[str, list[float]] = {"backproplab CLI": [], "scikit-learn": []}
                for k, (train, test) in enumerate(splitter.split(frame, frame[target])):
                    parts = frame.iloc[train], frame.iloc[test]
                    for library in (("backproplab CLI", "scikit-learn") if k % 2 == 0 else ("scikit-learn", "backproplab CLI")):
                        start = time.perf_counter()
                        if library == "scikit-learn":
                            fold[library].append(_sklearn_score(*parts, target, task, seed))
                        else:
                            fold[library].append(_cli_score(folder, *parts, target, task, seed))
                        seconds[library].append(time.perf_counter() - start)
                for library in scores:
                    scores[library].append(statistics.mean(fold[library]))
            ours, theirs = statistics.median(scores["backproplab CLI"]), statistics.median(scores["scikit-learn"])
            results[name] = {"metric": "accuracy" if task == "classification" else "R^2", "target": target,
                             "rows": len(frame), "columns": frame.shape[1],
                             "backproplab": ours, "scikit-learn": theirs, "difference_points": 100 * (ours - theirs),
                             "within_1_point": ours >= theirs - 0.01,
                             "seconds_per_fold": {k: statistics.median(v) for k, v in seconds.items()},
                             "seeds": seeds, "folds": folds}
    return results


def markdown_cli(results: dict) -> str:
    first = next(iter(results.values()))
    lines = [f"`backproplab train FILE.csv --target COLUMN` (nothing else) then `backproplab evaluate`, against "
             "`make_pipeline(StandardScaler(), MLPClassifier())` (`MLPRegressor()` for diabetes) with scikit-learn's "
             f"defaults, given the features without the id column. Per seed the mean over {first['folds']}-fold "
             f"cross-validation, then the median of {first['seeds']} seeds. Reproduce: `make bench` or "
             "`python benchmarks/real_data.py`.", "",
             "| data set (CSV as given) | target | metric | backproplab CLI | scikit-learn pipeline | difference (points) | s per fold (CLI / sklearn) |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name}, {r['rows']} x {r['columns']} | `{r['target']}` | {r['metric']} | {r['backproplab']:.4f} | "
                     f"{r['scikit-learn']:.4f} | {r['difference_points']:+.2f} | "
                     f"{r['seconds_per_fold']['backproplab CLI']:.2f} / {r['seconds_per_fold']['scikit-learn']:.2f} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- 3. a large CSV
def big_csv(repeats: int = 3, rows: int = 200_000, columns: int = 20) -> dict:
    """`backproplab train big.csv --target y --epochs 1` against `data.load` (the parse) plus the API's
    `Network.mlp(...).fit` on the parsed arrays with the same network, optimizer and batch size; the
    three are interleaved and each reports its median over ``repeats``."""
    import backproplab as bp
    from backproplab import data

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, columns - 1))
    y = X @ rng.normal(size=columns - 1) + 0.1 * rng.normal(size=rows)
    times: dict[str, list[float]] = {"parse": [], "fit": [], "cli": []}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.csv")
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns - 1)])
        frame["y"] = y
        frame.to_csv(path, index=False)
        size = os.path.getsize(path)
        for _ in range(repeats):
            start = time.perf_counter()
            dataset = data.load(path, "y")
            times["parse"].append(time.perf_counter() - start)
            net = bp.Network.mlp([columns - 1, 100, 1], hidden="relu", loss="mse", seed=0)  # the CLI's default network
            start = time.perf_counter()
            net.fit(dataset.X, (dataset.y - dataset.y.mean()) / dataset.y.std(), optimizer="adam", batch_size=32,
                    max_epochs=1, seed=0)
            times["fit"].append(time.perf_counter() - start)
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = main(["train", path, "--target", "y", "--epochs", "1", "--verbose", "0"])
            times["cli"].append(time.perf_counter() - start)
            assert code == 0
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"rows": rows, "columns": columns, "megabytes": size / 1e6, "repeats": repeats, "seconds": medians,
            "cli_over_parse_plus_fit": medians["cli"] / (medians["parse"] + medians["fit"]),
            "parse_within_2_s": medians["parse"] <= 2.0,
            "within_1_5x": medians["cli"] <= 1.5 * (medians["parse"] + medians["fit"])}


def markdown_big(result: dict) -> str:
    s = result["seconds"]
    return (f"`backproplab train big.csv --target y --epochs 1` on {result['rows']:,} x {result['columns']} "
            f"({result['megabytes']:.0f} MB), median of {result['repeats']} interleaved runs: parse "
            f"(`backproplab.data.load`) {s['parse']:.2f} s, the API's fit of the same network on the parsed arrays "
            f"{s['fit']:.2f} s, the whole command {s['cli']:.2f} s = **{result['cli_over_parse_plus_fit']:.2f}x** "
            "parse plus fit (target: at most 1.5x; parse at most 2 s).\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cli-seeds", type=int, default=3)
    parser.add_argument("--only", choices=["cli", "estimators", "big"], default=None)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sections = [("cli", "real_data_cli", lambda: compare_cli(args.cli_seeds), markdown_cli),
                ("big", "big_csv", big_csv, markdown_big),
                ("estimators", "real_data", lambda: compare(args.seeds), markdown)]
    for key, stem, run, render in sections:
        if args.only not in (None, key):
            continue
        results = run()
        with open(os.path.join(args.out, f"{stem}.json"), "w") as handle:
            json.dump(results, handle, indent=1)
        table = render(results)
        with open(os.path.join(args.out, f"{stem}.md"), "w") as handle:
            handle.write(table)
        print(table)
