"""Finding and Diagnosis, the thresholds every rule reads, and the plain-language titles of the codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._format import human
from .._validation import plain

# ---------------------------------------------------------------------- thresholds (see the package docstring)
SCALE_RATIO = 100.0
MEAN_TO_STD = 5.0
TARGET_SCALE = 10.0
TARGET_TINY = 1e-2
GOOD_FIT = 0.1
L2_STRONG = 0.1
CONTROL_MATCH = 0.1
LOOSE_STOP_GAIN = 0.25
CONTROL_CLIP = 10.0
BASELINE_FRACTION = 0.8
BASELINE_ERROR = 0.98
SIGNAL_MARGIN = 0.10
VANISHING_RATIO = 1e-2
EXPLODING_NORM = 1e3
EXPLODING_RATIO = 1e2
SATURATED_FRACTION = 0.5
DEAD_FRACTION = 0.25
DEAD_FRACTION_FIT = 0.5
DEAD_MIN_ROWS = 20
UPDATE_RATIO_TARGET = 1e-3
UPDATE_RATIO_LOW = 1e-5
UPDATE_RATIO_HIGH = 1e-1
BAD_INIT_FACTOR = 3.0
BAD_INIT_MARGIN = 2.0
INIT_COPIES = 5
OVERFIT_RISE = 0.10
LEAK_R2 = 0.999
LEAK_MIN_ROWS = 20
SYMMETRIC_FRACTION = 0.5
STOP_CRITERION_DROP = 10.0
STOP_LOSS_DROP = 0.10
NOT_CONVERGED_GAIN = 0.01
DEEP_LAYERS = 3
PROBE_STEPS = 5000
LR_PROBE_STEPS = 1000
CONTROL_STEPS = 300
CONTROL_CHECKS = 10
CONTROL_ROWS = 1000
CONTROL_MIN_ROWS = 20
CONTROL_CV_ROWS = 200
VERIFY_STEPS = 2000
MAX_ROWS = 2000

#: what each code means, in a few words (the headline and the report use these)
TITLES = {
    "gradient_mismatch": "the backward pass computes the wrong gradient",
    "constant_target": "the target is constant",
    "symmetric_units": "hidden units are identical copies of each other (symmetric initialisation)",
    "unscaled_inputs": "the inputs are not scaled",
    "unscaled_targets": "the regression targets are not scaled",
    "no_signal": "nothing in the inputs predicts the targets",
    "label_leak": "one feature alone gives the target away (a label leak)",
    "exploding_gradient": "the gradients explode",
    "lr_too_large": "the learning rate is too large",
    "vanishing_gradient": "the gradients vanish before they reach the first layers",
    "saturated_units": "hidden units are saturated",
    "dead_units": "hidden ReLU units are dead",
    "loss_task_mismatch": "the loss does not fit the task",
    "bad_initial_loss": "the initial loss is far from its expected value (bad initialisation)",
    "lr_too_small": "the learning rate is too small",
    "lr_from_update_ratio": "the update-to-weight ratio says the learning rate is off",
    "loose_stopping_rule": "the stopping rule ended the run too early",
    "overfitting": "the network overfits (validation loss rises while training loss falls)",
    "not_converged": "training stopped before it converged",
    "no_better_than_baseline": "the network does no better than a constant prediction",
}


def _first_clause(text: str) -> str:
    """``text`` up to its first top-level "; " (not inside parentheses)."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            return text[:i].rstrip(". ")
    return text.rstrip(". ")


@dataclass
class Finding:
    """One finding: a stable ``code``, a ``severity`` ("info", "warning" or "error"), a ``message`` for
    people, the ``evidence`` (plain numbers and strings), a ``suggestion`` that fits the run, and
    ``because_of``: the code of the finding that explains this one (None for a root cause)."""

    code: str
    severity: str
    message: str
    evidence: dict[str, Any]
    suggestion: str
    because_of: str | None = None


@dataclass
class Diagnosis:
    """Findings ordered root cause first (see :mod:`backproplab.diagnostics.ordering`)."""

    findings: list[Finding] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    headline_override: str | None = field(default=None, repr=False)

    @property
    def healthy(self) -> bool:
        """No warning or error (info findings are allowed)."""
        return not any(f.severity in ("warning", "error") for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def root(self) -> Finding | None:
        """The most probable root cause: the first warning or error, if any."""
        return next((f for f in self.findings if f.severity != "info"), None)

    @property
    def headline(self) -> str:
        """The one-sentence answer (composed from the root finding unless set explicitly)."""
        if self.headline_override is not None:
            return self.headline_override
        root = self.root
        if root is None:
            fit = self.context.get("fit_vs_baseline")
            how = f"the training loss is {human(fit * 100)}% of the best constant prediction's and " if fit is not None else ""
            return f"Healthy: {how}no check found a problem."
        explained = [f.code for f in self.findings if f.because_of == root.code]
        also = f", which also explains {', '.join(explained)}" if explained else ""
        first = _first_clause(root.suggestion)
        return f"Most likely root cause: {TITLES.get(root.code, root.code)} ({root.code}){also}; try: {first}."

    @headline.setter
    def headline(self, text: str) -> None:
        self.headline_override = text

    def to_dict(self) -> dict[str, Any]:
        return plain({"healthy": self.healthy, "headline": self.headline,
                      "findings": [asdict(f) for f in self.findings], "context": self.context})

    def __str__(self) -> str:
        if not self.findings:
            return f"diagnosis: healthy, no findings\n{self.headline}"
        head = "diagnosis: healthy (info only)" if self.healthy else f"diagnosis: {len(self.findings)} finding(s)"
        lines = [head, self.headline]
        for f in self.findings:
            evidence = ", ".join(f"{k}={human(v)}" for k, v in f.evidence.items())
            why = f" (because of {f.because_of})" if f.because_of else ""
            lines += [f"[{f.severity}] {f.code}{why}: {f.message}", f"    evidence: {evidence}", f"    suggestion: {f.suggestion}"]
        return "\n".join(lines)
