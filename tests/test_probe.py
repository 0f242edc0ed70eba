"""bp.Probe recording: layouts, containers, model objects, every, bounded memory, the sink, files."""

import json
import zipfile

import numpy as np
import pytest

import backproplab as bp
from backproplab.probe._file import ProbeFileError


def run_loop(probe, steps=10, transposed=False, seed=0):
    """Linear regression by hand; (out, in) layout with a bias column when ``transposed``."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    W = rng.normal(size=(1, 3)) if transposed else rng.normal(size=(3, 1))
    Xb = np.hstack([X, np.ones((8, 1))])
    history = []
    for step in range(steps):
        out = (W @ Xb.T).T if transposed else Xb @ W
        error = out - y
        grad = (error.T @ Xb) / 8 if transposed else Xb.T @ error / 8
        probe.record(step, loss=0.5 * float(np.mean(error**2)), weights=[W], grads=[grad], X=X, y=y)
        history.append((W.copy(), grad.copy()))
        W -= 0.1 * grad
    return history


@pytest.mark.parametrize("transposed", [False, True])
def test_statistics_are_the_norms_and_one_step_update_ratios(transposed):
    probe = bp.Probe()
    history = run_loop(probe, transposed=transposed)
    stats = probe.statistics()
    assert list(stats["steps"]) == list(range(10))
    W = [w for w, _ in history]
    assert np.allclose(stats["weight_norms"]["W[0]"], [np.linalg.norm(w) for w in W])
    assert np.allclose(stats["grad_norms"]["W[0]"], [np.linalg.norm(g) for _, g in history])
    expected = [np.linalg.norm(W[t] - W[t - 1]) / np.linalg.norm(W[t - 1]) for t in range(1, 10)]
    assert np.isnan(stats["update_ratios"]["W[0]"][0]) and np.allclose(stats["update_ratios"]["W[0]"][1:], expected)


def test_every_records_every_kth_call_with_a_one_step_update_ratio():
    probe = bp.Probe(every=3)
    history = run_loop(probe, steps=10)
    stats = probe.statistics()
    assert list(stats["steps"]) == [0, 3, 6, 9] and probe.n_records == 4 and probe.n_calls == 10
    W = [w for w, _ in history]
    ratios = stats["update_ratios"]["W[0]"]
    assert np.isnan(ratios[0])
    assert np.allclose(ratios[1:], [np.linalg.norm(W[t] - W[t - 1]) / np.linalg.norm(W[t - 1]) for t in (3, 6, 9)])
    assert "4 of 10 calls recorded (every 3)" in probe.describe()


def test_dicts_keep_their_names_and_check_gradient_gets_a_dict():
    probe = bp.Probe()
    W, b = np.ones((2, 1)), np.zeros(1)
    X, y = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[1.0], [0.0]])
    error = X @ W + b - y
    probe.record(0, weights={"W": W, "b": b}, grads={"W": X.T @ error, "b": error.sum(0)})
    seen = []

    def loss(params):
        seen.append(type(params))
        return 0.5 * float(np.sum((X @ params["W"] + params["b"] - y) ** 2))

    assert probe.check_gradient(loss).passed and seen[0] is dict
    assert "W (2, 1), b (1,)" in probe.describe()


def test_a_model_object_is_read_by_naming_convention_and_reported():
    class Net:
        def __init__(self):
            self.W1, self.dW1 = np.ones((2, 3)), np.full((2, 3), 0.5)
            self.b1, self.grad_b1 = np.zeros(3), np.ones(3)
            self.hidden = np.zeros((4, 3))

    net = Net()
    probe = bp.Probe()
    for step in range(3):
        probe.record(step, loss=1.0, model=net)
        net.W1 -= 0.1 * net.dW1
    assert probe.layout.names == ("W1", "b1")
    text = probe.describe()
    assert "W1 (2, 3) (gradient dW1)" in text and "b1 (3,) (gradient grad_b1)" in text
    assert "left out (no gradient named by convention): hidden (4, 3)" in text
    assert probe.statistics()["grad_norms"]["W1"][0] == pytest.approx(np.sqrt(6 * 0.25))

    class Opaque:
        def __init__(self):
            self.A, self.B = np.ones(2), np.ones(2)

    with pytest.raises(ValueError, match="found A .2,., B .2,. but no weight with a gradient"):
        bp.Probe().record(0, model=Opaque())


def test_bad_records_name_the_argument():
    with pytest.raises(ValueError, match="grads has 1 arrays for 2 weights"):
        bp.Probe().record(0, weights=[np.ones(2), np.ones(3)], grads=[np.ones(2)])
    with pytest.raises(ValueError, match=r"the gradient of W\[0\] has shape \(3,\), the weights \(2,\)"):
        bp.Probe().record(0, weights=[np.ones(2)], grads=[np.ones(3)])
    with pytest.raises(TypeError, match="weights must be a list or dict"):
        bp.Probe().record(0, weights="W")
    probe = bp.Probe()
    probe.record(0, loss=np.array([0.5]), weights=[np.ones(2)], grads=[np.ones(2)])
    assert probe.statistics()["loss"][0] == 0.5
    with pytest.raises(ValueError, match=r"loss must be one number, got an array of shape \(3,\)"):
        probe.record(1, loss=np.ones(3), weights=[np.ones(2)], grads=[np.ones(2)])
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        bp.Probe(every=0)
    with pytest.raises(TypeError, match="sink must have an on_probe_record"):
        bp.Probe(sink=object())


def test_memory_is_bounded_and_statistics_are_kept():
    probe = bp.Probe(keep_snapshots=3, replay_snapshots=8, max_records=1000)
    W, g = np.ones((4, 4)), np.full((4, 4), 0.01)
    for step in range(3000):
        probe.record(step, loss=1.0 / (step + 1), weights=[W], grads=[g])
        W -= 0.1 * g
    assert [s.step for s in probe.snapshots()] == [2997, 2998, 2999]
    assert len(probe.replay()) <= 8 and probe.replay()[0][0] == 0
    stats = probe.statistics()
    assert 500 <= len(stats["steps"]) <= 1000 + Probe_chunk() and stats["steps"][0] == 0
    assert "thinned" in probe.describe()


def Probe_chunk():
    return bp.Probe.CHUNK


class Sink:
    def __init__(self):
        self.calls = []

    def on_probe_record(self, step, stats):
        self.calls.append((step, stats))


def test_the_sink_gets_every_recorded_step_with_the_documented_keys():
    sink = Sink()
    probe = bp.Probe(every=2, sink=sink)
    run_loop(probe, steps=6)
    assert [s for s, _ in sink.calls] == [0, 2, 4]
    step, stats = sink.calls[1]
    assert set(stats) >= {"loss", "grad_norms", "weight_norms", "update_ratios"}
    assert isinstance(stats["loss"], float) and set(stats["grad_norms"]) == {"W[0]"}
    assert stats["grad_norms"]["W[0]"] == pytest.approx(probe.statistics()["grad_norms"]["W[0]"][1])
    assert "weights" in sink.calls[0][1] and sink.calls[0][1]["weights"]["W[0]"].shape == (3, 1)


def test_save_and_load_round_trip(tmp_path):
    probe = bp.Probe()
    run_loop(probe, steps=5)
    rng = np.random.default_rng(0)
    probe._keep_activations([rng.random((8, 3))])
    path = probe.save(tmp_path / "run.probe.npz")
    loaded = bp.Probe.load(path)
    a, b = probe.statistics(), loaded.statistics()
    assert np.array_equal(a["steps"], b["steps"]) and np.allclose(a["loss"], b["loss"])
    assert np.allclose(a["grad_norms"]["W[0]"], b["grad_norms"]["W[0]"])
    assert [s.step for s in loaded.snapshots()] == [2, 3, 4]
    assert np.array_equal(loaded.X, probe.X) and loaded.activations[0].shape == (8, 3)
    assert loaded.layout == probe.layout
    X, y = probe.X, probe.y
    Xb = np.hstack([X, np.ones((8, 1))])
    assert loaded.check_gradient(lambda w: 0.5 * float(np.mean((Xb @ w[0] - y) ** 2))).passed
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as data:
        assert json.loads(str(data["header"]))["format"] == "backproplab-probe"


def test_load_refuses_what_is_not_a_probe_file(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.ones(3))
    with pytest.raises(ProbeFileError, match="is not a backproplab probe file: it has no probe header"):
        bp.Probe.load(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ProbeFileError, match="cannot read it as .npz"):
        bp.Probe.load(text)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, header=np.array(json.dumps({"format": "backproplab-probe", "version": 99})))
    with pytest.raises(ProbeFileError, match="format version 99"):
        bp.Probe.load(wrong)
    with pytest.raises(ValueError, match="does not exist"):
        bp.Probe.load(tmp_path / "missing.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"format": "backproplab-probe"}], dtype=object))
    with pytest.raises(ProbeFileError):
        bp.Probe.load(pickled)
    with pytest.raises(ValueError, match="nothing to save"):
        bp.Probe().save(tmp_path / "empty.npz")


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    probe = bp.Probe()
    run_loop(probe, steps=3)
    path = tmp_path / "run.npz"
    probe.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez_compressed", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError):
        probe.save(path)
    assert path.read_bytes() == before
