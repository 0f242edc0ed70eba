"""Export to ONNX (verified with onnxruntime in the tests) and to PyTorch.

``to_onnx`` writes a graph whose output equals ``predict``: each Dense layer becomes ``MatMul`` +
``Add``, each activation its ONNX operator, and a fused sigmoid/softmax output is included. For a
fitted classifier the graph has two outputs, ``probabilities`` (``predict_proba``) and ``label``
(``predict``); for a regressor, ``predictions`` (``predict``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import activations
from .layers import Dense
from .network import Network

__all__ = ["to_onnx", "to_torch"]

ONNX_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}


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
    nodes, initializers = [], []
    current = "input"
    counter = 0

    def name(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f"{prefix}_{counter}"

    def constant(prefix: str, value: np.ndarray) -> str:
        tensor_name = name(prefix)
        initializers.append(numpy_helper.from_array(np.asarray(value), tensor_name))
        return tensor_name

    layers = list(net.body)
    for layer in layers:
        if isinstance(layer, Dense):
            W = constant("W", layer.W.value)
            b = constant("b", layer.b.value)
            product = name("matmul")
            nodes.append(helper.make_node("MatMul", [current, W], [product]))
            current_out = name("dense")
            nodes.append(helper.make_node("Add", [product, b], [current_out]))
            current = current_out
        elif isinstance(layer, activations.Identity):
            continue
        elif isinstance(layer, activations.LeakyReLU):
            # ONNX's LeakyRelu takes alpha as a float32 attribute; max(x, slope * x) keeps full precision
            slope = constant("slope", np.array(layer.negative_slope, dtype=net.dtype))
            scaled, out = name("scaled"), name("leaky_relu")
            nodes.append(helper.make_node("Mul", [current, slope], [scaled]))
            nodes.append(helper.make_node("Max", [current, scaled], [out]))
            current = out
        elif isinstance(layer, activations.Activation) and layer.name in ONNX_ACTIVATIONS:
            out = name(layer.name)
            attributes: dict[str, Any] = {"axis": -1} if layer.name == "softmax" else {}
            nodes.append(helper.make_node(ONNX_ACTIVATIONS[layer.name], [current], [out], **attributes))
            current = out
        else:
            raise ValueError(f"layer {type(layer).__name__} has no ONNX equivalent; only built-in layers export")
    if net.loss_fn.fused is not None:
        out = name(net.loss_fn.fused)
        fused_attributes: dict[str, Any] = {"axis": -1} if net.loss_fn.fused == "softmax" else {}
        nodes.append(helper.make_node(ONNX_ACTIVATIONS[net.loss_fn.fused], [current], [out], **fused_attributes))
        current = out

    outputs = []
    if kind == "network":
        nodes.append(helper.make_node("Identity", [current], ["output"]))
        outputs.append(helper.make_tensor_value_info("output", elem, ["N", net.n_outputs]))
    elif kind == "regressor":
        if getattr(model, "_y_ndim", 2) == 1:
            shape = constant("shape", np.array([-1], dtype=np.int64))
            nodes.append(helper.make_node("Reshape", [current, shape], ["predictions"]))
            outputs.append(helper.make_tensor_value_info("predictions", elem, ["N"]))
        else:
            nodes.append(helper.make_node("Identity", [current], ["predictions"]))
            outputs.append(helper.make_tensor_value_info("predictions", elem, ["N", net.n_outputs]))
    else:
        classes = np.asarray(model.classes_)
        if len(classes) == 2:
            one = constant("one", np.ones(1, dtype=net.dtype))
            complement = name("complement")
            nodes.append(helper.make_node("Sub", [one, current], [complement]))
            nodes.append(helper.make_node("Concat", [complement, current], ["probabilities"], axis=1))
        else:
            nodes.append(helper.make_node("Identity", [current], ["probabilities"]))
        index = name("argmax")
        nodes.append(helper.make_node("ArgMax", ["probabilities"], [index], axis=1, keepdims=0))
        if classes.dtype.kind in "iub":
            class_tensor, label_type = classes.astype(np.int64), TensorProto.INT64
        elif classes.dtype.kind == "f":
            class_tensor, label_type = classes.astype(np.float64), TensorProto.DOUBLE
        else:
            class_tensor, label_type = classes.astype(str).astype(object), TensorProto.STRING
        table = name("classes")
        initializers.append(numpy_helper.from_array(class_tensor, table))
        nodes.append(helper.make_node("Gather", [table, index], ["label"], axis=0))
        outputs.append(helper.make_tensor_value_info("probabilities", elem, ["N", len(classes)]))
        outputs.append(helper.make_tensor_value_info("label", label_type, ["N"]))

    graph = helper.make_graph(
        nodes,
        "backproplab",
        [helper.make_tensor_value_info("input", elem, ["N", net.n_inputs])],
        outputs,
        initializer=initializers,
    )
    opset_id = helper.make_opsetid("", opset)
    onnx_model = helper.make_model(
        graph, opset_imports=[opset_id], producer_name="backproplab", ir_version=helper.find_min_ir_version_for([opset_id])
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    if path is not None:
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as handle:
                handle.write(onnx_model.SerializeToString())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return onnx_model


def to_torch(model: Any) -> Any:
    """An equivalent ``torch.nn.Sequential`` (including a fused output activation), in the network's dtype."""
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch: pip install torch") from None
    net, _ = _network_of(model)
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules: list[Any] = []
    for layer in net.body:
        if isinstance(layer, Dense):
            linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.W.value.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.b.value.copy()))
            modules.append(linear)
        elif isinstance(layer, activations.LeakyReLU):
            modules.append(torch.nn.LeakyReLU(layer.negative_slope))
        elif isinstance(layer, activations.Activation):
            factories: dict[str, Any] = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU,
                                         "identity": torch.nn.Identity, "softmax": lambda: torch.nn.Softmax(dim=-1)}
            modules.append(factories[layer.name]())
        else:
            raise ValueError(f"layer {type(layer).__name__} has no PyTorch equivalent")
    if net.loss_fn.fused == "sigmoid":
        modules.append(torch.nn.Sigmoid())
    elif net.loss_fn.fused == "softmax":
        modules.append(torch.nn.Softmax(dim=-1))
    return torch.nn.Sequential(*modules)
