"""``plays explain``: one rule, one account, one date: every sub-expression's value and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from plays.diagnostics import UsageError, suggest

from plays.compiler.plan import (
    Alert,
    Attr,
    Binary,
    Call,
    Condition,
    Const,
    DeployManual,
    DeployOn,
    DeployWhen,
    Expr,
    InList,
    IsEmpty,
    KpiCondition,
    Metric,
    Plan,
    Unary,
    check,
    iter_children,
)

from .engine import evaluate
from .sql import PARTITION, condition_sql, expr_sql, ident, window


@dataclass
class Step:
    """One sub-expression: how it reads, its value, and the snapshots it looked at."""

    text: str
    value: object
    depth: int
    used: str | None = None
    raw: object = None  # the value as the SQL engine computed it (what `values` in events carries)


@dataclass
class Explanation:
    rule: str
    kind: str  # alert | goal
    account: str
    day: date
    sections: list[tuple[str, str, list[Step], object]] = field(default_factory=list)  # (label, source, steps, verdict)
    verdict: str = ""


def _nodes(root: Expr) -> list[tuple[Expr, int]]:
    """Every sub-expression with its depth, parents first; a call shows its metric argument but not its window."""
    out: list[tuple[Expr, int]] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        out.append((node, depth))
        if isinstance(node, Call):
            kids = [a for a in node.args if isinstance(a, (Metric, Attr))]
        else:
            kids = list(iter_children(node))
        stack.extend((k, depth + 1) for k in reversed(kids))
    return out


def _text(node: Expr) -> str:
    """An expression as the spec writes it (without the parentheses)."""
    if isinstance(node, Const):
        v = node.value
        if node.type == "percent":
            return f"{v * 100:g}%"
        if node.type == "duration":
            return f"{v}d"
        return str(v).lower() if isinstance(v, bool) else str(v)
    if isinstance(node, (Metric, Attr)):
        return node.name
    if isinstance(node, Call):
        return node.describe()
    if isinstance(node, Unary):
        return f"-{_text(node.arg)}" if node.op == "neg" else f"not {_text(node.arg)}"
    if isinstance(node, IsEmpty):
        return f"{_text(node.arg)} is {'not ' if node.negated else ''}empty"
    if isinstance(node, InList):
        return f"{_text(node.arg)} {'not ' if node.negated else ''}in ({', '.join(_text(i) for i in node.items)})"
    assert isinstance(node, Binary)
    return f"{_text(node.left)} {node.op} {_text(node.right)}"


def _used_sql(node: Expr) -> str | None:
    """SQL describing which snapshots a window function used, as text."""
    if not isinstance(node, Call) or node.func in ("days_since", "days_until"):
        return None
    if node.func == "previous":
        return f"'previous snapshot ' || COALESCE(CAST(LAG(date) OVER ({PARTITION}) AS VARCHAR), 'none')"
    days = node.days
    if node.func in ("value_at", "change", "pct_change"):
        return (f"'snapshot of ' || COALESCE(CAST(LAST_VALUE(date) {window(days, upto_before=True)} AS VARCHAR), "
                f"'none (no snapshot that old)')")
    frame = window(days)
    m = ident(node.metric)
    return (f"CAST(COUNT(*) {frame} AS VARCHAR) || ' snapshots from ' || CAST(MIN(date) {frame} AS VARCHAR) || "
            f"' to ' || CAST(MAX(date) {frame} AS VARCHAR) || ' (' || CAST(COUNT({m}) {frame} AS VARCHAR) || ' with a value)'")


def _show(v, typ: str):
    """A value as a person reads it: percents as percents, whole numbers without .0."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, Decimal):  # SQL literals such as -0.2 come back as decimals
        v = float(v)
    if typ == "percent" and isinstance(v, (int, float)):
        return f"{v * 100:.4g}%"
    if isinstance(v, float):
        return int(v) if v.is_integer() else float(f"{v:.6g}")
    return v


def _raw(v):
    return float(v) if isinstance(v, Decimal) else v


def explain_condition(con, cond: Condition, account: str, day: date) -> tuple[list[Step], object]:
    nodes = _nodes(cond.expr)
    cols = []
    for i, (n, _) in enumerate(nodes):
        cols.append(f"{expr_sql(n)} AS v{i}")
        used = _used_sql(n)
        cols.append(f"{used} AS u{i}" if used else f"NULL AS u{i}")
    sql = (f"SELECT * FROM (SELECT account, date, {', '.join(cols)} FROM snapshots WHERE account = ?) "
           f"WHERE date = ?")
    row = con.execute(sql, [account, day]).fetchone()
    if row is None:
        raise UsageError(f"account `{account}` has no snapshot on {day}")
    values = row[2:]
    steps = [Step(_text(n), _show(values[2 * i], n.type), d, values[2 * i + 1], _raw(values[2 * i]))
             for i, (n, d) in enumerate(nodes)]
    return steps, values[0]


def explain(plan: Plan, con, rule: str, account: str, day: date) -> Explanation:
    """Explain ``rule`` at one account and date. The connection's ``snapshots`` table is narrowed to that account."""
    alerts = {a.name: a for a in plan.alerts}
    goals = {g.name: g for g in plan.goals}
    external = {g.name: g for g in plan.external_goals}
    if rule in external:
        g = external[rule]
        raise UsageError(f"`{rule}` is an external goal: it has no trigger to explain (it deploys to account "
                         f"`{g.account}` at its first snapshot on or after {g.start})")
    if rule not in alerts and rule not in goals:
        hint = suggest(rule, [*alerts, *goals])
        raise UsageError(f"no alert or goal template named `{rule}`" + (f"; did you mean `{hint}`?" if hint else ""))
    exists = con.execute("SELECT count(*) FROM snapshots WHERE account = ?", [account]).fetchone()[0]
    if not exists:
        names = [r[0] for r in con.execute("SELECT DISTINCT account FROM snapshots LIMIT 10000").fetchall()]
        hint = suggest(account, names)
        raise UsageError(f"no snapshots for account `{account}`" + (f"; did you mean `{hint}`?" if hint else ""))
    kind = "alert" if rule in alerts else "goal"
    r = alerts.get(rule) or goals[rule]
    check(plan)
    # Only this account's history up to the date matters (windows look back, never ahead).
    con.execute("CREATE OR REPLACE TABLE _one AS SELECT * FROM snapshots WHERE account = ? AND date <= ?", [account, day])
    con.execute("DROP TABLE snapshots")
    con.execute("ALTER TABLE _one RENAME TO snapshots")
    if not con.execute("SELECT count(*) FROM snapshots WHERE date = ?", [day]).fetchone()[0]:
        raise UsageError(f"account `{account}` has no snapshot on {day}")
    ex = Explanation(rule, kind, account, day)
    conds = []
    if kind == "alert":
        conds = [("where", r.where), ("when", r.when)]
    else:
        if isinstance(r.deploy, DeployWhen):
            conds.append(("deploy when", r.deploy.condition))
        conds.append(("where", r.where))
        if isinstance(r.kpi, KpiCondition):
            conds.append(("kpi", r.kpi.condition))
    held = {}
    if kind == "goal" and isinstance(r.deploy, DeployOn):
        ex.sections.append(_trigger_section(con, r.deploy, day))
    for label, cond in conds:
        if cond is None:
            continue
        steps, verdict = explain_condition(con, cond, account, day)
        held[label] = verdict
        ex.sections.append((label, cond.source, steps, verdict))

    # The lifecycle: run the plan for this account alone and read its events.
    only = replace(plan, alerts=(r,) if kind == "alert" else (), goals=(r,) if kind == "goal" else (), external_goals=())
    events = [e for e in evaluate(only, con) if e.rule == rule and e.date <= day]
    if kind == "alert":
        ex.verdict = _alert_verdict(r, events, held, day, _run_start(con, r, day))
    else:
        ex.verdict = _goal_verdict(r, events, held, day)
    return ex


def _run_start(con, a: Alert, day: date) -> date | None:
    """The first snapshot of the run of consecutive snapshots, ending at ``day``, where the alert's condition holds."""
    sql = f"SELECT date, {condition_sql(a.where)} AND {condition_sql(a.when)} FROM snapshots ORDER BY date DESC"
    start = None
    for d, ok in con.execute(sql).fetchall():  # the table holds this account's rows up to ``day``
        if not ok:
            break
        start = d
    return start


def _trigger_section(con, deploy: DeployOn, day: date) -> tuple[str, str, list[Step], object]:
    """``deploy: on ATTR ± offset``: the trigger date here and the previous snapshot it must be later than."""
    attr, offset = deploy.attr, int(deploy.offset)
    sql = (f"SELECT {ident(attr)}, LAG(date) OVER ({PARTITION}) AS prev, date FROM snapshots "
           f"QUALIFY date = ?")
    value, prev, _ = con.execute(sql, [day]).fetchone()
    trig = None if value is None else value + timedelta(days=offset)
    written = f"on {attr}" + (f" {'+' if offset >= 0 else '-'} {abs(offset)}d" if offset else "")
    steps = [
        Step(attr, value, 0, raw=value),
        Step("trigger date", trig, 0, raw=trig),
        Step("previous snapshot", prev or "none (first snapshot)", 0, raw=prev),
    ]
    if trig is None:
        ok = None
    elif prev is None:
        ok = trig == day
    else:
        ok = prev < trig <= day
    return ("deploy", written, steps, ok)


def _alert_verdict(a, events, held, day, run_start: date | None) -> str:
    fired = [e for e in events if e.event == "alert_fired"]
    resolved = [e for e in events if e.event == "alert_resolved"]
    if any(e.date == day for e in fired):
        return f"FIRED on {day}"
    if held.get("where") is False or held.get("where") is None and a.where is not None:
        return "not fired: `where` is false here, so the account is not watched (condition counts as false)"
    if not held.get("when"):
        if any(e.date == day for e in resolved):
            return f"RESOLVED on {day}: the condition no longer holds"
        return "not fired: the condition is " + ("unknown (an empty value), which counts as false" if held.get("when") is None else "false")
    last_fire = fired[-1].date if fired else None
    last_resolve = resolved[-1].date if resolved else None
    if last_fire and (last_resolve is None or last_resolve < last_fire):
        return f"not fired again: already firing since {last_fire} (it fires again only after resolving)"
    if last_fire and a.cooldown is not None:
        until = last_fire + timedelta(days=a.cooldown)
        if day < until:
            return f"not fired: in cooldown after the fire on {last_fire} (cooldown {a.cooldown}d, until {until})"
    if a.for_ and run_start is not None:
        held_days = (day - run_start).days
        earliest = run_start + timedelta(days=a.for_)
        return (f"not fired yet: the condition has held at every snapshot since {run_start} ({held_days}d), "
                f"`for: {a.for_}d` needs {a.for_}d (it fires on {earliest} or later if it keeps holding)")
    return "not fired"


def _goal_verdict(g, events, held, day) -> str:
    here = [e for e in events if e.date == day]
    kinds = {e.event for e in here}
    if "goal_deployed" in kinds:
        return f"DEPLOYED on {day}"
    parts = []
    if "goal_kpi_met" in kinds:
        parts.append("KPI met here for the first time")
    if "goal_achieved" in kinds:
        parts.append("ACHIEVED here (the KPI holds at the end)")
    if "goal_missed" in kinds:
        parts.append("MISSED here (the KPI does not hold at the end)")
    if parts:
        return "; ".join(parts)
    deployed = [e for e in events if e.event == "goal_deployed"]
    ended = {e.instance for e in events if e.event in ("goal_achieved", "goal_missed")}
    active = [e for e in deployed if e.instance not in ended]
    if active:
        return f"not deployed: an instance is active (deployed {active[-1].date}, ends {active[-1].end})"
    if isinstance(g.deploy, DeployManual):
        return "not deployed: this template is deployed by hand (`deploy: manual`)"
    if held.get("where") is False:
        return "not deployed: `where` is false here"
    if isinstance(g.deploy, DeployWhen):
        return "not deployed: the deploy condition did not become true here (it must be true now and not at the previous snapshot)"
    return (f"not deployed: the trigger date ({g.deploy.attr} {g.deploy.offset:+d}d) does not fall here "
            "(it must be after the previous snapshot and on or before this one)")


def render(ex: Explanation) -> str:
    out = [f"{ex.kind} {ex.rule} for account {ex.account} on {ex.day}"]
    for label, source, steps, verdict in ex.sections:
        out.append(f"\n  {label}: {source}")
        for s in steps:
            v = "empty" if s.value is None else str(s.value).lower() if isinstance(s.value, bool) else str(s.value)
            used = f"    [{s.used}]" if s.used else ""
            out.append(f"    {'  ' * s.depth}{s.text} = {v}{used}")
        out.append(f"    => {'true' if verdict else 'unknown (counts as false)' if verdict is None else 'false'}")
    out.append(f"\n  verdict: {ex.verdict}")
    return "\n".join(out) + "\n"
