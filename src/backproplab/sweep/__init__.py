"""Sweeps: a grid or random search over Network.mlp / fit arguments, crossed with seeds.

``bp.sweep(config, out="results.csv", backend="loky")`` runs every (configuration, seed) pair once,
on joblib's loky processes or a dask.distributed cluster, and records one row per run as it
finishes: the final metrics, steps, wall time, stop reason and diagnosis codes. Rerunning the same
configuration with the same output skips the runs already recorded. See :mod:`.config` for the
configuration format, :mod:`.backends` for where runs execute and :mod:`.table` for the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .backends import (
    BACKENDS,
    backend_context,
    check_backend,
    dask_client,
    iter_unordered,
    parallel_map,
    retryable_errors,
)
from .config import SweepConfig, load_config
from .runner import TIMING_COLUMNS, load_file, run_one
from .summary import SweepResult
from .table import ResultTable, read_table

__all__ = ["sweep", "parallel_map", "backend_context", "dask_client", "load_config", "read_table",
           "SweepConfig", "SweepResult", "SweepInterrupted", "BACKENDS", "TIMING_COLUMNS"]

logger = logging.getLogger(__name__)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: every finished run is in the table; ``done`` and ``total`` say how many."""

    def __init__(self, done: int, total: int, path: str | None) -> None:
        super().__init__(f"interrupted: {done} of {total} runs recorded" + (f" in {path}" if path else ""))
        self.done, self.total, self.path = done, total, path


@dataclass
class _Progress:
    total: int
    skipped: int
    executed: int = 0
    retries: list[str] = field(default_factory=list)


def sweep(
    config: str | os.PathLike[str] | Mapping[str, Any] | SweepConfig,
    *,
    out: str | os.PathLike[str] | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    n_jobs: int | None = None,
    overwrite: bool = False,
    retries: int = 2,
    chunk_rows: int = 50,
    flush_seconds: float = 2.0,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run every (configuration, seed) of ``config`` that ``out`` does not hold yet.

    Parameters
    ----------
    config : path to a TOML file, dict or SweepConfig
    out : path, optional
        The CSV table (rows in memory only when omitted); a Parquet copy is written beside it when
        pyarrow is installed. An existing table of the same configuration is resumed.
    backend : {"loky", "dask", "serial"}
        "ray" is refused with the reason (see the README).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running dask scheduler; without it the dask backend starts a
        LocalCluster of ``n_jobs`` workers and closes it at the end.
    n_jobs : int, optional
        loky workers (default: every core) or LocalCluster workers.
    overwrite : bool
        Replace a table written under another configuration instead of refusing it.
    retries : int
        Times to resubmit the missing runs after a worker was lost (loky's pool broke, or dask
        gave up on a task after its own ``allowed-failures`` resubmissions).
    chunk_rows, flush_seconds : the table is rewritten atomically every that many rows or seconds.
    on_row : callable, optional
        Called in this process with each new row, as it is recorded.

    Raises
    ------
    SweepInterrupted
        On Ctrl-C, after every finished row was written.
    """
    check_backend(backend, scheduler)
    cfg = load_config(config)
    tasks = cfg.tasks()
    table = ResultTable(out, cfg.fingerprint(), overwrite=overwrite, chunk_rows=chunk_rows, flush_seconds=flush_seconds)
    progress = _Progress(total=len(tasks), skipped=sum(task["key"] in table for task in tasks))
    shared = load_file(cfg.data["file"], cfg.data.get("target")) if "file" in cfg.data else None
    try:
        _execute(tasks, table, progress, shared, backend, scheduler, n_jobs, retries, on_row)
    except KeyboardInterrupt:
        table.flush()
        raise SweepInterrupted(sum(task["key"] in table for task in tasks), len(tasks), table.path) from None
    finally:
        table.flush()
    parquet = table.write_parquet()
    return SweepResult(cfg, table.rows(), path=table.path, parquet=parquet, executed=progress.executed,
                       skipped=progress.skipped, retries=progress.retries, backend=backend)


def _execute(tasks: list[dict[str, Any]], table: ResultTable, progress: _Progress, shared: Any, backend: str,
             scheduler: str | None, n_jobs: int | None, retries: int, on_row: Callable[[dict[str, Any]], None] | None) -> None:
    """Submit the missing runs; after a lost worker, resubmit whatever is still missing."""
    for attempt in range(retries + 1):
        pending = [task for task in tasks if task["key"] not in table]
        if not pending:
            return
        try:
            keys = [f"backproplab-run-{task['key']}" for task in pending]
            with contextlib.closing(iter_unordered(run_one, pending, backend, scheduler, n_jobs, shared=shared, keys=keys)) as rows:
                for row in rows:
                    if table.add(row):
                        progress.executed += 1
                        if on_row is not None:
                            on_row(row)
            return
        except Exception as error:
            if attempt == retries or not isinstance(error, retryable_errors()):
                raise
            table.flush()
            progress.retries.append(f"{type(error).__name__}: {error}")
            logger.warning("a worker was lost (%s); resubmitting the missing runs", type(error).__name__)


class _CallableModule(types.ModuleType):
    """``bp.sweep(...)`` runs a sweep and ``bp.sweep.parallel_map`` stays reachable: the function and
    the package share one name (DESIGN.md), so the package itself is callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
