"""The evaluation engine: plan + the ``snapshots`` table of one connection -> events.

1. Decisions. One query evaluates every alert condition for all (account,
   date) rows and keeps only the rows where something can happen; per
   account, in date order, the lifecycles of LANGUAGE.md run over those rows
   (alert ``for``/cooldown/resolve; goal deploy with one active instance; KPI
   outcomes computed in SQL per instance). A decision is plain data: which
   rule, account and date, and what happens.
2. Details. One query fetches, for the rows where decisions fall, every
   value the events show (the ``values`` of conditions, the playbook
   ``where`` verdicts, what task titles use), as named columns.
3. Events. Each event is built complete from its decision and its detail
   row, and never changed afterwards; the list is sorted in the contract's
   order.

Every rule is per account, so any set of whole accounts can be evaluated on
its own (runtime/partitions.py runs this on hash buckets of accounts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from plays.compiler.plan import (
    Alert,
    Condition,
    DeployOn,
    DeployWhen,
    ExternalGoal,
    Goal,
    KpiCondition,
    KpiRelative,
    Plan,
    Playbook,
    Call,
    Task,
    check,
    find_all,
)
from plays.diagnostics import error
from plays.errors import EvaluationError

from .events import Event, make_id
from .snapshots import insert_rows
from .sql import DECIMALS, PARTITION, condition_sql, expr_sql, ident, value_nodes, window_columns
from .titles import TitleRenderer, TitleUses, title_uses


@dataclass(frozen=True, slots=True)
class ManualDeploy:
    """A person's deployment of a goal template (``deploy: manual`` or any other) on an account."""

    goal: str
    account: str
    on: date
    playbook: str | None = None


def evaluate(plan: Plan, con: duckdb.DuckDBPyConnection, *, manual: Iterable[ManualDeploy] = (),
             progress=None) -> list[Event]:
    """Every event of the plan over the connection's ``snapshots`` table, sorted in the contract's order.

    >>> from plays.compiler.driver import compile_text
    >>> from plays.runtime.snapshots import snapshots_from_rows
    >>> plan = compile_text('metric mau: count\\nalert low { when: mau < 10 }')
    >>> con = snapshots_from_rows(plan, [{"account": "a", "date": date(2026, 1, 1), "mau": 5}])
    >>> [(e.event, e.account, str(e.date), e.values) for e in evaluate(plan, con)]
    [('alert_fired', 'a', '2026-01-01', {'mau': 5.0})]
    """
    from plays.perf import fewer_collections

    check(plan)
    manual = tuple(manual)
    known = {g.name for g in plan.goals}
    for m in manual:
        if m.goal not in known:
            raise EvaluationError([error("R200", f"unknown goal template `{m.goal}`", None)])
    step = progress or (lambda label: None)
    with fewer_collections():
        uses = title_uses(plan)
        windows = _window_table(plan, con, uses)
        try:
            decisions = _Decisions(plan, con, windows)
            step("alerts")
            decisions.alerts()
            step("goals")
            decisions.goals(manual)
            step("details")
            events = _EventBuilder(plan, con, windows, uses).build(decisions)
            step("done")
        finally:
            con.execute("DROP TABLE IF EXISTS _s")
        events.sort(key=Event.sort_key)
        return events


# --- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert fired or resolved for an account on a date."""

    alert: Alert
    account: str
    day: date
    fired: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row where a goal template may deploy (``manual``: a person's deployment, which wins a tie)."""

    account: str
    day: date
    start: date
    ok: bool  # the template's `where` holds there
    end_snap: date | None  # the first snapshot on or after start + duration
    manual: bool = False
    playbook: str | None = None  # the playbook a person chose


@dataclass(frozen=True, slots=True)
class GoalInstance:
    """A goal deployed on an account: where it deployed, when it starts and ends."""

    goal: Goal | ExternalGoal
    account: str
    deploy: date
    start: date
    end: date
    end_snap: date | None
    id: str
    manual: bool = False
    playbook: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """``goal_kpi_met``, ``goal_achieved`` or ``goal_missed`` of an instance on a date."""

    kind: str
    instance: GoalInstance
    day: date


def _window_table(plan: Plan, con: duckdb.DuckDBPyConnection, uses: TitleUses) -> dict[str, str]:
    """``_s``: the snapshots plus one column per distinct window call of the plan, each computed once.

    Conditions, goal triggers, KPIs, event values and titles then read the
    columns instead of computing the same windows again in every query.
    """
    calls = [node for rule in plan.rules for cond in rule.conditions for node in find_all(cond.expr, Call)]
    windows = window_columns([*calls, *uses.calls.values()])
    extra = "".join(f", {sql} AS {name}" for sql, name in windows.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE _s AS SELECT *{extra} FROM snapshots")
    return windows


class _Decisions:
    """What happens where: the lifecycles of every rule, before any event exists."""

    def __init__(self, plan: Plan, con: duckdb.DuckDBPyConnection, windows: dict[str, str]):
        self.plan, self.con, self.windows = plan, con, windows
        self.alert_changes: list[AlertChange] = []
        self.instances: list[GoalInstance] = []
        self.outcomes: list[Outcome] = []

    # alerts -----------------------------------------------------------------------------
    def alerts(self) -> None:
        alerts = self.plan.alerts
        if not alerts:
            return
        held = [f"h{i}" for i in range(len(alerts))]
        before = [f"p{i}" for i in range(len(alerts))]
        w = self.windows
        conds = ", ".join(f"({condition_sql(a.where, w)} AND {condition_sql(a.when, w)}) AS {h}" for a, h in zip(alerts, held))
        lagged = ", ".join(f"{h}, LAG({h}) OVER ({PARTITION}) AS {p}" for h, p in zip(held, before))
        keep = " OR ".join(f"{h} OR COALESCE({p}, FALSE)" for h, p in zip(held, before))
        sql = (
            f"SELECT account, date, {', '.join(f'{h}, {p}' for h, p in zip(held, before))} FROM ("
            f"SELECT account, date, {lagged} FROM (SELECT account, date, {conds} FROM _s)"
            f") WHERE {keep} ORDER BY account, date"
        )
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        for a, h, p in zip(alerts, held, before):
            self._alert_lifecycle(a, ((r["account"], r["date"], r[h], r[p]) for r in rows if r[h] or r[p]))

    def _alert_lifecycle(self, a: Alert, rows) -> None:
        hold = a.for_ or 0
        account = None
        firing, run_start, last_fire = False, None, None
        for acc, day, hit, prev in rows:
            if acc != account:
                account, firing, run_start, last_fire = acc, False, None, None
            if not hit:
                run_start = None
                if firing:
                    firing = False
                    self.alert_changes.append(AlertChange(a, acc, day, fired=False))
                continue
            if not prev or run_start is None:
                run_start = day  # a new run of consecutive true snapshots
            if firing or (day - run_start).days < hold:
                continue
            if last_fire is not None and a.cooldown is not None and day < last_fire + timedelta(days=a.cooldown):
                continue
            firing, last_fire = True, day
            self.alert_changes.append(AlertChange(a, acc, day, fired=True))

    # goals ------------------------------------------------------------------------------------
    def goals(self, manual: tuple[ManualDeploy, ...]) -> None:
        for g in self.plan.goals:
            cands = self._candidates(g, [m for m in manual if m.goal == g.name])
            instances = self._lifecycle(g, cands)
            self.instances.extend(instances)
            self._outcomes(g, instances)
        for g in self.plan.external_goals:
            self._external(g)

    def _first_snapshot(self, account: str, on: date) -> date | None:
        return self.con.execute(
            "SELECT min(date) FROM snapshots WHERE account = ? AND date >= ?", [account, on]
        ).fetchone()[0]

    def _candidates(self, g: Goal, manual: list[ManualDeploy]) -> list[Candidate]:
        dur = int(g.duration)
        where = condition_sql(g.where, self.windows)
        trigger = None
        if isinstance(g.deploy, DeployOn):
            trig = f"CAST({ident(g.deploy.attr)} + ({int(g.deploy.offset)}) AS DATE)"
            trigger = (
                f"SELECT account, date, trig AS start, ok FROM ("
                f"SELECT account, date, {trig} AS trig, {where} AS ok, LAG(date) OVER ({PARTITION}) AS prev FROM _s"
                f") WHERE trig <= date AND ((prev IS NULL AND trig = date) OR trig > prev)"
            )
        elif isinstance(g.deploy, DeployWhen):
            raw = expr_sql(g.deploy.condition.expr, self.windows)
            trigger = (
                f"SELECT account, date, date AS start, ok FROM ("
                f"SELECT account, date, COALESCE(c, FALSE) AS c, COALESCE(LAG(c) OVER ({PARTITION}), FALSE) AS pc, ok "
                f"FROM (SELECT account, date, {raw} AS c, {where} AS ok FROM _s)"
                f") WHERE c AND NOT pc"
            )
        cands = []
        if trigger is not None:
            sql = (
                f"SELECT c.account, c.date, c.start, c.ok, s.date AS end_snap FROM ({trigger}) c "
                f"ASOF LEFT JOIN (SELECT account, date FROM snapshots) s "
                f"ON c.account = s.account AND s.date >= CAST(c.start + {dur} AS DATE)"
            )
            cands = [Candidate(acc, day, start, ok, end) for acc, day, start, ok, end in self.con.execute(sql).fetchall()]
        for m in manual:
            deploy = self._first_snapshot(m.account, m.on)
            if deploy is None:
                continue
            end = self._first_snapshot(m.account, m.on + timedelta(days=dur))
            cands.append(Candidate(m.account, deploy, m.on, True, end, manual=True, playbook=m.playbook))
        cands.sort(key=lambda c: (c.account, c.day, not c.manual))
        return cands

    def _lifecycle(self, g: Goal, cands: list[Candidate]) -> list[GoalInstance]:
        instances = []
        account, active, active_until = None, False, None
        for c in cands:
            if c.account != account:
                account, active, active_until = c.account, False, None
            if active and (active_until is None or c.day < active_until):
                continue  # one active instance per account and template
            if not c.ok:
                continue
            active, active_until = True, c.end_snap
            instances.append(GoalInstance(
                g, c.account, c.day, c.start, c.start + timedelta(days=int(g.duration)), c.end_snap,
                make_id("g", g.name, c.account, c.start), c.manual, c.playbook,
            ))
        return instances

    def _outcomes(self, g: Goal, instances: list[GoalInstance]) -> None:
        kpi = g.kpi
        if kpi is None or not instances:
            return
        self.con.execute("CREATE OR REPLACE TEMP TABLE _inst (id VARCHAR, account VARCHAR, deploy DATE, end_snap DATE)")
        insert_rows(self.con, "_inst", [(i.id, i.account, i.deploy, i.end_snap) for i in instances])
        if isinstance(kpi, KpiCondition):
            k = condition_sql(kpi.condition, self.windows)
            inner = f"SELECT account, date, {k} AS k FROM _s WHERE account IN (SELECT account FROM _inst)"
            sql = (
                f"SELECT i.id, min(CASE WHEN s.k THEN s.date END), bool_or(s.k AND s.date = i.end_snap) "
                f"FROM _inst i JOIN ({inner}) s ON s.account = i.account AND s.date >= i.deploy "
                f"AND (i.end_snap IS NULL OR s.date <= i.end_snap) GROUP BY i.id"
            )
        else:
            m = ident(kpi.metric)
            factor = 1 + kpi.amount if kpi.direction == "up" else 1 - kpi.amount
            cmp = ">=" if kpi.direction == "up" else "<="
            inner = f"SELECT account, date, {m} AS m FROM snapshots WHERE account IN (SELECT account FROM _inst)"
            sql = (
                f"WITH s AS ({inner}), "
                f"b AS (SELECT i.*, s.m AS base FROM _inst i JOIN s ON s.account = i.account AND s.date = i.deploy), "
                f"k AS (SELECT b.id, b.end_snap, s.date AS d, COALESCE(s.m {cmp} ROUND(b.base * {factor!r}, {DECIMALS}), FALSE) AS k "
                f"FROM b JOIN s ON s.account = b.account AND s.date >= b.deploy "
                f"AND (b.end_snap IS NULL OR s.date <= b.end_snap)) "
                f"SELECT id, min(CASE WHEN k THEN d END), bool_or(k AND d = end_snap) FROM k GROUP BY id"
            )
        found = {r[0]: (r[1], r[2]) for r in self.con.execute(sql).fetchall()}
        for inst in instances:
            met, at_end = found.get(inst.id, (None, None))
            if met is not None:
                self.outcomes.append(Outcome("goal_kpi_met", inst, met))
            if inst.end_snap is not None:
                self.outcomes.append(Outcome("goal_achieved" if at_end else "goal_missed", inst, inst.end_snap))

    def _external(self, g: ExternalGoal) -> None:
        day = self._first_snapshot(g.account, g.start)
        if day is None:
            return
        book = g.playbooks[0] if g.playbooks else None
        self.instances.append(GoalInstance(
            g, g.account, day, g.start, g.due, None, make_id("g", g.name, g.account, g.start),
            playbook=book.name if book else None,
        ))


# --- details and events --------------------------------------------------------------------------


class _Columns:
    """The detail query's columns: one per distinct SQL expression, named ``c0``, ``c1``, ..."""

    def __init__(self, windows: dict[str, str]):
        self.windows = windows
        self.sql: dict[str, str] = {}  # SQL -> column name

    def add(self, sql: str) -> str:
        name = self.sql.get(sql)
        if name is None:
            name = self.sql[sql] = f"c{len(self.sql)}"
        return name

    def values(self, cond: Condition | None) -> tuple[tuple[str, str], ...]:
        """(label as the spec writes it, column) for every metric and call of a condition."""
        return tuple((label, self.add(expr_sql(node, self.windows))) for label, node in value_nodes(cond).items())


@dataclass(frozen=True, slots=True)
class _RuleColumns:
    """The detail columns one rule's events read."""

    values: tuple[tuple[str, str], ...]  # alert when / goal deploy condition (+ relative KPI metric)
    outcome_values: tuple[tuple[str, str], ...]  # goal KPI
    wheres: tuple[str, ...]  # one per playbook: its `where` verdict


class _EventBuilder:
    """Fetches what the decided events show, then builds each event complete."""

    def __init__(self, plan: Plan, con: duckdb.DuckDBPyConnection, windows: dict[str, str], uses: TitleUses):
        self.plan, self.con = plan, con
        self.columns = _Columns(windows)
        self.titles = TitleRenderer(plan, uses, self.columns.add, windows)
        self.rules: dict[str, _RuleColumns] = {}
        for a in plan.alerts:
            self.rules[a.name] = _RuleColumns(self.columns.values(a.when), (), self._wheres(a.playbooks))
        for g in plan.goals:
            values = self.columns.values(g.deploy.condition) if isinstance(g.deploy, DeployWhen) else ()
            if isinstance(g.kpi, KpiRelative):  # the KPI's start value travels with the event
                values = _with(values, g.kpi.metric, self.columns.add(ident(g.kpi.metric)))
            if isinstance(g.kpi, KpiCondition):
                outcome = self.columns.values(g.kpi.condition)
            elif isinstance(g.kpi, KpiRelative):
                outcome = ((g.kpi.metric, self.columns.add(ident(g.kpi.metric))),)
            else:
                outcome = ()
            self.rules[g.name] = _RuleColumns(values, outcome, self._wheres(g.playbooks))

    def _wheres(self, books: tuple[Playbook, ...]) -> tuple[str, ...]:
        return tuple(self.columns.add(condition_sql(b.where, self.columns.windows)) for b in books)

    def build(self, d: _Decisions) -> list[Event]:
        wanted = {(c.account, c.day) for c in d.alert_changes}
        wanted |= {(i.account, i.deploy) for i in d.instances}
        wanted |= {(o.instance.account, o.day) for o in d.outcomes}
        rows = self._fetch(sorted(wanted))
        events: list[Event] = []
        for c in d.alert_changes:
            row = rows[(c.account, c.day)]
            if c.fired:
                events.extend(self._fired(c, row))
            else:
                events.append(Event("alert_resolved", c.day, c.account, alert=c.alert.name, severity=c.alert.severity,
                                    values=_read(row, self.rules[c.alert.name].values)))
        for inst in d.instances:
            events.extend(self._deployed(inst, rows[(inst.account, inst.deploy)]))
        for o in d.outcomes:
            inst = o.instance
            events.append(Event(o.kind, o.day, inst.account, goal=inst.goal.name, instance=inst.id, start=inst.start,
                                values=_read(rows[(inst.account, o.day)], self.rules[inst.goal.name].outcome_values)))
        return events

    def _fetch(self, wanted: list[tuple[str, date]]) -> dict[tuple[str, date], dict]:
        """The detail row of every wanted (account, date), as {column name: value}."""
        if not wanted:
            return {}
        self.con.execute("CREATE OR REPLACE TEMP TABLE _want (account VARCHAR, date DATE)")
        insert_rows(self.con, "_want", wanted)
        cols = ", ".join(f"{sql} AS {name}" for sql, name in self.columns.sql.items()) or "NULL AS _none"
        cur = self.con.execute(
            f"SELECT x.* FROM (SELECT account, date, {cols} FROM _s "
            f"WHERE account IN (SELECT DISTINCT account FROM _want)) x "
            f"SEMI JOIN _want w ON x.account = w.account AND x.date = w.date"
        )
        names = [c[0] for c in cur.description]
        out = {}
        for r in cur.fetchall():
            row = dict(zip(names, r))
            out[(row["account"], row["date"])] = row
        return out

    def _fired(self, c: AlertChange, row: dict) -> list[Event]:
        a, cols = c.alert, self.rules[c.alert.name]
        instance = make_id("a", a.name, c.account, c.day)
        book = _choose(a.playbooks, [row[w] for w in cols.wheres])
        fired = Event("alert_fired", c.day, c.account, alert=a.name, playbook=book.name if book else None,
                      severity=a.severity, instance=instance, values=_read(row, cols.values))
        if book is None:
            return [fired]
        scope = {"alert": {"name": a.name, "title": a.title}}
        return [fired, *(
            self._task(t, c.day, c.account, c.day + timedelta(days=t.due), instance, row, scope,
                       alert=a.name, playbook=book.name, id_parts=("alert", a.name, c.account, c.day, t.name))
            for t in book.tasks
        )]

    def _deployed(self, inst: GoalInstance, row: dict) -> list[Event]:
        g = inst.goal
        if isinstance(g, ExternalGoal):
            book = g.playbooks[0] if g.playbooks else None
            values = None
        else:
            cols = self.rules[g.name]
            values = _read(row, cols.values) if cols.values else None
            if inst.manual and inst.playbook is not None:
                book = next((b for b in g.playbooks if b.name == inst.playbook), None)
            else:
                book = _choose(g.playbooks, [row[w] for w in cols.wheres])
        deployed = Event("goal_deployed", inst.deploy, inst.account, goal=g.name, playbook=book.name if book else None,
                         instance=inst.id, start=inst.start, end=inst.end, values=values)
        if book is None:
            return [deployed]
        scope = {"goal": {"name": g.name, "title": g.title}}
        return [deployed, *(
            self._task(t, inst.deploy, inst.account, due, inst.id, row, scope, goal=g.name, playbook=book.name,
                       id_parts=("goal", g.name, inst.account, inst.start, t.name, k))
            for t in book.tasks for due, k in t.schedule(inst.start)
        )]

    def _task(self, t: Task, day: date, account: str, due: date, instance: str, row: dict, scope: dict, *,
              alert=None, goal=None, playbook: str, id_parts: tuple) -> Event:
        try:
            title = self.titles.render(t, row, account, day, scope)
        except Exception as e:  # a title that cannot be rendered: reported with the spec's position
            raise EvaluationError([error(
                "R201", f"cannot render the title of task `{t.name}` for account `{account}` on {day}: {e}", t.loc.span
            )]) from None
        return Event(
            "task_created", day, account, alert=alert, goal=goal, playbook=playbook, instance=instance,
            id=make_id("t", *id_parts), task=t.name, title=title, type=t.type, owner=t.owner, due=due,
            after=list(t.after),
        )


def _with(pairs: tuple[tuple[str, str], ...], label: str, column: str) -> tuple[tuple[str, str], ...]:
    return pairs if any(k == label for k, _ in pairs) else (*pairs, (label, column))


def _read(row: dict, pairs: tuple[tuple[str, str], ...]) -> dict:
    return {label: row[col] for label, col in pairs}


def _choose(books: tuple[Playbook, ...], verdicts: list) -> Playbook | None:
    """The first playbook whose `where` holds (a default's `where` is always true)."""
    for b, ok in zip(books, verdicts):
        if ok:
            return b
    return None
