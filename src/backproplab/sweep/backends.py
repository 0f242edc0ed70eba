"""Where runs execute: joblib's backends (loky, dask), never a scheduler or pool of our own.

- ``backend_context`` makes joblib, and so scikit-learn's ``n_jobs``, run on the chosen backend:
  loky with one BLAS thread per worker, or a ``dask.distributed`` cluster (an existing scheduler,
  or a ``LocalCluster`` started and closed here).
- ``parallel_map(fn, items)`` is ``joblib.Parallel`` inside that context: results in input order.
- ``iter_unordered(fn, items)`` yields results as they finish, for sweeps that write rows as they
  come. With loky it is ``joblib.Parallel(return_as="generator_unordered")``. With dask it uses the
  distributed ``Client`` directly (``client.map`` + ``as_completed``): each run is one future with a
  stable key, the scheduler re-runs the tasks of a worker that dies (``allowed-failures``), and the
  parent sees every result the moment it lands; joblib's dask backend would hide the futures and
  lose a whole batch of results to one lost worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["BACKENDS", "backend_context", "dask_client", "parallel_map", "iter_unordered", "retryable_errors"]

logger = logging.getLogger(__name__)

BACKENDS = ("loky", "dask", "ray", "serial")
T = TypeVar("T")
R = TypeVar("R")

RAY_MESSAGE = (
    "the ray backend is not provided: Ray is a large install (its own raylet, object store and GCS processes) "
    "for what joblib's loky and dask backends already do here; see the README section 'Sweeps'"
)


def _joblib() -> Any:
    try:
        import joblib
    except ImportError:
        raise ImportError("sweeps need joblib: pip install joblib") from None
    return joblib


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError("the dask backend needs dask.distributed: pip install 'backproplab[dask]'") from None
    return distributed


def check_backend(backend: str, scheduler: str | None) -> None:
    """Refuse an unknown backend, ray, or a scheduler address given to a backend other than dask."""
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "ray":
        raise ValueError(RAY_MESSAGE)
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler {scheduler!r} is only used by the dask backend, not {backend!r}")


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` (``tcp://HOST:PORT``), or to a
    ``LocalCluster`` of ``n_workers`` (default: the CPU count) single-threaded worker processes,
    started here and closed on exit."""
    distributed = _distributed()
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=":0",
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as error:
            raise OSError(f"cannot reach the dask scheduler at {scheduler!r}: {error}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def backend_context(backend: str = "loky", scheduler: str | None = None, n_jobs: int | None = None) -> Iterator[Any]:
    """Run joblib (and so scikit-learn's ``n_jobs``) on ``backend`` inside this block.

    Yields the dask ``Client`` for the dask backend, None otherwise. Example::

        with backend_context("dask", scheduler="tcp://10.0.0.5:8786"):
            GridSearchCV(BackpropClassifier(), grid, n_jobs=-1).fit(X, y)
    """
    check_backend(backend, scheduler)
    joblib = _joblib()
    if backend == "serial":
        with joblib.parallel_config(backend="sequential"):
            yield None
    elif backend == "loky":
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs or -1, inner_max_num_threads=1):
            yield None
    else:
        with dask_client(scheduler, n_jobs) as client, joblib.parallel_config(backend="dask", n_jobs=-1):
            yield client


def parallel_map(fn: Callable[[T], R], items: Sequence[T], backend: str = "loky", scheduler: str | None = None,
                 n_jobs: int | None = None) -> list[R]:
    """``[fn(item) for item in items]`` on a joblib backend; results in input order.

    Parameters
    ----------
    fn : callable
        A picklable function (module level), called once per item in a worker.
    backend : {"loky", "dask", "serial"}
        "loky": local processes, one BLAS thread each. "dask": a dask.distributed cluster at
        ``scheduler``, or a LocalCluster of ``n_jobs`` processes started and closed here.
        "serial": in this process, one after the other.
    n_jobs : int, optional
        Workers for loky (default: every core) and for a LocalCluster.
    """
    joblib = _joblib()
    with backend_context(backend, scheduler, n_jobs):
        return list(joblib.Parallel()(joblib.delayed(fn)(item) for item in items))


def iter_unordered(fn: Callable[..., R], items: Sequence[Any], backend: str = "loky", scheduler: str | None = None,
                   n_jobs: int | None = None, *, shared: Any = None, keys: Sequence[str] | None = None) -> Generator[R, None, None]:
    """Yield ``fn(item, shared)`` for every item as each finishes (in completion order).

    ``shared`` (e.g. a data set read once) is sent to each worker once: memory-mapped by loky,
    scattered to every dask worker. ``keys`` name the dask tasks (stable keys make a resubmitted
    sweep reuse nothing by accident and show each run by name on the dashboard).
    On exit, by exhaustion, exception or KeyboardInterrupt, no further item is started.
    """
    check_backend(backend, scheduler)
    if backend == "serial":
        for item in items:
            yield fn(item, shared)
    elif backend == "loky":
        joblib = _joblib()
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            # one run per task: joblib's "auto" batching groups short runs, whose rows then arrive (and
            # are kept on Ctrl-C) only when the whole group is done
            parallel = joblib.Parallel(n_jobs=n_jobs or -1, return_as="generator_unordered", batch_size=1)
            yield from parallel(joblib.delayed(fn)(item, shared) for item in items)
    else:
        yield from _dask_unordered(fn, items, scheduler, n_jobs, shared, keys)


def _dask_unordered(fn: Callable[..., R], items: Sequence[Any], scheduler: str | None, n_jobs: int | None,
                    shared: Any, keys: Sequence[str] | None) -> Iterator[R]:
    distributed = _distributed()
    with dask_client(scheduler, n_jobs) as client:
        shared_future = client.scatter(shared, broadcast=True) if shared is not None else None
        names = list(keys) if keys is not None else None
        items = list(items)
        futures = client.map(fn, items, [shared_future] * len(items), key=names, pure=False)
        try:
            for future in distributed.as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)


def retryable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean a worker was lost (not that a run failed): the sweep resubmits the missing runs."""
    from concurrent.futures.process import BrokenProcessPool  # loky's TerminatedWorkerError derives from it

    errors: list[type[BaseException]] = [BrokenProcessPool]
    with contextlib.suppress(ImportError):
        from distributed import KilledWorker

        errors.append(KilledWorker)
    return tuple(errors)

