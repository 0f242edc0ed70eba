r"""The fit loop: ``fit`` builds a frozen :class:`FitConfig`, and a :class:`Trainer` runs it in named
steps: :meth:`~Trainer.prepare`, :meth:`~Trainer.batches`, :meth:`~Trainer.steps` (one step per batch),
:meth:`~Trainer.end_epoch`, :meth:`~Trainer.finish`.

One training step is: gather a batch (:class:`Batcher`), ``net.forward_backward`` (loss and
gradients), check the loss is finite, ``optimizer.step(previous)``, which also keeps the weights
before the update in the Trainer's snapshot (restored on divergence or an interrupted update).
Everything else hangs on one hook protocol, that of :class:`~backproplab.history.Callback`: the stop
rules (:mod:`backproplab.stops`), per-step history, the monitor, checkpoints, the learning-rate
schedule, the progress bar and the user's callbacks. The per-step hook list is computed once and is
empty in the plain case, so an unused feature costs nothing.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fastnp, _kernels, _threads, optimizers, registry, stops
from . import metrics as metric_module
from ._validation import check_callbacks, check_int, check_names, check_real, check_rng_seed, choose
from .history import Callback, ConvergenceWarning, DivergenceWarning, History, overrides
from .layers import Dense
from .stops import STOP_REASONS, Stop

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Stop", "History", "Callback", "ConvergenceWarning", "DivergenceWarning", "fit", "STOP_REASONS",
           "FitConfig", "Trainer", "Batcher", "register_checkpoints", "fit_method"]

logger = logging.getLogger(__name__)

#: ``factory(trainer, path, every, resume) -> Callback``, installed by :mod:`backproplab.persistence`
#: (which imports this module; this module does not import it, so there is no import cycle)
_checkpoint_factory: Callable[..., Callback] | None = None


def register_checkpoints(factory: Callable[..., Callback]) -> None:
    """Install the hook that writes and resumes checkpoints (called by :mod:`backproplab.persistence`)."""
    global _checkpoint_factory
    _checkpoint_factory = factory


@dataclass(frozen=True)
class FitConfig:
    """The arguments of :func:`fit`, checked once (see there for their meaning); budgets defaulted."""

    optimizer: str | optimizers.Optimizer = "sgd"
    lr: float | None = None
    batch_size: int | None = 32
    max_epochs: int | None = None
    max_steps: int | None = None
    stop: Stop = field(default_factory=Stop)
    validation: tuple[Any, Any] | float | None = None
    shuffle: bool = True
    sampling: str = "epoch"
    seed: int | np.random.Generator | None = None
    callbacks: tuple[Callback, ...] = ()
    progress: bool | None = None
    monitor: Any = None
    schedule: str | optimizers.Schedule | None = None
    metrics: tuple[str, ...] = ()
    record_steps: bool = False
    checkpoint: str | os.PathLike[str] | None = None
    checkpoint_every: int | None = None
    resume: str | os.PathLike[str] | None = None
    sample_weight: Any = None

    def __post_init__(self) -> None:
        stop = self.stop if self.stop is not None else Stop()
        if not isinstance(stop, Stop):
            raise TypeError(f"stop must be a backproplab.Stop, got {type(stop).__name__}")
        max_epochs = check_int("max_epochs", self.max_epochs, minimum=1, allow_none=True)
        max_steps = check_int("max_steps", self.max_steps, minimum=1, allow_none=True)
        max_epochs, max_steps = stops.default_limits(stop, max_epochs, max_steps)
        check_int("batch_size", self.batch_size, minimum=1, allow_none=True)
        choose("sampling", self.sampling, ("epoch", "random"))
        check_int("checkpoint_every", self.checkpoint_every, minimum=1, allow_none=True)
        if self.checkpoint_every is not None and self.checkpoint is None:
            raise ValueError("checkpoint_every is set but checkpoint (the file path) is not")
        if isinstance(self.optimizer, optimizers.Optimizer) and self.lr is not None:
            raise ValueError("lr was given together with an optimizer object; set lr on the optimizer instead")
        for name, value in (("stop", stop), ("max_epochs", max_epochs), ("max_steps", max_steps),
                            ("callbacks", tuple(self.callbacks)), ("metrics", tuple(self.metrics))):
            object.__setattr__(self, name, value)

    def make_optimizer(self) -> optimizers.Optimizer:
        if isinstance(self.optimizer, optimizers.Optimizer):
            return self.optimizer
        return optimizers.get(self.optimizer, check_real("lr", self.lr, minimum=0.0, allow_none=True))


def fit(
    net: Network,
    X: Any,
    y: Any,
    *,
    optimizer: str | optimizers.Optimizer = "sgd",
    lr: float | None = None,
    batch_size: int | None = 32,
    max_epochs: int | None = None,
    max_steps: int | None = None,
    stop: Stop | None = None,
    validation: tuple[Any, Any] | float | None = None,
    shuffle: bool = True,
    sampling: str = "epoch",
    seed: int | np.random.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool | None = None,
    monitor: Any = None,
    schedule: str | optimizers.Schedule | None = None,
    metrics: Sequence[str] = (),
    record_steps: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: str | os.PathLike[str] | None = None,
    sample_weight: Any = None,
) -> History:
    r"""Train ``net`` in place on ``(X, y)`` and return a :class:`History`.

    Parameters
    ----------
    X : array of shape (n_samples, n_inputs)
    y : targets as the loss expects (values, or class indices / one-hot for cross_entropy)
    optimizer : {"sgd", "adam", "rmsprop"} or Optimizer
        A passed object carries its own lr and keeps its state across fits.
    lr : float, optional
        Learning rate for a named optimizer (its default when omitted).
    batch_size : int or None, default 32
        None means the full batch.
    max_epochs, max_steps : int, optional
        When both are omitted: 200 epochs, or 1,000,000 steps when a loss, gradient or time target is set.
    stop : Stop, optional
    validation : (X_val, y_val) or float in (0, 1), optional
        A validation set, or the fraction of the training data to hold out for it.
    shuffle : bool
        Reshuffle every epoch (``sampling="epoch"``).
    sampling : {"epoch", "random"}
        "epoch" walks through the (shuffled) data in batches; "random" draws every batch without
        replacement from the whole set, as the blog does (an epoch is then ceil(n / batch_size) steps).
    seed : int or Generator, optional
        Seeds shuffling and sampling; the same seeds give bit-identical weights.
    callbacks : sequence of Callback
    progress : bool, optional
        A tqdm bar; None shows it only when stderr is a terminal.
    monitor : object with ``every`` and ``record(step, net, previous_weights, lr) -> dict``, optional
        For example :class:`backproplab.monitor.GradientFlow`. Its records go to ``History.monitor``.
    schedule : {"constant", "step", "invscaling", "plateau"} or Schedule, optional
    metrics : sequence of metric names, optional
        Computed every epoch on the training (and validation) data.
    record_steps : bool
        Keep every step's loss in ``History.step_loss``.
    checkpoint : path, optional
        Save the model, the optimizer state and the run's progress there every ``checkpoint_every``
        steps and at the end (atomically).
    resume : path, optional
        A checkpoint to continue from: weights, optimizer state, step and epoch counters.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights: each batch's loss is ``sum_i w_i l_i / sum_i w_i`` (see
        :class:`~backproplab.losses.WeightedLoss`); a validation set is scored unweighted.

    Notes
    -----
    When every matrix product of a step is small (``batch * (in + 1) * out`` below
    :data:`backproplab._threads.SMALL_PRODUCT` for every Dense layer, and no layer of the user's
    own), fit runs on one BLAS thread and restores the thread count when it returns. Two threads buy
    little at that size and stall whenever the second core is busy. This needs threadpoolctl
    (``pip install 'backproplab[fast]'``; scikit-learn installs it too); without it nothing changes.

    With Numba installed (the same extra), the weight snapshot and the optimizer's update run as
    one compiled pass over networks of at least :data:`backproplab._kernels.FUSED_MIN` parameters,
    and batches of at least :data:`backproplab._kernels.STREAM_MIN` entries are gathered straight
    into the first Dense layer's input buffer. The weights are bit-identical to the NumPy passes,
    which run otherwise.
    """
    metrics = check_names("metrics", metrics, metric_module.METRICS)
    callbacks = check_callbacks("callbacks", callbacks)
    config = FitConfig(optimizer=optimizer, lr=lr, batch_size=batch_size, max_epochs=max_epochs,
                       max_steps=max_steps, stop=stop if stop is not None else Stop(), validation=validation,
                       shuffle=shuffle, sampling=sampling, seed=seed, callbacks=tuple(callbacks),
                       progress=progress, monitor=monitor, schedule=schedule, metrics=tuple(metrics),
                       record_steps=record_steps, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                       resume=resume, sample_weight=sample_weight)
    trainer = Trainer(net, config)
    base_loss = net.loss_fn
    try:
        trainer.prepare(X, y)
        return trainer.run()
    finally:
        net.loss_fn = base_loss  # a WeightedLoss lives for one run only
        trainer.release()


def fit_method() -> Callable[..., History]:
    """``Network.fit``: :func:`fit` as a method, showing fit's own signature and docstring in ``help``."""

    def method(self: Network, X: Any, y: Any, **arguments: Any) -> History:
        return fit(self, X, y, **arguments)

    signature = inspect.signature(fit)
    first, *rest = signature.parameters.values()
    method.__signature__ = signature.replace(parameters=[first.replace(name="self"), *rest])  # type: ignore[attr-defined]
    method.__doc__ = fit.__doc__
    method.__name__, method.__qualname__ = "fit", "Network.fit"
    return method


class Trainer:
    """Runs one :class:`FitConfig` on one network: ``prepare(X, y)`` then ``run()``.

    Attributes (for hooks): ``net``, ``optimizer``, ``history``, ``step_count`` (updates done), ``epoch``
    (epochs completed), ``epoch_steps`` (steps of the current epoch), ``previous`` (the weights
    before the last update, laid out like ``optimizer.params``) and ``previous_weights`` (the same,
    laid out like ``net.parameters()``).
    """

    def __init__(self, net: Network, config: FitConfig) -> None:
        self.net, self.config = net, config
        self.optimizer = config.make_optimizer()
        self.schedule = optimizers.get_schedule(config.schedule)
        for name in config.metrics:
            metric_module.get(name)
        monitor = config.monitor
        if monitor is not None and not (hasattr(monitor, "every") and hasattr(monitor, "record")):
            raise TypeError("monitor must have an `every` attribute and a record(step, net, previous, lr) method")
        self.history = History(step_loss=[] if config.record_steps else None)
        self.step_count = self.epoch = self.epoch_steps = self.skip = self.skip_done = 0
        self.in_epoch = False
        self.reason = ""
        self.in_update = False  # set while the optimizer updates: a Ctrl-C then restores the weights before it
        self.last_loss = math.nan

    # ------------------------------------------------------------------ prepare
    def prepare(self, X: Any, y: Any) -> None:
        """Check and split the data, bind the optimizer, build the stop rules and hooks, resume."""
        net, config, opt = self.net, self.config, self.optimizer
        X, y = net.check_Xy(X, y)
        self.rng = check_rng_seed("seed", config.seed)
        weighted = config.sample_weight is not None
        if weighted:
            y = _with_weights(net, y, config.sample_weight)
        X, y, self.X_val, self.y_val = _validation_split(net, X, y, config.validation, config.stop, self.rng)
        if weighted and self.y_val is not None and self.y_val.shape[1] > net.n_outputs:
            self.y_val = self.y_val[:, :-1]
        X = _rows(X)  # after a split, whose rows come out row-ordered already: one copy, not two
        self.X, self.y = X, y
        self.y_plain = y[:, :-1] if weighted else y  # targets without the weight column, for metrics
        for layer in net.body:  # fitted preprocessing (Standardize) learns from the training rows once
            if getattr(layer, "fitted", True) is False:
                layer.fit(X)  # type: ignore[attr-defined]
        self.batcher = Batcher(net, X, y, config.batch_size)
        opt.bind(net.optimizer_parameters())
        self.history.config = self._describe()
        self.rules = stops.build(config.stop, config.max_epochs, config.max_steps, self.X_val is not None)
        self.step_limit = min((r.step_limit for r in self.rules if r.step_limit is not None), default=math.inf)
        self.epoch_rng_state: Any = self.rng.bit_generator.state
        self.checkpoints = self._checkpoint_hook()  # resumes, when asked to
        self.schedule.start(opt.lr)
        self.previous = [p.value.copy() for p in opt.params]
        self.initial = [p.copy() for p in self.previous]  # restored when even the last finite loss is worse
        # the run's start is the first step's loss (the starting weights on the first batch), which costs
        # nothing: until it is known every step takes refuse_update's path, which records it
        self.start_loss = math.nan
        self.diverge_above = -math.inf
        self.previous_weights = net.split(self.previous[0]) if net.flat is not None else self.previous
        self.bar = _progress_bar(config.progress, config.max_steps, config.max_epochs, self.batcher.steps_per_epoch)
        self.started = time.perf_counter()
        for rule in self.rules:
            rule.start(net, self.history, self.X_val is not None)
        for callback in config.callbacks:
            if callback.on_train_begin(net, self.history):
                self.reason = "callback"
        self._build_hooks()

    #: attributes that hold the training data or its copies (see :meth:`release`)
    _data_names = ("X", "y", "y_plain", "X_val", "y_val", "batcher", "loop")  # (loop holds the batch pass)

    def release(self) -> None:
        """Drop the training data and its copies (a row-ordered copy of X, a validation split).
        :func:`fit` calls it on return: hooks that point back at the trainer (the progress bar, a
        schedule, the monitor) make reference cycles, which would otherwise keep the copies alive
        until the garbage collector runs, while the next fit makes its own."""
        for name in self._data_names:
            self.__dict__.pop(name, None)

    def _describe(self) -> dict[str, Any]:
        config = self.config
        return {
            "optimizer": self.optimizer.config(),
            "batch_size": config.batch_size,
            "sampling": config.sampling,
            "stop": asdict(config.stop),
            "max_epochs": config.max_epochs,
            "max_steps": config.max_steps,
            "n_samples": self.X.shape[0],
            "network": self.net.spec(),
            "seed": config.seed if isinstance(config.seed, (int, type(None))) else "generator",
        }

    def _checkpoint_hook(self) -> Callback | None:
        config = self.config
        if config.checkpoint is None and config.resume is None:
            return None
        if _checkpoint_factory is None:
            raise RuntimeError("checkpoints need backproplab.persistence, which is not imported")
        return _checkpoint_factory(self, config.checkpoint, config.checkpoint_every, config.resume)

    def _build_hooks(self) -> None:
        """The ordered hook lists, computed once: (hook, stop_reason) pairs per step and per epoch."""
        early = [rule for rule in self.rules if not rule.late]
        late = [rule for rule in self.rules if rule.late]
        callbacks = list(self.config.callbacks)
        own: list[Any] = []
        if self.history.step_loss is not None:
            own.append(_RecordSteps(self.history.step_loss))
        step_sources: list[Any] = [*own, *early, *self._monitor_hooks(), *callbacks, *late]
        if self.checkpoints is not None and self.config.checkpoint_every:
            step_sources.append(self.checkpoints)
        self.step_hooks = [(hook.on_step_end, _reason(hook)) for hook in step_sources if overrides(hook, "on_step_end")]
        self.update_checks = [rule.before_update for rule in self.rules if type(rule).before_update
                              is not stops.StopRule.before_update]
        schedule = [] if type(self.schedule) is optimizers.Constant else [_Schedule(self)]  # Constant keeps lr
        epoch_sources: list[Any] = [*early, *schedule, *callbacks, *([_Bar(self)] if self.bar else []), *late]
        self.epoch_hooks = [(hook.on_epoch_end, _reason(hook)) for hook in epoch_sources
                            if overrides(hook, "on_epoch_end")]
        self.end_hooks = [hook for hook in [self.checkpoints, *callbacks] if hook is not None]
        # what steps() reads at the start of every epoch, in one tuple: a small network runs an epoch
        # in a few steps, so these reads are a measurable share of its time
        batcher = self.batcher
        self.loop = (batcher.forward_backward, self.optimizer.updater(), self.previous, self.update_checks,
                     self.step_hooks, self.step_limit, batcher.n)
        self.epoch_batches = batcher.epochs(self.rng, self.config.sampling, self.config.shuffle)
        self.epoch_extras = bool(self.config.metrics) or self.X_val is not None

    def _monitor_hooks(self) -> list[Callback]:
        monitor = self.config.monitor
        return [_Monitor(self, monitor)] if monitor is not None and monitor.every else []

    # ------------------------------------------------------------------ the loop
    def run(self) -> History:
        """Train until a stop rule, a callback, divergence or Ctrl-C ends the run; then :meth:`finish`."""
        largest = _largest_product(self.net, self.batcher.batch)
        with contextlib.ExitStack() as stack:
            stack.enter_context(_threads.blas_threads_for(largest))  # one BLAS thread for small products
            # divergence is detected from the loss and reported; numpy's warnings would be noise
            stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"))
            if self.bar is not None:
                stack.callback(self.bar.close)
            try:
                while not self.reason:
                    self.steps(self.batches())
                    if not self.end_epoch():
                        break
            except KeyboardInterrupt:
                self._interrupted()
        return self.finish()

    def batches(self) -> Iterable[np.ndarray | None]:
        """The batches of one epoch: row indices (None: the whole training set), minus those a
        resumed run has done already."""
        if self.checkpoints is not None:
            self.epoch_rng_state = self.rng.bit_generator.state
        batches = self.epoch_batches()
        self.in_epoch = True  # (steps() sets the epoch's counters)
        skip = self.skip_done = self.skip
        if skip:
            self.skip = 0
            return itertools.islice(batches, skip, None)
        return batches

    def steps(self, batches: Iterable[np.ndarray | None]) -> None:
        """One step per batch of ``batches`` (forward/backward, checks, update, step hooks), until they
        run out or something stops the run. The counters live in locals here, the hot path of a
        small network, and are stored before the hooks run and when the epoch's steps end."""
        forward_backward, update, previous, checks, step_hooks, step_limit, whole = self.loop
        limit, count, last = self.diverge_above, self.step_count, self.last_loss
        total, rows, steps, updating = 0.0, 0, 0, False
        try:
            for index in batches:
                loss = forward_backward(index)
                if not loss <= limit or checks:  # also true for nan
                    self.last_loss = last
                    if self.refuse_update(loss, count):
                        return
                    limit = self.diverge_above  # (set by the run's first step)
                updating = True
                update(previous)  # keeps the weights before the update in previous
                updating = False
                count += 1
                last = loss
                size = whole if index is None else index.shape[0]
                total += loss * size  # weighted by rows: a short last batch must not count as a full one
                rows += size
                steps += 1
                if count >= step_limit:
                    self.reason = "max_steps"
                if step_hooks:
                    self.step_count, self.epoch_steps = count, steps
                    for hook, reason in step_hooks:
                        if hook(count, loss) and not self.reason:
                            self.reason = reason
                if self.reason:
                    return
        finally:
            self.step_count, self.last_loss, self.in_update = count, last, updating
            self.epoch_loss, self.epoch_rows, self.epoch_steps = total, rows, steps

    def refuse_update(self, loss: float, step: int) -> bool:
        """Whether the update after a forward/backward pass that gave ``loss`` must not happen: the
        loss diverged (the weights of the last update are restored), or a rule that checks the
        gradient before the update is met."""
        if self.diverge_above == -math.inf:  # the run's first step: its loss is the start's
            self.start_loss = loss
            # a loss this far above the start is divergence, caught before it overflows to inf
            self.diverge_above = DIVERGE_FACTOR * max(loss, 1.0) if math.isfinite(loss) else math.inf
        if not loss <= self.diverge_above:
            self._diverged(loss, step)
            return True
        for check in self.update_checks:
            if check(step):
                self.reason = "grad_norm_below"
                return True
        return False

    def end_epoch(self) -> bool:
        """Record a completed epoch and run the epoch hooks; False when the loop must stop here
        (nothing ran, or the run stopped mid-epoch: a partial epoch is not recorded)."""
        if self.epoch_steps == 0:
            return False
        if self.reason and self.epoch_steps + self.skip_done < self.batcher.steps_per_epoch:
            return False
        history = self.history
        self.in_epoch = False
        epoch = self.epoch = self.epoch + 1
        history.epoch_time.append(time.perf_counter() - self.started)
        history.loss.append(self.epoch_loss / self.epoch_rows)
        history.lr.append(self.optimizer.lr)
        if self.epoch_extras:
            if self.config.metrics:
                _epoch_metrics(self.net, self.config.metrics, self.X, self.y_plain, self.X_val, self.y_val, history)
            if self.X_val is not None and self.y_val is not None:
                history.val_loss.append(self.net._loss_value(self.X_val, self.y_val))
        for hook, reason in self.epoch_hooks:
            if hook(epoch, history) and not self.reason:
                self.reason = reason
        return True

    # ------------------------------------------------------------------ the weights before an update
    def _diverged(self, loss: float, step: int) -> None:
        """Restore weights whose loss is no worse than the run's start, and say what to change."""
        from ._format import num

        self.reason = "diverged"
        if math.isfinite(self.last_loss) and self.last_loss <= max(self.start_loss, 0.0) * 1.0001 + 1e-300:
            self._restore()
            kept = f"restored the weights of step {step} (loss {num(self.last_loss)})"
        else:
            for p, saved in zip(self.optimizer.params, self.initial):
                _fastnp.copyto(p.value, saved)
            kept = (f"restored the starting weights (loss {num(self.start_loss)}), since the last finite loss "
                    f"{num(self.last_loss)} was already worse")
        peak = float(np.max(np.abs(self.X))) if self.X.size else 0.0
        if not math.isfinite(peak) or peak > HUGE_INPUT:
            advice = (f"The inputs reach {num(peak)} in absolute value: standardise them first "
                      "(Network.mlp(scale=\"standard\"), or --scale standard)")
        else:
            advice = (f"Try a learning rate below {self.optimizer.lr:g}, scaled inputs, or a "
                      "gradient-friendlier activation")
        what = "became" if not math.isfinite(loss) else f"rose over {num(DIVERGE_FACTOR)}x the start to"
        self.history.message = f"training diverged at step {step + 1}: the loss {what} {num(loss)}; {kept}. {advice}."

    def _restore(self) -> None:
        for p, saved in zip(self.optimizer.params, self.previous):
            _fastnp.copyto(p.value, saved)

    def _interrupted(self) -> None:
        if self.in_update:
            self._restore()
        self.reason = "interrupted"
        self.history.message = (f"interrupted by the user after step {self.step_count}; the weights of step "
                                f"{self.step_count} are kept")

    def _check_final_weights(self) -> None:
        if self.reason == "diverged" or all(np.isfinite(p.value).all() for p in self.optimizer.params):
            return
        # the last update made the weights non-finite before any forward pass could notice
        self._restore()
        self.reason = "diverged"
        self.step_count -= 1
        self.history.message = (
            f"training diverged at step {self.step_count + 1}: the update made the weights non-finite; restored the "
            f"weights of step {self.step_count}. Try a learning rate below {self.optimizer.lr:g} or scaled inputs."
        )

    # ------------------------------------------------------------------ finish
    def finish(self) -> History:
        """Fill in the History, restore the best weights if asked, warn, and run the end hooks."""
        self._check_final_weights()
        history = self.history
        history.stop_reason = self.reason
        history.n_steps = self.step_count
        history.n_epochs = self.epoch
        history.wall_time = time.perf_counter() - self.started
        for rule in self.rules:
            rule.on_train_end(history)
        self._warn()
        for hook in self.end_hooks:
            hook.on_train_end(history)
        return history

    def _warn(self) -> None:
        history, config = self.history, self.config
        if self.reason == "diverged":
            warnings.warn(history.message, DivergenceWarning, stacklevel=6)
        elif self.reason in ("max_steps", "max_epochs") and any(rule.is_target for rule in self.rules):
            limit = f"max_steps={config.max_steps}" if self.reason == "max_steps" else f"max_epochs={config.max_epochs}"
            history.message = stops.not_converged_message(self.reason, self.rules, limit)
            warnings.warn(history.message, ConvergenceWarning, stacklevel=6)

    def checkpoint_state(self) -> dict[str, Any]:
        """The run's counters for a checkpoint; the epoch's data order is replayed from its starting
        rng state on resume."""
        in_epoch = self.in_epoch
        return {"step": self.step_count, "epoch": self.epoch,
                "rng": self.epoch_rng_state if in_epoch else self.rng.bit_generator.state,
                "step_in_epoch": self.epoch_steps + self.skip_done if in_epoch else 0}

    def resume_from(self, state: dict[str, Any]) -> None:
        """Continue the counters (and the data order) of a checkpoint's run."""
        self.step_count, self.epoch, self.skip = state["step"], state["epoch"], state.get("step_in_epoch", 0)
        self.rng.bit_generator.state = state["rng"]


def _reason(hook: Any) -> str:
    return str(getattr(hook, "stop_reason", "") or "callback")


class _RecordSteps(Callback):
    """Every step's loss into ``History.step_loss``."""

    stop_reason = "-"

    def __init__(self, into: list[float]) -> None:
        self.into = into

    def on_step_end(self, step: int, loss: float) -> None:
        self.into.append(loss)


class _Monitor(Callback):
    """``monitor.record`` every ``monitor.every`` steps, into ``History.monitor``."""

    stop_reason = "-"

    def __init__(self, trainer: Trainer, monitor: Any) -> None:
        self.trainer, self.monitor, self.every = trainer, monitor, monitor.every

    def on_step_end(self, step: int, loss: float) -> None:
        if step % self.every == 0:
            trainer = self.trainer
            record = self.monitor.record(step, trainer.net, trainer.previous_weights, trainer.optimizer.lr)
            if record is not None:
                trainer.history.monitor.append(record)


class _Schedule(Callback):
    """The learning rate for the next epoch, from the schedule."""

    stop_reason = "-"

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_epoch_end(self, epoch: int, history: History) -> None:
        opt = self.trainer.optimizer
        opt.lr = self.trainer.schedule(epoch, opt.lr, history.loss[-1])


class _Bar(Callback):
    """The tqdm bar's progress."""

    stop_reason = "-"

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_epoch_end(self, epoch: int, history: History) -> None:
        trainer = self.trainer
        trainer.bar.update(trainer.epoch_steps if trainer.config.max_steps is not None else 1)
        trainer.bar.set_postfix(loss=f"{history.loss[-1]:.4g}", refresh=False)


class Batcher:
    """Gathers each batch of ``(X, y)`` into reused buffers and runs ``net.forward_backward`` on it.

    How is decided once: the whole set when one batch holds it all (the order does not change a
    full-batch mean gradient); straight into the first Dense layer's feature-major input buffer
    by one compiled pass when Numba is installed and a batch holds at least
    :data:`backproplab._kernels.STREAM_MIN` entries; otherwise ``np.take`` into a row-major buffer,
    which the first layer copies. Targets are laid out like the training output
    (``net.workspace.output_order``), so the loss never mixes orders (many times slower).
    """

    def __init__(self, net: Network, X: np.ndarray, y: np.ndarray, batch_size: int | None) -> None:
        self.net, self.X, self.y = net, X, y
        n = X.shape[0]
        self.n = n
        self.batch = n if batch_size is None else min(batch_size, n)
        self.steps_per_epoch = math.ceil(n / self.batch)
        self.reorder_y = net.workspace.output_order == "F" and y.shape[1] > 1  # one column is laid out alike either way
        self.y_full = np.asarray(y, order=net.workspace.output_order) if self.batch == n else y
        self.x_buffers: dict[int, np.ndarray] = {}
        self.y_buffers: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self.last_size = -1
        self.gather = _direct_gather(net, X, self.batch)
        # the plain function, not a bound method: a bound method kept on self is a reference cycle,
        # which would keep X (a row-ordered copy, the training rows of a split) alive after fit
        # returns, until the garbage collector happens to run
        self._pass: Callable[[Batcher, Any], float] | None = None
        self._closure: Callable[[Any], float] | None = None  # (a closure that refers to no Batcher)
        if self.batch == n:
            self._pass = Batcher._whole
        elif self.gather is not None:
            self._pass = Batcher._gathered
        else:
            self._closure = _taker(net, X, y, self.reorder_y)

    @property
    def forward_backward(self) -> Callable[[Any], float]:
        """``forward_backward(index) -> loss`` for a batch of row indices (None: the whole set)."""
        if self._closure is not None:
            return self._closure
        return self._pass.__get__(self)  # type: ignore[union-attr, no-any-return]

    def epochs(self, rng: np.random.Generator, sampling: str, shuffle: bool) -> Callable[[], Iterable[np.ndarray | None]]:
        """What gives the batches of one epoch, as row indices (None: the whole set), chosen once."""
        n, size = self.n, self.batch
        if size == n:
            return lambda: (None,)
        if sampling == "random":
            return functools.partial(_random_batches, rng, n, size, self.steps_per_epoch)

        def ordered() -> Iterable[np.ndarray]:
            order = rng.permutation(n) if shuffle else np.arange(n)
            return (order[i : i + size] for i in range(0, n, size))
        return ordered

    def _switch(self, size: int) -> None:
        if size not in self.y_buffers:
            X, y = self.X, self.y
            if self.gather is None:
                self.x_buffers[size] = np.empty((size, X.shape[1]), X.dtype)
            self.y_buffers[size] = (np.empty((size, y.shape[1]), y.dtype),
                                    np.empty((size, y.shape[1]), y.dtype, order="F") if self.reorder_y else None)
        self.xb = self.x_buffers.get(size)
        (self.yb, self.yb_ordered), self.last_size = self.y_buffers[size], size

    def _targets(self, index: np.ndarray) -> np.ndarray:
        # take writes row-major much faster than it scatters into another order, so targets for a
        # feature-major output are gathered first and then copied over
        yb = self.y.take(index, 0, self.yb, "clip")
        if self.yb_ordered is not None:
            _fastnp.copyto(self.yb_ordered, yb)
            return self.yb_ordered
        return yb

    def _whole(self, index: None) -> float:
        return self.net.forward_backward(self.X, self.y_full)

    def _gathered(self, index: np.ndarray) -> float:
        size = index.shape[0]
        if size != self.last_size:
            self._switch(size)
        X, net = self.X, self.net
        Xb = net.workspace.first_input((size, X.shape[1]), X.dtype)
        self.gather(X, index, Xb.T)  # type: ignore[misc, union-attr]
        return net.forward_backward(None, self._targets(index))  # None: the batch is in place


def _taker(net: Network, X: np.ndarray, y: np.ndarray, reorder_y: bool) -> Callable[[np.ndarray], float]:
    """``np.take`` of each batch into row-major buffers, then the forward/backward pass: the path of
    small networks, so what it reads is held in the closure rather than looked up per step. It
    refers to no Batcher (a cycle would keep X alive after fit returns)."""
    take_X, take_y, forward_backward = X.take, y.take, net.forward_backward
    buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    last, xb, yb_rows, ordered = -1, X[:0], y[:0], None

    def taken(index: np.ndarray) -> float:
        nonlocal last, xb, yb_rows, ordered
        size = index.shape[0]
        if size != last:
            if size not in buffers:
                buffers[size] = (np.empty((size, X.shape[1]), X.dtype), np.empty((size, y.shape[1]), y.dtype),
                                 np.empty((size, y.shape[1]), y.dtype, order="F") if reorder_y else None)
            (xb, yb_rows, ordered), last = buffers[size], size
        # "clip" skips take's bounds-checking temporary copy; the indices are ours and in range
        Xb = take_X(index, 0, xb, "clip")
        yb = take_y(index, 0, yb_rows, "clip")
        if ordered is not None:  # (see Batcher._targets)
            _fastnp.copyto(ordered, yb)
            yb = ordered
        return forward_backward(Xb, yb)
    return taken


RANDOM_CHUNK = 64


def _random_batches(rng: np.random.Generator, n: int, size: int, count: int) -> Any:
    """``count`` batches of ``size`` distinct rows each, every one a uniformly random subset.

    The first ``size`` entries of the argsort of ``n`` uniform keys are a uniformly random subset
    without replacement; drawing the keys for many batches in one call is cheaper than a
    ``permutation`` per batch."""
    while count > 0:
        chunk = min(count, RANDOM_CHUNK)
        keys = rng.random((chunk, n))
        yield from keys.argsort(axis=1)[:, :size]
        count -= chunk


def _direct_gather(net: Network, X: np.ndarray, batch: int) -> Any:
    """The compiled gather into the first Dense layer's input buffer (see :mod:`._kernels`), or None
    when Numba is missing, batches hold fewer than :data:`._kernels.STREAM_MIN` entries, or the first
    layer is not exactly our Dense in the data's dtype. It copies the same values as ``np.take``."""
    first = net.body[0] if net.body else None
    if type(first) is not Dense or X.dtype != first.dtype or X.ndim != 2 or batch * X.shape[1] < _kernels.STREAM_MIN:
        return None
    kernels = _kernels.kernels()
    return kernels["gather_transposed"] if kernels is not None else None


def _rows(X: np.ndarray) -> np.ndarray:
    """``X`` itself when it is row-ordered, else one row-ordered copy (of a column-ordered X: a
    DataFrame's values, a CSV reader's output). Every batch gathers rows, and ``take`` along the rows
    of an array that is not row-ordered first copies the whole array, once per batch."""
    return X if X.flags.c_contiguous else np.ascontiguousarray(X)


def _largest_product(net: Network, batch: int) -> int:
    """The largest ``m * n * k`` among the matrix products of one training step; unbounded when a
    layer is not one of ours (a class of the user's, even a subclass of ours, may multiply anything)."""
    if not all(registry.is_builtin(layer) for layer in net.body):
        return sys.maxsize
    return max((batch * (layer.in_features + 1) * layer.out_features for layer in net.body
                if isinstance(layer, Dense)), default=0)


def _held_out_rows(fraction: float, n: int) -> int:
    """How many of ``n`` rows ``validation=fraction`` holds out."""
    return int(round(fraction * n))


def _validation_split(
    net: Network, X: np.ndarray, y: np.ndarray, validation: Any, stop: Stop, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Returns (X_train, y_train, X_val, y_val); a fraction is held out of the training data."""
    if validation is None and stop.early_stopping:
        validation = 0.1
    if validation is None:
        return X, y, None, None
    if isinstance(validation, tuple):
        if len(validation) != 2:
            raise ValueError("validation must be (X_val, y_val) or a fraction in (0, 1)")
        X_val = net.check_X(validation[0], "validation X")
        y_val = net.loss_fn.prepare_targets(validation[1], net.n_outputs, net.dtype)
        if X_val.shape[0] != y_val.shape[0]:
            raise ValueError(
                f"validation X and y have different numbers of rows: {X_val.shape[0]} and {y_val.shape[0]}"
            )
        return X, y, X_val, y_val
    fraction = check_real("validation", validation, minimum=0.0, strict=True, maximum=1.0)
    n_val = _held_out_rows(fraction, X.shape[0])
    if fraction >= 1 or n_val < 1 or n_val >= X.shape[0]:
        raise ValueError(
            f"validation={validation!r} leaves {n_val} of {X.shape[0]} samples for validation; "
            "need at least one sample on each side"
        )
    order = rng.permutation(X.shape[0])
    val_idx, train_idx = order[:n_val], order[n_val:]
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]


#: a step loss above this many times max(start loss, 1) is divergence; the start loss is the first step's
DIVERGE_FACTOR = 1e6
#: inputs beyond this magnitude are named as the cause of a divergence, before the learning rate
HUGE_INPUT = 1e6


def _with_weights(net: Network, y: np.ndarray, sample_weight: Any) -> np.ndarray:
    """``y`` with the row weights as a last column (normalised to mean 1), and ``net.loss_fn``
    wrapped in a :class:`~backproplab.losses.WeightedLoss` that reads them."""
    from .losses import WeightedLoss

    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (y.shape[0],):
        raise ValueError(f"sample_weight must have shape ({y.shape[0]},), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError("sample_weight must be finite and non-negative, and not all zero")
    net.loss_fn = WeightedLoss(net.loss_fn)
    column = (weights / weights.mean()).astype(y.dtype)[:, None]
    return np.hstack([y, column])


def _epoch_metrics(
    net: Network,
    names: Sequence[str],
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    history: History,
) -> None:
    if not names:
        return
    sets: list[tuple[str, Any, Any]] = [("", X, y)] + ([("val_", X_val, y_val)] if X_val is not None else [])
    for prefix, data, target in sets:
        predictions = net._predict_blocks(data)
        for name in names:
            history.metrics.setdefault(prefix + name, []).append(metric_module.get(name)(target, predictions))


def _progress_bar(progress: bool | None, max_steps: int | None, max_epochs: int | None, steps_per_epoch: int) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress is True:
            raise ImportError(
                "progress bars need tqdm: pip install 'backproplab[progress]'"
            ) from None
        return None
    if max_steps is not None:
        return tqdm(total=max_steps, unit="step", leave=True)
    return tqdm(total=max_epochs, unit="epoch", leave=True)
