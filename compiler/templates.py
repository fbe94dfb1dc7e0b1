"""Compiler pass 4: task titles are Jinja templates; check what each one does and uses.

Every title is compiled once into a title program (``compiler/title.py``):
its syntax, the constructs it may use (E603), its filters (E602) and the
arguments of the language's functions (E301) are checked there; its names
(E601), the arguments' names and the operands of its arithmetic are then
checked against the catalog and the kind of rule (``check_title``). The
runtime renders the same program.

Rendering values (supplied by the runtime): ``account`` (attributes and
``id``), every metric's value at the evaluation date, the language's
function calls (``pct_change(mau, 7d)``), ``alert`` or ``goal`` (``name``,
``title``) and ``today``.
"""

from __future__ import annotations

import re

from plays.diagnostics import Span
from plays.dsl import ast

from .context import Context
from .title import TitleError, TitleProblem, check_title, compile_title


def check_templates(ctx: Context) -> None:
    """Compile every task title and check the names, functions and operators it uses."""
    metrics = {name: m.type for name, m in ctx.catalog.metrics.items()}
    attrs = {name: a.type for name, a in ctx.catalog.attributes.items()}
    cache: dict[tuple[str, str], list[TitleProblem]] = {}
    for kind, rules in (("alert", ctx.alerts.values()), ("goal", ctx.goals.values())):
        for rule in rules:
            for book in rule.playbooks:
                for task in book.tasks:
                    key = (kind, task.title)
                    if key not in cache:
                        cache[key] = _problems(task.title, metrics, attrs, kind)
                    for p in cache[key]:
                        ctx.error(p.code, p.message, title_span(task, p), suggestion=p.suggestion)


def _problems(text: str, metrics: dict[str, str], attrs: dict[str, str], kind: str) -> list[TitleProblem]:
    try:
        title = compile_title(text)
    except TitleError as e:
        return list(e.problems)
    return check_title(title, metrics, attrs, kind)


def title_span(task: ast.Task, problem: TitleProblem | None = None) -> Span:
    """Where a title's problem is: the part of the title it concerns when known, else the whole title.

    The title's text is the string literal without its quotes and with ``\\"``
    and ``\\\\`` unescaped, so each `"` or `\\` before the offset moves it one
    column to the right.
    """
    span = task.title_span
    if problem is None or problem.offset is None or span.line != span.end_line:
        return span
    before = task.title[: problem.offset]
    col = span.col + 1 + problem.offset + before.count('"') + before.count("\\")
    token = _TOKEN.match(task.title, problem.offset)
    part = token.group() if token else " "
    end = col + len(part) + part.count('"') + part.count("\\")
    if end > span.end_col - 1:
        return span
    return Span(span.path, span.line, col, span.line, end)


_TOKEN = re.compile(r"[\w.]+|\S")  # what a problem's offset points at: a name (with its dots), a number, a sign
