"""The explainer's SVG: plain XML, the lecture's numbers, a readable layout with or without dot."""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ExplainError, evaluate, to_svg, trace
from chainrule.explain import layout as layout_mod
from chainrule.explain import svg as svg_mod
from chainrule.explain.examples import example

NS = "{http://www.w3.org/2000/svg}"
HAVE_DOT = shutil.which("dot") is not None


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{NS}svg"
    return [el.text or "" for el in root.iter(f"{NS}text")]


def bwd_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return [t.text or "" for g in root.iter(f"{NS}g") if g.get("class") == "bwd"
            for t in g.iter(f"{NS}text")]


@pytest.mark.parametrize("engine", ["layered", pytest.param("dot", marks=pytest.mark.skipif(
    not HAVE_DOT, reason="Graphviz dot is not installed"))])
def test_sigmoid_neuron_svg_has_the_lecture_numbers(engine: str) -> None:
    svg = to_svg(example("sigmoid-neuron"), engine=engine)
    words = texts(svg)
    for number in ("-2.00", "6.00", "4.00", "1.00", "-1.00", "0.37", "1.37", "0.73"):
        assert number in words, number
    grads = bwd_texts(svg)
    for number in ("-0.20", "0.39", "-0.39", "-0.59", "0.20", "-0.53", "1.00"):
        assert number in grads, number
    for label in ("*", "+", "*-1", "exp", "+1", "1/x", "w0", "x1", "f"):
        assert label in words, label


def test_values_above_and_gradients_below_each_wire_in_two_colours() -> None:
    svg = to_svg(example("simple"), engine="layered")
    root = ET.fromstring(svg.encode())
    lines = {ln.get("class").split()[-1]: float(ln.get("y1")) for ln in root.iter(f"{NS}line")}
    for g in root.iter(f"{NS}g"):
        cls = g.get("class")
        if cls not in ("fwd", "bwd"):
            continue
        wire_y = lines[f"wire-w{g.get('data-wire')}"]
        for t in g.iter(f"{NS}text"):
            y = float(t.get("y"))
            assert (y < wire_y) if cls == "fwd" else (y > wire_y)
            assert t.get("fill") == (svg_mod.FORWARD_COLOR if cls == "fwd"
                                     else svg_mod.GRADIENT_COLOR)


def test_vectorized_example_shows_vectors_and_matrices() -> None:
    words = texts(to_svg(example("vectorized-norm"), precision=3))
    assert "[0.220, 0.260]" in words
    assert "[0.088, 0.176]" in words and "[0.104, 0.208]" in words
    assert "[-0.112, 0.636]" in words


def test_big_tensors_become_heat_maps() -> None:
    rng = np.random.default_rng(0)
    f = evaluate("sum(relu(W @ x))", {"W": rng.normal(size=(50, 40)), "x": rng.normal(size=40)})
    svg = to_svg(trace(f), engine="layered")
    root = ET.fromstring(svg.encode())
    cells = [r for r in root.iter(f"{NS}rect") if r.get("width") == str(svg_mod.CELL)]
    assert len(cells) > 100
    assert any(t.startswith("(50, 40)") for t in texts(svg))


def test_structure_style_and_bad_arguments() -> None:
    tr = example("simple")
    words = texts(to_svg(tr, style="structure", engine="layered"))
    assert "+" in words and "-4.00" not in words
    with pytest.raises(ExplainError, match="style"):
        to_svg(tr, style="fancy")
    with pytest.raises(ExplainError, match="engine"):
        to_svg(tr, engine="neato")


def test_falls_back_to_the_layered_layout_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_mod.shutil, "which", lambda name: None)
    tr = example("sigmoid-neuron")
    assert svg_mod.layout(tr).engine == "layered"
    assert "0.73" in texts(to_svg(tr))
    with pytest.raises(ExplainError, match="not installed"):
        to_svg(tr, engine="dot")


def _overlaps(lay: svg_mod.Layout) -> int:
    boxes = [(n.x - n.width / 2, n.y - n.height / 2, n.x + n.width / 2, n.y + n.height / 2)
             for n in lay.nodes.values()]
    boxes.sort()
    count = 0
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b[0] >= a[2] - 0.5:
                break
            if b[1] < a[3] - 0.5 and a[1] < b[3] - 0.5:
                count += 1
    return count


def _wide_graph() -> cr.Tensor:
    rng = np.random.default_rng(0)
    xs = [cr.tensor(rng.normal(), dtype="float64", requires_grad=True) for _ in range(100)]
    for i, x in enumerate(xs):
        x.name = f"x{i}"
    total = None
    for i in range(0, 100, 2):
        term = cr.tanh(xs[i] * xs[i + 1] + 1.0)
        total = term if total is None else total + term
    return total


@pytest.mark.parametrize("engine", ["layered", pytest.param("dot", marks=pytest.mark.skipif(
    not HAVE_DOT, reason="Graphviz dot is not installed"))])
def test_a_few_hundred_nodes_stay_readable(engine: str) -> None:
    tr = trace(_wide_graph())
    assert len(tr.nodes) >= 290
    start = time.perf_counter()
    lay = svg_mod.layout(tr, engine=engine)
    assert time.perf_counter() - start < 20
    assert lay.engine == engine
    assert _overlaps(lay) == 0
    ET.fromstring(to_svg(tr, engine=engine).encode())


def _width(svg: str) -> float:
    return float(ET.fromstring(svg.encode()).get("width"))


def _placed_texts(svg: str) -> tuple[float, list[tuple[float, float, str]]]:
    """The drawing's width and every text's left and right edge (an estimate of its width)."""
    root = ET.fromstring(svg.encode())
    placed = []
    for child in root:
        transform = child.get("transform") or "translate(0,0)"
        shift = float(transform.split("(")[1].split(",")[0])
        for t in child.iter(f"{NS}text"):
            width = len(t.text or "") * float(t.get("font-size")) * 0.62
            x = float(t.get("x")) + shift
            left = x if t.get("text-anchor") == "start" else x - width / 2
            placed.append((left, left + width, t.text or ""))
    return float(root.get("width")), placed


@pytest.mark.parametrize("name", ["simple", "gates", "sigmoid-neuron", "matmul"])
def test_title_and_legend_fit_inside_the_drawing(name: str) -> None:
    """The legend of simple and the title of gates were cut off at the right edge."""
    tr = example(name)
    for svg in (to_svg(tr, engine="layered"), to_svg(tr, local=True, checks=True)):
        width, placed = _placed_texts(svg)
        for left, right, text in placed:
            assert left >= -1 and right <= width + 1, (name, text, left, right, width)


def test_local_gradients_and_checks_are_drawn_under_the_gradients() -> None:
    tr = example("simple")
    svg = to_svg(tr, local=True, checks=True, engine="layered")
    words = texts(svg)
    assert "= 1.00 \u00d7 -4.00" in words      # dL/dx = local 1 x upstream -4
    assert "= 3.00 \u00d7 1.00" in words       # dL/dz = local q x upstream 1
    assert "= -4.00 \u00d7 1.00" in words      # dL/dq = local z x upstream 1
    checks = [w for w in words if w.startswith("num \u2713")]
    assert len(checks) == 5                    # x, y, q, z, f
    root = ET.fromstring(svg.encode())
    classes = {g.get("class") for g in root.iter(f"{NS}g")}
    assert {"local", "check check-ok"} <= classes
    plain = texts(to_svg(tr, engine="layered"))
    assert not any(w.startswith(("= ", "num ")) for w in plain)
    assert _width(svg) >= _width(to_svg(tr, engine="layered"))


def test_local_gradients_of_tensors_are_their_numbers_or_rules() -> None:
    words = texts(to_svg(example("relu-vector"), local=True))
    assert "= [1.00, 0.00, 1.00, 0.00] \u2299 upstream" in words
    words = texts(to_svg(example("matmul"), local=True))
    assert "= upstream @ w^T" in words and "= x^T @ upstream" in words


def test_element_ids_take_a_prefix_for_pages_with_several_drawings() -> None:
    svg = to_svg(example("simple"), id_prefix="a-")
    assert 'id="a-node-0"' in svg and 'marker id="a-arrow"' in svg and 'url(#a-arrow)' in svg
    assert 'id="node-0"' not in svg
