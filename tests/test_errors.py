"""One exception hierarchy under PlaysError; exit codes are the classes' defaults (the CLI maps them)."""

import ast as pyast
from pathlib import Path

import pytest

from plays.diagnostics import Span, error
from plays.errors import CompileError, DataError, EvaluationError, InputError, PlaysError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("plays", "dsl", "compiler", "runtime", "state", "spectest")
# The root itself, and the compiler's own bug (exit 70), by design outside the hierarchy. Private
# classes (`_TooDeep`) are signals inside one module that never leave it.
OUTSIDE = {"PlaysError", "PlanError"}


def test_exit_codes():
    assert [c.exit_code for c in (PlaysError, UsageError, InputError, CompileError, DataError, EvaluationError)] == [
        1, 2, 2, 1, 1, 1]


def test_errors_with_diagnostics_read_like_compile_errors():
    d = error("E301", "`sum` needs a window", Span("a.play", 3, 9, 3, 20))
    for cls in (CompileError, InputError, DataError, EvaluationError):
        e = cls([d])
        assert isinstance(e, PlaysError) and e.diagnostics == (d,) and str(e) == "a.play:3:9: `sum` needs a window"
    assert str(EvaluationError([])) == "evaluation failed"


def exception_classes():
    """Every class defined in product code whose base's name ends in Error/Exception, or is Exception."""
    for folder in PRODUCT:
        for f in (ROOT / folder).rglob("*.py"):
            for node in pyast.walk(pyast.parse(f.read_text("utf-8"))):
                if isinstance(node, pyast.ClassDef):
                    bases = [b.id if isinstance(b, pyast.Name) else getattr(b, "attr", "") for b in node.bases]
                    if any(b == "Exception" or b.endswith(("Error", "Exception", "Refused")) for b in bases):
                        yield f.relative_to(ROOT).as_posix(), node.name, bases


@pytest.mark.parametrize("where, name, bases", list(exception_classes()))
def test_every_product_exception_derives_from_plays_error(where, name, bases):
    if name in OUTSIDE or name.startswith("_"):
        return
    assert "Exception" not in bases, f"{where}: {name} derives from Exception, not from plays.errors.PlaysError"
