"""Error messages are true: every option they name exists."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from chainrule.cli import build_parser

SRC = Path(__file__).resolve().parents[2] / "src" / "chainrule"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def _options() -> set[str]:
    found = {"--help", "--version"}

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            found.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)

    walk(build_parser())
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants (documentation may quote other tools' options)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def test_every_option_named_in_the_source_exists() -> None:
    """Messages and help texts (every string but docstrings) name only options that exist."""
    options = _options()
    named: dict[str, set[str]] = {}
    for file in SRC.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings:
                for option in OPTION.findall(node.value):
                    named.setdefault(option, set()).add(file.relative_to(SRC).as_posix())
    missing = {o: sorted(files) for o, files in named.items() if o not in options}
    assert missing == {}, f"messages name options no command has: {missing}"
    assert {"--image-size", "--label-column", "--overwrite", "--allow-host"} <= set(named)
