"""A diff as data (the JSON shape of docs/cli.md) and its text and markdown renderings.

``build`` turns the change list and both sides' tallies into one plain
dict; ``text`` and ``markdown`` only read that dict, so every format says
the same numbers.
"""

from __future__ import annotations

from datetime import date, timedelta

from plays.render import printable as p

from .changes import RuleChange
from .measure import COUNTS, Tally

MARK = {"added": "+", "removed": "-", "changed": "~", "renamed": ">", "unchanged": " "}
LABEL = {"alerts_fired": "alerts fired", "accounts": "accounts", "tasks": "tasks", "goals_deployed": "goals deployed",
         "goals_achieved": "goals achieved", "goals_missed": "goals missed"}
COMMENT_LIMIT = 65_536  # GitHub's limit on a comment's length, in characters
MARKER = "<!-- plays diff -->"  # finds the comment to update (docs/ci.md)


def build(changes: list[RuleChange], base: dict[str, Tally], head: dict[str, Tally], measured: set[tuple[str, str]],
          *, accounts: int, first: date | None, last: date | None, show: int = 10, never_days: int | None = None,
          noisy: float = 50.0, by: tuple[str, ...] = (), catalog: list[str] | None = None) -> dict:
    """The whole diff as JSON-ready data: ``{"summary": ..., "rules": [...]}``."""
    days = max(0, (last - first).days + 1) if first and last else 0
    weeks = days / 7 if days else 0
    rules = []
    totals = {"base": {"alerts_fired": 0, "tasks": 0}, "head": {"alerts_fired": 0, "tasks": 0}}
    for c in changes:
        key = (c.kind, c.name)
        entry = {"kind": c.kind, "name": c.name, "change": c.change, "changes": list(c.changes)}
        if c.renamed_from:
            entry["renamed_from"] = c.renamed_from
        is_measured = key in measured
        entry["measured"] = is_measured
        b = base.get(c.renamed_from or c.name) if (is_measured and c.base is not None) else None
        h = head.get(c.name) if (is_measured and c.head is not None) else None
        if is_measured and c.base is not None and b is None:
            b = Tally()
        if is_measured and c.head is not None and h is None:
            h = Tally()
        entry["base"] = None if b is None else b.as_counts()
        entry["head"] = None if h is None else h.as_counts()
        for side, t in (("base", b), ("head", h)):
            if t is not None:
                totals[side]["alerts_fired"] += t.counts["alerts_fired"]
                totals[side]["tasks"] += t.counts["tasks"]
        entry["by_week"] = _by_week(b, h) if is_measured else []
        entry["by_owner"] = _pairs(b.owners if b else {}, h.owners if h else {}) if is_measured else {}
        entry["by"] = _by(b, h, by) if is_measured else {}
        was = b.accounts if b else {}
        now = h.accounts if h else {}
        started = sorted(((d, a) for a, d in now.items() if a not in was))
        stopped = sorted(((d, a) for a, d in was.items() if a not in now))
        entry["accounts_started"] = [{"account": a, "date": d.isoformat()} for d, a in started[:show]]
        entry["accounts_started_count"] = len(started)
        entry["accounts_stopped"] = [{"account": a, "date": d.isoformat()} for d, a in stopped[:show]]
        entry["accounts_stopped_count"] = len(stopped)
        entry["verdicts"] = _verdicts(c, h, accounts, days, never_days, noisy) if h is not None else []
        rules.append(entry)
    weekly: dict[str, dict] = {}
    if first and last:  # every week of the range, those without events too: the chart's axis is time
        day = first
        while day <= last + timedelta(days=6 - last.weekday()):
            w = "%04d-W%02d" % day.isocalendar()[:2]
            weekly.setdefault(w, {"week": w, "base": {"alerts_fired": 0, "tasks": 0},
                                  "head": {"alerts_fired": 0, "tasks": 0}})
            day += timedelta(days=7)
    for r in rules:
        for w in r["by_week"]:
            row = weekly.setdefault(w["week"], {"week": w["week"], "base": {"alerts_fired": 0, "tasks": 0},
                                                "head": {"alerts_fired": 0, "tasks": 0}})
            for side in ("base", "head"):
                for k in ("alerts_fired", "tasks"):
                    row[side][k] += (w[side] or {}).get(k, 0)
    counted = {k: sum(1 for r in rules if r["change"] == k) for k in ("changed", "added", "removed", "renamed",
                                                                      "unchanged")}
    summary = {
        **counted,
        "behaviour_changed": any(r["change"] != "unchanged" for r in rules),
        "from": first.isoformat() if first else None,
        "to": last.isoformat() if last else None,
        "days": days,
        "accounts": accounts,
        "base": totals["base"],
        "head": totals["head"],
        "alerts_per_week": [_per(totals["base"]["alerts_fired"], weeks), _per(totals["head"]["alerts_fired"], weeks)],
        "tasks_per_week": [_per(totals["base"]["tasks"], weeks), _per(totals["head"]["tasks"], weeks)],
        "by_week": [weekly[w] for w in sorted(weekly)],
        "catalog_changes": list(catalog or ()),
    }
    return {"summary": summary, "rules": rules}


def _per(n: int, weeks: float) -> float:
    return round(n / weeks, 1) if weeks else 0.0


def _by_week(b: Tally | None, h: Tally | None) -> list[dict]:
    weeks = sorted(set(b.weeks if b else ()) | set(h.weeks if h else ()))
    out = []
    for w in weeks:
        row = {"week": w}
        for side, t in (("base", b), ("head", h)):
            c = t.weeks.get(w) if t else None
            row[side] = None if t is None else {k: (c or {}).get(k, 0) for k in COUNTS if k != "accounts"}
        out.append(row)
    return out


def _pairs(a, b) -> dict:
    return {k: {"base": a.get(k, 0), "head": b.get(k, 0)} for k in sorted(set(a) | set(b))}


def _by(b: Tally | None, h: Tally | None, attrs: tuple[str, ...]) -> dict:
    out = {}
    for attr in attrs:
        values = sorted({v for t in (b, h) if t for (a, v) in t.groups if a == attr})
        out[attr] = {v: {side: None if t is None else {k: t.groups.get((attr, v), {}).get(k, 0)
                                                        for k in COUNTS if k != "accounts"}
                         for side, t in (("base", b), ("head", h))} for v in values}
    return out


def _verdicts(c: RuleChange, h: Tally, accounts: int, days: int, never_days: int | None, noisy: float) -> list[str]:
    out = []
    verb = "fires" if c.kind == "alert" else "deploys"
    if not h.accounts and accounts and (never_days is None or days >= never_days):
        out.append(f"never {verb} on {accounts:,} account{'s' if accounts != 1 else ''} over {days} days")
    if accounts and len(h.accounts) * 100 > noisy * accounts:
        out.append(f"{verb} on more than {noisy:g}% of accounts ({len(h.accounts):,} of {accounts:,})")
    return out


# --- text -------------------------------------------------------------------------------------------


def headline(d: dict) -> str:
    """``2 rules changed, 1 added: alerts/week 41 → 12, tasks/week 96 → 70`` (or ``no changes``)."""
    s = d["summary"]
    parts = []
    for k in ("changed", "added", "removed", "renamed"):
        if s[k]:
            parts.append(f"{s[k]} {'rule' if s[k] == 1 else 'rules'} {k}" if not parts else f"{s[k]} {k}")
    if not parts:
        return f"no changes ({s['unchanged']} rules unchanged)"
    a, t = s["alerts_per_week"], s["tasks_per_week"]
    return f"{', '.join(parts)}: alerts/week {_n(a[0])} → {_n(a[1])}, tasks/week {_n(t[0])} → {_n(t[1])}"


def _n(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 or x == int(x) else f"{x:,.1f}"


def _arrow(b: dict | None, h: dict | None, k: str) -> str:
    x = "-" if b is None else f"{b[k]:,}"
    y = "-" if h is None else f"{h[k]:,}"
    return f"{x} → {y}"


def _kind(k: str) -> str:
    return {"alert": "alert", "goal": "goal", "external_goal": "external goal"}[k]


def text(d: dict) -> str:
    s = d["summary"]
    out = [headline(d)]
    if s["days"]:
        out.append(f"(measured {s['from']} to {s['to']}: {s['days']} days, {s['accounts']:,} accounts)")
    if s["catalog_changes"]:
        out.append("")
        out.append("catalog")
        out.extend(f"    {p(x)}" for x in s["catalog_changes"])
    unchanged = []
    for r in d["rules"]:
        if r["change"] == "unchanged" and not r["measured"]:
            unchanged.append(r["name"])
            continue
        out.append("")
        out.append(f"{MARK[r['change']]} {_kind(r['kind'])} {p(r['name'])} ({r['change']})")
        out.extend(f"    {p(x)}" for x in r["changes"])
        out.extend(_wrap(line) for line in _detail_lines(r))
    if unchanged:
        out.append("")
        out.append(f"unchanged ({len(unchanged)}): {', '.join(p(n) for n in unchanged)}")
    return "\n".join(out) + "\n"


def _wrap(line: str, width: int = 100) -> str:
    """A long detail line (a year of weeks, many accounts) folded between its comma-separated items."""
    if len(line) <= width:
        return line
    items = line.split(", ")
    lines, cur = [], items[0]
    for item in items[1:]:
        if len(cur) + 2 + len(item) > width:
            lines.append(cur + ",")
            cur = "        " + item
        else:
            cur += ", " + item
    lines.append(cur)
    return "\n".join(lines)


def _detail_lines(r: dict) -> list[str]:
    if not r["measured"]:
        return []
    b, h = r["base"], r["head"]
    keys = [k for k in COUNTS if (b and b[k]) or (h and h[k])] or ["alerts_fired" if r["kind"] == "alert"
                                                                   else "goals_deployed"]
    out = ["    " + "  ".join(f"{LABEL[k]} {_arrow(b, h, k)}" for k in keys)]
    weeks = [w for w in r["by_week"] if (w["base"] or {}) != (w["head"] or {})]
    if weeks:
        out.append("    per week (alerts, tasks): " + ", ".join(
            f"{w['week']} {_wk(w['base'])} → {_wk(w['head'])}" for w in weeks))
    if any(v["base"] != v["head"] for v in r["by_owner"].values()):
        out.append("    tasks by owner: " + ", ".join(f"{p(o) or '-'} {v['base']} → {v['head']}"
                                                     for o, v in r["by_owner"].items()))
    for attr, groups in r["by"].items():
        if groups:
            out.append(f"    by {p(attr)}: " + ", ".join(f"{p(v) or 'empty'} {_wk(x['base'])} → {_wk(x['head'])}"
                                                       for v, x in groups.items()))
    for what, verb in (("started", "start"), ("stopped", "stop")):
        n = r[f"accounts_{what}_count"]
        if n:
            label = f"{verb}{'s' if n == 1 else ''} being {'alerted' if r['kind'] == 'alert' else 'deployed'}"
            shown = ", ".join(f"{p(x['account'])} ({x['date']})" for x in r[f"accounts_{what}"])
            more = f", and {n - len(r[f'accounts_{what}']):,} more" if n > len(r[f"accounts_{what}"]) else ""
            out.append(f"    {n:,} account{'s' if n != 1 else ''} {label}: {shown}{more}")
    out.extend(f"    verdict: {v}" for v in r["verdicts"])
    return out


def _wk(c: dict | None) -> str:
    if c is None:
        return "-"
    return f"{c['alerts_fired']}/{c['tasks']}" if c.get("alerts_fired") or not c.get("goals_deployed") \
        else f"{c['goals_deployed']}g/{c['tasks']}"


# --- markdown ---------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text from specs or data, safe inside a markdown table cell or HTML summary."""
    return (p(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("`", "'"))


def markdown(d: dict, limit: int = COMMENT_LIMIT) -> str:
    """A pull-request comment: the headline, a summary table, then one collapsible section per rule; under ``limit``."""
    s = d["summary"]
    head = [MARKER, f"### plays diff: {_md(headline(d))}", ""]
    if s["days"]:
        head += [f"Measured {s['from']} to {s['to']} ({s['days']} days, {s['accounts']:,} accounts).", ""]
    shown = [r for r in d["rules"] if r["change"] != "unchanged" or r["measured"]]
    unchanged = [r["name"] for r in d["rules"] if r not in shown]
    table = ["| | rule | change | alerts fired | accounts | tasks | goals deployed |", "|---|---|---|---|---|---|---|"]
    for r in shown:
        b, h = r["base"], r["head"]
        table.append(f"| {MARK[r['change']].strip() or '='} | {_kind(r['kind'])} `{_md(r['name'])}` | {r['change']} | "
                     + " | ".join(_arrow(b, h, k) if r["measured"] else "" for k in
                                  ("alerts_fired", "accounts", "tasks", "goals_deployed")) + " |")
    details = []
    for r in shown:
        body = [f"<details><summary>{MARK[r['change']].strip() or '='} {_kind(r['kind'])} <code>{_md(r['name'])}</code>"
                f" ({r['change']})</summary>", ""]
        body += [f"- {_md(x)}" for x in r["changes"]]
        body += [f"- {_md(x.strip())}" for x in _detail_lines(r)]
        body += ["", "</details>", ""]
        details.append("\n".join(body))
    if s["catalog_changes"]:
        listed = s["catalog_changes"]
        more = f"; and {len(listed) - 20:,} more" if len(listed) > 20 else ""
        head += ["Catalog: " + "; ".join(_md(x) for x in listed[:20]) + more, ""]
    tail = [f"Unchanged ({len(unchanged)}): {', '.join(_md(n) for n in unchanged)}", ""] if unchanged else []
    out = "\n".join(head) + "\n"
    note = "\n_Truncated: {what} not shown (GitHub comments stop at 65,536 characters); " \
           "run `plays diff` locally for the whole diff._\n"
    reserve = len(note) + 80 + len("\n".join(tail))
    rows_kept = 0
    for row in table:
        if len(out) + len(row) + 1 > limit // 2:
            break
        out += row + "\n"
        rows_kept += 1
    out += "\n"
    kept = 0
    for block in details:
        if len(out) + len(block) + reserve > limit:
            break
        out += block
        kept += 1
    left = [f"the details of {len(details) - kept:,} rule{'s' if len(details) - kept != 1 else ''}"] \
        if kept < len(details) else []
    if rows_kept < len(table):
        left.append(f"{len(table) - rows_kept:,} row{'s' if len(table) - rows_kept != 1 else ''} of the table")
    if left:
        out += note.format(what=" and ".join(left))
    out += "\n".join(tail)
    return out if len(out) <= limit else out[: limit - 20] + "\n\n_(cut)_\n"


# --- HTML -------------------------------------------------------------------------------------------


def html(d: dict) -> str:
    """A self-contained page: the headline, a chart of alerts and tasks per week (base and head on one axis),
    the summary table and each rule's changes and counts. Every text is escaped (Jinja's autoescape)."""
    from importlib import resources

    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files(__package__).joinpath("report.html.j2").read_text("utf-8"))
    shown = [r for r in d["rules"] if r["change"] != "unchanged" or r["measured"]]
    rules = [{"mark": MARK[r["change"]].strip() or "=", "kind": _kind(r["kind"]), "name": p(r["name"]),
              "change": r["change"],
              "cells": [_arrow(r["base"], r["head"], k) if r["measured"] else ""
                        for k in ("alerts_fired", "accounts", "tasks", "goals_deployed")],
              "lines": [p(x) for x in r["changes"]] + [x.strip() for x in _detail_lines(r)]} for r in shown]
    return template.render(headline=headline(d), summary=d["summary"], chart=_chart(d["summary"]["by_week"]),
                           rules=rules, unchanged=[p(r["name"]) for r in d["rules"] if r not in shown])


def _chart(weeks: list[dict], width: int = 760, height: int = 220) -> dict:
    """Polylines (x, y in pixels) of alerts and tasks per week, base and head, on one axis."""
    if not weeks:
        return {"weeks": 0}
    peak = max(max(w[s][k] for s in ("base", "head") for k in ("alerts_fired", "tasks")) for w in weeks) or 1
    step = (width - 60) / max(1, len(weeks) - 1)

    def x(i: int) -> float:
        return round(40 + (i * step if len(weeks) > 1 else (width - 60) / 2), 1)

    def y(v: int) -> float:
        return round(height - v * (height - 20) / peak, 1)

    lines = []
    for side in ("head", "base"):  # base drawn last, dashed: visible where the two are equal
        for k, css in (("alerts_fired", "alerts"), ("tasks", "tasks")):
            pts = " ".join(f"{x(i)},{y(w[side][k])}" for i, w in enumerate(weeks))
            lines.append({"css": f"{css} {side}", "points": pts,
                          "label": f"{LABEL[k]}, {side}: {sum(w[side][k] for w in weeks)}"})
    every = max(1, len(weeks) // 8)
    labels = [{"x": x(i), "week": w["week"]} for i, w in enumerate(weeks) if i % every == 0]
    return {"weeks": len(weeks), "width": width, "height": height, "peak": peak, "lines": lines, "labels": labels}
