"""The dashboard without a browser: bounded buffers, what a frame records, the probe sink, the live
findings, replays, the playground's validation and flawed layers, the server's token, the CLI."""

import json
import re
import urllib.error
import urllib.request

import numpy as np
import pytest

import backproplab as bp
from backproplab.cli import main
from backproplab.dashboard import Dashboard, load_run, write_replay
from backproplab.dashboard.broken import BatchMeanDense, QuestionOutputDense
from backproplab.dashboard.playground import PRESETS, Config, Playground, build_network, make_dataset
from backproplab.dashboard.recorder import Recorder, Series
from backproplab.dashboard.replay import history_state, record_state
from backproplab.runrecord import RunRecord


def blog_net(seed=0):
    return bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=seed)


# ---------------------------------------------------------------------- bounded buffers
def test_series_stays_bounded_and_keeps_the_mean():
    series = Series(capacity=64)
    values = np.random.default_rng(0).random(100_000)
    for step, value in enumerate(values, start=1):
        series.add(step, float(value))
    assert len(series) < 64
    assert series.points[-1][0] <= 100_000 and series.points[0][0] >= 1
    steps = [s for s, _ in series.points]
    assert steps == sorted(steps)
    # each point is the mean of `stride` raw values: their mean is the mean of what was covered
    covered = series.points[-1][0]
    assert np.mean([v for _, v in series.points]) == pytest.approx(values[:covered].mean(), rel=1e-9)


def test_frames_are_bounded_and_span_the_run():
    recorder = Recorder(max_frames=20, every=1)
    for step in range(1, 5001):
        recorder.add_frame({"step": step})
    assert len(recorder.frames) <= 20
    assert recorder.frames[-1]["step"] == 5000 and recorder.frames[0]["step"] == 1
    assert recorder.min_gap > 1  # later frames come less often, so the sample stays even


# ---------------------------------------------------------------------- what a frame records
def test_frames_record_the_gradient_that_was_applied():
    X, y = bp.datasets.two_spheres(seed=0)
    net = blog_net()
    board = Dashboard(data=(X, y), serve=False, every=1)
    snapshots = []

    class Keep(bp.Callback):
        def on_step_end(self, step, loss):
            snapshots.append(net.get_weights())

    net.fit(X, y, optimizer="sgd", lr=0.1, batch_size=None, max_steps=6, callbacks=[Keep(), board], seed=0)
    frame = board.recorder.frames[-1]
    assert frame["step"] == 6
    # full batch: the gradient at step 6 is the gradient at the weights after step 5
    probe = blog_net()
    probe.set_weights(snapshots[-2])
    grads = probe.gradients(X, y)
    for layer, grad, weight, before in zip(frame["layers"], grads[0::2], snapshots[-1][0::2], snapshots[-2][0::2]):
        assert layer["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-10)
        assert layer["weight_norm"] == pytest.approx(np.linalg.norm(weight), rel=1e-10)
        ratio = np.linalg.norm(weight - before) / np.linalg.norm(before)
        assert layer["update_ratio"] == pytest.approx(ratio, rel=1e-9)
    # activations on the sample, from copies of the weights: z = sum w a + b for row 0
    first = frame["layers"][0]
    x0 = X[np.sort(np.arange(len(X)))][0]
    W, b = snapshots[-1][0], snapshots[-1][1]
    assert np.allclose(first["z0"], x0 @ W + b, rtol=1e-5)
    assert 0.0 <= first["saturated_fraction"] <= 1.0
    assert len(frame["grid"]) == 36 * 36 and np.all((frame["grid"] >= 0) & (frame["grid"] <= 1))


def test_timed_sampling_keeps_frames_rare_on_a_fast_run():
    X, y = bp.datasets.two_spheres(seed=0)
    board = Dashboard(data=(X, y), serve=False)
    history = blog_net().fit(X, y, optimizer="sgd", lr=0.1, batch_size=128, max_steps=3000, sampling="random",
                             callbacks=[board], seed=0)
    assert history.n_steps == 3000
    assert 1 <= len(board.recorder.frames) < 300  # by wall time (10 a second at most), not one per step
    assert board.recorder.frames[-1]["step"] == 3000  # the end of the run is always a frame


# ---------------------------------------------------------------------- the probe sink (interface 3)
class FakeProbe:
    """Calls the sink exactly as PLAN.md's interface 3 specifies."""

    def __init__(self, sink, every=1):
        self.sink, self.every = sink, every

    def record(self, step, loss, weights, grads, previous):
        stats = {
            "loss": float(loss),
            "grad_norms": {k: float(np.linalg.norm(g)) for k, g in grads.items()},
            "weight_norms": {k: float(np.linalg.norm(w)) for k, w in weights.items()},
            "update_ratios": {k: float(np.linalg.norm(weights[k] - previous[k]) / np.linalg.norm(previous[k]))
                              for k in weights},
        }
        if step % 10 == 0:
            stats["weights"] = {k: w.copy() for k, w in weights.items()}
        self.sink.on_probe_record(step, stats)


def test_probe_sink_records_norms_weights_and_findings():
    board = Dashboard(serve=False, every=1)
    probe = FakeProbe(board)
    rng = np.random.default_rng(0)
    weights = {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(3, 1))}
    for step in range(1, 31):
        previous = {k: w.copy() for k, w in weights.items()}
        grads = {"W1": 1e-7 * rng.normal(size=(4, 3)), "W2": rng.normal(size=(3, 1))}
        for k in weights:
            weights[k] -= 0.1 * grads[k]
        probe.record(step, 1.0 / step, weights, grads, previous)
    recorder = board.recorder
    assert [p[0] for p in recorder.loss.points][-1] == 30
    last = recorder.frames[-1]
    assert [layer["name"] for layer in last["layers"]] == ["W1", "W2"]
    assert last["layers"][0]["grad_norm"] < 1e-5 < last["layers"][1]["grad_norm"]
    assert last["layers"][1]["hist"]["weights"][2] and np.asarray(last["layers"][0]["W"]).shape == (4, 3)
    assert "vanishing_gradient" in [f["code"] for f in recorder.findings]
    assert recorder.meta["source"] == "probe"


# ---------------------------------------------------------------------- findings for people
def test_evidence_is_formatted_with_three_significant_digits():
    board = Dashboard(serve=False, every=1)
    probe = FakeProbe(board)
    w = {"W1": np.full((2, 2), 0.123456789), "W2": np.full((2, 1), 1.0)}
    probe.record(1, 0.5, w, {"W1": np.full((2, 2), 1.234567e-7), "W2": np.full((2, 1), 0.987654321)},
                 {k: v + 0.01 for k, v in w.items()})
    finding = next(f for f in board.recorder.findings if f["code"] == "vanishing_gradient")
    text = " ".join(finding["evidence"].values()) + finding["message"]
    assert "{" not in finding["message"]
    digits = [re.sub(r"[^0-9]", "", m.split("e")[0]).lstrip("0") for m in re.findall(r"\d+\.\d+(?:e[-+]\d+)?", text)]
    assert digits and all(len(d) <= 3 for d in digits), text


# ---------------------------------------------------------------------- replays
def test_history_json_replays_with_its_gradient_flow(tmp_path):
    X, y = bp.datasets.two_spheres(seed=0)
    history = bp.Network.mlp([3, 8, 8, 1], hidden="relu", loss="bce", seed=0).fit(
        X, y, optimizer="adam", lr=0.01, max_epochs=30, validation=0.2, monitor=bp.GradientFlow(every=5), seed=0)
    path = tmp_path / "h.json"
    history.to_json(path)
    state = load_run(path)
    assert len(state["frames"]) == len(history.monitor) and state["meta"]["sizes"] == [3, 8, 8, 1]
    assert state["series"]["val_loss"][1][-1] == pytest.approx(history.val_loss[-1])
    assert [f["layers"][0]["grad_norm"] for f in state["frames"]] == pytest.approx(
        [r["layers"][0]["grad_norm"] for r in history.monitor])
    out = write_replay(state, tmp_path / "replay.html")
    text = open(out, encoding="utf-8").read()
    assert '"mode":"replay"' in text and "<script src" not in text and "<link rel=\"stylesheet\"" not in text


def test_model_and_saved_dashboard_replay(tmp_path):
    net = blog_net()
    bp.save(net, tmp_path / "m.npz")
    state = load_run(tmp_path / "m.npz")
    W = np.asarray(state["frames"][0]["layers"][0]["W"])
    assert np.allclose(W, net.parameters()[0], rtol=1e-3)  # 4 significant digits on the page
    assert "grad_norm" not in state["frames"][0]["layers"][0]  # a saved model has no gradients
    write_replay(state, tmp_path / "d.json")
    again = load_run(tmp_path / "d.json")
    assert again["frames"][0]["layers"][0]["W"] == state["frames"][0]["layers"][0]["W"]


def test_run_record_replay():
    record = RunRecord(steps=np.arange(1, 6), loss=np.linspace(1, 0.5, 5),
                       grad_norms={"W1": np.full(5, 1e-6), "W2": np.ones(5)}, loss_name="mse")
    state = record_state(record)
    assert [f["step"] for f in state["frames"]] == [1, 2, 3, 4, 5]
    assert "vanishing_gradient" in [f["code"] for f in state["findings"]]


def test_bad_runs_are_refused_with_the_argument_named(tmp_path):
    with pytest.raises(ValueError, match="RUN"):
        load_run(tmp_path / "missing.json")
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_run(bad)
    other = tmp_path / "x.txt"
    other.write_text("hello")
    with pytest.raises(ValueError, match="expected a History"):
        load_run(other)


def test_diverged_history_shows_lr_too_large():
    state = history_state(bp.History(stop_reason="diverged", n_steps=7, loss=[1.0]))
    assert state["findings"][0]["code"] == "lr_too_large"


# ---------------------------------------------------------------------- playground
def test_config_is_validated_like_any_input():
    base = Config()
    with pytest.raises(ValueError, match=r"lr must be a number from 1e-06 to 100; got 'fast'"):
        Config.parse({"lr": "fast"}, base)
    with pytest.raises(ValueError, match="layers must be"):
        Config.parse({"layers": "4,-1"}, base)
    with pytest.raises(ValueError, match="unknown parameter 'colour'"):
        Config.parse({"colour": "red"}, base)
    with pytest.raises(ValueError, match="activation must be one of"):
        Config.parse({"activation": "<script>"}, base)
    with pytest.raises(ValueError, match="needs class labels"):
        X, y, classes = make_dataset("noise")
        build_network(Config.parse({"dataset": "noise", "loss": "bce"}, base), 7, 2, classes, 0)
    assert Config.parse({"lr": "0.5", "batch_size": "8", "layers": " 3, 4 "}, base).widths() == [3, 4]


@pytest.mark.parametrize("layer_class", [QuestionOutputDense, BatchMeanDense])
def test_the_sources_flawed_layers_fail_a_finite_difference_check(layer_class):
    X, y, _ = make_dataset("moons")
    config = Config.parse({"custom": "question_output" if layer_class is QuestionOutputDense else "batch_mean",
                           "loss": "mse", "activation": "sigmoid", "layers": "3"}, Config())
    net = build_network(config, 2, 1, True, 0)
    assert any(type(layer) is layer_class for layer in net.layers)
    result = bp.gradcheck(net, X[:16], y[:16, None])
    assert not result.passed
    errors = {p.name: p.max_rel_error for p in result.params}
    if layer_class is QuestionOutputDense:  # its own gradient is exact; the one it sends back is not
        assert errors[list(errors)[-2]] < 1e-6 and errors[list(errors)[0]] > 0.5
    fixed = build_network(Config.parse({"custom": ""}, config), 2, 1, True, 0)
    assert bp.gradcheck(fixed, X[:16], y[:16, None]).passed


def test_every_preset_builds_and_names_a_known_code():
    known = {"vanishing_gradient", "lr_too_large", "no_better_than_baseline", "dead_units", "unscaled_inputs",
             "gradient_mismatch"}
    playground = Playground()
    for preset in PRESETS:
        playground.handle("preset", {"name": preset.name})
        playground.running = False
        assert preset.expect in known
        assert playground.board.recorder.frames and playground.board.recorder.meta["preset"] == preset.name
    with pytest.raises(ValueError, match="preset must be one of"):
        playground.handle("preset", {"name": "nope"})
    with pytest.raises(ValueError, match="unknown action"):
        playground.handle("explode", {})


def test_unscaled_and_custom_presets_find_their_cause_before_training():
    playground = Playground()
    for name, code in (("unscaled_inputs", "unscaled_inputs"), ("wrong_hidden_gradient", "gradient_mismatch"),
                       ("batch_mean_update", "gradient_mismatch")):
        playground.handle("preset", {"name": name})
        playground.running = False
        assert code in [f["code"] for f in playground.board.recorder.findings], name
        playground.handle("fix", {"name": name})
        playground.running = False
        assert code not in [f["code"] for f in playground.board.recorder.findings], name


# ---------------------------------------------------------------------- server and CLI
def _get(url, data=None):
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_server_refuses_requests_without_the_token():
    from backproplab.dashboard.server import DashboardServer

    playground = Playground()
    server = DashboardServer(playground.board.recorder, controller=playground)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert server.url.startswith("http://127.0.0.1:")
        assert _get(base + "/")[0] == 403
        assert _get(base + "/api/state")[0] == 403
        assert _get(base + "/api/state?token=wrong")[0] == 403
        body = json.dumps({"action": "start"}).encode()
        assert _get(base + "/api/control", body)[0] == 403
        assert playground.running is False
        status, text = _get(f"{base}/api/control?token={server.token}", json.dumps({"action": "config", "params": {"lr": "-1"}}).encode())
        assert status == 400 and "lr must be a number" in json.loads(text)["error"]
        assert _get(f"{base}/api/control?token={server.token}", body)[0] == 200 and playground.running is True
        status, page = _get(server.url)
        assert status == 200 and b'data-testid="scrubber"' in page
        assert _get(base + "/static/vendor/LICENSE")[0] == 200
    finally:
        playground.running = False
        server.stop()


def test_cli_exports_a_replay_and_refuses_bad_input(tmp_path, capsys):
    history = blog_net().fit(*bp.datasets.two_spheres(seed=0), max_epochs=3, monitor=bp.GradientFlow(every=2), seed=0)
    history.to_json(tmp_path / "h.json")
    assert main(["dashboard", str(tmp_path / "h.json"), "--export", str(tmp_path / "run.html"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["export"] == str(tmp_path / "run.html")
    assert (tmp_path / "run.html").stat().st_size > 50_000
    assert main(["dashboard", str(tmp_path / "nope.json")]) == 2
    assert "error: RUN" in capsys.readouterr().err
    assert main(["dashboard", str(tmp_path / "h.json"), "--export", str(tmp_path / "no" / "x.html")]) == 2
    assert main(["playground", "--port", "99999"]) == 2
    assert "--port" in capsys.readouterr().err


def test_dashboard_arguments_are_checked():
    with pytest.raises(ValueError, match="port"):
        Dashboard(port=70000, serve=False)
    with pytest.raises((TypeError, ValueError), match="every"):
        Dashboard(every=0, serve=False)
