r"""The layer protocol, parameters and the dense (fully-connected) layer.

Every layer has ``forward(X, training=False) -> A`` and ``backward(grad_out) -> grad_in``, and keeps
what its backward needs from the last forward. In training mode, outputs are written into buffers that
are reused while the batch size is unchanged; in inference mode fresh arrays are returned, so the
caller may keep them.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from . import _fastnp, initializers
from ._validation import check_int, resolve_dtype
from .registry import layer_type

__all__ = ["Layer", "Parameter", "Dense"]


class Parameter:
    """A trainable array and its gradient.

    ``grad`` is allocated once with the shape and dtype of ``value`` and written in place by
    ``backward``, so optimizers can hold references to both.
    """

    __slots__ = ("value", "grad", "name")

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.value.shape}, dtype={self.value.dtype})"


@runtime_checkable
class Layer(Protocol):
    """Anything with a forward pass, a backward pass and (possibly no) parameters."""

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray: ...

    def backward(self, grad_out: np.ndarray) -> np.ndarray: ...

    def parameters(self) -> list[Parameter]: ...


class BufferedLayer:
    """Base for built-in layers: parameters, training buffers and a spec for model files.

    A training-mode forward writes into buffers that the layer is given, one set per input shape:
    by the :class:`~backproplab.workspace.Workspace` of the Network that owns the layer, which
    decides their memory layout and which of them are shared with a neighbour, or, for a layer
    used on its own, by :meth:`training_buffers` with a row-major layout.

    Training buffers after a Dense layer are feature-major: a batch of ``n`` rows with ``k``
    features is stored as a C-contiguous ``(k, n)`` array and handed around as its ``(n, k)``
    transpose (a Fortran-ordered view). Shapes and values are what the layer protocol promises; the
    layout lets an activation write straight into the next Dense layer's input buffer and lets Dense
    keep the row of ones for its bias contiguous. A batch is copied once, into the first layer.
    """

    def __init__(self) -> None:
        self._network: Any = None  # a weak reference to the Network that owns this layer's parameters
        self._workspace: Any = None  # a weak reference to that Network's Workspace
        self._shape: tuple[int, ...] | None = None
        self._dtype: np.dtype | None = None

    #: attributes that hold training buffers (dropped from copies)
    _buffer_names: tuple[str, ...] = ()

    def training_buffers(self, shape: tuple[int, ...], dtype: np.dtype, order: Literal["C", "F"] = "C",
                         output: np.ndarray | None = None, **options: bool) -> dict[str, Any]:
        """New buffers for inputs of ``shape`` and ``dtype`` laid out in ``order``, by attribute name.

        ``output``, when given, is where the training forward must write its result (an array of
        the output's shape, owned by whoever passes it). ``options`` are promises of the workspace
        that a layer may use or ignore: ``grad_out_scratch`` (nothing reads the ``grad_out`` given to
        backward afterwards), ``copy_input`` (False: the layer before writes into this layer's input)."""
        return {}

    def input_buffer_of(self, buffers: dict[str, Any]) -> np.ndarray | None:
        """The array of ``buffers`` that this layer's training forward reads its input from, when
        it reads from its own buffer (Dense), or None."""
        return None

    def use_buffers(self, shape: tuple[int, ...], dtype: np.dtype, buffers: dict[str, Any]) -> None:
        """Switch to ``buffers`` (from :meth:`training_buffers`) for inputs of ``shape`` and ``dtype``."""
        self.__dict__.update(buffers)
        self._shape, self._dtype = shape, dtype  # compared by value and by identity on the hot path

    def _ensure(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        """Get the buffers for inputs of ``shape`` and ``dtype`` from the workspace, or make them."""
        workspace = self._workspace() if self._workspace is not None else None
        if workspace is not None:
            workspace.attach(self, shape, dtype)
        else:
            self.use_buffers(shape, dtype, self.training_buffers(shape, dtype))

    def __getstate__(self) -> dict[str, Any]:
        # buffers hold views of each other, which copies would break: drop them, the next use reallocates
        state = {k: v for k, v in self.__dict__.items() if k not in self._buffer_names}
        state["_shape"] = state["_dtype"] = state["_workspace"] = state["_network"] = None  # a copy belongs to no network yet
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def parameters(self) -> list[Parameter]:
        return []

    def spec(self) -> dict[str, Any]:
        """JSON-able description, enough to rebuild the layer with :meth:`from_spec` (weights travel separately)."""
        return {"type": type(self).__name__}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], dtype: Any = "float64") -> BufferedLayer:
        """The layer described by ``spec`` (from :meth:`spec`); parameters are placeholders to be loaded."""
        return cls(**{key: value for key, value in spec.items() if key != "type"})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k != "type")
        return f"{type(self).__name__}({args})"


def _export_dense_onnx(layer: Dense, graph: Any, current: str) -> str:
    product = graph.node("MatMul", [current, graph.constant("W", layer.W.value)])
    return str(graph.node("Add", [product, graph.constant("b", layer.b.value)]))


def _export_dense_torch(layer: Dense, torch: Any, dtype: Any) -> Any:
    linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.W.value.T.copy()))
        linear.bias.copy_(torch.from_numpy(layer.b.value.copy()))
    return linear


@layer_type("dense", role="layer", onnx=_export_dense_onnx, torch=_export_dense_torch)
class Dense(BufferedLayer):
    r"""Fully-connected layer ``Z = A_prev @ W + b``.

    Parameters
    ----------
    in_features, out_features : int
        Width of the input and of the output.
    init : str
        Initialiser name for ``W`` (see :mod:`backproplab.initializers`); ``b`` starts at zero,
        except for ``"normal"`` and ``"uniform"``, which draw biases too, as the source documents do.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights.
    dtype : {"float64", "float32"}

    Notes
    -----
    Forward, for ``A_prev`` of shape ``(n_samples, in_features)``:

    .. math:: Z = A_{prev} W + b, \quad W \in \mathbb{R}^{in \times out},\ b \in \mathbb{R}^{out}

    Backward, with ``delta = grad_out = dL/dZ`` of shape ``(n_samples, out_features)``:

    .. math:: \partial L/\partial W = A_{prev}^T \delta, \quad \partial L/\partial b = \textstyle\sum_i \delta_i,
              \quad \partial L/\partial A_{prev} = \delta W^T

    The loss is already a batch mean, so no further division by the batch size happens here.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str = "glorot_uniform",
        rng: np.random.Generator | int | None = None,
        dtype: Any = "float64",
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.out_features = check_int("out_features", out_features, minimum=1)
        self.init = initializers.get(init).__name__
        dt = resolve_dtype(dtype)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        W, b = initializers.get(init)(self.in_features, self.out_features, rng)
        self.W = Parameter(W.astype(dt, copy=False), "W")
        self.b = Parameter(b.astype(dt, copy=False), "b")
        self.bind(np.empty((self.in_features + 1) * self.out_features, dtype=dt),
                  np.zeros((self.in_features + 1) * self.out_features, dtype=dt))
        self.A_prev: np.ndarray | None = None
        self.delta: np.ndarray | None = None

    def bind(self, values: np.ndarray, grads: np.ndarray) -> None:
        """Move ``W`` and ``b`` (and their gradients) into flat storage laid out as ``[W; b]``.

        Training multiplies this ``(in + 1, out)`` block with the input extended by a row of ones,
        so the bias costs no broadcast add forward and no reduction backward."""
        shape = (self.in_features + 1, self.out_features)
        block, grad_block = values.reshape(shape), grads.reshape(shape)
        block[:-1], block[-1] = self.W.value, self.b.value
        self.W.value, self.b.value = block[:-1], block[-1]
        self.W.grad, self.b.grad = grad_block[:-1], grad_block[-1]
        self._block, self._grad_block, self._block_T = block, grad_block, block.T

    _buffer_names = ("_extended", "_inputs", "_ZT", "_Z", "_grad_in_T", "_grad_in", "_copy_input")
    # training buffers (see BufferedLayer for the feature-major layout)
    _extended: np.ndarray  # (in + 1, n): the batch, transposed, over a row of ones
    _inputs: np.ndarray  # (n, in): the batch rows of _extended, as the (Fortran-ordered) transpose
    _Z: np.ndarray  # (n, out) output, the transpose of the C-contiguous _ZT
    _ZT: np.ndarray
    _grad_in: np.ndarray  # (n, in) dL/dA_prev, the transpose of the C-contiguous _grad_in_T
    _grad_in_T: np.ndarray
    _copy_input: bool  # False when the layer before writes its output straight into _inputs
    _block: np.ndarray
    _block_T: np.ndarray
    _grad_block: np.ndarray

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        n = (self.in_features + 1) * self.out_features
        self.bind(np.empty(n, dtype=self.W.value.dtype), np.zeros(n, dtype=self.W.value.dtype))

    def training_buffers(self, shape: tuple[int, ...], dtype: np.dtype, order: Literal["C", "F"] = "C",
                         output: np.ndarray | None = None, copy_input: bool = True, **options: bool) -> dict[str, Any]:
        """Feature-major buffers whatever ``order`` (inputs of another dtype are cast on the way in).
        ``copy_input=False`` promises that the layer before writes each batch into ``_inputs``."""
        n, dtype = shape[0], self.W.value.dtype
        extended = np.ones((self.in_features + 1, n), dtype=dtype)
        ZT = np.empty((self.out_features, n), dtype=dtype)
        grad_in_T = np.empty((self.in_features, n), dtype=dtype)
        return {"_extended": extended, "_inputs": extended[:-1].T, "_ZT": ZT, "_Z": ZT.T,
                "_grad_in_T": grad_in_T, "_grad_in": grad_in_T.T, "_copy_input": copy_input}

    def input_buffer_of(self, buffers: dict[str, Any]) -> np.ndarray:
        return buffers["_inputs"]

    def input_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The array a training-mode forward reads its input from, for inputs of ``shape``/``dtype``:
        a caller that fills it runs :meth:`forward_staged` instead of :meth:`forward`, which copies."""
        if shape != self._shape or dtype is not self._dtype:
            self._ensure(shape, dtype)
        return self._inputs

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self.A_prev = X
        if not training:
            Z = X @ self.W.value
            Z += self.b.value
            return Z
        if X.shape != self._shape or X.dtype is not self._dtype:
            self._ensure(X.shape, X.dtype)
        if self._copy_input:
            _fastnp.copyto(self._inputs, X)
        # Z^T = [W; b]^T [A_prev^T; 1]; np.dot costs less per call than np.matmul
        _fastnp.dot(self._block_T, self._extended, self._ZT)
        return self._Z

    def forward_staged(self) -> np.ndarray:
        """The training forward of a batch already written into :meth:`input_buffer`."""
        self.A_prev = self._inputs
        _fastnp.dot(self._block_T, self._extended, self._ZT)
        return self._Z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self._parameter_gradients(grad_out)
        _fastnp.dot(self.W.value, grad_out.T, self._grad_in_T)  # (dL/dA_prev)^T = W delta^T
        return self._grad_in

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        """The parameter gradients only (the first layer's dL/dX is never needed)."""
        self._parameter_gradients(grad_out)

    def _parameter_gradients(self, grad_out: np.ndarray) -> np.ndarray:
        """``[dW; db] = [A_prev, 1]^T delta`` in one matmul, after a training-mode forward; returns
        delta in the layer's dtype."""
        if grad_out.dtype is not self._grad_block.dtype:
            grad_out = grad_out.astype(self._grad_block.dtype)
        self.delta = grad_out
        _fastnp.dot(self._extended, grad_out, self._grad_block)
        return grad_out

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    @property
    def dtype(self) -> np.dtype:
        return self.W.value.dtype

    def spec(self) -> dict[str, Any]:
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], dtype: Any = "float64") -> Dense:
        return cls(spec["in_features"], spec["out_features"], init="glorot_uniform", rng=0, dtype=dtype)


def _export_standardize_onnx(layer: Standardize, graph: Any, current: str) -> str:
    mean, scale = layer._constants(graph.dtype)
    shifted = graph.node("Sub", [current, graph.constant("mean", mean)])
    return str(graph.node("Div", [shifted, graph.constant("scale", scale)]))


def _export_standardize_torch(layer: Standardize, torch: Any, dtype: Any) -> Any:
    # (x - mean) / scale as an affine map: weight diag(1 / scale), bias -mean / scale
    mean, scale = layer._constants(np.float64)
    n = mean.shape[0]
    linear = torch.nn.Linear(n, n, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(np.diag(1.0 / scale), dtype=dtype))
        linear.bias.copy_(torch.as_tensor(-mean / scale, dtype=dtype))
    linear.requires_grad_(False)
    return linear


@layer_type("standardize", role="layer", onnx=_export_standardize_onnx, torch=_export_standardize_torch)
class Standardize:
    r"""Fitted preprocessing (Keras's ``Normalization``): a fixed layer with no trained parameters.

    Parameters
    ----------
    mode : {"standard", "minmax"}
        "standard": ``mean_`` is the column mean and ``scale_`` the column standard deviation;
        "minmax": ``mean_`` is the column minimum and ``scale_`` its range, mapping to [0, 1].
        A constant column gets ``scale_ = 1``.
    mean, scale : array-like of shape (n_features,), optional
        Fitted values (from a model file); without them the layer is fitted by :meth:`fit`, which
        ``fit`` calls on the training rows when the layer is still unfitted.

    Notes
    -----
    Forward: ``A = (X - mean_) / scale_``. Backward: ``grad_in = grad_out / scale_``. It has no
    parameters, so training and ``gradcheck`` leave it unchanged.
    """

    name = "standardize"

    def __init__(self, mode: str = "standard", mean: Any = None, scale: Any = None) -> None:
        if mode not in ("standard", "minmax"):
            raise ValueError(f"mode must be 'standard' or 'minmax', got {mode!r}")
        self.mode = mode
        self.mean_: np.ndarray | None = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale_: np.ndarray | None = None if scale is None else np.asarray(scale, dtype=np.float64)
        if (self.mean_ is None) != (self.scale_ is None):
            raise ValueError("Standardize needs both mean and scale, or neither")
        if self.scale_ is not None and (self.mean_ is None or self.scale_.shape != self.mean_.shape
                                        or self.scale_.ndim != 1 or not np.all(np.isfinite(self.scale_))
                                        or np.any(self.scale_ <= 0) or not np.all(np.isfinite(self.mean_))):
            raise ValueError("Standardize mean and scale must be finite 1-D arrays of one length, with scale > 0")
        self._typed: dict[Any, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def fitted(self) -> bool:
        return self.mean_ is not None

    def fit(self, X: Any) -> Standardize:
        """Compute ``mean_`` and ``scale_`` from ``X`` of shape (n_samples, n_features)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"Standardize.fit needs a 2-D array with at least one row, got shape {X.shape}")
        if self.mode == "standard":
            mean, scale = X.mean(axis=0), X.std(axis=0)
        else:
            mean, scale = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
        self.mean_, self.scale_ = mean, np.where(scale > 0, scale, 1.0)
        self._typed = {}
        return self

    def _constants(self, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("Standardize is not fitted: call fit(X), or train the network (fit does it)")
        key = np.dtype(dtype)
        if key not in self._typed:
            self._typed[key] = (self.mean_.astype(key), self.scale_.astype(key))
        return self._typed[key]

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        mean, scale = self._constants(X.dtype)
        return (X - mean) / scale

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out / self._constants(grad_out.dtype)[1]

    def parameters(self) -> list[Parameter]:
        return []

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": "Standardize", "mode": self.mode}
        if self.mean_ is not None and self.scale_ is not None:
            spec.update(mean=self.mean_.tolist(), scale=self.scale_.tolist())
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any], dtype: Any = "float64") -> Standardize:
        return cls(spec.get("mode", "standard"), spec.get("mean"), spec.get("scale"))

    def __repr__(self) -> str:
        return f"Standardize(mode={self.mode!r}, fitted={self.fitted})"
