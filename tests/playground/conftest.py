"""Fixtures of the playground's browser tests: one server and one Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.playground.pages import ARGS, CHROMIUM, open_page, serve


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    pytest.importorskip("uvicorn", reason="browser tests need uvicorn")
    with serve() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM} (not installed)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser tests need Playwright for Python")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh tab on the playground (1400 x 900); it must log no console error."""
    with open_page(browser, base_url + "/") as pg:
        yield pg
