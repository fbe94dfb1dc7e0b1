"""The engine's parts: SQL of expressions over a hand-made ``snapshots`` table, lifecycles
across accounts, task titles, event order and ids, rendering, and explain agreeing with the engine.

The ``snapshots`` table is built here directly in DuckDB from Python rows (the
shape `runtime/snapshots.py` produces), so these tests do not depend on the loader.
"""

from datetime import date, timedelta

import duckdb
import pytest

from plays.compiler.driver import compile_text
from plays.errors import EvaluationError
from plays.runtime.engine import evaluate
from plays.runtime.events import KINDS, Event, make_id
from plays.runtime.explain import explain, explain_condition
from plays.cli.output import render_jsonl, render_text
from plays.compiler.plan import Call, Condition, Loc, Metric, expr_from_json, walk
from plays.runtime.sql import condition_sql, expr_sql

CATALOG = """
account { name: text  tier: enum(standard, premium)  handoff: date }
metric m: number
metric k: number
"""
D0 = date(2026, 1, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def table(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A connection whose ``snapshots`` table holds (account, day offset, m, k[, name, tier, handoff]) rows."""
    con = duckdb.connect()
    con.execute("CREATE TABLE snapshots (account VARCHAR, date DATE, name VARCHAR, tier VARCHAR, handoff DATE, "
                "m DOUBLE, k DOUBLE)")
    full = []
    for r in rows:
        acc, off, m, k, *rest = r
        name, tier, handoff = (rest + [None, None, None])[:3]
        full.append((acc, day(off), name, tier, handoff, m, k))
    full.sort(key=lambda r: (r[0], r[1]))
    con.executemany("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)", full)
    return con


def column(con, sql: str, account: str = "a") -> dict[date, object]:
    """The value of ``sql`` at every snapshot of one account, computed over the whole table."""
    rows = con.execute(f"SELECT account, date, {sql} FROM snapshots ORDER BY account, date").fetchall()
    return {d: v for a, d, v in rows if a == account}


def when_expr(condition: str):
    plan = compile_text(CATALOG + f'alert x {{ when: {condition} playbook {{ task t "T" {{ }} }} }}')
    return plan.alerts[0].when.expr


def cond_of(expr):
    """A bare expression as a whole condition (what ``condition_sql`` takes)."""
    return Condition(expr, Loc("t.play", 1, 1), "")


def sql_of(expression: str) -> str:
    """SQL of an arithmetic expression, taken from the left side of ``EXPR is empty``."""
    return expr_sql(when_expr(f"({expression}) is empty").arg)


# --- expressions in SQL ----------------------------------------------------------------


def test_window_frame_is_exactly_t_minus_w_exclusive_to_t_inclusive():
    # m doubles each day, so a sum names exactly the days it covers: at day 4, sum(m, 3d) covers days 2, 3, 4
    con = table([("a", i, float(2 ** i), None) for i in range(5)])
    values = column(con, sql_of("sum(m, 3d)"))
    assert values[day(4)] == 4 + 8 + 16  # day 1 (= t - 3d) is outside, day 2 inside
    assert values[day(0)] == 1 and values[day(2)] == 1 + 2 + 4


def test_window_over_a_gap_holds_only_the_snapshots_dated_inside_it():
    # snapshots on days 0, 6, 7: at day 7, (t - 7d, t] = days 1..7 holds days 6 and 7 only
    con = table([("a", 0, 100.0, None), ("a", 6, 1.0, None), ("a", 7, 2.0, None)])
    assert column(con, sql_of("sum(m, 7d)"))[day(7)] == 3
    assert column(con, sql_of("count(m, 7d)"))[day(7)] == 2
    assert column(con, sql_of("sum(m, 8d)"))[day(7)] == 103  # (day -1, day 7] reaches day 0


def test_windows_never_mix_accounts():
    con = table([("a", 0, 5.0, None), ("b", 1, 7.0, None)])
    assert column(con, sql_of("sum(m, 30d)"), "b") == {day(1): 7}
    assert column(con, sql_of("previous(m)"), "b") == {day(1): None}


def test_value_at_takes_the_value_of_the_latest_snapshot_even_when_empty():
    # at day 3, t - 2d = day 1: the latest snapshot on or before is day 1, where m is empty;
    # the engine does not look further back to day 0 (docs/language.md, Runtime)
    con = table([("a", 0, 10.0, None), ("a", 1, None, None), ("a", 3, 30.0, None)])
    values = column(con, sql_of("value_at(m, 2d)"))
    assert values == {day(0): None, day(1): None, day(3): None}
    assert column(con, sql_of("value_at(m, 3d)"))[day(3)] == 10


def test_count_is_zero_and_aggregates_empty_when_every_value_is_empty():
    con = table([("a", 0, None, None), ("a", 1, None, None)])
    assert column(con, sql_of("count(m, 5d)")) == {day(0): 0, day(1): 0}
    for f in ("sum", "avg", "min", "max"):
        assert column(con, sql_of(f"{f}(m, 5d)"))[day(1)] is None, f


def test_negation_of_a_negative_constant_is_not_a_sql_comment():
    # the compiler folds -(-5), but a hand-written plan may hold it: "(--5)" would comment out the query's rest
    node = {"op": "neg", "type": "number", "arg": {"op": "const", "type": "number", "value": -5}}
    cond = {"op": ">", "type": "bool", "left": node, "right": {"op": "metric", "type": "number", "name": "m"}}
    con = table([("a", 0, 4.0, None), ("a", 1, 6.0, None)])
    assert column(con, f"{condition_sql(cond_of(expr_from_json(cond)))} AS c") == {day(0): True, day(1): False}


def test_text_is_quoted_so_spec_text_cannot_change_the_query():
    cond = when_expr("""name == "O'Brien -- \\"co\\"" """)
    con = table([("a", 0, 1.0, None, 'O\'Brien -- "co"'), ("a", 1, 1.0, None, "other")])
    assert column(con, condition_sql(cond_of(cond))) == {day(0): True, day(1): False}


def test_unknown_counts_as_false_at_the_top_only():
    # m > 1 is unknown at day 0; not(unknown) is unknown, so false; "or k > 1" makes it true at day 1
    con = table([("a", 0, None, 0.0), ("a", 1, None, 5.0)])
    assert column(con, condition_sql(cond_of(when_expr("not (m > 1)")))) == {day(0): False, day(1): False}
    assert column(con, condition_sql(cond_of(when_expr("m > 1 or k > 1")))) == {day(0): False, day(1): True}
    assert condition_sql(None) == "TRUE"


def test_division_by_zero_and_zero_past_values_are_empty():
    con = table([("a", 0, 0.0, 0.0), ("a", 1, 3.0, 0.0)])
    assert column(con, sql_of("m / k")) == {day(0): None, day(1): None}
    assert column(con, sql_of("pct_change(m, 1d)")) == {day(0): None, day(1): None}  # the past value is 0
    assert column(con, sql_of("change(m, 1d)"))[day(1)] == 3


def test_days_since_and_days_until_count_calendar_days_from_the_snapshot_date():
    con = table([("a", 10, 1.0, None, "A", None, day(3))])
    assert column(con, sql_of("days_since(handoff)")) == {day(10): 7}
    assert column(con, sql_of("days_until(handoff)")) == {day(10): -7}


def test_calls_read_as_written_for_event_values():
    node = when_expr("pct_change(m, 7d) <= -20%").left
    assert node.describe() == "pct_change(m, 7d)"


# --- lifecycles across accounts -------------------------------------------------------------


def events_of(spec: str, rows: list[tuple], **kw) -> list[Event]:
    return evaluate(compile_text(CATALOG + spec), table(rows), **kw)


def test_an_alert_run_does_not_carry_over_from_one_account_to_the_next():
    # a holds m > 5 on days 0..2 (fires at day 2 with for: 2d); b is true on days 0 and 1 only: 1 - 0 < 2, no fire
    spec = 'alert x { when: m > 5  for: 2d  playbook { task t "T" { } } }'
    rows = [("a", i, 6.0, None) for i in range(3)] + [("b", i, 6.0, None) for i in range(2)]
    fired = [(e.account, e.date) for e in events_of(spec, rows) if e.event == "alert_fired"]
    assert fired == [("a", day(2))]


def test_goal_instances_of_one_account_have_their_own_kpi_outcomes():
    # duration 2d, edges at days 0 and 3; first instance ends day 2 (k = 1: missed), second ends day 5 (k = 9: achieved)
    spec = 'goal g { duration: 2d  deploy: when m > 5  kpi: k > 5  playbook { task t "T" { } } }'
    ms = [6, 1, 1, 6, 1, 1]
    ks = [1, 1, 1, 1, 1, 9]
    events = events_of(spec, [("a", i, float(ms[i]), float(ks[i])) for i in range(6)])
    outcomes = [(e.event, e.date, e.start) for e in events if e.event.startswith("goal_") and e.event != "goal_deployed"]
    assert outcomes == [("goal_missed", day(2), day(0)), ("goal_kpi_met", day(5), day(3)), ("goal_achieved", day(5), day(3))]


def test_a_goal_ending_after_the_last_snapshot_is_still_active_with_no_outcome():
    spec = 'goal g { duration: 30d  deploy: when m > 5  kpi: k > 5  playbook { task t "T" { } } }'
    events = events_of(spec, [("a", 0, 6.0, 1.0), ("a", 1, 1.0, 9.0), ("a", 2, 6.0, 1.0)])
    kinds = [(e.event, e.date) for e in events if e.event != "task_created"]
    # the edge at day 2 is ignored: the first instance is active
    assert kinds == [("goal_deployed", day(0)), ("goal_kpi_met", day(1))]


# --- titles -------------------------------------------------------------------------------------


def test_titles_see_account_metrics_functions_rule_and_today_and_data_is_not_a_template():
    spec = ('goal g "Grow" { duration: 5d  deploy: when m > 5  playbook { task t '
            '"{{ goal.title }} {{ account.name }} ({{ account.id }}) m={{ m }} prev={{ previous(m) }} '
            'sum={{ sum(m, 2d) }} on {{ today }}" { } } }')
    events = events_of(spec, [("a", 0, 1.0, None, "{{ 7 * 6 }}"), ("a", 1, 6.0, None, "{{ 7 * 6 }}")])
    [task] = [e for e in events if e.event == "task_created"]
    assert task.title == f"Grow {{{{ 7 * 6 }}}} (a) m=6 prev=1 sum=7 on {day(1)}"


def test_an_empty_value_in_title_arithmetic_reads_as_a_dash_and_the_run_goes_on():
    # empty m: m + 1 is empty (as in the language), shown as an em dash; the run is not stopped
    spec = 'alert x { when: k > 0  playbook {\n task t "Next {{ m + 1 }}, {{ k / 2 }}" { } } }'
    [task] = [e for e in events_of(spec, [("a", 0, None, 3.0)]) if e.event == "task_created"]
    assert task.title == "Next —, 1.5"


def test_a_hand_edited_title_that_does_not_check_is_refused_with_the_task_position():
    from plays.compiler.plan import Plan, PlanError

    d = compile_text(CATALOG + 'alert x { when: k > 0  playbook {\n task t "Next {{ m + 1 }}" { } } }').to_json()
    d["alerts"][0]["playbooks"][0]["tasks"][0]["title"] = "Next {{ nope }}"
    with pytest.raises(PlanError, match=r"<string>:6:2: task `t`: the title uses `nope`, which is not in scope"):
        Plan.from_json(d)


# --- events, ids, rendering ----------------------------------------------------------------------


def test_event_sort_key_orders_date_account_kind_then_name():
    events = [
        Event("goal_missed", day(1), "a", goal="g"),
        Event("task_created", day(1), "a", goal="b", task="z"),
        Event("alert_fired", day(1), "b", alert="x"),
        Event("alert_resolved", day(1), "a", alert="x"),
        Event("task_created", day(1), "a", goal="a", task="y"),
        Event("alert_fired", day(0), "z", alert="x"),
    ]
    got = [(e.date, e.account, e.event, e.rule) for e in sorted(events, key=Event.sort_key)]
    assert got == [
        (day(0), "z", "alert_fired", "x"),
        (day(1), "a", "alert_resolved", "x"),
        (day(1), "a", "task_created", "a"),
        (day(1), "a", "task_created", "b"),
        (day(1), "a", "goal_missed", "g"),
        (day(1), "b", "alert_fired", "x"),
    ]
    assert KINDS.index("goal_kpi_met") < KINDS.index("goal_achieved")


def test_ids_depend_on_every_part_and_nothing_else():
    base = make_id("t", "goal", "g", "a", day(0), "call", 0)
    assert base == make_id("t", "goal", "g", "a", day(0), "call", 0) and len(base) == 14
    others = {make_id("t", "goal", "g", "b", day(0), "call", 0), make_id("t", "goal", "g", "a", day(1), "call", 0),
              make_id("t", "goal", "g", "a", day(0), "call", 1), make_id("t", "alert", "g", "a", day(0), "call", 0)}
    assert base not in others and len(others) == 4


def test_json_lines_carry_the_contract_fields_in_a_fixed_order():
    spec = 'alert x "X" { severity: high  when: m > 5  playbook { task t "T" { type: call  due: 2d } } }'
    events = events_of(spec, [("a", 0, 6.0, None)])
    lines = render_jsonl(events).splitlines()
    assert lines[0].startswith('{"event": "alert_fired", "date": "2026-01-01", "account": "a", "alert": "x", '
                               '"playbook": "default", "severity": "high"')
    assert lines[1].startswith('{"event": "task_created", "date": "2026-01-01", "account": "a", "alert": "x"')
    assert '"due": "2026-01-03", "after": []' in lines[1] and '"values"' not in lines[1]


def test_text_output_groups_by_date_and_summarises():
    spec = ('alert x { when: m > 5  playbook { task t "T" { } } }\n'
            'goal g { duration: 1d  deploy: when m > 5  kpi: k > 0  playbook { task t "T" { } } }')
    text = render_text(events_of(spec, [("a", 0, 6.0, 0.0), ("a", 1, 1.0, 1.0)]), accounts=1, rows=2)
    head, summary = text.split("Summary")
    assert head.index("2026-01-01") < head.index("ALERT") < head.index("2026-01-02") < head.index("RESOLVED")
    assert "alerts fired: 1, resolved: 1" in summary and "goals deployed: 1" in summary
    assert "  goal outcomes  KPI met  achieved  missed\n    g                  1         1       0\n" in summary
    # the heading's columns line up with the row's: the counts end under the headings' last letters
    lines = summary.splitlines()
    i = next(i for i, x in enumerate(lines) if x.startswith("  goal outcomes"))
    heading, row = lines[i], lines[i + 1]
    assert [heading.index(h) + len(h) for h in ("met", "achieved", "missed")] == [
        m.end() for m in __import__("re").finditer(r"\d+", row)]
    assert "tasks created: 2" in summary and "2 snapshots of 1 account evaluated" in summary


# --- explain agrees with the engine --------------------------------------------------------------

WHEN = "pct_change(m, 3d) <= -20% or (sum(k, 7d) > 10 and previous(m) is not empty) or value_at(k, 2d) == 3"
ROWS = [("a", i, m, k) for i, (m, k) in enumerate(
    [(10, 1), (12, 3), (None, 3), (9, 4), (7, None), (7, 5), (8, 0), (None, 0), (8, 0), (8, 0), (8, 0), (5, 3),
     (8, 1), (8, 1), (8, 1)])
    if i not in (3, 6)] + [("b", 0, 1.0, 1.0)]
ROWS = [(a, i, None if m is None else float(m), None if k is None else float(k)) for a, i, m, k in ROWS]


def test_explain_values_and_verdicts_agree_with_the_sql_engine_at_every_snapshot():
    plan = compile_text(CATALOG + f'alert x {{ when: {WHEN}  playbook {{ task t "T" {{ }} }} }}')
    cond = plan.alerts[0].when
    engine = column(table(ROWS), condition_sql(cond))
    sub = {(n.describe() if isinstance(n, Call) else n.name): expr_sql(n)
           for n in walk(cond.expr) if isinstance(n, (Call, Metric))}
    whole = {key: column(table(ROWS), sql) for key, sql in sub.items()}
    assert any(engine.values()) and not all(engine.values())  # the case covers both verdicts
    for d, expected in engine.items():
        con = table(ROWS)
        con.execute("CREATE OR REPLACE TABLE snapshots AS SELECT * FROM snapshots WHERE account = 'a' AND date <= ?", [d])
        steps, verdict = explain_condition(con, cond, "a", d)
        assert bool(verdict) == expected, d
        raw = {s.text: s.raw for s in steps}
        for key, values in whole.items():
            assert raw[key] == values[d], (key, d)


def test_explain_verdict_agrees_with_the_events():
    plan = compile_text(CATALOG + f'alert x {{ when: {WHEN}  cooldown: 3d  playbook {{ task t "T" {{ }} }} }}')
    events = evaluate(plan, table(ROWS))
    fired = {e.date: e for e in events if e.event == "alert_fired" and e.account == "a"}
    resolved = {e.date for e in events if e.event == "alert_resolved" and e.account == "a"}
    assert fired and resolved
    for _, off, *_ in [r for r in ROWS if r[0] == "a"]:
        ex = explain(plan, table(ROWS), "x", "a", day(off))
        if day(off) in fired:
            assert ex.verdict.startswith("FIRED"), (off, ex.verdict)
            [(_, _, steps, _)] = [s for s in ex.sections if s[0] == "when"]
            raw = {s.text: s.raw for s in steps}
            assert all(raw[k] == v for k, v in fired[day(off)].values.items())
        elif day(off) in resolved:
            assert ex.verdict.startswith("RESOLVED"), (off, ex.verdict)
        else:
            assert ex.verdict.startswith("not"), (off, ex.verdict)
    # true at day 13, but the last fire was day 11 and the cooldown runs to day 14
    assert "in cooldown after the fire on 2026-01-12" in explain(plan, table(ROWS), "x", "a", day(13)).verdict


def test_explain_names_for_cooldown_and_already_firing():
    spec = 'alert x {{ when: m > 5  {extra}  playbook {{ task t "T" {{ }} }} }}'
    rows = [("a", i, v, None) for i, v in enumerate([6.0, 6.0, 1.0, 6.0, 6.0, 6.0])]
    plan = compile_text(CATALOG + spec.format(extra="for: 1d  cooldown: 4d"))
    # true 0, 1 (fires at 1: held 1d), false 2 (resolves), true 3, 4 (held, but cooldown until day 5), fires at 5
    assert [e.date for e in evaluate(plan, table(rows)) if e.event == "alert_fired"] == [day(1), day(5)]
    assert explain(plan, table(rows), "x", "a", day(0)).verdict.startswith(
        "not fired yet: the condition has held at every snapshot since 2026-01-01 (0d), `for: 1d` needs 1d")
    assert explain(plan, table(rows), "x", "a", day(1)).verdict == "FIRED on 2026-01-02"
    assert explain(plan, table(rows), "x", "a", day(2)).verdict.startswith("RESOLVED")
    assert "in cooldown after the fire on 2026-01-02" in explain(plan, table(rows), "x", "a", day(4)).verdict
    assert explain(plan, table(rows), "x", "a", day(5)).verdict == "FIRED on 2026-01-06"
    plan = compile_text(CATALOG + spec.format(extra=""))
    assert "already firing since 2026-01-01" in explain(plan, table(rows), "x", "a", day(1)).verdict
    plan = compile_text(CATALOG + spec.format(extra="where: tier == premium"))
    assert "`where` is false" in explain(plan, table(rows), "x", "a", day(0)).verdict

