r"""Losses. Every loss is a mean over the batch and equals its PyTorch counterpart with
``reduction="mean"``. ``value_and_grad`` computes the loss and ``dL/d output`` in one pass, writing the
gradient into a caller's buffer.

Sigmoid + binary cross-entropy and softmax + cross-entropy are fused: the network's last layer then
produces logits ``Z``, the loss works on ``Z`` directly (``delta = p - y``), and :meth:`Loss.link`
turns logits into the probabilities that ``predict`` returns.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from . import _fastnp
from ._validation import as_float_array, choose
from .activations import sigmoid, softmax

__all__ = ["Loss", "MSE", "MAE", "BinaryCrossEntropy", "CrossEntropy", "LOSSES", "get"]


class Loss:
    """Base class. Subclasses set ``name`` and ``fused`` (the activation they absorb, or None)."""

    name = ""
    fused: str | None = None

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        """Return the loss and write dL/d(output) into ``grad`` (same shape as ``output``)."""
        raise NotImplementedError

    def value(self, output: np.ndarray, y: np.ndarray) -> float:
        return self.value_and_grad(output, y, np.empty_like(output))

    def link(self, output: np.ndarray) -> np.ndarray:
        """Map the last layer's output to predictions (probabilities for fused losses)."""
        return output

    def prepare_targets(self, y: object, n_outputs: int, dtype: np.dtype) -> np.ndarray:
        """Validate targets at the public boundary; return them as ``(n_samples, n_outputs)``."""
        y = as_float_array("y", y, dtype, ndim=(1, 2))
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {y.shape[1]} column(s) but the network has {n_outputs} output(s); "
                f"give y of shape (n_samples, {n_outputs})"
            )
        return y

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error, ``torch.nn.MSELoss()``.

    Notes
    -----
    ``L = mean((y_hat - y)**2)`` over all ``N`` elements; ``dL/dy_hat = 2 (y_hat - y) / N``.
    """

    name = "mse"

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        diff = np.subtract(output, y, grad)
        loss = _fastnp.sum_product(diff, diff) / diff.size
        np.multiply(diff, 2.0 / diff.size, diff)
        return loss


class MAE(Loss):
    r"""Mean absolute error, ``torch.nn.L1Loss()``.

    Notes
    -----
    ``L = mean(|y_hat - y|)``; ``dL/dy_hat = sign(y_hat - y) / N`` (0 where equal, as PyTorch).
    """

    name = "mae"

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        diff = np.subtract(output, y, out=grad)
        loss = _fastnp.total(np.abs(diff)) / diff.size
        np.sign(diff, out=diff)
        diff *= 1.0 / diff.size
        return loss


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy from logits, ``torch.nn.BCEWithLogitsLoss()`` (sigmoid fused).

    Notes
    -----
    With logits ``Z`` and ``p = sigmoid(Z)``:
    ``L = mean(-y log p - (1 - y) log(1 - p)) = mean(-log_expit(Z) + (1 - y) Z)`` (using
    ``log(1 - p) = log p - Z``), summed as ``sum(Z - log_expit(Z)) - y . Z``; ``log_expit`` never
    overflows or underflows. Rounding can leave about 1e-16 * mean|Z| of error, so a loss that is
    exactly 0 in exact arithmetic is clamped at 0. ``dL/dZ = (p - y) / N``.
    """

    name = "bce"
    fused = "sigmoid"

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        softplus = np.subtract(output, log_expit(output, grad), grad)  # grad is scratch until expit below
        total = _fastnp.total(softplus) - _fastnp.sum_product(y, output)
        p = expit(output, grad)
        np.subtract(p, y, p)
        np.multiply(p, 1.0 / p.size, p)
        return max(total / output.size, 0.0)

    def link(self, output: np.ndarray) -> np.ndarray:
        return sigmoid(output)

    def prepare_targets(self, y: object, n_outputs: int, dtype: np.dtype) -> np.ndarray:
        y = super().prepare_targets(y, n_outputs, dtype)
        if y.min() < 0 or y.max() > 1:
            raise ValueError(
                f"loss 'bce' needs targets in [0, 1] (binary labels or probabilities); "
                f"y has values from {y.min():g} to {y.max():g}"
            )
        return y


class CrossEntropy(Loss):
    r"""Softmax cross-entropy from logits, ``torch.nn.CrossEntropyLoss()`` (softmax fused).

    Notes
    -----
    With logits ``Z`` and ``p = softmax(Z)`` row-wise, over ``n`` samples:
    ``L = -(1/n) sum_i sum_k y_ik log p_ik``; ``dL/dZ = (p - y) / n``.
    ``y`` may be class indices (converted to one-hot at the boundary) or rows of class probabilities.
    """

    name = "cross_entropy"
    fused = "softmax"

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        p = softmax(output, out=grad)
        loss = -_fastnp.sum_product(y, np.log(p)) / output.shape[0]
        p -= y
        p *= 1.0 / output.shape[0]
        return loss

    def link(self, output: np.ndarray) -> np.ndarray:
        return softmax(output)

    def prepare_targets(self, y: object, n_outputs: int, dtype: np.dtype) -> np.ndarray:
        y = as_float_array("y", y, dtype, ndim=(1, 2))
        if y.ndim == 2 and y.shape[1] == n_outputs and n_outputs > 1:
            if y.min() < 0 or np.abs(y.sum(axis=1) - 1).max() > 1e-6:
                raise ValueError(
                    "loss 'cross_entropy' takes y as class indices or as rows of class probabilities "
                    "(one-hot), but the rows of y do not sum to 1"
                )
            return y
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(
                f"y has {y.shape[1]} columns but the network has {n_outputs} outputs; give class "
                f"indices of shape (n_samples,) or one-hot rows of shape (n_samples, {n_outputs})"
            )
        labels = y.ravel()
        if (labels != np.round(labels)).any() or labels.min() < 0 or labels.max() >= n_outputs:
            raise ValueError(
                f"loss 'cross_entropy' needs class indices in 0..{n_outputs - 1} for {n_outputs} "
                f"outputs; y has values from {labels.min():g} to {labels.max():g}"
            )
        onehot = np.zeros((labels.size, n_outputs), dtype=dtype)
        onehot[np.arange(labels.size), labels.astype(np.intp)] = 1
        return onehot


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (MSE, MAE, BinaryCrossEntropy, CrossEntropy)}


def get(name: str | Loss) -> Loss:
    """A loss by name (or the instance itself), listing the valid names when it is unknown."""
    if isinstance(name, Loss):
        return name
    return LOSSES[choose("loss", name, LOSSES)]()



def _row_losses(loss: Loss, output: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's loss, such that the built-in loss's value is their mean (over rows)."""
    if isinstance(loss, MSE):
        return np.mean((output - y) ** 2, axis=1)
    if isinstance(loss, MAE):
        return np.mean(np.abs(output - y), axis=1)
    if isinstance(loss, BinaryCrossEntropy):
        return np.mean(output - log_expit(output) - y * output, axis=1)
    p = np.log(softmax(output))
    return -np.sum(y * p, axis=1)


class WeightedLoss(Loss):
    r"""A built-in loss with a weight per row; the weights travel as the last column of ``y``.

    Notes
    -----
    With row losses ``l_i`` (the base loss is ``mean_i l_i``) and weights ``w_i``:
    ``L = sum_i w_i l_i / sum_i w_i`` over the batch; ``dL/d output_i = (n w_i / sum w) dl_i``, the
    base loss's gradient row ``i`` times ``n w_i / sum w``. Targets without the weight column (a
    validation set) give the base loss unweighted. ``fit(sample_weight=...)`` installs it for the run.
    """

    def __init__(self, base: Loss) -> None:
        if type(base) not in (MSE, MAE, BinaryCrossEntropy, CrossEntropy):
            raise ValueError(f"sample_weight works with the built-in losses only, not {type(base).__name__}")
        self.base, self.name, self.fused = base, base.name, base.fused

    def value_and_grad(self, output: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
        if y.shape[1] == output.shape[1]:
            return self.base.value_and_grad(output, y, grad)
        targets, weights = y[:, :-1], y[:, -1]
        self.base.value_and_grad(output, targets, grad)
        total = float(weights.sum())
        if total <= 0:  # a batch of zero-weight rows teaches nothing
            grad[...] = 0
            return 0.0
        grad *= (weights * (len(weights) / total))[:, None]
        return float(np.dot(weights, _row_losses(self.base, output, targets)) / total)

    def value(self, output: np.ndarray, y: np.ndarray) -> float:
        if y.shape[1] == output.shape[1]:
            return self.base.value(output, y)
        weights = y[:, -1]
        return float(np.dot(weights, _row_losses(self.base, output, y[:, :-1])) / weights.sum())

    def link(self, output: np.ndarray) -> np.ndarray:
        return self.base.link(output)

    def prepare_targets(self, y: object, n_outputs: int, dtype: np.dtype) -> np.ndarray:
        # targets met during the run (a validation set) are the base loss's: class indices become one-hot
        return self.base.prepare_targets(y, n_outputs, dtype)
