"""The report page for managers: the report dict (`plays.state.report`, docs/state.md) as one self-contained HTML page.

Everything is inline (CSS, script, SVG): the page opens from a file or an
e-mail attachment with no network. The charts are small SVGs drawn here, with
their geometry computed in Python and written by the Jinja template
``report.html.j2``: a handful of bars and lines needs no charting library, and
a library would weigh more than the charts (and a script library would need
the network or be inlined whole).

The drill-down list (goal instances and open alerts) is too long for HTML at
the size of a real book: it goes into the page as one gzip + base64 blob of
columnar JSON (``encode_instances``), which the page's script decompresses
with the browser's ``DecompressionStream``, filters and shows a page of rows
at a time; one chosen instance's timeline is drawn on demand, on an axis
shared by every instance.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date
from importlib import resources
from urllib.parse import quote

# The overview's figures, in the order shown: label, kind (how the value and its change are written),
# and which way is better (+1: up is good, -1: down is good, 0: neither).
FIGURES = {
    "goals_active": ("Goals active", "count", 0),
    "goals_awaiting_measure": ("Goals awaiting measure", "count", 0),
    "goals_achieved": ("Goals achieved", "count", 1),
    "goals_missed": ("Goals missed", "count", -1),
    "achievement_rate": ("Achievement rate", "rate", 1),
    "median_days_to_kpi": ("Median days to KPI", "days", -1),
    "task_on_time_rate": ("Task on-time rate", "rate", 1),
    "tasks_open": ("Tasks open", "count", 0),
    "tasks_overdue": ("Tasks overdue", "count", -1),
    "alerts_open": ("Alerts open", "count", -1),
    "alerts_open_median_age_days": ("Median age of open alerts (days)", "days", -1),
}

# The drill-down list's filters: the row field each one reads and its name in the page's address
# (#drill?template=onboarding&csm=Ana). An account attribute is its own name there unless that name is
# one of these, then attributes.NAME.
FILTERS = {"kind": "kind", "template": "template", "rule": "rule", "playbook": "playbook",
           "task_owners": "owner", "status": "status"}
NONE_VALUE = "(none)"  # a filter on an attribute the account does not have (the breakdowns' key for it)

PAGE_ROWS = 100  # drill-down rows shown at a time


def render(report: dict) -> str:
    """The page for one report dict (as `Report.to_json()` returns it)."""
    from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

    def load(name: str) -> str:
        return resources.files(__package__).joinpath(name).read_text("utf-8")

    env = Environment(loader=FunctionLoader(load), autoescape=select_autoescape(default=True,
                      default_for_string=True), trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    env.filters.update(pct=pct, num=num, count=count, points=points, trend=trend)
    by = list(report.get("by") or ())
    params = filter_params(by)
    return env.get_template("report.html.j2").render(
        r=report, cards=_cards(report["overview"]), breakdowns=_breakdowns(report["breakdowns"], params),
        cohorts=_cohorts(report["cohorts"]), alerts=_alerts(report["alerts"], params),
        filters=[{"field": f, "param": p, "label": p if not f.startswith("attributes.") else f[11:]}
                 for f, p in params.items()],
        by=by, blob=encode_instances(report.get("instances", []), by, report["as_of"]), page_rows=PAGE_ROWS,
    )


def filter_params(by: list[str]) -> dict[str, str]:
    """Row field -> its name in the address, for the fixed filters and each attribute (in the page's order)."""
    out = {f: p for f, p in FILTERS.items() if f != "status"}
    for a in by:
        out[f"attributes.{a}"] = a if a not in FILTERS.values() and a != "q" else f"attributes.{a}"
    out["status"] = "status"
    return out


def drill_link(filters: dict, params: dict[str, str]) -> str:
    """A breakdown row's drill-down filter (``{"attributes.csm": "Ana"}``) as a link into the list."""
    parts = [f"{quote(params.get(f, f), safe='.')}={quote(NONE_VALUE if v is None else str(v), safe='')}"
             for f, v in filters.items()]
    return "#drill?" + "&".join(parts)


# --- values as text -------------------------------------------------------------------------------------

def pct(x) -> str:
    """A rate as a whole percent (``0.6667`` -> ``67%``); ``–`` for none."""
    return "–" if x is None else f"{x * 100:.0f}%"


def num(x) -> str:
    """Days and other measures: at most one decimal, no trailing ``.0`` (``2.0`` -> ``2``, ``2.25`` -> ``2.2``)."""
    if x is None:
        return "–"
    s = f"{x:,.1f}"
    return s[:-2] if s.endswith(".0") else s


def count(x) -> str:
    """A count with thousands separators (``12345`` -> ``12,345``)."""
    return "–" if x is None else f"{x:,}"


def change(value, previous, kind: str) -> str:
    """The change from the previous period as text: ``+3``, ``-12 pts``, ``+1.5 d``, ``no change``; ``–``
    when either side has no value."""
    if value is None or previous is None:
        return "–"
    diff = value - previous
    if kind == "rate":
        diff = round(diff * 100, 1)
    if abs(diff) < 1e-9:
        return "no change"
    if kind == "count":
        return f"{round(diff):+,d}"
    body = f"{diff:+,.1f}"
    return (body[:-2] if body.endswith(".0") else body) + (" pts" if kind == "rate" else " d")


def points(pair) -> str:
    """A rate's change from the previous period, in percentage points."""
    return change(pair[0], pair[1], "rate")


def trend(pair, better: int = 1) -> str:
    """``good``, ``bad`` or ``""``: the class of a change that moved the good way (``better`` +1: up), the bad way,
    or not at all (or has no previous figure)."""
    now, before = pair
    if now is None or before is None or abs(now - before) < 1e-9:
        return ""
    return "good" if (now > before) == (better > 0) else "bad"


# --- sections -------------------------------------------------------------------------------------------

def _cards(overview: dict) -> list[dict]:
    cards = []
    for key, figure in overview.items():
        label, kind, better = FIGURES.get(key, (key.replace("_", " ").capitalize(), "count", 0))
        show = {"rate": pct, "days": num, "count": count}[kind]
        value, previous = figure.get("value"), figure.get("previous")
        trend = ""
        if value is not None and previous is not None and value != previous and better:
            trend = "good" if (value > previous) == (better > 0) else "bad"
        if previous is None:
            before = f"previous period: {figure.get('previous_state') or 'no figure'}"
        else:
            before = f"previous period: {show(previous)}"
        cards.append({"key": key, "label": label, "value": None if value is None else show(value),
                      "state": figure.get("state"), "change": change(value, previous, kind), "trend": trend,
                      "previous": before})
    return cards


def _breakdowns(breakdowns: list[dict], params: dict[str, str]) -> list[dict]:
    """Each dimension's rows with their links and the widths (0..1) of their inline bars: goals and overdue
    tasks against the dimension's largest, rates as they are."""
    out = []
    for b in breakdowns:
        rows = b["rows"]
        most_goals = max((r.get("goals") or 0 for r in rows), default=0) or 1
        most_overdue = max((r.get("tasks_overdue") or 0 for r in rows), default=0) or 1
        title = {"template": "goal template", "playbook": "playbook", "task_owner": "task owner"}.get(
            b.get("kind"), b["dimension"])
        out.append({
            "dimension": b["dimension"], "title": title,
            "rows": [{**r, "link": drill_link(r.get("filter") or {}, params), "states": r.get("states") or {},
                      "w_goals": (r.get("goals") or 0) / most_goals,
                      "w_overdue": (r.get("tasks_overdue") or 0) / most_overdue} for r in rows],
        })
    return out


COHORT_W, COHORT_H, COHORT_PAD = 300, 110, 30


def _cohorts(cohorts: list[dict]) -> dict:
    """Small multiples, one per template, on shared axes: months across (every month any template deployed in),
    achievement rate 0-100 % up; under each line a heat strip of median days to KPI (darker: slower)."""
    months = sorted({c["month"] for c in cohorts})
    templates = sorted({c["template"] for c in cohorts})
    slowest = max((c["median_days_to_kpi"] or 0 for c in cohorts), default=0) or 1
    step = (COHORT_W - 2 * COHORT_PAD) / max(len(months) - 1, 1)
    x_of = {m: round(COHORT_PAD + i * step, 1) for i, m in enumerate(months)}
    if len(months) == 1:
        x_of = {months[0]: COHORT_W / 2}
    charts = []
    for t in templates:
        cells = sorted((c for c in cohorts if c["template"] == t), key=lambda c: c["month"])
        points_ = []
        for c in cells:
            rate, days = c["achievement_rate"], c["median_days_to_kpi"]
            points_.append({**c, "states": c.get("states") or {}, "x": x_of[c["month"]],
                            "y": None if rate is None else round(10 + (1 - rate) * (COHORT_H - 20), 1),
                            "heat": None if days is None else round(0.15 + 0.85 * days / slowest, 2)})
        # the line joins consecutive months that have a rate; a month with none breaks it
        segments, run = [], []
        for p in points_:
            if p["y"] is None:
                segments, run = segments + ([run] if len(run) > 1 else []), []
            else:
                run.append(f"{p['x']},{p['y']}")
        if len(run) > 1:
            segments.append(run)
        charts.append({"template": t, "points": points_, "segments": [" ".join(s) for s in segments]})
    every = max(1, -(-len(months) // 6))  # at most ~6 month labels under a chart
    labels = [{"month": m, "x": x_of[m]} for m in months][::every]
    return {"charts": charts, "months": labels, "w": COHORT_W, "h": COHORT_H, "slowest": slowest}


ALERT_W, ALERT_H = 320, 90


def _alerts(alerts: dict, params: dict[str, str]) -> dict:
    """Per rule: its figures and a weekly chart on axes shared by every rule (the same weeks, the same scale),
    bars for alerts fired that week, a line for alerts open at its end."""
    weekly = alerts.get("weekly", [])
    rules = alerts.get("rules", [])
    weeks = sorted({w["week"] for w in weekly})
    peak = max((max(w["fired"], w["open"]) for w in weekly), default=0) or 1
    most_fired = max((r["fired"] for r in rules), default=0) or 1
    slot = ALERT_W / max(len(weeks), 1)
    bw = max(round(slot * 0.7, 1), 1)
    index = {w: i for i, w in enumerate(weeks)}
    charts = []
    for r in rules:
        rows = sorted((w for w in weekly if w["rule"] == r["rule"]), key=lambda w: w["week"])
        bars = []
        for w in rows:
            h = round(w["fired"] / peak * (ALERT_H - 10), 1)
            bars.append({**w, "x": round(index[w["week"]] * slot + (slot - bw) / 2, 1), "y": round(ALERT_H - h, 1),
                         "h": h})
        line = " ".join(f"{round(index[w['week']] * slot + slot / 2, 1)},"
                        f"{round(ALERT_H - w['open'] / peak * (ALERT_H - 10), 1)}" for w in rows)
        charts.append({**r, "states": r.get("states") or {}, "bars": bars, "line": line,
                       "w_fired": r["fired"] / most_fired, "link": drill_link({"rule": r["rule"]}, params),
                       "change": change(r["fired"], r.get("fired_previous"), "count")})
    every = max(1, -(-len(weeks) // 6))
    labels = [{"week": w, "x": round(i * slot + slot / 2, 1)} for i, w in enumerate(weeks)][::every]
    return {"rules": charts, "weeks": labels, "peak": peak, "w": ALERT_W, "h": ALERT_H, "bw": bw}


# --- the drill-down blob --------------------------------------------------------------------------------

TEXT_FIELDS = ("kind", "template", "rule", "playbook", "account", "status", "severity")


def encode_instances(instances: list[dict], by: list[str], as_of: str) -> str:
    """The drill-down rows as base64 of gzip of columnar JSON, newest first (by deploy or open date).

    One list per field (an attribute ``csm`` is the field ``attributes.csm``): text fields with few distinct
    values are indexes into a list of those values; the start date (deployed, or opened for an alert) is in
    days, each row's as the difference from the row before; the planned end, the outcome date, the KPI date
    and every task's due date are days after the start, a task's completion days after its due date, an
    alert's age the difference from ``as_of - opened``. Tasks are flat columns with a count per row. Most
    of these numbers repeat, which is what gzip is good at (docs/performance.md has the size at 100,000
    accounts). The instance id and the task states are left out: the id is the template, the account and
    the start date, which the row shows, and a task's state follows from its dates and ``as_of``.
    Deterministic: the gzip header's time is 0."""
    days: dict[str, int] = {}

    def day(text):  # ISO date -> day number, each distinct date parsed once
        n = days.get(text)
        if n is None:
            n = days[text] = date.fromisoformat(text).toordinal()
        return n

    today = day(as_of)
    keyed = []
    for n, i in enumerate(instances):
        first = i.get("deployed") or i.get("opened")
        keyed.append((-(day(first) if first else today), i.get("kind") or "", i.get("template") or i.get("rule") or "",
                      i.get("account") or "", i.get("playbook") or "", n))
    keyed.sort()
    fields = [*TEXT_FIELDS, *(f"attributes.{a}" for a in by)]
    text: list[list] = [[] for _ in fields]
    cols: dict[str, list] = {"start": [], "end": [], "ended": [], "kpi": [], "age": [], "owners": []}
    start_col, end_col, ended_col, kpi_col, age_col = (cols[k] for k in ("start", "end", "ended", "kpi", "age"))
    owner_sets: list[str] = []
    tasks: dict[str, list] = {"count": [], "name": [], "owner": [], "due": [], "done": []}
    t_count, t_name, t_owner, t_due, t_done = (tasks[k] for k in ("count", "name", "owner", "due", "done"))
    names: dict[str, int] = {}
    owners: dict[str, int] = {}
    first = previous = -keyed[0][0] if keyed else today
    for key in keyed:
        i = instances[key[-1]]
        s = -key[0]
        attributes = i.get("attributes") or {}
        for column, f in zip(text, fields):
            column.append(attributes.get(f[11:]) if f.startswith("attributes.") else i.get(f))
        start_col.append(s - previous)
        previous = s
        for column, f in ((end_col, "end"), (ended_col, "ended"), (kpi_col, "kpi_met")):
            v = i.get(f)
            column.append(day(v) - s if v else None)
        age = i.get("age_days")
        age_col.append(None if age is None else age - (today - s))
        owner_sets.append("\t".join(i.get("task_owners") or ()))
        ts = i.get("tasks") or ()
        t_count.append(len(ts))
        for t in ts:
            due = day(t["due"])
            t_name.append(names.setdefault(t["task"], len(names)))
            t_owner.append(owners.setdefault(t["owner"], len(owners)))
            t_due.append(due - s)
            done = t.get("done")
            t_done.append(day(done) - due if done else None)
    dicts: dict[str, list] = {}
    for f, values in zip(fields, text):
        distinct = sorted({v for v in values if v is not None}, key=str)
        if len(distinct) <= max(len(values) // 4, 64):
            index = {v: n for n, v in enumerate(distinct)}
            dicts[f] = distinct
            cols[f] = [None if v is None else index[v] for v in values]
        else:
            cols[f] = values
    dicts["owners"] = sorted(set(owner_sets))
    index = {v: n for n, v in enumerate(dicts["owners"])}
    cols["owners"] = [index[v] for v in owner_sets]
    payload = {"epoch": date.fromordinal(first).isoformat(), "as_of": today - first, "n": len(keyed),
               "fields": fields, "dicts": dicts, "cols": cols, "task_names": list(names),
               "task_owners": list(owners), "tasks": tasks}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def decode_instances(blob: str) -> list[dict]:
    """The rows of ``encode_instances`` back in the report's shape (less ids and task states), in the page's
    order, as its script reads them: for tests and tools."""
    p = json.loads(gzip.decompress(base64.b64decode(blob)))
    c, dicts, t = p["cols"], p["dicts"], p["tasks"]
    epoch = date.fromisoformat(p["epoch"]).toordinal()

    def iso(n):
        return date.fromordinal(n).isoformat()

    rows, start, k = [], epoch, 0
    for n in range(p["n"]):
        start += c["start"][n]
        r: dict = {"attributes": {}}
        for f in p["fields"]:
            v = c[f][n]
            v = dicts[f][v] if f in dicts and v is not None else v
            if f.startswith("attributes."):
                r["attributes"][f[11:]] = v
            elif v is not None:
                r[f] = v
        r["task_owners"] = [o for o in dicts["owners"][c["owners"][n]].split("\t") if o]
        r["deployed" if r.get("kind") != "alert" else "opened"] = iso(start)
        for key, col in (("end", "end"), ("ended", "ended"), ("kpi_met", "kpi")):
            if c[col][n] is not None:
                r[key] = iso(start + c[col][n])
        if c["age"][n] is not None:
            r["age_days"] = c["age"][n] + (epoch + p["as_of"] - start)
        r["tasks"] = []
        for _ in range(t["count"][n]):
            due = start + t["due"][k]
            r["tasks"].append({"task": p["task_names"][t["name"][k]], "owner": p["task_owners"][t["owner"][k]],
                               "due": iso(due), "done": None if t["done"][k] is None else iso(due + t["done"][k])})
            k += 1
        rows.append(r)
    return rows
