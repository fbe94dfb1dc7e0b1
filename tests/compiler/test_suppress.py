"""Suppression comments and configured severities (compiler/suppress.py), each form with its exact outcome."""

from datetime import date
from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.driver import compile_sources
from plays.config import Settings
from plays.render import render_text
from plays.sources import Source

CATALOG = "metric seat: percent\nmetric health: number\n"
BOOK = ' playbook { task t "T" { } }'


def check(text: str, *, today=None, severity=None, lower=False, path="a.play"):
    s = Settings(today=today, severity=MappingProxyType(severity or {}))
    return compile_sources([Source(path, text)], lower=lower, settings=s)


def found(result) -> list[tuple]:
    return [(d.code, d.severity.value, d.span.line, d.span.col) for d in result.diagnostics]


def test_without_suppressions_the_warnings_of_the_fixture():
    text = CATALOG + "alert a {\n  when: seat > 80\n}\n"
    assert found(check(text)) == [("W402", "warning", 3, 1), ("W300", "warning", 4, 16)]


def test_end_of_line_suppresses_what_starts_on_that_line_only():
    text = CATALOG + "alert a {  # plays: disable=W402\n  when: seat > 80  # plays: disable=W402\n}\n"
    # the first comment takes W402 (which starts on line 3); the second names W402 where W300 is: unused
    r = check(text)
    assert found(r) == [("W300", "warning", 4, 16), ("W900", "warning", 4, 37)]
    assert r.diagnostics[1].message == "nothing to suppress: no W402 is reported on line 4; remove it"


def test_alone_on_its_line_it_applies_to_the_next_line_of_code_past_comments_and_blank_lines():
    text = CATALOG + "# plays: disable=W300,W402\n# why: the export sends whole numbers\n\nalert a { when: seat > 80 }\n"
    assert found(check(text)) == []


def test_alone_on_the_last_line_it_applies_to_nothing():
    r = check(CATALOG + "alert a { when: health > 1" + BOOK + " }\n# plays: disable=W300\n")
    assert found(r) == [("W900", "warning", 4, 18)]
    assert r.diagnostics[0].message == "nothing to suppress: no W300 is reported after it (no code follows); remove it"


def test_file_wide_applies_anywhere_in_its_file_and_only_there():
    a = CATALOG + "alert a { when: seat > 80" + BOOK + " }\n# plays: disable-file=W300\nalert b { when: seat > 90" + BOOK + " }\n"
    b = "alert c { when: seat > 70" + BOOK + " }\n"
    r = compile_sources([Source("a.play", a), Source("b.play", b)])
    assert [(d.code, d.span.path) for d in r.diagnostics] == [("W300", "b.play")]


def test_a_hash_inside_a_title_is_not_a_comment():
    text = CATALOG + 'alert a { when: seat > 80  playbook { task t "Call # plays: disable=W300" { } } }\n'
    assert [d.code for d in check(text).diagnostics] == ["W300"]


def test_until_holds_through_its_day_and_the_warning_comes_back_the_next_day_with_a_note():
    text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=W300 until=2027-03-31\n"
    assert found(check(text, today=date(2027, 3, 31))) == []
    r = check(text, today=date(2027, 4, 1))
    assert found(r) == [("W300", "warning", 3, 24)]
    note = r.diagnostics[0].notes[-1]
    assert note.message == "a suppression of W300 expired on 2027-03-31"
    assert (note.span.line, note.span.col) == (3, 58)


def test_an_expired_suppression_that_matches_nothing_says_so():
    text = CATALOG + "alert a { when: health > 80" + BOOK + " }  # plays: disable=W300 until=2020-01-01\n"
    r = check(text, today=date(2027, 1, 1))
    assert [d.message for d in r.diagnostics] == [
        "nothing to suppress: no W300 is reported on line 3 (the suppression expired on 2020-01-01); remove it"]


def test_the_default_today_is_the_local_date():
    text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=W300 until=%s\n"
    assert found(compile_sources([Source("a.play", text % date.today().isoformat())])) == []


def test_errors_cannot_be_suppressed_and_unused_suppressions_wait_until_the_errors_are_fixed():
    text = CATALOG + "alert a { when: nope > 1  # plays: disable=E200,W300\n" + BOOK + " }\n"
    r = check(text)
    assert found(r) == [("E200", "error", 3, 17), ("W902", "warning", 3, 44)]
    assert r.diagnostics[1].message == (
        "E200 is an error and cannot be suppressed: an error makes the spec set uncompilable (fix it instead)")


def test_malformed_comments_suppress_nothing():
    text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=W300 until=2027-13-01\n"
    r = check(text)
    assert [(d.code, d.message) for d in r.diagnostics] == [
        ("W300", "comparing a percent with the plain number 80; percents are fractions (0.8 is 80%)"),
        ("W901", "`until=2027-13-01`: not a calendar date"),
    ]


def test_a_mistyped_code_is_suggested_even_with_letters_for_digits():
    for typed, meant in (("W3OO", "W300"), ("w300", "W300"), ("W4O2", "W402"), ("W30O", "W300")):
        text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=" + typed + "\n"
        w901 = [d for d in check(text).diagnostics if d.code == "W901"]
        assert [(d.message, d.suggestion) for d in w901] == [(f"`{typed}` is not a diagnostic code", meant)], typed


def test_a_code_of_another_stage_or_of_the_suppressions_is_refused_the_rest_applies():
    text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=R102,W300,W900\n"
    r = check(text)
    assert [(d.code, d.span.col) for d in r.diagnostics] == [("W902", 75), ("W902", 85)]


def test_spaces_around_separators_and_a_reason_after_a_second_hash():
    text = CATALOG + "alert a { when: seat > 80 }  # plays: disable = W300 , W402   until = 2999-01-01  # see TICKET-12\n"
    assert found(check(text)) == []


def test_near_misses_are_reported_with_the_right_spelling():
    for comment, fix in (("# plays disable=W300", "# plays: disable=W300"),
                         ("# play: disable W300", "# plays: disable=W300"),
                         ("#plays:disable W300", "disable=W300"),
                         ("# Plays: disable-file=W300", "# plays: disable-file=W300")):
        r = check(CATALOG + "alert a { when: seat > 80" + BOOK + " }  " + comment + "\n")
        w901 = [d for d in r.diagnostics if d.code == "W901"]
        assert [d.suggestion for d in w901] == [fix], comment
        assert "W300" in [d.code for d in r.diagnostics], comment


# --- configured severities ---------------------------------------------------------


def test_severity_off_removes_and_error_fails_and_drops_the_plan():
    text = CATALOG + "alert a { when: seat > 80 }\n"
    r = check(text, severity={"W402": "off", "W300": "error"}, lower=True)
    assert found(r) == [("W300", "error", 3, 24)]
    assert not r.ok and r.plan is None
    assert render_text(r.diagnostics, r.sources).splitlines()[0] == (
        "a.play:3:24: error[W300]: comparing a percent with the plain number 80; percents are fractions (0.8 is 80%)")


def test_a_suppressed_warning_stays_suppressed_whatever_its_configured_severity():
    text = CATALOG + "alert a { when: seat > 80" + BOOK + " }  # plays: disable=W300\n"
    r = check(text, severity={"W300": "error"}, lower=True)
    assert found(r) == [] and r.ok and r.plan is not None


def test_the_suppressions_own_codes_can_be_configured():
    text = CATALOG + "alert a { when: health > 80" + BOOK + " }  # plays: disable=W300\n"
    assert found(check(text, severity={"W900": "off"})) == []
    assert found(check(text, severity={"W900": "error"})) == [("W900", "error", 3, 77)]


def test_without_comments_or_settings_the_result_is_untouched():
    from plays.compiler.suppress import apply

    r = compile_sources([Source("a.play", CATALOG)])
    assert apply(r, None) is r


# --- the scanner follows the grammar ---------------------------------------------------


def test_the_scanner_uses_the_grammars_string_and_comment_terminals():
    from plays.compiler import suppress
    from plays.dsl.parser import _lark

    # Lark keeps the grammar's `\n` as the character itself; the same regular expression
    assert suppress._STRING.replace("\\n", "\n") == _lark().get_terminal("STRING").pattern.value
    assert suppress._COMMENT.replace("\\n", "\n") == _lark().get_terminal("COMMENT").pattern.value


FRAGMENTS = ["{", "}", "#", '"', "\n", " ", "> 80", "seat", "# plays: disable=W300", "# plays: disable=W402",
             "# plays:", "alert", "when:", "# plays: disable-file=W300 until=2020-01-01"]
MUTANT_SEED = CATALOG + "\n".join(
    f"alert a{i} {{ when: seat > {80 + i} }}" if i % 2 else f'alert a{i} {{\n  when: health > {i}\n  playbook {{ task t "T #{i}" {{ }} }}\n}}'
    for i in range(6)) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_comment_at_the_end_of_a_warnings_line_removes_exactly_that_warning(data):
    """Property: `# plays: disable=CODE` on a warning's line takes away the warnings of that code starting
    there, and changes nothing else."""
    text = MUTANT_SEED
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(FRAGMENTS)) + text[at:]
    before = compile_sources([Source("m.play", text)]).diagnostics
    lines = text.split("\n")
    targets = [d for d in before if d.code in ("W300", "W402") and "#" not in lines[d.span.line - 1]
               and '"' not in lines[d.span.line - 1]]
    if not targets:
        return
    d = data.draw(st.sampled_from(targets))
    lines[d.span.line - 1] += f"  # plays: disable={d.code}"
    after = compile_sources([Source("m.play", "\n".join(lines))]).diagnostics
    expected = [x for x in before if not (x.code == d.code and x.span and x.span.line == d.span.line)]
    assert after == expected


def test_the_documented_example_checks_clean_and_is_in_the_canonical_layout():
    import re

    from plays.codes import catalog, groups
    from plays.dsl.fmt import format_source

    intro = next(intro for title, intro, _ in groups() if title.startswith("Suppressions"))
    example = re.search(r"```play\n(.*?)```", intro, re.S).group(1)
    assert format_source(example) == example
    r = compile_sources([Source("catalog.play", catalog()), Source("example.play", example)])
    assert r.diagnostics == []
    # and without the comments, the warnings they suppress are there
    bare = re.sub(r" *# plays:[^\n]*", "", example)
    assert [d.code for d in compile_sources([Source("catalog.play", catalog()), Source("e.play", bare)]).diagnostics] \
        == ["W402", "W300", "W300"]


def test_two_suppressions_of_one_warning_are_both_used():
    text = CATALOG + "alert a {\n  # plays: disable=W300\n  when: seat > 80  # plays: disable=W300\n" + BOOK + "\n}\n"
    assert found(check(text)) == []


def test_a_file_kept_empty_on_purpose_says_so_file_wide():
    r = compile_sources([Source("a.play", CATALOG), Source("todo.play", "# plays: disable-file=W100\n# EMEA alerts go here\n")])
    assert r.diagnostics == []
    r = compile_sources([Source("a.play", CATALOG), Source("todo.play", "# EMEA alerts go here\n")])
    assert [d.code for d in r.diagnostics] == ["W100"]
