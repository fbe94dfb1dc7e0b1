"""Spec test files: the series notation, positioned format errors, matching."""

from datetime import date

import pytest

from plays.spectest.runner import (
    SpecFileError,
    check_events,
    load_test_file,
    parse_series,
    snapshot_rows,
)

GOOD = """\
specs: [..]
tests:
  - name: a 30% drop held for 3 days fires usage_drop
    start: 2026-01-01
    every: 1d
    accounts:
      acme:
        attributes: {name: Acme, segment: enterprise, tier: premium}
        series:
          mau: "100x7 70x5"
          nps: "_x10 4 4"
      weekly:
        every: 7d
        series: {mau: "10 20"}
    expect:
      - {event: alert_fired, alert: usage_drop, account: acme, date: 2026-01-11}
      - {event: task_created, alert: usage_drop, task: call, due: 2026-01-13}
    expect_none:
      - {event: alert_fired, alert: detractor}
"""


def write(tmp_path, text, name="a.test.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_series_notation():
    assert parse_series("100x7 70x2") == [100] * 7 + [70, 70]
    assert parse_series("_x2 4 -1.5 85% $1200") == [None, None, 4, -1.5, 0.85, 1200]
    with pytest.raises(ValueError, match="`7y` is not a series value"):
        parse_series("1 7y")


def test_loads_tests_with_lines_and_builds_rows(tmp_path):
    tf = load_test_file(write(tmp_path, GOOD))
    [t] = tf.tests
    assert t.name.startswith("a 30% drop")
    assert [e.span.line for e in t.expect] == [16, 17]
    assert t.expect[0].text == "{event: alert_fired, alert: usage_drop, account: acme, date: 2026-01-11}"
    rows = snapshot_rows(t)
    acme = [r for r in rows if r["account"] == "acme"]
    assert len(acme) == 12 and acme[0]["date"] == date(2026, 1, 1) and acme[-1]["date"] == date(2026, 1, 12)
    assert acme[7]["mau"] == 70 and acme[10]["nps"] == 4 and acme[0]["nps"] is None
    assert acme[0]["tier"] == "premium"
    weekly = [r["date"] for r in rows if r["account"] == "weekly"]
    assert weekly == [date(2026, 1, 1), date(2026, 1, 8)]


def test_matching_compares_only_given_fields_and_reports_near_misses(tmp_path):
    [t] = load_test_file(write(tmp_path, GOOD)).tests
    events = [
        {"event": "alert_fired", "alert": "usage_drop", "account": "acme", "date": "2026-01-12"},
        {"event": "task_created", "alert": "usage_drop", "account": "acme", "task": "call", "due": "2026-01-13"},
        {"event": "alert_fired", "alert": "detractor", "account": "acme", "date": "2026-01-12"},
    ]
    out = check_events(t, "a.test.yaml", events)
    assert not out.passed
    (missed, why, near), (unwanted, why2, hits) = out.failures
    assert why == "expected event did not occur" and missed.span.line == 16
    assert near[0]["date"] == "2026-01-12"
    assert why2 == "unexpected event occurred" and hits[0]["alert"] == "detractor"
    good = [dict(events[0], date="2026-01-11"), events[1]]
    assert check_events(t, "a.test.yaml", good).passed


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("tests:\n  - name: x\n    start: 2026-01-01\n    accounts: {a: {series: {mau: 1}}}\n    bogus: 1\n", 5, "unknown key"),
        ("tests:\n  - name: x\n    start: 2026-01-01\n    accounts:\n      a: {series: {mau: '1 7y'}}\n", 5, "`7y` is not a series value"),
        ("tests:\n  - name: x\n    start: 2026-13-01\n    accounts: {a: {}}\n", 3, "2026-13-01"),
        ("tests:\n  - name: x\n    start: 2026-01-01\n    accounts: {a: {}}\n    expect:\n      - {event: alert_fird}\n", 6, "alert_fird"),
        ("tests: [\n", 2, "not valid YAML"),
        ("", 1, "empty"),
    ],
)
def test_malformed_files_are_reported_with_their_line(tmp_path, text, line, fragment):
    with pytest.raises(SpecFileError) as e:
        load_test_file(write(tmp_path, text))
    d = e.value.diagnostics[0]
    assert fragment in d.message
    assert d.span.line == line
