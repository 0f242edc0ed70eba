import importlib.util

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.datasets import load_iris, make_regression

import backproplab as bp
from backproplab.estimators import BackpropClassifier, BackpropRegressor
from backproplab.export import to_onnx, to_torch

PAIRINGS = [("relu", "identity", "mse"), ("tanh", "sigmoid", "bce"), ("leaky_relu", "softmax", "cross_entropy"),
            ("sigmoid", "softmax", "mse"), ("identity", "tanh", "mae")]


def run(model_proto, X):
    session = ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})


@pytest.mark.parametrize("hidden,output,loss", PAIRINGS)
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_network_export_matches_predict(tmp_path, hidden, output, loss, dtype, tol):
    net = bp.Network.mlp([4, 6, 5, 3], hidden=hidden, output=output, loss=loss, seed=0, dtype=dtype)
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(dtype)
    path = tmp_path / "m.onnx"
    proto = to_onnx(net, path, opset=17)
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.opset_import[0].version == 17
    (result,) = run(loaded, X)
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_allclose(result, net.predict(X), rtol=tol, atol=tol)
    assert proto.graph.output[0].name == "output"


@pytest.mark.parametrize("opset", [13, 15, 18, 21])
def test_opsets(opset):
    net = bp.Network.mlp([3, 4, 2], loss="cross_entropy", seed=0)
    X = np.ones((2, 3))
    np.testing.assert_allclose(run(to_onnx(net, opset=opset), X)[0], net.predict(X), rtol=1e-10)


def test_classifier_export_gives_probabilities_and_labels():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(X, names)
    probabilities, labels = run(to_onnx(model), X)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=1e-10, atol=1e-12)
    assert labels.tolist() == model.predict(X).tolist()
    binary = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(X, (y == 2).astype(int))
    probabilities, labels = run(to_onnx(binary), X)
    np.testing.assert_allclose(probabilities, binary.predict_proba(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(labels, binary.predict(X))


def test_regressor_export():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    model = BackpropRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    (predictions,) = run(to_onnx(model), X)
    assert predictions.shape == (30,)
    np.testing.assert_allclose(predictions, model.predict(X), rtol=1e-10)


def test_refusals():
    with pytest.raises(ValueError, match="opset must be an integer >= 13, got 11"):
        to_onnx(bp.Network.mlp([2, 1]), opset=11)
    with pytest.raises(ValueError, match="takes a Network or a fitted backproplab estimator"):
        to_onnx(BackpropClassifier())


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (it is never a dependency)")
def test_to_torch_matches_predict():
    import torch

    net = bp.Network.mlp([4, 6, 3], hidden="leaky_relu", loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(10, 4))
    with torch.no_grad():
        out = to_torch(net)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-12)
