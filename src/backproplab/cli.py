"""The ``backproplab`` command line: a thin layer over the library.

Every user error exits with status 2 and one line ``error: ...`` on stderr (``--debug`` shows the
traceback). Results go to stdout, as text or, with ``--json``, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from . import __version__
from .datasets import DatasetError, load_dataset
from .persistence import ModelFileError

USER_ERRORS = (ValueError, TypeError, OSError, ModelFileError, DatasetError, ImportError, KeyError)


class UsageError(Exception):
    """Bad command-line usage (argparse's own complaints)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print usage and exit 2 itself
        raise UsageError(f"{self.prog}: {message}")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=1, default=_json_default))


def _common(parser: argparse.ArgumentParser, seed: bool = True, as_json: bool = True) -> None:
    if as_json:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def _sub(subparsers: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 8,8, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values


def _targets(text: str | None) -> list[str | int] | None:
    if text is None:
        return None
    return [int(part) if part.lstrip("-").isdigit() else part for part in text.split(",")]


# ---------------------------------------------------------------------- network options
def _add_network_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--layers", type=_int_list, default=[16], help="hidden layer sizes, e.g. 8,8 (default 16)")
    group.add_argument("--hidden", default="relu", help="hidden activation (default relu)")
    group.add_argument("--output", default=None, help="output activation (default: from the loss)")
    group.add_argument("--loss", default=None, help="mse, mae, bce or cross_entropy (default: inferred from the target)")
    group.add_argument("--init", default=None, help="initialiser (default: He for ReLU, Glorot otherwise)")
    group.add_argument("--l2", type=float, default=0.0, help="L2 penalty lambda (default 0)")


def infer_loss(y: np.ndarray) -> str:
    """bce for 0/1 targets, cross_entropy for small integer labels 0..k-1, mse otherwise."""
    if y.shape[1] == 1:
        values = np.unique(y)
        if set(values.tolist()) <= {0.0, 1.0}:
            return "bce"
        if np.all(values == np.round(values)) and values.min() == 0 and len(values) <= 50 and values.max() == len(values) - 1:
            return "cross_entropy"
    return "mse"


def _build_network(args: argparse.Namespace, X: np.ndarray, y: np.ndarray) -> Any:
    from .network import Network

    loss = args.loss or infer_loss(y)
    n_out = int(y.max()) + 1 if loss == "cross_entropy" and y.shape[1] == 1 else y.shape[1]
    return Network.mlp(
        [X.shape[1], *args.layers, n_out],
        hidden=args.hidden,
        output=args.output,
        loss=loss,
        init=args.init,
        seed=args.seed,
        l2=args.l2,
    )


def _training_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", default="adam", help="sgd, adam or rmsprop (default adam)")
    group.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    group.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    group.add_argument("--batch-size", type=int, default=32, help="batch size; 0 = full batch (default 32)")
    group.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    group.add_argument("--max-steps", type=int, default=None, help="maximum steps")
    group.add_argument("--stop-loss", type=float, default=None, help="stop when the windowed loss is below this")
    group.add_argument("--stop-window", type=int, default=1, help="window of steps for --stop-loss (default 1)")
    group.add_argument("--stop-grad-norm", type=float, default=None, help="stop when the gradient norm is below this")
    group.add_argument("--plateau", action="store_true", help="stop when the loss stops improving")
    group.add_argument("--early-stopping", action="store_true", help="stop on the validation loss, keep the best")
    group.add_argument("--patience", type=int, default=10, help="epochs for --plateau/--early-stopping")
    group.add_argument("--val-fraction", type=float, default=None, help="hold out this fraction for validation")
    group.add_argument("--time-limit", type=float, default=None, help="seconds")
    group.add_argument("--checkpoint", default=None, help="save a checkpoint here during training")
    group.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    group.add_argument("--resume", default=None, help="continue from this checkpoint")


def _fit(net: Any, X: np.ndarray, y: np.ndarray, args: argparse.Namespace, monitor: Any = None) -> Any:
    from .optimizers import SGD, Optimizer, get
    from .training import Stop

    stop = Stop(
        loss_below=args.stop_loss,
        window=args.stop_window,
        grad_norm_below=args.stop_grad_norm,
        plateau=args.plateau,
        early_stopping=args.early_stopping,
        patience=args.patience,
        time_limit=args.time_limit,
    )
    optimizer: Optimizer
    if args.optimizer == "sgd" and args.momentum:
        optimizer = SGD(lr=0.01 if args.lr is None else args.lr, momentum=args.momentum)
    else:
        optimizer = get(args.optimizer, args.lr)
    return net.fit(
        X,
        y,
        optimizer=optimizer,
        batch_size=None if args.batch_size == 0 else args.batch_size,
        max_epochs=args.epochs,
        max_steps=args.max_steps,
        stop=stop,
        validation=args.val_fraction,
        seed=args.seed,
        monitor=monitor,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
    )


def _metric_names(loss: str) -> list[str]:
    return ["loss", "accuracy"] if loss in ("bce", "cross_entropy") else ["loss", "mae", "mse", "r2"]


def _history_summary(history: Any) -> str:
    lines = [
        f"stopped: {history.stop_reason} after {history.n_steps} steps, {history.n_epochs} epochs "
        f"in {history.wall_time:.3f} s",
    ]
    if history.loss:
        lines.append(f"final training loss: {history.loss[-1]:.6g}")
    if history.val_loss:
        lines.append(f"final validation loss: {history.val_loss[-1]:.6g}")
    if history.message:
        lines.append(history.message)
    return "\n".join(lines)


# ---------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from . import persistence

    X, y, info = load_dataset(args.data, target=_targets(args.target))
    net = _build_network(args, X, y)
    monitor = None
    if args.report:
        from .diagnostics import GradientFlow

        monitor = GradientFlow(every=10)
    history = _fit(net, X, y, args, monitor)
    scores = net.evaluate(X, y, _metric_names(net.loss_fn.name))
    if args.save:
        persistence.save(net, args.save)
    if args.report:
        from .report import write_report

        write_report(args.report, title=f"backproplab train {os.path.basename(args.data)}", history=history, net=net, X=X, y=y)
    if args.json:
        emit_json({"history": history.to_dict(), "train_metrics": scores, "model": args.save, "target": info["target_names"]})
    else:
        print(f"network: {net!r}")
        print(_history_summary(history))
        print("training set: " + ", ".join(f"{k} {v:.6g}" for k, v in scores.items()))
        if args.save:
            print(f"saved model to {args.save}")
        if args.report:
            print(f"wrote report to {args.report}")
    return 0


def _load_features(net: Any, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    target = _targets(getattr(args, "target", None))
    if target is not None:
        X, y, _ = load_dataset(args.data, target=target)
        return X, y
    X, y, _ = load_dataset(args.data, target=None)
    table = np.hstack([X, y])
    if table.shape[1] == net.n_inputs:
        return table, None
    raise ValueError(
        f"{args.data} has {table.shape[1]} columns but the model expects {net.n_inputs} features; "
        "name the target column(s) to drop with --target"
    )


def cmd_predict(args: argparse.Namespace) -> int:
    from . import persistence

    net = persistence.load(args.model)
    X, _ = _load_features(net, args)
    predictions = net.predict(X)
    header = [f"pred_{i}" for i in range(predictions.shape[1])]
    if args.out:
        tmp = f"{args.out}.tmp{os.getpid()}"
        np.savetxt(tmp, predictions, delimiter=",", header=",".join(header), comments="")
        os.replace(tmp, args.out)
    if args.json:
        emit_json({"predictions": predictions, "out": args.out})
    elif not args.out:
        print(",".join(header))
        for row in predictions:
            print(",".join(f"{v:.10g}" for v in row))
    else:
        print(f"wrote {len(predictions)} predictions to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import persistence

    net = persistence.load(args.model)
    X, y = _load_features(net, args)
    scores = net.evaluate(X, y, _metric_names(net.loss_fn.name))
    if args.json:
        emit_json(scores)
    else:
        for name, value in scores.items():
            print(f"{name}: {value:.6g}")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from . import persistence
    from .gradcheck import gradcheck

    if args.model_or_data and args.data:
        net = persistence.load(args.model_or_data)
        X, y = _load_features(net, args)
    else:
        args.data = args.model_or_data
        X, y, _ = load_dataset(args.data, target=_targets(args.target))
        net = _build_network(args, X, y)
    if y is None:
        raise ValueError("gradcheck needs targets: name the target column(s) with --target")
    rows = min(len(X), args.rows)
    result = gradcheck(net, X[:rows], y[:rows], max_entries=args.max_entries)
    if args.json:
        emit_json(result.to_dict())
    else:
        print(result)
    return 0 if result.passed else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from .experiments import format_table, run_demo

    def show(result: Any) -> None:
        if not args.json:
            print(result.render(), end="\n\n", flush=True)

    demo = run_demo(out=args.out, seed=args.seed, quick=args.quick, on_result=show)
    if args.json:
        emit_json({**demo, "results": [r.to_dict() for r in demo["results"]]})
        return 0
    print("== summary: source vs backproplab ==")
    print(format_table(demo["summary"]))
    if args.out:
        print(f"\nwrote {len(demo['files'])} files to {args.out}/ (open {os.path.join(args.out, 'report.html')})")
    print(f"total {demo['seconds']:.1f} s")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from .experiments import REGISTRY, get

    if args.action == "list":
        rows = [{"name": name, "summary": exp.summary} for name, exp in REGISTRY.items()]
        if args.json:
            emit_json(rows)
        else:
            width = max(len(r["name"]) for r in rows)
            for row in rows:
                print(f"{row['name']:<{width}}  {row['summary']}")
        return 0
    if not args.name:
        raise ValueError("experiment run needs a NAME; see `backproplab experiment list`")
    experiment = get(args.name)
    result = experiment(seed=args.seed, quick=args.quick)
    if args.report:
        from .report import write_report

        write_report(args.report, title=f"experiment {args.name}", result=result)
    if args.json:
        emit_json(result.to_dict())
    else:
        print(result.render())
        if args.report:
            print(f"\nwrote report to {args.report}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from . import persistence
    from .diagnostics import GradientFlow, diagnose

    X, y, _ = load_dataset(args.data, target=_targets(args.target))
    history = None
    if args.model:
        net = persistence.load(args.model)
    else:
        net = _build_network(args, X, y)
        if args.epochs is None and args.max_steps is None:
            args.epochs = 50
        history = _fit(net, X, y, args, GradientFlow(every=10))
    diagnosis = diagnose(net, X, y, history=history, seed=args.seed)
    if args.report:
        from .report import write_report

        write_report(args.report, title=f"backproplab doctor {os.path.basename(args.data)}", history=history, diagnosis=diagnosis, net=net, X=X, y=y)
    if args.json:
        emit_json({"diagnosis": diagnosis.to_dict(), "history": history.to_dict() if history else None})
    else:
        if history is not None:
            print(_history_summary(history))
            print()
        print(diagnosis)
        if args.report:
            print(f"\nwrote report to {args.report}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .training import History

    history = History.from_json(args.history)
    write_report(args.output, title=f"training history {os.path.basename(args.history)}", history=history)
    if args.json:
        emit_json({"report": args.output})
    else:
        print(f"wrote report to {args.output}")
    return 0


def _bench_harness() -> Any:
    """benchmarks/bench.py of the source checkout this package runs from; it is not installed."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"
    if not path.is_file():
        raise UsageError("the benchmarks are not installed with the package; from a source checkout of "
                         "backproplab run `make bench` or `python benchmarks/run.py` (or `backproplab bench` there)")
    spec = importlib.util.spec_from_file_location("backproplab_benchmarks", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def cmd_bench(args: argparse.Namespace) -> int:
    run_benchmarks = _bench_harness().run_benchmarks

    def show(name: str, result: dict[str, Any]) -> None:
        if not args.json:
            print(f"{name}: {json.dumps(result, default=str)}", flush=True)

    only = args.only.split(",") if args.only else None
    results = run_benchmarks(quick=args.quick, out=args.out, repeats=args.repeats, on_workload=show, only=only)
    if args.json:
        emit_json(results)
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="backproplab",
        description="Fully-connected networks trained by explicit backpropagation, with gradient checks "
        "and diagnostics that say why training stalls.",
        epilog=textwrap.dedent(
            """\
            examples:
              backproplab demo
              backproplab experiment run vanishing-gradient --report vg.html
              backproplab train data.csv --target label --layers 8,8 --save model.npz
              backproplab doctor data.csv --target y
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = _sub(sub, "demo", "run every reproduction of the source documents and print source vs ours", "backproplab demo --out demo-output")
    p.add_argument("--out", default=None, help="folder for figures, results and the HTML report")
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    _common(p)
    p.set_defaults(func=cmd_demo)

    p = _sub(sub, "experiment", "list or run the reproductions of the source documents", "backproplab experiment run stall --json")
    p.add_argument("action", choices=["list", "run"])
    p.add_argument("name", nargs="?", help="experiment name (see `experiment list`)")
    p.add_argument("--report", default=None, help="write an HTML report here")
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    _common(p)
    p.set_defaults(func=cmd_experiment)

    p = _sub(sub, "train", "train a network on a data file", "backproplab train data.csv --target y --layers 8,8 --save model.npz")
    p.add_argument("data", help=".csv, .npz, .npy or .mat file")
    p.add_argument("--target", required=True, help="target column name(s) or index(es), comma-separated")
    _add_network_options(p)
    _training_options(p)
    p.add_argument("--save", default=None, help="save the trained model (.npz)")
    p.add_argument("--report", default=None, help="write an HTML report here")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = _sub(sub, "predict", "predict with a saved model", "backproplab predict model.npz data.csv --target y --out preds.csv")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--target", default=None, help="target column(s) in DATA to leave out of the features")
    p.add_argument("--out", default=None, help="write predictions as CSV here")
    _common(p, seed=False)
    p.set_defaults(func=cmd_predict)

    p = _sub(sub, "evaluate", "score a saved model on labelled data", "backproplab evaluate model.npz test.csv --target y")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--target", required=True, help="target column name(s) or index(es)")
    _common(p, seed=False)
    p.set_defaults(func=cmd_evaluate)

    p = _sub(sub, "gradcheck", "check a network's gradients against finite differences (exit 1 on failure)",
             "backproplab gradcheck data.csv --target y --layers 4,4 --hidden tanh")
    p.add_argument("model_or_data", help="a saved model followed by DATA, or only DATA with --layers")
    p.add_argument("data", nargs="?", default=None)
    p.add_argument("--target", default=None, help="target column name(s) or index(es)")
    p.add_argument("--rows", type=int, default=32, help="check on at most this many rows (default 32)")
    p.add_argument("--max-entries", type=int, default=None, help="check at most this many entries per array")
    _add_network_options(p)
    _common(p)
    p.set_defaults(func=cmd_gradcheck)

    p = _sub(sub, "doctor", "diagnose why training stalls, with evidence and remedies", "backproplab doctor data.csv --target y --report doctor.html")
    p.add_argument("data")
    p.add_argument("--target", required=True, help="target column name(s) or index(es)")
    p.add_argument("--model", default=None, help="diagnose this saved model instead of training one briefly")
    p.add_argument("--report", default=None, help="write an HTML report here")
    _add_network_options(p)
    _training_options(p)
    _common(p)
    p.set_defaults(func=cmd_doctor)

    p = _sub(sub, "report", "build an HTML report from a saved History JSON", "backproplab report history.json -o report.html")
    p.add_argument("history", help="a History saved with History.to_json(path)")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    _common(p, seed=False)
    p.set_defaults(func=cmd_report)

    p = _sub(sub, "bench", "side-by-side benchmarks against scikit-learn (and PyTorch when installed)", "backproplab bench --quick\n  backproplab bench --only 1,4     # the blog network's step and the 784 network")
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="repeats per measurement (default 5, quick 1)")
    p.add_argument("--only", default=None, metavar="LIST",
                   help="comma-separated workloads to run: numbers 1-6 or blog-step, blog-task, digits, mnist, "
                        "scaling, memory (default: all)")
    p.add_argument("--out", default=None, help="folder for results.json and results.md")
    _common(p, seed=False)
    p.set_defaults(func=cmd_bench)

    from . import sweep_cli

    sweep_cli.add_parser(sub)

    from .dashboard.cli import add_parsers as add_dashboard_parsers  # dashboard, playground

    add_dashboard_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a failed check, 2 a user error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        handler: Callable[[argparse.Namespace], int] = args.func
        return handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except USER_ERRORS as error:
        if debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, FileNotFoundError) and error.filename and str(error.filename) not in message:
            message = f"{message}: {error.filename}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130

