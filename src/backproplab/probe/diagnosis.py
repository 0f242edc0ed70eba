r"""The cause: a :class:`~backproplab.runrecord.RunRecord` from what a Probe recorded, fed to the same
rules as ``bp.diagnose`` (``diagnostics.diagnose_record``), plus what only the probe can add:

- the gradient check, when one was run, as the first finding (a wrong gradient explains the rest);
- a **comparable network**: a backproplab MLP with the widths read from the recorded shapes, trained
  on the recorded X and y (``CONTROL_STEPS`` full-batch Adam steps at lr 0.01), once on the real targets
  and once on row-shuffled ones; all three losses (the user's, the control's, the shuffled control's)
  in the user's own units when the loss is recognised;
- a critique of the **stopping rule**, when the user's stop quantity (recognised as the first crossing
  of a power of ten: the sum of squared gradients or the gradient norm) fell by more than
  ``CRITERION_DROP`` (10x) after the loss had levelled off (within ``LOSS_FLAT``, 10%, of its final
  value);
- the **gradient flow**: per-layer gradient norms at the first and the last record, when each layer
  back is more than ``FLOW_RATIO`` (3x) smaller than the next.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from .. import _format
from ..runrecord import RunRecord
from . import _evidence

__all__ = ["build_record", "diagnose_probe", "comparable_network", "stop_rule_finding", "gradient_flow_finding",
           "CONTROL_STEPS"]

CONTROL_STEPS = 2000
CONTROL_ROWS = 2000
CRITERION_DROP = 10.0
LOSS_FLAT = 0.10
FLOW_RATIO = 3.0


def build_record(probe: Any) -> RunRecord:
    """Everything the probe recorded, as the evidence the diagnosis rules read."""
    if probe.layout is None:
        raise ValueError("the probe has recorded nothing yet; call probe.record(step, weights=..., grads=...) in your loop")
    stats = probe.statistics()
    P, output = _evidence.predictions(probe)
    last_loss = float(stats["loss"][-1]) if len(stats["loss"]) else float("nan")
    name = _evidence.loss_name(last_loss, P, probe.y)
    rule = _evidence.stop_rule(stats)
    config: dict[str, Any] = {
        "recorded_every": probe.every, "records": probe.n_records, "calls": probe.n_calls,
        "names": list(probe.layout.names), "activation_stats_at_start": _evidence.activation_stats(probe, probe.first_activations, output),
        "stop_rule": None if rule is None else {"quantity": rule["quantity"], "threshold": rule["threshold"]},
        "grad_norms_at_start": {n: float(v[0]) for n, v in stats["grad_norms"].items()},
    }
    if probe.gradient_check is not None and probe.gradient_check.update:
        config["lr"] = float(np.nanmedian(list(probe.gradient_check.update["lr"].values())))
    config["n_steps"] = probe.n_calls
    if rule is not None:
        config["stop_reason"] = "loss_below" if rule["quantity"] == "loss" else "grad_norm_below"
        config["stop"] = {"quantity": rule["quantity"], "threshold": rule["threshold"]}
    snapshots = probe.snapshots()
    optional: dict[str, Any] = {  # fields of newer RunRecords (issue 18), passed only when this build has them
        "weights": dict(zip(probe.layout.names, (a.copy() for a in probe.layout.split(snapshots[-1].weights)))) if snapshots else {},
        "update_ratio_steps": 1,
    }
    known = {f.name for f in dataclasses.fields(RunRecord)}
    return RunRecord(
        steps=stats["steps"], loss=stats["loss"], grad_norms=stats["grad_norms"], update_ratios=stats["update_ratios"],
        weight_norms=stats["weight_norms"], shapes=dict(zip(probe.layout.names, probe.layout.shapes)),
        activation_stats=_evidence.activation_stats(probe, probe.activations, output),
        stop_criterion=None if rule is None else rule["values"], X=probe.X, y=probe.y, predictions=P, loss_name=name,
        task=_evidence.task(probe.y), gradient_check=probe.gradient_check, config=config, source="probe",
        **{k: v for k, v in optional.items() if k in known},
    )


def _finding(**fields: Any) -> Any:
    from ..diagnostics import Finding

    known = {f.name for f in dataclasses.fields(Finding)}
    return Finding(**{k: v for k, v in fields.items() if k in known})


def _units(record: RunRecord) -> str:
    return {"sse": "sum of squared errors", "half_sse": "half the sum of squared errors", "mse": "mean squared error",
            "half_mse": "half the mean squared error", "mae": "mean absolute error", "sae": "sum of absolute errors",
            "rmse": "root mean squared error"}.get(record.loss_name or "", "mean squared error")


def _train_control(sizes: list[int], X: np.ndarray, y: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """Predictions of a fresh backproplab MLP trained on (X, y); ``kind`` picks the output and the loss."""
    from ..network import Network
    from ..training import ConvergenceWarning

    mean, std = X.mean(axis=0), X.std(axis=0)
    Xs = (X - mean) / np.where(std > 0, std, 1.0)
    if kind == "regression":
        net = Network.mlp(sizes, hidden="tanh", loss="mse", seed=seed)
    elif sizes[-1] == 1:
        net = Network.mlp(sizes, hidden="tanh", output="sigmoid", loss="bce", seed=seed)
    else:
        net = Network.mlp(sizes, hidden="tanh", loss="cross_entropy", seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(Xs, y, optimizer="adam", lr=0.01, batch_size=None if len(X) <= 512 else 64, max_steps=CONTROL_STEPS,
                seed=seed, progress=False)
    return net.predict(Xs)


def _score(P: np.ndarray, y: np.ndarray, record: RunRecord) -> float:
    if record.task == "classification":
        labels = y.reshape(-1) if y.ndim == 1 or y.shape[1] == 1 else y.argmax(axis=1)
        guess = (P.reshape(-1) > 0.5).astype(int) if P.ndim == 1 or P.shape[1] == 1 else P.argmax(axis=1)
        return float(np.mean(guess != labels))
    if record.loss_name is not None and P.shape == y.shape:
        return _evidence.loss_value(record.loss_name, P, y)
    return float(np.mean((P - y) ** 2))


def comparable_network(probe: Any, record: RunRecord, seed: int = 0) -> dict[str, Any] | None:
    """Train a comparable backproplab network on the recorded data, on real and on shuffled targets."""
    if record.X is None or record.y is None or len(record.X) < 2:
        return None
    X, y = record.X, record.y
    if len(X) > CONTROL_ROWS:
        keep = np.random.default_rng(seed).choice(len(X), CONTROL_ROWS, replace=False)
        X, y = X[keep], y[keep]
    sizes, how = _evidence.layer_sizes(probe)
    kind = record.task or "regression"
    target = y.astype(int).reshape(-1) if kind == "classification" and sizes[-1] > 1 and (y.ndim == 1 or y.shape[1] == 1) else y
    shuffled = target[np.random.default_rng(seed).permutation(len(target))]
    real = _score(_train_control(sizes, X, target, kind, seed), y, record)
    fake = _score(_train_control(sizes, X, shuffled, kind, seed), y[np.random.default_rng(seed).permutation(len(y))], record)
    yours = _score(record.predictions, record.y, record) if record.predictions is not None else None
    if kind == "classification":
        labels = target.reshape(-1) if target.ndim == 1 or target.shape[1] == 1 else target.argmax(axis=1)
        baseline = float(1 - np.max(np.unique(labels, return_counts=True)[1]) / len(labels))
        units = "error rate"
    else:
        baseline = _score(np.broadcast_to(np.median(y, axis=0) if record.loss_name in ("mae", "sae") else y.mean(axis=0), y.shape), y, record)
        units = _units(record)
    result = {"sizes": sizes, "how": how, "units": units, "yours": yours, "control": real, "shuffled": fake,
              "baseline": baseline, "steps": CONTROL_STEPS, "rows": int(len(X))}
    if kind == "regression" and record.predictions is not None:
        result["mae"] = float(np.mean(np.abs(record.predictions - record.y)))
        result["baseline_mae"] = float(np.mean(np.abs(record.y - np.median(record.y, axis=0))))
    return result


def _control_finding(control: dict[str, Any]) -> Any:
    f = _format.num
    arch = "-".join(map(str, control["sizes"]))
    yours = control["yours"]
    mine = (f"yours is at {f(yours)}" if yours is not None else
            "yours cannot be compared (record activations=[..., output] on the full X to compare)")
    message = (f"a correct {arch} network ({control['how']}; tanh, Adam, {control['steps']} full-batch steps) reaches "
               f"{f(control['control'])} here in {control['units']}; {mine}; the same network on "
               f"shuffled targets reaches {f(control['shuffled'])}; the best constant gets {f(control['baseline'])}")
    if "mae" in control:
        message += f" (MAE: yours {f(control['mae'])}, constant {f(control['baseline_mae'])})"
    if control["shuffled"] - control["control"] < 0.1 * control["baseline"]:
        message += (f". It fits shuffled targets as well as the real ones: with {control['rows']} rows a network this "
                    "size memorises noise, so this fit says nothing about a signal")
    worse = yours is not None and yours > 2 * control["control"] and yours - control["control"] > 0.05 * control["baseline"]
    return _finding(
        code="comparable_network", severity="warning" if worse else "info", message=message,
        evidence={k: v for k, v in control.items() if k != "sizes"} | {"architecture": arch},
        suggestion=("your loop ends far above what the same architecture reaches: check the gradient "
                    "(probe.check_gradient(loss_fn)) and the learning rate") if worse else
        "if the shuffled-target run fits as well as the real one, the data cannot show a signal at this size",
    )


def stop_rule_finding(record: RunRecord) -> Any | None:
    """Criticise a recognised stop rule whose quantity kept falling after the loss had levelled off.

    The loss has levelled off at the first record within ``LOSS_FLAT`` (10%) of its final value; the
    finding fires when the stop quantity fell more than ``CRITERION_DROP`` (10x) from there to the end.
    """
    rule = record.config.get("stop_rule")
    if rule is None or rule["quantity"] == "loss" or record.stop_criterion is None or len(record.loss) < 8:
        return None
    criterion, loss = record.stop_criterion, record.loss
    if not (np.isfinite(loss).all() and np.isfinite(criterion).all()):
        return None
    flat = np.abs(loss - loss[-1]) <= LOSS_FLAT * abs(loss[-1])
    start = int(np.argmax(flat)) if flat.any() else len(loss) - 1
    drop = float(criterion[start] / criterion[-1]) if criterion[-1] > 0 else float("inf")
    if drop <= CRITERION_DROP or start >= len(loss) - 2:
        return None
    change = float(abs(loss[start] - loss[-1]) / max(abs(loss[start]), 1e-300))
    f = _format.num
    step = int(record.steps[start])
    return _finding(
        code="loose_stopping_rule", severity="warning",
        message=(f"your loop stops when the {rule['quantity']} falls below {f(rule['threshold'])}; after step {step} the "
                 f"loss changed by only {_format.percent(change)} ({f(float(loss[start]))} to {f(float(loss[-1]))}) while "
                 f"the {rule['quantity']} fell {_format.ratio(drop)} (from {f(float(criterion[start]))} to "
                 f"{f(float(criterion[-1]))}): a small gradient does not mean a good fit, so the rule measures the wrong thing"),
        evidence={"quantity": rule["quantity"], "threshold": rule["threshold"], "levelled_off_at_step": step,
                  "criterion_drop": drop, "loss_change": change, "loss_then": float(loss[start]), "loss_last": float(loss[-1])},
        suggestion="stop on the loss itself (a plateau over a window, or a validation loss), and compare it with the "
                   "constant baseline",
    )


def gradient_flow_finding(record: RunRecord) -> Any | None:
    """Per-layer gradient norms, input side first, at the first and the last record, when each layer
    back is more than ``FLOW_RATIO`` (3x) smaller than the next (weight matrices and bias vectors apart)."""
    lines, evidence = [], {}
    for label, ndim in (("weight matrices", 2), ("biases (one delta per unit)", 1)):
        names = [n for n, shape in record.shapes.items() if len(shape) == ndim]
        if len(names) < 2:
            continue
        for when, index in (("at the first record", 0), ("now", -1)):
            norms = [float(record.grad_norms[n][index]) for n in names]
            if not all(np.isfinite(norms)) or min(norms) <= 0:
                continue
            ratios = [norms[k + 1] / norms[k] for k in range(len(norms) - 1)]
            if min(ratios) > FLOW_RATIO:
                shown = ", ".join(f"{n} {_format.num(v)}" for n, v in zip(names, norms))
                steps = ", ".join(_format.ratio(r) for r in ratios)
                lines.append(f"{label} {when}: {shown} (each layer back {steps} smaller)")
                evidence[f"{'weights' if ndim == 2 else 'biases'}_{'first' if index == 0 else 'last'}"] = dict(zip(names, norms))
    if not lines:
        return None
    return _finding(
        code="gradient_flow", severity="info",
        message="gradients shrink layer by layer towards the input: " + "; ".join(lines),
        evidence=evidence,
        suggestion="sigmoid' <= 1/4 shrinks every layer's delta; ReLU-family hidden units or a careful initialisation keep them",
    )


def _gradient_finding(check: Any) -> Any | None:
    if check is None or check.passed:
        return None
    if check.passed_up_to_scale:
        return _finding(code="gradient_scale", severity="info", message=check.headline,
                        evidence={"common_scale": check.common_scale, "step": check.step},
                        suggestion="none needed for correctness; the factor only rescales the learning rate")
    wrong = [a for a in check.failing if not a.direction_ok]
    worst = (wrong or check.failing)[-1]  # nearest the output: where the error enters
    return _finding(
        code="gradient_mismatch", severity="error", message=check.headline + ". " + worst.message,
        evidence={"step": check.step, "array": worst.name, "verdict": worst.verdict, "cosine": worst.cosine,
                  "rel_error": worst.rel_error, "scale": worst.scale, "failing": [a.name for a in check.failing]},
        suggestion=f"fix the gradient of {worst.name} first: everything downstream of a wrong gradient is a symptom",
    )


def _add_mae(diagnosis: Any, record: RunRecord) -> None:
    """Say the baseline comparison in mean absolute error too (the question's own metric)."""
    if record.task != "regression" or record.predictions is None or record.y is None:
        return
    mae = float(np.mean(np.abs(record.predictions - record.y)))
    baseline = float(np.mean(np.abs(record.y - np.median(record.y, axis=0))))
    diagnosis.context.update({"mae": mae, "baseline_mae": baseline})
    for finding in diagnosis.findings:
        if finding.code in ("no_better_than_baseline", "no_signal"):
            finding.message += (f" In mean absolute error: yours {_format.num(mae)}, the best constant (the median) "
                                f"{_format.num(baseline)}.")
            finding.evidence.update({"mae": mae, "baseline_mae": baseline})
            return


def diagnose_probe(probe: Any, *, seed: int = 0, controls: bool = True) -> Any:
    """``diagnostics.diagnose_record`` on the probe's RunRecord, with the probe's own findings added."""
    try:
        from ..diagnostics import diagnose_record  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        raise RuntimeError("Probe.diagnose needs backproplab.diagnostics.diagnose_record, which this build lacks") from None
    record = build_record(probe)
    diagnosis = diagnose_record(record, seed=seed, controls=controls)
    codes = set(diagnosis.codes)
    first = _gradient_finding(probe.gradient_check)
    if first is not None:
        diagnosis.findings = [f for f in diagnosis.findings if f.code != first.code]
        diagnosis.findings.insert(0, first)
    extra = []
    stop = stop_rule_finding(record)
    if stop is not None and "loose_stopping_rule" not in codes:
        extra.append(stop)
    flow = gradient_flow_finding(record)
    if flow is not None:
        extra.append(flow)
    provided = any("control_loss" in f.evidence or "real_target_loss" in f.evidence for f in diagnosis.findings)
    control = comparable_network(probe, record, seed) if controls and not provided else None
    if control is not None:
        extra.append(_control_finding(control))
        diagnosis.context["comparable_network"] = control
    _add_mae(diagnosis, record)
    diagnosis.findings += extra
    diagnosis.context["probe"] = probe.describe()
    if first is not None and not isinstance(getattr(type(diagnosis), "headline", None), property):
        diagnosis.headline = first.message
    return diagnosis
