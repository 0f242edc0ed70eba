r"""The layer protocol, parameters and the dense (fully-connected) layer.

Every layer has ``forward(X, training=False) -> A`` and ``backward(grad_out) -> grad_in``, and keeps
what its backward needs from the last forward. In training mode, outputs are written into buffers that
are reused while the batch size is unchanged; in inference mode fresh arrays are returned, so the
caller may keep them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import initializers
from ._validation import check_int, resolve_dtype

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
    """Base for built-in layers: parameter list, buffer cache and a spec for model files."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def buffer(self, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A reusable array for ``key``; the same object while shape and dtype are unchanged."""
        buf = self._buffers.get((key, shape))
        if buf is None or buf.dtype != dtype:
            buf = self._buffers[(key, shape)] = np.empty(shape, dtype=dtype)
        return buf

    def parameters(self) -> list[Parameter]:
        return []

    def spec(self) -> dict[str, Any]:
        """JSON-able description, enough to rebuild the layer (weights travel separately)."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k != "type")
        return f"{type(self).__name__}({args})"


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
        self.A_prev: np.ndarray | None = None
        self.delta: np.ndarray | None = None

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self.A_prev = X
        if training:
            Z = np.matmul(X, self.W.value, out=self.buffer("Z", (X.shape[0], self.out_features), X.dtype))
        else:
            Z = X @ self.W.value
        Z += self.b.value
        return Z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.delta = grad_out
        np.matmul(self.A_prev.T, grad_out, out=self.W.grad)
        np.sum(grad_out, axis=0, out=self.b.grad)
        return np.matmul(
            grad_out, self.W.value.T, out=self.buffer("grad_in", self.A_prev.shape, grad_out.dtype)
        )

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        """Backward for the first layer: nobody needs dL/dX, so skip that matmul."""
        self.delta = grad_out
        np.matmul(self.A_prev.T, grad_out, out=self.W.grad)
        np.sum(grad_out, axis=0, out=self.b.grad)

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    @property
    def dtype(self) -> np.dtype:
        return self.W.value.dtype

    def spec(self) -> dict[str, Any]:
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features}
