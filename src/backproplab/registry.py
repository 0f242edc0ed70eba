r"""The one table of layer types.

Every built-in layer class declares its entry where it is defined, with the :func:`layer_type`
class decorator: its short name (what ``Network.mlp(hidden=...)`` and the estimators take), its
role, and its ONNX and PyTorch counterparts. The class itself carries ``spec()`` and
``from_spec()``. Model files, ONNX and PyTorch export, ``Network.mlp``, the estimators and the
diagnosis all read this table; nothing else lists layer names.

Adding an activation is one class in :mod:`backproplab.activations`::

    @layer_type("swish", onnx=..., torch=lambda layer, torch: torch.nn.SiLU())
    class Swish(Activation):
        ...

This module imports nothing of the package, so that the layer modules can import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LayerType", "layer_type", "entries", "by_type", "by_name", "names", "is_builtin", "onnx_op",
           "torch_module", "ActivationTable"]

#: ``onnx(layer, graph, input_name) -> output_name``; ``graph`` has ``node(op, inputs, **attributes)``
#: and ``constant(prefix, array)``, both returning the new tensor's name
OnnxExport = Callable[[Any, Any, str], str]
#: ``torch(layer, torch_module, torch_dtype) -> torch.nn.Module``
TorchExport = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class LayerType:
    """One row of the table.

    Attributes
    ----------
    name : str
        Short name: ``"dense"``, ``"sigmoid"``, ``"leaky_relu"``, ...
    cls : type
        The layer class; ``cls.__name__`` is the ``"type"`` of its spec in model files.
    role : {"layer", "hidden", "output"}
        ``"hidden"`` activations may follow any Dense layer, ``"output"`` ones only the last.
    onnx, torch : callables, optional
        The export counterparts (None: the layer does not export).
    """

    name: str
    cls: type
    role: str
    onnx: OnnxExport | None
    torch: TorchExport | None

    @property
    def type_name(self) -> str:
        return self.cls.__name__


_TABLE: dict[str, LayerType] = {}  # by type name (the class name, as written in model files)


def layer_type(name: str, *, role: str = "hidden", onnx: OnnxExport | None = None,
               torch: TorchExport | None = None) -> Callable[[type], type]:
    """Class decorator: enter the class in the table under ``name``."""
    if role not in ("layer", "hidden", "output"):
        raise ValueError(f"role must be 'layer', 'hidden' or 'output', got {role!r}")

    def register(cls: type) -> type:
        if any(entry.name == name and entry.cls is not cls for entry in _TABLE.values()):
            raise ValueError(f"a layer type named {name!r} is already registered")
        cls.name = name  # type: ignore[attr-defined]
        _TABLE[cls.__name__] = LayerType(name, cls, role, onnx, torch)
        return cls

    return register


def entries() -> list[LayerType]:
    """Every registered layer type, in registration order."""
    return list(_TABLE.values())


def by_type(type_name: str) -> LayerType | None:
    """The entry for a spec's ``"type"`` (a class name), or None."""
    return _TABLE.get(type_name)


def by_name(name: str) -> LayerType | None:
    """The entry for a short name (``"relu"``), or None."""
    return next((entry for entry in _TABLE.values() if entry.name == name), None)


def names(*roles: str) -> tuple[str, ...]:
    """Short names of the entries with one of ``roles`` (all entries when none are given)."""
    return tuple(entry.name for entry in _TABLE.values() if not roles or entry.role in roles)


def is_builtin(layer: Any) -> bool:
    """True when ``type(layer)`` is exactly a registered class (a subclass may change anything)."""
    entry = _TABLE.get(type(layer).__name__)
    return entry is not None and entry.cls is type(layer)


def onnx_op(op: str, **attributes: Any) -> OnnxExport:
    """An ONNX counterpart that is a single operator."""

    def export(layer: Any, graph: Any, current: str) -> str:
        return str(graph.node(op, [current], **attributes))

    return export


def torch_module(class_name: str, **kwargs: Any) -> TorchExport:
    """A PyTorch counterpart that is ``torch.nn.<class_name>(**kwargs)``."""

    def export(layer: Any, torch: Any, dtype: Any) -> Any:
        return getattr(torch.nn, class_name)(**kwargs)

    return export


class ActivationTable(Mapping[str, type]):
    """A live, read-only view of the activation entries: short name -> class."""

    def _items(self) -> dict[str, type]:
        return {entry.name: entry.cls for entry in _TABLE.values() if entry.role != "layer"}

    def __getitem__(self, key: str) -> type:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())
