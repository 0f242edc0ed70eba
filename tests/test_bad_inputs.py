"""The hostile battery: every bad input and fault the library, the loaders and the CLI must refuse
cleanly, organised by class (issue 16). Each case asserts the exact exception type and that the
message names the argument or the file; CLI cases assert exit status 2, one ``error:`` line and no
traceback. Where the right answer is to accept the input, the case checks the answer instead."""

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import backproplab as bp
from backproplab import _io
from backproplab._validation import (
    as_float_array,
    check_estimator_params,
    check_names,
    check_output_units,
    check_parameter_memory,
    check_seed,
    check_sizes,
    parameter_count,
)
from backproplab.cli import main
from backproplab.persistence import ModelFileError, _checksum

NET = bp.Network.mlp([3, 4, 2], seed=0)
CE = bp.Network.mlp([3, 4, 3], loss="cross_entropy", seed=0)
BCE = bp.Network.mlp([3, 4, 1], output="sigmoid", loss="bce", seed=0)
X = np.random.default_rng(0).normal(size=(5, 3))
Y = np.zeros((5, 2))
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def with_value(row, column, value, base=X):
    bad = base.copy()
    bad[row, column] = value
    return bad


def raises(call, exception, message):
    with pytest.raises(exception) as info:
        call()
    assert type(info.value) is exception, f"{type(info.value).__name__}: {info.value}"
    import re

    assert re.search(message, str(info.value)), str(info.value)
    return info.value


def ids(cases, at=2):
    return [f"{i}-{c[at][:40]}" for i, c in enumerate(cases)]


# ====================================================================== 1. the gradient checker
def square():
    return (lambda p: float(p[0] @ p[0])), (lambda p: [2 * p[0]])


def grad_with(index, value):
    def grad_fn(p):
        g = 2 * p[0]
        g[index] = value
        return [g]

    return grad_fn


GRADIENT_FAILURES = [
    # (loss_fn, grad_fn, params, kwargs, text the problem must contain)
    (square()[0], lambda p: [p[0] * np.nan], [np.ones(3)], {}, "analytic gradient of p0 is nan at entry (0,)"),
    (square()[0], lambda p: [p[0] * np.inf], [np.ones(3)], {}, "analytic gradient of p0 is inf at entry (0,)"),
    (square()[0], grad_with(2, np.nan), [np.ones(3)], {}, "analytic gradient of p0 is nan at entry (2,)"),
    (square()[0], grad_with(1, -np.inf), [np.ones(3)], {}, "analytic gradient of p0 is -inf at entry (1,)"),
    (square()[0], grad_with(4, np.nan), [np.ones(5)], {"max_entries": 1}, "analytic gradient of p0 is nan at entry (4,)"),
    (square()[0], grad_with(0, np.nan), [np.ones(3)], {"names": ["W1"]}, "analytic gradient of W1 is nan"),
    (lambda p: float("nan"), square()[1], [np.ones(3)], {}, "the loss is nan at the checked point"),
    (lambda p: float("inf"), square()[1], [np.ones(3)], {}, "the loss is inf at the checked point"),
    (lambda p: float(p[0] @ p[0]) if p[0][0] <= 1 else float("nan"), square()[1], [np.ones(2)], {},
     "numerical gradient of p0 is nan at entry (0,)"),
]


class TestGradientChecker:
    @pytest.mark.parametrize("loss_fn,grad_fn,params,kwargs,problem", GRADIENT_FAILURES,
                             ids=[f"{i}-{c[4][:40]}" for i, c in enumerate(GRADIENT_FAILURES)])
    def test_nonfinite_is_a_failure_naming_the_array_and_entry(self, loss_fn, grad_fn, params, kwargs, problem):
        result = bp.check_gradient(loss_fn, grad_fn, params, **kwargs)
        assert not result.passed
        assert any(problem in p for p in result.problems), result.problems
        assert problem in str(result)
        json.dumps(result.to_dict(), allow_nan=False)  # still valid JSON

    def test_gradcheck_of_a_network_shares_the_rule(self):
        net = bp.Network.mlp([3, 2, 1], hidden="tanh", seed=0)
        original = net.forward_backward

        def broken(Xb, yb):
            loss = original(Xb, yb)
            net.parameter_objects()[2].grad[1, 0] = np.nan
            return loss

        net.forward_backward = broken
        result = bp.gradcheck(net, X, np.ones(5))
        assert not result.passed and "analytic gradient of W2 is nan at entry (1, 0)" in result.params[2].problem

    @pytest.mark.parametrize("call,exception,message", [
        (lambda: bp.check_gradient(*square(), [np.ones(3)], eps=0), ValueError, r"eps must be > 0.0, got 0.0"),
        (lambda: bp.check_gradient(*square(), [np.ones(3)], eps=float("nan")), ValueError, r"eps must be finite"),
        (lambda: bp.check_gradient(*square(), [np.ones(3)], rtol=-1), ValueError, r"rtol must be > 0.0, got -1.0"),
        (lambda: bp.check_gradient(*square(), [np.ones(3)], max_entries=0), ValueError, r"max_entries must be >= 1, got 0"),
        (lambda: bp.check_gradient(*square(), [np.ones(3)], max_entries=1.5), TypeError, r"max_entries must be an integer"),
        (lambda: bp.check_gradient(square()[0], lambda p: [], [np.ones(3)]), ValueError, r"grad_fn returned 0 arrays for 1 parameters"),
        (lambda: bp.check_gradient(square()[0], lambda p: [np.ones(4)], [np.ones(3)]), ValueError,
         r"gradient 0 \(p0\) has shape \(4,\), the parameter has \(3,\)"),
        (lambda: bp.gradcheck(bp.Network.mlp([2, 1], dtype="float32"), np.ones((2, 2)), np.ones(2)), ValueError,
         r"gradcheck needs a float64 network, got float32"),
        (lambda: bp.gradcheck(NET, X, Y, eps=-1e-4), ValueError, r"eps must be > 0.0"),
        (lambda: bp.gradcheck(NET, with_value(0, 0, np.nan), Y), ValueError, r"X contains NaN \(row 0, column 0\)"),
    ], ids=lambda v: str(v)[:30] if isinstance(v, str) else None)
    def test_bad_settings(self, call, exception, message):
        raises(call, exception, message)


# ====================================================================== 2. library values
LIBRARY_CASES = [
    # ---- arrays: missing values and infinities, named by row and column
    (lambda: NET.fit(with_value(3, 1, np.nan), Y), ValueError, r"X contains NaN \(row 3, column 1\); backproplab does not impute"),
    (lambda: NET.predict(with_value(2, 0, -np.inf)), ValueError, r"X contains -inf \(row 2, column 0\)"),
    (lambda: NET.predict(with_value(4, 2, np.inf)), ValueError, r"X contains inf \(row 4, column 2\)"),
    (lambda: NET.fit(X, np.full((5, 2), np.inf)), ValueError, r"y contains inf \(row 0, column 0\)"),
    (lambda: NET.fit(X, with_value(1, 1, np.nan, Y)), ValueError, r"y contains NaN \(row 1, column 1\)"),
    (lambda: BCE.fit(X, [0, 1, np.nan, 0, 1]), ValueError, r"y contains NaN \(row 2\)"),
    (lambda: NET.loss(with_value(0, 1, np.nan), Y), ValueError, r"X contains NaN \(row 0, column 1\)"),
    (lambda: NET.gradients(X, with_value(2, 0, -np.inf, Y)), ValueError, r"y contains -inf \(row 2, column 0\)"),
    (lambda: NET.evaluate(with_value(1, 2, np.nan), Y), ValueError, r"X contains NaN \(row 1, column 2\)"),
    (lambda: NET.fit(X, Y, validation=(with_value(0, 0, np.nan), Y)), ValueError, r"validation X contains NaN"),
    # ---- float32: an overflow is an overflow, not "contains inf"
    (lambda: bp.Network.mlp([3, 2], dtype="float32").predict(with_value(1, 2, 1e39)), ValueError,
     r"X has 1e\+39 at row 1, column 2, which overflows float32"),
    (lambda: bp.Network.mlp([3, 2], dtype="float32").fit(X, with_value(0, 1, -1e300, Y)), ValueError,
     r"y has -1e\+300 at row 0, column 1, which overflows float32"),
    # ---- not numbers
    (lambda: NET.predict(np.array([["a", "b", "c"]])), TypeError, r"X must be numeric, got an array of dtype <U1 \(text\)"),
    (lambda: NET.predict(np.array([[1, None, 2]], dtype=object)), ValueError, r"X has a missing value \(None\) at row 0, column 1"),
    (lambda: NET.predict(np.array([[1, "x", 2]], dtype=object)), TypeError, r"X must be numeric, got 'x' \(str\) at row 0, column 1"),
    (lambda: NET.predict(np.array([[1 + 2j, 0, 0]])), TypeError, r"X must be numeric, got an array of dtype complex128"),
    (lambda: NET.predict(np.array([["2020-01-01"] * 3], dtype="datetime64[D]")), TypeError, r"X must be numeric, got an array of dtype datetime64"),
    (lambda: NET.predict(np.array([], dtype=object)), ValueError, r"X must be 2-D, got a 1-D array of shape \(0,\)"),
    (lambda: NET.predict(np.empty((0, 3), dtype=object)), ValueError, r"X is empty \(shape \(0, 3\)\)"),
    (lambda: NET.predict(np.empty((0, 3), dtype=str)), TypeError, r"X must be numeric, got an empty array of dtype <U1"),
    (lambda: NET.predict(np.empty((2, 0))), ValueError, r"X is empty \(shape \(2, 0\)\)"),
    (lambda: NET.predict(None), TypeError, r"X must be an array, got None"),
    (lambda: NET.predict([[1, 2], [3]]), ValueError, r"X could not be read as an array"),
    (lambda: NET.predict(np.ma.masked_array(X, mask=X > 1)), ValueError, r"X is a masked array with \d+ masked entries"),
    (lambda: NET.fit(X, np.array(["a", "b", "c", "d", "e"])), TypeError, r"y must be numeric"),
    # ---- shapes
    (lambda: NET.predict(X[0]), ValueError, r"X must be 2-D, got a 1-D array of shape \(3,\); use X.reshape\(-1, 1\)"),
    (lambda: NET.predict(X[None]), ValueError, r"X must be 2-D, got a 3-D array of shape \(1, 5, 3\)"),
    (lambda: NET.fit(np.empty((0, 3)), np.empty((0, 2))), ValueError, r"X is empty \(shape \(0, 3\)\)"),
    (lambda: NET.fit(X, Y[:4]), ValueError, r"X and y have different numbers of rows: 5 and 4"),
    (lambda: NET.predict(X[:, :2]), ValueError, r"X has 2 feature\(s\) but the network expects 3"),
    (lambda: NET.fit(X, np.zeros((5, 3))), ValueError, r"y has 3 column\(s\) but the network has 2 output\(s\)"),
    (lambda: NET.fit(X, np.zeros((5, 2, 1))), ValueError, r"y must be 1-D or 2-D, got a 3-D array"),
    # ---- network construction
    (lambda: bp.Network.mlp([3, 4, 1], hidden="swish"), ValueError, r"unknown hidden activation 'swish'; expected one of: sigmoid"),
    (lambda: bp.Network.mlp([3, 4, 1], hidden="softmax"), ValueError, r"unknown hidden activation 'softmax'"),
    (lambda: bp.Network.mlp([3, 1], output="softplus"), ValueError, r"unknown output activation 'softplus'; expected one of: .*softmax"),
    (lambda: bp.Network.mlp([3, 1], loss="huber"), ValueError, r"unknown loss 'huber'; expected one of: mse, mae, bce, cross_entropy"),
    (lambda: bp.Network.mlp([3, 1], init="xavier"), ValueError, r"unknown init 'xavier'; expected one of: glorot_uniform"),
    (lambda: bp.Network.mlp([3, 0, 1]), ValueError, r"sizes\[1\] must be >= 1, got 0"),
    (lambda: bp.Network.mlp([3, -4, 1]), ValueError, r"sizes\[1\] must be >= 1, got -4"),
    (lambda: bp.Network.mlp([3, 2.5, 1]), TypeError, r"sizes\[1\] must be an integer, got 2.5 \(float\)"),
    (lambda: bp.Network.mlp([3, True, 1]), TypeError, r"sizes\[1\] must be an integer, got True \(bool\)"),
    (lambda: bp.Network.mlp([3, "4", 1]), TypeError, r"sizes\[1\] must be an integer, got '4' \(str\)"),
    (lambda: bp.Network.mlp([3]), ValueError, r"sizes must be a list of at least 2 layer sizes, got \[3\]"),
    (lambda: bp.Network.mlp("341"), ValueError, r"sizes must be a list of at least 2 layer sizes, got '341'"),
    (lambda: bp.Network.mlp(3), ValueError, r"sizes must be a list of at least 2 layer sizes, got 3"),
    (lambda: bp.Network.mlp(np.array([[3, 4, 1]])), ValueError, r"sizes must be a 1-D list of layer sizes, got an array of shape \(1, 3\)"),
    (lambda: bp.Network.mlp(np.array([3.0, 4.0, 1.0])), TypeError, r"sizes\[0\] must be an integer, got 3.0"),
    (lambda: bp.Network.mlp([3, 100_000_000_000, 1]), ValueError, r"sizes \[3, 100000000000, 1\] make 500,000,000,001 parameters"),
    (lambda: bp.Network.mlp([3, 1], seed=-1), ValueError, r"seed must be None, a non-negative integer or a numpy Generator, got -1"),
    (lambda: bp.Network.mlp([3, 1], seed=1.5), TypeError, r"seed must be None, a non-negative integer or a numpy Generator, got 1.5"),
    (lambda: bp.Network.mlp([3, 1], seed="0"), TypeError, r"seed must be None, a non-negative integer .* got '0'"),
    (lambda: bp.Network.mlp([3, 1], seed=True), TypeError, r"seed must be None, .* got True"),
    (lambda: bp.Network.mlp([3, 5, 1], loss="cross_entropy"), ValueError, r"output='softmax' \(loss='cross_entropy'\) over 1 output unit always predicts 1.0"),
    (lambda: bp.Network.mlp([3, 1], output="softmax"), ValueError, r"output='softmax'.* over 1 output unit always predicts 1.0"),
    (lambda: bp.Network.mlp([3, 1], output="softmax", loss="mse"), ValueError, r"output='softmax' over 1 output unit"),
    (lambda: bp.Network([bp.Dense(3, 1), bp.Softmax()], loss="cross_entropy"), ValueError, r"output='softmax' .*over 1 output unit"),
    (lambda: bp.Network.mlp([3, 1], output="identity", loss="bce"), ValueError, r"loss 'bce' is computed from logits and pairs with output='sigmoid'"),
    (lambda: bp.Network.mlp([3, 2], output="sigmoid", loss="cross_entropy"), ValueError, r"pairs with output='softmax'"),
    (lambda: bp.Network.mlp([3, 1], dtype="float16"), ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
    (lambda: bp.Network.mlp([3, 1], dtype="int32"), ValueError, r"dtype must be 'float64' or 'float32', got 'int32'"),
    (lambda: bp.Network.mlp([3, 1], dtype="banana"), ValueError, r"dtype must be 'float64' or 'float32', got 'banana'"),
    (lambda: bp.Network.mlp([3, 1], l2=-0.1), ValueError, r"l2 must be >= 0.0, got -0.1"),
    (lambda: bp.Network.mlp([3, 1], l2=float("nan")), ValueError, r"l2 must be finite, got nan"),
    (lambda: bp.Network.mlp([3, 1], l2="0.1"), TypeError, r"l2 must be a real number, got '0.1' \(str\)"),
    (lambda: bp.Network([bp.Dense(3, 1)], loss="mse", l2=-1), ValueError, r"l2 must be >= 0.0, got -1"),
    (lambda: bp.Network([]), ValueError, r"layers is empty"),
    (lambda: bp.Network([bp.Dense(3, 2), "relu"]), TypeError, r"layers\[1\] is str, which lacks forward/backward/parameters"),
    (lambda: bp.Network([bp.Dense(3, 2), bp.Dense(3, 1)]), ValueError, r"layer shapes do not chain: Dense\(3, 2\) is followed by Dense\(3, 1\)"),
    (lambda: bp.Dense(3, -1), ValueError, r"out_features must be >= 1, got -1"),
    (lambda: bp.Dense(0, 2), ValueError, r"in_features must be >= 1, got 0"),
    (lambda: bp.Dense(3, 2.5), TypeError, r"out_features must be an integer, got 2.5"),
    (lambda: bp.Dense("3", 2), TypeError, r"in_features must be an integer, got '3'"),
    (lambda: bp.LeakyReLU(-1), ValueError, r"negative_slope must be a number in \[0, 1\), got -1"),
    # ---- weights
    (lambda: bp.Network.mlp([3, 2], seed=0).set_weights([np.full((3, 2), np.nan), np.zeros(2)]), ValueError,
     r"weights\[0\] holds nan at entry \(0, 0\); weights must be finite"),
    (lambda: bp.Network.mlp([3, 2], seed=0).set_weights([np.zeros((3, 2)), np.array([0.0, np.inf])]), ValueError,
     r"weights\[1\] holds inf at entry \(1,\)"),
    (lambda: bp.Network.mlp([3, 2], seed=0).set_weights([np.zeros((3, 2))]), ValueError, r"expected 2 arrays, got 1"),
    (lambda: bp.Network.mlp([3, 2], seed=0).set_weights([np.zeros((2, 3)), np.zeros(2)]), ValueError,
     r"weights\[0\] has shape \(2, 3\), expected \(3, 2\)"),
    # ---- fit settings
    (lambda: NET.fit(X, Y, optimizer="lbfgs"), ValueError, r"unknown optimizer 'lbfgs'; expected one of: sgd, adam, rmsprop"),
    (lambda: NET.fit(X, Y, lr=-0.1), ValueError, r"lr must be >= 0.0, got -0.1"),
    (lambda: NET.fit(X, Y, lr=float("nan")), ValueError, r"lr must be finite, got nan"),
    (lambda: NET.fit(X, Y, lr=float("inf")), ValueError, r"lr must be finite, got inf"),
    (lambda: NET.fit(X, Y, lr="0.1"), TypeError, r"lr must be a real number, got '0.1' \(str\)"),
    (lambda: NET.fit(X, Y, batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, batch_size=2.0), TypeError, r"batch_size must be an integer, got 2.0 \(float\)"),
    (lambda: NET.fit(X, Y, batch_size=True), TypeError, r"batch_size must be an integer, got True \(bool\)"),
    (lambda: NET.fit(X, Y, max_steps=0), ValueError, r"max_steps must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, max_epochs=-1), ValueError, r"max_epochs must be >= 1, got -1"),
    (lambda: NET.fit(X, Y, max_epochs=1.5), TypeError, r"max_epochs must be an integer, got 1.5"),
    (lambda: NET.fit(X, Y, sampling="bootstrap"), ValueError, r"unknown sampling 'bootstrap'; expected one of: epoch, random"),
    (lambda: NET.fit(X, Y, schedule="cosine"), ValueError, r"unknown schedule 'cosine'"),
    (lambda: NET.fit(X, Y, stop={"loss_below": 0.1}), TypeError, r"stop must be a backproplab.Stop, got dict"),
    (lambda: NET.fit(X, Y, monitor=3), TypeError, r"monitor must have an `every` attribute"),
    (lambda: NET.fit(X, Y, validation=1.5), ValueError, r"validation must be <= 1.0, got 1.5"),
    (lambda: NET.fit(X, Y, validation=-0.1), ValueError, r"validation must be > 0.0, got -0.1"),
    (lambda: NET.fit(X, Y, validation="0.1"), TypeError, r"validation must be a real number, got '0.1'"),
    (lambda: NET.fit(X, Y, validation=0.01), ValueError, r"validation=0.01 leaves 0 of 5 samples for validation"),
    (lambda: NET.fit(X, Y, validation=(X, Y[:3])), ValueError, r"validation X and y have different numbers of rows: 5 and 3"),
    (lambda: NET.fit(X, Y, validation=(X,)), ValueError, r"validation must be \(X_val, y_val\) or a fraction"),
    (lambda: NET.fit(X, Y, checkpoint_every=5), ValueError, r"checkpoint_every is set but checkpoint \(the file path\) is not"),
    (lambda: NET.fit(X, Y, checkpoint="c.npz", checkpoint_every=0), ValueError, r"checkpoint_every must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, optimizer=bp.SGD(0.1), lr=0.5), ValueError, r"lr was given together with an optimizer object"),
    (lambda: NET.fit(X, Y, metrics=["f1"]), ValueError, r"unknown metric 'f1'; expected one of: mae, mse, sse, accuracy, r2"),
    (lambda: NET.fit(X, Y, metrics="f1"), ValueError, r"unknown metric 'f1'"),
    (lambda: NET.fit(X, Y, metrics=3), TypeError, r"metrics must be a name or a list of names, got 3"),
    (lambda: NET.evaluate(X, Y, metrics="f1"), ValueError, r"unknown metric 'f1'; expected one of: loss, mae"),
    (lambda: NET.fit(X, Y, seed=-3), ValueError, r"seed must be None, a non-negative integer or a numpy Generator, got -3"),
    (lambda: NET.fit(X, Y, seed=0.5), TypeError, r"seed must be None, a non-negative integer or a numpy Generator, got 0.5"),
    (lambda: NET.fit(X, Y, resume="/nonexistent/ckpt.npz"), FileNotFoundError, r"cannot load '/nonexistent/ckpt.npz': no such file"),
    (lambda: NET.fit(X, Y, callbacks=[3]), TypeError, r"callbacks\[0\] is int, which lacks on_train_begin"),
    (lambda: NET.fit(X, Y, callbacks="cb"), TypeError, r"callbacks must be a list of backproplab.Callback objects, got str"),
    (lambda: bp.save("not a network", "m.npz"), TypeError, r"net must be a backproplab Network or a fitted backproplab estimator, got str"),
    (lambda: bp.save(NET, 3), TypeError, r"path must be a file path \(str or os.PathLike\), got 3 \(int\)"),
    (lambda: bp.load(None), TypeError, r"path must be a file path \(str or os.PathLike\), got None"),
    (lambda: bp.check_gradient(lambda p: 0.0, lambda p: [], []), ValueError, r"params is empty; there is nothing to check"),
    (lambda: bp.check_gradient(lambda p: float(p[0] @ p[0]), lambda p: [None], [np.ones(2)]), ValueError,
     r"gradient 0 \(p0\) has shape \(\), the parameter has \(2,\)"),
    (lambda: bp.check_gradient(lambda p: float(p[0] @ p[0]), lambda p: [["a", "b"]], [np.ones(2)]), TypeError,
     r"gradient 0 \(p0\) is not a numeric array"),
    (lambda: bp.check_gradient(lambda p: p[0] * 2, lambda p: [2 * p[0]], [np.ones(2)]), TypeError,
     r"loss_fn must return a number, got an array of shape \(2,\)"),
    # ---- targets
    (lambda: CE.fit(X, [0, 1, 2, 3, 1]), ValueError, r"loss 'cross_entropy' needs class indices in 0..2 for 3 outputs; y has values from 0 to 3"),
    (lambda: CE.fit(X, [0, 1, 2, 1.5, 1]), ValueError, r"needs class indices in 0..2"),
    (lambda: CE.fit(X, [-1, 1, 2, 0, 1]), ValueError, r"needs class indices in 0..2 for 3 outputs; y has values from -1 to 2"),
    (lambda: BCE.fit(X, [0, 1, 2, 0, 1]), ValueError, r"loss 'bce' needs targets in \[0, 1\] .*; y has values from 0 to 2"),
    # ---- stop rules and optimizers
    (lambda: bp.Stop(window=100), ValueError, r"Stop.window=100 only applies to loss_below, which is not set"),
    (lambda: bp.Stop(loss_below=-1), ValueError, r"Stop.loss_below must be > 0.0, got -1.0"),
    (lambda: bp.Stop(patience=0), ValueError, r"Stop.patience must be >= 1, got 0"),
    (lambda: bp.Stop(tol=-1), ValueError, r"Stop.tol must be >= 0.0, got -1.0"),
    (lambda: bp.Stop(time_limit=0), ValueError, r"Stop.time_limit must be > 0.0, got 0.0"),
    (lambda: bp.SGD(lr=0.1, nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (lambda: bp.SGD(lr=0.1, momentum=1.5), ValueError, r"momentum must be <= 1.0, got 1.5"),
    (lambda: bp.SGD(lr=-1), ValueError, r"lr must be >= 0.0, got -1"),
    (lambda: bp.Adam(beta1=1.0), ValueError, r"beta1 and beta2 must be < 1"),
    (lambda: bp.RMSProp(eps=0), ValueError, r"eps must be > 0.0, got 0.0"),
]


class TestLibraryValues:
    @pytest.mark.parametrize("call,exception,message", LIBRARY_CASES, ids=ids(LIBRARY_CASES))
    def test_refused_naming_the_argument(self, call, exception, message):
        raises(call, exception, message)

    def test_sizes_as_a_numpy_array_are_sizes(self):
        net = bp.Network.mlp(np.array([3, 4, 1]), seed=0)
        assert [p.shape for p in net.parameters()] == [(3, 4), (4,), (4, 1), (1,)]

    def test_one_metric_name_is_one_metric(self):
        history = bp.Network.mlp([3, 2], loss="cross_entropy", seed=0).fit(X, [0, 1, 0, 1, 1], max_epochs=2,
                                                                            metrics="accuracy")
        assert set(history.metrics) == {"accuracy"} and len(history.metrics["accuracy"]) == 2
        assert set(NET.evaluate(X, Y, metrics="mse")) == {"mse"}

    def test_numeric_object_arrays_and_huge_finite_values_are_read(self):
        objects = np.array(X.tolist(), dtype=object)
        np.testing.assert_array_equal(NET.predict(objects), NET.predict(X))
        assert NET.predict(np.full((2, 3), 1e200)).shape == (2, 2)  # huge but finite: accepted


import scipy.sparse as sparse  # noqa: E402


def frame_with_na():
    import pandas

    return pandas.DataFrame({"a": [1.0, 2.0], "b": pandas.array([1, None], dtype="Int64"), "c": [0.5, 0.5]})


def frame_with_text():
    import pandas

    return pandas.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [0.5, 0.5]})


FOREIGN_CONTAINERS = [
    (lambda: NET.predict(sparse.csr_matrix(X)), TypeError, r"X is a sparse matrix \(csr_matrix\); .* pass X.toarray\(\)"),
    (lambda: NET.predict(sparse.coo_matrix(X)), TypeError, r"X is a sparse matrix \(coo_matrix\)"),
    (lambda: NET.fit(X, sparse.csr_matrix(Y)), TypeError, r"y is a sparse matrix"),
    (lambda: NET.predict(frame_with_na()), ValueError, r"X has a missing value \(<NA>\) at row 1, column 1 \('b'\); .*does not impute"),
    (lambda: NET.predict(frame_with_text()), TypeError, r"X must be numeric, got 'x' \(str\) at row 0, column 1 \('b'\)"),
    (lambda: NET.fit(X, __import__("pandas").Series([0.0, None, 1.0, 0.0, 1.0], dtype="Float64").to_frame().assign(b=0.0)),
     ValueError, r"y has a missing value \(<NA>\) at row 1"),
]


class TestForeignContainers:
    @pytest.mark.parametrize("call,exception,message", FOREIGN_CONTAINERS, ids=ids(FOREIGN_CONTAINERS))
    def test_refused_with_the_right_reason(self, call, exception, message):
        raises(call, exception, message)

    def test_a_numeric_data_frame_is_read_as_its_values(self):
        import pandas

        frame = pandas.DataFrame(X, columns=["a", "b", "c"])
        np.testing.assert_array_equal(NET.predict(frame), NET.predict(X))


class TestValidationHelpers:
    def test_sizes(self):
        assert check_sizes("sizes", np.array([3, 4, 1])) == [3, 4, 1]
        assert check_sizes("sizes", (3, np.int64(2))) == [3, 2]
        raises(lambda: check_sizes("hidden", [3, 0]), ValueError, r"hidden\[1\] must be >= 1, got 0")

    def test_seed(self):
        assert check_seed("seed", np.int64(3)) == 3 and check_seed("seed", None) is None
        raises(lambda: check_seed("random_state", -2), ValueError, r"random_state must be None, a non-negative")

    def test_names(self):
        assert check_names("metrics", "r2", ["r2", "mse"]) == ["r2"]
        assert check_names("metrics", ("r2", "mse"), ["r2", "mse"]) == ["r2", "mse"]
        raises(lambda: check_names("metrics", ["r2", "a"], ["r2"]), ValueError, r"unknown metric 'a'; expected one of: r2")

    def test_parameter_memory(self):
        assert parameter_count([3, 4, 1]) == 21
        assert check_parameter_memory("sizes", [3, 4, 1]) == 21 * 6 * 8
        raises(lambda: check_parameter_memory("--layers", [10, 1000, 1], limit=1000), ValueError,
               r"--layers \[10, 1000, 1\] make 12,001 parameters, which need about 576 KB to train; this machine has 1 KB")

    def test_output_units(self):
        check_output_units("softmax", "cross_entropy", 2)
        check_output_units("sigmoid", "bce", 1)
        raises(lambda: check_output_units("identity", "cross_entropy", 1), ValueError, r"over 1 output unit")

    def test_float32_cast_reports_overflow_not_inf(self):
        raises(lambda: as_float_array("features", [[1.0, 4e38]], np.float32), ValueError,
               r"features has 4e\+38 at row 0, column 1, which overflows float32 \(largest 3.4e\+38\)")
        assert as_float_array("X", [[3e38]], np.float32).dtype == np.float32


ESTIMATOR_CASES = [
    ({"alpha": -1.0}, ValueError, r"alpha must be >= 0.0, got -1.0"),
    ({"alpha": float("nan")}, ValueError, r"alpha must be finite"),
    ({"alpha": "0.1"}, TypeError, r"alpha must be a real number, got '0.1'"),
    ({"max_iter": 0}, ValueError, r"max_iter must be >= 1, got 0"),
    ({"max_iter": 2.5}, TypeError, r"max_iter must be an integer, got 2.5"),
    ({"n_iter_no_change": 0}, ValueError, r"n_iter_no_change must be >= 1, got 0"),
    ({"tol": -1e-4}, ValueError, r"tol must be >= 0.0, got -0.0001"),
    ({"learning_rate_init": 0.0}, ValueError, r"learning_rate_init must be > 0.0, got 0.0"),
    ({"learning_rate_init": -0.1}, ValueError, r"learning_rate_init must be > 0.0"),
    ({"momentum": 1.5}, ValueError, r"momentum must be <= 1.0, got 1.5"),
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be < 1.0, got 1.0"),
    ({"validation_fraction": 0.0}, ValueError, r"validation_fraction must be > 0.0, got 0.0"),
    ({"beta_1": 1.0}, ValueError, r"beta_1 must be < 1.0, got 1.0"),
    ({"beta_2": -0.1}, ValueError, r"beta_2 must be >= 0.0, got -0.1"),
    ({"epsilon": 0.0}, ValueError, r"epsilon must be > 0.0, got 0.0"),
    ({"power_t": -1.0}, ValueError, r"power_t must be >= 0.0, got -1.0"),
]


class TestEstimators:

    @pytest.mark.parametrize("params,exception,message", ESTIMATOR_CASES, ids=ids(ESTIMATOR_CASES))
    def test_the_helper_names_the_estimators_own_parameters(self, params, exception, message):
        raises(lambda: check_estimator_params(params), exception, message)

    @pytest.mark.parametrize("params,exception,message", ESTIMATOR_CASES[::3], ids=ids(ESTIMATOR_CASES[::3]))
    def test_fit_refuses_before_translating(self, params, exception, message):
        from backproplab.estimators import BackpropRegressor

        raises(lambda: BackpropRegressor(**params).fit(X, np.arange(5.0)), exception, message)

    def test_regressor_with_softmax_over_one_unit(self):
        from backproplab.estimators import BackpropRegressor

        raises(lambda: BackpropRegressor(output="softmax").fit(X, np.arange(5.0)), ValueError,
               r"output='softmax' over 1 output unit always predicts 1.0")

    def test_hidden_sizes_as_an_array(self):
        from backproplab.estimators import BackpropClassifier

        model = BackpropClassifier(hidden_layer_sizes=np.array([4, 3]), max_iter=2, random_state=0).fit(X, [0, 1, 0, 1, 1])
        assert [c.shape for c in model.coefs_] == [(3, 4), (4, 3), (3, 1)]


# ====================================================================== 3. model files
def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def header_of(members):
    header = json.loads(np.load(io.BytesIO(members["header.npy"])).tobytes())
    header.pop("checksum", None)
    return header


def arrays_of(members):
    names = sorted(n for n in members if n.startswith("array_"))
    return [np.load(io.BytesIO(members[n])) for n in names]


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def resign(members, header, arrays=None):
    """A deliberate author recomputes the checksum, so that the refusal comes from the check under test."""
    arrays = arrays_of(members) if arrays is None else arrays
    members = dict(members)
    members["header.npy"] = npy(np.frombuffer(json.dumps(dict(header, checksum=_checksum(header, arrays))).encode(), np.uint8))
    return members


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.npz"
    bp.save(bp.Network.mlp([3, 4, 2], hidden="tanh", seed=0), path)
    return path


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    bp.Network.mlp([3, 4, 2], seed=0).fit(X, Y, optimizer="adam", max_steps=3, checkpoint=path)
    return path


def crafted(tmp_path, source, change=None, header_change=None, arrays=None, compression=zipfile.ZIP_STORED):
    members = members_of(source)
    if header_change is not None:
        header = header_of(members)
        header_change(header)
        members = resign(members, header, arrays)
    if change is not None:
        change(members)
    return write_zip(tmp_path / "crafted.npz", members, compression)


def set_layer(index, **fields):
    return lambda h: h["network"]["layers"][index].update(fields)


def big_header(tmp_path, size=15000):
    small = tmp_path / "small.npz"
    bp.save(bp.Network.mlp([2, 1], seed=0), small)
    return crafted(tmp_path, small, header_change=set_layer(0, in_features=size, out_features=size))


def bomb(tmp_path, rows, cols, consistent):
    """A deflated archive whose weight array expands to rows*cols float64 zeros; with ``consistent``
    the header declares exactly that layer, so only the zip directory gives the bomb away."""
    small = tmp_path / "small.npz"
    bp.save(bp.Network.mlp([2, 1], seed=0), small)
    members = members_of(small)
    header = header_of(members)
    if consistent:
        header["network"] = bp.Network.mlp([rows, cols], seed=0).spec()
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("header.npy", resign(members, header, [np.zeros(1)])["header.npy"])
        with archive.open("array_000.npy", "w", force_zip64=True) as handle:
            prefix = io.BytesIO()
            np.lib.format.write_array_header_1_0(prefix, {"descr": "<f8", "fortran_order": False, "shape": (rows, cols)})
            handle.write(prefix.getvalue())
            chunk = bytes(1 << 20)
            for _ in range(rows * cols * 8 // len(chunk)):
                handle.write(chunk)
        archive.writestr("array_001.npy", npy(np.zeros(cols if consistent else 1)))
    return path


def drop_member(name):
    return lambda m: m.pop(name)


def replace_member(name, data):
    return lambda m: m.__setitem__(name, data)


FILE_CASES = [
    # (make(tmp_path, model) -> path, reason regex)
    (lambda t, m: big_header(t), r"member array_000.npy has shape \(2, 1\); the header's layers need \(15000, 15000\)"),
    (lambda t, m: crafted(t, m, header_change=lambda h: (set_layer(0, out_features=5)(h), set_layer(2, in_features=5)(h))),
     r"has shape \(3, 4\); the header's layers need \(3, 5\)"),
    (lambda t, m: crafted(t, m, header_change=set_layer(0, out_features=5)), r"layer shapes do not chain: Dense\(3, 5\) is followed by Dense\(4, 2\)"),
    (lambda t, m: crafted(t, m, header_change=set_layer(2, in_features=7)), r"layer shapes do not chain"),
    (lambda t, m: crafted(t, m, header_change=set_layer(0, in_features=0)), r"layer 0 \(Dense\) has a bad spec"),
    (lambda t, m: crafted(t, m, header_change=set_layer(0, in_features="3")), r"layer 0 \(Dense\) has a bad spec"),
    (lambda t, m: crafted(t, m, header_change=set_layer(0, in_features=3.0)), r"layer 0 \(Dense\) has a bad spec"),
    (lambda t, m: crafted(t, m, header_change=set_layer(0, in_features=None)), r"layer 0 \(Dense\) has a bad spec"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"]["layers"].__setitem__(1, {"type": "os.system"})),
     r"'os.system', which is not in the whitelist"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"]["layers"].__setitem__(1, "Tanh")), r"layer 1 has type None"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"].update(layers={})), r"the header has no layer list"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h.update(network=None)), r"the header has no layer list"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"].update(dtype="float16")), r"unsupported dtype 'float16'"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"].update(loss="os.system")), r"unknown loss 'os.system'"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"].update(l2=-1)), r"l2 must be >= 0.0"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"].update(l2="x")), r"l2 must be a real number"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h.update(format_version=99)), r"format version 99"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h.update(format="other")), r"unknown header format"),
    (lambda t, m: crafted(t, m, header_change=lambda h: h["network"]["layers"].extend([{"type": "Tanh"}] * 20000)),
     r"declares 20004 layers"),
    (lambda t, m: crafted(t, m, replace_member("header.npy", npy(np.frombuffer(b"[1, 2]", np.uint8)))), r"unknown header format"),
    (lambda t, m: crafted(t, m, replace_member("header.npy", npy(np.frombuffer(b"{not json", np.uint8)))), r"the file is corrupted"),
    (lambda t, m: crafted(t, m, replace_member("header.npy", npy(np.zeros(3)))), r"header.npy is not JSON bytes"),
    (lambda t, m: crafted(t, m, replace_member("header.npy", npy(np.zeros((1 << 20) + 1, np.uint8)))), r"the header is implausibly large"),
    (lambda t, m: crafted(t, m, drop_member("header.npy")), r"an .npz archive without a backproplab header"),
    (lambda t, m: crafted(t, m, drop_member("array_003.npy")), r"it holds 3 arrays but the architecture needs 4"),
    (lambda t, m: crafted(t, m, replace_member("array_004.npy", npy(np.zeros(2)))), r"it holds 5 arrays but the architecture needs 4"),
    (lambda t, m: crafted(t, m, replace_member("extra.txt", b"hello")), r"unexpected members in the archive: array_000.npy, .*extra.txt"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.zeros((3, 4), np.float32)))), r"has dtype float32; the header declares float64"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.zeros((3, 4), np.int64)))), r"has dtype int64"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.full((3, 4), np.nan)))), r"checksum mismatch"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.zeros((3, 4))))), r"checksum mismatch"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.zeros((4, 3))))), r"has shape \(4, 3\); the header's layers need \(3, 4\)"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", npy(np.zeros((3, 4)))[:-8])), r"declares 216 bytes, its shape \(3, 4\) needs 96"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", b"\x93NUMPY\x09\x00" + b"x" * 100)), r"member array_000.npy has .npy version \(9, 0\)"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", b"not an npy file at all")), r"the file is corrupted"),
    (lambda t, m: crafted(t, m, replace_member("array_000.npy", _pickled_array())), r"pickled \(object\) arrays"),
    (lambda t, m: bomb(t, 1024, 2048, consistent=False), r"member array_000.npy declares 16777344 bytes, but the header's shapes allow at most"),
    (lambda t, m: bomb(t, 1024, 2048, consistent=True), r"member array_000.npy expands \d+ bytes to 16777344 \(a zip bomb\?\)"),
    (lambda t, m: _write(t / "empty.npz", b""), r"not an .npz archive, or truncated"),
    (lambda t, m: _write(t / "text.npz", b"hello, world\n"), r"not an .npz archive"),
    (lambda t, m: _write(t / "pickle.npz", __import__("pickle").dumps({"W": [1.0]})), r"not a backproplab model"),
    (lambda t, m: _write(t / "cut.npz", m.read_bytes()[: os.path.getsize(m) // 2]), r"cut.npz"),
    (lambda t, m: _write(t / "cut.npz", m.read_bytes()[:-30]), r"cut.npz"),
    (lambda t, m: _foreign(t), r"not a backproplab model"),
]


def _write(path, data):
    path.write_bytes(data)
    return path


def _foreign(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, W=np.ones((2, 2)))
    return path


def _pickled_array():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


class TestModelFiles:
    @pytest.mark.parametrize("make,reason", FILE_CASES, ids=ids(FILE_CASES, 1))
    def test_crafted_or_damaged_files_are_model_file_errors_naming_the_file(self, tmp_path, model, make, reason):
        path = make(tmp_path, model)
        error = raises(lambda: bp.load(path), ModelFileError, reason)
        assert str(path) in str(error)

    def test_stored_member_whose_directory_lies_about_its_size(self, tmp_path, model):
        path = crafted(tmp_path, model)
        data = bytearray(path.read_bytes())
        # the central directory entry of array_000: bump its uncompressed size field only
        central = data.rfind(b"PK\x01\x02", 0, data.find(b"array_000.npy", data.find(b"PK\x01\x02")) + 1)
        size = int.from_bytes(data[central + 24 : central + 28], "little")
        data[central + 24 : central + 28] = (size * 1000).to_bytes(4, "little")
        path.write_bytes(bytes(data))
        error = raises(lambda: bp.load(path), ModelFileError, r"(stored uncompressed but declares|declares \d+ bytes|corrupted)")
        assert str(path) in str(error)

    def test_the_network_is_built_around_the_stored_arrays(self, model, monkeypatch):
        import backproplab.initializers as initializers

        def no_draws(*args, **kwargs):
            raise AssertionError("an initialiser ran while loading")

        for name in list(initializers.INITIALIZERS):
            monkeypatch.setitem(initializers.INITIALIZERS, name, no_draws)
        monkeypatch.setitem(initializers.INITIALIZERS, "glorot_uniform",
                            lambda fan_in, fan_out, rng: (np.zeros((fan_in, fan_out)), np.zeros(fan_out))
                            if fan_in * fan_out == 1 else no_draws())
        loaded = bp.load(model)
        assert loaded.spec()["layers"][0] == {"type": "Dense", "in_features": 3, "out_features": 4}

    @pytest.mark.parametrize("kind", ["missing", "directory", "broken link"])
    def test_paths_that_are_not_files(self, tmp_path, kind):
        path = tmp_path / "thing.npz"
        if kind == "directory":
            path.mkdir()
            raises(lambda: bp.load(path), ModelFileError, rf"cannot load '{path}': it is a directory")
        else:
            if kind == "broken link":
                path.symlink_to(tmp_path / "nowhere.npz")
            raises(lambda: bp.load(path), FileNotFoundError, rf"cannot load '{path}': no such file")


def corrupt_checkpoint(tmp_path, source, change):
    return crafted(tmp_path, source, header_change=lambda h: change(h["checkpoint"]))


CHECKPOINT_CASES = [
    (lambda c: c["state"].pop("step"), r"its checkpoint state has step=None; expected a non-negative integer"),
    (lambda c: c["state"].update(step=-5), r"its checkpoint state has step=-5"),
    (lambda c: c["state"].update(epoch="3"), r"its checkpoint state has epoch='3'"),
    (lambda c: c["state"].update(step_in_epoch=1.5), r"step_in_epoch=1.5"),
    (lambda c: c["state"].update(rng={"bit_generator": "PCG64", "state": "nope"}), r"no valid random-generator state"),
    (lambda c: c["state"].update(rng={"bit_generator": "os.system"}), r"no valid random-generator state"),
    (lambda c: c["state"].pop("rng"), r"no valid random-generator state"),
    (lambda c: c.update(state=[1, 2]), r"no valid optimizer step count or run state"),
    (lambda c: c.update(t=-1), r"no valid optimizer step count"),
    (lambda c: c.update(t="3"), r"no valid optimizer step count"),
    (lambda c: c.update(n_weights=2), r"its checkpoint declares n_weights=2, the network has 4 arrays"),
    (lambda c: c.pop("n_weights"), r"declares n_weights=None"),
    (lambda c: c.update(optimizer="adam"), r"it was written by optimizer None, not 'adam'"),
    (lambda c: c["optimizer"].update(name="sgd"), r"it was written by optimizer 'sgd', not 'adam'"),
]


class TestCheckpoints:
    @pytest.mark.parametrize("change,reason", CHECKPOINT_CASES, ids=ids(CHECKPOINT_CASES, 1))
    def test_crafted_checkpoints_are_model_file_errors(self, tmp_path, checkpoint, change, reason):
        path = corrupt_checkpoint(tmp_path, checkpoint, change)
        net = bp.Network.mlp([3, 4, 2], seed=0)
        error = raises(lambda: net.fit(X, Y, optimizer="adam", max_steps=5, resume=path), ModelFileError, reason)
        assert str(path) in str(error)

    def test_a_model_is_not_a_checkpoint(self, tmp_path, model):
        net = bp.Network.mlp([3, 4, 2], hidden="tanh", seed=0)
        raises(lambda: net.fit(X, Y, max_steps=5, resume=model), ModelFileError, r"model.npz': it is a model file, not a checkpoint")

    def test_another_architecture_is_refused(self, checkpoint):
        net = bp.Network.mlp([3, 5, 2], seed=0)
        raises(lambda: net.fit(X, Y, optimizer="adam", max_steps=5, resume=checkpoint), ModelFileError,
               r"its architecture differs from the network being trained")

    def test_state_arrays_of_a_wrong_shape(self, tmp_path, checkpoint):
        def shrink(members):
            names = sorted(n for n in members if n.startswith("array_"))
            members[names[-1]] = npy(np.zeros(3))

        path = crafted(tmp_path, checkpoint, shrink)
        raises(lambda: bp.load(path), ModelFileError, r"has shape \(3,\), which no optimizer state of this network has")


# ====================================================================== 4. saving never loses work
class TestSaving:
    def test_failed_save_keeps_the_old_model_and_leaves_no_temporary(self, tmp_path, model, monkeypatch):
        before = model.read_bytes()

        def disk_full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(np, "savez", disk_full)
        raises(lambda: bp.save(NET, model), OSError,
               rf"cannot save to '{model}': No space left on device; any existing file there is unchanged")
        assert model.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]

    def test_save_onto_a_directory_names_the_target(self, tmp_path):
        (tmp_path / "d.npz").mkdir()
        raises(lambda: bp.save(NET, tmp_path / "d.npz"), OSError, rf"cannot save to '{tmp_path / 'd.npz'}': it is a directory")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]

    def test_save_into_a_missing_folder(self, tmp_path):
        raises(lambda: bp.save(NET, tmp_path / "no" / "m.npz"), OSError, r"the folder .* does not exist")

    def test_saved_files_get_the_usual_mode(self, tmp_path):
        old = os.umask(0o022)
        try:
            bp.save(NET, tmp_path / "m.npz")
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o644

    def test_an_existing_file_keeps_its_mode(self, tmp_path):
        path = tmp_path / "m.npz"
        bp.save(NET, path)
        os.chmod(path, 0o600)
        bp.save(NET, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def test_atomic_write_names_the_target_and_cleans_up(self, tmp_path):
        def fails(handle):
            handle.write(b"half")
            raise OSError(5, "Input/output error")

        raises(lambda: _io.atomic_write(tmp_path / "out.csv", fails), OSError, rf"cannot write {tmp_path / 'out.csv'}: Input/output error")
        assert list(tmp_path.iterdir()) == []

    def test_atomic_write_onto_a_directory_cleans_up(self, tmp_path):
        (tmp_path / "out").mkdir()
        raises(lambda: _io.atomic_write(tmp_path / "out", "text"), IsADirectoryError, rf"cannot write {tmp_path / 'out'}")
        assert [p.name for p in tmp_path.iterdir()] == ["out"]

    def test_a_planted_symlink_is_never_followed(self, tmp_path):
        victim = tmp_path / "victim.txt"
        victim.write_text("precious")
        for name in (f"out.csv.tmp{os.getpid()}", ".out.csv.tmp"):
            (tmp_path / name).symlink_to(victim)
        _io.atomic_write(tmp_path / "out.csv", "a,b\n")
        assert victim.read_text() == "precious" and (tmp_path / "out.csv").read_text() == "a,b\n"


PATH_CHECKS = [
    (lambda t: _io.check_output_path("", "--save"), ValueError, r"--save is empty; expected a file path"),
    (lambda t: _io.check_output_path(t / "no" / "m.npz", "--save"), ValueError, r"--save '.*m.npz': folder '.*no' does not exist"),
    (lambda t: _io.check_output_path(t, "--report"), ValueError, r"--report '.*' is a directory; expected a file path"),
    (lambda t: _io.check_output_path(_fifo(t), "--out"), ValueError, r"--out '.*fifo' is not a regular file"),
    (lambda t: _io.check_regular_file(t / "absent.csv", "data file"), ValueError, r"data file '.*absent.csv' does not exist"),
    (lambda t: _io.check_regular_file(t, "data file"), ValueError, r"data file '.*' is a directory; expected a file"),
    (lambda t: _io.check_regular_file(_fifo(t), "data file"), ValueError, r"data file '.*fifo' is not a regular file \(a device, FIFO or socket\)"),
    (lambda t: _io.check_regular_file("/dev/zero", "model file"), ValueError, r"model file '/dev/zero' is not a regular file"),
    (lambda t: _io.check_regular_file(_link(t, "/dev/zero"), "data file"), ValueError, r"data file '.*link' is not a regular file"),
    (lambda t: _io.check_distinct_paths([("DATA", _file(t, "a.csv"))], [("--save", t / "a.csv")]), ValueError,
     r"--save '.*a.csv' is the same file as DATA; refusing to overwrite it"),
    (lambda t: _io.check_distinct_paths([("DATA", _file(t, "a.csv"))], [("--save", _link(t, t / "a.csv"))]), ValueError,
     r"--save '.*link' is the same file as DATA"),
    (lambda t: _io.check_distinct_paths([("DATA", _file(t, "a.csv"))], [("--out", _hardlink(t, t / "a.csv"))]), ValueError,
     r"--out '.*hard' is the same file as DATA"),
    (lambda t: _io.check_distinct_paths([], [("--save", t / "x.npz"), ("--report", t / "x.npz")]), ValueError,
     r"--report '.*x.npz' is the same file as --save"),
    (lambda t: _io.check_distinct_paths([], [("--save", t / "x.npz"), ("--report", t / "." / "x.npz")]), ValueError,
     r"--report '.*x.npz' is the same file as --save"),
]


def _fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _link(tmp_path, target):
    path = tmp_path / "link"
    path.symlink_to(target)
    return path


def _hardlink(tmp_path, target):
    path = tmp_path / "hard"
    os.link(target, path)
    return path


def _file(tmp_path, name):
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    return path


class TestPathChecks:
    @pytest.mark.parametrize("call,exception,message", PATH_CHECKS, ids=ids(PATH_CHECKS))
    def test_refused_naming_the_argument(self, tmp_path, call, exception, message):
        raises(lambda: call(tmp_path), exception, message)


# ====================================================================== 5. the command line
def cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(code, err, *texts):
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for text in texts:
        assert str(text) in lines[0], (text, lines[0])


@pytest.fixture
def d(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,y"] + [f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.normal(size=(40, 2))]
    (tmp_path / "good.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "other.csv").write_text("\n".join(rows[:30]) + "\n")
    (tmp_path / "text.csv").write_text("a,b,y\n1,two,0\n3,4,1\n")
    (tmp_path / "ragged.csv").write_text("a,b,y\n1,2\n3,4,1\n")
    (tmp_path / "empty.csv").write_text("a,b,y\n")
    (tmp_path / "constant.csv").write_text("a,b,y\n1,2,1\n3,4,1\n5,6,1\n")
    (tmp_path / "binary.csv").write_bytes(b"\x00\xff\xfe\x89PNG")
    (tmp_path / "half.npz").write_bytes(b"PK\x03\x04 half a zip")
    (tmp_path / "folder").mkdir()
    bp.save(bp.Network.mlp([2, 3, 1], output="sigmoid", loss="bce", seed=0), tmp_path / "model.npz")
    return tmp_path


TRAIN = ["train", "{d}/good.csv", "--target", "y", "--epochs", "2"]

CLI_VALUE_CASES = [
    (["train", "{d}/absent.csv", "--target", "y"], "data file '{d}/absent.csv' does not exist"),
    (["train", "{d}/text.csv", "--target", "y"], "column 'b' (feature), row 1: 'two' is not a number"),
    (["train", "{d}/ragged.csv", "--target", "y"], "column 'y' (the target) has 1 missing value(s), the first in row 1"),
    (["train", "{d}/empty.csv", "--target", "y"], "has no data rows"),
    (["train", "{d}/binary.csv", "--target", "y"], "cannot read"),
    (["train", "{d}/good.csv", "--target", "label"], "has no column 'label' (the target); its columns are: 'a', 'b', 'y'"),
    (["train", "{d}/constant.csv", "--target", "y"], "target 'y' has a single class 1; classification needs at least two"),
    (["evaluate", "{d}/half.npz", "{d}/good.csv", "--target", "y"], "cannot load '{d}/half.npz': not a backproplab model"),
    (["predict", "{d}/absent.npz", "{d}/good.csv"], "cannot load '{d}/absent.npz': no such file"),
    (["predict", "{d}/folder", "{d}/good.csv"], "cannot load '{d}/folder': it is a directory"),
    (["experiment", "run", "nonexistent"], "unknown experiment 'nonexistent'"),
    (TRAIN + ["--loss", "cross_entropy", "--output", "sigmoid"], "pairs with output='softmax'"),
    (TRAIN + ["--loss", "huber"], "unknown loss 'huber'"),
    (TRAIN + ["--hidden", "swish"], "unknown hidden activation 'swish'"),
    (TRAIN + ["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
    (TRAIN + ["--init", "xavier"], "unknown init 'xavier'"),
    (TRAIN + ["--lr", "abc"], "argument --lr: invalid float value: 'abc'"),
    (TRAIN + ["--layers", "3,,4"], "argument --layers: expected comma-separated positive integers"),
    (TRAIN + ["--layers", ""], "argument --layers: expected comma-separated positive integers"),
    (TRAIN + ["--layers", ","], "argument --layers"),
    (TRAIN + ["--layers", "3,"], "argument --layers"),
    (TRAIN + ["--layers", ",3"], "argument --layers"),
    (TRAIN + ["--layers", " "], "argument --layers"),
    (TRAIN + ["--layers", "0,3"], "layer sizes must be positive"),
    (TRAIN + ["--layers", "-1"], "layer sizes must be positive"),
    (TRAIN + ["--layers", "3.5"], "expected comma-separated integers like 8,8, got '3.5'"),
    (TRAIN + ["--layers", "a"], "expected comma-separated integers"),
    (TRAIN + ["--layers", "100000000000"], "--layers [2, 100000000000, 1] make 400,000,000,001 parameters"),
    (TRAIN + ["--layers", "100000,100000,100000"], "--layers [2, 100000, 100000, 100000, 1] make"),
    (TRAIN + ["--momentum", "0.9"], "--momentum applies to --optimizer sgd only, got --optimizer adam"),
    (TRAIN + ["--momentum", "0.9", "--optimizer", "rmsprop"], "--momentum applies to --optimizer sgd only, got --optimizer rmsprop"),
    (TRAIN + ["--momentum", "1.5", "--optimizer", "sgd"], "--momentum must be < 1, got 1.5"),
    (TRAIN + ["--momentum", "-0.5", "--optimizer", "sgd"], "--momentum must be >= 0.0, got -0.5"),
    (["train", "{d}/good.csv", "--target", "y", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["train", "{d}/good.csv", "--target", "y", "--epochs", "-3"], "--epochs must be >= 1, got -3"),
    (TRAIN + ["--max-steps", "0"], "--max-steps must be >= 1, got 0"),
    (TRAIN + ["--patience", "0"], "--patience must be >= 1, got 0"),
    (TRAIN + ["--stop-window", "0", "--stop-loss", "0.1"], "--stop-window must be >= 1, got 0"),
    (TRAIN + ["--checkpoint-every", "0", "--checkpoint", "{d}/c.npz"], "--checkpoint-every must be >= 1, got 0"),
    (TRAIN + ["--batch-size", "-3"], "batch_size must be >= 1, got -3"),
    (TRAIN + ["--lr", "-1"], "--lr must be >= 0.0, got -1.0"),
    (TRAIN + ["--lr", "nan"], "--lr must be finite, got nan"),
    (TRAIN + ["--lr", "inf"], "--lr must be finite, got inf"),
    (TRAIN + ["--l2", "-0.1"], "--l2 must be >= 0.0, got -0.1"),
    (TRAIN + ["--val-fraction", "2"], "--val-fraction must be < 1, got 2.0"),
    (TRAIN + ["--val-fraction", "0"], "--val-fraction must be > 0.0, got 0.0"),
    (TRAIN + ["--val-fraction", "1"], "--val-fraction must be < 1, got 1.0"),
    (TRAIN + ["--time-limit", "0"], "--time-limit must be > 0.0, got 0.0"),
    (TRAIN + ["--stop-loss", "-1"], "--stop-loss must be > 0.0, got -1.0"),
    (TRAIN + ["--stop-grad-norm", "0"], "--stop-grad-norm must be > 0.0, got 0.0"),
    (TRAIN + ["--seed", "-1"], "seed must be None, a non-negative integer or a numpy Generator, got -1"),
    (TRAIN + ["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (TRAIN + ["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["train", "{d}/good.csv"], "the following arguments are required: --target"),
    (["bench", "--repeats", "0"], "--repeats must be >= 1, got 0"),
    (["bench", "--repeats", "-2"], "--repeats must be >= 1, got -2"),
    (["gradcheck", "{d}/good.csv", "--target", "y", "--rows", "-59"], "--rows must be >= 1, got -59"),
    (["gradcheck", "{d}/good.csv", "--target", "y", "--rows", "0"], "--rows must be >= 1, got 0"),
    (["gradcheck", "{d}/good.csv", "--target", "y", "--max-entries", "0"], "--max-entries must be >= 1, got 0"),
    (["gradcheck", "{d}/good.csv", "--target", "y", "--layers", "2,,2"], "argument --layers"),
    (["doctor", "{d}/good.csv", "--target", "y", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["doctor", "{d}/good.csv", "--target", "y", "--momentum", "0.5"], "--momentum applies to --optimizer sgd only"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


class TestCLIValues:
    @pytest.mark.parametrize("args,message", CLI_VALUE_CASES, ids=ids(CLI_VALUE_CASES, 1))
    def test_exit_2_with_one_error_line(self, capsys, d, args, message):
        code, _, err = cli(capsys, *[a.replace("{d}", str(d)) for a in args])
        assert_user_error(code, err, message.replace("{d}", str(d)))

    def test_layers_none_means_no_hidden_layer(self, capsys, d):
        code, out, err = cli(capsys, *[a.replace("{d}", str(d)) for a in TRAIN], "--layers", "none", "--json")
        assert code == 0, err
        assert [layer["type"] for layer in json.loads(out)["history"]["config"]["network"]["layers"]] == ["Standardize", "Dense", "Sigmoid"]

    def test_momentum_with_sgd_is_used(self, capsys, d):
        code, out, err = cli(capsys, *[a.replace("{d}", str(d)) for a in TRAIN], "--optimizer", "sgd", "--momentum", "0.9", "--json")
        assert code == 0, err
        assert json.loads(out)["history"]["config"]["optimizer"]["momentum"] == 0.9


def outputs_of(d):
    return {p.name: p.stat().st_mtime_ns for p in d.iterdir()}


# an output that may not be written: (args, message); nothing in the folder may change
CLI_PATH_CASES = [
    (TRAIN + ["--save", "{d}/no/such/dir/m.npz"], "--save '{d}/no/such/dir/m.npz': folder '{d}/no/such/dir' does not exist"),
    (TRAIN + ["--save", ""], "--save is empty; expected a file path"),
    (["predict", "{d}/model.npz", "{d}/good.csv", "--target", "y", "--out", ""], "--out is empty"),
    (["demo", "--quick", "--out", ""], "--out is empty; expected a folder path"),
    (TRAIN + ["--save", "{d}/folder"], "--save '{d}/folder' is a directory"),
    (TRAIN + ["--report", "{d}/nodir/r.html"], "--report '{d}/nodir/r.html': folder '{d}/nodir' does not exist"),
    (TRAIN + ["--checkpoint", "{d}/nodir/c.npz"], "--checkpoint '{d}/nodir/c.npz': folder"),
    (TRAIN + ["--save", "{d}/good.csv"], "--save '{d}/good.csv' is the same file as DATA; refusing to overwrite it"),
    (TRAIN + ["--report", "{d}/good.csv"], "--report '{d}/good.csv' is the same file as DATA"),
    (TRAIN + ["--checkpoint", "{d}/good.csv"], "--checkpoint '{d}/good.csv' is the same file as DATA"),
    (TRAIN + ["--save", "{d}/both.npz", "--report", "{d}/both.npz"], "--report '{d}/both.npz' is the same file as --save"),
    (TRAIN + ["--save", "{d}/both.npz", "--checkpoint", "{d}/both.npz"], "--checkpoint '{d}/both.npz' is the same file as --save"),
    (TRAIN + ["--save", "{d}/./good.csv"], "is the same file as DATA"),
    (TRAIN + ["--save", "{d}/model.npz", "--resume", "{d}/model.npz"], "--save '{d}/model.npz' is the same file as --resume"),
    (["predict", "{d}/model.npz", "{d}/good.csv", "--target", "y", "--out", "{d}/model.npz"], "--out '{d}/model.npz' is the same file as MODEL"),
    (["predict", "{d}/model.npz", "{d}/good.csv", "--target", "y", "--out", "{d}/good.csv"], "--out '{d}/good.csv' is the same file as DATA"),
    (["predict", "{d}/model.npz", "{d}/good.csv", "--target", "y", "--out", "{d}/nodir/p.csv"], "--out '{d}/nodir/p.csv': folder"),
    (["predict", "{d}/model.npz", "{d}/good.csv", "--target", "y", "--out", "{d}/folder"], "--out '{d}/folder' is a directory"),
    (["doctor", "{d}/good.csv", "--target", "y", "--report", "{d}/good.csv"], "--report '{d}/good.csv' is the same file as DATA"),
    (["doctor", "{d}/good.csv", "--target", "y", "--model", "{d}/model.npz", "--report", "{d}/model.npz"],
     "--report '{d}/model.npz' is the same file as --model"),
    (["doctor", "{d}/good.csv", "--target", "y", "--report", "{d}/nodir/r.html"], "--report '{d}/nodir/r.html': folder"),
    (["experiment", "run", "xor", "--report", "{d}/nodir/x.html"], "--report '{d}/nodir/x.html': folder"),
    (["report", "{d}/h.json", "-o", "{d}/h.json"], "--output '{d}/h.json' is the same file as --history"),
    (["report", "{d}/h.json", "-o", "{d}/nodir/h.html"], "--output '{d}/nodir/h.html': folder"),
    (["demo", "--quick", "--out", "{d}/good.csv"], "--out '{d}/good.csv': '{d}/good.csv' is not a folder"),
    (["bench", "--quick", "--out", "{d}/good.csv/x"], "--out '{d}/good.csv/x': '{d}/good.csv' is not a folder"),
    (["train", "{d}/folder", "--target", "y"], "data file '{d}/folder' is a directory"),
    (["train", "/dev/zero", "--target", "y"], "data file '/dev/zero' is not a regular file"),
    (["train", "{d}/zero.csv", "--target", "y"], "data file '{d}/zero.csv' is not a regular file"),
    (["train", "{d}/fifo.csv", "--target", "y"], "data file '{d}/fifo.csv' is not a regular file"),
    (["predict", "{d}/model.npz", "{d}/fifo.csv"], "data file '{d}/fifo.csv' is not a regular file"),
    (["evaluate", "{d}/model.npz", "/dev/zero", "--target", "y"], "data file '/dev/zero' is not a regular file"),
    (["evaluate", "{d}/zero.npz", "{d}/good.csv", "--target", "y"], "cannot load '{d}/zero.npz': it is not a regular file"),
    (["gradcheck", "{d}/fifo.npz", "{d}/good.csv", "--target", "y"], "cannot load '{d}/fifo.npz': it is not a regular file"),
    (["report", "{d}/fifo.csv", "-o", "{d}/r.html"], "--history '{d}/fifo.csv' is not a regular file"),
]


def run_with_timeout(function, seconds=20):
    """Run ``function`` in a daemon thread, so that a hang (a FIFO opened for reading) fails the test."""
    result: dict = {}

    def target():
        try:
            result["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"hung for more than {seconds} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


class TestCLIPaths:
    @pytest.mark.parametrize("args,message", CLI_PATH_CASES, ids=ids(CLI_PATH_CASES, 1))
    def test_refused_before_any_work_and_nothing_changes(self, capsys, d, args, message):
        bp.Network.mlp([2, 1], seed=0).fit(np.ones((2, 2)), np.ones(2), max_epochs=1).to_json(d / "h.json")
        (d / "zero.csv").symlink_to("/dev/zero")
        (d / "zero.npz").symlink_to("/dev/zero")
        os.mkfifo(d / "fifo.csv")
        os.mkfifo(d / "fifo.npz")
        before = outputs_of(d)
        contents = {name: (d / name).read_bytes() for name in ("good.csv", "model.npz")}
        code, _, err = run_with_timeout(lambda: cli(capsys, *[a.replace("{d}", str(d)) for a in args]))
        assert_user_error(code, err, message.replace("{d}", str(d)))
        assert outputs_of(d) == before
        assert {name: (d / name).read_bytes() for name in contents} == contents

    def test_a_bad_save_path_fails_before_training(self, capsys, d, monkeypatch):
        import backproplab.training as training

        def never(*args, **kwargs):
            raise AssertionError("training started")

        monkeypatch.setattr(training, "fit", never)
        code, _, err = cli(capsys, "train", d / "good.csv", "--target", "y", "--epochs", "100000", "--save", d / "no" / "m.npz")
        assert_user_error(code, err, "--save")

    def test_a_checkpoint_may_be_resumed_into_itself(self, capsys, d):
        args = ["train", d / "good.csv", "--target", "y", "--checkpoint", d / "c.npz"]
        assert cli(capsys, *args, "--max-steps", "5")[0] == 0
        code, out, err = cli(capsys, *args, "--max-steps", "10", "--resume", d / "c.npz", "--json")
        assert code == 0, err and json.loads(out)["history"]["n_steps"] == 10

    def test_resume_refuses_other_data(self, capsys, d):
        cli(capsys, "train", d / "good.csv", "--target", "y", "--max-steps", "5", "--checkpoint", d / "c.npz")
        code, _, err = cli(capsys, "train", d / "other.csv", "--target", "y", "--max-steps", "10", "--resume", d / "c.npz")
        assert_user_error(code, err, f"--resume '{d / 'c.npz'}' was written while training on other data than '{d / 'other.csv'}'")

    def test_resume_refuses_an_epoch_count_already_done(self, capsys, d):
        cli(capsys, "train", d / "good.csv", "--target", "y", "--epochs", "4", "--checkpoint", d / "c.npz")
        code, _, err = cli(capsys, "train", d / "good.csv", "--target", "y", "--epochs", "2", "--resume", d / "c.npz")
        assert_user_error(code, err, f"--epochs 2 is not more than the 4 epochs '{d / 'c.npz'}' has already done")
        code, _, err = cli(capsys, "train", d / "good.csv", "--target", "y", "--max-steps", "3", "--resume", d / "c.npz")
        assert_user_error(code, err, "--max-steps 3 is not more than the 8 steps")

    def test_resume_from_a_crafted_checkpoint(self, capsys, d, tmp_path):
        cli(capsys, "train", d / "good.csv", "--target", "y", "--max-steps", "5", "--checkpoint", d / "c.npz")
        bad = corrupt_checkpoint(d, d / "c.npz", lambda c: c["state"].pop("step"))
        code, _, err = cli(capsys, "train", d / "good.csv", "--target", "y", "--max-steps", "10", "--resume", bad)
        assert_user_error(code, err, f"cannot load '{bad}'", "step=None")


class TestCLIOutput:
    @pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
    def test_json_never_prints_infinity_or_nan(self, capsys, d):
        # a model whose outputs overflow: predictions and the loss are inf
        net = bp.Network.mlp([2, 1], seed=0)
        net.set_weights([np.full((2, 1), 1e200), np.zeros(1)])
        bp.save(net, d / "huge.npz")
        (d / "huge.csv").write_text("a,b,y\n1e200,1e200,1\n1,2,3\n")
        for command in (["predict", d / "huge.npz", d / "huge.csv", "--target", "y"],
                        ["evaluate", d / "huge.npz", d / "huge.csv", "--target", "y"]):
            code, out, err = cli(capsys, *command, "--json")
            assert code == 0, err
            data = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))
            assert data["non_finite"] and all("shown as null" in note for note in data["non_finite"])
        assert data["mse"] is None and any(note.startswith("mse (inf)") for note in data["non_finite"])

    def test_emit_json_replaces_every_nonfinite_number(self, capsys):
        from backproplab.cli import emit_json

        emit_json({"a": float("inf"), "b": [1.0, float("nan")], "c": {"d": np.float64(-np.inf)}, "e": np.array([np.nan])})
        data = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(name))
        assert data["a"] is None and data["b"] == [1.0, None] and data["c"]["d"] is None and data["e"] == [None]
        assert [note.split(" ")[0] for note in data["non_finite"]] == ["a", "b[1]", "c.d", "e[0]"]

    def test_gradcheck_json_of_a_broken_gradient_is_valid(self, capsys, d, monkeypatch):
        import backproplab.network as network

        original = network.Network.forward_backward

        def broken(self, Xb, yb):
            loss = original(self, Xb, yb)
            self.parameter_objects()[0].grad[0, 0] = np.inf
            return loss

        monkeypatch.setattr(network.Network, "forward_backward", broken)
        code, out, err = cli(capsys, "gradcheck", d / "good.csv", "--target", "y", "--layers", "2", "--hidden", "tanh", "--json")
        data = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))
        assert code == 1 and data["passed"] is False and "analytic gradient of W1 is inf" in data["problems"][0]

    def test_a_closed_pipe_exits_quietly(self, d):
        big = d / "big.csv"
        rows = ["a,b,y"] + [f"{i},{i % 7},{i % 2}" for i in range(60000)]
        big.write_text("\n".join(rows) + "\n")
        process = subprocess.Popen([sys.executable, "-m", "backproplab", "predict", str(d / "model.npz"), str(big), "--target", "y"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
        process.stdout.readline()
        process.stdout.close()  # like `| head -1`
        err = process.stderr.read().decode()
        process.wait(timeout=120)
        assert err == "" and process.returncode == 141


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


# ====================================================================== 6. signals: interrupted runs keep their work
class TestSignals:
    @pytest.mark.parametrize("name,status", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
    def test_a_signal_during_train_saves_the_model_and_exits_128_plus_n(self, d, name, status):
        checkpoint, saved = d / "c.npz", d / "m.npz"
        process = subprocess.Popen(
            [sys.executable, "-m", "backproplab", "train", str(d / "good.csv"), "--target", "y", "--max-steps", "100000000",
             "--checkpoint", str(checkpoint), "--checkpoint-every", "200", "--save", str(saved), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        deadline = time.monotonic() + 120
        while not checkpoint.exists():  # the first checkpoint proves training is under way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "training never wrote its first checkpoint"
            time.sleep(0.05)
        process.send_signal(getattr(signal, name))
        out, err = process.communicate(timeout=120)
        assert process.returncode == status, err
        assert err.strip().splitlines()[-1].startswith(f"error: interrupted by {name}")
        assert "Traceback" not in err
        history = json.loads(out)["history"]
        assert history["stop_reason"] == "interrupted" and history["n_steps"] >= 200
        assert all(np.isfinite(p).all() for p in bp.load(saved).parameters())


# ====================================================================== 7. resources: no file can exhaust memory or hang
class TestResources:
    @pytest.mark.parametrize("make,declared", [
        (lambda t: big_header(t, 15000), 15000 * 15000 * 8),
        (lambda t: big_header(t, 25000), 25000 * 25000 * 8),
        (lambda t: bomb(t, 1024, 4096, consistent=True), 1024 * 4096 * 8),
        (lambda t: bomb(t, 1024, 4096, consistent=False), 1024 * 4096 * 8),
    ], ids=["header-15000", "header-25000", "bomb-declared", "bomb-extra"])
    def test_refused_without_allocating_the_declared_size(self, tmp_path, make, declared):
        path = make(tmp_path)
        tracemalloc.start()
        try:
            with pytest.raises(ModelFileError, match=str(path)):
                bp.load(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 100e6 and peak < declared / 10, peak

    @pytest.mark.parametrize("special", ["/dev/zero", "fifo", "/dev/urandom"])
    def test_special_files_are_refused_without_reading(self, tmp_path, special):
        path = tmp_path / "special.npz"
        if special == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(special)
        with pytest.raises(ModelFileError, match=rf"cannot load '{path}': it is not a regular file"):
            run_with_timeout(lambda: bp.load(path), seconds=10)


# ====================================================================== 8. CSV columns (the reader is data.py's)
class TestCSVColumns:
    def test_duplicate_column_names_are_refused(self, capsys, tmp_path):
        (tmp_path / "dup.csv").write_text("a,label,label\n1,0,0\n2,1,1\n3,0,0\n")
        code, _, err = cli(capsys, "train", tmp_path / "dup.csv", "--target", "label", "--epochs", "1")
        assert_user_error(code, err, "label", "dup.csv")
        assert "duplicate" in err.lower() or "twice" in err.lower()

    def test_a_numeric_header_is_matched_by_name(self, capsys, tmp_path):
        (tmp_path / "num.csv").write_text("2,1,0\n0.5,0.1,1\n0.2,0.3,0\n0.9,0.8,1\n0.1,0.7,0\n")
        code, out, err = cli(capsys, "train", tmp_path / "num.csv", "--target", "0", "--epochs", "1", "--json")
        assert code == 0, err
        assert json.loads(out)["target"] == ["0"]  # the column named "0" (the third), not position 0

    def test_a_byte_order_mark_does_not_hide_the_first_column(self, capsys, tmp_path):
        (tmp_path / "bom.csv").write_bytes("\ufeffy,a,b\n1,0.5,0.1\n0,0.2,0.3\n1,0.9,0.8\n".encode("utf-8"))
        code, out, err = cli(capsys, "train", tmp_path / "bom.csv", "--target", "y", "--epochs", "1", "--json")
        assert code == 0, err
        assert json.loads(out)["target"] == ["y"]

    def test_a_huge_field_is_a_clean_error(self, capsys, tmp_path):
        (tmp_path / "long.csv").write_text("a,y\n" + "1" * 200_000 + ",0\n2,1\n")
        code, _, err = cli(capsys, "train", tmp_path / "long.csv", "--target", "y", "--epochs", "1")
        assert_user_error(code, err, "long.csv")


def test_no_check_runs_inside_the_training_loop():
    """Validation happens once at the boundary: a 10x larger run does not validate 10x more."""
    import backproplab._validation as validation

    calls = []
    original = validation.as_float_array

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    validation.as_float_array = counting
    try:
        import backproplab.losses as losses
        import backproplab.network as network

        network.as_float_array = losses.as_float_array = counting
        NET.fit(X, Y, max_steps=10, batch_size=2)
        short = len(calls)
        calls.clear()
        NET.fit(X, Y, max_steps=100, batch_size=2)
        assert len(calls) == short
    finally:
        validation.as_float_array = original
        network.as_float_array = losses.as_float_array = original


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_finiteness_check_accepts_huge_finite_values_and_finds_nan_in_any_layout(layout):
    # the fast check (a self dot product) overflows on these finite values and must fall back
    def arrange(wide):  # (40, 6) -> (40, 3) in the given memory layout
        return {"C": np.ascontiguousarray, "F": np.asfortranarray, "strided": lambda a: a}[layout](wide[:, ::2])

    big = np.full((40, 6), 1e200)
    assert np.isinf(np.vdot(big, big))
    net = bp.Network.mlp([3, 2, 1], seed=0)
    assert net.predict(arrange(big)).shape == (40, 1)
    big[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN \(row 7, column 1\)"):
        net.predict(arrange(big))
