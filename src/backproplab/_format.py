"""One way to format a number for people: 3 significant digits, capped ratios and percentages.

Every sentence the library, the CLI, the experiments, the report and the dashboard compose from a
run's numbers formats them here, so no 300-digit percentage or 16-digit float ever reaches a reader.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["num", "percent", "ratio", "human"]

RATIO_CAP = 1000.0
PERCENT_CAP = 1000.0


def num(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits: 0.0123, 12.3, 1.23e+05, nan, inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if isinstance(value, numbers.Integral) and abs(x) < 1e15:
        return str(int(value))
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 10**digits:
        return f"{x:.{digits}g}"
    if 10**digits <= abs(x) < 1e15:  # 2000.0 -> "2000", 12345.6 -> "12300": no exponent for numbers people count
        return f"{round(x, digits - 1 - int(math.floor(math.log10(abs(x))))):.0f}"
    return f"{x:.{max(digits - 1, 0)}e}"


def ratio(value: Any, cap: float = RATIO_CAP) -> str:
    """A multiplicative factor: "3.2x", "over 1000x", "under 0.001x"."""
    x = float(value)
    if math.isnan(x):
        return "nan"
    if x > cap:
        return f"over {cap:g}x"
    if 0 < x < 1 / cap:
        return f"under {1 / cap:g}x"
    return f"{num(x)}x"


def percent(fraction: Any, cap: float = PERCENT_CAP) -> str:
    """A fraction as a percentage: 0.123 -> "12.3%"; capped at "over 1000%"."""
    x = float(fraction) * 100.0
    if math.isnan(x):
        return "nan"
    if x > cap:
        return f"over {cap:g}%"
    if x < -cap:
        return f"below -{cap:g}%"
    return f"{num(x)}%"


def human(value: Any) -> str:
    """Numbers (also inside lists, tuples and dicts) formatted with :func:`num`, for evidence lines."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {human(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        shown = ", ".join(human(v) for v in list(value)[:10])
        return "[" + shown + (", ..." if len(value) > 10 else "") + "]"
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    return num(value)
