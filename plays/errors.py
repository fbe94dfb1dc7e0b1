"""The exception hierarchy: every error ``plays`` raises on purpose derives from ``PlaysError``.

Library code raises these; only the CLI (``plays/cli/``) turns them into
messages and exit codes, with ``exit_code`` as the default mapping:

====================  =====  ===============================================================
class                 exit   meaning
====================  =====  ===============================================================
``PlaysError``        1      the root; not raised by itself
``UsageError``        2      a bad invocation or an unreadable path/file (one line)
``InputError``        2      a malformed input file: a test file, a plan, a store (positioned)
``CompileError``      1      the spec set has errors (its diagnostics)
``DataError``         1      bad snapshot data: rows that do not match the catalog
``EvaluationError``   1      a plan element that cannot be evaluated (a code and its span)
====================  =====  ===============================================================

Anything else escaping a command is a bug: the CLI reports it in one line as an
internal error and exits 70 (``compiler.plan.PlanError`` from the compiler is
such a bug, and stays outside this hierarchy).

Classes that predate this module derive from ``PlaysError`` and keep their own
constructors until their owners move them to the classes above:
``runtime.snapshots.SnapshotError`` (exit 1, as ``DataError``),
``state.store.StoreError`` (a ``UsageError``), ``state.store.ActionRefused``
(exit 1) and ``spectest.runner.SpecFileError`` (exit 2, as ``InputError``).
Library code should raise ``InputError`` (or ``DataError``), not the CLI's
``UsageError``, for bad input files: ``spectest.discover_test_files`` and
``runtime.snapshots.expand`` still raise ``UsageError``. ``InputError``, ``DataError`` and
``EvaluationError`` carry ``Diagnostic``\\ s (with a code of plays/codes.py and
a span) and render like compile diagnostics.

>>> issubclass(CompileError, PlaysError), UsageError.exit_code, CompileError([]).exit_code
(True, 2, 1)
"""

from __future__ import annotations


class PlaysError(Exception):
    """The root of every error ``plays`` raises on purpose; ``exit_code`` is the CLI's default."""

    exit_code = 1


class UsageError(PlaysError):
    """Bad invocation or unreadable input (exit code 2): a one-line message."""

    exit_code = 2


class _WithDiagnostics(PlaysError):
    """An error that carries positioned diagnostics; its message is the first error's."""

    def __init__(self, diagnostics, message: str | None = None):
        self.diagnostics = tuple(diagnostics)  # plays.diagnostics.Diagnostic (imported by it, not here)
        if message is None:
            first = next((d for d in self.diagnostics if d.is_error), None)
            if first is None:
                message = self.default_message
            elif first.span is not None:
                message = f"{first.span}: {first.message}"
            else:
                message = first.message
        super().__init__(message)

    default_message = "failed"


class CompileError(_WithDiagnostics):
    """Raised at the public API boundary when a stage reported errors."""

    default_message = "compilation failed"


class InputError(_WithDiagnostics):
    """A malformed input file (a spec test file, a plan, a store): exit 2 with its diagnostics."""

    exit_code = 2
    default_message = "malformed input"


class DataError(_WithDiagnostics):
    """Snapshot data that does not match the catalog: exit 1 with positioned diagnostics."""

    default_message = "bad input data"


class EvaluationError(_WithDiagnostics):
    """A plan element that cannot be evaluated: a code and the element's span, shown like a compile error.

    >>> from plays.diagnostics import Span, error
    >>> str(EvaluationError([error("E301", "`sum` needs a window", Span("a.play", 3, 9, 3, 20))]))
    'a.play:3:9: `sum` needs a window'
    """

    default_message = "evaluation failed"
