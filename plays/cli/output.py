"""Rendering runtime events: readable text grouped by date with a summary, or JSON Lines."""

from __future__ import annotations

import json
from collections import Counter

from plays.render import printable as p
from plays.runtime.events import Event


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
    out: list[str] = []
    last = None
    for e in events:
        key = (e.date, e.account)
        if key != last:
            if last is None or last[0] != e.date:
                out.append(f"\n{e.date}")
            out.append(f"  {p(e.account)}")
            last = key
        out.append(f"    {_line(e)}")
    out.append("")
    out.extend(summary_lines(events, accounts=accounts, rows=rows))
    return "\n".join(out).lstrip("\n") + "\n"


def summary_lines(events: list[Event], *, accounts=None, rows=None) -> list[str]:
    kinds = Counter(e.event for e in events)
    fired = Counter(e.alert for e in events if e.event == "alert_fired")
    deployed = Counter((e.goal, e.playbook or "-") for e in events if e.event == "goal_deployed")
    outcomes = Counter((e.goal, e.event) for e in events if e.event in ("goal_kpi_met", "goal_achieved", "goal_missed"))
    tasks = Counter(e.alert or e.goal for e in events if e.event == "task_created")
    lines = ["Summary"]
    if rows is not None:
        lines.append(f"  {rows:,} snapshots of {accounts:,} accounts evaluated")
    lines.append(f"  alerts fired: {kinds['alert_fired']}, resolved: {kinds['alert_resolved']}")
    for name, n in sorted(fired.items()):
        lines.append(f"    {p(name):<24} {n:>6} fired")
    lines.append(f"  goals deployed: {kinds['goal_deployed']}")
    for (goal, book), n in sorted(deployed.items()):
        lines.append(f"    {p(goal):<24} {'playbook ' + p(book):<22} {n:>6} deployed")
    for goal in sorted({g for g, _ in outcomes}):
        lines.append(
            f"    {p(goal):<24} KPI met {outcomes[(goal, 'goal_kpi_met')]}, achieved {outcomes[(goal, 'goal_achieved')]},"
            f" missed {outcomes[(goal, 'goal_missed')]}"
        )
    lines.append(f"  tasks created: {kinds['task_created']}")
    for rule, n in sorted(tasks.items()):
        lines.append(f"    {p(rule):<24} {n:>6}")
    return lines
