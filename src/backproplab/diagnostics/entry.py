"""``bp.diagnose(net, X, y, history)``: a Network and its History become a RunRecord, diagnosed by the
record rules, plus the network-only probes and, on request, a verification of the top remedy."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._format import num, ratio
from .._threads import blas_threads_for
from .._validation import check_int
from ..history import History
from ..network import Network
from . import remedies
from .facts import Facts
from .findings import MAX_ROWS, Diagnosis, Finding
from .fromnetwork import build_record, probe_learning_rate, probe_stopping_rule
from .record import finish, record_findings


def _lr_finding(probe: dict[str, Any], facts: Facts) -> Finding:
    factor = probe["lr_factor"]
    return Finding(
        "lr_too_small", "warning",
        f"the loss is still falling slowly: {probe['probe_steps']} more steps take it from {num(probe['loss_now'])} to "
        f"{num(probe['loss_same_lr'])} at lr={num(probe['lr'])}, but to {num(probe['loss_faster_lr'])} at {ratio(factor)} "
        "that: the step size, not the model, limits progress",
        probe, remedies.lr_higher(facts, factor),
    )


def _stop_finding(probe: dict[str, Any], facts: Facts) -> Finding:
    return Finding(
        "loose_stopping_rule", "warning",
        f"training stopped by {probe['stop_reason']}={num(probe['threshold'])}, but {probe['extra_steps']} more steps of "
        f"the same optimiser take the loss from {num(probe['loss_at_stop'])} to {num(probe['loss_after_more_steps'])}: "
        "the threshold ended the run while the model could still do much better",
        probe, remedies.stopping(facts),
    )


def _history_probes(net: Network, X: np.ndarray, y: np.ndarray, history: History, facts: Facts, seed: int) -> list[Finding]:
    findings = []
    lr = probe_learning_rate(net, X, y, history, seed)
    if lr is not None:
        findings.append(_lr_finding(lr, facts))
    stop = None if facts.good_fit else probe_stopping_rule(net, X, y, history, seed)
    if stop is not None:
        findings.append(_stop_finding(stop, facts))
    return findings


def diagnose(
    net: Network,
    X: Any,
    y: Any,
    history: History | None = None,
    *,
    seed: int = 0,
    signal_test: bool = True,
    controls: bool | None = None,
    verify: bool = False,
) -> Diagnosis:
    """Diagnose a network on its training data (and, if given, the History of its run), root cause first.

    Parameters
    ----------
    net : Network
    X, y : the training data (at most ``MAX_ROWS`` random rows are used)
    history : History, optional
        Its loss, validation-loss, gradient-norm and gradient-flow (``History.monitor``) series are
        read; it also enables the learning-rate and stopping-rule probes on a copy.
    seed : int
        Seeds the re-initialised copy, the controls and the probes.
    signal_test, controls : bool
        Train the controls (a correct network of comparable size on real and shuffled targets);
        ``controls`` overrides ``signal_test`` (its older name) when given.
    verify : bool
        Try the top remedy on a copy when it is a cheap one-line change, and report the losses of
        both runs with the same budget in ``Diagnosis.context["verified"]`` and in the suggestion.

    Returns
    -------
    Diagnosis
    """
    check_int("seed", seed)
    X, y = net.check_Xy(X, y)
    if len(X) > MAX_ROWS:
        index = np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False)
        X, y = X[index], y[index]
    # one BLAS thread: every product here is small, and a second thread only stalls on a busy machine
    with np.errstate(all="ignore"), blas_threads_for(0):  # blown-up weights give inf norms, reported as such
        record = build_record(net, X, y, history, seed)
        findings, context, facts = record_findings(record, seed, signal_test if controls is None else controls)
        if history is not None and not any(f.code == "constant_target" for f in findings):
            findings += _history_probes(net, X, y, history, facts, seed)
        if history is not None:
            context["stop_reason"] = history.stop_reason
        context["gradient_flow"] = {"at initialisation": (record.at_init or {}).get("grad_norms"),
                                    "now": {k: float(v[-1]) for k, v in record.grad_norms.items()},
                                    "at initialisation measured on": (record.at_init or {}).get("source")}
        diagnosis = finish(findings, context, facts)
        if verify:
            from .verify import verify_root

            verify_root(diagnosis, net, X, y, history, facts, seed)
    return diagnosis
