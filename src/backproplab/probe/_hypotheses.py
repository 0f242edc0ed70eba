r"""Proving the cause: rebuild the user's network from what was recorded, then test named mistakes.

When the recorded activations cover all of X (full-batch training), the probe rebuilds the forward pass
from the recorded arrays alone: each weight matrix (``(in, out)`` or ``(out, in)``, a bias row fed by a
constant +1 or -1 input, or a separate bias vector) and each activation (sigmoid, tanh, relu, identity),
accepted only when it reproduces the recorded activations. The loss is one of the usual squared errors
(sum, half sum, mean, half mean), accepted only when the rebuilt backward pass reproduces the finite
differences of the user's own loss on every checked entry. Then, for each boundary between layers,
the backward step is replaced by a named mistake:

- ``missing_derivative``: ``delta = dL/dA`` (no ``f'(Z)``);
- ``transposed``: ``dL/dA_prev = delta @ W`` where ``delta @ W.T`` belongs (square W only);
- ``update``: ``dL/dA_prev = delta @ (-lr G).T``, the weights' update where the weights belong;
- ``updated_weights``: ``dL/dA_prev = delta @ (W - lr G).T``, weights already updated.

A mistake is named only if it reproduces *every* recorded gradient to 1e-6: a proof, not a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["explain", "MISTAKES"]

MISTAKES = {
    "missing_derivative": "the activation derivative f'(Z) of layer {layer} is missing from its delta",
    "transposed": "the backward step into layer {layer} multiplies by {up} where {up}.T belongs (a transposed weight)",
    "update": "the backward step into layer {layer} uses the update of {up} (-lr x its gradient) where {up} belongs",
    "updated_weights": "the backward step into layer {layer} uses {up} after its update (gradients taken after the update)",
}
Elementwise = Callable[[np.ndarray], np.ndarray]
ACTIVATIONS: dict[str, tuple[Elementwise, Elementwise]] = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(float)),
    "identity": (lambda z: z, np.ones_like),
}
LOSSES = ("sse", "half_sse", "mse", "half_mse")


@dataclass
class _Layer:
    w: int
    transposed: bool
    bias_row: float | None
    b: int | None
    act: str
    width_in: int


def _as_samples(a: np.ndarray, n: int, width: int) -> np.ndarray | None:
    if a.shape == (n, width):
        return a
    if a.shape == (width, n):
        return a.T
    return None


def _matrix(arrays: list[np.ndarray], layer: _Layer) -> np.ndarray:
    W = arrays[layer.w]
    return W.T if layer.transposed else W


def _pre_activation(arrays: list[np.ndarray], layer: _Layer, A: np.ndarray) -> np.ndarray:
    Wm = _matrix(arrays, layer)
    Z = A @ Wm[: layer.width_in]
    if layer.bias_row is not None:
        Z = Z + layer.bias_row * Wm[layer.width_in]
    if layer.b is not None:
        Z = Z + arrays[layer.b].reshape(-1)
    return Z


def _bias_index(arrays: list[np.ndarray], k: int, out: int) -> int | None:
    """The array after weights ``k`` when it is their bias vector: ``(out,)``, or ``(1, out)`` before the
    next weight matrix (or at the end)."""
    if k + 1 >= len(arrays):
        return None
    nb = arrays[k + 1]
    if nb.shape == (out,):
        return k + 1
    if nb.shape in ((1, out), (out, 1)) and (k + 2 >= len(arrays) or out in arrays[k + 2].shape or out + 1 in arrays[k + 2].shape):
        return k + 1
    return None


def _rebuild(arrays: list[np.ndarray], X: np.ndarray, activations: list[np.ndarray]) -> list[_Layer] | None:
    n, width, A, k, used = len(X), X.shape[1], X, 0, 0
    layers: list[_Layer] = []
    while k < len(arrays):
        W = arrays[k]
        if W.ndim != 2:
            return None
        found = None
        for transposed in (False, True):
            Wm = W.T if transposed else W
            for bias_row in ((None,) if Wm.shape[0] == width else (1.0, -1.0) if Wm.shape[0] == width + 1 else ()):
                out = Wm.shape[1]
                b = _bias_index(arrays, k, out)
                layer = _Layer(k, transposed, bias_row, b, "identity", width)
                Z = _pre_activation(arrays, layer, A)
                for j in range(used, len(activations)):
                    target = _as_samples(activations[j], n, out)
                    if target is None:
                        continue
                    for name, (f, _) in ACTIVATIONS.items():
                        with np.errstate(over="ignore"):
                            if np.allclose(f(Z), target, rtol=1e-9, atol=1e-12):
                                found = (layer, name, j, target)
                                break
                    if found:
                        break
                if found:
                    break
            if found:
                break
        if not found:
            return None
        layer, name, j, target = found
        layer.act = name
        layers.append(layer)
        used, A, width = j + 1, target, target.shape[1]
        k += 2 if layer.b is not None else 1
    return layers


def _backward(arrays: list[np.ndarray], layers: list[_Layer], X: np.ndarray, y: np.ndarray, loss: str,
              mistake: str | None = None, at: int = -1, lr: float = 0.0, user: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Gradients of every array in the user's layouts; ``mistake`` replaces the step into layer ``at``."""
    As = [X]
    for layer in layers:
        As.append(ACTIVATIONS[layer.act][0](_pre_activation(arrays, layer, As[-1])))
    P = As[-1]
    e = P - y
    dA = {"sse": 2 * e, "half_sse": e, "mse": 2 * e / e.size, "half_mse": e / e.size}[loss]
    grads: list[np.ndarray] = [np.zeros_like(a) for a in arrays]
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        skip = mistake == "missing_derivative" and index == at
        delta = dA if skip else dA * ACTIVATIONS[layer.act][1](As[index + 1])
        A_prev = As[index]
        if layer.bias_row is not None:
            A_prev = np.hstack([A_prev, np.full((len(A_prev), 1), layer.bias_row)])
        G = A_prev.T @ delta
        grads[layer.w] = G.T if layer.transposed else G
        if layer.b is not None:
            grads[layer.b] = delta.sum(axis=0).reshape(arrays[layer.b].shape)
        Wm = _matrix(arrays, layer)[: layer.width_in]
        if index - 1 == at and mistake in ("transposed", "update", "updated_weights") and user is not None:
            Gm = (user[layer.w].T if layer.transposed else user[layer.w])[: layer.width_in]
            back = {"transposed": Wm.T if Wm.shape[0] == Wm.shape[1] else None, "update": -lr * Gm,
                    "updated_weights": Wm - lr * Gm}[mistake]
            if back is None:
                return []
            dA = delta @ back.T
        else:
            dA = delta @ Wm.T
    return grads


def _matches(candidate: list[np.ndarray], user: list[np.ndarray]) -> bool:
    if not candidate:
        return False
    for a, b in zip(candidate, user):
        scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-300)
        if float(np.linalg.norm(a - b)) > 1e-6 * scale:
            return False
    return True


def explain(weights: list[np.ndarray], user: list[np.ndarray], X: np.ndarray | None, y: np.ndarray | None,
            activations: list[np.ndarray], numeric: list[tuple[np.ndarray, np.ndarray]], lr: float | None,
            names: tuple[str, ...]) -> dict[str, Any] | None:
    """The named mistake that reproduces every recorded gradient, or None (see the module notes).

    ``numeric[k]`` holds the checked flat indices of array ``k`` and their finite differences.
    """
    if X is None or y is None or not activations:
        return None
    layers = _rebuild(weights, X, activations)
    if not layers:
        return None
    Y = y.reshape(len(X), -1)
    if Y.shape[1] != _matrix(weights, layers[-1]).shape[1]:
        return None
    with np.errstate(all="ignore"):
        ours = np.concatenate([g.reshape(-1)[idx] for g, (idx, _) in zip(_backward(weights, layers, X, Y, "sse"), numeric)])
        true = np.concatenate([num for _, num in numeric])
        scale = float(ours @ true / (true @ true)) if true @ true > 0 else 0.0
        if scale <= 0 or not np.allclose(ours, scale * true, rtol=1e-5, atol=1e-9 * max(1.0, float(np.abs(ours).max()))):
            return None  # the rebuilt network is not the one the loss_fn computes
        for at, mistake, loss in ((at, m, loss) for at in range(len(layers) - 1, -1, -1) for m in MISTAKES for loss in LOSSES):
            if mistake in ("update", "updated_weights") and not lr:
                continue
            if mistake != "missing_derivative" and at == len(layers) - 1:
                continue
            if _matches(_backward(weights, layers, X, Y, loss, mistake, at, lr or 0.0, user), user):
                up = names[layers[at + 1].w] if at + 1 < len(layers) else names[layers[at].w]
                return {"mistake": mistake, "layer": at + 1, "array": names[layers[at].w], "loss": loss,
                        "sentence": MISTAKES[mistake].format(layer=f"{at + 1} ({names[layers[at].w]})", up=up),
                        "architecture": ", ".join(f"{names[layer.w]} {layer.act}" for layer in layers)}
    return None
