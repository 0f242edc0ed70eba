"""`backproplab train big.csv` end to end against the parse time plus the API's fit time.

Issue 17's target: `backproplab train` on a 200k x 20 numeric CSV with a binary target, one epoch,
within 1.5x of `backproplab.data.load` plus `Network.fit` on the same arrays with the CLI's
settings (Adam, batch 32, 100 ReLU units, standardised inputs, accuracy every epoch). Each repeat
runs the command, then the API in a fresh process, then `python -c "import backproplab"` (the
start-up every CLI run pays, which the API's times leave out); the ratios are medians over repeats.

    python benchmarks/cli_train.py [--repeats 5] [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _write_csv(path: str, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + rng.normal(size=rows) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    frame["y"] = y
    frame.to_csv(path, index=False, float_format="%.6g")


def _api(path: str) -> None:
    """Print the parse and fit seconds of the API on ``path`` (run in a fresh process)."""
    import backproplab as bp
    from backproplab import data, tabular

    start = time.perf_counter()
    dataset = data.load(path, "y")
    parse = time.perf_counter() - start
    prepared = tabular.prepare(dataset, None, None)
    net = bp.Network.mlp([dataset.X.shape[1], 100, prepared.n_outputs], loss=prepared.loss, seed=0, scale="standard")
    start = time.perf_counter()
    net.layers[0].fit(dataset.X)  # the Standardize layer, fitted as the CLI fits it
    net.fit(dataset.X, prepared.Y, optimizer="adam", batch_size=32, max_epochs=1, seed=0, progress=False,
            metrics=["accuracy"])
    print(json.dumps({"parse": parse, "fit": time.perf_counter() - start}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    if args.api:
        _api(args.api)
        return
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times: dict[str, list[float]] = {"cli": [], "parse": [], "fit": [], "start-up": []}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.csv")
        _write_csv(path, args.rows)
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "backproplab", "train", path, "--target", "y", "--epochs", "1",
                            "--save", os.path.join(folder, "m.npz")], env=env, check=True, stdout=subprocess.DEVNULL)
            times["cli"].append(time.perf_counter() - start)
            out = subprocess.run([sys.executable, __file__, "--api", path], env=env, check=True, capture_output=True,
                                 text=True).stdout
            for key, value in json.loads(out).items():
                times[key].append(value)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import backproplab"], env=env, check=True)
            times["start-up"].append(time.perf_counter() - start)
    cli, parse, fit, startup = (times[k] for k in ("cli", "parse", "fit", "start-up"))
    result = {f"{k} s": statistics.median(v) for k, v in times.items()}
    result["CLI / (parse + fit)"] = statistics.median(c / (p + f) for c, p, f in zip(cli, parse, fit))
    result["CLI / (start-up + parse + fit)"] = statistics.median(
        c / (s + p + f) for c, p, f, s in zip(cli, parse, fit, startup))
    result["rows"], result["repeats"] = args.rows, args.repeats
    table = "\n".join([
        f"`backproplab train` on {args.rows} x 20 + a binary target, one epoch; median of {args.repeats} repeats", "",
        "| CLI s | parse s | API fit s | start-up s | CLI / (parse + fit) | CLI / (start-up + parse + fit) |",
        "|---|---|---|---|---|---|",
        f"| {result['cli s']:.2f} | {result['parse s']:.2f} | {result['fit s']:.2f} | {result['start-up s']:.2f} | "
        f"{result['CLI / (parse + fit)']:.3f} | {result['CLI / (start-up + parse + fit)']:.3f} |"])
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cli_train.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    with open(os.path.join(args.out, "cli_train.md"), "w") as handle:
        handle.write(table + "\n")


if __name__ == "__main__":
    main()
