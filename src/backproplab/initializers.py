r"""Weight initialisers, every one drawn from a caller's ``np.random.Generator``.

Each function takes ``(in_features, out_features, rng)`` and returns ``(W, b)`` with ``W`` of shape
``(in_features, out_features)`` and ``b`` of shape ``(out_features,)``, in float64.

=================  ==========================================================  ==========
name               W                                                           b
=================  ==========================================================  ==========
glorot_uniform     U(-l, l), l = sqrt(6 / (fan_in + fan_out))                  0
glorot_normal      N(0, 2 / (fan_in + fan_out))                                0
he_uniform         U(-l, l), l = sqrt(6 / fan_in)                              0
he_normal          N(0, 2 / fan_in)                                            0
lecun_normal       N(0, 1 / fan_in)  (the blog appendix's 1/sqrt(fan_in))      0
normal             N(0, 1)  (the blog's)                                       N(0, 1)
uniform            U[0, 1)  (the question's)                                   U[0, 1)
=================  ==========================================================  ==========
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validation import choose

Initializer = Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)


def glorot_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out)), np.zeros(fan_out)


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)


def lecun_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0.0, 1.0, (fan_in, fan_out)) / np.sqrt(fan_in), np.zeros(fan_out)


def normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0.0, 1.0, (fan_in, fan_out)), rng.normal(0.0, 1.0, fan_out)


def uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.random((fan_in, fan_out)), rng.random(fan_out)


INITIALIZERS: dict[str, Initializer] = {
    f.__name__: f
    for f in (glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_normal, normal, uniform)
}


def get(name: str) -> Initializer:
    """Look an initialiser up by name, listing the valid names when it is unknown."""
    return INITIALIZERS[choose("init", name, INITIALIZERS)]


def default_for(activation: str) -> str:
    """He for the ReLU family, Glorot otherwise."""
    return "he_uniform" if activation in ("relu", "leaky_relu") else "glorot_uniform"
