"""Sweep configurations: what varies, what stays, which seeds, and the stable key of every run.

A configuration is a TOML file (or the same structure as a dict)::

    [data]                      # a generator of backproplab.datasets, or file = "data.csv"
    name = "two_spheres"
    seed = "run"                # "run": each run draws its data with its own seed; an int: fixed data

    [network]                   # fixed Network.mlp arguments; `layers` = hidden sizes (inputs and
    layers = [3, 2]             # outputs come from the data), or `sizes` = the full list
    output = "sigmoid"
    loss = "mse"

    [fit]                       # fixed fit arguments
    lr = 0.1
    batch_size = 128

    [stop]                      # fixed backproplab.Stop fields
    loss_below = 0.01
    window = 1000

    [grid]                      # every combination of these lists
    hidden = ["sigmoid", "relu"]

    [random]                    # or n draws from these distributions (crossed with the grid)
    n = 8
    seed = 0
    lr = { log_uniform = [0.01, 1.0] }

    [seeds]                     # or `seeds = 10` or `seeds = [0, 1, 2]` at the top level
    n = 10
    start = 0

    [run]
    metrics = ["loss", "accuracy"]
    diagnose = "cheap"          # "cheap", "full" or "off"
    metric = "loss"             # the summary's and the heatmap's metric
    heatmap = ["lr", "hidden"]  # two varied parameters for the heatmap (default: the first two)

A varied name is located in Network.mlp's arguments, then fit's, then Stop's fields, then the data
generator's; prefix it (``network.lr``, ``fit.lr``, ``stop.window``, ``data.n_per_class``) to choose.

The *fingerprint* hashes everything that decides a run's result except the seeds (the data, with the
file's contents, the fixed arguments, the grid and random space, the metrics and the diagnosis
setting), so a table written under another configuration is never silently reused, while adding
seeds to a finished sweep runs only the new seeds. A run's *key* hashes the fingerprint, its varied
parameters and its seed.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import datasets
from ..network import Network
from ..training import Stop
from ..training import fit as _fit

__all__ = ["SweepConfig", "load_config", "TARGET_REASONS"]

SCHEMA = 1
SECTIONS = ("data", "network", "fit", "stop", "grid", "random", "seeds", "run")
DIAGNOSE = ("cheap", "full", "off")
#: stop reasons that mean the run reached its target
TARGET_REASONS = ("loss_below", "grad_norm_below")
DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int")

# arguments a sweep sets itself, or that make no sense inside a worker
_NETWORK_RESERVED = {"cls", "seed"}
_FIT_RESERVED = {"net", "X", "y", "seed", "stop", "callbacks", "progress", "monitor", "checkpoint",
                 "checkpoint_every", "resume"}
NETWORK_ARGS = [n for n in inspect.signature(Network.mlp).parameters if n not in _NETWORK_RESERVED] + ["layers"]
FIT_ARGS = [n for n in inspect.signature(_fit).parameters if n not in _FIT_RESERVED]
STOP_ARGS = list(Stop.__dataclass_fields__)
GENERATORS = [n for n in datasets.__all__ if n not in ("load_dataset", "save_mat", "DatasetError")]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _digest(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


@dataclass
class SweepConfig:
    """A parsed sweep configuration; see the module docstring for the format."""

    data: dict[str, Any]
    network: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    stop: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    random: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    metrics: list[str] | None = None
    diagnose: str = "cheap"
    metric: str = "loss"
    heatmap: list[str] | None = None
    source: str | None = None
    data_digest: str | None = None

    # ------------------------------------------------------------------ derived
    @property
    def varied(self) -> list[str]:
        """Names of the varied parameters, as the configuration spells them (the table's columns)."""
        names = list(self.grid)
        names += [n for n in self.random if n not in ("n", "seed") and n not in names]
        return names

    @property
    def has_target(self) -> bool:
        return self.stop.get("loss_below") is not None or self.stop.get("grad_norm_below") is not None

    def fingerprint(self) -> str:
        """A hash of everything that decides a run's result except its seed."""
        data = {k: v for k, v in self.data.items() if k != "file"}
        if "file" in self.data:
            data["file_sha256"] = self.data_digest
            data["file_name"] = os.path.basename(self.data["file"])
        return _digest({
            "schema": SCHEMA, "data": data, "network": self.network, "fit": self.fit, "stop": self.stop,
            "grid": self.grid, "random": self.random, "metrics": self.metrics, "diagnose": self.diagnose,
        })

    def points(self) -> list[dict[str, Any]]:
        """The parameter combinations: the grid's product, crossed with the random draws."""
        names = list(self.grid)
        grid_points = [dict(zip(names, values)) for values in itertools.product(*(self.grid[n] for n in names))]
        if not self.random:
            return grid_points
        rng = np.random.default_rng(self.random.get("seed", 0))
        draws = [{name: _draw(rng, spec) for name, spec in self.random.items() if name not in ("n", "seed")}
                 for _ in range(self.random["n"])]
        return [{**g, **r} for g in grid_points for r in draws]

    def tasks(self) -> list[dict[str, Any]]:
        """One plain dict per run (point x seed): everything a worker needs, and the run's key."""
        fingerprint = self.fingerprint()
        tasks = []
        for point_index, point in enumerate(self.points()):
            network, fit, stop, data = dict(self.network), dict(self.fit), dict(self.stop), dict(self.data)
            for name, value in point.items():
                section, argument = locate(name)
                {"network": network, "fit": fit, "stop": stop, "data": data}[section][argument] = value
            for seed in self.seeds:
                tasks.append({
                    "key": _digest({"fingerprint": fingerprint, "params": point, "seed": seed}),
                    "fingerprint": fingerprint, "point": point_index, "seed": seed, "params": point,
                    "data": data, "network": network, "fit": fit, "stop": stop,
                    "metrics": self.metrics, "diagnose": self.diagnose,
                })
        return tasks


def _draw(rng: np.random.Generator, spec: dict[str, Any]) -> Any:
    (kind, values), = spec.items()
    if kind == "choice":
        return values[int(rng.integers(len(values)))]
    low, high = values
    if kind == "uniform":
        return float(rng.uniform(low, high))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return int(rng.integers(low, high + 1))


def locate(name: str) -> tuple[str, str]:
    """``(section, argument)`` for a varied name: ``"lr"`` -> ``("fit", "lr")``."""
    if "." in name:
        section, argument = name.split(".", 1)
        known = {"network": NETWORK_ARGS, "fit": FIT_ARGS, "stop": STOP_ARGS}.get(section)
        if section == "data" or (known is not None and argument in known):
            return section, argument
        if known is None:
            raise ValueError(f"sweep parameter {name!r}: prefix must be network., fit., stop. or data.")
        raise ValueError(f"sweep parameter {name!r}: {section} takes {', '.join(known)}")
    for section, known in (("network", NETWORK_ARGS), ("fit", FIT_ARGS), ("stop", STOP_ARGS)):
        if name in known:
            return section, name
    if name == "seeds":
        raise ValueError("sweep config: `seeds = ...` is inside a table; write it before the first [section], or use [seeds] n = N")
    if name == "seed":
        raise ValueError("sweep parameter 'seed' cannot be varied in [grid]/[random]: list the seeds in [seeds]")
    raise ValueError(
        f"sweep parameter {name!r} is not a Network.mlp, fit or Stop argument; prefix data. to vary the data "
        f"generator (Network.mlp: {', '.join(NETWORK_ARGS)}; fit: {', '.join(FIT_ARGS)})"
    )


# ---------------------------------------------------------------------- parsing and validation
def _read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise ImportError("reading a sweep config on Python 3.10 needs tomli: pip install tomli") from None
    from .._io import check_regular_file

    check_regular_file(path, "sweep config")
    with open(path, "rb") as handle:
        try:
            return tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"sweep config {path!r} is not valid TOML: {error}") from None


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | SweepConfig) -> SweepConfig:
    """A :class:`SweepConfig` from a TOML file, a dict of the same structure, or a SweepConfig.

    Raises ValueError naming the section and the value for anything it cannot use.
    """
    if isinstance(source, SweepConfig):
        return source
    base_dir, name = os.getcwd(), None
    if isinstance(source, Mapping):
        raw = dict(source)
    else:
        name = os.fspath(source)
        raw = _read_toml(name)
        base_dir = os.path.dirname(os.path.abspath(name))
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ValueError(f"sweep config: unknown section(s) {unknown}; expected {', '.join(SECTIONS)}")
    for section in ("data", "network", "fit", "stop", "grid", "random", "run"):
        if not isinstance(raw.get(section, {}), Mapping):
            raise ValueError(f"sweep config: [{section}] must be a table, got {raw[section]!r}")
    config = SweepConfig(
        data=_parse_data(dict(raw.get("data", {})), base_dir),
        network=_fixed("network", raw.get("network", {}), NETWORK_ARGS),
        fit=_fixed("fit", raw.get("fit", {}), FIT_ARGS),
        stop=_fixed("stop", raw.get("stop", {}), STOP_ARGS),
        grid=_parse_grid(dict(raw.get("grid", {}))),
        random=_parse_random(dict(raw.get("random", {}))),
        seeds=_parse_seeds(raw.get("seeds", 1)),
        source=name,
    )
    _parse_run(config, dict(raw.get("run", {})))
    if "file" in config.data:
        config.data_digest = _file_digest(config.data["file"])
    Stop(**config.stop)  # a bad fixed stop rule fails here, before any worker starts
    return config


def _parse_data(data: dict[str, Any], base_dir: str) -> dict[str, Any]:
    if ("name" in data) == ("file" in data):
        raise ValueError(f"sweep config: [data] needs exactly one of name = one of {GENERATORS} or file = PATH, got {data!r}")
    if "file" in data:
        from .._io import check_regular_file

        path = os.path.join(base_dir, os.path.expanduser(str(data["file"])))
        data["file"] = check_regular_file(path, "[data] file")
        if "seed" in data:
            raise ValueError("sweep config: [data] seed applies to generated data, not to a file")
        return data
    if data["name"] not in GENERATORS:
        raise ValueError(f"sweep config: [data] name {data['name']!r} is not one of {', '.join(GENERATORS)}")
    seed = data.get("seed", 0)
    if not (seed == "run" or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool))):
        raise ValueError(f"sweep config: [data] seed must be \"run\" or an integer, got {seed!r}")
    return data


def _fixed(section: str, values: Mapping[str, Any], known: list[str]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"sweep config: [{section}] does not take {unknown}; it takes {', '.join(known)}")
    return dict(values)


def _parse_grid(grid: dict[str, Any]) -> dict[str, list[Any]]:
    for name, values in grid.items():
        locate(name)
        if not isinstance(values, list) or not values:
            raise ValueError(f"sweep config: [grid] {name} must be a non-empty list of values, got {values!r}")
    return grid


def _parse_random(random: dict[str, Any]) -> dict[str, Any]:
    if not random:
        return {}
    n = random.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"sweep config: [random] n must be a positive integer (the number of draws), got {n!r}")
    if not isinstance(random.setdefault("seed", 0), int):
        raise ValueError(f"sweep config: [random] seed must be an integer, got {random['seed']!r}")
    for name, spec in random.items():
        if name in ("n", "seed"):
            continue
        locate(name)
        if not (isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS):
            raise ValueError(f"sweep config: [random] {name} must be one of {{{' | '.join(f'{d} = [...]' for d in DISTRIBUTIONS)}}}, got {spec!r}")
        (kind, values), = spec.items()
        if not isinstance(values, list) or (kind != "choice" and len(values) != 2) or not values:
            raise ValueError(f"sweep config: [random] {name} = {{{kind} = ...}} needs {'a list' if kind == 'choice' else '[low, high]'}, got {values!r}")
        if kind == "log_uniform" and min(values) <= 0:
            raise ValueError(f"sweep config: [random] {name} log_uniform bounds must be positive, got {values!r}")
    return random


def _parse_seeds(seeds: Any) -> list[int]:
    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if whole(seeds) and seeds >= 1:
        return list(range(seeds))
    if isinstance(seeds, list) and seeds and all(whole(s) for s in seeds) and len(set(seeds)) == len(seeds):
        return list(seeds)
    if isinstance(seeds, Mapping) and whole(seeds.get("n")) and seeds["n"] >= 1 and whole(seeds.get("start", 0)):
        start = seeds.get("start", 0)
        return list(range(start, start + seeds["n"]))
    raise ValueError(f"sweep config: seeds must be a count, a list of distinct integers or {{n = N, start = S}}, got {seeds!r}")


def _parse_run(config: SweepConfig, run: dict[str, Any]) -> None:
    unknown = sorted(set(run) - {"metrics", "diagnose", "metric", "heatmap"})
    if unknown:
        raise ValueError(f"sweep config: [run] does not take {unknown}; it takes metrics, diagnose, metric, heatmap")
    diagnose: Any = run.get("diagnose", "cheap")
    if isinstance(diagnose, bool):
        diagnose = "cheap" if diagnose else "off"
    if diagnose not in DIAGNOSE:
        raise ValueError(f"sweep config: [run] diagnose must be one of {', '.join(DIAGNOSE)} (or true/false), got {diagnose!r}")
    config.diagnose = diagnose
    metrics = run.get("metrics")
    if metrics is not None:
        from .. import metrics as metric_module

        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"sweep config: [run] metrics must be a list of names, got {metrics!r}")
        for name in metrics:
            if name != "loss":
                metric_module.get(name)
        config.metrics = metrics
    metric = run.get("metric", (metrics or ["loss"])[0])
    allowed = [*(metrics or ["loss", "accuracy"]), "train_loss", "window_loss", "steps", "fit_seconds"]
    if metric not in allowed:
        raise ValueError(f"sweep config: [run] metric {metric!r} is not recorded; choose one of {', '.join(allowed)}")
    config.metric = str(metric)
    heatmap = run.get("heatmap")
    if heatmap is not None and (not isinstance(heatmap, list) or len(heatmap) != 2 or not set(heatmap) <= set(config.varied)):
        raise ValueError(f"sweep config: [run] heatmap must name two varied parameters out of {config.varied}, got {heatmap!r}")
    config.heatmap = heatmap
