"""--seeds N --backend for the many-seed experiments, and the bootstrap helper they cite."""

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.experiments import get, shared
from backproplab.experiments.stats import bootstrap_diff_ci, describe


def test_bootstrap_identical_samples_interval_contains_zero():
    x = np.random.default_rng(1).normal(size=200)
    diff, low, high = bootstrap_diff_ci(x, x.copy(), seed=3)
    assert diff == 0 and low <= 0 <= high and low < high


def test_bootstrap_large_shift_excludes_zero_and_is_reproducible():
    rng = np.random.default_rng(2)
    a, b = rng.normal(5, 1, 100), rng.normal(0, 1, 100)
    diff, low, high = bootstrap_diff_ci(a, b, seed=0)
    assert 4 < low <= diff <= high < 6
    assert bootstrap_diff_ci(a, b, seed=0) == (diff, low, high)


def test_bootstrap_coverage_on_normal_data_is_near_nominal():
    rng = np.random.default_rng(0)
    covered = sum(low <= 0.5 <= high for low, high in
                  (bootstrap_diff_ci(rng.normal(0.5, 1, 60), rng.normal(0, 1, 60), n_resamples=500, seed=k)[1:]
                   for k in range(100)))
    assert 85 <= covered <= 100  # nominal 95; the percentile bootstrap of medians runs a little under or over


def test_describe_quartiles_and_success_rate():
    d = describe([1, 2, 3, 4, 100], [True, True, True, True, False])
    assert d["median"] == 2.5 and d["q1"] == 1.75 and d["iqr"] == 1.5 and d["success_rate"] == 0.8


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(shared.SCALES, "quick", shared.Scale(seeds=2, cap=4000, exact_max_steps=3000, timing_steps=10))


def _numbers(result):
    return {k: (v["steps"], v["reached_flags"]) for k, v in result.data["stats"].items()}


def test_activation_race_seeds_on_loky_equal_serial(tiny):
    race = get("activation-race")
    serial = race(quick=True, seeds=4, backend="serial")
    loky = race(quick=True, seeds=4, backend="loky")
    assert all(len(steps) == 4 for steps, _ in _numbers(serial).values())
    assert _numbers(serial) == _numbers(loky)
    assert serial.conclusion == loky.conclusion and "95% CI" in serial.conclusion


def test_activation_race_seeds_on_a_dask_local_cluster_equal_serial(tiny):
    pytest.importorskip("distributed")
    race = get("activation-race")
    serial = race(quick=True, seeds=2, backend="serial")
    assert _numbers(race(quick=True, seeds=2, backend="dask")) == _numbers(serial)


@pytest.mark.parametrize("args, message", [
    (["stall", "--seeds", "3"], "does not run over seeds"),
    (["activation-race", "--seeds", "0"], "--seeds must be an integer >= 1"),
    (["activation-race", "--seeds", "x"], "--seeds must be an integer >= 1"),
])
def test_cli_refuses_bad_seeds(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(["experiment", "run", *args]))
    assert info.value.code == 2 and message in capsys.readouterr().err
