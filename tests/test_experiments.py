import json

import numpy as np
import pytest

from backproplab.experiments import REGISTRY, get, question


@pytest.fixture(scope="module")
def results():
    return {name: experiment(seed=0, quick=True) for name, experiment in REGISTRY.items()}


def test_registry_has_all_seven():
    assert list(REGISTRY) == ["tolerance-sweep", "stall", "seed-gradient-bug", "vanishing-gradient",
                              "activation-race", "batch-mean-update", "xor", "your-own-code"]
    with pytest.raises(ValueError, match="unknown experiment 'nope'; expected one of: tolerance-sweep"):
        get("nope")


def test_every_result_has_table_conclusion_figures_and_json(results):
    for name, result in results.items():
        assert result.table and result.conclusion and result.figures, name
        data = json.loads(result.to_json())
        assert data["name"] == name and data["table"] and data["conclusion"] == result.conclusion


def test_stall_trained_mae_is_the_baseline(results):
    data = results["stall"].data
    assert abs(data["trained_mae"] - data["baseline_mae"]) <= 0.10 * data["baseline_mae"]
    assert data["big_network_train_mae"] < 0.05  # memorises
    assert data["big_network_fresh_mae"] >= data["baseline_fresh_mae"]  # and is no better on fresh noise
    assert f"{data['trained_mae']:.4f}" in results["stall"].conclusion


def test_seed_gradient_bug_is_exposed(results):
    data = results["seed-gradient-bug"].data
    assert data["buggy_rel_error"] > 1e-2
    assert data["exact_rel_error"] < 1e-6


def test_vanishing_gradient_first_layer_below_last_for_sigmoid(results):
    norms = results["vanishing-gradient"].data["shallow_grad_norms"]["sigmoid"]
    assert norms[0] < norms[-1]
    deep = results["vanishing-gradient"].data["deep_grad_norms"]
    assert deep["sigmoid"][0] / deep["sigmoid"][-1] < deep["relu"][0] / deep["relu"][-1]


def test_activation_race_relu_needs_no_more_steps_than_sigmoid(results):
    rows = {(r["optimizer"], r["hidden"]): r for r in results["activation-race"].table}
    assert rows[("SGD lr 0.1", "relu")]["median steps"] <= rows[("SGD lr 0.1", "sigmoid")]["median steps"]
    assert rows[("SGD lr 0.1", "sigmoid")]["median s"] < 5  # the blog took 1037 s


def test_batch_mean_update_differs_from_the_gradient(results):
    data = results["batch-mean-update"].data
    assert data["rel_error_median"] > 0.1
    assert data["cosine_median"] < 0.99


def test_question_exact_gradient_matches_finite_differences_and_our_network():
    import backproplab as bp

    X, Y = bp.datasets.qa_toy()
    params = question.init_weights(4, 3, 4, np.random.default_rng(0))
    result = bp.check_gradient(lambda p: question.half_sse(p, X, Y), lambda p: question.gradients(p, X, Y, False), params)
    assert result.passed
    # the same network built from our layers: half-SSE gradient = mse gradient * n_elements / 2
    V, W = params
    net = bp.Network([bp.Dense(4, 3), bp.Sigmoid(), bp.Dense(3, 4)], loss="mse")
    net.set_weights([V[:-1], -V[-1], W[:-1], -W[-1]])  # the -1 bias input becomes a bias of -row
    np.testing.assert_allclose(net.predict(X), question.predict(params, X))
    dV, dW = question.gradients(params, X, Y, False)
    grads = [g * Y.size / 2 for g in net.gradients(X, Y)]
    np.testing.assert_allclose(grads[0], dV[:-1], rtol=1e-10)
    np.testing.assert_allclose(grads[2], dW[:-1], rtol=1e-10)


def test_tolerance_sweep_single_run_equals_separate_runs():
    import backproplab as bp

    X, Y = bp.datasets.qa_toy()
    start = question.init_weights(4, 3, 4, np.random.default_rng(1))
    swept = question.sweep(start, X, Y, [1.0, 0.1], buggy=True, max_iterations=50_000)
    for tol, run in zip([1.0, 0.1], swept):
        single = question.train(start, X, Y, tol, buggy=True, max_iterations=50_000)
        assert (single.iterations, single.mae) == (run.iterations, run.mae)
