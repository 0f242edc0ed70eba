"""`make bench`: every side-by-side benchmark; results go to benchmarks/results/ (JSON and a markdown table).

`make bench ONLY=1,4` (or `--only`) runs some workloads and only prints their table, unless --out is given."""

import argparse
import json
import os

from bench import markdown, run_benchmarks  # benchmarks/bench.py, beside this script

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", default=None, help="comma-separated workloads: numbers 1-6 or short names")
    parser.add_argument("--out", default=None, help="default: benchmarks/results, unless --only is given")
    args = parser.parse_args()
    out = args.out or (None if args.only else os.path.join(os.path.dirname(__file__), "results"))
    results = run_benchmarks(quick=args.quick, out=out, repeats=args.repeats,
                             only=args.only.split(",") if args.only else None,
                             on_workload=lambda name, result: print(f"{name}: {json.dumps(result, default=str)}", flush=True))
    print(markdown(results))
