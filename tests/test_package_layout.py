"""Imports flow one way (no cycles outside the engine's core; loaders never import load()),
and no name hides a module: ``import chainrule.X`` gives what its name says.

The graph is read from the source (every ``import``, also those inside functions, except
under ``if TYPE_CHECKING``), so a lazy import that closes a cycle is caught too.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule

SRC = Path(chainrule.__file__).resolve().parent.parent
#: The one intrinsic cycle: a Tensor's operators call the ops, the ops make Tensors.
ENGINE_CORE = ("chainrule._tensor", "chainrule.autograd", "chainrule.function", "chainrule.ops")
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


def _in_core(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in ENGINE_CORE)


def test_no_import_cycle_outside_the_engine_core(graph) -> None:
    for module in graph:
        if _in_core(module):
            continue
        back = [m for m in graph[module] if module in _reachable(graph, m)]
        assert not back, f"{module} imports {back[0]}, which imports {module} back"


def test_the_core_cycle_stays_inside_the_core(graph) -> None:
    for module in graph:
        if _in_core(module):
            back = [m for m in graph[module] if module in _reachable(graph, m)]
            assert all(_in_core(m) for m in back), f"{module} is in a cycle with {back}"


def test_no_name_hides_a_module() -> None:
    """``chainrule.X.Y`` as an attribute is the module ``chainrule.X.Y`` (a function
    exported under a module's name would hide it: ``cr.compile``, ``cr.tensor``)."""
    hidden = []
    for module in _modules():
        if module == "chainrule" or module.endswith("__main__"):
            continue
        parent_name, _, name = module.rpartition(".")
        parent = importlib.import_module(parent_name)
        mod = importlib.import_module(module)
        if getattr(parent, name, None) is not mod:
            hidden.append(f"{module} (hidden by {type(getattr(parent, name)).__name__})")
    assert not hidden, hidden


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
