"""What the new warnings say about a run, checked against the runtime itself.

W201 says a cooldown of at most `for` + 2 days never delays a fire; W404 that a
recurring task longer than its goal is never created; W500 that `up P%` from 0
is met at once and from an empty value never; W403 that a late task is due
after the goal's end. Each claim is run here on hand-made snapshots (and W201
also on generated ones).
"""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.driver import compile_sources
from plays.sources import Source
from plays.spectest.runner import evaluate_rows

CATALOG = "account { go_live: date }\nmetric m: number\n"
START = date(2026, 1, 1)


def run(spec: str, rows: list[dict]):
    result = compile_sources([Source("c.play", CATALOG), Source("s.play", spec)])
    assert result.ok, result.diagnostics
    codes = [d.code for d in result.diagnostics]
    return codes, evaluate_rows(result.plan, rows)


def daily(values, go_live=START):
    return [{"account": "a", "date": START + timedelta(days=i), "go_live": go_live, "m": v}
            for i, v in enumerate(values)]


def fires(events):
    return [e["date"] for e in events if e["event"] == "alert_fired"]


def alert(cooldown=None, hold=None):
    return ("alert x { when: m > 3 " + (f"for: {hold}d " if hold is not None else "")
            + (f"cooldown: {cooldown}d " if cooldown is not None else "") + 'playbook { task t "T" { } } }')


# --- W201 ------------------------------------------------------------------------------------


def test_W201_the_bound_is_tight_by_hand():
    # true on day 0 (fire), false on day 1 (resolve), true again on day 2: a fire 2 days after the last
    values = [5, 0, 5]
    codes, events = run(alert(cooldown=2), daily(values))
    assert "W201" in codes and fires(events) == ["2026-01-01", "2026-01-03"]  # 2d delays nothing
    codes, events = run(alert(cooldown=3), daily(values))
    assert "W201" not in codes and fires(events) == ["2026-01-01"]  # 3d blocks the fire on day 2


def test_W201_with_for_by_hand():
    # for: 2d: true days 0-2 (fire on day 2), false day 3, true days 4-6 (held 2 days on day 6: f + 4)
    values = [5, 5, 5, 0, 5, 5, 5]
    codes, events = run(alert(hold=2, cooldown=4), daily(values))
    assert "W201" in codes and fires(events) == ["2026-01-03", "2026-01-07"]
    codes, events = run(alert(hold=2, cooldown=5), daily(values))
    assert "W201" not in codes and fires(events) == ["2026-01-03"]


@st.composite
def histories(draw):
    offsets = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=25)))
    return [{"account": "a", "date": START + timedelta(days=o), "go_live": START,
             "m": draw(st.sampled_from([None, 0.0, 5.0, 5.0]))} for o in offsets]


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hold=st.integers(0, 5), slack=st.integers(0, 2), rows=histories())
def test_W201_a_cooldown_it_flags_changes_no_event(hold, slack, rows):
    cooldown = max(1, hold + 2 - slack)  # 1 .. for + 2 days
    codes, with_cooldown = run(alert(cooldown=cooldown, hold=hold or None), rows)
    assert "W201" in codes
    _, without = run(alert(hold=hold or None), rows)
    assert with_cooldown == without


# --- W403, W404 ---------------------------------------------------------------------------------


def goal(body, duration=60, kpi=""):
    return f"goal g {{ duration: {duration}d  deploy: on go_live  {kpi}  playbook {{ {body} }} }}"


def tasks(events):
    return sorted((e["task"], e["due"]) for e in events if e["event"] == "task_created")


def test_W404_the_task_is_never_created_and_W403_is_due_after_the_end():
    spec = goal('task qbr "Q" { every: 90d } task late "L" { due: 61d } task w "W" { every: 30d }')
    codes, events = run(spec, daily([1] * 3))
    assert sorted(codes) == ["W403", "W404"]
    # start 2026-01-01 + 60d = 2026-03-02: `late` is due the day after; `qbr` is nowhere
    assert tasks(events) == [("late", "2026-03-03"), ("w", "2026-01-31"), ("w", "2026-03-02")]


# --- W500 ----------------------------------------------------------------------------------------


def kpi_events(events):
    return [(e["event"], e["date"]) for e in events if e["event"].startswith("goal_") and e["event"] != "goal_deployed"]


@pytest.mark.parametrize("first, kpi, expected", [
    # from 0, `up 20%` is met on the deploy snapshot itself
    (0.0, "m up 20%", [("goal_kpi_met", "2026-01-01")]),
    # and `down 20%` holds as long as m stays 0
    (0.0, "m down 20%", [("goal_kpi_met", "2026-01-01")]),
    # from an empty value never
    (None, "m up 20%", []),
    # from 10, `up 20%` waits for 12
    (10.0, "m up 20%", [("goal_kpi_met", "2026-01-03")]),
])
def test_W500_what_a_relative_kpi_from_0_or_empty_does(first, kpi, expected):
    values = [first, 0.0 if first == 0.0 else 11.0, 0.0 if first == 0.0 else 12.0]
    codes, events = run(goal('task t "T" { }', duration=30, kpi=f"kpi: {kpi}"), daily(values))
    assert codes == ["W500"]
    assert kpi_events(events) == expected
