"""Probe.diagnose: the RunRecord it builds, the probe's own findings, and diagnose_record on top.

Tests marked ``needs_diagnose_record`` run the rules of issue 18 (``diagnostics.diagnose_record``);
they run as soon as that function exists in this build.
"""

import numpy as np
import pytest

import backproplab as bp
from backproplab import datasets, diagnostics
from backproplab.experiments import your_own_code as sources
from backproplab.probe import diagnosis


def needs_diagnose_record(test):  # diagnose_record is on main now: these tests always run
    return test


@pytest.fixture(scope="module")
def question_ds2():
    X, Y = datasets.noise(seed=1)
    probe = bp.Probe()
    net = sources.QuestionNet(seed=1).train(X, Y, tol=0.1, probe=probe)
    return probe, net, X, Y


def test_question_ds2_record_and_the_probes_own_findings(question_ds2):
    probe, net, X, Y = question_ds2
    record = probe.to_record()
    assert record.source == "probe" and record.loss_name == "sse" and record.task == "regression"
    assert record.config["stop_rule"] == {"quantity": "sum of squared gradients", "threshold": 0.1}
    stop = diagnosis.stop_rule_finding(record)
    assert stop is not None and stop.code == "loose_stopping_rule"
    assert "a small gradient does not mean a good fit" in stop.message
    assert stop.evidence["criterion_drop"] > 10 and stop.evidence["loss_change"] < 0.1
    control = diagnosis.comparable_network(probe, record, seed=0)
    assert control["sizes"] == [7, 3, 2] and 0.2 < control["baseline_mae"] < 0.3
    assert abs(control["mae"] - control["baseline_mae"]) < 0.1 * control["baseline_mae"]  # the user's fit is the baseline
    text = diagnosis._control_finding(control).message
    assert "a correct 7-3-2 network" in text and "yours is at" in text and "shuffled targets" in text


def test_a_stop_rule_that_matches_the_loss_is_not_criticised():
    probe = bp.Probe()
    W = np.array([5.0])
    for step in range(100):
        probe.record(step, loss=float(W[0] ** 2), weights=[W], grads=[2 * W])
        W -= 0.05 * 2 * W
    assert diagnosis.stop_rule_finding(probe.to_record()) is None


def relu_loop(X, y, bias, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(X.shape[1], 8)), np.full(8, bias)
    W2, b2 = rng.normal(size=(8, 1)) * 0.1, np.zeros(1)
    probe = bp.Probe()
    for step in range(steps):
        h = np.maximum(X @ W1 + b1, 0)
        out = h @ W2 + b2
        d2 = 2 * (out - y) / len(X)
        d1 = d2 @ W2.T * (h > 0)
        grads = [X.T @ d1, d1.sum(0), h.T @ d2, d2.sum(0)]
        probe.record(step, loss=np.mean((out - y) ** 2), weights=[W1, b1, W2, b2], grads=grads, activations=[h, out], X=X, y=y)
        for w, g in zip((W1, b1, W2, b2), grads):
            w -= 0.1 * g
    return probe


def test_dead_relu_init_shows_in_the_activation_stats():
    X, y = datasets.two_spheres(seed=0)
    stats = relu_loop(X, y, bias=-50.0).to_record().activation_stats
    assert stats[0]["kind"] == "relu" and stats[0]["dead_fraction"] == 1.0
    healthy = relu_loop(X, y, bias=0.1).to_record().activation_stats
    assert healthy[0]["dead_fraction"] < 0.25


def test_blog_gradient_flow_finding_names_the_per_layer_shrinking():
    X, y = datasets.two_spheres(seed=0)
    probe = bp.Probe()
    sources.blog_loop(X, y, steps=50, seed=0, probe=probe)
    flow = diagnosis.gradient_flow_finding(probe.to_record())
    assert flow is not None and "biases (one delta per unit) at the first record" in flow.message
    first = flow.evidence["biases_first"]
    assert first["W[1]"] < first["W[3]"] < first["W[5]"]


def test_noise_targets_fit_no_better_than_shuffled_ones():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 1))
    probe = relu_loop(X, y, bias=0.1, steps=20)
    record = probe.to_record()
    control = diagnosis.comparable_network(probe, record, seed=0)
    assert control["shuffled"] - control["control"] < 0.1 * control["baseline"]
    assert "memorises noise" in diagnosis._control_finding(control).message


@needs_diagnose_record
def test_question_ds2_diagnosis_puts_no_signal_first(question_ds2):
    probe = question_ds2[0]
    result = probe.diagnose(seed=0)
    assert result.codes[0] in ("no_better_than_baseline", "no_signal"), str(result)
    assert "loose_stopping_rule" in result.codes
    first = result.findings[0]
    assert 0.2 < first.evidence["baseline_mae"] < 0.3 and "In mean absolute error" in first.message
    losses = " ".join(f.message for f in result.findings)
    assert "A correct network" in losses or "a correct" in losses  # the comparable network, by either side


@needs_diagnose_record
def test_a_failed_gradient_check_is_the_first_finding():
    X, Y = datasets.qa_toy()
    probe = bp.Probe()
    net = sources.QuestionNet(seed=0).train(X, Y, tol=1.0, probe=probe)
    probe.check_gradient(lambda w: net.sse(w, X, Y))
    result = probe.diagnose(seed=0, controls=False)
    assert result.codes[0] == "gradient_mismatch" and "wrong direction" in result.findings[0].message


@needs_diagnose_record
def test_dead_relu_is_diagnosed():
    X, y = datasets.two_spheres(seed=0)
    assert "dead_units" in relu_loop(X, y, bias=-50.0).diagnose(controls=False).codes


@needs_diagnose_record
def test_blog_diagnosis_shows_the_gradient_flow():
    X, y = datasets.two_spheres(seed=0)
    probe = bp.Probe()
    sources.blog_loop(X, y, steps=50, seed=0, probe=probe)
    result = probe.diagnose(controls=False)
    assert "gradient_flow" in result.codes
    record = probe.to_record()
    first = [record.grad_norms[n][0] for n in ("W[1]", "W[5]")]
    limit = getattr(getattr(diagnostics, "findings", diagnostics), "VANISHING_RATIO", 1e-2)
    if first[0] / first[1] < limit:
        assert "vanishing_gradient" in result.codes


@needs_diagnose_record
def test_noise_targets_are_diagnosed():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 1))
    result = relu_loop(X, y, bias=0.1, steps=20).diagnose(seed=0)
    assert {"no_signal", "no_better_than_baseline"} & set(result.codes[:2]), str(result)
