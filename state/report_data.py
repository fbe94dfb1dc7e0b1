"""The report's figures, computed in SQL over the state store: ``build(con, as_of=..., period_days=30, by=[...])``.

Every figure is an aggregate that SQLite computes (medians with window
functions); Python only shapes the handful of result rows and the
drill-down list. The store is read at a date (``as_of``): anything dated
after it is treated as not having happened yet, so a report as of last
month shows what was known then (with today's schedule of due dates).

Two windows of ``period_days`` days end at ``as_of`` and the day before
the current one starts: the *current* and the *previous* period. Flow
figures (goals achieved or missed, achievement rate, days to KPI, task
on-time rate, alerts fired and resolved) count what happened inside a
window; stock figures (goals active, tasks open and overdue, alerts open)
are read at a window's last day. See docs/state.md (Goals reporting).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from plays.compiler.plan import Plan
from plays.errors import UsageError

# A rate or median with nothing to count is None, with one of these instead of a number (never 0%).
NO_TASK_DONE = "no tasks completed yet"
NO_TASK_DUE = "no task due in the period"
NO_GOAL_ENDED = "no goal ended in the period"
NO_GOAL_ENDED_YET = "no goal has ended yet"
NO_KPI_MET = "no KPI met in the period"
NO_KPI_MET_YET = "no KPI met yet"
NO_ALERT_OPEN = "no open alert"
NO_ALERT_RESOLVED = "no alert resolved in the period"
AWAITING = "awaiting measure"  # an external goal past its due date with no measure recorded

NONE_KEY = "(none)"  # the breakdown key of accounts without a value for the attribute
BUILTIN = ("template", "playbook", "task_owner")  # the breakdowns every report has
# Default --by: the catalog's text and enum attributes whose name says owner or segment.
DEFAULT_BY = re.compile(r"csm|owner|manager|segment|tier|region|plan")


class ReportError(UsageError):
    """A report that cannot be built as asked (an unknown --by attribute): one line, exit 2."""


# --- the data shape (to_json is what `plays report --format json` prints, and what the page draws) ---------------


@dataclass
class Figure:
    """One overview figure: the current period's value and the previous one's, or why there is none."""

    value: float | int | None
    previous: float | int | None
    state: str | None = None
    previous_state: str | None = None


@dataclass
class BreakdownRow:
    """Goals and tasks of one key of a breakdown (a template, a CSM, a task owner, ...)."""

    key: str
    filter: dict  # the drill-down filter listing this row's instances: {"template": "onboarding"}, {"attributes.csm": "Ana"}
    goals: int  # active or awaiting at as_of, or ended in the period: active + awaiting_measure + achieved + missed
    active: int
    awaiting_measure: int
    achieved: int  # ended in the period
    missed: int
    achievement_rate: float | None  # achieved / (achieved + missed)
    achievement_rate_previous: float | None
    median_days_to_kpi: float | None  # start to KPI met, over goals whose KPI was met in the period
    tasks_open: int
    tasks_overdue: int
    task_on_time_rate: float | None  # tasks due in the period: done by their due date / all judged
    task_on_time_rate_previous: float | None
    states: dict = field(default_factory=dict)  # figure name -> why it is None


@dataclass
class Breakdown:
    dimension: str  # template, playbook, task_owner, or an attribute's name
    kind: str  # "template" | "playbook" | "task_owner" | "attribute"
    rows: list[BreakdownRow]


@dataclass
class Cohort:
    """Goal instances of one template that started in one month, as they stand at as_of."""

    template: str
    month: str  # 2026-01
    deployed: int
    active: int
    awaiting_measure: int
    achieved: int
    missed: int
    achievement_rate: float | None
    median_days_to_kpi: float | None
    states: dict = field(default_factory=dict)


@dataclass
class AlertRule:
    rule: str
    fired: int  # in the period
    fired_previous: int
    open: int  # at as_of
    resolved: int  # in the period
    median_days_to_resolve: float | None  # fired to resolved, over alerts resolved in the period
    median_open_age_days: float | None  # as_of - fired, over open alerts
    states: dict = field(default_factory=dict)


@dataclass
class AlertWeek:
    rule: str
    week: str  # its Monday
    fired: int  # fired that week
    open: int  # open at the week's end (Sunday, or as_of in the last week)


@dataclass
class Report:
    as_of: str
    period_days: int
    period_start: str
    previous_start: str
    previous_end: str
    by: list[str]
    overview: dict[str, Figure]
    breakdowns: list[Breakdown]
    cohorts: list[Cohort]
    alert_rules: list[AlertRule]
    alert_weeks: list[AlertWeek]
    instances: list[dict]  # goal instances (started by as_of) and open alerts, for the drill-down list

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of, "period_days": self.period_days, "period_start": self.period_start,
            "previous_start": self.previous_start, "previous_end": self.previous_end, "by": list(self.by),
            "overview": {k: asdict(f) for k, f in self.overview.items()},
            "breakdowns": [asdict(b) for b in self.breakdowns],
            "cohorts": [asdict(c) for c in self.cohorts],
            "alerts": {"rules": [asdict(r) for r in self.alert_rules], "weekly": [asdict(w) for w in self.alert_weeks]},
            "instances": self.instances,
        }


# --- building ---------------------------------------------------------------------------------------------------


def as_of_default(con) -> date:
    """The latest snapshot date of the last run: "now" in the data's own time."""
    row = con.execute("SELECT max(last_date) FROM runs").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else date.today()


def stored_plan(con) -> Plan | None:
    row = con.execute("SELECT json FROM plan WHERE id = 1").fetchone()
    return Plan.from_json(json.loads(row[0]), validated=True) if row else None


def default_by(plan: Plan | None) -> list[str]:
    """The catalog's text and enum attributes that look like owners and segments, in catalog order."""
    if plan is None:
        return []
    return [a.name for a in plan.catalog.attributes
            if a.type in ("text", "enum") and DEFAULT_BY.search(a.name) and a.name not in BUILTIN]


def check_by(plan: Plan | None, by: list[str]) -> list[str]:
    """The --by attributes, each once, in the order given; an unknown one is a ReportError with a suggestion."""
    from plays.diagnostics import suggest
    from plays.render import printable

    names = [a.name for a in plan.catalog.attributes] if plan else []
    out: list[str] = []
    for name in by:
        if name in BUILTIN:
            raise ReportError(f"--by {name}: `{name}` is always reported; --by takes an account attribute "
                              f"({', '.join(names) or 'the catalog has none'})")
        if name not in names:
            hint = suggest(name, names)
            raise ReportError(f"--by: no account attribute `{printable(name)}` in the catalog"
                              + (f" (did you mean `{hint}`?)" if hint else "")
                              + f"; attributes: {', '.join(names) or 'none'}")
        if name not in out:
            out.append(name)
    return out


def build(con, *, as_of: date, period_days: int = 30, by: list[str] | None = None) -> Report:
    """The report as of ``as_of``: ``by`` the account attributes to break down by (None: the default ones)."""
    if period_days < 1:
        raise ReportError("--period: the period is at least 1 day")
    plan = stored_plan(con)
    by = default_by(plan) if by is None else check_by(plan, by)
    start = as_of - timedelta(days=period_days - 1)
    prev_end = start - timedelta(days=1)
    prev_start = start - timedelta(days=period_days)
    p = {"asof": as_of.isoformat(), "ps": start.isoformat(), "pe": prev_end.isoformat(), "pps": prev_start.isoformat()}
    _prepare(con, p, by)
    try:
        return Report(
            as_of=p["asof"], period_days=period_days, period_start=p["ps"], previous_start=p["pps"],
            previous_end=p["pe"], by=by, overview=_overview(con, p), breakdowns=_breakdowns(con, p, plan, by),
            cohorts=_cohorts(con, as_of), alert_rules=_alert_rules(con, p, plan), alert_weeks=_alert_weeks(con, p),
            instances=_instances(con, p, by),
        )
    finally:
        for t in ("r_goal", "r_task", "r_alert"):
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")


def _attr_columns(by: list[str], table: str) -> str:
    """``json_extract(row_json, '$."csm"') AS a0, ...`` for the --by attributes (NULL when the account has none)."""
    return "".join(f", CAST(json_extract({table}.row_json, {_json_path(n)}) AS TEXT) AS a{i}" for i, n in enumerate(by))


def _json_path(name: str) -> str:
    return "'$.\"" + name.replace("'", "''").replace('"', '\\"') + "\"'"


# What plays writes in each table the report reads: dates as ISO text (or NULL where optional) and known states.
_VALID = {
    "goals": ("deployed", "start", "end", "kpi_met", "outcome_date"),
    "tasks": ("created", "planned_due", "due", "done"),
    "alerts": ("fired", "resolved"),
    "measures": ("date",),
}
_STATES = {"goals": "status IN ('active', 'achieved', 'missed') AND kind IN ('internal', 'external')",
           "tasks": "status IN ('open', 'done')", "alerts": "status IN ('open', 'resolved')", "measures": "1"}


def check_values(con) -> None:
    """A ValueError (store damage, see ``store.reading``) when a row holds a date or state plays never writes.

    SQL would otherwise compare a hand-edited ``SECRET`` with dates without a word; the message never shows it.
    """
    for table, columns in _VALID.items():
        bad = " OR ".join([f"date({c}) IS NOT {c}" for c in columns] + [f"NOT ({_STATES[table]})"])
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {bad})").fetchone()[0]:
            raise ValueError(f"a date or state in {table} that plays did not write")


def _prepare(con, p: dict, by: list[str]) -> None:
    """Temporary tables of what exists at as_of, each row with its state at as_of and at the previous period's end."""
    check_values(con)
    for t in ("r_goal", "r_task", "r_alert"):
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")

    def status_at(d: str) -> str:  # a goal's status on day d
        return (
            f"CASE WHEN g.start > {d} THEN NULL "
            f"WHEN g.kind = 'external' AND g.end <= {d} AND (g.status = 'active' OR NOT EXISTS "
            f"(SELECT 1 FROM measures m WHERE m.instance = g.id AND m.date <= {d})) THEN '{AWAITING}' "
            f"WHEN g.outcome_date <= {d} THEN g.status ELSE 'active' END"
        )

    con.execute(
        f"""CREATE TEMP TABLE r_goal AS
        SELECT g.id, g.goal AS template, COALESCE(g.playbook, '-') AS playbook, g.account, g.kind, g.start, g.end,
               CASE WHEN g.outcome_date <= :asof THEN g.outcome_date END AS outcome_date,
               CASE WHEN g.kpi_met <= :asof THEN g.kpi_met END AS kpi_met,
               CAST(julianday(g.kpi_met) - julianday(g.start) AS INTEGER) AS d2k,
               {status_at(':asof')} AS st_now, {status_at(':pe')} AS st_prev,
               (g.outcome_date BETWEEN :ps AND :asof) AS ended_cur {_attr_columns(by, 'a')}
        FROM goals g LEFT JOIN accounts a ON a.account = g.account WHERE g.start <= :asof""", p)
    con.execute("CREATE INDEX temp.r_goal_id ON r_goal(id)")
    con.execute(
        f"""CREATE TEMP TABLE r_task AS
        SELECT t.id, t.instance, t.rule, t.account, t.task, t.owner, t.created, t.due,
               CASE WHEN t.done <= :asof THEN t.done END AS done, g.template, g.playbook,
               (g.id IS NOT NULL) AS is_goal {_attr_columns(by, 'a')}
        FROM tasks t LEFT JOIN r_goal g ON g.id = t.instance LEFT JOIN accounts a ON a.account = t.account
        WHERE t.created <= :asof""", p)
    con.execute("CREATE INDEX temp.r_task_instance ON r_task(instance, due, task)")
    con.execute(
        f"""CREATE TEMP TABLE r_alert AS
        SELECT al.id, al.alert, al.account, al.severity, al.playbook, al.fired,
               CASE WHEN al.resolved <= :asof THEN al.resolved END AS resolved {_attr_columns(by, 'a')}
        FROM alerts al LEFT JOIN accounts a ON a.account = al.account WHERE al.fired <= :asof""", p)


# Flags over r_task (t): one SUM each.
_TASK_SUMS = {
    "open": "t.done IS NULL",
    "overdue": "t.done IS NULL AND t.due < :asof",
    "open_prev": "t.created <= :pe AND (t.done IS NULL OR t.done > :pe)",
    "overdue_prev": "t.created <= :pe AND (t.done IS NULL OR t.done > :pe) AND t.due < :pe",
    # a task is judged once its due date has passed, or once it is done: on time when done by its due date
    "judged": "t.due BETWEEN :ps AND :asof AND (t.done IS NOT NULL OR t.due < :asof)",
    "on_time": "t.due BETWEEN :ps AND :asof AND t.done <= t.due",
    "judged_prev": "t.due BETWEEN :pps AND :pe",
    "on_time_prev": "t.due BETWEEN :pps AND :pe AND t.done <= t.due",
    "done": "t.done IS NOT NULL",
    "done_prev": "t.done <= :pe",
}
_GOAL_SUMS = {
    "goals": "g.st_now IN ('active', 'awaiting measure') OR (g.ended_cur AND g.st_now IN ('achieved', 'missed'))",
    "active": "g.st_now = 'active'",
    "awaiting": "g.st_now = 'awaiting measure'",
    "achieved": "g.ended_cur AND g.st_now = 'achieved'",
    "missed": "g.ended_cur AND g.st_now = 'missed'",
    "active_prev": "g.st_prev = 'active'",
    "awaiting_prev": "g.st_prev = 'awaiting measure'",
    "achieved_prev": "g.st_prev = 'achieved' AND g.outcome_date >= :pps",
    "missed_prev": "g.st_prev = 'missed' AND g.outcome_date >= :pps",
}
_KPI_NOW = "g.kpi_met BETWEEN :ps AND :asof"
_KPI_PREV = "g.kpi_met BETWEEN :pps AND :pe"


def _sums(con, p: dict, table: str, sums: dict, key: str, where: str = "1") -> dict:
    """{key: {name: total}} of each flag in ``sums``, grouped by the SQL expression ``key``."""
    cols = ", ".join(f"COALESCE(SUM({cond}), 0)" for cond in sums.values())
    out = {}
    for row in con.execute(f"SELECT {key} AS k, {cols} FROM {table} WHERE {where} GROUP BY k", p):
        out[row[0]] = dict(zip(sums, row[1:]))
    return out


def _medians(con, p: dict, table: str, key: str, value: str, where: str) -> dict:
    """{key: median of ``value``} over the rows where ``where`` holds, by window functions (SQLite has no median)."""
    sql = (f"SELECT k, AVG(v) FROM (SELECT {key} AS k, {value} AS v, "
           f"ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {value}) AS rn, COUNT(*) OVER (PARTITION BY {key}) AS n "
           f"FROM {table} WHERE {where}) WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY k")
    return {k: float(v) for k, v in con.execute(sql, p)}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _on_time(t: dict, prev: bool) -> tuple[float | None, str | None]:
    """The task on-time rate of one window, or why there is none (no task ever done counts before none due)."""
    s = "_prev" if prev else ""
    if not t.get("done" + s):
        return None, NO_TASK_DONE
    rate = _ratio(t["on_time" + s], t["judged" + s])
    return rate, None if rate is not None else NO_TASK_DUE


def _overview(con, p: dict) -> dict[str, Figure]:
    g = _sums(con, p, "r_goal g", _GOAL_SUMS, "'all'").get("all") or dict.fromkeys(_GOAL_SUMS, 0)
    t = _sums(con, p, "r_task t", _TASK_SUMS, "'all'").get("all") or dict.fromkeys(_TASK_SUMS, 0)
    kpi = _medians(con, p, "r_goal g", "'all'", "g.d2k", _KPI_NOW).get("all")
    kpi_prev = _medians(con, p, "r_goal g", "'all'", "g.d2k", _KPI_PREV).get("all")
    a = con.execute(
        "SELECT COALESCE(SUM(resolved IS NULL), 0), COALESCE(SUM(fired <= :pe AND (resolved IS NULL OR resolved > :pe)), 0) "
        "FROM r_alert", p).fetchone()
    age = _medians(con, p, "r_alert", "'all'", "julianday(:asof) - julianday(fired)", "resolved IS NULL").get("all")
    age_prev = _medians(con, p, "r_alert", "'all'", "julianday(:pe) - julianday(fired)",
                        "fired <= :pe AND (resolved IS NULL OR resolved > :pe)").get("all")
    rate = _ratio(g["achieved"], g["achieved"] + g["missed"])
    rate_prev = _ratio(g["achieved_prev"], g["achieved_prev"] + g["missed_prev"])
    on_time, on_time_state = _on_time(t, False)
    on_time_prev, on_time_prev_state = _on_time(t, True)
    return {
        "goals_active": Figure(g["active"], g["active_prev"]),
        "goals_awaiting_measure": Figure(g["awaiting"], g["awaiting_prev"]),
        "goals_achieved": Figure(g["achieved"], g["achieved_prev"]),
        "goals_missed": Figure(g["missed"], g["missed_prev"]),
        "achievement_rate": Figure(rate, rate_prev, None if rate is not None else NO_GOAL_ENDED,
                                   None if rate_prev is not None else NO_GOAL_ENDED),
        "median_days_to_kpi": Figure(kpi, kpi_prev, None if kpi is not None else NO_KPI_MET,
                                     None if kpi_prev is not None else NO_KPI_MET),
        "task_on_time_rate": Figure(on_time, on_time_prev, on_time_state, on_time_prev_state),
        "tasks_open": Figure(t["open"], t["open_prev"]),
        "tasks_overdue": Figure(t["overdue"], t["overdue_prev"]),
        "alerts_open": Figure(a[0], a[1]),
        "alerts_open_median_age_days": Figure(age, age_prev, None if age is not None else NO_ALERT_OPEN,
                                              None if age_prev is not None else NO_ALERT_OPEN),
    }


def _breakdowns(con, p: dict, plan: Plan | None, by: list[str]) -> list[Breakdown]:
    templates = {g.name: [b.name for b in g.playbooks] for g in [*plan.goals, *plan.external_goals]} if plan else {}
    owners = {t.owner for r in plan.rules for b in r.playbooks for t in b.tasks} if plan else set()
    out = [
        Breakdown("template", "template", _rows(
            con, p, "g.template", "t.template", "t.is_goal", set(templates), lambda k: {"template": k})),
        Breakdown("playbook", "playbook", _rows(
            con, p, "g.template || '/' || g.playbook", "t.template || '/' || t.playbook", "t.is_goal",
            {f"{t}/{b}" for t, books in templates.items() for b in books},
            lambda k: dict(zip(("template", "playbook"), k.split("/", 1))))),
    ]
    enums = {a.name: a.values for a in plan.catalog.attributes if a.type == "enum"} if plan else {}
    for i, name in enumerate(by):
        out.append(Breakdown(name, "attribute", _rows(
            con, p, f"COALESCE(g.a{i}, '{NONE_KEY}')", f"COALESCE(t.a{i}, '{NONE_KEY}')", "1", set(enums.get(name, ())),
            lambda k, name=name: {f"attributes.{name}": None if k == NONE_KEY else k})))
    # a task owner's goals: the instances with at least one task of that owner
    owner_goals = "r_goal g JOIN (SELECT DISTINCT instance, owner FROM r_task) o ON o.instance = g.id"
    out.append(Breakdown("task_owner", "task_owner", _rows(
        con, p, "o.owner", "t.owner", "1", owners, lambda k: {"task_owners": k}, goal_table=owner_goals)))
    return out


def _rows(con, p, goal_key: str, task_key: str, task_where: str, known: set, filter_of,
          goal_table: str = "r_goal g") -> list[BreakdownRow]:
    """One row per key: every key with goals or tasks, and every ``known`` one (a template nobody got is a finding)."""
    goals = _sums(con, p, goal_table, _GOAL_SUMS, goal_key)
    tasks = _sums(con, p, "r_task t", _TASK_SUMS, task_key, task_where)
    kpi = _medians(con, p, goal_table, goal_key, "g.d2k", _KPI_NOW)
    rows = []
    for key in sorted(set(goals) | set(tasks) | known, key=lambda k: (k == NONE_KEY, k)):
        g = goals.get(key) or dict.fromkeys(_GOAL_SUMS, 0)
        t = tasks.get(key) or dict.fromkeys(_TASK_SUMS, 0)
        rate = _ratio(g["achieved"], g["achieved"] + g["missed"])
        rate_prev = _ratio(g["achieved_prev"], g["achieved_prev"] + g["missed_prev"])
        on_time, on_time_state = _on_time(t, False)
        on_time_prev, on_time_prev_state = _on_time(t, True)
        states = {
            "achievement_rate": None if rate is not None else NO_GOAL_ENDED,
            "achievement_rate_previous": None if rate_prev is not None else NO_GOAL_ENDED,
            "median_days_to_kpi": None if key in kpi else NO_KPI_MET,
            "task_on_time_rate": on_time_state,
            "task_on_time_rate_previous": on_time_prev_state,
        }
        rows.append(BreakdownRow(
            key=key, filter=filter_of(key), goals=g["goals"], active=g["active"], awaiting_measure=g["awaiting"],
            achieved=g["achieved"], missed=g["missed"], achievement_rate=rate, achievement_rate_previous=rate_prev,
            median_days_to_kpi=kpi.get(key), tasks_open=t["open"], tasks_overdue=t["overdue"],
            task_on_time_rate=on_time, task_on_time_rate_previous=on_time_prev,
            states={k: v for k, v in states.items() if v},
        ))
    return rows


def _cohorts(con, as_of: date) -> list[Cohort]:
    """Per template and month of start: every month from the template's first deploy to as_of's month."""
    sums = {
        "deployed": "1", "active": "g.st_now = 'active'", "awaiting": "g.st_now = 'awaiting measure'",
        "achieved": "g.st_now = 'achieved'", "missed": "g.st_now = 'missed'",
    }
    key = "g.template || ' ' || substr(g.start, 1, 7)"
    counts = _sums(con, {}, "r_goal g", sums, key)
    kpi = _medians(con, {}, "r_goal g", key, "g.d2k", "g.kpi_met IS NOT NULL")
    first: dict[str, str] = {}
    for k in counts:
        template, month = k.rsplit(" ", 1)
        first[template] = min(first.get(template, month), month)
    out = []
    for template in sorted(first):
        for month in _months(first[template], as_of):
            c = counts.get(f"{template} {month}") or dict.fromkeys(sums, 0)
            rate = _ratio(c["achieved"], c["achieved"] + c["missed"])
            days = kpi.get(f"{template} {month}")
            states = {"achievement_rate": None if rate is not None else NO_GOAL_ENDED_YET,
                      "median_days_to_kpi": None if days is not None else NO_KPI_MET_YET}
            out.append(Cohort(template, month, c["deployed"], c["active"], c["awaiting"], c["achieved"], c["missed"],
                              rate, days, {k: v for k, v in states.items() if v}))
    return out


def _months(first: str, as_of: date) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while (y, m) <= (as_of.year, as_of.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _alert_rules(con, p: dict, plan: Plan | None) -> list[AlertRule]:
    sums = {
        "fired": "fired >= :ps", "fired_prev": "fired BETWEEN :pps AND :pe", "open": "resolved IS NULL",
        "resolved": "resolved >= :ps",
    }
    counts = _sums(con, p, "r_alert", sums, "alert")
    resolve = _medians(con, p, "r_alert", "alert", "julianday(resolved) - julianday(fired)", "resolved >= :ps")
    age = _medians(con, p, "r_alert", "alert", "julianday(:asof) - julianday(fired)", "resolved IS NULL")
    names = set(counts) | ({a.name for a in plan.alerts} if plan else set())
    out = []
    for name in sorted(names):
        c = counts.get(name) or dict.fromkeys(sums, 0)
        states = {"median_days_to_resolve": None if name in resolve else NO_ALERT_RESOLVED,
                  "median_open_age_days": None if name in age else NO_ALERT_OPEN}
        out.append(AlertRule(name, c["fired"], c["fired_prev"], c["open"], c["resolved"], resolve.get(name),
                             age.get(name), {k: v for k, v in states.items() if v}))
    return out


def _monday(col: str) -> str:
    return f"date({col}, '-' || ((CAST(strftime('%w', {col}) AS INTEGER) + 6) % 7) || ' days')"


def _alert_weeks(con, p: dict) -> list[AlertWeek]:
    """Every week (Monday) from the first alert fired to as_of's week, for every rule that fired: fired that week
    and open at its end (the running total of fired minus resolved)."""
    sql = f"""
    WITH RECURSIVE weeks(mon) AS (
        SELECT {_monday('min(fired)')} FROM r_alert
        UNION ALL SELECT date(mon, '+7 days') FROM weeks WHERE date(mon, '+7 days') <= :asof),
    moves AS (
        SELECT alert, {_monday('fired')} AS wk, 1 AS f, 0 AS r FROM r_alert
        UNION ALL SELECT alert, {_monday('resolved')}, 0, 1 FROM r_alert WHERE resolved IS NOT NULL),
    per AS (SELECT alert, wk, SUM(f) AS f, SUM(r) AS r FROM moves GROUP BY alert, wk),
    rules AS (SELECT DISTINCT alert FROM r_alert)
    SELECT rules.alert, weeks.mon, COALESCE(per.f, 0),
           SUM(COALESCE(per.f, 0) - COALESCE(per.r, 0)) OVER (PARTITION BY rules.alert ORDER BY weeks.mon)
    FROM rules CROSS JOIN weeks LEFT JOIN per ON per.alert = rules.alert AND per.wk = weeks.mon
    ORDER BY rules.alert, weeks.mon"""
    return [AlertWeek(*row) for row in con.execute(sql, p)]


def _instances(con, p: dict, by: list[str]) -> list[dict]:
    """The drill-down rows: every goal instance started by as_of, then every alert open at as_of, each with its tasks."""
    attrs = "".join(f", x.a{i}" for i in range(len(by)))
    tasks = (
        "(SELECT json_group_array(json_object('task', task, 'owner', owner, 'due', due, 'done', done, 'state', "
        "CASE WHEN done > due THEN 'late' WHEN done IS NOT NULL THEN 'done' WHEN due < :asof THEN 'overdue' "
        "ELSE 'open' END)) FROM (SELECT * FROM r_task t WHERE t.instance = x.id ORDER BY t.due, t.task, t.id))"
    )
    out = []
    for row in con.execute(
        f"SELECT x.id, x.template, x.playbook, x.account, x.st_now, x.start, x.end, x.outcome_date, x.kpi_met, "
        f"{tasks}{attrs} FROM r_goal x ORDER BY x.start, x.account, x.template, x.id", p,
    ):
        task_list = json.loads(row[9])
        out.append({
            "kind": "goal", "id": row[0], "template": row[1], "playbook": row[2], "account": row[3],
            "attributes": dict(zip(by, row[10:])), "task_owners": sorted({t["owner"] for t in task_list}),
            "status": row[4], "deployed": row[5], "end": row[6], "ended": row[7], "kpi_met": row[8], "tasks": task_list,
        })
    for row in con.execute(
        f"SELECT x.id, x.alert, x.account, x.severity, x.playbook, x.fired, "
        f"CAST(julianday(:asof) - julianday(x.fired) AS INTEGER), {tasks}{attrs} "
        f"FROM r_alert x WHERE x.resolved IS NULL ORDER BY x.fired, x.account, x.alert, x.id", p,
    ):
        task_list = json.loads(row[7])
        out.append({
            "kind": "alert", "id": row[0], "rule": row[1], "account": row[2], "attributes": dict(zip(by, row[8:])),
            "task_owners": sorted({t["owner"] for t in task_list}), "severity": row[3], "playbook": row[4],
            "opened": row[5], "age_days": row[6], "tasks": task_list,
        })
    return out
