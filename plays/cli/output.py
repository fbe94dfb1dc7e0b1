"""Rendering runtime events: readable text grouped by date with a summary, or JSON Lines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TextIO

from plays.render import printable as p
from plays.runtime.events import KINDS, Event
from plays.runtime.partitions import records


def render_jsonl(events: list[Event]) -> str:
    return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events)


@dataclass(frozen=True)
class TextStyle:
    """How one plan's events read as text: column widths, each value's type, each task's place in its playbook.

    Taken from the plan (not from the events), so that every partition of a
    run lays its lines out alike and a run streams.
    """

    task_width: int = 0
    type_width: int = 0
    owner_width: int = 0
    value_types: dict = field(default_factory=dict)  # rule -> {value label -> type}
    task_order: dict = field(default_factory=dict)  # (rule, playbook, task) -> position in the playbook


def text_style(plan) -> TextStyle:
    """The ``TextStyle`` of ``plan``'s events."""
    from plays.runtime.sql import value_nodes

    tasks, order, types = [], {}, {}
    metrics = {m.name: m.type for m in plan.catalog.metrics}
    for rule in (*plan.alerts, *plan.goals, *plan.external_goals):
        for book in rule.playbooks:
            for i, t in enumerate(book.tasks):
                tasks.append(t)
                order.setdefault((rule.name, book.name, t.name), i)
        labels = {}
        for cond in _conditions(rule):
            labels.update({label: node.type for label, node in value_nodes(cond).items()})
        kpi = getattr(rule, "kpi", None)
        if kpi is not None and kpi.kind == "relative" and kpi.metric in metrics:
            labels.setdefault(kpi.metric, metrics[kpi.metric])
        types[rule.name] = labels
    return TextStyle(
        task_width=max((len(p(t.name)) for t in tasks), default=0),
        type_width=max((len(p(t.type)) for t in tasks), default=0),
        owner_width=max((len(p(t.owner or "-")) for t in tasks), default=0),
        value_types=types,
        task_order=order,
    )


def _conditions(rule) -> list:
    """The conditions whose metrics and calls a rule's events show as values."""
    out = [getattr(rule, "when", None)]
    deploy = getattr(rule, "deploy", None)
    if deploy is not None and deploy.kind == "when":
        out.append(deploy.condition)
    kpi = getattr(rule, "kpi", None)
    if kpi is not None and kpi.kind == "condition":
        out.append(kpi.condition)
    return [c for c in out if c is not None]


def _events_style(events: list[Event]) -> TextStyle:
    """A ``TextStyle`` from the events themselves, when there is no plan (values then keep a plain form)."""
    tasks = [e for e in events if e.event == "task_created"]
    return TextStyle(
        task_width=max((len(p(e.task)) for e in tasks), default=0),
        type_width=max((len(p(e.type or "-")) for e in tasks), default=0),
        owner_width=max((len(p(e.owner or "-")) for e in tasks), default=0),
    )


def _line(e: Event, style: TextStyle) -> str:
    # Every value that comes from the data or the specs (ids, titles, names)
    # goes through printable(): an account id with a newline or an escape
    # sequence must not forge a line or reach the terminal.
    if e.event == "alert_fired":
        types = style.value_types.get(e.alert, {})
        vals = ", ".join(f"{p(k)} = {format_value(v, types.get(k))}" for k, v in (e.values or {}).items())
        return f"ALERT    {p(e.alert)} [{p(e.severity)}] fired (playbook {p(e.playbook or '-')})" + (
            f": {vals}" if vals else "")
    if e.event == "alert_resolved":
        return f"RESOLVED {p(e.alert)}"
    if e.event == "goal_deployed":
        return f"GOAL     {p(e.goal)} deployed (playbook {p(e.playbook or '-')}), {e.start} to {e.end}"
    if e.event == "task_created":
        return (f"task  {p(e.task):<{style.task_width}}  due {e.due}  {p(e.type or '-'):<{style.type_width}}  "
                f"{p(e.owner or '-'):<{style.owner_width}}  {p(e.title)}")
    if e.event == "goal_kpi_met":
        return f"KPI MET  {p(e.goal)} (started {e.start})"
    if e.event == "goal_achieved":
        return f"ACHIEVED {p(e.goal)} (started {e.start})"
    return f"MISSED   {p(e.goal)} (started {e.start})"


def format_value(v, kind: str | None) -> str:
    """A value as a CS admin reads it, by its type in the catalog: ``-39.7%``, ``$28,800``, ``12``.

    >>> format_value(-0.39712, "percent"), format_value(28800.0, "money"), format_value(12.0, "count")
    ('-39.7%', '$28,800', '12')
    >>> format_value(1234.5, "money"), format_value(72.25, "number"), format_value(None, "count")
    ('$1,234.50', '72.25', 'empty')
    """
    if v is None:
        return "empty"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return p(v)
    if v != v or v in (float("inf"), float("-inf")):  # NaN and infinities as Python writes them
        return str(v)
    if kind == "percent":
        return _trim(f"{v * 100:,.1f}") + "%"
    if kind == "money":
        text = f"{abs(v):,.0f}" if float(v).is_integer() else f"{abs(v):,.2f}"
        return f"{'-' if v < 0 else ''}${text}"
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if kind is None:  # no plan to say what it is
        return f"{v:.4g}"
    return _trim(f"{v:,.2f}") if abs(v) >= 1 else f"{v:.3g}"


def _trim(text: str) -> str:
    """``12.0`` -> ``12``; ``-0.0`` (a tiny negative, rounded) -> ``0``."""
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def render_text(events: list[Event], *, accounts: int | None = None, rows: int | None = None, plan=None) -> str:
    """Events as ``plays run`` prints them (with ``plan``, values formatted by their types)."""
    import io

    style = text_style(plan) if plan is not None else _events_style(events)
    out = io.StringIO()
    write_text(records(events, partial(text_payload, style=style)), out, accounts=accounts, rows=rows)
    return out.getvalue()


def json_payload(e: Event) -> tuple[str]:
    """An event's record payload for JSON Lines: its line (rendered where it is evaluated, maybe a worker)."""
    return (json.dumps(e.to_json(), ensure_ascii=False),)


def text_payload(e: Event, style: TextStyle = TextStyle()) -> tuple[str, str, tuple | None]:
    """An event's record payload for text output: its JSON line (for the state store), its text line,
    and for a task where it goes among its rule's tasks (due date, then its place in the playbook)."""
    order = None
    if e.event == "task_created":
        rule = e.alert or e.goal
        order = (e.due.isoformat() if e.due else "", style.task_order.get((rule, e.playbook, e.task), 0), e.task)
    return (json.dumps(e.to_json(), ensure_ascii=False), _line(e, style), order)


def text_render(plan):
    """The ``render`` of a text run of ``plan`` (picklable, for worker processes)."""
    return partial(text_payload, style=text_style(plan))


def write_parquet(recs: Iterable[tuple], out) -> Summary:
    """Write records whose payload is the event (``runtime.partitions.default_render``) as a Parquet file with the columns of ``runtime.arrow.EVENT_SCHEMA``."""
    import pyarrow.parquet as pq

    from plays.runtime.arrow import EVENT_SCHEMA, event_batches

    summary = Summary()

    def events():
        for key, playbook, event in recs:
            summary.add(key, playbook)
            yield event

    with pq.ParquetWriter(out, EVENT_SCHEMA) as writer:
        for batch in event_batches(events()):
            writer.write_batch(batch)
    return summary


def write_text(recs: Iterable[tuple], out: TextIO, *, accounts: int | None = None, rows: int | None = None) -> Summary:
    """Write records (``text_payload``) as text grouped by date and account, then the summary; streams.

    Within an account's day, each alert fired or goal deployed is followed by
    the tasks it created, in due order (then the playbook's order); a task
    whose alert or goal has no line that day says which rule it is for.
    """
    summary = Summary()
    group: list[tuple] = []
    first = True
    day = None
    for rec in recs:
        key, playbook = rec[0], rec[1]
        summary.add(key, playbook)
        if group and group[0][0][:2] != key[:2]:
            first = _write_group(group, out, first, new_day=group[0][0][0] != day)
            day = group[0][0][0]
            group = []
        group.append(rec)
    if group:
        first = _write_group(group, out, first, new_day=group[0][0][0] != day)
    if not first:
        out.write("\n")
    out.write("\n".join(summary.lines(accounts=accounts, rows=rows)) + "\n")
    return summary


_TASK = KINDS.index("task_created")
_OPENS = (KINDS.index("alert_fired"), KINDS.index("goal_deployed"))


def _write_group(group: list[tuple], out: TextIO, first: bool, *, new_day: bool) -> bool:
    """One account's events of one day: the rules' lines, each with its tasks under it."""
    key = group[0][0]
    if new_day:
        out.write(f"{key[0]}\n" if first else f"\n{key[0]}\n")
    out.write(f"  {p(key[1])}\n")
    tasks: dict[str, list[tuple]] = {}
    for rec in group:
        if rec[0][2] == _TASK:
            tasks.setdefault(rec[0][3], []).append(rec)
    for rec in group:
        k = rec[0]
        if k[2] == _TASK:
            continue
        out.write(f"    {rec[3]}\n")
        if k[2] in _OPENS and k[3] in tasks:
            for t in sorted(tasks.pop(k[3]), key=lambda r: r[4]):
                out.write(f"      {t[3]}\n")
    for rule, recs in tasks.items():  # tasks without their rule's line that day
        for t in sorted(recs, key=lambda r: r[4]):
            out.write(f"      {t[3]}  [{p(rule)}]\n")
    return False


def write_jsonl(recs: Iterable[tuple], out: TextIO) -> Summary:
    """Write records (``json_payload`` or ``text_payload``) as JSON Lines, one event per line; streams."""
    summary = Summary()
    for key, playbook, line, *_ in recs:
        summary.add(key, playbook)
        out.write(line)
        out.write("\n")
    return summary


class Summary:
    """Counts of a run's events, tallied as they stream by."""

    def __init__(self):
        self.kinds: Counter = Counter()
        self.fired: Counter = Counter()
        self.deployed: Counter = Counter()
        self.outcomes: Counter = Counter()
        self.tasks: Counter = Counter()

    def add(self, key: tuple, playbook: str | None) -> None:
        """Count one event, from its sort key (date, account, kind rank, rule, ...) and its playbook."""
        kind, rule = KINDS[key[2]], key[3]
        self.kinds[kind] += 1
        if kind == "alert_fired":
            self.fired[rule] += 1
        elif kind == "goal_deployed":
            self.deployed[(rule, playbook or "-")] += 1
        elif kind in ("goal_kpi_met", "goal_achieved", "goal_missed"):
            self.outcomes[(rule, kind)] += 1
        elif kind == "task_created":
            self.tasks[rule] += 1

    def lines(self, *, accounts=None, rows=None) -> list[str]:
        """The summary: one block per kind of event, names and counts in aligned columns."""
        names = [*self.fired, *(g for g, _ in self.deployed), *(g for g, _ in self.outcomes), *self.tasks]
        w = max((len(p(n)) for n in names), default=0)
        counts = [*self.fired.values(), *self.deployed.values(), *self.outcomes.values(), *self.tasks.values()]
        n = max((len(f"{c:,}") for c in counts), default=1)
        lines = ["Summary"]
        if rows is not None:
            lines.append(f"  {rows:,} snapshot{'s' if rows != 1 else ''} of {accounts:,} "
                         f"account{'s' if accounts != 1 else ''} evaluated")
        lines.append(f"  alerts fired: {self.kinds['alert_fired']:,}, resolved: {self.kinds['alert_resolved']:,}")
        for name, c in sorted(self.fired.items()):
            lines.append(f"    {p(name):<{w}}  {c:>{n},} fired")
        lines.append(f"  goals deployed: {self.kinds['goal_deployed']:,}")
        for (goal, book), c in sorted(self.deployed.items()):
            lines.append(f"    {p(goal):<{w}}  {c:>{n},} deployed, playbook {p(book)}")
        goals = sorted({g for g, _ in self.outcomes})
        if goals:
            heads = ("KPI met", "achieved", "missed")
            cols = [max(len(h), n) for h in heads]
            first = max(w, len("goal outcomes") - 2)  # the rows are indented 2 more than the heading
            lines.append(f"  {'goal outcomes':<{first + 2}}" + "".join(f"  {h:>{c}}" for h, c in zip(heads, cols)))
            for goal in goals:
                row = [self.outcomes[(goal, k)] for k in ("goal_kpi_met", "goal_achieved", "goal_missed")]
                lines.append(f"    {p(goal):<{first}}" + "".join(f"  {v:>{c},}" for v, c in zip(row, cols)))
        lines.append(f"  tasks created: {self.kinds['task_created']:,}")
        for rule, c in sorted(self.tasks.items()):
            lines.append(f"    {p(rule):<{w}}  {c:>{n},}")
        return lines


def summary_lines(events: list[Event], *, accounts=None, rows=None) -> list[str]:
    summary = Summary()
    for e in events:
        summary.add(e.sort_key(), e.playbook)
    return summary.lines(accounts=accounts, rows=rows)
