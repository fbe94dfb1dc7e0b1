"""Task titles: Jinja syntax, names in scope, filters, and the language's own forms."""

import pytest

from plays.compiler.driver import compile_sources
from plays.sources import Source
from plays.compiler.templates import compile_title, fmt_days, fmt_money, fmt_pct, to_jinja

CATALOG = "account { name: text  go_live_date: date }\nmetric mau: count\nmetric mrr: money\n"


def check(title, kind="alert"):
    body = f'playbook {{ task t "{title}" {{ }} }}'
    decl = f"alert a {{ when: mau < 1 {body} }}" if kind == "alert" else f"goal g {{ duration: 30d {body} }}"
    result = compile_sources([Source("c.play", CATALOG), Source("t.play", decl)], lower=False)
    return [(d.code, d.message, d.suggestion) for d in result.diagnostics]


def test_titles_in_scope_are_clean():
    assert check("Call {{ account.name }} ({{ account.id }}): MAU {{ mau }} {{ pct_change(mau, 7d) | pct }} {{ alert.title }} {{ today }}") == []
    assert check("{{ goal.name }}: {{ days_since(go_live_date) | days }} since go-live, {{ mrr | money }}", kind="goal") == []


@pytest.mark.parametrize(
    "title, expected",
    [
        ("{{ account.nme }}", ("E601", "the title uses `account.nme`, which is not an attribute", "account.name")),
        ("{{ maus }}", ("E601", "the title uses `maus`, which is not in scope", "mau")),
        ("{{ goal.name }}", ("E601", "the title uses `goal`, which is not in scope (`goal` is not in scope in an alert's playbook)", "alert")),
        ("{{ mau | percent }}", ("E602", "the title uses the filter `percent`, which does not exist", "pct")),
        ("{{ mau", ("E600", "the title is not a valid template: unexpected end of template, expected 'end of print statement'.", None)),
    ],
)
def test_bad_titles(title, expected):
    assert check(title) == [expected]


def test_language_forms_are_rewritten_for_jinja():
    assert to_jinja("{{ avg(mau, 2w) }} and 7d outside") == '{{ avg("mau", 14) }} and 7d outside'
    t = compile_title("MAU down {{ pct_change(mau, 7d) | pct }} for {{ account.name }}")
    seen = []
    out = t.render(account={"name": "Acme"}, pct_change=lambda m, w: seen.append((m, w)) or -0.3)
    assert out == "MAU down -30% for Acme" and seen == [("mau", 7)]


def test_rendering_is_sandboxed_and_strict():
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        compile_title("{{ nope }}").render()
    with pytest.raises(jinja2.exceptions.SecurityError):
        compile_title("{{ account.__class__.__mro__ }}").render(account={"name": "x"}) if False else compile_title(
            "{{ f.__globals__ }}"
        ).render(f=fmt_pct)


def test_filters():
    assert fmt_pct(0.2) == "20%" and fmt_pct(-0.314) == "-31%" and fmt_pct(None) == "n/a"
    assert fmt_money(1200) == "$1,200" and fmt_money(1234.5) == "$1,234.50" and fmt_money(-5) == "-$5"
    assert fmt_days(1) == "1 day" and fmt_days(7) == "7 days" and fmt_days(None) == "n/a"


def test_alert_in_a_goal_title_names_the_goal_with_the_right_article():
    assert check("{{ alert.name }}", kind="goal") == [
        ("E601", "the title uses `alert`, which is not in scope (`alert` is not in scope in a goal's playbook)", "goal")]
