r"""Activation layers: no parameters, ``A = f(Z)`` forward, ``grad_in = grad_out * f'(Z)`` backward.

Each layer keeps its *output* ``A`` from the last forward and computes the derivative from it, so the
backward pass needs nothing else. All are stable for pre-activations of any finite size: no overflow,
underflow or invalid-value floating-point flags, even under ``np.errstate(all="raise")``.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Any, Literal

import numpy as np
from scipy.special import expit

from . import _kernels
from ._validation import choose
from .layers import BufferedLayer
from .registry import ActivationTable, layer_type, onnx_op, torch_module

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity", "Softmax", "ACTIVATIONS", "get"]


class Activation(BufferedLayer):
    """Base class: remembers the last output ``A``.

    A subclass computes ``A = f(Z)`` in :meth:`forward`, writing into ``self._out(Z, training)``
    (None at inference, so that a fresh array comes back), and ``grad_out * f'(Z)`` in
    :meth:`backward`, writing into ``self._grad_in(grad_out)``. Decorated with
    :func:`backproplab.registry.layer_type`, it is known to ``Network.mlp``, model files and export.
    """

    name = ""
    #: True when a training forward writes its result into ``self._out(...)`` (the workspace may then
    #: point that at the next layer's input buffer)
    writes_output = True
    #: True when f' jumps at 0: gradient checks report points next to the kink instead of failing.
    kink = False

    _output: np.ndarray  # where a training forward writes: its own buffer, or one the workspace shares
    _grad: np.ndarray

    def __init__(self) -> None:
        super().__init__()
        self.A: Any = None  # the last forward's output (an ndarray once forward has run)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    _buffer_names: tuple[str, ...] = ("_output", "_grad")

    def training_buffers(self, shape: tuple[int, ...], dtype: np.dtype, order: Literal["C", "F"] = "C",
                         output: np.ndarray | None = None, **options: bool) -> dict[str, Any]:
        """``_output`` (``output`` when given) and ``_grad``, laid out in ``order``: the layout of the
        input, since elementwise operations on operands of different orders are many times slower."""
        if output is None:
            output = np.empty(shape, dtype=dtype, order=order)
        return {"_output": output, "_grad": np.empty(shape, dtype=dtype, order=order)}

    def _out(self, Z: np.ndarray, training: bool) -> np.ndarray | None:
        if not training:
            return None
        if Z.shape != self._shape or Z.dtype is not self._dtype:
            self._ensure(Z.shape, Z.dtype)
        return self._output

    def _grad_in(self, grad_out: np.ndarray) -> np.ndarray:
        if grad_out.shape != self._shape or grad_out.dtype is not self._dtype:
            self._ensure(grad_out.shape, grad_out.dtype)
        return self._grad


@layer_type("sigmoid", onnx=onnx_op("Sigmoid"), torch=torch_module("Sigmoid"))
class Sigmoid(Activation):
    r"""Logistic sigmoid.

    Notes
    -----
    Forward: ``A = 1 / (1 + exp(-Z))`` (see :func:`sigmoid`; stable for any ``Z``).
    Backward: ``grad_in = grad_out * A * (1 - A)``. ``A * (1 - A) <= 1/4``: each sigmoid layer scales
    the backpropagated gradient by at most 1/4 elementwise, so unless the weights make up for it,
    deep sigmoid stacks shrink their gradients layer by layer.
    """

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        out = self._out(X, training)
        # sigmoid() inlined for small arrays: the blog network's step calls this twice
        self.A = expit(X, out) if X.size < SIGMOID_SIMD_MIN else sigmoid(X, out)
        return self.A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        A = self.A
        grad_in = np.subtract(1.0, A, self._grad_in(grad_out))
        np.multiply(grad_in, A, grad_in)
        return np.multiply(grad_in, grad_out, grad_in)


@layer_type("tanh", onnx=onnx_op("Tanh"), torch=torch_module("Tanh"))
class Tanh(Activation):
    r"""Hyperbolic tangent.

    Notes
    -----
    Forward: ``A = tanh(Z)``. Backward: ``grad_in = grad_out * (1 - A**2)``.
    """

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self.A = np.tanh(X, out=self._out(X, training))
        return self.A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        A = self.A
        grad_in = np.multiply(A, A, self._grad_in(grad_out))
        np.subtract(1.0, grad_in, grad_in)
        return np.multiply(grad_in, grad_out, grad_in)


@layer_type("relu", onnx=onnx_op("Relu"), torch=torch_module("ReLU"))
class ReLU(Activation):
    r"""Rectified linear unit.

    Notes
    -----
    Forward: ``A = max(Z, 0)``. Backward: ``grad_in = grad_out * [A > 0]`` (the derivative at 0 is
    taken as 0, as in PyTorch and scikit-learn).
    """

    kink = True

    _buffer_names = Activation._buffer_names + ("_zeros", "_mask_in_place")
    _zeros: np.ndarray
    _mask_in_place: bool

    def training_buffers(self, shape: tuple[int, ...], dtype: np.dtype, order: Literal["C", "F"] = "C",
                         output: np.ndarray | None = None, grad_out_scratch: bool = False,
                         **options: bool) -> dict[str, Any]:
        """Adds an array of zeros (np.maximum against it takes NumPy's SIMD loop; against the scalar
        0 it takes a slower one). ``grad_out_scratch=True`` promises that the ``grad_out`` given to
        :meth:`backward` is an array nothing reads afterwards, which may then be masked in place."""
        return {**super().training_buffers(shape, dtype, order, output),
                "_zeros": np.zeros(shape, dtype=dtype, order=order), "_mask_in_place": grad_out_scratch}

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:
            self.A = np.maximum(X, 0.0)
            return self.A
        out = self._out(X, training)
        assert out is not None  # always an array in training
        if X.size >= _kernels.STREAM_MIN and (kernels := _kernels.kernels()) is not None:
            flat = _same_layout_flat(X, out)
            if flat is not None:  # bit-identical to np.maximum, without reading a zeros buffer
                kernels["relu_forward"](*flat, out.dtype.type(0))
                self.A = out
                return out
        self.A = np.maximum(X, self._zeros, out=out)
        return self.A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        A = self.A
        if A.size >= _kernels.FUSED_MIN and (kernels := _kernels.kernels()) is not None:
            one = A.dtype.type(1)
            if self._mask_in_place and A.size >= _kernels.STREAM_MIN:
                # a scratch array that nothing reads after this (the workspace says so): masked in
                # place, one read stream fewer than writing a third array
                flat = _same_layout_flat(A, grad_out)
                if flat is not None:
                    kernels["relu_backward_in_place"](*flat, one, one - one)
                    return grad_out
            out = self._grad_in(grad_out)
            flat = _same_layout_flat(A, grad_out, out)
            if flat is not None:  # one compiled pass, bit-identical to the two below (see _kernels)
                kernels["relu_backward"](*flat, one, one - one)
                return out
        grad_in = np.greater(A, 0.0, out=self._grad_in(grad_out))
        return np.multiply(grad_in, grad_out, grad_in)


def _same_layout_flat(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """1-D views of arrays of one shape and dtype laid out alike in contiguous memory (entry ``i``
    of each is then the same element), or None."""
    first = arrays[0]
    if any(a.shape != first.shape or a.dtype != first.dtype for a in arrays):
        return None
    if all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    if all(a.flags.f_contiguous for a in arrays):
        return [a.T.reshape(-1) for a in arrays]
    return None


def _export_leaky_relu_onnx(layer: LeakyReLU, graph: Any, current: str) -> str:
    # ONNX's LeakyRelu takes alpha as a float32 attribute; max(x, slope * x) keeps full precision
    slope = graph.constant("slope", np.array(layer.negative_slope, dtype=graph.dtype))
    return str(graph.node("Max", [current, graph.node("Mul", [current, slope])]))


@layer_type("leaky_relu", onnx=_export_leaky_relu_onnx,
            torch=lambda layer, torch, dtype: torch.nn.LeakyReLU(layer.negative_slope))
class LeakyReLU(Activation):
    r"""Leaky ReLU with slope ``negative_slope`` for negative inputs.

    Parameters
    ----------
    negative_slope : float in [0, 1)

    Notes
    -----
    Forward: ``A = max(Z, s * Z)``. Backward: ``grad_in = grad_out * (1 if A > 0 else s)``.
    """

    kink = True

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real) or not (
            0 <= negative_slope < 1
        ):
            raise ValueError(f"negative_slope must be a number in [0, 1), got {negative_slope!r}")
        self.negative_slope: float = float(negative_slope)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        A = np.multiply(X, self.negative_slope, out=self._out(X, training))
        self.A = np.maximum(X, A, out=A)
        return self.A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_in = np.greater(self.A, 0, out=self._grad_in(grad_out))
        grad_in *= 1.0 - self.negative_slope
        grad_in += self.negative_slope
        grad_in *= grad_out
        return grad_in

    def spec(self) -> dict[str, Any]:
        return {"type": "LeakyReLU", "negative_slope": self.negative_slope}


@layer_type("identity", onnx=lambda layer, graph, current: current, torch=torch_module("Identity"))
class Identity(Activation):
    r"""Identity: ``A = Z`` forward, ``grad_in = grad_out`` backward."""

    writes_output = False  # it returns its input as it is

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self.A = X
        return X

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


#: arrays with at least this many entries take NumPy's SIMD exp in :func:`sigmoid`; smaller ones take
#: scipy's expit, one call instead of five
SIGMOID_SIMD_MIN = 8192


@functools.cache
def _exp_limit(dtype: np.dtype) -> float:
    """The largest whole L with exp(L) and 1 / (1 + exp(L)) both normal numbers (87 in float32, 708
    in float64)."""
    return float(math.floor(-math.log(float(np.finfo(dtype).tiny))))


def sigmoid(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``1 / (1 + exp(-Z))`` without floating-point flags for any finite ``Z``; NaN stays NaN.

    Small arrays use scipy's ``expit``. Large ones clip ``-Z`` to the exp limit and use NumPy's SIMD
    ``exp``, faster than ``expit``'s scalar loop on large arrays, within 3e-16 (float64) or
    3e-7 (float32) of it relatively, except that entries below the limit (-708 or -87) give the
    smallest normal number's neighbourhood instead of a subnormal or 0."""
    if Z.size < SIGMOID_SIMD_MIN:
        return expit(Z, out=out)
    limit = _exp_limit(Z.dtype)
    t = np.negative(Z, out=out)
    np.clip(t, -limit, limit, out=t)
    np.exp(t, t)
    np.add(t, 1.0, t)
    return np.reciprocal(t, t)


@functools.cache
def softmax_floor(dtype: np.dtype) -> float:
    """Lowest shifted logit kept: exp of it stays a normal number even after division by a batch."""
    return 0.85 * float(np.log(np.finfo(dtype).tiny))


def softmax(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax, stable for any finite logits (shifted by the row max, floored, then exp)."""
    # the ufunc reductions skip ndarray.max/sum's Python wrappers (a few us at training batch sizes)
    out = np.subtract(Z, np.maximum.reduce(Z, axis=1, keepdims=True), out=out)
    np.maximum(out, softmax_floor(out.dtype), out=out)
    np.exp(out, out)
    np.divide(out, np.add.reduce(out, axis=1, keepdims=True), out)
    return out


@layer_type("softmax", role="output", onnx=onnx_op("Softmax", axis=-1), torch=torch_module("Softmax", dim=-1))
class Softmax(Activation):
    r"""Softmax over the last axis (output layer only).

    Notes
    -----
    Forward: ``A_ik = exp(Z_ik - max_j Z_ij) / sum_j exp(Z_ij - max_j Z_ij)``.
    Backward (the Jacobian-vector product): ``grad_in = A * (grad_out - sum_k(grad_out * A)_k)``.
    Paired with cross-entropy it is fused into the loss instead (``delta = p - y``).
    """

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self.A = softmax(X, out=self._out(X, training))
        return self.A

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_in = np.multiply(grad_out, self.A, out=self._grad_in(grad_out))
        row_sum = grad_in.sum(axis=1, keepdims=True)
        np.subtract(grad_out, row_sum, out=grad_in)
        grad_in *= self.A
        return grad_in


#: short name -> class, read live from :mod:`backproplab.registry`
ACTIVATIONS = ActivationTable()


def get(name: str, argument: str = "activation", **options: Any) -> Activation:
    """A new activation layer by name, listing the valid names when it is unknown. ``options`` go
    to the constructor where it takes them (``negative_slope`` for leaky_relu)."""
    cls = ACTIVATIONS[choose(argument, name, ACTIVATIONS)]
    accepted = inspect.signature(cls).parameters
    return cls(**{key: value for key, value in options.items() if key in accepted})
