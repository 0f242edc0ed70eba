"""The playground: small networks on toy data, trained live in the browser, with "break it" presets.

A trainer thread runs ``fit`` in short chunks on the current network (at most ``max_rate`` steps a
second, so a learner can watch); the page's controls arrive through the server as validated
``handle(action, params)`` calls. Each preset reproduces a failure that the source documents or the
diagnosis know, names the finding it should produce, and offers its fix as one click.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import datasets, registry
from ..history import Callback, History
from ..layers import Dense
from ..network import Network
from ..optimizers import OPTIMIZERS
from . import findings as findings_module
from .broken import BatchMeanDense, QuestionOutputDense
from .live import Dashboard

__all__ = ["Playground", "PRESETS", "DATASETS", "make_dataset"]

CHUNK = 20
ACTIVATIONS = list(registry.names("hidden"))
INITS = ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "normal", "uniform"]
LOSSES = ["mse", "bce", "cross_entropy", "mae"]
OUTPUTS = ["auto", "sigmoid", "identity"]


# ---------------------------------------------------------------------- data sets
def _circles(rng: np.random.Generator, n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    radius = np.concatenate([rng.uniform(0, 0.45, n // 2), rng.uniform(0.65, 1.0, n - n // 2)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) + rng.normal(0, 0.04, (n, 2))
    return X, (radius < 0.55).astype(float)


def _moons(rng: np.random.Generator, n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, np.pi, n)
    label = (np.arange(n) % 2).astype(float)
    X = np.where(label[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(0, 0.1, (n, 2)), label


def _spiral(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    label = (np.arange(n) % 2).astype(float)
    r = rng.uniform(0.05, 1.0, n)
    angle = 3.5 * np.pi * r + np.pi * label
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)]) + rng.normal(0, 0.03, (n, 2))
    return X, label


def _xor(rng: np.random.Generator, n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, (n, 2))
    X += np.sign(X) * 0.08  # a margin around the axes
    return X, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(float)


def _spheres(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.two_spheres(seed=rng)
    return X, y[:, 0]


def _noise(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return datasets.noise(20, 7, 2, seed=rng)


def _moons_unscaled(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X, y = _moons(rng)
    return X * np.array([1000.0, 0.01]) + np.array([5000.0, 0.0]), y


DATASETS = {
    "two spheres": (_spheres, "the blog's data: 3-D, 100 points around (1, 1, 1) and 100 around (-1, 2, -7)"),
    "xor": (_xor, "XOR: class 1 where exactly one coordinate is positive"),
    "circles": (_circles, "a disc inside a ring"),
    "moons": (_moons, "two interleaved half-moons"),
    "spiral": (_spiral, "two interleaved spiral arms"),
    "noise": (_noise, "the question's data set 2: 20 rows, 7 U(0,1) features, 2 U(0,1) targets; nothing to learn"),
    "moons, unscaled": (_moons_unscaled, "the moons with feature 1 x1000 + 5000 and feature 2 x0.01"),
}


def make_dataset(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, bool]:
    """``X``, ``y`` and whether ``y`` holds class labels (0/1), for a playground data set."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    X, y = DATASETS[name][0](np.random.default_rng(seed))
    return X, y, name != "noise"


# ---------------------------------------------------------------------- configuration
@dataclass
class Config:
    dataset: str = "circles"
    layers: str = "6,6"
    activation: str = "tanh"
    init: str = "glorot_uniform"
    loss: str = "bce"
    output: str = "auto"  # auto: sigmoid for bce (and mse on class labels), softmax for cross_entropy
    optimizer: str = "sgd"
    lr: float = 0.3
    batch_size: int = 32
    custom: str = ""  # "question_output" or "batch_mean": a source's flawed layer

    @classmethod
    def parse(cls, params: dict[str, Any], base: Config) -> Config:
        """Validate the page's parameters; a bad one raises ValueError naming it and its value."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}; expected some of {', '.join(sorted(known))}")
        merged = {**base.__dict__, **params}
        choices = {"dataset": list(DATASETS), "activation": ACTIVATIONS, "init": INITS, "loss": LOSSES, "output": OUTPUTS,
                   "optimizer": sorted(OPTIMIZERS), "custom": ["", "question_output", "batch_mean"]}
        for key, allowed in choices.items():
            if merged[key] not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(a or '(none)' for a in allowed)}; got {merged[key]!r}")
        merged["layers"] = _widths(merged["layers"])
        merged["lr"] = _number("lr", merged["lr"], float, 1e-6, 100.0)
        merged["batch_size"] = _number("batch_size", merged["batch_size"], int, 1, 1000)
        return cls(**merged)

    def widths(self) -> list[int]:
        return [int(w) for w in self.layers.split(",") if w.strip()]


def _widths(value: Any) -> str:
    text = str(value).strip()
    parts = [p.strip() for p in text.split(",")] if text else []
    if len(parts) > 10 or not all(p.isdigit() and 1 <= int(p) <= 64 for p in parts):
        raise ValueError(f"layers must be up to 10 comma-separated widths from 1 to 64, e.g. 6,6; got {text!r}")
    return ",".join(parts)


def _number(name: str, value: Any, kind: type, low: float, high: float) -> Any:
    try:
        number = kind(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number from {low:g} to {high:g}; got {value!r}")
    return number


@dataclass
class Preset:
    name: str
    title: str
    description: str
    expect: str
    config: dict[str, Any]
    fix_title: str
    fix: dict[str, Any] = field(default_factory=dict)


PRESETS = [
    Preset("deep_sigmoid", "deep sigmoid", "eight sigmoid layers with N(0,1) weights: each layer back multiplies "
           "the gradient by sigma'(z) <= 1/4", "vanishing_gradient",
           {"dataset": "circles", "layers": "6,6,6,6,6,6,6,6", "activation": "sigmoid", "init": "normal", "loss": "mse",
            "optimizer": "sgd", "lr": 0.1, "batch_size": 32, "custom": "", "output": "auto"},
           "ReLU + He, two layers", {"layers": "8,8", "activation": "relu", "init": "he_normal"}),
    Preset("huge_lr", "huge learning rate", "SGD with lr = 5 on ReLU layers and a linear output: every step "
           "overshoots and the weights grow until the loss is no longer finite", "lr_too_large",
           {"dataset": "moons", "layers": "8,8", "activation": "relu", "init": "he_normal", "loss": "mse", "output": "identity",
            "optimizer": "sgd", "lr": 5.0, "batch_size": 32, "custom": ""},
           "lr = 0.05", {"lr": 0.05}),
    Preset("noise_targets", "noise targets", "the question's data set 2: the targets are independent noise, so the "
           "best a network can do is the mean", "no_better_than_baseline",
           {"dataset": "noise", "layers": "3", "activation": "sigmoid", "init": "uniform", "loss": "mse",
            "optimizer": "sgd", "lr": 0.01, "batch_size": 20, "custom": ""},
           "use data with a signal (moons)", {"dataset": "moons", "loss": "bce", "lr": 0.3, "batch_size": 32, "init": "glorot_uniform",
                                              "activation": "tanh", "layers": "6,6"}),
    Preset("dead_relu", "dead ReLU", "ReLU with a large step: one big update pushes units negative for every input, "
           "and a dead unit gets no gradient to come back", "dead_units",
           {"dataset": "moons", "layers": "8,8", "activation": "relu", "init": "he_normal", "loss": "bce",
            "optimizer": "sgd", "lr": 4.0, "batch_size": 16, "custom": ""},
           "LeakyReLU, lr = 0.1", {"activation": "leaky_relu", "lr": 0.1}),
    Preset("unscaled_inputs", "unscaled inputs", "feature 1 is in the thousands, feature 2 in the hundredths: no "
           "single step size suits both", "unscaled_inputs",
           {"dataset": "moons, unscaled", "layers": "6,6", "activation": "tanh", "init": "glorot_uniform", "loss": "bce",
            "optimizer": "sgd", "lr": 0.1, "batch_size": 32, "custom": ""},
           "standardised inputs", {"dataset": "moons"}),
    Preset("wrong_hidden_gradient", "the question's hidden gradient", "the question's output layer sends back "
           "delta @ (-lr * dL/dW).T, the weights' update where the weights belong: the hidden layer barely learns",
           "gradient_mismatch",
           {"dataset": "moons", "layers": "3", "activation": "sigmoid", "init": "uniform", "loss": "mse",
            "optimizer": "sgd", "lr": 0.5, "batch_size": 240, "custom": "question_output"},
           "use W in the backward pass (Dense)", {"custom": ""}),
    Preset("batch_mean_update", "the blog's batch-mean update", "the blog's 3-3-2-1 sigmoid net, whose update is "
           "mean(a) x sum(delta) instead of sum(a delta): off by the batch covariance", "gradient_mismatch",
           {"dataset": "two spheres", "layers": "3,2", "activation": "sigmoid", "init": "normal", "loss": "mse",
            "optimizer": "sgd", "lr": 0.1, "batch_size": 128, "custom": "batch_mean"},
           "the mean of per-sample products (Dense)", {"custom": ""}),
]


# ---------------------------------------------------------------------- building a network
def build_network(config: Config, n_inputs: int, n_outputs: int, classes: bool, seed: int) -> Network:
    """The playground's network for ``config`` (custom layers for the sources' flawed updates)."""
    loss = config.loss
    if not classes and loss in ("bce", "cross_entropy"):
        raise ValueError(f"loss {loss!r} needs class labels; the {config.dataset!r} data set has continuous targets (use mse or mae)")
    output = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, "sigmoid" if classes else "identity")
    if config.output != "auto":
        if loss in ("bce", "cross_entropy"):
            raise ValueError(f"output must be auto with loss {loss!r}: that loss is computed from its own {output} output")
        output = config.output
    outputs = 2 if loss == "cross_entropy" else n_outputs
    sizes = [n_inputs, *config.widths(), outputs]
    if not config.custom:
        return Network.mlp(sizes, hidden=config.activation, output=output, loss=loss, init=config.init, seed=seed)
    from .. import activations

    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = index == len(sizes) - 2
        if config.custom == "batch_mean":
            layers.append(BatchMeanDense(n_in, n_out, init=config.init, rng=rng))
        elif last:
            layers.append(QuestionOutputDense(n_in, n_out, lr=config.lr, init=config.init, rng=rng))
        else:
            layers.append(Dense(n_in, n_out, init=config.init, rng=rng))
        layers.append(activations.get(output if last else config.activation))
    return Network(layers, loss=loss)


class _Steps(Callback):
    """Forwards every step of a chunk to the dashboard (the chunk's own begin/end are not the run's)."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def on_step_end(self, step: int, loss: float) -> bool | None:
        return self.board.on_step_end(step, loss)


class Playground:
    """State and controls of one playground session (see :meth:`handle`)."""

    def __init__(self, seed: int = 0, max_rate: float = 1500.0) -> None:
        self.seed = seed
        self.max_rate = max_rate
        self.board = Dashboard(serve=False, title="backproplab playground")
        # training is throttled to max_rate for watching, so frames may take a larger share of the time
        self.board.recorder.fps, self.board.recorder.budget = 8.0, 0.25
        self.board.recorder.meta["mode"] = "playground"
        self.lock = threading.RLock()
        self.running = False
        self.pending = 0
        self.stopped = threading.Event()
        self.config = Config()
        self.preset: str | None = None
        self.build(self.config)
        self.thread = threading.Thread(target=self._loop, name="backproplab-playground", daemon=True)

    # ------------------------------------------------------------------ controls
    def handle(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``start``, ``pause``, ``step``, ``reset``, ``config`` (params: a configuration),
        ``preset`` / ``fix`` (params: ``name``) and ``diagnose``; bad input raises ValueError."""
        status = self.board.recorder.status
        if action == "start":
            self.running = True
            status["state"] = "training"
        elif action == "pause":
            with self.lock:  # after the chunk in flight: the page then shows the step it stopped at
                self.running = False
                status["state"] = "paused"
        elif action == "step":
            self.running = False
            self.pending += 1
        elif action == "reset":
            self.build(self.config, self.preset)
        elif action == "config":
            self.build(Config.parse(params, self.config))
        elif action in ("preset", "fix"):
            preset = self._preset(params.get("name"))
            if action == "preset":
                self.build(Config.parse(preset.config, Config()), preset.name)
                self.running = True
            else:
                self.build(Config.parse(preset.fix, self.config))
                self.running = True
                return {"message": f"fixed: {preset.fix_title}; watch the finding go away"}
        elif action == "diagnose":
            return self.diagnose()
        else:
            raise ValueError(f"unknown action {action!r}; expected start, pause, step, reset, config, preset, fix or diagnose")
        return {}

    def _preset(self, name: Any) -> Preset:
        for preset in PRESETS:
            if preset.name == name:
                return preset
        raise ValueError(f"preset must be one of {', '.join(p.name for p in PRESETS)}; got {name!r}")

    def build(self, config: Config, preset: str | None = None) -> None:
        """A fresh network and data set for ``config``; the page's panels start over."""
        X, y, classes = make_dataset(config.dataset, self.seed)
        targets = y.reshape(len(y), -1)
        net = build_network(config, X.shape[1], targets.shape[1], classes, self.seed)
        labels = y.astype(int) if config.loss == "cross_entropy" else targets
        with self.lock:
            self.running, self.pending = False, 0
            self.config, self.preset = config, preset
            self.net, self.X, self.y = net, X, labels
            self.optimizer = OPTIMIZERS[config.optimizer](lr=config.lr)
            self.rng = np.random.default_rng(self.seed)
            self.steps = 0
            self.epoch_losses: list[float] = []
            self.last_history: History | None = None
            self.board.recorder.clear()
            self.board._data = (X, labels)
            self.board.attach(net, (X, labels))
            self.board.recorder.meta.update(self._meta())
            self.board.recorder.status.update(state="paused", step=0, stop_reason="", message="")
            self.board._network_frame(0, net.loss(X, labels))
            if config.custom:  # a custom layer: the diagnosis's gradient check speaks right away
                self._diagnose_now(controls=False)

    def _meta(self) -> dict[str, Any]:
        return {"mode": "playground", "title": "backproplab playground", "config": dict(self.config.__dict__),
                "preset": self.preset, "dataset_note": DATASETS[self.config.dataset][1],
                "choices": {"dataset": list(DATASETS), "activation": ACTIVATIONS, "init": INITS, "loss": LOSSES, "output": OUTPUTS,
                            "optimizer": sorted(OPTIMIZERS)},
                "presets": [{"name": p.name, "title": p.title, "description": p.description, "expect": p.expect,
                             "fix_title": p.fix_title} for p in PRESETS]}

    # ------------------------------------------------------------------ training
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.running = False
        if self.thread.is_alive():
            self.thread.join(5.0)

    def _loop(self) -> None:
        while not self.stopped.is_set():
            if not (self.running or self.pending):
                time.sleep(0.03)
                continue
            started = time.perf_counter()
            steps = self._chunk()
            pause = steps / self.max_rate - (time.perf_counter() - started)
            if pause > 0:
                time.sleep(pause)

    def _chunk(self) -> int:
        with self.lock:
            count = 1 if self.pending and not self.running else CHUNK
            self.pending = 0
            self.board.set_offset(self.steps)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = self.net.fit(self.X, self.y, optimizer=self.optimizer, batch_size=self.config.batch_size,
                                       max_steps=count, sampling="random", seed=self.rng, progress=False,
                                       callbacks=[_Steps(self.board)])
            self.steps += history.n_steps
            self.epoch_losses += history.loss
            self.last_history = history
            state = "training" if self.running else "paused"
            if history.stop_reason == "diverged":
                self.running = False
                state = "stopped"
                self.board.diverged = True
            self.board.recorder.status.update(state=state, step=self.steps, stop_reason=history.stop_reason
                                              if history.stop_reason == "diverged" else "", message=history.message)
            self.board.flush(self.steps)
            if history.stop_reason == "diverged" or not self.running:
                self.board._network_frame(self.steps, self.board._last_loss)
            return history.n_steps

    def diagnose(self) -> dict[str, Any]:
        """The full ``bp.diagnose`` (probes and controls) on a copy, training paused meanwhile."""
        with self.lock:
            was_running, self.running = self.running, False
            headline = self._diagnose_now(controls=True)
            self.running = was_running
        return {"message": f"diagnosis: {headline}"}

    def _diagnose_now(self, controls: bool) -> str:
        history = None
        if self.last_history is not None:
            history = self.last_history
            history = History(**{**history.__dict__, "loss": list(self.epoch_losses), "n_steps": self.steps,
                                 "stop_reason": history.stop_reason or "max_steps"})
        found, headline = findings_module.full_diagnosis(self.net, self.X, self.y, history, controls=controls, seed=self.seed)
        live = [f for f in self.board.recorder.findings if f.get("source") == "live"]
        codes = {f["code"] for f in found}
        self.board.recorder.set_findings(found + [f for f in live if f["code"] not in codes])
        self.board.recorder.meta["headline"] = headline
        return headline
