r"""The fit loop: batching, stop rules, History, callbacks, progress, divergence and Ctrl-C safety.

One training step is: gather a batch, ``net.forward_backward`` (loss and gradients), check the loss
is finite, snapshot the weights, ``optimizer.step()``. Everything optional (per-step history,
monitoring, callbacks, gradient norms, time checks) costs nothing when it is not asked for.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fastnp, _kernels, _threads, activations, optimizers
from . import metrics as metric_module
from ._validation import check_callbacks, check_int, check_names, check_real, check_rng_seed, choose
from .history import STOP_REASONS, Callback, ConvergenceWarning, DivergenceWarning, History, Stop, _overrides
from .layers import Dense

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Stop", "History", "Callback", "ConvergenceWarning", "DivergenceWarning", "fit", "STOP_REASONS"]

logger = logging.getLogger(__name__)

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
        For example :class:`backproplab.diagnostics.GradientFlow`. Its records go to ``History.monitor``.
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

    Notes
    -----
    When every matrix product of a step is small (``batch * (in + 1) * out`` below
    :data:`backproplab._threads.SMALL_PRODUCT` for every Dense layer, and no layer of the user's
    own), fit runs on one BLAS thread and restores the thread count when it returns. Two threads buy
    little at that size and stall whenever the second core is busy. This needs threadpoolctl
    (``pip install 'backproplab[fast]'``; scikit-learn installs it too); without it nothing changes.

    With Numba installed (the same extra), the divergence snapshot and the optimizer's update run as
    one compiled pass over networks of at least :data:`backproplab._kernels.FUSED_MIN` parameters,
    and batches of at least :data:`backproplab._kernels.STREAM_MIN` entries are gathered straight
    into the first Dense layer's input buffer. The weights are bit-identical to the NumPy passes, which run otherwise.
    """
    from . import persistence

    stop = stop if stop is not None else Stop()
    if not isinstance(stop, Stop):
        raise TypeError(f"stop must be a backproplab.Stop, got {type(stop).__name__}")
    max_epochs = check_int("max_epochs", max_epochs, minimum=1, allow_none=True)
    max_steps = check_int("max_steps", max_steps, minimum=1, allow_none=True)
    if max_epochs is None and max_steps is None:
        if stop.loss_below is not None or stop.grad_norm_below is not None or stop.time_limit is not None:
            max_steps = 1_000_000
        else:
            max_epochs = 200
    batch_size = check_int("batch_size", batch_size, minimum=1, allow_none=True)
    choose("sampling", sampling, ("epoch", "random"))
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, minimum=1, allow_none=True)
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError("checkpoint_every is set but checkpoint (the file path) is not")
    if isinstance(optimizer, optimizers.Optimizer):
        if lr is not None:
            raise ValueError("lr was given together with an optimizer object; set lr on the optimizer instead")
        opt = optimizer
    else:
        opt = optimizers.get(optimizer, check_real("lr", lr, minimum=0.0, allow_none=True))
    sched = optimizers.get_schedule(schedule)
    metrics = check_names("metrics", metrics, metric_module.METRICS)
    if monitor is not None and not (hasattr(monitor, "every") and hasattr(monitor, "record")):
        raise TypeError("monitor must have an `every` attribute and a record(step, net, previous, lr) method")
    callbacks = check_callbacks("callbacks", callbacks)

    X, y = net.check_Xy(X, y)
    rng = check_rng_seed("seed", seed)
    X, y, X_val, y_val = _validation_split(net, X, y, validation, stop, rng)

    n = X.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    params = net.parameter_objects()
    opt.bind(net.optimizer_parameters())
    history = History(step_loss=[] if record_steps else None)
    history.config = {
        "optimizer": opt.config(),
        "batch_size": batch_size,
        "sampling": sampling,
        "stop": asdict(stop),
        "max_epochs": max_epochs,
        "max_steps": max_steps,
        "n_samples": n,
        "network": net.spec(),
        "seed": seed if isinstance(seed, (int, type(None))) else "generator",
    }
    step = epoch = skip = 0
    if resume is not None:
        state = persistence.load_checkpoint(resume, net, opt)
        step, epoch, skip = state["step"], state["epoch"], state.get("step_in_epoch", 0)
        rng.bit_generator.state = state["rng"]
    sched.start(opt.lr)

    # the weights before the current update: restored on divergence or an interrupted update
    flat = net.flat
    if flat is not None:
        snapshot_flat = flat.value.copy()
        snapshot = net.split(snapshot_flat)
    else:
        snapshot = [p.value.copy() for p in params]
    best_weights: list[np.ndarray] | None = None
    best_val = math.inf
    best_train = math.inf
    bad_val_epochs = bad_train_epochs = 0
    window_sum, window_count = 0.0, 0
    step_hooks = [cb for cb in callbacks if _overrides(cb, "on_step_end")]
    monitor_every = monitor.every if monitor is not None else 0
    full_batch_in_place = bs == n  # order does not change a full-batch mean gradient
    # targets in the memory order of the training output, so the loss never mixes orders (many times slower)
    out_order = net._output_order
    reorder_y = out_order == "F" and y.shape[1] > 1  # a single column is laid out alike either way
    y_full_batch = np.asarray(y, order=out_order) if full_batch_in_place else y
    x_buffers: dict[int, np.ndarray] = {}
    y_buffers: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    last_size, xb, yb_buffer, yb_ordered = -1, None, None, None
    grad_target = stop.grad_norm_below
    time_limit = stop.time_limit
    last_grad_norm = math.nan
    bar = _progress_bar(progress, max_steps, max_epochs, steps_per_epoch)
    start = time.perf_counter()
    reason = ""
    in_update = False
    last_loss = math.nan
    epoch_loss, epoch_steps, epoch_rows = 0.0, 0, 0

    epoch_rng_state: Any = rng.bit_generator.state
    step_extras = bool(record_steps or stop.loss_below is not None or monitor_every or step_hooks
                       or time_limit is not None or checkpoint_every)

    def checkpoint_state() -> dict[str, Any]:
        # the epoch's data order is replayed from its starting rng state on resume
        return {"step": step, "epoch": epoch, "rng": epoch_rng_state if in_epoch else rng.bit_generator.state,
                "step_in_epoch": epoch_steps + skip_done if in_epoch else 0}

    for cb in callbacks:
        if cb.on_train_begin(net, history):
            reason = "callback"
    in_epoch = False
    skip_done = 0
    # bound once: attribute lookups are a noticeable part of a step on small networks
    take_X, take_y, copyto, forward_backward, opt_step = X.take, y.take, _fastnp.copyto, net.forward_backward, opt.step
    # decided once: the fused pass applies to the whole fit or to none of it
    fused_step = opt._fused_step if flat is not None and opt._fusable(snapshot_flat) is not None else None
    flat_value = flat.value if flat is not None else None
    # decided once: batches gathered straight into the first Dense layer's feature-major input
    # buffer by one compiled pass, instead of np.take into a row-major buffer and a transposing copy
    direct = _direct_gather(net, X, bs)
    gather: Any = direct[0] if direct is not None else None
    input_buffer = direct[1] if direct is not None else None
    errstate = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")
    # one BLAS thread when every product of a step is small (see _threads for the measurements)
    blas_threads = _threads.blas_threads_for(_largest_product(net, bs))
    blas_threads.__enter__()
    errstate.__enter__()  # divergence is detected from the loss and reported; numpy's warnings would be noise
    try:
        while not reason:
            # ---------------------------------------------------------------- one epoch
            if checkpoint is not None:
                epoch_rng_state = rng.bit_generator.state
            if full_batch_in_place:
                batches: Any = (None,)
            elif sampling == "random":
                batches = _random_batches(rng, n, bs, steps_per_epoch)
            else:
                order = rng.permutation(n) if shuffle else np.arange(n)
                batches = (order[i : i + bs] for i in range(0, n, bs))
            epoch_loss, epoch_steps, epoch_rows = 0.0, 0, 0
            in_epoch = True
            if skip:
                batches = itertools.islice(batches, skip, None)
                skip_done, skip = skip, 0
            else:
                skip_done = 0
            for index in batches:
                if index is None:
                    Xb, yb = X, y_full_batch
                else:
                    size = index.shape[0]
                    if size != last_size:
                        if size not in y_buffers:
                            if gather is None:
                                x_buffers[size] = np.empty((size, X.shape[1]), X.dtype)
                            y_buffers[size] = (np.empty((size, y.shape[1]), y.dtype),
                                               np.empty((size, y.shape[1]), y.dtype, order="F") if reorder_y else None)
                        xb = x_buffers.get(size)
                        (yb_buffer, yb_ordered), last_size = y_buffers[size], size
                    if input_buffer is not None:
                        Xb = input_buffer((size, X.shape[1]), X.dtype)
                        gather(X, index, Xb.T)
                    else:
                        # "clip" skips take's bounds-checking temporary copy; the indices are ours and in range
                        Xb = take_X(index, 0, xb, "clip")
                    # take writes row-major 4x faster than it scatters into another order, so targets
                    # for a feature-major output are gathered first and then copied over
                    yb = take_y(index, 0, yb_buffer, "clip")
                    if yb_ordered is not None:
                        copyto(yb_ordered, yb)
                        yb = yb_ordered
                loss = forward_backward(Xb, yb)
                if not math.isfinite(loss):
                    net.set_weights(snapshot)
                    reason = "diverged"
                    history.message = (
                        f"training diverged at step {step + 1}: the loss became {loss}; restored the "
                        f"weights of step {step} (last finite loss {last_loss:.6g}). Try a learning rate "
                        f"below {opt.lr:g}, scaled inputs, or a gradient-friendlier activation."
                    )
                    break
                if grad_target is not None:
                    last_grad_norm = _grad_norm(flat, params)
                    if last_grad_norm < grad_target:
                        reason = "grad_norm_below"
                        history.grad_norm.append(last_grad_norm)
                        break
                # the snapshot and the update in one compiled pass, which a Ctrl-C cannot split (see _kernels)
                if fused_step is None or not fused_step(snapshot_flat):
                    if flat_value is not None:
                        copyto(snapshot_flat, flat_value)
                    else:
                        for p, saved in zip(params, snapshot):
                            copyto(saved, p.value)
                    in_update = True
                    opt_step()
                    in_update = False
                step += 1
                last_loss = loss
                rows = Xb.shape[0]
                epoch_loss += loss * rows  # weighted by rows: a short last batch must not count as a full one
                epoch_rows += rows
                epoch_steps += 1
                if max_steps is not None and step >= max_steps:
                    reason = "max_steps"
                if not step_extras:
                    if reason:
                        break
                    continue
                if history.step_loss is not None:
                    history.step_loss.append(loss)
                if stop.loss_below is not None:
                    window_sum += loss
                    window_count += 1
                    if window_count == stop.window:
                        mean = window_sum / window_count
                        history.window_loss.append(mean)
                        window_sum, window_count = 0.0, 0
                        if mean < stop.loss_below:
                            reason = reason or "loss_below"
                if monitor_every and step % monitor_every == 0:
                    record = monitor.record(step, net, snapshot, opt.lr)
                    if record is not None:
                        history.monitor.append(record)
                for cb in step_hooks:
                    if cb.on_step_end(step, loss):
                        reason = reason or "callback"
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    reason = reason or "time_limit"
                if checkpoint_every and step % checkpoint_every == 0 and checkpoint is not None:
                    persistence.save_checkpoint(checkpoint, net, opt, checkpoint_state())
                if reason:
                    break
            if epoch_steps == 0:
                break
            # ---------------------------------------------------------------- end of epoch
            if reason and epoch_steps + skip_done < steps_per_epoch:
                break  # stopped mid-epoch: a partial epoch is not recorded as an epoch
            in_epoch = False
            epoch += 1
            epoch_mean = epoch_loss / epoch_rows
            history.epoch_time.append(time.perf_counter() - start)
            history.loss.append(epoch_mean)
            history.lr.append(opt.lr)
            if grad_target is not None:
                history.grad_norm.append(last_grad_norm)
            _epoch_metrics(net, metrics, X, y, X_val, y_val, history)
            if X_val is not None and y_val is not None:
                val = net._loss_value(X_val, y_val)
                history.val_loss.append(val)
                if val < best_val - stop.tol:
                    best_val, bad_val_epochs = val, 0
                    best_weights = net.get_weights()
                    history.best_epoch = epoch
                else:
                    bad_val_epochs += 1
                    if stop.early_stopping and bad_val_epochs >= stop.patience:
                        reason = reason or "early_stopping"
            if stop.plateau:
                if epoch_mean < best_train - stop.tol:
                    best_train, bad_train_epochs = epoch_mean, 0
                else:
                    bad_train_epochs += 1
                    if bad_train_epochs >= stop.patience:
                        reason = reason or "plateau"
            opt.lr = sched(epoch, opt.lr, epoch_mean)
            for cb in callbacks:
                if cb.on_epoch_end(epoch, history):
                    reason = reason or "callback"
            if bar is not None:
                bar.update(epoch_steps if max_steps is not None else 1)
                bar.set_postfix(loss=f"{epoch_mean:.4g}", refresh=False)
            if max_epochs is not None and epoch >= max_epochs:
                reason = reason or "max_epochs"
    except KeyboardInterrupt:
        if in_update:
            net.set_weights(snapshot)
        reason = "interrupted"
        history.message = f"interrupted by the user after step {step}; the weights of step {step} are kept"
    finally:
        errstate.__exit__(None, None, None)
        blas_threads.__exit__(None, None, None)
        if bar is not None:
            bar.close()
    if reason != "diverged" and not all(np.isfinite(p.value).all() for p in params):
        # the last update made the weights non-finite before any forward pass could notice
        net.set_weights(snapshot)
        reason = "diverged"
        step -= 1
        history.message = (
            f"training diverged at step {step + 1}: the update made the weights non-finite; restored the weights "
            f"of step {step}. Try a learning rate below {opt.lr:g} or scaled inputs."
        )
    history.stop_reason = reason
    history.n_steps = step
    history.n_epochs = epoch
    history.wall_time = time.perf_counter() - start
    if stop.early_stopping and best_weights is not None:
        net.set_weights(best_weights)
        history.message = (history.message + " " if history.message else "") + (
            f"restored the weights of epoch {history.best_epoch} (best validation loss {best_val:.6g})"
        )
    if reason == "diverged":
        warnings.warn(history.message, DivergenceWarning, stacklevel=3)
    elif reason in ("max_steps", "max_epochs") and stop.has_target:
        history.message = _not_converged_message(reason, stop, history, max_steps, max_epochs, last_grad_norm)
        warnings.warn(history.message, ConvergenceWarning, stacklevel=3)
    if checkpoint is not None:
        persistence.save_checkpoint(checkpoint, net, opt, checkpoint_state())
    for cb in callbacks:
        cb.on_train_end(history)
    return history


RANDOM_CHUNK = 64


def _random_batches(rng: np.random.Generator, n: int, size: int, count: int) -> Any:
    """``count`` batches of ``size`` distinct rows each, every one a uniformly random subset.

    The first ``size`` entries of the argsort of ``n`` uniform keys are a uniformly random subset
    without replacement; drawing the keys for many batches in one call costs a third of a
    ``permutation`` per batch."""
    while count > 0:
        chunk = min(count, RANDOM_CHUNK)
        keys = rng.random((chunk, n))
        yield from keys.argsort(axis=1)[:, :size]
        count -= chunk


def _direct_gather(net: Network, X: np.ndarray, batch: int) -> tuple[Any, Callable[..., np.ndarray]] | None:
    """The compiled gather and the first layer's ``input_buffer`` it writes to (see :mod:`._kernels`), or None when
    Numba is missing, batches hold fewer than :data:`._kernels.STREAM_MIN` entries, or the first
    layer is not exactly our Dense in the data's dtype. It copies the same values as ``np.take``;
    on the 784-512-256-10 network it takes 260-300 us where take and the copy took 390-440 us."""
    first = net.body[0] if net.body else None
    if type(first) is not Dense or X.dtype != first.dtype or X.ndim != 2 or batch * X.shape[1] < _kernels.STREAM_MIN:
        return None
    kernels = _kernels.kernels()
    return (kernels["gather_transposed"], first.input_buffer) if kernels is not None else None


def _largest_product(net: Network, batch: int) -> int:
    """The largest ``m * n * k`` among the matrix products of one training step; unbounded when a
    layer is not one of ours (a class of the user's, even a subclass of ours, may multiply anything)."""
    builtin = (Dense, *activations.ACTIVATIONS.values())
    if not all(type(layer) in builtin for layer in net.body):
        return sys.maxsize
    return max((batch * (layer.in_features + 1) * layer.out_features for layer in net.body
                if isinstance(layer, Dense)), default=0)


def _grad_norm(flat: Any, params: list[Any]) -> float:
    if flat is not None:
        return math.sqrt(float(np.vdot(flat.grad, flat.grad)))
    return math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))


def _not_converged_message(
    reason: str, stop: Stop, history: History, max_steps: int | None, max_epochs: int | None, grad_norm: float
) -> str:
    limit = f"max_steps={max_steps}" if reason == "max_steps" else f"max_epochs={max_epochs}"
    parts = []
    if stop.loss_below is not None:
        last = history.window_loss[-1] if history.window_loss else (history.loss[-1] if history.loss else math.nan)
        parts.append(
            f"loss {last:.4g} is {last / stop.loss_below:.3g}x the target loss_below={stop.loss_below:g}"
        )
    if stop.grad_norm_below is not None:
        parts.append(
            f"gradient norm {grad_norm:.4g} is {grad_norm / stop.grad_norm_below:.3g}x the target "
            f"grad_norm_below={stop.grad_norm_below:g}"
        )
    if stop.plateau or stop.early_stopping:
        parts.append("the loss was still improving")
    return f"did not converge within {limit}: " + "; ".join(parts)


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
    n_val = int(round(fraction * X.shape[0]))
    if fraction >= 1 or n_val < 1 or n_val >= X.shape[0]:
        raise ValueError(
            f"validation={validation!r} leaves {n_val} of {X.shape[0]} samples for validation; "
            "need at least one sample on each side"
        )
    order = rng.permutation(X.shape[0])
    val_idx, train_idx = order[:n_val], order[n_val:]
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]


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
        predictions = net._predict(data)
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
        return tqdm(total=max_steps, unit="step", leave=False)
    return tqdm(total=max_epochs, unit="epoch", leave=False)
