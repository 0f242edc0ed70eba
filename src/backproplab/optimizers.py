r"""Optimizers and learning-rate schedules.

An optimizer is bound to a list of :class:`~backproplab.layers.Parameter` once, holds its state in
lists parallel to them, and updates values in place from their ``grad``. Update rules equal
``torch.optim``'s (SGD, Adam, RMSprop with default arguments otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _fastnp, _kernels
from ._validation import check_int, check_real, choose
from .layers import Parameter

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "RMSProp",
    "OPTIMIZERS",
    "get",
    "Schedule",
    "Constant",
    "StepDecay",
    "InverseScaling",
    "ReduceOnPlateau",
]


class Optimizer:
    r"""Base class: ``bind(params)`` once, then ``step()`` after each backward pass.

    A subclass states its update rule once, as :meth:`rule`: a function of one parameter entry
    ``w``, its gradient ``g`` and its state entries (in the order of ``state_names``), followed by
    the hyperparameters that :meth:`hyperparameters` gives for step ``t``; it returns the new ``w``
    (and the new state entries). It is written with arithmetic operators and ``np.sqrt`` only, so
    that the same function runs on whole arrays (the NumPy path) and, compiled, on each entry (the
    fused path, see :mod:`backproplab._kernels`), with bit-identical results. Which of the two runs
    is decided once, in :meth:`bind`.
    """

    name = ""
    #: the state kept per parameter array, by name (see :meth:`state_dict`)
    state_names: tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        self.lr = check_real("lr", lr, minimum=0.0)
        self.params: list[Parameter] = []
        self.state: list[dict[str, np.ndarray]] = []
        self.t = 0
        self._kernel: Any = None

    @staticmethod
    def rule(w: Any, g: Any, *state_and_hyperparameters: Any) -> Any:
        """The update of one entry (or of whole arrays): new ``w``, or ``(w, *state)`` with state."""
        raise NotImplementedError

    def hyperparameters(self, t: int) -> tuple[float, ...]:
        """The rule's hyperparameters for step ``t`` (counted from 1)."""
        return (self.lr,)

    def bind(self, params: Sequence[Parameter]) -> None:
        """Attach to ``params``; keeps the state when rebound to the same parameters (warm start).
        Decides here whether updates run as one compiled pass (one flat array of at least
        ``_kernels.FUSED_MIN`` entries, Numba installed, ``step`` not overridden) or as NumPy passes."""
        params = list(params)
        if len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params)):
            return
        self.params = params
        self.t = 0
        self.state = [{name: np.zeros_like(p.value) for name in self.state_names} for p in params]
        self._rule = self.update_rule()
        self._kernel = self._fused_kernel()
        self._run = self._runner()

    def update_rule(self) -> Callable[..., Any]:
        """The rule this optimizer applies (:meth:`rule`, unless the configuration picks another)."""
        return type(self).rule

    def _fused_kernel(self) -> Any:
        if type(self).step is not Optimizer.step or len(self.params) != 1:
            return None  # a subclass that changes step would not be followed by the kernel
        value = self.params[0].value
        if value.size < _kernels.FUSED_MIN or value.ndim != 1:
            return None
        cast = value.dtype.type
        return _kernels.update_kernel(self._rule, len(self.state_names), value.dtype,
                                      tuple(cast(h) for h in self.hyperparameters(1)))

    @property
    def fused(self) -> bool:
        """Whether :meth:`step` runs as one compiled pass (decided by :meth:`bind`)."""
        return self._kernel is not None

    def step(self, previous: Sequence[np.ndarray] | None = None) -> None:
        """Update every parameter from its ``grad``; with ``previous`` (arrays shaped like the
        parameters), first copy the values there (in the same pass when fused)."""
        self._run(previous)

    def updater(self) -> Callable[[Sequence[np.ndarray] | None], None]:
        """What a training loop calls for each step: :meth:`step`, or (one call fewer) the update
        that :meth:`bind` built, when ``step`` is not overridden."""
        return self._run if type(self).step is Optimizer.step else self.step

    def __getstate__(self) -> dict[str, Any]:
        # the runner closes over the bound arrays: a copy builds its own (see __setstate__)
        state = self.__dict__.copy()
        state.pop("_run", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.params:
            self._run = self._runner()

    def _runner(self) -> Callable[[Sequence[np.ndarray] | None], None]:
        """The update of all parameters (one step: ``t`` counts it), built once at bind."""
        rule, copyto, kernel, hyperparameters = self._rule, _fastnp.copyto, self._kernel, self.hyperparameters
        if kernel is not None:
            p, state = self.params[0], self.state[0]
            w, g, cast = p.value, p.grad, p.value.dtype.type  # NumPy casts Python scalars to the dtype alike

            def fused(previous: Sequence[np.ndarray] | None) -> None:
                self.t += 1
                hyper = hyperparameters(self.t)
                snapshot = previous[0] if previous is not None else np.empty_like(w)
                kernel(w, g, *state.values(), snapshot, tuple(cast(h) for h in hyper))
            return fused
        if len(self.params) == 1 and not self.state_names:  # the common small case, without a loop
            w, g = self.params[0].value, self.params[0].grad

            def plain(previous: Sequence[np.ndarray] | None) -> None:
                self.t += 1
                hyper = hyperparameters(self.t)
                if previous is not None:
                    copyto(previous[0], w)
                copyto(w, rule(w, g, *hyper))
            return plain

        def numpy(previous: Sequence[np.ndarray] | None) -> None:
            self.t += 1
            hyper = hyperparameters(self.t)
            for index, (p, state) in enumerate(zip(self.params, self.state)):
                if previous is not None:
                    copyto(previous[index], p.value)
                if not state:
                    copyto(p.value, rule(p.value, p.grad, *hyper))
                    continue
                new, *new_state = rule(p.value, p.grad, *state.values(), *hyper)
                copyto(p.value, new)
                state.update(zip(state, new_state))
        return numpy

    def state_dict(self) -> dict[str, list[np.ndarray]]:
        """The state by name, one array per parameter: ``{"m": [...], "v": [...]}`` for Adam."""
        return {name: [state[name] for state in self.state] for name in self.state_names}

    def state_arrays(self) -> list[np.ndarray]:
        """The state arrays in a fixed order (``state_dict`` flattened), for checkpoints."""
        return [array for arrays in self.state_dict().values() for array in arrays]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    Update rule, per parameter ``w`` with gradient ``g`` (the rule functions below)::

        v = momentum * v + g                        # skipped when momentum == 0
        w -= lr * (g + momentum * v if nesterov else v)
    """

    name = "sgd"

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = check_real("momentum", momentum, minimum=0.0, maximum=1.0)
        if nesterov and not self.momentum:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.state_names = ("velocity",) if self.momentum else ()

    def update_rule(self) -> Callable[..., Any]:
        if not self.momentum:
            return _sgd
        return _nesterov if self.nesterov else _momentum

    def hyperparameters(self, t: int) -> tuple[float, ...]:
        return (self.lr, self.momentum) if self.momentum else (self.lr,)

    @property
    def velocity(self) -> list[np.ndarray]:
        return [state["velocity"] for state in self.state]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


def _sgd(w: Any, g: Any, lr: Any) -> Any:
    return w - g * lr


def _momentum(w: Any, g: Any, v: Any, lr: Any, mu: Any) -> Any:
    v = v * mu + g
    return w - v * lr, v


def _nesterov(w: Any, g: Any, v: Any, lr: Any, mu: Any) -> Any:
    v = v * mu + g
    return w - (v * mu + g) * lr, v


class Adam(Optimizer):
    r"""Adam with bias correction, eps outside the square root, as ``torch.optim.Adam``.

    Update rule, at step ``t``::

        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    The state ``m`` and ``v`` holds the moments divided by ``1 - beta1`` and ``1 - beta2``, which
    makes their updates ``m = b1 m + g`` and ``v = b2 v + g**2``, and then
    ``lr * (m / bc1) / (sqrt(v / bc2) + eps) == c * m_s / (sqrt(v_s) + eps')`` with
    ``c = lr (1 - b1) sqrt(bc2) / (bc1 sqrt(1 - b2))`` and ``eps' = eps sqrt(bc2) / sqrt(1 - b2)``:
    torch's update with two passes fewer (see :meth:`rule`).
    """

    name = "adam"
    state_names = ("m", "v")

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = check_real("beta1", beta1, minimum=0.0, maximum=1.0)
        self.beta2 = check_real("beta2", beta2, minimum=0.0, maximum=1.0)
        if self.beta1 >= 1 or self.beta2 >= 1:
            raise ValueError(f"beta1 and beta2 must be < 1, got {beta1!r} and {beta2!r}")
        self.eps = check_real("eps", eps, minimum=0.0, strict=True)

    @staticmethod
    def rule(w: Any, g: Any, m: Any, v: Any, b1: Any, b2: Any, eps: Any, step_size: Any) -> Any:  # type: ignore[override]
        m = m * b1 + g
        v = v * b2 + g * g
        return w - m / (np.sqrt(v) + eps) * step_size, m, v

    def hyperparameters(self, t: int) -> tuple[float, ...]:
        root = math.sqrt(1.0 - self.beta2**t) / math.sqrt(1.0 - self.beta2)
        step_size = self.lr * (1.0 - self.beta1) * root / (1.0 - self.beta1**t)
        return self.beta1, self.beta2, self.eps * root, step_size

    @property
    def m(self) -> list[np.ndarray]:
        return [state["m"] for state in self.state]

    @property
    def v(self) -> list[np.ndarray]:
        return [state["v"] for state in self.state]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSProp(Optimizer):
    r"""RMSProp, as ``torch.optim.RMSprop`` (no momentum, not centred).

    Update rule::

        v = rho * v + (1 - rho) * g**2
        w -= lr * g / (sqrt(v) + eps)
    """

    name = "rmsprop"
    state_names = ("v",)

    def __init__(self, lr: float = 1e-2, rho: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho = check_real("rho", rho, minimum=0.0, maximum=1.0)
        self.eps = check_real("eps", eps, minimum=0.0, strict=True)

    @staticmethod
    def rule(w: Any, g: Any, v: Any, rho: Any, one_minus_rho: Any, eps: Any, lr: Any) -> Any:  # type: ignore[override]
        v = v * rho + g * g * one_minus_rho
        return w - g / (np.sqrt(v) + eps) * lr, v

    def hyperparameters(self, t: int) -> tuple[float, ...]:
        return self.rho, 1.0 - self.rho, self.eps, self.lr

    @property
    def v(self) -> list[np.ndarray]:
        return [state["v"] for state in self.state]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "rho": self.rho, "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp}


def get(name: str | Optimizer, lr: float | None = None) -> Optimizer:
    """An optimizer by name with ``lr`` (or its default), or a passed object with its own lr."""
    if isinstance(name, Optimizer):
        return name
    cls: Any = OPTIMIZERS[choose("optimizer", name, OPTIMIZERS)]
    return cls() if lr is None else cls(lr=lr)


# ---------------------------------------------------------------------- learning-rate schedules
class Schedule:
    """Called at the end of each epoch with the epoch count and the epoch's training loss;
    returns the learning rate for the next epoch."""

    def start(self, lr: float) -> None:
        self.initial_lr = lr

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        raise NotImplementedError


class Constant(Schedule):
    """``lr`` never changes."""

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        return lr


class StepDecay(Schedule):
    """``lr = lr0 * gamma ** (epoch // step_size)``."""

    def __init__(self, step_size: int = 10, gamma: float = 0.1) -> None:
        self.step_size = check_int("step_size", step_size, minimum=1)
        self.gamma = check_real("gamma", gamma, minimum=0.0, strict=True)

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        return self.initial_lr * self.gamma ** (epoch // self.step_size)


class InverseScaling(Schedule):
    """``lr = lr0 / (t + 1) ** power_t`` after each epoch, with ``t = epoch * per_epoch``.

    With the default ``per_epoch=1``, ``t`` counts epochs. With ``per_epoch`` the number of training
    rows, ``t`` counts the samples seen, which is scikit-learn's "invscaling" (its MLP updates the
    rate at the end of each epoch from ``t_``, the samples seen); the estimators pass it so."""

    def __init__(self, power_t: float = 0.5, per_epoch: float = 1.0) -> None:
        self.power_t = check_real("power_t", power_t, minimum=0.0)
        self.per_epoch = check_real("per_epoch", per_epoch, minimum=0.0, strict=True)

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        return self.initial_lr / (epoch * self.per_epoch + 1) ** self.power_t


class ReduceOnPlateau(Schedule):
    """Multiply lr by ``factor`` after ``patience`` epochs without the loss improving by ``tol``
    (relative), never going below ``min_lr``."""

    def __init__(self, factor: float = 0.2, patience: int = 5, tol: float = 1e-4, min_lr: float = 0.0) -> None:
        self.factor = check_real("factor", factor, minimum=0.0, strict=True, maximum=1.0)
        self.patience = check_int("patience", patience, minimum=1)
        self.tol = check_real("tol", tol, minimum=0.0)
        self.min_lr = check_real("min_lr", min_lr, minimum=0.0)

    def start(self, lr: float) -> None:
        super().start(lr)
        self.best = math.inf
        self.bad_epochs = 0

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        if loss < self.best * (1 - self.tol):
            self.best, self.bad_epochs = loss, 0
            return lr
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.bad_epochs = 0
            return max(lr * self.factor, self.min_lr)
        return lr


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "invscaling": InverseScaling,
    "plateau": ReduceOnPlateau,
}


def get_schedule(schedule: str | Schedule | None) -> Schedule:
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    return SCHEDULES[choose("schedule", schedule, SCHEDULES)]()
