"""Every code block in README.md and docs/ runs, and its shown output is compared.

Code blocks are fenced; an indented one would escape these tests, so it is an error.

- ```python blocks with `>>>` prompts run as doctests; blocks without prompts are executed.
  The blocks of one page share their names, as in a notebook.
- ```console blocks: each `$ command` runs in a shell (`tinygrad-opt` and `python` mean this
  Python), in a scratch folder, and what it prints must match the lines below it (`...`
  stands for any text, as in doctest).
- ```sh blocks hold set-up commands for a reader's own machine (make, pip, apt-get) and the
  benchmark commands (slow, and their timings are the machine's): they are not run here,
  and may hold nothing else.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SETUP_COMMAND = re.compile(
    r"^(make|pip|python3? -m pip|sudo apt-get|apt-get|brew|git clone|cd|"
    r"python benchmarks/|env (-u [A-Z_0-9]+ )+python benchmarks/)")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(page: Path) -> list[tuple[str, str, int]]:
    text = page.read_text()
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2) for m in FENCE.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a block writes lands in a scratch folder
    names: dict = {"__name__": "__docs__"}
    for language, code, line in blocks(page):
        where = f"{page.relative_to(ROOT)}:{line}"
        if language in ("python", "pycon") and ">>>" in code:
            run_doctest(code, names, where)
        elif language == "python":
            exec(compile(code, where, "exec"), names)
        elif language == "console":
            run_console(code, where, tmp_path)
        elif language == "sh":
            for command in filter(None, (c.split("#")[0].strip() for c in code.splitlines())):
                assert SETUP_COMMAND.match(command), f"{where}: {command!r} is not set-up or a benchmark"
        else:
            pytest.fail(f"{where}: code blocks are python, console or sh, not {language or 'unmarked'!r}")


def run_doctest(code: str, names: dict, where: str) -> None:
    test = doctest.DocTestParser().get_doctest(code, names, where, where, 0)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    names.update(test.globs)  # a DocTest works on a copy: carry its names to the next block
    assert runner.failures == 0, "".join(report)


def run_console(code: str, where: str, scratch: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    environment["MPLBACKEND"] = "Agg"
    checker = doctest.OutputChecker()
    for command, expected in console_commands(code):
        words = shlex.split(command)
        if words[0] == "tinygrad-opt":
            words = [sys.executable, "-m", "tinygrad_opt", *words[1:]]
        elif words[0] in ("python", "python3"):
            words = [sys.executable, *words[1:]]
        words = [str(ROOT / w) if w.startswith(("demos/", "benchmarks/")) else w for w in words]
        done = subprocess.run(words, capture_output=True, text=True, cwd=scratch, env=environment)
        assert done.returncode == 0, f"{where}: `{command}` failed:\n{done.stderr[-2000:]}"
        assert checker.check_output(expected, done.stdout, OPTIONS), (
            f"{where}: `{command}` printed\n{done.stdout}\nbut the page shows\n{expected}")


def console_commands(code: str) -> list[tuple[str, str]]:
    commands: list[tuple[str, str]] = []
    for line in code.splitlines(keepends=True):
        if line.startswith("$ "):
            commands.append((line[2:].strip(), ""))
        elif commands:
            commands[-1] = (commands[-1][0], commands[-1][1] + line)
    return commands


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_block_hides_from_the_tests(page):
    """An indented code block (four spaces after a blank line, not in a list) would not be run."""
    hidden, fenced, previous, last_text = [], False, "", ""
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and line.strip() and not previous.strip():
            in_list = re.match(r"\s*([-*+]|\d+\.)\s", last_text) or last_text.startswith("  ")
            if not in_list:
                hidden.append(f"{page.name}:{number}: {line.strip()}")
        if line.strip():
            last_text = line
        previous = line
    assert not hidden, "indented code blocks are not run; fence them:\n" + "\n".join(hidden)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_picture_exists(page):
    for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
        if not target.startswith(("http://", "https://")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
