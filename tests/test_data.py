import numpy as np
import pandas as pd
import pytest

from backproplab import data
from backproplab.data import DatasetError, Labels


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------------- reading
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_detected_and_quotes_kept(tmp_path, sep):
    path = write(tmp_path / "d.csv", sep.join(["a", '"b, c"', "y"]) + "\n" + sep.join(["1.5", "2", '"x; y"']) + "\n")
    frame = data.read_table(path)
    assert list(frame.columns) == ["a", "b, c", "y"]
    assert frame["y"].tolist() == ["x; y"] and frame["a"].tolist() == [1.5]


def test_tsv_is_read_as_tab_separated(tmp_path):
    path = write(tmp_path / "d.tsv", "a\tb,c\n1\t2\n")  # a comma in a name must not be taken as the delimiter
    assert list(data.read_table(path).columns) == ["a", "b,c"]


def test_bom_is_not_part_of_the_first_name(tmp_path):
    path = write(tmp_path / "d.csv", "\ufeffid,x,label\n1,2,a\n2,3,b\n")
    dataset = data.load(path, "label", id="id")
    assert dataset.id_name == "id" and dataset.ids.tolist() == [1, 2] and dataset.feature_names == ["x"]


def test_duplicate_column_names_are_refused_by_name(tmp_path):
    path = write(tmp_path / "d.csv", "a,label,label\n1,2,3\n")
    with pytest.raises(DatasetError, match="duplicate column names: 'label'"):
        data.read_table(path)


def test_numeric_header_names_are_names_not_positions(tmp_path):
    path = write(tmp_path / "d.csv", "2,1,0\n10,20,30\n11,21,31\n")
    dataset = data.load(path, target="0")
    assert dataset.y.tolist() == [30, 31]
    assert dataset.feature_names == ["2", "1"] and dataset.X.tolist() == [[10, 20], [11, 21]]
    assert data.load(path, target=2).y.tolist() == [10, 11]  # the column *named* 2, which is the first


def test_long_fields_and_na_markers(tmp_path):
    long = "x" * 200_000
    path = write(tmp_path / "d.csv", f'a,note\n1,"{long}"\n2,b\n')
    assert data.read_table(path)["note"].iloc[0] == long
    path = write(tmp_path / "na.csv", "a,b,y\n1,2,0\n3,NA,1\n5,?,1\n")
    with pytest.raises(DatasetError, match=r"column 'b' \(feature\) has 2 missing value\(s\), the first in row 2"):
        data.load(path, "y")


def test_text_features_and_missing_targets_are_refused_naming_the_column(tmp_path):
    path = write(tmp_path / "d.csv", "color,x,y\nred,1,0\nblue,2,1\n")
    with pytest.raises(DatasetError, match=r"column 'color' \(feature\), row 1: 'red' is not a number; drop the column \(--drop color\)"):
        data.load(path, "y")
    assert data.load(path, "y", drop="color").feature_names == ["x"]
    path = write(tmp_path / "t.csv", "x,y\n1,a\n2,\n")
    with pytest.raises(DatasetError, match="column 'y' \\(the target\\) has 1 missing"):
        data.load(path, "y")


def test_unnamed_columns_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="column 1 has no name"):
        data.read_table(write(tmp_path / "i.csv", ",a,y\n0,1,2\n"))
    with pytest.raises(DatasetError, match="no data rows"):
        data.read_table(write(tmp_path / "h.csv", "a,y\n"))
    with pytest.raises(DatasetError, match="is empty"):
        data.read_table(write(tmp_path / "e.csv", ""))


def test_features_drop_id_and_weight_select_columns(tmp_path):
    path = write(tmp_path / "d.csv", "id,a,b,c,w,y\n7,1,2,3,0.5,u\n8,4,5,6,2,v\n")
    dataset = data.load(path, "y", id="id", weight="w", drop="b")
    assert dataset.feature_names == ["a", "c"] and dataset.X.tolist() == [[1, 3], [4, 6]]
    assert dataset.sample_weight.tolist() == [0.5, 2.0] and dataset.y.tolist() == ["u", "v"]
    assert data.load(path, "y", features="c,a").feature_names == ["c", "a"]
    with pytest.raises(DatasetError, match="has no column 'zz' \\(the feature\\)"):
        data.load(path, "y", features=["zz"])
    with pytest.raises(DatasetError, match="cannot be both a feature and a target"):
        data.load(path, "y", features="a,y")


def test_arrays_are_row_ordered_float64_from_a_column_ordered_frame():
    frame = pd.DataFrame(np.asfortranarray(np.arange(12.0).reshape(4, 3)), columns=["a", "b", "y"])
    dataset = data.load(frame, "y")
    assert dataset.X.flags.c_contiguous and dataset.X.dtype == np.float64
    assert dataset.source == "the DataFrame"


def test_npz_npy_and_mat_have_names(tmp_path):
    from scipy.io import savemat

    X = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["a", "b", "a", "b"]), feature_names=np.array(["p", "q", "r"]))
    dataset = data.load(tmp_path / "d.npz", "y")
    assert dataset.feature_names == ["p", "q", "r"] and dataset.y.tolist() == ["a", "b", "a", "b"]
    np.save(tmp_path / "d.npy", X)
    assert data.load(tmp_path / "d.npy", 2).feature_names == ["0", "1"]
    savemat(tmp_path / "d.mat", {"samples": X})
    assert data.load(tmp_path / "d.mat", "0").X.tolist() == X[:, 1:].tolist()


def test_special_files_and_unknown_suffixes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        data.read_table(tmp_path)
    with pytest.raises(DatasetError, match="unknown file type '.txt'"):
        data.read_table(write(tmp_path / "d.txt", "a\n1\n"))


# ---------------------------------------------------------------------- task and labels
@pytest.mark.parametrize("y,kind,task", [
    ([1, 2, 3, 1, 2, 3], "multiclass", "classification"),
    (["yes", "no", "yes"], "binary", "classification"),
    ([-1, 1, 1, -1], "binary", "classification"),
    ([True, False, True], "binary", "classification"),
    ([0.5, 1.5, 2.25], "continuous", "regression"),
    (list(range(100)), "continuous", "regression"),  # many integer values: a quantity
    ([1.0, 2.0, 1.0, 2.0, 3.0, 3.0], "multiclass", "classification"),  # integral floats are classes
])
def test_type_of_target(y, kind, task):
    assert data.type_of_target(np.array(y)) == kind
    assert data.infer_task(np.array(y)) == task


def test_task_can_be_given_and_is_checked():
    assert data.infer_task(np.array([1, 2, 3, 1, 2, 3]), "regression") == "regression"
    with pytest.raises(ValueError, match="task must be 'classification' or 'regression', got 'clustering'"):
        data.infer_task([1, 2], "clustering")
    assert data.type_of_target(np.array([[0.5, 1], [1.5, 2]])) == "continuous-multioutput"


@pytest.mark.parametrize("labels", [[3, 1, 2, 3], [-1, 1, 1], ["yes", "no", "no"], ["setosa", "virginica", "b"]])
def test_labels_round_trip_any_values(labels):
    encoder = Labels.fit(np.array(labels, dtype=object))
    assert encoder.classes == sorted(set(labels))
    index = encoder.encode(labels)
    assert index.min() == 0 and index.max() == len(encoder) - 1
    assert encoder.decode(index).tolist() == labels


def test_labels_match_equal_numbers_and_refuse_unknown_labels():
    encoder = Labels([1, 2, 3])
    assert encoder.encode(np.array([1.0, 3.0])).tolist() == [0, 2]
    with pytest.raises(DatasetError, match="label\\(s\\) the model does not know: '4'"):
        encoder.encode([1, 4], "test.csv")
    text = Labels(["no", "yes"])
    assert text.encode(["yes"]).tolist() == [1] and Labels([False, True]).encode([True]).tolist() == [1]


def _labels_row_by_row(values):
    """What Labels.fit/encode did one row at a time (the rules they now apply once per distinct value)."""
    seen = {}
    for value in values.tolist():
        seen.setdefault(data._key(value), data._plain(value))
    return list(seen.values())


@pytest.mark.parametrize("values", [
    np.array([3, 1, 2, 1, 3]), np.array([0.0, -0.0, 1.0]), np.array([-0.0, 0.0, 2.5]),
    np.array([2**53 + 1, 2**53, 5], dtype=np.int64), np.array([True, False, True]), np.array(["b", "a", "b"]),
    np.array([b"x", b"y", b"x"]), np.array([1, 1.0, True, "1", "a", 1], dtype=object),
    np.array([1, 2, 2.0, 3], dtype=object), np.array([None, "a", None], dtype=object),
    np.array([np.float32(1.5), 2], dtype=object), np.random.default_rng(0).integers(0, 4, 500).astype(str),
], ids=lambda v: f"{v.dtype}-{v[:3].tolist()}")
def test_labels_take_the_same_values_as_row_by_row(values):
    expected = _labels_row_by_row(values)
    found = data._unique(values)
    assert found == expected and [type(v) for v in found] == [type(v) for v in expected]
    encoder = Labels.fit(values)
    text = all(isinstance(c, str) for c in encoder.classes)
    keys = [data._key(str(data._plain(v)) if text else v) for v in values.tolist()]
    if all(k in encoder._index for k in keys):
        assert encoder.encode(values).tolist() == [encoder._index[k] for k in keys]
    else:  # mixed numbers and text: 1.0 is not the class "1"
        with pytest.raises(DatasetError, match="does not know"):
            encoder.encode(values)


def test_non_finite_labels_are_refused_however_many_rows_hold_them():
    for values in (np.array([1.0, np.nan, np.nan]), np.array([1, float("nan")], dtype=object)):
        with pytest.raises(DatasetError, match="a class label is nan"):
            Labels.fit(values)


# ---------------------------------------------------------------------- matching
def test_match_columns_by_name_in_any_order():
    frame = pd.DataFrame({"c": [1], "y": [0], "a": [2], "b": [3]})
    assert data.match_columns(frame, ["a", "b", "c"], known=["y"]) == ["a", "b", "c"]


def test_match_columns_refuses_missing_extra_and_positional_tables():
    frame = pd.DataFrame({"a": [1], "c": [2], "extra": [3]})
    with pytest.raises(DatasetError, match="missing the column\\(s\\) 'b'"):
        data.match_columns(frame, ["a", "b", "c"])
    with pytest.raises(DatasetError, match="not trained on: 'extra'; pass --ignore-extra"):
        data.match_columns(frame, ["a", "c"])
    assert data.match_columns(frame, ["a", "c"], ignore_extra=True) == ["a", "c"]
    unnamed = pd.DataFrame(np.ones((2, 3)), columns=["0", "1", "2"])
    with pytest.raises(DatasetError, match="match the model's features only by position"):
        data.match_columns(unnamed, ["a", "b", "c"])


def test_parse_is_one_copy_and_row_ordered(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, 5)), columns=list("abcde"))
    frame.to_csv(tmp_path / "d.csv", index=False)
    dataset = data.load(tmp_path / "d.csv", "e")
    np.testing.assert_allclose(dataset.X, frame[list("abcd")].to_numpy(), rtol=1e-15)
    assert dataset.X.flags.c_contiguous


def test_rows_with_more_or_fewer_cells_than_the_header_are_refused(tmp_path):
    # pandas would silently take the first column as the index when every row has one cell too many
    with pytest.raises(DatasetError, match="some rows have more cells than the header"):
        data.read_table(write(tmp_path / "wide.csv", "a,b,y\n1,2,3,4\n5,6,7,8\n"))
    with pytest.raises(DatasetError, match="column 'y' \\(the target\\) has 1 missing value.*fewer cells than the header"):
        data.load(write(tmp_path / "short.csv", "a,b,y\n1,2\n3,4,1\n"), "y")


def test_model_metadata_round_trips_and_must_be_plain_json(tmp_path):
    import backproplab as bp

    net = bp.Network.mlp([2, 3, 1], seed=0)
    metadata = {"feature_names": ["a", "b"], "classes": ["no", "yes"], "task": "classification",
                "target_scaling": None, "nested": {"mean": [1.5, 2]}, "flag": True}
    bp.save(net, tmp_path / "m.npz", metadata=metadata)
    assert bp.persistence.load_metadata(tmp_path / "m.npz") == metadata
    assert isinstance(bp.load(tmp_path / "m.npz"), bp.Network)
    bp.save(net, tmp_path / "plain.npz")
    assert bp.persistence.load_metadata(tmp_path / "plain.npz") == {}
    for bad in ({"x": np.arange(3)}, {"x": float("nan")}, {1: "a"}, {"x": {"y": object()}}):
        with pytest.raises(TypeError, match="metadata"):
            bp.save(net, tmp_path / "bad.npz", metadata=bad)
    assert not (tmp_path / "bad.npz").exists()
