r"""The proof: finite differences of the user's own loss at the recorded weights.

For each checked entry ``w`` of an array (float64 copies; the user's arrays are never touched), with
``h = STEP * max(1, |w|)``:

    n = (-L(w + 2h) + 8 L(w + h) - 8 L(w - h) + L(w - 2h)) / (12 h)        (error O(h^4))

An entry where the two central differences ``(L(w+h) - L(w-h)) / 2h`` and ``(L(w+2h) - L(w-2h)) / 4h``
disagree by more than ``KINK`` (relative) sits at a kink (ReLU, abs) and is left out. Per array, over
the checked entries ``a`` (the recorded gradient) and ``n``:

    relative error = ||a - n|| / max(||a||, ||n||),   cosine = a.n / (||a|| ||n||),   scale = a.n / n.n

and entry ``i`` matches at scale ``s`` when ``|a_i - s n_i| <= RTOL * max(|a_i|, |s n_i|, floor)`` with the
rounding floor of :mod:`backproplab.gradcheck`. Verdicts, in this order: "non-finite"; "exact" (every
entry matches at s = 1); "right direction, wrong scale" (every entry matches at the best s); "wrong for
some entries only" (most informative entries match); "wrong sign" (cosine < -0.99); "nearly right"
(cosine > 0.99, relative error < 0.1); "wrong direction".
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _format
from ._patterns import locate_entries, sample_counts, scale_cause
from .report import CheckReport, array_message, headline

__all__ = ["ArrayCheck", "CheckReport", "check_recorded", "STEP", "RTOL", "KINK"]

STEP = 1e-4
RTOL = 1e-5
KINK = 1e-3
FULL_RECHECK = 4096


@dataclass
class ArrayCheck:
    """The check of one recorded array (see the module notes for the numbers and verdicts)."""

    name: str
    shape: tuple[int, ...]
    verdict: str
    rel_error: float
    cosine: float
    scale: float
    size_ratio: float
    max_entry_error: float
    n_checked: int
    n_kinks: int = 0
    worst: list[dict[str, Any]] = field(default_factory=list)
    where: str = ""
    cause: str = ""
    message: str = ""
    next_square: bool | None = None
    checked: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.verdict == "exact"

    @property
    def direction_ok(self) -> bool:
        return self.verdict in ("exact", "right direction, wrong scale")

    @property
    def max_rel_error(self) -> float:
        return self.rel_error


class _Evaluator:
    """Finite differences of ``loss_fn`` around float64 copies of one set of weights."""

    def __init__(self, loss_fn: Callable[[Any], Any], layout: Any, flat: np.ndarray) -> None:
        self.loss_fn, self.layout = loss_fn, layout
        self.flat = flat.copy()
        self.arrays = layout.split(self.flat)
        self.packed = layout.pack(self.arrays)
        self.loss = self._loss()
        self.floor = 1e7 * np.finfo(np.float64).eps * max(abs(self.loss), 1.0) / STEP if np.isfinite(self.loss) else np.inf

    def _loss(self) -> float:
        value = self.loss_fn(self.packed)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"loss_fn must return a number, got {type(value).__name__}") from None

    def numeric(self, k: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Five-point derivatives of array ``k`` at ``indices`` and a mask of entries at a kink."""
        flat = self.arrays[k].reshape(-1)
        out = np.empty(len(indices))
        kink = np.zeros(len(indices), dtype=bool)
        for j, i in enumerate(indices):
            w = flat[i]
            h = STEP * max(1.0, abs(w))
            values = []
            for offset in (2 * h, h, -h, -2 * h):
                flat[i] = w + offset
                values.append(self._loss())
            flat[i] = w
            out[j] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
            near, far = (values[1] - values[2]) / (2 * h), (values[0] - values[3]) / (4 * h)
            kink[j] = abs(near - far) > KINK * max(abs(near), abs(far), self.floor)
        return out, kink


def _errors(a: np.ndarray, n: np.ndarray, scale: float, floor: float) -> np.ndarray:
    s = scale * n
    return np.abs(a - s) / np.maximum(np.maximum(np.abs(a), np.abs(s)), floor)


def _first_nonfinite(name: str, array: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    return f"{name}{list(index)} = {array[index]}"


def _classify(name: str, a: np.ndarray, n: np.ndarray, floor: float) -> tuple[str, dict[str, float], np.ndarray]:
    """Verdict, numbers and per-entry mismatch mask of one array's checked entries."""
    na, nn = float(np.linalg.norm(a)), float(np.linalg.norm(n))
    cosine = float(a @ n / (na * nn)) if na > 0 and nn > 0 else (1.0 if na == nn else 0.0)
    scale = float(a @ n / (n @ n)) if nn > 0 else float("nan")
    numbers_ = {"rel_error": float(np.linalg.norm(a - n)) / max(na, nn, 1e-300), "cosine": cosine, "scale": scale,
                "size_ratio": na / nn if nn > 0 else float("inf")}
    errors = _errors(a, n, 1.0, floor)
    numbers_["max_entry_error"] = float(errors.max()) if errors.size else 0.0
    if not errors.size or errors.max() <= RTOL:
        return "exact", numbers_, np.zeros_like(errors, dtype=bool)
    if np.isfinite(scale) and _errors(a, n, scale, floor).max() <= 10 * RTOL:
        if abs(scale - 1) < 1e-4:
            return "exact", numbers_, np.zeros_like(errors, dtype=bool)
        if scale < 0:
            return "wrong sign", numbers_, errors > RTOL
        return "right direction, wrong scale", numbers_, np.zeros_like(errors, dtype=bool)
    informative = np.maximum(np.abs(a), np.abs(n)) > floor
    ratios = a[informative & (np.abs(n) > floor)] / n[informative & (np.abs(n) > floor)]
    for s0 in (1.0, float(np.median(ratios)) if ratios.size else 1.0):
        bad = _errors(a, n, s0, floor) > 10 * RTOL
        if informative.sum() >= 3 and 0 < bad[informative].sum() <= 0.5 * informative.sum():
            numbers_["entry_scale"] = s0
            return "wrong for some entries only", numbers_, bad
    if cosine < -0.99:
        return "wrong sign", numbers_, errors > RTOL
    if cosine > 0.99 and numbers_["rel_error"] < 0.1:
        return "nearly right", numbers_, errors > RTOL
    return "wrong direction", numbers_, errors > RTOL


def _bias_axes(shape: tuple[int, ...], widths: set[int]) -> dict[int, bool]:
    return {axis: (length - 1) in widths for axis, length in enumerate(shape)} if len(shape) == 2 else {}


@dataclass
class _Context:
    layout: Any
    grads: list[np.ndarray]
    samples: list[int]
    outputs: int
    widths: set[int]
    rng: np.random.Generator
    entries: int
    all_entries: bool


def _check_array(k: int, ev: _Evaluator, ctx: _Context, indices: np.ndarray) -> ArrayCheck:
    name, shape = ctx.layout.names[k], ctx.layout.shapes[k]
    grad = ctx.grads[k]
    if not np.isfinite(grad).all():
        return ArrayCheck(name, shape, "non-finite", np.nan, np.nan, np.nan, np.nan, np.inf, 0,
                          where=_first_nonfinite(name, grad), message=f"your gradient is not finite: {_first_nonfinite(name, grad)}")
    numeric, kink = ev.numeric(k, indices)
    if not np.isfinite(numeric).all():
        bad = indices[~np.isfinite(numeric)][0]
        position = tuple(int(i) for i in np.unravel_index(bad, shape))
        return ArrayCheck(name, shape, "non-finite", np.nan, np.nan, np.nan, np.nan, np.inf, len(indices),
                          where=f"{name}{list(position)}",
                          message=f"the loss is not finite when {name}{list(position)} moves by a small step")
    keep = ~kink
    a, n, kept = grad.reshape(-1)[indices][keep], numeric[keep], indices[keep]
    verdict, values, bad = _classify(name, a, n, ev.floor)
    if verdict == "wrong for some entries only" and not ctx.all_entries and len(indices) < grad.size <= FULL_RECHECK:
        return _check_array(k, ev, ctx, np.arange(grad.size))  # localise on every entry
    check = ArrayCheck(name, shape, verdict, values["rel_error"], values["cosine"], values["scale"], values["size_ratio"],
                       values["max_entry_error"], int(keep.sum()), int(kink.sum()), checked=(kept, n))
    errors = np.abs(a - n)
    for j in np.argsort(-errors)[:3]:
        if errors[j] > 0:
            check.worst.append({"index": [int(i) for i in np.unravel_index(kept[j], shape)],
                                "recorded": float(a[j]), "finite_difference": float(n[j])})
    if verdict == "wrong for some entries only":
        mask = np.zeros(grad.size, dtype=bool)
        mask[kept[bad]] = True
        check.where = locate_entries(mask.reshape(shape), shape, _bias_axes(shape, ctx.widths))
    if verdict == "right direction, wrong scale":
        check.cause = scale_cause(values["scale"], ctx.samples, ctx.outputs)
    elif verdict not in ("exact", "wrong for some entries only") and len(indices) == grad.size and not kink.any():
        check.cause = _structure(grad, numeric.reshape(shape))
    return check


def _structure(grad: np.ndarray, true: np.ndarray) -> str:
    """A wrong 2-D gradient whose *form* gives the mistake away: one row repeated, or rank one."""
    if grad.ndim != 2 or min(grad.shape) < 2:
        return ""
    for axis, label in ((0, "row"), (1, "column")):
        first = np.take(grad, [0], axis=axis)
        if np.allclose(grad, first, rtol=1e-12, atol=0) and not np.allclose(true, np.take(true, [0], axis=axis), rtol=1e-3):
            return (f"every {label} of your gradient is the same while the true gradient's differ: one {label} broadcast "
                    "over the matrix (an elementwise product where an outer product belongs)")
    mine, theirs = np.linalg.svd(grad, compute_uv=False), np.linalg.svd(true, compute_uv=False)
    if mine[0] > 0 and theirs[0] > 0 and mine[1] / mine[0] < 1e-8 and theirs[1] / theirs[0] > 1e-3:
        return (f"your gradient is one outer product (rank 1) while the true one has rank {int(np.sum(theirs > 1e-3 * theirs[0]))}: "
                "the signature of mean(input) x mean(delta), an outer product of batch means, where the mean of the "
                "per-sample outer products belongs (they differ by the batch covariance)")
    return ""


def _update_signature(checks: list[ArrayCheck], grads: list[np.ndarray], weights: list[np.ndarray], lr: float | None) -> None:
    """Name a too-small wrong-direction gradient whose size matches a delta built from the next weights' update."""
    if lr is None or not np.isfinite(lr) or lr <= 0:
        return
    for k, check in enumerate(checks):
        if check.verdict != "wrong direction" or check.cause or not check.size_ratio < 0.1:
            continue
        later = [j for j in range(k + 1, len(checks)) if grads[j].ndim == 2]
        if not later:
            continue
        j = later[0]
        predicted = lr * float(np.linalg.norm(grads[j])) / max(float(np.linalg.norm(weights[j])), 1e-300)
        if predicted > 0 and 0.1 < check.size_ratio / predicted < 10:
            check.cause = (f"it is also far too small ({_format.ratio(check.size_ratio)} the true size), about lr x "
                           f"||grad {checks[j].name}|| / ||{checks[j].name}|| = {_format.num(predicted)}: the signature of a "
                           f"delta built from {checks[j].name}'s update (-lr x gradient) where the weights {checks[j].name} "
                           "themselves belong")


def _indices(ctx: _Context, size: int) -> np.ndarray:
    if ctx.all_entries or size <= ctx.entries:
        return np.arange(size)
    return np.sort(ctx.rng.choice(size, ctx.entries, replace=False))


def _run(loss_fn: Callable[[Any], Any], flat: np.ndarray, ctx: _Context, chosen: list[np.ndarray]) -> tuple[_Evaluator, list[ArrayCheck]]:
    ev = _Evaluator(loss_fn, ctx.layout, flat)
    if not np.isfinite(ev.loss):
        raise FloatingPointError(f"loss_fn returned {ev.loss} at the recorded weights; the check needs a finite loss")
    before = ev.flat.copy()
    checks = [_check_array(k, ev, ctx, chosen[k]) for k in range(len(ctx.layout.names))]
    if not np.array_equal(before, ev.flat, equal_nan=True):
        raise ValueError("loss_fn modified the weights it was given; it must only read them")
    return ev, checks


def _out_of_step(loss_fn: Callable[[Any], Any], current: list[ArrayCheck], earlier: list[ArrayCheck], ev_now: _Evaluator,
                 ev_before: _Evaluator, ctx: _Context, chosen: list[np.ndarray]) -> None:
    """Mark nearly-right arrays whose error is about one update's change of the true gradient."""
    for k, (now, _) in enumerate(zip(current, earlier)):
        if now.verdict not in ("nearly right", "wrong direction") or now.cosine < 0.9 or now.rel_error > 0.3:
            continue
        n_now, _ = ev_now.numeric(k, chosen[k])
        n_before, _ = ev_before.numeric(k, chosen[k])
        step_change = float(np.linalg.norm(n_now - n_before))
        error = float(np.linalg.norm(ctx.grads[k].reshape(-1)[chosen[k]] - n_now))
        if step_change > 0 and 0.05 < error / step_change < 1.5:
            now.verdict = "out of step"
            now.cause = (f"its error is {_format.ratio(error / step_change)} the change of the true gradient over one "
                         "update: part of it was computed from weights already updated (gradients taken after the update) "
                         "or from another step's forward pass")


def _update_check(probe: Any, snapshot: Any) -> dict[str, Any] | None:
    """How the applied update relates to the recorded gradient: ``W_t - W_(t-1)`` against ``-g``."""
    if snapshot.previous is None:
        return None
    layout = probe.layout
    delta = layout.split(snapshot.weights - snapshot.previous)
    pairings = [("after", layout.split(snapshot.grads))]
    earlier = [s for s in probe.snapshots() if s.step < snapshot.step]
    if earlier and np.array_equal(earlier[-1].weights, snapshot.previous):
        pairings.append(("before", layout.split(earlier[-1].grads)))
    best: dict[str, Any] | None = None
    for timing, grads in pairings:
        cos, lr = {}, {}
        for name, d, g in zip(layout.names, delta, grads):
            nd, ng = float(np.linalg.norm(d)), float(np.linalg.norm(g))
            cos[name] = float(-(d.ravel() @ g.ravel()) / (nd * ng)) if nd > 0 and ng > 0 else float("nan")
            lr[name] = float(-(d.ravel() @ g.ravel()) / ng**2) if ng > 0 else float("nan")
        score = abs(np.nanmean(list(cos.values()))) if any(np.isfinite(list(cos.values()))) else -np.inf
        if best is None or score > best["score"]:
            best = {"recorded": timing, "cosine": cos, "lr": lr, "score": float(score)}
    return best


def _prove_cause(probe: Any, checks: list[ArrayCheck], ctx: _Context, snapshot: Any, timing: str, lr: float | None,
                 at: int | None) -> dict[str, Any] | None:
    """Rebuild the network and find the named mistake that reproduces every recorded gradient."""
    from ._hypotheses import explain

    if all(c.direction_ok for c in checks) or any(c.checked is None or c.verdict == "non-finite" for c in checks):
        return None
    if at is not None and at != probe.snapshots()[-1].step:
        return None  # the recorded activations belong to the last step only
    weights = ctx.layout.split(snapshot.previous if timing == "before the update" else snapshot.weights)
    numeric = [c.checked for c in checks if c.checked is not None]
    try:
        cause = explain([w.copy() for w in weights], ctx.grads, probe.X, probe.y, probe.activations, numeric, lr, ctx.layout.names)
    except (ValueError, IndexError, FloatingPointError):
        return None
    if cause is not None:
        proof = (f"proved: {cause['sentence']}; rebuilt from your recorded arrays ({cause['architecture']}, loss "
                 f"{cause['loss']}), this one mistake reproduces every recorded gradient")
        for check in checks:
            if not check.direction_ok or check.verdict in ("nearly right", "out of step"):
                check.cause = proof
    return cause


def check_recorded(probe: Any, loss_fn: Callable[[Any], Any], *, at: int | None = None, entries: int = 20,
                   all_entries: bool = False, seed: int = 0) -> CheckReport:
    """Check the gradients recorded by ``probe`` against finite differences of ``loss_fn``.

    ``loss_fn(weights) -> float`` receives float64 copies in the container the user recorded (a list,
    or a dict with the same keys). The scope is the last recorded step, or ``at``. When some arrays fail
    and the weights of the call before are known, the check is repeated there: gradients recorded
    *after* the update belong to the weights before it.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function of the weights, got {type(loss_fn).__name__}")
    if isinstance(entries, bool) or not isinstance(entries, numbers.Integral) or entries < 1:
        raise ValueError(f"entries must be a positive integer, got {entries!r}")
    if probe.layout is None or not probe.has_grads:
        raise ValueError("check_gradient needs recorded weights and grads; call probe.record(step, weights=..., grads=...) first")
    kept = probe.snapshots()
    if at is None:
        snapshot = kept[-1]
    else:
        found = [s for s in kept if s.step == at]
        if not found:
            raise ValueError(f"at={at!r}: no full snapshot of that step; kept steps are {[s.step for s in kept]}")
        snapshot = found[-1]
    layout = probe.layout
    widths = {int(d) for s in layout.shapes if len(s) == 2 for d in s}
    if probe.X is not None:
        widths.add(int(probe.X.shape[1]))
    outputs = int(probe.y.shape[1]) if probe.y is not None and probe.y.ndim == 2 else 1
    ctx = _Context(layout, [g.copy() for g in layout.split(snapshot.grads)], sample_counts(probe.X, probe.activations, probe.y),
                   outputs, widths, np.random.default_rng(seed), int(entries), bool(all_entries))
    chosen = [_indices(ctx, size) for size in layout.sizes]
    ev_now, checks = _run(loss_fn, snapshot.weights, ctx, chosen)
    timing = "as recorded"
    if snapshot.previous is not None and not all(c.passed for c in checks):
        ev_before, earlier = _run(loss_fn, snapshot.previous, ctx, chosen)
        if sum(c.direction_ok for c in earlier) > sum(c.direction_ok for c in checks):
            checks, timing = earlier, "before the update"
            later = [c for c in earlier if not c.direction_ok]
            if later:
                _out_of_step(loss_fn, earlier, earlier, ev_before, ev_now, ctx, chosen)
        else:
            _out_of_step(loss_fn, checks, earlier, ev_now, ev_before, ctx, chosen)
    update = _update_check(probe, snapshot)
    lr = float(np.nanmedian(list(update["lr"].values()))) if update and np.isfinite(list(update["lr"].values())).any() else None
    _update_signature(checks, ctx.grads, layout.split(snapshot.weights), lr)
    for k, check in enumerate(checks):
        later = [layout.shapes[j] for j in range(k + 1, len(checks)) if len(layout.shapes[j]) == 2]
        check.next_square = abs(later[0][0] - later[0][1]) <= 1 if later else None
    cause = _prove_cause(probe, checks, ctx, snapshot, timing, lr, at)
    for index, check in enumerate(checks):
        check.message = array_message(check, checks[index + 1 :])
    report = CheckReport(step=snapshot.step, arrays=checks, loss=ev_now.loss, timing=timing, update=update, cause=cause)
    report.headline = headline(report)
    return report
