r"""Network: an ordered stack of layers and a loss.

The forward pass runs the layers in order; the backward pass runs them in reverse, each turning
``grad_out = dL/d(its output)`` into ``grad_in = dL/d(its input)`` and writing its parameter gradients
in place. When the loss is fused with the final activation (sigmoid + bce, softmax + cross_entropy),
that activation is absorbed: training works on logits and ``predict`` applies the link function.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _fastnp, activations, initializers, losses, registry, training
from ._validation import (
    as_float_array,
    check_finite_arrays,
    check_names,
    check_output_units,
    check_parameter_memory,
    check_real,
    check_rng_seed,
    check_sizes,
    choose,
    resolve_dtype,
)
from .activations import Activation
from .layers import BufferedLayer, Dense, Layer, Parameter
from .workspace import Workspace

__all__ = ["Network"]

#: rows per block of :meth:`Network._predict_blocks`
PREDICT_BLOCK = 8192

class Network:
    r"""An ordered stack of layers trained against one loss.

    Parameters
    ----------
    layers : sequence of Layer
        Objects with ``forward(X, training=False)``, ``backward(grad_out)`` and ``parameters()``.
    loss : {"mse", "mae", "bce", "cross_entropy"} or Loss
    l2 : float, default 0
        Adds ``l2 / 2 * sum(||W||^2)`` over the weight matrices of Dense layers (not biases) to the
        loss, and ``l2 * W`` to each weight gradient.

    Notes
    -----
    Forward: ``A_0 = X``, ``A_l = layer_l(A_{l-1})``, ``L = loss(A_last, y) + l2/2 sum ||W||^2``.
    Backward: ``g = dL/dA_last``; for each layer in reverse, ``g = layer.backward(g)``.
    """

    def __init__(self, layers: Sequence[Layer], loss: str | losses.Loss = "mse", l2: float = 0.0) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("layers is empty; a network needs at least one layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{index}] is {type(layer).__name__}, which lacks forward/backward/parameters"
                )
        self.layers = layers
        self.loss_fn = losses.get(loss)
        self.l2 = check_real("l2", l2, minimum=0.0)
        dense = _dense_layers(layers)
        for previous, current in zip(dense, dense[1:]):
            if previous.out_features != current.in_features:
                raise ValueError(
                    f"layer shapes do not chain: Dense({previous.in_features}, {previous.out_features}) "
                    f"is followed by Dense({current.in_features}, {current.out_features})"
                )
        if dense and isinstance(layers[-1], Activation):
            check_output_units(layers[-1].name, self.loss_fn.name, dense[-1].out_features)
        dtypes = {layer.dtype for layer in dense}
        if len(dtypes) > 1:
            raise ValueError(f"all Dense layers must share one dtype, got {sorted(d.name for d in dtypes)}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        last = layers[-1]
        absorbed = (
            self.loss_fn.fused is not None
            and isinstance(last, Activation)
            and last.name == self.loss_fn.fused
        )
        # the layers that training runs; a fused output activation lives in the loss instead
        self.body: list[Layer] = layers[:-1] if absorbed else layers
        if not self.body:
            raise ValueError("the network has no layer before its fused output activation")
        self._params: list[Parameter] = [p for layer in layers for p in _parameter_objects(layer)]
        self._weights: list[Parameter] = [layer.W for layer in dense]
        self._claim(layers)
        self.flat = self._flatten()
        self.workspace = Workspace(self.body)
        self._reversed = self.body[::-1]
        if isinstance(self.body[0], Dense):
            # nobody needs dL/dX: the first Dense layer computes parameter gradients only
            self._reversed = self._reversed[:-1]
        self._first_dense = self.body[0] if isinstance(self.body[0], Dense) else None
        self._rest = self.body[1:]
        self._l2_scratch = [np.empty_like(w.value) for w in self._weights]
        self._l2_decay: tuple[float, np.ndarray, np.ndarray] | None = None  # (l2, l2 at weights / 0 at biases, scratch)

    def _claim(self, layers: list[Layer]) -> None:
        """A network owns its layers' parameter storage; a second network over the same layer objects
        would silently detach the first one's optimizer from its weights, so it is refused."""
        for index, layer in enumerate(layers):
            if not isinstance(layer, BufferedLayer):
                continue
            owner = layer._network() if layer._network is not None else None
            if owner is not None and owner is not self:
                raise ValueError(
                    f"layers[{index}] ({type(layer).__name__}) already belongs to another Network; build new "
                    "layers for each network, or copy.deepcopy the network"
                )
            layer._network = weakref.ref(self)

    def _flatten(self) -> Parameter | None:
        """Make every parameter (and gradient) a view into one flat buffer, so that optimizer updates,
        weight snapshots and gradient norms are one NumPy call each instead of one per array.
        The network takes ownership of its layers' parameter arrays; ``parameters()`` returns the views."""
        if not self._params or any(p.value.dtype != self.dtype for p in self._params):
            return None
        if any(isinstance(layer, Network) for layer in self.layers):
            return None  # a nested network keeps its own flat buffer, which its layers compute from
        total = sum(p.value.size for p in self._params)
        flat = Parameter(np.empty(total, dtype=self.dtype), "flat")
        self._offsets: list[tuple[int, int, tuple[int, ...]]] = []
        offset = 0
        for layer in self.layers:
            layer_params = layer.parameters()
            if not layer_params:
                continue
            start = offset
            for p in layer_params:
                self._offsets.append((offset, p.value.size, p.value.shape))
                offset += p.value.size
            if isinstance(layer, Dense):
                layer.bind(flat.value[start:offset], flat.grad[start:offset])  # W then b: one [W; b] block
                continue
            for p, (begin, size, shape) in zip(layer_params, self._offsets[-len(layer_params):]):
                value = flat.value[begin : begin + size].reshape(shape)
                value[...] = p.value
                p.value, p.grad = value, flat.grad[begin : begin + size].reshape(shape)
        return flat

    def __getstate__(self) -> dict[str, Any]:
        # copies (deepcopy, pickle by third-party tools such as joblib) turn views into independent
        # arrays; drop the flat buffer and rebuild it so that parameters alias it again
        state = self.__dict__.copy()
        state["flat"] = state["workspace"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._claim(self.layers)
        self.flat = self._flatten()
        self.workspace = Workspace(self.body)

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of a flat array (laid out like :attr:`flat`) shaped like :meth:`parameters`."""
        return [flat[offset : offset + size].reshape(shape) for offset, size, shape in self._offsets]

    def optimizer_parameters(self) -> list[Parameter]:
        """What an optimizer should update: the one flat parameter when there is one."""
        return [self.flat] if self.flat is not None else self._params

    # ------------------------------------------------------------------ construction
    @classmethod
    def mlp(
        cls,
        sizes: Sequence[int],
        hidden: str = "relu",
        output: str | None = None,
        loss: str | None = None,
        init: str | None = None,
        seed: int | np.random.Generator | None = None,
        dtype: Any = "float64",
        l2: float = 0.0,
        negative_slope: float = 0.01,
        scale: str | None = None,
    ) -> Network:
        r"""A multi-layer perceptron: Dense layers of the given sizes, ``hidden`` after each but the
        last, ``output`` after the last.

        Parameters
        ----------
        sizes : sequence of int
            ``[n_inputs, hidden_1, ..., n_outputs]``, at least two entries.
        hidden : {"sigmoid", "tanh", "relu", "leaky_relu", "identity"}
            Or any other activation in :mod:`backproplab.registry` with the role "hidden".
        output : {"sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"}, optional
            Defaults to the loss's natural pairing: sigmoid for bce, softmax for cross_entropy,
            identity otherwise.
        loss : {"mse", "mae", "bce", "cross_entropy"}, optional
            Defaults to cross_entropy for a softmax output, bce for a sigmoid output with one unit
            and mse otherwise. bce must pair with sigmoid and cross_entropy with softmax.
        init : str, optional
            Initialiser for every Dense layer; He for the ReLU family, Glorot otherwise.
        seed : int or numpy.random.Generator, optional
        dtype : {"float64", "float32"}
        l2 : float
        scale : {"standard", "minmax"} or None
            Put a :class:`~backproplab.layers.Standardize` layer first; ``fit`` fits it on the training
            rows, and it is saved, exported and applied by ``predict`` with the model.
        """
        sizes = check_sizes("sizes", sizes)
        rng = check_rng_seed("seed", seed)
        check_parameter_memory("sizes", sizes, resolve_dtype(dtype))
        choose("hidden activation", hidden, registry.names("hidden"))
        if output is None:
            output = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss or "", "identity")
        choose("output activation", output, registry.names("hidden", "output"))
        if loss is None:
            loss = {"softmax": "cross_entropy"}.get(output, "mse")
        choose("loss", loss, losses.LOSSES)
        check_output_units(output, loss, sizes[-1])
        fused = losses.LOSSES[loss].fused
        if fused is not None and output != fused:
            raise ValueError(
                f"loss {loss!r} is computed from logits and pairs with output={fused!r}, got output={output!r}"
            )
        init = init or initializers.default_for(hidden)
        initializers.get(init)
        resolve_dtype(dtype)
        layers: list[Layer] = []
        if scale is not None:
            from .layers import Standardize

            layers.append(Standardize(choose("scale", scale, ("standard", "minmax"))))  # fitted by fit
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            layers.append(Dense(n_in, n_out, init=init, rng=rng, dtype=dtype))
            is_last = index == len(sizes) - 2
            layers.append(activations.get(output if is_last else hidden, negative_slope=negative_slope))
        return cls(layers, loss=loss, l2=l2)

    # ------------------------------------------------------------------ properties
    @property
    def n_inputs(self) -> int:
        return self._dense()[0].in_features

    @property
    def n_outputs(self) -> int:
        return self._dense()[-1].out_features

    def _dense(self) -> list[Dense]:
        dense = _dense_layers(self.layers)
        if not dense:
            raise ValueError("the network has no Dense layer")
        return dense

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays, ``[W1, b1, W2, b2, ...]``; ``W`` is ``(in, out)``."""
        return [p.value for p in self._params]

    def parameter_objects(self) -> list[Parameter]:
        """The Parameter objects (value and grad), in the order of :meth:`parameters`."""
        return self._params

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameter arrays."""
        return [p.value.copy() for p in self._params]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` into the parameters in place (shapes must match)."""
        if len(weights) != len(self._params):
            raise ValueError(f"expected {len(self._params)} arrays, got {len(weights)}")
        check_finite_arrays("weights", weights)
        for index, (param, value) in enumerate(zip(self._params, weights)):
            value = np.asarray(value)
            if value.shape != param.value.shape:
                raise ValueError(
                    f"weights[{index}] has shape {value.shape}, expected {param.value.shape}"
                )
            np.copyto(param.value, value)

    # ------------------------------------------------------------------ public computations
    def check_X(self, X: Any, name: str = "X") -> np.ndarray:
        """Validate ``X`` and convert it to the network's dtype."""
        X = as_float_array(name, X, self.dtype)
        if X.shape[1] != self.n_inputs:
            raise ValueError(
                f"{name} has {X.shape[1]} feature(s) but the network expects {self.n_inputs}"
            )
        return X

    def check_Xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate a data set; targets come back as ``(n_samples, n_outputs)`` in the network dtype."""
        X = self.check_X(X)
        y = self.loss_fn.prepare_targets(y, self.n_outputs, self.dtype)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y have different numbers of rows: {X.shape[0]} and {y.shape[0]}")
        return X, y

    def predict(self, X: Any) -> np.ndarray:
        """Network outputs for ``X`` of shape ``(n_samples, n_inputs)``: probabilities for fused
        sigmoid/softmax outputs, values otherwise; shape ``(n_samples, n_outputs)``."""
        return self._predict(self.check_X(X))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        A = X
        for layer in self.body:
            A = layer.forward(A, False)
        A = self.loss_fn.link(A)
        return A.copy() if A is X else A

    def _predict_blocks(self, X: np.ndarray, block: int = PREDICT_BLOCK) -> np.ndarray:
        """:meth:`_predict` in blocks of ``block`` rows: one pass over many rows allocates activations
        of rows x width (on 200k rows, more time than an epoch of training when the memory is new to
        the process), and a block's activations stay in the cache."""
        if len(X) <= block:
            return self._predict(X)
        return np.concatenate([self._predict(X[i : i + block]) for i in range(0, len(X), block)])

    def loss(self, X: Any, y: Any) -> float:
        """The training objective on ``(X, y)``: mean loss plus the L2 term."""
        X, y = self.check_Xy(X, y)
        return self._loss_value(X, y)

    def _loss_value(self, X: np.ndarray, y: np.ndarray) -> float:
        A = X
        for layer in self.body:
            A = layer.forward(A, False)
        return self.loss_fn.value(A, y) + self._l2_value()

    def gradients(self, X: Any, y: Any) -> list[np.ndarray]:
        """Gradients of :meth:`loss`, same order and shapes as :meth:`parameters` (copies)."""
        X, y = self.check_Xy(X, y)
        self.forward_backward(X, y)
        return [p.grad.copy() for p in self._params]

    # ------------------------------------------------------------------ the hot path
    def forward_backward(self, X: np.ndarray | None, y: np.ndarray) -> float:
        """One forward and backward pass on a validated batch; returns the loss and leaves every
        parameter's ``grad`` filled in. No validation: callers pass arrays from :meth:`check_Xy`.
        ``X=None``: the batch is already in ``workspace.first_input(...)`` (the first layer is
        Dense), which saves its copy."""
        if X is None:
            A = self._first_dense.forward_staged()  # type: ignore[union-attr]
            layers = self._rest
        else:
            A, layers = X, self.body
        for layer in layers:
            A = layer.forward(A, True)
        grad = self.workspace.output_gradients.get(A.shape)
        if grad is None:
            grad = self.workspace.output_gradient(A)
        loss = self.loss_fn.value_and_grad(A, y, grad)
        for layer in self._reversed:
            grad = layer.backward(grad)
        if self._first_dense is not None:
            self._first_dense.backward_params_only(grad)
        if self.l2:
            flat = self.flat
            if flat is not None:
                # over the flat buffer at once: l2 * w at the weights and 0 at the biases
                factors, decay = self._l2_factors(flat)
                np.multiply(flat.value, factors, decay)
                loss += 0.5 * float(_fastnp.vdot(decay, flat.value))
                np.add(flat.grad, decay, flat.grad)
            else:
                loss += self._l2_value()
                for weight, scratch in zip(self._weights, self._l2_scratch):
                    np.add(weight.grad, np.multiply(weight.value, self.l2, scratch), weight.grad)
        return loss

    def _l2_factors(self, flat: Parameter) -> tuple[np.ndarray, np.ndarray]:
        """(a flat array holding l2 at the weights and 0 at the biases, a scratch array), rebuilt when
        ``l2`` changes."""
        cached = self._l2_decay
        if cached is None or cached[0] != self.l2:
            factors = np.zeros_like(flat.value)
            weights = {id(w) for w in self._weights}
            for p, (offset, size, _) in zip(self._params, self._offsets):
                if id(p) in weights:
                    factors[offset : offset + size] = self.l2
            cached = self._l2_decay = (self.l2, factors, np.empty_like(factors))
        return cached[1], cached[2]

    def _l2_value(self) -> float:
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * sum(float(np.vdot(w.value, w.value)) for w in self._weights)

    # ------------------------------------------------------------------ training and evaluation
    fit = training.fit_method()

    # ------------------------------------------------------------------ a network as a layer
    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """The Layer protocol, so that a network can be a layer of another one: every layer in
        order, a final activation that this network's loss absorbs included; the loss is not used."""
        A = X
        for layer in self.layers:
            A = layer.forward(A, training)
        return A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dX`` from ``dL/d output``, after a training-mode :meth:`forward`; fills the parameter gradients."""
        grad = grad_out
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def evaluate(self, X: Any, y: Any, metrics: Sequence[str] = ("loss",), sample_weight: Any = None) -> dict[str, float]:
        """Named metrics on ``(X, y)``: "loss" and any of :data:`backproplab.metrics.METRICS`.

        ``sample_weight`` (n_samples,) weighs the rows: the loss is ``sum_i w_i l_i / sum_i w_i`` plus the
        L2 term (the objective ``fit(sample_weight=...)`` minimises), the metrics as scikit-learn weighs them."""
        from . import metrics as metric_module

        metrics = check_names("metrics", metrics, ["loss", *metric_module.METRICS])
        X, y = self.check_Xy(X, y)
        weights = metric_module._weights(sample_weight, len(X))
        predictions = self._predict(X)
        result: dict[str, float] = {}
        for name in metrics:
            if name == "loss":
                result[name] = self._loss_value(X, y) if weights is None else self._weighted_loss(X, y, weights)
            else:
                result[name] = metric_module.get(name)(y, predictions, sample_weight=weights)
        return result

    def _weighted_loss(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
        from .losses import WeightedLoss

        A = X
        for layer in self.body:
            A = layer.forward(A, False)
        return WeightedLoss(self.loss_fn).value(A, np.hstack([y, weights.astype(y.dtype)[:, None]])) + self._l2_value()

    def spec(self) -> dict[str, Any]:
        """JSON-able architecture: layer specs, loss, l2 and dtype."""
        return {
            "layers": [_layer_spec(layer) for layer in self.layers],
            "loss": self.loss_fn.name,
            "l2": self.l2,
            "dtype": self.dtype.name,
        }

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], loss={self.loss_fn.name!r}, l2={self.l2!r})"


def _parameter_objects(layer: Any) -> list[Parameter]:
    """A layer's Parameter objects; a nested Network's ``parameters()`` returns arrays (the public
    contract), its ``parameter_objects()`` the objects."""
    if isinstance(layer, Network):
        return layer.parameter_objects()
    return list(layer.parameters())


def _dense_layers(layers: Sequence[Any]) -> list[Dense]:
    """The Dense layers in order, those of nested networks included."""
    found: list[Dense] = []
    for layer in layers:
        if isinstance(layer, Network):
            found += _dense_layers(layer.layers)
        elif isinstance(layer, Dense):
            found.append(layer)
    return found


def _layer_spec(layer: Layer) -> dict[str, Any]:
    spec = getattr(layer, "spec", None)
    if spec is None:
        raise TypeError(f"layer {type(layer).__name__} has no spec() and cannot be described")
    return spec()
