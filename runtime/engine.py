"""The evaluation engine: conditions for all rows in SQL, lifecycles in Python.

1. One query evaluates every alert condition and every goal trigger for all
   (account, date) rows and keeps only the rows where something can happen
   (a condition true, or true at the previous snapshot so that it resolves).
2. Per account, in date order, the lifecycles of LANGUAGE.md run over those
   rows: alert ``for``/cooldown/resolve, goal deploy with one active instance,
   KPI outcomes (computed in SQL per instance).
3. A last query fetches what the events show (playbook choice, values, task
   title data) for the few rows where events happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from .events import Event, make_id
from .snapshots import insert_rows
from .sql import DECIMALS, PARTITION, condition_sql, expr_sql, ident


@dataclass(frozen=True, slots=True)
class ManualDeploy:
    """A person's deployment of a goal template (``deploy: manual`` or any other) on an account."""

    goal: str
    account: str
    on: date
    playbook: str | None = None


class RuntimeError_(Exception):
    """A problem while running a plan (e.g. a task title that cannot be rendered)."""


def evaluate(plan: dict, con: duckdb.DuckDBPyConnection, *, manual: tuple[ManualDeploy, ...] = (), progress=None) -> list[Event]:
    """Every event of the plan over the ``snapshots`` table, sorted in the contract's order."""
    from plays.perf import fewer_collections

    with fewer_collections():
        return _evaluate(plan, con, manual, progress)


def check_plan(plan: dict) -> None:
    """Refuse a plan whose expressions name what its catalog does not have (a hand-edited plan file).

    The compiler never writes one; without this check DuckDB would fail in the middle of the run.
    """
    cat = plan["catalog"]
    metrics = {m["name"] for m in cat["metrics"]}
    attrs = {a["name"]: a["type"] for a in cat["attributes"]}

    def walk(node: dict, where: str) -> None:
        op = node["op"]
        if op == "metric" and node["name"] not in metrics:
            raise RuntimeError_(f"{where}: metric `{node['name']}` is not in the plan's catalog")
        if op == "attr" and node["name"] != "id" and node["name"] not in attrs:
            raise RuntimeError_(f"{where}: attribute `{node['name']}` is not in the plan's catalog")
        for key in ("arg", "left", "right"):
            if key in node:
                walk(node[key], where)
        for item in (*node.get("items", ()), *node.get("args", ())):
            walk(item, where)

    def place(rule: dict, kind: str) -> str:
        loc = rule.get("loc") or {}
        return f"{loc.get('path', '?')}:{loc.get('line', '?')}:{loc.get('col', '?')}: {kind} `{rule['name']}`"

    for a in plan["alerts"]:
        for cond in (a["where"], a["when"], *(b["where"] for b in a["playbooks"])):
            if cond:
                walk(cond["expr"], place(a, "alert"))
    for g in plan["goals"]:
        d, kpi = g["deploy"], g["kpi"]
        conds = [g["where"], d.get("condition"), *(b["where"] for b in g["playbooks"])]
        if kpi and kpi["kind"] == "condition":
            conds.append(kpi["condition"])
        for cond in conds:
            if cond:
                walk(cond["expr"], place(g, "goal"))
        if d["kind"] == "on" and attrs.get(d["attr"]) != "date":
            raise RuntimeError_(f"{place(g, 'goal')}: `deploy: on {d['attr']}` needs a date attribute of the catalog")
        if kpi and kpi["kind"] == "relative" and kpi["metric"] not in metrics:
            raise RuntimeError_(f"{place(g, 'goal')}: metric `{kpi['metric']}` is not in the plan's catalog")
    _check_titles(plan, metrics, attrs, place)


def _check_titles(plan: dict, metrics: set[str], attrs: dict[str, str], place) -> None:
    """Every task title compiles and uses only what the catalog and its rule have (a hand-edited plan)."""
    from plays.compiler.title import TitleError, check_title, compile_title

    types = {m["name"]: m["type"] for m in plan["catalog"]["metrics"]}
    for kind, rules in (("alert", plan["alerts"]), ("goal", [*plan["goals"], *plan["external_goals"]])):
        for r in rules:
            for b in r["playbooks"]:
                for t in b["tasks"]:
                    try:
                        problems = check_title(compile_title(t["title"]), types, attrs, kind)
                    except TitleError as e:
                        problems = e.problems
                    if problems:
                        raise RuntimeError_(f"{place(t, 'task')}: {problems[0].message}")


def _evaluate(plan, con, manual, progress) -> list[Event]:
    check_plan(plan)
    step = progress or (lambda label: None)
    ev = _Evaluator(plan, con)
    step("alerts")
    ev.alerts()
    step("goals")
    ev.goals(manual)
    step("details")
    ev.fill_details()
    step("done")
    return sorted(ev.events, key=Event.sort_key)


def _values(row: dict, keys: list[str]) -> dict:
    return {k: row.get(("v", k)) for k in keys}


class _Evaluator:
    def __init__(self, plan: dict, con: duckdb.DuckDBPyConnection):
        self.plan = plan
        self.con = con
        self.events: list[Event] = []
        # (account, date) -> requests for details; filled in by fill_details()
        self.pending: list[tuple[str, date, callable]] = []
        self.detail_sql: dict[tuple, str] = {}
        self._title_names: dict[str, set[str]] = {}  # names each rule's titles use

    # --- shared ------------------------------------------------------------------
    def want(self, key: tuple, sql: str) -> tuple:
        self.detail_sql.setdefault(key, sql)
        return key

    def later(self, account: str, day: date, fn) -> None:
        """Call ``fn(row)`` with the detail row of (account, day) once details are fetched."""
        self.pending.append((account, day, fn))

    def value_keys(self, cond: dict | None) -> list[str]:
        from .sql import calls_in

        if cond is None:
            return []
        found = calls_in(cond["expr"], {})
        for name, node in found.items():
            self.want(("v", name), expr_sql(node))
        return list(found)

    # --- alerts ------------------------------------------------------------------
    def alerts(self) -> None:
        alerts = self.plan["alerts"]
        if not alerts:
            return
        cols = []
        for i, a in enumerate(alerts):
            cond = f"({condition_sql(a['where'])} AND {condition_sql(a['when'])})"
            cols.append(f"{cond} AS h{i}")
        lagged = ", ".join(f"h{i}, LAG(h{i}) OVER ({PARTITION}) AS p{i}" for i in range(len(alerts)))
        keep = " OR ".join(f"h{i} OR COALESCE(p{i}, FALSE)" for i in range(len(alerts)))
        sql = (
            f"SELECT account, date, {', '.join(f'h{i}, p{i}' for i in range(len(alerts)))} FROM ("
            f"SELECT account, date, {lagged} FROM (SELECT account, date, {', '.join(cols)} FROM snapshots)"
            f") WHERE {keep} ORDER BY account, date"
        )
        rows = self.con.execute(sql).fetchall()
        for i, a in enumerate(alerts):
            self._alert_lifecycle(a, [(r[0], r[1], r[2 + 2 * i], r[3 + 2 * i]) for r in rows if r[2 + 2 * i] or r[3 + 2 * i]])

    def _alert_lifecycle(self, a: dict, rows) -> None:
        hold = a["for"] or 0
        cooldown = a["cooldown"]
        keys = self.value_keys(a["when"])
        account = None
        for acc, day, hit, prev in rows:
            if acc != account:
                account, firing, run_start, last_fire = acc, False, None, None
            if not hit:
                run_start = None
                if firing:
                    firing = False
                    self._emit_resolved(a, acc, day, keys)
                continue
            if not prev or run_start is None:
                run_start = day  # a new run of consecutive true snapshots
            if firing:
                continue
            if (day - run_start).days < hold:
                continue
            if last_fire is not None and cooldown is not None and day < last_fire + timedelta(days=cooldown):
                continue
            firing, last_fire = True, day
            self._emit_fired(a, acc, day, keys)

    def _emit_fired(self, a: dict, acc: str, day: date, keys: list[str]) -> None:
        wheres = [self.want(("w", "alert", a["name"], k), condition_sql(b["where"])) for k, b in enumerate(a["playbooks"])]
        instance = make_id("a", a["name"], acc, day)
        event = Event("alert_fired", day, acc, alert=a["name"], severity=a["severity"], instance=instance)
        self.events.append(event)

        def fill(row):
            event.values = _values(row, keys)
            book = _choose(a["playbooks"], [row[w] for w in wheres])
            if book is None:
                return
            event.playbook = book["name"]
            for t in book["tasks"]:
                due = day + timedelta(days=t["due"])
                self.events.append(self._task_event(
                    t, day, acc, due, instance, row, alert=a["name"], playbook=book["name"],
                    scope={"alert": {"name": a["name"], "title": a["title"]}},
                    id_parts=("alert", a["name"], acc, day, t["name"]),
                ))

        self.later(acc, day, fill)

    def _emit_resolved(self, a: dict, acc: str, day: date, keys) -> None:
        event = Event("alert_resolved", day, acc, alert=a["name"], severity=a["severity"])
        self.events.append(event)
        self.later(acc, day, lambda row: setattr(event, "values", _values(row, keys)))

    # --- goals ---------------------------------------------------------------------
    def goals(self, manual: tuple[ManualDeploy, ...]) -> None:
        known = {g["name"]: g for g in self.plan["goals"]}
        for m in manual:
            if m.goal not in known:
                raise RuntimeError_(f"unknown goal template `{m.goal}`")
        for g in self.plan["goals"]:
            cands = self._goal_candidates(g, [m for m in manual if m.goal == g["name"]])
            instances = self._goal_lifecycle(g, cands)
            self._goal_outcomes(g, instances)
        for g in self.plan["external_goals"]:
            self._external(g)

    def _goal_candidates(self, g: dict, manual: list[ManualDeploy]) -> list[tuple]:
        """Rows where the template may deploy: (account, deploy date, start, where ok, end snapshot, forced playbook)."""
        dur = int(g["duration"])
        d = g["deploy"]
        where = condition_sql(g["where"])
        parts = []
        if d["kind"] == "on":
            trig = f"CAST({ident(d['attr'])} + ({int(d['offset'])}) AS DATE)"
            parts.append(
                f"SELECT account, date, trig AS start, ok FROM ("
                f"SELECT account, date, {trig} AS trig, {where} AS ok, LAG(date) OVER ({PARTITION}) AS prev FROM snapshots"
                f") WHERE trig <= date AND ((prev IS NULL AND trig = date) OR trig > prev)"
            )
        elif d["kind"] == "when":
            raw = expr_sql(d["condition"]["expr"])
            parts.append(
                f"SELECT account, date, date AS start, ok FROM ("
                f"SELECT account, date, COALESCE(c, FALSE) AS c, COALESCE(LAG(c) OVER ({PARTITION}), FALSE) AS pc, ok "
                f"FROM (SELECT account, date, {raw} AS c, {where} AS ok FROM snapshots)"
                f") WHERE c AND NOT pc"
            )
        rows = []
        if parts:
            sql = (
                f"SELECT c.account, c.date, c.start, c.ok, s.date AS end_snap, NULL AS playbook FROM ({parts[0]}) c "
                f"ASOF LEFT JOIN (SELECT account, date FROM snapshots) s "
                f"ON c.account = s.account AND s.date >= CAST(c.start + {dur} AS DATE)"
            )
            rows = self.con.execute(sql).fetchall()
        for m in manual:
            deploy = self.con.execute(
                "SELECT min(date) FROM snapshots WHERE account = ? AND date >= ?", [m.account, m.on]
            ).fetchone()[0]
            if deploy is None:
                continue
            end = self.con.execute(
                "SELECT min(date) FROM snapshots WHERE account = ? AND date >= ?", [m.account, m.on + timedelta(days=dur)]
            ).fetchone()[0]
            rows.append((m.account, deploy, m.on, True, end, m.playbook or "*"))
        rows.sort(key=lambda r: (r[0], r[1], r[5] is None))
        return rows

    def _goal_lifecycle(self, g: dict, cands: list[tuple]) -> list[dict]:
        instances = []
        account, active_until = None, None
        active = False
        for acc, day, start, ok, end_snap, forced in cands:
            if acc != account:
                account, active, active_until = acc, False, None
            if active and (active_until is None or day < active_until):
                continue  # one active instance per account and template
            if not ok:
                continue
            active, active_until = True, end_snap
            inst = {
                "goal": g, "account": acc, "deploy": day, "start": start, "end_snap": end_snap,
                "end": start + timedelta(days=int(g["duration"])), "forced": forced,
                "id": make_id("g", g["name"], acc, start),
            }
            instances.append(inst)
            self._emit_deployed(g, inst)
        return instances

    def _emit_deployed(self, g: dict, inst: dict) -> None:
        acc, day, start = inst["account"], inst["deploy"], inst["start"]
        wheres = [self.want(("w", "goal", g["name"], k), condition_sql(b["where"])) for k, b in enumerate(g["playbooks"])]
        keys = self.value_keys(g["deploy"]["condition"]) if g["deploy"]["kind"] == "when" else []
        if g["kpi"] and g["kpi"]["kind"] == "relative":  # the KPI's start value travels with the event
            self.want(("v", g["kpi"]["metric"]), ident(g["kpi"]["metric"]))
            keys = [*keys, g["kpi"]["metric"]]
        event = Event("goal_deployed", day, acc, goal=g["name"], instance=inst["id"], start=start, end=inst["end"])
        self.events.append(event)
        forced = inst["forced"]

        def fill(row):
            if keys:
                event.values = _values(row, keys)
            if forced not in (None, "*"):
                book = next((b for b in g["playbooks"] if b["name"] == forced), None)
            else:
                book = _choose(g["playbooks"], [row[w] for w in wheres])
            if book is None:
                return
            event.playbook = book["name"]
            for t in book["tasks"]:
                for due, k in _schedule(t, start):
                    self.events.append(self._task_event(
                        t, day, acc, due, inst["id"], row, goal=g["name"], playbook=book["name"],
                        scope={"goal": {"name": g["name"], "title": g["title"]}},
                        id_parts=("goal", g["name"], acc, start, t["name"], k),
                    ))

        self.later(acc, day, fill)

    def _goal_outcomes(self, g: dict, instances: list[dict]) -> None:
        kpi = g["kpi"]
        if kpi is None or not instances:
            return
        self.con.execute("CREATE OR REPLACE TEMP TABLE _inst (id VARCHAR, account VARCHAR, deploy DATE, end_snap DATE)")
        insert_rows(self.con, "_inst", [(i["id"], i["account"], i["deploy"], i["end_snap"]) for i in instances])
        if kpi["kind"] == "condition":
            k = condition_sql(kpi["condition"])
            keys = self.value_keys(kpi["condition"])
            inner = f"SELECT account, date, {k} AS k FROM snapshots WHERE account IN (SELECT account FROM _inst)"
            sql = (
                f"SELECT i.id, min(CASE WHEN s.k THEN s.date END), bool_or(s.k AND s.date = i.end_snap) "
                f"FROM _inst i JOIN ({inner}) s ON s.account = i.account AND s.date >= i.deploy "
                f"AND (i.end_snap IS NULL OR s.date <= i.end_snap) GROUP BY i.id"
            )
        else:
            m = ident(kpi["metric"])
            keys = [kpi["metric"]]
            self.want(("v", kpi["metric"]), m)
            factor = 1 + kpi["amount"] if kpi["direction"] == "up" else 1 - kpi["amount"]
            cmp = ">=" if kpi["direction"] == "up" else "<="
            inner = f"SELECT account, date, {m} AS m FROM snapshots WHERE account IN (SELECT account FROM _inst)"
            sql = (
                f"WITH s AS ({inner}), "
                f"b AS (SELECT i.*, s.m AS base FROM _inst i JOIN s ON s.account = i.account AND s.date = i.deploy), "
                f"k AS (SELECT b.id, b.end_snap, s.date AS d, COALESCE(s.m {cmp} ROUND(b.base * {factor!r}, {DECIMALS}), FALSE) AS k "
                f"FROM b JOIN s ON s.account = b.account AND s.date >= b.deploy "
                f"AND (b.end_snap IS NULL OR s.date <= b.end_snap)) "
                f"SELECT id, min(CASE WHEN k THEN d END), bool_or(k AND d = end_snap) FROM k GROUP BY id"
            )
        outcome = {r[0]: (r[1], r[2]) for r in self.con.execute(sql).fetchall()}
        for inst in instances:
            met, at_end = outcome.get(inst["id"], (None, None))
            if met is not None:
                self._emit_outcome("goal_kpi_met", g, inst, met, keys)
            if inst["end_snap"] is not None:
                self._emit_outcome("goal_achieved" if at_end else "goal_missed", g, inst, inst["end_snap"], keys)

    def _emit_outcome(self, kind: str, g: dict, inst: dict, day: date, keys: list[str]) -> None:
        event = Event(kind, day, inst["account"], goal=g["name"], instance=inst["id"], start=inst["start"])
        self.events.append(event)
        self.later(inst["account"], day, lambda row: setattr(event, "values", _values(row, keys)))

    def _external(self, g: dict) -> None:
        start = date.fromisoformat(g["start"])
        row = self.con.execute(
            "SELECT min(date) FROM snapshots WHERE account = ? AND date >= ?", [g["account"], start]
        ).fetchone()
        day = row[0] if row else None
        if day is None:
            return
        inst = make_id("g", g["name"], g["account"], start)
        book = g["playbooks"][0] if g["playbooks"] else None
        event = Event("goal_deployed", day, g["account"], goal=g["name"], instance=inst, start=start,
                      end=date.fromisoformat(g["due"]), playbook=book["name"] if book else None)
        self.events.append(event)
        if book is None:
            return

        def fill(row):
            for t in book["tasks"]:
                for due, k in _schedule(t, start):
                    self.events.append(self._task_event(
                        t, day, g["account"], due, inst, row, goal=g["name"], playbook=book["name"],
                        scope={"goal": {"name": g["name"], "title": g["title"]}},
                        id_parts=("goal", g["name"], g["account"], start, t["name"], k),
                    ))

        self.later(g["account"], day, fill)

    # --- tasks and details ---------------------------------------------------------------
    def _task_event(self, t, day, acc, due, instance, row, *, alert=None, goal=None, playbook, scope, id_parts):
        return Event(
            "task_created", day, acc, alert=alert, goal=goal, playbook=playbook, instance=instance,
            id=make_id("t", *id_parts), task=t["name"], title=self.render_title(t, row, acc, day, scope),
            type=t["type"], owner=t["owner"], due=due, after=list(t["after"]),
        )

    def render_title(self, t: dict, row: dict, acc: str, day: date, scope: dict) -> str:
        from plays.compiler.title import TitleError, compile_title

        title = compile_title(t["title"])  # the plan's titles are checked by check_plan
        if not title.is_template:
            return title.text
        try:
            return title.render(self.title_values(title, row, acc, day, scope))
        except TitleError as e:  # only with values missing: report with the spec's position
            loc = t["loc"]
            raise RuntimeError_(
                f"{loc['path']}:{loc['line']}:{loc['col']}: cannot render the title of task `{t['name']}` "
                f"for account `{acc}` on {day}: {e}"
            ) from None

    def title_values(self, title, row: dict, acc: str, day: date, scope: dict):
        """What a title uses, from the detail row of (account, day)."""
        from plays.compiler.title import TitleValues

        (kind, rule), = scope.items()
        account = {a: row.get(("c", a)) for a in title.attributes if a != "id"}
        account["id"] = acc
        return TitleValues(
            kind=kind, rule=rule["name"], rule_title=rule["title"], today=day, account=account,
            metrics={m: row.get(("c", m)) for m in title.names}, calls={c: row.get(("f", c)) for c in title.calls},
        )

    def _names_used(self, rule: str) -> set[str]:
        names = self._title_names.get(rule)
        if names is None:
            from plays.compiler.title import compile_title

            names = set()
            r = next(x for k in ("alerts", "goals", "external_goals") for x in self.plan[k] if x["name"] == rule)
            for b in r["playbooks"]:
                for t in b["tasks"]:
                    names |= compile_title(t["title"]).names
            self._title_names[rule] = names
        return names

    def _title_calls(self) -> None:
        """SQL for every function call the task titles make (they are rendered from fetched values)."""
        from plays.compiler.title import compile_title

        from .sql import call_sql

        rules = [*self.plan["alerts"], *self.plan["goals"], *self.plan["external_goals"]]
        for r in rules:
            for b in r["playbooks"]:
                for t in b["tasks"]:
                    for c in compile_title(t["title"]).calls:
                        args = [{"name": c.metric}] + ([{"value": c.days}] if c.days is not None else [])
                        self.want(("f", c), call_sql(c.func, args))

    def fill_details(self) -> None:
        if not self.pending:
            return
        self._title_calls()
        cat = self.plan["catalog"]
        used: set[str] = set()
        for key in ("alerts", "goals", "external_goals"):
            for r in self.plan[key]:
                used |= self._names_used(r["name"])
        for a in cat["attributes"]:
            if "account" in used:
                self.want(("c", a["name"]), ident(a["name"]))
        for m in cat["metrics"]:
            if m["name"] in used:
                self.want(("c", m["name"]), ident(m["name"]))
        keys = list(self.detail_sql)
        wanted = sorted({(acc, day) for acc, day, _ in self.pending})
        self.con.execute("CREATE OR REPLACE TEMP TABLE _want (account VARCHAR, date DATE)")
        insert_rows(self.con, "_want", wanted)
        cols = ", ".join(f"{sql} AS d{i}" for i, sql in enumerate(self.detail_sql[k] for k in keys))
        sql = (
            f"SELECT x.* FROM (SELECT account, date, {cols} FROM snapshots "
            f"WHERE account IN (SELECT DISTINCT account FROM _want)) x "
            f"SEMI JOIN _want w ON x.account = w.account AND x.date = w.date"
        )
        details = {}
        for r in self.con.execute(sql).fetchall():
            details[(r[0], r[1])] = dict(zip(keys, r[2:]))
        for acc, day, fn in self.pending:
            fn(details[(acc, day)])
        self.pending = []


def _choose(books: list[dict], verdicts: list) -> dict | None:
    """The first playbook whose `where` holds (a default's `where` is always true)."""
    for b, ok in zip(books, verdicts):
        if ok:
            return b
    return None


def _schedule(t: dict, start: date):
    """(due date, occurrence) of a goal task: one, or one per recurrence while k * every <= until."""
    if t["every"] is None:
        yield start + timedelta(days=t["offset"]), 0
        return
    k = 1
    while k * t["every"] <= t["until"]:
        yield start + timedelta(days=k * t["every"]), k
        k += 1
