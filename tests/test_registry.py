"""The one table of layer types, and who reads it."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import backproplab as bp
from backproplab import activations, persistence, registry

PACKAGE = Path(bp.__file__).resolve().parent


def test_every_builtin_layer_is_registered_with_spec_and_counterparts():
    names = {entry.name: entry for entry in registry.entries()}
    assert set(names) == {"dense", "sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax", "standardize"}
    for entry in names.values():
        assert entry.onnx is not None and entry.torch is not None
        layer = bp.Dense(2, 3) if entry.cls is bp.Dense else entry.cls()
        assert entry.cls.from_spec(layer.spec()).spec() == layer.spec()
    assert registry.names("hidden") == ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
    assert registry.names("output") == ("softmax",)
    assert dict(activations.ACTIVATIONS) == {e.name: e.cls for e in registry.entries() if e.role != "layer"}


def test_subclasses_are_not_builtin():
    class MyReLU(bp.ReLU):
        pass

    assert registry.is_builtin(bp.ReLU()) and not registry.is_builtin(MyReLU())


def test_model_files_accept_exactly_the_registry(tmp_path):
    net = bp.Network.mlp([2, 3, 1], hidden="leaky_relu", negative_slope=0.2, seed=0)
    bp.save(net, tmp_path / "m.npz")
    assert bp.load(tmp_path / "m.npz").layers[1].negative_slope == 0.2
    assert sorted(persistence._layer_types()) == sorted(e.type_name for e in registry.entries())


def test_a_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        registry.layer_type("relu")(type("OtherReLU", (activations.Activation,), {}))


def test_no_other_module_lists_layer_names():
    """The names of the layer types appear as strings only where each class is declared."""
    names = {entry.name for entry in registry.entries()} - {"dense", "identity"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        # the probe's _hypotheses.py models the *user's* activation functions by their math, not our layer types
        if path.name in ("activations.py", "registry.py", "_hypotheses.py") or "experiments" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Dict, ast.Set, ast.Tuple, ast.List)):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                strings = {n.value for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                if len(strings & names) >= 3:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_network_fit_shows_the_real_signature():
    parameters = inspect.signature(bp.Network.fit).parameters
    assert list(parameters)[:3] == ["self", "X", "y"] and "optimizer" in parameters and "resume" in parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def test_networks_nest_as_layers(rng):
    inner = bp.Network.mlp([3, 4, 4], hidden="tanh", output="tanh", seed=1)
    outer = bp.Network([bp.Dense(2, 3, rng=0), bp.Sigmoid(), inner, bp.Dense(4, 1, rng=2)], loss="mse", l2=0.1)
    X, y = rng.normal(size=(7, 2)), rng.normal(size=(7, 1))
    assert (outer.n_inputs, outer.n_outputs, len(outer.parameters())) == (2, 1, 8)
    grads = outer.gradients(X, y)
    for param, grad in zip(outer.parameters(), grads):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + 1e-6
            up = outer.loss(X, y)
            param[index] = saved - 1e-6
            down = outer.loss(X, y)
            param[index] = saved
            numeric[index] = (up - down) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    before = inner.parameters()[0].copy()
    outer.fit(X, y, optimizer="adam", max_epochs=2, progress=False)
    assert not np.array_equal(before, inner.parameters()[0])  # the inner network's own weights trained
    assert outer.parameters()[2] is inner.parameters()[0]
