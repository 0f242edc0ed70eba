"""Model files without pickle: an ``.npz`` archive read with ``allow_pickle=False`` holding the
parameter arrays and a JSON header (format version, library version, layer specs from a whitelist,
dtype, SHA-256 checksum). Saving is atomic: a temporary file in the same folder, then a rename.

Checkpoints are model files with the optimizer state and the run's counters added; :func:`load`
reads them as plain models. :class:`Checkpoint` is the fit hook that writes them (and resumes from
one); ``fit(checkpoint=..., resume=...)`` creates it. Which layer types a model file may name comes
from :mod:`backproplab.registry`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from . import registry, training
from .history import Callback, History
from .network import Network
from .optimizers import Optimizer

__all__ = ["save", "load", "load_metadata", "save_checkpoint", "load_checkpoint", "Checkpoint", "ModelFileError",
           "FORMAT_VERSION"]

FORMAT = "backproplab-model"
FORMAT_VERSION = 1
HEADER = "header"
MAX_HEADER_BYTES = 1 << 20


class ModelFileError(ValueError):
    """A file that is not a readable backproplab model; the message names the file and the reason."""


def _version() -> str:
    from . import __version__

    return __version__


def _checksum(header: dict[str, Any], arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _write(path: str | os.PathLike[str], header: dict[str, Any], arrays: list[np.ndarray]) -> None:
    header = dict(header, checksum=_checksum(header, arrays))
    members = {HEADER: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
    members.update({f"array_{i:03d}": a for i, a in enumerate(arrays)})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    try:
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=".backproplab-", suffix=".tmp", delete=False)
    except OSError as error:
        raise OSError(f"cannot save to {path!r}: {error.strerror or error}") from None
    try:
        with handle:
            np.savez(handle, **members)  # type: ignore[arg-type]  # numpy's stub types **kwds poorly
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException as error:
        try:
            os.remove(handle.name)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise OSError(
                f"cannot save to {path!r}: {error.strerror or error}; any existing file there is unchanged"
            ) from None
        raise


def save(net: Any, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> None:
    """Write ``net`` (a Network, or a fitted BackpropClassifier/Regressor) to ``path`` atomically; a
    failure leaves any existing file there unchanged.

    ``metadata`` is JSON-plain data kept in the header (feature and target names, classes, the task,
    the scaling); :func:`load_metadata` reads it back."""
    if not isinstance(net, Network) and hasattr(net, "_backproplab_state"):  # an estimator
        net, metadata = net._backproplab_state()
    header = _model_header(net)
    if metadata is not None:
        header["metadata"] = _check_metadata(os.fspath(path), metadata, "save")
    _write(path, header, net.get_weights())


def _check_metadata(path: str, value: Any, action: str = "load", where: str = "metadata") -> Any:
    """``value`` if it is JSON-plain (dicts with string keys, lists, str, finite numbers, bool, None)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise (_fail(path, f"{where} has a non-string key {key!r}") if action == "load"
                       else TypeError(f"metadata keys must be strings, got {key!r} in {where}"))
            _check_metadata(path, item, action, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_metadata(path, item, action, f"{where}[{index}]")
    elif not (value is None or isinstance(value, (str, bool, int)) or (isinstance(value, float) and np.isfinite(value))):
        if action == "load":
            raise _fail(path, f"{where} is not plain JSON data ({type(value).__name__})")
        raise TypeError(f"metadata must be plain JSON data; {where} is {value!r} ({type(value).__name__})")
    return value


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` dict saved with a model (empty when there is none), validated as plain JSON data."""
    header, _ = _read(path)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _fail(os.fspath(path), "its metadata is not a JSON object")
    return _check_metadata(os.fspath(path), metadata)


def _model_header(net: Network) -> dict[str, Any]:
    spec = net.spec()
    for index, layer in enumerate(spec["layers"]):
        if registry.by_type(layer.get("type")) is None:
            raise ValueError(
                f"layer {index} ({layer.get('type')}) is not a built-in layer; only "
                f"{', '.join(sorted(_layer_types()))} can be saved"
            )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": _version(),
        "network": spec,
    }


def save_checkpoint(
    path: str | os.PathLike[str], net: Network, optimizer: Optimizer, state: dict[str, Any]
) -> None:
    """Save the model plus the optimizer's state and the run's counters (step, epoch, rng)."""
    header = _model_header(net)
    weights = net.get_weights()
    opt_state = optimizer.state_arrays()
    header["checkpoint"] = {
        "optimizer": optimizer.config(),
        "t": optimizer.t,
        "n_weights": len(weights),
        "state": state,
    }
    _write(path, header, weights + [a.copy() for a in opt_state])


def _layer_types() -> list[str]:
    """The spec types a model file may name: the registry's."""
    return [entry.type_name for entry in registry.entries()]


def _fail(path: str, reason: str) -> ModelFileError:
    return ModelFileError(f"cannot load {path!r}: {reason}")


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[np.ndarray]]:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"cannot load {path!r}: no such file")
    if os.path.isdir(path):
        raise _fail(path, "it is a directory")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if f"{HEADER}.npy" not in names:
                raise _fail(path, "not a backproplab model (an .npz archive without a backproplab header)")
            bad = archive.testzip()
            if bad is not None:
                raise _fail(path, f"the file is corrupted (checksum error in member {bad!r})")
            sizes = {info.filename: info.file_size for info in archive.infolist()}
        if sizes[f"{HEADER}.npy"] > MAX_HEADER_BYTES:
            raise _fail(path, "the header is implausibly large")
        with np.load(path, allow_pickle=False) as data:
            header_bytes = data[HEADER]
            if header_bytes.dtype != np.uint8 or header_bytes.ndim != 1:
                raise _fail(path, "not a backproplab model (the header is not JSON bytes)")
            header = json.loads(header_bytes.tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise _fail(path, "not a backproplab model (unknown header format)")
            version = header.get("format_version")
            if version != FORMAT_VERSION:
                raise _fail(
                    path,
                    f"written with model format version {version!r}; this backproplab "
                    f"({_version()}) reads version {FORMAT_VERSION}",
                )
            count = len([n for n in names if n.startswith("array_")])
            arrays = [data[f"array_{i:03d}"] for i in range(count)]
    except ModelFileError:
        raise
    except zipfile.BadZipFile:
        raise _fail(path, "not a backproplab model (not an .npz archive, or truncated)") from None
    except ValueError as error:
        if "allow_pickle" in str(error) or "Object arrays" in str(error):
            raise _fail(path, "it contains pickled (object) arrays, which backproplab never loads") from None
        raise _fail(path, f"the file is corrupted ({error})") from None
    except Exception as error:  # any parser failure on a damaged file is a clean refusal
        raise _fail(path, f"the file is corrupted ({type(error).__name__}: {error})") from None
    for array in arrays:
        if array.dtype.kind != "f":
            raise _fail(path, f"an array has dtype {array.dtype}; only float arrays are stored")
    expected = header.pop("checksum", None)
    if expected != _checksum(header, arrays):
        raise _fail(path, "the file is corrupted (checksum mismatch)")
    return header, arrays


def _build(path: str, spec: Any) -> Network:
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise _fail(path, "the header has no layer list")
    dtype = spec.get("dtype")
    if dtype not in ("float64", "float32"):
        raise _fail(path, f"unsupported dtype {dtype!r}")
    layers: list[Any] = []
    for index, layer in enumerate(spec["layers"]):
        kind = layer.get("type") if isinstance(layer, dict) else None
        entry = registry.by_type(kind) if isinstance(kind, str) else None
        if entry is None:
            raise _fail(path, f"layer {index} has type {kind!r}, which is not in the whitelist {sorted(_layer_types())}")
        try:
            layers.append(entry.cls.from_spec(layer, dtype))  # type: ignore[attr-defined]
        except (KeyError, TypeError, ValueError) as error:
            raise _fail(path, f"layer {index} ({kind}) has a bad spec: {error}") from None
    try:
        return Network(layers, loss=spec.get("loss", ""), l2=spec.get("l2", 0.0))
    except (TypeError, ValueError) as error:
        raise _fail(path, str(error)) from None


def _restore(path: str, net: Network, arrays: list[np.ndarray]) -> None:
    params = net.parameters()
    if len(arrays) < len(params):
        raise _fail(path, f"it holds {len(arrays)} arrays but the architecture needs {len(params)}")
    for index, (param, array) in enumerate(zip(params, arrays)):
        if array.shape != param.shape or array.dtype != param.dtype:
            raise _fail(
                path,
                f"array {index} has shape {array.shape} and dtype {array.dtype}, "
                f"the architecture needs {param.shape} {param.dtype}",
            )
        if not np.isfinite(array).all():
            raise _fail(path, f"array {index} holds non-finite values")
    net.set_weights(arrays[: len(params)])


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model (or a checkpoint) written by :func:`save`; never unpickles anything.

    Returns a Network, or the BackpropClassifier/Regressor that was saved."""
    header, arrays = _read(path)
    net = _build(os.fspath(path), header.get("network"))
    _restore(os.fspath(path), net, arrays)
    if "checkpoint" not in header and len(arrays) != len(net.parameters()):
        raise _fail(os.fspath(path), "it holds more arrays than the architecture needs")
    metadata = _check_metadata(os.fspath(path), header.get("metadata", {}))
    if isinstance(metadata, dict) and "estimator" in metadata:
        from .estimators import _from_backproplab_state

        return _from_backproplab_state(os.fspath(path), net, metadata)
    return net


def load_checkpoint(path: str | os.PathLike[str], net: Network, optimizer: Optimizer) -> dict[str, Any]:
    """Copy a checkpoint's weights into ``net`` and its state into ``optimizer`` (already bound to
    ``net``); return the run's counters."""
    path = os.fspath(path)
    header, arrays = _read(path)
    checkpoint = header.get("checkpoint")
    if not isinstance(checkpoint, dict):
        raise _fail(path, "it is a model file, not a checkpoint")
    if header.get("network", {}).get("layers") != net.spec()["layers"]:
        raise _fail(path, "its architecture differs from the network being trained")
    if checkpoint.get("optimizer", {}).get("name") != optimizer.name:
        raise _fail(path, f"it was written by optimizer {checkpoint.get('optimizer', {}).get('name')!r}, not {optimizer.name!r}")
    n_weights = checkpoint["n_weights"]
    _restore(path, net, arrays[:n_weights])
    state = optimizer.state_arrays()
    saved = arrays[n_weights:]
    if len(saved) != len(state):
        raise _fail(path, "its optimizer state does not match the optimizer")
    for target, value in zip(state, saved):
        np.copyto(target, value)
    optimizer.t = int(checkpoint.get("t", 0))
    return dict(checkpoint.get("state", {}))


class Checkpoint(Callback):
    """The fit hook behind ``fit(checkpoint=path, checkpoint_every=k, resume=path)``.

    On creation it resumes from ``resume`` (weights, optimizer state, the run's counters and data
    order); it saves to ``path`` every ``every`` steps and when training ends (atomically).
    """

    def __init__(self, trainer: training.Trainer, path: str | os.PathLike[str] | None, every: int | None,
                 resume: str | os.PathLike[str] | None) -> None:
        self.trainer, self.path, self.every = trainer, path, every
        if resume is not None:
            trainer.resume_from(load_checkpoint(resume, trainer.net, trainer.optimizer))

    def _save(self) -> None:
        if self.path is not None:
            trainer = self.trainer
            save_checkpoint(self.path, trainer.net, trainer.optimizer, trainer.checkpoint_state())

    def on_step_end(self, step: int, loss: float) -> None:
        if self.every and step % self.every == 0:
            self._save()

    def on_train_end(self, history: History) -> None:
        self._save()


training.register_checkpoints(Checkpoint)
