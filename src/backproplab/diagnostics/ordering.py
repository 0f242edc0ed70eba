r"""Root cause first: the causal rules that order the findings and fill ``Finding.because_of``.

``EXPLAINS[cause]`` lists the findings that ``cause`` produces when it holds, so that they are
symptoms, not causes, whenever ``cause`` is also found (with severity warning or error):

==================  ===============================================================================
cause               explains
==================  ===============================================================================
gradient_mismatch   everything: every other reading of a run with a wrong gradient is unreliable
constant_target     everything but gradient_mismatch: there is nothing to learn
symmetric_units     the failure to learn (baseline, not converged, lr, stop rule, dead, saturated, ...)
unscaled_inputs     saturation, explosion, divergence, vanishing, dead units, a failed fit or control
unscaled_targets    explosion, divergence, dead or saturated units, a failed fit
no_signal           a baseline-level loss, "train longer", lr and stop-rule findings, overfitting
overfitting         "train longer", tiny late updates (a memorised training set), a poor loss over
                    training and validation rows together
exploding_gradient  (measured at initialisation) divergence, dead/saturated units, a bad initial loss
lr_too_large        explosion that was not there at initialisation, dead/saturated units, a failed fit
vanishing_gradient  a baseline-level loss, slow progress; saturated units in a deep (>= 3 hidden
                    layers) saturating net
saturated_units     vanishing gradients in a shallow (< 3 hidden layers) net, slow progress, a bad
                    initial loss
dead_units          a failed fit, slow progress
loss_task_mismatch  a failed fit, slow progress
bad_initial_loss    slow progress, a failed fit
lr_too_small        not_converged, a failed fit, lr_from_update_ratio, the stop rule
lr_from_update_...  not_converged, a failed fit
loose_stopping_rule a failed fit, not_converged
not_converged       a baseline-level loss
no_better_than_...  (only under a strong L2 penalty, l2 >= 0.1, that pulls the weights to zero) dead,
                    saturated or vanishing units, tiny updates, slow progress
==================  ===============================================================================

A finding's ``because_of`` is the highest-ranked (``PRIORITY``) cause present that explains it,
followed up the chain to its root (A explains B, B explains C: C is because of A).
The order is: root causes (warnings and errors no other finding explains) by ``PRIORITY``, then the
explained findings, then info findings.
"""

from __future__ import annotations

from .facts import Facts
from .findings import Finding

PRIORITY = [
    "gradient_mismatch", "constant_target", "symmetric_units", "unscaled_inputs", "unscaled_targets", "no_signal",
    "label_leak", "exploding_gradient", "lr_too_large", "overfitting", "vanishing_gradient", "saturated_units",
    "dead_units", "loss_task_mismatch", "bad_initial_loss", "lr_too_small", "lr_from_update_ratio",
    "loose_stopping_rule", "not_converged", "no_better_than_baseline",
]

_SLOW = {"no_better_than_baseline", "not_converged", "lr_too_small", "lr_from_update_ratio", "loose_stopping_rule"}
EXPLAINS: dict[str, set[str]] = {
    "gradient_mismatch": set(PRIORITY) - {"gradient_mismatch"},
    "constant_target": set(PRIORITY) - {"gradient_mismatch", "constant_target"},
    "symmetric_units": _SLOW | {"vanishing_gradient", "dead_units", "saturated_units", "bad_initial_loss"},
    "unscaled_inputs": _SLOW | {"saturated_units", "exploding_gradient", "lr_too_large", "vanishing_gradient",
                                "dead_units", "no_signal", "bad_initial_loss"},
    "unscaled_targets": _SLOW | {"exploding_gradient", "lr_too_large", "dead_units", "saturated_units", "no_signal"},
    "no_signal": _SLOW | {"overfitting"},
    "exploding_gradient": _SLOW | {"lr_too_large", "dead_units", "saturated_units", "bad_initial_loss"},
    "lr_too_large": _SLOW | {"exploding_gradient", "dead_units", "saturated_units", "bad_initial_loss"},
    "vanishing_gradient": _SLOW | {"saturated_units"},
    "saturated_units": _SLOW | {"vanishing_gradient", "bad_initial_loss"},
    "dead_units": set(_SLOW),
    "loss_task_mismatch": set(_SLOW),
    "bad_initial_loss": set(_SLOW),
    "lr_too_small": _SLOW - {"lr_too_small"},
    "lr_from_update_ratio": {"not_converged", "no_better_than_baseline"},
    "loose_stopping_rule": {"not_converged", "no_better_than_baseline"},
    "overfitting": {"lr_from_update_ratio", "not_converged", "no_better_than_baseline"},
    "not_converged": {"no_better_than_baseline"},
    # only when a strong L2 penalty (l2 >= L2_STRONG) holds the weights near zero
    "no_better_than_baseline": {"dead_units", "lr_from_update_ratio", "not_converged", "vanishing_gradient",
                                "lr_too_small", "saturated_units", "loose_stopping_rule", "lr_too_large"},
}
_L2_OUTRANKED_BY = {"gradient_mismatch", "constant_target", "no_signal", "unscaled_inputs", "unscaled_targets",
                    "symmetric_units"}


def _explains(cause: Finding, effect: Finding, facts: Facts | None) -> bool:
    if effect.code not in EXPLAINS.get(cause.code, set()) or cause.severity == "info":
        return False
    if cause.code == "no_better_than_baseline":
        # weights pulled to zero make every step large relative to them: only the "killed units" form of lr_too_large
        killed = effect.code != "lr_too_large" or "dead_fraction" in effect.evidence
        return bool(cause.evidence.get("l2_pull")) and killed
    if effect.code == "no_better_than_baseline" and effect.evidence.get("l2_pull"):
        return cause.code in _L2_OUTRANKED_BY
    if {cause.code, effect.code} == {"exploding_gradient", "lr_too_large"}:
        at_init = bool((cause if cause.code == "exploding_gradient" else effect).evidence.get("at_init"))
        return at_init == (cause.code == "exploding_gradient")
    if cause.code == "lr_too_large" and effect.code == "bad_initial_loss":
        return "first epoch" in str(effect.evidence.get("measured"))  # a diverging first epoch is not the init
    if {cause.code, effect.code} == {"vanishing_gradient", "saturated_units"}:
        deep = facts is not None and facts.deep_saturating
        return deep == (cause.code == "vanishing_gradient")
    if cause.code == "lr_from_update_ratio" and effect.code in ("lr_too_large", "lr_too_small"):
        return False
    return True


def _rank(code: str) -> int:
    return PRIORITY.index(code) if code in PRIORITY else len(PRIORITY)


def order(findings: list[Finding], facts: Facts | None) -> list[Finding]:
    """Fill ``because_of`` and sort root cause first (see the module docstring)."""
    merged: dict[tuple[str, bool], Finding] = {}
    severe = {"error": 0, "warning": 1, "info": 2}
    # one finding per code (and a separate info note): two rules may see the same thing; the more severe leads
    for f in sorted(findings, key=lambda f: severe[f.severity]):
        key = (f.code, f.severity == "info")
        if key in merged:
            merged[key].evidence.update({k: v for k, v in f.evidence.items() if k not in merged[key].evidence})
        else:
            merged[key] = f
    findings = list(merged.values())
    for effect in findings:
        causes = [c for c in findings if c is not effect and c.code != effect.code and _explains(c, effect, facts)]
        # a cause that is itself explained by the effect does not count (no cycles)
        causes = [c for c in causes if not _explains(effect, c, facts)]
        effect.because_of = min(causes, key=lambda c: _rank(c.code)).code if causes else None
    by_code = {f.code: f for f in findings if f.severity != "info"}
    for effect in findings:  # explanations are transitive: point at the root of the chain
        seen = {effect.code}
        while effect.because_of in by_code and by_code[effect.because_of].because_of not in (None, *seen):
            seen.add(effect.because_of)
            effect.because_of = by_code[effect.because_of].because_of
    return sorted(findings, key=lambda f: (f.severity == "info", f.because_of is not None, _rank(f.code)))
