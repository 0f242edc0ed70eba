import os
import re
from types import SimpleNamespace

import numpy as np
import pytest

import backproplab as bp
from backproplab.report import activation_race_figure, data_figures, gradient_flow_figure, polish, write_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def run():
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 4, 1], loss="bce", seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.01, max_epochs=20, validation=0.2, metrics=["accuracy"],
                      monitor=bp.GradientFlow(every=5), seed=0)
    return net, X, y, history


@pytest.fixture(scope="module")
def report(run, tmp_path_factory):
    net, X, y, history = run
    diagnosis = bp.diagnose(net, X, y, history=history, signal_test=False)
    from backproplab.experiments import get

    result = get("xor")(seed=0, quick=True)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, title="test report", history=history, diagnosis=diagnosis, net=net, X=X, y=y, result=result)
    return path


def test_report_is_self_contained(report):
    text = report.read_text()
    # xor surface, loss + accuracy, gradient flow, decision boundary, confusion matrix
    assert text.count("<img") == 5
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "Diagnosis" in text and "Gradient flow" in text and "xor" in text


def test_report_text_is_for_people(report):
    text = report.read_text()
    body = re.sub(r'src="data:image/png;base64,[^"]*"', "", text)
    assert "<pre>" not in body and '{"' not in body and "&quot;:" not in body  # no JSON dumps
    ours = body[body.index("<h2>Diagnosis"):]  # an experiment's own table holds its own strings
    cells = re.findall(r"<(?:td|dd)>(.*?)</(?:td|dd)>", ours)  # tables and evidence: formatted here
    assert cells
    for number in re.findall(r"-?\d+\.\d+", " ".join(cells)):
        assert len(number.replace("-", "").replace(".", "").lstrip("0")) <= 3, number


def test_report_opens_in_a_real_browser(report, tmp_path_factory):
    assert os.path.exists(CHROMIUM), f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)"
    from playwright.sync_api import sync_playwright

    errors, failed = [], []
    shots = os.environ.get("BACKPROPLAB_ARTEFACTS") or str(tmp_path_factory.mktemp("report-screenshots"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        title = page.title()
        page.screenshot(path=os.path.join(shots, "report.png"), full_page=True)
        browser.close()
    assert title == "test report"
    assert len(sizes) == 5
    assert all(complete and w > 100 and h > 100 for complete, w, h in sizes), sizes
    assert errors == [] and failed == []


def test_report_refuses_a_missing_folder(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        write_report(tmp_path / "no" / "r.html", history=bp.History(stop_reason="max_steps"))


def test_gradient_flow_of_a_relu_net_draws_solid_lines_for_every_layer():
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 8, 8, 1], hidden="relu", loss="bce", seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.01, max_epochs=10, monitor=bp.GradientFlow(every=3), seed=0)
    figure = gradient_flow_figure(history.monitor)
    norms, ratios, health = figure.axes[:3]
    assert len(norms.get_lines()) == 3 and norms.get_ylabel() and norms.get_xlabel() == "step"
    assert len(ratios.get_lines()) == 3 + 1  # three layers and the 1e-3 reference
    dead = [line for line in health.get_lines() if "dead" in line.get_label()]
    assert len(dead) == 2 and all(line.get_linestyle() == "-" for line in dead)


def test_polish_adds_a_colour_bar_and_axis_labels_to_a_bare_surface():
    from backproplab.experiments.base import new_figure

    figure = new_figure()
    ax = figure.add_subplot()
    grid = np.linspace(0, 1, 10)
    ax.contourf(grid, grid, np.outer(grid, grid))
    ax.set_title("network: p(class 1)")
    polish(figure)
    assert any(a.get_label() == "<colorbar>" for a in figure.axes)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert next(a for a in figure.axes if a.get_label() == "<colorbar>").get_ylabel() == "p(class 1)"


def test_activation_race_figure_shows_every_seed():
    raw = {f"{o}/{h}": [(3000, 0.1, True)] * 7 + [(4000, 0.1, True)] * 2 + [(30000, 0.5, False)]
           for o in ("sgd", "adam") for h in ("sigmoid", "relu")}
    figure = activation_race_figure(SimpleNamespace(data={"raw": raw, "max_steps": 30000}))
    ax = figure.axes[0]
    points = np.vstack([c.get_offsets() for c in ax.collections])
    assert len(points) == 40  # 4 groups x 10 seeds, failures included
    same = points[np.isclose(points[:, 1], 3000)]
    assert len(np.unique(np.round(same[:, 0], 6))) == len(same)  # equal values spread side by side


def test_data_figures_boundary_and_confusion_matrix(run):
    net, X, y, _ = run
    figures = dict(data_figures(net, X, y))
    boundary, confusion = figures["decision boundary"], figures["confusion matrix"]
    ax = boundary.axes[0]
    assert ax.get_xlabel() == "principal axis 1" and any(a.get_label() == "<colorbar>" for a in boundary.axes)
    counts = [int(t.get_text()) for t in confusion.axes[0].texts]
    assert sum(counts) == len(X)
    Xr, yr = np.random.default_rng(0).normal(size=(50, 5)), np.random.default_rng(1).normal(size=(50, 1))
    regression = bp.Network.mlp([5, 4, 1], seed=0)
    assert [name for name, _ in data_figures(regression, Xr, yr)] == ["predicted against true"]
