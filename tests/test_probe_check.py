"""Probe.check_gradient on hand-written loops with bugs nobody told the probe about.

Each loop below is written the way a user writes one: forward, backward, update, and one
``probe.record`` line. The probe must name each bug from the numbers alone.
"""

import numpy as np
import pytest

import backproplab as bp


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def make_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.tanh(X @ np.array([[1.0], [-2.0], [0.5]]))
    return X, y


def forward(params, X, act=np.tanh):
    W1, b1, W2, b2, W3, b3 = params["W1"], params["b1"], params["W2"], params["b2"], params["W3"], params["b3"]
    a1 = act(X @ W1 + b1)
    a2 = act(a1 @ W2 + b2)
    return a1, a2, a2 @ W3 + b3


def mse(params, X, y, act=np.tanh):
    return float(np.mean((forward(params, X, act)[2] - y) ** 2))


def user_loop(bug=None, steps=3, lr=0.05, act="tanh", every=1, seed=0):
    """A 3-3-3-1 net, mean squared error, full batch; ``bug`` switches one mistake on."""
    X, y = make_data(seed=seed)
    f, df = (np.tanh, lambda a: 1 - a**2) if act == "tanh" else (sigmoid, lambda a: a * (1 - a))
    rng = np.random.default_rng(seed)
    p = {"W1": rng.normal(size=(3, 3)), "b1": np.zeros(3), "W2": rng.normal(size=(3, 3)), "b2": np.zeros(3),
         "W3": rng.normal(size=(3, 1)), "b3": np.zeros(1)}
    probe = bp.Probe(every=every)
    n = len(X)
    for step in range(steps):
        a1, a2, out = forward(p, X, f)
        loss = np.mean((out - y) ** 2)
        d3 = 2 * (out - y) / n
        if bug == "sum":
            d3 = 2 * (out - y)
        if bug == "sign":
            d3 = 2 * (y - out) / n
        g = {"W3": a2.T @ d3, "b3": d3.sum(0)}
        if bug == "half":
            g["W3"] = g["W3"] / 2
        if bug == "after_update":
            p["W3"] -= lr * g["W3"]
        d2 = d3 @ p["W3"].T * df(a2)
        g["W2"], g["b2"] = a1.T @ d2, d2.sum(0)
        if bug == "transposed":
            d1 = d2 @ p["W2"] * df(a1)
        elif bug == "no_derivative":
            d1 = d2 @ p["W2"].T
        else:
            d1 = d2 @ p["W2"].T * df(a1)
        g["W1"], g["b1"] = X.T @ d1, d1.sum(0)
        if bug == "bias_sign":
            g["b1"] = -g["b1"]
        if bug == "nan":
            g["W2"][1, 2] = np.nan
        order = ["W1", "b1", "W2", "b2", "W3", "b3"]
        grads = {k: g[k] for k in order}
        if bug in ("after_update", "record_after"):
            for k in order:
                if not (bug == "after_update" and k == "W3"):
                    p[k] -= lr * grads[k]
            probe.record(step, loss=loss, weights={k: p[k] for k in order}, grads=grads, activations=[a1, a2, out], X=X, y=y)
        else:
            probe.record(step, loss=loss, weights={k: p[k] for k in order}, grads=grads, activations=[a1, a2, out], X=X, y=y)
            for k in order:
                p[k] -= lr * grads[k]
    return probe, (lambda w: mse(w, X, y, f)), p


def test_a_correct_loop_passes_and_the_users_arrays_are_untouched():
    probe, loss_fn, params = user_loop()
    before = {k: v.copy() for k, v in params.items()}
    check = probe.check_gradient(loss_fn)
    assert check.passed and check.max_rel_error < 1e-7, str(check)
    assert "PASSED" in str(check)
    assert all(np.array_equal(before[k], params[k]) for k in params)
    assert "-lr x your recorded gradient with lr 0.05" in str(check)


def test_a_sum_over_samples_is_named_as_scale_20x_the_mean():
    check = user_loop("sum")[0].check_gradient(user_loop("sum")[1])
    assert not check.passed and check.passed_up_to_scale
    assert check.common_scale == pytest.approx(20.0, rel=1e-6)
    text = str(check)
    assert "right direction, wrong scale" in text and "20x" in text and "a sum over 20 samples, not the mean" in text


def test_one_layer_off_by_a_half_fails_as_wrong_scale_for_that_layer_only():
    probe, loss_fn, _ = user_loop("half")
    check = probe.check_gradient(loss_fn)
    assert not check.passed_up_to_scale and [a.name for a in check.failing] == ["W3"]
    assert check.get("W3").verdict == "right direction, wrong scale" and check.get("W3").scale == pytest.approx(0.5)
    assert "0.5x" in check.get("W3").message and "factor 2" in check.get("W3").message
    assert check.get("W1").passed and check.get("b3").passed


def test_a_flipped_error_is_a_wrong_sign_everywhere():
    probe, loss_fn, _ = user_loop("sign")
    check = probe.check_gradient(loss_fn)
    assert all(a.verdict == "wrong sign" for a in check.arrays), str(check)
    assert "climbs the loss" in str(check)


def test_a_transposed_weight_in_the_backward_pass_fails_the_layers_before_it():
    probe, loss_fn, _ = user_loop("transposed")
    check = probe.check_gradient(loss_fn)
    assert {a.name for a in check.failing} == {"W1", "b1"}, str(check)
    w1 = check.get("W1")
    assert w1.verdict == "wrong direction"
    assert "transposed weight" in w1.message
    assert check.cause["mistake"] == "transposed"  # proved by rebuilding the net from the recorded arrays
    assert "Cause (proved): the backward step into layer 1 (W1) multiplies by W2 where W2.T belongs" in check.headline


def test_a_missing_sigmoid_derivative_is_named():
    probe, loss_fn, _ = user_loop("no_derivative", act="sigmoid")
    check = probe.check_gradient(loss_fn)
    assert {a.name for a in check.failing} == {"W1", "b1"}, str(check)
    assert check.get("W1").size_ratio > 1.3
    assert "proved: the activation derivative f'(Z) of layer 1 (W1) is missing" in check.get("W1").message


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_the_cause_is_proved_only_for_the_mistake_made(act):
    for bug, mistake in (("no_derivative", "missing_derivative"), ("transposed", "transposed")):
        check = user_loop(bug, act=act)[0].check_gradient(user_loop(bug, act=act)[1])
        assert check.cause is not None and check.cause["mistake"] == mistake, (bug, str(check))
    assert user_loop(act=act)[0].check_gradient(user_loop(act=act)[1]).cause is None
    assert user_loop("sum", act=act)[0].check_gradient(user_loop("sum", act=act)[1]).cause is None


def test_a_wrong_bias_row_only_is_localised():
    probe, loss_fn, _ = user_loop("bias_sign")
    check = probe.check_gradient(loss_fn)
    assert [a.name for a in check.failing] == ["b1"] and check.get("b1").verdict == "wrong sign"


def test_a_non_finite_gradient_fails_with_its_position():
    probe, loss_fn, _ = user_loop("nan", steps=1)
    check = probe.check_gradient(loss_fn)
    w2 = check.get("W2")
    assert w2.verdict == "non-finite" and "W2[1, 2]" in w2.message and not check.passed


def test_recorded_after_the_update_is_checked_at_the_weights_before_it():
    probe, loss_fn, _ = user_loop("record_after")
    check = probe.check_gradient(loss_fn)
    assert check.passed and check.timing == "before the update", str(check)
    assert "record was called after it" in check.headline


def test_a_gradient_taken_after_part_of_the_update_is_out_of_step():
    probe, loss_fn, _ = user_loop("after_update", lr=0.2, steps=4)
    check = probe.check_gradient(loss_fn)
    assert not check.passed
    bad = check.failing
    assert bad and all(a.verdict == "out of step" for a in bad), str(check)
    assert "taken after the update" in str(check)
    assert check.cause["mistake"] == "updated_weights" and "uses W3 after its update" in check.headline


def test_bias_column_question_style_is_named_the_bias_row():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    V, W = rng.random((5, 3)), rng.random((4, 2))
    probe = bp.Probe()
    Xb = np.hstack([X, -np.ones((6, 1))])
    for step in range(2):
        H = sigmoid(Xb @ V)
        Hb = np.hstack([H, -np.ones((6, 1))])
        E = Hb @ W - Y
        dW = Hb.T @ E
        Xb_wrong = np.hstack([X, np.ones((6, 1))])  # the bug: +1 where the forward pass used -1
        dV = Xb_wrong.T @ ((E @ W[:-1].T) * H * (1 - H))
        probe.record(step, loss=0.5 * np.sum(E**2), weights=[V, W], grads=[dV, dW], X=X, y=Y)
        V -= 0.01 * dV
        W -= 0.01 * dW

    def half_sse(w):
        H = sigmoid(Xb @ w[0])
        return 0.5 * float(np.sum((np.hstack([H, -np.ones((6, 1))]) @ w[1] - Y) ** 2))

    check = probe.check_gradient(half_sse)
    v = check.get("W[0]")
    assert v.verdict == "wrong for some entries only" and "the bias row" in v.where, str(check)
    assert check.get("W[1]").passed


def test_sampling_is_seeded_and_all_entries_on_request():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(30, 20))
    X = rng.normal(size=(50, 30))
    probe = bp.Probe()
    probe.record(0, weights=[W], grads=[X.T @ (X @ W) / 50])

    def loss(w):
        return 0.5 * float(np.sum((X @ w[0]) ** 2)) / 50

    a, b = probe.check_gradient(loss, seed=3), probe.check_gradient(loss, seed=3)
    assert a.arrays[0].n_checked == 20 and a.arrays[0].worst == b.arrays[0].worst and a.passed
    assert probe.check_gradient(loss, all_entries=True).arrays[0].n_checked == 600


def test_check_gradient_refuses_bad_calls():
    probe = bp.Probe()
    with pytest.raises(ValueError, match="needs recorded weights and grads"):
        probe.check_gradient(lambda w: 0.0)
    probe.record(0, weights=[np.ones(2)], grads=[np.ones(2)])
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        probe.check_gradient(3)
    with pytest.raises(ValueError, match="at=7: no full snapshot"):
        probe.check_gradient(lambda w: float(np.sum(w[0] ** 2)), at=7)
    with pytest.raises(FloatingPointError, match="loss_fn returned nan"):
        probe.check_gradient(lambda w: float("nan"))
    with pytest.raises(ValueError, match="modified the weights"):
        probe.check_gradient(lambda w: float(w[0].__iadd__(1).sum()))


def column_vector_loop(bug=None, steps=3, seed=0):
    """Column-vector convention: W (out, in), samples as columns, biases (out, 1)."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(3, 16)), rng.normal(size=(1, 16))
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), np.zeros((4, 1)), rng.normal(size=(1, 4)), np.zeros((1, 1))
    probe = bp.Probe()
    for step in range(steps):
        H = sigmoid(W1 @ X + b1)
        out = W2 @ H + b2
        d2 = (out - y) / 16
        d1 = W2.T @ d2 if bug == "no_derivative" else W2.T @ d2 * H * (1 - H)
        grads = [d1 @ X.T, d1.sum(1, keepdims=True), d2 @ H.T, d2.sum(1, keepdims=True)]
        probe.record(step, loss=0.5 * np.mean((out - y) ** 2), weights=[W1, b1, W2, b2], grads=grads,
                     activations=[H, out], X=X, y=y)
        for w, g in zip((W1, b1, W2, b2), grads):
            w -= 0.5 * g if bug != "ascent" else -0.5 * g

    def loss(w):
        return 0.5 * float(np.mean((w[2] @ sigmoid(w[0] @ X + w[1]) + w[3] - y) ** 2))

    return probe, loss


def test_column_vectors_are_read_and_a_missing_derivative_proved():
    probe, loss = column_vector_loop()
    assert "samples as columns" in probe.describe() and probe.X.shape == (16, 3)
    assert probe.check_gradient(loss).passed
    probe, loss = column_vector_loop("no_derivative")
    check = probe.check_gradient(loss)
    assert [a.name for a in check.failing] == ["W[0]", "W[1]"]
    assert check.cause is not None and check.cause["mistake"] == "missing_derivative", str(check)


def test_an_update_that_adds_the_gradient_is_said_to_climb():
    probe, loss = column_vector_loop("ascent")
    check = probe.check_gradient(loss)
    assert check.passed and "ADDS your gradient" in str(check) and "climbs the loss" in str(check)
