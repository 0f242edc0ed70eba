"""The command line on real tables: names, text labels, ids, column order, the task, scaling, logs."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

import backproplab as bp
from backproplab.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def iris_frame():
    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = np.asarray(iris.target_names, dtype=object)[frame.pop("target")]
    frame.insert(0, "id", np.arange(1000, 1000 + len(frame)))
    return frame


@pytest.fixture
def iris_csv(tmp_path, iris_frame):
    path = tmp_path / "iris.csv"
    iris_frame.to_csv(path, index=False)
    return path


@pytest.fixture
def iris_model(tmp_path, iris_csv, capsys):
    model = tmp_path / "iris.npz"
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--id", "id", "--epochs", "60",
                         "--layers", "16", "--lr", "0.01", "--save", model, "--verbose", "0")
    assert code == 0, err
    return model


def test_text_labels_train_and_the_task_is_one_line(capsys, iris_csv, tmp_path):
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--epochs", "60", "--layers", "16",
                         "--verbose", "0", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert out.splitlines()[0] == ("task: classification of 'species' into 3 classes: 'setosa', 'versicolor', "
                                   "'virginica' (loss cross_entropy)")
    assert "looks like a row id" in err  # the id column is recognised, not used as a feature
    metadata = bp.persistence.load_metadata(tmp_path / "m.npz")
    assert metadata["classes"] == ["setosa", "versicolor", "virginica"] and metadata["id"] == "id"
    assert metadata["feature_names"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert metadata["task"] == "classification" and metadata["scale"] == "standard"


def test_evaluate_matches_columns_by_name_in_any_order(capsys, iris_model, iris_frame, tmp_path):
    shuffled = tmp_path / "shuffled.csv"
    iris_frame[["species", "petal_width", "id", "sepal_length", "petal_length", "sepal_width"]].to_csv(shuffled, index=False)
    code, out, err = run(capsys, "evaluate", iris_model, shuffled, "--json")
    assert code == 0, err
    shuffled_scores = json.loads(out)
    code, out, _ = run(capsys, "evaluate", iris_model, tmp_path / "iris.csv", "--json")
    assert json.loads(out)["accuracy"] == shuffled_scores["accuracy"] > 0.9
    assert np.array(shuffled_scores["confusion"]).sum() == 150 and shuffled_scores["classes"][0] == "setosa"
    assert set(shuffled_scores["per_class"]) == {"setosa", "versicolor", "virginica"}


def test_missing_extra_and_positional_columns_are_refused(capsys, iris_model, iris_frame, tmp_path):
    missing = tmp_path / "missing.csv"
    iris_frame.drop(columns=["petal_width"]).to_csv(missing, index=False)
    code, _, err = run(capsys, "predict", iris_model, missing)
    assert code == 2 and "missing the column(s) 'petal_width'" in err and len(err.strip().splitlines()) == 1
    extra = tmp_path / "extra.csv"
    iris_frame.assign(colour=1.0).to_csv(extra, index=False)
    code, _, err = run(capsys, "predict", iris_model, extra)
    assert code == 2 and "not trained on: 'colour'; pass --ignore-extra" in err
    code, out, err = run(capsys, "predict", iris_model, extra, "--ignore-extra")
    assert code == 0, err
    unnamed = tmp_path / "unnamed.csv"
    frame = iris_frame[["sepal_length", "sepal_width", "petal_length", "petal_width"]]
    frame.to_csv(unnamed, index=False, header=["a", "b", "c", "d"])
    code, _, err = run(capsys, "predict", iris_model, unnamed)
    assert code == 2 and "only by position" in err


def test_predict_writes_labels_probabilities_by_class_and_ids(capsys, iris_model, iris_frame, tmp_path):
    out_path = tmp_path / "preds.csv"
    code, _, err = run(capsys, "predict", iris_model, tmp_path / "iris.csv", "--out", out_path)
    assert code == 0, err
    preds = pd.read_csv(out_path)
    assert list(preds.columns) == ["id", "species", "proba_setosa", "proba_versicolor", "proba_virginica"]
    assert preds["id"].tolist() == iris_frame["id"].tolist()
    assert (preds["species"] == iris_frame["species"]).mean() > 0.9
    np.testing.assert_allclose(preds.filter(like="proba_").sum(axis=1), 1.0, atol=1e-8)


@pytest.mark.parametrize("labels", [[1, 2, 3], [-1, 1], ["no", "yes"]])
def test_labels_of_any_values_map_to_classes_and_back(capsys, tmp_path, labels):
    rng = np.random.default_rng(0)
    n = 90
    index = np.arange(n) % len(labels)
    X = rng.normal(size=(n, 2)) + 3 * index[:, None]  # separable
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": np.asarray(labels, dtype=object)[index]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "d.csv", "--target", "label", "--epochs", "40", "--layers", "8",
                         "--lr", "0.01", "--save", tmp_path / "m.npz", "--verbose", "0", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["task"] == "classification" and result["classes"] == sorted(labels)
    assert result["history"]["config"]["network"]["loss"] == ("bce" if len(labels) == 2 else "cross_entropy")
    code, out, _ = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "d.csv", "--json")
    predicted = json.loads(out)["predictions"]["label"]
    assert set(predicted) <= set(labels) and np.mean(np.array(predicted, dtype=object) == frame["label"]) > 0.9


def test_task_override_and_numeric_header_names(capsys, tmp_path):
    frame = pd.DataFrame({"2": np.arange(40.0), "1": np.arange(40.0) % 7, "0": np.arange(40) % 3 + 1})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "d.csv", "--target", "0", "--epochs", "2", "--verbose", "0", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["target"] == ["0"] and result["features"] == ["2", "1"] and result["classes"] == [1, 2, 3]
    code, out, err = run(capsys, "train", tmp_path / "d.csv", "--target", "0", "--task", "regression", "--epochs", "2",
                         "--verbose", "0", "--json")
    assert code == 0, err and json.loads(out)["task"] == "regression"


def test_regression_targets_are_standardised_and_inverted(capsys, tmp_path):
    diabetes = load_diabetes(as_frame=True).frame
    diabetes.to_csv(tmp_path / "diabetes.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "diabetes.csv", "--target", "target", "--epochs", "30",
                         "--save", tmp_path / "m.npz", "--verbose", "0")
    assert code == 0, err
    assert "task: regression of 'target', standardised with mean 152 and std 77" in out
    scaling = bp.persistence.load_metadata(tmp_path / "m.npz")["target_scaling"]
    assert scaling["mean"][0] == pytest.approx(diabetes["target"].mean())
    code, out, _ = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "diabetes.csv", "--json", "--ignore-extra")
    predicted = np.array(json.loads(out)["predictions"]["target"])
    assert abs(predicted.mean() - diabetes["target"].mean()) < 15 and predicted.std() > 30  # in the target's units
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "diabetes.csv", "--json", "--metrics", "r2,mae")
    scores = json.loads(out)
    assert set(scores) == {"r2", "mae", "loss"} and scores["r2"] > 0.3 and scores["mae"] < 60


def test_scale_none_warns_with_the_numbers(capsys, tmp_path):
    frame = pd.DataFrame({"income": np.linspace(20_000, 90_000, 40), "y": np.arange(40) % 2})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "d.csv", "--target", "y", "--scale", "none", "--epochs", "1",
                       "--verbose", "0")
    assert code == 0
    assert "warning: --scale none with unscaled inputs" in err and "'income' has mean 55000 and std 20700" in err
    frame = pd.DataFrame({"a": np.linspace(-1, 1, 40), "price": np.linspace(100, 300, 40)})
    frame.to_csv(tmp_path / "r.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "r.csv", "--target", "price", "--scale", "none", "--epochs", "1",
                       "--verbose", "0")
    assert code == 0 and "regression target unscaled: 'price' has mean 200 and std 59.2" in err
    assert "unscaled inputs" not in err


def test_train_and_validation_metrics_are_separate_and_epoch_lines_are_printed(capsys, iris_csv, tmp_path):
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--id", "id", "--epochs", "3",
                         "--val-fraction", "0.2", "--history", tmp_path / "h.json")
    assert code == 0, err
    assert "training set (120 rows): accuracy" in out and "validation set (30 rows): accuracy" in out
    lines = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3 - ") and "val_loss: " in lines[0] and "accuracy: " in lines[0]
    history = bp.History.from_json(tmp_path / "h.json")
    assert history.n_epochs == 3 and len(history.val_loss) == 3 and history.config["n_samples"] == 120
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--id", "id", "--epochs", "3", "--verbose", "0")
    assert not [line for line in out.splitlines() + err.splitlines() if line.startswith("Epoch ")]
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--id", "id", "--epochs", "2", "--json")
    assert json.loads(out)["history"]["n_epochs"] == 2 and err.count("\nEpoch ") + err.startswith("Epoch ") == 2


def test_report_reads_the_history_file_and_train_json_output(capsys, iris_csv, tmp_path):
    code, out, err = run(capsys, "train", iris_csv, "--target", "species", "--id", "id", "--epochs", "2",
                         "--verbose", "0", "--json", "--history", tmp_path / "h.json")
    assert code == 0, err
    (tmp_path / "train.json").write_text(out)
    for source in ("h.json", "train.json"):
        code, _, err = run(capsys, "report", tmp_path / source, "-o", tmp_path / f"{source}.html")
        assert code == 0, err
        assert (tmp_path / f"{source}.html").stat().st_size > 1000


def test_npz_and_tsv_data(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    code, out, err = run(capsys, "train", tmp_path / "d.npz", "--target", "y", "--epochs", "2", "--verbose", "0", "--json")
    assert code == 0, err and json.loads(out)["features"] == ["0", "1", "2"]
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y}).to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    code, out, err = run(capsys, "train", tmp_path / "d.tsv", "--target", "y", "--epochs", "2", "--verbose", "0", "--json")
    assert code == 0, err and json.loads(out)["features"] == ["a", "b"]


def test_duplicate_columns_and_bad_metrics_exit_2(capsys, tmp_path, iris_model):
    (tmp_path / "dup.csv").write_text("a,label,label\n1,0,1\n2,1,0\n")
    code, _, err = run(capsys, "train", tmp_path / "dup.csv", "--target", "label")
    assert code == 2 and err.startswith("error: ") and "duplicate column names: 'label'" in err
    code, _, err = run(capsys, "evaluate", iris_model, tmp_path / "iris.csv", "--metrics", "r2")
    assert code == 2 and "--metrics r2 does not apply to classification" in err


def test_evaluate_text_shows_the_confusion_matrix(capsys, iris_model, tmp_path):
    code, out, err = run(capsys, "evaluate", iris_model, tmp_path / "iris.csv")
    assert code == 0, err
    assert "macro f1: " in out and "confusion matrix (rows: true class, columns: predicted):" in out
    row = next(line for line in out.splitlines() if line.startswith("setosa "))
    assert sum(int(v) for v in row.split()[1:]) == 50


def test_sample_weights_from_a_column(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "w": rng.uniform(0.5, 2, 80), "y": (X[:, 0] > 0).astype(int)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "d.csv", "--target", "y", "--weight", "w", "--epochs", "2",
                         "--verbose", "0", "--json", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert json.loads(out)["features"] == ["a", "b"]
    assert bp.persistence.load_metadata(tmp_path / "m.npz")["weight"] == "w"


def test_outputs_may_not_overwrite_inputs(capsys, iris_model, tmp_path):
    code, _, err = run(capsys, "predict", iris_model, tmp_path / "iris.csv", "--out", iris_model)
    assert code == 2 and "is the same file as MODEL" in err and bp.load(iris_model) is not None
    code, _, err = run(capsys, "train", tmp_path / "iris.csv", "--target", "species", "--history", tmp_path / "iris.csv")
    assert code == 2 and "is the same file as DATA" in err


@pytest.fixture
def iris_numbered_csv(tmp_path, iris_frame):
    """Iris with text labels and a row-number column that is not named like an id (so only --drop removes it)."""
    path = tmp_path / "iris_numbered.csv"
    iris_frame.rename(columns={"id": "sample_no"}).to_csv(path, index=False)
    return path


def _network_spec(out):
    return json.loads(out)["history"]["config"]["network"]


def test_doctor_reads_text_labels_and_trains_the_network_train_trains(capsys, iris_numbered_csv, iris_frame):
    options = ["--target", "species", "--drop", "sample_no", "--layers", "8", "--epochs", "5", "--json"]
    code, out, err = run(capsys, "doctor", iris_numbered_csv, *options)
    assert code == 0, err  # the numeric-only reader refused 'setosa'
    doctor = json.loads(out)
    code, out, err = run(capsys, "train", iris_numbered_csv, *options, "--verbose", "0")
    assert code == 0, err
    train = json.loads(out)["history"]
    spec = doctor["history"]["config"]["network"]
    assert spec == train["config"]["network"] and doctor["history"]["loss"] == train["loss"]
    assert [layer["type"] for layer in spec["layers"]] == ["Standardize", "Dense", "ReLU", "Dense", "Softmax"]
    assert spec["layers"][1]["in_features"] == 4 and spec["layers"][3]["out_features"] == 3
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    np.testing.assert_allclose(spec["layers"][0]["mean"], iris_frame[features].mean())  # fitted on the 4 features
    code, out, err = run(capsys, "doctor", iris_numbered_csv, *options[:2], "--epochs", "1", "--json")
    assert code == 0, err and _network_spec(out)["layers"][1]["in_features"] == 5  # without --drop it is a feature
    code, out, err = run(capsys, "doctor", iris_numbered_csv, *options[:4], "--scale", "none", "--epochs", "1", "--json")
    assert code == 0, err
    assert _network_spec(out)["layers"][0]["type"] == "Dense" and "Standardize" not in out


def test_gradcheck_reads_the_table_as_train_does(capsys, iris_numbered_csv, tmp_path):
    code, out, err = run(capsys, "gradcheck", iris_numbered_csv, "--target", "species", "--drop", "sample_no",
                         "--layers", "4", "--hidden", "tanh")
    assert code == 0, err
    assert out.splitlines()[0].startswith("task: classification of 'species' into 3 classes") and "PASSED" in out
    assert "W1     (4, 4)" in out  # four features: sample_no was dropped
    code, out, _ = run(capsys, "gradcheck", iris_numbered_csv, "--target", "species", "--features",
                       "petal_length,petal_width", "--layers", "3", "--hidden", "tanh", "--json")
    assert code == 0 and json.loads(out)["params"][0]["shape"] == [2, 3]
    frame = pd.DataFrame({"a": np.linspace(0, 1, 30), "grade": np.arange(30) % 3 + 1})
    frame.to_csv(tmp_path / "g.csv", index=False)
    code, out, err = run(capsys, "gradcheck", tmp_path / "g.csv", "--target", "grade", "--task", "regression",
                         "--layers", "3", "--hidden", "tanh")
    assert code == 0, err and out.startswith("task: regression of 'grade', standardised")
    code, _, err = run(capsys, "gradcheck", iris_numbered_csv, "--target", "colour")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "has no column 'colour' (the target)" in err


def test_doctor_and_gradcheck_with_a_model_read_columns_by_name(capsys, iris_model, iris_frame, tmp_path):
    shuffled = tmp_path / "shuffled.csv"
    iris_frame[["petal_width", "species", "sepal_length", "id", "sepal_width", "petal_length"]].to_csv(shuffled, index=False)
    results = {}
    for name, path in (("ordered", tmp_path / "iris.csv"), ("shuffled", shuffled)):
        code, out, err = run(capsys, "doctor", path, "--target", "species", "--model", iris_model, "--json")
        assert code == 0, err  # the numeric-only reader refused 'setosa'
        code, checked, err = run(capsys, "gradcheck", iris_model, path, "--json")
        assert code == 0, err
        results[name] = (json.loads(out)["diagnosis"], json.loads(checked))
    assert results["shuffled"] == results["ordered"]
    assert results["ordered"][0]["context"]["fit_vs_baseline"] < 0.5  # the model fits: its inputs are its features
    missing = tmp_path / "missing.csv"
    iris_frame.drop(columns=["petal_width"]).to_csv(missing, index=False)
    code, _, err = run(capsys, "doctor", missing, "--target", "species", "--model", iris_model)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "missing the column(s) 'petal_width'" in err


def test_train_and_evaluate_metrics_are_weighted_by_the_weight_column(capsys, iris_frame, tmp_path):
    from sklearn import metrics as sk

    rng = np.random.default_rng(3)
    frame = iris_frame.assign(w=rng.uniform(0.1, 4.0, len(iris_frame)).round(3))
    frame["sepal_width"] += rng.normal(scale=2.0, size=len(frame))  # not every row is right: weights matter
    frame[["w", "species", "sepal_width", "id", "petal_width", "sepal_length", "petal_length"]].to_csv(
        tmp_path / "w.csv", index=False)
    common = ["--target", "species", "--weight", "w", "--layers", "4", "--epochs", "8", "--verbose", "0"]
    code, out, err = run(capsys, "train", tmp_path / "w.csv", *common, "--json", "--save", tmp_path / "m.npz")
    assert code == 0, err
    trained = json.loads(out)
    code, out, _ = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "w.csv", "--json")
    predicted, truth, w = json.loads(out)["predictions"]["species"], frame["species"], frame["w"]
    assert trained["weighted_by"] == "w"
    assert trained["train_metrics"]["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted, sample_weight=w))
    assert trained["train_metrics"]["f1"] == pytest.approx(sk.f1_score(truth, predicted, average="macro", sample_weight=w))
    assert sk.accuracy_score(truth, predicted) != pytest.approx(sk.accuracy_score(truth, predicted, sample_weight=w))
    code, out, err = run(capsys, "train", tmp_path / "w.csv", *common)
    assert code == 0 and "training set (150 rows, metrics weighted by 'w'): accuracy " in out, err
    code, out, err = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "w.csv", "--weight", "w", "--json")
    assert code == 0, err
    scores = json.loads(out)
    classes = ["setosa", "versicolor", "virginica"]
    assert scores["weighted_by"] == "w" and scores["accuracy"] == pytest.approx(trained["train_metrics"]["accuracy"])
    assert scores["recall"] == pytest.approx(sk.recall_score(truth, predicted, average="macro", sample_weight=w))
    np.testing.assert_allclose(scores["confusion"], sk.confusion_matrix(truth, predicted, labels=classes, sample_weight=w))
    assert scores["per_class"]["setosa"]["support"] == pytest.approx(w[truth == "setosa"].sum())
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "w.csv", "--json")
    plain = json.loads(out)
    assert "weighted_by" not in plain and plain["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted))
    assert plain["loss"] != pytest.approx(scores["loss"])
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "w.csv", "--weight", "w")
    assert out.splitlines()[0] == "metrics weighted by 'w'"
    code, _, err = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "w.csv", "--weight", "weights")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "has no column 'weights' (the weight)" in err


def test_weighted_regression_metrics_and_a_weighted_validation_split(capsys, tmp_path):
    from sklearn import metrics as sk

    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 3))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "w": rng.integers(0, 5, 120),
                          "price": 50 + 10 * X[:, 0] - 5 * X[:, 1] + rng.normal(scale=4, size=120)})
    frame.to_csv(tmp_path / "r.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "r.csv", "--target", "price", "--weight", "w", "--epochs", "20",
                         "--verbose", "0", "--save", tmp_path / "r.npz")
    assert code == 0 and "training set (120 rows, metrics weighted by 'w'): mae " in out, err
    code, out, err = run(capsys, "evaluate", tmp_path / "r.npz", tmp_path / "r.csv", "--weight", "w", "--json")
    assert code == 0, err
    scores = json.loads(out)
    code, out, _ = run(capsys, "predict", tmp_path / "r.npz", tmp_path / "r.csv", "--json")
    predicted, w = np.array(json.loads(out)["predictions"]["price"]), frame["w"]
    assert scores["mae"] == pytest.approx(sk.mean_absolute_error(frame["price"], predicted, sample_weight=w))
    assert scores["rmse"] == pytest.approx(sk.root_mean_squared_error(frame["price"], predicted, sample_weight=w))
    assert scores["r2"] == pytest.approx(sk.r2_score(frame["price"], predicted, sample_weight=w))
    frame.assign(label=np.arange(120) % 3).to_csv(tmp_path / "c.csv", index=False)  # weights and a validation split
    code, out, err = run(capsys, "train", tmp_path / "c.csv", "--target", "label", "--drop", "price", "--weight", "w",
                         "--val-fraction", "0.2", "--epochs", "2", "--verbose", "0")
    assert code == 0, err  # cross_entropy's class indices in the validation rows were not one-hot encoded
    assert "validation set (24 rows, metrics weighted by 'w'): accuracy " in out
