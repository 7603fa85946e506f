"""Fixtures for the web UI tests: a real backend and a real `tandem gateway` on loopback (the gateway
tests' harness), and Debian's Chromium driven by Playwright from PyPI.

Playwright is pinned (scripts/requirements.txt) to the release whose bundled Chromium has the same
major version as Debian's; the browser is always /usr/bin/chromium via executable_path (nothing is
downloaded). `browser_versions` checks the two majors and fails with both numbers when they drift.
Screenshots go to build/test-output/ui/ (and, with TANDEM_UPDATE_SCREENSHOTS=1, to docs/screenshots/).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gateway"))

from gateway_harness import GATEWAY_KEY, ROOT, Backend, Gateway  # noqa: E402
from latency_proxy import LatencyProxy  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "build/test-output/ui"
SCREENSHOTS = ROOT / "docs/screenshots"


def chromium_major() -> int:
    out = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"(\d+)\.\d+\.\d+", out)
    if not m:
        pytest.fail(f"cannot read Chromium's version from {out!r}")
    return int(m.group(1))


def playwright_chromium_major() -> int:
    import playwright
    browsers = Path(playwright.__file__).parent / "driver/package/browsers.json"
    for b in json.loads(browsers.read_text())["browsers"]:
        if b["name"] == "chromium":
            return int(b["browserVersion"].split(".")[0])
    pytest.fail(f"{browsers} lists no chromium")


@pytest.fixture(scope="session")
def browser_versions():
    pytest.importorskip("playwright.sync_api", reason="pip install -r scripts/requirements.txt (playwright)")
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing; scripts/setup.sh installs Debian's chromium")
    debian, bundled = chromium_major(), playwright_chromium_major()
    import importlib.metadata
    version = importlib.metadata.version("playwright")
    print(f"\n[ui] Debian chromium {debian}, playwright {version} (built for chromium {bundled})")
    if debian != bundled:
        pytest.fail(f"browser versions drifted: Debian's chromium is {debian} but playwright {version} drives "
                    f"chromium {bundled}; pin the playwright release for chromium {debian} in "
                    "scripts/requirements.txt")
    return debian, bundled


@pytest.fixture(scope="session")
def browser(browser_versions):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="module")
def output_dir():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def save_screenshot(page, name: str, full_page: bool = False):
    """Saves build/test-output/ui/NAME.png, and docs/screenshots/NAME.png with TANDEM_UPDATE_SCREENSHOTS=1."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=full_page)
    if os.environ.get("TANDEM_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def keyed_context(browser, **options):
    """A new browser context (new_context's options) that already holds the gateway's API key, where
    the page's key dialog would have stored it."""
    context = browser.new_context(**options)
    context.add_init_script(f"localStorage.setItem('tandem.api_key', {json.dumps(GATEWAY_KEY)});")
    return context


def collect_errors(page, console: bool = True):
    """Gathers the page's uncaught exceptions in page.console_errors, and its console errors too
    unless `console` is False; tests assert the list is empty when they are done. Returns the page."""
    page.console_errors = []
    if console:
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return page


__all__ = ["Backend", "Gateway", "LatencyProxy", "collect_errors", "keyed_context", "save_screenshot"]
