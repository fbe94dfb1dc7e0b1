"""Rendering diagnostics for people and machines: text, JSON, GitHub annotations, SARIF."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote
from collections.abc import Callable, Iterable

from plays import __version__
from plays.codes import CODES
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
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(
    diagnostics: list[Diagnostic],
    sources: Sources,
    *,
    style: Callable[[str, str], str] = lambda text, kind: text,
    with_summary: bool = True,
) -> str:
    """``path:line:col: error[CODE]: message``, the source line, a caret under the span, notes.

    ``style(text, kind)`` colours pieces (kind is ``error``, ``warning``, ``note``,
    ``caret``, ``path``); the default leaves text plain.
    """
    out: list[str] = []
    for d in diagnostics:
        sev = d.severity.value
        where = f"{d.span}: " if d.span else ""
        out.append(f"{style(where, 'path')}{style(f'{sev}[{d.code}]', sev)}: {d.message}")
        if d.span:
            out.extend(_excerpt(d, sources, style))
        for n in d.notes:
            at = f" ({n.span})" if n.span else ""
            out.append(f"  = note: {n.message}{at}")
        if d.suggestion:
            out.append(f"  = help: did you mean `{d.suggestion}`?")
    if with_summary:
        errors, warnings = summary(diagnostics)
        if errors or warnings:
            out.append(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    return "".join(line + "\n" for line in out)


def _source_line(text: str, number: int) -> str | None:
    """Line ``number`` (1-based) as the parser counts lines: only ``\n`` ends one."""
    lines = text.split("\n")
    if not 1 <= number <= len(lines):
        return None
    return lines[number - 1].removesuffix("\r")


def _cells(ch: str) -> int:
    """How many terminal columns ``ch`` takes: 0 for combining marks, 2 for wide characters."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(ch: str) -> str:
    # A control character (an escape sequence, a stray \r, a line separator)
    # would move the cursor or recolour the terminal, and a bidirectional
    # override would reorder what the reader sees; show each as one visible
    # cell instead. Tabs stay.
    if ch != "\t" and (unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI):
        return "\N{REPLACEMENT CHARACTER}"
    return ch


def _excerpt(d: Diagnostic, sources: Sources, style) -> list[str]:
    text = sources.get(d.span.path)
    line = None if text is None else _source_line(text, d.span.line)
    if line is None:
        return []
    start = max(d.span.col - 1, 0)
    end = d.span.end_col - 1 if d.span.end_line == d.span.line else len(line)
    # Keep tabs in the padding so the caret lines up under the text as the
    # terminal shows it; count wide characters as two columns.
    pad = "".join(ch if ch == "\t" else " " * _cells(ch) for ch in line[:start])
    pad += " " * (start - len(line)) if start > len(line) else ""
    width = max(sum(_cells(ch) for ch in line[start:end]), 1)
    gutter = " " * len(str(d.span.line))
    return [
        f" {d.span.line} | {''.join(map(_printable, line))}",
        f" {gutter} | {pad}{style('^' * width, 'caret')}",
    ]


def render_json(diagnostics: list[Diagnostic]) -> str:
    errors, warnings = summary(diagnostics)
    doc = {
        "diagnostics": [d.to_json() for d in diagnostics],
        "summary": {"errors": errors, "warnings": warnings},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub Actions workflow commands: ``::error file=…,line=…::message``."""
    out = []
    for d in diagnostics:
        kind = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
        props = []
        if d.span:
            s = d.span
            props += [f"file={_gh_prop(s.path)}", f"line={s.line}", f"col={s.col}",
                      f"endLine={s.end_line}", f"endColumn={s.end_col}"]
        props.append(f"title={_gh_prop(d.code)}")
        message = d.message + (f" (did you mean `{d.suggestion}`?)" if d.suggestion else "")
        message += "".join(f"\nnote: {n.message}" + (f" ({n.span})" if n.span else "") for n in d.notes)
        out.append(f"::{kind} {','.join(props)}::{_gh_data(message)}\n")
    return "".join(out)


def render_sarif(diagnostics: list[Diagnostic]) -> str:
    """A SARIF 2.1.0 log with one run."""
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
                        "informationUri": "https://plays.dev/docs/diagnostics",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _sarif_rule(code: str) -> dict:
    """A SARIF rule from the registry of codes (plays/codes.py)."""
    entry = CODES.get(code)
    title = entry.title.replace("`", "") if entry else code
    rule = {
        "id": code,
        "name": re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-") or code,
        "shortDescription": {"text": title},
    }
    if entry:
        rule["fullDescription"] = {"text": entry.help}
    rule["helpUri"] = f"https://plays.dev/docs/diagnostics#{code.lower()}"
    return rule


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


def render(diagnostics: list[Diagnostic], sources: Sources, fmt: str, **kw) -> str:
    """Render in ``fmt``: text, json, github or sarif."""
    if fmt == "json":
        return render_json(diagnostics)
    if fmt == "github":
        return render_github(diagnostics)
    if fmt == "sarif":
        return render_sarif(diagnostics)
    return render_text(diagnostics, sources, **kw)
