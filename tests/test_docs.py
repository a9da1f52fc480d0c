"""The code blocks of the docs run as written (each page's blocks in order, one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["architecture.md", "interop.md"]


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


@pytest.mark.parametrize("name", PAGES)
def test_code_blocks_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture) -> None:
    blocks = python_blocks(DOCS / name)
    assert blocks, f"{name} has no python blocks"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{name}"}
    for i, code in enumerate(blocks, 1):
        exec(compile(code, f"{name} block {i}", "exec"), namespace)
    capsys.readouterr()


def test_architecture_examples_do_what_they_say(capsys: pytest.CaptureFixture) -> None:
    namespace: dict = {"__name__": "docs.architecture"}
    for code in python_blocks(DOCS / "architecture.md"):
        exec(code, namespace)
    out = capsys.readouterr().out
    assert "[0.11920292 0.5        0.95257413]" in out           # softplus' gradient = sigmoid
    assert "softplus" in out                                     # the explainer's table
    losses = namespace["losses"]
    assert losses[-1] < losses[0]                                # SignSGD learns, compiled
    assert "flat_optimizer" in namespace["step"].source          # ... packed, one call per group
    keys = list(namespace["model"].state_dict())
    assert keys[:4] == ["0.weight", "0.bias", "1.scale", "1.shift"]
    assert out.rstrip().endswith("True")                         # the layer trains
