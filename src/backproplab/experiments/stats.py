"""Statistics for many-seed experiments: medians, interquartile ranges, success rates and a
percentile-bootstrap confidence interval for the difference of two configurations' medians."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._format import num

__all__ = ["describe", "bootstrap_diff_ci", "difference_sentence"]


def describe(values: Sequence[float], reached: Sequence[bool] | None = None) -> dict[str, Any]:
    """Median, quartiles (IQR) and success rate; quartiles over the values where ``reached`` is True."""
    v = np.asarray(values, dtype=float)
    ok = np.ones(v.shape, bool) if reached is None else np.asarray(reached, dtype=bool)
    kept = v[ok]
    q1, med, q3 = (np.percentile(kept, [25, 50, 75]) if kept.size else (np.nan,) * 3)
    return {"n": int(v.size), "successes": int(ok.sum()), "success_rate": float(ok.mean()) if v.size else float("nan"),
            "median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Percentile-bootstrap interval for ``median(a) - median(b)`` (independent samples).

    Each resample draws ``len(a)`` values of ``a`` and ``len(b)`` of ``b`` with replacement
    (a seeded Generator, vectorised); the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2``
    quantiles of the resampled differences. Returns ``(difference, low, high)``.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError(f"bootstrap_diff_ci: both samples need values, got sizes {x.size} and {y.size}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    mx = np.median(x[rng.integers(0, x.size, (n_resamples, x.size))], axis=1)
    my = np.median(y[rng.integers(0, y.size, (n_resamples, y.size))], axis=1)
    low, high = np.quantile(mx - my, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(x) - np.median(y)), float(low), float(high)


def difference_sentence(label_a: str, a: Sequence[float], label_b: str, b: Sequence[float], what: str,
                        seed: int = 0) -> str:
    """"A reached ... in a median of X against Y for B (difference Z, 95% CI [lo, hi], n seeds)"."""
    if len(a) == 0 or len(b) == 0:
        return f"{label_a} vs {label_b}: no interval ({len(a)} and {len(b)} runs reached the target)"
    diff, low, high = bootstrap_diff_ci(a, b, seed=seed)
    sign = ("excludes 0" if low > 0 or high < 0 else "contains 0")
    return (f"{label_a} {what} in a median of {num(float(np.median(a)))} steps against {num(float(np.median(b)))} "
            f"for {label_b} (difference {num(diff)}, 95% CI [{num(low)}, {num(high)}], which {sign}; "
            f"{len(a)} and {len(b)} runs that reached it)")
