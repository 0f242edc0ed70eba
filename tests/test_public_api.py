import subprocess
import sys

import backproplab as bp

PUBLIC = {
    "Adam", "BinaryCrossEntropy", "Callback", "ConvergenceWarning", "CrossEntropy", "Dense", "DivergenceWarning",
    "GradCheckResult", "History", "Identity", "Layer", "LeakyReLU", "Loss", "MAE", "MSE", "ModelFileError",
    "Network", "Optimizer", "Parameter", "RMSProp", "ReLU", "SGD", "Sigmoid", "Softmax", "Stop", "Tanh",
    "__version__", "activations", "check_gradient", "datasets", "gradcheck", "initializers", "load", "losses",
    "metrics", "optimizers", "save",
}


def test_public_names_are_pinned():
    assert set(bp.__all__) >= PUBLIC
    for name in bp.__all__:
        assert hasattr(bp, name), name


def test_no_pickle_anywhere_in_the_package():
    import pathlib

    source = pathlib.Path(bp.__file__).parent
    for path in source.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "backproplab", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "experiment" in result.stdout and "gradcheck" in result.stdout
