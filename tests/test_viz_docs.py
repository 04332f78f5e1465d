"""docs/graphs.md runs: every example in it is executed and its printed output compared."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

pytest.importorskip("graphviz")
pytest.importorskip("matplotlib")

GRAPHS_MD = Path(__file__).resolve().parents[1] / "docs" / "graphs.md"


def test_docs_graphs_md_examples_run():
    result = doctest.testfile(str(GRAPHS_MD), module_relative=False, verbose=False)
    assert result.attempted > 20
    assert result.failed == 0
