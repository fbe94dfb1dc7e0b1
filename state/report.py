"""Goals reporting for managers: how the processes work overall, from the state store.

Per goal template and playbook: deployed, active, achieved, missed,
achievement rate, median days to KPI met, task on-time rate, overdue tasks.
Per alert rule: fired, open, resolved, median days open. As text, JSON, CSV,
or a self-contained HTML page (Jinja) with each goal's task timeline and a
chart of alerts over time.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from statistics import median

from plays.compiler.plan import Plan


@dataclass
class GoalRow:
    goal: str
    playbook: str
    deployed: int
    active: int
    achieved: int
    missed: int
    achievement_rate: float | None  # achieved / (achieved + missed); None when none has ended
    median_days_to_kpi: float | None
    task_on_time_rate: float | None  # done on or before due / (done + open past due); None when none is due yet
    overdue_tasks: int


@dataclass
class AlertRow:
    alert: str
    fired: int
    open: int
    resolved: int
    median_days_open: float | None  # over resolved alerts


def as_of_default(con) -> date:
    """The latest snapshot date of the last run: "now" in the data's own time."""
    row = con.execute("SELECT max(last_date) FROM runs").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else date.today()


ALL = "(all)"  # the playbook column of a template's total row


def figures(con, as_of: date) -> tuple[list[GoalRow], list[AlertRow]]:
    """Goal rows (per template and playbook, plus a template total when it used several) and alert rows."""
    goals = []
    instances: dict[str, dict[str, list[tuple]]] = {}
    plan = _plan(con)
    # every template and playbook of the last run's plan, deployed or not: "never used" is a finding too
    for g in sorted([*plan.goals, *plan.external_goals] if plan else [], key=lambda g: g.name):
        for b in g.playbooks:
            instances.setdefault(g.name, {}).setdefault(b.name, [])
    for row in con.execute(
        "SELECT goal, COALESCE(playbook, '-'), id, status, start, kpi_met FROM goals ORDER BY goal, 2, start, id"
    ).fetchall():
        instances.setdefault(row[0], {}).setdefault(row[1], []).append(row[2:])
    for name, books in sorted(instances.items()):
        for book, inst in books.items():
            goals.append(_goal_row(con, name, book, inst, as_of))
        if len(books) > 1:
            goals.append(_goal_row(con, name, ALL, [i for inst in books.values() for i in inst], as_of))
    alerts = []
    names = {a.name for a in plan.alerts} if plan else set()
    names |= {n for (n,) in con.execute("SELECT DISTINCT alert FROM alerts").fetchall()}
    for name in sorted(names):
        rows = con.execute("SELECT fired, resolved, status FROM alerts WHERE alert = ?", [name]).fetchall()
        days = [(date.fromisoformat(r) - date.fromisoformat(f)).days for f, r, _ in rows if r]
        alerts.append(AlertRow(
            alert=name, fired=len(rows), open=sum(1 for r in rows if r[2] == "open"),
            resolved=sum(1 for r in rows if r[2] == "resolved"),
            median_days_open=float(median(days)) if days else None,
        ))
    return goals, alerts


def _plan(con) -> Plan | None:
    row = con.execute("SELECT json FROM plan WHERE id = 1").fetchone()
    return Plan.from_json(json.loads(row[0]), validated=True) if row else None


def _goal_row(con, name: str, book: str, inst: list[tuple], as_of: date) -> GoalRow:
    ids = [i[0] for i in inst]
    status = [i[1] for i in inst]
    achieved, missed = status.count("achieved"), status.count("missed")
    to_kpi = [(date.fromisoformat(k) - date.fromisoformat(s)).days for _, _, s, k in inst if k]
    on_time = late = overdue = 0
    for chunk in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        part = ids[chunk:chunk + 500]
        a, b, c = con.execute(
            f"SELECT count(*) FILTER (WHERE status = 'done' AND done <= due), "
            f"count(*) FILTER (WHERE status = 'done' AND done > due), "
            f"count(*) FILTER (WHERE status = 'open' AND due < ?) FROM tasks WHERE instance IN ({','.join('?' * len(part))})",
            [as_of.isoformat(), *part],
        ).fetchone()
        on_time, late, overdue = on_time + a, late + b, overdue + c
    return GoalRow(
        goal=name, playbook=book, deployed=len(inst), active=status.count("active"), achieved=achieved,
        missed=missed, achievement_rate=_ratio(achieved, achieved + missed),
        median_days_to_kpi=float(median(to_kpi)) if to_kpi else None,
        task_on_time_rate=_ratio(on_time, on_time + late + overdue), overdue_tasks=overdue,
    )


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _num(x) -> str:
    return "-" if x is None else f"{x:g}"


def render_text(goals, alerts, as_of) -> str:
    """The figures as two tables; names are shown escaped (a newline in a name cannot forge a row)."""
    from plays.render import printable

    out = [f"Goals (as of {as_of})",
           f"{'goal':<18} {'playbook':<12} {'deployed':>8} {'active':>6} {'achieved':>8} {'missed':>6} "
           f"{'rate':>5} {'days to KPI':>11} {'on time':>7} {'overdue':>7}"]
    for g in goals:
        out.append(f"{printable(g.goal):<18} {printable(g.playbook):<12} {g.deployed:>8} {g.active:>6} {g.achieved:>8} {g.missed:>6} "
                   f"{_pct(g.achievement_rate):>5} {_num(g.median_days_to_kpi):>11} {_pct(g.task_on_time_rate):>7} "
                   f"{g.overdue_tasks:>7}")
    out += ["", "Alerts", f"{'alert':<18} {'fired':>6} {'open':>5} {'resolved':>8} {'median days open':>16}"]
    for a in alerts:
        out.append(f"{printable(a.alert):<18} {a.fired:>6} {a.open:>5} {a.resolved:>8} {_num(a.median_days_open):>16}")
    return "\n".join(out) + "\n"


def render_csv(goals, alerts) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", *GoalRow.__dataclass_fields__])
    for g in goals:
        w.writerow(["goal", *("" if v is None else v for v in asdict(g).values())])
    w.writerow(["section", *AlertRow.__dataclass_fields__])
    for a in alerts:
        w.writerow(["alert", *("" if v is None else v for v in asdict(a).values())])
    return buf.getvalue()


def render_html(con, goals, alerts, as_of) -> str:
    """A self-contained page: figures, each goal instance's task timeline, alerts per week."""
    from importlib import resources

    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, num=_num)
    template = env.from_string(resources.files(__package__).joinpath("report.html.j2").read_text("utf-8"))
    timelines = [_timeline(con, row, as_of) for row in con.execute(
        "SELECT id, goal, account, COALESCE(playbook, '-'), start, end, status FROM goals ORDER BY start, account, goal, id"
    ).fetchall()]
    weeks = _alert_weeks(con, as_of)
    peak = max((max(w["fired"], w["open"]) for w in weeks), default=1) or 1
    return template.render(goals=goals, alerts=alerts, as_of=as_of, timelines=timelines, weeks=weeks, peak=peak,
                           all_label=ALL)


def _timeline(con, goal_row: tuple, as_of: date) -> dict:
    """One goal instance's tasks as bars: from when a task can start (the goal's start, or the due dates of
    the tasks it follows) to its due date, with its completion; x positions are fractions of the period shown."""
    gid, name, account, book, start, end, status = goal_row
    s, e = date.fromisoformat(start), date.fromisoformat(end)
    rows = con.execute(
        "SELECT task, title, due, done, status, after_json, planned_due FROM tasks WHERE instance = ? ORDER BY due, task, id",
        [gid],
    ).fetchall()
    due_of = {r[0]: date.fromisoformat(r[2]) for r in rows}
    last = max([e, *due_of.values(), *(date.fromisoformat(r[3]) for r in rows if r[3])])
    span = max((last - s).days, 1)

    def x(d: date) -> float:
        return round(min(max((d - s).days / span, 0.0), 1.0), 4)

    tasks = []
    previous: dict[str, date] = {}  # a recurring task's occurrence starts where the one before ended
    for task, title, due, done, st, after, planned in rows:
        d = date.fromisoformat(due)
        begin = max([previous.get(task, s), *(due_of[a] for a in json.loads(after) if a in due_of)])
        previous[task] = d
        if done is not None:
            state = "late" if done > due else "done"
        else:
            state = "overdue" if d < as_of else "open"
        tasks.append({"task": task, "title": title, "due": due, "planned": planned, "done": done, "state": state,
                      "x0": x(min(begin, d)), "x1": x(d), "xd": x(date.fromisoformat(done)) if done else None})
    return {"id": gid, "goal": name, "account": account, "playbook": book, "start": start, "end": end,
            "status": status, "tasks": tasks, "x_end": x(e), "x_now": x(as_of) if s <= as_of <= last else None,
            "last": last.isoformat()}


def _alert_weeks(con, as_of: date) -> list[dict]:
    """Every week (Monday) from the first alert fired to the as-of date: alerts fired that week, alerts open at its end."""
    rows = con.execute("SELECT fired, resolved FROM alerts").fetchall()
    if not rows:
        return []
    spans = [(date.fromisoformat(f), date.fromisoformat(r) if r else None) for f, r in rows]
    monday = min(f for f, _ in spans)
    monday -= timedelta(days=monday.weekday())
    stop = max(as_of, *(f for f, _ in spans))
    weeks = []
    while monday <= stop:
        sunday = monday + timedelta(days=6)
        weeks.append({
            "week": monday.isoformat(),
            "fired": sum(1 for f, _ in spans if monday <= f <= sunday),
            "open": sum(1 for f, r in spans if f <= sunday and (r is None or r > sunday)),
        })
        monday += timedelta(days=7)
    return weeks
