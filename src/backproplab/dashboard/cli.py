"""``backproplab dashboard RUN [--export FILE]`` and ``backproplab playground``: the command-line glue.

``cli.py`` registers these with ``add_parsers(subparsers)``; each command blocks while serving,
prints the page's URL (with its session token) and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

__all__ = ["add_parsers", "run_dashboard", "run_playground", "serve_playground"]


def _parser(subparsers: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {example}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, got {text!r}")
    return port


def _serving_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=_port, default=None, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL only")
    p.add_argument("--json", action="store_true", help="print one JSON object (the URL or the export) instead of text")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def add_parsers(subparsers: Any) -> None:
    """Add the ``dashboard`` and ``playground`` subcommands."""
    p = _parser(subparsers, "dashboard", "open a saved run (History JSON, model, checkpoint or probe file) as a replay",
                "backproplab dashboard history.json --export run.html")
    p.add_argument("run", metavar="RUN", help="History.to_json file, saved dashboard .json, model/checkpoint or probe .npz")
    p.add_argument("--export", default=None, metavar="FILE",
                   help="write one self-contained HTML replay (opens offline from file://) and exit")
    _serving_options(p)
    p.set_defaults(func=run_dashboard)

    p = _parser(subparsers, "playground", "train small networks live in the browser and break them on purpose",
                "backproplab playground --no-browser --port 8765")
    p.add_argument("--save", default="playground-replay.html", metavar="FILE",
                   help="where Ctrl-C saves the session's replay (default playground-replay.html)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the data sets and networks (default 0)")
    _serving_options(p)
    p.set_defaults(func=run_playground)


def _say(args: argparse.Namespace, text: str, payload: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(payload), flush=True)
    else:
        print(text, flush=True)


def _serve_until_interrupted() -> None:
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("", file=sys.stderr)


def run_dashboard(args: argparse.Namespace) -> int:
    from .replay import load_run, write_replay

    if args.export is not None:
        from .._io import check_distinct_paths, check_output_path

        check_output_path(args.export, "--export")
        check_distinct_paths([("RUN", args.run)], [("--export", args.export)])
    state = load_run(args.run)
    if args.export is not None:
        path = write_replay(state, args.export)
        _say(args, f"wrote the replay to {path} ({len(state.get('frames', []))} frames; open it in any browser, offline)",
             {"export": path, "frames": len(state.get("frames", []))})
        return 0
    from .recorder import Recorder
    from .server import DashboardServer

    server = DashboardServer(Recorder(), port=args.port, replay=state)
    server.start(open_browser=not args.no_browser)
    _say(args, f"replay of {args.run} at {server.url}  (Ctrl-C stops)", {"url": server.url})
    _serve_until_interrupted()
    server.stop()
    return 0


def serve_playground(port: int | None = None, open_browser: bool = False, seed: int = 0) -> tuple[Any, Any]:
    """Start a playground and its server; returns ``(playground, server)``."""
    from .playground import Playground
    from .server import DashboardServer, require_server_stack

    require_server_stack()
    playground = Playground(seed=seed)
    server = DashboardServer(playground.board.recorder, controller=playground, port=port)
    playground.start()
    server.start(open_browser=open_browser)
    return playground, server


def run_playground(args: argparse.Namespace) -> int:
    from .._io import check_output_path

    check_output_path(args.save, "--save")
    playground, server = serve_playground(args.port, not args.no_browser, args.seed)
    _say(args, f"playground at {server.url}  (Ctrl-C stops and saves the session to {args.save})", {"url": server.url})
    _serve_until_interrupted()
    playground.stop()
    server.stop()
    path = playground.board.save_replay(os.fspath(args.save))
    print(f"saved the session's replay to {path}", file=sys.stderr)
    return 0
