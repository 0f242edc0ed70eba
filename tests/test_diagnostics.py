import warnings

import numpy as np
import pytest

import backproplab as bp


@pytest.fixture
def scaled_spheres():
    X, y = bp.datasets.two_spheres(seed=0)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def codes(diagnosis, severity=("warning", "error")):
    return {f.code for f in diagnosis.findings if f.severity in severity}


def test_healthy_run_has_no_warning_or_error(scaled_spheres):
    X, y = scaled_spheres
    net = bp.Network.mlp([3, 16, 1], loss="bce", seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.01, max_epochs=300, stop=bp.Stop(plateau=True, patience=10), seed=0)
    diagnosis = bp.diagnose(net, X, y, history=history)
    assert diagnosis.healthy, str(diagnosis)
    assert "healthy" in str(diagnosis)


def test_the_questions_stall_is_explained():
    X, Y = bp.datasets.noise(seed=0)
    net = bp.Network.mlp([7, 3, 2], hidden="sigmoid", init="uniform", seed=0)
    history = net.fit(X, Y, lr=0.04, batch_size=None, max_steps=100_000, stop=bp.Stop(grad_norm_below=0.005))
    diagnosis = bp.diagnose(net, X, Y, history=history)
    assert {"no_better_than_baseline", "no_signal"} <= codes(diagnosis)
    finding = next(f for f in diagnosis.findings if f.code == "no_better_than_baseline")
    assert finding.evidence["ratio"] >= 0.8 and finding.suggestion
    assert not diagnosis.healthy


def test_memorised_noise_has_no_signal():
    X, Y = bp.datasets.noise(seed=0)
    net = bp.Network.mlp([7, 64, 64, 2], hidden="tanh", seed=0)
    history = net.fit(X, Y, optimizer="adam", lr=0.01, batch_size=None, max_steps=2000)
    assert "no_signal" in codes(bp.diagnose(net, X, Y, history=history))


def test_vanishing_gradient_in_a_deep_sigmoid_stack(scaled_spheres):
    X, y = scaled_spheres
    net = bp.Network.mlp([3] + [16] * 8 + [1], hidden="sigmoid", output="sigmoid", loss="bce", seed=0)
    diagnosis = bp.diagnose(net, X, y, signal_test=False)
    finding = next(f for f in diagnosis.findings if f.code == "vanishing_gradient")
    assert finding.evidence["first_over_last"] < 1e-2
    assert len(finding.evidence["grad_norm_per_layer"]) == 9


def test_divergence_is_lr_too_large(rng):
    X = rng.normal(size=(200, 5)) * 100
    y = X[:, :1] * 3
    net = bp.Network.mlp([5, 16, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, y, lr=1.0, max_epochs=50, seed=0)
    diagnosis = bp.diagnose(net, X, y, history=history)
    assert "lr_too_large" in codes(diagnosis, ("error",))
    assert "exploding_gradient" in codes(diagnosis)


def test_tiny_learning_rate(rng):
    X = rng.normal(size=(300, 5))
    y = np.sin(X[:, :1]) + 0.3 * X[:, 1:2]
    net = bp.Network.mlp([5, 16, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, y, lr=1e-6, max_epochs=40, seed=0)
    finding = next(f for f in bp.diagnose(net, X, y, history=history).findings if f.code == "lr_too_small")
    assert finding.evidence["loss_faster_lr"] < finding.evidence["loss_same_lr"]


def test_unscaled_inputs(rng):
    X = rng.normal(size=(100, 3)) * np.array([1, 1000, 0.01])
    net = bp.Network.mlp([3, 4, 1], seed=0)
    finding = next(f for f in bp.diagnose(net, X, X[:, :1], signal_test=False).findings if f.code == "unscaled_inputs")
    assert finding.evidence["peak_ratio"] > 100


def test_dead_units(rng):
    X = rng.normal(size=(100, 3))
    net = bp.Network.mlp([3, 8, 1], seed=0)
    net.parameters()[1][:4] = -100.0  # half the hidden units can never fire
    finding = next(f for f in bp.diagnose(net, X, X[:, :1], signal_test=False).findings if f.code == "dead_units")
    assert finding.evidence["dead_fraction"] == {"layer 1": 0.5}


def test_saturated_units(rng):
    X = rng.normal(size=(100, 3)) * 50
    net = bp.Network.mlp([3, 8, 1], hidden="sigmoid", init="normal", seed=0)
    assert "saturated_units" in codes(bp.diagnose(net, X, X[:, :1], signal_test=False))


def test_loose_stopping_rule_on_the_question_data():
    X, Y = bp.datasets.qa_toy()
    net = bp.Network.mlp([4, 3, 4], hidden="sigmoid", init="uniform", seed=0)
    history = net.fit(X, Y, lr=0.004, batch_size=None, max_steps=100_000, stop=bp.Stop(grad_norm_below=1.0))
    finding = next(f for f in bp.diagnose(net, X, Y, history=history).findings if f.code == "loose_stopping_rule")
    assert finding.evidence["loss_after_more_steps"] < 0.5 * finding.evidence["loss_at_stop"]


def test_not_converged(rng):
    X = rng.normal(size=(300, 5))
    y = np.sin(X[:, :1])
    net = bp.Network.mlp([5, 16, 1], seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.001, max_epochs=5, seed=0)
    assert "not_converged" in codes(bp.diagnose(net, X, y, history=history))


class WrongTanh(bp.Tanh):
    def backward(self, grad_out):
        return grad_out * (1 - self.A)  # should be 1 - A**2


def test_gradient_mismatch_in_a_custom_layer(rng):
    X = rng.normal(size=(50, 5))
    net = bp.Network([bp.Dense(5, 8, rng=0), WrongTanh(), bp.Dense(8, 1, rng=1)])
    finding = next(f for f in bp.diagnose(net, X, X[:, :1], signal_test=False).findings if f.code == "gradient_mismatch")
    assert finding.severity == "error" and finding.evidence["max_rel_error"] > 1e-2


def test_to_dict_is_jsonable(scaled_spheres):
    import json

    X, y = scaled_spheres
    net = bp.Network.mlp([3, 4, 1], loss="bce", seed=0)
    data = json.loads(json.dumps(bp.diagnose(net, X, y).to_dict()))
    assert set(data) == {"healthy", "headline", "findings", "context"}


def test_gradient_flow_monitor_records_every_k_steps(scaled_spheres):
    X, y = scaled_spheres
    net = bp.Network.mlp([3, 4, 4, 1], hidden="relu", output="sigmoid", loss="bce", seed=0)
    history = net.fit(X, y, max_steps=50, batch_size=20, monitor=bp.GradientFlow(every=10), seed=0)
    assert [r["step"] for r in history.monitor] == [10, 20, 30, 40, 50]
    layer = history.monitor[0]["layers"][0]
    assert {"grad_norm", "mean_abs_delta", "update_ratio", "dead"} <= set(layer)
    assert 0 < layer["update_ratio"] < 1


@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_stats_match_plain_numpy(hidden, dtype, rng):
    """Each record value against its definition, after a training step (feature-major buffers)."""
    from backproplab.monitor import SATURATION, layer_stats

    X = rng.normal(size=(40, 5)) * 3
    y = rng.integers(0, 3, size=40)
    net = bp.Network.mlp([5, 6, 4, 3], hidden=hidden, loss="cross_entropy", dtype=dtype, seed=1)
    net.fit(X, y, max_steps=3, batch_size=16, optimizer=bp.SGD(lr=0.5), seed=0)
    before = [p.value.copy() for p in net.parameter_objects()]
    rng_values = np.random.default_rng(2)
    for p in net.parameter_objects():  # a known update: W_now - W_before is this noise
        p.value += rng_values.normal(size=p.value.shape).astype(dtype) * 0.01
    dense = [layer for layer in net.layers if isinstance(layer, bp.layers.Dense)]
    activations = [net.layers[net.layers.index(d) + 1] for d in dense[:-1]]
    stats = layer_stats(net, before)
    assert len(stats) == 3
    tol = 1e-5 if dtype == "float32" else 1e-12
    params = net.parameter_objects()
    for record, layer in zip(stats, dense):
        W_before = before[next(i for i, p in enumerate(params) if p is layer.W)]
        np.testing.assert_allclose(record["grad_norm"], np.linalg.norm(np.asarray(layer.W.grad, np.float64)), rtol=tol)
        np.testing.assert_allclose(record["mean_abs_delta"], np.abs(np.asarray(layer.delta, np.float64)).mean(), rtol=tol)
        expected = np.linalg.norm(layer.W.value.astype(np.float64) - W_before) / np.linalg.norm(W_before.astype(np.float64))
        np.testing.assert_allclose(record["update_ratio"], expected, rtol=1e-4 if dtype == "float32" else 1e-10)
    for record, activation in zip(stats, activations):
        A = np.asarray(activation.A)
        assert record["activation"] == hidden
        if hidden == "relu":
            assert record["dead"] == np.mean(np.all(A <= 0, axis=0))
        else:
            low, high = SATURATION[hidden]
            assert record["saturated"] == np.mean((A < low) | (A > high))
    assert "activation" not in stats[-1]  # the output's softmax is fused into the loss


# ---------------------------------------------------------------------- diagnose_record (the Probe's door)
def _record(**fields):
    from backproplab.runrecord import RunRecord

    steps = np.arange(0, 200, 10)
    defaults = {"steps": steps, "loss": np.linspace(1.0, 0.9, steps.size)}
    defaults.update(fields)
    return RunRecord(**defaults)


def test_record_with_a_failed_gradient_check_puts_gradient_mismatch_first(rng):
    from backproplab.diagnostics import diagnose_record

    X = rng.normal(size=(60, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    check = {"passed": False, "max_rel_error": 0.97, "arrays": [{"name": "W1", "passed": False, "max_rel_error": 0.97}]}
    diagnosis = diagnose_record(_record(X=X, y=y, loss_name="mse", gradient_check=check), controls=False)
    assert diagnosis.findings[0].code == "gradient_mismatch"
    assert diagnosis.findings[0].evidence["worst_array"] == "W1"
    assert all(f.because_of == "gradient_mismatch" for f in diagnosis.findings[1:])
    assert "gradient_mismatch" in diagnosis.headline


def test_record_of_noise_targets_has_no_signal_and_no_train_longer(rng):
    from backproplab.diagnostics import diagnose_record

    X, y = rng.normal(size=(120, 4)), rng.normal(size=(120, 1))
    predictions = np.full_like(y, y.mean())
    diagnosis = diagnose_record(_record(X=X, y=y, predictions=predictions, loss_name="mse"))
    assert diagnosis.findings[0].code == "no_signal"
    train_longer = [f for f in diagnosis.findings if f.code == "not_converged"]
    assert all(f.because_of == "no_signal" for f in train_longer)
    control = diagnosis.context["control"]
    assert control["shuffled"] - control["real"] < 0.1 * control["baseline"]


def test_record_stop_criterion_falling_while_the_loss_levels_off():
    from backproplab.diagnostics import diagnose_record

    steps = np.arange(40)
    loss = 0.25 + 0.5 * np.exp(-steps / 3.0)
    criterion = 10.0 ** (-steps / 8.0)
    diagnosis = diagnose_record(_record(steps=steps, loss=loss, stop_criterion=criterion), controls=False)
    finding = next(f for f in diagnosis.findings if f.code == "loose_stopping_rule")
    assert finding.evidence["criterion_drop"] > 10 and finding.evidence["loss_drop"] < 0.1


def test_record_update_ratio_far_below_the_rule_of_thumb():
    from backproplab.diagnostics import diagnose_record

    steps = np.arange(0, 100)
    ratios = {"W1": np.full(100, 2e-7), "W2": np.full(100, 5e-7)}
    record = _record(steps=steps, loss=np.linspace(1.0, 0.99, 100), update_ratios=ratios,
                     shapes={"W1": (3, 4), "W2": (4, 1)}, config={"lr": 1e-4, "optimizer": "sgd"})
    finding = next(f for f in diagnose_record(record, controls=False).findings if f.code == "lr_from_update_ratio")
    assert finding.evidence["direction"] == "small"
    assert "lr=" in finding.suggestion and "lr=0.0001" not in finding.suggestion


def test_vanishing_is_found_in_the_past_of_a_collapsed_deep_sigmoid_net(scaled_spheres):
    X, y = scaled_spheres
    net = bp.Network.mlp([3] + [6] * 8 + [1], hidden="sigmoid", output="sigmoid", loss="bce", init="normal", seed=0)
    history = net.fit(X, y, lr=0.1, max_steps=300, seed=0)
    diagnosis = bp.diagnose(net, X, y, history=history)
    assert diagnosis.findings[0].code == "vanishing_gradient"
    assert diagnosis.findings[0].evidence["measured"] == "at initialisation"
    baseline = next(f for f in diagnosis.findings if f.code == "no_better_than_baseline")
    assert baseline.because_of == "vanishing_gradient"
    assert "hidden=\"relu\"" in diagnosis.findings[0].suggestion


def test_unscaled_inputs_are_not_mistaken_for_no_signal(rng):
    X = rng.normal(size=(300, 3)) * np.array([1e4, 1e-2, 1])
    y = np.sin(X[:, :1] / 1e4) + X[:, 1:2] * 100 + 0.1 * X[:, 2:3]
    net = bp.Network.mlp([3, 16, 1], seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.01, max_steps=300, seed=0)
    diagnosis = bp.diagnose(net, X, y, history=history, verify=True)
    assert "no_signal" not in diagnosis.codes
    assert diagnosis.findings[0].code == "unscaled_inputs"
    verified = diagnosis.context["verified"]
    assert verified["loss_with_change"] < 0.5 * verified["loss_as_run"]
    assert "verified with standardised inputs" in diagnosis.findings[0].suggestion


def test_numbers_are_formatted_for_people(rng):
    X = rng.normal(size=(200, 5)) * 100
    net = bp.Network.mlp([5, 16, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X, X[:, :1] * 3, lr=1.0, max_epochs=50, seed=0)
    text = str(bp.diagnose(net, X, X[:, :1] * 3, history=history))
    import re

    assert not re.search(r"\d\.\d{5,}", text), text  # nothing beyond 3 significant digits
