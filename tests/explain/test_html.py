"""The explainer's HTML page: self-contained, and it steps through every node in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chainrule.explain import to_html
from chainrule.explain.examples import example
from chainrule.explain.html import html_steps

CHROMIUM = Path("/usr/bin/chromium")


def test_page_is_self_contained() -> None:
    page = to_html(example("sigmoid-neuron"))
    assert page.startswith("<!DOCTYPE html>")
    # No external resource of any kind: the only URL is the SVG namespace.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert "<svg" in page and "<style>" in page and "<script>" in page


def test_steps_go_forward_over_every_node_then_backward_over_every_gate() -> None:
    tr = example("sigmoid-neuron")
    steps = html_steps(tr)
    forward = [s for s in steps if s["phase"] == "forward"]
    backward = [s for s in steps if s["phase"] == "backward"]
    assert [s["node"] for s in forward] == [n.id for n in tr.nodes]
    assert len(backward) == len(tr.steps) + 1
    assert backward[0]["title"].startswith("backward starts")
    assert any("0.73" in line for s in forward for line in s["lines"])
    assert any("exp gate: output multiplier" in s["lines"] for s in backward)
    page = to_html(tr)
    data = re.search(r'<script type="application/json" id="steps-data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1)) == steps


def test_script_tags_in_names_cannot_break_out_of_the_page() -> None:
    import chainrule as cr
    from chainrule.explain import trace

    x = cr.tensor(1.0, dtype="float64", requires_grad=True)
    x.name = "</script><b>"
    page = to_html(trace(x * 2))
    assert "</script><b>" not in page


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: the page cannot be tested in a browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def _open(browser, tmp_path: Path, name: str):
    tr = example(name)
    path = tmp_path / f"{name}.html"
    path.write_text(to_html(tr), encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith("file:") else None)
    page.goto(path.as_uri())
    return tr, page, errors, requests


def _current_node(page) -> str:
    return page.evaluate("document.querySelector('svg .current[id^=node-]')?.id ?? ''")


def _hidden(page) -> int:
    return page.evaluate("document.querySelectorAll('svg .hidden').length")


@pytest.mark.browser
@pytest.mark.parametrize("name", ["sigmoid-neuron", "gates"])
def test_buttons_step_through_all_nodes(browser, tmp_path: Path, name: str) -> None:
    tr, page, errors, requests = _open(browser, tmp_path, name)
    steps = html_steps(tr)
    total = len(steps)
    assert page.inner_text("#counter") == f"step 1 / {total}"
    assert page.is_disabled("#prev")
    hidden_at_start = _hidden(page)
    assert hidden_at_start > 0                       # gradients are not shown before backward
    seen = set()
    for i in range(total):
        assert page.get_attribute("body", "data-step") == str(i)
        assert page.get_attribute("body", "data-node") == str(steps[i]["node"])
        if i < total - 1:
            current = _current_node(page)
            if current:
                seen.add(int(current.split("-")[1]))
            page.click("#next")
    assert page.is_disabled("#next")
    assert page.inner_text("#counter") == f"step {total} / {total}"
    assert _hidden(page) == 0                        # everything revealed at the end
    assert {n.id for n in tr.nodes if n.kind == "op"} <= seen
    page.click("#prev")
    assert page.get_attribute("body", "data-step") == str(total - 2)
    page.click("#first")
    assert page.get_attribute("body", "data-step") == "0"
    assert errors == [] and requests == []
    page.close()


@pytest.mark.browser
def test_arrow_keys_step_forward_and_back(browser, tmp_path: Path) -> None:
    tr, page, errors, _ = _open(browser, tmp_path, "simple")
    total = len(html_steps(tr))
    for i in range(1, total):
        page.keyboard.press("ArrowRight")
        assert page.get_attribute("body", "data-step") == str(i)
    page.keyboard.press("ArrowRight")                # stays on the last step
    assert page.get_attribute("body", "data-step") == str(total - 1)
    assert "backward step" in page.inner_text("#title")
    assert "add gate: gradient distributor" in page.inner_text("#lines")
    for i in range(total - 2, -1, -1):
        page.keyboard.press("ArrowLeft")
        assert page.get_attribute("body", "data-step") == str(i)
    assert page.inner_text("#title").startswith("forward")
    page.keyboard.press("End")
    assert page.get_attribute("body", "data-step") == str(total - 1)
    assert errors == []
    page.close()


def test_small_matrices_are_written_whole_in_the_side_panel() -> None:
    tr = example("matmul")
    text = "\n".join(line for s in html_steps(tr) for line in s["lines"])
    grad_w = tr["w"].grad                       # 3x4: the panel used to abbreviate it
    assert grad_w.shape == (3, 4)
    for row in grad_w:
        assert ", ".join(f"{v:6.2f}" for v in row).strip() in text.replace("[", "").replace(
            "]", ""), row
    assert "min" not in text                    # nothing summarised as "(3, 4) [...] min max"


def test_each_backward_step_gives_the_gradient_checks_it_completes() -> None:
    steps = html_steps(example("simple"))
    checks = [line for s in steps for line in s["lines"] if line.startswith("gradient check")]
    assert len(checks) == 5
    assert all(line.endswith("\u2713 ok") for line in checks)
    assert not any(line.startswith("gradient check") for s in html_steps(
        example("simple"), checks=False) for line in s["lines"])


@pytest.mark.browser
def test_the_sigmoid_neuron_fits_1300_pixels(browser, tmp_path: Path) -> None:
    _, page, errors, _ = _open(browser, tmp_path, "sigmoid-neuron")
    page.set_viewport_size({"width": 1300, "height": 800})
    for box in ([], [".cr-toggle-local"], [".cr-toggle-local", ".cr-toggle-check"]):
        for selector in box:
            page.check(selector)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1300
        graph = page.evaluate("(() => { const g = document.querySelector('.cr-graph'); "
                              "return [g.scrollWidth, g.clientWidth]; })()")
        assert graph[0] <= graph[1] + 1, (box, graph)    # no scrolling, no cut labels
    assert errors == []
    page.close()


@pytest.mark.browser
def test_the_boxes_show_local_gradients_and_checks_on_the_drawing(browser, tmp_path: Path
                                                                   ) -> None:
    _, page, errors, _ = _open(browser, tmp_path, "simple")
    page.keyboard.press("End")
    full = page.locator("svg.cr-full")
    assert not full.is_visible()
    page.check(".cr-toggle-local")
    assert full.is_visible() and not page.locator("svg:not(.cr-full)").is_visible()
    assert full.locator(".local").first.is_visible()
    assert not full.locator(".check").first.is_visible()
    page.check(".cr-toggle-check")
    assert full.locator(".check").first.is_visible()
    page.uncheck(".cr-toggle-local")
    assert not full.locator(".local").first.is_visible()
    page.uncheck(".cr-toggle-check")
    assert not full.is_visible()
    assert "gradient check of dL/dx: analytic -4.00, numerical -4.00" in page.inner_text("#lines")
    assert errors == []
    page.close()
