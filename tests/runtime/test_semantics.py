"""Every rule of LANGUAGE.md's runtime semantics, on small hand-computed cases.

Dates in each test are worked out by hand in its comments.
"""

from datetime import date, timedelta

from plays.compiler.driver import compile_text
from plays.runtime.engine import ManualDeploy
from plays.spectest.runner import evaluate_rows, parse_series

CATALOG = """
account { name: text  tier: enum(standard, premium)  segment: enum(smb, enterprise)  handoff: date  renewal: date }
metric m: number
metric k: number
"""
D0 = date(2026, 1, 1)


def d(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


def run(spec: str, series: dict, *, every: int = 1, days=None, attrs=None, account="a", manual=()):
    plan = compile_text(CATALOG + spec)
    values = {k: parse_series(v) for k, v in series.items()}
    n = max(len(v) for v in values.values())
    offsets = days if days is not None else [i * every for i in range(n)]
    rows = []
    for i, off in enumerate(offsets):
        row = {"account": account, "date": D0 + timedelta(days=off), **(attrs or {})}
        row.update({k: v[i] if i < len(v) else None for k, v in values.items()})
        rows.append(row)
    return evaluate_rows(plan, rows, manual)


def fired(events, kind="alert_fired"):
    return [e["date"] for e in events if e["event"] == kind]


ALERT = 'alert x {{ when: {when} {extra} playbook {{ task t "T" {{ due: 2d }} }} }}'


def alert(when, extra=""):
    return ALERT.format(when=when, extra=extra)


# --- expressions -------------------------------------------------------------------


def test_value_at_takes_the_latest_snapshot_on_or_before_t_minus_w_across_gaps():
    # snapshots on days 0, 1, 5, 9; at day 9, t - 7d = day 2: latest on or before is day 1 (m = 20)
    events = run(alert("value_at(m, 7d) == 20"), {"m": "10 20 30 40"}, days=[0, 1, 5, 9])
    assert fired(events) == [d(9)]


def test_value_at_is_empty_before_history_so_change_is_unknown_and_false():
    events = run(alert("change(m, 7d) is empty"), {"m": "1x8"})
    # days 0..6 have no snapshot 7 days back; day 7 has (day 0)
    assert fired(events) == [d(0)] and fired(events, "alert_resolved") == [d(7)]


def test_previous_is_the_previous_snapshot_whatever_the_gap():
    events = run(alert("previous(m) == 5"), {"m": "5 6"}, days=[0, 30])
    assert fired(events) == [d(30)]


def test_window_aggregates_cover_t_minus_w_exclusive_to_t_inclusive_and_skip_empty_values():
    # sum(m, 3d) at day 3 covers days 1..3: 2 + _ + 4 = 6 (day 0's 100 is outside)
    events = run(alert("sum(m, 3d) == 6 and count(m, 3d) == 2 and avg(m, 3d) == 3 and min(m, 3d) == 2 and max(m, 3d) == 4"),
                 {"m": "100 2 _ 4"})
    assert fired(events) == [d(3)]


def test_window_of_only_empty_values_is_empty_and_count_is_zero():
    events = run(alert("sum(m, 2d) is empty and count(m, 2d) == 0"), {"m": "1 _ _", "k": "0 0 0"})
    assert fired(events) == [d(2)]


def test_weekly_cadence_windows():
    # weekly snapshots: at day 14, sum(m, 7d) covers (day 7, day 14]: only day 14 -> 3
    events = run(alert("sum(m, 7d) == 3 and pct_change(m, 7d) == 50%"), {"m": "1 2 3"}, every=7)
    assert fired(events) == [d(14)]


def test_arithmetic_with_empty_is_empty_and_division_by_zero_is_empty():
    events = run(alert("(m + k) is empty and (m / k) is empty"), {"m": "1 1", "k": "_ 0"})
    # day 0: k empty -> both empty; day 1: m + k = 1 (not empty)
    assert fired(events) == [d(0)]
    events = run(alert("(m / k) is empty"), {"m": "1", "k": "0"})
    assert fired(events) == [d(0)]


def test_three_valued_logic_unknown_counts_as_false_but_or_true_holds():
    assert fired(run(alert("m > 1 or k > 1"), {"m": "_", "k": "5"})) == [d(0)]
    assert fired(run(alert("m > 1 and k > 1"), {"m": "_", "k": "5"})) == []
    assert fired(run(alert("not (m > 1)"), {"m": "_"})) == []


def test_pct_change_divides_by_the_past_value_and_zero_past_is_empty():
    assert fired(run(alert("pct_change(m, 1d) <= -20%"), {"m": "100 80"})) == [d(1)]
    # day 0: no snapshot a day back; day 1: the past value is 0 -> still empty, so it keeps firing
    events = run(alert("pct_change(m, 1d) is empty"), {"m": "0 5"})
    assert fired(events) == [d(0)] and fired(events, "alert_resolved") == []


def test_days_since_and_days_until_date_attributes():
    spec = alert("days_since(handoff) == 10 and days_until(renewal) == 20")
    events = run(spec, {"m": "1x12"}, attrs={"handoff": date(2025, 12, 29), "renewal": date(2026, 1, 28)})
    # day 7 = Jan 8: since Dec 29 is 10 days; until Jan 28 is 20 days
    assert fired(events) == [d(7)]


# --- alerts ------------------------------------------------------------------------


def test_without_for_fires_at_the_first_true_snapshot_and_not_again_while_firing():
    events = run(alert("m > 5"), {"m": "1 6 7 8"})
    assert fired(events) == [d(1)]


def test_for_needs_the_condition_held_at_every_snapshot_for_d_days():
    # true from day 2; with for: 3d fires at day 5 (5 - 2 >= 3); the break at day 3 restarts the count
    events = run(alert("m > 5", "for: 3d"), {"m": "1 1 6 1 6 6 6 6 6"})
    assert fired(events) == [d(7)]


def test_for_counts_calendar_days_over_weekly_snapshots():
    # weekly: true at days 7 and 14: 14 - 7 >= 7 fires at day 14
    assert fired(run(alert("m > 5", "for: 7d"), {"m": "1 6 6"}, every=7)) == [d(14)]


def test_resolves_at_the_first_false_snapshot_and_may_fire_again():
    events = run(alert("m > 5"), {"m": "6 6 1 6"})
    assert fired(events) == [d(0), d(3)] and fired(events, "alert_resolved") == [d(2)]


def test_cooldown_blocks_a_new_fire_until_last_fire_plus_cooldown():
    # fires day 0, resolves day 1, true again day 2..: cooldown 5d -> next fire at day 5
    events = run(alert("m > 5", "cooldown: 5d"), {"m": "6 1 6 6 6 6 6"})
    assert fired(events) == [d(0), d(5)]


def test_where_false_counts_as_condition_false():
    spec = 'alert x { where: tier == premium  when: m > 5  playbook { task t "T" { } } }'
    assert fired(run(spec, {"m": "6"}, attrs={"tier": "standard"})) == []
    assert fired(run(spec, {"m": "6"}, attrs={"tier": "premium"})) == [d(0)]


def test_alert_tasks_are_due_at_fire_date_plus_due_with_the_segment_playbook():
    spec = ('alert x { when: m > 5  playbook e where segment == enterprise { task call "Call {{ account.name }}" { type: call  due: 3d } }'
            ' playbook rest { task mail "Mail" { } } }')
    events = run(spec, {"m": "1 6"}, attrs={"segment": "enterprise", "name": "Acme"})
    [task] = [e for e in events if e["event"] == "task_created"]
    assert (task["task"], task["due"], task["title"], task["playbook"], task["type"]) == ("call", d(4), "Call Acme", "e", "call")
    [task] = [e for e in run(spec, {"m": "6"}, attrs={"segment": "smb"}) if e["event"] == "task_created"]
    assert (task["task"], task["due"], task["owner"]) == ("mail", d(0), "csm")


# --- goals -------------------------------------------------------------------------

GOAL = 'goal g {{ duration: {dur}d  deploy: {deploy} {extra} playbook {{ task t "T" {{ due: 1d }} }} }}'


def goal(deploy, dur=10, extra=""):
    return GOAL.format(deploy=deploy, dur=dur, extra=extra)


def test_date_trigger_at_a_later_snapshot_starts_on_the_trigger_date():
    # handoff Jan 3 (day 2); snapshots every 5 days: first on or after is day 5, previous (day 0) is before it
    events = run(goal("on handoff"), {"m": "1x4"}, every=5, attrs={"handoff": date(2026, 1, 3)})
    [dep] = [e for e in events if e["event"] == "goal_deployed"]
    assert (dep["date"], dep["start"]) == (d(5), d(2))
    [task] = [e for e in events if e["event"] == "task_created"]
    assert task["due"] == d(3)  # start + 1d, not deploy + 1d


def test_date_trigger_at_the_first_snapshot_only_when_equal():
    assert fired(run(goal("on handoff"), {"m": "1x3"}, attrs={"handoff": date(2026, 1, 1)}), "goal_deployed") == [d(0)]
    assert fired(run(goal("on handoff"), {"m": "1x3"}, attrs={"handoff": date(2025, 12, 31)}), "goal_deployed") == []


def test_date_trigger_with_offsets():
    # renewal Jan 31 - 20d = Jan 11 (day 10); + 2d = Jan 13... here - 20d
    events = run(goal("on renewal - 20d"), {"m": "1x15"}, attrs={"renewal": date(2026, 1, 31)})
    assert fired(events, "goal_deployed") == [d(10)]
    events = run(goal("on handoff + 3d"), {"m": "1x15"}, attrs={"handoff": date(2026, 1, 1)})
    assert fired(events, "goal_deployed") == [d(3)]


def test_when_trigger_is_an_edge_true_now_and_not_at_the_previous_snapshot():
    # true at day 0 (first snapshot: true suffices), stays true, false day 3, true day 4 -> edges at 0 and 4
    events = run(goal("when m > 5", dur=2), {"m": "6 6 6 1 6"})
    assert fired(events, "goal_deployed") == [d(0), d(4)]


def test_when_trigger_after_unknown_counts_as_not_true_before():
    assert fired(run(goal("when m > 5", dur=30), {"m": "_ 6"}), "goal_deployed") == [d(1)]


def test_goal_where_is_checked_at_deploy_time():
    spec = goal("when m > 5", extra="where: tier == premium")
    assert fired(run(spec, {"m": "6"}, attrs={"tier": "standard"}), "goal_deployed") == []


def test_one_active_instance_and_same_snapshot_end_and_redeploy():
    # duration 4d: deploy day 0, ends day 4. Edges at day 0, 2 (ignored: active) and 4 (the end snapshot: allowed)
    events = run(goal("when m > 5", dur=4), {"m": "6 1 6 1 6 1"})
    assert fired(events, "goal_deployed") == [d(0), d(4)]


def test_kpi_met_first_time_and_outcome_at_the_end_snapshot():
    spec = goal("when m > 5", dur=4, extra="kpi: k >= 10")
    events = run(spec, {"m": "6 1 1 1 1 1", "k": "1 10 11 1 1"})
    assert fired(events, "goal_kpi_met") == [d(1)]
    assert fired(events, "goal_missed") == [d(4)]  # the KPI does not hold at the end snapshot
    events = run(spec, {"m": "6 1 1 1 1", "k": "1 1 1 1 10"})
    assert fired(events, "goal_kpi_met") == [d(4)] and fired(events, "goal_achieved") == [d(4)]


def test_end_snapshot_is_the_first_on_or_after_the_end():
    spec = goal("when m > 5", dur=4, extra="kpi: k >= 10")
    events = run(spec, {"m": "6 1 1", "k": "1 1 10"}, days=[0, 3, 6])
    assert fired(events, "goal_achieved") == [d(6)]


def test_relative_kpi_compares_with_the_value_at_the_deploy_snapshot():
    up = goal("when m > 5", dur=3, extra="kpi: k up 10%")
    events = run(up, {"m": "6 1 1 1", "k": "100 105 110 109"})
    assert fired(events, "goal_kpi_met") == [d(2)] and fired(events, "goal_missed") == [d(3)]
    down = goal("when m > 5", dur=3, extra="kpi: k down 20%")
    events = run(down, {"m": "6 1 1 1", "k": "100 90 85 80"})
    assert fired(events, "goal_kpi_met") == [d(3)] and fired(events, "goal_achieved") == [d(3)]


def test_recurring_tasks_until_the_goal_duration_and_dependency_schedule():
    spec = ('goal g { duration: 30d  deploy: when m > 5  playbook {'
            ' task a "A" { due: 2d } task b "B" { due: 5d } task c "C" { after: a, b  due: 3d }'
            ' task r "R" { every: 10d } task s "S" { every: 7d  until: 14d } } }')
    events = [e for e in run(spec, {"m": "6"}) if e["event"] == "task_created"]
    due = sorted((e["task"], e["due"]) for e in events)
    assert due == [("a", d(2)), ("b", d(5)), ("c", d(8)), ("r", d(10)), ("r", d(20)), ("r", d(30)),
                   ("s", d(7)), ("s", d(14))]
    assert len({e["id"] for e in events}) == len(events)


def test_manual_deploy_starts_on_the_given_date_at_the_first_snapshot_on_or_after():
    spec = goal("manual")
    events = run(spec, {"m": "1x10"}, every=3, manual=[ManualDeploy("g", "a", date(2026, 1, 2))])
    [dep] = [e for e in events if e["event"] == "goal_deployed"]
    assert (dep["date"], dep["start"]) == (d(3), d(1))


# --- events ------------------------------------------------------------------------


def test_events_are_ordered_by_date_account_kind_then_name_and_ids_are_deterministic():
    spec = alert("m > 5") + "\n" + goal("when m > 5")
    first = run(spec, {"m": "6 1"})
    assert [e["event"] for e in first] == ["alert_fired", "goal_deployed", "task_created", "task_created", "alert_resolved"]
    again = run(spec, {"m": "6 1"})
    assert first == again and all(e["id"].startswith("t-") for e in first if e["event"] == "task_created")


def test_alert_fired_carries_the_values_its_condition_used():
    [ev] = [e for e in run(alert("pct_change(m, 1d) <= -20%"), {"m": "100 70"}) if e["event"] == "alert_fired"]
    assert ev["values"] == {"m": 70, "pct_change(m, 1d)": -0.3}


# --- more rules -------------------------------------------------------------------


def test_where_turning_false_while_firing_resolves_the_alert():
    spec = 'alert x { where: tier == premium  when: m > 5  playbook { task t "T" { } } }'
    rows = [{"account": "a", "date": D0 + timedelta(days=i), "m": 6.0, "tier": tier}
            for i, tier in enumerate(["premium", "premium", "standard", "premium"])]
    events = evaluate_rows(compile_text(CATALOG + spec), rows)
    # day 2: where false counts as condition false -> resolved; day 3: true again, no cooldown -> fires
    assert fired(events) == [d(0), d(3)] and fired(events, "alert_resolved") == [d(2)]


def test_for_run_that_began_in_cooldown_fires_when_the_cooldown_ends():
    # true days 0-1: fires day 1 (1 - 0 >= 1d); resolves day 2; true again from day 3: for: 1d is met at day 4,
    # but the cooldown runs to day 1 + 6d = day 7, so it fires at day 7 (the run that began at day 3 counts)
    events = run(alert("m > 5", "for: 1d  cooldown: 6d"), {"m": "6 6 1 6 6 6 6 6 6"})
    assert fired(events) == [d(1), d(7)] and fired(events, "alert_resolved") == [d(2)]


def test_alert_without_a_matching_playbook_fires_with_no_tasks():
    spec = 'alert x { when: m > 5  playbook p where tier == premium { task t "T" { } } }'
    events = run(spec, {"m": "6"}, attrs={"tier": "standard"})
    assert [e["event"] for e in events] == ["alert_fired"] and "playbook" not in events[0]


def test_date_trigger_on_or_before_the_previous_snapshot_never_deploys():
    # handoff is empty at days 0..2 and becomes Jan 2 (day 1) at day 3: day 1 is not later than the previous
    # snapshot (day 2), so the trigger has passed unseen and the goal does not deploy
    rows = [{"account": "a", "date": D0 + timedelta(days=i), "m": 1.0, "handoff": None if i < 3 else date(2026, 1, 2)}
            for i in range(6)]
    assert fired(evaluate_rows(compile_text(CATALOG + goal("on handoff")), rows), "goal_deployed") == []
    # a trigger exactly on the previous snapshot's date is also already past
    events = run(goal("on handoff + 2d"), {"m": "1x4"}, every=2, attrs={"handoff": date(2026, 1, 1)})
    assert fired(events, "goal_deployed") == [d(2)]  # Jan 3 = day 2 is a snapshot: deploys there, not at day 4


def test_when_trigger_true_while_where_false_and_still_true_later_does_not_deploy():
    # m > 5 from day 0 on; tier premium only from day 2: no edge at day 2, so no deploy
    spec = goal("when m > 5", extra="where: tier == premium")
    rows = [{"account": "a", "date": D0 + timedelta(days=i), "m": 6.0, "tier": "standard" if i < 2 else "premium"}
            for i in range(4)]
    assert fired(evaluate_rows(compile_text(CATALOG + spec), rows), "goal_deployed") == []


def test_when_trigger_still_true_after_the_instance_ends_does_not_redeploy():
    # duration 2d: deploy day 0, ends day 2; m stays > 5, so there is no new edge
    events = run(goal("when m > 5", dur=2), {"m": "6x6"})
    assert fired(events, "goal_deployed") == [d(0)]


def test_goal_without_kpi_has_no_outcome_events():
    events = run(goal("when m > 5", dur=2), {"m": "6 1 1 1"})
    assert {e["event"] for e in events} == {"goal_deployed", "task_created"}


def test_relative_kpi_with_an_empty_start_value_never_holds():
    spec = goal("when m > 5", dur=2, extra="kpi: k up 10%")
    events = run(spec, {"m": "6 1 1", "k": "_ 100 200"})
    assert fired(events, "goal_kpi_met") == [] and fired(events, "goal_missed") == [d(2)]
    [dep] = [e for e in events if e["event"] == "goal_deployed"]
    assert dep["values"]["k"] is None


def test_relative_kpi_threshold_is_exact_at_the_percent():
    # 10% up from 100 is 110 exactly (not 110.00000000000001)
    events = run(goal("when m > 5", dur=1, extra="kpi: k up 10%"), {"m": "6 1", "k": "100 110"})
    assert fired(events, "goal_achieved") == [d(1)]


def test_goal_playbook_is_chosen_by_where_at_deploy_time():
    spec = ('goal g { duration: 5d  deploy: when m > 5  playbook big where segment == enterprise { task a "A" { } }'
            ' playbook rest { task b "B" { } } }')
    rows = [{"account": "a", "date": D0 + timedelta(days=i), "m": v, "segment": s}
            for i, (v, s) in enumerate([(1.0, "enterprise"), (6.0, "smb"), (6.0, "enterprise")])]
    events = evaluate_rows(compile_text(CATALOG + spec), rows)
    assert [(e["event"], e["playbook"], e.get("task")) for e in events] == [
        ("goal_deployed", "rest", None), ("task_created", "rest", "b")]


def test_external_goal_deploys_at_the_first_snapshot_on_or_after_start_with_tasks_from_start():
    spec = ('external goal e "E" { account: "a"  measure: "Handling time" target <= 30  start: 2026-01-03'
            '  due: 2026-01-20  playbook { task base "B" { due: 2d } task rev "R" { after: base  due: 5d } } }')
    events = run(spec, {"m": "1x6"}, every=4)  # snapshots days 0, 4, 8, ...: start Jan 3 = day 2 -> deploy day 4
    assert [(e["event"], e["date"], e.get("start"), e.get("due")) for e in events] == [
        ("goal_deployed", d(4), d(2), None), ("task_created", d(4), None, d(4)), ("task_created", d(4), None, d(9))]
    assert fired(run(spec, {"m": "1"}, account="other"), "goal_deployed") == []


def test_dependency_chain_schedule_takes_the_latest_predecessor():
    spec = ('goal g { duration: 60d  deploy: when m > 5  playbook {'
            ' task a "A" { due: 5d } task b "B" { after: a  due: 7d } task c "C" { after: a  due: 14d }'
            ' task e "E" { after: b, c  due: 7d } } }')
    events = [e for e in run(spec, {"m": "1 6"}) if e["event"] == "task_created"]
    # start day 1: a = 6, b = 6 + 7 = 13, c = 6 + 14 = 20, e = max(13, 20) + 7 = 27
    assert sorted((e["task"], e["due"], tuple(e["after"])) for e in events) == [
        ("a", d(6), ()), ("b", d(13), ("a",)), ("c", d(20), ("a",)), ("e", d(27), ("b", "c"))]


def test_recurring_task_every_occurrence_has_its_own_id_and_stops_at_the_duration():
    spec = 'goal g { duration: 20d  deploy: when m > 5  playbook { task r "R" { every: 7d } } }'
    events = [e for e in run(spec, {"m": "6"}) if e["event"] == "task_created"]
    assert [e["due"] for e in events] == [d(7), d(14)]  # 21 > 20
    assert len({e["id"] for e in events}) == 2


def test_task_ids_differ_by_account_and_instance_and_repeat_across_runs():
    spec = goal("when m > 5", dur=1)
    a = [e["id"] for e in run(spec, {"m": "6 1 6"}) if e["event"] == "task_created"]
    b = [e["id"] for e in run(spec, {"m": "6 1 6"}, account="b") if e["event"] == "task_created"]
    assert len(set(a)) == 2 and not set(a) & set(b)
    assert a == [e["id"] for e in run(spec, {"m": "6 1 6"}) if e["event"] == "task_created"]
