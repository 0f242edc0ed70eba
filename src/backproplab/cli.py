"""The ``backproplab`` command line: a thin layer over the library.

Every user error exits with status 2 and one line ``error: ...`` on stderr (``--debug`` shows the
traceback). Results go to stdout, as text or, with ``--json``, as one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from . import __version__, _io
from ._validation import check_int, check_parameter_memory, check_real, plain
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


def _nonfinite_paths(value: Any, path: str = "") -> list[str]:
    """Where (as ``a.b[2]`` paths) ``value`` holds NaN or an infinity."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nonfinite_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _nonfinite_paths(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path} ({value})"]
    return []


def emit_json(data: Any) -> None:
    """Print one JSON object. JSON has no Infinity or NaN: such values become null, and a
    ``non_finite`` list says which they were."""
    data = plain(data, nonfinite_as_none=False)
    bad = _nonfinite_paths(data)
    data = plain(data)
    if bad and isinstance(data, dict):
        data["non_finite"] = [f"{where} is not a finite number; shown as null" for where in bad[:50]]
    print(json.dumps(data, indent=1, default=_json_default, allow_nan=False))


def _common(parser: argparse.ArgumentParser, seed: bool = True, as_json: bool = True) -> None:
    if as_json:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def _seeds_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be an integer >= 1, got {text!r}")
    return value


def _sub(subparsers: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _int_list(text: str) -> list[int]:
    """Hidden layer sizes ``8,8``; ``none`` for no hidden layer. Empty entries (``3,,4``, ``""``) are
    refused rather than dropped, so a typo never silently changes the architecture."""
    if text.strip().lower() == "none":
        return []
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 8,8 (or none for no hidden layer), got {text!r}"
        )
    try:
        values = [int(part) for part in parts]
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
def _add_network_options(parser: argparse.ArgumentParser, layers: int = 16) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--layers", type=_int_list, default=[layers], help=f"hidden layer sizes, e.g. 8,8 (default {layers})")
    group.add_argument("--hidden", default="relu", help="hidden activation (default relu)")
    group.add_argument("--output", default=None, help="output activation (default: from the loss)")
    group.add_argument("--loss", default=None, help="mse, mae, bce or cross_entropy (default: inferred from the target)")
    group.add_argument("--init", default=None, help="initialiser (default: He for ReLU, Glorot otherwise)")
    group.add_argument("--l2", type=float, default=0.0, help="L2 penalty lambda (default 0)")


def _column_options(parser: argparse.ArgumentParser, weight: bool = True) -> Any:
    """The "data" group: how `train` reads a table (the task, scaling, which columns are features)."""
    group = parser.add_argument_group("data")
    group.add_argument("--task", choices=["classification", "regression"], default=None,
                       help="default: inferred from the target (text and small sets of integers are classes)")
    group.add_argument("--scale", choices=["standard", "minmax", "none"], default="standard",
                       help="input scaling fitted on the training rows and saved in the model; regression targets "
                            "are standardised too unless none (default standard)")
    group.add_argument("--features", default=None, metavar="COLS", help="use only these columns as features")
    group.add_argument("--drop", default=None, metavar="COLS", help="leave these columns out of the features")
    group.add_argument("--id", default=None, metavar="COL", help="an id column: not a feature, copied into predictions")
    if weight:
        group.add_argument("--weight", default=None, metavar="COL", help="a column of per-row sample weights")
    return group


def _table_options(parser: argparse.ArgumentParser) -> None:
    group = _column_options(parser)
    group.add_argument("--history", default=None, metavar="PATH", help="write the training History (JSON) here, "
                       "for `backproplab report`")
    group.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1,
                       help="0 quiet; 1 a bar on a terminal, one line per epoch otherwise; 2 always lines (default 1)")


def _ignore_extra_option(parser: Any, help_text: str = "ignore columns the model was not trained on") -> None:
    parser.add_argument("--ignore-extra", action="store_true", help=help_text)


def _match_options(parser: argparse.ArgumentParser) -> None:
    _ignore_extra_option(parser)
    parser.add_argument("--drop", default=None, metavar="COLS", help="columns of DATA to ignore")


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


def _fit(net: Any, X: np.ndarray, y: np.ndarray, args: argparse.Namespace, monitor: Any = None, **extra: Any) -> Any:
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
    # only checkpoints keep the fingerprint: a run without them does not hash its data
    uses_checkpoints = getattr(args, "checkpoint", None) or getattr(args, "resume", None)
    fingerprint = _check_resume(args, X, y) if uses_checkpoints else None
    optimizer: Optimizer
    if args.optimizer == "sgd" and args.momentum:
        optimizer = SGD(lr=0.01 if args.lr is None else args.lr, momentum=args.momentum)
    else:
        optimizer = get(args.optimizer, args.lr)
    options: dict[str, Any] = dict(
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
    options.update(extra)  # the table path's validation rows, callbacks, metrics and weights
    from .persistence import checkpoint_metadata

    with checkpoint_metadata(**({} if fingerprint is None else {"data_fingerprint": fingerprint})):
        return net.fit(X, y, **options)


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


# ---------------------------------------------------------------------- checks before any work
#: integer options: their smallest allowed value (--batch-size, where 0 means the full batch, is the library's)
INT_OPTIONS = {"repeats": 1, "rows": 1, "max_entries": 1, "epochs": 1, "max_steps": 1, "patience": 1,
               "checkpoint_every": 1, "stop_window": 1}
#: real options: (minimum, strict)
REAL_OPTIONS = {"lr": (0.0, False), "l2": (0.0, False), "momentum": (0.0, False), "stop_loss": (0.0, True),
                "stop_grad_norm": (0.0, True), "time_limit": (0.0, True), "val_fraction": (0.0, True)}
#: per command: the files it writes, the folders it writes into, the files it reads
OUTPUT_FILES = {"train": ("save", "report", "checkpoint", "history"), "doctor": ("report", "checkpoint"),
                "predict": ("out",), "experiment": ("report",), "report": ("output",)}
OUTPUT_FOLDERS = {"demo": ("out",), "bench": ("out",)}
INPUT_FILES = {"train": ("data", "resume"), "doctor": ("data", "model", "resume"), "predict": ("model", "data"),
               "evaluate": ("model", "data"), "gradcheck": ("model_or_data", "data"), "report": ("history",)}
DATA_FILES = ("data", "history")  # read by the CLI's own readers; models are checked by persistence.load


def _option(dest: str) -> str:
    return {"data": "DATA", "model": "MODEL", "model_or_data": "MODEL_OR_DATA", "output": "--output"}.get(
        dest, "--" + dest.replace("_", "-"))


def _check_args(args: argparse.Namespace) -> None:
    """Refuse option values no command can use, naming the option: ``--rows -59``, ``--repeats 0``,
    ``--momentum`` with an optimizer that has none."""
    for dest, smallest in INT_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            check_int(_option(dest), getattr(args, dest), minimum=smallest)
    for dest, (low, strict) in REAL_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            check_real(_option(dest), getattr(args, dest), minimum=low, strict=strict)
    if getattr(args, "momentum", 0.0) and getattr(args, "optimizer", "sgd") != "sgd":
        raise ValueError(f"--momentum applies to --optimizer sgd only, got --optimizer {args.optimizer} "
                         f"(which ignores it); drop --momentum or use --optimizer sgd")
    if getattr(args, "momentum", 0.0) >= 1:
        raise ValueError(f"--momentum must be < 1, got {args.momentum}")
    if getattr(args, "val_fraction", None) is not None and args.val_fraction >= 1:
        raise ValueError(f"--val-fraction must be < 1, got {args.val_fraction}")


def _check_paths(args: argparse.Namespace) -> None:
    """Check every output path before any work starts, refuse special files as inputs, and refuse
    an output that is an input or another output (``--resume`` may be the ``--checkpoint``)."""
    command = getattr(args, "command", "")
    inputs = [("--model" if (command, d) == ("doctor", "model") else _option(d), getattr(args, d, None))
              for d in INPUT_FILES.get(command, ())]
    outputs = [(_option(d), getattr(args, d, None)) for d in OUTPUT_FILES.get(command, ())]
    for argument, path in inputs:
        dest = argument.lower().lstrip("-")
        if path is not None and (dest in DATA_FILES or (dest == "model_or_data" and not str(path).endswith(".npz"))):
            _io.check_regular_file(path, "data file" if dest == "data" else f"{argument}")
    for argument, path in outputs:
        if path is not None:  # also "": an empty --save must not silently save nothing
            _io.check_output_path(path, argument)
    for dest in OUTPUT_FOLDERS.get(command, ()):
        _check_output_folder(getattr(args, dest, None), _option(dest))
    resume = [(a, p) for a, p in inputs if a == "--resume"]
    _io.check_distinct_paths([(a, p) for a, p in inputs if a != "--resume"], outputs)
    _io.check_distinct_paths(resume, [(a, p) for a, p in outputs if a != "--checkpoint"])


def _check_output_folder(path: str | None, argument: str) -> None:
    if path is None:
        return
    if not path:
        raise ValueError(f"{argument} is empty; expected a folder path")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{argument} {path!r}: {existing!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{argument} {path!r}: folder {existing!r} is not writable")


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the training arrays (shapes and values): the same data in another file matches."""
    digest = hashlib.sha256(f"{X.shape}{y.shape}".encode())
    # .data (a memoryview) hashes the values in place: tobytes() would copy them first (32 MB for 200k x 20)
    digest.update(np.ascontiguousarray(X, dtype=np.float64).data)
    digest.update(np.ascontiguousarray(y, dtype=np.float64).data)
    return digest.hexdigest()[:32]


def _check_resume(args: argparse.Namespace, X: np.ndarray, y: np.ndarray) -> str:
    """The data's fingerprint; with ``--resume``, refuse a checkpoint written on other data or one
    that has already done the ``--epochs``/``--max-steps`` asked for."""
    fingerprint = _fingerprint(X, y)
    if not getattr(args, "resume", None):
        return fingerprint
    from .persistence import read_checkpoint_info

    info = read_checkpoint_info(args.resume)
    stored = info.get("data_fingerprint")
    if stored is not None and stored != fingerprint:
        raise ValueError(f"--resume {args.resume!r} was written while training on other data than {args.data!r}; "
                         "resume on the data file it was trained on")
    done = info["state"]
    if args.epochs is not None and args.epochs <= done["epoch"]:
        raise ValueError(f"--epochs {args.epochs} is not more than the {done['epoch']} epochs {args.resume!r} has "
                         "already done; give a larger --epochs (the total) to continue")
    if args.max_steps is not None and args.max_steps <= done["step"]:
        raise ValueError(f"--max-steps {args.max_steps} is not more than the {done['step']} steps {args.resume!r} "
                         "has already done; give a larger --max-steps (the total) to continue")
    return fingerprint


def _check_target_varies(y: np.ndarray, names: Any, data: str) -> None:
    """A target column holding one value gives nothing to learn (and an undefined r2): say so."""
    y = y.reshape(len(y), -1)
    for column in range(y.shape[1]):
        values = y[:, column]
        if values.size > 1 and np.all(values == values[0]):
            name = names[column] if isinstance(names, (list, tuple)) and column < len(names) else column
            raise ValueError(f"target column {name!r} of {data!r} is constant (every row is {values[0]}); "
                             "there is nothing to learn: check --target")


class _Signals:
    """SIGINT, SIGTERM and SIGHUP during a command raise KeyboardInterrupt, which the training loop
    turns into a clean stop after the current step (so outputs are still saved); the command then
    exits 128 + the signal number (130, 143, 129)."""

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        raise KeyboardInterrupt

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for name in self.NAMES:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    @property
    def status(self) -> int:
        return 128 + (self.received or signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.received or signal.SIGINT).name


def _install_signal_handlers() -> _Signals:
    return _Signals()


def _quiet_broken_pipe() -> int:
    """The reader of our stdout went away (``predict ... | head``): stop quietly, like other tools."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 128 + getattr(signal, "SIGPIPE", 13)


# ---------------------------------------------------------------------- commands
def _table_network(args: argparse.Namespace, X_train: np.ndarray, prepared: Any) -> Any:
    """The MLP for a table; with ``--scale standard|minmax`` its first layer is a Standardize layer
    fitted on the training rows (and saved with the model)."""
    from .network import Network

    scaling: dict[str, Any] = {} if args.scale == "none" else {"scale": args.scale}
    check_parameter_memory("--layers", [X_train.shape[1], *args.layers, prepared.n_outputs])
    net = Network.mlp(
        [X_train.shape[1], *args.layers, prepared.n_outputs],
        hidden=args.hidden,
        output=args.output,
        loss=prepared.loss,
        init=args.init,
        seed=args.seed,
        l2=args.l2,
        **scaling,
    )
    if scaling:
        scaler: Any = net.layers[0]  # the Standardize layer
        scaler.fit(X_train)
    return net


def _epoch_logging(args: argparse.Namespace) -> tuple[list[Any], bool]:
    """(callbacks, progress bar?): Keras-style lines when the output is not a terminal or with
    --verbose 2; a bar on a terminal with --verbose 1; nothing with --verbose 0. The lines go to
    stdout with the other text, to stderr with --json (stdout then holds one JSON object)."""
    from .tabular import EpochLines

    if args.verbose == 0:
        return [], False
    stream = sys.stderr if args.json else sys.stdout
    lines = args.verbose >= 2 or not stream.isatty()
    total = args.epochs if args.epochs is not None else (None if args.max_steps is not None else 200)
    return ([EpochLines(stream, total)], False) if lines else ([], True)


def _scores(metadata: dict[str, Any], y: Any, outputs: np.ndarray, source: str,
            sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    from .tabular import evaluate_outputs

    names = ["accuracy", "f1"] if metadata["task"] == "classification" else ["mae", "rmse", "r2"]
    return evaluate_outputs(metadata, y, outputs, names, source, sample_weight)


def _weighted_note(weight: str | None) -> str:
    """What the printed metrics are weighted by, or nothing."""
    return f"metrics weighted by {weight!r}" if weight else ""


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _read_table(args: argparse.Namespace) -> tuple[Any, Any]:
    """(dataset, prepared targets): DATA read by column name as `train` reads it (text or integer labels
    to classes, the task, --features/--drop/--id/--weight), with the task line and the id warning."""
    from . import data, tabular

    dataset = data.load(args.data, args.target, features=args.features, drop=args.drop, id=args.id,
                        weight=getattr(args, "weight", None))  # gradcheck has no --weight
    prepared = tabular.prepare(dataset, args.task, args.loss, scale_targets=args.scale != "none")
    if not args.json:
        print(tabular.task_line(prepared, dataset.target_names))
    if dataset.id_guessed:
        _warn(f"column {dataset.id_name!r} looks like a row id (a distinct value in every row): it is not used as a "
              "feature and is copied into predictions; name the features with --features to use it")
    return dataset, prepared


def _read_training_table(args: argparse.Namespace) -> tuple[Any, Any, np.ndarray, np.ndarray | None]:
    """(dataset, prepared targets, training rows, validation rows), with the task line and warnings."""
    from . import tabular

    dataset, prepared = _read_table(args)
    fraction = args.val_fraction if args.val_fraction is not None else (0.1 if args.early_stopping else None)
    train_rows, val_rows = tabular.split_rows(len(dataset.X), fraction, args.seed)
    if args.scale == "none":
        targets = prepared.Y[train_rows] if prepared.task == "regression" else None
        for problem in tabular.scaling_warnings(dataset.X[train_rows], dataset.feature_names, targets,
                                                dataset.target_names):
            _warn(problem)
    return dataset, prepared, train_rows, val_rows


def _fit_options(args: argparse.Namespace, dataset: Any, prepared: Any, train_rows: np.ndarray,
                 val_rows: np.ndarray | None) -> dict[str, Any]:
    """What the table path adds to fit: its own validation rows, epoch lines, accuracy, weights, a monitor."""
    callbacks, bar = _epoch_logging(args)
    extra: dict[str, Any] = {"callbacks": callbacks, "progress": bar, "validation": None,
                             "metrics": ["accuracy"] if prepared.task == "classification" else []}
    if val_rows is not None:
        extra["validation"] = (dataset.X[val_rows], prepared.Y[val_rows])
    if dataset.sample_weight is not None:
        extra["sample_weight"] = dataset.sample_weight[train_rows]
    if args.report:
        from .diagnostics import GradientFlow

        extra["monitor"] = GradientFlow(every=10)
    return extra


@dataclass
class _TableRun:
    """A table read and fitted as `train` does: the data, its targets, the training rows and the network."""

    dataset: Any
    prepared: Any
    train_rows: np.ndarray
    val_rows: np.ndarray | None
    X: np.ndarray  # the training rows' features and network targets
    Y: np.ndarray
    net: Any
    history: Any


def _train_table(args: argparse.Namespace, **extra: Any) -> _TableRun:
    """Read DATA, build the network (`_table_network`) and fit it on the training rows; ``extra`` goes to fit."""
    dataset, prepared, train_rows, val_rows = _read_training_table(args)
    _check_target_varies(np.asarray(dataset.y), dataset.target_names, args.data)
    X_train, Y_train = (dataset.X, prepared.Y) if val_rows is None else (dataset.X[train_rows], prepared.Y[train_rows])
    net = _table_network(args, X_train, prepared)
    options = {**_fit_options(args, dataset, prepared, train_rows, val_rows), **extra}
    history = _fit(net, X_train, Y_train, args, **options)
    return _TableRun(dataset, prepared, train_rows, val_rows, X_train, Y_train, net, history)


def _train_scores(run: _TableRun, metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Metrics of the fitted network on its training rows and, with a validation split, its validation rows."""
    from .tabular import predict_rows

    weights = run.dataset.sample_weight

    def score(rows: np.ndarray, X: np.ndarray) -> dict[str, Any]:
        return _scores(metadata, run.dataset.y[rows], predict_rows(run.net, X), run.dataset.source,
                       None if weights is None else weights[rows])

    val_rows = run.val_rows
    return score(run.train_rows, run.X), None if val_rows is None else score(val_rows, run.dataset.X[val_rows])


def cmd_train(args: argparse.Namespace) -> int:
    from . import persistence, tabular
    from ._io import check_distinct_paths, check_output_path

    if args.history:
        check_output_path(args.history, "--history")
        check_distinct_paths([("DATA", args.data), ("--save", args.save), ("--report", args.report)],
                             [("--history", args.history)])
    run = _train_table(args)
    net, history = run.net, run.history
    metadata = tabular.model_metadata(run.dataset, run.prepared, args.scale)
    scores, val_scores = _train_scores(run, metadata)
    if args.save:
        persistence.save(net, args.save, metadata=metadata)
    if args.history:
        history.to_json(args.history)
    if args.report:
        from .report import write_report

        write_report(args.report, title=f"backproplab train {os.path.basename(args.data)}", history=history, net=net,
                     X=run.X, y=run.Y)
    if args.json:
        weighted = {"weighted_by": args.weight} if args.weight else {}
        emit_json({"history": history.to_dict(), "train_metrics": scores, "validation_metrics": val_scores,
                   "model": args.save, "target": run.dataset.target_names, "task": run.prepared.task,
                   "classes": metadata["classes"], "features": run.dataset.feature_names, **weighted})
        return 0
    note = f", {_weighted_note(args.weight)}" if args.weight else ""
    print(f"network: {net!r}")
    print(_history_summary(history))
    print(f"training set ({len(run.train_rows)} rows{note}): " + _score_text(scores))
    if val_scores is not None and run.val_rows is not None:
        print(f"validation set ({len(run.val_rows)} rows{note}): " + _score_text(val_scores))
    for path, what in ((args.save, "saved model to"), (args.history, "wrote history to"), (args.report, "wrote report to")):
        if path:
            print(f"{what} {path}")
    return 0


def _score_text(scores: dict[str, Any]) -> str:
    from ._format import num

    return ", ".join(f"{k} {num(v)}" for k, v in scores.items() if isinstance(v, float))


def _load_features(net: Any, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (and targets) by position, for models saved without column names (and gradcheck)."""
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


def _model_table(args: argparse.Namespace, need_target: bool) -> tuple[Any, dict[str, Any], Any, np.ndarray]:
    """(network, metadata, table, X): the model's features read from DATA by name."""
    from . import data, persistence

    net = persistence.load(args.model)
    metadata = persistence.load_metadata(args.model)
    if metadata.get("kind") != "table":
        raise ValueError(f"{args.model} was saved without column names (by the API, or an older backproplab); "
                         "read the data with the API, or retrain it with `backproplab train`")
    frame = data.read_table(args.data)
    targets = data._names(args.target) if getattr(args, "target", None) else list(metadata["target_names"])
    known = [*targets, *data._names(args.id), *data._names(metadata.get("id")), *data._names(metadata.get("weight")),
             *data._names(getattr(args, "weight", None)), *data._names(getattr(args, "drop", None))]
    source = repr(args.data)
    features = data.match_columns(frame, metadata["feature_names"], known=known, ignore_extra=args.ignore_extra,
                                  source=source)
    if need_target:
        data._require(frame, targets, source, "target")
    return net, metadata, frame, data._numeric(frame, features, source, "feature")


def _labelled_table(args: argparse.Namespace) -> tuple[Any, dict[str, Any], Any, np.ndarray, np.ndarray]:
    """(network, metadata, table, X, y): as :func:`_model_table`, with the targets as read (labels stay labels)."""
    from . import data

    net, metadata, frame, X = _model_table(args, need_target=True)
    targets = data._names(args.target) if args.target else list(metadata["target_names"])
    y = frame[targets[0]].to_numpy() if len(targets) == 1 else frame[targets].to_numpy()
    return net, metadata, frame, X, y


def _model_rows(args: argparse.Namespace) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """(network, X, network targets) of the saved model ``args.model`` on DATA: columns matched by name
    for a model `train` saved (targets encoded as it was trained), by position for one saved without names."""
    from . import persistence
    from .tabular import encode_targets

    if not _has_names(args.model):
        net = persistence.load(args.model)
        X, y = _load_features(net, args)
        return net, X, y
    net, metadata, _, X, y = _labelled_table(args)
    return net, X, encode_targets(metadata, y, repr(args.data))


def _has_names(model: str) -> bool:
    """Whether a model file records its columns (saved by `backproplab train`), so that data is
    matched by name; a model saved by the API has none and reads data by position."""
    from . import persistence

    return persistence.load_metadata(model).get("kind") == "table"


def _predict_by_position(args: argparse.Namespace) -> int:
    from . import persistence

    net = persistence.load(args.model)
    X, _ = _load_features(net, args)
    predictions = net.predict(X)
    header = [f"pred_{i}" for i in range(predictions.shape[1])]
    if args.out:
        _io.atomic_write(args.out, lambda handle: np.savetxt(handle, predictions, delimiter=",", header=",".join(header), comments=""))
    if args.json:
        emit_json({"predictions": predictions, "out": args.out})
    elif not args.out:
        print(",".join(header))
        for row in predictions:
            print(",".join(f"{v:.10g}" for v in row))
    else:
        print(f"wrote {len(predictions)} predictions to {args.out}")
    return 0


def _evaluate_by_position(args: argparse.Namespace) -> int:
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


def cmd_predict(args: argparse.Namespace) -> int:
    from ._io import check_distinct_paths, check_output_path, open_atomic
    from .data import _pandas
    from .tabular import decode, predict_rows

    if not _has_names(args.model):
        return _predict_by_position(args)
    if args.out:
        check_output_path(args.out, "--out")
        check_distinct_paths([("MODEL", args.model), ("DATA", args.data)], [("--out", args.out)])
    net, metadata, frame, X = _model_table(args, need_target=False)
    values, probabilities = decode(metadata, predict_rows(net, X))
    columns: dict[str, Any] = {}
    id_name = args.id or (metadata.get("id") if metadata.get("id") in frame.columns else None)
    if id_name:
        if id_name not in frame.columns:
            raise ValueError(f"{args.data} has no column {id_name!r} (--id)")
        columns[id_name] = frame[id_name].to_numpy()
    targets = metadata["target_names"]
    if probabilities is not None:
        columns[targets[0]] = values
        columns.update({f"proba_{label}": probabilities[:, k] for k, label in enumerate(metadata["classes"])})
    else:
        columns.update({name: values[:, j] for j, name in enumerate(targets)})
    table = _pandas().DataFrame(columns)
    if args.out:
        with open_atomic(args.out, "w", encoding="utf-8", newline="") as handle:
            table.to_csv(handle, index=False, float_format="%.10g")
    if args.json:
        emit_json({"predictions": table.to_dict(orient="list"), "out": args.out})
    elif not args.out:
        sys.stdout.write(table.to_csv(index=False, float_format="%.10g"))
    else:
        print(f"wrote {len(table)} predictions to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import weight_column
    from .tabular import encode_targets, evaluate_outputs, predict_rows

    if not _has_names(args.model):
        if args.weight:
            raise ValueError(f"--weight {args.weight} needs a model saved by `backproplab train`, which records the "
                             f"column names; {args.model} was saved without them")
        return _evaluate_by_position(args)
    net, metadata, frame, X, y = _labelled_table(args)
    source = repr(args.data)
    weights = None if args.weight is None else weight_column(frame, args.weight, source)
    outputs = predict_rows(net, X)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    scores = evaluate_outputs(metadata, y, outputs, names, source, weights)
    targets = encode_targets(metadata, y, source)
    scores["loss"] = net.evaluate(X, targets, ["loss"], sample_weight=weights)["loss"]
    if args.weight:
        scores["weighted_by"] = args.weight
    if args.json:
        emit_json(scores)
    else:
        print(_evaluation_text(scores))
    return 0


def _evaluation_text(scores: dict[str, Any]) -> str:
    from ._format import num

    macro = ("precision", "recall", "f1")
    lines = [_weighted_note(scores["weighted_by"])] if scores.get("weighted_by") else []
    lines += [f"{'macro ' if name in macro else ''}{name}: {num(value)}" for name, value in scores.items()
              if isinstance(value, float)]
    if "per_class" in scores:
        rows = scores["per_class"]
        names = [n for n in ("precision", "recall", "f1", "support") if n in next(iter(rows.values()))]
        width = max(len(str(label)) for label in rows) + 2
        lines.append("per class: " + "  ".join(f"{n:>9}" for n in names))
        for label, row in rows.items():
            lines.append(f"  {label:<{width}}" + "  ".join(f"{num(row[n]):>9}" for n in names))
    if "confusion" in scores:
        labels = [str(c) for c in scores["classes"]]
        width = max(max(len(label) for label in labels), 6) + 2
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        lines.append(" " * width + "".join(f"{label:>{width}}" for label in labels))
        for label, row in zip(labels, scores["confusion"]):
            lines.append(f"{label:<{width}}" + "".join(f"{num(v, 4):>{width}}" for v in row))
    return "\n".join(lines)


def _default_target(path: str) -> str:
    """gradcheck's target when --target is not given: "y" of an .npz file that has one, else the last column."""
    from . import data

    columns = list(data.read_table(path).columns)
    return "y" if path.lower().endswith(".npz") and "y" in columns else columns[-1]


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import gradcheck

    if args.model_or_data and args.data:
        args.model = args.model_or_data
        net, X, y = _model_rows(args)
    else:
        args.data = args.model_or_data
        if args.target is None:
            args.target = _default_target(args.data)
        dataset, prepared = _read_table(args)
        X, y = dataset.X, prepared.Y
        net = _table_network(args, X, prepared)
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
    many = {k: getattr(args, k) for k in ("seeds", "backend", "scheduler") if getattr(args, k) is not None}
    result = experiment(seed=args.seed, quick=args.quick, **many)
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
    from .diagnostics import GradientFlow, diagnose

    history = None
    if args.model:
        net, X, y = _model_rows(args)
    else:
        if args.epochs is None and args.max_steps is None:
            args.epochs = 50
        run = _train_table(args, monitor=GradientFlow(every=10))
        net, X, y, history = run.net, run.X, run.Y, run.history
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


def _read_history(path: str) -> Any:
    """A History saved by ``History.to_json``/``train --history``, or the output of ``train --json``."""
    from .training import History

    with open(path, encoding="utf-8") as handle:
        try:
            content = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    if isinstance(content, dict) and isinstance(content.get("history"), dict) and "train_metrics" in content:
        content = content["history"]  # `backproplab train --json` output
    if not isinstance(content, dict):
        raise ValueError(f"{path} is not a backproplab History (expected a JSON object)")
    return History.from_dict(content)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    history = _read_history(args.history)
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
def _main_parser() -> Parser:
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
    return parser


def _add_demo(sub: Any) -> None:
    p = _sub(sub, "demo", "run every reproduction of the source documents and print source vs ours", "backproplab demo --out demo-output")
    p.add_argument("--out", default=None, help="folder for figures, results and the HTML report")
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    _common(p)
    p.set_defaults(func=cmd_demo)


def _add_experiment(sub: Any) -> None:
    p = _sub(sub, "experiment", "list or run the reproductions of the source documents", "backproplab experiment run stall --json")
    p.add_argument("action", choices=["list", "run"])
    p.add_argument("name", nargs="?", help="experiment name (see `experiment list`)")
    p.add_argument("--report", default=None, help="write an HTML report here")
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    p.add_argument("--seeds", type=_seeds_count, default=None,
                   help="seeds per configuration (activation-race, batch-mean-update, tolerance-sweep)")
    p.add_argument("--backend", choices=["loky", "dask", "serial"], default=None, help="where the per-seed runs go")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (tcp://HOST:PORT) for --backend dask")
    _common(p)
    p.set_defaults(func=cmd_experiment)


def _add_train(sub: Any) -> None:
    p = _sub(sub, "train", "train a network on a data file", "backproplab train data.csv --target y --layers 8,8 --save model.npz")
    p.add_argument("data", help=".csv, .tsv, .npz, .npy or .mat file")
    p.add_argument("--target", required=True, help="target column name(s), comma-separated")
    _add_network_options(p, layers=100)  # scikit-learn's MLP default; 16 units lose 1.2 points on digits
    _training_options(p)
    p.add_argument("--save", default=None, help="save the trained model (.npz)")
    p.add_argument("--report", default=None, help="write an HTML report here")
    _table_options(p)
    _common(p)
    p.set_defaults(func=cmd_train)


def _add_predict(sub: Any) -> None:
    p = _sub(sub, "predict", "predict with a saved model", "backproplab predict model.npz data.csv --target y --out preds.csv")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--target", default=None, help="target column(s) in DATA to leave out of the features")
    p.add_argument("--out", default=None, help="write predictions as CSV here")
    _match_options(p)
    p.add_argument("--id", default=None, metavar="COL", help="copy this column into the predictions (default: the "
                   "training --id, when DATA has it)")
    _common(p, seed=False)
    p.set_defaults(func=cmd_predict)


def _add_evaluate(sub: Any) -> None:
    p = _sub(sub, "evaluate", "score a saved model on labelled data", "backproplab evaluate model.npz test.csv --target y")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--target", default=None, help="target column name(s) (default: the model's)")
    p.add_argument("--metrics", default=None, metavar="LIST", help="comma-separated: accuracy, precision, recall, "
                   "f1, confusion (classification) or mae, rmse, r2, mse (regression); default all")
    _match_options(p)
    p.add_argument("--id", default=None, metavar="COL", help="an id column of DATA to leave out of the features")
    p.add_argument("--weight", default=None, metavar="COL", help="weigh the rows by this column of DATA in every "
                   "metric and the loss (scikit-learn's sample_weight)")
    _common(p, seed=False)
    p.set_defaults(func=cmd_evaluate)


def _add_gradcheck(sub: Any) -> None:
    p = _sub(sub, "gradcheck", "check a network's gradients against finite differences (exit 1 on failure)",
             "backproplab gradcheck data.csv --target y --layers 4,4 --hidden tanh")
    p.add_argument("model_or_data", help="a saved model followed by DATA, or only DATA with --layers")
    p.add_argument("data", nargs="?", default=None)
    p.add_argument("--target", default=None, help="target column name(s) or index(es)")
    p.add_argument("--rows", type=int, default=32, help="check on at most this many rows (default 32)")
    p.add_argument("--max-entries", type=int, default=None, help="check at most this many entries per array")
    _add_network_options(p)
    _ignore_extra_option(_column_options(p, weight=False), "with a saved model: ignore columns of DATA it was not "
                         "trained on")
    _common(p)
    p.set_defaults(func=cmd_gradcheck)


def _add_doctor(sub: Any) -> None:
    p = _sub(sub, "doctor", "diagnose why training stalls, with evidence and remedies", "backproplab doctor data.csv --target y --report doctor.html")
    p.add_argument("data")
    p.add_argument("--target", required=True, help="target column name(s) or index(es)")
    p.add_argument("--model", default=None, help="diagnose this saved model instead of training one briefly")
    p.add_argument("--report", default=None, help="write an HTML report here")
    _add_network_options(p)
    _training_options(p)
    _ignore_extra_option(_column_options(p), "with --model: ignore columns of DATA the model was not trained on")
    _common(p)
    p.set_defaults(func=cmd_doctor, verbose=0)  # train's reader and fit, without its epoch lines


def _add_report(sub: Any) -> None:
    p = _sub(sub, "report", "build an HTML report from a saved History JSON", "backproplab report history.json -o report.html")
    p.add_argument("history", help="a History saved with History.to_json(path) or `train --history`, or `train --json` output")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    _common(p, seed=False)
    p.set_defaults(func=cmd_report)


def _add_bench(sub: Any) -> None:
    p = _sub(sub, "bench", "side-by-side benchmarks against scikit-learn (and PyTorch when installed)", "backproplab bench --quick\n  backproplab bench --only 1,4     # the blog network's step and the 784 network")
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="repeats per measurement (default 5, quick 1)")
    p.add_argument("--only", default=None, metavar="LIST",
                   help="comma-separated workloads to run: numbers 1-6 or blog-step, blog-task, digits, mnist, "
                        "scaling, memory (default: all)")
    p.add_argument("--out", default=None, help="folder for results.json and results.md")
    _common(p, seed=False)
    p.set_defaults(func=cmd_bench)


#: the subcommands in the order `backproplab --help` lists them (sweep, dashboard and playground follow)
SUBCOMMANDS = (_add_demo, _add_experiment, _add_train, _add_predict, _add_evaluate, _add_gradcheck, _add_doctor,
               _add_report, _add_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = _main_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in SUBCOMMANDS:
        add(sub)
    from . import sweep_cli

    sweep_cli.add_parser(sub)

    from .dashboard.cli import add_parsers as add_dashboard_parsers  # dashboard, playground

    add_dashboard_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a failed check, 2 a user error,
    128 + N after signal N: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 141 a closed output pipe)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    with _install_signal_handlers() as signals:
        try:
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                parser.print_help()
                return 0
            _check_args(args)
            _check_paths(args)
            handler: Callable[[argparse.Namespace], int] = args.func
            status = handler(args)
            sys.stdout.flush()  # a closed pipe shows here, inside the handlers, not at interpreter exit
            if signals.received is not None:
                print(f"error: interrupted by {signals.name}; training stopped after the current step and "
                      "the command wrote its outputs", file=sys.stderr)
                return signals.status
            return status
        except UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except KeyboardInterrupt:
            print(f"error: interrupted by {signals.name}", file=sys.stderr)
            return signals.status
        except MemoryError:
            if debug:
                raise
            print("error: out of memory; use smaller --layers, fewer rows or a float32 model", file=sys.stderr)
            return 2
        except USER_ERRORS as error:
            if debug:
                raise
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if isinstance(error, FileNotFoundError) and error.filename and str(error.filename) not in message:
                message = f"{message}: {error.filename}"
            print(f"error: {message}", file=sys.stderr)
            return 2
