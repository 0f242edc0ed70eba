"""``backproplab sweep CONFIG.toml``: the command-line face of :func:`backproplab.sweep.sweep`.

Registered in :mod:`backproplab.cli` by ``add_parser(subparsers)``; heavy imports happen in ``run``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["add_parser", "run"]

EXAMPLE = """\
  backproplab sweep race.toml --out race.csv                  # loky, every core
  backproplab sweep race.toml --backend dask                  # a LocalCluster, started and closed
  backproplab sweep race.toml --backend dask --scheduler tcp://10.0.0.5:8786 --plots race-plots
  (rerun the same command to resume: runs already in the table are skipped)"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to ``subparsers`` (argparse's sub-parser action)."""
    text = "run a grid or random search over network and training arguments, crossed with seeds"
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help=text, description=text, epilog=f"examples:\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", help="the sweep configuration (.toml); see README 'Sweeps'")
    parser.add_argument("--backend", default="loky", choices=["loky", "dask", "ray", "serial"],
                        help="where runs execute (default loky: local processes, one BLAS thread each)")
    parser.add_argument("--scheduler", default=None, metavar="ADDR",
                        help="dask scheduler address tcp://HOST:PORT (default: start a LocalCluster)")
    parser.add_argument("--n-jobs", type=int, default=None, help="loky or LocalCluster workers (default: every core)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="the results table (.csv; default CONFIG with .csv); a .parquet copy when pyarrow is installed")
    parser.add_argument("--plots", default=None, metavar="DIR", help="write heatmap.png, steps.png and stalls.png here")
    parser.add_argument("--overwrite", action="store_true", help="replace a table written under another configuration")
    parser.add_argument("--retries", type=int, default=2, help="resubmissions of missing runs after a lost worker (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.set_defaults(func=run)
    return parser


def _progress(total: int) -> Any:
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="run", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run the sweep; exit 0, 2 for a bad config or option, 130 on Ctrl-C (finished rows kept)."""
    from ._io import check_distinct_paths, check_output_path, check_regular_file
    from .sweep import SweepInterrupted, load_config, sweep

    if args.n_jobs is not None and args.n_jobs < 1:
        raise ValueError(f"--n-jobs must be at least 1, got {args.n_jobs}")
    if args.retries < 0:
        raise ValueError(f"--retries must be 0 or more, got {args.retries}")
    check_regular_file(args.config, "config")
    out = args.out or os.path.splitext(args.config)[0] + ".csv"
    check_output_path(out, "--out")
    check_distinct_paths([("config", args.config)], [("--out", out)])
    config = load_config(args.config)
    bar = _progress(len(config.seeds) * len(config.points()))
    try:
        result = sweep(config, out=out, backend=args.backend, scheduler=args.scheduler, n_jobs=args.n_jobs,
                       overwrite=args.overwrite, retries=args.retries, on_row=(lambda row: bar.update()) if bar else None)
    except SweepInterrupted as stop:
        print(f"{stop}; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    plots = result.save_plots(args.plots) if args.plots else []
    if args.json:
        print(json.dumps({**result.to_dict(), "plots": plots}, indent=1, default=str))
        return 0
    print(result.format_summary())
    stalls = result.stall_codes()
    if stalls:
        print("diagnosis codes among stalled runs: " + ", ".join(f"{code} {count}" for code, count in stalls.items()))
    print(f"{len(result.rows)} runs in {result.path} ({result.executed} run now, {result.skipped} already there"
          + (f", {len(result.retries)} resubmissions after a lost worker" if result.retries else "") + ")")
    if result.parquet:
        print(f"parquet copy: {result.parquet}")
    for path in plots:
        print(f"wrote {path}")
    return 0
