"""Rules that read only recorded evidence: the loss series against the baseline, gradient norms over
time, update-to-weight ratios, unit health, the user's stop criterion, validation loss, the initial
loss and a gradient check. Each rule is ``rule(facts) -> list[Finding]``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._format import num, percent, ratio
from . import remedies
from .facts import Facts, finite
from .findings import (
    BAD_INIT_FACTOR,
    BAD_INIT_MARGIN,
    BASELINE_ERROR,
    BASELINE_FRACTION,
    DEAD_FRACTION,
    DEAD_FRACTION_FIT,
    DEAD_MIN_ROWS,
    EXPLODING_NORM,
    EXPLODING_RATIO,
    L2_STRONG,
    NOT_CONVERGED_GAIN,
    OVERFIT_RISE,
    SATURATED_FRACTION,
    STOP_CRITERION_DROP,
    STOP_LOSS_DROP,
    SYMMETRIC_FRACTION,
    UPDATE_RATIO_HIGH,
    UPDATE_RATIO_LOW,
    UPDATE_RATIO_TARGET,
    VANISHING_RATIO,
    Finding,
)

BUDGET_REASONS = ("max_steps", "max_epochs", "time_limit", "", None)


def _blocks(values: np.ndarray, count: int = 20) -> np.ndarray:
    """Block means: per-step batch losses are noisy; an epoch-level series is left as it is."""
    if values.size <= 2 * count:
        return values
    return np.array([chunk.mean() for chunk in np.array_split(values, count)])


def check_baseline(facts: Facts) -> list[Finding]:
    ratio_ = facts.fit_ratio
    if ratio_ is None or not math.isfinite(ratio_) or ratio_ < BASELINE_FRACTION:
        return []
    what = {"mse": "mean", "sse": "mean", "half_sse": "mean", "mae": "median"}.get(facts.loss_name or "", "class prior")
    control = facts.config.get("_control") or {}
    reach = ""
    if control.get("real") is not None:
        reach = (f" A correct network of this size reaches {num(control['real'])} here ({control['compared_on']}; "
                 f"{num(control['real_train'])} on its training rows); yours is at {num(facts.final_loss)}.")
    return [Finding(
        "no_better_than_baseline", "error" if ratio_ >= BASELINE_ERROR else "warning",
        f"the training loss {num(facts.final_loss)} is {percent(ratio_)} of what the best constant prediction gets "
        f"({num(facts.baseline)}): the network has learned little or nothing beyond the {what}.{reach}",
        {"train_loss": facts.final_loss, "baseline_loss": facts.baseline, "ratio": ratio_,
         "control_loss": control.get("real"), "l2": facts.config.get("l2") or 0.0,
         "l2_pull": (facts.config.get("l2") or 0.0) >= L2_STRONG},
        remedies.baseline(facts),
    )]


def _norms_at(facts: Facts, index: int) -> list[float]:
    return [float(facts.record.grad_norms[name][index]) for name in facts.weight_names if name in facts.record.grad_norms]


def _flow_points(facts: Facts) -> dict[str, list[float]]:
    """Per-layer gradient norms "at initialisation" (step 0: measured then, or on a re-initialised copy),
    "early" (the run's first record, when it is not step 0) and "now" (the last record)."""
    points: dict[str, list[float]] = {}
    record = facts.record
    init = (record.at_init or {}).get("grad_norms") or {}
    if init:
        points["at initialisation"] = [float(init[n]) for n in facts.weight_names if n in init]
    steps = np.asarray(record.steps)
    names = [n for n in facts.weight_names if n in record.grad_norms]
    if not names or not steps.size:
        return points
    columns = np.array([np.asarray(record.grad_norms[n], dtype=np.float64) for n in names])
    known = np.flatnonzero(~np.all(np.isnan(columns), axis=0))
    if not known.size:
        return points
    first, last = int(known[0]), int(known[-1])
    if first != last:
        label = "at initialisation" if steps[first] == 0 else f"early (step {int(steps[first])})"
        points.setdefault(label, _norms_at(facts, first))
        points["now"] = _norms_at(facts, last)
    else:
        points.setdefault("at initialisation" if steps[first] == 0 else "now", _norms_at(facts, first))
    return points


def check_gradient_flow(facts: Facts) -> list[Finding]:
    points = {label: norms for label, norms in _flow_points(facts).items() if len(norms) >= 2}
    if not points:
        return []
    ratios = {label: (n[0] / n[-1] if n[-1] > 0 and math.isfinite(n[0]) else math.nan) for label, n in points.items()}
    findings = []
    # near a perfect fit every gradient is tiny and their ratio says nothing
    judged = {k: v for k, v in ratios.items() if k != "now" or not facts.good_fit}
    vanishing = {k: v for k, v in judged.items() if v < VANISHING_RATIO}
    if vanishing:
        label = min(vanishing, key=vanishing.__getitem__)
        when = ", ".join(f"{k}: {ratio(v)}" for k, v in ratios.items())
        findings.append(Finding(
            "vanishing_gradient", "warning",
            f"the first layer's gradient is {ratio(vanishing[label])} the last layer's {label} ({when}): the early "
            "layers barely learn; each saturating layer multiplies the gradient by at most its largest derivative "
            "(1/4 for sigmoid)",
            {"first_over_last": vanishing[label], "measured": label, "first_over_last_by_time": ratios,
             "grad_norm_per_layer": points[label], "hidden": facts.hidden},
            remedies.vanishing(facts),
        ))
    blown = {k: n for k, n in points.items() if any(not math.isfinite(v) for v in n) or max(n) > EXPLODING_NORM
             or (ratios[k] > EXPLODING_RATIO)}
    if blown:
        label = next(iter(blown))
        largest = max(points[label])
        if "at initialisation" in points and "at initialisation" not in blown:
            findings.append(Finding(
                "lr_too_large", "warning",
                f"the gradients were moderate at initialisation (largest {num(max(points['at initialisation']))}) and "
                f"blew up during training ({label}: largest {num(largest)}): the steps are too large for this network",
                {"grad_norm_at_init": points["at initialisation"], "grad_norm_blown": points[label], "measured": label,
                 "lr": facts.config.get("lr")},
                remedies.lr_lower(facts),
            ))
        findings.append(Finding(
            "exploding_gradient", "error",
            f"gradient norms are very large {label} (largest {num(largest)}, first/last {ratio(ratios[label])})",
            {"grad_norm_per_layer": points[label], "measured": label, "at_init": label == "at initialisation",
             "first_over_last_by_time": ratios},
            remedies.exploding(facts),
        ))
    return findings


def check_update_ratio(facts: Facts) -> list[Finding]:
    record = facts.record
    names = [n for n in facts.weight_names if n in record.update_ratios]
    if not names or facts.fits_like_control:
        return []
    steps = np.asarray(record.steps, dtype=np.float64)
    span = np.full(steps.shape, float(record.update_ratio_steps)) if record.update_ratio_steps else np.diff(steps, prepend=np.nan)
    per_layer = {}
    for name in names:
        values = np.asarray(record.update_ratios[name], dtype=np.float64) / np.where(span > 0, span, np.nan)
        late = finite(values[values.size // 2:]) if values.size > 1 else finite(values)
        if late.size:
            per_layer[name] = float(np.median(late))
    if not per_layer:
        return []
    typical = float(np.median(list(per_layer.values())))
    if UPDATE_RATIO_LOW <= typical <= UPDATE_RATIO_HIGH or typical == 0:
        return []
    direction = "small" if typical < UPDATE_RATIO_LOW else "large"
    return [Finding(
        "lr_from_update_ratio", "warning",
        f"each step changes the weights by {num(typical)} of their size (median over layers, late in the run): "
        f"{ratio(typical / UPDATE_RATIO_TARGET)} the ~{num(UPDATE_RATIO_TARGET)} rule of thumb, so the learning rate "
        f"is probably too {direction}",
        {"update_ratio_per_layer": per_layer, "typical": typical, "rule_of_thumb": UPDATE_RATIO_TARGET, "direction": direction,
         "lr": facts.config.get("lr")},
        remedies.lr_from_ratio(facts, typical),
    )]


def _unit_stats(facts: Facts) -> list[tuple[str, list[dict[str, Any]]]]:
    out = [("now", facts.record.activation_stats)]
    if facts.record.at_init and facts.record.at_init.get("activation_stats"):
        out.append(("at initialisation", facts.record.at_init["activation_stats"]))
    return out


def check_units(facts: Facts) -> list[Finding]:
    findings = []
    rows = len(facts.record.X) if facts.record.X is not None else None
    for when, stats in _unit_stats(facts)[:1]:
        saturated = {s.get("name", str(i)): s["saturated_fraction"] for i, s in enumerate(stats)
                     if (s.get("saturated_fraction") or 0) > SATURATED_FRACTION}
        if saturated and (rows is None or rows >= DEAD_MIN_ROWS):
            findings.append(Finding(
                "saturated_units", "info" if facts.good_fit else "warning",
                "hidden " + ", ".join(f"{k}: {percent(v)}" for k, v in saturated.items()) + " of the sigmoid/tanh "
                f"outputs sit in the flat tails {when}, where the derivative is almost zero",
                {"saturated_fraction": saturated, "measured": when},
                remedies.saturated(facts),
            ))
        dead = {s.get("name", str(i)): s["dead_fraction"] for i, s in enumerate(stats)
                if (s.get("dead_fraction") or 0) >= DEAD_FRACTION and s.get("kind", "relu") == "relu"}
        if dead and (rows is None or rows >= DEAD_MIN_ROWS):  # with a handful of rows, unit fractions are chance
            findings.append(Finding(
                "dead_units", "info" if facts.good_fit and max(dead.values()) < DEAD_FRACTION_FIT else "warning",
                "hidden " + ", ".join(f"{k}: {percent(v)}" for k, v in dead.items()) + " of the ReLU units output zero "
                f"for every training row {when} and get no gradient",
                {"dead_fraction": dead, "measured": when},
                remedies.dead(facts),
            ))
            findings += _units_killed_by_steps(facts, dead)
    return findings


def _early_update_ratio(facts: Facts) -> float | None:
    """The largest per-step update-to-weight ratio over the first half of the records."""
    record = facts.record
    names = [n for n in facts.weight_names if n in record.update_ratios]
    if not names:
        return None
    steps = np.asarray(record.steps, dtype=np.float64)
    span = np.full(steps.shape, float(record.update_ratio_steps)) if record.update_ratio_steps else np.diff(steps, prepend=np.nan)
    values = np.array([np.asarray(record.update_ratios[n], dtype=np.float64) for n in names]) / np.where(span > 0, span, np.nan)
    early = finite(values[:, : max(values.shape[1] // 2, 1)].ravel())
    return float(early.max()) if early.size else None


def _units_killed_by_steps(facts: Facts, dead: dict[str, float]) -> list[Finding]:
    """ReLU units that die under steps of over ``UPDATE_RATIO_HIGH`` of the weights: the step size killed them."""
    largest = _early_update_ratio(facts)
    if largest is None or largest <= UPDATE_RATIO_HIGH:
        return []
    return [Finding(
        "lr_too_large", "warning",
        f"early updates changed the weights by up to {percent(largest)} of their size in one step "
        f"({ratio(largest / UPDATE_RATIO_TARGET)} the ~{num(UPDATE_RATIO_TARGET)} rule of thumb), and "
        + ", ".join(f"{k}: {percent(v)}" for k, v in dead.items()) + " of the ReLU units are now dead: "
        "steps that large push units into the region where they never fire again",
        {"largest_early_update_ratio": largest, "dead_fraction": dead, "lr": facts.config.get("lr")},
        remedies.lr_lower(facts),
    )]


def _duplicated_fraction(W: np.ndarray, b: np.ndarray | None) -> float:
    """The share of units (columns of W, with their bias) equal to another unit within 1e-6 of their norm;
    all-zero units do not count unless every unit is zero (L2 leaves tiny, distinct weights; a zero
    initialisation leaves exact zeros)."""
    units = W.T if b is None or b.shape != (W.shape[1],) else np.hstack([W.T, b.reshape(-1, 1)])
    norms = np.linalg.norm(units, axis=1)
    distance = np.linalg.norm(units[:, None, :] - units[None, :, :], axis=2)
    same = distance <= 1e-6 * np.maximum(norms[:, None], norms[None, :])
    np.fill_diagonal(same, False)
    zero = norms == 0
    if zero.all():
        return 1.0  # every unit exactly zero (a zero initialisation): all identical, none can move apart
    return float(np.mean(same.any(axis=1) & ~zero))


def check_symmetric(facts: Facts) -> list[Finding]:
    weights = facts.record.weights
    names = [n for n in facts.weight_names if n in weights][:-1]  # hidden layers: all but the output matrix
    worst: dict[str, float] = {}
    for name in names:
        W = np.asarray(weights[name], dtype=np.float64)
        if W.ndim != 2 or W.shape[1] < 2 or W.shape[1] > 1024 or not np.isfinite(W).all():
            continue
        bias = weights.get("b" + name[1:]) if name.startswith("W") else None
        duplicated = _duplicated_fraction(W, None if bias is None else np.asarray(bias, dtype=np.float64))
        if duplicated >= SYMMETRIC_FRACTION:
            worst[name] = duplicated
    if not worst:
        return []
    return [Finding(
        "symmetric_units", "warning",
        "in " + ", ".join(f"{k} {percent(v)}" for k, v in worst.items()) + " of the hidden units have exactly the same "
        "incoming weights as another unit: they compute the same thing and get the same gradient, so they can never "
        "become different (a constant initialisation)",
        {"duplicated_fraction": worst},
        remedies.symmetric(facts),
    )]


def check_initial_loss(facts: Facts) -> list[Finding]:
    k = facts.n_classes
    if k is None or facts.start_loss is None or facts.loss_name not in ("bce", "cross_entropy"):
        return []
    expected = math.log(k) if facts.loss_name == "cross_entropy" else math.log(2)
    def bad(loss: float) -> bool:
        return math.isfinite(loss) and loss > BAD_INIT_FACTOR * expected and loss > expected + BAD_INIT_MARGIN

    at_init = facts.record.at_init or {}
    start = facts.start_loss
    first_step, first_epoch = at_init.get("loss_first_step"), at_init.get("loss_first_epoch")
    where = at_init.get("source", "the first record")
    if first_step is not None:  # the run's own first loss is known exactly: it decides
        start, where = first_step, "the run's first step"
    elif first_epoch is not None and bad(first_epoch) and not bad(start):
        # the first epoch's mean is a lower bound of where the run started (its own weights, e.g. scaled by hand)
        start, where = first_epoch, "the mean over the run's first epoch, a lower bound"
    if not bad(start):
        return []
    return [Finding(
        "bad_initial_loss", "warning",
        f"the loss at step 0 is {num(start)} ({where}), {ratio(start / expected)} the {num(expected)} (= ln {k if facts.loss_name == 'cross_entropy' else 2}) "
        "that a network guessing uniformly gets: the initial weights make confident, wrong predictions, and the first "
        "part of training only undoes them",
        {"initial_loss": start, "expected": expected, "classes": k, "measured": where, "run_first_step_loss": first_step,
         "run_first_epoch_loss": first_epoch},
        remedies.bad_init(facts),
    )]


def check_overfitting(facts: Facts) -> list[Finding]:
    val = np.asarray(facts.record.val_loss, dtype=np.float64) if facts.record.val_loss is not None else np.empty(0)
    train = np.asarray(facts.record.loss, dtype=np.float64)
    keep = np.isfinite(val) & np.isfinite(train) if val.shape == train.shape else np.isfinite(val)
    if keep.sum() < 5:
        return []
    v = val[keep]
    t = train[keep] if val.shape == train.shape else None
    window = max(1, v.size // 10)
    smooth = np.convolve(v, np.ones(window) / window, mode="valid")
    best = int(np.argmin(smooth))
    end = float(smooth[-1])
    if end <= (1 + OVERFIT_RISE) * smooth[best] or best >= smooth.size - 2:
        return []
    if t is not None and not t[-window:].mean() < t[best: best + window].mean():
        return []
    restored = bool(facts.config.get("early_stopping_restored"))
    return [Finding(
        "overfitting", "info" if restored else "warning",
        f"the validation loss rose from its minimum {num(smooth[best])} to {num(end)} ({percent(end / smooth[best] - 1)} "
        "higher) while the training loss kept falling: the network memorises the training rows"
        + (" (early stopping restored the best weights)" if restored else ""),
        {"best_val_loss": float(smooth[best]), "final_val_loss": end, "best_record": best, "records": int(v.size),
         "train_loss_final": float(t[-1]) if t is not None else None},
        remedies.overfitting(facts),
    )]


def check_loss_series(facts: Facts) -> list[Finding]:
    """lr_too_large (a non-finite, rising or oscillating loss) and not_converged (still falling at a budget stop)."""
    raw = np.asarray(facts.record.loss, dtype=np.float64)
    findings = []
    reason = facts.config.get("stop_reason")
    if reason == "diverged" or bool(np.isinf(raw).any()):  # NaN means "not recorded" in a RunRecord
        findings.append(Finding(
            "lr_too_large", "error", "the loss became non-finite: training diverged",
            {"stop_reason": reason or "non-finite loss", "lr": facts.config.get("lr"), "steps": facts.config.get("n_steps")},
            remedies.lr_lower(facts),
        ))
    losses = _blocks(finite(raw))
    if losses.size < 4:
        return findings
    late = losses[losses.size // 2:]
    ups = float(np.mean(np.diff(late) > 0))
    jump = float(np.median(np.abs(np.diff(late))) / max(late.mean(), 1e-300))
    rose = losses[-1] > losses[0] * 1.05
    if not findings and (rose or (ups > 0.45 and jump > 0.3 and late.mean() > 0.05 * losses[0])):
        how = f"rose from {num(losses[0])} to {num(losses[-1])}" if rose else "oscillates without progress"
        findings.append(Finding(
            "lr_too_large", "warning",
            f"the loss {how} ({percent(ups)} of the late steps went up, typical jump {percent(jump)} of the level)",
            {"first_loss": float(losses[0]), "last_loss": float(losses[-1]), "late_up_fraction": ups, "typical_jump": jump,
             "lr": facts.config.get("lr")},
            remedies.lr_lower(facts),
        ))
    tail = max(losses.size // 10, 2)
    before, last = float(losses[-tail - 1]), float(losses[-1])
    if reason in BUDGET_REASONS and before - last > NOT_CONVERGED_GAIN * abs(before) and last > 1e-3 * losses[0]:
        findings.append(Finding(
            "not_converged", "info" if facts.fits_like_control else "warning",
            f"the run ended ({reason or 'end of the record'}) while the loss was still falling: {num(before)} -> "
            f"{num(last)} over the last tenth of the run",
            {"stop_reason": reason or "unknown", "loss_before": before, "loss_last": last, "points_compared": tail},
            remedies.not_converged(facts),
        ))
    return findings


def check_stop_criterion(facts: Facts) -> list[Finding]:
    """The user's stop criterion kept falling while the loss levelled off: it measures the wrong thing."""
    criterion = facts.record.stop_criterion
    if criterion is None:
        return []
    c = np.asarray(criterion, dtype=np.float64)
    loss = np.asarray(facts.record.loss, dtype=np.float64)
    if c.shape != loss.shape:
        return []
    keep = np.isfinite(c) & np.isfinite(loss) & (c > 0)
    if keep.sum() < 4:
        return []
    c, loss = c[keep], loss[keep]
    half = c.size // 2
    drop = c[half] / c[-1]
    loss_drop = (loss[half] - loss[-1]) / max(abs(loss[half]), 1e-300)
    if drop < STOP_CRITERION_DROP or loss_drop > STOP_LOSS_DROP or facts.good_fit:
        return []
    return [Finding(
        "loose_stopping_rule", "warning",
        f"over the second half of the run the stop criterion fell {ratio(drop)} ({num(c[half])} -> {num(c[-1])}) while "
        f"the loss fell only {percent(loss_drop)} ({num(loss[half])} -> {num(loss[-1])}): a shrinking gradient does not "
        "mean a good fit",
        {"criterion_drop": float(drop), "loss_drop": float(loss_drop), "criterion_last": float(c[-1]), "loss_last": float(loss[-1])},
        remedies.stopping(facts),
    )]


def gradient_check_summary(check: Any) -> tuple[bool, dict[str, Any]] | None:
    """(passed, evidence) from a GradCheckResult, a Probe's check or a dict with "passed"."""
    if check is None:
        return None
    passed = check.get("passed") if isinstance(check, dict) else getattr(check, "passed", None)
    if passed is None:
        return None
    data = check if isinstance(check, dict) else (check.to_dict() if hasattr(check, "to_dict") else {})
    evidence: dict[str, Any] = {"max_rel_error": data.get("max_rel_error", getattr(check, "max_rel_error", None))}
    arrays = data.get("params") or data.get("arrays") or []
    failing = [a for a in arrays if isinstance(a, dict) and not a.get("passed", True)]
    if failing:
        worst = max(failing, key=lambda a: a.get("max_rel_error") or a.get("rel_error") or 0)
        evidence["worst_array"] = worst.get("name")
        evidence.update({k: worst[k] for k in ("analytic", "numeric", "cosine", "scale") if k in worst})
    return bool(passed), evidence


def check_gradient(facts: Facts) -> list[Finding]:
    summary = gradient_check_summary(facts.record.gradient_check)
    if summary is None or summary[0]:
        return []
    evidence = summary[1]
    worst = f" ({evidence['worst_array']})" if evidence.get("worst_array") else ""
    return [Finding(
        "gradient_mismatch", "error",
        f"the backward pass disagrees with finite differences{worst}: relative error {num(evidence.get('max_rel_error'))}; "
        "every other reading of this run follows from a wrong gradient",
        evidence,
        "fix the backward pass of the custom layer or loss (or of your own loop); bp.check_gradient tests one function "
        "on its own",
    )]


RULES: list[Callable[[Facts], list[Finding]]] = [
    check_gradient, check_symmetric, check_gradient_flow, check_units, check_update_ratio, check_initial_loss,
    check_overfitting, check_loss_series, check_stop_criterion, check_baseline,
]
