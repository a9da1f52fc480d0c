"""A safe little expression language for the explainer: parsed with ``ast``, never ``eval``.

Allowed: numbers, names, ``+ - * / **``, unary minus and plus, ``@``, parentheses and
calls of a fixed list of functions::

    exp log sqrt sigmoid tanh relu      one argument, elementwise
    max min                             one argument: reduce; two: elementwise (router)
    sum mean                            one argument: reduce to a scalar
    dot                                 dot(a, b) = a @ b

Anything else (attribute access, subscripts, lambdas, comprehensions, keywords,
strings, ``__import__('os')``) is refused with a message naming what was found.

>>> from chainrule.explain.expr import evaluate
>>> f = evaluate("(x + y) * z", {"x": -2, "y": 5, "z": -4})
>>> float(f.data)
-12.0
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.explain.graph import ExplainError

__all__ = [
    "ELEMENTWISE_FUNCTIONS", "FUNCTIONS", "evaluate", "evaluate_tensors", "parse",
    "parse_value", "parse_values", "variables",
]

MAX_LENGTH = 2000
MAX_NODES = 500

#: The functions of one argument applied elementwise (each the ``chainrule`` op of its name).
ELEMENTWISE_FUNCTIONS: tuple[str, ...] = ("exp", "log", "sqrt", "sigmoid", "tanh", "relu")


def _unary_functions() -> dict[str, Callable[[Any], Any]]:
    import chainrule as cr

    return {name: getattr(cr, name) for name in ELEMENTWISE_FUNCTIONS}


#: Function names the expression language accepts, with their arity.
FUNCTIONS: dict[str, tuple[int, ...]] = {
    **{name: (1,) for name in ELEMENTWISE_FUNCTIONS},
    "max": (1, 2), "min": (1, 2), "sum": (1,), "mean": (1,), "dot": (2,),
}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)

_REFUSED = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.List: "list literals (give vectors with --values instead)",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
}


def _refuse(node: ast.AST, expr: str, what: str) -> ExplainError:
    col = getattr(node, "col_offset", None)
    where = f" at column {col + 1}" if col is not None else ""
    return ExplainError(
        f"refused expression {expr!r}: {what} not allowed{where}; only numbers, "
        "names, + - * / ** @, unary minus and the functions "
        f"{', '.join(sorted(FUNCTIONS))} may appear"
    )


def parse(expr: str) -> ast.Expression:
    """Parse and validate ``expr``; raise :class:`ExplainError` for anything not allowed."""
    if not isinstance(expr, str):
        raise ExplainError(f"the expression must be a string, not {type(expr).__name__}")
    if not expr.strip():
        raise ExplainError("the expression is empty")
    if len(expr) > MAX_LENGTH:
        raise ExplainError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise ExplainError(f"cannot parse {expr!r}: {e.msg}") from None
    all_nodes = list(ast.walk(tree))
    if len(all_nodes) > MAX_NODES:
        raise ExplainError(f"the expression has more than {MAX_NODES} parts")
    for node in all_nodes:  # name the worst construct first (a lambda, not its call)
        for kind, what in _REFUSED.items():
            if isinstance(node, kind):
                raise _refuse(node, expr, what)
    for node in all_nodes:
        _check(node, expr)
    return tree


def _check(node: ast.AST, expr: str) -> None:
    if isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
        if isinstance(node, ast.operator) and not isinstance(node, _BINOPS):
            raise _refuse(node, expr, f"the operator {type(node).__name__}")
        if isinstance(node, ast.unaryop) and not isinstance(node, (ast.USub, ast.UAdd)):
            raise _refuse(node, expr, f"the unary operator {type(node).__name__}")
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(node, expr, f"the constant {node.value!r}")
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse(node, expr, f"the name {node.id!r} (names starting with _)")
        return
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise _refuse(node, expr, "calling anything but a plain function name")
        if func.id not in FUNCTIONS:
            raise _refuse(node, expr, f"the function {func.id!r}")
        if node.keywords:
            raise _refuse(node, expr, "keyword arguments")
        if len(node.args) not in FUNCTIONS[func.id]:
            want = " or ".join(str(n) for n in FUNCTIONS[func.id])
            raise ExplainError(
                f"{func.id}() takes {want} argument(s), got {len(node.args)}"
            )
        return
    for kind, what in _REFUSED.items():
        if isinstance(node, kind):
            raise _refuse(node, expr, what)
    raise _refuse(node, expr, f"{type(node).__name__} syntax")


def variables(expr: str | ast.Expression) -> list[str]:
    """The names an expression uses (its inputs), in order of first appearance."""
    tree = parse(expr) if isinstance(expr, str) else expr
    seen: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not _is_func_name(tree, node) and node.id not in seen:
            seen.append(node.id)
    return seen


def _is_func_name(tree: ast.AST, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def parse_value(text: str) -> np.ndarray:
    """A number or nested list of numbers (``"-2"``, ``"[[0.1, 0.5], [-0.3, 0.8]]"``), float64."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ExplainError(
            f"cannot read the value {text!r}: give a number or a nested list of "
            "numbers, e.g. -2 or [[0.1,0.5],[-0.3,0.8]]"
        ) from None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ExplainError(
            f"the value {text!r} is not a number or a rectangular list of numbers"
        ) from None
    return arr


def parse_values(items: Sequence[str]) -> dict[str, np.ndarray]:
    """``["x=-2", "W=[[0.1,0.5],[-0.3,0.8]]"]`` -> ``{"x": array(-2.), "W": array(...)}``."""
    values: dict[str, np.ndarray] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or name.startswith("_"):
            raise ExplainError(
                f"cannot read {item!r}: write NAME=VALUE, e.g. x=-2 or \"x=[1,2]\""
            )
        values[name] = parse_value(text)
    return values


def evaluate(expr: str, values: Mapping[str, Any]) -> Tensor:
    """Compute ``expr`` on float64 input tensors named after its variables.

    Every input is a leaf with ``requires_grad=True`` and ``.name`` set; the result is
    named ``f``. Numbers in the expression stay constants (drawn inside their gate, as
    the lecture's ``+1`` and ``*-1`` gates).
    """
    tree = parse(expr)
    names = variables(tree)
    missing = [n for n in names if n not in values]
    if missing:
        raise ExplainError(
            f"no value given for {', '.join(missing)} "
            f"(add e.g. --values {missing[0]}=1.0)"
        )
    unused = [n for n in values if n not in names]
    if unused:
        raise ExplainError(f"{', '.join(unused)} given a value but not used in {expr!r}")
    leaves: dict[str, Tensor] = {}
    for n in names:
        t = Tensor(np.asarray(values[n], dtype=np.float64), dtype=np.float64, requires_grad=True)
        t.name = n
        leaves[n] = t
    return evaluate_tensors(expr, leaves)


def evaluate_tensors(expr: str, tensors: Mapping[str, Tensor]) -> Tensor:
    """Compute ``expr`` on the given tensors (the caller owns the leaves); named ``f``."""
    tree = parse(expr)
    missing = [n for n in variables(tree) if n not in tensors]
    if missing:
        raise ExplainError(f"no value given for {', '.join(missing)}")
    result = _Evaluator(expr, dict(tensors)).visit(tree.body)
    if not isinstance(result, Tensor):
        raise ExplainError(f"{expr!r} uses no variable; there is nothing to differentiate")
    result.name = "f"
    return result


class _Evaluator(ast.NodeVisitor):
    def __init__(self, expr: str, leaves: dict[str, Tensor]) -> None:
        self.expr = expr
        self.leaves = leaves
        self.unary = _unary_functions()

    def generic_visit(self, node: ast.AST) -> Any:
        raise _refuse(node, self.expr, f"{type(node).__name__} syntax")

    def visit_Constant(self, node: ast.Constant) -> float:
        return float(node.value)

    def visit_Name(self, node: ast.Name) -> Tensor:
        return self.leaves[node.id]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        v = self.visit(node.operand)
        return -v if isinstance(node.op, ast.USub) else v

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.visit(node.left), self.visit(node.right)
        op = node.op
        try:
            if isinstance(op, ast.MatMult):
                return self._matmul(a, b)
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            if isinstance(op, ast.Div):
                return a / b
            return a**b
        except (OverflowError, ZeroDivisionError) as e:
            raise ExplainError(f"cannot compute a constant part of {self.expr!r}: {e}") \
                from None

    def _matmul(self, a: Any, b: Any) -> Tensor:
        import chainrule as cr

        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise ExplainError("@ needs at least one variable operand")
        return cr.matmul(a, b)

    def visit_Call(self, node: ast.Call) -> Any:
        import chainrule as cr

        name = node.func.id  # type: ignore[attr-defined]
        args = [self.visit(a) for a in node.args]
        if not any(isinstance(a, Tensor) for a in args) and name != "dot":
            # A function of constants only is a constant: fold it, as the lecture's gates do.
            with np.errstate(all="ignore"):
                folded = self.visit_Call_constant(name, args)
            return folded
        if name in self.unary:
            return self.unary[name](args[0])
        if name in ("max", "min"):
            if len(args) == 1:
                return cr.max(args[0]) if name == "max" else cr.min(args[0])
            return cr.maximum(*args) if name == "max" else cr.minimum(*args)
        if name == "sum":
            return cr.sum(args[0])
        if name == "mean":
            return cr.mean(args[0])
        return self._matmul(args[0], args[1])

    def visit_Call_constant(self, name: str, args: list[float]) -> float:
        t = Tensor(np.float64(args[0]), dtype=np.float64)
        if name in self.unary:
            return float(self.unary[name](t).item())
        if name in ("sum", "mean") or len(args) == 1:
            return float(args[0])
        return float(max(args) if name == "max" else min(args))
