"""Probe files: one ``.npz`` (``allow_pickle=False``) with a JSON header carrying a format version.

Arrays: ``steps``, ``loss``, ``grad_norms``/``weight_norms``/``update_ratios`` (records x arrays),
``snap_steps``/``snap_weights``/``snap_grads``/``snap_previous`` (the full snapshots),
``replay_steps``/``replay_weights``, ``X``, ``y``, ``act_<i>`` and ``first_act_<i>`` (the activations).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from .. import _io
from ._arrays import Layout

__all__ = ["save_probe", "load_probe", "ProbeFileError", "FORMAT", "VERSION"]

FORMAT = "backproplab-probe"
VERSION = 1


class ProbeFileError(ValueError):
    """A file that is not a readable backproplab probe file; the message names the file and the reason."""


def _header(probe: Any) -> dict[str, Any]:
    from .. import __version__

    layout = probe.layout
    return {
        "format": FORMAT, "version": VERSION, "library_version": __version__, "every": probe.every,
        "calls": probe.n_calls, "records": probe.n_records, "names": list(layout.names),
        "shapes": [list(s) for s in layout.shapes], "kind": layout.kind, "has_grads": probe.has_grads,
        "activation_names": list(probe.activation_names), "notes": list(probe.notes), "model_report": probe.model_report,
        "gradient_check": probe.gradient_check.to_dict() if probe.gradient_check is not None else None,
    }


def save_probe(probe: Any, path: Any) -> str:
    """Write ``probe`` to ``path`` atomically (see the module notes for the contents)."""
    target = _io.check_output_path(path, "path")
    if probe.layout is None:
        raise ValueError("the probe has recorded nothing yet; there is nothing to save")
    stats = probe.statistics()
    names = probe.layout.names
    arrays: dict[str, np.ndarray] = {
        "header": np.array(json.dumps(_header(probe))),
        "steps": stats["steps"], "loss": stats["loss"],
        **{key: np.column_stack([stats[key][n] for n in names]) for key in ("grad_norms", "weight_norms", "update_ratios")},
    }
    snaps = probe.snapshots()
    total = probe.layout.total
    arrays["snap_steps"] = np.array([s.step for s in snaps], dtype=np.int64)
    arrays["snap_weights"] = np.array([s.weights for s in snaps]).reshape(len(snaps), total)
    arrays["snap_grads"] = np.array([s.grads for s in snaps]).reshape(len(snaps), total)
    arrays["snap_previous"] = np.array([s.previous if s.previous is not None else np.full(total, np.nan) for s in snaps]).reshape(len(snaps), total)
    replay = probe._replay_rows()
    arrays["replay_steps"] = np.array([step for step, _ in replay], dtype=np.int64)
    arrays["replay_weights"] = np.array([row for _, row in replay]).reshape(len(replay), total)
    for key, value in (("X", probe.X), ("y", probe.y)):
        if value is not None:
            arrays[key] = value
    for i, a in enumerate(probe.activations):
        arrays[f"act_{i}"] = a
    for i, a in enumerate(probe.first_activations):
        arrays[f"first_act_{i}"] = a
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return _io.atomic_write(target, buffer.getvalue())


def _read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ProbeFileError(f"{path!r} is not a backproplab probe file: cannot read it as .npz ({error})") from None
    if "header" not in arrays:
        raise ProbeFileError(f"{path!r} is not a backproplab probe file: it has no probe header")
    try:
        header = json.loads(str(arrays.pop("header")))
    except json.JSONDecodeError:
        raise ProbeFileError(f"{path!r} is not a backproplab probe file: its header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ProbeFileError(f"{path!r} is not a backproplab probe file (format {header.get('format') if isinstance(header, dict) else None!r})")
    if header.get("version") != VERSION:
        raise ProbeFileError(f"{path!r} was written in probe file format version {header.get('version')!r}; this "
                             f"backproplab reads version {VERSION}")
    return header, arrays


def load_probe(cls: Any, path: Any, snapshot: Any) -> Any:
    """A Probe restored from ``path``: statistics, snapshots, replay, data and activations."""
    from .check import CheckReport  # noqa: F401  (the saved check is kept as its dict)

    path = _io.check_regular_file(path, "path")
    header, arrays = _read(path)
    try:
        probe = cls(every=int(header["every"]))
        layout = Layout(tuple(header["names"]), tuple(tuple(int(d) for d in s) for s in header["shapes"]), header["kind"])
        probe._restore(layout, header, arrays, snapshot)
    except (KeyError, TypeError, ValueError) as error:
        raise ProbeFileError(f"{path!r} is a damaged backproplab probe file: {error}") from None
    return probe
