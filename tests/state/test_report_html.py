"""The report page's renderer without a browser: values as text, the drill-down blob, escaping, self-containment.

(tests/state/test_report_browser.py opens the page in Chromium.)
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta

import pytest
from conftest import apply
from hypothesis import given, settings
from hypothesis import strategies as st

from plays.state import report_html
from plays.state.report import build
from plays.state.report_html import change, count, decode_instances, drill_link, encode_instances, filter_params, num, pct, render


def fixture_report(tmp_path, plan) -> dict:
    con, _ = apply(tmp_path / "plays.db", plan)
    return build(con, as_of=date(2026, 1, 11), period_days=7).to_json()


def test_values_as_text():
    assert (pct(0.6667), pct(0.0), pct(1.0), pct(None)) == ("67%", "0%", "100%", "–")
    assert (num(2.0), num(2.25), num(12345.0), num(None)) == ("2", "2.2", "12,345", "–")
    assert (count(12345), count(0)) == ("12,345", "0")
    assert change(0.5, 0.75, "rate") == "-25 pts"
    assert change(0.5, 0.4567, "rate") == "+4.3 pts"
    assert change(7.0, 0.0, "days") == "+7 d" and change(2.5, 4.0, "days") == "-1.5 d"
    assert change(3, 3, "count") == "no change" and change(1200, 3, "count") == "+1,197"
    assert change(None, 3, "count") == change(3, None, "count") == "–"


def test_a_breakdown_rows_filter_becomes_the_lists_address():
    params = filter_params(["csm", "status", "segment"])
    assert drill_link({"attributes.csm": "Ana Lee"}, params) == "#drill?csm=Ana%20Lee"
    assert drill_link({"template": "g", "playbook": "a/b"}, params) == "#drill?template=g&playbook=a%2Fb"
    assert drill_link({"task_owners": "csm"}, params) == "#drill?owner=csm"
    # an account without the attribute: the breakdowns' own key for it
    assert drill_link({"attributes.segment": None}, params) == "#drill?segment=%28none%29"
    # an attribute named like a fixed filter keeps its path, so the two stay apart
    assert drill_link({"attributes.status": "x"}, params) == "#drill?attributes.status=x"


def test_the_blob_gives_back_every_row(tmp_path, plan):
    report = fixture_report(tmp_path, plan)
    blob = encode_instances(report["instances"], report["by"], report["as_of"])
    expected = [{k: v for k, v in i.items() if k != "id" and v is not None}
                | {"tasks": [{k: v for k, v in t.items() if k != "state"} for t in i["tasks"]]} for i in report["instances"]]
    got = decode_instances(blob)
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, expected))
    # newest first: the alert opened Jan 4, the external goal started Jan 2, the two g goals Jan 1
    assert [(r["kind"], r.get("template", r.get("rule")), r["account"]) for r in got] == [
        ("alert", "low", "a1"), ("goal", "ext", "p1"), ("goal", "g", "p1"), ("goal", "g", "s1")]


DAY = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@st.composite
def instances(draw):
    out = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(DAY)
        later = st.none() | st.integers(0, 400).map(lambda n: (start + timedelta(days=n)).isoformat())
        tasks = [{"task": draw(st.sampled_from(["kickoff", "go_live", "call"])), "owner": draw(st.sampled_from(["csm", "se"])),
                  "due": (due := start + timedelta(days=draw(st.integers(0, 90)))).isoformat(),
                  "done": draw(st.none() | st.integers(-5, 30).map(lambda n, due=due: (due + timedelta(days=n)).isoformat()))}
                 for _ in range(draw(st.integers(0, 4)))]
        common = {"account": draw(TEXT), "attributes": {"csm": draw(st.none() | TEXT), "tier": draw(st.none() | TEXT)},
                  "task_owners": sorted({t["owner"] for t in tasks}), "tasks": tasks}
        if draw(st.booleans()):
            out.append({"kind": "goal", "template": draw(TEXT), "playbook": draw(TEXT), **common,
                        "status": draw(st.sampled_from(["active", "achieved", "missed", "awaiting measure"])),
                        "deployed": start.isoformat(), "end": draw(later), "ended": draw(later), "kpi_met": draw(later)})
        else:
            out.append({"kind": "alert", "rule": draw(TEXT), "playbook": draw(st.none() | TEXT), "severity": draw(st.none() | TEXT),
                        **common, "opened": start.isoformat(), "age_days": draw(st.integers(0, 900))})
    return out


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(instances(), DAY)
def test_the_blob_round_trips_any_rows(rows, as_of):
    got = decode_instances(encode_instances(rows, ["csm", "tier"], as_of.isoformat()))
    clean = [{k: v for k, v in r.items() if v is not None} for r in rows]
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, clean))


def test_the_page_is_self_contained_deterministic_and_escaped(tmp_path, plan):
    report = fixture_report(tmp_path, plan)
    hostile = "<script>alert(1)</script>"
    report = copy.deepcopy(report)
    report["breakdowns"][0]["rows"][0]["key"] = hostile
    report["cohorts"][0]["template"] = hostile
    report["alerts"]["rules"][0]["rule"] = hostile
    report["instances"][0]["account"] = hostile
    page = render(report)
    assert page == render(report)  # the same report, the same bytes (the blob's gzip header has no time)
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert any(r["account"] == hostile for r in decode_instances(_blob(page)))
    # nothing fetched at view time: no external file, no URL at all
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(|https?:", page)


def _blob(page: str) -> str:
    return re.search(r'<script type="application/octet-stream" id="drill-data"[^>]*>([^<]*)</script>', page).group(1)


@pytest.mark.slow
def test_the_page_weighs_a_few_bytes_per_row(tmp_path, plan):
    """20,000 regular goal instances of 4 tasks each take under 6 bytes a row in the page (2.4 when written):
    a guard on the blob's encoding. The generated 100,000-account store's 137,328 rows take 8 to 12 bytes
    each, 1.2 to 1.6 MiB in all (docs/performance.md)."""
    report = fixture_report(tmp_path, plan)
    start = date(2026, 1, 1)
    rows = []
    for n in range(20_000):
        d = start + timedelta(days=n % 90)
        tasks = [{"task": t, "owner": "csm" if t != "integrations" else "solutions_engineer",
                  "due": (d + timedelta(days=k)).isoformat(),
                  "done": (d + timedelta(days=k + (n % 3) - 1)).isoformat() if (n + k) % 4 else None, "state": "x"}
                 for t, k in (("kickoff", 5), ("training", 12), ("integrations", 19), ("go_live", 26))]
        rows.append({"kind": "goal", "id": f"g-{n:012x}", "template": ("onboarding", "adoption")[n % 2],
                     "playbook": ("enterprise", "standard")[n % 7 == 0], "account": f"acct{n // 2:06d}",
                     "attributes": {"tier": ("standard", "premium")[n % 5 == 0]}, "task_owners": ["csm", "solutions_engineer"],
                     "status": ("active", "achieved", "missed")[n % 3], "deployed": d.isoformat(),
                     "end": (d + timedelta(days=60)).isoformat(), "ended": None, "kpi_met": None, "tasks": tasks})
    small = len(render(report).encode())
    report["instances"] = rows
    assert (len(render(report).encode()) - small) / len(rows) < 6
    assert report_html.PAGE_ROWS == 100
