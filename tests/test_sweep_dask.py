"""Sweeps on a real dask.distributed LocalCluster of 2 worker processes: the same table as loky,
a worker killed mid-sweep, scikit-learn's GridSearchCV through the same backend context."""

import os
import signal
import time
from collections import Counter

import numpy as np
import pytest

import backproplab as bp
from backproplab.sweep import backend_context, parallel_map, read_table
from backproplab.sweep.runner import TIMING_COLUMNS

distributed = pytest.importorskip("distributed")

CONFIG = {
    "data": {"name": "two_spheres", "n_per_class": 20, "seed": "run"},
    "network": {"layers": [3], "output": "sigmoid", "loss": "mse", "init": "normal"},
    "fit": {"optimizer": "sgd", "lr": 0.5, "batch_size": 16, "sampling": "random", "max_steps": 1500},
    "stop": {"loss_below": 0.02, "window": 50},
    "grid": {"hidden": ["sigmoid", "relu"]},
    "seeds": 10,
}


def comparable(path):
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in read_table(path)]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


@pytest.fixture(scope="module")
def loky_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("loky") / "loky.csv"
    bp.sweep(CONFIG, out=path, backend="loky", n_jobs=2)
    return path


def test_a_20_run_sweep_on_dask_equals_the_loky_table(cluster, loky_table, tmp_path):
    result = bp.sweep(CONFIG, out=tmp_path / "dask.csv", backend="dask", scheduler=cluster.scheduler_address)
    assert result.executed == 20 and len(result.rows) == 20
    assert comparable(tmp_path / "dask.csv") == comparable(loky_table)
    workers = {row["worker"] for row in result.rows}
    assert len(workers) == 2 and not any(w.endswith(f":{os.getpid()}") for w in workers)


def test_killing_a_worker_mid_sweep_retries_its_runs_and_keeps_every_run_once(cluster, loky_table, tmp_path):
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(row):
        if killed:
            return
        busy = [address for address, worker in cluster.scheduler.workers.items() if worker.processing]
        killed.append(pids[busy[0]])
        os.kill(killed[0], signal.SIGKILL)

    began = time.time()
    result = bp.sweep(CONFIG, out=tmp_path / "fault.csv", backend="dask", scheduler=cluster.scheduler_address,
                      on_row=kill_a_busy_worker)
    rows = read_table(tmp_path / "fault.csv")
    assert len(rows) == 20 and Counter(row["key"] for row in rows).most_common(1)[0][1] == 1
    assert result.executed == 20
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    # the scheduler sent at least one run to a worker twice: the one that died while running it
    names = {f"backproplab-run-{row['key']}" for row in rows}
    started = Counter(t.key for t in list(cluster.scheduler.transition_log)
                      if t.finish == "processing" and t.key in names and t.timestamp >= began)
    assert len(started) == 20 and max(started.values()) >= 2
    assert comparable(tmp_path / "fault.csv") == comparable(loky_table)


def test_parallel_map_on_its_own_local_cluster_keeps_order_and_closes_it():
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    assert parallel_map(np.sqrt, [9.0, 4.0, 1.0, 16.0], backend="dask", n_jobs=2) == [3.0, 2.0, 1.0, 4.0]
    after = {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}
    assert after <= before


@pytest.mark.filterwarnings("ignore::backproplab.ConvergenceWarning")
def test_gridsearchcv_runs_on_dask_through_the_same_context_and_matches_a_serial_search(cluster):
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV

    from backproplab.estimators import BackpropClassifier

    X, y = bp.datasets.two_spheres(n_per_class=30, seed=1)
    y = y.ravel().astype(int)
    grid = {"learning_rate_init": [0.01, 0.1], "hidden_layer_sizes": [(3,), (6,)]}

    def search():
        estimator = BackpropClassifier(max_iter=30, random_state=0)
        return GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X, y)

    began = time.time()
    with backend_context("dask", scheduler=cluster.scheduler_address):
        on_dask = search()
    # counted on the scheduler itself (its transition log), not from a task stream that may not be flushed yet
    done = {t.key for t in list(cluster.scheduler.transition_log)
            if t.finish == "memory" and t.timestamp >= began}
    assert len(done) >= 12  # 4 candidates x 3 folds (and the final refit) ran as dask tasks
    with backend_context("serial"):
        in_process = search()
    assert np.array_equal(on_dask.cv_results_["mean_test_score"], in_process.cv_results_["mean_test_score"])
    assert on_dask.best_params_ == in_process.best_params_
