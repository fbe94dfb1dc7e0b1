"""The registry of diagnostic codes: every code the product can emit, in one table.

A code never changes meaning once assigned, and a retired code is not reused.
Each entry has the code, its severity, a short title (the ``### CODE — title``
heading of its section in docs/diagnostics.md or docs/snapshots.md, which
tests/test_diagnostic_docs.py checks in both directions) and a one-line help
text (the SARIF rule's full description). ``plays.diagnostics.error`` and
``warning`` look codes up here and fail fast on one that is not registered, so
a new code is added here first, then documented.

>>> CODES["E302"].title
'enum value not in the enum'
>>> CODES["R102"].severity
'warning'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code."""

    code: str
    severity: str  # error | warning
    title: str
    help: str


def _c(code: str, title: str, help: str, severity: str | None = None) -> Code:
    return Code(code, severity or ("warning" if code.startswith("W") else "error"), title, help)


_TABLE = (
    # --- syntax (dsl/parser.py) ---------------------------------------------------
    _c("E100", "syntax error", "The text does not follow the language's grammar."),
    _c("E101", "unclosed block", "A `{` is not matched by a `}` before the next declaration or the end of the file."),
    _c("E102", "expression nested too deeply",
       "An expression nests more than 100 levels (operators, calls, parentheses, chained `and`/`or`)."),
    _c("E103", "number too large", "A number, percent or amount has more than 15 digits before its point or after it."),
    _c("E104", "duration out of range", "A duration is longer than 36,500 days (100 years)."),
    _c("E105", "date out of range", "A date is before 1900-01-01 or after 2999-12-31."),
    _c("W100", "empty file", "A `.play` file with nothing but comments and blank lines."),
    # --- names and properties (compiler/resolve.py) --------------------------------
    _c("E200", "unknown name", "A name that is neither a metric, an attribute nor an enum value."),
    _c("E201", "declared twice", "Two declarations share a name (alerts and goals share one namespace)."),
    _c("E202", "a second `account` block", "A spec set has at most one `account` block."),
    _c("E203", "a metric and an attribute share a name", "A metric may not have an attribute's name."),
    _c("E204", "unknown function", "A call to a function the language does not have."),
    _c("E205", "unknown task in `after`", "`after:` names a task that is not in the same playbook."),
    _c("E207", "unknown type", "An attribute or metric type the catalog does not have."),
    _c("E208", "value not allowed", "A severity, category or task type that is not one of the allowed words."),
    _c("E209", "enum value listed twice", "An enum lists the same value twice."),
    _c("E210", "property not allowed in this block", "A property key that belongs to another kind of block."),
    _c("E211", "property given twice", "A property key repeated in one block."),
    _c("E212", "required property missing", "A block lacks a property it must have."),
    _c("W200", "alerts with the same trigger",
       "Two alerts whose `when`, `where` and `for` are the same condition fire together for the same accounts."),
    _c("W201", "cooldown that never delays a fire",
       "An alert's `cooldown:` is at most its `for:` + 2 days: the alert cannot fire again sooner anyway."),
    # --- types (compiler/types.py, compiler/typecheck.py) --------------------------
    _c("E300", "type mismatch", "Operands whose types do not go together."),
    _c("E301", "bad function arguments", "A function called with the wrong number or kind of arguments."),
    _c("E302", "enum value not in the enum", "An enum compared with a value it does not list."),
    _c("E303", "not a condition", "A value used where a true/false condition is needed."),
    _c("E304", "property value of the wrong kind", "A property given a value of the wrong kind (a number for a duration...)."),
    _c("E305", "not a calendar date", "A date literal that is not a real day (2026-02-30)."),
    _c("W300", "percent compared with a plain number", "A percent compared with a plain number (or an amount) above 1."),
    _c("W301", "count, number or amount compared with a percent",
       "A count, number or amount compared with a percent literal: 70% is 0.7, 5% of money is $0.05."),
    # --- playbooks and tasks (compiler/playbooks.py) -------------------------------
    _c("E400", "`after`, `every` or `until` in an alert playbook", "Alert playbooks hold single tasks."),
    _c("E401", "task dependency cycle", "Tasks whose `after:` lists form a circle."),
    _c("E402", "task declared twice in a playbook", "Two tasks of one playbook share a name."),
    _c("E403", "playbook declared twice", "Two playbooks of one block share a name."),
    _c("E404", "default playbook not last", "A playbook without `where` must come last."),
    _c("E405", "unnamed playbook among several", "A block with several playbooks names each one."),
    _c("E406", "`until` without `every`", "`until:` applies to recurring tasks only."),
    _c("E407", "a recurring task in a dependency", "A recurring task may neither follow nor be followed."),
    _c("E408", "task scheduled too far out",
       "A task's planned due date is more than 36,500 days after the start (chained `due:` add up)."),
    _c("W400", "playbook can never be chosen", "No account can reach this playbook."),
    _c("W401", "segments no playbook covers", "Enum combinations that no playbook's `where` covers, and no default."),
    _c("W402", "no playbook", "A rule without a playbook creates no tasks."),
    _c("W403", "task due after its goal ends",
       "A task due (its chained `after:` dues added up), or recurring `until:`, past the goal's duration."),
    _c("W404", "recurring task that never occurs",
       "A task whose `every:` is longer than its `until:` or its goal's duration: it is never created."),
    # --- goals (compiler/playbooks.py) -----------------------------------------------
    _c("E500", "automation on an external goal", "External goals are deployed by hand: no `deploy: on`/`when`."),
    _c("E501", "account metric as an external goal's KPI", "An external goal is measured with `measure:`, not `kpi:`."),
    _c("E502", "`deploy: on` an attribute that is not a date", "`deploy: on` takes a date attribute."),
    _c("E503", "relative KPI on something that is not a metric", "`up`/`down` KPIs compare a metric."),
    _c("E504", "external goal due before its start", "An external goal's `due` must come after its `start`."),
    _c("W500", "relative KPI from a value that can be 0",
       "`up`/`down P%` from 0 at deploy is met at once, from an empty value never; require the metric above 0."),
    # --- task titles (compiler/templates.py) -----------------------------------------
    _c("E600", "title is not a valid template", "A task title that Jinja cannot parse."),
    _c("E601", "unknown name in a template", "A task title uses a name that is not in scope."),
    _c("E602", "unknown filter in a template", "A task title uses a filter that does not exist."),
    _c("E603", "not allowed in a title",
       "A task title uses a construct that could hang or blow up a run (`**`, loops, unbounded repetition, deep nesting)."),
    # --- snapshots (runtime/snapshots.py) ----------------------------------------------
    _c("R100", "unreadable or empty file", "A snapshot file that cannot be read, or has no rows."),
    _c("R101", "missing `account` or `date` column", "Every snapshot row needs an account and a date."),
    _c("R102", "unknown column (warning)", "A snapshot column the catalog does not have is ignored.", "warning"),
    _c("R103", "not a number", "A metric (or number attribute) value that is not a number."),
    _c("R104", "bad date", "A date that is not an ISO date, or an empty `date`."),
    _c("R105", "enum value not in the catalog", "An enum attribute's value that the catalog does not list."),
    _c("R106", "duplicated (account, date) row", "Two rows for one account and date."),
    _c("R107", "empty account", "A row whose account is empty."),
    _c("R108", "account id with surrounding spaces", "An account id that starts or ends with spaces or tabs."),
    _c("R109", "not text (JSON Lines)", "A text column holding a JSON number, boolean, array or object."),
    _c("R110", "malformed row", "A ragged CSV row, an unclosed quote, or a JSON Lines line that is not an object."),
    _c("R111", "not UTF-8", "A snapshot text file with a byte that is not UTF-8."),
    _c("R112", "duplicated column", "A CSV header that names a column twice; neither copy is used."),
    _c("R113", "column of the wrong type (Parquet)", "A Parquet column whose type cannot hold the catalog column."),
    # --- evaluation (runtime/engine.py, runtime/partitions.py) -----------------------------
    _c("R200", "manual deploy of an unknown template",
       "The store holds a goal deployed by hand whose template is no longer in the plan."),
    _c("R201", "task title cannot be rendered", "A task title failed to render for one account and date."),
    _c("R202", "plan cannot be evaluated", "DuckDB refused to evaluate the plan on these snapshots."),
    # --- spec test files (spectest/) -----------------------------------------------------
    _c("T100", "unreadable test file", "A test file that cannot be read, is not UTF-8 or not YAML."),
    _c("T101", "test file does not follow the format", "A test file that does not match schemas/spectest.schema.json."),
    _c("T102", "bad series value", "A series value that is not a number, percent, amount, `_` or `VxN`."),
    _c("T103", "test data does not match the catalog", "Test data naming what the catalog lacks."),
    _c("T104", "the specs a test file names cannot be read",
       "A test file's `specs:` names a path that does not exist or cannot be read."),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}


def lookup(code: str) -> Code:
    """The registered ``code``; ``KeyError`` naming this module for an unregistered one (a bug)."""
    try:
        return CODES[code]
    except KeyError:
        raise KeyError(f"diagnostic code {code} is not registered in plays/codes.py") from None
