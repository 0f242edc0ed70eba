r"""Optimizers and learning-rate schedules.

An optimizer is bound to a list of :class:`~backproplab.layers.Parameter` once, holds its state in
lists parallel to them, and updates values in place from their ``grad``. Update rules equal
``torch.optim``'s (SGD, Adam, RMSprop with default arguments otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _kernels
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
    """Base class: ``bind(params)`` once, then ``step()`` after each backward pass."""

    name = ""

    def __init__(self, lr: float) -> None:
        self.lr = check_real("lr", lr, minimum=0.0)
        self.params: list[Parameter] = []
        self.t = 0

    def bind(self, params: Sequence[Parameter]) -> None:
        """Attach to ``params``; keeps the state when rebound to the same parameters (warm start)."""
        params = list(params)
        if len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params)):
            return
        self.params = params
        self.t = 0
        self._scratch = [np.empty_like(p.value) for p in params]
        self._init_state()

    def _init_state(self) -> None:
        pass

    def step(self) -> None:
        raise NotImplementedError

    def _fused_step(self, snapshot: np.ndarray) -> bool:
        """Copy the parameters into ``snapshot`` and update them in one compiled pass (see
        :mod:`backproplab._kernels`) when :meth:`_fusable`; returns False (and does nothing) otherwise."""
        kernels = self._fusable(snapshot)
        if kernels is None:
            return False
        p = self.params[0]
        # NumPy casts the Python scalars to the arrays' dtype the same way
        self._fused_update(kernels, p, snapshot, p.value.dtype.type)
        self.t += 1
        return True

    def _fused_update(self, kernels: dict[str, Any], p: Parameter, snapshot: np.ndarray, cast: Any) -> None:
        """Call this optimizer's kernel for step ``self.t + 1``; the same update as :meth:`step`."""
        raise NotImplementedError

    def _fusable(self, snapshot: np.ndarray) -> dict[str, Any] | None:
        """The compiled kernels, when this is one of our optimizer classes exactly (a subclass may
        change ``step``, which the kernels would not follow), bound to one flat buffer of at least
        ``_kernels.FUSED_MIN`` entries, and Numba works; None otherwise."""
        if type(self) not in OPTIMIZERS.values() or len(self.params) != 1:
            return None
        value = self.params[0].value
        if value.size < _kernels.FUSED_MIN or value.ndim != 1 or snapshot.shape != value.shape:
            return None
        return _kernels.kernels()

    def state_arrays(self) -> list[np.ndarray]:
        """The state arrays, for checkpoints (order fixed per optimizer)."""
        return []

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    Update rule, per parameter ``w`` with gradient ``g``::

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

    def _init_state(self) -> None:
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        self.t += 1
        lr, mu = self.lr, self.momentum
        if not mu:
            for p, scratch in zip(self.params, self._scratch):
                np.subtract(p.value, np.multiply(p.grad, lr, scratch), p.value)
            return
        for p, v, scratch in zip(self.params, self.velocity, self._scratch):
            v *= mu
            v += p.grad
            if self.nesterov:
                np.multiply(v, mu, out=scratch)
                scratch += p.grad
                scratch *= lr
            else:
                np.multiply(v, lr, out=scratch)
            p.value -= scratch

    def _fused_update(self, kernels: dict[str, Any], p: Parameter, snapshot: np.ndarray, cast: Any) -> None:
        if not self.momentum:
            kernels["sgd"](p.value, p.grad, snapshot, cast(self.lr))
        else:
            name = "sgd_nesterov" if self.nesterov else "sgd_momentum"
            kernels[name](p.value, p.grad, self.velocity[0], snapshot, cast(self.lr), cast(self.momentum))

    def state_arrays(self) -> list[np.ndarray]:
        return self.velocity if self.momentum else []

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    r"""Adam with bias correction, eps outside the square root, as ``torch.optim.Adam``.

    Update rule, at step ``t``::

        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    The state lists ``m`` and ``v`` hold the moments divided by ``1 - beta1`` and ``1 - beta2``
    (two passes fewer per step; see ``step``).
    """

    name = "adam"

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = check_real("beta1", beta1, minimum=0.0, maximum=1.0)
        self.beta2 = check_real("beta2", beta2, minimum=0.0, maximum=1.0)
        if self.beta1 >= 1 or self.beta2 >= 1:
            raise ValueError(f"beta1 and beta2 must be < 1, got {beta1!r} and {beta2!r}")
        self.eps = check_real("eps", eps, minimum=0.0, strict=True)

    def _init_state(self) -> None:
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        # The moments are kept divided by (1 - beta): m_s = m / (1 - b1) and v_s = v / (1 - b2), which
        # makes their updates m_s = b1 m_s + g and v_s = b2 v_s + g**2, and then
        #   lr * (m / bc1) / (sqrt(v / bc2) + eps) == c * m_s / (sqrt(v_s) + eps'),
        #   c = lr (1 - b1) sqrt(bc2) / (bc1 sqrt(1 - b2)),  eps' = eps sqrt(bc2) / sqrt(1 - b2):
        # torch's update with ten passes over the parameters instead of twelve.
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size, eps = self._step_size_and_eps(self.t)
        for p, m, v, scratch in zip(self.params, self.m, self.v, self._scratch):
            g = p.grad
            np.multiply(m, b1, m)
            np.add(m, g, m)
            np.multiply(v, b2, v)
            np.add(v, np.multiply(g, g, scratch), v)
            np.sqrt(v, scratch)
            np.add(scratch, eps, scratch)
            np.divide(m, scratch, scratch)
            np.multiply(scratch, step_size, scratch)
            np.subtract(p.value, scratch, p.value)

    def _step_size_and_eps(self, t: int) -> tuple[float, float]:
        root = math.sqrt(1.0 - self.beta2**t) / math.sqrt(1.0 - self.beta2)
        return self.lr * (1.0 - self.beta1) * root / (1.0 - self.beta1**t), self.eps * root

    def _fused_update(self, kernels: dict[str, Any], p: Parameter, snapshot: np.ndarray, cast: Any) -> None:
        step_size, eps = self._step_size_and_eps(self.t + 1)
        kernels["adam"](p.value, p.grad, self.m[0], self.v[0], snapshot, cast(self.beta1), cast(self.beta2),
                        cast(eps), cast(step_size))

    def state_arrays(self) -> list[np.ndarray]:
        return self.m + self.v

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSProp(Optimizer):
    r"""RMSProp, as ``torch.optim.RMSprop`` (no momentum, not centred).

    Update rule::

        v = rho * v + (1 - rho) * g**2
        w -= lr * g / (sqrt(v) + eps)
    """

    name = "rmsprop"

    def __init__(self, lr: float = 1e-2, rho: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho = check_real("rho", rho, minimum=0.0, maximum=1.0)
        self.eps = check_real("eps", eps, minimum=0.0, strict=True)

    def _init_state(self) -> None:
        self.v = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        self.t += 1
        rho = self.rho
        for p, v, scratch in zip(self.params, self.v, self._scratch):
            g = p.grad
            v *= rho
            np.multiply(g, g, out=scratch)
            scratch *= 1.0 - rho
            v += scratch
            np.sqrt(v, out=scratch)
            scratch += self.eps
            np.divide(g, scratch, out=scratch)
            scratch *= self.lr
            p.value -= scratch

    def _fused_update(self, kernels: dict[str, Any], p: Parameter, snapshot: np.ndarray, cast: Any) -> None:
        kernels["rmsprop"](p.value, p.grad, self.v[0], snapshot, cast(self.rho), cast(1.0 - self.rho), cast(self.eps),
                           cast(self.lr))

    def state_arrays(self) -> list[np.ndarray]:
        return self.v

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
    """``lr = lr0 / (epoch + 1) ** power_t``, scikit-learn's "invscaling" counted in epochs."""

    def __init__(self, power_t: float = 0.5) -> None:
        self.power_t = check_real("power_t", power_t, minimum=0.0)

    def __call__(self, epoch: int, lr: float, loss: float) -> float:
        return self.initial_lr / (epoch + 1) ** self.power_t


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
