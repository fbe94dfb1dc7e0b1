"""Title programs: analysed once at the token level, rendered from supplied values, bounded, formatted by hand-computed rules."""

import time
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.title import (
    EMPTY, MAX_TITLE, TitleCall, TitleError, TitleValues, _environment, check_title, compile_title, fmt_days,
    fmt_money, fmt_pct,
)

METRICS = {"mau": "count", "mrr": "money", "nps": "number", "adoption": "percent"}
ATTRS = {"name": "text", "go_live_date": "date", "tier": "enum", "seats": "number"}
TODAY = date(2026, 3, 1)


def values(title, *, account=None, metrics=None, calls=None, kind="alert"):
    acc = {"id": "acme", "name": "Acme", "go_live_date": date(2026, 1, 1), "tier": "gold", "seats": 40.0}
    met = {"mau": 1150.0, "mrr": 1150.0, "nps": None, "adoption": 0.575}
    return TitleValues(kind=kind, rule="usage_drop", rule_title="Usage dropped", today=TODAY,
                       account={**acc, **(account or {})}, metrics={**met, **(metrics or {})},
                       calls={c: (calls or {}).get(c.written, -0.3) for c in title.calls})


def render(text, **kw):
    title = compile_title(text)
    assert check_title(title, METRICS, ATTRS, kw.get("kind", "alert")) == []
    return title.render(values(title, **kw))


# --- analysed once, at the token level --------------------------------------------------------------


def test_literals_are_left_alone():
    assert render('Call {{ "due in 7d" }}') == "Call due in 7d"
    assert render("Call {{ 'in 2w' ~ ' or 7d' }} 7d outside") == "Call in 2w or 7d 7d outside"


def test_the_language_forms_are_calls_with_windows_in_days():
    t = compile_title("MAU {{ pct_change(mau, 2w) | pct }} ({{ sum(mau, 14d) }}), {{ days_since(go_live_date) | days }} "
                      "since go-live, {{ previous(nps) }} {{ pct_change(mau, 1w) }} {{ pct_change(mau, 7d) }}")
    assert t.calls == (
        TitleCall("pct_change", "mau", 14, "pct_change(mau, 2w)"), TitleCall("sum", "mau", 14, "sum(mau, 14d)"),
        TitleCall("days_since", "go_live_date", None, "days_since(go_live_date)"),
        TitleCall("previous", "nps", None, "previous(nps)"), TitleCall("pct_change", "mau", 7, "pct_change(mau, 1w)"),
    )  # 7d and 1w are the same call: deduplicated, written as first met
    assert [c.written for c in t.calls][4] == "pct_change(mau, 1w)"
    assert t.names == frozenset() and t.attributes == frozenset()
    calls = {"pct_change(mau, 2w)": -0.3, "sum(mau, 14d)": 40.0, "days_since(go_live_date)": 59.0,
             "previous(nps)": None, "pct_change(mau, 1w)": 0.1}
    assert t.render(values(t, calls=calls)) == "MAU -30% (40), 59 days since go-live, — 0.1 0.1"


def test_names_and_attributes_a_title_uses_are_recorded():
    t = compile_title("{{ account.name }} {{ account['tier'] }} {{ mau }} {{ alert.title }} {{ today }} "
                      "{% if nps > 5 %}{{ mrr | money }}{% endif %}")
    assert t.names == {"account", "mau", "nps", "mrr", "alert", "today"}
    assert t.attributes == {"name", "tier"}
    assert compile_title("Plain text {not a template}").names == frozenset()
    assert not compile_title("Plain text {not a template}").is_template


def test_a_title_is_compiled_once_per_text():
    assert compile_title("{{ mau }} x") is compile_title("{{ mau }} x")


def test_render_uses_only_supplied_values_and_says_what_is_missing():
    t = compile_title("{{ mau }} {{ pct_change(mau, 7d) }}")
    with pytest.raises(TitleError, match=r"no value for `mau`"):
        t.render(TitleValues(kind="alert", rule="r", rule_title="R", today=TODAY))
    with pytest.raises(TitleError, match=r"no value for `pct_change\(mau, 7d\)`"):
        t.render(TitleValues(kind="alert", rule="r", rule_title="R", today=TODAY, metrics={"mau": 1}))


def test_account_data_is_a_value_never_a_template():
    assert render("{{ account.name }}", account={"name": "{{ 7 * 6 }}"}) == "{{ 7 * 6 }}"


def test_rule_scope_and_today():
    assert render("{{ alert.name }}: {{ alert.title }} on {{ today }} ({{ today.year }})") == \
        "usage_drop: Usage dropped on 2026-03-01 (2026)"
    assert render("{{ goal.title }}", kind="goal") == "Usage dropped"


# --- values ---------------------------------------------------------------------------------------


def test_arithmetic_reads_like_the_language():
    assert render("{{ mrr / 2 }}") == "575"  # not 575.0
    assert render("{{ mrr / 3 }}") == "383.3333333333"  # rounded to 10 places, not 383.3333333333333
    assert render("{{ 0.1 + 0.2 }} {{ mau - 1150 }} {{ -mau }}") == "0.3 0 -1150"
    assert render("{{ account.seats * 2 }}") == "80"


def test_an_empty_value_reads_as_a_dash_and_empties_arithmetic():
    assert EMPTY == "—"
    assert render("NPS {{ nps }}") == "NPS —"
    assert render("{{ nps + 1 }} {{ -nps }} {{ nps * mau }} {{ mrr / 0 }} {{ 'x' ~ nps }}") == "— — — — x—"
    assert render("{{ nps | pct }} {{ nps | money }} {{ nps | days }} {{ nps | round }} {{ nps | upper }}") == \
        "— — — — —"
    assert render("{% if nps > 5 %}promoter{% else %}no answer{% endif %}{{ ' (late)' if nps < 3 }}") == "no answer"
    assert render("{{ nps | default('no answer') }} {{ nps is none }}") == "no answer True"
    assert render("{{ account.name }}", account={"name": None}) == "—"


def test_title_arithmetic_that_overflows_is_empty():
    assert render("{{ 1e308 * 10 }}") == "—"


@pytest.mark.parametrize(
    "value, expected",
    [(0.575, "58%"), (0.375, "38%"), (0.2, "20%"), (-0.314, "-31%"), (-0.004, "0%"), (-0.005, "-1%"),
     (0.285, "29%"), (None, "—")],
)
def test_pct_rounds_half_away_from_zero_on_the_decimal_value(value, expected):
    # 0.575 * 100 is 57.49999999999999 in binary: by hand it is 57.5, which rounds to 58
    assert fmt_pct(value) == expected


def test_pct_with_decimals():
    assert fmt_pct(0.12345, 1) == "12.3%" and fmt_pct(0.12355, 2) == "12.36%" and fmt_pct(-0.0001, 1) == "0.0%"


@pytest.mark.parametrize(
    "value, expected",
    [(1.125, "$1.13"), (1.115, "$1.12"), (2.675, "$2.68"), (1234.5, "$1,234.50"), (1200, "$1,200"),
     (1200.0, "$1,200"), (-5, "-$5"), (-0.001, "$0"), (-0.005, "-$0.01"), (1234.999, "$1,235"), (None, "—")],
)
def test_money_rounds_to_cents_half_away_from_zero(value, expected):
    assert fmt_money(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(1, "1 day"), (7, "7 days"), (7.0, "7 days"), (2.5, "3 days"), (-1, "-1 day"), (-0.4, "0 days"),
     (-2.5, "-3 days"), (None, "—")],
)
def test_days_are_whole_days_rounded_half_away_from_zero(value, expected):
    assert fmt_days(value) == expected


def test_filters_in_titles():
    assert render("{{ adoption | pct }} {{ mrr | money }} {{ 1.125 | money }} {{ 57.5 | round }} {{ 2.675 | round(2) }}") \
        == "58% $1,150 $1.13 58 2.68"
    assert render("{{ account.name | upper }} {{ account.name | truncate(9) }}",
                  account={"name": "Acme Corporation"}) == "ACME CORPORATION Acme..."


# --- bounded ----------------------------------------------------------------------------------------


def test_a_long_title_is_cut_at_the_limit():
    out = render("Call {{ account.name }} now", account={"name": "A" * 5000})
    assert len(out) == MAX_TITLE and out.endswith("A…") and out.startswith("Call AAA")


def test_the_sandbox_is_a_second_line_of_defence():
    # A title that does not pass check_title still renders without doing the harm: repetition of
    # text is empty, never a 100 MB string; nothing but the helpers can be called.
    t = compile_title("{{ account.name * 100000000 }}|{{ account.name * mau }}")
    assert check_title(t, METRICS, ATTRS, "alert")[0].code == "E603"
    start = time.perf_counter()
    assert t.render(values(t)) == "—|—"
    assert time.perf_counter() - start < 1
    env = _environment()
    assert env.call_binop(None, "**", 9, 9) is None and env.call_binop(None, "*", "x", 10**8) is None
    assert env.call_binop(None, "%", "%0100000000d", 1) is None
    assert env.is_safe_callable(str.format) is False
    assert env.is_safe_attribute("x", "format", "x".format) is False
    assert "range" not in env.globals and "lipsum" not in env.globals


def test_bad_templates_raise_title_error_with_reasons():
    with pytest.raises(TitleError) as e:
        compile_title("{{ 9 ** (9 ** 9) }} {% for x in y %}{% endfor %}")
    assert [p.code for p in e.value.problems] == ["E603", "E603"]
    assert str(e.value).startswith("a title cannot raise to a power")
    with pytest.raises(TitleError, match="not a valid template"):
        compile_title("{{ mau")


# --- property: a title that checks renders, quickly and within the limit, for any values ----------------

PIECES = [
    "x ", "{{ mau }}", "{{ nps }}", "{{ mrr / 3 }}", "{{ mau - nps }}", "{{ nps * 2 }}", "{{ adoption | pct }}",
    "{{ mrr | money }}", "{{ pct_change(mau, 7d) | pct }}", "{{ days_since(go_live_date) | days }}",
    "{{ account.name }}", "{{ account.name ~ nps }}", "{{ account.name | upper }}", "{{ account.seats / mau }}",
    "{% if nps > 5 %}", "{% if account.tier == 'gold' %}", "{% else %}", "{% endif %}", "{{ 'due in 7d' }}",
    "{{ alert.title }}", "{{ today }}", "{{ nps | default('n') }}", "{{ (mau + nps) | round(2) }}", "{{ -mrr }}",
    "{{ mau ** 2 }}", "{{ 'x' * 9 }}", "{% for i in range(3) %}", "{% endfor %}", "{{ mau | center(9) }}",
    "{{ today > mau }}", "{{ account.name < 3 }}", "{{ mau is divisibleby 0 }}", "{{ account.go_live_date }}",
    "{{ account.name | truncate(-5) }}", "{{ mrr | round(2, 'bogus') }}", "{{ mau | int // 0 }}",
    "{{ account.name | replace('', account.name) }}", "{{ mau % 0 }}", "{{ account['id'] in 'abc' }}",
    "{{ 'x' if account.tier else 'y' }}", "{{ sum(mau, 2w) - avg(nps, 7d) }}", "{{ account.seats | pct(99) }}",
    "{{", "}}", "{%", "(", ")", "|", "~", "7d", "2w", "é", "\\",
]
NUMBERS = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.dictionaries(st.sampled_from(list(METRICS)), NUMBERS),
       st.one_of(st.none(), st.text(max_size=30)), NUMBERS)
def test_a_title_that_checks_renders_for_any_values(pieces, metrics, name, call):
    text = "".join(pieces)
    try:
        title = compile_title(text)
    except TitleError as e:
        assert e.problems and all(p.code in ("E600", "E601", "E602", "E603", "E301") and p.message for p in e.problems)
        return
    if check_title(title, METRICS, ATTRS, "alert"):
        return
    v = TitleValues(kind="alert", rule="r", rule_title="R", today=TODAY,
                    account={"id": "a", "name": name, "go_live_date": None, "tier": None, "seats": call},
                    metrics={m: metrics.get(m) for m in METRICS}, calls={c: call for c in title.calls})
    start = time.perf_counter()
    out = title.render(v)
    assert time.perf_counter() - start < 0.5
    assert len(out) <= MAX_TITLE and "None" not in out.replace(str(name), "")
