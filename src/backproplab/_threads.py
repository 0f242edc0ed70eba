"""One BLAS thread while training a network whose matrix products are all small.

OpenBLAS splits a product over its threads once ``m * n * k`` passes 262,144. Below about 2**20
multiply-adds the split buys little even when both cores are free, and it makes every product wait
for the second thread, which on a shared machine is sometimes slow to run. So ``fit`` runs on one
BLAS thread when every product of a step is below :data:`SMALL_PRODUCT`, and leaves the thread
count alone otherwise (the 784-512-256-10 network needs both cores). The measurements behind this
are in benchmarks/results/design_notes.md. :func:`backproplab.tabular.predict_rows` does the same
for its blocks of rows below :data:`PREDICT_PRODUCT`.

The thread count is changed through threadpoolctl (installed with scikit-learn, or
``pip install 'backproplab[fast]'``) and restored when ``fit`` returns; without it nothing changes.
OpenBLAS's thread count is process-wide, so products computed in other threads during ``fit``
(or by a callback) run on one thread too. Overlapping fits (a callback that fits, or fits in several
threads) share one limit: the first to start sets it and the last to finish restores the count.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["SMALL_PRODUCT", "PREDICT_PRODUCT", "blas_threads_for"]

logger = logging.getLogger(__name__)

#: the largest ``m * n * k`` of a training step below which fit uses one BLAS thread
SMALL_PRODUCT = 2**20
#: the largest ``m * n * k`` of one block of ``predict_rows`` below which it uses one BLAS thread. On
#: the shared 2-core machine a two-thread product of an 8192-row block waited 6-7 ms for the second
#: thread whatever its size, while one thread took 1.1 ms at 17M multiply-adds, 2.5 ms at 42M and
#: 8.5 ms at 83M; predicting 200k rows of a 20-100-1 network took 0.3-0.57 s on two threads, 65 ms on one
PREDICT_PRODUCT = 2**26


@functools.cache
def _controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, built once (it scans them, which takes milliseconds)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    with warnings.catch_warnings():
        # it may warn about OpenMP runtimes loaded by other libraries; only BLAS matters here
        warnings.simplefilter("ignore")
        try:
            return ThreadpoolController()
        except Exception as error:  # a speed-up only: it must never stop training
            logger.debug("threadpoolctl cannot inspect the BLAS libraries: %s", error)
            return None


_lock = threading.Lock()
_users = 0
_limiter: Any = None


@contextlib.contextmanager
def _one_thread(controller: Any) -> Iterator[None]:
    global _users, _limiter
    with _lock:
        if _users == 0:
            try:
                _limiter = controller.limit(limits=1, user_api="blas")  # limits on construction
            except Exception as error:  # a speed-up only: it must never stop training
                logger.debug("could not limit the BLAS threads: %s", error)
                _limiter = None
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _limiter is not None:
                limiter, _limiter = _limiter, None
                try:
                    limiter.__exit__(None, None, None)  # restores the counts found by the first user
                except Exception as error:
                    logger.warning("could not restore the BLAS thread count: %s", error)


def blas_threads_for(largest_product: int, small: int = SMALL_PRODUCT) -> contextlib.AbstractContextManager[Any]:
    """A context manager that limits BLAS to one thread when ``largest_product`` (the largest
    ``m * n * k`` of a training step) is below ``small`` (:data:`SMALL_PRODUCT`), and does nothing
    otherwise or without threadpoolctl."""
    if largest_product >= small:
        return contextlib.nullcontext()
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return _one_thread(controller)
