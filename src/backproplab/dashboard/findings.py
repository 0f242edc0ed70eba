"""Findings for the dashboard: cheap rules on what the recorder holds (live), and a full
:func:`backproplab.diagnose` on demand (its probes train copies, so they run only when asked).

The live rules use the diagnosis's own thresholds and codes, so that a live finding and the full
diagnosis agree; every number shown goes through :mod:`backproplab._format`.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings
from typing import Any

import numpy as np

from .. import _format, diagnostics

__all__ = ["live_findings", "diagnosis_findings", "input_findings", "full_diagnosis", "evidence_text"]


def _threshold(name: str, default: float) -> float:
    return float(getattr(diagnostics, name, default))


def finding(code: str, severity: str, message: str, evidence: dict[str, Any], suggestion: str,
            source: str = "live") -> dict[str, Any]:
    """A finding as the page shows it: evidence values formatted for people (3 significant digits)."""
    return {
        "code": code, "severity": severity, "message": message, "suggestion": suggestion, "source": source,
        "evidence": {str(k).replace("_", " "): evidence_text(v) for k, v in evidence.items()},
    }


def evidence_text(value: Any) -> str:
    """An evidence value for people: numbers through ``_format.human`` (3 significant digits),
    a mapping as "key: value, ...", a list as "a, b, c" (no JSON braces or quotes)."""
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')}: {evidence_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        shown = [evidence_text(v) for v in list(value)[:10]]
        return ", ".join(shown) + (f", ... ({len(value)} in all)" if len(value) > 10 else "")
    if isinstance(value, str):
        return value
    return _format.human(value)


def input_findings(X: np.ndarray | None) -> list[dict[str, Any]]:
    """``unscaled_inputs`` from the data sample (peak magnitudes, or |mean| against the std)."""
    if X is None or X.shape[0] < 2:
        return []
    std, mean, peak = X.std(axis=0), X.mean(axis=0), np.abs(X).max(axis=0)
    varying = std > 0
    if varying.sum() < 1:
        return []
    ratio = float(peak[varying].max() / peak[varying].min()) if varying.sum() >= 2 and peak[varying].min() > 0 else 1.0
    offsets = np.where(varying & (np.abs(mean) > 1), np.abs(mean) / np.where(varying, std, 1), 0.0)
    worst = float(offsets.max())
    if ratio > _threshold("SCALE_RATIO", 100.0) or worst > _threshold("MEAN_TO_STD", 5.0):
        return [finding(
            "unscaled_inputs", "warning",
            f"input features are on very different scales (peak magnitudes differ {_format.ratio(ratio)}) or far "
            f"from zero (|mean|/std up to {_format.num(worst)}); one learning rate cannot suit them all",
            {"peak_ratio": ratio, "max_abs_mean_over_std": worst, "peak per feature": peak.tolist()},
            "standardise each feature: x' = (x - mean) / std",
        )]
    return []


def live_findings(frame: dict[str, Any] | None, recent_loss: float | None, baseline: float | None,
                  steps: int, sample_rows: int) -> list[dict[str, Any]]:
    """The rules that need nothing but the latest frame and the recent loss (None: not known)."""
    out: list[dict[str, Any]] = []
    if recent_loss is not None and not math.isfinite(recent_loss):
        out.append(finding(
            "lr_too_large", "error", f"the loss became non-finite by step {steps}: the updates overshoot and grow",
            {"loss": recent_loss, "step": steps}, "lower the learning rate (try 10x smaller) and scale the inputs"))
    if frame is not None:
        out += _gradient_findings(frame.get("layers", []), sample_rows)
    if baseline is not None and baseline > 0 and recent_loss is not None and math.isfinite(recent_loss) and steps >= 200:
        ratio = recent_loss / baseline
        if ratio >= _threshold("BASELINE_FRACTION", 0.8):
            item = finding(
                "no_better_than_baseline", "error" if ratio >= 0.98 else "warning",
                f"the recent training loss {_format.num(recent_loss)} is {_format.percent(ratio)} of the best constant "
                f"prediction's ({_format.num(baseline)}): the network has learned little beyond the average",
                {"recent_loss": recent_loss, "baseline_loss": baseline, "ratio": ratio},
                "check that the targets depend on the inputs (run the full diagnosis: its shuffled-target control), "
                "then the gradients, the learning rate and the scaling")
            if out:  # a symptom: the rules above name causes that explain it
                item["because_of"] = out[0]["code"]
            out.append(item)
    return out


def _gradient_findings(layers: list[dict[str, Any]], sample_rows: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    norms = [layer.get("grad_norm") for layer in layers]
    if len(norms) >= 2 and all(isinstance(v, float) for v in norms):
        first, last = float(norms[0]), float(norms[-1])  # type: ignore[arg-type]
        if last > 0 and math.isfinite(first) and first / last < _threshold("VANISHING_RATIO", 1e-2):
            out.append(finding(
                "vanishing_gradient", "warning",
                f"the first layer's gradient is {_format.ratio(first / last)} the last layer's: early layers barely learn",
                {"grad norm per layer": norms, "first over last": first / last},
                "use ReLU-family hidden activations (sigmoid' <= 1/4 shrinks the gradient at every layer), "
                "He/Glorot initialisation, fewer layers, or Adam"))
        values = [float(v) for v in norms]  # type: ignore[arg-type]
        finite = all(math.isfinite(v) for v in values)
        largest = max(values) if finite else math.inf
        if not finite or largest > _threshold("EXPLODING_NORM", 1e3):
            out.append(finding(
                "exploding_gradient", "error", "a gradient is no longer finite (inf or nan)" if not finite
                else f"gradient norms are very large (largest {_format.num(largest)})",
                {"grad norm per layer": norms}, "lower the learning rate, scale the inputs, use a smaller initialisation"))
    hidden = layers[:-1]
    saturated = {l["name"]: l["saturated_fraction"] for l in hidden
                 if l.get("saturated_fraction", 0.0) > _threshold("SATURATED_FRACTION", 0.5)}
    if saturated:
        out.append(finding(
            "saturated_units", "warning",
            "hidden " + ", ".join(f"{k}: {_format.percent(v)}" for k, v in saturated.items())
            + " of the sigmoid/tanh outputs sit in the flat tails, where the derivative is almost zero",
            {"saturated fraction": saturated}, "scale the inputs, use Glorot initialisation or ReLU-family activations"))
    dead = {l["name"]: l["dead_fraction"] for l in hidden
            if l.get("dead_fraction", 0.0) >= _threshold("DEAD_FRACTION", 0.25)}
    if dead and sample_rows >= int(_threshold("DEAD_MIN_ROWS", 20)):
        out.append(finding(
            "dead_units", "warning",
            "hidden " + ", ".join(f"{k}: {_format.percent(v)}" for k, v in dead.items())
            + " of the ReLU units output zero for every sample row and get no gradient",
            {"dead fraction": dead}, "lower the learning rate, use LeakyReLU, or He initialisation with zero biases"))
    return out


def diagnosis_findings(diagnosis: Any) -> list[dict[str, Any]]:
    """A :class:`backproplab.Diagnosis` as page findings (evidence formatted, root cause first)."""
    out = []
    for f in diagnosis.findings:
        item = finding(f.code, f.severity, f.message, dict(f.evidence), f.suggestion, source="diagnosis")
        because = getattr(f, "because_of", None)
        if because:
            item["because_of"] = str(because)
        out.append(item)
    return out


def full_diagnosis(net: Any, X: np.ndarray, y: np.ndarray, history: Any = None, controls: bool = True,
                   seed: int = 0) -> tuple[list[dict[str, Any]], str]:
    """``bp.diagnose`` on a copy of ``net`` (the run's own network is never touched); returns the
    findings and the headline. ``controls=False`` skips the shuffled-target control runs."""
    from .. import diagnose

    clone = copy.deepcopy(net)
    accepted = inspect.signature(diagnose).parameters
    options: dict[str, Any] = {"seed": seed}
    if "signal_test" in accepted:
        options["signal_test"] = controls
    if "controls" in accepted:
        options["controls"] = controls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            result = diagnose(clone, X, y, history=history, **options)
    headline = str(getattr(result, "headline", "") or "")
    if not headline:
        headline = "healthy: no warning or error" if result.healthy else f"{len(result.findings)} finding(s)"
    return diagnosis_findings(result), headline
