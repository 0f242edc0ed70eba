"""Runs several experiments share: the blog's rule over seeds, exact gradients, per-step costs.

Four experiments read the same runs of the blog's rule (activation-race, batch-mean-update,
vanishing-gradient, blog-time); each run is computed once per process and kept here, keyed by its
settings. Scales: "full" is the demo (10 seeds, cap 5 million steps); "quick" is ``--quick``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import datasets
from . import blog_runs
from . import source_rules as rules

__all__ = ["Scale", "SCALES", "scale", "blog_seeds", "exact_run_one", "exact_seeds", "per_step_costs"]


@dataclass(frozen=True)
class Scale:
    seeds: int
    cap: int
    exact_max_steps: int
    timing_steps: int
    n_jobs: int = 1


SCALES = {
    "full": Scale(seeds=10, cap=5_000_000, exact_max_steps=30_000, timing_steps=1500, n_jobs=0),
    "quick": Scale(seeds=3, cap=200_000, exact_max_steps=10_000, timing_steps=300),
}
"""``n_jobs=0`` means one process per core (the seeds of the blog's rule are independent)."""


def scale(quick: bool) -> Scale:
    return SCALES["quick" if quick else "full"]


def _n_jobs(wanted: int, tasks: int) -> int:
    if wanted == 0:
        wanted = os.cpu_count() or 1
    return max(1, min(wanted, tasks))


_PENDING: dict[tuple[str, tuple[int, ...], int], list[Any]] = {}
"""Futures of blog runs started ahead of time by :func:`prefetch`, keyed like :func:`_blog_cached`."""


def prefetch(seed: int, quick: bool) -> bool:
    """Start the blog's runs (sigmoid and ReLU, every seed) in worker processes now, so that they
    overlap with whatever the caller computes next; :func:`blog_seeds` collects them. Returns False
    (and starts nothing) without numba or with a single core."""
    s = scale(quick)
    seeds = tuple(range(seed, seed + s.seeds))
    if not blog_runs.have_numba() or _n_jobs(s.n_jobs, 2 * len(seeds)) == 1:
        return False
    # a pool of its own, not loky's reusable one: joblib's Parallel later reuses that singleton and
    # expects state that only joblib itself sets on it
    from joblib.externals.loky import ProcessPoolExecutor

    executor = ProcessPoolExecutor(max_workers=_n_jobs(s.n_jobs, 2 * len(seeds)))
    for hidden in ("sigmoid", "relu"):  # the longest runs first
        key = (hidden, seeds, s.cap)
        if key not in _PENDING:
            config = blog_runs.BlogConfig(hidden=hidden, cap=s.cap)
            _PENDING[key] = [executor.submit(blog_runs.run_one, k, config) for k in seeds]
    executor.shutdown(wait=False)  # the submitted runs still complete; the workers exit after them
    return True


@functools.lru_cache(maxsize=16)
def _blog_cached(hidden: str, seeds: tuple[int, ...], cap: int, n_jobs: int) -> tuple[dict[str, Any], ...]:
    pending = _PENDING.pop((hidden, seeds, cap), None)
    if pending is not None:
        return tuple(future.result() for future in pending)
    config = blog_runs.BlogConfig(hidden=hidden, cap=cap)
    jobs = _n_jobs(n_jobs, len(seeds))
    if jobs == 1 or not blog_runs.have_numba():
        return tuple(blog_runs.run_seeds(list(seeds), config))
    from joblib import Parallel, delayed

    return tuple(Parallel(n_jobs=jobs)(delayed(blog_runs.run_one)(s, config) for s in seeds))


OVERRIDE: dict[str, Any] = {"seeds": None, "backend": None, "scheduler": None}
"""Set by ``Experiment(..., seeds=, backend=, scheduler=)`` for the duration of one run: the seed count
replaces the scale's, and the per-seed runs go through :func:`backproplab.sweep.parallel_map`."""


@contextlib.contextmanager
def overridden(seeds: int | None, backend: str | None, scheduler: str | None) -> Iterator[None]:
    old = dict(OVERRIDE)
    OVERRIDE.update(seeds=seeds, backend=backend, scheduler=scheduler)
    try:
        yield
    finally:
        OVERRIDE.update(old)


def n_seeds(quick: bool) -> int:
    return OVERRIDE["seeds"] or scale(quick).seeds


def mapped(fn: Any, seeds: list[int], config: Any) -> list[dict[str, Any]]:
    """``[fn(s, config) for s in seeds]`` through :func:`backproplab.sweep.parallel_map` on the chosen backend."""
    from ..sweep import parallel_map

    return parallel_map(functools.partial(fn, config=config), seeds, backend=OVERRIDE["backend"] or "loky",
                        scheduler=OVERRIDE["scheduler"])


def blog_seeds(hidden: str, seed: int, quick: bool) -> list[dict[str, Any]]:
    """The blog's rule over the scale's seeds (``seed, seed + 1, ...``), each a :func:`blog_runs.run_one`
    dict. Computed once per process for each setting."""
    s = scale(quick)
    if OVERRIDE["seeds"] or OVERRIDE["backend"]:
        return mapped(blog_runs.run_one, list(range(seed, seed + n_seeds(quick))),
                      blog_runs.BlogConfig(hidden=hidden, cap=s.cap))
    return list(_blog_cached(hidden, tuple(range(seed, seed + s.seeds)), s.cap, s.n_jobs))


def exact_run_one(seed: int, config: dict[str, Any]) -> dict[str, Any]:
    """The blog's task and settings with exact gradients (backproplab's SGD): steps to the target."""
    from ..network import Network
    from ..training import ConvergenceWarning, Stop

    X, y = datasets.two_spheres(seed=seed)
    net = Network.mlp([3, 3, 2, 1], hidden=config["hidden"], output="sigmoid", loss="mse", init="normal", seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a failure is counted, not warned
        history = net.fit(X, y, optimizer="sgd", lr=0.1, batch_size=128, sampling="random", seed=seed,
                          progress=False, max_steps=config["max_steps"], stop=Stop(loss_below=0.01, window=1000))
    return {"seed": seed, "hidden": config["hidden"], "steps": int(history.n_steps),
            "reached": history.stop_reason == "loss_below", "stop_reason": history.stop_reason,
            "seconds": float(history.wall_time)}


@functools.lru_cache(maxsize=16)
def _exact_cached(hidden: str, seeds: tuple[int, ...], max_steps: int) -> tuple[dict[str, Any], ...]:
    return tuple(exact_run_one(s, {"hidden": hidden, "max_steps": max_steps}) for s in seeds)


def exact_seeds(hidden: str, seed: int, quick: bool) -> list[dict[str, Any]]:
    s = scale(quick)
    if OVERRIDE["seeds"] or OVERRIDE["backend"]:
        return mapped(exact_run_one, list(range(seed, seed + n_seeds(quick))),
                      {"hidden": hidden, "max_steps": s.exact_max_steps})
    return list(_exact_cached(hidden, tuple(range(seed, seed + s.seeds)), s.exact_max_steps))


@functools.lru_cache(maxsize=4)
def per_step_costs(steps: int, repeats: int = 3) -> dict[str, Any]:
    """Seconds per step, measured here: the blog-shaped code (:func:`source_rules.blog_step_as_written`,
    batch sampling included) against one step of ``Network.fit`` (same batch, SGD). Interleaved,
    median of ``repeats``; ours is the marginal cost (a fit of ``steps`` minus a fit of 10 steps)."""
    from ..network import Network

    X, y = datasets.two_spheres(seed=0)
    blog, ours = [], []
    for r in range(repeats):
        params = rules.blog_init(np.random.default_rng(r))
        rng = np.random.default_rng(r)
        began = time.perf_counter()
        for _ in range(steps):
            rules.blog_step_as_written(params, X, y, rng)
        blog.append((time.perf_counter() - began) / steps)
        times = []
        for n in (10, steps + 10):
            net = Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=r)
            began = time.perf_counter()
            net.fit(X, y, optimizer="sgd", lr=0.1, batch_size=128, sampling="random", seed=r, progress=False,
                    max_steps=n)
            times.append(time.perf_counter() - began)
        ours.append((times[1] - times[0]) / steps)
    return {"blog_step_s": float(np.median(blog)), "ours_step_s": float(np.median(ours)),
            "blog_step_range_s": [float(min(blog)), float(max(blog))], "steps": steps, "repeats": repeats}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Success count and the spread of steps among the runs that reached the target."""
    reached = [r["steps"] for r in runs if r["reached"]]
    return {
        "n": len(runs), "reached": len(reached),
        "min": min(reached) if reached else None, "median": int(round(float(np.median(reached)))) if reached else None,
        "max": max(reached) if reached else None,
        "failures": [(r["seed"], r["stop_reason"], r["steps"], r.get("final_window_loss")) for r in runs
                     if not r["reached"]],
    }
