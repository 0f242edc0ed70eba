r"""Controls: what a correct network of comparable size reaches on the run's own data.

A fresh backproplab network (ReLU hidden layers of the run's widths, capped at 64 units and 3 layers;
He initialisation; Adam, lr 0.01; ``CONTROL_STEPS`` steps, scored at its best held-out point) is trained on the recorded ``X, y``, once on
the real targets and once on row-shuffled targets. It always trains on standardised inputs, and on
standardised targets for regression (losses are reported back in the original units), so that
unscaled data cannot pass for "no signal". No signal: the real targets end less than ``SIGNAL_MARGIN``
of the baseline below the shuffled ones, or the real targets' loss is not ``SIGNAL_MARGIN`` below the
constant baseline's. Below ``CONTROL_CV_ROWS`` rows the losses are 4-fold
cross-validated; above, measured on a held-out 25%. Below ``CONTROL_MIN_ROWS`` rows there is no
control: a network of any size fits a handful of points whatever their targets are.

The three losses (real, shuffled, constant baseline) tell "there is nothing to learn" (real no better
than shuffled) from "the run failed to learn it" (real far below the run's own loss).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._format import num
from .facts import Facts, baseline_of, loss_value
from .findings import (
    CONTROL_CHECKS,
    CONTROL_CLIP,
    CONTROL_CV_ROWS,
    CONTROL_MIN_ROWS,
    CONTROL_ROWS,
    CONTROL_STEPS,
    SIGNAL_MARGIN,
    Finding,
)


def _standardise(A: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Standardised with the reference rows' statistics, clipped to +-``CONTROL_CLIP``: a feature that is
    almost constant in the training fold (a rare pixel) must not blow up on a held-out row."""
    std = reference.std(axis=0)
    scaled = (A - reference.mean(axis=0)) / np.where(std > 1e-12 * np.maximum(np.abs(reference).max(axis=0), 1.0), std, 1.0)
    return np.clip(scaled, -CONTROL_CLIP, CONTROL_CLIP)


def _widths(facts: Facts) -> list[int]:
    shapes = facts.record.shapes
    widths = [int(shapes[n][1]) for n in facts.weight_names[:-1] if n in shapes and len(shapes[n]) == 2]
    return [min(w, 64) for w in widths[:3]] or [32]


def _checkpoints() -> list[int]:
    """Steps at which a control is scored: doubling from 4 (a network can memorise noise within a few
    dozen full-batch Adam steps, so the early points matter most), then ``CONTROL_STEPS``."""
    points = [4 * 2**k for k in range(CONTROL_CHECKS) if 4 * 2**k < CONTROL_STEPS]
    return points + [CONTROL_STEPS]


def _train_one(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], facts: Facts,
               widths: list[int], seed: int) -> tuple[float, float]:
    """Fit a control network; return its best held-out loss along the way (checked at
    :func:`_checkpoints`, in the original target units) and its training loss then.

    The best point, not the last, because a network that memorises its training rows gets a held-out
    loss above the baseline whatever the targets are, which would hide the difference."""
    from ..history import ConvergenceWarning, DivergenceWarning
    from ..network import Network
    from ..optimizers import Adam

    (X, Y), (X_test, Y_test) = train, test
    name = facts.loss_name or "mse"
    classify = name in ("bce", "cross_entropy")
    if classify:
        loss, target, mean, std = name, Y, np.zeros(Y.shape[1]), np.ones(Y.shape[1])
    else:
        loss = "mae" if name == "mae" else "mse"
        mean, std = Y.mean(axis=0), np.where(Y.std(axis=0) > 0, Y.std(axis=0), 1.0)
        target = (Y - mean) / std
    net = Network.mlp([X.shape[1], *widths, Y.shape[1]], hidden="relu", loss=loss, seed=seed)
    optimizer = Adam(lr=0.01)
    best = (np.inf, np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        done = 0
        for chunk, until in enumerate(_checkpoints()):
            net.fit(X, target, optimizer=optimizer, batch_size=None if len(X) <= 512 else 64,
                    max_steps=until - done, seed=seed + chunk, progress=False)
            done = until
            held_out = loss_value(name, net.predict(X_test) * std + mean, Y_test)
            if held_out < best[0]:
                best = (held_out, loss_value(name, net.predict(X) * std + mean, Y))
    return best


def _folds(n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    order = rng.permutation(n)
    if n >= CONTROL_CV_ROWS:
        cut = int(n * 0.75)
        return [(order[:cut], order[cut:])]
    parts = np.array_split(order, 4)
    return [(np.concatenate(parts[:i] + parts[i + 1:]), parts[i]) for i in range(4)]


def run_controls(facts: Facts, seed: int) -> dict[str, Any] | None:
    """Train the controls; None when there is no X, y, a known loss, or enough rows."""
    record, Y, name = facts.record, facts.Y, facts.loss_name
    if record.X is None or Y is None or facts.baseline is None or name is None or len(Y) < CONTROL_MIN_ROWS:
        return None
    if np.all(Y.std(axis=0) == 0):
        return None
    rng = np.random.default_rng(seed)
    X = np.asarray(record.X, dtype=np.float64)
    if len(X) > CONTROL_ROWS:
        rows = rng.choice(len(X), CONTROL_ROWS, replace=False)
        X, Y = X[rows], Y[rows]
    shuffled = Y[rng.permutation(len(Y))]
    widths = _widths(facts)
    sums = {"real": 0.0, "shuffled": 0.0, "baseline": 0.0, "real_train": 0.0}
    folds = _folds(len(X), rng)
    with np.errstate(all="ignore"):
        for train, test in folds:
            Xs = _standardise(X, X[train])
            for label, target in (("real", Y), ("shuffled", shuffled)):
                held_out, on_train = _train_one((Xs[train], target[train]), (Xs[test], target[test]), facts, widths, seed)
                sums[label] += held_out
                if label == "real":
                    sums["real_train"] += on_train
            constant = np.median(Y[train], axis=0) if name == "mae" else Y[train].mean(axis=0)
            sums["baseline"] += loss_value(name, np.broadcast_to(constant, Y[test].shape), Y[test])
    result: dict[str, Any] = {k: v / len(folds) for k, v in sums.items()}
    result["baseline_all_rows"] = baseline_of(name, Y)
    result["compared_on"] = "4-fold cross-validated" if len(folds) > 1 else "held-out 25% of the rows"
    result["network"] = f"{[X.shape[1], *widths, Y.shape[1]]} ReLU, He init, Adam lr=0.01, {CONTROL_STEPS} steps"
    result["standardised"] = "inputs and targets" if name not in ("bce", "cross_entropy") else "inputs"
    return result


def signal_findings(facts: Facts, control: dict[str, Any] | None) -> list[Finding]:
    if control is None:
        return []
    real, fake, scale = control["real"], control["shuffled"], control["baseline"]
    if not (np.isfinite(real) and np.isfinite(fake)) or scale <= 0:
        return []
    if fake - real >= SIGNAL_MARGIN * scale and real < (1 - SIGNAL_MARGIN) * scale:
        return []  # real targets beat shuffled ones, and beat the constant
    return [Finding(
        "no_signal", "error",
        f"a correct network of comparable size ({control['network']}, on {control['standardised']} standardised) does "
        f"no better on the real targets ({num(real)}) than on row-shuffled ones ({num(fake)}; the constant baseline is "
        f"{num(scale)}, {control['compared_on']}): nothing in the inputs predicts the targets. A signal too weak for "
        f"{len(facts.Y) if facts.Y is not None else 0} rows, or one only a much larger network can use, would look the same.",
        {"real_target_loss": real, "shuffled_target_loss": fake, "baseline_loss": scale,
         "rows": int(len(facts.Y)) if facts.Y is not None else 0, "compared_on": control["compared_on"],
         "control_network": control["network"]},
        "check the data: are the targets aligned with the inputs (same row order), and are they more than noise? "
        "More training or a bigger network will only memorise",
    )]
