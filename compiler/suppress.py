"""Suppression comments and configured severities, applied to a compile result in one place.

``compile_sources`` ends here, so ``plays check``, ``plays compile``, the
compile of ``plays test``, ``run``, ``diff`` and the language server all see
the same diagnostics. The forms (docs/diagnostics.md, "Suppressions (W9xx)",
written from plays/codes.toml):

- ``# plays: disable=W300,W402`` at the end of a line: the warnings that
  start on that line; alone on its line: those that start on the next line
  that holds code (blank lines and other comments in between are skipped);
- ``# plays: disable-file=W100``: the warnings anywhere in the file;
- ``until=YYYY-MM-DD`` after either: the suppression holds up to and
  including that day (the run's local date, ``Settings.today`` in tests);
  after it the warning comes back, with a note that the suppression expired.

Only warnings can be suppressed: every error stops the spec set from
compiling, so a suppression naming an error is itself reported (W902), and
the error stays. A suppression that matches nothing is W900 (reported once
the spec set has no errors: until then some checks may not have run); a
malformed ``# plays:`` comment is W901 and suppresses nothing. Then the
configuration's ``severity`` table turns warnings into errors or off.

Comments are found with the grammar's own ``STRING`` and ``COMMENT``
terminals (``_LEXEMES``), so a ``#`` inside a quoted title is not a comment.

>>> from plays.compiler.driver import compile_sources
>>> from plays.sources import Source
>>> text = 'metric m: percent\\nalert a {  # plays: disable=W402\\n  when: m > 80  # plays: disable=W300\\n}\\n'
>>> [d.code for d in compile_sources([Source("a.play", text)]).diagnostics]
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from plays.codes import CODES
from plays.config import NO_SETTINGS, Settings
from plays.diagnostics import Diagnostic, Note, Severity, Span, suggest, suggest_code, warning

# The grammar's STRING and COMMENT terminals (dsl/grammar.lark; a test keeps them equal): a match that
# starts with `#` is a comment, one that starts with `"` is skipped whole.
_STRING = r'"(?:[^"\\\n]|\\["\\])*"'
_COMMENT = r"#[^\n]*"
_LEXEMES = re.compile(f"{_STRING}|{_COMMENT}")

_DIRECTIVE = re.compile(r"#\s*plays\s*:")
_NEAR_MISS = re.compile(r"#\s*plays?\b\s*[:=]?\s*(?:disable|enable|ignore|noqa|disable-file)\b", re.I)
DIRECTIVES = ("disable", "disable-file")
OPTIONS = ("disable", "disable-file", "until")
_ITEM = re.compile(r"([^\s=,]+)(?:\s*=\s*((?:[^\s,=]*\s*,\s*)*[^\s,=]*))?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE_LIKE = re.compile(r"[A-Za-z]\d{3}(?:,[A-Za-z]\d{3})*")


@dataclass
class Suppression:
    """One ``# plays: disable…`` comment: its codes (with their spans), where it applies, until when."""

    path: str
    span: Span  # the whole comment
    text: str
    codes: dict[str, Span]
    file_wide: bool
    line: int | None  # the line it applies to (None: file-wide, or no code line follows)
    until: date | None
    used: set[str] = field(default_factory=set)

    def covers(self, d: Diagnostic) -> bool:
        return (d.code in self.codes and d.span is not None and d.span.path == self.path
                and (self.file_wide or d.span.line == self.line))


def scan(text: str, path: str) -> tuple[list[Suppression], list[Diagnostic]]:
    """The suppressions of one file and the problems of its ``# plays:`` comments (W901, W902).

    One pass over the lines: strings and comments never span lines, so each
    line with a ``#`` is scanned on its own.
    """
    if "plays" not in text and "disable" not in text:
        return [], []
    found: list[Suppression] = []
    problems: list[Diagnostic] = []
    waiting: list[Suppression] = []  # alone on their line: they apply to the next line that holds code
    for line, text_of_line in enumerate(text.split("\n"), 1):
        m = _comment_in(text_of_line) if "#" in text_of_line else None
        if waiting and (text_of_line[: m.start()] if m else text_of_line).strip():
            for s in waiting:
                s.line = line
            waiting = []
        if m is None:
            continue
        comment, col = m.group(), m.start() + 1
        span = Span(path, line, col, line, col + len(comment))
        directive = _DIRECTIVE.match(comment)
        if directive is None:
            if _NEAR_MISS.match(comment):
                problems.append(warning(
                    "W901", "this looks like a suppression, but suppressions are written `# plays: disable=CODE`",
                    span, suggestion=_near_miss_fix(comment)))
            continue
        s, diags = _parse(comment, directive.end(), span, path, line)
        problems.extend(diags)
        if s is None:
            continue
        if not s.file_wide and not text_of_line[: m.start()].strip():
            s.line = None  # until a line of code follows
            waiting.append(s)
        found.append(s)
    return found, problems


def _comment_in(line: str) -> re.Match | None:
    """The comment of one line (a ``#`` outside a string), or ``None``."""
    for m in _LEXEMES.finditer(line):
        if m.group().startswith("#"):
            return m
    return None


def _near_miss_fix(comment: str) -> str | None:
    m = re.search(r"(disable-file|disable)\b\s*[=:]?\s*(.*)", comment, re.I)
    if not m:
        return "# plays: disable=CODE"
    rest = m.group(2).strip()
    return f"# plays: {m.group(1).lower()}={rest}" if rest else f"# plays: {m.group(1).lower()}=CODE"


def _parse(comment: str, body_at: int, span: Span, path: str, target: int | None):
    """One ``# plays:`` comment: ``(Suppression or None, its problems)``; any W901 means it applies to nothing."""
    body = comment[body_at:]
    reason = body.find("#")  # `# plays: disable=W300  # why` : the reason is free text
    if reason >= 0:
        body = body[:reason]
    col0 = span.col + body_at

    def at(start: int, end: int) -> Span:
        return Span(path, span.line, col0 + start, span.line, col0 + max(end, start + 1))

    malformed: list[Diagnostic] = []
    kind = None
    codes: dict[str, Span] = {}
    unsuppressible: list[Diagnostic] = []
    until = None
    items = list(_ITEM.finditer(body))
    skip = None
    for n, m in enumerate(items):
        if m is skip:
            continue
        key, value = m.group(1), m.group(2)
        key_span = at(m.start(1), m.end(1))
        nxt = items[n + 1] if n + 1 < len(items) else None
        if key in DIRECTIVES and value is None and nxt is not None and nxt.group(2) is None \
                and _CODE_LIKE.fullmatch(nxt.group(1).rstrip(",")):
            malformed.append(warning("W901", f"`{key}` and its codes are joined by `=`", key_span,
                                     suggestion=f"{key}={nxt.group(1).rstrip(',')}"))
            skip = nxt
            continue
        if key not in OPTIONS:
            near = suggest(key.lower(), OPTIONS)
            malformed.append(warning("W901", f"`{key}` is not a suppression option; write `disable=CODE`, "
                                             "`disable-file=CODE` and optionally `until=YYYY-MM-DD`",
                                     key_span, suggestion=near))
            continue
        if value is None or not value.strip(" ,"):
            example = "until=2027-03-31" if key == "until" else f"{key}=W300"
            malformed.append(warning("W901", f"`{key}` needs a value, like `{example}`", key_span))
            continue
        if key == "until":
            if until is not None:
                malformed.append(warning("W901", "`until` is given twice", key_span))
                continue
            until = _until(value, at(m.start(2), m.end(2)), malformed)
            continue
        if kind is not None:
            malformed.append(warning("W901", f"one directive per comment: `{kind}` is already given", key_span))
            continue
        kind = key
        for c in re.finditer(r"[^\s,]+|(?<=,)\s*(?=,|$)", value):
            c_span = at(m.start(2) + c.start(), m.start(2) + c.end())
            code = c.group().strip()
            if not code:
                malformed.append(warning("W901", "an empty code in the list", c_span))
            elif code not in CODES:
                near = suggest_code(code, CODES)
                malformed.append(warning("W901", f"`{code}` is not a diagnostic code", c_span, suggestion=near))
            elif (why := _unsuppressible(code)) is not None:
                unsuppressible.append(warning("W902", why, c_span))
            else:
                codes.setdefault(code, c_span)
    if kind is None and not malformed:
        malformed.append(warning("W901", "a `# plays:` comment needs `disable=CODE` or `disable-file=CODE`", span))
    if malformed:
        return None, malformed + unsuppressible
    if not codes:
        return None, unsuppressible
    file_wide = kind == "disable-file"
    return Suppression(path, span, comment, codes, file_wide, None if file_wide else target, until), unsuppressible


def _until(value: str, span: Span, malformed: list) -> date | None:
    value = value.strip()
    if not _DATE.fullmatch(value):
        malformed.append(warning("W901", f"`until={value}`: not a date like 2027-03-31", span))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        malformed.append(warning("W901", f"`until={value}`: not a calendar date", span))
        return None


def _unsuppressible(code: str) -> str | None:
    """Why a comment cannot suppress ``code``, or ``None`` when it can."""
    if code[0] not in "EW":
        return f"{code} is not reported on spec files, so there is nothing here to suppress"
    if CODES[code].severity == "error":
        return (f"{code} is an error and cannot be suppressed: an error makes the spec set uncompilable "
                "(fix it instead)")
    if code in _OWN:
        return f"{code} is about suppression comments themselves; turn it off in the configuration instead"
    return None


_OWN = {"W900", "W901", "W902"}


# --- applying ---------------------------------------------------------------------------


def apply(result, settings: Settings | None = None):
    """``result`` (a ``driver.Result``) with suppressions and configured severities applied.

    The plan is dropped when a warning became an error (``result.ok`` is then false).
    """
    settings = settings or NO_SETTINGS
    if not settings.severity and not any(("plays" in t or "disable" in t) for t in result.sources.values()):
        return result  # nothing to do: the common case costs one scan of each text for a word
    today = settings.run_date()
    suppressions: dict[str, list[Suppression]] = {}  # by file
    diagnostics: list[Diagnostic] = []
    for path, text in result.sources.items():
        found, problems = scan(text, path)
        if found:
            suppressions[path] = found
        diagnostics.extend(problems)
    had_errors = any(d.is_error for d in result.diagnostics)
    for d in result.diagnostics:
        here = suppressions.get(d.span.path, ()) if d.span is not None else ()
        diagnostics.extend(_suppressed(d, here, today) if here else [d])
    if not had_errors:
        for s in (s for found in suppressions.values() for s in found):
            for code, span in s.codes.items():
                if code not in s.used:
                    diagnostics.append(_unused(s, code, span, today))
    diagnostics = [x for d in diagnostics if (x := _with_severity(d, settings.severity)) is not None]
    diagnostics = sorted(set(diagnostics), key=Diagnostic.sort_key)
    plan = result.plan if not any(d.is_error for d in diagnostics) else None
    return replace(result, diagnostics=diagnostics, plan=plan)


def _suppressed(d: Diagnostic, suppressions: list[Suppression], today: date) -> list[Diagnostic]:
    """``[d]`` when it stays (with a note for each expired suppression that matched it), ``[]`` when suppressed."""
    if d.severity is not Severity.WARNING:
        return [d]
    expired, active = [], False
    for s in suppressions:  # every suppression that covers it is used, so a second one is not "unused"
        if s.covers(d):
            s.used.add(d.code)
            if s.until is not None and today > s.until:
                expired.append(s)
            else:
                active = True
    if active:
        return []
    if not expired:
        return [d]
    notes = tuple(Note(f"a suppression of {d.code} expired on {s.until.isoformat()}", s.span) for s in expired)
    return [replace(d, notes=d.notes + notes)]


def _unused(s: Suppression, code: str, span: Span, today: date) -> Diagnostic:
    where = "in this file" if s.file_wide else (f"on line {s.line}" if s.line else "after it (no code follows)")
    expired = f" (the suppression expired on {s.until.isoformat()})" if s.until and today > s.until else ""
    return warning("W900", f"nothing to suppress: no {code} is reported {where}{expired}; remove it", span)


def _with_severity(d: Diagnostic, severity) -> Diagnostic | None:
    level = severity.get(d.code) if severity else None
    if level is None or d.severity is Severity.NOTE:
        return d
    if level == "off":
        return None
    wanted = Severity.ERROR if level == "error" else Severity.WARNING
    return d if d.severity is wanted else replace(d, severity=wanted)
