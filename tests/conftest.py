"""Suite-wide rules: under CI=true a skipped test is a failure.

A skip means a piece the suite needs is missing on this machine (Chromium, Playwright,
Graphviz's `dot`, an optional package). Locally the skip is listed with its reason (`-rs`
in setup.cfg); in continuous integration nothing may go untested silently, so the skip is
reported as a failure that names the missing piece.
"""

from __future__ import annotations

import os

import pytest


def skips_are_failures() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skips_are_failures():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skips: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> None:
    """The same for a whole module skipped while it is collected (`pytest.importorskip`)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skips_are_failures():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skips: {reason}"


# Headless Chromium for the page tests (tests/test_page.py, tests/test_viz_backprop.py), started
# with the flags that keep it off the network; `make browser` installs Debian's chromium.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    import shutil

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright)")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium on this machine (`make browser` installs Debian's chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as error:  # a broken or stub Chromium: a named skip (a failure under CI)
            pytest.skip(f"Chromium at {executable} did not start: {error}")
        yield chromium
        chromium.close()
