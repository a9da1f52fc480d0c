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
