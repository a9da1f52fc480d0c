"""The explainer's expression language: parsed with ast, a whitelist, never eval."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from chainrule.explain import ExplainError, evaluate, parse, parse_values, trace
from chainrule.explain.expr import parse_value, variables


@pytest.mark.parametrize(("expr", "what"), [
    ("__import__('os')", "'__import__'"),
    ("__import__('os').system('true')", "attribute access"),
    ("x.real", "attribute access"),
    ("x.__class__", "attribute access"),
    ("lambda: 1", "lambdas"),
    ("(lambda: 1)()", "lambdas"),
    ("x[0]", "subscripts"),
    ("[a for a in x]", "comprehensions"),
    ("(a for a in x)", "comprehensions"),
    ("'text'", "constant"),
    ("x if x else 1", "conditional"),
    ("x < 1", "comparisons"),
    ("x and 1", "boolean"),
    ("open('f')", "'open'"),
    ("exp(x, y=1)", "keyword"),
    ("__builtins__", "names starting with _"),
    ("x // 2", "FloorDiv"),
    ("~x", "Invert"),
    ("[1, 2]", "list literals"),
    ("(x := 1)", "assignment"),
])
def test_unsafe_or_unknown_syntax_is_refused(expr: str, what: str) -> None:
    with pytest.raises(ExplainError, match="refused expression") as info:
        parse(expr)
    assert what in str(info.value)
    assert "not allowed" in str(info.value)


def test_statements_and_garbage_do_not_parse() -> None:
    for expr in ("import os", "x = 1", "x +", ""):
        with pytest.raises(ExplainError):
            parse(expr)
    with pytest.raises(ExplainError, match="longer than"):
        parse("x+" * 2000 + "x")


def test_eval_is_never_called(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    f = evaluate("sigmoid(w * x + b) + max(x, 0) - min(w) + mean(x) * dot(x, x) / sqrt(4)",
                 {"w": [1.0, 2.0], "x": [0.5, -1.0], "b": 0.1})
    assert np.isfinite(f.data).all()
    parse_values(["x=[1,2]"])


def test_the_whitelisted_functions_compute_what_they_say() -> None:
    vals = {"x": np.array([1.0, -2.0, 3.0]), "y": np.array([0.5, 0.5, 5.0])}
    cases = {
        "exp(x)": np.exp(vals["x"]), "log(y)": np.log(vals["y"]), "sqrt(y)": np.sqrt(vals["y"]),
        "tanh(x)": np.tanh(vals["x"]), "relu(x)": np.maximum(vals["x"], 0),
        "sigmoid(x)": 1 / (1 + np.exp(-vals["x"])), "max(x, y)": np.maximum(vals["x"], vals["y"]),
        "min(x, y)": np.minimum(vals["x"], vals["y"]), "x @ y": vals["x"] @ vals["y"],
        "dot(x, y)": vals["x"] @ vals["y"], "2 ** x": 2.0 ** vals["x"], "-x / 2": -vals["x"] / 2,
    }
    for expr, want in cases.items():
        used = {k: v for k, v in vals.items() if k in variables(expr)}
        np.testing.assert_allclose(evaluate(expr, used).data, want, err_msg=expr)
    assert float(evaluate("max(x)", {"x": vals["x"]}).data) == 3.0
    assert float(evaluate("min(x)", {"x": vals["x"]}).data) == -2.0
    assert float(evaluate("sum(x) + mean(x)", {"x": vals["x"]}).data) == pytest.approx(2 + 2 / 3)


def test_inputs_are_named_float64_leaves() -> None:
    f = evaluate("(x + y) * z", {"x": -2, "y": 5, "z": -4})
    assert f.dtype == np.float64 and f.name == "f" and float(f.data) == -12.0
    tr = trace(f)
    assert [n.name for n in tr.inputs] == ["x", "y", "z"]


def test_constants_fold_into_gates() -> None:
    f = evaluate("1 / (1 + exp(-x)) * exp(0) * (2 + 3)", {"x": 0.0})
    tr = trace(f)
    labels = [n.label for n in tr.gates]
    assert "+1" in labels and "1/x" in labels and "*-1" in labels and "*5" in labels


def test_values_parse_numbers_and_nested_lists() -> None:
    vals = parse_values(["x=-2", "W=[[0.1,0.5],[-0.3,0.8]]", "b = 1e-3"])
    assert vals["x"].shape == () and vals["W"].shape == (2, 2) and vals["b"] == 1e-3
    for bad in ("x", "=1", "x=abc", "x=[1,[2]]", "x=__import__('os')", "_x=1", "x={1: 2}"):
        with pytest.raises(ExplainError):
            parse_values([bad])
    with pytest.raises(ExplainError):
        parse_value("'a'")


def test_missing_and_unused_values_are_named() -> None:
    with pytest.raises(ExplainError, match="no value given for y"):
        evaluate("x + y", {"x": 1.0})
    with pytest.raises(ExplainError, match="z given a value but not used"):
        evaluate("x", {"x": 1.0, "z": 2.0})
    with pytest.raises(ExplainError, match="uses no variable"):
        evaluate("1 + 2", {})
    with pytest.raises(ExplainError, match="takes 1 argument"):
        parse("exp(x, x)")
