"""Every bad input the library, the loaders and the CLI refuse, with the message each one gives.

Each case raises ValueError or TypeError naming the argument and echoing the value."""

import numpy as np
import pytest

import backproplab as bp
from backproplab.cli import main

NET = bp.Network.mlp([3, 4, 2], seed=0)
CE = bp.Network.mlp([3, 4, 3], loss="cross_entropy", seed=0)
BCE = bp.Network.mlp([3, 4, 1], output="sigmoid", loss="bce", seed=0)
X = np.random.default_rng(0).normal(size=(5, 3))
Y = np.zeros((5, 2))


def with_nan():
    bad = X.copy()
    bad[3, 1] = np.nan
    return bad


def with_inf():
    bad = X.copy()
    bad[2, 0] = -np.inf
    return bad


CASES = [
    # (call, exception, message)
    (lambda: NET.fit(with_nan(), Y), ValueError, r"X contains NaN \(row 3, column 1\); backproplab does not impute missing values"),
    (lambda: NET.predict(with_inf()), ValueError, r"X contains -inf \(row 2, column 0\)"),
    (lambda: NET.fit(X, np.full((5, 2), np.inf)), ValueError, r"y contains inf \(row 0, column 0\)"),
    (lambda: NET.predict(X[0]), ValueError, r"X must be 2-D, got a 1-D array of shape \(3,\); use X.reshape\(-1, 1\)"),
    (lambda: NET.predict(X[None]), ValueError, r"X must be 2-D, got a 3-D array of shape \(1, 5, 3\)"),
    (lambda: NET.fit(np.empty((0, 3)), np.empty((0, 2))), ValueError, r"X is empty \(shape \(0, 3\)\)"),
    (lambda: NET.fit(X, Y[:4]), ValueError, r"X and y have different numbers of rows: 5 and 4"),
    (lambda: NET.predict(X[:, :2]), ValueError, r"X has 2 feature\(s\) but the network expects 3"),
    (lambda: NET.fit(X, np.zeros((5, 3))), ValueError, r"y has 3 column\(s\) but the network has 2 output\(s\)"),
    (lambda: NET.predict(np.array([["a", "b", "c"]])), TypeError, r"X must be numeric, got an array of dtype <U1"),
    (lambda: NET.predict(np.array([[1, None, 2]], dtype=object)), TypeError, r"X must be numeric, got an array of dtype object"),
    (lambda: NET.predict([[1, 2], [3]]), ValueError, r"X could not be read as an array"),
    (lambda: bp.Network.mlp([3, 4, 1], hidden="swish"), ValueError, r"unknown hidden activation 'swish'; expected one of: sigmoid, tanh, relu, leaky_relu, identity"),
    (lambda: bp.Network.mlp([3, 1], output="softplus"), ValueError, r"unknown output activation 'softplus'; expected one of: .*softmax"),
    (lambda: bp.Network.mlp([3, 1], loss="huber"), ValueError, r"unknown loss 'huber'; expected one of: mse, mae, bce, cross_entropy"),
    (lambda: NET.fit(X, Y, optimizer="lbfgs"), ValueError, r"unknown optimizer 'lbfgs'; expected one of: sgd, adam, rmsprop"),
    (lambda: bp.Network.mlp([3, 1], init="xavier"), ValueError, r"unknown init 'xavier'; expected one of: glorot_uniform, .*uniform"),
    (lambda: bp.Network.mlp([3, 0, 1]), ValueError, r"sizes\[1\] must be >= 1, got 0"),
    (lambda: bp.Network.mlp([3, 2.5, 1]), TypeError, r"sizes\[1\] must be an integer, got 2.5 \(float\)"),
    (lambda: bp.Network.mlp([3]), ValueError, r"sizes must be a list of at least two layer sizes, got \[3\]"),
    (lambda: bp.Dense(3, -1), ValueError, r"out_features must be >= 1, got -1"),
    (lambda: NET.fit(X, Y, lr=-0.1), ValueError, r"lr must be >= 0.0, got -0.1"),
    (lambda: NET.fit(X, Y, lr=float("nan")), ValueError, r"lr must be finite, got nan"),
    (lambda: NET.fit(X, Y, batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, batch_size=2.0), TypeError, r"batch_size must be an integer, got 2.0 \(float\)"),
    (lambda: NET.fit(X, Y, max_steps=0), ValueError, r"max_steps must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, sampling="bootstrap"), ValueError, r"unknown sampling 'bootstrap'; expected one of: epoch, random"),
    (lambda: bp.Stop(window=100), ValueError, r"Stop.window=100 only applies to loss_below, which is not set"),
    (lambda: bp.Stop(loss_below=-1), ValueError, r"Stop.loss_below must be > 0.0, got -1.0"),
    (lambda: bp.Stop(patience=0), ValueError, r"Stop.patience must be >= 1, got 0"),
    (lambda: NET.fit(X, Y, stop={"loss_below": 0.1}), TypeError, r"stop must be a backproplab.Stop, got dict"),
    (lambda: NET.fit(X, Y, validation=1.5), ValueError, r"validation must be <= 1.0, got 1.5"),
    (lambda: NET.fit(X, Y, validation=0.01), ValueError, r"validation=0.01 leaves 0 of 5 samples for validation"),
    (lambda: NET.fit(X, Y, validation=(X, Y[:3])), ValueError, r"validation X and y have different numbers of rows: 5 and 3"),
    (lambda: NET.fit(X, Y, checkpoint_every=5), ValueError, r"checkpoint_every is set but checkpoint \(the file path\) is not"),
    (lambda: NET.fit(X, Y, optimizer=bp.SGD(0.1), lr=0.5), ValueError, r"lr was given together with an optimizer object"),
    (lambda: NET.fit(X, Y, metrics=["f1"]), ValueError, r"unknown metric 'f1'; expected one of: mae, mse, sse, accuracy, r2"),
    (lambda: CE.fit(X, [0, 1, 2, 3, 1]), ValueError, r"loss 'cross_entropy' needs class indices in 0..2 for 3 outputs; y has values from 0 to 3"),
    (lambda: CE.fit(X, [0, 1, 2, 1.5, 1]), ValueError, r"needs class indices in 0..2"),
    (lambda: CE.fit(X, [-1, 1, 2, 0, 1]), ValueError, r"needs class indices in 0..2 for 3 outputs; y has values from -1 to 2"),
    (lambda: BCE.fit(X, [0, 1, 2, 0, 1]), ValueError, r"loss 'bce' needs targets in \[0, 1\] .*; y has values from 0 to 2"),
    (lambda: bp.Network.mlp([3, 1], output="identity", loss="bce"), ValueError, r"loss 'bce' is computed from logits and pairs with output='sigmoid', got output='identity'"),
    (lambda: bp.Network.mlp([3, 1], dtype="float16"), ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
    (lambda: bp.Network([]), ValueError, r"layers is empty"),
    (lambda: bp.Network([bp.Dense(3, 2), "relu"]), TypeError, r"layers\[1\] is str, which lacks forward/backward/parameters"),
    (lambda: bp.SGD(lr=0.1, nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (lambda: bp.Adam(beta1=1.0), ValueError, r"beta1 and beta2 must be < 1"),
    (lambda: NET.fit(X, Y, seed=-3), TypeError, r"seed must be None, a non-negative integer or a numpy Generator, got -3"),
    (lambda: bp.gradcheck(NET, X, Y, eps=0), ValueError, r"eps must be > 0.0, got 0.0"),
]


@pytest.mark.parametrize("call,exception,message", CASES, ids=[c[2][:50] for c in CASES])
def test_library_refuses_bad_input(call, exception, message):
    with pytest.raises(exception, match=message):
        call()


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


# ---------------------------------------------------------------------- CLI
@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / "good.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    (tmp_path / "text.csv").write_text("a,b,y\n1,two,0\n3,4,1\n")
    (tmp_path / "ragged.csv").write_text("a,b,y\n1,2\n3,4,1\n")
    (tmp_path / "empty.csv").write_text("a,b,y\n")
    (tmp_path / "binary.csv").write_bytes(b"\x00\xff\xfe\x89PNG")
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 half a zip")
    return tmp_path


CLI_CASES = [
    (["train", "{d}/absent.csv", "--target", "y"], "data file '{d}/absent.csv' does not exist"),
    (["train", "{d}/text.csv", "--target", "y"], "column 'b' (feature), row 1: 'two' is not a number"),
    (["train", "{d}/ragged.csv", "--target", "y"], "column 'y' (the target) has 1 missing value(s), the first in row 1"),
    (["train", "{d}/empty.csv", "--target", "y"], "has no data rows"),
    (["train", "{d}/binary.csv", "--target", "y"], "cannot read"),
    (["train", "{d}/good.csv", "--target", "label"], "has no column 'label' (the target); its columns are: 'a', 'b', 'y'"),
    (["evaluate", "{d}/model.npz", "{d}/good.csv", "--target", "y"], "cannot load '{d}/model.npz': not a backproplab model"),
    (["predict", "{d}/absent.npz", "{d}/good.csv"], "cannot load '{d}/absent.npz': no such file"),
    (["experiment", "run", "nonexistent"], "unknown experiment 'nonexistent'"),
    (["train", "{d}/good.csv", "--target", "y", "--loss", "cross_entropy", "--output", "sigmoid"], "pairs with output='softmax'"),
    (["train", "{d}/good.csv", "--target", "y", "--epochs", "0"], "max_epochs must be >= 1, got 0"),
    (["train", "{d}/good.csv", "--target", "y", "--val-fraction", "2"], "--val-fraction must be between 0 and 1, got 2.0"),
    (["train", "{d}/good.csv", "--target", "y", "--save", "{d}/no/such/dir/m.npz"], "does not exist"),
    (["train", "{d}/good.csv", "--target", "y", "--lr", "abc"], "argument --lr: invalid float value: 'abc'"),
]


@pytest.mark.parametrize("args,message", CLI_CASES, ids=[c[1][:40] for c in CLI_CASES])
def test_cli_user_errors(capsys, data_dir, args, message):
    code = main([a.replace("{d}", str(data_dir)) for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert message.replace("{d}", str(data_dir)) in lines[0]


def test_failed_cli_save_keeps_the_old_model(capsys, data_dir, monkeypatch):
    good = data_dir / "keep.npz"
    bp.save(bp.Network.mlp([2, 1], seed=0), good)
    before = good.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    code = main(["train", str(data_dir / "good.csv"), "--target", "y", "--epochs", "1", "--save", str(good)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"error: cannot save to '{good}': No space left on device; any existing file there is unchanged"
    assert good.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".backproplab")) == []


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
