"""Every code block of README.md and docs/*.md runs as written.

- ``python`` blocks run in order, each page's in one namespace, in a temporary folder (a
  page whose code needs an optional package that is not installed, such as ``mpi4py``, is
  skipped, naming it);
- ``bash`` blocks run line by line with bash (a command with a placeholder such as
  ``runs/<run>`` is not run: it stands for the reader's own);
- ``console`` blocks run each ``$ command`` and compare its output with the lines written
  under it: all of them, or, where the page cuts the output with ``...``, the lines shown,
  in order (a line that itself ends in ``...`` is a prefix). A command whose documented
  output is an error must fail with exit status 1, any other must succeed.

A block that cannot run here says why in a comment just above it, which the reader sees
in the page's source: ``<!-- docs-test: skip: REASON -->`` (never run),
``<!-- docs-test: slow: REASON -->`` (run with the slow tests) or
``<!-- docs-test: status-only: REASON -->`` (run; the output is not compared).
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_BLOCK = re.compile(
    r"(?:<!--\s*docs-test:\s*(?P<flags>[\w, -]+?)\s*:\s*(?P<reason>[^>]*?)\s*-->\s*\n)?"
    r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
COMMAND_TIMEOUT_S = 300
#: Optional packages a page's code may need, and the extra that installs each.
OPTIONAL = {"mpi4py": "mpi"}


@dataclass
class Block:
    """A fenced code block of a page, with the flags of the comment above it."""

    page: Path
    number: int
    lang: str
    body: str
    flags: set[str] = field(default_factory=set)
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.page.name}-{self.number}-{self.lang}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in order, dedented, with their ``docs-test`` flags."""
    found = []
    for i, m in enumerate(_BLOCK.finditer(page.read_text(encoding="utf-8")), 1):
        flags = {f.strip() for f in (m.group("flags") or "").split(",") if f.strip()}
        found.append(Block(page, i, m.group("lang"), textwrap.dedent(m.group("body")),
                           flags, m.group("reason") or ""))
    return found


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a markdown page, in order (the ones meant to run)."""
    return [b.body for b in blocks(page) if b.lang == "python" and "skip" not in b.flags]


def _shell_params() -> list:
    params = []
    for page in PAGES:
        for b in blocks(page):
            if b.lang not in ("bash", "console"):
                continue
            marks = [pytest.mark.slow] if "slow" in b.flags else []
            params.append(pytest.param(b, id=b.id, marks=marks))
    return params


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for b in blocks(page):
        if b.lang == "python" and "skip" not in b.flags:
            try:
                exec(compile(b.body, f"{page.name} block {b.number}", "exec"), namespace)
            except ModuleNotFoundError as e:
                if e.name in OPTIONAL:
                    pytest.skip(f"{b.id} needs {e.name} (chainrule[{OPTIONAL[e.name]}])")
                raise
    capsys.readouterr()


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    # Installing packages or starting a server from a test would change or block the machine.
    assert not re.match(r"(pip|python3? -m pip) ", command), f"mark the block skip: {command}"
    assert not command.startswith("chainrule playground"), f"mark the block skip: {command}"
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S, env=env, check=False)


def _console(body: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines of a console block, each with the output lines written under it."""
    runs: list[tuple[str, list[str]]] = []
    for line in body.rstrip("\n").splitlines():
        if line.startswith("$ "):
            runs.append((line[2:], []))
        elif runs:
            runs[-1][1].append(line.rstrip())
    return runs


def _matches(expected: list[str], actual: list[str]) -> bool:
    """All of ``expected`` equals ``actual``; with ``...`` lines, its lines appear in order."""
    if not any(e.endswith("...") for e in expected):
        return expected == actual
    at = 0
    for want in (e for e in expected if e != "..."):
        prefix = want.endswith("...")
        want = want[:-3] if prefix else want
        while at < len(actual) and not (actual[at].startswith(want) if prefix
                                         else actual[at] == want):
            at += 1
        if at == len(actual):
            return False
        at += 1
    return True


@pytest.mark.parametrize("block", _shell_params())
def test_shell_blocks_run(block: Block, tmp_path: Path) -> None:
    if "skip" in block.flags:
        pytest.skip(f"{block.id}: {block.reason}")
    if block.lang == "bash":
        for line in block.body.splitlines():
            command = line.split(" #", 1)[0].strip()
            if not command or command.startswith("#") or re.search(r"<\w[\w-]*>", command):
                continue
            result = _run(command, tmp_path)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return
    for command, expected in _console(block.body):
        result = _run(command, tmp_path)
        output = (result.stdout + result.stderr).rstrip("\n").splitlines()
        fails = any("error:" in line for line in expected)
        assert result.returncode == (1 if fails else 0), f"{command}\n{result.stderr}"
        if "status-only" not in block.flags:
            assert _matches(expected, [line.rstrip() for line in output]), (
                f"{command}: the page shows\n" + "\n".join(expected)
                + "\n\nbut the command prints\n" + "\n".join(output))


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


def test_devices_examples_do_what_they_say(capsys: pytest.CaptureFixture) -> None:
    namespace: dict = {"__name__": "docs.devices"}
    for code in python_blocks(DOCS / "devices.md"):
        exec(code, namespace)
    lines = capsys.readouterr().out.splitlines()
    device = namespace["device"]
    assert lines[0].endswith(f"{device} True")                   # a step on the device
    assert lines[1].startswith("True")                           # the Trainer learns there
    assert lines[2].startswith(device)                           # the gradient stays there


def test_the_lectures_forward_and_central_differences(capsys: pytest.CaptureFixture) -> None:
    """docs/explain.md's comparison: the forward error shrinks like h, the central like h^2."""
    namespace: dict = {"__name__": "docs.explain"}
    code = next(c for c in python_blocks(DOCS / "explain.md") if 'method="forward"' in c)
    exec(code, namespace)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith("h = ")]
    forward = [float(r[5].rstrip(",")) for r in rows]    # h = 1e-01: forward error 3.3e-02,
    central = [float(r[8]) for r in rows]                 # central error 7.4e-04
    assert forward[0] / forward[2] == pytest.approx(100, rel=0.1)   # h 1e-1 -> 1e-3: 100x
    assert central[0] / central[2] == pytest.approx(1e4, rel=0.1)   # h^2: 10,000x
    assert all(c < f for c, f in zip(central, forward))


def test_every_block_is_found_and_every_skip_gives_a_reason() -> None:
    everything = [b for page in PAGES for b in blocks(page)]
    assert len(everything) > 30
    for b in everything:
        assert b.flags <= {"skip", "slow", "status-only"}, b.id
        assert not b.flags or b.reason, f"{b.id}: say why it is not run"
