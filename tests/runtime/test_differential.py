"""Differential test: the SQL engine against the per-row reference evaluator (tests/runtime/reference.py)."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from plays.compiler.driver import compile_text
from plays.spectest.runner import evaluate_rows

pytestmark = pytest.mark.slow

CATALOG = "account { handoff: date  tier: enum(standard, premium) }\nmetric m: number\nmetric k: number\n"
START = date(2026, 1, 1)

windows = st.sampled_from([1, 2, 3, 7, 14])
numbers = st.integers(-3, 12).map(str)


@st.composite
def atoms(draw):
    w = draw(windows)
    return draw(st.sampled_from([
        "m", "k", "previous(m)", f"value_at(m, {w}d)", f"change(m, {w}d)", f"pct_change(k, {w}d)",
        f"sum(m, {w}d)", f"avg(k, {w}d)", f"min(m, {w}d)", f"max(k, {w}d)", f"count(m, {w}d)",
        "days_since(handoff)", "m + k", "m - k", "m * 2", "m / k", "-m",
    ]))


@st.composite
def comparisons(draw):
    left = draw(atoms())
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    right = draw(st.one_of(numbers, atoms(), st.sampled_from(["50%", "-20%"])))
    form = draw(st.sampled_from(["cmp", "cmp", "cmp", "empty", "notempty", "in", "tier"]))
    if form == "empty":
        return f"{left} is empty"
    if form == "notempty":
        return f"{left} is not empty"
    if form == "in":
        return f"m in ({draw(numbers)}, {draw(numbers)})"
    if form == "tier":
        return "tier == premium"
    return f"{left} {op} {right}"


conditions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=4,
)


@st.composite
def histories(draw):
    rows = []
    for account in ("a", "b"):
        n = draw(st.integers(1, 14))
        offsets = sorted(draw(st.sets(st.integers(0, 30), min_size=n, max_size=n)))
        handoff = START + timedelta(days=draw(st.integers(-2, 20)))
        tier = draw(st.sampled_from(["standard", "premium", None]))
        for off in offsets:
            rows.append({
                "account": account, "date": START + timedelta(days=off), "handoff": handoff, "tier": tier,
                "m": draw(st.one_of(st.none(), st.integers(0, 10).map(float))),
                "k": draw(st.one_of(st.none(), st.integers(0, 10).map(float))),
            })
    return rows


def engine_events(plan, rows):
    keep = {"alert_fired", "alert_resolved", "goal_deployed", "goal_kpi_met", "goal_achieved", "goal_missed"}
    out = []
    for e in evaluate_rows(plan, rows):
        if e["event"] in keep:
            out.append((e["event"], date.fromisoformat(e["date"]), e["account"], e.get("alert") or e.get("goal")))
    return sorted(out)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(when=conditions, where=st.one_of(st.none(), conditions), hold=st.sampled_from([None, 0, 2, 5]),
       cooldown=st.sampled_from([None, 3, 10]), rows=histories())
def test_alerts_agree_with_the_reference(when, where, hold, cooldown, rows):
    spec = (f"alert x {{ when: {when} " + (f"where: {where} " if where else "")
            + (f"for: {hold}d " if hold is not None else "") + (f"cooldown: {cooldown}d " if cooldown is not None else "")
            + 'playbook { task t "T" { } } }')
    plan = compile_text(CATALOG + spec)
    assert engine_events(plan, rows) == reference.events(plan.to_json(), rows), spec


@SETTINGS
@given(trigger=st.one_of(conditions.map(lambda c: f"when {c}"),
                         st.integers(-5, 5).map(lambda o: f"on handoff {'+' if o >= 0 else '-'} {abs(o)}d")),
       duration=st.integers(1, 12), kpi=st.one_of(st.none(), conditions, st.sampled_from(["m up 20%", "k down 50%"])),
       rows=histories())
def test_goals_agree_with_the_reference(trigger, duration, kpi, rows):
    spec = (f"goal g {{ duration: {duration}d  deploy: {trigger} " + (f"kpi: {kpi} " if kpi else "")
            + 'playbook { task t "T" { } } }')
    plan = compile_text(CATALOG + spec)
    assert engine_events(plan, rows) == reference.events(plan.to_json(), rows), spec
