import json
import math
import warnings

import numpy as np
import pytest

import backproplab as bp


@pytest.fixture
def spheres():
    return bp.datasets.two_spheres(seed=0)


def blog_net(hidden="sigmoid", seed=0):
    return bp.Network.mlp([3, 3, 2, 1], hidden=hidden, output="sigmoid", loss="mse", init="normal", seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blog_task_stops_by_loss_below(spheres, seed):
    X, y = spheres
    history = blog_net(seed=seed).fit(
        X, y, lr=0.1, batch_size=128, sampling="random", stop=bp.Stop(loss_below=0.01, window=1000), seed=seed
    )
    assert history.stop_reason == "loss_below"
    assert history.n_steps % 1000 == 0
    assert history.window_loss[-1] < 0.01 <= min(history.window_loss[:-1], default=1.0)


def test_grad_norm_rule_on_the_question_data():
    X, Y = bp.datasets.qa_toy()
    net = bp.Network.mlp([4, 3, 4], hidden="sigmoid", output="identity", init="uniform", seed=0)
    history = net.fit(X, Y, lr=0.05, batch_size=None, max_steps=200_000, stop=bp.Stop(grad_norm_below=0.05))
    assert history.stop_reason == "grad_norm_below"
    grad_norm = math.sqrt(sum(float(np.sum(g**2)) for g in net.gradients(X, Y)))
    assert grad_norm < 0.05


def test_max_steps_and_max_epochs(spheres):
    X, y = spheres
    h = blog_net().fit(X, y, max_steps=7, batch_size=50)
    assert (h.stop_reason, h.n_steps) == ("max_steps", 7)
    h = blog_net().fit(X, y, max_epochs=3, batch_size=50)
    assert (h.stop_reason, h.n_epochs, h.n_steps) == ("max_epochs", 3, 12)
    assert len(h.loss) == 3 and len(h.lr) == 3


def test_not_converged_warning_says_by_how_much(spheres):
    X, y = spheres
    with pytest.warns(bp.ConvergenceWarning, match=r"did not converge within max_steps=20: loss .* is .*x the target"):
        h = blog_net().fit(X, y, max_steps=20, stop=bp.Stop(loss_below=1e-6, window=10))
    assert h.stop_reason == "max_steps"


def test_plateau(spheres):
    X, y = spheres
    net = bp.Network.mlp([3, 4, 1], output="sigmoid", loss="bce", seed=0)
    h = net.fit(X, y, optimizer="sgd", lr=0.0, batch_size=None, max_epochs=100, stop=bp.Stop(plateau=True, patience=3))
    assert h.stop_reason == "plateau"
    assert h.n_epochs == 4  # the first epoch sets the best, three more without improvement


def test_early_stopping_restores_the_best_weights(rng):
    # a big network on 30 noisy points over-fits; validation loss turns up
    X = rng.normal(size=(40, 5))
    y = X[:, :1] + rng.normal(scale=1.0, size=(40, 1))
    net = bp.Network.mlp([5, 64, 64, 1], seed=0)
    h = net.fit(X[:30], y[:30], optimizer="adam", lr=0.01, batch_size=None, max_epochs=2000,
                validation=(X[30:], y[30:]), stop=bp.Stop(early_stopping=True, patience=20))
    assert h.stop_reason == "early_stopping"
    best = int(np.argmin(h.val_loss))
    assert h.best_epoch == best + 1
    assert net.loss(X[30:], y[30:]) == pytest.approx(h.val_loss[best], rel=1e-12)
    assert h.val_loss[-1] > h.val_loss[best]


def test_early_stopping_holds_out_a_fraction_by_default(spheres):
    X, y = spheres
    with pytest.warns(bp.ConvergenceWarning, match="still improving"):
        h = blog_net().fit(X, y, max_epochs=5, stop=bp.Stop(early_stopping=True))
    assert len(h.val_loss) == 5
    assert h.config["n_samples"] == 180


def test_time_limit(spheres):
    X, y = spheres
    h = blog_net().fit(X, y, max_steps=10**9, stop=bp.Stop(time_limit=0.05))
    assert h.stop_reason == "time_limit"
    assert 0.05 <= h.wall_time < 5


def test_divergence_restores_the_last_finite_weights(rng):
    X = rng.normal(size=(50, 3)) * 100
    y = rng.normal(size=50) * 100
    net = bp.Network.mlp([3, 16, 1], hidden="relu", seed=0)
    with pytest.warns(bp.DivergenceWarning, match="diverged at step .*Try a learning rate below 10"):
        h = net.fit(X, y, lr=10.0, max_steps=1000, batch_size=None)
    assert h.stop_reason == "diverged"
    assert all(np.isfinite(p).all() for p in net.parameters())
    assert np.isfinite(net.loss(X, y))
    assert h.n_steps < 1000


class InterruptAt(bp.Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, step, loss):
        if step == self.step:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_weights_of_the_last_completed_step(spheres):
    X, y = spheres
    interrupted = blog_net()
    h = interrupted.fit(X, y, max_steps=100, batch_size=20, seed=3, callbacks=[InterruptAt(37)])
    assert (h.stop_reason, h.n_steps) == ("interrupted", 37)
    reference = blog_net()
    reference.fit(X, y, max_steps=37, batch_size=20, seed=3)
    for a, b in zip(interrupted.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a, b)


class StopAfter(bp.Callback):
    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, epoch, history):
        self.epochs.append(epoch)
        return epoch == 2


def test_callbacks_can_stop(spheres):
    X, y = spheres
    callback = StopAfter()
    h = blog_net().fit(X, y, max_epochs=10, callbacks=[callback])
    assert h.stop_reason == "callback" and callback.epochs == [1, 2]


def test_same_seeds_give_bit_identical_weights(spheres):
    X, y = spheres
    a, b = blog_net(seed=5), blog_net(seed=5)
    a.fit(X, y, max_epochs=5, seed=11)
    b.fit(X, y, max_epochs=5, seed=11)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    c = blog_net(seed=5)
    c.fit(X, y, max_epochs=5, seed=12)
    assert not np.array_equal(a.parameters()[0], c.parameters()[0])


def test_warm_start_continues_weights_and_optimizer_state(spheres):
    X, y = spheres
    once = blog_net()
    opt = bp.Adam(lr=0.01)
    once.fit(X, y, optimizer=opt, max_steps=20, batch_size=None)
    once.fit(X, y, optimizer=opt, max_steps=20, batch_size=None)
    assert opt.t == 40
    straight = blog_net()
    straight.fit(X, y, optimizer=bp.Adam(lr=0.01), max_steps=40, batch_size=None)
    for p, q in zip(once.parameters(), straight.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-12)


def test_lr_zero_changes_nothing_in_fit(spheres):
    X, y = spheres
    net = blog_net()
    before = net.get_weights()
    net.fit(X, y, lr=0.0, max_epochs=2)
    for a, b in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b)


def test_history_records_and_exports(spheres, tmp_path):
    X, y = spheres
    net = bp.Network.mlp([3, 4, 1], output="sigmoid", loss="bce", seed=0)
    h = net.fit(X, y, optimizer="adam", lr=0.05, max_epochs=4, validation=0.25, metrics=["accuracy"],
                record_steps=True, seed=0)
    assert len(h.loss) == len(h.val_loss) == len(h.metrics["accuracy"]) == len(h.metrics["val_accuracy"]) == 4
    assert len(h.step_loss) == h.n_steps == 4 * 5  # 150 training rows, batch 32
    data = json.loads(h.to_json(tmp_path / "h.json"))
    assert data["stop_reason"] == "max_epochs"
    assert bp.History.from_json(tmp_path / "h.json").loss == h.loss
    h.to_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss,lr,accuracy,val_accuracy" and len(lines) == 5


def test_evaluate_and_metrics(spheres):
    X, y = spheres
    net = bp.Network.mlp([3, 8, 1], output="sigmoid", loss="bce", seed=0)
    net.fit(X, y, optimizer="adam", lr=0.05, max_epochs=30, seed=0)
    scores = net.evaluate(X, y, metrics=["loss", "accuracy"])
    assert scores["accuracy"] == 1.0
    assert bp.metrics.r2([1, 2, 3], [1, 2, 3]) == 1.0
    assert bp.metrics.sse([[1, 2]], [[2, 4]]) == 5.0


def test_schedule_changes_lr(spheres):
    X, y = spheres
    h = blog_net().fit(X, y, lr=0.1, max_epochs=4, schedule=bp.optimizers.StepDecay(step_size=2, gamma=0.5))
    assert h.lr == [0.1, 0.1, 0.05, 0.05]


def test_checkpoint_and_resume_continue_the_run_exactly(spheres, tmp_path):
    X, y = spheres
    path = tmp_path / "ckpt.npz"
    first = blog_net()
    first.fit(X, y, optimizer=bp.Adam(lr=0.01), max_steps=30, batch_size=16, seed=4,
              callbacks=[InterruptAt(17)], checkpoint=path, checkpoint_every=5)
    resumed = blog_net(seed=99)  # different initial weights: the checkpoint must overwrite them
    h = resumed.fit(X, y, optimizer=bp.Adam(lr=0.01), max_steps=30, batch_size=16, seed=4, resume=path)
    assert h.n_steps == 30
    straight = blog_net()
    straight.fit(X, y, optimizer=bp.Adam(lr=0.01), max_steps=30, batch_size=16, seed=4)
    for a, b in zip(resumed.parameters(), straight.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_progress_bar_is_silent_when_not_a_terminal(spheres, capsys):
    X, y = spheres
    blog_net().fit(X, y, max_epochs=2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_bar_when_asked(spheres, capsys):
    X, y = spheres
    blog_net().fit(X, y, max_epochs=2, progress=True)
    assert "epoch" in capsys.readouterr().err


def test_no_warnings_for_a_healthy_run(spheres):
    X, y = spheres
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blog_net().fit(X, y, max_epochs=3)


def test_epoch_loss_weights_batches_by_their_rows(spheres):
    X, y = spheres
    net = blog_net()
    h = net.fit(X, y, lr=0.0, batch_size=190, max_epochs=1, record_steps=True, shuffle=False)
    # batches of 190 and 10 rows: the epoch loss is the loss over all 200 rows (weights do not move)
    assert h.step_loss[0] != h.step_loss[1]
    assert h.loss[0] == pytest.approx((190 * h.step_loss[0] + 10 * h.step_loss[1]) / 200, rel=1e-12)
    assert h.loss[0] == pytest.approx(net.loss(X, y), rel=1e-12)
