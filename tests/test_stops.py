"""Stop rules as objects (stops.py) and the Trainer's hook lists."""

import warnings

import pytest

import backproplab as bp
from backproplab import stops
from backproplab.training import FitConfig, Trainer


def data(rng):
    X = rng.normal(size=(60, 3))
    return X, X[:, :1] - 0.5 * X[:, 1:2]


def trainer(net, X, y, **config):
    t = Trainer(net, FitConfig(**config))
    t.prepare(X, y)
    return t


def test_the_plain_case_has_no_per_step_hooks(rng):
    X, y = data(rng)
    t = trainer(bp.Network.mlp([3, 4, 1], seed=0), X, y, max_steps=10)
    assert t.step_hooks == [] and t.update_checks == [] and t.epoch_hooks == []
    assert [type(r).__name__ for r in t.rules] == ["MaxSteps"] and t.step_limit == 10


def test_each_asked_rule_is_built_once_and_hooked_where_it_runs(rng):
    X, y = data(rng)
    stop = bp.Stop(loss_below=1e-9, window=5, grad_norm_below=1e-12, plateau=True, early_stopping=True, time_limit=60)
    t = trainer(bp.Network.mlp([3, 4, 1], seed=0), X, y, stop=stop, max_epochs=3, record_steps=True)
    names = [type(r).__name__ for r in t.rules]
    assert names == ["LossBelow", "GradNormBelow", "EarlyStopping", "Plateau", "TimeLimit", "MaxEpochs"]
    assert [reason for _, reason in t.step_hooks] == ["-", "loss_below", "time_limit"]  # history, then rules
    assert [reason for _, reason in t.epoch_hooks] == ["grad_norm_below", "early_stopping", "plateau", "max_epochs"]
    assert len(t.update_checks) == 1


@pytest.mark.parametrize("stop, limits, reason", [
    (bp.Stop(loss_below=10.0), {}, "loss_below"),
    (bp.Stop(grad_norm_below=1e3), {}, "grad_norm_below"),
    (bp.Stop(plateau=True, patience=1, tol=10.0), {}, "plateau"),
    (bp.Stop(early_stopping=True, patience=1, tol=10.0), {}, "early_stopping"),
    (bp.Stop(time_limit=1e-9), {}, "time_limit"),
    (bp.Stop(), {"max_steps": 3}, "max_steps"),
    (bp.Stop(), {"max_epochs": 2}, "max_epochs"),
])
def test_each_rule_names_its_stop_reason(stop, limits, reason, rng):
    X, y = data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = bp.Network.mlp([3, 4, 1], seed=0).fit(X, y, stop=stop, progress=False, **limits)
    assert history.stop_reason == reason
    assert history.stop_reason in stops.STOP_REASONS


def test_stop_reasons_lists_every_rule_and_the_loop_s_own():
    rule_reasons = {cls.stop_reason for cls in stops.StopRule.__subclasses__()}
    assert rule_reasons <= set(stops.STOP_REASONS)
    assert {"diverged", "interrupted", "callback"} <= set(stops.STOP_REASONS)


def test_default_budgets_follow_the_rules():
    assert stops.default_limits(bp.Stop(), None, None) == (200, None)
    assert stops.default_limits(bp.Stop(time_limit=1.0), None, None) == (None, 1_000_000)
    assert stops.default_limits(bp.Stop(plateau=True), None, 5) == (None, 5)


def test_validation_tracks_the_best_epoch_without_copying_weights(rng):
    X, y = data(rng)
    t = trainer(bp.Network.mlp([3, 4, 1], seed=0), X, y, validation=0.2, max_epochs=4)
    history = t.run()
    early = next(r for r in t.rules if isinstance(r, stops.EarlyStopping))
    assert history.best_epoch is not None and early.best_weights is None  # no early stopping: nothing copied


def test_budget_reached_before_a_goal_warns_with_the_shortfall(rng):
    X, y = data(rng)
    with pytest.warns(bp.ConvergenceWarning, match=r"did not converge within max_steps=5: loss .* the target loss_below=1e-09"):
        bp.Network.mlp([3, 4, 1], seed=0).fit(X, y, stop=bp.Stop(loss_below=1e-9), max_steps=5, progress=False)
