"""Spec test files: the series notation, positioned format errors, matching."""

from datetime import date

import pytest

from plays.spectest.format import SpecFileError, load_test_file
from plays.spectest.series import parse_series
from plays.spectest.runner import (
    check_events,
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


def problems(tmp_path, text):
    with pytest.raises(SpecFileError) as e:
        load_test_file(write(tmp_path, text))
    return [(d.code, d.span.line, d.message) for d in e.value.diagnostics]


def test_nested_aliases_are_refused_quickly(tmp_path):
    import time

    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.perf_counter()
    [(code, line, message)] = problems(tmp_path, "\n".join(lines) + "\ntests: *a9\n")
    assert time.perf_counter() - started < 5
    assert code == "T100" and "expands to more than 100,000 values" in message
    # a self-referencing alias: refused, not followed forever
    assert {code for code, _, _ in problems(tmp_path, "tests: &t [*t]\n")} <= {"T100", "T101"}
    assert {code for code, _, _ in problems(tmp_path, "a: &t {b: *t}\ntests: [*t]\n")} <= {"T100", "T101"}


def test_a_few_aliases_are_fine(tmp_path):
    text = GOOD.replace("attributes: {name: Acme, segment: enterprise, tier: premium}",
                        "attributes: &attrs {name: Acme, segment: enterprise, tier: premium}")
    text = text.replace("series: {mau: \"10 20\"}", "attributes: *attrs\n        series: {mau: \"10 20\"}")
    [t] = load_test_file(write(tmp_path, text)).tests
    assert t.accounts[1].attributes["segment"] == "enterprise"


@pytest.mark.parametrize("series, fragment", [
    ("100x999999999", "a series has at most 10,000 values"),
    ("1x10001", "a series has at most 10,000 values"),
    ("1x5000 2x5001", "a series has at most 10,000 values"),
    ("1x" + "9" * 20, "a series has at most 10,000 values"),
    ("1" * 40, "too many digits"),
])
def test_series_length_is_bounded_before_anything_is_allocated(series, fragment):
    from plays.spectest.series import ValueProblem

    with pytest.raises(ValueProblem, match=fragment):
        parse_series(series)
    assert len(parse_series("1x10000")) == 10000


TEST = "tests:\n  - name: x\n    start: {start}\n    every: {every}\n    accounts:\n      a:\n        start: {astart}\n        series: {{m: '{series}'}}\n    deploy:\n      - {{goal: g, account: a, date: {deploy}}}\n    expect_none:\n      - {{event: alert_fired, date: {expect}}}\n"
OK = dict(start="2026-01-01", every="1d", astart="2026-01-01", series="1 2", deploy="2026-01-02", expect="2026-01-02")


@pytest.mark.parametrize("field, value, line, fragment", [
    ("start", "2026-02-30", 3, "start: `2026-02-30` is not a calendar date"),
    ("astart", "2026-02-30", 7, "start of `a`: `2026-02-30` is not a calendar date"),
    ("deploy", "2026-02-30", 10, "deploy date: `2026-02-30` is not a calendar date"),
    ("expect", "2026-02-30", 12, "expect_none date: `2026-02-30` is not a calendar date"),
    ("start", "9999-12-31", 3, "start: `9999-12-31` is out of range: dates are from 1900-01-01 to 2999-12-31"),
    ("start", "1899-12-31", 3, "is out of range"),
    ("every", "99999999999d", 4, "every: `99999999999d`: a duration is from 1d to 36,500d"),
    ("every", "5300w", 4, "a duration is from 1d to 36,500d"),
    ("series", "1x" + "9" * 20, 8, "a series has at most 10,000 values"),
])
def test_impossible_or_out_of_range_values_are_positioned_errors(tmp_path, field, value, line, fragment):
    found = problems(tmp_path, TEST.format(**dict(OK, **{field: value})))
    assert [(code, ln) for code, ln, _ in found] == [("T102" if field == "series" else "T101", line)], found
    assert fragment in found[0][2]


def test_a_series_may_not_run_past_the_last_date(tmp_path):
    found = problems(tmp_path, TEST.format(**dict(OK, astart="2999-12-30", series="1 2 3", start="2999-12-30")))
    assert found == [("T101", 6, "the series of `a` run past 2999-12-31 (3 values every 1d from 2999-12-30)")]
    found = problems(tmp_path, TEST.format(**dict(OK, every="36500d", series="1x10000")))
    assert found[0][0] == "T101" and "run past 2999-12-31" in found[0][2]
