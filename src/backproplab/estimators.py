"""scikit-learn compatible estimators: ``BackpropClassifier`` and ``BackpropRegressor``.

This is the only module that imports scikit-learn (``pip install 'backproplab[sklearn]'``). Parameters
mirror ``MLPClassifier``/``MLPRegressor`` where the meaning is the same; backproplab's own options
(``loss``, ``output``, ``stop``, ``monitor``, ``dtype``) come on top.

Differences from scikit-learn's MLP, on purpose:
- ``alpha`` is scikit-learn's L2 strength: scikit-learn adds ``alpha / (2 * n_batch) * sum ||W||^2``
  to each batch's loss, ``n_batch`` being that batch's own row count. Here ``l2`` is fixed for the
  fit at ``alpha / batch_size`` (the batch size in use, at most the training rows), so the last,
  shorter batch of an epoch gets a slightly weaker penalty than in scikit-learn.
- With ``early_stopping`` the validation *loss* (not the score) decides, and the best weights are kept.
- ``solver`` also accepts "rmsprop"; "lbfgs" is not offered (backproplab trains by backprop steps).
- ``tol`` keeps scikit-learn's meaning: the regressor's "mse" is the full mean squared error, twice
  scikit-learn's half squared error, so the plateau rule compares against ``2 * tol``.
- ``init`` (default "glorot_uniform": weights from ``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``,
  and zero biases) picks the initialiser. scikit-learn's MLP draws the biases from the same range too,
  and uses ``l = sqrt(2 / (fan_in + fan_out))`` with ``activation="logistic"``.
- ``learning_rate`` ("constant", "invscaling", "adaptive") applies to ``solver="sgd"`` only, as in
  scikit-learn. "invscaling" is scikit-learn's ``lr = learning_rate_init / (t + 1) ** power_t`` with
  ``t`` the samples seen, updated at the end of each epoch. "adaptive" divides the rate by 5 after
  two epochs without improvement (backproplab's ``ReduceOnPlateau``); unlike scikit-learn it does not
  replace the ``n_iter_no_change`` stop.
- ``t_`` counts the training samples seen, as scikit-learn's does.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("backproplab.estimators needs scikit-learn: pip install 'backproplab[sklearn]'") from None

from . import optimizers, registry
from ._validation import check_estimator_params, choose, plain
from .network import Network
from .training import Callback, ConvergenceWarning, History, Stop, _held_out_rows

__all__ = ["BackpropClassifier", "BackpropRegressor"]

#: scikit-learn's name for the sigmoid, and every hidden activation of the layer registry
ACTIVATION_NAMES = {"logistic": "sigmoid", **{name: name for name in registry.names("hidden")}}
SCHEDULES = ("constant", "invscaling", "adaptive")


class _BaseBackprop(BaseEstimator):
    network_: Network
    loss_curve_: list[float]
    validation_loss_: list[float]
    classes_: np.ndarray
    _optimizer_state: optimizers.Optimizer
    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        stop: Stop | None = None,
        monitor: Any = None,
        dtype: str = "float64",
        init: str = "glorot_uniform",
        scale: str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.stop = stop
        self.monitor = monitor
        self.dtype = dtype
        self.init = init
        self.scale = scale

    # ------------------------------------------------------------------ pieces
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = [sizes]
        sizes = list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer or 'auto', got {self.batch_size!r}")
        return min(int(self.batch_size), n)

    def _optimizer(self) -> optimizers.Optimizer:
        choose("solver", self.solver, ("sgd", "adam", "rmsprop"))
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return optimizers.SGD(lr=lr, momentum=self.momentum, nesterov=bool(self.nesterovs_momentum and self.momentum))
        if self.solver == "adam":
            return optimizers.Adam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        return optimizers.RMSProp(lr=lr, eps=self.epsilon)

    def _schedule(self, training_rows: int) -> optimizers.Schedule:
        choose("learning_rate", self.learning_rate, SCHEDULES)
        if self.solver != "sgd":  # scikit-learn's schedules are for SGD; Adam and RMSProp keep their rate
            return optimizers.Constant()
        if self.learning_rate == "invscaling":
            return optimizers.InverseScaling(self.power_t, per_epoch=training_rows)
        if self.learning_rate == "adaptive":
            return optimizers.ReduceOnPlateau(factor=0.2, patience=2, tol=0.0)
        return optimizers.Constant()

    def _stop(self) -> Stop:
        if self.stop is not None:
            return self.stop
        return Stop(plateau=not self.early_stopping, early_stopping=bool(self.early_stopping),
                    patience=self.n_iter_no_change, tol=self.tol * self._loss_scale())

    def _loss_scale(self) -> float:
        """backproplab's loss over scikit-learn's for the same fit: ``tol`` keeps scikit-learn's meaning."""
        return 1.0

    def _build(self, n_features: int, n_outputs: int, seed: int) -> Network:
        choose("activation", self.activation, ACTIVATION_NAMES)
        output, loss = self._head()
        scaling: dict[str, Any] = {} if self.scale is None else {"scale": choose("scale", self.scale, ("standard", "minmax"))}
        return Network.mlp(
            [n_features, *self._hidden_sizes(), n_outputs],
            hidden=ACTIVATION_NAMES[self.activation],
            output=output,
            loss=loss,
            init=self.init,
            seed=seed,
            dtype=self.dtype,
            l2=0.0,
            **scaling,
        )

    def _head(self) -> tuple[str, str]:
        raise NotImplementedError

    def _n_outputs(self, Y: np.ndarray) -> int:
        return Y.shape[1]

    def _train(self, X: np.ndarray, Y: np.ndarray, epochs: int, incremental: bool,
               sample_weight: np.ndarray | None = None) -> History:
        fresh = not (hasattr(self, "network_") and (self.warm_start or incremental))
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        n_outputs = self._n_outputs(Y)
        if fresh or self.network_.n_inputs != X.shape[1] or self.network_.n_outputs != n_outputs:
            self.network_ = self._build(X.shape[1], n_outputs, seed)
            if self.scale is not None:
                scaler: Any = self.network_.layers[0]  # the Standardize layer, fitted on the first training data
                scaler.fit(X)
            self._optimizer_state = self._optimizer()
            self.loss_curve_, self.validation_loss_, self.n_iter_, self.t_ = [], [], 0, 0
        validation = self.early_stopping and not incremental
        training_rows = len(X) - (_held_out_rows(self.validation_fraction, len(X)) if validation else 0)
        batch = self._batch(training_rows)
        self.network_.l2 = float(self.alpha) / batch
        stop = Stop() if incremental else self._stop()
        if not incremental:
            self._optimizer_state.lr = float(self.learning_rate_init)
        extra: dict[str, Any] = {} if sample_weight is None else {"sample_weight": sample_weight}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            history = self.network_.fit(
                X, Y,
                optimizer=self._optimizer_state,
                batch_size=batch,
                max_epochs=epochs,
                stop=stop,
                validation=self.validation_fraction if validation else None,
                shuffle=self.shuffle,
                seed=seed,
                progress=False,
                callbacks=[_IterationLines(self.n_iter_)] if self.verbose else [],
                monitor=self.monitor,
                schedule=None if incremental else self._schedule(training_rows),
                **extra,
            )
        for warning in caught:
            category = SklearnConvergenceWarning if issubclass(warning.category, ConvergenceWarning) else warning.category
            warnings.warn(str(warning.message), category, stacklevel=3)
        self.history_ = history
        self.stop_reason_ = history.stop_reason
        self.loss_curve_ = list(self.loss_curve_) + list(history.loss)
        self.validation_loss_ = list(self.validation_loss_) + list(history.val_loss)
        self.n_iter_ += history.n_epochs
        self.t_ += history.n_epochs * training_rows  # samples seen, as scikit-learn counts them
        finite = [v for v in self.loss_curve_ if np.isfinite(v)]
        self.best_loss_ = min(finite) if finite else float("nan")
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        params = self.network_.parameters()
        self.coefs_ = params[0::2]
        self.intercepts_ = params[1::2]
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = n_outputs
        self.out_activation_ = self._head()[0]
        return history

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), order="C")
        return self.network_.predict(np.asarray(X, dtype=self.network_.dtype))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags


class BackpropClassifier(ClassifierMixin, _BaseBackprop):
    """A multi-layer perceptron classifier trained by backproplab.

    Binary problems use one sigmoid output with binary cross-entropy, multi-class problems a
    softmax output with cross-entropy (both fused, from logits). See the module docstring for the
    parameters; they mirror ``sklearn.neural_network.MLPClassifier``. ``class_weight`` ("balanced" or
    a dict) weighs each class as ``sklearn.linear_model.LogisticRegression`` does.

    Attributes
    ----------
    classes_, n_features_in_, coefs_, intercepts_, n_iter_, loss_curve_, validation_loss_, best_loss_,
    history_ (backproplab History of the last fit), stop_reason_, network_ (the trained Network)
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        stop: Stop | None = None,
        monitor: Any = None,
        dtype: str = "float64",
        init: str = "glorot_uniform",
        scale: str | None = None,
        class_weight: Any = None,
    ) -> None:
        # scikit-learn reads parameters from the signature, so every one is spelled out here
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, stop=stop, monitor=monitor, dtype=dtype, init=init, scale=scale,
        )
        self.class_weight = class_weight

    def _head(self) -> tuple[str, str]:
        return ("sigmoid", "bce") if len(self.classes_) == 2 else ("softmax", "cross_entropy")

    def _n_outputs(self, Y: np.ndarray) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _encode(self, y: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return index.reshape(-1, 1).astype(float)
        return index

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropClassifier:
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,).

        ``sample_weight`` (n_samples,) weighs each row's loss; ``class_weight`` multiplies it per class."""
        check_estimator_params(self.get_params())
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), order="C")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"the number of classes has to be greater than one; got {len(classes)} class")
        if hasattr(self, "classes_") and self.warm_start and not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start can only be used where y has the same classes as in the previous fit: {self.classes_}")
        self.classes_ = classes
        weights = self._weights(y, sample_weight, len(X))
        if weights is not None and len(np.unique(y[weights > 0])) < 2:
            raise ValueError("sample_weight leaves fewer than two classes with positive weight; the number of "
                             "classes has to be greater than one")
        self._train(X, self._encode(y), self.max_iter, incremental=False, sample_weight=weights)
        return self

    def _weights(self, y: np.ndarray, sample_weight: Any, n: int) -> np.ndarray | None:
        """Per-row weights: ``sample_weight`` times the class weight of each row's label.

        ``class_weight="balanced"`` gives class ``c`` the weight ``n_samples / (n_classes * count(c))``,
        as scikit-learn's ``compute_class_weight``; a dict maps labels to weights (others get 1)."""
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, n)
        if self.class_weight is None:
            return weights
        index = np.searchsorted(self.classes_, y)
        if isinstance(self.class_weight, str):
            choose("class_weight", self.class_weight, ("balanced",))
            per_class = n / (len(self.classes_) * np.bincount(index, minlength=len(self.classes_)))
        elif isinstance(self.class_weight, dict):
            unknown = [k for k in self.class_weight if k not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight names labels that are not in y: {unknown!r}")
            per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])
        else:
            raise TypeError(f"class_weight must be None, 'balanced' or a dict, got {self.class_weight!r}")
        row_weights = per_class[index]
        return row_weights if weights is None else weights * row_weights

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BackpropClassifier:
        """One epoch over ``(X, y)``; the first call needs ``classes``."""
        check_estimator_params(self.get_params())
        first = not hasattr(self, "classes_")
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32), order="C")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError("the number of classes has to be greater than one")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to partial_fit: {self.classes_}")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not in classes: {unknown.tolist()}")
        self._train(X, self._encode(y), 1, incremental=True)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        P = self._forward(X)
        if len(self.classes_) == 2:
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class BackpropRegressor(RegressorMixin, _BaseBackprop):
    """A multi-layer perceptron regressor trained by backproplab (mirrors ``MLPRegressor``).

    Extra parameters: ``loss`` ("mse" or "mae") and ``output`` (the output activation, "identity"
    by default).
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        loss: str = "mse",
        output: str = "identity",
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        stop: Stop | None = None,
        monitor: Any = None,
        dtype: str = "float64",
        init: str = "glorot_uniform",
        scale: str | None = None,
    ) -> None:
        # scikit-learn reads parameters from the signature, so every one is spelled out here
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, stop=stop, monitor=monitor, dtype=dtype, init=init, scale=scale,
        )
        self.loss = loss
        self.output = output

    def _head(self) -> tuple[str, str]:
        choose("loss", self.loss, ("mse", "mae"))
        return self.output, self.loss

    def _loss_scale(self) -> float:
        # scikit-learn's regressor minimises half the squared error; backproplab's "mse" is the full mean
        return 2.0 if self.loss == "mse" else 1.0

    def _targets(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BackpropRegressor:
        """Train on ``X`` of shape (n_samples, n_features) and targets of shape (n_samples,) or (n_samples, n_outputs);
        ``sample_weight`` (n_samples,) weighs each row's loss."""
        check_estimator_params(self.get_params())
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32), order="C")
        self._y_ndim = np.ndim(y)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, len(X))
        self._train(X, self._targets(y), self.max_iter, incremental=False, sample_weight=weights)
        return self

    def partial_fit(self, X: Any, y: Any) -> BackpropRegressor:
        """One epoch over ``(X, y)``."""
        check_estimator_params(self.get_params())
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32),
                             order="C")
        if first:
            self._y_ndim = np.ndim(y)
        self._train(X, self._targets(y), 1, incremental=True)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) for a 1-D training target, else (n_samples, n_outputs)."""
        P = self._forward(X)
        return P.ravel() if self._y_ndim == 1 else P

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags



def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {weights.shape}")
    if not np.isfinite(weights).all() or (weights < 0).any() or not weights.any():
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return weights


class _IterationLines(Callback):
    """scikit-learn's ``verbose``: one line per epoch on stdout (``Iteration 3, loss = 0.12345678``),
    never a progress bar, so captured output stays readable."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        line = f"Iteration {self.offset + epoch}, loss = {history.loss[-1]:.8f}"
        if history.val_loss:
            line += f", validation loss = {history.val_loss[-1]:.8f}"
        sys.stdout.write(line + "\n")
        return None


# ---------------------------------------------------------------------- saving without pickle
ESTIMATORS = {"BackpropClassifier": BackpropClassifier, "BackpropRegressor": BackpropRegressor}


def _finite_or_none(values: Any) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _state(estimator: _BaseBackprop) -> tuple[Network, dict[str, Any]]:
    """The fitted network and JSON-plain metadata (hyperparameters, classes, names, curves) that
    :func:`backproplab.save` writes into the model file's header."""
    check_is_fitted(estimator, "network_")
    params = estimator.get_params(deep=False)
    if params.get("monitor") is not None:
        raise ValueError("an estimator with a monitor cannot be saved: set monitor=None first")
    random_state = params.get("random_state")
    if random_state is not None and not isinstance(random_state, numbers.Integral):
        raise ValueError("only an estimator whose random_state is None or an integer can be saved")
    params["random_state"] = None if random_state is None else int(random_state)
    params["stop"] = None if params.get("stop") is None else asdict(params["stop"])
    sizes = params["hidden_layer_sizes"]
    params["hidden_layer_sizes"] = [int(sizes)] if isinstance(sizes, numbers.Integral) else [int(v) for v in sizes]
    weights = params.get("class_weight")
    if isinstance(weights, dict):
        params["class_weight"] = {"pairs": [[plain(k), float(v)] for k, v in weights.items()]}
    names = getattr(estimator, "feature_names_in_", None)
    state = {
        "class": type(estimator).__name__,
        "params": plain(params),
        "n_features_in": int(estimator.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "classes": plain(estimator.classes_) if hasattr(estimator, "classes_") else None,
        "y_ndim": int(getattr(estimator, "_y_ndim", 1)),
        "n_iter": int(estimator.n_iter_), "t": int(estimator.t_),
        "loss_curve": _finite_or_none(estimator.loss_curve_),
        "validation_loss": _finite_or_none(estimator.validation_loss_),
        "stop_reason": estimator.stop_reason_,
    }
    return estimator.network_, {"estimator": state}


def _restore(path: str, net: Network, metadata: dict[str, Any]) -> _BaseBackprop:
    """Rebuild a fitted estimator from what :func:`_state` saved (the weights are already in ``net``)."""
    from ._io import ModelFileError

    state = metadata["estimator"]
    try:
        cls = ESTIMATORS[state["class"]]
        params = dict(state["params"])
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        params["stop"] = None if params.get("stop") is None else Stop(**params["stop"])
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = {k: v for k, v in params["class_weight"]["pairs"]}
        estimator = cls(**params)
        estimator.network_ = net
        estimator.n_features_in_ = int(state["n_features_in"])
        if state.get("feature_names_in") is not None:
            estimator.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        if state.get("classes") is not None:
            estimator.classes_ = np.asarray(state["classes"])
        estimator._y_ndim = int(state["y_ndim"])
        estimator.n_iter_, estimator.t_ = int(state["n_iter"]), int(state["t"])
        estimator.loss_curve_ = [math.nan if v is None else v for v in state["loss_curve"]]
        estimator.validation_loss_ = [math.nan if v is None else v for v in state["validation_loss"]]
        estimator.stop_reason_ = state["stop_reason"]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"cannot load {path!r}: its estimator state is malformed ({type(error).__name__}: {error})") from None
    if net.n_inputs != estimator.n_features_in_:
        raise ModelFileError(f"cannot load {path!r}: the estimator expects {estimator.n_features_in_} features, "
                             f"its network {net.n_inputs}")
    estimator._optimizer_state = estimator._optimizer()  # a fresh optimizer: its state is not saved
    finite = [v for v in estimator.loss_curve_ if np.isfinite(v)]
    estimator.best_loss_ = min(finite) if finite else math.nan
    estimator.loss_ = estimator.loss_curve_[-1] if estimator.loss_curve_ else math.nan
    params_list = net.parameters()
    estimator.coefs_, estimator.intercepts_ = params_list[0::2], params_list[1::2]
    estimator.n_layers_ = len(estimator.coefs_) + 1
    estimator.n_outputs_ = net.n_outputs
    estimator.out_activation_ = estimator._head()[0]
    return estimator


_BaseBackprop._backproplab_state = _state  # type: ignore[attr-defined]  # what backproplab.save looks for
_from_backproplab_state = _restore
