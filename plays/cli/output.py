"""Rendering runtime events: readable text grouped by date with a summary, or JSON Lines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import TextIO

from plays.render import printable as p
from plays.runtime.events import KINDS, Event
from plays.runtime.partitions import records


def render_jsonl(events: list[Event]) -> str:
    return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events)


def _line(e: Event) -> str:
    # Every value that comes from the data or the specs (ids, titles, names)
    # goes through printable(): an account id with a newline or an escape
    # sequence must not forge a line or reach the terminal.
    if e.event == "alert_fired":
        vals = ", ".join(f"{p(k)} = {_fmt(v)}" for k, v in (e.values or {}).items())
        return f"ALERT    {p(e.alert)} [{p(e.severity)}] fired (playbook {p(e.playbook or '-')})" + (
            f": {vals}" if vals else "")
    if e.event == "alert_resolved":
        return f"RESOLVED {p(e.alert)}"
    if e.event == "goal_deployed":
        return f"GOAL     {p(e.goal)} deployed (playbook {p(e.playbook or '-')}), {e.start} to {e.end}"
    if e.event == "task_created":
        rule = e.alert or e.goal
        return f"  task   {p(e.task):<14} due {e.due}  {p(e.type):<7} {p(e.owner):<10} {p(e.title)}  [{p(rule)}]"
    if e.event == "goal_kpi_met":
        return f"KPI MET  {p(e.goal)} (started {e.start})"
    if e.event == "goal_achieved":
        return f"ACHIEVED {p(e.goal)} (started {e.start})"
    return f"MISSED   {p(e.goal)} (started {e.start})"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "empty" if v is None else p(v)


def render_text(events: list[Event], *, accounts: int | None = None, rows: int | None = None) -> str:
    import io

    out = io.StringIO()
    write_text(records(events, text_payload), out, accounts=accounts, rows=rows)
    return out.getvalue()


def json_payload(e: Event) -> tuple[str]:
    """An event's record payload for JSON Lines: its line (rendered where it is evaluated, maybe a worker)."""
    return (json.dumps(e.to_json(), ensure_ascii=False),)


def text_payload(e: Event) -> tuple[str, str]:
    """An event's record payload for text output: its JSON line (for the state store) and its text line."""
    return (json.dumps(e.to_json(), ensure_ascii=False), _line(e))


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
    """Write records (``text_payload``) as text grouped by date and account, then the summary; streams."""
    summary = Summary()
    last = None
    first = True
    for key, playbook, _json, line in recs:
        summary.add(key, playbook)
        day, account = key[0], key[1]
        if (day, account) != last:
            if last is None or last[0] != day:
                out.write(f"{day}\n" if first else f"\n{day}\n")
            out.write(f"  {p(account)}\n")
            last = (day, account)
        first = False
        out.write(f"    {line}\n")
    if not first:
        out.write("\n")
    out.write("\n".join(summary.lines(accounts=accounts, rows=rows)) + "\n")
    return summary


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
        lines = ["Summary"]
        if rows is not None:
            lines.append(f"  {rows:,} snapshots of {accounts:,} accounts evaluated")
        lines.append(f"  alerts fired: {self.kinds['alert_fired']}, resolved: {self.kinds['alert_resolved']}")
        for name, n in sorted(self.fired.items()):
            lines.append(f"    {p(name):<24} {n:>6} fired")
        lines.append(f"  goals deployed: {self.kinds['goal_deployed']}")
        for (goal, book), n in sorted(self.deployed.items()):
            lines.append(f"    {p(goal):<24} {'playbook ' + p(book):<22} {n:>6} deployed")
        for goal in sorted({g for g, _ in self.outcomes}):
            lines.append(
                f"    {p(goal):<24} KPI met {self.outcomes[(goal, 'goal_kpi_met')]}, "
                f"achieved {self.outcomes[(goal, 'goal_achieved')]}, missed {self.outcomes[(goal, 'goal_missed')]}"
            )
        lines.append(f"  tasks created: {self.kinds['task_created']}")
        for rule, n in sorted(self.tasks.items()):
            lines.append(f"    {p(rule):<24} {n:>6}")
        return lines


def summary_lines(events: list[Event], *, accounts=None, rows=None) -> list[str]:
    summary = Summary()
    for e in events:
        summary.add(e.sort_key(), e.playbook)
    return summary.lines(accounts=accounts, rows=rows)
