import json

import numpy as np
import pytest

import backproplab as bp
from backproplab.cli import main


@pytest.fixture
def spheres_csv(tmp_path):
    X, y = bp.datasets.two_spheres(seed=0)
    path = tmp_path / "spheres.csv"
    rows = ["x1,x2,x3,label"] + [f"{a},{b},{c},{int(t)}" for (a, b, c), t in zip(X, y[:, 0])]
    path.write_text("\n".join(rows) + "\n")
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    for command in ("demo", "experiment", "train", "predict", "evaluate", "gradcheck", "doctor", "report", "bench"):
        assert command in out


@pytest.mark.parametrize("command", ["demo", "experiment", "train", "predict", "evaluate", "gradcheck", "doctor", "report", "bench"])
def test_every_command_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_experiment_list_and_run_json(capsys, tmp_path):
    code, out, _ = run(capsys, "experiment", "list", "--json")
    from backproplab.experiments import REGISTRY

    assert code == 0 and len(json.loads(out)) == len(REGISTRY)
    report = tmp_path / "xor.html"
    code, out, _ = run(capsys, "experiment", "run", "xor", "--quick", "--json", "--seed", "3", "--report", report)
    data = json.loads(out)
    assert code == 0 and data["name"] == "xor" and data["conclusion"] and data["table"]
    assert report.exists() and "<img" in report.read_text()


def test_train_save_predict_evaluate(capsys, spheres_csv, tmp_path):
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", spheres_csv, "--target", "label", "--layers", "8", "--epochs", "30",
                         "--lr", "0.02", "--save", model, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["history"]["stop_reason"] == "max_epochs" and data["train_metrics"]["accuracy"] == 1.0
    assert data["history"]["config"]["network"]["loss"] == "bce"  # inferred from 0/1 labels
    code, out, _ = run(capsys, "evaluate", model, spheres_csv, "--target", "label", "--json")
    assert code == 0 and json.loads(out)["accuracy"] == 1.0
    preds = tmp_path / "preds.csv"
    code, out, _ = run(capsys, "predict", model, spheres_csv, "--target", "label", "--out", preds)
    assert code == 0
    header = preds.read_text().splitlines()[0]
    assert header == "label,proba_0,proba_1"  # the label by the target's name, probabilities by class
    values = np.loadtxt(preds, delimiter=",", skiprows=1)
    assert values.shape == (200, 3) and ((values[:, 2] > 0.5) == (np.arange(200) < 100)).all()
    np.testing.assert_array_equal(values[:, 0], (np.arange(200) < 100).astype(float))


def test_train_with_report(capsys, spheres_csv, tmp_path):
    report = tmp_path / "train.html"
    code, out, err = run(capsys, "train", spheres_csv, "--target", "label", "--epochs", "5", "--report", report)
    assert code == 0, err
    assert "wrote report" in out and report.read_text().count("<img") >= 3


def test_gradcheck_command(capsys, spheres_csv, tmp_path):
    code, out, _ = run(capsys, "gradcheck", spheres_csv, "--target", "label", "--layers", "4,3", "--hidden", "tanh")
    assert code == 0 and "PASSED" in out
    model = tmp_path / "m.npz"
    bp.save(bp.Network.mlp([3, 4, 1], output="sigmoid", loss="bce", seed=0), model)
    code, out, _ = run(capsys, "gradcheck", model, spheres_csv, "--target", "label", "--json")
    assert code == 0 and json.loads(out)["passed"] is True


def test_doctor_on_noise(capsys, tmp_path):
    X, Y = bp.datasets.noise(n=60, seed=0)
    path = tmp_path / "noise.csv"
    lines = ["a,b,c,d,e,f,g,t"] + [",".join(str(v) for v in row) + f",{t}" for row, t in zip(X, Y[:, 0])]
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "doctor", path, "--target", "t", "--json")
    assert code == 0
    found = {f["code"] for f in json.loads(out)["diagnosis"]["findings"]}
    assert "no_signal" in found


def test_report_from_history_json(capsys, tmp_path):
    X, y = bp.datasets.two_spheres(seed=0)
    history = bp.Network.mlp([3, 4, 1], loss="bce", seed=0).fit(X, y, max_epochs=3)
    history.to_json(tmp_path / "h.json")
    code, out, _ = run(capsys, "report", tmp_path / "h.json", "-o", tmp_path / "h.html")
    assert code == 0 and (tmp_path / "h.html").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "missing.csv", "--target", "y"], "error: data file 'missing.csv' does not exist"),
        (["experiment", "run", "nope"], "error: unknown experiment 'nope'; expected one of: tolerance-sweep"),
        (["train", "{csv}", "--target", "nope"], "has no column 'nope'"),
        (["train", "{csv}", "--target", "label", "--hidden", "swish"], "unknown hidden activation 'swish'"),
        (["train", "{csv}", "--target", "label", "--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
        (["train", "{csv}", "--target", "label", "--lr", "-1"], "lr must be >= 0.0, got -1.0"),
        (["train", "{csv}", "--target", "label", "--batch-size", "-3"], "batch_size must be >= 1, got -3"),
        (["evaluate", "{csv}", "{csv}", "--target", "label"], "not a backproplab model"),
        (["train", "{csv}", "--layers", "0,3", "--target", "label"], "layer sizes must be positive"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, spheres_csv, args, message):
    args = [a.replace("{csv}", str(spheres_csv)) for a in args]
    code, out, err = run(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(spheres_csv):
    with pytest.raises(ValueError, match="unknown optimizer"):
        main(["train", str(spheres_csv), "--target", "label", "--optimizer", "lbfgs", "--debug"])


def test_resume_from_checkpoint(capsys, spheres_csv, tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    code, _, err = run(capsys, "train", spheres_csv, "--target", "label", "--max-steps", "20", "--checkpoint", ckpt,
                       "--checkpoint-every", "5")
    assert code == 0, err
    code, out, err = run(capsys, "train", spheres_csv, "--target", "label", "--max-steps", "40", "--resume", ckpt, "--json")
    assert code == 0, err
    assert json.loads(out)["history"]["n_steps"] == 40


def test_ctrl_c_during_cli_training_stops_cleanly_and_saves(tmp_path, spheres_csv):
    """A real SIGINT to a running `backproplab train`: it stops with "interrupted", keeps and saves the weights."""
    import os
    import signal
    import subprocess
    import sys
    import time

    checkpoint, model = tmp_path / "ckpt.npz", tmp_path / "model.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "backproplab", "train", str(spheres_csv), "--target", "label", "--max-steps", "100000000",
         "--checkpoint", str(checkpoint), "--checkpoint-every", "200", "--save", str(model), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.monotonic() + 120
    while not checkpoint.exists():  # the first checkpoint proves training is under way
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never wrote its first checkpoint"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err  # interrupted runs exit non-zero even though the model was saved
    assert err.strip().splitlines()[-1].startswith("error: interrupted by SIGINT")
    history = json.loads(out)["history"]
    assert history["stop_reason"] == "interrupted" and history["n_steps"] >= 200
    net = bp.load(model)
    assert all(np.isfinite(p).all() for p in net.parameters())


def test_demo_quick_writes_figures_json_and_report(capsys, tmp_path, monkeypatch):
    from backproplab.experiments import REGISTRY, gradient_bug, shared, stall, tolerance_sweep, xor

    # the demo's machinery at a tiny scale; the experiments themselves are tested in test_experiments.py
    monkeypatch.setitem(shared.SCALES, "quick", shared.Scale(seeds=2, cap=3000, exact_max_steps=3000, timing_steps=20,
                                                             n_jobs=1))
    monkeypatch.setattr(tolerance_sweep, "QUICK", {"starts": 4})
    monkeypatch.setattr(stall, "QUICK", {"iterations": 2000, "seeds": 2})
    monkeypatch.setattr(gradient_bug, "QUICK", {"iterations": 500, "path_points": 5})
    monkeypatch.setattr(xor, "QUICK", {"seeds": 2, "steps": 500})
    code, out, err = run(capsys, "demo", "--quick", "--out", tmp_path / "demo")
    assert code == 0, err
    assert out.count("conclusion: ") == len(REGISTRY) and "== summary: source vs backproplab ==" in out
    files = {p.name for p in (tmp_path / "demo").iterdir()}
    assert "report.html" in files and "stall.json" in files and "blog-time.json" in files
    assert sum(f.endswith(".png") for f in files) >= 7
    code, out, _ = run(capsys, "demo", "--quick", "--json")
    data = json.loads(out)
    assert [row["experiment"] for row in data["summary"]][:2] == ["tolerance-sweep", "stall"]
    assert len(data["results"]) == len(REGISTRY) and all(r["conclusion"] for r in data["results"])
