"""Model files without pickle: an ``.npz`` archive read with ``allow_pickle=False`` holding the
parameter arrays and a JSON header (format version, library version, layer specs from a whitelist,
dtype, SHA-256 checksum). Saving is atomic: a temporary file in the same folder, then a rename.

Checkpoints are model files with the optimizer state and the run's counters added; :func:`load`
reads them as plain models. :class:`Checkpoint` is the fit hook that writes them (and resumes from
one); ``fit(checkpoint=..., resume=...)`` creates it. Which layer types a model file may name comes
from :mod:`backproplab.registry`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np

from . import _io, registry, training
from ._io import ModelFileError  # defined with the file checks, so that estimators need not import this module
from .history import Callback, History
from .layers import Dense, Parameter
from .network import Network
from .optimizers import Optimizer

__all__ = ["save", "load", "load_metadata", "save_checkpoint", "load_checkpoint", "Checkpoint", "ModelFileError",
           "FORMAT_VERSION"]

FORMAT = "backproplab-model"
FORMAT_VERSION = 1
HEADER = "header"
MAX_HEADER_BYTES = 1 << 20
MAX_NPY_HEADER = 1 << 16  # the .npy header before an array's data
MAX_LAYERS = 10_000
CHUNK = 1 << 20  # arrays are read in pieces of this many bytes, never as one bytes object


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
    """Write the archive through the one atomic writer (:func:`backproplab._io.atomic_write`)."""
    header = dict(header, checksum=_checksum(header, arrays))
    members = {HEADER: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
    members.update({f"array_{i:03d}": a for i, a in enumerate(arrays)})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise OSError(f"cannot save to {path!r}: it is a directory; any existing file there is unchanged")
    try:
        _io.atomic_write(path, lambda handle: np.savez(handle, **members))  # type: ignore[arg-type]
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise OSError(f"cannot save to {path!r}: {reason}; any existing file there is unchanged") from None


def _check_path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {path!r} ({type(path).__name__})")
    return os.fspath(path)


def save(net: Any, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> None:
    """Write ``net`` (a Network, or a fitted BackpropClassifier/Regressor) to ``path`` atomically; a
    failure leaves any existing file there unchanged.

    ``metadata`` is JSON-plain data kept in the header (feature and target names, classes, the task,
    the scaling); :func:`load_metadata` reads it back."""
    if not isinstance(net, Network) and hasattr(net, "_backproplab_state"):  # an estimator
        net, metadata = net._backproplab_state()
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backproplab Network or a fitted backproplab estimator, got {type(net).__name__}")
    _check_path(path)
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
    header, _ = _read(_check_path(path))
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


_CHECKPOINT_METADATA: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("checkpoint_metadata", default=None)


@contextlib.contextmanager
def checkpoint_metadata(**fields: Any) -> Iterator[None]:
    """Add JSON-able ``fields`` to every checkpoint written inside the block (the CLI stores the
    training data's fingerprint, so that ``--resume`` can refuse a different data file)."""
    token = _CHECKPOINT_METADATA.set({**(_CHECKPOINT_METADATA.get() or {}), **fields})
    try:
        yield
    finally:
        _CHECKPOINT_METADATA.reset(token)


def read_checkpoint_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``checkpoint`` part of a checkpoint's header (counters, optimizer, metadata), read with
    the same checks as :func:`load` but without reading any array."""
    path = os.fspath(path)
    with _open_regular(path) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                header = _read_header(path, archive)
        except ModelFileError:
            raise
        except Exception as error:
            raise _fail(path, f"not a backproplab model ({type(error).__name__}: {error})") from None
    checkpoint = header.get("checkpoint")
    if not isinstance(checkpoint, dict):
        raise _fail(path, "it is a model file, not a checkpoint")
    _checkpoint_counters(path, checkpoint, int(checkpoint.get("n_weights", -1)) if isinstance(checkpoint.get("n_weights"), int) else -1)
    return checkpoint


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
        **(_CHECKPOINT_METADATA.get() or {}),
    }
    _write(path, header, weights + [a.copy() for a in opt_state])


def _layer_types() -> list[str]:
    """The spec types a model file may name: the registry's."""
    return [entry.type_name for entry in registry.entries()]


def _fail(path: str, reason: str) -> ModelFileError:
    return ModelFileError(f"cannot load {path!r}: {reason}")


def _open_regular(path: str) -> IO[bytes]:
    """Open ``path`` for reading only if it is a regular file: a FIFO would hang and ``/dev/zero``
    would fill memory. Opened non-blocking and checked again on the open descriptor (no race)."""
    if not os.path.lexists(path):
        raise FileNotFoundError(f"cannot load {path!r}: no such file")
    try:
        _io.check_regular_file(path, "model file")
    except ValueError as error:
        if os.path.isdir(path):
            raise _fail(path, "it is a directory") from None
        if not os.path.exists(path):
            raise FileNotFoundError(f"cannot load {path!r}: no such file (a broken link)") from None
        if "not a regular file" in str(error):
            raise _fail(path, "it is not a regular file (a device, FIFO or socket)") from None
        raise _fail(path, str(error)) from None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _fail(path, f"it cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _fail(path, "it is not a regular file (a device, FIFO or socket)")
    return os.fdopen(fd, "rb")


def _expected_shapes(path: str, spec: Any) -> list[tuple[int, ...]]:
    """The parameter shapes a header's layer list declares, checked before anything is allocated."""
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise _fail(path, "the header has no layer list")
    if len(spec["layers"]) > MAX_LAYERS:
        raise _fail(path, f"the header declares {len(spec['layers'])} layers (at most {MAX_LAYERS} are read)")
    shapes: list[tuple[int, ...]] = []
    for index, layer in enumerate(spec["layers"]):
        if isinstance(layer, dict) and layer.get("type") == "Dense":
            declared: list[Any] = [layer.get("in_features"), layer.get("out_features")]
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in declared):
                raise _fail(path, f"layer {index} (Dense) has a bad spec: in_features/out_features {declared}")
            sizes = [int(v) for v in declared]
            if shapes and shapes[-1][0] != sizes[0]:
                raise _fail(path, f"layer shapes do not chain: Dense({shapes[-2][0]}, {shapes[-1][0]}) is followed "
                                  f"by Dense({sizes[0]}, {sizes[1]})")
            shapes += [(sizes[0], sizes[1]), (sizes[1],)]
    return shapes


def _member_plan(path: str, archive: zipfile.ZipFile, header: dict[str, Any], file_size: int) -> list[zipfile.ZipInfo]:
    """The array members in order, after checking the zip directory against the header's shapes.

    Every member's declared size must be what its shape needs, so that no array (and no zip bomb)
    is read whose size the header did not announce."""
    infos = {info.filename: info for info in archive.infolist()}
    if len(infos) != len(archive.infolist()):
        raise _fail(path, "the archive holds two members with the same name")
    shapes = _expected_shapes(path, header.get("network"))
    names = sorted(n for n in infos if n != f"{HEADER}.npy")
    count = len(names)
    if names != [f"array_{i:03d}.npy" for i in range(count)]:
        raise _fail(path, f"unexpected members in the archive: {', '.join(names[:5])}")
    is_checkpoint = "checkpoint" in header
    if count < len(shapes) or (count > len(shapes) and not is_checkpoint) or count > 4 * len(shapes) + 4:
        raise _fail(path, f"it holds {count} arrays but the architecture needs {len(shapes)}")
    n_params = sum(math.prod(s) for s in shapes)
    if sum(info.compress_size for info in infos.values()) > file_size:
        raise _fail(path, f"its zip directory declares more data than the file's {file_size} bytes (truncated or crafted)")
    for index, name in enumerate(names):
        info = infos[name]
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _fail(path, f"member {name} is stored uncompressed but declares {info.file_size} bytes in "
                              f"{info.compress_size} (crafted)")
        # an optimizer's state array is at most as large as all parameters together
        elements = math.prod(shapes[index]) if index < len(shapes) else n_params
        limit = elements * 8 + MAX_NPY_HEADER
        if info.file_size > limit:
            raise _fail(path, f"member {name} declares {info.file_size} bytes, but the header's shapes "
                              f"allow at most {limit}")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > 100 * max(info.compress_size, 1) + MAX_NPY_HEADER:
            raise _fail(path, f"member {name} expands {info.compress_size} bytes to {info.file_size} (a zip bomb?); "
                              "backproplab writes uncompressed archives")
    return [infos[n] for n in names]


def _read_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 check: Callable[[tuple[int, ...], np.dtype], str]) -> np.ndarray:
    """Read one ``.npy`` member, refusing it when its own header disagrees with ``check`` (which
    returns a reason or "") or with its declared size, before the array is allocated."""
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise _fail(path, f"member {info.filename} has .npy version {version}")
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(handle)
        if dtype.hasobject:
            raise _fail(path, "it contains pickled (object) arrays, which backproplab never loads")
        reason = check(tuple(shape), dtype)
        if reason:
            raise _fail(path, f"member {info.filename} {reason}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.file_size - handle.tell() != nbytes:
            raise _fail(path, f"member {info.filename} declares {info.file_size} bytes, its shape {tuple(shape)} needs {nbytes}")
        buffer = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=dtype)
        view = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        done = 0
        while done < nbytes:
            got = handle.readinto(view[done : done + CHUNK])  # type: ignore[attr-defined]
            if not got:
                raise _fail(path, f"member {info.filename} is truncated")
            done += got
    return buffer.reshape(shape, order="F" if fortran else "C")


def _read_header(path: str, archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        info = archive.getinfo(f"{HEADER}.npy")
    except KeyError:
        raise _fail(path, "not a backproplab model (an .npz archive without a backproplab header)") from None
    if info.file_size > MAX_HEADER_BYTES:
        raise _fail(path, "the header is implausibly large")

    def is_bytes(shape: tuple[int, ...], dtype: np.dtype) -> str:
        return "" if dtype == np.uint8 and len(shape) == 1 else "is not JSON bytes (not a backproplab model)"

    header = json.loads(_read_member(path, archive, info, is_bytes).tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _fail(path, "not a backproplab model (unknown header format)")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise _fail(
            path,
            f"written with model format version {version!r}; this backproplab "
            f"({_version()}) reads version {FORMAT_VERSION}",
        )
    return header


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[np.ndarray]]:
    path = os.fspath(path)
    with _open_regular(path) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                header = _read_header(path, archive)
                arrays = _read_arrays(path, archive, header)
        except ModelFileError:
            raise
        except zipfile.BadZipFile as error:
            if "CRC" in str(error) or "Bad magic" in str(error):
                raise _fail(path, f"the file is corrupted ({error})") from None
            raise _fail(path, "not a backproplab model (not an .npz archive, or truncated)") from None
        except (MemoryError, RecursionError) as error:
            raise _fail(path, f"the file is corrupted ({type(error).__name__})") from None
        except Exception as error:  # any parser failure on a damaged file is a clean refusal
            raise _fail(path, f"the file is corrupted ({type(error).__name__}: {error})") from None
    expected = header.pop("checksum", None)
    if expected != _checksum(header, arrays):
        raise _fail(path, "the file is corrupted (checksum mismatch)")
    return header, arrays


def _read_arrays(path: str, archive: zipfile.ZipFile, header: dict[str, Any]) -> list[np.ndarray]:
    shapes = _expected_shapes(path, header.get("network"))
    dtype = header["network"].get("dtype")
    if dtype not in ("float64", "float32"):
        raise _fail(path, f"unsupported dtype {dtype!r}")
    n_params = sum(math.prod(s) for s in shapes)
    arrays = []
    file_size = os.fstat(archive.fp.fileno()).st_size if archive.fp is not None else 0
    for index, info in enumerate(_member_plan(path, archive, header, file_size)):
        def check(shape: tuple[int, ...], found: np.dtype, index: int = index) -> str:
            if found.kind != "f" or found.name != dtype:
                return f"has dtype {found}; the header declares {dtype}"
            if index < len(shapes) and shape != shapes[index]:
                return f"has shape {shape}; the header's layers need {shapes[index]}"
            if index >= len(shapes) and shape not in (*shapes, (n_params,)):
                return f"has shape {shape}, which no optimizer state of this network has"
            return ""

        arrays.append(_read_member(path, archive, info, check))
    return arrays


def _dense_from(W: np.ndarray, b: np.ndarray) -> Dense:
    """A Dense layer holding the stored ``W`` and ``b``, built through the layer's own copy protocol
    (``__setstate__``) so that no random weights of the stored size are drawn first."""
    state = Dense(1, 1, rng=0, dtype=W.dtype).__getstate__()
    state.update(in_features=W.shape[0], out_features=W.shape[1], W=Parameter(W, "W"), b=Parameter(b, "b"))
    layer = Dense.__new__(Dense)
    layer.__setstate__(state)
    return layer


def _build(path: str, spec: Any, arrays: list[np.ndarray]) -> Network:
    """The network of a header's spec, its Dense layers holding the stored arrays (already checked
    against the spec's shapes by :func:`_read`)."""
    layers: list[Any] = []
    weights = iter(arrays)
    for index, layer in enumerate(spec["layers"]):
        kind = layer.get("type") if isinstance(layer, dict) else None
        entry = registry.by_type(kind) if isinstance(kind, str) else None
        if entry is None:
            raise _fail(path, f"layer {index} has type {kind!r}, which is not in the whitelist {sorted(_layer_types())}")
        try:
            if kind == "Dense":
                layers.append(_dense_from(next(weights), next(weights)))
            else:
                layers.append(entry.cls.from_spec(layer, spec.get("dtype")))  # type: ignore[attr-defined]
        except (KeyError, TypeError, ValueError) as error:
            raise _fail(path, f"layer {index} ({kind}) has a bad spec: {error}") from None
    try:
        return Network(layers, loss=spec.get("loss", ""), l2=spec.get("l2", 0.0))
    except (TypeError, ValueError) as error:
        raise _fail(path, str(error)) from None


def _check_finite(path: str, arrays: list[np.ndarray]) -> None:
    for index, array in enumerate(arrays):
        if not np.isfinite(array).all():
            raise _fail(path, f"array {index} holds non-finite values")


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model (or a checkpoint) written by :func:`save`; never unpickles anything.

    Before any array is allocated, the zip directory's member sizes and each member's ``.npy``
    header are checked against the shapes the JSON header declares; the network is then built
    around the stored arrays. Returns a Network, or the BackpropClassifier/Regressor that was saved."""
    path = _check_path(path)
    header, arrays = _read(path)
    n_weights = len(_expected_shapes(path, header["network"]))
    _check_finite(path, arrays[:n_weights])
    net = _build(path, header["network"], arrays[:n_weights])
    metadata = _check_metadata(path, header.get("metadata", {}))
    if isinstance(metadata, dict) and "estimator" in metadata:
        from .estimators import _from_backproplab_state

        return _from_backproplab_state(path, net, metadata)
    return net


def _checkpoint_counters(path: str, checkpoint: Any, n_weights: int) -> dict[str, Any]:
    """The run's counters of a checkpoint, each checked, so that a crafted file is a ModelFileError
    here and never a KeyError or a bit-generator error inside the training loop."""
    if not isinstance(checkpoint, dict):
        raise _fail(path, "it is a model file, not a checkpoint")
    if checkpoint.get("n_weights") != n_weights:
        raise _fail(path, f"its checkpoint declares n_weights={checkpoint.get('n_weights')!r}, the network has {n_weights} arrays")
    t = checkpoint.get("t", 0)
    state = checkpoint.get("state")
    if not isinstance(t, int) or isinstance(t, bool) or t < 0 or not isinstance(state, dict):
        raise _fail(path, "its checkpoint has no valid optimizer step count or run state")
    for key in ("step", "epoch", "step_in_epoch"):
        value = state.get(key, 0 if key == "step_in_epoch" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(path, f"its checkpoint state has {key}={value!r}; expected a non-negative integer")
    rng_state: Any = state.get("rng")
    try:
        name = rng_state["bit_generator"]
        if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
            raise ValueError(name)
        getattr(np.random, name)().state = rng_state
    except Exception:
        raise _fail(path, "its checkpoint holds no valid random-generator state") from None
    return dict(state)


def load_checkpoint(path: str | os.PathLike[str], net: Network, optimizer: Optimizer) -> dict[str, Any]:
    """Copy a checkpoint's weights into ``net`` and its state into ``optimizer`` (already bound to
    ``net``); return the run's counters."""
    path = _check_path(path)
    header, arrays = _read(path)
    checkpoint: Any = header.get("checkpoint")
    if header["network"].get("layers") != net.spec()["layers"]:
        raise _fail(path, "its architecture differs from the network being trained")
    n_weights = len(net.parameters())
    counters = _checkpoint_counters(path, checkpoint, n_weights)
    saved_by = checkpoint.get("optimizer") if isinstance(checkpoint.get("optimizer"), dict) else {}
    if saved_by.get("name") != optimizer.name:
        raise _fail(path, f"it was written by optimizer {saved_by.get('name')!r}, not {optimizer.name!r}")
    weights, saved = arrays[:n_weights], arrays[n_weights:]
    state = optimizer.state_arrays()
    if len(saved) != len(state) or any(a.shape != b.shape for a, b in zip(saved, state)):
        raise _fail(path, "its optimizer state does not match the optimizer")
    _check_finite(path, weights)
    for index, (param, array) in enumerate(zip(net.parameters(), weights)):
        if array.dtype != param.dtype:
            raise _fail(path, f"array {index} has dtype {array.dtype}, the network needs {param.dtype}")
    net.set_weights(weights)
    for target, value in zip(state, saved):
        np.copyto(target, value)
    optimizer.t = int(checkpoint.get("t", 0))
    return counters


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
