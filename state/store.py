"""The state store: the live record of alerts, goal instances and tasks, in SQLite.

``plays run --state plays.db`` applies a run's events here in one transaction.
Every row is keyed by the event's deterministic id, so applying the same
events again changes nothing, and a later run over newer snapshots adds what
is new. People's actions (a task done, a goal deployed by hand, a measure
recorded) are stored beside the computed record and never overwritten by a run.

The schema is versioned with ``PRAGMA user_version`` and migrated forward on
open; a store written by a newer plays is refused. See docs/state.md.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date
from urllib.parse import quote

from plays.compiler.plan import ExternalGoal, KpiRelative, Measure, Plan, PlanError
from plays.errors import PlaysError, UsageError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

# Migrations: MIGRATIONS[n] takes a store from version n to n + 1.
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        last_date TEXT,
        events INTEGER NOT NULL
    );
    CREATE TABLE plan (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
    CREATE TABLE accounts (
        account TEXT PRIMARY KEY,
        date TEXT NOT NULL,          -- the latest snapshot seen
        row_json TEXT NOT NULL       -- its attributes and metrics
    );
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,         -- the firing's instance id
        alert TEXT NOT NULL,
        account TEXT NOT NULL,
        severity TEXT,
        playbook TEXT,
        fired TEXT NOT NULL,
        resolved TEXT,
        status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
        values_json TEXT
    );
    CREATE TABLE goals (
        id TEXT PRIMARY KEY,         -- the instance id
        goal TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('internal', 'external')),
        account TEXT NOT NULL,
        playbook TEXT,
        deployed TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        manual INTEGER NOT NULL DEFAULT 0,
        kpi_start REAL,
        kpi_met TEXT,
        outcome_date TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'achieved', 'missed'))
    );
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        instance TEXT NOT NULL,      -- the alert firing or goal instance
        rule TEXT NOT NULL,
        account TEXT NOT NULL,
        task TEXT NOT NULL,
        title TEXT NOT NULL,
        type TEXT NOT NULL,
        owner TEXT NOT NULL,
        after_json TEXT NOT NULL,
        due_days INTEGER NOT NULL,   -- the task's `due` (days after what it follows)
        recurring INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        planned_due TEXT NOT NULL,
        due TEXT NOT NULL,           -- planned, or recomputed from actual completions
        done TEXT,
        status TEXT NOT NULL CHECK (status IN ('open', 'done'))
    );
    CREATE TABLE measures (
        instance TEXT NOT NULL REFERENCES goals(id),
        date TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (instance, date)
    );
    CREATE INDEX tasks_by_instance ON tasks(instance);
    CREATE INDEX goals_by_rule ON goals(goal, account);
    """,
]


class StoreError(UsageError):
    """A store that cannot be used (locked, newer, corrupt): a one-line message, exit 2."""


class Store(sqlite3.Connection):
    """A connection to a store that knows the store's path as the user gave it (for one-line messages)."""

    path: str = "the store"


def _open_connection(database: str, path: str, **kw) -> Store:
    con = sqlite3.connect(database, factory=Store, isolation_level=None, **kw)
    con.path = path
    return con


def path_of(con: sqlite3.Connection) -> str:
    """The store's path as the user gave it, for messages."""
    return getattr(con, "path", "the store")


class ActionRefused(PlaysError):
    """A manual action that does not apply (unknown id, wrong state, bad date): exit 1."""


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (creating or migrating) the store at ``path``; ``readonly``: open it for reading only.

    A read-only open never writes, never migrates and works on a store the
    user may not write (a file or folder without write permission): ``plays
    tasks``, ``alerts``, ``goals`` and ``report`` use it. A writing open of
    such a store is refused with a one-line ``StoreError``.
    """
    if os.path.isdir(path):  # SQLite says only "disk I/O error" or "unable to open"
        raise StoreError(f"{path}: a folder, not a state store (name the store's file, such as "
                         f"{os.path.join(path, 'plays.db')})")
    if readonly:
        return _connect_readonly(path)
    if _not_writable(path):
        if not os.path.exists(path):
            raise StoreError(f"{path}: cannot create the store here (no write permission on the folder)")
        raise StoreError(_read_only_message(path))
    try:
        con = _open_connection(path, path, timeout=BUSY_TIMEOUT_S)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA foreign_keys = ON")
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        if "readonly" in str(e):
            raise StoreError(_read_only_message(path)) from None
        raise StoreError(f"{path}: not a plays store ({_first_line(e)})") from None
    _check_version(path, version)
    if version < SCHEMA_VERSION:
        migrate(con, path)
    return con


def _check_version(path: str, version: int) -> None:
    if version < 0:  # the header's version field, damaged
        raise StoreError(f"{path}: not a plays store (store version {version})")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer plays (store version {version}, this plays knows up to {SCHEMA_VERSION}); "
            "upgrade plays to use it"
        )


def _not_writable(path: str) -> bool:
    """Whether the file (if it exists) or its folder (where SQLite keeps its journal) cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    return (os.path.exists(path) and not os.access(path, os.W_OK)) or not os.access(folder, os.W_OK)


def _read_only_message(path: str) -> str:
    return (f"{path}: the store is read-only (no write permission on the file or its folder); "
            "`plays tasks`, `alerts`, `goals` and `report` can still read it")


def _connect_readonly(path: str) -> sqlite3.Connection:
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        try:
            con = _open_connection(uri, path, uri=True, timeout=BUSY_TIMEOUT_S)
            version = con.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError as e:
            if "unable to open" not in str(e):
                raise
            # A store in WAL mode needs its -shm file to be read; in a folder
            # we may not write, SQLite cannot create it. Nobody can be
            # writing there either, so read the file as it is.
            con = _open_connection(uri + "&immutable=1", path, uri=True)
            version = con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{path}: an SQLite database of something else (it has tables but no plays version)")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise StoreError(f"{path}: not a plays store ({_first_line(e)})") from None
    _check_version(path, version)
    if version < SCHEMA_VERSION:
        raise StoreError(f"{path}: no run has been applied to this store yet"
                         if version == 0 else
                         f"{path}: written by an older plays (store version {version}); a writing command "
                         "(`plays run --state`) brings it up to date")
    return con


@contextmanager
def reading(path: str, *, values: bool = True):
    """Turn a damaged store met while reading or acting on it into a one-line ``StoreError`` (exit 2).

    SQLite finds most damage only when it reads the damaged page, and a row
    edited by hand can hold a value no plays wrote (a date that is not one,
    JSON that does not parse). The message names the store and the kind of
    problem, never the stored content. ``values=False`` leaves all but
    SQLite's errors alone (for code that also runs other stages).
    """
    try:
        yield
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # SQLite hands damaged text over undecodable
        if "readonly" in str(e):
            raise StoreError(_read_only_message(path)) from None
        raise StoreError(f"{path}: the store is damaged ({_first_line(e)}); restore it from a backup, "
                         "or rebuild it with `plays run ... --state`") from None
    except (ValueError, KeyError, TypeError, IndexError, PlanError) as e:  # json.JSONDecodeError is a ValueError
        if not values:
            raise
        raise StoreError(f"{path}: the store is damaged (a stored value plays did not write: "
                         f"{type(e).__name__}); restore it from a backup, or rebuild it with `plays run ... --state`"
                         ) from None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def migrate(con: sqlite3.Connection, path: str = "the store") -> None:
    """Bring the store to SCHEMA_VERSION, every step in one transaction (a failed step changes nothing)."""
    try:
        with transaction(con, path):
            version = con.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            if version == 0 and con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{path}: an SQLite database of something else (it has tables but no plays version)")
            for n in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[n].split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA user_version = {n + 1}")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise StoreError(f"{path}: cannot bring the store to version {SCHEMA_VERSION} ({e})") from None


@contextmanager
def transaction(con: sqlite3.Connection, path: str = "the store"):
    """One write transaction: all or nothing. Waits for another writer up to BUSY_TIMEOUT_S."""
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise StoreError(
                f"{path}: another plays command is writing to this store; tried for {BUSY_TIMEOUT_S:g} s"
            ) from None
        raise
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


# --- applying a run --------------------------------------------------------------------


def apply_run(con: sqlite3.Connection, plan: Plan, events: Iterable[dict], accounts: dict[str, tuple[str, dict]],
              last_date: date | None, path: str = "the store", *, progress=None) -> dict:
    """Apply a run's events (JSON form, in the runtime's order) in one transaction; returns what changed.

    ``accounts`` maps each account to (its latest snapshot date, that row:
    attribute and metric values) so that manual actions can later choose
    playbooks and KPI start values; ``last_date`` is the run's latest
    snapshot date (external goals due by then are settled). ``progress``, if
    given, is called with the number of events applied so far, every 1,000
    events, inside the transaction. The result counts rows added or ended:
    ``{"alerts": 2, "alerts_resolved": 1, "goals": 3, "goals_ended": 2, "tasks": 9}``;
    all zero when the same events were applied before.

    >>> con = connect("plays.db")                                              # doctest: +SKIP
    >>> apply_run(con, plan, [e.to_json() for e in events], accounts, date(2026, 4, 30), "plays.db")  # doctest: +SKIP
    """
    from datetime import datetime, timezone

    tasks_by_rule = _plan_tasks(plan)
    goal_kpi = {g.name: g.kpi for g in plan.goals}
    external = {g.name for g in plan.external_goals}
    # Events may stream from the evaluation: only SQLite's own errors are store damage here (a bad stored
    # value is met in _settle_external, which reads through the whole guard).
    with reading(path, values=False), transaction(con, path):
        before = _counts(con)  # inside: a run that waited for another sees what that one wrote
        con.execute("INSERT INTO plan (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                    [json.dumps(plan.to_json())])
        for acc, (day, row) in accounts.items():
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?) ON CONFLICT (account) DO UPDATE SET date = excluded.date, "
                "row_json = excluded.row_json WHERE excluded.date >= accounts.date",
                [acc, day, json.dumps(row, default=str)],
            )
        firing: dict[tuple[str, str], str] = {}
        n = 0
        for n, e in enumerate(events, 1):  # any iterable: a large run streams its events in
            if progress is not None and n % 1000 == 0:
                progress(n)
            kind = e["event"]
            if kind == "alert_fired":
                con.execute(
                    "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?, NULL, 'open', ?)",
                    [e["instance"], e["alert"], e["account"], e.get("severity"), e.get("playbook"), e["date"],
                     json.dumps(e.get("values"))],
                )
                firing[(e["alert"], e["account"])] = e["instance"]
            elif kind == "alert_resolved":
                inst = firing.get((e["alert"], e["account"])) or _open_alert(con, e["alert"], e["account"], e["date"])
                if inst:
                    con.execute("UPDATE alerts SET resolved = ?, status = 'resolved' WHERE id = ? AND status = 'open'",
                                [e["date"], inst])
            elif kind == "goal_deployed":
                con.execute(
                    "INSERT OR IGNORE INTO goals (id, goal, kind, account, playbook, deployed, start, end, status) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active')",
                    [e["instance"], e["goal"], "external" if e["goal"] in external else "internal", e["account"], e.get("playbook"),
                     e["date"], e["start"], e["end"]],
                )
                kpi = goal_kpi.get(e["goal"])
                if isinstance(kpi, KpiRelative) and e.get("values"):
                    # the value at the deploy snapshot, which the runtime compares with; it also replaces the
                    # estimate a manual deploy took from the latest stored snapshot
                    con.execute("UPDATE goals SET kpi_start = ? WHERE id = ? AND kpi_start IS NOT ?",
                                [e["values"].get(kpi.metric), e["instance"], e["values"].get(kpi.metric)])
            elif kind == "task_created":
                rule = e.get("alert") or e.get("goal")
                t = tasks_by_rule.get((rule, e.get("playbook"), e["task"]))
                con.execute(
                    "INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'open')",
                    [e["id"], e["instance"], rule, e["account"], e["task"], e["title"], e["type"], e["owner"],
                     json.dumps(e.get("after") or []), t.due if t else 0, 1 if t and t.every else 0,
                     e["date"], e["due"], e["due"]],
                )
            elif kind == "goal_kpi_met":
                con.execute("UPDATE goals SET kpi_met = ? WHERE id = ? AND kpi_met IS NULL", [e["date"], e["instance"]])
            elif kind in ("goal_achieved", "goal_missed"):
                status = "achieved" if kind == "goal_achieved" else "missed"
                con.execute("UPDATE goals SET status = ?, outcome_date = ? WHERE id = ? AND status = 'active'",
                            [status, e["date"], e["instance"]])
        if last_date is not None:
            with reading(path):
                _settle_external(con, plan, last_date)
        after = _counts(con)
        changed = {k: after[k] - before[k] for k in after}
        if any(changed.values()) or not _has_run(con, plan):
            con.execute("INSERT INTO runs (applied_at, plan_hash, last_date, events) VALUES (?, ?, ?, ?)",
                        [datetime.now(timezone.utc).isoformat(timespec="seconds"), plan.source_hash,
                         last_date.isoformat() if last_date else None, n])
    return changed


def _has_run(con, plan) -> bool:
    return con.execute("SELECT 1 FROM runs WHERE plan_hash = ? LIMIT 1", [plan.source_hash]).fetchone() is not None


def _counts(con) -> dict:
    q = {
        "alerts": "SELECT count(*) FROM alerts",
        "alerts_resolved": "SELECT count(*) FROM alerts WHERE status = 'resolved'",
        "goals": "SELECT count(*) FROM goals",
        "goals_ended": "SELECT count(*) FROM goals WHERE status <> 'active'",
        "tasks": "SELECT count(*) FROM tasks",
    }
    return {k: con.execute(sql).fetchone()[0] for k, sql in q.items()}


def _open_alert(con, alert, account, day) -> str | None:
    row = con.execute(
        "SELECT id FROM alerts WHERE alert = ? AND account = ? AND fired < ? ORDER BY fired DESC LIMIT 1",
        [alert, account, day],
    ).fetchone()
    return row[0] if row else None


def _plan_tasks(plan: Plan) -> dict:
    return {(r.name, b.name, t.name): t for r in plan.rules for b in r.playbooks for t in b.tasks}


# --- external goals ----------------------------------------------------------------------


def _settle_external(con, plan: Plan, as_of: date) -> None:
    """External goals whose due date the run's snapshots reached: outcome from the measures recorded by hand."""
    for g in plan.external_goals:
        if g.measure is None or g.due > as_of:
            continue
        for (inst,) in con.execute("SELECT id FROM goals WHERE goal = ? AND status = 'active'", [g.name]).fetchall():
            settle(con, g, inst)


def stored_plan(con) -> Plan:
    """The plan of the store's last run (manual actions work against it)."""
    row = con.execute("SELECT json FROM plan WHERE id = 1").fetchone()
    if row is None:
        raise ActionRefused("this store has no plan yet: run `plays run SPECS --snapshots ... --state STORE` first")
    return Plan.from_json(json.loads(row[0]), validated=True)


def manual_deploys(con):
    """The goals deployed by hand, for the engine to follow on later runs (KPI outcomes)."""
    from plays.runtime.engine import ManualDeploy

    with reading(path_of(con)):
        rows = con.execute("SELECT goal, account, start, playbook FROM goals WHERE manual = 1 ORDER BY id").fetchall()
        return tuple(ManualDeploy(goal=g, account=a, on=date.fromisoformat(s), playbook=p) for g, a, s, p in rows)


# --- reading ------------------------------------------------------------------------------


def list_tasks(con, *, account=None, owner=None, open_only=False, overdue=False, as_of: date | None = None) -> list[dict]:
    as_of = as_of or date.today()
    sql = "SELECT id, account, rule, task, title, type, owner, created, planned_due, due, done, status FROM tasks WHERE 1=1"
    args: list = []
    if account:
        sql += " AND account = ?"
        args.append(account)
    if owner:
        sql += " AND owner = ?"
        args.append(owner)
    if open_only or overdue:
        sql += " AND status = 'open'"
    if overdue:
        sql += " AND due < ?"
        args.append(as_of.isoformat())
    sql += " ORDER BY due, account, rule, task, id"
    keys = ("id", "account", "rule", "task", "title", "type", "owner", "created", "planned_due", "due", "done", "status")
    out = []
    for r in con.execute(sql, args).fetchall():
        d = dict(zip(keys, r))
        if d["status"] == "open" and d["due"] < as_of.isoformat():
            d["status"] = "overdue"
        out.append(d)
    return out


def list_alerts(con, *, include_resolved=False) -> list[dict]:
    sql = "SELECT id, alert, account, severity, playbook, fired, resolved, status FROM alerts"
    if not include_resolved:
        sql += " WHERE status = 'open'"
    sql += " ORDER BY fired, account, alert"
    keys = ("id", "alert", "account", "severity", "playbook", "fired", "resolved", "status")
    return [dict(zip(keys, r)) for r in con.execute(sql).fetchall()]


def list_goals(con) -> list[dict]:
    keys = ("id", "goal", "kind", "account", "playbook", "deployed", "start", "end", "manual", "kpi_met",
            "outcome_date", "status")
    rows = con.execute(f"SELECT {', '.join(keys)} FROM goals ORDER BY start, account, goal").fetchall()
    return [dict(zip(keys, r)) for r in rows]


def dump(con) -> dict:
    """Everything but the run log, as sorted rows: for comparing two stores."""
    out = {}
    for table in ("plan", "accounts", "alerts", "goals", "tasks", "measures"):
        out[table] = sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    return out


# --- external goal outcomes ----------------------------------------------------------------


def measure_met(measure: Measure, value: float) -> bool:
    """Whether a recorded value meets an external goal's target (``target <= 30``: value <= 30)."""
    return measure.met(value)


def external_outcome(goal: ExternalGoal, measures: list[tuple[date, float]]) -> tuple[str, date | None]:
    """An external goal's outcome at its due date: (``achieved`` or ``missed``, the date the target was met).

    The value that counts is the last one recorded on or before the due
    date; nothing recorded by then is missed. The date met is the first
    date of the final run of recordings that meet the target.
    """
    due = goal.due
    counted = sorted((d, v) for d, v in measures if d <= due)
    if not counted or not goal.measure.met(counted[-1][1]):
        return "missed", None
    met = counted[-1][0]
    for d, v in reversed(counted):
        if not goal.measure.met(v):
            break
        met = d
    return "achieved", met


def settle(con: sqlite3.Connection, goal: ExternalGoal, instance: str) -> None:
    """Write an external goal instance's outcome at its due date (inside the caller's transaction)."""
    measures = [(date.fromisoformat(d), v) for d, v in
                con.execute("SELECT date, value FROM measures WHERE instance = ?", [instance]).fetchall()]
    status, met = external_outcome(goal, measures)
    con.execute("UPDATE goals SET status = ?, outcome_date = ?, kpi_met = ? WHERE id = ?",
                [status, goal.due.isoformat(), met.isoformat() if met else None, instance])
