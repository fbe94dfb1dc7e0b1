"""Rendering diagnostics built by hand: text excerpts and carets, JSON, GitHub commands, SARIF."""

import json
from pathlib import Path

import jsonschema
import pytest

from plays.diagnostics import Diagnostic, Note, Severity, Span, error, warning
from plays.codes import CODES
from plays.render import render, render_github, render_json, render_sarif, render_text

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))

SRC = {"a.play": "alert churn_risk {\n  when: mau < 10 and tier == premum\n}\n"}
UNKNOWN = error(
    "E200", "unknown name `mua`", Span("a.play", 2, 9, 2, 12),
    notes=[Note("metrics are declared in the catalog", Span("a.play", 1, 1, 1, 6))], suggestion="mau",
)
TYPO = error("E302", "`premum` is not a value of `tier`", Span("a.play", 2, 30, 2, 36), suggestion="premium")
EMPTY = warning("W100", "this file declares nothing", Span("a.play", 1, 1, 1, 1))


def carets(rendered: str) -> list[str]:
    return [line for line in rendered.splitlines() if line.startswith("   | ") and line[5:].lstrip(" \t").startswith("^")]


def test_text_shows_location_source_line_caret_notes_help_and_summary():
    assert render_text([UNKNOWN, TYPO, EMPTY], SRC) == (
        "a.play:2:9: error[E200]: unknown name `mua`\n"
        " 2 |   when: mau < 10 and tier == premum\n"
        "   |         ^^^\n"
        "  = note: metrics are declared in the catalog (a.play:1:1)\n"
        "  = help: did you mean `mau`?\n"
        "a.play:2:30: error[E302]: `premum` is not a value of `tier`\n"
        " 2 |   when: mau < 10 and tier == premum\n"
        "   |                              ^^^^^^\n"
        "  = help: did you mean `premium`?\n"
        "a.play:1:1: warning[W100]: this file declares nothing\n"
        " 1 | alert churn_risk {\n"
        "   | ^\n"
        "2 errors, 1 warning\n"
    )


def test_text_summary_is_left_out_when_asked_or_when_there_is_nothing():
    assert render_text([TYPO], SRC, with_summary=False).splitlines()[-1] == "  = help: did you mean `premium`?"
    assert render_text([], SRC) == ""


@pytest.mark.parametrize(
    "line, span_cols, expected",
    [
        ("\twhen: x == y", (9, 10), "\t       ^"),  # the tab is kept in the padding
        ("\t\tx", (3, 4), "\t\t^"),
        ("名前 == y", (4, 6), "     ^^"),  # wide characters take two columns
        ("e\u0301 == y", (7, 8), "     ^"),  # e + combining accent: one column
        ("abc", (4, 4), "   ^"),  # an empty span at the end of the line still gets one caret
        ("abc", (7, 8), "      ^"),  # past the end: padded, not pulled back
    ],
)
def test_caret_lines_up_under_the_span_as_a_terminal_shows_it(line, span_cols, expected):
    col, end = span_cols
    src = {"t.play": line + "\n"}
    out = render_text([error("E100", "m", Span("t.play", 1, col, 1, end))], src)
    assert carets(out) == ["   | " + expected]


def test_a_span_over_several_lines_underlines_to_the_end_of_its_first_line():
    out = render_text([error("E101", "unclosed", Span("a.play", 1, 18, 3, 2))], SRC)
    assert carets(out) == ["   |                  ^"]
    out = render_text([error("E101", "unclosed", Span("a.play", 1, 7, 3, 2))], SRC)
    assert carets(out) == ["   |       " + "^" * len("churn_risk {")]


def test_source_lines_are_counted_like_the_parser_counts_them():
    # Only \n ends a line for the parser: a form feed, a lone \r or U+2028 does not.
    text = "metric a: count\x0c\u2028\rmetric b: cont\r\nmetric c: cont\n"
    src = {"f.play": text}
    out = render_text([error("E207", "m", Span("f.play", 2, 11, 2, 15))], src)
    assert " 2 | metric c: cont\n   |           ^^^^\n" in out
    out = render_text([error("E207", "m", Span("f.play", 1, 29, 1, 33))], src)
    lines = out.split("\n")
    # shown, never obeyed; the \r of a CRLF ending is dropped
    assert lines[1] == " 1 | metric a: count\ufffd\ufffd\ufffdmetric b: cont"
    assert lines[2].index("^") - lines[1].index("|") == 29 - 1 + 2


def test_control_characters_in_a_source_line_cannot_reach_the_terminal():
    src = {"e.play": "\x1b[31mmetric b: count\x07\n"}
    out = render_text([error("E100", "unexpected character", Span("e.play", 1, 1, 1, 2))], src)
    assert "\x1b" not in out and "\x07" not in out
    assert " 1 | \ufffd[31mmetric b: count\ufffd\n   | ^\n" in out
    # nor can bidirectional overrides reorder what the reader sees ("Trojan Source")
    src = {"b.play": "when: tier == \u202epremium\u2066\n"}
    out = render_text([error("E100", "m", Span("b.play", 1, 15, 1, 23))], src)
    assert " 1 | when: tier == \ufffdpremium\ufffd\n" in out


def test_without_the_source_text_or_a_span_there_is_no_excerpt():
    no_span = Diagnostic("E100", Severity.ERROR, "bad invocation", None)
    out = render_text([no_span, error("E100", "gone", Span("other.play", 1, 1, 1, 2)),
                       error("E100", "after the end", Span("a.play", 99, 1, 99, 2))], SRC)
    assert out == (
        "error[E100]: bad invocation\n"
        "other.play:1:1: error[E100]: gone\n"
        "a.play:99:1: error[E100]: after the end\n"
        "3 errors, 0 warnings\n"
    )


def test_style_hook_colours_pieces_and_leaves_text_alone_by_default():
    out = render_text([TYPO], SRC, style=lambda text, kind: f"<{kind}>{text}</{kind}>")
    assert out.splitlines()[0] == "<path>a.play:2:30: </path><error>error[E302]</error>: `premum` is not a value of `tier`"
    assert "<caret>^^^^^^</caret>" in out
    assert "\x1b[" not in render_text([TYPO], SRC)


def test_json_has_every_diagnostic_and_the_counts():
    doc = json.loads(render_json([UNKNOWN, EMPTY]))
    assert doc["summary"] == {"errors": 1, "warnings": 1}
    assert doc["diagnostics"] == [UNKNOWN.to_json(), EMPTY.to_json()]
    assert doc["diagnostics"][0]["notes"][0]["span"]["line"] == 1


def test_github_commands_escape_data_and_properties():
    d = error("E200", "50% of\r\nmessages: bad", Span("dir,x/a:b.play", 2, 9, 2, 12), suggestion="a%b")
    w = warning("W300", "plain", Span("a.play", 1, 1, 1, 2), notes=[Note("see here", Span("a.play", 3, 1, 3, 2))])
    assert render_github([d, w]) == (
        "::error file=dir%2Cx/a%3Ab.play,line=2,col=9,endLine=2,endColumn=12,title=E200::"
        "50%25 of%0D%0Amessages: bad (did you mean `a%25b`?)\n"
        "::warning file=a.play,line=1,col=1,endLine=1,endColumn=2,title=W300::plain%0Anote: see here (a.play:3:1)\n"
    )


def test_github_without_a_span_and_for_notes():
    d = Diagnostic("E100", Severity.NOTE, "just so you know", None)
    assert render_github([d]) == "::notice title=E100::just so you know\n"


def test_github_output_is_one_line_per_diagnostic():
    d = error("E200", "a\nb\rc", Span("a.play", 1, 1, 1, 2), notes=[Note("x\ny")])
    assert len(render_github([d, d]).splitlines()) == 2


def sarif(diagnostics):
    log = json.loads(render_sarif(diagnostics))
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)
    return log


def test_sarif_validates_and_describes_every_rule_it_uses():
    log = sarif([UNKNOWN, TYPO, EMPTY, TYPO])
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["informationUri"].startswith("https://")) == ("plays", True)
    assert [r["id"] for r in driver["rules"]] == ["E200", "E302", "W100"]
    assert [r["shortDescription"]["text"] for r in driver["rules"]] == [
        CODES[c].title.replace("`", "") for c in ("E200", "E302", "W100")]
    results = run["results"]
    assert [(r["ruleId"], r["level"], driver["rules"][r["ruleIndex"]]["id"]) for r in results] == [
        ("E200", "error", "E200"), ("E302", "error", "E302"), ("W100", "warning", "W100"), ("E302", "error", "E302"),
    ]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 9, "endLine": 2, "endColumn": 12}
    assert results[0]["message"]["text"] == "unknown name `mua` Did you mean `mau`?"
    related = results[0]["relatedLocations"][0]
    assert related["message"]["text"] == "metrics are declared in the catalog"
    assert related["physicalLocation"]["region"]["startLine"] == 1


def test_sarif_of_a_clean_run_is_valid_and_empty():
    log = sarif([])
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_uris_are_uri_references():
    log = sarif([
        error("E100", "m", Span("my specs/a b#1.play", 1, 1, 1, 2)),
        error("E100", "m", Span("/abs/x y.play", 1, 1, 1, 2)),
        Diagnostic("E100", Severity.NOTE, "no place", None, notes=(Note("unplaced note"),)),
    ])
    results = log["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results[:2]]
    assert uris == ["my%20specs/a%20b%231.play", "file:///abs/x%20y.play"]
    assert "locations" not in results[2] and results[2]["level"] == "note"
    assert results[2]["message"]["text"] == "no place\nNote: unplaced note"


def test_sarif_rules_for_codes_outside_the_table_still_validate():
    # error() refuses an unregistered code; a Diagnostic built by hand still renders.
    log = sarif([Diagnostic("R123", Severity.ERROR, "a runtime problem", Span("s.csv", 3, 1, 3, 2))])
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["id"] == "R123" and rule["shortDescription"]["text"]


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_render_dispatches_on_the_format(fmt):
    expected = {"text": render_text([TYPO], SRC), "json": render_json([TYPO]),
                "github": render_github([TYPO]), "sarif": render_sarif([TYPO])}[fmt]
    assert render([TYPO], SRC, fmt) == expected
