"""Per-step time of Network.fit on row-ordered, column-ordered and DataFrame inputs, side by side.

Issue 17's target: column-ordered (Fortran) arrays and DataFrames within 10% of C-ordered arrays,
at 10k and 200k rows. Each repeat fits the three inputs in rotating order in one process; the
result is the median of the per-repeat ratios. Weights are checked to be identical across inputs.

    python benchmarks/input_order.py [--repeats 7] [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import pandas as pd

import backproplab as bp


def _fit(X, y, steps: int) -> tuple[float, np.ndarray]:
    net = bp.Network.mlp([X.shape[1], 16, 1], output="sigmoid", loss="bce", seed=0)
    start = time.perf_counter()
    net.fit(X, y, max_steps=steps, batch_size=64, seed=0, progress=False)
    return (time.perf_counter() - start) / steps * 1e6, net.parameters()[0]


def measure(rows: int, repeats: int, steps: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, :1] > 0).astype(float)
    inputs = {"C": X, "F": np.asfortranarray(X), "DataFrame": pd.DataFrame(X)}
    times: dict[str, list[float]] = {k: [] for k in inputs}
    reference = _fit(X, y, steps)[1]
    for r in range(repeats):
        names = list(inputs)[r % 3:] + list(inputs)[:r % 3]
        for name in names:
            us, W = _fit(inputs[name], y, steps)
            assert np.array_equal(W, reference), name
            times[name].append(us)
    result = {f"{k} us/step": statistics.median(v) for k, v in times.items()}
    for k in ("F", "DataFrame"):
        result[f"{k}/C"] = statistics.median(a / b for a, b in zip(times[k], times["C"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    results = {rows: measure(rows, args.repeats, args.steps) for rows in (10_000, 200_000)}
    lines = ["| rows | C us/step | F us/step | DataFrame us/step | F/C | DataFrame/C |", "|---|---|---|---|---|---|"]
    for rows, r in results.items():
        lines.append(f"| {rows} | {r['C us/step']:.1f} | {r['F us/step']:.1f} | {r['DataFrame us/step']:.1f} | "
                     f"{r['F/C']:.3f} | {r['DataFrame/C']:.3f} |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "input_order.json"), "w") as handle:
        json.dump({str(k): v for k, v in results.items()}, handle, indent=1)
    with open(os.path.join(args.out, "input_order.md"), "w") as handle:
        handle.write(table + "\n")


if __name__ == "__main__":
    main()
