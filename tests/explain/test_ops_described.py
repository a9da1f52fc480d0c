"""Ops describe themselves: a user's Function is explained exactly like a built-in one."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.explain import steps, to_html, to_svg, trace
from chainrule.ops._common import number_text
from chainrule.ops.arithmetic import Mul


def leaf(name: str, value: object) -> cr.Tensor:
    t = cr.tensor(value, dtype="float64", requires_grad=True)
    t.name = name
    return t


class Times(cr.Function):
    """The user's own multiply gate, described as the built-in one is."""

    symbol = "*"
    infix = True
    elementwise = True
    operands = ("x", "y")
    pattern = "mul gate: swap multiplier"

    @classmethod
    def gate_label(cls, constants):
        if len(constants) != 1:
            return cls.symbol
        (c,) = constants.values()
        return f"*{number_text(c)}"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, upstream):
        x, y = ctx.saved_tensors
        return upstream * y, upstream * x


def numbers(values: list) -> list:
    return [np.asarray(v).tolist() for v in values]


def neuron(mul) -> cr.Tensor:
    """The lecture's f = (x + y) * z, then scaled by a constant."""
    x, y, z = leaf("x", -2.0), leaf("y", 5.0), leaf("z", -4.0)
    q = x + y
    q.name = "q"
    f = mul(q, z)
    f.name = "f"
    return mul(f, 2.0)


def test_a_described_user_gate_reads_like_the_built_in_mul() -> None:
    mine = trace(neuron(Times.apply))
    builtin = trace(neuron(Mul.apply))
    assert [n.label for n in mine.gates] == [n.label for n in builtin.gates] == ["+", "*", "*2"]
    assert mine.forward_table(4) == builtin.forward_table(4)
    assert mine.backward_table(4) == builtin.backward_table(4)
    assert [s.pattern for s in steps(mine)] == [s.pattern for s in steps(builtin)]
    for a, b in zip(steps(mine), steps(builtin)):
        assert numbers(a.local) == numbers(b.local)
        assert numbers(a.downstream) == numbers(b.downstream)
    assert "mul gate: swap multiplier" in mine.backward_table()
    # The pictures differ only by the op's class name.
    svg = to_svg(mine, engine="layered").replace('data-op="Times"', 'data-op="Mul"')
    assert svg == to_svg(builtin, engine="layered")
    page = to_html(mine, engine="layered").replace("Times", "Mul")
    assert page == to_html(builtin, engine="layered")


class Scale(cr.Function):
    """A user op that describes nothing: drawn and stepped with generic labels."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, upstream):
        return upstream * ctx.factor, None


def test_an_undescribed_user_op_is_drawn_with_generic_labels() -> None:
    x = leaf("x", [1.0, -2.0])
    out = Scale.apply(x, 3.0)
    tr = trace(out)
    (gate,) = tr.gates
    assert gate.label == "Scale" and gate.params["arg1"] == 3.0
    assert "Scale(x)" in tr.forward_table()
    (step,) = steps(tr)
    assert step.pattern is None
    assert step.local == ["Scale.backward(ctx, upstream)"]
    np.testing.assert_array_equal(tr["x"].grad, [3.0, 3.0])
    svg = to_svg(tr, engine="layered")
    assert ">Scale</text>" in svg and 'data-op="Scale"' in svg
    assert "Scale(x)" in to_html(tr, engine="layered")


class Shift(cr.Function):
    """A user op naming its operand and parameter, with its own rule and formula."""

    symbol = "shift"
    operands = ("x",)
    parameters = ("by",)

    @classmethod
    def formula(cls, args):
        return f"{args[0]} shifted"

    @classmethod
    def local_rule(cls, k, inputs, output):
        return f"1 for each of the {inputs[k].value.size} elements of {inputs[k].name}"

    @staticmethod
    def forward(ctx, x, by):
        return x + by

    @staticmethod
    def backward(ctx, upstream):
        return upstream, None


def test_parameters_formula_and_rule_come_from_the_op() -> None:
    x = leaf("x", [1.0, 2.0, 3.0])
    tr = trace(Shift.apply(x, 5.0))
    (gate,) = tr.gates
    assert gate.params["by"] == 5.0 and gate.label == "shift"
    assert "x shifted" in tr.forward_table()
    (step,) = steps(tr)
    assert step.local == ["1 for each of the 3 elements of x"]


def test_an_array_operand_is_a_constant_node() -> None:
    x = leaf("x", [1.0, 2.0])
    tr = trace(Times.apply(x, np.array([3.0, 4.0])))
    const = next(n for n in tr.nodes if n.kind == "const")
    np.testing.assert_array_equal(const.value, [3.0, 4.0])
    assert "x * c1" in tr.forward_table()
    np.testing.assert_array_equal(tr["x"].grad, [3.0, 4.0])


def test_trace_methods_draw_with_the_registered_renderers() -> None:
    tr = trace(leaf("x", 2.0) * 3)
    assert tr.to_svg(engine="layered") == to_svg(tr, engine="layered")
    assert tr.to_html(engine="layered") == to_html(tr, engine="layered")
