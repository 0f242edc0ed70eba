import numpy as np
import pytest

import backproplab as bp
from backproplab.datasets import DatasetError, load_dataset, save_mat


def test_two_spheres_points_lie_in_their_balls():
    X, y = bp.datasets.two_spheres(seed=0)
    assert X.shape == (200, 3) and y.shape == (200, 1)
    centers = np.where(y == 1, np.array([1, 1, 1]), np.array([-1, 2, -7]))
    assert np.linalg.norm(X - centers, axis=1).max() <= 1.0
    np.testing.assert_array_equal(np.unique(y), [0, 1])
    X2, _ = bp.datasets.two_spheres(seed=0)
    np.testing.assert_array_equal(X, X2)


def test_source_data_sets():
    X, Y = bp.datasets.qa_toy()
    np.testing.assert_array_equal(X, [[1, 2, -3, 10], [0.3, -7.8, 1, 2]])
    np.testing.assert_array_equal(Y, [[10, -3, 6, 1], [1, 1, 6, 1]])
    Xn, Yn = bp.datasets.noise(seed=1)
    assert Xn.shape == (20, 7) and Yn.shape == (20, 2) and 0 <= Yn.min() and Yn.max() < 1
    Xx, yx = bp.datasets.xor()
    np.testing.assert_array_equal(yx, [0, 1, 1, 0])


def test_mat_round_trip_in_the_blogs_layout(tmp_path):
    X, y = bp.datasets.two_spheres(seed=0)
    path = tmp_path / "samples.mat"
    save_mat(path, X, y)
    from scipy.io import loadmat

    assert loadmat(path)["samples"].shape == (200, 4)
    X2, y2, info = load_dataset(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_csv_by_column_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,target\n1,2,0\n3,4,1\n")
    X, y, info = load_dataset(path, target="target")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [[0], [1]])
    assert info == {"feature_names": ["a", "b"], "target_names": ["target"]}


def test_npz_and_npy(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.arange(3))
    X, y, _ = load_dataset(tmp_path / "d.npz")
    assert X.shape == (3, 2) and y.shape == (3, 1)
    np.save(tmp_path / "d.npy", np.arange(12.0).reshape(4, 3))
    X, y, _ = load_dataset(tmp_path / "d.npy", target=0)
    np.testing.assert_array_equal(y[:, 0], [0, 3, 6, 9])


def test_csv_errors_name_the_problem(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,x\n")
    with pytest.raises(DatasetError, match=r"column 'b' \(feature\), row 1: 'x' is not a number; drop the column"):
        load_dataset(path, target="a")
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match="has no column 'y' \\(the target\\); its columns are: 'a', 'b'"):
        load_dataset(path, target="y")
    with pytest.raises(ValueError, match="data file .*missing.csv' does not exist"):
        load_dataset(tmp_path / "missing.csv", target="a")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError, match="unknown file type '.txt'"):
        load_dataset(tmp_path / "d.txt")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_detected(tmp_path, delimiter):
    path = tmp_path / "d.csv"
    path.write_text(delimiter.join(["a", "b", "y"]) + "\n" + delimiter.join(["1.5", "2", "0"]) + "\n"
                    + delimiter.join(["3", "4", "1"]) + "\n")
    X, y, info = load_dataset(path, target="y")
    np.testing.assert_array_equal(X, [[1.5, 2], [3, 4]])
    assert info["feature_names"] == ["a", "b"]
