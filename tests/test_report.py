import os

import pytest

import backproplab as bp
from backproplab.report import write_report

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 4, 1], loss="bce", seed=0)
    history = net.fit(X, y, optimizer="adam", lr=0.01, max_epochs=20, validation=0.2, monitor=bp.GradientFlow(every=5), seed=0)
    diagnosis = bp.diagnose(net, X, y, history=history, signal_test=False)
    from backproplab.experiments import get

    result = get("xor")(seed=0, quick=True)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, title="test report", history=history, diagnosis=diagnosis, net=net, X=X, y=y, result=result)
    return path


def test_report_is_self_contained(report):
    text = report.read_text()
    assert text.count("<img") == 4  # xor surface, loss, gradient flow, data
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "Diagnosis" in text and "Gradient flow" in text and "xor" in text


def test_report_opens_in_a_real_browser(report):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    errors, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        title = page.title()
        browser.close()
    assert title == "test report"
    assert len(sizes) == 4
    assert all(complete and w > 100 and h > 100 for complete, w, h in sizes), sizes
    assert errors == [] and failed == []


def test_report_refuses_a_missing_folder(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        write_report(tmp_path / "no" / "r.html", history=bp.History(stop_reason="max_steps"))
