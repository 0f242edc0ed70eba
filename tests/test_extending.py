"""The README's recipes: a new activation and a new stop rule are one file edit each.

Each test copies the package, applies the README's code to that one file, and runs it in a fresh
interpreter, so the recipe as written is what is checked."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def recipe_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Extending backproplab", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def copy_package(tmp_path: Path) -> Path:
    target = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "backproplab", target / "backproplab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run(src: Path, code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, cwd=src)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_new_activation_is_one_edit_of_activations_py(tmp_path):
    src = copy_package(tmp_path)
    module = src / "backproplab" / "activations.py"
    module.write_text(module.read_text() + "\n\n" + recipe_blocks()[0])
    pytest.importorskip("onnxruntime")
    out = run(src, f"""
import numpy as np, backproplab as bp, onnxruntime
from backproplab.estimators import BackpropRegressor
rng = np.random.default_rng(0)
X, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 1))
net = bp.Network.mlp([4, 8, 1], hidden="softsign", seed=0)
assert type(net.layers[1]).__name__ == "Softsign"
result = bp.gradcheck(net, X[:5], y[:5])
assert result.passed, str(result)
net.fit(X, y, max_epochs=3, progress=False)
bp.save(net, {str(tmp_path / 'm.npz')!r})
again = bp.load({str(tmp_path / 'm.npz')!r})
np.testing.assert_array_equal(again.predict(X), net.predict(X))
from backproplab.export import to_onnx
session = onnxruntime.InferenceSession(to_onnx(net).SerializeToString())
np.testing.assert_allclose(session.run(None, {{"input": X}})[0], net.predict(X), rtol=1e-6)
BackpropRegressor(hidden_layer_sizes=(3,), activation="softsign", max_iter=2).fit(X, y.ravel())
print("ok")
""")
    assert out.strip() == "ok"


def test_a_new_stop_rule_is_one_edit_of_stops_py(tmp_path):
    src = copy_package(tmp_path)
    block = recipe_blocks()[1]
    field = re.search(r"# in Stop:\s+(.*)", block).group(1)
    line = re.search(r"# in goal_rules:\s+(.*)", block).group(1)
    rule = block.split("# in Stop:")[0]
    module = src / "backproplab" / "stops.py"
    text = module.read_text()
    text = text.replace("    time_limit: float | None = None\n", f"    time_limit: float | None = None\n    {field}\n", 1)
    head, tail = text.split("def goal_rules(", 1)
    body, rest = tail.split("    return rules\n", 1)
    text = head + rule + "\n\ndef goal_rules(" + body + f"    {line}\n    return rules\n" + rest
    module.write_text(text)
    out = run(src, """
import numpy as np, backproplab as bp
from backproplab.stops import STOP_REASONS
rng = np.random.default_rng(0)
X, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 1))
net = bp.Network.mlp([4, 8, 1], seed=0)
history = net.fit(X, y, max_epochs=50, stop=bp.Stop(loss_above=0.0), progress=False)
assert history.stop_reason == "loss_above" and history.n_epochs == 1, history.stop_reason
assert "loss_above" in STOP_REASONS
print("ok")
""")
    assert out.strip() == "ok"
