"""`make bench`: every side-by-side benchmark; results go to benchmarks/results/ (JSON and a markdown table)."""

import argparse
import json
import os

from backproplab.bench import run_benchmarks

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    run_benchmarks(quick=args.quick, out=args.out, repeats=args.repeats,
                   on_workload=lambda name, result: print(f"{name}: {json.dumps(result, default=str)}", flush=True))
    print(open(os.path.join(args.out, "results.md")).read())
