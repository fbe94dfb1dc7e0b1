"""A deliberately naive per-row reference evaluator of LANGUAGE.md's semantics (test code only).

It evaluates each expression at each (account, date) by looking at the rows
directly, and runs the lifecycles literally as the contract words them, with
no cleverness: quadratic, slow, and easy to check by reading. The engine
(SQL + lifecycle) must agree with it.
"""

from __future__ import annotations

from datetime import date, timedelta

DECIMALS = 10  # the engine's documented rounding of arithmetic results


def rnd(x):
    return None if x is None else round(x, DECIMALS)


def value(node, hist, i, account):
    op = node["op"]
    row = hist[i]
    t = row["date"]
    if op == "const":
        if node["type"] == "date":
            return date.fromisoformat(node["value"])
        return node["value"]
    if op == "metric":
        return row.get(node["name"])
    if op == "attr":
        return account if node["name"] == "id" else row.get(node["name"])
    if op == "call":
        f, args = node["func"], node["args"]
        name = args[0]["name"]
        if f == "days_since":
            d = row.get(name)
            return None if d is None else (t - d).days
        if f == "days_until":
            d = row.get(name)
            return None if d is None else (d - t).days
        if f == "previous":
            return hist[i - 1].get(name) if i > 0 else None
        w = args[1]["value"]
        if f in ("value_at", "change", "pct_change"):
            before = [r for r in hist[: i + 1] if r["date"] <= t - timedelta(days=w)]
            past = before[-1].get(name) if before else None
            now = row.get(name)
            if f == "value_at":
                return past
            if now is None or past is None:
                return None
            if f == "change":
                return rnd(now - past)
            return None if past == 0 else rnd((now - past) / past)
        window = [r.get(name) for r in hist[: i + 1] if t - timedelta(days=w) < r["date"] <= t]
        vals = [v for v in window if v is not None]
        if f == "count":
            return len(vals)
        if not vals:
            return None
        return {"sum": lambda: rnd(sum(vals)), "avg": lambda: rnd(sum(vals) / len(vals)),
                "min": lambda: min(vals), "max": lambda: max(vals)}[f]()
    if op == "neg":
        v = value(node["arg"], hist, i, account)
        return None if v is None else -v
    if op == "not":
        v = value(node["arg"], hist, i, account)
        return None if v is None else not v
    if op == "is_empty":
        v = value(node["arg"], hist, i, account)
        return (v is not None) if node["negated"] else (v is None)
    if op == "in":
        v = value(node["arg"], hist, i, account)
        items = [value(x, hist, i, account) for x in node["items"]]
        if v is None:
            return None
        inside = v in items
        return (not inside) if node["negated"] else inside
    a = value(node["left"], hist, i, account)
    b = value(node["right"], hist, i, account)
    if op == "and":
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if op == "or":
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if a is None or b is None:
        return None
    if op in ("==", "!=", "<", "<=", ">", ">="):
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if isinstance(a, date) or isinstance(b, date):
        if op == "-" and isinstance(b, date):
            return (a - b).days
        return a + timedelta(days=b) if op == "+" else a - timedelta(days=b)
    if op == "/":
        return None if b == 0 else rnd(a / b)
    return rnd({"+": a + b, "-": a - b, "*": a * b}[op])


def holds(cond, hist, i, account) -> bool:
    """A condition: unknown counts as false; no condition holds."""
    return cond is None or value(cond["expr"], hist, i, account) is True


def alert_events(alert, hist, account):
    out = []
    firing, last_fire = False, None
    hold = alert["for"] or 0
    for i, row in enumerate(hist):
        t = row["date"]
        cond = [holds(alert["where"], hist, j, account) and holds(alert["when"], hist, j, account) for j in range(i + 1)]
        if not cond[i]:
            if firing:
                out.append(("alert_resolved", t, account, alert["name"]))
                firing = False
            continue
        if firing:
            continue
        # the earliest d0 such that the condition held at every snapshot from d0 to t
        j = i
        while j > 0 and cond[j - 1]:
            j -= 1
        if (t - hist[j]["date"]).days < hold:
            continue
        if last_fire is not None and alert["cooldown"] is not None and t < last_fire + timedelta(days=alert["cooldown"]):
            continue
        firing, last_fire = True, t
        out.append(("alert_fired", t, account, alert["name"]))
    return out


def goal_events(goal, hist, account):
    out = []
    active = None  # (deploy index, start, end snapshot index or None)
    dur = goal["duration"]
    d = goal["deploy"]
    for i, row in enumerate(hist):
        t = row["date"]
        if active is not None and active[2] is not None and active[2] < i:
            active = None
        if active is not None and active[2] == i:
            active = None  # an instance ending here no longer blocks a trigger here
        start = None
        if d["kind"] == "on":
            base = row.get(d["attr"])
            if base is not None:
                trig = base + timedelta(days=d["offset"])
                prev = hist[i - 1]["date"] if i > 0 else None
                if trig <= t and ((prev is None and trig == t) or (prev is not None and trig > prev)):
                    start = trig
        elif d["kind"] == "when":
            now = value(d["condition"]["expr"], hist, i, account) is True
            before = i > 0 and value(d["condition"]["expr"], hist, i - 1, account) is True
            if now and not before:
                start = t
        if start is None or active is not None or not holds(goal["where"], hist, i, account):
            continue
        end = start + timedelta(days=dur)
        end_i = next((j for j in range(i, len(hist)) if hist[j]["date"] >= end), None)
        active = (i, start, end_i)
        out.append(("goal_deployed", t, account, goal["name"]))
        kpi = goal["kpi"]
        if kpi is None:
            continue
        last = end_i if end_i is not None else len(hist) - 1
        met = None
        for j in range(i, last + 1):
            if _kpi(kpi, hist, i, j, account):
                met = j
                break
        if met is not None:
            out.append(("goal_kpi_met", hist[met]["date"], account, goal["name"]))
        if end_i is not None:
            kind = "goal_achieved" if _kpi(kpi, hist, i, end_i, account) else "goal_missed"
            out.append((kind, hist[end_i]["date"], account, goal["name"]))
    return out


def _kpi(kpi, hist, deploy_i, j, account) -> bool:
    if kpi["kind"] == "condition":
        return holds(kpi["condition"], hist, j, account)
    base = hist[deploy_i].get(kpi["metric"])
    now = hist[j].get(kpi["metric"])
    if base is None or now is None:
        return False
    if kpi["direction"] == "up":
        return now >= round(base * (1 + kpi["amount"]), DECIMALS)
    return now <= round(base * (1 - kpi["amount"]), DECIMALS)


def events(plan, rows):
    """(event, date, account, rule) of alerts and goals, sorted."""
    by_account = {}
    for r in sorted(rows, key=lambda r: (r["account"], r["date"])):
        by_account.setdefault(r["account"], []).append(r)
    out = []
    for account, hist in by_account.items():
        for a in plan["alerts"]:
            out += alert_events(a, hist, account)
        for g in plan["goals"]:
            out += goal_events(g, hist, account)
    return sorted(out)
