import numpy as np
import pytest

from backproplab import initializers


@pytest.mark.parametrize("name,limit", [("glorot_uniform", np.sqrt(6 / (200 + 300))), ("he_uniform", np.sqrt(6 / 200))])
def test_uniform_bounds_and_spread(name, limit):
    W, b = initializers.get(name)(200, 300, np.random.default_rng(0))
    assert W.shape == (200, 300) and b.shape == (300,)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)  # std of U(-l, l)
    assert not b.any()


@pytest.mark.parametrize("name,std", [("glorot_normal", np.sqrt(2 / 500)), ("he_normal", np.sqrt(2 / 200)),
                                      ("lecun_normal", np.sqrt(1 / 200)), ("normal", 1.0)])
def test_normal_spread(name, std):
    W, _ = initializers.get(name)(200, 300, np.random.default_rng(0))
    assert W.std() == pytest.approx(std, rel=0.02) and abs(W.mean()) < 0.01 * std * 10


def test_the_sources_initialisers_draw_biases_too():
    W, b = initializers.get("uniform")(4, 3, np.random.default_rng(0))
    assert 0 <= W.min() and W.max() < 1 and 0 <= b.min() and b.max() < 1 and b.any()
    _, b = initializers.get("normal")(4, 3, np.random.default_rng(0))
    assert b.any()


def test_seeded_generators_repeat_and_unknown_names_list_the_valid_ones():
    a = initializers.get("he_normal")(3, 3, np.random.default_rng(5))[0]
    b = initializers.get("he_normal")(3, 3, np.random.default_rng(5))[0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown init 'xavier'; expected one of: glorot_uniform, glorot_normal"):
        initializers.get("xavier")
