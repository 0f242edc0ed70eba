import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backproplab as bp
from backproplab.persistence import ModelFileError, _checksum


@pytest.fixture
def net():
    return bp.Network.mlp([3, 4, 2], hidden="leaky_relu", loss="cross_entropy", seed=0, l2=0.01)


@pytest.fixture
def saved(tmp_path, net):
    path = tmp_path / "model.npz"
    bp.save(net, path)
    return path


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_is_exact(tmp_path, dtype, rng):
    net = bp.Network.mlp([3, 5, 1], hidden="tanh", output="sigmoid", loss="bce", seed=1, dtype=dtype)
    path = tmp_path / "m.npz"
    bp.save(net, path)
    loaded = bp.load(path)
    assert loaded.spec() == net.spec()
    for a, b in zip(net.parameters(), loaded.parameters()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    X = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(net.predict(X), loaded.predict(X))


def test_failed_save_keeps_the_existing_file(saved, net, monkeypatch):
    before = saved.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="No space left on device; any existing file there is unchanged"):
        bp.save(net, saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["model.npz"]  # no temporary left behind


def test_save_into_missing_folder_says_so(tmp_path, net):
    with pytest.raises(OSError, match="does not exist"):
        bp.save(net, tmp_path / "nope" / "m.npz")


def test_refuses_a_pickle_file(tmp_path):
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"W": np.ones(3)}))
    with pytest.raises(ModelFileError, match="evil.npz.*not a backproplab model"):
        bp.load(path)


def test_refuses_object_arrays(tmp_path, saved):
    # a well-formed archive whose array member is a pickled object array
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    members["array_000.npy"] = buffer.getvalue()
    evil = tmp_path / "evil.npz"
    with zipfile.ZipFile(evil, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="pickled"):
        bp.load(evil)


def test_refuses_a_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, W=np.ones((2, 2)))
    with pytest.raises(ModelFileError, match="foreign.npz.*not a backproplab model"):
        bp.load(path)


def _rewrite_header(src, dst, change):
    with np.load(src, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(arrays["header"].tobytes())
    header.pop("checksum")
    change(header)
    # a deliberate author recomputes the checksum, so the refusal must come from the check under test
    weights = [arrays[f"array_{i:03d}"] for i in range(len(arrays) - 1)]
    header["checksum"] = _checksum(header, weights)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)


def test_refuses_unknown_format_version(tmp_path, saved):
    path = tmp_path / "future.npz"
    _rewrite_header(saved, path, lambda h: h.update(format_version=99))
    with pytest.raises(ModelFileError, match="format version 99"):
        bp.load(path)


def test_refuses_layer_shapes_that_do_not_chain(tmp_path, saved):
    path = tmp_path / "broken.npz"
    _rewrite_header(saved, path, lambda h: h["network"]["layers"][2].update(in_features=7))
    with pytest.raises(ModelFileError, match="do not chain"):
        bp.load(path)


def test_refuses_layer_types_outside_the_whitelist(tmp_path, saved):
    path = tmp_path / "custom.npz"
    _rewrite_header(saved, path, lambda h: h["network"]["layers"].__setitem__(1, {"type": "os.system"}))
    with pytest.raises(ModelFileError, match="'os.system', which is not in the whitelist"):
        bp.load(path)


def test_detects_tampered_weights(tmp_path, saved):
    with np.load(saved, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["array_000"] = arrays["array_000"] + 1.0
    path = tmp_path / "tampered.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        bp.load(path)


def test_truncated_file_is_refused(tmp_path, saved):
    path = tmp_path / "cut.npz"
    path.write_bytes(saved.read_bytes()[: os.path.getsize(saved) // 2])
    with pytest.raises(ModelFileError, match="cut.npz"):
        bp.load(path)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        bp.load(tmp_path / "absent.npz")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_files_are_refused_cleanly_or_load_identically(tmp_path, saved, net, data):
    original = saved.read_bytes()
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(bytes(mutated))
    try:
        loaded = bp.load(path)
    except ModelFileError as error:
        assert "fuzzed.npz" in str(error)
        return
    assert loaded.spec() == net.spec()
    for a, b in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a, b)
