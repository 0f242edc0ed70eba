"""A labelled corpus of sick and healthy training runs, for the diagnosis tests and benchmark.

Each run trains a small network (or a hand-written NumPy loop that leaves a RunRecord, as a Probe
would) with a known defect, and is labelled with the root cause the diagnosis should name first;
healthy runs (label ``HEALTHY``) use sensible settings and must get no warning or error. Budgets are
small so that the whole corpus runs in CI. Nothing is cached across runs except the loaded data sets.

``RUNS`` lists them; ``run.execute(callbacks)`` trains and diagnoses one run and returns an
:class:`Outcome` with the data and settings, so that the benchmark can give scikit-learn's MLP and
nnscope the same runs. Used by ``tests/test_diagnosis_corpus.py`` and ``benchmarks/diagnosis.py``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import backproplab as bp
from backproplab.diagnostics import diagnose_record
from backproplab.runrecord import RunRecord

HEALTHY = "healthy"


@dataclass
class Outcome:
    diagnosis: bp.Diagnosis
    X: np.ndarray
    y: np.ndarray
    task: str
    settings: dict[str, Any] = field(default_factory=dict)  # hidden sizes, activation, solver, lr, epochs


@dataclass
class Run:
    name: str
    label: str
    data: str
    build: Callable[[Sequence[Any]], Outcome]

    def execute(self, callbacks: Sequence[Any] = ()) -> Outcome:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.build(callbacks)


RUNS: list[Run] = []


def case(name: str, label: str, data: str) -> Callable[[Callable[[Sequence[Any]], Outcome]], Callable[[Sequence[Any]], Outcome]]:
    def register(build: Callable[[Sequence[Any]], Outcome]) -> Callable[[Sequence[Any]], Outcome]:
        RUNS.append(Run(name, label, data, build))
        return build
    return register


# ---------------------------------------------------------------------- data
def standardise(A: np.ndarray) -> np.ndarray:
    std = A.std(axis=0)
    return (A - A.mean(axis=0)) / np.where(std > 0, std, 1.0)


@functools.cache
def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.float64)


def load(name: str, scaled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    X, y = _sklearn(name)
    return (standardise(X) if scaled else X.copy()), y.copy()


def friedman(n: int = 300, seed: int = 0, noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=n, noise=noise, random_state=seed)
    return standardise(X), ((y - y.mean()) / y.std()).reshape(-1, 1)


def moons(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    return standardise(X), y.astype(np.float64)


def blobs(n: int = 400, classes: int = 4, features: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=features, n_informative=8, n_classes=classes, random_state=seed)
    return standardise(X), y.astype(np.float64)


def spheres(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = bp.datasets.two_spheres(seed=seed)
    return standardise(X), y


# ---------------------------------------------------------------------- running a network
def train(
    X: np.ndarray, y: np.ndarray, sizes: list[int], callbacks: Sequence[Any], *, task: str, hidden: str = "relu",
    loss: str | None = None, output: str | None = None, init: str | None = None, seed: int = 0, l2: float = 0.0,
    mutate: Callable[[bp.Network], None] | None = None, net: bp.Network | None = None, optimizer: str = "adam",
    lr: float = 0.01, batch_size: int | None = 32, max_epochs: int | None = None, max_steps: int | None = None,
    stop: bp.Stop | None = None, validation: float | None = None,
) -> Outcome:
    """Train ``Network.mlp(sizes, ...)`` (or ``net``) with a gradient-flow monitor about every 1% of the
    run, as fit records by default, and diagnose it with its History."""
    if net is None:
        net = bp.Network.mlp(sizes, hidden=hidden, output=output, loss=loss, init=init, seed=seed, l2=l2)
    if mutate is not None:
        mutate(net)
    per_epoch = -(-len(X) // (batch_size or len(X)))
    budget = max_steps if max_steps is not None else per_epoch * (max_epochs or 200)
    history = net.fit(X, y, optimizer=optimizer, lr=lr, batch_size=batch_size, max_epochs=max_epochs, max_steps=max_steps,
                      stop=stop, validation=validation, seed=seed, callbacks=list(callbacks), progress=False,
                      monitor=bp.GradientFlow(every=max(1, budget // 100)))
    settings = {"hidden_layer_sizes": tuple(sizes[1:-1]), "activation": hidden, "solver": optimizer, "lr": lr,
                "batch_size": batch_size, "epochs": max(history.n_epochs, 1), "l2": l2, "validation": validation,
                "loss": net.loss_fn.name}
    return Outcome(bp.diagnose(net, X, y, history=history, seed=0), X, y, task, settings)


def plateau(patience: int = 10) -> bp.Stop:
    return bp.Stop(plateau=True, patience=patience)


# ---------------------------------------------------------------------- a hand-written loop that leaves a RunRecord
def hand_loop(X: np.ndarray, y: np.ndarray, callbacks: Sequence[Any], *, hidden: int = 8, lr: float = 0.1,
              steps: int = 300, seed: int = 0, bug: bool = False, every: int = 3) -> RunRecord:
    """A learner's own loop: one tanh hidden layer, identity output, mean squared error, full batch.

    With ``bug=True`` the hidden delta uses the output weights' update where the output weights belong
    (the question's bug); the record then carries a finite-difference check of that gradient."""
    rng = np.random.default_rng(seed)
    Y = y.reshape(len(y), -1)
    params = [rng.normal(0, 1 / np.sqrt(X.shape[1]), (X.shape[1], hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), (hidden, Y.shape[1])), np.zeros(Y.shape[1])]
    names = ["W1", "b1", "W2", "b2"]

    def loss_fn(p: list[np.ndarray]) -> float:
        return float(np.mean((np.tanh(X @ p[0] + p[1]) @ p[2] + p[3] - Y) ** 2))

    def grad_fn(p: list[np.ndarray]) -> list[np.ndarray]:
        A = np.tanh(X @ p[0] + p[1])
        delta = 2 * (A @ p[2] + p[3] - Y) / Y.size
        dW2 = A.T @ delta
        back = -lr * dW2 if bug else p[2]
        dZ = (delta @ back.T) * (1 - A**2)
        return [X.T @ dZ, dZ.sum(0), dW2, delta.sum(0)]

    log: dict[str, list[Any]] = {"steps": [], "loss": [], **{f"g{n}": [] for n in names}, **{f"u{n}": [] for n in names}}
    previous = [p.copy() for p in params]
    for step in range(steps + 1):
        grads = grad_fn(params)
        if step % every == 0 or step == steps:
            log["steps"].append(step)
            log["loss"].append(loss_fn(params))
            for name, g, p, before in zip(names, grads, params, previous):
                log[f"g{name}"].append(float(np.linalg.norm(g)))
                norm = np.linalg.norm(before)
                log[f"u{name}"].append(float(np.linalg.norm(p - before) / norm) if step and norm else np.nan)
            for callback in callbacks:
                callback.on_hand_step(step, params, grads, log["loss"][-1])
        if step == steps:
            break
        previous = [p.copy() for p in params]
        for p, g in zip(params, grads):
            p -= lr * g
    A = np.tanh(X @ params[0] + params[1])
    return RunRecord(
        steps=np.array(log["steps"]), loss=np.array(log["loss"]),
        grad_norms={n: np.array(log[f"g{n}"]) for n in names}, update_ratios={n: np.array(log[f"u{n}"]) for n in names},
        weight_norms={n: np.array([np.linalg.norm(p)]) for n, p in zip(names, params)}, shapes={n: p.shape for n, p in zip(names, params)},
        activation_stats=[{"name": "hidden", "kind": "tanh", "dead_fraction": 0.0,
                           "saturated_fraction": float(np.mean(np.abs(A) > 0.99)), "mean": float(A.mean())}],
        X=X, y=Y, predictions=A @ params[2] + params[3], loss_name="mse", task="regression",
        gradient_check=bp.check_gradient(loss_fn, grad_fn, [p.copy() for p in params], max_entries=20, names=names) if bug else None,
        config={"lr": lr, "optimizer": "sgd", "hidden": ["tanh"], "output": "identity", "init": "lecun_normal",
                "n_steps": steps, "stop_reason": "max_steps"},
        source="probe", weights={n: p.copy() for n, p in zip(names, params)}, update_ratio_steps=every,
    )


def record_outcome(record: RunRecord, settings: dict[str, Any]) -> Outcome:
    return Outcome(diagnose_record(record, seed=0), record.X, record.y, "regression", {**settings, "loss": "mse"})


# ---------------------------------------------------------------------- custom parts with a wrong backward
class WrongTanh(bp.Tanh):
    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (1 - self.A)  # should be 1 - A**2


class HalfMSE(bp.MSE):
    """Claims to be MSE but returns half its gradient."""

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        loss = super().value_and_grad(output, y, grad)
        grad *= 0.5
        return loss


def _set_constant(value: float) -> Callable[[bp.Network], None]:
    def mutate(net: bp.Network) -> None:
        for p in net.parameter_objects():
            p.value[...] = value if p.value.ndim == 2 else 0.0
    return mutate


def _kill_units(layer: int, count: int, bias: float) -> Callable[[bp.Network], None]:
    def mutate(net: bp.Network) -> None:
        net.parameters()[2 * layer + 1][:count] = bias
    return mutate



C, R = "classification", "regression"


# ---------------------------------------------------------------------- healthy runs (sensible settings)
@case("iris_relu_adam", HEALTHY, "iris")
def _iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y, [4, 16, 3], cb, task=C, loss="cross_entropy", stop=plateau(), max_epochs=300)


@case("wine_tanh_adam", HEALTHY, "wine")
def _wine(cb: Sequence[Any]) -> Outcome:
    X, y = load("wine")
    return train(X, y, [13, 16, 3], cb, task=C, hidden="tanh", loss="cross_entropy", stop=plateau(), max_epochs=300, seed=1)


@case("breast_cancer_relu_adam", HEALTHY, "breast_cancer")
def _cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    return train(X, y, [30, 16, 1], cb, task=C, loss="bce", lr=0.003, stop=plateau(), max_epochs=300, seed=2)


@case("digits_relu_adam", HEALTHY, "digits")
def _digits(cb: Sequence[Any]) -> Outcome:
    X, y = load("digits")
    return train(X, y, [64, 32, 10], cb, task=C, loss="cross_entropy", lr=0.003, batch_size=64, stop=plateau(5), max_epochs=100)


@case("diabetes_relu_adam", HEALTHY, "diabetes")
def _diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return train(X, standardise(y.reshape(-1, 1)), [10, 16, 1], cb, task=R, lr=0.003, stop=plateau(), max_epochs=200, seed=3)


@case("spheres_sigmoid_adam", HEALTHY, "two_spheres")
def _spheres(cb: Sequence[Any]) -> Outcome:
    X, y = spheres()
    return train(X, y, [3, 8, 1], cb, task=C, hidden="sigmoid", loss="bce", stop=plateau(), max_epochs=300)


@case("moons_tanh_two_layers", HEALTHY, "moons")
def _moons(cb: Sequence[Any]) -> Outcome:
    X, y = moons()
    return train(X, y, [2, 16, 16, 1], cb, task=C, hidden="tanh", loss="bce", stop=plateau(), max_epochs=300, seed=4)


@case("friedman_relu_regression", HEALTHY, "friedman1")
def _friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman()
    return train(X, y, [10, 32, 1], cb, task=R, stop=plateau(), max_epochs=300, seed=5)


@case("blobs_leaky_sgd_momentum", HEALTHY, "make_classification")
def _blobs(cb: Sequence[Any]) -> Outcome:
    X, y = blobs()
    return train(X, y, [20, 32, 4], cb, task=C, hidden="leaky_relu", loss="cross_entropy", optimizer="sgd", lr=0.05,
                 stop=plateau(), max_epochs=300, seed=6)


@case("iris_early_stopping", HEALTHY, "iris")
def _iris_early(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y, [4, 32, 3], cb, task=C, loss="cross_entropy", stop=bp.Stop(early_stopping=True, patience=20),
                 validation=0.2, max_epochs=400, seed=7)


@case("cancer_tanh_sgd", HEALTHY, "breast_cancer")
def _cancer_sgd(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    return train(X, y, [30, 8, 1], cb, task=C, hidden="tanh", loss="bce", optimizer="sgd", lr=0.05, stop=plateau(),
                 max_epochs=300, seed=8)


@case("hand_loop_friedman", HEALTHY, "friedman1")
def _hand_healthy(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(200, seed=1)
    return record_outcome(hand_loop(X, y, cb, hidden=16, lr=0.1, steps=1500, every=15), {"hidden_layer_sizes": (16,), "activation": "tanh", "solver": "sgd", "lr": 0.1, "epochs": 1500})


# ---------------------------------------------------------------------- sick runs, labelled with their root cause
@case("wrong_tanh_backward_wine", "gradient_mismatch", "wine")
def _mismatch_layer(cb: Sequence[Any]) -> Outcome:
    X, y = load("wine")
    net = bp.Network([bp.Dense(13, 16, rng=0), WrongTanh(), bp.Dense(16, 3, rng=1), bp.Softmax()], loss="cross_entropy")
    return train(X, y, [13, 16, 3], cb, task=C, net=net, hidden="tanh", max_epochs=30)


@case("half_gradient_loss_diabetes", "gradient_mismatch", "diabetes")
def _mismatch_loss(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    net = bp.Network([bp.Dense(10, 16, rng=2), bp.ReLU(), bp.Dense(16, 1, rng=3)], loss=HalfMSE())
    return train(X, standardise(y.reshape(-1, 1)), [10, 16, 1], cb, task=R, net=net, max_epochs=30)


@case("hand_loop_question_bug", "gradient_mismatch", "friedman1")
def _mismatch_hand(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(120, seed=2)
    return record_outcome(hand_loop(X, y, cb, hidden=3, lr=0.05, steps=600, bug=True, every=6),
                          {"hidden_layer_sizes": (3,), "activation": "tanh", "solver": "sgd", "lr": 0.05, "epochs": 600})


@case("constant_label_cancer", "constant_target", "breast_cancer")
def _constant_class(cb: Sequence[Any]) -> Outcome:
    X, _ = load("breast_cancer")
    return train(X, np.ones(len(X)), [30, 8, 1], cb, task=C, loss="bce", max_epochs=20)


@case("constant_value_diabetes", "constant_target", "diabetes")
def _constant_value(cb: Sequence[Any]) -> Outcome:
    X, _ = load("diabetes")
    return train(X, np.full((len(X), 1), 3.0), [10, 16, 1], cb, task=R, max_epochs=20, seed=1)


@case("constant_init_wine_tanh", "symmetric_units", "wine")
def _symmetric_wine(cb: Sequence[Any]) -> Outcome:
    X, y = load("wine")
    return train(X, y, [13, 16, 3], cb, task=C, hidden="tanh", loss="cross_entropy", mutate=_set_constant(0.1),
                 stop=plateau(), max_epochs=100)


@case("constant_init_friedman_relu", "symmetric_units", "friedman1")
def _symmetric_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=3)
    return train(X, y, [10, 32, 32, 1], cb, task=R, mutate=_set_constant(0.05), stop=plateau(), max_epochs=100)


@case("feature_scales_1e4_1e-2_1", "unscaled_inputs", "synthetic")
def _unscaled_synthetic(cb: Sequence[Any]) -> Outcome:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * np.array([1e4, 1e-2, 1])
    y = np.sin(X[:, :1] / 1e4) + X[:, 1:2] * 100 + 0.1 * X[:, 2:3]
    return train(X, y, [3, 16, 1], cb, task=R, max_steps=300)


@case("raw_wine_tanh", "unscaled_inputs", "wine")
def _unscaled_wine(cb: Sequence[Any]) -> Outcome:
    X, y = load("wine", scaled=False)
    return train(X, y, [13, 16, 3], cb, task=C, hidden="tanh", loss="cross_entropy", max_epochs=30, seed=2)


@case("raw_cancer_sigmoid_sgd", "unscaled_inputs", "breast_cancer")
def _unscaled_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer", scaled=False)
    return train(X, y, [30, 16, 1], cb, task=C, hidden="sigmoid", loss="bce", optimizer="sgd", lr=0.1, max_epochs=20, seed=3)


@case("raw_diabetes_target", "unscaled_targets", "diabetes")
def _unscaled_y_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return train(X, y.reshape(-1, 1), [10, 16, 1], cb, task=R, lr=0.001, max_epochs=20, seed=4)


@case("friedman_target_in_thousands", "unscaled_targets", "friedman1")
def _unscaled_y_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=4)
    return train(X, y * 1000 + 5000, [10, 32, 1], cb, task=R, optimizer="sgd", lr=0.01, max_epochs=30, seed=5)


@case("question_noise_targets", "no_signal", "noise")
def _noise_question(cb: Sequence[Any]) -> Outcome:
    X, Y = bp.datasets.noise(seed=0)
    return train(X, Y, [7, 3, 2], cb, task=R, hidden="sigmoid", init="uniform", optimizer="sgd", lr=0.04, batch_size=None,
                 max_steps=20_000, stop=bp.Stop(grad_norm_below=0.005))


@case("iris_shuffled_labels", "no_signal", "iris")
def _noise_iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, np.random.default_rng(1).permutation(y), [4, 16, 3], cb, task=C, loss="cross_entropy", max_epochs=100)


@case("gaussian_regression_noise", "no_signal", "gaussian")
def _noise_gauss(cb: Sequence[Any]) -> Outcome:
    rng = np.random.default_rng(2)
    return train(rng.normal(size=(250, 6)), rng.normal(size=(250, 1)), [6, 32, 32, 1], cb, task=R, stop=plateau(), max_epochs=100)


@case("cancer_with_label_column", "label_leak", "breast_cancer")
def _leak_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    leak = standardise((y + np.random.default_rng(0).normal(0, 0.01, len(y))).reshape(-1, 1))
    return train(np.hstack([X, leak]), y, [31, 16, 1], cb, task=C, loss="bce", lr=0.003, stop=plateau(), max_epochs=200)


@case("diabetes_with_target_copy", "label_leak", "diabetes")
def _leak_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    y = standardise(y.reshape(-1, 1))
    leak = y * 2.0 + np.random.default_rng(1).normal(0, 0.02, y.shape)
    return train(np.hstack([leak, X]), y, [11, 16, 1], cb, task=R, lr=0.003, stop=plateau(), max_epochs=200, seed=1)


@case("deep_relu_normal_init_friedman", "exploding_gradient", "friedman1")
def _explode_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=5)
    return train(X, y, [10, 64, 64, 64, 1], cb, task=R, init="normal", optimizer="sgd", lr=0.001, max_epochs=20)


@case("digits_relu_normal_init", "bad_initial_loss", "digits")
def _explode_digits(cb: Sequence[Any]) -> Outcome:
    X, y = load("digits")
    return train(X, y, [64, 128, 128, 10], cb, task=C, init="normal", loss="cross_entropy", optimizer="sgd", lr=0.01,
                 batch_size=64, max_epochs=5)


@case("diabetes_deep_relu_normal_init", "exploding_gradient", "diabetes")
def _explode_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return train(X, standardise(y.reshape(-1, 1)), [10, 64, 64, 64, 1], cb, task=R, init="normal", optimizer="sgd",
                 lr=1e-4, max_epochs=10, seed=3)


@case("moons_sgd_lr_50", "lr_too_large", "moons")
def _lr_large_moons(cb: Sequence[Any]) -> Outcome:
    X, y = moons(seed=1)
    return train(X, y, [2, 16, 1], cb, task=C, loss="bce", optimizer="sgd", lr=50.0, max_epochs=50)


@case("diabetes_sgd_lr_2", "lr_too_large", "diabetes")
def _lr_large_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return train(X, standardise(y.reshape(-1, 1)), [10, 32, 1], cb, task=R, optimizer="sgd", lr=2.0, max_epochs=30, seed=2)


@case("issue_deep_sigmoid_collapsed", "vanishing_gradient", "two_spheres")
def _vanish_spheres(cb: Sequence[Any]) -> Outcome:
    X, y = spheres()
    return train(X, y, [3] + [6] * 8 + [1], cb, task=C, hidden="sigmoid", output="sigmoid", loss="bce", init="normal",
                 optimizer="sgd", lr=0.1, max_steps=300)


@case("moons_deep_sigmoid_glorot", "vanishing_gradient", "moons")
def _vanish_moons(cb: Sequence[Any]) -> Outcome:
    X, y = moons(seed=2)
    return train(X, y, [2] + [8] * 7 + [1], cb, task=C, hidden="sigmoid", loss="bce", optimizer="sgd", lr=0.1, max_epochs=20)


@case("cancer_tanh_normal_init", "saturated_units", "breast_cancer")
def _saturated_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    return train(X, y, [30, 32, 1], cb, task=C, hidden="tanh", loss="bce", init="normal", optimizer="sgd", lr=0.01, max_epochs=10)


@case("digits_sigmoid_normal_init", "saturated_units", "digits")
def _saturated_digits(cb: Sequence[Any]) -> Outcome:
    X, y = load("digits")
    return train(X, y, [64, 32, 10], cb, task=C, hidden="sigmoid", loss="cross_entropy", init="normal", optimizer="sgd",
                 lr=0.01, batch_size=64, max_epochs=3, seed=1)


@case("iris_half_units_negative_bias", "dead_units", "iris")
def _dead_iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y, [4, 16, 3], cb, task=C, loss="cross_entropy", mutate=_kill_units(0, 10, -20.0), max_epochs=100)


@case("friedman_dead_first_layer", "dead_units", "friedman1")
def _dead_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=6)
    return train(X, y, [10, 32, 32, 1], cb, task=R, mutate=_kill_units(0, 20, -30.0), max_epochs=60)


@case("iris_classes_as_regression", "loss_task_mismatch", "iris")
def _mismatch_iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y.reshape(-1, 1), [4, 16, 1], cb, task=C, stop=plateau(), max_epochs=200)


@case("wine_classes_as_regression", "loss_task_mismatch", "wine")
def _mismatch_wine(cb: Sequence[Any]) -> Outcome:
    X, y = load("wine")
    return train(X, y.reshape(-1, 1), [13, 8, 1], cb, task=C, hidden="tanh", stop=plateau(), max_epochs=200, seed=1)


@case("cancer_mse_on_sigmoid", "loss_task_mismatch", "breast_cancer")
def _mismatch_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    return train(X, y, [30, 8, 1], cb, task=C, output="sigmoid", loss="mse", stop=plateau(), max_epochs=200, seed=2)


@case("iris_relu_normal_init", "bad_initial_loss", "iris")
def _bad_init_iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y, [4, 16, 3], cb, task=C, loss="cross_entropy", init="normal", optimizer="sgd", lr=0.01, max_epochs=10)


@case("blobs_relu_normal_init", "bad_initial_loss", "make_classification")
def _bad_init_blobs(cb: Sequence[Any]) -> Outcome:
    X, y = blobs(classes=5, seed=1)
    return train(X, y, [20, 8, 5], cb, task=C, loss="cross_entropy", init="normal", optimizer="sgd", lr=0.01, max_epochs=5)


@case("friedman_sgd_lr_1e-5", "lr_too_small", "friedman1")
def _lr_small_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=7)
    return train(X, y, [10, 32, 1], cb, task=R, optimizer="sgd", lr=1e-5, max_epochs=20)


@case("cancer_sgd_lr_1e-5", "lr_too_small", "breast_cancer")
def _lr_small_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    return train(X, y, [30, 16, 1], cb, task=C, loss="bce", optimizer="sgd", lr=1e-5, max_epochs=20, seed=1)


@case("hand_loop_lr_1e-5_friedman", "lr_from_update_ratio", "friedman1")
def _ratio_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(200, seed=8)
    return record_outcome(hand_loop(X, y, cb, hidden=16, lr=1e-5, steps=300),
                          {"hidden_layer_sizes": (16,), "activation": "tanh", "solver": "sgd", "lr": 1e-5, "epochs": 300})


@case("hand_loop_lr_1e-6_diabetes", "lr_from_update_ratio", "diabetes")
def _ratio_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return record_outcome(hand_loop(X, standardise(y.reshape(-1, 1)), cb, hidden=8, lr=1e-6, steps=300, seed=1),
                          {"hidden_layer_sizes": (8,), "activation": "tanh", "solver": "sgd", "lr": 1e-6, "epochs": 300})


@case("question_toy_grad_norm_1", "loose_stopping_rule", "question_toy")
def _loose_question(cb: Sequence[Any]) -> Outcome:
    X, Y = bp.datasets.qa_toy()
    return train(X, Y, [4, 3, 4], cb, task=R, hidden="sigmoid", init="uniform", optimizer="sgd", lr=0.004, batch_size=None,
                 max_steps=100_000, stop=bp.Stop(grad_norm_below=1.0))


@case("spheres_loss_below_0.3", "loose_stopping_rule", "two_spheres")
def _loose_spheres(cb: Sequence[Any]) -> Outcome:
    X, y = spheres(seed=1)
    return train(X, y, [3, 8, 1], cb, task=C, hidden="tanh", loss="bce", optimizer="sgd", lr=0.01, batch_size=None,
                 max_steps=100_000, stop=bp.Stop(loss_below=0.3))


@case("noisy_moons_wide_net", "overfitting", "moons")
def _overfit_moons(cb: Sequence[Any]) -> Outcome:
    from sklearn.datasets import make_moons

    X, y = make_moons(80, noise=0.45, random_state=0)
    return train(standardise(X), y.astype(np.float64), [2, 128, 128, 1], cb, task=C, loss="bce", lr=0.003, validation=0.3,
                 max_epochs=300, batch_size=16)


@case("cancer_subset_noisy_labels", "overfitting", "breast_cancer")
def _overfit_cancer(cb: Sequence[Any]) -> Outcome:
    X, y = load("breast_cancer")
    X, y = X[:80], y[:80].copy()
    flip = np.random.default_rng(0).choice(80, 10, replace=False)
    y[flip] = 1 - y[flip]
    return train(X, y, [30, 64, 1], cb, task=C, loss="bce", validation=0.3, max_epochs=200, batch_size=16)


@case("digits_three_epochs", "not_converged", "digits")
def _short_digits(cb: Sequence[Any]) -> Outcome:
    X, y = load("digits")
    return train(X, y, [64, 32, 10], cb, task=C, loss="cross_entropy", lr=0.0002, batch_size=64, max_epochs=8)


@case("friedman_ten_epochs", "not_converged", "friedman1")
def _short_friedman(cb: Sequence[Any]) -> Outcome:
    X, y = friedman(seed=10)
    return train(X, y, [10, 32, 32, 1], cb, task=R, lr=0.003, max_epochs=10)


@case("iris_l2_10", "no_better_than_baseline", "iris")
def _l2_iris(cb: Sequence[Any]) -> Outcome:
    X, y = load("iris")
    return train(X, y, [4, 16, 3], cb, task=C, loss="cross_entropy", l2=10.0, stop=plateau(), max_epochs=200)


@case("diabetes_l2_5", "no_better_than_baseline", "diabetes")
def _l2_diabetes(cb: Sequence[Any]) -> Outcome:
    X, y = load("diabetes")
    return train(X, standardise(y.reshape(-1, 1)), [10, 16, 1], cb, task=R, l2=5.0, stop=plateau(), max_epochs=200)
