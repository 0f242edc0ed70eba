"""What bp.Probe costs a user's own loop: side by side, interleaved, median of repeats.

Two hand-written 3-3-2-1 sigmoid loops on the blog's two spheres (batch 128 of 200):
- "blog": the blog's loop as re-created in backproplab.experiments.your_own_code (one line per unit);
- "lean": the same network written with whole-matrix NumPy operations and exact gradients (a fast
  user loop, so the probe's share is as large as it gets).
Each runs without a probe, with ``bp.Probe()`` (every step) and with ``bp.Probe(every=10)``. The three
run side by side as generators and take turns block by block (10 steps a block, the order rotated),
so a busy neighbour slows all three alike; the overhead is
``median(block time with probe) / median(block time without) - 1`` over ``--blocks`` blocks, repeated
``--repeats`` times (the median of the repeats is reported).

    PYTHONPATH=src python benchmarks/probe_overhead.py [--blocks 300] [--repeats 5] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections.abc import Iterator

import numpy as np

import backproplab as bp
from backproplab import datasets
from backproplab.experiments.your_own_code import blog_steps, sigmoid

BLOCK = 10


def lean_steps(X: np.ndarray, y: np.ndarray, seed: int = 0, probe: bp.Probe | None = None) -> Iterator[None]:
    rng = np.random.default_rng(seed)
    W1, b1, W2, b2, W3, b3 = (rng.normal(size=s) for s in ((3, 3), 3, (3, 2), 2, (2, 1), 1))
    for step in itertools.count():
        batch = rng.choice(len(X), 128, replace=False)
        x, t = X[batch], y[batch]
        a1 = sigmoid(x @ W1 + b1)
        a2 = sigmoid(a1 @ W2 + b2)
        a3 = sigmoid(a2 @ W3 + b3)
        loss = np.mean((a3 - t) ** 2)
        d3 = 2 * (a3 - t) / 128 * a3 * (1 - a3)
        d2 = d3 @ W3.T * a2 * (1 - a2)
        d1 = d2 @ W2.T * a1 * (1 - a1)
        g = [x.T @ d1, d1.sum(0), a1.T @ d2, d2.sum(0), a2.T @ d3, d3.sum(0)]
        if probe is not None:
            probe.record(step, loss=loss, weights=[W1, b1, W2, b2, W3, b3], grads=g)
        for w, grad in zip((W1, b1, W2, b2, W3, b3), g):
            w -= 0.1 * grad
        yield


LOOPS = {"blog": blog_steps, "lean": lean_steps}
VARIANTS = {"none": lambda: None, "every=1": lambda: bp.Probe(), "every=10": lambda: bp.Probe(every=10)}


def _one_repeat(loop, X: np.ndarray, y: np.ndarray, blocks: int) -> dict[str, float]:
    runs = {v: loop(X, y, 0, make()) for v, make in VARIANTS.items()}
    for run in runs.values():  # warm up, and past the first record's one-off setup
        for _ in range(5 * BLOCK):
            next(run)
    times: dict[str, list[float]] = {v: [] for v in runs}
    names = list(runs)
    for block in range(blocks):
        for variant in names[block % 3:] + names[: block % 3]:
            run = runs[variant]
            start = time.perf_counter()
            for _ in range(BLOCK):
                next(run)
            times[variant].append(time.perf_counter() - start)
    return {v: float(np.median(t)) / BLOCK for v, t in times.items()}


def measure(blocks: int, repeats: int) -> dict:
    X, y = datasets.two_spheres(seed=0)
    results = {}
    for loop_name, loop in LOOPS.items():
        per_step = [_one_repeat(loop, X, y, blocks) for _ in range(repeats)]
        overhead = {v: float(np.median([r[v] / r["none"] - 1 for r in per_step])) for v in ("every=1", "every=10")}
        results[loop_name] = {
            "us_per_step": {v: float(np.median([r[v] for r in per_step])) * 1e6 for v in VARIANTS},
            "overhead": overhead,
            "overhead_per_repeat": {v: [r[v] / r["none"] - 1 for r in per_step] for v in ("every=1", "every=10")},
            "blocks": blocks, "block_steps": BLOCK, "repeats": repeats, "load_average": os.getloadavg()[0],
        }
    return results


def markdown(results: dict) -> str:
    from backproplab import _format

    lines = ["| loop | us/step without | with Probe() | overhead | with Probe(every=10) | overhead |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        us, over = r["us_per_step"], r["overhead"]
        lines.append(f"| {name} | {_format.num(us['none'])} | {_format.num(us['every=1'])} | {_format.percent(over['every=1'])} "
                     f"| {_format.num(us['every=10'])} | {_format.percent(over['every=10'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    results = measure(args.blocks, args.repeats)
    table = markdown(results)
    print(table)
    if args.out:
        from backproplab._io import atomic_write

        atomic_write(os.path.join(args.out, "probe_overhead.json"), json.dumps(results, indent=1))
        atomic_write(os.path.join(args.out, "probe_overhead.md"), table + "\n")
