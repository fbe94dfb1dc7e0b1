"""Goals reporting for managers: how the processes work overall, from the state store.

The figures are computed in SQL by ``report_data.build`` (re-exported here);
this module renders them as text, JSON and one long CSV table, from the
dict ``Report.to_json()`` returns, which is also what the page is drawn from
(``report_html.render``), so every format carries the same figures.
"""

from __future__ import annotations

import csv
import io
import json

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
    """Columns as wide as their widest cell; the first ``left`` columns aligned left, the others right, but the
    last column when it is the notes (headed ``note``), aligned left."""
    from plays.render import printable

    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.ljust(w) if i < left or (i == len(r) - 1 and header[i] == "note") else c.rjust(w)
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
    out += _table(["Overview", "now", "previous", "change", "note"], rows) + [""]
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
             "open tasks", "overdue", "on time", "prev on time", "note"], rows) + [""]
    rows = [[c["template"], c["month"], *(_value("", c[k]) for k in ("deployed", "active", "awaiting_measure", "achieved",
                                                               "missed")),
             _value("achievement_rate", c["achievement_rate"]), _value("", c["median_days_to_kpi"]),
             _notes(c["states"], ("achievement_rate",)) if c["deployed"] else ""] for c in r["cohorts"]]
    out += ["Cohorts by month of start"] + _table(
        ["template", "month", "deployed", "active", "awaiting", "achieved", "missed", "rate", "days to KPI", "note"],
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
