import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import backproplab as bp
from backproplab.layers import Parameter
from backproplab.optimizers import InverseScaling, ReduceOnPlateau, StepDecay


def param(value, grad):
    p = Parameter(np.array(value, dtype=float))
    p.grad[...] = grad
    return p


def test_sgd_one_step():
    p = param([1.0, -2.0], [0.5, 1.0])
    opt = bp.SGD(lr=0.1)
    opt.bind([p])
    opt.step()
    np.testing.assert_allclose(p.value, [0.95, -2.1])


def test_sgd_momentum_two_steps_by_hand():
    p = param([1.0], [1.0])
    opt = bp.SGD(lr=0.1, momentum=0.9)
    opt.bind([p])
    opt.step()  # v = 1, w = 1 - 0.1
    opt.step()  # v = 0.9 * 1 + 1 = 1.9, w = 0.9 - 0.19
    np.testing.assert_allclose(p.value, [0.71])


def test_nesterov_two_steps_by_hand():
    p = param([1.0], [1.0])
    opt = bp.SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.bind([p])
    opt.step()  # v = 1, w -= 0.1 * (1 + 0.9 * 1) = 0.81
    opt.step()  # v = 1.9, w -= 0.1 * (1 + 0.9 * 1.9) = 0.81 - 0.271
    np.testing.assert_allclose(p.value, [0.539])


def test_adam_first_step_moves_by_lr_times_sign():
    p = param([1.0, 1.0], [3.0, -0.001])
    opt = bp.Adam(lr=0.01)
    opt.bind([p])
    opt.step()
    # m_hat = g, v_hat = g^2 -> step = lr * g / (|g| + eps)
    np.testing.assert_allclose(p.value, [1 - 0.01 * 3 / (3 + 1e-8), 1 + 0.01 * 0.001 / (0.001 + 1e-8)])


def test_adam_second_step_by_hand():
    p = param([0.0], [1.0])
    opt = bp.Adam(lr=0.1, beta1=0.5, beta2=0.5, eps=0.0 + 1e-12)
    opt.bind([p])
    opt.step()
    p.grad[...] = 3.0
    opt.step()
    m = 0.5 * 0.5 * 1 + 0.5 * 3  # 1.75
    v = 0.5 * 0.5 * 1 + 0.5 * 9  # 4.75
    m_hat, v_hat = m / (1 - 0.25), v / (1 - 0.25)
    np.testing.assert_allclose(p.value, [-0.1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-12)])


def test_rmsprop_one_step():
    p = param([1.0], [2.0])
    opt = bp.RMSProp(lr=0.01, rho=0.9)
    opt.bind([p])
    opt.step()
    np.testing.assert_allclose(p.value, [1 - 0.01 * 2 / (np.sqrt(0.1 * 4) + 1e-8)])


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
@given(grad=st.lists(st.floats(-10, 10), min_size=3, max_size=3))
def test_zero_learning_rate_changes_nothing(name, grad):
    p = param([0.5, -1.0, 2.0], grad)
    opt = bp.optimizers.get(name, 0.0)
    opt.bind([p])
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(p.value, [0.5, -1.0, 2.0])


def test_negative_lr_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="lr must be >= 0.0, got -0.1"):
        bp.SGD(lr=-0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; expected one of: sgd, adam, rmsprop"):
        bp.optimizers.get("lbfgs")


def test_schedules():
    step = StepDecay(step_size=2, gamma=0.5)
    step.start(1.0)
    assert [step(e, 0, 0) for e in (1, 2, 3, 4)] == [1.0, 0.5, 0.5, 0.25]
    inv = InverseScaling(power_t=0.5)
    inv.start(1.0)
    assert inv(3, 0, 0) == pytest.approx(0.5)
    per_sample = InverseScaling(power_t=0.5, per_epoch=99)  # t counts samples: 2 epochs of 99 rows
    per_sample.start(1.0)
    assert per_sample(2, 0, 0) == pytest.approx(1 / 199**0.5)
    with pytest.raises(ValueError, match="per_epoch"):
        InverseScaling(per_epoch=0)
    plateau = ReduceOnPlateau(factor=0.5, patience=2)
    plateau.start(1.0)
    lrs = [plateau(e, lr, loss) for e, (lr, loss) in enumerate([(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)])]
    assert lrs == [1.0, 1.0, 0.5]
