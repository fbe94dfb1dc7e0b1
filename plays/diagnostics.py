"""Diagnostics shared by every stage: source spans, messages, severities."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from plays.codes import lookup
from plays.errors import CompileError, UsageError  # noqa: F401  (re-exported: their historical home)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, end exclusive."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, path: str, line: int, col: int) -> Span:
        """A one-character span at ``line``:``col``."""
        return cls(path, line, col, line, col + 1)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class Severity(str, Enum):
    """How bad a diagnostic is; errors stop compilation, warnings do not."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary message, optionally pointing at another place."""

    message: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in the input, with a stable code (see docs/diagnostics.md)."""

    code: str
    severity: Severity
    message: str
    span: Span | None
    notes: tuple[Note, ...] = field(default=())
    suggestion: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.span
        return (
            (s.path, s.line, s.col) if s else ("", 0, 0),
            self.code,
            self.message,
        )

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "notes": [
                {"message": n.message, "span": n.span.to_json() if n.span else None}
                for n in self.notes
            ],
            "suggestion": self.suggestion,
        }


def _checked(code: str, severity: Severity) -> str:
    """``code`` when plays/codes.py registers it with ``severity``; a bug (``KeyError``/``ValueError``) otherwise."""
    registered = lookup(code).severity
    if registered != severity.value:
        raise ValueError(f"diagnostic code {code} is registered as {registered}, not {severity.value}")
    return code


def error(code: str, message: str, span: Span | None, *, notes=(), suggestion=None) -> Diagnostic:
    """An error diagnostic; ``code`` must be registered in plays/codes.py as an error.

    >>> error("X1", "nope", None)
    Traceback (most recent call last):
    ...
    KeyError: 'diagnostic code X1 is not registered in plays/codes.py'
    """
    return Diagnostic(_checked(code, Severity.ERROR), Severity.ERROR, message, span, tuple(notes), suggestion)


def warning(code: str, message: str, span: Span | None, *, notes=(), suggestion=None) -> Diagnostic:
    """A warning diagnostic; ``code`` must be registered in plays/codes.py as a warning."""
    return Diagnostic(_checked(code, Severity.WARNING), Severity.WARNING, message, span, tuple(notes), suggestion)


def suggest_code(raw: str, candidates) -> str | None:
    """The diagnostic code a mistyped one meant: its case, O, I or l typed for 0 or 1 (`W3OO`), else the closest."""
    key = raw.strip().upper()
    key = key[:1] + key[1:].translate(str.maketrans("OIL", "011"))
    found = set(candidates)
    return key if key in found else suggest(key, found)


def suggest(name: str, candidates) -> str | None:
    """The closest candidate to a misspelt ``name``, for "did you mean" hints."""
    import difflib

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None
