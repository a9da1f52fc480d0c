"""The explainer inline in Jupyter: a small notebook executed by nbclient, exported by nbconvert.

The notebook's outputs must hold the stepper (``text/html``) and the drawing
(``image/svg+xml``) of a trace and of a tensor's graph; the exported HTML page must step
through both steppers in Chromium, each on its own, without loading anything. With
``CHAINRULE_SCREENSHOTS=DIR`` the page is saved as ``DIR/explain-notebook.png`` (that is
how ``docs/img/explain-notebook.png`` is made).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import example, to_inline_html

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = os.environ.get("CHAINRULE_SCREENSHOTS")

CELLS = [
    "import chainrule as cr\nfrom chainrule.explain import example",
    "x = cr.tensor(-2.0, dtype='float64', requires_grad=True); x.name = 'x'\n"
    "y = cr.tensor(5.0, dtype='float64', requires_grad=True); y.name = 'y'\n"
    "z = cr.tensor(-4.0, dtype='float64', requires_grad=True); z.name = 'z'\n"
    "f = (x + y) * z; f.name = 'f'\n"
    "f.graph(title='f = (x + y) z')",
    "example('sigmoid-neuron')",
]


def test_a_trace_and_a_tensors_graph_have_inline_representations() -> None:
    x = cr.tensor(3.0, dtype="float64", requires_grad=True)
    f = cr.exp(x) * 2
    t = f.graph()
    html, svg = t._repr_html_(), t._repr_svg_()
    assert '<div class="cr-stepper"' in html and "<svg" in html and "<script>" in html
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", html)
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert float(t["x1"].grad) == pytest.approx(2 * np.exp(3.0), rel=1e-12)


def test_two_inline_steppers_never_share_an_id() -> None:
    tr = example("simple")
    ids = [re.findall(r'\bid="([^"]+)"', to_inline_html(tr)) for _ in range(2)]
    assert ids[0] and not set(ids[0]) & set(ids[1])
    assert 'id="steps-data"' not in to_inline_html(tr)   # the standalone page's ids stay out
    assert len(ids[0]) == len(set(ids[0]))


def test_the_graph_hook_is_lazy_and_tensors_keep_their_repr() -> None:
    code = ("import sys, chainrule as cr\n"
            "x = cr.tensor(2.0, requires_grad=True); f = x * x\n"
            "assert 'chainrule.explain' not in sys.modules, 'imported early'\n"
            "assert not hasattr(f, '_repr_html_') and repr(f).startswith('tensor(')\n"
            "f.graph(); assert 'chainrule.explain' in sys.modules\n")
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert not hasattr(cr.Tensor, "__dict__") or "graph" in cr.Tensor.__dict__
    assert "__dict__" not in cr.Tensor.__slots__


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat")
    nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient")
    pytest.importorskip("ipykernel", reason="notebook tests need ipykernel")
    nbconvert = pytest.importorskip("nbconvert", reason="notebook tests need nbconvert")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    workdir = tmp_path_factory.mktemp("notebook")
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}}).execute()
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    return nb, body


def test_the_notebook_outputs_hold_the_stepper_and_the_drawing(executed) -> None:
    nb, _ = executed
    for cell in nb.cells[1:]:
        (output,) = cell.outputs
        assert output.output_type == "execute_result"
        html = output.data["text/html"]
        assert '<div class="cr-stepper"' in html and "chainruleStepper" in html
        assert "<svg" in output.data["image/svg+xml"]
    graph_html = nb.cells[1].outputs[0].data["text/html"]
    assert "f = (x + y) z" in graph_html and "-12.00" in graph_html
    assert "0.73" in nb.cells[2].outputs[0].data["text/html"]


def test_the_exported_page_keeps_both_steppers_with_their_scripts(executed) -> None:
    _, body = executed
    assert body.count('<div class="cr-stepper"') == 2
    assert body.count("chainruleStepper(document.getElementById(") == 2


@pytest.mark.browser
def test_each_stepper_steps_on_its_own_in_the_exported_page(executed, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    _, body = executed
    page_path = tmp_path / "notebook.html"
    page_path.write_text(body, encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        # nbconvert's template links MathJax and fonts from the web: offline, they are cut off.
        page.route(re.compile(r"^https?://"), lambda route: route.abort())
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        steppers = page.locator(".cr-stepper")
        assert steppers.count() == 2
        first, second = steppers.nth(0), steppers.nth(1)
        assert first.get_attribute("data-step") == "0" == second.get_attribute("data-step")
        for _ in range(3):
            first.locator(".cr-next").click()
        assert first.get_attribute("data-step") == "3"
        assert second.get_attribute("data-step") == "0"
        second.locator(".cr-last").click()
        assert "backward step" in second.locator(".cr-title").inner_text()
        second.focus()
        page.keyboard.press("Home")
        assert second.get_attribute("data-step") == "0"
        assert first.get_attribute("data-step") == "3"
        second.locator(".cr-toggle-local").check()
        assert second.locator("svg.cr-full").is_visible()
        assert not first.locator("svg.cr-full").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1100                                   # the graphs fit the page
        if SHOTS:  # the first at its end, the second in the middle of the backward pass
            first.locator(".cr-last").click()
            for _ in range(16):
                second.locator(".cr-next").click()
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            second.scroll_into_view_if_needed()
            page.screenshot(path=str(Path(SHOTS) / "explain-notebook.png"), full_page=True)
        browser.close()
    assert errors == []
