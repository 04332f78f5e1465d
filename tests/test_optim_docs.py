"""docs/optim.md runs: every example in it is executed and its printed output compared."""

from __future__ import annotations

import doctest
from pathlib import Path

OPTIM_MD = Path(__file__).resolve().parents[1] / "docs" / "optim.md"


def test_docs_optim_md_examples_run():
    result = doctest.testfile(str(OPTIM_MD), module_relative=False, verbose=False)
    assert result.attempted > 30
    assert result.failed == 0
