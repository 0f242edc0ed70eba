"""The two source documents as acceptance tests for bp.Probe.

The re-created loops live in ``backproplab.experiments.your_own_code`` (written as the learners
wrote them, flaws included); the probe adds at most four lines to each, marked ``# probe``.
"""

import inspect

import numpy as np
import pytest

import backproplab as bp
from backproplab import datasets
from backproplab.experiments import your_own_code as sources


@pytest.mark.parametrize("code", [sources.QuestionNet.train, sources.blog_steps, sources.xor_appendix])
def test_the_probe_adds_at_most_four_lines(code):
    lines = inspect.getsource(code).splitlines()
    assert 1 <= sum(line.rstrip().endswith("# probe") for line in lines) <= 4


@pytest.fixture(scope="module")
def question_ds1():
    X, Y = datasets.qa_toy()
    probe = bp.Probe()
    net = sources.QuestionNet(seed=0).train(X, Y, tol=1.0, probe=probe)
    return probe, net, X, Y


def test_question_ds1_hidden_weights_fail_in_direction_output_weights_pass_as_half_sse(question_ds1):
    probe, net, X, Y = question_ds1
    check = probe.check_gradient(lambda w: net.sse(w, X, Y))
    hidden, output = check.get("W[0]"), check.get("W[1]")
    assert hidden.verdict == "wrong direction" and not hidden.direction_ok
    assert hidden.rel_error > 0.9  # SEEDS: 0.95-0.995
    assert check.cause["mistake"] == "update"  # proved: rebuilt from the recorded arrays
    assert "uses the update of W[1] (-lr x its gradient) where W[1] belongs" in hidden.message
    assert output.direction_ok and output.scale == pytest.approx(0.5, rel=1e-6)
    assert "half the sum of squares" in output.message
    assert check.headline.startswith("gradient check FAILED")


def test_question_fixed_hidden_delta_passes():
    X, Y = datasets.qa_toy()
    probe = bp.Probe()
    net = sources.QuestionNet(fixed=True, seed=0).train(X, Y, tol=1.0, probe=probe)
    assert probe.check_gradient(lambda w: 0.5 * net.sse(w, X, Y)).passed
    as_sse = probe.check_gradient(lambda w: net.sse(w, X, Y))
    assert as_sse.passed_up_to_scale and as_sse.common_scale == pytest.approx(0.5)
    assert "PASSED up to scale" in as_sse.headline


def test_question_records_what_it_says(question_ds1):
    probe, net, X, Y = question_ds1
    text = probe.describe()
    assert f"{net.iterations + 1} of {net.iterations + 1} calls recorded (every 1)" in text
    assert "W[0] (5, 3), W[1] (4, 4)" in text and "X (2, 4), y (2, 4)" in text
    record = probe.to_record()
    assert record.loss_name == "sse" and record.predictions.shape == (2, 4)
    assert record.activation_stats[0]["kind"] == "sigmoid" and record.activation_stats[0]["units"] == 3
    assert record.config["stop_rule"] == {"quantity": "sum of squared gradients", "threshold": 1.0}
    grads = probe.statistics()["grad_norms"]
    assert record.stop_criterion[-1] == pytest.approx(grads["W[0]"][-1] ** 2 + grads["W[1]"][-1] ** 2)


@pytest.fixture(scope="module")
def blog():
    X, y = datasets.two_spheres(seed=0)
    probe = bp.Probe()
    out = sources.blog_loop(X, y, steps=300, seed=0, probe=probe)
    return probe, out


def test_blog_applied_update_is_not_the_gradient(blog):
    probe, out = blog
    check = probe.check_gradient(lambda w: sources.blog_mse(w, *out["batch"]))
    first_layers = [check.get(name) for name in ("W[0]", "W[1]", "W[2]", "W[3]")]
    assert all(a.cosine < 0.9 and not a.direction_ok for a in first_layers), str(check)
    assert "Your loop applies exactly these arrays" in check.headline
    assert "one row broadcast" in check.get("W[0]").message
    assert "outer product of batch means" in check.get("W[2]").message
    assert check.get("W[5]").scale == pytest.approx(0.5, rel=1e-6)  # sig3 lacks the MSE's factor 2


def test_blog_deltas_shrink_layer_by_layer(blog):
    probe, _ = blog
    grads = probe.statistics()["grad_norms"]
    deltas = [grads[name][0] for name in ("W[1]", "W[3]", "W[5]")]  # the per-unit deltas at initialisation
    ratios = [deltas[1] / deltas[0], deltas[2] / deltas[1]]
    assert all(2 < r < 50 for r in ratios), ratios  # SEEDS: 4-40x per layer back


def test_xor_appendix_passes_as_scale_4x_the_mean():
    probe = bp.Probe(every=10)
    out = sources.xor_appendix(steps=500, seed=0, probe=probe)
    check = probe.check_gradient(sources.xor_mean_ce)
    assert check.passed_up_to_scale and check.common_scale == pytest.approx(4.0, rel=1e-6)
    assert "scale 4x the mean" in check.headline
    assert probe.n_records == 50 and np.all(out["printed"][np.arange(4), [0, 1, 1, 0]] < 0)  # the aliased delta
