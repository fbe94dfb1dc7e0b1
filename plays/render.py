"""Rendering diagnostics for people and machines: text, JSON, GitHub annotations, SARIF."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote
from collections.abc import Callable, Iterable

from plays import __version__
from plays.codes import CODES, explain, explain_text, explanation_text
from plays.diagnostics import Diagnostic, Severity

Sources = dict[str, str]

def summary(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for d in diagnostics:
        if d.is_error:
            errors += 1
        elif d.severity is Severity.WARNING:
            warnings += 1
    return errors, warnings


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --- text safe for a terminal or a log ---------------------------------------------

# Control characters (an escape sequence, a stray \r or \n, a bell), line and
# paragraph separators, and the bidirectional controls that reorder what a
# reader sees ("Trojan Source"). Tabs stay: they are harmless and common.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escaped(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def printable(text: object) -> str:
    r"""``text`` as it may be shown on a terminal or written to a log: every control character escaped.

    A value from a data file, a spec or a file name can never start a new
    line, move the cursor, recolour the terminal or reorder the text:
    newlines show as ``\n``, escape sequences as ``\x1b``, bidirectional
    overrides as ``\u202e``. Every text output goes through this.

    >>> printable("acme\n::error::forged\x1b[2J")
    'acme\\n::error::forged\\x1b[2J'
    """
    text = str(text)
    return _UNSAFE.sub(lambda m: _escaped(m.group()), text) if _UNSAFE.search(text) else text


# --- text ------------------------------------------------------------------------------

DEFAULT_MAX_PER_FILE = 100  # diagnostics shown per file unless asked otherwise (docs/cli.md)
EXCERPT_WIDTH = 160  # characters of a source line shown around a span; longer lines are cut


def cap_per_file(diagnostics: list[Diagnostic], limit: int | None) -> tuple[list[Diagnostic], dict[str, int]]:
    """The first ``limit`` diagnostics of each file (in order) and, per file, how many were left out.

    ``None`` or 0 means no limit. Diagnostics without a place count under "".
    """
    if not limit:
        return list(diagnostics), {}
    seen: dict[str, int] = {}
    shown, omitted = [], {}
    for d in diagnostics:
        path = d.span.path if d.span else ""
        n = seen[path] = seen.get(path, 0) + 1
        if n <= limit:
            shown.append(d)
        else:
            omitted[path] = omitted.get(path, 0) + 1
    return shown, omitted


def omitted_line(path: str, n: int, limit: int, *, named: bool = True) -> str:
    """The line that stands for the diagnostics of a file left out (``named``: starting with the path)."""
    where = f"{printable(path)}: " if path and named else ""
    return f"{where}{_plural(n, 'more diagnostic')} not shown (the first {limit:,} of the file are; --max-diagnostics 0 shows all)"


class _Lines:
    """Source lines by file, each file split once however many diagnostics point into it."""

    def __init__(self, sources: Sources):
        self._sources = sources
        self._split: dict[str, list[str]] = {}

    def get(self, path: str, number: int) -> str | None:
        """Line ``number`` (1-based) as the parser counts lines: only ``\n`` ends one."""
        lines = self._split.get(path)
        if lines is None:
            text = self._sources.get(path)
            if text is None:
                return None
            lines = self._split[path] = text.split("\n")
        if not 1 <= number <= len(lines):
            return None
        return lines[number - 1].removesuffix("\r")


def render_text(
    diagnostics: list[Diagnostic],
    sources: Sources,
    *,
    style: Callable[[str, str], str] = lambda text, kind: text,
    with_summary: bool = True,
    max_per_file: int | None = None,
) -> str:
    """``path:line:col: error[CODE]: message``, the source line, a caret under the span, notes.

    ``style(text, kind)`` colours pieces (kind is ``error``, ``warning``, ``note``,
    ``caret``, ``path``); the default leaves text plain. ``max_per_file`` shows
    at most that many diagnostics per file and one line counting the rest; the
    summary counts them all. Time is linear in the diagnostics and the text.
    """
    shown, omitted = cap_per_file(diagnostics, max_per_file)
    lines = _Lines(sources)
    out: list[str] = []
    for d in shown:
        sev = d.severity.value
        where = f"{printable(d.span)}: " if d.span else ""
        out.append(f"{style(where, 'path')}{style(f'{sev}[{printable(d.code)}]', sev)}: {printable(d.message)}")
        if d.span:
            out.extend(_excerpt(d, lines, style))
        for n in d.notes:
            at = f" ({printable(n.span)})" if n.span else ""
            out.append(f"  = note: {printable(n.message)}{at}")
        if d.suggestion:
            out.append(f"  = help: did you mean `{printable(d.suggestion)}`?")
    out.extend(omitted_line(path, n, max_per_file) for path, n in omitted.items())
    if with_summary:
        errors, warnings = summary(diagnostics)
        if errors or warnings:
            out.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    return "".join(line + "\n" for line in out)


def _cells(ch: str) -> int:
    """How many terminal columns ``ch`` takes: 0 for combining marks, 2 for wide characters."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _shown(ch: str) -> str:
    return printable(ch) if _UNSAFE.match(ch) else ch


def _excerpt(d: Diagnostic, lines: _Lines, style) -> list[str]:
    line = lines.get(d.span.path, d.span.line)
    if line is None:
        return []
    start = max(d.span.col - 1, 0)
    end = d.span.end_col - 1 if d.span.end_line == d.span.line else len(line)
    # A long line (minified, or a garbage file of one line) is cut to a window
    # around the span, marked with an ellipsis, so that each excerpt costs a
    # bounded time whatever the file.
    lead = trail = ""
    if len(line) > EXCERPT_WIDTH:
        first = max(0, min(start, len(line)) - EXCERPT_WIDTH // 4)
        last = min(len(line), first + EXCERPT_WIDTH)
        lead, trail = ("\N{HORIZONTAL ELLIPSIS}" if first else ""), ("\N{HORIZONTAL ELLIPSIS}" if last < len(line) else "")
        line, start, end = line[first:last], start - first, min(end, last) - first
    # Keep tabs in the padding so the caret lines up under the text as the
    # terminal shows it; count wide characters as two columns, an escaped
    # control character as the width of its escape.
    shown = [_shown(ch) for ch in line]
    width_of = [len(s) if len(s) > 1 else _cells(s) for s in shown]
    pad = lead and " "
    pad += "".join(ch if ch == "\t" else " " * width_of[i] for i, ch in enumerate(line[:start]))
    pad += " " * (start - len(line)) if start > len(line) else ""
    width = max(sum(width_of[start:end]), 1)
    gutter = " " * len(str(d.span.line))
    return [
        f" {d.span.line} | {lead}{''.join(shown)}{trail}",
        f" {gutter} | {pad}{style('^' * width, 'caret')}",
    ]


def render_json(diagnostics: list[Diagnostic], *, max_per_file: int | None = None) -> str:
    """``{"diagnostics": [...], "summary": {...}}``; the summary counts every diagnostic.

    With ``max_per_file``, the list holds the first that many per file and the
    summary says how many were left out, per file (``"omitted"``, only when
    some were).
    """
    shown, omitted = cap_per_file(diagnostics, max_per_file)
    errors, warnings = summary(diagnostics)
    counts: dict = {"errors": errors, "warnings": warnings}
    if omitted:
        counts["omitted"] = omitted
    doc = {"diagnostics": [d.to_json() for d in shown], "summary": counts}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_data(s: str) -> str:
    # GitHub's escapes for the line structure, then ours for the other control characters
    return printable(s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: list[Diagnostic], *, max_per_file: int | None = None) -> str:
    """GitHub Actions workflow commands: ``::error file=…,line=…::message``, one line each."""
    shown, omitted = cap_per_file(diagnostics, max_per_file)
    out = []
    for d in shown:
        kind = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
        props = []
        if d.span:
            s = d.span
            props += [f"file={_gh_prop(s.path)}", f"line={s.line}", f"col={s.col}",
                      f"endLine={s.end_line}", f"endColumn={s.end_col}"]
        # "plays E302": a bare code would read as another tool's (pycodestyle has an E302)
        props.append(f"title={_gh_prop(f'plays {d.code}')}")
        message = d.message + (f" (did you mean `{d.suggestion}`?)" if d.suggestion else "")
        message += "".join(f"\nnote: {n.message}" + (f" ({n.span})" if n.span else "") for n in d.notes)
        out.append(f"::{kind} {','.join(props)}::{_gh_data(message)}\n")
    for path, n in omitted.items():
        where = f"file={_gh_prop(path)}," if path else ""
        out.append(f"::notice {where}title=plays::{_gh_data(omitted_line(path, n, max_per_file, named=False))}\n")
    return "".join(out)


def render_sarif(diagnostics: list[Diagnostic], *, max_per_file: int | None = None) -> str:
    """A SARIF 2.1.0 log with one run; diagnostics left out by ``max_per_file`` are a tool notification."""
    diagnostics, omitted = cap_per_file(diagnostics, max_per_file)
    codes = sorted({d.code for d in diagnostics})
    index = {c: i for i, c in enumerate(codes)}
    rules = [_sarif_rule(c) for c in codes]
    results = []
    for d in diagnostics:
        text = d.message + (f" Did you mean `{d.suggestion}`?" if d.suggestion else "")
        text += "".join(f"\nNote: {n.message}" for n in d.notes if not n.span)
        result = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": {"error": "error", "warning": "warning"}.get(d.severity.value, "note"),
            "message": {"text": text},
        }
        if d.span:
            result["locations"] = [_sarif_location(d.span)]
        related = [n for n in d.notes if n.span]
        if related:
            result["relatedLocations"] = [
                dict(_sarif_location(n.span), id=i, message={"text": n.message}) for i, n in enumerate(related)
            ]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "plays",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                **({"invocations": [_omitted_invocation(omitted, max_per_file)]} if omitted else {}),
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _sarif_rule(code: str) -> dict:
    """A SARIF rule from the registry of codes (plays/codes.py, plays/codes.toml).

    The help travels in the log (``help``: the explanation, a bad example with
    its diagnostic, the fix), so code scanning shows it without a web page;
    there is no ``helpUri``: plays has no site of its own to point at, and
    docs/diagnostics.md is not installed with the tool.
    """
    entry = CODES.get(code)
    title = entry.title.replace("`", "") if entry else code
    rule = {
        "id": code,
        "name": re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-") or code,
        "shortDescription": {"text": title},
    }
    if entry:
        explanation = explanation_text(code)
        rule["fullDescription"] = {"text": explanation, "markdown": explanation}
        rule["help"] = {"text": explain_text(code), "markdown": explain(code)}
        rule["defaultConfiguration"] = {"level": entry.severity}
    return rule


def _omitted_invocation(omitted: dict[str, int], limit: int) -> dict:
    notes = []
    for path, n in omitted.items():
        note = {"level": "note", "message": {"text": omitted_line(path, n, limit, named=False)}}
        if path:
            note["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]
        notes.append(note)
    return {"executionSuccessful": True, "toolExecutionNotifications": notes}


def _uri(path: str) -> str:
    """A display path as a URI reference: relative paths stay relative, with spaces and the like escaped."""
    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    return quote(path, safe="/")


def _sarif_location(span) -> dict:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(span.path)},
            "region": {
                "startLine": span.line,
                "startColumn": span.col,
                "endLine": span.end_line,
                "endColumn": max(span.end_col, span.col),
            },
        }
    }


def render(diagnostics: list[Diagnostic], sources: Sources, fmt: str, *, max_per_file: int | None = None,
           **kw) -> str:
    """Render in ``fmt``: text, json, github or sarif; at most ``max_per_file`` diagnostics per file."""
    if fmt == "json":
        return render_json(diagnostics, max_per_file=max_per_file)
    if fmt == "github":
        return render_github(diagnostics, max_per_file=max_per_file)
    if fmt == "sarif":
        return render_sarif(diagnostics, max_per_file=max_per_file)
    return render_text(diagnostics, sources, max_per_file=max_per_file, **kw)
