"""The explainer's text: numbers, arrays, formulas and tables."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.explain import format_array, format_number, trace
from chainrule.explain.text import (
    check_table,
    describe,
    format_matrix,
    gradient_lines,
    table,
    trace_text,
)


def test_numbers_are_rounded_without_negative_zero() -> None:
    assert format_number(-0.001, 2) == "0.00"
    assert format_number(0.73106, 2) == "0.73"
    assert [format_number(v) for v in (np.nan, np.inf, -np.inf)] == ["nan", "inf", "-inf"]


def test_arrays_small_as_lists_large_by_shape_and_range() -> None:
    assert format_array(None) == "-"
    assert format_array(np.array(2.5)) == "2.50"
    assert format_array(np.array([[1.0, -2.0], [3.0, 0.0]]), 1) == "[[1.0, -2.0], [3.0, 0.0]]"
    big = np.arange(20.0).reshape(4, 5)
    assert format_array(big, 0) == "(4, 5) [0, 1, 2, ...] min 0 max 19"


def test_describe_writes_each_value_as_its_op_does() -> None:
    x = cr.tensor(2.0, dtype="float64", requires_grad=True)
    x.name = "x"
    tr = trace(cr.exp(-(x * 3.0)) + 1)
    assert [describe(tr, n) for n in tr.nodes] == ["input", "x * 3", "-n1", "exp(n2)", "n3 + 1"]


def test_table_columns_line_up_under_a_dashed_header() -> None:
    assert table([("a", "bb"), ("ccc", "d")]).splitlines() == ["a    bb", "---  --", "ccc  d"]


def test_trace_text_has_the_forward_and_backward_tables_and_the_gradients() -> None:
    from chainrule.explain import example

    tr = example("simple")
    lines = trace_text(tr).splitlines()
    assert lines[0] == "forward pass:" and lines[1:1 + len(tr.forward_table().splitlines())] \
        == tr.forward_table().splitlines()
    assert "backward pass (downstream = local x upstream):" in lines
    assert lines[-4:] == ["gradients:", "  dL/dx = -4.00", "  dL/dy = -4.00", "  dL/dz = 3.00"]


def test_gradient_lines_align_the_names_and_mark_inputs_without_a_gradient() -> None:
    w = cr.tensor(0.5, dtype="float64", requires_grad=True)
    w.name = "weight"
    x = cr.tensor(2.0, dtype="float64")
    x.name = "x"
    tr = trace(w * x)
    assert gradient_lines(tr, 3).splitlines() == [
        "  dL/dweight = 2.000", "  dL/dx      = (no gradient)"]


def test_small_matrices_are_written_whole_with_aligned_columns() -> None:
    text = format_matrix(np.arange(12.0).reshape(3, 4) - 5)
    assert text.splitlines() == ["[[-5.00, -4.00, -3.00, -2.00],",
                                 " [-1.00,  0.00,  1.00,  2.00],",
                                 " [ 3.00,  4.00,  5.00,  6.00]]"]
    assert format_matrix(np.arange(10.0), 0) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    assert format_matrix(np.zeros((9, 9))).startswith("(9, 9) [")   # over 64 numbers
    assert format_matrix(None) == "-"


def test_check_table_lists_every_value_with_its_verdict() -> None:
    from chainrule.explain import example

    lines = check_table(example("sigmoid-neuron")).splitlines()
    assert lines[0].split()[:3] == ["value", "analytic", "dL/dv"]
    body = lines[2:]
    assert len(body) == 13 and all(line.endswith("\u2713 ok") for line in body)
    assert any(line.split()[:3] == ["w0", "-0.20", "-0.20"] for line in body)
