"""``chainrule explain`` run in-process: tables, pictures, examples, Jacobians, models, refusals."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.atomic import write_text as write_atomic
from chainrule.cli import COMMANDS, main
from chainrule.cli.explain import EXAMPLE_NAMES


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_is_registered() -> None:
    assert "explain" in COMMANDS


def test_simple_expression_prints_forward_and_backward(capsys, tmp_path: Path) -> None:
    svg, html = tmp_path / "g.svg", tmp_path / "sub" / "g.html"
    code, out, err = run(capsys, "(x + y) * z", "--values", "x=-2", "y=5", "z=-4",
                         "--svg", str(svg), "--html", str(html))
    assert code == 0, err
    assert "forward pass:" in out and "backward pass" in out
    assert "-12.00" in out and "3.00" in out
    assert "dL/dx = -4.00" in out and "dL/dy = -4.00" in out and "dL/dz = 3.00" in out
    assert "mul gate: swap multiplier" in out and "add gate: gradient distributor" in out
    ET.parse(svg)
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert not list(tmp_path.rglob("*.tmp"))


def test_check_prints_the_gradient_check_and_draws_it_with_local_gradients(
        capsys, tmp_path: Path) -> None:
    svg = tmp_path / "g.svg"
    code, out, err = run(capsys, "--example", "simple", "--check", "--local", "--svg", str(svg))
    assert code == 0, err
    assert "gradient check (analytic vs numerical" in out
    rows = [line.split() for line in out.splitlines() if line.endswith("\u2713 ok")]
    assert [r[0] for r in rows] == ["x", "y", "q", "z", "f"]
    drawing = svg.read_text()
    assert "= 1.00 \u00d7 -4.00" in drawing and "num \u2713" in drawing
    code, out, _ = run(capsys, "--example", "simple", "--svg", str(svg))
    assert "gradient check" not in out and "num \u2713" not in svg.read_text()


def test_dead_units_and_vanishing_gradients_are_named(capsys) -> None:
    code, out, _ = run(capsys, "sum(relu(x))", "--values", "x=[-1,-2]")
    assert code == 0
    assert "where the gradient dies:" in out and "dead: dead relu" in out
    code, out, _ = run(capsys, "sigmoid(w * x)", "--values", "w=10", "x=2")
    assert "vanishing: sigmoid (f) is saturated" in out
    code, out, _ = run(capsys, "(x + y) * z", "--values", "x=-2", "y=5", "z=-4")
    assert "where the gradient dies" not in out


def test_vectorized_expression(capsys) -> None:
    code, out, err = run(capsys, "sum((W @ x) ** 2)", "--values", "W=[[0.1,0.5],[-0.3,0.8]]",
                         "x=[0.2,0.4]", "--precision", "3")
    assert code == 0, err
    assert "[0.220, 0.260]" in out
    assert "dL/dW = [[0.088, 0.176], [0.104, 0.208]]" in out
    assert "dL/dx = [-0.112, 0.636]" in out


def test_sigmoid_neuron_at_full_precision(capsys) -> None:
    code, out, _ = run(capsys, "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", "--values", "w0=2",
                       "x0=-1", "w1=-3", "x1=-2", "w2=-3", "--precision", "5")
    assert code == 0
    for name, want in (("w0", "-0.19661"), ("x0", "0.39322"), ("w1", "-0.39322"),
                       ("x1", "-0.58984"), ("w2", "0.19661")):
        assert f"dL/d{name} = {want}" in out


def test_upstream_option(capsys) -> None:
    code, out, _ = run(capsys, "relu(x)", "--values", "x=[1,-2,3,-1]", "--upstream",
                       "[4,-1,5,9]")
    assert code == 0 and "dL/dx = [4.00, 0.00, 5.00, 0.00]" in out


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example(capsys, name: str, tmp_path: Path) -> None:
    svg = tmp_path / f"{name}.svg"
    code, out, err = run(capsys, "--example", name, "--svg", str(svg), "--layout", "layered")
    assert code == 0, err
    assert out.startswith(f"example {name}:")
    ET.parse(svg)
    if name == "sigmoid-neuron":
        for number in ("0.73", "-0.20", "0.39", "-0.39", "-0.59", "0.20"):
            assert number in out
    if name == "vectorized-norm":
        assert "[-0.112, 0.636]" in out


def test_jacobian_of_relu(capsys) -> None:
    code, out, err = run(capsys, "--jacobian", "relu", "--values", "x=[1,-2,3,-1]",
                         "--upstream", "[4,-1,5,9]")
    assert code == 0, err
    assert "explicit Jacobian dz/dx (4 x 4, 2 of 16 entries non-zero)" in out
    assert "[[1.00 0.00 0.00 0.00]" in out
    assert "explicit product  dL/dx = (dL/dz) J = [4.00, 0.00, 5.00, 0.00]" in out
    assert "implicit product  dL/dx = backward(upstream) = [4.00, 0.00, 5.00, 0.00]" in out
    assert "diagonal" in out


def test_jacobian_of_an_expression(capsys) -> None:
    code, out, err = run(capsys, "--jacobian", "x * x + sum(x)", "--values", "x=[1,2]")
    assert code == 0, err
    assert "[[3.00 1.00]" in out and " [1.00 5.00]]" in out


@pytest.mark.parametrize("expr", ["__import__('os')", "x.real", "(lambda: x)()", "x[0]"])
def test_unsafe_expressions_are_refused(capsys, expr: str) -> None:
    code, out, err = run(capsys, expr, "--values", "x=1")
    assert code == 1 and out == ""
    assert "refused expression" in err and "not allowed" in err
    assert "Traceback" not in err


def test_usage_errors_are_one_line(capsys) -> None:
    code, _, err = run(capsys)
    assert code == 1 and "give exactly one of" in err
    code, _, err = run(capsys, "x", "--example", "simple")
    assert code == 1 and "got an expression, --example" in err
    code, _, err = run(capsys, "x + y", "--values", "x=1")
    assert code == 1 and "no value given for y" in err
    code, _, err = run(capsys, "--jacobian", "relu", "--values", "x=1", "y=2")
    assert code == 1 and "exactly one value" in err


def test_model_run(capsys, tmp_path: Path) -> None:
    train = pytest.importorskip("chainrule.train")
    if not hasattr(train, "save_checkpoint"):
        pytest.skip("chainrule.train.save_checkpoint is not available")
    cr.manual_seed(0)
    model = cr.nn.MLP(6, [5], 3)
    train.save_checkpoint(tmp_path / "run", model, class_names=["cat", "dog", "ship"])
    feats = tmp_path / "x.npy"
    np.save(feats, np.linspace(-1, 1, 6))
    html = tmp_path / "model.html"
    code, out, err = run(capsys, "--model", str(tmp_path / "run"), "--input", str(feats),
                         "--label", "dog", "--html", str(html))
    assert code == 0, err
    assert "label: 1 (dog)" in out and "loss = " in out
    assert "0.weight" in out and "2.bias" in out and "||gradient||" in out
    assert "(5, 6)" in out
    # The printed gradient norm is the one the engine's own backward gives.
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(1, 6).astype(np.float32))
    loss = cr.functional.cross_entropy(model(x), np.array([1]))
    loss.backward()
    w = dict(model.named_parameters())["0.weight"]
    assert f"{float(np.linalg.norm(w.grad)):.4g}" in out
    assert html.exists()
    code, _, err = run(capsys, "--model", str(tmp_path / "run"), "--label", "horse")
    assert code == 1 and "no class named 'horse'" in err


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "a.svg"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.svg"]


def test_model_run_on_an_image(capsys, tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    data = pytest.importorskip("chainrule.data")
    train = pytest.importorskip("chainrule.train")
    imgs = np.random.default_rng(0).integers(0, 255, (10, 4, 4, 1)).astype(np.uint8)
    st = data.Standardizer().fit(data.images_to_features(imgs))
    cr.manual_seed(0)
    train.save_checkpoint(tmp_path / "run", cr.nn.MLP(16, [5], 2), normalization=st,
                          image_shape=(4, 4, 1), class_names=["a", "b"],
                          config={"features": "pixels"})
    pil.fromarray(imgs[0, :, :, 0]).save(tmp_path / "img.png")
    code, out, err = run(capsys, "--model", str(tmp_path / "run"), "--image",
                         str(tmp_path / "img.png"), "--label", "1")
    assert code == 0, err
    assert f"input: image {tmp_path / 'img.png'}" in out
    assert "label: 1 (b)" in out and "(1, 16)" in out
