"""The playground page as a class uses it: every action in mixed orders, the typed network
definition, the layout at 1280x720 and 1920x1080, and toasts that do not outstay their news.

Each action is done the way a user does it (clicks, shift-clicks, the keyboard), and after
each one the page must still train: a new frame arrives, and one more epoch can be trained.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.playground.pages import CHROMIUM, SHOTS, epoch, open_page, shot, sync, until, wait_for

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(f"browser tests need the system Chromium at {CHROMIUM} (not installed)",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
pytest.importorskip("uvicorn", reason="browser tests need uvicorn")

CONVNETJS = """layer_defs = [];
layer_defs.push({type:'input', out_sx:1, out_sy:1, out_depth:2});
layer_defs.push({type:'fc', num_neurons:6, activation:'prelu'});
layer_defs.push({type:'fc', num_neurons:3, activation:'maxout'});
layer_defs.push({type:'softmax', num_classes:2});"""


# ------------------------------------------------------------------------- the actions
def frames(pg: Any) -> int:
    return pg.evaluate("window.playground.frames")


def points(pg: Any) -> int:
    return pg.evaluate("window.playground.data.x.length")


def playing(pg: Any) -> bool:
    return pg.evaluate("window.playground.playing")


def add(pg: Any, rng: random.Random) -> None:
    before = points(pg)
    x, y = rng.randint(12, 60), rng.randint(240, 288)   # the bottom-left corner: no data there
    pg.click("#points", position={"x": x, "y": y})
    wait_for(pg, f"window.playground.data.x.length === {before + 1}")
    pg.evaluate(f"window.playground.lastAdded = [{x}, {y}]")


def remove(pg: Any, rng: random.Random) -> None:
    where = pg.evaluate("window.playground.lastAdded || null")
    if where is None:
        add(pg, rng)
        where = pg.evaluate("window.playground.lastAdded")
    before = points(pg)
    pg.click("#points", position={"x": where[0], "y": where[1]}, modifiers=["Shift"])
    wait_for(pg, f"window.playground.data.x.length === {before - 1}")
    pg.evaluate("window.playground.lastAdded = null")


def regenerate(pg: Any, rng: random.Random) -> None:
    seed = pg.evaluate("window.playground.config.seed")
    pg.click("#regenerate")
    wait_for(pg, f"window.playground.config.seed !== {seed}")
    pg.evaluate("window.playground.lastAdded = null")   # the points are new


def features(pg: Any, rng: random.Random) -> None:
    name = rng.choice(["x1sq", "x2sq", "x1x2", "sinx1", "r"])
    on = pg.evaluate(f"window.playground.config.features.includes('{name}')")
    pg.click(f"#feature-{name}")
    wait_for(pg, f"window.playground.config.features.includes('{name}') === {str(not on).lower()}")


def play(pg: Any, rng: random.Random) -> None:
    if not playing(pg):
        pg.click("#play")
        wait_for(pg, "window.playground.playing")
    start = epoch(pg)
    until(lambda: epoch(pg) >= start + 3, timeout=20)


def pause(pg: Any, rng: random.Random) -> None:
    if playing(pg):
        pg.click("#play")
        wait_for(pg, "!window.playground.playing")
        settle(pg)


def settle(pg: Any, quiet: float = 0.4, timeout: float = 10.0) -> None:
    """Wait until no frame has come for ``quiet`` seconds (one may be on its way at a pause)."""
    deadline = time.monotonic() + timeout
    seen, since = frames(pg), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = frames(pg)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("frames kept coming after the pause")


def step(pg: Any, rng: random.Random) -> None:
    pause(pg, rng)
    sync(pg)
    start = epoch(pg)
    pg.click("#step")
    until(lambda: epoch(pg) == start + 1)


def reset(pg: Any, rng: random.Random) -> None:
    pause(pg, rng)
    pg.click("#step")
    until(lambda: epoch(pg) > 0)
    pg.click("#reset")
    until(lambda: epoch(pg) == 0)


def layers(pg: Any, rng: random.Random) -> None:
    n = pg.evaluate("window.playground.config.hidden.length")
    button = "#remove-layer" if n >= 4 or (n > 0 and rng.random() < 0.5) else "#add-layer"
    pg.click(button)
    wait_for(pg, f"window.playground.config.hidden.length !== {n}")


ACTIONS = {f.__name__: f for f in (add, remove, regenerate, features, play, pause, step, reset,
                                   layers)}


def still_trains(pg: Any) -> None:
    """After any action: frames keep coming, training goes on, no error was reported.

    The frame an action causes (a new network after a feature or a layer changed) may still
    be on its way when the action's own reply has come: ``sync`` waits for it, else a late
    epoch-0 frame would land between reading the epoch and stepping."""
    sync(pg)
    seen = frames(pg)
    if playing(pg):
        until(lambda: frames(pg) >= seen + 3, timeout=20)
    else:
        start = epoch(pg)
        pg.click("#step")
        until(lambda: epoch(pg) == start + 1)
        until(lambda: frames(pg) > seen)
    assert pg.evaluate("window.playground.frame.train_loss") is not None
    status = pg.evaluate("[document.querySelector('#status').className, "
                         "document.querySelector('#status').textContent]")
    assert "error" not in status[0].split(), status


@pytest.mark.parametrize("order", [
    # the bug of the issue: one click, then play and +1 failed ("index out of bounds")
    "add play pause step remove step",
    "add add remove regenerate add step play remove add features play pause reset",
    "play add features remove layers add regenerate step reset play pause",
    "features add layers remove features step add regenerate remove play",
])
def test_every_action_in_mixed_orders_keeps_training(page, order: str) -> None:
    rng = random.Random(order)
    for name in order.split():
        ACTIONS[name](page, rng)
        still_trains(page)
    pause(page, rng)


def test_a_long_random_sequence_of_actions(page) -> None:
    rng = random.Random(15)
    names = [rng.choice(list(ACTIONS)) for _ in range(24)]
    for name in names:
        ACTIONS[name](page, rng)
        still_trains(page)
    pause(page, rng)


# ------------------------------------------------------------------------- the definition
def test_a_typed_definition_builds_prelu_and_maxout_layers_and_stays_in_the_url(
        page, browser, base_url) -> None:
    page.click("#definition-box summary")
    assert page.input_value("#definition") == "input 2\nfc 4 tanh\nfc 2 tanh\nsoftmax 2"
    page.fill("#definition", CONVNETJS)
    page.click("#definition-apply")
    wait_for(page, "JSON.stringify(window.playground.config.activation) === "
                   "'[\"prelu\",\"maxout\"]'")
    assert page.evaluate("window.playground.config.hidden") == [6, 3]
    wait_for(page, "window.playground.frame.weights.length === 3 && "
                   "window.playground.frame.weights[1].length === 6")
    assert page.input_value("#definition") == "input 2\nfc 6 prelu\nfc 3 maxout\nsoftmax 2"
    assert page.input_value("#activation") == "per-layer"
    assert page.text_content("#layer-label-1") == "3 maxout"
    # a maxout unit has two weight vectors: both pieces are drawn and editable (the events
    # go to the link itself: the curves cross, so a mouse at its centre may meet another)
    page.dispatch_event("#link-1-1-0", "mouseenter")
    assert page.text_content("#tooltip").endswith("(piece 2 of 2)")
    page.dispatch_event("#link-1-1-0", "click")
    page.fill("#editor-value", "0.75")
    page.press("#editor-value", "Enter")
    wait_for(page, "window.playground.frame.weights[1][1][0] === 0.75")
    assert page.locator("#neuron-1-0 .bias").count() == 2
    for _ in range(3):
        still_trains(page)
    assert "activation=prelu,maxout" in page.url and "hidden=6,3" in page.url
    other = browser.new_context().new_page()
    try:
        other.goto(page.url)
        wait_for(other, "window.playground && window.playground.config && "
                        "window.playground.config.hidden[0] === 6")   # not the default 4, 2
        assert other.evaluate("window.playground.config.activation") == ["prelu", "maxout"]
    finally:
        other.context.close()
    shot(page, "definition", selector="#net-col")


def test_a_definition_with_a_mistake_is_refused_with_one_line(page) -> None:
    page.click("#definition-box summary")
    page.fill("#definition", "input 2\nfc 6 relu\nfc 12 tanh\nsoftmax 2")
    page.press("#definition", "Control+Enter")
    wait_for(page, "document.querySelector('#definition-error').textContent !== ''")
    error = page.text_content("#definition-error")
    assert error == "network line 3: num_neurons 12 is outside [1, 8]"
    assert page.evaluate("window.playground.config.hidden") == [4, 2]
    assert "error" not in page.evaluate("document.querySelector('#status').className")
    page.fill("#definition", "fc 6 swish")
    page.click("#definition-apply")
    wait_for(page, "document.querySelector('#definition-error').textContent.includes('swish')")
    page.click("#definition-reset")
    assert page.input_value("#definition").startswith("input 2\nfc 4 tanh")
    assert page.text_content("#definition-error") == ""
    page.fill("#definition", "fc 3 relu")
    page.click("#definition-apply")
    wait_for(page, "window.playground.config.hidden.length === 1")
    assert page.text_content("#definition-error") == ""
    still_trains(page)


def test_the_activation_menu_offers_prelu_and_maxout(page) -> None:
    page.select_option("#activation", "maxout")
    wait_for(page, "window.playground.config.activation === 'maxout'")
    wait_for(page, "window.playground.frame.weights[0].length === 8")   # 4 units x 2 pieces
    page.select_option("#activation", "prelu")
    wait_for(page, "window.playground.config.activation === 'prelu'")
    still_trains(page)


def test_the_two_spirals(page) -> None:
    page.click("#datasets button[data-dataset=spiral]")
    wait_for(page, "window.playground.config.dataset === 'spiral'")
    page.click("#datasets button[data-dataset=cs231n_spiral]")
    wait_for(page, "window.playground.config.dataset === 'cs231n_spiral'")
    assert page.text_content("#datasets button[data-dataset=cs231n_spiral]") == "Spiral (CS231n)"
    still_trains(page)


# ------------------------------------------------------------------------- layout and toasts
@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_layout_at_common_screen_sizes(browser, base_url, width: int, height: int) -> None:
    url = base_url + "/#hidden=8,8,8,8,8,8&activation=relu&features=x1,x2,r"
    with open_page(browser, url, width, height) as pg:
        wait_for(pg, "window.playground.config.hidden.length === 6")
        wait_for(pg, "window.playground.frame.weights.length === 7")
        tops = pg.evaluate("[...document.querySelectorAll('#topbar > *')].map(e => e.offsetTop)")
        rights = pg.evaluate("[...document.querySelectorAll('#topbar > *')]"
                             ".map(e => e.getBoundingClientRect().right)")
        assert max(tops) - min(tops) <= 14, tops           # one row: nothing wrapped
        assert max(rights) <= width
        box = pg.evaluate("(() => { const b = document.querySelector('#network-box'); "
                          "return [b.scrollWidth, b.clientWidth]; })()")
        assert box[0] <= box[1], box                       # the 6-layer net fits its column
        assert pg.evaluate("document.documentElement.scrollWidth") <= width
        output = pg.evaluate("document.querySelector('#out-col').getBoundingClientRect().right")
        assert output <= width
        pg.click("#play")
        until(lambda: epoch(pg) >= (200 if SHOTS else 5), timeout=90)
        pg.click("#play")
        wait_for(pg, "!window.playground.playing")
        shot(pg, f"{width}x{height}")


def test_an_error_toast_goes_at_the_next_action(page, tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x1,x2,label\n1,2,0\n100,2,1\n")
    page.set_input_files("#csv", str(path))
    wait_for(page, "document.querySelector('#status').className === 'error'")
    assert "csv line 3" in page.text_content("#status")
    page.click("#step")                                    # a later action that succeeds
    wait_for(page, "document.querySelector('#status').classList.contains('hidden')")
    page.click("#share")
    wait_for(page, "document.querySelector('#status').className === 'note'")
    wait_for(page, "document.querySelector('#status').classList.contains('hidden')", timeout=8)
