"""Per-step time of Network.fit on row-ordered, column-ordered and DataFrame inputs, side by side,
and the one-off cost of the row-ordered copy that fit makes of the latter two.

Issue 17's target: column-ordered (Fortran) arrays and DataFrames within 10% of C-ordered arrays
per step, at 10k and 200k rows. Each repeat fits the three inputs in rotating order in one process;
the result is the median of the per-repeat ratios. Weights are checked to be identical across inputs.

The per-step time is a whole ``fit`` (the copy included) over ``--steps`` steps, by default 3000
(about one epoch of 200k rows in batches of 64). The copy is paid once per fit, so it weighs on a
short fit: the one-off column is ``Trainer.prepare`` on that input minus on the C-ordered array
(median, ms), and "first" is the same for the first fit of the process, whose copy lands in memory
the process has not touched yet (page faults).

    python benchmarks/input_order.py [--repeats 7] [--steps 3000]
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
from backproplab import training

NAMES = ("C", "F", "DataFrame")


def _network() -> bp.Network:
    return bp.Network.mlp([20, 16, 1], output="sigmoid", loss="bce", seed=0)


def _fit(X, y, steps: int) -> tuple[float, np.ndarray]:
    net = _network()
    start = time.perf_counter()
    net.fit(X, y, max_steps=steps, batch_size=64, seed=0, progress=False)
    return (time.perf_counter() - start) / steps * 1e6, net.parameters()[0]


def _prepare(X, y, steps: int) -> float:
    """Milliseconds of fit's preparation (checks, the row-ordered copy, the start loss)."""
    trainer = training.Trainer(_network(), training.FitConfig(max_steps=steps, batch_size=64, seed=0, progress=False))
    start = time.perf_counter()
    trainer.prepare(X, y)
    elapsed = time.perf_counter() - start
    trainer.release()
    return elapsed * 1e3


def measure(rows: int, repeats: int, steps: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, :1] > 0).astype(float)
    inputs = {"C": X, "F": np.asfortranarray(X), "DataFrame": pd.DataFrame(X)}
    times: dict[str, list[float]] = {k: [] for k in NAMES}
    prepare: dict[str, list[float]] = {k: [] for k in NAMES}
    reference = _fit(X, y, steps)[1]
    for r in range(repeats):
        names = NAMES[r % 3:] + NAMES[:r % 3]
        for name in names:
            prepare[name].append(_prepare(inputs[name], y, steps))
            us, W = _fit(inputs[name], y, steps)
            assert np.array_equal(W, reference), name
            times[name].append(us)
    result = {f"{k} us/step": statistics.median(v) for k, v in times.items()}
    for k in ("F", "DataFrame"):
        result[f"{k}/C"] = statistics.median(a / b for a, b in zip(times[k], times["C"]))
        result[f"{k} one-off ms"] = statistics.median(a - b for a, b in zip(prepare[k], prepare["C"]))
        result[f"{k} first one-off ms"] = prepare[k][0] - prepare["C"][0]
    result["C prepare ms"] = statistics.median(prepare["C"])
    result["steps"] = steps
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    results = {rows: measure(rows, args.repeats, args.steps) for rows in (10_000, 200_000)}
    lines = [f"{args.steps}-step fits, batch 64, median of {args.repeats} interleaved repeats; one-off: prepare "
             "minus the C array's (median / first fit of the process), ms", "",
             "| rows | C us/step | F us/step | DataFrame us/step | F/C | DataFrame/C | F one-off ms | "
             "DataFrame one-off ms | C prepare ms |", "|---|---|---|---|---|---|---|---|---|"]
    for rows, r in results.items():
        lines.append(f"| {rows} | {r['C us/step']:.1f} | {r['F us/step']:.1f} | {r['DataFrame us/step']:.1f} | "
                     f"{r['F/C']:.3f} | {r['DataFrame/C']:.3f} | {r['F one-off ms']:.1f} / {r['F first one-off ms']:.1f} | "
                     f"{r['DataFrame one-off ms']:.1f} / {r['DataFrame first one-off ms']:.1f} | {r['C prepare ms']:.1f} |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "input_order.json"), "w") as handle:
        json.dump({str(k): v for k, v in results.items()}, handle, indent=1)
    with open(os.path.join(args.out, "input_order.md"), "w") as handle:
        handle.write(table + "\n")


if __name__ == "__main__":
    main()
