"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Live (a fit with bp.Dashboard), the playground (controls, a break-it preset and its finding), a
replay (the scrubber) and an exported replay opened from file:// with every request intercepted.
No console error anywhere. Screenshots of the main views go to the artefact folder
(``BACKPROPLAB_ARTEFACTS`` or a pytest temporary folder). Without chromium these tests fail: they
never skip.
"""

import os
import threading
import time

import pytest

import backproplab as bp
from backproplab.dashboard import write_replay

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    folder = os.environ.get("BACKPROPLAB_ARTEFACTS") or str(tmp_path_factory.mktemp("dashboard-screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    errors = list(page.errors)
    context.close()
    assert errors == [], errors  # no console error anywhere


def step_of(page):
    return int(page.inner_text("[data-testid=step]"))


def points_of(page):
    return int(page.get_attribute("[data-testid=loss-chart]", "data-points") or 0)


class StopWhenTold(bp.Callback):
    def __init__(self):
        self.stop = threading.Event()

    def on_step_end(self, step, loss):
        if self.stop.is_set():
            return True
        time.sleep(0.0002)  # a slow enough run to watch for a few seconds
        return None


def test_live_dashboard_follows_a_fit(page, artefacts):
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=0)
    board = bp.Dashboard(data=(X, y), open_browser=False)
    stopper = StopWhenTold()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("h", net.fit(
        X, y, optimizer="sgd", lr=0.1, batch_size=128, max_steps=2_000_000, sampling="random", seed=0,
        callbacks=[stopper, board])))
    thread.start()
    try:
        deadline = time.time() + 20
        while board.url is None and time.time() < deadline:
            time.sleep(0.05)
        page.goto(board.url)
        page.wait_for_function("document.querySelector('[data-testid=loss-chart]').dataset.points > 0", timeout=15000)
        first_step, first_points = step_of(page), points_of(page)
        page.wait_for_function(f"+document.querySelector('[data-testid=step]').textContent > {first_step}", timeout=15000)
        page.wait_for_function(f"+document.querySelector('[data-testid=loss-chart]').dataset.points > {first_points}",
                               timeout=15000)
        assert page.locator("[data-testid=network] svg line").count() == 3 * 3 + 3 * 2 + 2
        assert page.locator("[data-testid=boundary] canvas").count() == 1
        page.click("[data-testid=network] circle[data-layer='1'][data-unit='0']")
        assert "z = Σ w·a + b" in page.inner_text("#inspector")
        page.screenshot(path=os.path.join(artefacts, "live.png"), full_page=True)
        page.close()  # closing the page never stops the run
        time.sleep(0.5)
        assert thread.is_alive()
    finally:
        stopper.stop.set()
        thread.join(30)
        board.close()
    assert result["h"].stop_reason == "callback"


def test_playground_controls_and_a_break_it_preset(page, artefacts):
    from backproplab.dashboard.cli import serve_playground

    playground, server = serve_playground()
    try:
        base = f"http://127.0.0.1:{server.port}"
        refused = page.request.post(base + "/api/control", data={"action": "start"})
        assert refused.status == 403 and playground.running is False
        assert page.request.get(base + "/").status == 403
        page.goto(server.url)
        page.click("[data-testid=start]")
        page.wait_for_function("+document.querySelector('[data-testid=step]').textContent > 200", timeout=15000)
        page.click("[data-testid=pause]")
        # the page catches up with the run's last chunk within a push or two (every 0.5 s)
        page.wait_for_function("document.querySelector('#status').textContent.indexOf('paused') >= 0", timeout=10000)
        page.wait_for_function(f"+document.querySelector('[data-testid=step]').textContent === {playground.steps}",
                               timeout=10000)
        paused = step_of(page)
        time.sleep(1.2)
        assert step_of(page) == paused == playground.steps and playground.running is False
        page.screenshot(path=os.path.join(artefacts, "playground.png"), full_page=True)
        page.fill("#c-lr", "fast")
        page.click("#c-apply")
        page.wait_for_selector("#banner:not([hidden])", timeout=5000)
        assert "lr must be a number" in page.inner_text("#banner")
        page.click("[data-testid=preset] [data-preset=huge_lr]")
        page.wait_for_selector("[data-testid=findings] [data-code=lr_too_large]", timeout=20000)
        assert "lr_too_large" in page.inner_text("[data-testid=preset]")
        page.screenshot(path=os.path.join(artefacts, "playground-huge-lr.png"), full_page=True)
        page.click("[data-testid=preset] [data-preset=unscaled_inputs]")
        page.wait_for_selector("[data-testid=findings] [data-code=unscaled_inputs]", timeout=20000)
        page.click("#c-fix")
        page.wait_for_function("!document.querySelector('[data-testid=findings] [data-code=unscaled_inputs]')", timeout=20000)
    finally:
        playground.stop()
        server.stop()


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory):
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 4, 1], hidden="relu", loss="bce", seed=0)
    board = bp.Dashboard(data=(X, y), serve=False, every=10)
    net.fit(X, y, optimizer="adam", lr=0.05, max_epochs=60, validation=0.2, metrics=["accuracy"], callbacks=[board], seed=0)
    return write_replay(board.recorder.state(), tmp_path_factory.mktemp("replay") / "run.html")


def test_replay_scrubs_through_the_run(page, artefacts, replay_file):
    page.goto("file://" + replay_file)
    page.wait_for_selector("[data-testid=network] svg")
    last_step = step_of(page)
    last_network = page.inner_html("[data-testid=network] svg")
    last_image = page.eval_on_selector("[data-testid=boundary] canvas", "c => c.toDataURL()")
    page.eval_on_selector("[data-testid=scrubber]", "el => { el.value = 0; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function(f"+document.querySelector('[data-testid=step]').textContent < {last_step}")
    assert page.inner_html("[data-testid=network] svg") != last_network
    assert page.eval_on_selector("[data-testid=boundary] canvas", "c => c.toDataURL()") != last_image
    page.screenshot(path=os.path.join(artefacts, "replay-first-frame.png"), full_page=True)
    page.goto("file://" + replay_file + "?colour=purple&frame=x")
    assert "colour=\"purple\" is not one of" in page.inner_text("#banner")


def test_exported_replay_makes_no_request(browser, artefacts, replay_file):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    requests, errors = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def intercept(route):
        requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", intercept)
    page.goto("file://" + replay_file)
    page.wait_for_selector("[data-testid=findings]")
    page.wait_for_function("document.querySelector('[data-testid=loss-chart]').dataset.points > 0")
    page.wait_for_timeout(500)
    page.screenshot(path=os.path.join(artefacts, "replay.png"), full_page=True)
    context.close()
    assert requests == ["file://" + replay_file]  # the document itself, nothing else
    assert errors == []
