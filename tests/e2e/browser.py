"""A real Chromium for the monitor's browser tests: Debian's ``/usr/bin/chromium`` driven by
Playwright (never ``playwright install``: it downloads a browser, and there is no internet here).

Screenshots go to ``test-artefacts/monitor/`` (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

__all__ = ["ARTEFACTS", "CHROMIUM", "CHROMIUM_ARGS", "chromium", "page_errors"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "monitor"


@contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def page_errors(page: Page) -> list[str]:
    """Collects uncaught script errors and console errors of ``page`` from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return errors
