"""Sweeps: the blog's activation race over many seeds, serial loop vs loky vs a dask LocalCluster.

The blog's task (3-3-2-1 network on the two spheres, sigmoid output, MSE, N(0,1) weights, SGD lr 0.1,
batch 128 drawn without replacement, stop when the 1000-step mean loss is below 0.01, or at a cap)
with exact gradients, for sigmoid and ReLU hidden layers, ``--seeds`` seeds each. Measured:

1. wall time of the whole sweep: in-process serial loop, loky with 2 workers, a LocalCluster with 2
   worker processes (its start-up timed apart); the tables must be bit-identical in every metric;
2. per-run dispatch overhead of each backend, from many one-step runs (median of interleaved repeats);
3. the load of the (shared) machine before and after.

Part of `make bench`; ``python benchmarks/sweep.py --seeds 20`` for a short check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Any

import backproplab as bp
from backproplab.sweep import TIMING_COLUMNS, dask_client, read_table

HERE = os.path.dirname(os.path.abspath(__file__))


def race_config(seeds: int, cap: int) -> dict[str, Any]:
    return {
        "data": {"name": "two_spheres", "seed": "run"},
        "network": {"layers": [3, 2], "output": "sigmoid", "loss": "mse", "init": "normal"},
        "fit": {"optimizer": "sgd", "lr": 0.1, "batch_size": 128, "sampling": "random", "max_steps": cap},
        "stop": {"loss_below": 0.01, "window": 1000},
        "grid": {"hidden": ["sigmoid", "relu"]},
        "seeds": seeds,
        "run": {"diagnose": "cheap"},
    }


def overhead_config(runs: int) -> dict[str, Any]:
    """One-step runs without diagnosis: what is left is the cost of dispatching a run."""
    return {
        "data": {"name": "xor"},
        "network": {"layers": [2], "hidden": "tanh", "output": "softmax", "loss": "cross_entropy"},
        "fit": {"max_steps": 1, "batch_size": 4},
        "seeds": runs,
        "run": {"diagnose": "off"},
    }


def comparable(path: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in read_table(path)]


def timed_sweep(config: dict[str, Any], out: str, **options: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = bp.sweep(config, out=out, overwrite=True, **options)
    return time.perf_counter() - start, result


def race(seeds: int, cap: int, folder: str) -> dict[str, Any]:
    config = race_config(seeds, cap)
    n = 2 * seeds
    measured: dict[str, Any] = {}
    wall, serial = timed_sweep(config, os.path.join(folder, "serial.csv"), backend="serial")
    measured["serial"] = {"wall_s": wall, "per_run_ms": 1e3 * wall / n,
                          "mean_run_s": statistics.fmean(r["run_seconds"] for r in serial.rows)}
    wall, loky = timed_sweep(config, os.path.join(folder, "loky.csv"), backend="loky", n_jobs=2)
    measured["loky_2"] = {"wall_s": wall, "per_run_ms": 1e3 * wall / n, "speedup": measured["serial"]["wall_s"] / wall,
                          "mean_run_s": statistics.fmean(r["run_seconds"] for r in loky.rows)}
    start = time.perf_counter()
    with dask_client(n_workers=2) as client:
        up = time.perf_counter() - start
        wall, dask = timed_sweep(config, os.path.join(folder, "dask.csv"), backend="dask", scheduler=client.scheduler.address)
    measured["dask_2"] = {"wall_s": wall, "cluster_start_s": up, "per_run_ms": 1e3 * wall / n,
                          "speedup": measured["serial"]["wall_s"] / wall,
                          "mean_run_s": statistics.fmean(r["run_seconds"] for r in dask.rows)}
    tables = [comparable(os.path.join(folder, f"{name}.csv")) for name in ("serial", "loky", "dask")]
    measured["identical_tables"] = tables[0] == tables[1] == tables[2]
    for hidden in ("sigmoid", "relu"):
        rows = [r for r in serial.rows if r["hidden"] == hidden]
        reached = sorted(r["steps"] for r in rows if r["reached"])
        measured[hidden] = {"runs": len(rows), "reached": len(reached),
                            "median_steps": statistics.median(reached) if reached else None,
                            "q25_q75_steps": statistics.quantiles(reached, n=4)[::2] if len(reached) > 1 else None}
    measured["summary"] = serial.format_summary()
    return measured


def overhead(runs: int, repeats: int, folder: str) -> dict[str, Any]:
    """Per-run wall time of one-step runs on each backend, interleaved, median of ``repeats``."""
    config = overhead_config(runs)
    times: dict[str, list[float]] = {"serial": [], "loky_1": [], "loky_2": [], "dask_1": [], "dask_2": []}
    with dask_client(n_workers=1) as one, dask_client(n_workers=2) as two:
        for _ in range(repeats):
            for name, options in (("serial", {"backend": "serial"}), ("loky_1", {"backend": "loky", "n_jobs": 1}),
                                  ("loky_2", {"backend": "loky", "n_jobs": 2}),
                                  ("dask_1", {"backend": "dask", "scheduler": one.scheduler.address}),
                                  ("dask_2", {"backend": "dask", "scheduler": two.scheduler.address})):
                wall, _ = timed_sweep(config, os.path.join(folder, f"overhead-{name}.csv"), **options)
                times[name].append(1e3 * wall / runs)
    return {name: {"per_run_ms_median": statistics.median(v), "per_run_ms_all": v} for name, v in times.items()}


def write(results: dict[str, Any], folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "sweep.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    r, o = results["race"], results["overhead"]
    lines = [
        f"Activation race, {results['seeds']} seeds x (sigmoid, ReLU), cap {results['cap']} steps, on {os.cpu_count()} cores; "
        f"load average {results['load_before']} before, {results['load_after']} after (the machine was shared).",
        "",
        "| backend | workers | wall s | per run ms | speed-up vs serial |",
        "|---|---|---|---|---|",
        f"| serial loop | 1 | {r['serial']['wall_s']:.1f} | {r['serial']['per_run_ms']:.1f} | 1 |",
        f"| loky | 2 | {r['loky_2']['wall_s']:.1f} | {r['loky_2']['per_run_ms']:.1f} | {r['loky_2']['speedup']:.2f} |",
        f"| dask LocalCluster | 2 | {r['dask_2']['wall_s']:.1f} (+{r['dask_2']['cluster_start_s']:.1f} start) | "
        f"{r['dask_2']['per_run_ms']:.1f} | {r['dask_2']['speedup']:.2f} |",
        "",
        f"Tables bit-identical across the three backends (all but timing columns): {r['identical_tables']}.",
        f"Mean time of one run inside its worker: serial {r['serial']['mean_run_s'] * 1e3:.1f} ms, loky "
        f"{r['loky_2']['mean_run_s'] * 1e3:.1f} ms, dask {r['dask_2']['mean_run_s'] * 1e3:.1f} ms.",
        "",
        "Dispatch overhead, one-step runs (median of interleaved repeats), ms per run:",
        "",
        "| serial | loky 1 | loky 2 | dask 1 | dask 2 |",
        "|---|---|---|---|---|",
        "| " + " | ".join(f"{o[k]['per_run_ms_median']:.2f}" for k in ("serial", "loky_1", "loky_2", "dask_1", "dask_2")) + " |",
        "",
        "```",
        r["summary"],
        "```",
    ]
    with open(os.path.join(folder, "sweep.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--cap", type=int, default=30_000, help="step cap per run (default 30000)")
    parser.add_argument("--overhead-runs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    results: dict[str, Any] = {"seeds": args.seeds, "cap": args.cap, "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as folder:
        results["overhead"] = overhead(args.overhead_runs, args.repeats, folder)
        results["race"] = race(args.seeds, args.cap, folder)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    write(results, args.out)
    print(open(os.path.join(args.out, "sweep.md")).read())


if __name__ == "__main__":
    main()
