r"""The blog's rule run to the blog's target: one seed per call, compiled when numba is installed.

A run follows the blog's training loop: each step draws 128 of the 200 rows without replacement,
applies :func:`source_rules.blog_step` (lr 0.1), and every 1000 steps the mean of those 1000 batch
losses is checked against 0.01. It ends at the target, at ``cap`` steps, or as soon as the network
is *provably* stuck:

- ReLU, a whole hidden layer inactive on all 200 rows: every delta behind it is exactly 0, so the
  layer stays inactive forever and the output is the same for every input; a constant output on
  these labels has a batch loss of at least p (1 - p) for the batch's class fraction p (> 0.17).
- the output saturated so that (a3 - y) s'(z3) is exactly 0 on all 200 rows: every update is exactly
  0 from then on, and the smallest possible batch loss (mean of the 128 smallest squared errors) is
  above the target.

:func:`run_one` is a top-level function of ``(seed, config)`` returning a plain dict, so seeds can be
mapped over processes; :func:`run_seeds` runs several (compiled: one after the other; NumPy: all
seeds advanced at once as one stacked batch of small networks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import datasets
from . import source_rules as rules

__all__ = ["BlogConfig", "have_numba", "run_one", "run_seeds", "cosines_along_path"]


@dataclass(frozen=True)
class BlogConfig:
    """Settings of a run of the blog's rule (the blog's own values by default)."""

    hidden: str = "sigmoid"
    cap: int = 5_000_000
    target: float = 0.01
    window: int = 1000
    batch: int = 128
    lr: float = 0.1
    record_every: int = 1000
    """Keep the deltas (sig3, sig2, sig1) of one step in this many (a multiple of ``window``)."""
    snapshot_every: int = 20_000
    """Keep the weights and batch of one step in this many, for the cosine along the path."""
    backend: str = "auto"
    """"numba", "numpy" or "auto" (numba when installed)."""


def have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _backend(config: BlogConfig) -> str:
    if config.backend == "auto":
        return "numba" if have_numba() else "numpy"
    return config.backend


def start(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """The blog's data for ``seed``, the N(0, 1) start and the stream of batch uniforms."""
    X, y = datasets.two_spheres(seed=seed)
    weights_seq, batches_seq = np.random.SeedSequence(seed).spawn(2)
    theta = rules.pack(rules.blog_init(np.random.default_rng(weights_seq)))
    return X, y, theta, np.random.default_rng(batches_seq)


def _min_constant_loss(y: np.ndarray, batch: int) -> float:
    """Smallest batch loss any constant output can have: min over feasible class fractions p of p(1-p)."""
    ones, n = int(np.sum(y == 1)), len(y)
    low, high = max(0, batch - (n - ones)) / batch, min(batch, ones) / batch
    return min(low * (1 - low), high * (1 - high))


def stuck_reason(theta: np.ndarray, X: np.ndarray, y: np.ndarray, config: BlogConfig) -> str | None:
    """Why the run can never reach the target from ``theta`` (see the module docstring), or None."""
    W1, b1, W2, b2, W3, b3 = rules.unpack(theta)
    Z1 = X @ W1 + b1
    A1, _ = rules._hidden(Z1, config.hidden)
    Z2 = A1 @ W2 + b2
    A2, _ = rules._hidden(Z2, config.hidden)
    out = rules._sigmoid(A2 @ W3 + b3)[:, 0]
    if config.hidden == "relu" and (Z1.max() <= 0 or Z2.max() <= 0):
        if _min_constant_loss(y[:, 0], config.batch) > config.target:
            return "dead hidden layer"
    error = out - y[:, 0]
    if np.all(error * (out * (1 - out)) == 0):
        if np.mean(np.sort(error**2)[: config.batch]) > config.target:
            return "saturated output"
    return None


def run_one(seed: int, config: BlogConfig = BlogConfig()) -> dict[str, Any]:
    """One seed of the blog's rule to its target (or cap, or a provable stall); a plain dict."""
    if _backend(config) == "numpy":
        return run_seeds([seed], config)[0]
    from ._blog_kernel import blog_chunk

    began = time.perf_counter()
    X, y, theta, batch_rng = start(seed)
    theta0 = theta.copy()
    y1 = np.ascontiguousarray(y[:, 0])
    losses, deltas = np.empty(config.window), np.empty(6)
    first = np.empty(config.batch, np.int64)
    record = _Record(config)
    reason, steps = "max_steps", 0
    while steps < config.cap:
        U = batch_rng.random((config.window, config.batch))
        before = theta.copy() if steps % config.snapshot_every == 0 else None
        blog_chunk(theta, X, y1, U, config.hidden == "relu", config.lr, losses, deltas, first)
        record.add(steps, float(np.mean(losses)), deltas, before, first)
        steps += config.window
        if record.window_losses[-1] < config.target:
            reason = "loss_below"
            break
        stuck = stuck_reason(theta, X, y, config)
        if stuck is not None:
            reason = stuck
            break
    return record.result(seed, steps, reason, theta0, theta, time.perf_counter() - began, "numba")


class _Record:
    """What a run keeps: window losses, deltas every ``record_every``, snapshots for the cosine."""

    def __init__(self, config: BlogConfig) -> None:
        self.config = config
        self.window_losses: list[float] = []
        self.delta_steps: list[int] = []
        self.deltas: list[list[float]] = []
        self.snapshots: list[tuple[int, np.ndarray, np.ndarray]] = []

    def add(self, steps: int, window_loss: float, deltas: np.ndarray, before: np.ndarray | None,
            first: np.ndarray) -> None:
        self.window_losses.append(window_loss)
        if steps % self.config.record_every == 0:
            self.delta_steps.append(steps + 1)
            self.deltas.append([float(d) for d in deltas])
        if before is not None:
            self.snapshots.append((steps + 1, before, first.copy()))

    def result(self, seed: int, steps: int, reason: str, theta0: np.ndarray, theta: np.ndarray,
               seconds: float, backend: str) -> dict[str, Any]:
        W1_start, W1_end = rules.unpack(theta0)[0], rules.unpack(theta)[0]
        drift = (W1_end - W1_end[0]) - (W1_start - W1_start[0])  # row differences of W1
        X, y = datasets.two_spheres(seed=seed)
        return {
            "seed": seed, "hidden": self.config.hidden, "reached": reason == "loss_below", "steps": steps,
            "stop_reason": reason, "final_window_loss": self.window_losses[-1],
            "window_losses": self.window_losses, "delta_steps": self.delta_steps, "deltas": self.deltas,
            "cosine_steps": [s for s, _, _ in self.snapshots],
            "cosines": cosines_along_path(self.snapshots, X, y, self.config.hidden, self.config.lr),
            "w1_row_difference_drift": float(np.max(np.abs(drift))),
            "w1_moved": float(np.linalg.norm(W1_end - W1_start)),
            "seconds": seconds, "backend": backend, "cap": self.config.cap,
        }


def cosines_along_path(snapshots: list[tuple[int, np.ndarray, np.ndarray]], X: np.ndarray, y: np.ndarray,
                       hidden: str, lr: float) -> list[float]:
    """Cosine between the blog's update and the exact gradient of the same batch's MSE, at each
    snapshot (weights before the step, and that step's batch); all 23 parameters."""
    from ..network import Network

    net = Network.mlp([3, 3, 2, 1], hidden=hidden, output="sigmoid", loss="mse", init="normal", seed=0)
    out = []
    for _, theta, index in snapshots:
        params = rules.unpack(theta.copy())
        new, _, _ = rules.blog_step(params, X[index], y[index], hidden, lr)
        update = (rules.pack(params) - rules.pack(new)) / lr
        net.set_weights(params)
        exact = rules.pack(net.gradients(X[index], y[index]))
        norms = float(np.linalg.norm(update) * np.linalg.norm(exact))
        out.append(float(update @ exact) / norms if norms > 0 else float("nan"))
    return out


def run_seeds(seeds: list[int], config: BlogConfig = BlogConfig()) -> list[dict[str, Any]]:
    """:func:`run_one` for each seed; without numba, all seeds advance together in NumPy."""
    if _backend(config) == "numba":
        return [run_one(s, config) for s in seeds]
    return _run_stacked(seeds, config)


def _run_stacked(seeds: list[int], config: BlogConfig) -> list[dict[str, Any]]:
    """The NumPy path: every unfinished seed advances one step at a time as one stacked batch."""
    began = time.perf_counter()
    setups = [start(s) for s in seeds]
    X = np.stack([s[0] for s in setups])
    y = np.stack([s[1] for s in setups])
    theta = np.stack([s[2] for s in setups])
    rngs = [s[3] for s in setups]
    records = [_Record(config) for _ in seeds]
    done: dict[int, dict[str, Any]] = {}
    active = list(range(len(seeds)))
    steps = 0
    while active and steps < config.cap:
        U = np.stack([rngs[k].random((config.window, config.batch)) for k in active], axis=1)
        index = rules.blog_sample(U, X.shape[1])  # (window, active, batch)
        before = theta[active].copy()
        losses = np.empty((config.window, len(active)))
        params = _unpack_stacked(theta[active])
        which = np.array(active)[:, None]
        for t in range(config.window):
            batch = index[t]
            params, losses[t], sig = rules.blog_step(params, X[which, batch], y[which, batch], config.hidden, config.lr)
            if t == 0:
                first_deltas = np.concatenate([sig[0], sig[1], sig[2]], axis=-1)
        theta[active] = np.concatenate([p.reshape(len(active), -1) for p in params], axis=1)
        still = []
        for pos, k in enumerate(active):
            snap = before[pos] if steps % config.snapshot_every == 0 else None
            records[k].add(steps, float(np.mean(losses[:, pos])), first_deltas[pos], snap, index[0, pos])
            reason = "loss_below" if records[k].window_losses[-1] < config.target else stuck_reason(
                theta[k], X[k], y[k], config)
            if reason is not None:
                done[k] = records[k].result(seeds[k], steps + config.window, reason, setups[k][2], theta[k],
                                            time.perf_counter() - began, "numpy")
            else:
                still.append(k)
        active, steps = still, steps + config.window
    for k in active:
        done[k] = records[k].result(seeds[k], steps, "max_steps", setups[k][2], theta[k],
                                    time.perf_counter() - began, "numpy")
    return [done[k] for k in range(len(seeds))]


def _unpack_stacked(theta: np.ndarray) -> list[np.ndarray]:
    out, begin = [], 0
    for shape in rules.BLOG_SHAPES:
        size = int(np.prod(shape))
        out.append(theta[:, begin:begin + size].reshape(len(theta), *shape).copy())
        begin += size
    return out
