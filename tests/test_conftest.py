"""tests/conftest.py: under CI=true a skip, at run time or while collecting, fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SKIPPING_TESTS = {
    "test_runtime_skip.py": "import pytest\n\ndef test_needs_a_tool():\n"
                            "    pytest.skip('no frobnicator here')\n",
    "test_module_skip.py": "import pytest\n\npytest.importorskip('a_module_that_is_not_installed')\n\n"
                           "def test_never_runs():\n    pass\n",
    "test_marker_skip.py": "import pytest\n\n@pytest.mark.skipif(True, reason='not on this C library')\n"
                           "def test_needs_glibc():\n    pass\n",
    "test_fixture_skip.py": "import pytest\n\n@pytest.fixture\ndef browser():\n"
                            "    pytest.skip('no Chromium on this machine')\n\n"
                            "def test_page(browser):\n    pass\n",
    "test_passes.py": "def test_passes():\n    assert 1 + 1 == 2\n",
}


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    for name, text in SKIPPING_TESTS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_skips_are_listed_with_their_reason_outside_ci(folder):
    result = run_pytest(folder, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 4 skipped" in result.stdout
    for reason in ("no frobnicator here", "a_module_that_is_not_installed", "not on this C library",
                   "no Chromium on this machine"):
        assert reason in result.stdout


@pytest.mark.parametrize(("skipping", "reason"), [("test_runtime_skip.py", "no frobnicator here"),
                                                  ("test_module_skip.py", "a_module_that_is_not_installed"),
                                                  ("test_marker_skip.py", "not on this C library"),
                                                  ("test_fixture_skip.py", "no Chromium on this machine")])
def test_under_ci_a_skip_fails_naming_what_is_missing(folder, skipping, reason):
    for name in SKIPPING_TESTS:
        if name not in (skipping, "test_passes.py"):
            (folder / name).unlink()
    result = run_pytest(folder, "true")
    assert result.returncode != 0, result.stdout  # 1: a test failed; 2: collection failed
    assert "skipped under CI=true, which allows no skips" in result.stdout and reason in result.stdout
    assert " skipped" not in result.stdout.splitlines()[-1]
