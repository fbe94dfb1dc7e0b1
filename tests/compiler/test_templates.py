"""Task titles: checked at compile time (syntax, names, filters, what a title may compute), with positions."""

import time

import pytest

from plays.compiler.driver import compile_sources
from plays.dsl.language import MAX_DEPTH
from plays.sources import Source

CATALOG = "account { name: text  go_live_date: date  tier: enum(gold, silver) }\nmetric mau: count\nmetric mrr: money\n"


def diagnostics(title, kind="alert"):
    body = f'playbook {{ task t "{title}" {{ }} }}'
    decl = f"alert a {{ when: mau < 1 {body} }}" if kind == "alert" else f"goal g {{ duration: 30d {body} }}"
    return compile_sources([Source("c.play", CATALOG), Source("t.play", decl)], lower=False).diagnostics


def check(title, kind="alert"):
    return [(d.code, d.message, d.suggestion) for d in diagnostics(title, kind)]


def test_titles_in_scope_are_clean():
    assert check("Call {{ account.name }} ({{ account.id }}): MAU {{ mau }} {{ pct_change(mau, 7d) | pct }} "
                 "{{ alert.title }} {{ today }} {{ today.year }}") == []
    assert check("{{ goal.name }}: {{ days_since(go_live_date) | days }} since go-live, {{ mrr | money }}",
                 kind="goal") == []
    assert check("{% if account.tier == 'gold' and mau > 10 %}VIP {% elif mrr is none %}? {% endif %}"
                 "{{ account.name | upper | truncate(20) }} {{ account['name'] ~ '!' }} {{ mrr / 2 | round(1) }}") == []


@pytest.mark.parametrize(
    "title, expected",
    [
        ("{{ account.nme }}", ("E601", "the title uses `account.nme`, which is not an attribute", "account.name")),
        ("{{ maus }}", ("E601", "the title uses `maus`, which is not in scope", "mau")),
        ("{{ goal.name }}", ("E601", "the title uses `goal`, which is not in scope (`goal` is not in scope in an alert's playbook)", "alert")),
        ("{{ alert.nme }}", ("E601", "the title uses `alert.nme`; it has `name` and `title`", None)),
        ("{{ today.hour }}", ("E601", "the title uses `today.hour`; it has `year`, `month` and `day`", None)),
        ("{{ mau | percent }}", ("E602", "the title uses the filter `percent`, which does not exist", "pct")),
        ("{{ mau", ("E600", "the title is not a valid template: unexpected end of template, expected 'end of print statement'.", None)),
        ("{{ mau is fine }}", ("E600", "the title is not a valid template: No test named 'fine'.", None)),
        # the language's functions, with the language's own messages
        ("{{ pct_change(maus, 7d) }}", ("E601", "the title uses `maus`, which is not in scope", "mau")),
        ("{{ pct_chnage(mau, 7d) }}", ("E601", "the title uses `pct_chnage`, which is not in scope", "pct_change")),
        ("{{ pct_change(name, 7d) }}", ("E301", "the first argument of `pct_change` must be a metric name", None)),
        ("{{ pct_change(mau) }}", ("E301", "`pct_change` takes 2 arguments: pct_change(m, 7d)", None)),
        ("{{ pct_change(mau, 7) }}", ("E301", "the window of `pct_change` must be a duration like 7d", None)),
        ("{{ sum(mau, 0d) }}", ("E301", "the window of `sum` must be longer than 0d", None)),
        ("{{ sum(mau, 99999999999d) }}", ("E104", "`99999999999d` is too long: durations are at most 36,500d (100 years)", None)),
        ("{{ sum(mau, 5215w) }}", ("E104", "`5215w` is too long: durations are at most 36,500d (100 years)", None)),
        ("{{ days_since(mau) }}", ("E301", "`days_since` takes a date attribute, not a count", None)),
        ("{{ days_since(go_live) }}", ("E601", "the title uses `go_live`, which is not in scope", "go_live_date")),
        ("{{ mau(7d) }}", ("E603", "the title calls `mau`, which is a metric, not a function", None)),
    ],
)
def test_bad_titles(title, expected):
    assert check(title) == [expected]


def test_alert_in_a_goal_title_names_the_goal_with_the_right_article():
    assert check("{{ alert.name }}", kind="goal") == [
        ("E601", "the title uses `alert`, which is not in scope (`alert` is not in scope in a goal's playbook)", "goal")]


# --- what a title may compute: refused at compile time (E603), quickly ----------------------------


@pytest.mark.parametrize(
    "title, message",
    [
        ("{{ 9 ** (9 ** 9) }}", "a title cannot raise to a power (`**`)"),
        ("{{ mau ** (mau ** 9) }}", "a title cannot raise to a power (`**`)"),
        ("{{ 'x' * 100000000 }}", "the title computes `*` with text: arithmetic in titles works on numbers (join text with `~`)"),
        ("{{ account.name * 100000000 }}", "the title computes `*` with text"),
        ("{{ [1] * 100000000 }}", "the title computes `*` with a list"),
        ("{{ '%0100000000d' % 1 }}", "the title computes `%` with text"),
        ("{{ today - 1 }}", "the title computes `-` with a date"),
        ("{{ account.name + 1 }}", "the title computes `+` with text"),
        ("{{ account.name | pct }}", "the filter `pct` formats numbers; here it gets text"),
        ("{% for i in range(9999) %}{% for j in range(9999) %}x{% endfor %}{% endfor %}",
         "a title cannot use `{% for %}` loops; titles are one line of text"),
        ("{% set x = 'xx' %}{{ x }}", "a title cannot use `{% set %}`"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "a title cannot use `{% macro %}`"),
        ("{% include 'x' %}", "a title cannot use `{% include %}`"),
        ("{% autoescape true %}x{% endautoescape %}", "a title cannot use `{% autoescape %}`"),
        ("{{ mau | center(100000000) }}", "the title uses the filter `center`, which titles do not allow"),
        ("{{ '{:>100000000}'.format(1) }}", "a title can call only the language's functions"),
        ("{{ lipsum(100000) }}", None),  # Jinja's globals are not in scope: E601
        ("{{ account }}", "a title uses `account` through its attributes, such as `account.name`"),
        ("{{ pct_change }}", "`pct_change` is a function: call it, e.g. `pct_change(m, 7d)`"),
        ("{{ account.name[0] }}", "a title cannot index values"),
        ("{{ mau.real }}", "a title cannot read `.real` here"),
        ("{{ 1e999 }}", "a number in a title is too large"),
    ],
)
def test_what_a_title_may_not_compute_is_refused_at_check_time(title, message):
    start = time.perf_counter()
    found = diagnostics(title)
    assert time.perf_counter() - start < 2
    assert len(found) == 1, found
    if message is None:
        assert found[0].code == "E601"
    else:
        assert found[0].code == "E603" and found[0].message.startswith(message), found[0].message


@pytest.mark.parametrize(
    "title",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "not " * 500 + "1 }}",
        "{{ " + "-" * 500 + "1 }}",
        "{{ " + " + ".join(["mau"] * 3000) + " }}",
        "{{ mau" + " | abs" * 500 + " }}",
        "{% if mau %}" * 300 + "x" + "{% endif %}" * 300,
    ],
)
def test_deep_or_long_titles_are_refused_not_a_recursion_error(title):
    [d] = diagnostics(title)
    assert (d.code, d.message) == ("E603", f"the title nests too deeply (at most {MAX_DEPTH} levels of operators, "
                                           "parentheses, filters and blocks)")


def test_a_number_with_thousands_of_digits_is_a_syntax_problem_not_pythons_limit():
    [d] = diagnostics("{{ " + "9" * 5000 + " }}")
    assert (d.code, d.message) == ("E600", "the title is not a valid template: a number has too many digits")


def test_problems_inside_a_title_point_at_the_expression():
    # t.play: `alert a { when: mau < 1 playbook { task t "` is 43 characters: the title's text starts at column 44
    [d] = diagnostics("Up {{ mau ** 2 }}")
    assert (d.span.line, d.span.col, d.span.end_col) == (1, 44 + 6, 44 + 9)  # `mau`
    [d] = diagnostics('Say \\"hi\\" {{ mau ** 2 }}')  # each escaped quote takes two columns in the file
    assert (d.span.col, d.span.end_col) == (44 + 14, 44 + 17)
    [d] = diagnostics("{{ days_since(mau) }}")
    assert (d.code, d.span.col, d.span.end_col) == ("E301", 44 + 14, 44 + 17)
    [d] = diagnostics("{{ account.nme }}")  # name problems cover the whole title, as before
    assert (d.span.col, d.span.end_col) == (43, 43 + len("{{ account.nme }}") + 2)


def test_every_problem_of_a_title_is_reported_at_once():
    assert sorted(c for c, _, _ in check("{{ mau ** 2 }} {% for x in y %}{% endfor %} {{ mau | centre }}")) == [
        "E602", "E603", "E603"]


def test_plays_check_refuses_the_titles_that_would_hang_or_explode_quickly_with_one_line_each(run_cli, tmp_path):
    titles = ["{{ 9 ** (9 ** 9) }}", "{{ mau ** (mau ** 9) }}", "{{ 'x' * 100000000 }}",
              "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}"]
    tasks = "\n".join(f'    task t{i} "{t}" {{ }}' for i, t in enumerate(titles))
    (tmp_path / "s.play").write_text(f"metric mau: count\nalert a {{\n  when: mau < 1\n  playbook {{\n{tasks}\n  }}\n}}\n")
    start = time.perf_counter()
    code, out, err = run_cli("check", "s.play", "--format", "github")
    assert time.perf_counter() - start < 60  # a hang guard, not a speed target: evaluating any of these never ends
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert [line.split("title=")[1][:10] for line in lines] == ["plays E603"] * 4
    assert [line.split(",")[1] for line in lines] == ["line=5", "line=6", "line=7", "line=8"]
