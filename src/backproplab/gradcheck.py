r"""Finite-difference gradient checks, for a network or for anyone's hand-written gradient code.

For every checked entry ``w`` of a parameter array, the numerical derivative is the five-point
central difference in float64 (truncation error O(h^4)):

    n = (-L(w + 2h) + 8 L(w + h) - 8 L(w - h) + L(w - 2h)) / (12 h)

and it is compared with the analytic derivative ``a``:

    rel = |a - n| / max(|a|, |n|, floor),   floor = 1e7 * eps64 * max(|L|, 1) / h

Rounding in ``L`` limits any difference quotient to an absolute accuracy of about
``eps64 * |L| / h`` (eps64 = 2.2e-16); ``floor`` is the gradient size below which that noise would
dominate, so such entries are judged by their absolute error (anything wrong by more than about
``2e-10 * max(|L|, 1)`` is still caught). Defaults: ``h = 1e-4``, ``rtol = 1e-5``; an array passes when
every checked entry has ``rel <= rtol``. A correct gradient typically shows ``rel`` below 1e-8, a wrong
one 1e-2 or more.

Anything non-finite is a failure, never a pass: a NaN or inf anywhere in an analytic gradient (the
whole array is scanned, also when only ``max_entries`` entries are compared), a non-finite numerical
derivative, or a non-finite loss at the checked point. ``ParameterCheck.problem`` names the array and
the entry.

Points within ``2h`` of a ReLU kink (an activation that changes sign across the stencil) have no
derivative; they are counted as ``n_kinks``, listed in ``GradCheckResult.kinks`` and left out of the
verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_int, check_real, plain
from .network import Network

__all__ = ["gradcheck", "check_gradient", "GradCheckResult", "ParameterCheck"]


@dataclass
class ParameterCheck:
    """The check of one parameter array.

    ``problem`` is empty for a finite comparison; otherwise it says which entry of which array was
    not finite (the analytic gradient, the numerical one, or the loss), and the array fails."""

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    worst_index: tuple[int, ...]
    max_abs_error: float
    analytic: float
    numeric: float
    n_checked: int
    n_kinks: int = 0
    passed: bool = True
    problem: str = ""


@dataclass
class GradCheckResult:
    """Per-parameter results, the overall verdict and the settings used.

    ``kinks`` lists every entry left out of the verdict because the stencil crossed a ReLU kink, as
    ``(parameter index, entry index)`` pairs; ``ParameterCheck.n_kinks`` counts them per array."""

    params: list[ParameterCheck]
    rtol: float
    eps: float
    kinks: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.params)

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel_error for p in self.params), default=0.0)

    @property
    def problems(self) -> list[str]:
        """One sentence per array whose comparison met a non-finite value."""
        return [p.problem for p in self.params if p.problem]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary; non-finite numbers become None (``problem`` says what was not finite)."""
        return plain({
            "passed": self.passed,
            "max_rel_error": self.max_rel_error,
            "rtol": self.rtol,
            "eps": self.eps,
            "problems": self.problems,
            "kinks": [[index, list(entry)] for index, entry in self.kinks],
            "params": [
                {
                    "name": p.name,
                    "shape": list(p.shape),
                    "max_rel_error": p.max_rel_error,
                    "worst_index": list(p.worst_index),
                    "max_abs_error": p.max_abs_error,
                    "analytic": p.analytic,
                    "numeric": p.numeric,
                    "n_checked": p.n_checked,
                    "n_kinks": p.n_kinks,
                    "passed": p.passed,
                    "problem": p.problem,
                }
                for p in self.params
            ],
        })

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"gradient check {verdict}: max relative error {self.max_rel_error:.2e} (rtol {self.rtol:g}, eps {self.eps:g})"]
        for p in self.params:
            mark = "ok  " if p.passed else "FAIL"
            kinks = f", {p.n_kinks} at ReLU kinks skipped" if p.n_kinks else ""
            lines.append(
                f"  {mark} {p.name:<6} {str(p.shape):<12} max rel {p.max_rel_error:.2e} at {p.worst_index} "
                f"(analytic {p.analytic:.6g}, numeric {p.numeric:.6g}; {p.n_checked} entries{kinks})"
            )
            if p.problem:
                lines.append(f"       {p.problem}")
        return "\n".join(lines)


def _entry(shape: tuple[int, ...], flat_index: int) -> tuple[int, ...]:
    return tuple(int(k) for k in np.unravel_index(flat_index, shape)) if shape else ()


def _nonfinite_analytic(name: str, grad: np.ndarray) -> ParameterCheck | None:
    """A failed check naming the first non-finite entry of an analytic gradient, or None.

    The whole array is scanned, also when only some entries are compared: a NaN is never sampled away."""
    bad = np.flatnonzero(~np.isfinite(grad.reshape(-1)))
    if bad.size == 0:
        return None
    i = int(bad[0])
    value = float(grad.reshape(-1)[i])
    where = _entry(grad.shape, i)
    problem = (f"the analytic gradient of {name} is {value} at entry {where}"
               + (f" ({bad.size} non-finite entries)" if bad.size > 1 else ""))
    return ParameterCheck(name, tuple(grad.shape), math.inf, where, math.inf, value, math.nan,
                          n_checked=0, passed=False, problem=problem)


def _stencil(loss_at: Callable[[], float], flat: np.ndarray, i: int, eps: float,
             kink_state: Callable[[], Any] | None) -> tuple[float, bool]:
    """The five-point numerical derivative at entry ``i`` and whether the stencil crossed a kink."""
    original = flat[i]
    values, kink_masks = [], []
    try:
        for offset in (2 * eps, eps, -eps, -2 * eps):
            flat[i] = original + offset
            values.append(loss_at())
            if kink_state is not None:
                kink_masks.append(kink_state())
    finally:
        flat[i] = original
    crossed = bool(kink_masks) and any(
        not np.array_equal(a, b) for masks in kink_masks[1:] for a, b in zip(kink_masks[0], masks)
    )
    return (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps), crossed


def _check_array(loss_at: Callable[[], float], param: np.ndarray, grad: np.ndarray, name: str,
                 indices: np.ndarray, eps: float, rtol: float, floor: float,
                 kink_state: Callable[[], Any] | None) -> tuple[ParameterCheck, list[tuple[int, ...]]]:
    flat, exact_flat = param.reshape(-1), grad.reshape(-1)
    worst: tuple[float, int, float, float, float] = (-1.0, 0, 0.0, 0.0, 0.0)
    kinks: list[tuple[int, ...]] = []
    problem = ""
    for i in indices:
        numeric, crossed = _stencil(loss_at, flat, int(i), eps, kink_state)
        if crossed:
            kinks.append(_entry(param.shape, int(i)))
            continue
        exact = float(exact_flat[i])
        if not math.isfinite(numeric):
            problem = (f"the numerical gradient of {name} is {numeric} at entry {_entry(param.shape, int(i))}: "
                       "the loss is not finite within 2 eps of this point")
            worst = (math.inf, int(i), math.inf, exact, numeric)
            break
        abs_error = abs(exact - numeric)
        rel = abs_error / max(abs(exact), abs(numeric), floor)
        if rel > worst[0]:
            worst = (rel, int(i), abs_error, exact, numeric)
    rel, worst_i, abs_error, exact, numeric = worst
    rel = max(rel, 0.0)
    check = ParameterCheck(
        name=name, shape=tuple(param.shape), max_rel_error=rel,
        worst_index=_entry(param.shape, worst_i) if param.size else (),
        max_abs_error=abs_error, analytic=exact, numeric=numeric,
        n_checked=len(indices) - len(kinks), n_kinks=len(kinks),
        passed=bool(rel <= rtol) and not problem, problem=problem,
    )
    return check, kinks


def _compare(
    loss_at: Callable[[], float],
    analytic: Sequence[np.ndarray],
    params: Sequence[np.ndarray],
    names: Sequence[str],
    eps: float,
    rtol: float,
    floor: float | None,
    max_entries: int | None,
    rng: np.random.Generator,
    kink_state: Callable[[], Any] | None = None,
) -> GradCheckResult:
    checks: list[ParameterCheck] = []
    kinks: list[tuple[int, tuple[int, ...]]] = []
    base_loss = float(loss_at())
    grads = []
    if not params:
        raise ValueError("params is empty; there is nothing to check")
    for p_index, (param, grad, name) in enumerate(zip(params, analytic, names)):
        try:
            grad = np.asarray(grad, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"gradient {p_index} ({name}) is not a numeric array: {error}") from None
        if grad.shape != param.shape:
            raise ValueError(f"gradient {p_index} ({name}) has shape {grad.shape}, the parameter has {param.shape}")
        if not np.shares_memory(param.reshape(-1), param):
            raise ValueError(f"parameter {p_index} ({name}) must be a contiguous array that can be perturbed in place")
        grads.append(grad)
    if not math.isfinite(base_loss):
        problem = f"the loss is {base_loss} at the checked point, so no gradient can be compared"
        return GradCheckResult(
            [ParameterCheck(name, tuple(p.shape), math.inf, (), math.inf, math.nan, math.nan, 0, passed=False,
                            problem=problem) for p, name in zip(params, names)],
            rtol=rtol, eps=eps)
    if floor is None:
        floor = 1e7 * np.finfo(np.float64).eps * max(abs(base_loss), 1.0) / eps
    for p_index, (param, grad, name) in enumerate(zip(params, grads, names)):
        failed = _nonfinite_analytic(name, grad)
        if failed is not None:
            checks.append(failed)
            continue
        indices = np.arange(param.size)
        if max_entries is not None and param.size > max_entries:
            indices = np.sort(rng.choice(param.size, max_entries, replace=False))
        check, skipped = _check_array(loss_at, param, grad, name, indices, eps, rtol, floor, kink_state)
        checks.append(check)
        kinks.extend((p_index, entry) for entry in skipped)
    return GradCheckResult(checks, rtol=rtol, eps=eps, kinks=kinks)


def _names(net: Network, prefix: str = "") -> list[str]:
    """A name per parameter, in the order of ``net.parameters()``: the parameter's own name and the
    number of its layer among the layers that have parameters (``W1``, ``b1``, ``W2``, ...). A nested
    network counts as one such layer and numbers its own inside it: in ``[Dense, Network([Dense,
    Tanh, Dense]), Dense]``, ``W2.1`` and ``W2.2`` are the nested network's weights, ``W3`` the last."""
    names: list[str] = []
    layer_number = 0
    for layer in net.layers:
        if isinstance(layer, Network):
            if layer.parameter_objects():
                layer_number += 1
                names.extend(_names(layer, f"{prefix}{layer_number}."))
        elif params := layer.parameters():
            layer_number += 1
            names.extend(f"{p.name or 'p'}{prefix}{layer_number}" for p in params)
    return names


def _kink_layers(layers: Sequence[Any]) -> list[Any]:
    """The layers with a kink (ReLU) among ``layers``, those of nested networks included (a nested
    network's forward runs all its layers, a final activation its own loss would absorb included)."""
    found: list[Any] = []
    for layer in layers:
        if isinstance(layer, Network):
            found += _kink_layers(layer.layers)
        elif getattr(layer, "kink", False):
            found.append(layer)
    return found


def gradcheck(
    net: Network,
    X: Any,
    y: Any,
    *,
    eps: float = 1e-4,
    rtol: float = 1e-5,
    floor: float | None = None,
    max_entries: int | None = None,
    seed: int | None = 0,
) -> GradCheckResult:
    """Check ``net.gradients(X, y)`` against central differences of ``net.loss(X, y)``.

    The network must be float64 (central differences in float32 are too coarse to be a check).
    Nothing in backproplab converts an existing network to another dtype (:func:`backproplab.load`
    keeps the dtype the model was saved with). For a float64 copy of a float32 network, build the
    same layers in float64 (``Network.mlp(..., dtype="float64")``, the default, or
    ``Dense(..., dtype="float64")``) and copy the parameters in:
    ``net64.set_weights(net32.get_weights())`` casts them to float64.

    Parameters are named by their layer among the layers that have parameters: ``W1``, ``b1``,
    ``W2``, ...; a nested network counts as one layer and numbers its own inside it (``W2.1``).

    Parameters
    ----------
    max_entries : int, optional
        Check at most this many randomly chosen entries per parameter array (all by default).
    """
    eps = check_real("eps", eps, minimum=0.0, strict=True)
    rtol = check_real("rtol", rtol, minimum=0.0, strict=True)
    max_entries = check_int("max_entries", max_entries, minimum=1, allow_none=True)
    if net.dtype != np.float64:
        raise ValueError(f"gradcheck needs a float64 network, got {net.dtype}; gradients are checked in float64")
    X, y = net.check_Xy(X, y)
    net.forward_backward(X, y)
    analytic = [p.grad.copy() for p in net.parameter_objects()]
    kink_layers = _kink_layers(net.body)

    def loss_at() -> float:
        return net._loss_value(X, y)

    def kink_state() -> list[np.ndarray]:
        return [layer.A > 0 for layer in kink_layers]

    return _compare(
        loss_at,
        analytic,
        net.parameters(),
        _names(net),
        eps,
        rtol,
        floor,
        max_entries,
        np.random.default_rng(seed),
        kink_state if kink_layers else None,
    )


def check_gradient(
    loss_fn: Callable[[list[np.ndarray]], float],
    grad_fn: Callable[[list[np.ndarray]], Sequence[np.ndarray]],
    params: Sequence[np.ndarray],
    *,
    eps: float = 1e-4,
    rtol: float = 1e-5,
    floor: float | None = None,
    max_entries: int | None = None,
    names: Sequence[str] | None = None,
    seed: int | None = 0,
) -> GradCheckResult:
    """Check anyone's hand-written gradient code.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``.
    grad_fn : callable
        ``grad_fn(params) -> list of arrays``, the claimed gradient of ``loss_fn``, same shapes.
    params : sequence of ndarray
        The point to check at. They are converted to float64 copies, perturbed one entry at a time
        and passed to both functions; the caller's arrays are never modified.

    Examples
    --------
    >>> import numpy as np, backproplab as bp
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> result = bp.check_gradient(lambda p: float(p[0] @ A @ p[0]), lambda p: [2 * A @ p[0]], [np.ones(2)])
    >>> result.passed
    True
    """
    eps = check_real("eps", eps, minimum=0.0, strict=True)
    rtol = check_real("rtol", rtol, minimum=0.0, strict=True)
    max_entries = check_int("max_entries", max_entries, minimum=1, allow_none=True)
    if isinstance(params, np.ndarray):
        params = [params]
    work = [np.array(p, dtype=np.float64, copy=True) for p in params]
    analytic = list(grad_fn([w.copy() for w in work]))
    if len(analytic) != len(work):
        raise ValueError(f"grad_fn returned {len(analytic)} arrays for {len(work)} parameters")
    names = list(names) if names is not None else [f"p{i}" for i in range(len(work))]

    def loss_at() -> float:
        value = loss_fn(work)
        if np.ndim(value) != 0 and np.size(value) != 1:
            raise TypeError(f"loss_fn must return a number, got an array of shape {np.shape(value)}")
        return float(np.asarray(value).reshape(()))

    return _compare(loss_at, analytic, work, names, eps, rtol, floor, max_entries, np.random.default_rng(seed))
