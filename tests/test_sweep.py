"""Sweeps: configuration, keys and fingerprints, the table, resume, summary, plots and the CLI."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

import backproplab as bp
from backproplab.cli import main
from backproplab.sweep import SweepInterrupted, load_config, parallel_map, read_table
from backproplab.sweep.runner import TIMING_COLUMNS

TINY = {
    "data": {"name": "two_spheres", "n_per_class": 20, "seed": "run"},
    "network": {"layers": [3], "output": "sigmoid", "loss": "mse", "init": "normal"},
    "fit": {"optimizer": "sgd", "batch_size": 16, "sampling": "random", "max_steps": 300},
    "stop": {"loss_below": 0.05, "window": 50},
    "grid": {"hidden": ["sigmoid", "relu"], "lr": [0.1, 1.0]},
    "seeds": 3,
}


def tiny(**changes):
    config = json.loads(json.dumps(TINY))
    for section, value in changes.items():
        config[section] = value
    return config


def comparable(path):
    """A table's rows without the columns that differ between two executions (timings, worker)."""
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(handle)]


def write_toml(path, text):
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------- configuration and keys
def test_grid_is_crossed_with_seeds_and_each_parameter_reaches_its_argument():
    config = load_config(tiny(grid={"hidden": ["sigmoid", "relu"], "lr": [0.1, 0.5, 1.0], "window": [50, 100]}))
    tasks = config.tasks()
    assert len(tasks) == 2 * 3 * 2 * 3
    assert len({task["key"] for task in tasks}) == len(tasks)
    first = tasks[0]
    assert first["network"]["hidden"] == "sigmoid" and first["fit"]["lr"] == 0.1 and first["stop"]["window"] == 50
    assert [task["seed"] for task in tasks[:3]] == [0, 1, 2]
    assert [t["key"] for t in load_config(tiny(grid=config.grid)).tasks()] == [t["key"] for t in tasks]


def test_fingerprint_follows_data_and_grid_but_not_the_seeds():
    base = load_config(tiny())
    assert load_config(tiny(data={**TINY["data"], "n_per_class": 21})).fingerprint() != base.fingerprint()
    assert load_config(tiny(grid={"hidden": ["sigmoid", "relu"], "lr": [0.1, 0.9]})).fingerprint() != base.fingerprint()
    assert load_config(tiny(fit={**TINY["fit"], "max_steps": 301})).fingerprint() != base.fingerprint()
    more_seeds = load_config(tiny(seeds=5))
    assert more_seeds.fingerprint() == base.fingerprint()
    old = {t["key"] for t in base.tasks()}
    assert old < {t["key"] for t in more_seeds.tasks()}


def test_file_data_fingerprint_follows_the_file_contents(tmp_path):
    X, y = bp.datasets.two_spheres(n_per_class=10, seed=0)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.hstack([X, y]), delimiter=",", header="a,b,c,label", comments="")
    toml = "\n".join(["seeds = 2", "[data]", 'file = "data.csv"', 'target = "label"', "[network]", "layers = [3]",
                      'output = "sigmoid"', 'loss = "mse"', "[fit]", "max_steps = 20", "[grid]", 'hidden = ["relu", "tanh"]'])
    first = load_config(write_toml(tmp_path / "a.toml", toml))
    assert first.data["file"] == str(path)
    np.savetxt(path, np.hstack([X + 1, y]), delimiter=",", header="a,b,c,label", comments="")
    second = load_config(write_toml(tmp_path / "a.toml", toml))
    assert second.fingerprint() != first.fingerprint()
    result = bp.sweep(second, backend="serial")
    assert len(result.rows) == 4 and all(row["steps"] == 20 for row in result.rows)


def test_random_search_is_deterministic_and_within_its_bounds():
    spec = {"n": 12, "seed": 3, "lr": {"log_uniform": [0.01, 1.0]}, "hidden": {"choice": ["relu", "tanh"]},
            "batch_size": {"int": [4, 8]}}
    points = load_config(tiny(grid={}, random=spec)).points()
    assert points == load_config(tiny(grid={}, random=spec)).points()
    assert len(points) == 12
    assert all(0.01 <= p["lr"] <= 1.0 and p["hidden"] in ("relu", "tanh") and 4 <= p["batch_size"] <= 8 for p in points)
    assert len({p["lr"] for p in points}) == 12
    other = load_config(tiny(grid={}, random={**spec, "seed": 4})).points()
    assert other != points


@pytest.mark.parametrize("change, message", [
    ({"bogus": {}}, "unknown section"),
    ({"grid": {"nonsense": [1]}}, "'nonsense' is not a Network.mlp, fit or Stop argument"),
    ({"grid": {"seed": [1, 2]}}, "list the seeds in [seeds]"),
    ({"grid": {"lr": 0.1}}, "[grid] lr must be a non-empty list"),
    ({"random": {"n": 3, "lr": {"gauss": [0, 1]}}}, "[random] lr must be one of"),
    ({"data": {"name": "two_spheres", "file": "x.csv"}}, "exactly one of"),
    ({"data": {"name": "mnist"}}, "is not one of"),
    ({"fit": {"callbacks": []}}, "[fit] does not take ['callbacks']"),
    ({"stop": {"window": 0}}, "Stop.window"),
    ({"seeds": [1, 1]}, "distinct integers"),
    ({"run": {"diagnose": "sometimes"}}, "diagnose must be one of"),
    ({"run": {"heatmap": ["lr", "momentum"]}}, "heatmap must name two varied parameters"),
])
def test_bad_configurations_name_the_problem(change, message):
    with pytest.raises(ValueError) as error:
        load_config(tiny(**change))
    assert message in str(error.value)


def test_toml_pitfall_of_seeds_inside_a_table_is_explained(tmp_path):
    path = write_toml(tmp_path / "c.toml", '[data]\nname = "xor"\n[grid]\nhidden = ["relu"]\nseeds = 3\n')
    with pytest.raises(ValueError, match="before the first"):
        load_config(path)


# ---------------------------------------------------------------------- running, the table and resume
def test_serial_sweep_records_one_row_per_run_and_a_rerun_skips_them(tmp_path):
    out = tmp_path / "t.csv"
    result = bp.sweep(tiny(), out=out, backend="serial")
    assert (result.executed, result.skipped) == (12, 0)
    rows = read_table(out)
    assert len(rows) == 12 and len({row["key"] for row in rows}) == 12
    assert Counter((row["hidden"], row["lr"]) for row in rows) == {(h, lr): 3 for h in ("sigmoid", "relu") for lr in (0.1, 1.0)}
    for row in rows:
        assert row["reached"] == (row["stop_reason"] == "loss_below")
        assert row["steps"] <= 300 and isinstance(row["loss"], float) and isinstance(row["diagnosis"], (str, type(None)))
    assert any(row["reached"] for row in rows) and not all(row["reached"] for row in rows)
    again = bp.sweep(tiny(), out=out, backend="serial")
    assert (again.executed, again.skipped) == (0, 12)
    assert [row["key"] for row in again.rows] == [row["key"] for row in result.rows]


def test_the_same_run_gives_bit_identical_metrics_and_depends_on_its_seed():
    config = tiny(grid={"hidden": ["tanh"]})
    first = bp.sweep(config, backend="serial").rows
    second = bp.sweep(config, backend="serial").rows
    for a, b in zip(first, second):
        assert a["loss"] == b["loss"] and a["steps"] == b["steps"] and a["train_loss"] == b["train_loss"]
    assert len({row["loss"] for row in first}) == 3


def test_resume_after_an_interrupt_runs_only_the_missing_runs(tmp_path, monkeypatch):
    import backproplab.sweep as sweep_module

    real = sweep_module.run_one
    calls = []

    def interrupt_after(k):
        def run(task, data=None):
            if len(calls) == k:
                raise KeyboardInterrupt
            calls.append(task["key"])
            return real(task, data)
        return run

    out = tmp_path / "t.csv"
    monkeypatch.setattr(sweep_module, "run_one", interrupt_after(5))
    with pytest.raises(SweepInterrupted) as stop:
        bp.sweep(tiny(), out=out, backend="serial")
    assert (stop.value.done, stop.value.total) == (5, 12)
    assert sorted(row["key"] for row in read_table(out)) == sorted(calls)
    first_calls = list(calls)
    calls.clear()
    monkeypatch.setattr(sweep_module, "run_one", interrupt_after(10_000))
    result = bp.sweep(tiny(), out=out, backend="serial")
    assert len(calls) == 7 and not set(calls) & set(first_calls)
    assert (result.executed, result.skipped) == (7, 5)
    reference = tmp_path / "ref.csv"
    monkeypatch.setattr(sweep_module, "run_one", real)
    bp.sweep(tiny(), out=reference, backend="serial")
    assert comparable(out) == comparable(reference)


def test_a_table_of_another_configuration_is_refused_unless_overwritten(tmp_path):
    out = tmp_path / "t.csv"
    bp.sweep(tiny(grid={"hidden": ["relu"]}), out=out, backend="serial")
    other = tiny(grid={"hidden": ["tanh"]})
    with pytest.raises(ValueError, match="another configuration"):
        bp.sweep(other, out=out, backend="serial")
    result = bp.sweep(other, out=out, backend="serial", overwrite=True)
    assert {row["hidden"] for row in read_table(out)} == {"tanh"} and result.executed == 3


def test_a_failed_write_leaves_the_previous_complete_table(tmp_path, monkeypatch):
    import backproplab.sweep.table as table_module

    out = tmp_path / "t.csv"
    bp.sweep(tiny(seeds=1), out=out, backend="serial")
    before = out.read_text()
    real = table_module.atomic_write

    def half_then_crash(path, text):
        def write(handle):
            handle.write(text[: len(text) // 2].encode())
            raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(table_module, "atomic_write", half_then_crash)
    with pytest.raises(OSError, match="No space left"):
        bp.sweep(tiny(seeds=2), out=out, backend="serial", chunk_rows=1)
    assert out.read_text() == before
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_rows_are_flushed_in_chunks_as_runs_finish(tmp_path):
    out = tmp_path / "t.csv"
    seen = []
    bp.sweep(tiny(), out=out, backend="serial", chunk_rows=4, on_row=lambda row: seen.append(len(read_table(out)) if out.exists() else 0))
    assert seen[:4] == [0, 0, 0, 4] and seen[7] == 8 and len(read_table(out)) == 12


def test_parquet_copy_holds_the_same_rows(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "t.csv"
    result = bp.sweep(tiny(), out=out, backend="serial")
    table = pq.read_table(result.parquet).to_pydict()
    rows = read_table(out)
    assert table["key"] == [row["key"] for row in rows]
    assert table["loss"] == [row["loss"] for row in rows] and table["reached"] == [row["reached"] for row in rows]


def test_parallel_map_keeps_the_input_order():
    items = [9.0, 0.25, 4.0, 1.0, 16.0, 2.25]
    assert parallel_map(math.sqrt, items, backend="loky", n_jobs=2) == [math.sqrt(x) for x in items]
    assert parallel_map(math.sqrt, items, backend="serial") == [math.sqrt(x) for x in items]
    with pytest.raises(ValueError, match="only used by the dask backend"):
        parallel_map(math.sqrt, items, backend="loky", scheduler="tcp://127.0.0.1:1")


def test_loky_sweep_equals_the_serial_sweep(tmp_path):
    bp.sweep(tiny(), out=tmp_path / "serial.csv", backend="serial")
    result = bp.sweep(tiny(), out=tmp_path / "loky.csv", backend="loky", n_jobs=2)
    assert comparable(tmp_path / "serial.csv") == comparable(tmp_path / "loky.csv")
    assert len({row["worker"] for row in result.rows}) == 2


# ---------------------------------------------------------------------- summary and plots
def test_summary_heatmap_and_stall_counts_agree_with_the_rows():
    result = bp.sweep(tiny(seeds=4), backend="serial")
    summary = result.summary()
    assert len(summary) == 4
    for entry in summary:
        rows = [r for r in result.rows if r["hidden"] == entry["hidden"] and r["lr"] == entry["lr"]]
        reached = [r["steps"] for r in rows if r["reached"]]
        assert entry["runs"] == 4 and entry["reached"] == len(reached) / 4
        if reached:
            assert entry["steps_median"] == np.median(reached)
        assert entry["loss_median"] == np.median([r["loss"] for r in rows])
    xs, ys, grid = result.heatmap("lr", "hidden")
    assert xs == ["0.1", "1.0"] and sorted(ys) == ["relu", "sigmoid"]
    for i, hidden in enumerate(ys):
        for j, lr in enumerate((0.1, 1.0)):
            assert grid[i, j] == np.median([r["loss"] for r in result.rows if r["hidden"] == hidden and r["lr"] == lr])
    expected = Counter(code for r in result.rows if not r["reached"] for code in (r["diagnosis"] or "(none)").split(";"))
    assert result.stall_codes() == dict(expected)
    assert "runs; reached" in result.format_summary()


def test_plots_are_written_from_the_figure_api(tmp_path):
    result = bp.sweep(tiny(), backend="serial")
    figure = result.heatmap_figure("lr", "hidden")
    image = figure.axes[0].images[0].get_array()
    assert np.allclose(image, result.heatmap("lr", "hidden")[2], equal_nan=True)
    bars = result.stalls_figure().axes[0].patches
    assert sorted(int(bar.get_width()) for bar in bars) == sorted(result.stall_codes().values())
    paths = result.save_plots(tmp_path / "plots")
    assert sorted(os.path.basename(p) for p in paths) == ["heatmap.png", "stalls.png", "steps.png"]
    for path in paths:
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------- command line
RACE_TOML = """\
seeds = 4
[data]
name = "two_spheres"
n_per_class = 20
seed = "run"
[network]
layers = [3]
output = "sigmoid"
loss = "mse"
[fit]
optimizer = "sgd"
lr = 0.5
batch_size = 16
sampling = "random"
max_steps = 200
[grid]
hidden = ["sigmoid", "relu"]
"""


def test_cli_sweep_writes_the_table_and_resumes(tmp_path, capsys):
    config = write_toml(tmp_path / "race.toml", RACE_TOML)
    assert main(["sweep", config, "--backend", "serial", "--plots", str(tmp_path / "plots")]) == 0
    printed = capsys.readouterr().out
    assert "8 runs in" in printed and "(8 run now, 0 already there)" in printed
    assert len(read_table(tmp_path / "race.csv")) == 8 and (tmp_path / "plots" / "steps.png").exists()
    assert main(["sweep", config, "--backend", "serial", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["runs"], data["executed"], data["skipped"]) == (8, 0, 8)


@pytest.mark.parametrize("extra, message", [
    (["--backend", "ray"], "ray backend is not provided"),
    (["--backend", "loky", "--scheduler", "tcp://127.0.0.1:1"], "only used by the dask backend"),
    (["--n-jobs", "0"], "--n-jobs must be at least 1"),
    (["--out", "/nonexistent-folder/t.csv"], "does not exist"),
])
def test_cli_sweep_bad_options_exit_2_with_one_line(tmp_path, capsys, extra, message):
    config = write_toml(tmp_path / "race.toml", RACE_TOML)
    assert main(["sweep", config, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_sweep_bad_config_exits_2(tmp_path, capsys):
    config = write_toml(tmp_path / "bad.toml", RACE_TOML.replace('hidden = ["sigmoid", "relu"]', 'hiden = ["relu"]'))
    assert main(["sweep", config, "--backend", "serial"]) == 2
    assert "'hiden' is not a Network.mlp" in capsys.readouterr().err
    broken = write_toml(tmp_path / "broken.toml", "[data\n")
    assert main(["sweep", broken]) == 2
    assert "is not valid TOML" in capsys.readouterr().err


def test_ctrl_c_keeps_finished_rows_exits_130_and_the_rerun_completes(tmp_path):
    # the table is first written 2 s after the sweep starts (it flushes in chunks), so the 24 runs must
    # take well beyond that: ~1 s each; with 0.1-0.3 s runs, all 24 were often done by the first write
    slow = RACE_TOML.replace("max_steps = 200", "max_steps = 30000").replace("seeds = 4", "seeds = 12")
    config = write_toml(tmp_path / "race.toml", slow)
    out = tmp_path / "race.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(os.path.dirname(__file__), "..", "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "backproplab", "sweep", config, "--n-jobs", "2"]
    # a terminal's Ctrl-C, also when this test runs as a background job (where SIGINT starts ignored)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not out.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    kept = read_table(out)
    assert 0 < len(kept) < 24 and f"interrupted: {len(kept)} of 24 runs recorded" in err
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert f"({24 - len(kept)} run now, {len(kept)} already there)" in finished.stdout
    rows = read_table(out)
    assert len(rows) == 24 and len({row["key"] for row in rows}) == 24
    assert out.read_text().count("\n") == 25
