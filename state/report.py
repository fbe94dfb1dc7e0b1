"""Goals reporting for managers: how the processes work overall, from the state store.

The figures are computed in SQL by ``report_data.build`` (re-exported here);
this module renders them as text and as one long CSV table, from the same
dict that ``--format json`` prints (``Report.to_json()``), so the three
formats carry the same figures. The HTML page (Jinja, ``report.html.j2``)
is rendered at the end of this module.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from plays.compiler.plan import Plan
from plays.state.report_data import (  # noqa: F401  (the report's public API)
    Report,
    ReportError,
    as_of_default,
    build,
    check_by,
    default_by,
)

# --- text --------------------------------------------------------------------------------------------------------

OVERVIEW_LABELS = {
    "goals_active": "goals active",
    "goals_awaiting_measure": "goals awaiting measure",
    "goals_achieved": "goals achieved",
    "goals_missed": "goals missed",
    "achievement_rate": "achievement rate",
    "median_days_to_kpi": "median days to KPI",
    "task_on_time_rate": "task on-time rate",
    "tasks_open": "tasks open",
    "tasks_overdue": "tasks overdue",
    "alerts_open": "alerts open",
    "alerts_open_median_age_days": "open alerts' median age (days)",
}
RATES = {"achievement_rate", "achievement_rate_previous", "task_on_time_rate", "task_on_time_rate_previous"}


def _value(metric: str, x) -> str:
    if x is None:
        return "-"
    if metric in RATES:
        return f"{x * 100:.0f}%"
    return f"{x:,g}" if isinstance(x, float) else f"{x:,}"


def _change(metric: str, now, before) -> str:
    if now is None or before is None:
        return "-"
    d = now - before
    if metric in RATES:
        return "0 pts" if round(d * 100) == 0 else f"{d * 100:+.0f} pts"
    return "0" if d == 0 else f"{d:+,g}"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Columns as wide as their widest cell; the first ``left`` columns aligned left, the others right, but for
    a last column without a heading (a note), aligned left."""
    from plays.render import printable

    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.ljust(w) if i < left or (i == len(r) - 1 and not header[i]) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


def _notes(states: dict, keys) -> str:
    seen = []
    for k in keys:
        if states.get(k) and states[k] not in seen:
            seen.append(states[k])
    return "; ".join(seen)


def render_text(r: dict) -> str:
    """The report as plain-text tables (names escaped: a newline in a name cannot forge a row)."""
    out = [f"Report as of {r['as_of']}: the {r['period_days']} days from {r['period_start']}, "
           f"against the {r['period_days']} days from {r['previous_start']} to {r['previous_end']}", ""]
    rows = []
    for k, f in r["overview"].items():
        note = f["state"] if f["state"] == f["previous_state"] else "; ".join(
            x for x in (f["state"] and f"now: {f['state']}", f["previous_state"] and f"previous: {f['previous_state']}")
            if x)
        rows.append([OVERVIEW_LABELS.get(k, k), _value(k, f["value"]), _value(k, f["previous"]),
                     _change(k, f["value"], f["previous"]), note or ""])
    out += _table(["Overview", "now", "previous", "change", ""], rows) + [""]
    for b in r["breakdowns"]:
        rows = [[row["key"], *(_value("", row[c]) for c in ("goals", "active", "awaiting_measure", "achieved", "missed")),
                 _value("achievement_rate", row["achievement_rate"]),
                 _value("achievement_rate", row["achievement_rate_previous"]),
                 _value("", row["median_days_to_kpi"]), _value("", row["tasks_open"]), _value("", row["tasks_overdue"]),
                 _value("task_on_time_rate", row["task_on_time_rate"]),
                 _value("task_on_time_rate", row["task_on_time_rate_previous"]),
                 _notes(row["states"], ("task_on_time_rate",))]
                for row in b["rows"]]
        title = b["dimension"].replace("_", " ") if b["kind"] != "attribute" else f"{b['dimension']} (account)"
        out += [f"By {title}"] + _table(
            ["", "goals", "active", "awaiting", "achieved", "missed", "rate", "prev rate", "days to KPI",
             "open tasks", "overdue", "on time", "prev on time", ""], rows) + [""]
    rows = [[c["template"], c["month"], *(_value("", c[k]) for k in ("deployed", "active", "awaiting_measure", "achieved",
                                                               "missed")),
             _value("achievement_rate", c["achievement_rate"]), _value("", c["median_days_to_kpi"]),
             _notes(c["states"], ("achievement_rate",)) if c["deployed"] else ""] for c in r["cohorts"]]
    out += ["Cohorts by month of start"] + _table(
        ["template", "month", "deployed", "active", "awaiting", "achieved", "missed", "rate", "days to KPI", ""],
        rows, left=2) + [""]
    rows = [[a["rule"], *(_value("", a[k]) for k in ("fired", "fired_previous", "open", "resolved")),
             _value("", a["median_days_to_resolve"]), _value("", a["median_open_age_days"])]
            for a in r["alerts"]["rules"]]
    out += ["Alerts"] + _table(["rule", "fired", "prev fired", "open", "resolved", "days to resolve", "open age"], rows)
    out += [""]
    rows = [[w["rule"], w["week"], _value("", w["fired"]), _value("", w["open"])] for w in r["alerts"]["weekly"]]
    out += ["Alerts per week (Monday; open at the week's end)"] + _table(["rule", "week", "fired", "open"], rows, 2)
    goals = sum(c["deployed"] for c in r["cohorts"])  # every instance started by as_of is in one cohort
    alerts = r["overview"]["alerts_open"]["value"]
    out += ["", f"{goals:,} goal instance{'s' if goals != 1 else ''} and {alerts:,} open alert{'s' if alerts != 1 else ''}"
            ": `--format json` lists them"]
    return "\n".join(out) + "\n"


# --- JSON --------------------------------------------------------------------------------------------------------


def render_json(r: dict) -> str:
    """The report as JSON: indented, but one line per drill-down row (a list of 100,000 instances indented
    key by key would be millions of lines, and Python's indenting encoder is several times slower)."""
    rest = {k: v for k, v in r.items() if k != "instances"}
    head = json.dumps(rest, indent=2)[:-2]  # without the closing "\n}"
    rows = ",\n    ".join(json.dumps(i) for i in r.get("instances", []))
    return head + (',\n  "instances": [\n    ' + rows + "\n  ]\n}\n" if rows else ',\n  "instances": []\n}\n')


# --- CSV ---------------------------------------------------------------------------------------------------------

CSV_HEADER = ("section", "dimension", "key", "date", "metric", "value", "state")


def csv_rows(r: dict):
    """The report as one long table: (section, dimension, key, date, metric, value, state) per figure.

    ``value`` is empty when there is nothing to count, and ``state`` says why.
    Rates are fractions (0.5), days are numbers.
    """
    def figures(section, dimension, key, day, row, metrics):
        states = row.get("states", {})
        for m in metrics:
            v = row[m]
            yield (section, dimension, key, day, m, "" if v is None else v, "" if v is not None else states.get(m, ""))

    for k, f in r["overview"].items():
        yield ("overview", "", "", "", k, "" if f["value"] is None else f["value"], f["state"] or "")
        yield ("overview", "", "", "", f"{k}_previous", "" if f["previous"] is None else f["previous"],
               f["previous_state"] or "")
    metrics = ("goals", "active", "awaiting_measure", "achieved", "missed", "achievement_rate",
               "achievement_rate_previous", "median_days_to_kpi", "tasks_open", "tasks_overdue", "task_on_time_rate",
               "task_on_time_rate_previous")
    for b in r["breakdowns"]:
        for row in b["rows"]:
            yield from figures("breakdown", b["dimension"], row["key"], "", row, metrics)
    for c in r["cohorts"]:
        yield from figures("cohort", "template", c["template"], c["month"], c,
                           ("deployed", "active", "awaiting_measure", "achieved", "missed", "achievement_rate",
                            "median_days_to_kpi"))
    for a in r["alerts"]["rules"]:
        yield from figures("alert", "rule", a["rule"], "", a,
                           ("fired", "fired_previous", "open", "resolved", "median_days_to_resolve",
                            "median_open_age_days"))
    for w in r["alerts"]["weekly"]:
        yield from figures("alert_week", "rule", w["rule"], w["week"], w, ("fired", "open"))


def render_csv(r: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    w.writerows(csv_rows(r))
    return buf.getvalue()


# --- the page (HTML; replaced by the managers' page, issue 13) ---------------------------------------------------


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


def render_html(con, as_of) -> str:
    """A self-contained page: figures, each goal instance's task timeline, alerts per week."""
    from importlib import resources

    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, num=_num)
    goals, alerts = figures(con, as_of)
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
