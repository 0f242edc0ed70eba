import json
import os

import numpy as np
import pytest

from backproplab.experiments import (
    REGISTRY,
    ExperimentResult,
    blog_time,
    get,
    gradient_bug,
    question,
    shared,
    stall,
    tolerance_sweep,
    xor,
)

NAMES = ["tolerance-sweep", "stall", "seed-gradient-bug", "vanishing-gradient", "activation-race",
         "batch-mean-update", "blog-time", "xor"]


@pytest.fixture(scope="module")
def results():
    """Every experiment at a tiny scale (the rules themselves are pinned in test_source_rules.py)."""
    mp = pytest.MonkeyPatch()
    mp.setitem(shared.SCALES, "quick", shared.Scale(seeds=2, cap=4000, exact_max_steps=4000, timing_steps=20,
                                                    n_jobs=1))
    mp.setattr(tolerance_sweep, "QUICK", {"starts": 6})
    mp.setattr(stall, "QUICK", {"iterations": 3000, "seeds": 2})
    mp.setattr(gradient_bug, "QUICK", {"iterations": 1000, "path_points": 10})
    mp.setattr(xor, "QUICK", {"seeds": 3, "steps": 1500})
    out = {name: experiment(seed=0, quick=True) for name, experiment in REGISTRY.items()}
    mp.undo()
    return out


def test_registry_names():
    assert list(REGISTRY)[: len(NAMES)] == NAMES
    with pytest.raises(ValueError, match="unknown experiment 'nope'; expected one of: tolerance-sweep"):
        get("nope")


def test_every_result_has_table_conclusion_and_json(results):
    for name, result in results.items():
        assert result.table and result.conclusion, name
        data = json.loads(result.to_json())
        assert data["name"] == name and data["table"] and data["conclusion"] == result.conclusion


def test_to_json_writes_the_file_atomically(tmp_path, monkeypatch):
    result = ExperimentResult("x", "a title", "a source", [{"a": 1.5}], "a conclusion")
    path = tmp_path / "x.json"
    path.write_text("old")
    text = result.to_json(path)
    assert path.read_text() == text and json.loads(text)["table"] == [{"a": 1.5}]
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="cannot write .*x.json"):
        ExperimentResult("y", "t", "s", [], "c").to_json(path)
    assert path.read_text() == text  # the failed write left the old file, and no temporary file
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_save_figures_writes_pngs_and_a_failed_save_keeps_the_old_file(tmp_path):
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    result = ExperimentResult("x", "t", "s", [], "c", figures=[("curve", figure)])
    (path,) = result.save_figures(tmp_path)
    saved = open(path, "rb").read()
    assert saved.startswith(b"\x89PNG")

    class Broken:
        def savefig(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ExperimentResult("x", "t", "s", [], "c", figures=[("curve", Broken())]).save_figures(tmp_path)
    assert open(path, "rb").read() == saved  # the old figure is intact, and no temporary file is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-curve.png"]


def test_old_misleading_sentences_are_gone(results):
    text = " ".join(r.conclusion + " " + json.dumps(r.headline) for r in results.values())
    for phrase in ("3900x", "does not converge", "points the wrong way", "because the targets are noise",
                   "There is nothing to learn"):
        assert phrase not in text


def test_stall_bug_freezes_the_hidden_layer(results):
    s = results["stall"].data["summary"]
    assert s["moved_max"] < 0.01 < s["fixed_moved_median"]
    assert s["bug_output_share"] > 0.99 > s["fixed_output_share"]
    assert stall.num(s["moved_min"]) in results["stall"].conclusion


def test_stall_buggy_fit_tends_to_least_squares_on_frozen_features():
    per_seed = stall.run_block([0], {"iterations": 20_000})
    bug = per_seed[0]["bug"]
    assert abs(bug["mae"][-1] - bug["frozen_features_lstsq_mae"]) < 0.02
    assert bug["mae"][-1] >= bug["frozen_features_lstsq_mae"] - 1e-9  # least squares is the floor of MSE, near it in MAE


def test_tolerance_sweep_places_the_source_row_in_the_distribution(results):
    data = results["tolerance-sweep"].data
    iterations = np.array(data["iterations"]["0.0001"])
    assert len(iterations) == data["starts"] == 6
    assert len(set(iterations.tolist())) > 1  # independent starts, not one trajectory
    assert data["beyond_38895"] == np.mean(iterations >= 38895)


def test_question_stack_mixes_bug_and_fixed():
    rng = np.random.default_rng(1)
    X, Y = rng.random((2, 5, 4)), rng.random((2, 5, 2))
    V, W = rng.random((2, 5, 3)), rng.random((2, 4, 2))
    mixed = question.train_stacked(V, W, X, Y, 0.0, np.array([True, False]), 30)
    for k, buggy in enumerate((True, False)):
        alone = question.train_stacked(V[k:k + 1], W[k:k + 1], X[k:k + 1], Y[k:k + 1], 0.0, buggy, 30)
        np.testing.assert_allclose(mixed["V"][k], alone["V"][0], atol=1e-14)


def test_seed_gradient_bug_is_exposed(results):
    data = results["seed-gradient-bug"].data
    assert data["buggy_rel_error"] > 0.5
    assert data["exact_rel_error"] < 1e-6
    assert data["along_path"]["data set 1"]["scale_max"] < 0.2


def test_vanishing_gradient_reports_the_blogs_deltas(results):
    blog = results["vanishing-gradient"].data["blog"]
    assert 0 < blog["sig3_init_min"] <= blog["sig3_init_max"] < 1
    assert blog["ratio_min"] > 1  # each layer back is smaller at initialisation
    deep = results["vanishing-gradient"].data["deep_grad_norms"]
    assert deep["sigmoid"][0] / deep["sigmoid"][-1] < deep["relu"][0] / deep["relu"][-1]


def test_activation_race_counts_every_seed(results):
    stats = results["activation-race"].data["stats"]
    for key, s in stats.items():
        assert s["n"] == 2 and s["reached"] + len(s["failures"]) == 2, key
    assert stats["exact gradient/sigmoid"]["reached"] >= 1  # exact gradients get there in a few thousand steps


def test_batch_mean_update_cosines_are_cosines(results):
    cos = np.array(results["batch-mean-update"].data["sigmoid"]["cosines"])
    assert cos.size and np.all(np.abs(cos) <= 1 + 1e-12)


def test_blog_time_decomposition_multiplies(monkeypatch):
    def runs(steps, reached=True):
        return [{"seed": k, "steps": s, "reached": reached, "stop_reason": "loss_below"} for k, s in enumerate(steps)]

    monkeypatch.setattr(shared, "blog_seeds", lambda hidden, seed, quick: runs([1_000_000, 2_000_000, 1_500_000]))
    monkeypatch.setattr(shared, "exact_seeds", lambda hidden, seed, quick: runs([3000, 2000, 4000]))
    monkeypatch.setattr(shared, "per_step_costs", lambda steps: {
        "blog_step_s": 4e-4, "ours_step_s": 5e-5, "blog_step_range_s": [3e-4, 5e-4], "steps": steps, "repeats": 3})
    result = blog_time.run(seed=0, quick=False)
    row = result.data["rows"]["sigmoid"]
    assert row["steps ratio"] == 500 and row["per-step ratio"] == pytest.approx(8)
    assert row["blog s predicted"] == pytest.approx(600)
    assert "500x (steps, the update rule) x 8x (per-step cost)" in result.conclusion


def test_xor_appendix_prints_p_minus_onehot(results):
    data = results["xor"].data
    printed, probs = np.array(data["printed_first_seed"]), np.array(data["probs_first_seed"])
    assert data["printed_row_sum_max"] < 1e-12
    assert printed.min() < 0 <= probs.min()


def test_prefetched_blog_runs_equal_sequential_ones(monkeypatch):
    pytest.importorskip("numba")
    from backproplab.experiments import blog_runs

    monkeypatch.setitem(shared.SCALES, "quick", shared.Scale(seeds=2, cap=2000, exact_max_steps=2000, timing_steps=20,
                                                             n_jobs=2))
    assert shared.prefetch(5, quick=True)
    runs = shared.blog_seeds("relu", 5, quick=True)
    assert not any(key[1] == (5, 6) and key[0] == "relu" for key in shared._PENDING)
    for run in runs:
        alone = blog_runs.run_one(run["seed"], blog_runs.BlogConfig(hidden="relu", cap=2000))
        assert run["window_losses"] == alone["window_losses"]
    assert [r["seed"] for r in shared.blog_seeds("sigmoid", 5, quick=True)] == [5, 6]
