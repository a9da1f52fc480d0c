"""Imports flow one way: no cycles in data/, features/, playground/; loaders never import load().

The graph is read from the source (every ``import``, also those inside functions, except
under ``if TYPE_CHECKING``), so a lazy import that closes a cycle is caught too.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule

SRC = Path(chainrule.__file__).resolve().parent.parent
PACKAGES = ("chainrule.data", "chainrule.features", "chainrule.playground")
LOADERS = ("cifar", "digits", "idx", "imagefolder", "tabular")


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "chainrule").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The chainrule modules that ``module`` imports (a name imported from a package that is
    a submodule counts as that submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("chainrule"):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            if base.startswith("chainrule"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    add(full if full in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(graph, package: str) -> None:
    for module in graph:
        if module.startswith(package + ".") or module == package:
            back = [m for m in graph[module] if module in _reachable(graph, m)]
            assert not back, f"{module} imports {back[0]}, which imports {module} back"


@pytest.mark.parametrize("loader", LOADERS)
def test_loaders_never_reach_the_dispatcher(graph, loader: str) -> None:
    reached = _reachable(graph, f"chainrule.data.{loader}")
    for upper in ("dispatch", "locations", "fetch"):
        assert f"chainrule.data.{upper}" not in reached


def test_a_loader_imports_without_the_dispatcher() -> None:
    """In a fresh interpreter, with the package's ``__init__`` (which re-exports load())
    left out: importing every loader brings in the types, not the dispatcher."""
    code = (
        "import sys, types, chainrule\n"
        "pkg = types.ModuleType('chainrule.data')\n"
        f"pkg.__path__ = [{str(SRC / 'chainrule' / 'data')!r}]\n"
        "sys.modules['chainrule.data'] = pkg\n"
        f"for name in {LOADERS!r}:\n"
        "    __import__('chainrule.data.' + name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('chainrule.data.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(SRC)}).stdout
    loaded = set(ast.literal_eval(out))
    assert "chainrule.data.datasets" in loaded and "chainrule.data.cifar" in loaded
    assert not loaded & {"chainrule.data.dispatch", "chainrule.data.locations"}
