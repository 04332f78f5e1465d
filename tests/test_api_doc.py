"""docs/api.md against the code, so the reference cannot drift.

- Every entry of the page (a list item opening with `dotted.name` or `dotted.name(params)`)
  names a real object, and every signature written there is the object's own: the same
  parameters, of the same kinds, with equal defaults (a default may be written as an
  expression, such as `1e-3` or `LR_GRID`, evaluated in the object's module).
- Every public module appears on the page, and every public name of each module (its
  `__all__`, or else the names it defines that do not start with `_`) has an entry; so has
  every public method and property of each public class (an override is covered by the
  entry of the method it overrides).
- Every command of `tinygrad-opt` has an entry listing all of its options.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tinygrad_opt
from tinygrad_opt.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
API = (ROOT / "docs" / "api.md").read_text()
ENTRY = re.compile(r"^\s*- `([A-Za-z_][\w.]*)(\([^`]*\))?`", re.MULTILINE)
NOT_DOCUMENTED = {"tinygrad_opt.__main__", "tinygrad_opt.datasets"}  # `python -m`; data files only
PRIMITIVES = (bool, int, float, str, type(None))


# ------------------------------------------------------------------ the package
def modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.walk_packages(tinygrad_opt.__path__, "tinygrad_opt.")]
    return [tinygrad_opt] + [importlib.import_module(n) for n in sorted(names) if n not in NOT_DOCUMENTED]


def public_names(module: ModuleType) -> list[str]:
    """`__all__`, or else the functions, classes and variables the module's own source defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def public_members(cls: type) -> list[str]:
    return [name for name in vars(cls) if not name.startswith("_")]


# ------------------------------------------------------------------ the page
class Entry:
    """One entry of the page: what its dotted name resolves to, and where it was found."""

    def __init__(self, dotted: str, written: str | None) -> None:
        self.dotted, self.written = dotted, written
        self.module: ModuleType = tinygrad_opt  # the module the last step was looked up in, if any
        self.owner: type | None = None  # the class the last step was looked up in, if any
        obj: Any = tinygrad_opt
        for part in dotted.split("."):
            self.module, self.owner = (obj, None) if inspect.ismodule(obj) else (self.module, obj)
            if inspect.ismodule(obj) and not hasattr(obj, part) and hasattr(obj, "__path__"):
                try:
                    importlib.import_module(f"{obj.__name__}.{part}")
                except ImportError:
                    pass
            if not hasattr(obj, part):
                raise LookupError(f"`{dotted}` names nothing: {part!r} not found")
            obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
        self.name = part
        self.raw = obj  # as stored: a staticmethod, property, ... for class members
        self.obj = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
        if isinstance(obj, property):
            self.obj = obj.fget


def entries() -> tuple[list[Entry], list[str]]:
    """The page's entries, and the errors of those that name nothing."""
    found, broken = [], []
    for match in ENTRY.finditer(API):
        try:
            found.append(Entry(match.group(1), match.group(2)))
        except LookupError as error:
            broken.append(str(error))
    return found, broken


ENTRIES, BROKEN = entries()


def real_parameters(entry: Entry) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(entry.obj).parameters.values())
    is_method = entry.owner is not None and not isinstance(entry.raw, staticmethod)
    is_method = is_method and not inspect.isclass(entry.obj)
    return parameters[1:] if is_method else parameters  # self / cls is not written


def written_parameters(entry: Entry) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter written on the page, defaults evaluated."""
    try:
        arguments = ast.parse(f"def f{entry.written}: pass").body[0].args
    except SyntaxError as error:
        where = f"docs/api.md: `{entry.dotted}{entry.written}`"
        raise AssertionError(f"{where} is not a signature: {error}") from None
    namespace = vars(inspect.getmodule(entry.obj) or entry.module)

    def evaluate(node: ast.expr) -> Any:
        return eval(compile(ast.Expression(node), "docs/api.md", "eval"), dict(namespace))

    P = inspect.Parameter
    positional = [(a, P.POSITIONAL_ONLY) for a in arguments.posonlyargs] + [
        (a, P.POSITIONAL_OR_KEYWORD) for a in arguments.args]
    defaults = [P.empty] * (len(positional) - len(arguments.defaults))
    defaults += [evaluate(d) for d in arguments.defaults]
    result = [(a.arg, kind, d) for (a, kind), d in zip(positional, defaults, strict=True)]
    if arguments.vararg:
        result.append((arguments.vararg.arg, P.VAR_POSITIONAL, P.empty))
    for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        result.append((a.arg, P.KEYWORD_ONLY, P.empty if d is None else evaluate(d)))
    if arguments.kwarg:
        result.append((arguments.kwarg.arg, P.VAR_KEYWORD, P.empty))
    return result


def same_default(written: Any, real: Any) -> bool:
    if written is inspect.Parameter.empty or real is inspect.Parameter.empty:
        return written is real
    return type(written) is type(real) and written == real


# ------------------------------------------------------------------ the tests
def test_the_page_has_entries_and_no_code_blocks():
    assert len(ENTRIES) > 150
    assert not BROKEN, "docs/api.md: " + "; ".join(BROKEN)
    assert "```" not in API  # nothing to run: the signatures are checked here instead


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.written is not None], ids=lambda e: e.dotted)
def test_every_written_signature_is_the_real_one(entry):
    real = [(p.name, p.kind, p.default) for p in real_parameters(entry)]
    written = written_parameters(entry)
    shown = inspect.signature(entry.obj)
    assert [(n, k) for n, k, _ in written] == [(n, k) for n, k, _ in real], (
        f"docs/api.md: `{entry.dotted}{entry.written}` but the code says {shown}")
    for (name, _, written_default), (_, _, real_default) in zip(written, real, strict=True):
        assert same_default(written_default, real_default), (
            f"docs/api.md: `{entry.dotted}` shows {name}={written_default!r}, the code has {real_default!r}")


def test_functions_and_methods_are_written_with_their_signature():
    for entry in ENTRIES:
        if inspect.isroutine(entry.raw) or isinstance(entry.raw, (staticmethod, classmethod)):
            assert entry.written is not None, f"docs/api.md: write `{entry.dotted}` with its parameters"


def test_every_public_module_and_name_has_an_entry():
    documented_objects = {id(e.obj) for e in ENTRIES if not isinstance(e.obj, PRIMITIVES)}
    documented_names = {(e.module.__name__, e.name) for e in ENTRIES if e.owner is None}
    missing = []
    for module in modules():
        if f"`{module.__name__}`" not in API:
            missing.append(f"the module {module.__name__}")
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue  # a submodule: checked as a module
            if (module.__name__, name) not in documented_names and (
                    isinstance(obj, PRIMITIVES) or id(obj) not in documented_objects):
                missing.append(f"{module.__name__}.{name}")
    assert not missing, "docs/api.md has no entry for: " + ", ".join(missing)


def test_every_public_method_and_property_has_an_entry():
    documented = {(e.owner, e.name) for e in ENTRIES if e.owner is not None}
    classes = {id(e.obj): e.obj for e in ENTRIES if inspect.isclass(e.obj)}
    missing = []
    for cls in classes.values():
        for name in public_members(cls):
            if not any((base, name) in documented for base in cls.__mro__):
                missing.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not missing, "docs/api.md has no entry for: " + ", ".join(missing)


def test_every_command_and_option_has_an_entry():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, command in commands.items():
        line = re.search(rf"^\s*- `tinygrad-opt {name}\b[^\n]*", API, re.MULTILINE)
        assert line, f"docs/api.md has no entry for the command `tinygrad-opt {name}`"
        for action in command._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in line.group(0), f"docs/api.md: `tinygrad-opt {name}` lacks {option}"
