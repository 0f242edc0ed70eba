import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def make_targets(loss: str, n: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """Targets that fit each loss."""
    if loss == "cross_entropy":
        return rng.integers(0, n_out, size=n)
    if loss == "bce":
        return rng.integers(0, 2, size=(n, n_out)).astype(float)
    return rng.normal(size=(n, n_out))
