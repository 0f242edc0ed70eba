"""How well does the diagnosis name the root cause? The labelled corpus (tests/diagnosis_corpus.py)
diagnosed by backproplab, next to what scikit-learn's MLP reports on the same data and settings (its
ConvergenceWarning, or an exception) and, when installed, nnscope's insights on the same training
runs. Part of `make bench`; `python benchmarks/diagnosis.py [--only NAME ...]`.

Scoring: a run's *top-1* answer is the first warning or error (nnscope: the first "warn"/"error"
insight; scikit-learn: its first warning), mapped to our codes; "healthy" when there is none.
Per code, precision and recall of that answer; top-1 accuracy over the sick runs; false alarms are
healthy runs with any warning or error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import backproplab as bp  # noqa: E402
from diagnosis_corpus import HEALTHY, RUNS, Outcome  # noqa: E402

NNSCOPE = {"nan": "lr_too_large", "vanishing": "vanishing_gradient", "exploding": "exploding_gradient",
           "lr_high": "lr_too_large", "lr_low": "lr_too_small", "dead": "dead_units", "saturated": "saturated_units",
           "inactive": "dead_units", "overfit": "overfitting"}
SKLEARN_ACTIVATION = {"relu": "relu", "leaky_relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "identity": "identity"}


class _DenseView:
    """What nnscope looks for on a layer object: W, b, dW, db arrays."""

    def __init__(self, dense: Any) -> None:
        self.W, self.b, self.dW, self.db = dense.W.value, dense.b.value, dense.W.grad, dense.b.grad


class NNScopeFeed(bp.Callback):
    """Logs every epoch (and every step of a hand-written loop) into a headless nnscope Scope."""

    def __init__(self) -> None:
        import nnscope

        self.scope = nnscope.Scope("corpus", live=False, quiet=True, open_browser=False)
        self.net: Any = None
        self.history: Any = None

    def on_train_begin(self, net: Any, history: Any) -> None:
        self.net, self.history = net, history

    def on_epoch_end(self, epoch: int, history: Any) -> None:
        if epoch > 200 and epoch % max(1, epoch // 200):
            return None  # long full-batch runs: thin the log (nnscope thins its own records too)
        net = self.net
        dense = [layer for layer in net.layers if isinstance(layer, bp.Dense)]
        layers = []
        for layer in net.layers:
            layers.append(_DenseView(layer) if isinstance(layer, bp.Dense) else layer)
        acts = []
        for d in dense:
            index = net.layers.index(d)
            after = net.layers[index + 1] if index + 1 < len(net.layers) else None
            acts.append(np.asarray(after.A) if after is not None and after in net.body and getattr(after, "A", None) is not None else None)
        metrics = {"val_loss": history.val_loss[-1]} if history.val_loss else None
        model = type("Model", (), {})()
        model.layers = layers
        self.scope.log(epoch, model=model, loss=history.loss[-1], metrics=metrics, activations=acts)
        return None

    def on_hand_step(self, step: int, params: list[np.ndarray], grads: list[np.ndarray], loss: float) -> None:
        self.scope.log(step, weights=params[0::2], biases=params[1::2], grads=grads[0::2], bias_grads=grads[1::2], loss=loss)

    def answers(self) -> list[str]:
        return [NNSCOPE.get(i["kind"], i["kind"]) for i in self.scope.insights if i["level"] in ("warn", "error")]


def sklearn_answers(outcome: Outcome) -> list[str]:
    """Fit scikit-learn's MLP with the run's settings; report its warnings (or the exception it raised)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    s = outcome.settings
    classify = s.get("loss") in ("bce", "cross_entropy")
    y = np.asarray(outcome.y)
    y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
    cls = MLPClassifier if classify else MLPRegressor
    batch = s.get("batch_size") or len(outcome.X)
    model = cls(hidden_layer_sizes=s.get("hidden_layer_sizes", (16,)), activation=SKLEARN_ACTIVATION.get(s.get("activation"), "relu"),
                solver=s.get("solver", "adam") if s.get("solver") in ("sgd", "adam") else "adam", learning_rate_init=s.get("lr", 1e-3),
                batch_size=min(batch, len(outcome.X)), max_iter=int(min(s.get("epochs", 200), 2000)), alpha=s.get("l2", 0.0) or 1e-4,
                early_stopping=bool(s.get("validation")), random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(outcome.X, y)
        except Exception as error:  # scikit-learn refuses some runs outright (one class, NaN): that is its report
            return [f"error: {type(error).__name__}"]
    return ["not_converged" if issubclass(w.category, ConvergenceWarning) else f"warning: {w.category.__name__}" for w in caught]


def score(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    sick = [r for r in rows if r["label"] != HEALTHY]
    healthy = [r for r in rows if r["label"] == HEALTHY]
    top1 = [r[key][0] if r[key] else HEALTHY for r in rows]
    codes = sorted({r["label"] for r in sick})
    per_code = {}
    for code in codes:
        tp = sum(1 for r, t in zip(rows, top1) if r["label"] == code and t == code)
        predicted = sum(1 for t in top1 if t == code)
        actual = sum(1 for r in rows if r["label"] == code)
        per_code[code] = {"precision": tp / predicted if predicted else None, "recall": tp / actual, "runs": actual}
    correct = sum(1 for r, t in zip(rows, top1) if r["label"] != HEALTHY and t == r["label"])
    return {"top1": correct / len(sick), "false_alarms": sum(1 for r in healthy if r[key]), "healthy_runs": len(healthy),
            "per_code": per_code}


def run(only: list[str]) -> dict[str, Any]:
    try:
        import nnscope  # noqa: F401
        have_nnscope = True
    except ImportError:
        have_nnscope = False
    rows = []
    for item in RUNS:
        if only and not any(o in item.name for o in only):
            continue
        feed = NNScopeFeed() if have_nnscope else None
        start = time.perf_counter()
        outcome = item.execute([feed] if feed is not None else [])
        seconds = time.perf_counter() - start
        ours = [f.code for f in outcome.diagnosis.findings if f.severity in ("warning", "error")]
        row = {"name": item.name, "label": item.label, "data": item.data, "backproplab": ours, "seconds": seconds,
               "headline": outcome.diagnosis.headline, "scikit-learn": sklearn_answers(outcome)}
        if feed is not None:
            row["nnscope"] = feed.answers()
        rows.append(row)
        print(f"{item.name:34s} {item.label:24s} ours={ours[0] if ours else HEALTHY:24s} "
              f"sklearn={(row['scikit-learn'] or [HEALTHY])[0]:20s} nnscope={(row.get('nnscope') or [HEALTHY])[0]}", flush=True)
    tools = ["backproplab", "scikit-learn"] + (["nnscope"] if have_nnscope else [])
    return {"runs": rows, "scores": {tool: score(rows, tool) for tool in tools}, "nnscope_installed": have_nnscope}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def markdown(result: dict[str, Any]) -> str:
    scores = result["scores"]
    tools = list(scores)
    lines = ["| code | runs | " + " | ".join(f"{t} precision / recall" for t in tools) + " |",
             "|---|---|" + "---|" * len(tools)]
    for code, first in scores["backproplab"]["per_code"].items():
        cells = [f"{_cell(scores[t]['per_code'][code]['precision'])} / {_cell(scores[t]['per_code'][code]['recall'])}" for t in tools]
        lines.append(f"| {code} | {first['runs']} | " + " | ".join(cells) + " |")
    lines.append("| **top-1 root cause (sick runs)** | " + str(sum(v["runs"] for v in scores["backproplab"]["per_code"].values()))
                 + " | " + " | ".join(f"**{scores[t]['top1']:.0%}**" for t in tools) + " |")
    lines.append("| **false alarms (healthy runs)** | " + str(scores["backproplab"]["healthy_runs"]) + " | "
                 + " | ".join(f"**{scores[t]['false_alarms']} of {scores[t]['healthy_runs']}**" for t in tools) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="run only the corpus runs whose name contains one of these")
    args = parser.parse_args()
    result = run(args.only)
    table = markdown(result)
    print(table)
    print(Counter(r["label"] for r in result["runs"]))
    if not args.only:
        out = os.path.join(HERE, "results")
        with open(os.path.join(out, "diagnosis.json"), "w") as handle:
            json.dump(result, handle, indent=1, default=float)
        with open(os.path.join(out, "diagnosis.md"), "w") as handle:
            handle.write(table + "\n")


if __name__ == "__main__":
    main()
