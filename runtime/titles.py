"""Task titles at run time: the values a rule's titles use, fetched as detail columns, and rendering.

The compiler checked every title; here each title is rendered from the
values of one account on one date. What a rule's titles use (account
attributes, metrics, window functions) is worked out once per plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from plays.compiler.plan import Call, Const, Metric, Plan, Task
from plays.compiler.templates import compile_title, make_environment, to_jinja

from .sql import call_sql, ident

_CALL = re.compile(r'\b(\w+)\("(\w+)"(?:\s*,\s*(\d+))?\s*\)')
FUNCTIONS = frozenset({"value_at", "previous", "change", "pct_change", "sum", "avg", "min", "max", "count",
                       "days_since", "days_until"})


@dataclass(frozen=True, slots=True)
class TitleUses:
    """What a plan's task titles use: the names per rule, and the language's function calls."""

    names: dict[str, frozenset[str]]
    calls: dict[tuple, Call]  # (func, first argument, days) -> the call


def title_uses(plan: Plan) -> TitleUses:
    """Read every task title of the plan once."""
    from jinja2 import meta

    env = make_environment()
    names_by_rule: dict[str, frozenset[str]] = {}
    calls: dict[tuple, Call] = {}
    for rule in plan.rules:
        names: set[str] = set()
        for book in rule.playbooks:
            for t in book.tasks:
                jinja = to_jinja(t.title)
                names |= meta.find_undeclared_variables(env.parse(jinja))
                for func, first, days in _CALL.findall(jinja):
                    if func in FUNCTIONS:
                        n = int(days) if days else None
                        calls[(func, first, n)] = Call(
                            "number", func, (Metric("number", first),) + ((Const("duration", n),) if days else ()))
        names_by_rule[rule.name] = frozenset(names)
    return TitleUses(names_by_rule, calls)


class TitleRenderer:
    """Renders task titles from detail rows; ``column(sql) -> name`` registers what they need fetched."""

    def __init__(self, plan: Plan, uses: TitleUses, column: Callable[[str], str], windows=None):
        cat = plan.catalog
        self.names = uses.names
        self.calls: dict[tuple, str] = {}  # (func, first, days) -> column
        for key, node in uses.calls.items():
            try:
                self.calls[key] = column(call_sql(node, windows))
            except (KeyError, IndexError, TypeError):
                continue
        used = set().union(*uses.names.values()) if uses.names else set()
        self.attributes = {a.name: column(ident(a.name)) for a in cat.attributes} if "account" in used else {}
        self.metrics = {m.name: column(ident(m.name)) for m in cat.metrics if m.name in used}
        self._contexts: dict[tuple, dict] = {}

    def render(self, t: Task, row: dict, account: str, day: date, scope: dict) -> str:
        if "{" not in t.title:
            return t.title
        rule = next(iter(scope.values()))["name"]
        key = (account, day, rule)
        ctx = self._contexts.get(key)
        if ctx is None:
            if len(self._contexts) > 10_000:
                self._contexts.clear()
            ctx = self._contexts[key] = self._context(row, account, day, scope, self.names[rule])
        return compile_title(t.title).render(ctx)

    def _context(self, row: dict, account: str, day: date, scope: dict, names: frozenset[str]) -> dict:
        ctx = dict(scope)
        ctx["today"] = day
        if "account" in names:
            ctx["account"] = {"id": account, **{a: _nice(row[c]) for a, c in self.attributes.items()}}
        for m, c in self.metrics.items():
            if m in names:
                ctx[m] = _nice(row[c])
        for name in names & FUNCTIONS:
            ctx[name] = _Function(name, row, self.calls)
        return ctx


class _Function:
    """A function of the language in a title, answered from the values fetched for that row."""

    __slots__ = ("name", "row", "calls")

    def __init__(self, name: str, row: dict, calls: dict):
        self.name, self.row, self.calls = name, row, calls

    def __call__(self, first, days=None):
        column = self.calls.get((self.name, first, days))
        if column is None:
            raise ValueError(f"{self.name}({first}, {days}d) is not available here")
        return _nice(self.row[column])


def _nice(v):
    """Whole floats read as integers in titles: "NPS 4", not "NPS 4.0"."""
    return int(v) if isinstance(v, float) and v.is_integer() else v
