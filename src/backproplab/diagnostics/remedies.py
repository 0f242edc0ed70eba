"""Suggestions that fit the run: each reads what the run already does (init, activation, optimizer,
learning rate, scaling, stop rule) from the record's config and names one concrete change, never the
setting the run already has."""

from __future__ import annotations

from typing import Any

from .._format import num
from .facts import Facts
from .findings import L2_STRONG

RELU_FAMILY = ("relu", "leaky_relu")


def _cfg(facts: Facts, key: str, default: Any = None) -> Any:
    value = facts.config.get(key, default)
    return default if value is None else value


def _hidden(facts: Facts) -> set[str]:
    return set(facts.hidden) or ({str(facts.config["hidden"])} if facts.config.get("hidden") else set())


def _init(facts: Facts) -> str:
    return str(_cfg(facts, "init", "")).lower()


def _lr(facts: Facts) -> float | None:
    lr = facts.config.get("lr")
    return float(lr) if isinstance(lr, int | float) else None


def _scaled_inputs(facts: Facts) -> bool:
    return not facts.config.get("_unscaled_inputs", False)


def to_relu(facts: Facts) -> str:
    """The activation/initialisation change that keeps gradients alive, or "" if the run already has it."""
    hidden, init = _hidden(facts), _init(facts)
    if hidden and hidden <= set(RELU_FAMILY):
        return "" if init.startswith("he") else 'init="he_uniform"'
    return 'hidden="relu", init="he_uniform"'


def lr_scaled(facts: Facts, factor: float) -> str:
    lr = _lr(facts)
    return f"lr={num(lr * factor)}" if lr else ("a 10x smaller learning rate" if factor < 1 else "a 10x larger learning rate")


def vanishing(facts: Facts) -> str:
    change = to_relu(facts)
    parts = [change] if change else []
    if len(facts.hidden) >= 3:
        parts.append(f"fewer layers (the run has {len(facts.hidden)} hidden layers)")
    if _cfg(facts, "optimizer", "") not in ("adam", "rmsprop"):
        parts.append('optimizer="adam"')
    return "; ".join(parts) or "residual connections or batch normalisation (backproplab has neither): fewer layers"


def saturated(facts: Facts) -> str:
    if not _scaled_inputs(facts):
        return "standardise the inputs (`--scale standard`)"
    init = _init(facts)
    if init in ("normal", "uniform"):
        return 'init="glorot_uniform" (the current N(0, 1) / U[0, 1) weights are far too large)'
    return to_relu(facts) or "smaller initial weights"


def dead(facts: Facts) -> str:
    parts = []
    if "relu" in _hidden(facts):
        parts.append('hidden="leaky_relu"')
    lr = _lr(facts)
    if lr and lr > 0.01:
        parts.append(lr_scaled(facts, 0.1))
    if _init(facts) in ("normal", "uniform"):
        parts.append('init="he_uniform" (zero biases)')
    return "; ".join(parts) or "initialise the biases at zero and lower the learning rate"


def exploding(facts: Facts) -> str:
    parts = []
    if _init(facts) in ("normal", "uniform"):
        parts.append('init="he_uniform"' if _hidden(facts) <= set(RELU_FAMILY) else 'init="glorot_uniform"')
    parts.append(lr_scaled(facts, 0.1))
    if not _scaled_inputs(facts):
        parts.append("standardise the inputs (`--scale standard`)")
    return "; ".join(parts)


def lr_lower(facts: Facts) -> str:
    return lr_scaled(facts, 0.1) + " (or a schedule that lowers it on a plateau)"


def lr_higher(facts: Facts, factor: float) -> str:
    if _cfg(facts, "optimizer", "sgd") == "sgd" and (_lr(facts) or 1) < 1e-3:
        return f'{lr_scaled(facts, factor)}, or optimizer="adam", lr=0.001'
    return lr_scaled(facts, factor)


def lr_from_ratio(facts: Facts, typical: float) -> str:
    factor = min(max(1e-3 / typical, 1e-2), 1e2)
    return lr_higher(facts, factor) if factor > 1 else lr_scaled(facts, factor)


def not_converged(facts: Facts) -> str:
    steps = facts.config.get("n_steps")
    more = f"max_steps={int(steps) * 4}" if isinstance(steps, int) and steps > 0 else "a 4x larger step budget"
    return f"train longer ({more}) with stop=bp.Stop(plateau=True) to end when the loss levels off"


def stopping(facts: Facts) -> str:
    return ("stop on a plateau of the loss (stop=bp.Stop(plateau=True)) or on a validation loss "
            "(stop=bp.Stop(early_stopping=True)); a small gradient or a loss threshold is not a measure of fit")


def symmetric(facts: Facts) -> str:
    return ("random initial weights, never a constant (the initialisers he_uniform for ReLU, glorot_uniform "
            "otherwise; do not overwrite them after building the network)")


def bad_init(facts: Facts) -> str:
    if _init(facts) in ("normal", "uniform"):
        return 'init="glorot_uniform" (small zero-mean weights give a first loss near ln K)'
    return "scale the last layer's initial weights down (a zero last layer starts at exactly ln K)"


def overfitting(facts: Facts) -> str:
    parts = ["stop=bp.Stop(early_stopping=True)"]
    if not facts.config.get("l2"):
        parts.append("l2=1e-3")
    parts.append("a smaller network or more data")
    return "; ".join(parts)


def baseline(facts: Facts) -> str:
    l2 = facts.config.get("l2") or 0
    if l2 >= L2_STRONG:
        return f"a much weaker L2 penalty: l2={num(l2 / 100)} (l2={num(l2)} pulls every weight to zero)"
    return ("check that the targets depend on the inputs (no_signal), then the learning rate, the scaling and the "
            "gradients (bp.gradcheck)")
