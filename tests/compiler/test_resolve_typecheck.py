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
