"""The folders show the parts, and imports point one way: engine <- nn, optim, data, text <- viz,
race, distributed <- the applications on top (the command line, the tour).

Each part's modules may import only the parts listed for it (read from the source with ast, so
an import inside a function counts too); every module of the package belongs to a listed part;
nothing in the package imports a demo or a benchmark.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_opt"
ALLOWED = {  # part -> the parts its modules may import (besides itself)
    "engine": set(),
    "memory": set(),
    "gradcheck": {"engine"},
    "text": set(),
    "data": {"engine"},
    "nn": {"engine"},
    "optim": {"engine"},
    "distributed": {"engine"},
    "viz": {"engine", "nn"},
    "race": {"engine", "optim", "viz"},
}
TOP = {"__init__", "__main__", "cli", "tour"}  # the package's front door and its applications: anything


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinygrad_opt"):
            names = node.module.split(".")
            parts.update([names[1]] if len(names) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tinygrad_opt."))
    return parts


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if part_of(p) in ALLOWED)


def test_every_module_belongs_to_a_part():
    parts = {part_of(p) for p in PACKAGE.rglob("*.py")}
    assert parts - set(ALLOWED) - TOP == set(), "a new part: say in ALLOWED what it may import"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_point_one_way(path):
    part = part_of(path)
    wrong = imported_parts(path) - ALLOWED[part] - {part, "__version__"}
    assert not wrong, f"{path.relative_to(PACKAGE.parent)} ({part}) imports {sorted(wrong)}"


def test_the_rules_see_an_import():  # the checker itself: a module importing upwards is caught
    assert imported_parts(PACKAGE / "tour.py") >= {"nn", "optim", "data", "engine"}
    assert len(MODULES) > 30


def test_nothing_in_the_package_imports_a_demo_or_a_benchmark():
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "import demos" not in source and "from demos" not in source, path
        assert "import benchmarks" not in source and "from benchmarks" not in source, path
