"""Task titles at run time: the values a plan's titles use, fetched as detail columns, and rendering.

The compiler checked every title (``plays.compiler.title``) and compiled
it once into a title program that records what it uses: account
attributes, metrics, the language's function calls. Here those are
registered as detail columns once per plan, and each title is rendered from
the values of one account on one date (``Title.render(TitleValues)``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from plays.compiler.plan import Attr, Call, Const, Metric, Plan, Task
from plays.compiler.title import Title, TitleValues, compile_title

from .sql import call_sql, ident


class TitleRenderer:
    """Renders task titles from detail rows; ``column(sql) -> name`` registers what they need fetched."""

    def __init__(self, plan: Plan, column: Callable[[str], str]):
        cat = plan.catalog
        metrics = {m.name for m in cat.metrics}
        dates = {a.name for a in cat.attributes if a.type == "date"}
        self.attributes: dict[str, str] = {}  # account attribute -> column
        self.metrics: dict[str, str] = {}  # metric -> column
        self.calls: dict = {}  # TitleCall -> column
        self.titles: dict[str, Title] = {}  # title text -> its program, held for the whole run
        for rule in plan.rules:
            for book in rule.playbooks:
                for t in book.tasks:
                    title = self.titles.get(t.title) or self.titles.setdefault(t.title, compile_title(t.title))
                    for a in sorted(title.attributes - {"id"}):
                        if a not in self.attributes:
                            self.attributes[a] = column(ident(a))
                    for m in sorted(title.names & metrics):
                        if m not in self.metrics:
                            self.metrics[m] = column(ident(m))
                    for c in title.calls:
                        if c not in self.calls:
                            first = Attr("date", c.metric) if c.metric in dates else Metric("number", c.metric)
                            window = (Const("duration", c.days),) if c.days is not None else ()
                            self.calls[c] = column(call_sql(Call("number", c.func, (first, *window))))

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
