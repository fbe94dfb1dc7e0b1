"""Manual actions on the state store: a goal deployed by hand, a task done, an external goal's measure.

Each action is split in two: a pure function that works out what the action
means from the plan and the values it needs (``plan_deployment``,
``reschedule``, ``external_outcome``), and a function that checks the
store's state and writes the result in one transaction (``deploy_goal``,
``complete_task``, ``record_measure``). The pure halves are what the runtime
or a test calls with a plan and an account's values in hand:

>>> from plays.compiler.driver import compile_text
>>> plan = compile_text('metric mrr: money  goal save_plan { duration: 30d  kpi: mrr up 10% '
...                     '  playbook { task call "Call" { due: 2d } } }')
>>> d = plan_deployment(plan, "save_plan", "acme", {"mrr": 900.0}, date(2026, 3, 1))
>>> d.playbook, d.end, d.kpi_start, [t.due for t in d.tasks]
('default', datetime.date(2026, 3, 31), 900.0, [datetime.date(2026, 3, 3)])

A refused action raises ``ActionRefused`` with a one-line message that says
why and, where it helps, what to do instead.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from plays.compiler.plan import Goal, KpiRelative, Plan, Playbook, Task
from plays.runtime.events import make_id
from .store import ActionRefused, settle, stored_plan, transaction

__all__ = [
    "ActionRefused", "Deployment", "PlannedTask", "plan_deployment", "deploy_goal", "reschedule", "complete_task",
    "record_measure",
]


# --- goal deploy ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task occurrence of a deployed goal, with the id the runtime gives the same occurrence."""

    id: str
    task: str
    title: str
    type: str
    owner: str
    after: tuple[str, ...]
    due_days: int
    recurring: bool
    due: date


@dataclass(frozen=True, slots=True)
class Deployment:
    """What deploying a goal template on an account records: the instance and its scheduled tasks."""

    id: str
    goal: str
    account: str
    playbook: str
    start: date
    end: date
    kpi_start: float | None
    tasks: tuple[PlannedTask, ...]

    def to_json(self) -> dict:
        return {"id": self.id, "goal": self.goal, "account": self.account, "playbook": self.playbook,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "kpi_start": self.kpi_start,
                "tasks": [{"id": t.id, "task": t.task, "title": t.title, "due": t.due.isoformat()} for t in self.tasks]}


def plan_deployment(plan: Plan, template: str, account: str, row: dict, on: date,
                    playbook: str | None = None) -> Deployment:
    """The instance that deploying ``template`` on ``account`` starting ``on`` creates.

    ``row`` holds the account's attribute and metric values (a snapshot row:
    names to values; ``account``/``date`` keys are ignored). The playbook is
    ``playbook`` if given, else the first whose ``where`` holds for ``row``;
    a relative KPI's start value is its metric in ``row``. Tasks follow the
    planned schedule from ``on``, with the ids the runtime gives them, so a
    later run recognises them. The goal's own ``where`` (eligibility) is not
    checked: a person deploying by hand has decided.
    """
    goals = {g.name: g for g in plan.goals}
    g = goals.get(template)
    if g is None:
        if any(x.name == template for x in plan.external_goals):
            raise ActionRefused(f"`{template}` is an external goal: it is deployed from its spec on its start date")
        raise ActionRefused(f"no goal template `{template}`" + _hint(template, goals))
    book = _choose_playbook(plan, g, row, account, on, playbook)
    inst = make_id("g", template, account, on)
    kpi = g.kpi
    kpi_start = None
    if isinstance(kpi, KpiRelative):
        v = row.get(kpi.metric)
        kpi_start = float(v) if v is not None else None
    tasks = []
    for t in book.tasks:
        title = _title(t, row, account, on, g, plan.catalog)
        for due, k in t.schedule(on):  # the planned schedule, exactly as dry runs compute it
            tasks.append(PlannedTask(
                id=make_id("t", "goal", template, account, on, t.name, k), task=t.name, title=title,
                type=t.type, owner=t.owner, after=tuple(t.after), due_days=int(t.due or 0),
                recurring=t.every is not None, due=due,
            ))
    return Deployment(id=inst, goal=template, account=account, playbook=book.name, start=on,
                      end=on + timedelta(days=int(g.duration)), kpi_start=kpi_start, tasks=tuple(tasks))


def deploy_goal(con: sqlite3.Connection, template: str, account: str, on: date, playbook: str | None = None, *,
                plan: Plan | None = None, row: dict | None = None, path: str = "the store") -> Deployment:
    """Deploy a goal template on an account by hand and record it (see ``plan_deployment``).

    ``plan`` defaults to the plan of the store's last run and ``row`` to the
    account's latest stored snapshot. Refused: an unknown template, playbook
    or account, and an account with an instance of the template that is
    active or whose period contains ``on``.
    """
    plan = plan if plan is not None else stored_plan(con)
    if row is None:
        stored = con.execute("SELECT row_json FROM accounts WHERE account = ?", [account]).fetchone()
        if stored is None:
            known = [a for (a,) in con.execute("SELECT account FROM accounts").fetchall()]
            raise ActionRefused(f"no account `{account}` in this store (accounts come from the snapshots of a run)"
                                + _hint(account, known))
        row = json.loads(stored[0])
    d = plan_deployment(plan, template, account, row, on, playbook)
    with transaction(con, path):
        clash = con.execute(
            "SELECT id, start, end, status FROM goals WHERE goal = ? AND account = ? "
            "AND (status = 'active' OR (start <= ? AND ? < end)) ORDER BY start LIMIT 1",
            [template, account, on.isoformat(), on.isoformat()],
        ).fetchone()
        if clash:
            gid, start, end, status = clash
            what = "an active" if status == "active" else f"an {status}" if status[0] in "aeiou" else f"a {status}"
            raise ActionRefused(f"`{account}` already has {what} `{template}` from {start} to {end} (id {gid}); "
                                "one instance of a template per account at a time")
        con.execute(
            "INSERT INTO goals (id, goal, kind, account, playbook, deployed, start, end, manual, kpi_start, status) "
            "VALUES (?, ?, 'internal', ?, ?, ?, ?, ?, 1, ?, 'active')",
            [d.id, template, account, d.playbook, on.isoformat(), on.isoformat(), d.end.isoformat(), d.kpi_start],
        )
        con.executemany(
            "INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'open')",
            [(t.id, d.id, template, account, t.task, t.title, t.type, t.owner, json.dumps(list(t.after)), t.due_days,
              int(t.recurring), on.isoformat(), t.due.isoformat(), t.due.isoformat()) for t in d.tasks],
        )
    return d


def _choose_playbook(plan: Plan, g: Goal, row: dict, account: str, on: date, wanted: str | None) -> Playbook:
    if wanted:
        book = next((b for b in g.playbooks if b.name == wanted), None)
        if book is None:
            names = [b.name for b in g.playbooks]
            raise ActionRefused(f"`{g.name}` has no playbook `{wanted}` (it has {', '.join(names) or 'none'})"
                                + _hint(wanted, names))
        return book
    if not g.playbooks:
        raise ActionRefused(f"`{g.name}` has no playbook to deploy")
    from plays.runtime.snapshots import snapshots_from_rows
    from plays.runtime.sql import condition_sql

    cat = plan.catalog
    one = {"account": account, "date": on}
    for a in cat.attributes:
        v = row.get(a.name)
        one[a.name] = date.fromisoformat(v) if a.type == "date" and isinstance(v, str) and v else v
    for m in cat.metrics:
        one[m.name] = row.get(m.name)
    con = snapshots_from_rows(plan, [one])
    try:
        for b in g.playbooks:
            if con.execute(f"SELECT {condition_sql(b.where)} FROM snapshots").fetchone()[0]:
                return b
    finally:
        con.close()
    raise ActionRefused(f"no playbook of `{g.name}` applies to `{account}`; choose one with --playbook")


def _title(t: Task, row: dict, account: str, on: date, g: Goal, catalog) -> str:
    """A task title rendered from the account's values; one that needs a window is kept as written.

    Windowed functions (``pct_change(mau, 7d)``) need the account's history,
    which a manual action does not have; the title is then the template's text.
    """
    from plays.compiler.title import TitleError, TitleValues, compile_title

    try:
        title = compile_title(t.title)
    except TitleError:
        return t.title
    if not title.is_template or title.calls:
        return title.text
    dates = {a.name for a in catalog.attributes if a.type == "date"}
    account_values = {"id": account}
    for name in title.attributes - {"id"}:
        v = row.get(name)
        account_values[name] = date.fromisoformat(v) if name in dates and isinstance(v, str) and v else v
    values = TitleValues(kind="goal", rule=g.name, rule_title=g.title, today=on, account=account_values,
                         metrics={m: row.get(m) for m in title.names})
    try:
        return title.render(values)
    except (TitleError, ValueError):
        return t.title


# --- task done -----------------------------------------------------------------------------------


def reschedule(tasks: list[dict]) -> dict[str, date]:
    """New due dates of one goal instance's tasks after completions: ``{task name: due}`` for those that move.

    Each task is a dict with ``task``, ``after`` (names), ``due_days``,
    ``due`` and ``done`` (dates or None), ``recurring``. A task that follows
    others is due ``due_days`` after the latest completion of the tasks it
    follows, a completion being the actual date when done, else the (possibly
    recomputed) due date. Done tasks keep the due date they were judged
    against; recurring tasks keep their calendar (they follow nothing).
    """
    by_name = {t["task"]: t for t in tasks if not t["recurring"]}
    finish: dict[str, date] = {}
    moved: dict[str, date] = {}

    def completion(name: str) -> date:
        if name not in finish:
            t = by_name[name]
            due = t["due"]
            preds = [completion(a) for a in t["after"] if a in by_name]
            if preds and t["done"] is None:
                new = max(preds) + timedelta(days=t["due_days"])
                if new != due:
                    moved[name] = due = new
            finish[name] = t["done"] or due
        return finish[name]

    for name in by_name:
        completion(name)
    return moved


def complete_task(con: sqlite3.Connection, task_id: str, on: date, path: str = "the store") -> list[tuple[str, str]]:
    """Mark a task done on ``on`` and reschedule the tasks that follow it; returns (task, new due) pairs.

    Refused: an unknown id, a task already done, a date before the task was created.
    """
    with transaction(con, path):
        row = con.execute("SELECT instance, task, status, created, done FROM tasks WHERE id = ?", [task_id]).fetchone()
        if row is None:
            raise ActionRefused(f"no task `{task_id}` (see `plays tasks`)")
        instance, name, status, created, done = row
        if status == "done":
            raise ActionRefused(f"task `{task_id}` ({name}) is already done (on {done})")
        if on < date.fromisoformat(created):
            raise ActionRefused(f"{on} is before task `{task_id}` ({name}) was created ({created})")
        con.execute("UPDATE tasks SET done = ?, status = 'done' WHERE id = ?", [on.isoformat(), task_id])
        rows = con.execute(
            "SELECT id, task, after_json, due_days, due, done, recurring FROM tasks WHERE instance = ? ORDER BY id",
            [instance],
        ).fetchall()
        ids = {r[1]: r[0] for r in rows if not r[6]}
        moved = reschedule([
            {"task": r[1], "after": json.loads(r[2]), "due_days": r[3], "due": date.fromisoformat(r[4]),
             "done": date.fromisoformat(r[5]) if r[5] else None, "recurring": bool(r[6])} for r in rows
        ])
        changed = sorted((n, d.isoformat()) for n, d in moved.items())
        con.executemany("UPDATE tasks SET due = ? WHERE id = ?", [(d, ids[n]) for n, d in changed])
    return changed


# --- external goal measures ----------------------------------------------------------------------


def record_measure(con: sqlite3.Connection, goal_id: str, value: float, on: date, path: str = "the store") -> dict:
    """Record an external goal's customer-tracked measure on ``on``; at or after due, settle the outcome.

    Recording again on the same date replaces that date's value. A value
    dated on or before the due date may be recorded after the outcome was
    settled (a late entry): the outcome is settled again from the values.
    Refused: an unknown id, an internal goal, a goal without a measure, a
    value that is not a finite number, a date before the start or after due.
    """
    if not math.isfinite(value):
        raise ActionRefused(f"`{value}` is not a number to record")
    plan = stored_plan(con)
    with transaction(con, path):
        row = con.execute("SELECT goal, kind, status, start FROM goals WHERE id = ?", [goal_id]).fetchone()
        if row is None:
            raise ActionRefused(f"no goal instance `{goal_id}` (see `plays goals`)")
        name, kind, status, start = row
        if kind != "external":
            raise ActionRefused(f"`{goal_id}` is the internal goal `{name}`: its KPI comes from the snapshots")
        g = next((x for x in plan.external_goals if x.name == name), None)
        if g is None:
            raise ActionRefused(f"`{name}` is no longer in the plan of the last run")
        if g.measure is None:
            raise ActionRefused(f"`{name}` has no `measure:` to record")
        if on < date.fromisoformat(start):
            raise ActionRefused(f"{on} is before the goal's start ({start})")
        due = g.due
        if on > due:
            raise ActionRefused(f"{on} is after the goal's due date ({due}): its outcome is settled from the values "
                                "recorded up to then")
        con.execute("INSERT INTO measures VALUES (?, ?, ?) ON CONFLICT (instance, date) DO UPDATE SET value = excluded.value",
                    [goal_id, on.isoformat(), value])
        if on == due or status != "active":
            settle(con, g, goal_id)
        status = con.execute("SELECT status FROM goals WHERE id = ?", [goal_id]).fetchone()[0]
    return {"id": goal_id, "goal": name, "date": on.isoformat(), "value": value, "status": status}


def _hint(name: str, known) -> str:
    from plays.diagnostics import suggest

    hint = suggest(name, list(known))
    return f"; did you mean `{hint}`?" if hint else ""
