"""A backproplab Network and its History become a RunRecord, plus the checks only a live network allows:
a gradient check of custom parts, the gradient flow of a re-initialised copy at step 0, and probes
that continue training a copy (learning rate, stopping rule)."""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np

from .. import initializers
from ..activations import Activation
from ..gradcheck import gradcheck
from ..history import ConvergenceWarning, DivergenceWarning, History
from ..layers import Dense
from ..monitor import layer_stats
from ..network import Network
from ..runrecord import RunRecord
from .findings import INIT_COPIES, LOOSE_STOP_GAIN, LR_PROBE_STEPS, PROBE_STEPS

_BUDGET = ("max_steps", "max_epochs", "time_limit")


def data_loss(net: Network, X: np.ndarray, y: np.ndarray) -> float:
    """The loss without the L2 term, comparable with the baseline."""
    A = X
    for layer in net.body:
        A = layer.forward(A, False)
    return float(net.loss_fn.value(A, y))


def quiet_fit(net: Network, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> History:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        return net.fit(X, y, progress=False, **kwargs)


def reinitialised(net: Network, seed: int) -> Network:
    """Same architecture and initialisers, weights drawn afresh from ``seed``."""
    clone = copy.deepcopy(net)
    rng = np.random.default_rng(seed)
    for layer in clone.layers:
        if isinstance(layer, Dense):
            W, b = initializers.get(layer.init)(layer.in_features, layer.out_features, rng)
            layer.W.value[...] = W
            layer.b.value[...] = b
    return clone


def _following(net: Network, dense: Dense) -> str:
    index = next(i for i, layer in enumerate(net.layers) if layer is dense)
    after = net.layers[index + 1] if index + 1 < len(net.layers) else None
    return after.name if isinstance(after, Activation) else ("identity" if after is None else type(after).__name__)


def _flow(net: Network, X: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Gradient norms per weight matrix and hidden-unit statistics after one full forward/backward pass."""
    net.forward_backward(X, y)
    stats = layer_stats(net)
    norms = {f"W{s['layer']}": float(s["grad_norm"]) for s in stats}
    units = [{"name": f"layer {s['layer']}", "kind": s.get("activation", "unknown"), "dead_fraction": s.get("dead"),
              "saturated_fraction": s.get("saturated")} for s in stats[:-1]]
    return norms, units


def _config(net: Network, history: History | None) -> dict[str, Any]:
    dense = net._dense()
    inits = sorted({layer.init for layer in dense})
    config: dict[str, Any] = {
        "init": inits[0] if len(inits) == 1 else inits,
        "hidden": [_following(net, layer) for layer in dense[:-1]],
        "output": _following(net, dense[-1]),
        "l2": net.l2,
    }
    if history is not None:
        optimizer = history.config.get("optimizer", {})
        stop = history.config.get("stop", {})
        config.update({
            "lr": optimizer.get("lr"), "optimizer": optimizer.get("name"), "batch_size": history.config.get("batch_size"),
            "n_steps": history.n_steps, "stop_reason": history.stop_reason, "stop": stop,
            "early_stopping_restored": bool(stop.get("early_stopping")) and history.best_epoch is not None,
        })
    return config


def _epoch_steps(history: History) -> np.ndarray:
    n, batch = history.config.get("n_samples", 0), history.config.get("batch_size")
    per_epoch = max(1, math.ceil(n / min(batch, n))) if batch and n else 1
    return np.minimum(np.arange(1, len(history.loss) + 1) * per_epoch, max(history.n_steps, 1))


def _series(history: History | None, now_step: int, now_norms: dict[str, float]) -> dict[str, Any]:
    """Loss, validation loss, stop criterion, gradient norms and update ratios on one step axis."""
    epochs = _epoch_steps(history) if history is not None else np.empty(0, int)
    monitor = history.monitor if history is not None else []
    steps = np.unique(np.concatenate([epochs, [r["step"] for r in monitor], [now_step]]).astype(np.int64))
    where = {int(s): i for i, s in enumerate(steps)}
    blank = np.full(steps.size, np.nan)
    loss, val, criterion = blank.copy(), blank.copy(), blank.copy()
    grads = {name: blank.copy() for name in now_norms}
    ratios = {name: blank.copy() for name in now_norms}
    if history is not None:
        for s, value in zip(epochs, history.loss):
            loss[where[int(s)]] = value
        for s, value in zip(epochs, history.val_loss):
            val[where[int(s)]] = value
        for s, value in zip(epochs, history.grad_norm):
            criterion[where[int(s)]] = value
    for record in monitor:
        for layer in record.get("layers", []):
            name = f"W{layer.get('layer')}"
            if name in grads:
                grads[name][where[int(record["step"])]] = layer.get("grad_norm", np.nan)
                ratios[name][where[int(record["step"])]] = layer.get("update_ratio", np.nan)
    for name, value in now_norms.items():
        grads[name][where[now_step]] = value
    has_criterion = history is not None and bool(history.grad_norm)
    return {"steps": steps, "loss": loss, "val_loss": val if history is not None and history.val_loss else None,
            "stop_criterion": criterion if has_criterion else None, "grad_norms": grads,
            "update_ratios": ratios if monitor else {}}


def _exact_initial_loss(history: History | None) -> float | None:
    if history is None or not history.loss:
        return None
    if history.step_loss:
        return float(history.step_loss[0])
    return float(history.loss[0]) if _epoch_steps(history)[0] == 1 else None


def has_custom_parts(net: Network) -> bool:
    from .. import losses, registry

    return not all(registry.is_builtin(layer) for layer in net.layers) or type(net.loss_fn) not in set(losses.LOSSES.values())


def seen_inputs(net: Network, X: np.ndarray) -> np.ndarray:
    """``X`` as the first Dense layer sees it: after any preprocessing layers in front of it (e.g. a
    fitted Standardize), so that the data checks judge what the network actually trains on."""
    A = X
    for layer in net.body:
        if isinstance(layer, Dense):
            break
        A = layer.forward(A, False)
    return np.array(A, dtype=np.float64, copy=True) if A is not X else X


def build_record(net: Network, X: np.ndarray, y: np.ndarray, history: History | None, seed: int) -> RunRecord:
    """The RunRecord of a backproplab run: the History's series, the network's state now, and the gradient
    flow of a re-initialised copy at step 0 (labelled as such)."""
    dense = net._dense()
    now_norms, units = _flow(net, X, y)
    now_step = max(history.n_steps, 1) if history is not None else 1
    series = _series(history, now_step, now_norms)
    fresh = reinitialised(net, seed)
    init_norms, init_units = _flow(fresh, X, y)
    # the initial loss of one draw varies a lot (He-initialised iris: 0.4 to 3.7 over 20 seeds): take 5
    copies = [data_loss(reinitialised(net, seed + k) if k else fresh, X, y) for k in range(INIT_COPIES)]
    at_init = {"grad_norms": init_norms, "activation_stats": init_units, "loss": float(np.median(copies)),
               "loss_first_step": _exact_initial_loss(history),
               "loss_first_epoch": float(history.loss[0]) if history is not None and history.loss else None,
               "source": f"re-initialised copies, same architecture and init, seeds {seed}..{seed + INIT_COPIES - 1}"}
    weights: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(dense, start=1):
        weights[f"W{i}"], weights[f"b{i}"] = layer.W.value.copy(), layer.b.value.copy()
        shapes[f"W{i}"], shapes[f"b{i}"] = layer.W.value.shape, layer.b.value.shape
    name = net.loss_fn.name if net.loss_fn.name in ("mse", "mae", "bce", "cross_entropy") else None
    check = gradcheck(net, X[:16], y[:16], max_entries=20) if net.dtype == np.float64 and has_custom_parts(net) else None
    return RunRecord(
        steps=series["steps"], loss=series["loss"], grad_norms=series["grad_norms"], update_ratios=series["update_ratios"],
        shapes=shapes, activation_stats=units, stop_criterion=series["stop_criterion"], val_loss=series["val_loss"],
        X=seen_inputs(net, X), y=y, predictions=net._predict(X), loss_name=name,
        task="classification" if name in ("bce", "cross_entropy") else ("regression" if name else None),
        gradient_check=check, config=_config(net, history), source="network", weights=weights, at_init=at_init,
        update_ratio_steps=1,
    )


# ---------------------------------------------------------------------- probes on a copy
def continue_copy(net: Network, X: np.ndarray, y: np.ndarray, history: History, steps: int, seed: int,
                  lr_factor: float = 1.0) -> float:
    """Train a copy ``steps`` more steps with the run's optimizer settings; return its data loss."""
    from .. import optimizers

    probe = copy.deepcopy(net)
    config = dict(history.config.get("optimizer", {}))
    name = config.pop("name", "sgd")
    config["lr"] = config.get("lr", 0.01) * lr_factor
    optimizer = optimizers.OPTIMIZERS[name](**config)
    quiet_fit(probe, X, y, optimizer=optimizer, batch_size=history.config.get("batch_size"), max_steps=steps,
              seed=seed, sampling=history.config.get("sampling", "epoch"))
    return data_loss(probe, X, y)


def probe_learning_rate(net: Network, X: np.ndarray, y: np.ndarray, history: History, seed: int) -> dict[str, Any] | None:
    """Progress proportional to the step size: 10x (or 100x) the lr gives over f/2 times the improvement."""
    losses = [v for v in history.loss if math.isfinite(v)]
    if "name" not in history.config.get("optimizer", {}) or history.stop_reason not in _BUDGET or len(losses) < 2:
        return None
    if losses[-1] <= 0.5 * losses[0]:
        return None
    steps = int(min(max(history.n_steps, 50), LR_PROBE_STEPS))
    start = data_loss(net, X, y)
    same = continue_copy(net, X, y, history, steps, seed)
    for factor in (10.0, 100.0):  # a far-too-small lr may need 100x before the probe moves the loss
        faster = continue_copy(net, X, y, history, steps, seed, lr_factor=factor)
        gain = start - faster
        if math.isfinite(faster) and gain > 0.05 * start and gain > factor / 2 * max(start - same, 0.0):
            return {"probe_steps": steps, "loss_now": start, "loss_same_lr": same, "lr_factor": factor,
                    "loss_faster_lr": faster, "lr": history.config["optimizer"].get("lr")}
    return None


def probe_stopping_rule(net: Network, X: np.ndarray, y: np.ndarray, history: History, seed: int) -> dict[str, Any] | None:
    """Three times as many more steps (500 to PROBE_STEPS) lower the loss by more than ``LOOSE_STOP_GAIN``."""
    if history.stop_reason not in ("grad_norm_below", "loss_below") or "name" not in history.config.get("optimizer", {}):
        return None
    steps = int(min(max(3 * history.n_steps, 500), PROBE_STEPS))
    before = data_loss(net, X, y)
    after = continue_copy(net, X, y, history, steps, seed)
    if not (math.isfinite(after) and after < (1 - LOOSE_STOP_GAIN) * before):
        return None
    rule = history.config.get("stop", {})
    threshold = rule.get("grad_norm_below") if history.stop_reason == "grad_norm_below" else rule.get("loss_below")
    return {"stop_reason": history.stop_reason, "threshold": threshold, "loss_at_stop": before,
            "loss_after_more_steps": after, "extra_steps": steps}
