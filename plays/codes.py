"""The registry of diagnostic codes: every code the product can emit, with its documentation.

A code never changes meaning once assigned, and a retired code is not reused.
Two parts, one home for each fact:

- ``_TABLE`` below: the code, its severity, a short title and a one-line help
  text (the lead sentence of its explanation). ``plays.diagnostics.error`` and
  ``warning`` look codes up here and fail fast on one that is not registered.
  It is Python so that every command starts without parsing a document.
- ``plays/codes.toml`` (package data, read on first use): for each code the
  rest of its explanation, a bad example, the diagnostic that example gives,
  and the example fixed; the groups of docs/diagnostics.md and the catalog the
  examples are checked against. ``plays explain-code``, the SARIF rules and
  the language server's hover read it; docs/diagnostics.md is generated from
  it (``python tools/gen_diagnostics_md.py``), and tests/test_diagnostic_docs.py
  compiles every example and checks the committed docs are up to date.

A new code is added to ``_TABLE`` first, then given its entry in codes.toml.

>>> CODES["E302"].title
'enum value not in the enum'
>>> CODES["R102"].severity
'warning'
>>> docs("E302").file
'example.play'
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code."""

    code: str
    severity: str  # error | warning
    title: str
    help: str  # one sentence: the lead of the explanation


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
    # --- suppressions (compiler/suppress.py) and configuration (plays/config.py) ----------
    _c("W900", "suppression matches nothing",
       "A `# plays: disable=CODE` comment whose code is not reported where it applies."),
    _c("W901", "malformed `# plays:` comment",
       "A `# plays:` comment that is not `disable=CODE[,CODE]` or `disable-file=...` with an optional `until=DATE`."),
    _c("W902", "code cannot be suppressed",
       "A suppression of an error (errors make the spec set uncompilable) or of a code the spec checker does not report."),
    _c("C100", "configuration file cannot be read",
       "A plays.toml or pyproject.toml that cannot be read, is not UTF-8 or is not valid TOML."),
    _c("C101", "unknown configuration key", "A key of [tool.plays] (or plays.toml) that plays does not know."),
    _c("C102", "configuration value of the wrong type", "A configuration value of the wrong TOML type."),
    _c("C103", "configuration value not allowed",
       "A configuration value of the right type that is not allowed: an unknown code, a severity word, a range."),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}


def lookup(code: str) -> Code:
    """The registered ``code``; ``KeyError`` naming this module for an unregistered one (a bug)."""
    try:
        return CODES[code]
    except KeyError:
        raise KeyError(f"diagnostic code {code} is not registered in plays/codes.py") from None


# --- the documentation of each code (plays/codes.toml) ------------------------------------

# What an example is, by the code's family: the file it stands for and the
# language of its fenced block in Markdown.
_KINDS = {
    "R1": ("export.csv", "csv"),  # a snapshot file, validated against the catalog
    "R2": ("", "sh"),  # a command line and what it prints (evaluation)
    "T": ("example.test.yaml", "yaml"),  # a spec test file
    "C": ("plays.toml", "toml"),  # a configuration file (or pyproject.toml, by the entry's `file`)
}
_SPEC = ("example.play", "play")


@dataclass(frozen=True, slots=True)
class Docs:
    """The documentation of one code, beyond its registry entry."""

    code: str
    details: str  # Markdown after the lead sentence; "" when the sentence says it all
    example: str  # the bad example, as a file (or a command line for R2xx)
    diagnostic: str  # what plays reports on the example, as `plays check` prints it
    fixed: str  # the example fixed: it gives no diagnostic
    file: str  # the example's file name ("" for a command line)
    lang: str  # the language of its fenced block
    standalone: bool = False  # a spec example that is the whole spec set (no catalog added)
    encoding: str = "utf-8"  # how a snapshot example is saved
    also: tuple[str, ...] = ()  # other codes the bad example gives by design (shown with it)

    @property
    def explanation(self) -> str:
        """The lead sentence and the details: what the code means, in Markdown."""
        return f"{lookup(self.code).help}\n\n{self.details}".strip()


@functools.cache
def _data() -> dict:
    return tomllib.loads(files("plays").joinpath("codes.toml").read_text("utf-8"))


def _kind(code: str) -> tuple[str, str]:
    for prefix, kind in _KINDS.items():
        if code.startswith(prefix):
            return kind
    return _SPEC


def docs(code: str) -> Docs:
    """The documentation of a registered ``code`` (``KeyError`` for an unregistered one)."""
    lookup(code)
    entry = _data()["codes"].get(code)
    if entry is None:
        raise KeyError(f"diagnostic code {code} has no entry in plays/codes.toml")
    file, lang = _kind(code)
    file = entry.get("file", file)
    if "." in file:
        lang = {"jsonl": "json", "parquet": "sql"}.get(file.rsplit(".", 1)[1], lang)
    return Docs(
        code=code,
        details=entry.get("details", "").strip(),
        example=entry["example"].strip("\n"),
        diagnostic=entry["diagnostic"].strip("\n"),
        fixed=entry["fixed"].strip("\n"),
        file=file,
        lang=lang,
        standalone=entry.get("standalone", False),
        encoding=entry.get("encoding", "utf-8"),
        also=tuple(entry.get("also", ())),
    )


def documented() -> list[str]:
    """The codes that have an entry in plays/codes.toml, in its order."""
    return list(_data()["codes"])


def catalog() -> str:
    """The catalog (``account`` block and metrics) every spec example is compiled with."""
    return _data()["catalog"].strip("\n") + "\n"


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _unlinked(markdown: str) -> str:
    """Links to the repository's docs as plain text: they lead nowhere outside docs/."""

    def plain(m: re.Match) -> str:
        text, target = m.groups()
        if re.match(r"[a-z]+:", target):
            return m.group()
        if target.startswith("#"):  # a section of the same page
            return text
        page = "docs/" + target.split("#")[0]
        return page if text == target.split("#")[0] else f"{text} ({page})"

    return _LINK.sub(plain, markdown)


def _fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text}\n```"


def _indent(text: str, lang: str = "") -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.split("\n"))


def _examples(d: Docs, block=_fence) -> str:
    """The bad example, its diagnostic and the fixed example; ``block`` sets each example off."""
    whole = ", the whole spec set" if d.standalone else ""
    named = f" (`{d.file}`{whole})" if d.file else ""
    if block is _indent:
        named = named.replace("`", "")
    parts = [f"Example{named}:", block(d.example, d.lang), "gives:", block(d.diagnostic, "text")]
    parts += ["Fixed:", block(d.fixed, d.lang)]
    return "\n\n".join(parts)


def _section_body(code: str, *, in_docs: bool, block=_fence) -> str:
    d = docs(code)
    explanation = d.explanation if in_docs else _unlinked(d.explanation)
    return f"{explanation}\n\n{_examples(d, block)}"


def explain(code: str) -> str:
    """Markdown for one code: title, severity, explanation, the bad example with its diagnostic, the fix.

    For the language server's hover and the SARIF rules' help; links into the
    repository's docs are written as plain file names (they lead nowhere from there).
    """
    c = lookup(code)
    return f"**{c.code} — {c.title}** ({c.severity})\n\n{_section_body(code, in_docs=False)}\n"


def explain_text(code: str) -> str:
    """``explain`` for a terminal (``plays explain-code``): examples indented rather than fenced."""
    c = lookup(code)
    return f"{c.code} — {c.title} ({c.severity})\n\n{_section_body(code, in_docs=False, block=_indent)}\n"


def explanation_text(code: str) -> str:
    """The explanation alone, paragraphs on one line each, links as plain file names.

    The SARIF rule's full description: a viewer wraps it to its own width.
    """
    paragraphs = _unlinked(docs(code).explanation).split("\n\n")
    return "\n\n".join(p if re.search(r"^(\s|[-*] |```)", p, re.M) else " ".join(p.split()) for p in paragraphs)


def groups() -> list[tuple[str, str, list[str]]]:
    """(title, introduction, codes) of each group of docs/diagnostics.md, codes in registry order."""
    out = []
    for g in _data()["groups"]:
        members = [c for c in CODES if any(c.startswith(p) for p in g["prefixes"])]
        out.append((g["title"], g.get("intro", "").strip(), members))
    return out


_CATALOG_NOTE = """\
Each code below has a bad example, the diagnostic `plays` gives on it, and
the example fixed; the tests check them (all but R201's and R202's, see
"Evaluation"). A `.play` example is checked together with this catalog (the
one of `specs/catalog.play`), a snapshot example is validated against it,
and a spec test file runs on it:"""


def reference_markdown() -> str:
    """The text of docs/diagnostics.md: the introduction, then every code, group by group."""
    data = _data()
    out = [data["intro"].strip(), _CATALOG_NOTE,
           _fence(catalog().rstrip("\n"), "play")]
    for title, intro, members in groups():
        out.append(f"## {title}")
        if intro:
            out.append(intro)
        for code in members:
            out.append(f"### {code} — {CODES[code].title}")
            out.append(_section_body(code, in_docs=True))
    return GENERATED + "\n\n".join(out) + "\n"


GENERATED = "<!-- Generated from plays/codes.py and plays/codes.toml by tools/gen_diagnostics_md.py: edit those. -->\n"
