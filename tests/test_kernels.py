"""The fused (Numba) optimizer updates equal the NumPy passes bit for bit, snapshot included."""

import warnings

import numpy as np
import pytest

import backproplab as bp
from backproplab import _kernels
from backproplab import optimizers as O
from backproplab.layers import Parameter

OPTIMIZERS = {
    "sgd": lambda: O.SGD(0.05),
    "momentum": lambda: O.SGD(0.05, momentum=0.9),
    "nesterov": lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: O.Adam(1e-2),
    "rmsprop": lambda: O.RMSProp(1e-2),
}


@pytest.fixture
def numpy_only(monkeypatch):
    monkeypatch.setattr(_kernels, "kernels", lambda: None)


def test_numba_kernels_are_available_in_the_test_environment():
    assert _kernels.kernels() is not None  # numba is a test extra: the fused path is what these tests check


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_step_equals_the_numpy_passes_bit_for_bit(name, dtype):
    rng = np.random.default_rng(0)
    size = _kernels.FUSED_MIN + 3
    start = rng.standard_normal(size).astype(dtype)
    plain, fused = Parameter(start.copy()), Parameter(start.copy())
    a, b = OPTIMIZERS[name](), OPTIMIZERS[name]()
    with pytest.MonkeyPatch.context() as patch:  # decided at bind: a runs the NumPy passes
        patch.setattr(_kernels, "kernels", lambda: None)
        a.bind([plain])
    b.bind([fused])
    snapshot = np.empty_like(start)
    for _ in range(25):
        # gradients over many scales, with exact zeros (Adam and RMSProp divide by sqrt(v) + eps)
        g = (rng.standard_normal(size) * 10.0 ** rng.integers(-8, 3, size)).astype(dtype)
        g[::97] = 0
        plain.grad[:] = g
        fused.grad[:] = g
        a.step()
        before = fused.value.copy()
        assert b.fused and not a.fused
        b.step(previous=[snapshot])
        np.testing.assert_array_equal(snapshot, before)
    np.testing.assert_array_equal(fused.value, plain.value)
    for x, y in zip(a.state_arrays(), b.state_arrays()):
        np.testing.assert_array_equal(x, y)
    assert list(a.state_dict()) == list(b.state_dict()) == list(b.state_names)
    assert a.t == b.t == 25


def test_small_or_split_parameters_keep_the_numpy_passes():
    small = Parameter(np.zeros(_kernels.FUSED_MIN - 1))
    opt = O.Adam()
    opt.bind([small])
    assert not opt.fused
    two = [Parameter(np.zeros(_kernels.FUSED_MIN)), Parameter(np.zeros(3))]
    opt = O.SGD(0.1, momentum=0.9)
    opt.bind(two)
    assert not opt.fused
    big = Parameter(np.zeros(_kernels.FUSED_MIN))
    opt.bind([big])
    assert opt.fused


def wide_data():
    X = np.random.default_rng(0).standard_normal((300, 64))
    return X, (X[:, :3] @ np.array([1.0, -2.0, 0.5]) > 0).astype(int)


@pytest.mark.parametrize("case", ["small", "wide"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_gives_the_same_weights_with_and_without_numba(optimizer, case, monkeypatch):
    """Batches of 32 x 64 use the fused update alone. Batches of 256 x 256 also use the gather and
    the ReLU kernels (STREAM_MIN entries), and the short last batch (88 rows) mixes them with the
    plain ReLU backward kernel and the NumPy forward."""
    if case == "small":
        (X, y), width, batch_size = wide_data(), 64, 32
    else:
        X = np.random.default_rng(1).standard_normal((600, 256))
        y, width, batch_size = (X[:, :3] @ np.array([1.0, -2.0, 0.5]) > 0).astype(int), 256, 256
    compiled = _kernels.kernels()
    calls: dict[str, int] = {}

    def counted(name):
        def call(*args):
            calls[name] = calls.get(name, 0) + 1
            return compiled[name](*args)
        return call

    def train():
        net = bp.Network.mlp([width, width, 2], hidden="relu", loss="cross_entropy", seed=0, dtype="float32")
        assert net.flat.value.size >= _kernels.FUSED_MIN
        history = net.fit(X, y, optimizer=optimizer, batch_size=batch_size, max_epochs=3, seed=0)
        return net.get_weights(), history.loss

    monkeypatch.setattr(_kernels, "kernels", lambda: {name: counted(name) for name in compiled})
    fused_weights, fused_loss = train()
    if case == "wide":  # 3 steps per epoch, the last of 88 rows (below STREAM_MIN for ReLU)
        assert batch_size * width == _kernels.STREAM_MIN
        assert calls["gather_transposed"] == 9
        assert calls["relu_forward"] == calls["relu_backward_in_place"] == 6
        assert calls["relu_backward"] == 3
    else:
        assert "gather_transposed" not in calls and "relu_forward" not in calls
    monkeypatch.setattr(_kernels, "kernels", lambda: None)
    plain_weights, plain_loss = train()
    assert fused_loss == plain_loss
    for a, b in zip(fused_weights, plain_weights):
        np.testing.assert_array_equal(a, b)


def test_divergence_with_the_fused_update_restores_the_last_finite_weights():
    X, y = wide_data()
    net = bp.Network.mlp([64, 64, 2], hidden="relu", loss="cross_entropy", seed=0)
    seen = [[w.copy() for w in net.get_weights()]]  # seen[k]: the weights after k steps

    class Keep(bp.Callback):
        def on_step_end(self, step, loss):
            seen.append([w.copy() for w in net.get_weights()])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.fit(X * 1e3, y, optimizer=O.SGD(1e3, momentum=0.9), batch_size=32, max_epochs=50, seed=0,
                          callbacks=[Keep()])
    assert history.stop_reason == "diverged"
    restored = net.get_weights()
    assert all(np.isfinite(w).all() for w in restored)
    # step n_steps + 1 diverged on the weights after n_steps steps; the last weights with a finite
    # loss are those step n_steps started from, which the fused pass snapshotted. They are kept when
    # their loss is no worse than the start; otherwise (as here, where they are already ~1e149) the
    # starting weights are
    assert len(seen) == history.n_steps + 1
    kept = seen[history.n_steps - 1] if "restored the weights of step" in history.message else seen[0]
    assert "restored the starting weights" in history.message
    for a, b in zip(restored, kept):
        np.testing.assert_array_equal(a, b)


def relu_case(dtype, order, seed=0, shape=(96, 64)):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal(shape).astype(dtype)  # 6144 entries by default: above FUSED_MIN
    Z[::7, ::5] = 0
    G = rng.standard_normal(shape).astype(dtype)
    G[0, :5] = [np.inf, -np.inf, np.nan, -0.0, 0.0]
    Z[0, :5] = [0, 1, 0, 1, -1]  # 0 * inf, inf, 0 * nan, -0.0 passed, 0 for -0.0
    return np.asarray(Z, order=order), np.asarray(G, order=order)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_relu_backward_kernel_is_used_and_bit_identical(dtype, order, monkeypatch):
    Z, G = relu_case(dtype, order)
    layer = bp.ReLU()
    layer.use_buffers(Z.shape, Z.dtype, layer.training_buffers(Z.shape, Z.dtype, order))
    layer.forward(Z, True)
    calls = []
    compiled = _kernels.kernels()

    def spy(*args):
        calls.append(args[0].size)
        return compiled["relu_backward"](*args)

    monkeypatch.setattr(_kernels, "kernels", lambda: {**compiled, "relu_backward": spy})
    fused = np.array(layer.backward(G), order="C", copy=True)  # the buffer is reused by the next call
    assert calls == [Z.size]
    monkeypatch.setattr(_kernels, "kernels", lambda: None)
    with np.errstate(invalid="ignore"):
        plain = np.array(layer.backward(G), order="C", copy=True)
    assert fused.tobytes() == plain.tobytes()


def test_relu_backward_with_mixed_layouts_keeps_the_numpy_passes(monkeypatch):
    Z, G = relu_case(np.float64, "C")
    layer = bp.ReLU()
    layer.forward(Z, True)
    compiled = _kernels.kernels()
    monkeypatch.setattr(_kernels, "kernels", lambda: {**compiled, "relu_backward": None})  # a call would fail
    with np.errstate(invalid="ignore"):
        grad = layer.backward(np.asfortranarray(G))
        np.testing.assert_array_equal(grad, (Z > 0) * G)


def test_a_subclass_that_changes_step_is_never_fused():
    class HalfSGD(O.SGD):
        def step(self):
            self.lr /= 2
            super().step()
            self.lr *= 2

    p = Parameter(np.ones(_kernels.FUSED_MIN))
    opt = HalfSGD(0.1)
    opt.bind([p])
    assert not opt.fused


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_relu_forward_kernel_is_bit_identical_to_np_maximum(dtype, order, monkeypatch):
    Z, _ = relu_case(dtype, order, shape=(256, 256))  # STREAM_MIN entries
    Z[1, :6] = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf]  # maximum keeps a nan's sign, gives +0 for -0
    layer = bp.ReLU()
    layer.use_buffers(Z.shape, Z.dtype, layer.training_buffers(Z.shape, Z.dtype, order))
    compiled, calls = _kernels.kernels(), []
    monkeypatch.setattr(_kernels, "kernels", lambda: {**compiled, "relu_forward": lambda *a: calls.append(1) or
                                                      compiled["relu_forward"](*a)})
    fused = np.array(layer.forward(Z, True), order="C", copy=True)
    assert calls == [1]
    expected = np.maximum(Z, np.zeros_like(Z))
    assert fused.tobytes() == np.array(expected, order="C").tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_in_place_is_bit_identical(dtype):
    Z, G = relu_case(dtype, "F")
    expected = np.multiply(np.greater(Z, 0).astype(dtype), G)
    A = np.maximum(Z, 0)
    g = np.asfortranarray(G.copy())
    one = A.dtype.type(1)
    flat_a, flat_g = A.T.reshape(-1), g.T.reshape(-1)
    assert np.shares_memory(flat_g, g)
    _kernels.kernels()["relu_backward_in_place"](flat_a, flat_g, one, one - one)
    assert np.asfortranarray(expected).tobytes("A") == g.tobytes("A")


def test_relu_backward_masks_only_the_networks_own_buffer_in_place():
    """A caller's gradient array is never overwritten; the next Dense layer's buffer is."""
    Z, G = relu_case(np.float64, "F")
    layer = bp.ReLU()
    layer.use_buffers(Z.shape, Z.dtype, layer.training_buffers(Z.shape, Z.dtype, "F"))
    layer.forward(Z, True)
    before = G.copy()
    grad = layer.backward(G)
    assert grad is not G and G.tobytes() == before.tobytes()


@pytest.mark.parametrize("rows", [1, 15, 16, 17, 44, 256])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_gather_transposed_copies_the_rows(rows, layout):
    rng = np.random.default_rng(rows)
    X = np.asarray(rng.standard_normal((300, 37)).astype(np.float32), order=layout)
    index = rng.permutation(300)[:rows]
    out = np.full((38, rows), 7.0, np.float32)  # a row of ones below, as in the first layer's buffer
    _kernels.kernels()["gather_transposed"](X, index, out[:-1])
    assert out[:-1].tobytes() == np.ascontiguousarray(X[index].T).tobytes()
    assert (out[-1] == 7.0).all()
