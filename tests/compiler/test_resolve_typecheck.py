"""Name resolution and type checks: one bad spec per diagnostic code."""

import pytest

from plays.compiler.driver import compile_sources
from plays.sources import Source

CATALOG = """
account {
  name: text
  segment: enum(smb, mid_market, enterprise)
  tier: enum(standard, premium)
  go_live_date: date
  renewal_date: date
}
metric mau: count "Monthly active users"
metric mrr: money
metric seat_utilization: percent
metric health_score: number
"""


def check(text, *, catalog=True):
    sources = [Source("catalog.play", CATALOG)] if catalog else []
    result = compile_sources([*sources, Source("t.play", text)], lower=False)
    # W402 (no playbook) is beside the point of these small rules.
    return [
        (d.code, d.span.line if d.span else None, d.message, d.suggestion)
        for d in result.diagnostics
        if d.code != "W402"
    ]


def codes(text, **kw):
    return [c for c, *_ in check(text, **kw)]


def test_clean_spec_has_no_diagnostics():
    assert check('alert a "A" { severity: high  where: tier == premium  when: pct_change(mau, 7d) <= -20%  for: 3d  cooldown: 30d }') == []


def test_E200_unknown_name_with_suggestion():
    [(code, line, msg, hint)] = check("alert a {\n  when: maus > 3 }")
    assert (code, line, hint) == ("E200", 2, "mau")
    assert msg == "unknown name `maus`: not a metric or an attribute"


def test_E200_unknown_account_attribute():
    [(code, _, msg, hint)] = check("alert a { when: account.segmnt == smb }")
    assert (code, hint) == ("E200", "account.segment")


def test_E201_duplicate_declarations_across_files_and_kinds():
    result = compile_sources(
        [Source("catalog.play", CATALOG), Source("a.play", "alert x { when: mau > 1 }"), Source("b.play", "goal x { duration: 30d }")],
        lower=False,
    )
    [d] = [d for d in result.diagnostics if d.code != "W402"]
    assert d.code == "E201" and d.span.path == "b.play"
    assert d.notes[0].span.path == "a.play"


def test_E202_second_account_block_and_E203_metric_shadowing_attribute():
    assert codes("account { x: text }\nmetric name: count") == ["E202", "E203"]


def test_E207_unknown_types_and_E209_duplicate_enum_values():
    assert codes("account { a: txt  b: enum(x, y, x) }\nmetric m: cnt", catalog=False) == ["E207", "E209", "E207"]


def test_E208_severity_and_category_words():
    assert check("alert a { severity: hgh  when: mau > 1 }")[0][::3] == ("E208", "high")
    assert codes("goal g { category: growth  duration: 30d }") == ["E208"]


def test_E210_E211_E212_properties():
    assert codes("goal g { cooldown: 3d  duration: 30d  duration: 40d }") == ["E210", "E211"]
    assert codes("alert a { severity: low }") == ["E212"]
    assert codes('external goal e { account: "acme" }') == ["E212", "E212"]


def test_E204_unknown_function_and_E301_bad_arguments():
    assert check("alert a { when: pct_chnage(mau, 7d) < 0 }")[0][::3] == ("E204", "pct_change")
    assert codes("alert a { when: pct_change(mau) < 0 }") == ["E301"]
    assert codes("alert a { when: sum(mau + 1, 7d) > 0 }") == ["E301"]
    assert codes("alert a { when: avg(mau, 7) > 0 }") == ["E301"]
    assert codes("alert a { when: days_since(mau) > 0 }") == ["E301"]


def test_E300_type_mismatches():
    assert codes("alert a { when: go_live_date > 3 }") == ["E300"]
    assert codes("alert a { when: segment > smb }") == ["E300"]
    assert codes("alert a { when: mau + go_live_date > 3 }") == ["E300"]


def test_date_arithmetic_and_days_functions_type_check():
    assert codes("alert a { when: go_live_date + 30d < 2026-06-01 and days_until(renewal_date) <= 120 }") == []


def test_E302_enum_value_not_in_enum_with_suggestion():
    [(code, _, msg, hint)] = check("alert a { when: tier == premum }")
    assert code == "E302" and hint == "premium"
    assert msg == "`premum` is not a value of `tier` (standard, premium)"
    assert codes('alert a { when: segment in (smb, "enterprise", big) }') == ["E302"]


def test_E303_condition_must_be_boolean():
    assert codes("alert a { when: mau }") == ["E303"]
    assert codes("alert a { when: mau > 1 and mrr }") == ["E303"]


def test_E304_property_value_kinds_and_E305_dates():
    assert codes("alert a { when: mau > 1  for: 3  cooldown: 2026-01-01 }") == ["E304", "E304"]
    assert codes('external goal e { account: "a"  start: 2026-02-30  due: 30d }') == ["E305", "E304"]


def test_W300_percent_compared_with_plain_number():
    [(code, _, msg, hint)] = check("alert a { when: seat_utilization > 80 }")
    assert (code, hint) == ("W300", "80%")
    assert codes("alert a { when: seat_utilization > 0.8 }") == []


def full(text):
    """(code, line, column, message, suggestion, notes) of each diagnostic but W402."""
    result = compile_sources([Source("catalog.play", CATALOG), Source("t.play", text)], lower=False)
    return [(d.code, d.span.line, d.span.col, d.message, d.suggestion, [n.message for n in d.notes])
            for d in result.diagnostics if d.code != "W402"]


@pytest.mark.parametrize("when, col, text, hint", [
    ("seat_utilization > 80", 36, "80", "80%"),
    ("80 < seat_utilization", 17, "80", "80%"),                            # either side
    ("seat_utilization in (0.5, 90)", 43, "90", "90%"),                      # in a list
    ("seat_utilization not in (90)", 42, "90", "90%"),
    ("pct_change(mau, 7d) <= -20", 40, "-20", "-20%"),                       # a function that returns a percent
    ("avg(seat_utilization, 7d) >= (85)", 47, "85", "85%"),                  # the metric's own type, parenthesised
    ("seat_utilization > $80", 36, "$80", "80%"),                            # an amount
])
def test_W300_covers_both_sides_lists_functions_and_amounts(when, col, text, hint):
    what = "the amount" if text.startswith("$") else "the plain number"
    assert full(f"alert a {{ when: {when} }}") == [
        ("W300", 1, col, f"comparing a percent with {what} {text}; percents are fractions (0.8 is 80%)", hint, [])]


@pytest.mark.parametrize("when", [
    "seat_utilization > 1", "seat_utilization in (0.5, 1)", "pct_change(mau, 7d) <= -1",   # |x| <= 1: a fraction
    "seat_utilization > previous(seat_utilization) * 2", "seat_utilization * 100 > 80",    # not a literal / not a percent
])
def test_W300_leaves_fractions_and_computed_sides_alone(when):
    assert full(f"alert a {{ when: {when} }}") == []


def test_W301_percent_against_a_number_suggests_the_plain_number():
    # 70% is 0.7: on a health score from 0 to 100, nearly every account is >= 0.7
    assert full("alert a { when: health_score >= 70% }") == [(
        "W301", 1, 33, "comparing a number (`health_score`) with the percent 70%, which is 0.7", "70",
        ["if `health_score` is a fraction from 0 to 1, write 0.7: the same value"])]


def test_W301_percent_against_money_is_cents_and_points_at_pct_change():
    assert full("alert a { when: mrr < 5% }") == [(
        "W301", 1, 23, "comparing an amount (`mrr`) with the percent 5%, which is $0.05", "$5",
        ["for a change relative to an earlier value, compare `pct_change(mrr, 30d)` (or another window) with 5%"])]
    # change() of money is money: the relative form keeps the window as written
    assert full("alert a { when: change(mrr, 14d) <= -12.5% }") == [(
        "W301", 1, 37, "comparing an amount (`change(mrr, 14d)`) with the percent -12.5%, which is -$0.125", "-$12.5",
        ["for a change relative to an earlier value, compare `pct_change(mrr, 14d)` (or another window) with -12.5%"])]


def test_W301_counts_attributes_lists_and_computed_numbers():
    assert full("alert a { when: 20% < sum(mau, 7d) }") == [(
        "W301", 1, 17, "comparing a count (`sum(mau, 7d)`) with the percent 20%, which is 0.2", "20", [])]
    assert full("alert a { when: mau in (10%, 5) }") == [(
        "W301", 1, 25, "comparing a count (`mau`) with the percent 10%, which is 0.1", "10",
        ["for a change relative to an earlier value, compare `pct_change(mau, 30d)` (or another window) with 10%"])]
    text = "account { employees: number }\nalert a { when: account.employees >= 50% and days_since(go_live_date) > 7% }"
    result = compile_sources([Source("t.play", text.replace("employees: number", "employees: number  go_live_date: date"))],
                             lower=False)
    found = [(d.code, d.message, d.suggestion, len(d.notes)) for d in result.diagnostics if d.code != "W402"]
    assert found == [
        ("W301", "comparing a number (`account.employees`) with the percent 50%, which is 0.5", "50", 1),
        ("W301", "comparing a number (`days_since(go_live_date)`) with the percent 7%, which is 0.07", "7", 0),
    ]


@pytest.mark.parametrize("when", [
    "mau > 0%",                                   # 0% is 0 in every unit
    "seat_utilization >= 70%",                    # percent with percent
    "pct_change(mrr, 30d) < -5%",                 # the relative form
    "mrr * 10% > $100",                           # a percent as a factor, not compared
    "health_score >= 70 and mrr < $5",
    "mrr / mau > 5%",                             # a ratio is a fraction
    "health_score / 100 >= 70%",
    "(mau * 2) > 10%",
])
def test_W301_leaves_right_units_alone(when):
    assert full(f"alert a {{ when: {when} }}") == []


def test_W301_a_difference_keeps_its_unit():
    # money - money is money: a 5% drop written as a difference
    assert [(c, msg, hint) for c, _, _, msg, hint, _ in full("alert a { when: mrr - previous(mrr) < -5% }")] == [
        ("W301", "comparing an amount with the percent -5%, which is -$0.05", "-$5")]


def test_W301_in_every_condition_place():
    text = ("goal g { duration: 30d  deploy: when mau > 10%  where: mrr >= 1%  kpi: health_score >= 70%\n"
            "  playbook p where health_score < 50% { } }")
    assert [(c, line, col) for c, line, col, *_ in full(text)] == [
        ("W301", 1, 44), ("W301", 1, 63), ("W301", 1, 88), ("W301", 2, 35)]


def test_one_error_for_an_unknown_name_compared_with_a_word():
    assert codes("alert a { when: segmnt == enterprise }") == ["E200"]


@pytest.mark.parametrize("kpi", ["health_score >= 70", "mrr up 10%  where: mrr > 0"])  # W500 without the `where`
def test_goal_kpis_type_check(kpi):
    assert codes(f"goal g {{ duration: 60d  deploy: on go_live_date  kpi: {kpi} }}") == []


# --- days_since / days_until take a date attribute (LANGUAGE.md) -------------------------


@pytest.mark.parametrize("call, message, suggestion", [
    ("days_until(renewal_date - 2w)", "`days_until` takes a date attribute like `go_live_date`, not an expression",
     "days_until(renewal_date) - 14"),
    ("days_until(renewal_date + 3d)", "`days_until` takes a date attribute like `go_live_date`, not an expression",
     "days_until(renewal_date) + 3"),
    ("days_since(account.renewal_date - 1w)", "`days_since` takes a date attribute like `go_live_date`, not an expression",
     "days_since(account.renewal_date) + 7"),
    ("days_since(2026-01-10)", "`days_since` takes a date attribute like `go_live_date`, not a date literal", None),
    ("days_since(go_live_date - renewal_date)", "`days_since` takes a date attribute like `go_live_date`, "
     "not an expression", None),
    ("days_since(mau)", "`days_since` takes a date attribute, not a count", None),
    ("days_since(name)", "`days_since` takes a date attribute, not text", None),
])
def test_days_since_and_until_refuse_anything_but_a_date_attribute(call, message, suggestion):
    assert check(f"alert a {{ when: {call} > 3 }}") == [("E301", 1, message, suggestion)]


@pytest.mark.parametrize("call", ["days_since(go_live_date)", "days_until(account.renewal_date)",
                                  "days_since((go_live_date))"])
def test_days_since_and_until_of_a_date_attribute_are_fine(call):
    assert check(f"alert a {{ when: {call} > 3 }}") == []


def test_every_checked_days_since_form_evaluates():
    """What passes check also runs: the plan's argument is always the attribute itself."""
    from plays.compiler.driver import compile_sources as compile_all

    plan = compile_all([Source("c.play", CATALOG), Source("t.play", "alert a { when: days_since((go_live_date)) > 3 }")]).plan
    call = plan.to_json()["alerts"][0]["when"]["expr"]["left"]
    assert call["args"] == [{"op": "attr", "type": "date", "name": "go_live_date"}]
    assert call["source"] == "days_since((go_live_date))"


def test_parentheses_around_arguments_and_enum_values_are_transparent():
    assert check("alert a { when: sum((mau), (7d)) > 3 and segment == (enterprise) and (tier) in ((premium))"
                 " and seat_utilization > (80) }") == [
        ("W300", 1, "comparing a percent with the plain number 80; percents are fractions (0.8 is 80%)", "80%")]


# --- W200: alerts with the same trigger ---------------------------------------------------


@pytest.mark.parametrize("first, second", [
    ("when: mau < 3", "when: mau < 3"),
    ("when: mau < 3 and tier == premium", "when: (account.tier == premium) and 3 > mau"),   # order, parens, side, account.
    ("when: mau < 3 or mrr < $5 or tier == premium", "when: tier == premium or (mrr < 5 or mau < 3)"),  # flattened or
    ("when: seat_utilization > 0.5  for: 14d", "for: 2w  when: seat_utilization > 50%"),  # spelling of numbers
    ("when: segment in (smb, enterprise)  where: tier == premium", "where: premium == tier  when: segment in (enterprise, smb)"),
    ("when: mau + 1 > 3  for: 0d", "when: 1 + mau > 3"),                                # no `for` is `for: 0d`
])
def test_W200_same_condition_up_to_spelling(first, second):
    found = full(f"alert a {{ {first}  severity: low }}\nalert b {{ {second}  cooldown: 30d  severity: high }}")
    assert [(c, line, msg) for c, line, _, msg, *_ in found if c == "W200"] == [(
        "W200", 2, "alert `b` has the same `when`, `where` and `for` as `a`: both fire on the same day for the same accounts")]


@pytest.mark.parametrize("first, second", [
    ("when: mau < 3", "when: mau <= 3"),
    ("when: mau < 3", "when: mau < 3  where: tier == premium"),
    ("when: mau < 3  for: 3d", "when: mau < 3  for: 7d"),      # an escalation: fires later
    ("when: mau - 1 > 3", "when: 1 - mau > 3"),                # `-` does not commute
    ("when: mau / 2 > 3", "when: 2 / mau > 3"),
    ("when: segment in (smb)", "when: segment not in (smb)"),
    ("when: mau is empty", "when: mau is not empty"),
    ("when: sum(mau, 7d) > 3", "when: sum(mau, 14d) > 3"),
    ("when: mau > 3 and mrr > $5", "when: mau > 3 or mrr > $5"),
])
def test_W200_different_conditions_are_not_flagged(first, second):
    assert "W200" not in codes(f"alert a {{ {first} }}\nalert b {{ {second} }}")


def test_W200_reports_each_later_copy_against_the_first_across_files():
    result = compile_sources([Source("catalog.play", CATALOG), Source("a.play", "alert x { when: mau < 3 }"),
                              Source("b.play", "alert y { when: mau < 3 }\nalert z { when: (mau < 3) }")], lower=False)
    found = [(d.span.path, d.span.line, d.message.split(":")[0], d.notes[0].span.path)
             for d in result.diagnostics if d.code == "W200"]
    assert found == [("b.play", 1, "alert `y` has the same `when`, `where` and `for` as `x`", "a.play"),
                     ("b.play", 2, "alert `z` has the same `when`, `where` and `for` as `x`", "a.play")]


# --- W201: a cooldown that never delays a fire -----------------------------------------------


@pytest.mark.parametrize("props, flagged", [
    # after a fire on day f: resolved on f + 1 at the earliest, true again from f + 2, held `for` days:
    # the next fire is on f + 2 + for at the earliest; a cooldown blocks fires before f + cooldown.
    ("for: 3d  cooldown: 5d", "`cooldown: 5d` never delays a fire: after firing, the alert must resolve at a later "
     "snapshot and hold again for 3d, so it fires again 5 days after the last fire at the earliest"),
    ("for: 30d  cooldown: 7d", "`cooldown: 7d` never delays a fire: after firing, the alert must resolve at a later "
     "snapshot and hold again for 30d, so it fires again 32 days after the last fire at the earliest"),
    ("cooldown: 2d", "`cooldown: 2d` never delays a fire: after firing, the alert must resolve at a later snapshot "
     "and be true again at a later one, so it fires again 2 days after the last fire at the earliest"),
    ("for: 0d  cooldown: 1d", "`cooldown: 1d` never delays a fire: after firing, the alert must resolve at a later "
     "snapshot and be true again at a later one, so it fires again 2 days after the last fire at the earliest"),
    ("for: 3d  cooldown: 6d", None),      # 6 > 3 + 2: a fire on f + 5 is blocked
    ("cooldown: 3d", None),
    ("for: 3d", None),
    ("for: 3d  cooldown: 0d", None),      # no cooldown, said outright
    ("for: 3  cooldown: 2d", "E304"),     # a bad `for` gets its own error and no W201
])
def test_W201_cooldown_at_most_for_plus_two_days(props, flagged):
    found = full(f"alert a {{ when: mau < 3  {props} }}")
    if flagged == "E304":
        assert [c for c, *_ in found] == ["E304"]
    elif flagged is None:
        assert found == []
    else:
        [(code, _, col, msg, _, notes)] = found
        assert (code, msg) == ("W201", flagged)
        assert col == 26 + props.index("cooldown: ") + len("cooldown: ")
