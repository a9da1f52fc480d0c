"""The playground in a real browser: headless system Chromium driven by Playwright.

One uvicorn server (127.0.0.1, a free port, in a thread) and one browser serve the whole
module (``conftest.py``); every test opens its own page (its own session) and fails on any
console error. With ``CHAINRULE_SCREENSHOTS=DIR`` set, the tests also save the main views
as PNG files in ``DIR`` (that is how ``docs/img/playground-*.png`` are made).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.playground.pages import CHROMIUM, SHOTS, epoch, shot, until, wait_for

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(f"browser tests need the system Chromium at {CHROMIUM} (not installed)",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
pytest.importorskip("uvicorn", reason="browser tests need uvicorn")


def test_play_trains_on_circle_data(page):
    assert page.evaluate("window.playground.config.dataset") == "circle"
    first_loss = float(page.text_content("#test-loss"))
    page.click("#play")
    until(lambda: epoch(page) >= 40, timeout=30)
    page.click("#play")
    wait_for(page, "!window.playground.playing")
    assert float(page.text_content("#test-loss")) < first_loss - 0.1
    until(lambda: page.evaluate("window.playground.history.length") > 5)
    if SHOTS:  # train on to a clean boundary for the documentation's picture
        page.click("#play")
        until(lambda: epoch(page) >= 150, timeout=60)
        page.click("#play")
        shot(page, "main", clip={"x": 0, "y": 0, "width": 1400, "height": 690})


def test_changing_the_activation_resets_the_net(page):
    for _ in range(3):
        page.click("#step")
    until(lambda: epoch(page) == 3)
    page.select_option("#learning_rate", "0.3")  # live: the net keeps training
    wait_for(page, "window.playground.config.learning_rate === 0.3")
    assert epoch(page) == 3
    page.select_option("#activation", "relu")
    wait_for(page, "window.playground.config.activation === 'relu'")
    until(lambda: epoch(page) == 0)


def test_click_adds_and_shift_click_removes_a_point(page):
    before = page.evaluate("window.playground.data.x.length")
    page.select_option("#click_class", "1")
    page.click("#points", position={"x": 30, "y": 30})  # top-left corner: far from the data
    wait_for(page, f"window.playground.data.x.length === {before + 1}")
    x, y = page.evaluate("window.playground.data.x[window.playground.data.x.length - 1]")
    assert x < -4.5 and y > 4.5
    assert page.evaluate("window.playground.data.y[window.playground.data.y.length - 1]") == 1
    page.click("#points", position={"x": 30, "y": 30}, modifiers=["Shift"])
    wait_for(page, f"window.playground.data.x.length === {before}")


def test_csv_upload(page, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,label\n-3,-3,0\n3,3,1\n3,-3,2\n-3,3,2\n0,0,1\n")
    page.set_input_files("#csv", str(path))
    wait_for(page, "window.playground.config.dataset === 'custom'")
    wait_for(page, "window.playground.data.x.length === 5")
    assert page.evaluate("window.playground.config.num_classes") == 3
    path.write_text("x1,x2,label\n1,2,0\n100,2,1\n")
    page.set_input_files("#csv", str(path))
    wait_for(page, "document.querySelector('#status').textContent.includes('csv line 3')")
    assert page.evaluate("window.playground.data.x.length") == 5


def test_network_controls_and_weight_editing(page):
    page.click("#add-layer")
    wait_for(page, "window.playground.config.hidden.length === 3")
    page.click("#add-neuron-2")
    wait_for(page, "window.playground.config.hidden[2] === 3")
    page.click("#feature-x1sq")
    wait_for(page, "window.playground.config.features.includes('x1sq')")
    page.hover("#link-0-0-0")
    assert page.text_content("#tooltip").startswith("weight ")
    page.click("#link-0-0-0", force=True)
    page.fill("#editor-value", "1.25")
    page.click("#editor-ok")
    wait_for(page, "window.playground.frame.weights[0][0][0] === 1.25")
    page.click("#neuron-0-1 .bias")
    page.fill("#editor-value", "-0.5")
    page.press("#editor-value", "Enter")
    wait_for(page, "window.playground.frame.biases[0][1] === -0.5")
    page.hover("#neuron-1-0")  # its heat map takes over the big plot
    wait_for(page, "window.playground.hover && window.playground.hover.layer === 1")
    shot(page, "network", clip={"x": 250, "y": 80, "width": 780, "height": 600})


def test_hidden_layer_view(page):
    page.check("#transform")
    wait_for(page, "window.playground.frame.transform !== undefined")
    n = page.evaluate("window.playground.data.x.length")
    frame = page.evaluate("window.playground.frame.transform")
    assert len(frame["points"]) == n and len(frame["lines"]) == 22
    assert (frame["layer"], frame["x"], frame["y"]) == (0, 0, 1)
    page.select_option("#transform-layer", value="1")
    wait_for(page, "window.playground.frame.transform.layer === 1")
    page.click("#play")
    until(lambda: epoch(page) >= (150 if SHOTS else 5), timeout=60)
    page.click("#play")
    wait_for(page, "!window.playground.playing")
    if SHOTS:
        page.locator("#out-col").screenshot(path=str(Path(SHOTS) / "playground-transform.png"))


def test_url_round_trip_restores_the_setup(page, browser, base_url):
    page.click("#datasets button[data-dataset=xor]")
    wait_for(page, "window.playground.config.dataset === 'xor'")
    page.click("#remove-layer")
    wait_for(page, "window.playground.config.hidden.length === 1")
    page.click("#feature-x1x2")
    wait_for(page, "window.playground.config.features.includes('x1x2')")
    page.select_option("#optimizer", "adam")
    page.select_option("#regularization", "l2")
    page.check("#discretize")
    wait_for(page, "location.hash.includes('regularization=l2')")
    url = page.url
    expected = page.evaluate("JSON.stringify(window.playground.config)")
    other = browser.new_context().new_page()
    try:
        other.goto(url)
        wait_for(other, "window.playground && window.playground.config && "
                        "window.playground.config.dataset === 'xor'")
        wait_for(other, f"JSON.stringify(window.playground.config) === {expected!r}")
        assert other.is_checked("#discretize")
        assert other.input_value("#optimizer") == "adam"
    finally:
        other.context.close()


def test_export_downloads_a_checkpoint_that_evaluate_accepts(page, tmp_path, monkeypatch):
    from chainrule.cli import main as cli_main

    page.click("#step")
    until(lambda: epoch(page) == 1)
    with page.expect_download() as info:
        page.click("#export-checkpoint")
    info.value.save_as(tmp_path / "playground.safetensors")
    with page.expect_download() as info:
        page.click("#export-data")
    info.value.save_as(tmp_path / "playground_points.csv")
    with page.expect_download() as info:
        page.click("#export-script")
    info.value.save_as(tmp_path / "playground_model.py")
    assert "nn.MLP(" in (tmp_path / "playground_model.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert cli_main(["evaluate", "playground.safetensors"]) == 0


def test_backprop_view_shows_the_graph_for_a_chosen_point(page):
    page.check("#backprop")
    wait_for(page, "document.querySelector('#backprop-graph img') !== null")
    page.click("#points", position={"x": 150, "y": 60}, modifiers=["Alt"])
    index = wait_for(page, "window.playground.backprop.index")
    wait_for(page, f"document.querySelector('#backprop-info').textContent.includes('#{index}')")
    page.click("#play")
    until(lambda: epoch(page) >= 10, timeout=30)
    page.click("#play")
    shot(page, "backprop", full_page=True)


def test_regression_and_many_classes(page):
    page.select_option("#problem", "regression")
    wait_for(page, "window.playground.config.dataset === 'plane'")
    wait_for(page, "window.playground.frame.problem === 'regression'")
    page.click("#datasets button[data-dataset=multigauss]")
    wait_for(page, "window.playground.config.dataset === 'multigauss'")
    page.select_option("#problem", "classification")
    page.click("#datasets button[data-dataset=spiral]")
    wait_for(page, "window.playground.config.dataset === 'spiral'")
    page.fill("#num_classes", "4")
    page.dispatch_event("#num_classes", "change")
    wait_for(page, "window.playground.frame.weights.slice(-1)[0].length === 4")
    wait_for(page, "window.playground.data.num_classes === 4")
