r"""The two sources' flawed backward passes, as custom layers of the documented Layer protocol.

They exist so that the playground can reproduce each source's failure inside a backproplab network
(``forward(X, training=False)``, ``backward(grad_out) -> grad_in``, ``parameters()``; they reuse
Dense's forward pass and override its backward) and show that
the diagnosis's finite-difference check names it. They are comparisons, never our implementation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers import Dense

__all__ = ["QuestionOutputDense", "BatchMeanDense"]


class _CustomDense(Dense):
    """A Dense layer whose backward pass is written outside the library, from the layer's public
    attributes only (``A_prev``, ``W``, ``b``, ``delta``): the forward pass stays ``Z = A_prev @ W + b``."""

    def backward_params_only(self, grad_out: np.ndarray) -> None:
        self.backward(grad_out)

    def spec(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "in_features": self.in_features, "out_features": self.out_features}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_features={self.in_features}, out_features={self.out_features})"


class QuestionOutputDense(_CustomDense):
    r"""The question's output layer: exact gradients for its own weights, but the signal it sends
    back uses the weights' *update* where the weights belong.

    Notes
    -----
    Right: ``grad_in = delta @ W.T``. The question's code: ``grad_in = delta @ (-lr * dL/dW).T``,
    with ``dL/dW = A_prev.T @ delta`` (its norm is a few percent of the true one, and its direction
    is often wrong). ``dL/dW`` and ``dL/db`` themselves are exact.
    """

    def __init__(self, in_features: int, out_features: int, lr: float, init: str = "uniform",
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(in_features, out_features, init=init, rng=rng)
        self.lr = float(lr)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.delta = grad_out
        self.W.grad[...] = self.A_prev.T @ grad_out  # type: ignore[union-attr]
        self.b.grad[...] = grad_out.sum(axis=0)
        update = -self.lr * self.W.grad  # the flaw: the update, not W, carries the error back
        return grad_out @ update.T

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "lr": self.lr}


class BatchMeanDense(_CustomDense):
    r"""The blog's update: the outer product of the batch-mean input and the summed delta.

    Notes
    -----
    Right (the loss is a batch mean, so ``delta`` already carries ``1/n``):
    ``dL/dW = A_prev.T @ delta = sum_i a_i delta_i^T``. The blog's rule:
    ``mean_i(a_i) (sum_i delta_i)^T``; the two differ by ``n`` times the batch covariance of the
    inputs and the deltas. ``grad_in = delta @ W.T`` is exact.
    """

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.delta = grad_out
        np.outer(self.A_prev.mean(axis=0), grad_out.sum(axis=0), out=self.W.grad)  # type: ignore[union-attr]
        self.b.grad[...] = grad_out.sum(axis=0)
        return grad_out @ self.W.value.T
