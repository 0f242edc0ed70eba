"""``diagnose_record``: the diagnosis of any run from the evidence it left (a :class:`RunRecord`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._threads import blas_threads_for
from .._validation import check_int, plain
from ..runrecord import RunRecord
from . import controls as control_module
from . import ordering
from .datachecks import data_findings
from .facts import Facts, build_facts
from .findings import Diagnosis, Finding
from .rules import RULES


def record_findings(record: RunRecord, seed: int, controls: bool) -> tuple[list[Finding], dict[str, Any], Facts]:
    """Every record rule's findings (unordered), the context, and the facts they were computed from."""
    facts = build_facts(record)
    findings = data_findings(record.X, facts)
    facts.config["_unscaled_inputs"] = any(f.code == "unscaled_inputs" and f.severity != "info" for f in findings)
    context: dict[str, Any] = {"rows": None if record.X is None else int(len(record.X)), "source": record.source,
                               "loss": facts.loss_name, "task": facts.task, "train_loss": facts.final_loss,
                               "baseline_loss": facts.baseline, "fit_vs_baseline": facts.fit_ratio}
    context["run"] = {k: facts.config.get(k) for k in ("init", "hidden", "output", "optimizer", "lr", "l2", "batch_size",
                                                       "n_steps", "stop_reason")}
    blocked = any(f.code == "constant_target" for f in findings)
    if controls and not blocked:
        try:
            control = control_module.run_controls(facts, seed)
        except ValueError:  # targets the control's loss refuses (e.g. bce on values outside [0, 1])
            control = None
        if control is not None:
            facts.config["_control"] = control
            context["control"] = control
            findings += control_module.signal_findings(facts, control)
    if not blocked:
        for rule in RULES:
            findings += rule(facts)
    return findings, context, facts


def finish(findings: list[Finding], context: dict[str, Any], facts: Facts | None) -> Diagnosis:
    return Diagnosis(ordering.order(findings, facts), plain(context))


def diagnose_record(record: RunRecord, *, seed: int = 0, controls: bool = True) -> Diagnosis:
    """Diagnose a run from what it recorded, root cause first.

    Parameters
    ----------
    record : RunRecord
        The evidence: loss series, per-array gradient norms, update ratios, unit statistics, the
        user's stop criterion, validation loss, ``X``/``y`` and predictions when known, a gradient
        check. Every rule uses what is there and skips what is not.
    seed : int
        Seeds the control trainings.
    controls : bool
        Train a correct network of comparable size on ``record.X, record.y`` (real and row-shuffled
        targets) to tell "nothing to learn" from "the run failed to learn it". Needs X and y.

    Returns
    -------
    Diagnosis
        ``findings`` root cause first, each with ``because_of``; ``headline``; ``context`` with the
        losses that were compared.
    """
    if not isinstance(record, RunRecord):
        raise TypeError(f"record must be a backproplab.runrecord.RunRecord, got {type(record).__name__}")
    check_int("seed", seed)
    if np.asarray(record.steps).shape != np.asarray(record.loss).shape:
        raise ValueError(f"record.steps and record.loss must have the same shape, got {np.shape(record.steps)} "
                         f"and {np.shape(record.loss)}")
    with np.errstate(all="ignore"), blas_threads_for(0):  # small products: one BLAS thread
        findings, context, facts = record_findings(record, seed, controls)
    context["steps_recorded"] = int(np.asarray(record.steps).size)
    if facts.final_loss is not None and not math.isfinite(facts.final_loss):
        context["train_loss"] = None
    return finish(findings, context, facts)
