"""Export to ONNX (verified with onnxruntime in the tests) and to PyTorch.

``to_onnx`` writes a graph whose output equals ``predict``: each layer becomes the ONNX counterpart
its :mod:`backproplab.registry` entry declares (Dense: ``MatMul`` + ``Add``; an activation: its
operator), and a fused sigmoid/softmax output is included. ``to_torch`` does the same with the
entries' PyTorch counterparts. For a
fitted classifier the graph has two outputs, ``probabilities`` (``predict_proba``) and ``label``
(``predict``); for a regressor, ``predictions`` (``predict``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import activations, registry
from ._io import atomic_write
from .network import Network

__all__ = ["to_onnx", "to_torch"]

def _network_of(model: Any) -> tuple[Network, str]:
    if isinstance(model, Network):
        return model, "network"
    network = getattr(model, "network_", None)
    if network is None:
        raise ValueError(f"to_onnx takes a Network or a fitted backproplab estimator, got {type(model).__name__}")
    return network, "classifier" if hasattr(model, "classes_") else "regressor"


def to_onnx(model: Any, path: str | os.PathLike[str] | None = None, opset: int = 17) -> Any:
    """Build (and, with ``path``, write atomically) an ONNX model equal to ``model``'s predictions.

    Parameters
    ----------
    model : Network, BackpropClassifier or BackpropRegressor (fitted)
    path : where to write the ``.onnx`` file, optional
    opset : int, at least 13

    Returns
    -------
    onnx.ModelProto, checked with ``onnx.checker.check_model(full_check=True)``.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs onnx: pip install 'backproplab[onnx]'") from None
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 13:
        raise ValueError(f"opset must be an integer >= 13, got {opset!r}")
    net, kind = _network_of(model)
    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    graph = _Graph(helper, numpy_helper, net.dtype)
    current = "input"
    for layer in _export_layers(net):
        current = _entry(layer, "onnx").onnx(layer, graph, current)
    outputs = _outputs(model, kind, net, graph, current, elem, TensorProto)
    onnx_graph = helper.make_graph(
        graph.nodes,
        "backproplab",
        [helper.make_tensor_value_info("input", elem, ["N", net.n_inputs])],
        outputs,
        initializer=graph.initializers,
    )
    opset_id = helper.make_opsetid("", opset)
    onnx_model = helper.make_model(
        onnx_graph, opset_imports=[opset_id], producer_name="backproplab",
        ir_version=helper.find_min_ir_version_for([opset_id])
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    if path is not None:
        atomic_write(path, onnx_model.SerializeToString())
    return onnx_model


def to_torch(model: Any) -> Any:
    """An equivalent ``torch.nn.Sequential`` (including a fused output activation), in the network's dtype."""
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch: pip install torch") from None
    net, _ = _network_of(model)
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    return torch.nn.Sequential(*(_entry(layer, "torch").torch(layer, torch, dtype) for layer in _export_layers(net)))


def _outputs(model: Any, kind: str, net: Network, graph: _Graph, current: str, elem: int, TensorProto: Any) -> list[Any]:
    """The graph's outputs after ``current`` (the network's output): predictions, or a classifier's
    probabilities and labels."""
    helper, nodes = graph.helper, graph.nodes
    if kind == "network":
        nodes.append(helper.make_node("Identity", [current], ["output"]))
        return [helper.make_tensor_value_info("output", elem, ["N", net.n_outputs])]
    if kind == "regressor":
        if getattr(model, "_y_ndim", 2) == 1:
            shape = graph.constant("shape", np.array([-1], dtype=np.int64))
            nodes.append(helper.make_node("Reshape", [current, shape], ["predictions"]))
            return [helper.make_tensor_value_info("predictions", elem, ["N"])]
        nodes.append(helper.make_node("Identity", [current], ["predictions"]))
        return [helper.make_tensor_value_info("predictions", elem, ["N", net.n_outputs])]
    classes = np.asarray(model.classes_)
    if len(classes) == 2:
        complement = graph.node("Sub", [graph.constant("one", np.ones(1, dtype=net.dtype)), current])
        nodes.append(helper.make_node("Concat", [complement, current], ["probabilities"], axis=1))
    else:
        nodes.append(helper.make_node("Identity", [current], ["probabilities"]))
    index = graph.node("ArgMax", ["probabilities"], axis=1, keepdims=0)
    if classes.dtype.kind in "iub":
        class_tensor, label_type = classes.astype(np.int64), TensorProto.INT64
    elif classes.dtype.kind == "f":
        class_tensor, label_type = classes.astype(np.float64), TensorProto.DOUBLE
    else:
        class_tensor, label_type = classes.astype(str).astype(object), TensorProto.STRING
    table = graph.name("classes")
    graph.initializers.append(graph.numpy_helper.from_array(class_tensor, table))
    nodes.append(helper.make_node("Gather", [table, index], ["label"], axis=0))
    return [helper.make_tensor_value_info("probabilities", elem, ["N", len(classes)]),
            helper.make_tensor_value_info("label", label_type, ["N"])]


class _Graph:
    """The ONNX graph being built, as the registry's export functions see it."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.counter = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def constant(self, prefix: str, value: np.ndarray) -> str:
        tensor_name = self.name(prefix)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value), tensor_name))
        return tensor_name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """Add ``op`` on ``inputs``; returns the name of its output."""
        out = self.name(op.lower())
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attributes))
        return out


def _export_layers(net: Network) -> list[Any]:
    """The training layers, then the output activation a fused loss absorbed (so the export equals ``predict``)."""
    layers = list(net.body)
    if net.loss_fn.fused is not None:
        layers.append(activations.get(net.loss_fn.fused))
    return layers


def _entry(layer: Any, target: str) -> Any:
    entry = registry.by_type(type(layer).__name__)
    if entry is None or entry.cls is not type(layer) or getattr(entry, target) is None:
        what = "ONNX" if target == "onnx" else "PyTorch"
        raise ValueError(f"layer {type(layer).__name__} has no {what} equivalent; only built-in layers export")
    return entry
