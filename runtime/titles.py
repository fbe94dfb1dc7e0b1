"""Task titles at run time: the values a plan's titles use, fetched as detail columns, and rendering.

The compiler checked every title (``plays.compiler.title``) and compiled
it once into a title program that records what it uses: account
attributes, metrics, the language's function calls. ``title_uses`` reads
that once per plan (the window calls join the plan's window table); the
renderer registers the detail columns and renders each title from the values
of one account on one date (``Title.render(TitleValues)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from plays.compiler.plan import Attr, Call, Const, Metric, Plan, Task
from plays.compiler.title import Title, TitleCall, TitleValues, compile_title

from .sql import call_sql, ident


@dataclass(frozen=True, slots=True)
class TitleUses:
    """What a plan's task titles use: each title's program, the names per rule, the function calls."""

    titles: dict[str, Title]  # title text -> its program, held for the whole run
    names: dict[str, frozenset[str]]  # rule -> names its titles use
    calls: dict[TitleCall, Call]  # each call, as a plan expression


def title_uses(plan: Plan) -> TitleUses:
    """Compile every task title of the plan once (the plan's check has already refused any that does not check)."""
    dates = {a.name for a in plan.catalog.attributes if a.type == "date"}
    titles: dict[str, Title] = {}
    names_by_rule: dict[str, frozenset[str]] = {}
    calls: dict[TitleCall, Call] = {}
    for rule in plan.rules:
        names: set[str] = set()
        for book in rule.playbooks:
            for t in book.tasks:
                title = titles.get(t.title) or titles.setdefault(t.title, compile_title(t.title))
                names |= title.names
                for c in title.calls:
                    if c not in calls:
                        first = Attr("date", c.metric) if c.metric in dates else Metric("number", c.metric)
                        window = (Const("duration", c.days),) if c.days is not None else ()
                        calls[c] = Call("number", c.func, (first, *window))
        names_by_rule[rule.name] = frozenset(names)
    return TitleUses(titles, names_by_rule, calls)


class TitleRenderer:
    """Renders task titles from detail rows; ``column(sql) -> name`` registers what they need fetched."""

    def __init__(self, plan: Plan, uses: TitleUses, column: Callable[[str], str], windows=None):
        self.titles = uses.titles
        self.calls = {c: column(call_sql(node, windows)) for c, node in uses.calls.items()}  # TitleCall -> column
        attributes = set().union(*(t.attributes for t in uses.titles.values())) - {"id"}
        metrics = set().union(*(t.names for t in uses.titles.values()))
        self.attributes = {a.name: column(ident(a.name)) for a in plan.catalog.attributes if a.name in attributes}
        self.metrics = {m.name: column(ident(m.name)) for m in plan.catalog.metrics if m.name in metrics}

    def render(self, t: Task, row: dict, account: str, day: date, scope: dict) -> str:
        """The title of ``t`` for ``account`` on ``day``; ``scope`` is ``{"alert"|"goal": {"name", "title"}}``."""
        title = self.titles[t.title]
        if not title.is_template:
            return title.text
        (kind, rule), = scope.items()
        account_values = {a: row[self.attributes[a]] for a in title.attributes if a != "id"}
        account_values["id"] = account
        return title.render(TitleValues(
            kind=kind, rule=rule["name"], rule_title=rule["title"], today=day, account=account_values,
            metrics={m: row[self.metrics[m]] for m in title.names if m in self.metrics},
            calls={c: row[self.calls[c]] for c in title.calls},
        ))
