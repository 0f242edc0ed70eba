"""The sources' rules as written, pinned against literal per-unit transcriptions of SEEDS.md.

Each transcription below loops over samples and units in plain Python, following the text of
SEEDS.md ("What the sources' own code does") line by line; the vectorised rules in
``backproplab.experiments`` must agree with it to ~1e-12 on fixed inputs.
"""

import math

import numpy as np
import pytest

from backproplab.experiments import blog_runs, question
from backproplab.experiments import source_rules as rules


# ---------------------------------------------------------------------- the blog's rule
def _f(z, hidden):
    if hidden == "relu":
        return max(z, 0.0)
    return 1.0 / (1.0 + math.exp(-z))


def _df(z, hidden):
    if hidden == "relu":
        return 1.0 if z > 0 else 0.0
    a = 1.0 / (1.0 + math.exp(-z))
    return a * (1.0 - a)


def blog_step_by_units(W1, b1, W2, b2, W3, b3, X, y, hidden, lr=0.1):
    """SEEDS.md: sig3 = mean((a3 - y) s'(z3)); sig2_j = sig3 W_out[j] mean(s'(z2_j));
    sig1_i = mean(s'(z1_i)) sum_j sig2_j W2[i, j]; W2, W_out by outer products of batch-mean
    activations with the deltas; W1 gets the row mean(x_j) sig1_j on every row; biases by the deltas."""
    B = len(X)
    z1 = [[sum(X[n][i] * W1[i][j] for i in range(3)) + b1[j] for j in range(3)] for n in range(B)]
    a1 = [[_f(z1[n][j], hidden) for j in range(3)] for n in range(B)]
    z2 = [[sum(a1[n][i] * W2[i][j] for i in range(3)) + b2[j] for j in range(2)] for n in range(B)]
    a2 = [[_f(z2[n][j], hidden) for j in range(2)] for n in range(B)]
    z3 = [sum(a2[n][i] * W3[i][0] for i in range(2)) + b3[0] for n in range(B)]
    a3 = [1.0 / (1.0 + math.exp(-z)) for z in z3]
    sig3 = sum((a3[n] - y[n][0]) * a3[n] * (1 - a3[n]) for n in range(B)) / B
    sig2 = [sig3 * W3[j][0] * (sum(_df(z2[n][j], hidden) for n in range(B)) / B) for j in range(2)]
    sig1 = [(sum(_df(z1[n][i], hidden) for n in range(B)) / B) * sum(sig2[j] * W2[i][j] for j in range(2))
            for i in range(3)]
    mean_x = [sum(X[n][j] for n in range(B)) / B for j in range(3)]
    mean_a1 = [sum(a1[n][i] for n in range(B)) / B for i in range(3)]
    mean_a2 = [sum(a2[n][i] for n in range(B)) / B for i in range(2)]
    nW1 = [[W1[i][j] - lr * mean_x[j] * sig1[j] for j in range(3)] for i in range(3)]
    nW2 = [[W2[i][j] - lr * mean_a1[i] * sig2[j] for j in range(2)] for i in range(3)]
    nW3 = [[W3[i][0] - lr * mean_a2[i] * sig3] for i in range(2)]
    new = [nW1, [b1[j] - lr * sig1[j] for j in range(3)], nW2, [b2[j] - lr * sig2[j] for j in range(2)],
           nW3, [b3[0] - lr * sig3]]
    loss = sum((a3[n] - y[n][0]) ** 2 for n in range(B)) / B
    return [np.array(p) for p in new], loss, (sig3, sig2, sig1)


def _blog_fixture(seed=0, B=16):
    rng = np.random.default_rng(seed)
    params = rules.blog_init(rng)
    X = rng.normal(size=(B, 3)) * 2
    y = (rng.random((B, 1)) < 0.5).astype(float)
    return params, X, y


@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_blog_step_matches_the_per_unit_transcription(hidden):
    params, X, y = _blog_fixture()
    for _ in range(3):  # a few steps, so that the updated weights are used too
        new, loss, (sig3, sig2, sig1) = rules.blog_step(params, X, y, hidden)
        ref, ref_loss, (r3, r2, r1) = blog_step_by_units(*[p.tolist() for p in params], X.tolist(), y.tolist(), hidden)
        for a, b in zip(new, ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        assert abs(loss - ref_loss) < 1e-12
        np.testing.assert_allclose(np.concatenate([sig3, sig2, sig1]), [r3, *r2, *r1], rtol=0, atol=1e-14)
        params = new


def test_blog_first_layer_update_is_one_row_broadcast():
    params, X, y = _blog_fixture(1)
    new, _, (_, _, sig1) = rules.blog_step(params, X, y)
    change = params[0] - new[0]
    np.testing.assert_allclose(change, np.tile(0.1 * X.mean(axis=0) * sig1, (3, 1)), atol=1e-16)
    assert np.allclose(change - change[0], 0)  # the row differences of W1 never change
    assert not np.allclose(change, 0.1 * np.outer(X.mean(axis=0), sig1))  # not the outer product


def test_blog_step_as_written_is_the_same_rule():
    params, X, y = _blog_fixture(2, B=200)
    rng = np.random.default_rng(5)
    index = np.random.default_rng(5).choice(200, 128, replace=False)
    expected, expected_loss, _ = rules.blog_step(params, X[index], y[index])
    live = [p.copy() for p in params]
    loss = rules.blog_step_as_written(live, X, y, rng)
    for a, b in zip(live, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    assert abs(loss - expected_loss) < 1e-13


def test_blog_step_stacks_independent_networks():
    nets = [_blog_fixture(s) for s in range(3)]
    stacked = [np.stack([n[0][k] for n in nets]) for k in range(6)]
    new, loss, _ = rules.blog_step(stacked, np.stack([n[1] for n in nets]), np.stack([n[2] for n in nets]))
    for s, (params, X, y) in enumerate(nets):
        single, single_loss, _ = rules.blog_step(params, X, y)
        for a, b in zip(new, single):
            np.testing.assert_allclose(a[s], b, rtol=0, atol=1e-15)
        assert abs(loss[s] - single_loss) < 1e-15


def test_blog_sample_draws_without_replacement_and_uniformly():
    U = np.random.default_rng(0).random((4000, 128))
    index = rules.blog_sample(U, 200)
    assert index.shape == (4000, 128)
    assert all(len(set(row)) == 128 for row in index[:200])
    counts = np.bincount(index.ravel(), minlength=200) / 4000  # each row is chosen 128/200 of the time
    assert np.all(np.abs(counts - 0.64) < 0.05)


@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_compiled_kernel_agrees_with_the_numpy_rule(hidden):
    pytest.importorskip("numba")
    from backproplab.experiments._blog_kernel import blog_chunk

    X, y, theta, rng = blog_runs.start(3)
    U = rng.random((3000, 128))
    compiled = theta.copy()
    losses, deltas, first = np.empty(3000), np.empty(6), np.empty(128, np.int64)
    blog_chunk(compiled, X, np.ascontiguousarray(y[:, 0]), U, hidden == "relu", 0.1, losses, deltas, first)
    params, index = rules.unpack(theta.copy()), rules.blog_sample(U, 200)
    numpy_losses = []
    for t in range(3000):
        params, loss, sig = rules.blog_step(params, X[index[t]], y[index[t]], hidden)
        numpy_losses.append(loss)
        if t == 0:
            np.testing.assert_allclose(deltas, np.concatenate(sig), rtol=0, atol=1e-15)
    np.testing.assert_allclose(compiled, rules.pack(params), rtol=0, atol=1e-12)
    np.testing.assert_allclose(losses, numpy_losses, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(first, index[0])


def test_numpy_and_compiled_runs_agree():
    pytest.importorskip("numba")
    config = dict(cap=4000, snapshot_every=2000, hidden="sigmoid")
    compiled = blog_runs.run_one(1, blog_runs.BlogConfig(backend="numba", **config))
    stacked = blog_runs.run_seeds([1, 2], blog_runs.BlogConfig(backend="numpy", **config))[0]
    np.testing.assert_allclose(compiled["window_losses"], stacked["window_losses"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(compiled["cosines"], stacked["cosines"], rtol=0, atol=1e-9)
    assert compiled["steps"] == stacked["steps"] == 4000 and compiled["stop_reason"] == "max_steps"
    assert compiled["w1_row_difference_drift"] < 1e-12


def test_a_dead_relu_layer_is_recognised_and_stays_dead():
    X, y, theta, rng = blog_runs.start(0)
    W1, b1, W2, b2, W3, b3 = rules.unpack(theta)
    b2[:] = -1e3  # the second hidden layer is inactive on every row
    config = blog_runs.BlogConfig(hidden="relu")
    assert blog_runs.stuck_reason(theta, X, y, config) == "dead hidden layer"
    params = rules.unpack(theta.copy())
    for _ in range(50):
        index = rng.choice(200, 128, replace=False)
        params, _, _ = rules.blog_step(params, X[index], y[index], "relu")
    for before, after in zip(rules.unpack(theta)[:4], params[:4]):
        np.testing.assert_array_equal(before, after)  # nothing behind the dead layer moves
    assert blog_runs.stuck_reason(rules.pack(params), X, y, config) == "dead hidden layer"
    assert blog_runs.stuck_reason(blog_runs.start(0)[2], X, y, config) is None


# ---------------------------------------------------------------------- the question's class
def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def question_train_by_units(V, W, X, Y, tol, buggy, max_iterations, lr=1e-3):
    """SEEDS.md, source A: bias as a -1 input; output gradient a sum over samples; the hidden delta
    uses the output weight update -lr * E_output where the output weights belong; update, then stop
    when sum(E_h^2) + sum(E_o^2) < tol."""
    V, W = [list(r) for r in V], [list(r) for r in W]
    n, d, h, o = len(X), len(X[0]), len(V[0]), len(W[0])
    iterations = 0
    while iterations < max_iterations:
        xb = [list(X[s]) + [-1.0] for s in range(n)]
        H = [[_sigmoid(sum(xb[s][i] * V[i][j] for i in range(d + 1))) for j in range(h)] for s in range(n)]
        hb = [H[s] + [-1.0] for s in range(n)]
        err = [[sum(hb[s][j] * W[j][k] for j in range(h + 1)) - Y[s][k] for k in range(o)] for s in range(n)]
        E_o = [[sum(hb[s][j] * err[s][k] for s in range(n)) for k in range(o)] for j in range(h + 1)]
        update = [[-lr * E_o[j][k] for k in range(o)] for j in range(h + 1)]
        back = update if buggy else [row[:] for row in W]
        for j in range(h + 1):
            for k in range(o):
                W[j][k] += update[j][k]
        delta = [[sum(err[s][k] * back[j][k] for k in range(o)) * H[s][j] * (1 - H[s][j]) for j in range(h)]
                 for s in range(n)]
        E_h = [[sum(xb[s][i] * delta[s][j] for s in range(n)) for j in range(h)] for i in range(d + 1)]
        for i in range(d + 1):
            for j in range(h):
                V[i][j] -= lr * E_h[i][j]
        iterations += 1
        if sum(v * v for r in E_h for v in r) + sum(v * v for r in E_o for v in r) < tol:
            break
    return np.array(V), np.array(W), iterations


@pytest.mark.parametrize("buggy", [True, False])
def test_question_train_matches_the_per_unit_transcription(buggy):
    rng = np.random.default_rng(4)
    X, Y = rng.random((5, 4)), rng.random((5, 2))
    V0, W0 = rng.random((2, 5, 3)), rng.random((2, 4, 2))
    result = question.train_stacked(V0, W0, np.stack([X, X]), np.stack([Y, Y]), [0.0, 10.0], buggy, 40)
    for s, tol in enumerate([0.0, 10.0]):
        V, W, iterations = question_train_by_units(V0[s], W0[s], X, Y, tol, buggy, 40)
        assert result["iterations"][s] == iterations
        np.testing.assert_allclose(result["V"][s], V, rtol=0, atol=1e-12)
        np.testing.assert_allclose(result["W"][s], W, rtol=0, atol=1e-12)
    assert result["iterations"][1] < 40  # tol 10 stopped early, and counts the update it stopped after


def test_question_buggy_step_equals_the_gradient_function():
    X, Y = np.random.default_rng(0).random((6, 3)), np.random.default_rng(1).random((6, 2))
    params = question.init_weights(3, 3, 2, np.random.default_rng(2))
    dV, dW = question.gradients(params, X, Y, buggy=True)
    result = question.train_stacked(params[0][None], params[1][None], X[None], Y[None], 0.0, True, 1)
    np.testing.assert_allclose(result["V"][0], params[0] - 1e-3 * dV, atol=1e-15)
    np.testing.assert_allclose(result["W"][0], params[1] - 1e-3 * dW, atol=1e-15)


def test_source_train_draws_fresh_weights_on_every_call():
    X, Y = np.random.default_rng(0).random((4, 3)), np.random.default_rng(1).random((4, 2))
    rng = np.random.default_rng(9)
    first = question.source_train(X, Y, 1.0, rng, max_iterations=10)
    second = question.source_train(X, Y, 1.0, rng, max_iterations=10)
    assert not np.array_equal(first["V0"], second["V0"])
    assert first["V0"].min() >= 0 and first["V0"].max() < 1


# ---------------------------------------------------------------------- the appendix (XOR)
def xor_step_by_units(W1, b1, W2, b2, X, y, lr=0.01):
    """tanh hidden, softmax output; delta3 = probs with 1 subtracted at the label (in the same array);
    gradients summed over the samples; every parameter moves by -lr times its gradient."""
    n, h = len(X), len(b1)
    A1 = [[math.tanh(X[s][0] * W1[0][j] + X[s][1] * W1[1][j] + b1[j]) for j in range(h)] for s in range(n)]
    probs = []
    for s in range(n):
        scores = [math.exp(sum(A1[s][j] * W2[j][k] for j in range(h)) + b2[k]) for k in range(2)]
        probs.append([v / sum(scores) for v in scores])
    delta3 = probs
    for s in range(n):
        delta3[s][y[s]] -= 1
    delta2 = [[sum(delta3[s][k] * W2[j][k] for k in range(2)) * (1 - A1[s][j] ** 2) for j in range(h)]
              for s in range(n)]
    nW1 = [[W1[i][j] - lr * sum(X[s][i] * delta2[s][j] for s in range(n)) for j in range(h)] for i in range(2)]
    nb1 = [b1[j] - lr * sum(delta2[s][j] for s in range(n)) for j in range(h)]
    nW2 = [[W2[j][k] - lr * sum(A1[s][j] * delta3[s][k] for s in range(n)) for k in range(2)] for j in range(h)]
    nb2 = [b2[k] - lr * sum(delta3[s][k] for s in range(n)) for k in range(2)]
    return [np.array(p) for p in (nW1, nb1, nW2, nb2)], np.array(probs)


def test_xor_appendix_step_matches_the_transcription_and_prints_p_minus_onehot():
    X, y = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])
    params = rules.xor_appendix_init(np.random.default_rng(3))
    params[1] += 0.1  # non-zero biases, so that their use is checked too
    for _ in range(3):
        new, printed = rules.xor_appendix_step(params, X, y)
        ref, ref_printed = xor_step_by_units(*[p.tolist() for p in params], X.tolist(), y.tolist())
        for a, b in zip(new, ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(printed, ref_printed, rtol=0, atol=1e-12)
        np.testing.assert_allclose(printed.sum(axis=1), 0, atol=1e-12)  # p - onehot(y), not probabilities
        assert (printed[np.arange(4), y] < 0).all()
        params = new


def test_xor_appendix_step_stacks_seeds():
    X, y = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])
    starts = [rules.xor_appendix_init(np.random.default_rng(s)) for s in range(3)]
    stacked, printed = rules.xor_appendix_step([np.stack([p[k] for p in starts]) for k in range(4)], X, y)
    for s, params in enumerate(starts):
        single, single_printed = rules.xor_appendix_step(params, X, y)
        for a, b in zip(stacked, single):
            np.testing.assert_allclose(a[s], b, rtol=0, atol=1e-15)
        np.testing.assert_allclose(printed[s], single_printed, rtol=0, atol=1e-15)
