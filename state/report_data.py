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


def build(con, *, as_of: date, period_days: int = 30, by: list[str] | None = None, instances: bool = True) -> Report:
    """The report as of ``as_of``: ``by`` the account attributes to break down by (None: the default ones);
    ``instances=False`` leaves the drill-down list empty (text and CSV do not show it)."""
    if period_days < 1:
        raise ReportError("--period: the period is at least 1 day")
    plan = stored_plan(con)
    by = default_by(plan) if by is None else check_by(plan, by)
    start = as_of - timedelta(days=period_days - 1)
    prev_end = start - timedelta(days=1)
    prev_start = start - timedelta(days=period_days)
    p = {"asof": as_of.isoformat(), "ps": start.isoformat(), "pe": prev_end.isoformat(), "pps": prev_start.isoformat()}
    check_values(con)
    try:
        _prepare(con, p, by)
        return Report(
            as_of=p["asof"], period_days=period_days, period_start=p["ps"], previous_start=p["pps"],
            previous_end=p["pe"], by=by, overview=_overview(con, p), breakdowns=_breakdowns(con, plan, by),
            cohorts=_cohorts(con, as_of), alert_rules=_alert_rules(con, p, plan), alert_weeks=_alert_weeks(con, p),
            instances=_instances(con, p, by) if instances else [],
        )
    finally:
        _drop(con)


# What plays writes in each table the report reads: dates as ISO text (or NULL where optional) and known states.
_VALID = {
    "goals": ("deployed", "start", "end", "kpi_met", "outcome_date"),
    "tasks": ("created", "planned_due", "due", "done"),
    "alerts": ("fired", "resolved"),
    "measures": ("date",),
}
# ... and states that agree with the dates (the report reads the dates)
_STATES = {
    "goals": "status IN ('active', 'achieved', 'missed') AND kind IN ('internal', 'external') "
             "AND (status = 'active') = (outcome_date IS NULL)",
    "tasks": "status IN ('open', 'done') AND (status = 'done') = (done IS NOT NULL)",
    "alerts": "status IN ('open', 'resolved') AND (status = 'resolved') = (resolved IS NOT NULL)",
    "measures": "1",
}


def check_values(con) -> None:
    """A ValueError (store damage, see ``store.reading``) when a row holds a date or state plays never writes.

    SQL would otherwise compare a hand-edited ``SECRET`` with dates without a word; the message never shows it.
    (``date(x, '+0 days')`` is x only for a real ISO date: SQLite's ``date`` alone lets 2026-02-30 through.)
    """
    for table, columns in _VALID.items():
        bad = " OR ".join([f"date({c}, '+0 days') IS NOT {c}" for c in columns] + [f"NOT ({_STATES[table]})"])
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {bad})").fetchone()[0]:
            raise ValueError(f"a date or state in {table} that plays did not write")


_TEMP = ("r_attr", "r_combo", "r_acc", "r_goal", "r_alert", "c_goal", "h_kpi", "r_tp", "r_gtp", "c_task")


def _drop(con) -> None:
    con.execute("DROP VIEW IF EXISTS temp.v_task")
    for t in _TEMP:
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")


# A goal's status on a day d: not started (NULL), active, awaiting measure, achieved or missed.
def _status_at(d: str) -> str:
    return (
        f"CASE WHEN g.start > {d} THEN NULL "
        f"WHEN g.kind = 'external' AND g.end <= {d} AND (g.status = 'active' OR NOT EXISTS "
        f"(SELECT 1 FROM measures m WHERE m.instance = g.id AND m.date <= {d})) THEN '{AWAITING}' "
        f"WHEN g.outcome_date <= {d} THEN g.status ELSE 'active' END"
    )


# Per goal instance (r_goal), 0/1 flags summed by every breakdown; each is a figure's count.
_GOAL_FLAGS = {
    "goals": "st_now IN ('active', 'awaiting measure') OR (st_now IN ('achieved', 'missed') AND outcome_date >= :ps)",
    "active": "st_now = 'active'",
    "awaiting": "st_now = 'awaiting measure'",
    "achieved": "st_now = 'achieved' AND outcome_date >= :ps",
    "missed": "st_now = 'missed' AND outcome_date >= :ps",
    "active_prev": "st_prev = 'active'",
    "awaiting_prev": "st_prev = 'awaiting measure'",
    "achieved_prev": "st_prev = 'achieved' AND outcome_date >= :pps",
    "missed_prev": "st_prev = 'missed' AND outcome_date >= :pps",
}
# Per task, summed into c_task (a completion after as_of has been cleared: not done yet).
_TASK_FLAGS = {
    "open": "done IS NULL",
    "overdue": "done IS NULL AND due < :asof",
    "open_prev": "created <= :pe AND (done IS NULL OR done > :pe)",
    "overdue_prev": "created <= :pe AND (done IS NULL OR done > :pe) AND due < :pe",
    # a task is judged once it is done or its due date has passed: on time when done by its due date
    "judged": "due >= :ps AND (done IS NOT NULL OR due < :asof)",
    "on_time": "due >= :ps AND done <= due",
    "judged_prev": "due BETWEEN :pps AND :pe",
    "on_time_prev": "due BETWEEN :pps AND :pe AND done <= due",
    "done": "done IS NOT NULL",
    "done_prev": "done <= :pe",
}


def _flag_columns(flags: dict) -> str:
    return ", ".join(f"COALESCE({cond}, 0) AS f_{name}" for name, cond in flags.items())


def _sum_columns(flags: dict) -> str:
    return ", ".join(f"SUM(f_{name}) AS f_{name}" for name in flags)


def _prepare(con, p: dict, by: list[str]) -> None:
    """Temporary tables: the goal instances and alerts as they stood at as_of, with their flags, and "cubes" that
    sum the flags per template, playbook, task owners and attribute values, which every breakdown reads."""
    _drop(con)
    attrs = "".join(f", a.a{i}" for i in range(len(by)))
    names = "".join(f", a{i}" for i in range(len(by)))
    # the --by attributes of every account, and each distinct combination of them numbered (a small key to group by)
    cols = "".join(f", CAST(json_extract(row_json, {_json_path(n)}) AS TEXT) AS a{i}" for i, n in enumerate(by))
    con.execute(f"CREATE TEMP TABLE r_attr AS SELECT account{cols} FROM accounts")
    con.execute(f"CREATE TEMP TABLE r_combo AS SELECT DISTINCT 0 AS z{names} FROM r_attr")
    same = "".join(f" AND c.a{i} IS x.a{i}" for i in range(len(by)))
    con.execute(f"CREATE TEMP TABLE r_acc (account TEXT PRIMARY KEY, combo INTEGER{names}) WITHOUT ROWID")
    con.execute(f"INSERT INTO r_acc SELECT x.account, c.rowid{''.join(f', x.a{i}' for i in range(len(by)))} "
                f"FROM r_attr x JOIN r_combo c ON 1{same}")
    # owners: the owners of the instance's tasks, as a JSON array (by the store's index of tasks by instance)
    con.execute(
        f"""CREATE TEMP TABLE r_goal AS SELECT *, {_flag_columns(_GOAL_FLAGS)},
               CASE WHEN kpi_met >= :ps THEN d2k END AS k_cur,
               CASE WHEN kpi_met BETWEEN :pps AND :pe THEN d2k END AS k_prev
        FROM (SELECT g.id, g.goal AS template, COALESCE(g.playbook, '-') AS playbook, g.account, g.kind, g.start, g.end,
                     CASE WHEN g.outcome_date <= :asof THEN g.outcome_date END AS outcome_date,
                     CASE WHEN g.kpi_met <= :asof THEN g.kpi_met END AS kpi_met,
                     CAST(julianday(g.kpi_met) - julianday(g.start) AS INTEGER) AS d2k,
                     {_status_at(':asof')} AS st_now, {_status_at(':pe')} AS st_prev,
                     (SELECT json_group_array(owner) FROM (SELECT DISTINCT owner FROM tasks t
                      WHERE t.instance = g.id AND t.created <= :asof ORDER BY owner)) AS owners
              FROM goals g WHERE g.start <= :asof)""", p)
    con.execute("CREATE UNIQUE INDEX temp.r_goal_id ON r_goal(id)")
    con.execute(
        """CREATE TEMP TABLE r_alert AS
        SELECT id, alert, account, severity, playbook, fired, CASE WHEN resolved <= :asof THEN resolved END AS resolved
        FROM alerts WHERE fired <= :asof""", p)
    keys = f"g.template, g.playbook, g.owners{attrs}"
    con.execute(f"""CREATE TEMP TABLE c_goal AS SELECT {keys}, {_sum_columns(_GOAL_FLAGS)}
                    FROM r_goal g LEFT JOIN r_acc a ON a.account = g.account GROUP BY {keys}""")
    con.execute(f"""CREATE TEMP TABLE h_kpi AS SELECT {keys}, g.k_cur AS v, count(*) AS n
                    FROM r_goal g LEFT JOIN r_acc a ON a.account = g.account WHERE g.k_cur IS NOT NULL
                    GROUP BY {keys}, g.k_cur""")
    # tasks: one pass over the store's table, each task's flags summed per (template and playbook, owner,
    # attributes), numbered keys (sorting short integers is what makes it fast); v_task names them again
    con.execute("CREATE TEMP TABLE r_tp AS SELECT DISTINCT template, playbook FROM r_goal")
    con.execute("CREATE TEMP TABLE r_gtp (id TEXT PRIMARY KEY, tp INTEGER) WITHOUT ROWID")
    con.execute("INSERT INTO r_gtp SELECT g.id, tp.rowid FROM r_goal g JOIN r_tp tp USING (template, playbook)")
    flags = ", ".join(f"SUM(COALESCE({cond}, 0)) AS f_{name}" for name, cond in _TASK_FLAGS.items())
    con.execute(f"""CREATE TEMP TABLE c_task AS SELECT g.tp, t.owner, a.combo, {flags}
                    FROM (SELECT instance, account, owner, created, due, CASE WHEN done <= :asof THEN done END AS done
                          FROM tasks WHERE created <= :asof) t
                    LEFT JOIN r_gtp g ON g.id = t.instance LEFT JOIN r_acc a ON a.account = t.account
                    GROUP BY g.tp, t.owner, a.combo""", p)
    con.execute(f"""CREATE TEMP VIEW v_task AS SELECT tp.template, tp.playbook, c.owner, c.tp IS NOT NULL AS is_goal
                    {attrs}, {', '.join(f'c.f_{n}' for n in _TASK_FLAGS)}
                    FROM c_task c LEFT JOIN r_tp tp ON tp.rowid = c.tp LEFT JOIN r_combo a ON a.rowid = c.combo""")


def _json_path(name: str) -> str:
    return "'$.\"" + name.replace("'", "''").replace('"', '\\"') + "\"'"


def _sums(con, p: dict, table: str, flags, key: str, where: str = "1") -> dict:
    """{key: {flag: total}} over ``table``'s f_<flag> columns, grouped by the SQL expression ``key``."""
    cols = ", ".join(f"COALESCE(SUM(f_{name}), 0)" for name in flags)
    out = {}
    for row in con.execute(f"SELECT {key} AS k, {cols} FROM {table} WHERE {where} GROUP BY k", p):
        out[row[0]] = dict(zip(flags, row[1:]))
    return out


def _medians(con, p: dict, table: str, key: str, value: str, where: str, weight: str = "1") -> dict:
    """{key: median of ``value``} over the rows where ``where`` holds (each row counting ``weight`` times: a
    histogram's count). SQL: the values' running counts by window functions, then the middle one or two."""
    sql = f"""
    SELECT k, AVG(v) FROM (
        SELECT k, v, c, SUM(c) OVER (PARTITION BY k ORDER BY v) AS cum, SUM(c) OVER (PARTITION BY k) AS n
        FROM (SELECT {key} AS k, {value} AS v, SUM({weight}) AS c FROM {table} WHERE {where} GROUP BY k, v))
    WHERE (cum - c < (n + 1) / 2 AND (n + 1) / 2 <= cum) OR (cum - c < (n + 2) / 2 AND (n + 2) / 2 <= cum)
    GROUP BY k"""
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
    g = _sums(con, p, "c_goal", _GOAL_FLAGS, "'all'").get("all") or dict.fromkeys(_GOAL_FLAGS, 0)
    t = _sums(con, p, "v_task", _TASK_FLAGS, "'all'").get("all") or dict.fromkeys(_TASK_FLAGS, 0)
    kpi = _medians(con, p, "h_kpi", "'all'", "v", "1", "n").get("all")
    kpi_prev = _medians(con, p, "r_goal", "'all'", "k_prev", "k_prev IS NOT NULL").get("all")
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


def _breakdowns(con, plan: Plan | None, by: list[str]) -> list[Breakdown]:
    templates = {g.name: [b.name for b in g.playbooks] for g in [*plan.goals, *plan.external_goals]} if plan else {}
    owners = {t.owner for r in plan.rules for b in r.playbooks for t in b.tasks} if plan else set()
    out = [
        Breakdown("template", "template", _rows(
            con, "template", "template", "is_goal", set(templates), lambda k: {"template": k})),
        Breakdown("playbook", "playbook", _rows(
            con, "template || '/' || playbook", "template || '/' || playbook", "is_goal",
            {f"{t}/{b}" for t, books in templates.items() for b in books},
            lambda k: dict(zip(("template", "playbook"), k.split("/", 1))))),
    ]
    enums = {a.name: a.values for a in plan.catalog.attributes if a.type == "enum"} if plan else {}
    for i, name in enumerate(by):
        key = f"COALESCE(a{i}, '{NONE_KEY}')"
        out.append(Breakdown(name, "attribute", _rows(
            con, key, key, "1", set(enums.get(name, ())),
            lambda k, name=name: {f"attributes.{name}": None if k == NONE_KEY else k})))
    # a task owner's goals: the goal instances with at least one task of that owner
    out.append(Breakdown("task_owner", "task_owner", _rows(
        con, "o.value", "owner", "1", owners, lambda k: {"task_owners": k}, goals="c_goal, json_each(c_goal.owners) o",
        kpi=("h_kpi, json_each(h_kpi.owners) o", "v", "n"))))
    return out


def _rows(con, goal_key: str, task_key: str, task_where: str, known: set, filter_of, goals: str = "c_goal",
          kpi: tuple = ("h_kpi", "v", "n")) -> list[BreakdownRow]:
    """One row per key: every key with goals or tasks, and every ``known`` one (a template nobody got is a finding)."""
    g_by = _sums(con, {}, goals, _GOAL_FLAGS, goal_key)
    t_by = _sums(con, {}, "v_task", _TASK_FLAGS, task_key, task_where)
    table, value, weight = kpi
    days = _medians(con, {}, table, goal_key, value, f"{value} IS NOT NULL", weight)
    rows = []
    for key in sorted(set(g_by) | set(t_by) | known, key=lambda k: (k == NONE_KEY, k)):
        g = g_by.get(key) or dict.fromkeys(_GOAL_FLAGS, 0)
        t = t_by.get(key) or dict.fromkeys(_TASK_FLAGS, 0)
        rate = _ratio(g["achieved"], g["achieved"] + g["missed"])
        rate_prev = _ratio(g["achieved_prev"], g["achieved_prev"] + g["missed_prev"])
        on_time, on_time_state = _on_time(t, False)
        on_time_prev, on_time_prev_state = _on_time(t, True)
        states = {
            "achievement_rate": None if rate is not None else NO_GOAL_ENDED,
            "achievement_rate_previous": None if rate_prev is not None else NO_GOAL_ENDED,
            "median_days_to_kpi": None if key in days else NO_KPI_MET,
            "task_on_time_rate": on_time_state,
            "task_on_time_rate_previous": on_time_prev_state,
        }
        rows.append(BreakdownRow(
            key=key, filter=filter_of(key), goals=g["goals"], active=g["active"], awaiting_measure=g["awaiting"],
            achieved=g["achieved"], missed=g["missed"], achievement_rate=rate, achievement_rate_previous=rate_prev,
            median_days_to_kpi=days.get(key), tasks_open=t["open"], tasks_overdue=t["overdue"],
            task_on_time_rate=on_time, task_on_time_rate_previous=on_time_prev,
            states={k: v for k, v in states.items() if v},
        ))
    return rows


def _cohorts(con, as_of: date) -> list[Cohort]:
    """Per template and month of start: every month from the template's first start to as_of's month."""
    key = "template || ' ' || substr(start, 1, 7)"
    counts = {}
    for k, *c in con.execute(
        f"SELECT {key} AS k, count(*), SUM(st_now = 'active'), SUM(st_now = '{AWAITING}'), SUM(st_now = 'achieved'), "
        "SUM(st_now = 'missed') FROM r_goal GROUP BY k"
    ):
        counts[k] = c
    days = _medians(con, {}, "r_goal", key, "d2k", "kpi_met IS NOT NULL")
    first: dict[str, str] = {}
    for k in counts:
        template, month = k.rsplit(" ", 1)
        first[template] = min(first.get(template, month), month)
    out = []
    for template in sorted(first):
        for month in _months(first[template], as_of):
            deployed, active, awaiting, achieved, missed = counts.get(f"{template} {month}") or (0, 0, 0, 0, 0)
            rate = _ratio(achieved, achieved + missed)
            d = days.get(f"{template} {month}")
            states = {"achievement_rate": None if rate is not None else NO_GOAL_ENDED_YET,
                      "median_days_to_kpi": None if d is not None else NO_KPI_MET_YET}
            out.append(Cohort(template, month, deployed, active, awaiting, achieved, missed, rate, d,
                              {k: v for k, v in states.items() if v}))
    return out


def _months(first: str, as_of: date) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while (y, m) <= (as_of.year, as_of.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _alert_rules(con, p: dict, plan: Plan | None) -> list[AlertRule]:
    counts = {k: c for k, *c in con.execute(
        "SELECT alert, SUM(fired >= :ps), SUM(fired BETWEEN :pps AND :pe), SUM(resolved IS NULL), SUM(resolved >= :ps) "
        "FROM r_alert GROUP BY alert", p)}
    resolve = _medians(con, p, "r_alert", "alert", "julianday(resolved) - julianday(fired)", "resolved >= :ps")
    age = _medians(con, p, "r_alert", "alert", "julianday(:asof) - julianday(fired)", "resolved IS NULL")
    names = set(counts) | ({a.name for a in plan.alerts} if plan else set())
    out = []
    for name in sorted(names):
        fired, fired_prev, is_open, resolved = counts.get(name) or (0, 0, 0, 0)
        states = {"median_days_to_resolve": None if name in resolve else NO_ALERT_RESOLVED,
                  "median_open_age_days": None if name in age else NO_ALERT_OPEN}
        out.append(AlertRule(name, fired, fired_prev, is_open, resolved, resolve.get(name), age.get(name),
                             {k: v for k, v in states.items() if v}))
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


_TASK_STATE = ("CASE WHEN done > due THEN 'late' WHEN done IS NOT NULL THEN 'done' WHEN due < :asof THEN 'overdue' "
               "ELSE 'open' END")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _instances(con, p: dict, by: list[str]) -> list[dict]:
    """The drill-down rows: every goal instance started by as_of, then every alert open at as_of, each with its
    tasks (by due date, then name) and their owners. SQLite writes each list as one JSON text, parsed once."""
    attrs = "json_object(" + ", ".join(f"{_sql_text(n)}, a.a{i}" for i, n in enumerate(by)) + ")"
    tasks = f"""
        (SELECT json_group_array(json_object('task', task, 'owner', owner, 'due', due, 'done', done, 'state', {_TASK_STATE}))
         FROM (SELECT task, owner, due, CASE WHEN done <= :asof THEN done END AS done FROM tasks t
               WHERE t.instance = x.id AND t.created <= :asof ORDER BY due, task, id))"""
    goals = f"""
        SELECT json_group_array(json_object(
            'kind', 'goal', 'id', x.id, 'template', x.template, 'playbook', x.playbook, 'account', x.account,
            'attributes', json({attrs}), 'task_owners', json(x.owners), 'status', x.st_now, 'deployed', x.start,
            'end', x.end, 'ended', x.outcome_date, 'kpi_met', x.kpi_met, 'tasks', json({tasks})))
        FROM (SELECT * FROM r_goal ORDER BY start, account, template, id) x LEFT JOIN r_acc a ON a.account = x.account"""
    alerts = f"""
        SELECT json_group_array(json_object(
            'kind', 'alert', 'id', x.id, 'rule', x.alert, 'account', x.account, 'attributes', json({attrs}),
            'task_owners', (SELECT json_group_array(owner) FROM (SELECT DISTINCT owner FROM tasks t
                            WHERE t.instance = x.id AND t.created <= :asof ORDER BY owner)),
            'severity', x.severity, 'playbook', x.playbook, 'opened', x.fired,
            'age_days', CAST(julianday(:asof) - julianday(x.fired) AS INTEGER), 'tasks', json({tasks})))
        FROM (SELECT * FROM r_alert WHERE resolved IS NULL ORDER BY fired, account, alert, id) x
        LEFT JOIN r_acc a ON a.account = x.account"""
    return [*json.loads(con.execute(goals, p).fetchone()[0]), *json.loads(con.execute(alerts, p).fetchone()[0])]
