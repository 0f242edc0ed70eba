r"""Why does training stall? ``diagnose`` names the cause, shows the evidence and suggests a remedy.

Every finding has a stable ``code``, a ``severity`` ("info", "warning" or "error"), a ``message``, the
``evidence`` (the numbers that triggered it) and a ``suggestion``. Thresholds (module constants):

=========================  =====================================================================
code                       fires when
=========================  =====================================================================
unscaled_inputs            feature peak magnitudes (max |x|) differ by more than ``SCALE_RATIO``
                           (100x), or a feature's |mean| exceeds both 1 and ``MEAN_TO_STD`` (5) stds
no_better_than_baseline    training loss >= ``BASELINE_FRACTION`` (0.8) of the best constant
                           predictor's loss (mean / median / class prior); error at >= 0.98
no_signal                  fresh copies trained on the real and on row-shuffled targets with the same
                           budget end less than ``SIGNAL_MARGIN`` (10%) of the baseline loss apart
                           (held-out loss when there are >= 50 rows, training loss otherwise)
vanishing_gradient         first-layer ||dL/dW|| below ``VANISHING_RATIO`` (1e-2) of the last layer's
exploding_gradient         a non-finite gradient, a layer's ||dL/dW|| above ``EXPLODING_NORM`` (1e3),
                           or first/last above ``EXPLODING_RATIO`` (1e2)
saturated_units            a hidden sigmoid/tanh layer with more than ``SATURATED_FRACTION`` (50%) of
                           its outputs in the flat tails (see ``monitor.SATURATION``)
dead_units                 a hidden ReLU layer with at least ``DEAD_FRACTION`` (25%) of its units zero
                           for every training row (given at least ``DEAD_MIN_ROWS`` = 20 rows)
lr_too_large               the run diverged (error); or the epoch loss rose overall, or oscillated
                           without progress (late in the run over 45% of epochs went up, the typical
                           jump exceeds 30% of the level, and the level is still above 5% of the start)
lr_too_small               stopped by a step/epoch/time limit with the loss less than halved, and a
                           probe on a copy shows f = 10x (or 100x) the learning rate gives over f/2
                           times the improvement, and over 5% of the loss, in the same number of steps
                           (at most ``LR_PROBE_STEPS``): progress is proportional to the step size
not_converged              stopped by max_steps/max_epochs while the last tenth of the run still
                           improved the loss by more than 1% (and the loss is above 0.1% of its start)
loose_stopping_rule        stopped by grad_norm_below or loss_below, and as many more steps again
                           (at most ``PROBE_STEPS``) lower the loss by more than half
gradient_mismatch          the network has a custom layer or loss and a finite-difference check (up
                           to 16 rows, 20 entries per array) fails
=========================  =====================================================================

A healthy run (scaled data, ReLU, Adam, converged) gets no warning or error.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import losses, registry
from ._validation import plain
from .gradcheck import gradcheck
from .layers import Dense
from .monitor import SATURATION, GradientFlow, layer_stats
from .network import Network
from .training import ConvergenceWarning, DivergenceWarning, History

__all__ = ["Finding", "Diagnosis", "diagnose", "GradientFlow", "baseline_loss"]

SCALE_RATIO = 100.0
MEAN_TO_STD = 5.0
BASELINE_FRACTION = 0.8
SIGNAL_MARGIN = 0.10
VANISHING_RATIO = 1e-2
EXPLODING_NORM = 1e3
EXPLODING_RATIO = 1e2
SATURATED_FRACTION = 0.5
DEAD_FRACTION = 0.25
DEAD_MIN_ROWS = 20
PROBE_STEPS = 5000
LR_PROBE_STEPS = 1000
CONTROL_STEPS = 500
MAX_ROWS = 2000


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    evidence: dict[str, Any]
    suggestion: str


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """No warning or error (info findings are allowed)."""
        return not any(f.severity in ("warning", "error") for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return plain({"healthy": self.healthy, "findings": [asdict(f) for f in self.findings], "context": self.context})

    def __str__(self) -> str:
        if not self.findings:
            return "diagnosis: healthy, no findings"
        head = "diagnosis: healthy (info only)" if self.healthy else f"diagnosis: {len(self.findings)} finding(s)"
        lines = [head]
        for f in self.findings:
            evidence = ", ".join(f"{k}={_short(v)}" for k, v in f.evidence.items())
            lines += [f"[{f.severity}] {f.code}: {f.message}", f"    evidence: {evidence}", f"    suggestion: {f.suggestion}"]
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value[:10]) + (", ..." if len(value) > 10 else "") + "]"
    return str(value)


# ---------------------------------------------------------------------- helpers
def baseline_loss(net: Network, y: np.ndarray) -> float:
    """The loss of the best constant prediction (``y`` already prepared for the loss)."""
    name = net.loss_fn.name
    if name == "mse":
        return float(np.mean((y - y.mean(axis=0)) ** 2))
    if name == "mae":
        return float(np.mean(np.abs(y - np.median(y, axis=0))))
    prior = np.clip(y.mean(axis=0), 1e-12, 1 - 1e-12)
    if name == "bce":
        return float(np.mean(-(y * np.log(prior) + (1 - y) * np.log(1 - prior))))
    return float(-np.mean(np.sum(y * np.log(prior), axis=1)))


def _data_loss(net: Network, X: np.ndarray, y: np.ndarray) -> float:
    """The loss without the L2 term, comparable with the baseline."""
    A = X
    for layer in net.body:
        A = layer.forward(A, False)
    return net.loss_fn.value(A, y)


def _quiet_fit(net: Network, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> History:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        return net.fit(X, y, progress=False, **kwargs)


def _fresh_copy(net: Network, seed: int) -> Network:
    """Same architecture, new weights drawn like Dense's default (Glorot/He by the next activation)."""
    clone = copy.deepcopy(net)
    rng = np.random.default_rng(seed)
    for layer in clone.layers:
        if isinstance(layer, Dense):
            from . import initializers

            W, b = initializers.get(layer.init)(layer.in_features, layer.out_features, rng)
            layer.W.value[...] = W
            layer.b.value[...] = b
    return clone


# ---------------------------------------------------------------------- checks
def _check_inputs(X: np.ndarray) -> list[Finding]:
    std = X.std(axis=0)
    mean = X.mean(axis=0)
    peak = np.abs(X).max(axis=0)
    varying = std > 0
    findings = []
    ratio = float(peak[varying].max() / peak[varying].min()) if varying.sum() >= 2 else 1.0
    offset = np.where(varying & (np.abs(mean) > 1), np.abs(mean) / np.where(varying, std, 1), 0.0)
    worst_offset = float(offset.max()) if offset.size else 0.0
    if ratio > SCALE_RATIO or worst_offset > MEAN_TO_STD:
        findings.append(Finding(
            "unscaled_inputs", "warning",
            f"input features are on very different scales (peak magnitudes differ {ratio:.3g}x) or far from zero "
            f"(|mean|/std up to {worst_offset:.3g}); gradient steps that suit one feature are wrong for another",
            {"peak_ratio": ratio, "max_abs_mean_over_std": worst_offset, "peak": peak.tolist()[:20], "mean": mean.tolist()[:20],
             "std": std.tolist()[:20]},
            "standardise each feature (subtract the mean, divide by the std), e.g. sklearn's StandardScaler in a Pipeline",
        ))
    if (~varying).any():
        findings.append(Finding(
            "unscaled_inputs", "info",
            f"{int((~varying).sum())} feature(s) are constant and carry no information",
            {"constant_features": np.flatnonzero(~varying).tolist()[:20]},
            "drop constant features",
        ))
    return findings


def _check_baseline(net: Network, X: np.ndarray, y: np.ndarray) -> tuple[list[Finding], dict[str, Any]]:
    loss = _data_loss(net, X, y)
    base = baseline_loss(net, y)
    context = {"train_loss": loss, "baseline_loss": base}
    if base <= 0 or loss < BASELINE_FRACTION * base:
        return [], context
    ratio = loss / base
    return [Finding(
        "no_better_than_baseline", "error" if ratio >= 0.98 else "warning",
        f"the training loss {loss:.4g} is {ratio:.0%} of what the best constant prediction gets ({base:.4g}); the "
        f"network has learned little or nothing beyond the {'mean' if net.loss_fn.name == 'mse' else 'median' if net.loss_fn.name == 'mae' else 'class prior'}",
        {"train_loss": loss, "baseline_loss": base, "ratio": ratio},
        "check that the targets depend on the inputs (see no_signal), then the learning rate, the scaling and the "
        "gradients (gradcheck)",
    )], context


def _check_signal(net: Network, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[Finding], dict[str, Any]]:
    rng = np.random.default_rng(seed)
    n = len(X)
    shuffled = y[rng.permutation(n)]
    holdout = n >= 50
    if holdout:
        order = rng.permutation(n)
        cut = int(n * 0.75)
        train_idx, val_idx = order[:cut], order[cut:]
    else:
        train_idx = val_idx = np.arange(n)
    budget = {"optimizer": "adam", "lr": 0.01, "batch_size": None if n <= 512 else 64, "max_steps": CONTROL_STEPS, "seed": seed}
    losses = {}
    for label, target in (("real", y), ("shuffled", shuffled)):
        control = _fresh_copy(net, seed)
        _quiet_fit(control, X[train_idx], target[train_idx], **budget)
        losses[label] = _data_loss(control, X[val_idx], target[val_idx])
    real, fake = losses["real"], losses["shuffled"]
    scale = baseline_loss(net, y[val_idx])
    context = {"control_real_loss": real, "control_shuffled_loss": fake, "control_baseline_loss": scale,
               "control_on": "held-out 25%" if holdout else "training rows"}
    if not (math.isfinite(real) and math.isfinite(fake)) or scale <= 0:
        return [], context
    if fake - real < SIGNAL_MARGIN * scale:
        where = "on held-out rows" if holdout else "on the training rows"
        few = (
            f" With only {n} rows a network can fit any targets, so the data cannot show a signal."
            if not holdout and n < 20 else ""
        )
        return [Finding(
            "no_signal", "error",
            f"a copy trained on randomly shuffled targets does as well {where} ({fake:.4g}) as one trained on the real "
            f"targets ({real:.4g}; the constant baseline is {scale:.4g}): nothing in the inputs predicts the targets, "
            f"so there is nothing to learn.{few}",
            {"real_target_loss": real, "shuffled_target_loss": fake, "baseline_loss": scale, "rows": n,
             "compared_on": context["control_on"], "steps": CONTROL_STEPS},
            "check the data: are the targets aligned with the inputs, and are they more than noise? More training "
            "or a bigger network will only memorise",
        )], context
    return [], context


def _check_gradients(net: Network, X: np.ndarray, y: np.ndarray) -> tuple[list[Finding], dict[str, Any]]:
    net.forward_backward(X, y)
    stats = layer_stats(net)
    norms = [s["grad_norm"] for s in stats]
    context: dict[str, Any] = {"grad_norms": norms}
    findings = []
    if len(norms) >= 2 and norms[-1] > 0 and math.isfinite(norms[0]):
        ratio = norms[0] / norms[-1]
        context["first_over_last"] = ratio
        if ratio < VANISHING_RATIO:
            findings.append(Finding(
                "vanishing_gradient", "warning",
                f"the first layer's gradient is {ratio:.2g} of the last layer's: early layers barely learn",
                {"grad_norm_per_layer": norms, "first_over_last": ratio},
                "use ReLU-family hidden activations (sigmoid' <= 1/4 shrinks gradients layer by layer), He/Glorot "
                "initialisation, fewer layers, or Adam",
            ))
    if any(not math.isfinite(v) for v in norms) or max(norms, default=0) > EXPLODING_NORM or (
        context.get("first_over_last", 1.0) > EXPLODING_RATIO
    ):
        findings.append(Finding(
            "exploding_gradient", "error",
            f"gradient norms are very large (largest {max(norms):.3g}) or grow towards the input",
            {"grad_norm_per_layer": norms, "first_over_last": context.get("first_over_last")},
            "lower the learning rate, scale the inputs, and use a smaller initialisation",
        ))
    # unit health on the full forward pass just done (hidden layers only)
    hidden = stats[:-1]
    saturated = [(s["layer"], s["saturated"]) for s in hidden if s.get("saturated", 0) > SATURATED_FRACTION]
    if saturated:
        findings.append(Finding(
            "saturated_units", "warning",
            "hidden " + ", ".join(f"layer {layer}: {frac:.0%}" for layer, frac in saturated) +
            " of the sigmoid/tanh outputs sit in the flat tails where the derivative is almost zero",
            {"saturated_fraction": dict(saturated), "tails": SATURATION},
            "scale the inputs, use a smaller initialisation (Glorot) or ReLU-family activations",
        ))
    # with a handful of rows, "zero for every row" is common by chance
    dead = [(s["layer"], s["dead"]) for s in hidden if s.get("dead", 0) >= DEAD_FRACTION] if len(X) >= DEAD_MIN_ROWS else []
    if dead:
        findings.append(Finding(
            "dead_units", "warning",
            "hidden " + ", ".join(f"layer {layer}: {frac:.0%}" for layer, frac in dead) +
            " of the ReLU units output zero for every training row and get no gradient",
            {"dead_fraction": dict(dead)},
            "lower the learning rate, use LeakyReLU, or He initialisation with zero biases",
        ))
    return findings, context


def _has_custom_parts(net: Network) -> bool:
    return not all(registry.is_builtin(layer) for layer in net.layers) or type(net.loss_fn) not in set(losses.LOSSES.values())


def _check_gradcheck(net: Network, X: np.ndarray, y: np.ndarray) -> list[Finding]:
    # built-in layers and losses are verified by the test suite; far from a well-conditioned point
    # (e.g. after a blow-up) finite differences themselves get unreliable, so only custom parts are checked
    if net.dtype != np.float64 or not _has_custom_parts(net):
        return []
    result = gradcheck(net, X[:16], y[:16], max_entries=20)
    if result.passed:
        return []
    worst = max(result.params, key=lambda p: p.max_rel_error)
    return [Finding(
        "gradient_mismatch", "error",
        f"the backward pass disagrees with finite differences: {worst.name} has relative error {worst.max_rel_error:.2g}",
        {"max_rel_error": result.max_rel_error, "worst_array": worst.name, "worst_index": list(worst.worst_index),
         "analytic": worst.analytic, "numeric": worst.numeric},
        "fix the backward of the custom layer or loss; bp.check_gradient tests a function on its own",
    )]


def _check_history(net: Network, X: np.ndarray, y: np.ndarray, history: History, seed: int) -> list[Finding]:
    findings = []
    losses = [v for v in history.loss if math.isfinite(v)]
    reason = history.stop_reason
    if reason == "diverged":
        findings.append(Finding(
            "lr_too_large", "error", history.message or "the loss became non-finite",
            {"stop_reason": reason, "steps": history.n_steps, "lr": history.config.get("optimizer", {}).get("lr")},
            "lower the learning rate (try 10x smaller) and scale the inputs",
        ))
    if len(losses) >= 4:
        late = np.array(losses[len(losses) // 2 :])
        late_ups = float(np.mean(np.diff(late) > 0)) if len(late) > 1 else 0.0
        spread = float(np.median(np.abs(np.diff(late))) / max(late.mean(), 1e-300)) if len(late) > 1 else 0.0
        stuck = late.mean() > 0.05 * losses[0]
        if reason != "diverged" and (losses[-1] > losses[0] * 1.05 or (late_ups > 0.45 and spread > 0.3 and stuck)):
            findings.append(Finding(
                "lr_too_large", "warning",
                f"the loss {'rose from ' + format(losses[0], '.4g') + ' to ' + format(losses[-1], '.4g') if losses[-1] > losses[0] * 1.05 else 'oscillates'}"
                f" ({late_ups:.0%} of late epochs went up, typical jump {spread:.0%} of the level)",
                {"first_loss": losses[0], "last_loss": losses[-1], "late_up_fraction": late_ups, "typical_jump": spread},
                "lower the learning rate or use a schedule (ReduceOnPlateau)",
            ))
        overall = losses[-1] / losses[0] if losses[0] > 0 else 1.0
        if overall > 0.5 and reason in ("max_steps", "max_epochs", "time_limit"):
            findings += _probe_learning_rate(net, X, y, history, seed)
        tail = max(len(losses) // 10, 2)
        recent = losses[-tail - 1] - losses[-1]
        if reason in ("max_steps", "max_epochs") and recent > 0.01 * abs(losses[-tail - 1]) and losses[-1] > 1e-3 * losses[0]:
            findings.append(Finding(
                "not_converged", "warning",
                f"the run hit {reason} while the loss was still falling ({losses[-tail - 1]:.4g} -> {losses[-1]:.4g} "
                f"over the last {tail} epochs)",
                {"stop_reason": reason, "loss_before": losses[-tail - 1], "loss_last": losses[-1], "epochs_compared": tail},
                "train longer, or raise the learning rate",
            ))
    if reason in ("grad_norm_below", "loss_below"):
        findings += _probe_stopping_rule(net, X, y, history, seed)
    return findings


def _continue(net: Network, X: np.ndarray, y: np.ndarray, history: History, steps: int, seed: int, lr_factor: float = 1.0) -> float:
    """Train a copy for ``steps`` more steps with the run's optimizer settings; return its data loss."""
    from . import optimizers

    probe = copy.deepcopy(net)
    config = dict(history.config.get("optimizer", {}))
    name = config.pop("name", "sgd")
    config["lr"] = config.get("lr", 0.01) * lr_factor
    optimizer = optimizers.OPTIMIZERS[name](**config)
    _quiet_fit(probe, X, y, optimizer=optimizer, batch_size=history.config.get("batch_size"), max_steps=steps,
               seed=seed, sampling=history.config.get("sampling", "epoch"))
    return _data_loss(probe, X, y)


def _probe_learning_rate(net: Network, X: np.ndarray, y: np.ndarray, history: History, seed: int) -> list[Finding]:
    if "name" not in history.config.get("optimizer", {}):
        return []
    steps = int(min(max(history.n_steps, 50), LR_PROBE_STEPS))
    start = _data_loss(net, X, y)
    same = _continue(net, X, y, history, steps, seed)
    drop_same = start - same
    for factor in (10.0, 100.0):  # a far-too-small lr may need 100x before the probe moves the loss
        faster = _continue(net, X, y, history, steps, seed, lr_factor=factor)
        drop_faster = start - faster
        if math.isfinite(faster) and drop_faster > 0.05 * start and drop_faster > factor / 2 * max(drop_same, 0.0):
            break
    else:
        return []
    lr = history.config["optimizer"].get("lr")
    return [Finding(
        "lr_too_small", "warning",
        f"the loss is still falling slowly; {steps} more steps lower it from {start:.4g} to {same:.4g} at lr={lr:g} "
        f"but to {faster:.4g} at {factor:g}x that: the step size, not the model, limits progress",
        {"lr": lr, "probe_steps": steps, "loss_now": start, "loss_same_lr": same, "lr_factor": factor, "loss_faster_lr": faster,
         "first_epoch_loss": history.loss[0] if history.loss else None, "last_epoch_loss": history.loss[-1] if history.loss else None},
        "raise the learning rate (try 10x) or use Adam",
    )]


def _probe_stopping_rule(net: Network, X: np.ndarray, y: np.ndarray, history: History, seed: int) -> list[Finding]:
    if "name" not in history.config.get("optimizer", {}):
        return []
    steps = int(min(max(history.n_steps, 100), PROBE_STEPS))
    before = _data_loss(net, X, y)
    after = _continue(net, X, y, history, steps, seed)
    if not (math.isfinite(after) and after < 0.5 * before):
        return []
    rule = history.config.get("stop", {})
    target = rule.get("grad_norm_below") if history.stop_reason == "grad_norm_below" else rule.get("loss_below")
    return [Finding(
        "loose_stopping_rule", "warning",
        f"training stopped by {history.stop_reason}={target}, but {steps} more steps of the same optimiser take the "
        f"loss from {before:.4g} to {after:.4g}: the threshold ended the run while the model could still do much better",
        {"stop_reason": history.stop_reason, "threshold": target, "loss_at_stop": before, "loss_after_more_steps": after, "extra_steps": steps},
        "a small gradient or a loss threshold is not a measure of fit: stop on a validation loss "
        "(early_stopping) or on a plateau, and compare with the baseline",
    )]


def diagnose(
    net: Network,
    X: Any,
    y: Any,
    history: History | None = None,
    *,
    seed: int = 0,
    signal_test: bool = True,
) -> Diagnosis:
    """Diagnose a network on its training data (and, if given, the History of its run).

    Parameters
    ----------
    net : Network
    X, y : the training data
    history : History, optional
        Enables the learning-rate, convergence and stopping-rule findings.
    seed : int
        Seeds the short control runs.
    signal_test : bool
        Run the shuffled-target control (two short trainings of fresh copies).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # blown-up weights give inf norms, reported as such
        return _diagnose(net, *net.check_Xy(X, y), history, seed, signal_test)


def _diagnose(net: Network, X: np.ndarray, y: np.ndarray, history: History | None, seed: int, signal_test: bool) -> Diagnosis:
    if len(X) > MAX_ROWS:
        index = np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False)
        X, y = X[index], y[index]
    findings: list[Finding] = []
    context: dict[str, Any] = {"rows": len(X), "features": X.shape[1]}
    findings += _check_inputs(X)
    baseline, ctx = _check_baseline(net, X, y)
    findings += baseline
    context.update(ctx)
    if signal_test:
        signal, ctx = _check_signal(net, X, y, seed)
        findings += signal
        context.update(ctx)
    gradient_findings, ctx = _check_gradients(net, X, y)
    findings += gradient_findings
    context.update(ctx)
    findings += _check_gradcheck(net, X, y)
    if history is not None:
        findings += _check_history(net, X, y, history, seed)
        context["stop_reason"] = history.stop_reason
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return Diagnosis(findings, plain(context))
