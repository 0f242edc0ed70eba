"""Rules on the data alone (inputs ``X``, targets ``y`` and the loss): scaling, a constant target, a
label leak, a loss that does not fit the task."""

from __future__ import annotations

import numpy as np

from .._format import num, ratio
from .facts import Facts
from .findings import LEAK_MIN_ROWS, LEAK_R2, MEAN_TO_STD, SCALE_RATIO, TARGET_SCALE, TARGET_TINY, Finding


def _scaled_note(facts: Facts) -> str:
    ratio_ = facts.fit_ratio
    return f" The run still reached {num(ratio_ * 100)}% of the baseline loss." if facts.good_fit and ratio_ is not None else ""


def check_inputs(X: np.ndarray, facts: Facts) -> list[Finding]:
    std, mean, peak = X.std(axis=0), X.mean(axis=0), np.abs(X).max(axis=0)
    varying = std > 1e-12 * np.maximum(peak, 1.0)  # rounding leaves ~1e-17 in a constant, standardised column
    findings = []
    spread = float(peak[varying].max() / peak[varying].min()) if varying.sum() >= 2 else 1.0
    offset = np.where(varying & (np.abs(mean) > 1), np.abs(mean) / np.where(varying, std, 1), 0.0)
    worst = float(offset.max()) if offset.size else 0.0
    if spread > SCALE_RATIO or worst > MEAN_TO_STD:
        how = []
        if spread > SCALE_RATIO:
            how.append(f"on very different scales (peak magnitudes differ {ratio(spread)})")
        if worst > MEAN_TO_STD:
            how.append(f"far from zero (|mean| up to {num(worst)} stds)")
        findings.append(Finding(
            "unscaled_inputs", "info" if facts.good_fit else "warning",
            f"the input features are {' and '.join(how)}: a step size that suits one feature is wrong for another, "
            f"and large inputs saturate sigmoid/tanh units.{_scaled_note(facts)}",
            {"peak_ratio": spread, "max_abs_mean_over_std": worst, "feature_std": std.tolist()[:20]},
            "standardise each feature (`--scale standard` on the command line; StandardScaler or "
            "(X - X.mean(0)) / X.std(0) in code; apply the same transform to new data)",
        ))
    if (~varying).any() and len(X) > 1:
        findings.append(Finding(
            "unscaled_inputs", "info", f"{int((~varying).sum())} feature(s) are constant and carry no information",
            {"constant_features": np.flatnonzero(~varying).tolist()[:20]}, "drop the constant features",
        ))
    return findings


def check_targets(Y: np.ndarray, facts: Facts) -> list[Finding]:
    std = Y.std(axis=0)
    if np.all(std == 0):
        value = Y[0].tolist()
        return [Finding(
            "constant_target", "error",
            f"every target is the same ({', '.join(num(v) for v in value[:5])}): there is nothing to learn, and "
            "any loss or gradient reading is meaningless",
            {"value": value[:10], "rows": int(Y.shape[0])},
            "check how the target column was built or filtered (a join, a filter on the label, a wrong column)",
        )]
    if facts.task != "regression":
        return []
    scale = float(np.max(np.maximum(np.abs(Y.mean(axis=0)), std)))
    tiny = float(np.min(std[std > 0]))
    if scale <= TARGET_SCALE and tiny >= TARGET_TINY:
        return []
    return [Finding(
        "unscaled_targets", "info" if facts.good_fit else "warning",
        f"the regression targets are on a scale of {num(scale)} (smallest std {num(tiny)}): the squared-error "
        "gradients are that much larger (or smaller) than the network's weights expect, so one learning rate "
        f"cannot suit them.{_scaled_note(facts)}",
        {"target_scale": scale, "target_mean": Y.mean(axis=0).tolist()[:10], "target_std": std.tolist()[:10]},
        "standardise the targets (`--scale standard`, or (y - mean) / std in code) and invert the transform on "
        "the predictions",
    )]


def _r2_per_feature(X: np.ndarray, column: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    yc = column - column.mean()
    spread = (Xc**2).sum(axis=0)
    spread = np.where(spread > 1e-20 * len(X) * np.maximum(np.abs(X).max(axis=0) ** 2, 1.0), spread, 0.0)
    denominator = np.sqrt(spread * (yc**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denominator > 0, (Xc * yc[:, None]).sum(axis=0) / np.where(denominator > 0, denominator, 1), 0.0)
    return r**2


def _correlation_ratio(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """eta^2 per feature: the share of its variance explained by the class."""
    total = X.var(axis=0)
    total = np.where(total > 1e-20 * np.maximum(X.max(axis=0) ** 2, 1.0), total, 0.0)
    between = np.zeros(X.shape[1])
    for label in np.unique(labels):
        rows = labels == label
        between += rows.mean() * (X[rows].mean(axis=0) - X.mean(axis=0)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(total > 0, between / np.where(total > 0, total, 1), 0.0), 0.0, 1.0)


def check_leak(X: np.ndarray, Y: np.ndarray, facts: Facts) -> list[Finding]:
    if len(X) < LEAK_MIN_ROWS or X.shape[1] < 2:
        return []  # a single feature that predicts the target is the model itself, not a leak
    if facts.task == "classification":
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y.ravel()
        scores = _correlation_ratio(X, labels)
    else:  # linear and rank (monotone transforms of the target) correlation
        ranks = np.argsort(np.argsort(X, axis=0), axis=0).astype(np.float64)
        scores = np.max([np.maximum(_r2_per_feature(X, Y[:, j]), _r2_per_feature(ranks, np.argsort(np.argsort(Y[:, j])).astype(np.float64)))
                         for j in range(Y.shape[1])], axis=0)
    feature = int(np.argmax(scores))
    if scores[feature] < LEAK_R2:
        return []
    what = "the class" if facts.task == "classification" else "the target"
    return [Finding(
        "label_leak", "warning",
        f"feature {feature} alone explains {num(scores[feature] * 100, 4)}% of the variance of {what}: it is "
        "probably the target in disguise (a copy, an encoding or a value computed from the answer), and a "
        "model trained with it will fail on data where it is missing",
        {"feature": feature, "explained_variance": float(scores[feature]), "threshold": LEAK_R2},
        f"drop feature {feature} (`--drop NAME` on the command line) and check how it was recorded",
    )]


def check_loss_task(Y: np.ndarray, facts: Facts) -> list[Finding]:
    name = facts.loss_name
    values = np.unique(Y)
    integral = bool(np.all(values == np.round(values)))
    output = facts.config.get("output")
    if name in ("mse", "sse", "half_sse", "mae") and values.size == 2 and set(values.tolist()) <= {0.0, 1.0}:
        how = f" on a {output} output" if output else ""
        return [Finding(
            "loss_task_mismatch", "warning",
            f"the targets are 0/1 class labels but the loss is {name}{how}: squared or absolute errors on "
            "probabilities give weak gradients near 0 and 1 and do not estimate class probabilities",
            {"loss": name, "target_values": values.tolist(), "output": output or "unknown"},
            'use loss="bce" (sigmoid output) for 0/1 labels, or loss="cross_entropy" with output="softmax" for classes',
        )]
    if name in ("mse", "sse", "half_sse", "mae") and Y.shape[1] == 1 and integral and 3 <= values.size <= 20 \
            and values.min() in (0.0, 1.0) and np.array_equal(values, np.arange(values.min(), values.min() + values.size)):
        return [Finding(
            "loss_task_mismatch", "warning",
            f"the target takes the {values.size} consecutive integers {num(values.min())}..{num(values.max())}, "
            f"which look like class labels, but the loss is the regression loss {name}: it treats class 2 as "
            "'twice class 1' and rounds predictions between classes",
            {"loss": name, "distinct_values": int(values.size), "output": output or "unknown"},
            f'treat it as classification: Network.mlp([..., {values.size}], loss="cross_entropy") '
            "(`--task classification` on the command line)",
        )]
    if name == "bce" and (values.min() < 0 or values.max() > 1):
        return [Finding(
            "loss_task_mismatch", "error",
            f"binary cross-entropy needs targets in [0, 1], but they range from {num(values.min())} to {num(values.max())}",
            {"loss": name, "min": float(values.min()), "max": float(values.max())},
            'use loss="mse" for regression targets, or encode the classes as 0/1',
        )]
    return []


def data_findings(X: np.ndarray | None, facts: Facts) -> list[Finding]:
    findings: list[Finding] = []
    if X is not None and X.ndim == 2 and len(X) > 1:
        findings += check_inputs(np.asarray(X, dtype=np.float64), facts)
    Y = facts.Y
    if Y is None or len(Y) < 2:
        return findings
    targets = check_targets(Y, facts)
    findings += targets
    if any(f.code == "constant_target" for f in targets):
        return findings
    if X is not None and X.ndim == 2:
        findings += check_leak(np.asarray(X, dtype=np.float64), Y, facts)
    findings += check_loss_task(Y, facts)
    return findings
