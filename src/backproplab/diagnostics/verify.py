"""``diagnose(..., verify=True)``: try the root cause's one-line remedy on a copy and report the numbers.

A fresh network of the run's architecture (initialised from the diagnosis seed) trains with the run's
optimizer, learning rate, batch size and step budget (at most ``VERIFY_STEPS``) with the change, and
is compared with the run itself (or, when the run was longer than the budget, with a fresh copy set
up as the run was). Both are scored with the run's own loss on the original data and units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._format import num
from ..history import History
from ..network import Network
from .facts import Facts, as_targets, loss_value
from .findings import VERIFY_STEPS, Diagnosis
from .fromnetwork import has_custom_parts, quiet_fit


def _mlp(net: Network, facts: Facts, seed: int, **change: Any) -> Network:
    dense = net._dense()
    sizes = [dense[0].in_features, *(layer.out_features for layer in dense)]
    hidden = facts.hidden[0] if facts.hidden else "relu"
    init = facts.config.get("init") if isinstance(facts.config.get("init"), str) else None
    settings = {"hidden": hidden, "output": facts.config.get("output", "identity"), "loss": net.loss_fn.name, "init": init}
    settings.update(change)
    return Network.mlp(sizes, seed=seed, dtype=net.dtype.name, l2=net.l2, **settings)


def _standardise(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean, std = A.mean(axis=0), A.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (A - mean) / std, mean, std


def _change(code: str, facts: Facts, lr: float) -> tuple[str, dict[str, Any]] | None:
    """(what changes, how): ``net`` keyword changes for Network.mlp, or ``lr``/``X``/``y`` transforms."""
    init = str(facts.config.get("init") or "")
    relu = set(facts.hidden) <= {"relu", "leaky_relu"}
    if code == "unscaled_inputs":
        return "with standardised inputs", {"scale_X": True}
    if code == "unscaled_targets":
        return "with standardised targets", {"scale_y": True}
    if code in ("vanishing_gradient", "saturated_units") and not relu:
        if code == "saturated_units" and init in ("normal", "uniform"):
            return 'with init="glorot_uniform"', {"net": {"init": "glorot_uniform"}}
        return 'with hidden="relu", init="he_uniform"', {"net": {"hidden": "relu", "init": "he_uniform"}}
    if code in ("symmetric_units", "bad_initial_loss") or (code == "exploding_gradient" and init in ("normal", "uniform")):
        fresh = "he_uniform" if relu else "glorot_uniform"
        return f'with init="{fresh}"', {"net": {"init": fresh}}
    if code == "dead_units" and "relu" in facts.hidden:
        return 'with hidden="leaky_relu"', {"net": {"hidden": "leaky_relu"}}
    if code in ("lr_too_large", "exploding_gradient"):
        return f"with lr={num(lr / 10)}", {"lr": lr / 10}
    if code in ("lr_too_small", "lr_from_update_ratio"):
        up = facts.config.get("_lr_factor", 10.0)
        return f"with lr={num(lr * up)}", {"lr": lr * up}
    if code == "loss_task_mismatch" and facts.Y is not None and facts.Y.shape[1] == 1 and set(np.unique(facts.Y)) <= {0.0, 1.0}:
        return 'with loss="bce"', {"net": {"loss": "bce", "output": "sigmoid"}}
    return None


def _score(net: Network, X: np.ndarray, Y: np.ndarray, facts: Facts, mean: Any = 0.0, std: Any = 1.0) -> float:
    predictions = net.predict(X) * std + mean
    return loss_value(facts.loss_name or "mse", predictions, Y)


def verify_root(diagnosis: Diagnosis, net: Network, X: np.ndarray, y: np.ndarray, history: History | None,
                facts: Facts, seed: int) -> None:
    """Try the root cause's remedy (see the module docstring); record the result on the diagnosis."""
    root = diagnosis.root
    if root is None or has_custom_parts(net) or facts.loss_name is None:
        return
    config = history.config if history is not None else {}
    optimizer = dict(config.get("optimizer", {"name": "adam", "lr": 0.01}))
    lr = float(optimizer.get("lr") or 0.01)
    if root.code == "lr_too_small":
        facts.config["_lr_factor"] = root.evidence.get("lr_factor", 10.0)
    if root.code == "lr_from_update_ratio":
        facts.config["_lr_factor"] = float(np.clip(1e-3 / max(root.evidence.get("typical", 1e-3), 1e-12), 1e-2, 1e2))
    found = _change(root.code, facts, lr)
    if found is None:
        return
    label, how = found
    steps = int(min(max(history.n_steps if history is not None else 300, 1), VERIFY_STEPS))
    fit = {"optimizer": optimizer.get("name", "adam"), "batch_size": config.get("batch_size"), "max_steps": steps, "seed": seed}
    Y = as_targets(y, facts.loss_name)
    own = history is not None and history.n_steps == steps and facts.final_loss is not None
    with np.errstate(all="ignore"):
        if own:  # the run itself, as it ended: its own initial weights may be what is wrong
            loss_before = float(facts.final_loss)  # type: ignore[arg-type]
        else:
            before = _mlp(net, facts, seed)
            quiet_fit(before, X, y, lr=lr, **fit)
            loss_before = _score(before, X, Y, facts)
        after = _mlp(net, facts, seed, **how.get("net", {}))
        Xa, ya, mean, std = X, y, np.zeros(y.shape[1]), np.ones(y.shape[1])
        if how.get("scale_X"):
            Xa = _standardise(X)[0]
        if how.get("scale_y"):
            ya, mean, std = _standardise(y)
        quiet_fit(after, Xa, ya, lr=how.get("lr", lr), **fit)
        loss_after = _score(after, Xa, Y, facts, mean, std)
    diagnosis.context["verified"] = {"change": label, "steps": steps, "loss_as_run": loss_before, "loss_with_change": loss_after,
                                     "for": root.code, "compared_with": "this run" if own else "a fresh copy as run"}
    versus = "this run's" if own else "that of a fresh copy set up as the run was"
    root.suggestion += (f" (verified {label}, from a fresh initialisation: the loss after the same {steps} steps is "
                        f"{num(loss_after)} instead of {versus} {num(loss_before)})")
