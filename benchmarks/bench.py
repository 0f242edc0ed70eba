"""Side-by-side benchmarks against scikit-learn's MLP and PyTorch (when installed).

Every comparison runs in one process, the tools interleaved (the order rotates each repeat), and
reports the median over repeats of the per-repeat ratio, so that a noisy, shared machine moves both
sides together. A bare float32 matmul in the same run stands for the machine's limit.

Run it with ``make bench`` (which unsets ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` for that command,
so OpenBLAS picks the processor's own kernel), ``python benchmarks/run.py`` or, from a source
checkout, ``backproplab bench [--quick]``. It lives here, outside the package.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backproplab import __version__, datasets
from backproplab._io import atomic_write
from backproplab.monitor import GradientFlow
from backproplab.network import Network
from backproplab.optimizers import SGD, Adam
from backproplab.training import Stop

__all__ = ["run_benchmarks", "markdown"]


def _optional(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


def _interleave(candidates: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each candidate once per repeat, rotating the order; each returns its own measurement."""
    names = list(candidates)
    results: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: imports, caches, BLAS threads
        candidates[name]()
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            results[name].append(candidates[name]())
    return results


def _ratio(results: dict[str, list[float]], slow: str, fast: str) -> float:
    """Median over repeats of slow/fast (how many times faster ``fast`` is)."""
    return statistics.median(s / f for s, f in zip(results[slow], results[fast]))


def _median(values: Any) -> float:
    return float(statistics.median(values))


# ---------------------------------------------------------------------- workload 1
def blog_step(repeats: int, quick: bool) -> dict[str, Any]:
    """Microseconds per SGD step of the blog's 3-3-2-1 sigmoid network, batch 128 of 200 points."""
    X, y = datasets.two_spheres(seed=0)
    # Three times the repeats, each a third as long: on the AVX2 machine the same fit ran at 55-101 us
    # per step from one repeat to the next, and five 3000-step repeats left the median ratio to
    # scikit-learn anywhere from 5.1x to 8.2x
    steps = 100 if quick else 1000
    repeats *= 3
    sklearn = _optional("sklearn.neural_network")
    torch = _optional("torch")

    def ours(loss: str, monitor: bool = False, count: int = steps) -> Callable[[], float]:
        def run() -> float:
            net = Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss=loss, init="normal", seed=0)
            start = time.perf_counter()
            net.fit(X, y, optimizer=SGD(lr=0.1), batch_size=128, sampling="random", max_steps=count, seed=0, progress=False,
                    monitor=GradientFlow(every=100) if monitor else None)
            return (time.perf_counter() - start) / count * 1e6
        return run

    candidates: dict[str, Callable[[], float]] = {
        "backproplab (mse)": ours("mse"),
        "backproplab (bce)": ours("bce"),
    }
    if sklearn is not None:
        from sklearn.neural_network import MLPClassifier

        def scikit() -> float:
            model = MLPClassifier(hidden_layer_sizes=(3, 2), activation="logistic", solver="sgd", learning_rate_init=0.1,
                                  momentum=0.0, batch_size=128, max_iter=steps // 2, tol=0.0, n_iter_no_change=10**9,
                                  alpha=0.0, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                model.fit(X, y.ravel())
            return (time.perf_counter() - start) / (model.n_iter_ * 2) * 1e6

        candidates["scikit-learn MLPClassifier"] = scikit
    if torch is not None:
        def pytorch() -> float:
            Xt, yt = torch.tensor(X), torch.tensor(y)
            model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2), torch.nn.Sigmoid(),
                                        torch.nn.Linear(2, 1), torch.nn.Sigmoid()).double()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            loss_fn = torch.nn.MSELoss()
            generator = torch.Generator().manual_seed(0)
            start = time.perf_counter()
            for _ in range(steps):
                index = torch.randperm(200, generator=generator)[:128]
                opt.zero_grad()
                loss = loss_fn(model(Xt[index]), yt[index])
                loss.backward()
                opt.step()
                loss.item()
            return (time.perf_counter() - start) / steps * 1e6

        candidates["PyTorch eager"] = pytorch
    results = _interleave(candidates, repeats)
    # The monitor's few-percent cost drowns in this machine's phase-to-phase swings (the same fit
    # took 44-98 us per step within one run), so it is measured on its own in many short pairs:
    # with 1000-step fits the per-pair ratios spread over -12%..+25% (interquartile), with 200-step
    # fits over -4%..+5%. Every fit still records once per 100 steps.
    pairs = _interleave({"plain": ours("mse", count=200 if not quick else 100),
                         "monitored": ours("mse", monitor=True, count=200 if not quick else 100)}, 1 if quick else 121)
    out: dict[str, Any] = {"us_per_step": {k: _median(v) for k, v in results.items()}, "per_repeat_us": results,
                           "repeats": repeats, "steps": steps}
    out["monitor_overhead"] = _ratio(pairs, "monitored", "plain") - 1
    out["monitor_pairs_us"] = pairs
    if "scikit-learn MLPClassifier" in results:
        out["x_faster_than_sklearn"] = _ratio(results, "scikit-learn MLPClassifier", "backproplab (bce)")
    if "PyTorch eager" in results:
        out["x_faster_than_torch"] = _ratio(results, "PyTorch eager", "backproplab (mse)")
    return out


# ---------------------------------------------------------------------- workload 2
def blog_task(repeats: int, quick: bool) -> dict[str, Any]:
    """The blog's task to its target (1000-step mean loss below 0.01): steps and seconds."""
    out: dict[str, Any] = {"blog_seconds": {"sigmoid": 1037.16, "relu": 309.19}}
    seeds = range(1 if quick else max(repeats, 5))
    for hidden in ("sigmoid", "relu"):
        steps, seconds, reached = [], [], 0
        for seed in seeds:
            X, y = datasets.two_spheres(seed=seed)
            net = Network.mlp([3, 3, 2, 1], hidden=hidden, output="sigmoid", loss="mse", init="normal", seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = net.fit(X, y, optimizer=SGD(lr=0.1), batch_size=128, sampling="random", seed=seed,
                                  max_steps=2000 if quick else 20_000, stop=Stop(loss_below=0.01, window=1000), progress=False)
            if history.stop_reason == "loss_below":
                reached += 1
                steps.append(history.n_steps)
                seconds.append(history.wall_time)
        out[hidden] = {"median_steps": _median(steps) if steps else None, "median_seconds": _median(seconds) if seconds else None,
                       "reached": f"{reached}/{len(seeds)}"}
    return out


# ---------------------------------------------------------------------- workload 3
def digits(repeats: int, quick: bool) -> dict[str, Any]:
    """scikit-learn's digits, 64-128-64-10 ReLU, Adam, batch 64: seconds per epoch and test accuracy."""
    sklearn = _optional("sklearn.neural_network")
    if sklearn is None:
        return {"skipped": "scikit-learn is not installed"}
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from backproplab.estimators import BackpropClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    if quick:
        X_train, y_train = X_train[:300], y_train[:300]
    epochs = 1 if quick else 40
    accuracy: dict[str, list[float]] = {"backproplab": [], "scikit-learn": []}
    params: dict[str, Any] = dict(hidden_layer_sizes=(128, 64), solver="adam", batch_size=64, learning_rate_init=1e-3, max_iter=epochs,
                  tol=0.0, n_iter_no_change=10**9, alpha=1e-4)

    def make(kind: str) -> Callable[[], float]:
        seed = iter(range(10**6))

        def run() -> float:
            cls = BackpropClassifier if kind == "backproplab" else MLPClassifier
            model = cls(random_state=next(seed), **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                model.fit(X_train, y_train)
                elapsed = time.perf_counter() - start
            accuracy[kind].append(float(model.score(X_test, y_test)))
            return elapsed / model.n_iter_

        return run

    # a repeat is a fraction of a second here, so a noisy second of the machine can tip a median of
    # 5: three times the repeats
    repeats *= 3
    results = _interleave({"backproplab": make("backproplab"), "scikit-learn": make("scikit-learn")}, repeats)
    return {
        "seconds_per_epoch": {k: _median(v) for k, v in results.items()},
        "x_faster_than_sklearn": _ratio(results, "scikit-learn", "backproplab"),
        "test_accuracy": {k: _median(v) for k, v in accuracy.items()},
        "epochs": epochs,
        "repeats": repeats,
        "per_repeat_seconds_per_epoch": results,
    }


# ---------------------------------------------------------------------- workload 4
def _matmul_rate(count: int) -> Callable[[], float]:
    """FLOP/s of ``count`` float32 (256 x 784) @ (784 x 512) products, the first layer's forward
    shape, into a preallocated array (allocating the result each time costs ~30%)."""
    a = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    b = np.random.default_rng(1).random((784, 512), dtype=np.float32)
    c = np.empty((256, 512), dtype=np.float32)

    def run() -> float:
        start = time.perf_counter()
        for _ in range(count):
            np.matmul(a, b, out=c)
        return 2 * 256 * 784 * 512 * count / (time.perf_counter() - start)
    return run


def mnist_like(repeats: int, quick: bool) -> dict[str, Any]:
    """784-512-256-10 ReLU + softmax cross-entropy, float32, batch 256: samples/s vs PyTorch and FLOP/s."""
    torch = _optional("torch")
    n = 512 if quick else 49_152  # within the 8k-60k: 192 steps per repeat, so setup weighs little
    rng = np.random.default_rng(0)
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=n)
    sizes = [784, 512, 256, 10]
    pairs = list(zip(sizes, sizes[1:]))
    # forward 2*in*out, weight gradients 2*in*out, input gradients 2*in*out except for the first layer
    flop_per_sample = sum(6 * i * o for i, o in pairs) - 2 * sizes[0] * sizes[1]

    def ours() -> float:
        net = Network.mlp(sizes, hidden="relu", loss="cross_entropy", dtype="float32", seed=0)
        start = time.perf_counter()
        net.fit(X, y, optimizer=SGD(lr=0.01, momentum=0.9), batch_size=256, max_epochs=1, seed=0, progress=False)
        return n / (time.perf_counter() - start)

    candidates: dict[str, Callable[[], float]] = {"backproplab": ours}
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def pytorch() -> float:
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                        torch.nn.Linear(256, 10))
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            loss_fn = torch.nn.CrossEntropyLoss()
            start = time.perf_counter()
            order = torch.randperm(n)
            for i in range(0, n, 256):
                index = order[i : i + 256]
                opt.zero_grad()
                loss = loss_fn(model(Xt[index]), yt[index])
                loss.backward()
                opt.step()
            loss.item()
            return n / (time.perf_counter() - start)

        candidates["PyTorch eager"] = pytorch
    # the machine's limit, measured between the training runs so that it sees the same noise
    candidates["bare matmul"] = _matmul_rate(20 if quick else 400)
    repeats *= 2  # a repeat is a fraction of a second: twice the repeats
    results = _interleave(candidates, repeats)
    rates = results.pop("bare matmul")
    samples = {k: _median(v) for k, v in results.items()}
    fractions = [s * flop_per_sample / r for s, r in zip(results["backproplab"], rates)]
    out: dict[str, Any] = {
        "samples_per_second": samples,
        "bare_matmul_gflops": _median(rates) / 1e9,
        "training_gflops": samples["backproplab"] * flop_per_sample / 1e9,
        "fraction_of_matmul_rate": _median(fractions),
        "n_samples": n,
        "repeats": repeats,
        "per_repeat": {"samples_per_second": results, "bare_matmul_gflops": [r / 1e9 for r in rates],
                       "fraction_of_matmul_rate": fractions},
    }
    if "PyTorch eager" in results:
        out["x_vs_torch"] = statistics.median(o / t for o, t in zip(results["backproplab"], results["PyTorch eager"]))
    return out


# ---------------------------------------------------------------------- workloads 5 and 6
def scaling(repeats: int, quick: bool) -> dict[str, Any]:
    """Time per sample of an epoch at 10k, 100k and 1M samples (32-64-64-1, float32, batch 256, Adam).

    The sizes take turns (each turn trains about 1M samples' worth of epochs on its own network,
    which keeps training across turns), so a noisy stretch of the machine hits all sizes alike; per
    size, the median epoch over all turns."""
    sizes = [1_000, 4_000] if quick else [10_000, 100_000, 1_000_000]
    rng = np.random.default_rng(0)
    epoch_seconds: dict[str, list[float]] = {}

    def candidate(n: int) -> Callable[[], float]:
        X = rng.random((n, 32), dtype=np.float32)
        y = X[:, :1] * 2 - 1
        net = Network.mlp([32, 64, 64, 1], dtype="float32", seed=0)
        optimizer, epochs = Adam(lr=1e-3), 2 if quick else max(2, 1_000_000 // n)
        seconds = epoch_seconds[str(n)] = []

        def run() -> float:
            history = net.fit(X, y, optimizer=optimizer, batch_size=256, max_epochs=epochs, seed=0, progress=False)
            seconds.extend(np.diff(history.epoch_time, prepend=0.0))
            return history.wall_time
        return run

    # twice the turns: 1M rows make one epoch per turn, and a single slow phase of the machine moved
    # the median of five such epochs by up to 30% (max/min 1.23 and 1.30 in 2 of 15 runs)
    _interleave({str(n): candidate(n) for n in sizes}, repeats * 2)
    per_sample = {k: _median(v) / int(k) * 1e6 for k, v in epoch_seconds.items()}
    values = list(per_sample.values())
    return {"us_per_sample": per_sample, "max_over_min": max(values) / min(values)}


def memory(repeats: int, quick: bool) -> dict[str, Any]:
    """Peak memory allocated during fit, beyond the data, against the data's size."""
    rows = [1_000, 4_000] if quick else [20_000, 200_000]
    out = {}
    for n in rows:
        X = np.random.default_rng(0).random((n, 256), dtype=np.float32)
        y = np.random.default_rng(1).integers(0, 10, size=n)
        net = Network.mlp([256, 128, 10], loss="cross_entropy", dtype="float32", seed=0)
        tracemalloc.start()
        net.fit(X, y, optimizer=SGD(lr=0.01), batch_size=256, max_epochs=1, seed=0, progress=False)
        buffers, peak = tracemalloc.get_traced_memory()  # what fit leaves allocated is the layers' batch buffers
        tracemalloc.stop()
        data = X.nbytes
        out[str(n)] = {"data_mb": data / 2**20, "peak_extra_mb": peak / 2**20, "batch_buffers_mb": buffers / 2**20,
                       "beyond_buffers_over_data": (peak - buffers) / data,
                       "float32_kept": all(p.dtype == np.float32 for p in net.parameters())}
    return out


WORKLOADS: dict[str, Callable[[int, bool], dict[str, Any]]] = {
    "1 blog network: us per step": blog_step,
    "2 blog task to target": blog_task,
    "3 digits 64-128-64-10": digits,
    "4 784-512-256-10 float32": mnist_like,
    "5 scaling per sample": scaling,
    "6 peak memory": memory,
}


#: short names for ``--only``, besides the workloads' numbers
SHORT_NAMES = dict(zip(["blog-step", "blog-task", "digits", "mnist", "scaling", "memory"], WORKLOADS))


def select(only: Sequence[str] | None) -> list[str]:
    """The workloads named in ``only`` (numbers 1-6 or short names), in run order; all when empty."""
    if not only:
        return list(WORKLOADS)
    numbers = {name.split()[0]: name for name in WORKLOADS}
    chosen = set()
    for item in only:
        name = numbers.get(item.strip()) or SHORT_NAMES.get(item.strip())
        if name is None:
            raise ValueError(f"unknown workload {item!r}; expected a number 1-6 or one of: {', '.join(SHORT_NAMES)}")
        chosen.add(name)
    return [name for name in WORKLOADS if name in chosen]


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's model name and its widest vector extension (AVX-512 or AVX2 decide which
    OpenBLAS kernel runs and how fast the products are), from /proc/cpuinfo where there is one."""
    try:
        with open(cpuinfo) as handle:
            text = handle.read()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{fields.get('model name') or platform.processor() or platform.machine()}, {vector}"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__, "cpu_count": os.cpu_count(),
                            "processor": cpu_model(), "backproplab": __version__,
                            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    threadpoolctl = _optional("threadpoolctl")
    info["threadpoolctl"] = getattr(threadpoolctl, "__version__", None)
    info["numba"] = getattr(_optional("numba"), "__version__", None)
    if threadpoolctl is not None:
        info["blas"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
                        for i in threadpoolctl.threadpool_info()]
    for name in ("sklearn", "torch"):
        module = _optional(name)
        info[name] = getattr(module, "__version__", None)
    return info


def run_benchmarks(
    quick: bool = False,
    out: str | None = None,
    repeats: int | None = None,
    on_workload: Callable[[str, dict[str, Any]], None] | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run every workload (or those in ``only``, see :func:`select`); write ``results.json`` and
    ``results.md`` to ``out`` when given. ``on_workload(name, result)`` is called as each workload
    finishes."""
    names = select(only)
    repeats = repeats or (1 if quick else 5)
    results: dict[str, Any] = {"date": datetime.date.today().isoformat(), "quick": quick, "repeats": repeats,
                               "machine": machine(), "workloads": {}}
    if only:
        results["only"] = [name.split()[0] for name in names]
    for name in names:
        start = time.perf_counter()
        results["workloads"][name] = WORKLOADS[name](repeats, quick)
        results["workloads"][name]["bench_seconds"] = time.perf_counter() - start
        if on_workload is not None:
            on_workload(name, results["workloads"][name])
    if out:
        os.makedirs(out, exist_ok=True)
        atomic_write(os.path.join(out, "results.json"), json.dumps(results, indent=1, default=str))
        atomic_write(os.path.join(out, "results.md"), markdown(results))
    return results


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    """The README table: one row per measured claim."""
    w = results["workloads"]
    rows = []
    one = w.get("1 blog network: us per step", {})
    if one:
        steps = one.get("us_per_step", {})
        torch_step = f"torch {_fmt(steps['PyTorch eager'])}" if "PyTorch eager" in steps else "torch not installed"
        torch_ratio = f", {_fmt(one['x_faster_than_torch'])}x vs torch" if "x_faster_than_torch" in one else ""
        rows.append(("blog 3-3-2-1 sigmoid, SGD, batch 128: us/step",
                     f"{_fmt(steps.get('backproplab (bce)'))} (bce) / {_fmt(steps.get('backproplab (mse)'))} (mse)",
                     f"sklearn {_fmt(steps.get('scikit-learn MLPClassifier'))}, {torch_step}",
                     f"{_fmt(one.get('x_faster_than_sklearn'))}x vs sklearn{torch_ratio}"))
        if "monitor_overhead" in one:
            rows.append(("GradientFlow(every=100) on the blog network", f"{100 * one['monitor_overhead']:+.2g}% time per step",
                         "the same run without it", "-"))
    two = w.get("2 blog task to target", {})
    if two:
        for hidden in ("sigmoid", "relu"):
            row = two.get(hidden, {})
            rows.append((f"blog task to 1000-step loss < 0.01, {hidden}",
                         f"{_fmt(row.get('median_seconds'))} s, {_fmt(row.get('median_steps'))} steps ({row.get('reached')})",
                         f"blog {two.get('blog_seconds', {}).get(hidden)} s",
                         f"{_fmt(two.get('blog_seconds', {}).get(hidden, 0) / row['median_seconds'], 4)}x" if row.get("median_seconds") else "-"))
    three = w.get("3 digits 64-128-64-10", {})
    if "seconds_per_epoch" in three:
        rows.append(("digits 64-128-64-10 Adam batch 64: s/epoch (test accuracy)",
                     f"{_fmt(three['seconds_per_epoch']['backproplab'])} ({_fmt(three['test_accuracy']['backproplab'], 4)})",
                     f"sklearn {_fmt(three['seconds_per_epoch']['scikit-learn'])} ({_fmt(three['test_accuracy']['scikit-learn'], 4)})",
                     f"{_fmt(three['x_faster_than_sklearn'])}x vs sklearn"))
    four = w.get("4 784-512-256-10 float32", {})
    if four:
        samples = four["samples_per_second"]
        spread = four.get("per_repeat", {}).get("fraction_of_matmul_rate")
        torch_rate = samples.get("PyTorch eager")
        rows.append(("784-512-256-10 float32 batch 256: samples/s",
                     f"{_fmt(samples['backproplab'], 4)} ({_fmt(four['fraction_of_matmul_rate'], 2)} of bare matmul {_fmt(four['bare_matmul_gflops'])} GFLOP/s"
                     + (f"; repeats {min(spread):.2f}-{max(spread):.2f})" if spread else ")"),
                     f"torch {_fmt(torch_rate, 4)}" if torch_rate else "torch not installed",
                     f"{_fmt(four['x_vs_torch'])}x torch" if "x_vs_torch" in four else "-"))
    five = w.get("5 scaling per sample", {})
    if five:
        rows.append(("scaling 32-64-64-1: us/sample per epoch", ", ".join(f"{k}: {_fmt(v)}" for k, v in five["us_per_sample"].items()),
                     "-", f"max/min {_fmt(five['max_over_min'])}"))
    six = w.get("6 peak memory", {})
    for n, row in six.items():
        if isinstance(row, dict):
            rows.append((f"peak extra memory in fit, {n} x 256 float32",
                         f"{_fmt(row['peak_extra_mb'])} MiB, of which batch buffers {_fmt(row['batch_buffers_mb'])} MiB",
                         f"data {_fmt(row['data_mb'])} MiB", f"{_fmt(100 * row['beyond_buffers_over_data'])}% of data beyond buffers"))
    command = "make bench" + (f" ONLY={','.join(results['only'])}" if results.get("only") else "")
    kernels = ", ".join(str(b["architecture"]) for b in results["machine"].get("blas", []) if b.get("architecture"))
    more = [f"{part.get('repeats')} for {label}" for part, label in ((one, "the blog step"), (three, "digits"),
                                                                   (four, "the 784 network")) if part.get("repeats")]
    lines = [f"Measured {results['date']} on {results['machine'].get('cpu_count')} cores of "
             f"{results['machine'].get('processor')} (BLAS kernels: {kernels or 'unknown'}), "
             f"median of {results['repeats']} interleaved repeats" + (f" ({', '.join(more)})" if more else "")
             + f". Reproduce: `{command}`.", "",
             "| workload | backproplab | reference | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    effects = {"threadpoolctl": "small networks trained on every BLAS thread (backproplab/_threads.py)",
               "numba": "optimizer updates ran unfused (backproplab/_kernels.py)"}
    # "unrecorded" for results from before these were recorded
    missing = [name for name in effects if results["machine"].get(name, "unrecorded") is None]
    if missing:
        lines += ["", f"Not installed: {', '.join(missing)}; so {' and '.join(effects[m] for m in missing)}. "
                      "`pip install 'backproplab[fast]'`."]
    return "\n".join(lines) + "\n"
