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
    assert lines[1] == r" 1 | metric a: count\x0c\u2028\rmetric b: cont"
    # the caret sits under `cont`, past the escapes as they are shown
    assert lines[2].index("^") == lines[1].index("cont", 20) and lines[2].endswith("^^^^")


def test_control_characters_in_a_source_line_cannot_reach_the_terminal():
    src = {"e.play": "\x1b[31mmetric b: count\x07\n"}
    out = render_text([error("E100", "unexpected character", Span("e.play", 1, 1, 1, 2))], src)
    assert "\x1b" not in out and "\x07" not in out
    # shown escaped, the caret under the whole escape
    assert " 1 | \\x1b[31mmetric b: count\\x07\n   | ^^^^\n" in out
    # nor can bidirectional overrides reorder what the reader sees ("Trojan Source")
    src = {"b.play": "when: tier == \u202epremium\u2066\n"}
    out = render_text([error("E100", "m", Span("b.play", 1, 15, 1, 23))], src)
    assert " 1 | when: tier == \\u202epremium\\u2066\n" in out


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
        "::error file=dir%2Cx/a%3Ab.play,line=2,col=9,endLine=2,endColumn=12,title=plays E200::"
        "50%25 of%0D%0Amessages: bad (did you mean `a%25b`?)\n"
        "::warning file=a.play,line=1,col=1,endLine=1,endColumn=2,title=plays W300::plain%0Anote: see here (a.play:3:1)\n"
    )


def test_github_without_a_span_and_for_notes():
    d = Diagnostic("E100", Severity.NOTE, "just so you know", None)
    assert render_github([d]) == "::notice title=plays E100::just so you know\n"


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
    assert driver["name"] == "plays"
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


def test_sarif_rules_carry_their_help_and_no_link():
    from plays.codes import docs

    log = sarif([UNKNOWN, EMPTY])
    driver = log["runs"][0]["tool"]["driver"]
    e200, w100 = driver["rules"]
    assert e200["fullDescription"]["text"] == (
        "A name that is neither a metric, an attribute nor an enum value.\n\n"
        "In an expression, a bare name is a metric or an attribute of the catalog (or, where an enum is compared, "
        "a value of it). The closest known name is suggested.")
    assert e200["help"]["text"].startswith("E200 — unknown name (error)\n\nA name that is neither")
    assert "\n    alert low_usage {\n      when: maus < 10\n" in e200["help"]["text"]  # the bad example, indented
    assert "```text\n" + docs("E200").diagnostic + "\n```" in e200["help"]["markdown"]
    assert "Fixed:\n\n```play\nalert low_usage {\n  when: mau < 10\n" in e200["help"]["markdown"]
    assert (e200["defaultConfiguration"], w100["defaultConfiguration"]) == ({"level": "error"}, {"level": "warning"})
    # no placeholder web address anywhere: the help travels in the log
    assert "Uri" not in json.dumps(driver).replace('"uri"', "")


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


# --- control characters from data and file names -----------------------------------------


@pytest.mark.parametrize("raw, shown", [
    ("acme", "acme"),
    ("a\tb", "a\tb"),  # tabs are harmless
    ("a\nb\r", r"a\nb\r"),
    ("\x1b[2J\x07\x00\x7f\x9b", r"\x1b[2J\x07\x00\x7f\x9b"),
    ("\u202eevil\u2066\u2028", r"\u202eevil\u2066\u2028"),
    ("名前 é", "名前 é"),
])
def test_printable_escapes_every_control_character(raw, shown):
    from plays.render import printable

    assert printable(raw) == shown


def test_a_file_name_with_a_newline_cannot_forge_a_line_in_text_output():
    path = "a.play\n::error file=x.play,line=1::forged"
    d = error("E200", "unknown name `x`\n::error::also forged", Span(path, 1, 1, 1, 2),
              notes=[Note("see\x1b[31m", Span(path, 1, 1, 1, 2))], suggestion="y\nz")
    out = render_text([d], {path: "x\n"})
    assert not any(line.startswith("::") for line in out.splitlines())
    assert "\x1b" not in out
    assert out.splitlines()[0] == (
        r"a.play\n::error file=x.play,line=1::forged:1:1: error[E200]: unknown name `x`\n::error::also forged"
    )


def test_github_annotations_escape_control_characters_too():
    out = render_github([error("E200", "a\x1b[31mb", Span("p\x1b.play", 1, 1, 1, 2))])
    assert "\x1b" not in out and out.count("\n") == 1 and r"a\x1b[31mb" in out


# --- bounded and linear rendering ----------------------------------------------------------


def many(path, n, text_lines=1):
    return [warning("W300", f"number {i}", Span(path, 1 + i % text_lines, 1, 1 + i % text_lines, 2)) for i in range(n)]


def test_max_per_file_shows_the_first_and_counts_the_rest_per_file():
    diags = many("a.play", 5) + many("b.play", 2)
    out = render_text(diags, {}, max_per_file=3)
    lines = out.splitlines()
    assert [line for line in lines if "W300" in line] == [
        "a.play:1:1: warning[W300]: number 0", "a.play:1:1: warning[W300]: number 1",
        "a.play:1:1: warning[W300]: number 2", "b.play:1:1: warning[W300]: number 0",
        "b.play:1:1: warning[W300]: number 1",
    ]
    assert lines[-2:] == [
        "a.play: 2 more diagnostics not shown (the first 3 of the file are; --max-diagnostics 0 shows all)",
        "0 errors, 7 warnings",  # the summary counts every diagnostic
    ]
    assert render_text(diags, {}, max_per_file=0) == render_text(diags, {})


@pytest.mark.parametrize("fmt", ["json", "github", "sarif"])
def test_max_per_file_in_the_machine_formats(fmt):
    diags = many("a.play", 5)
    out = render(diags, {}, fmt, max_per_file=2)
    if fmt == "json":
        doc = json.loads(out)
        assert len(doc["diagnostics"]) == 2
        assert doc["summary"] == {"errors": 0, "warnings": 5, "omitted": {"a.play": 3}}
        assert "omitted" not in json.loads(render(diags, {}, fmt))["summary"]
    elif fmt == "github":
        assert out.count("::warning ") == 2
        assert out.splitlines()[-1].startswith("::notice file=a.play,title=plays::3 more diagnostics not shown")
    else:
        log = json.loads(out)
        jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)
        run = log["runs"][0]
        assert len(run["results"]) == 2
        [note] = run["invocations"][0]["toolExecutionNotifications"]
        assert note["message"]["text"].startswith("3 more diagnostics not shown")


def test_a_long_line_is_cut_around_the_span():
    line = "x" * 1000 + "BAD" + "y" * 1000
    out = render_text([error("E100", "m", Span("l.play", 1, 1001, 1, 1004))], {"l.play": line})
    src, caret = out.splitlines()[1:3]
    assert len(src) < 200 and src.startswith(" 1 | \N{HORIZONTAL ELLIPSIS}") and src.endswith("\N{HORIZONTAL ELLIPSIS}")
    assert caret.index("^^^") == src.index("BAD") and caret.endswith("^^^")
    # the start of a line is shown as it is
    out = render_text([error("E100", "m", Span("l.play", 1, 1, 1, 2))], {"l.play": line})
    assert out.splitlines()[1].startswith(" 1 | xxx") and out.splitlines()[2] == "   | ^"


def test_text_rendering_is_linear_in_diagnostics_and_file_size():
    import time

    # 200 KB of source and 20,000 diagnostics: quadratic rendering (splitting the
    # file once per diagnostic) takes minutes here; linear takes well under a second.
    text = "".join(f"alert a{i} {{ when: p > 5 }}\n" for i in range(8000))
    diags = [warning("W300", "m", Span("w.play", 1 + i % 8000, 10, 1 + i % 8000, 15)) for i in range(20000)]
    started = time.perf_counter()
    out = render_text(diags, {"w.play": text})
    assert time.perf_counter() - started < 5
    assert out.count("warning[W300]") == 20000
    # one 5 MB line of garbage: every excerpt is cut to a window
    garbage = "{(" * 2_500_000
    started = time.perf_counter()
    out = render_text([error("E100", "m", Span("g.play", 1, c, 1, c + 1)) for c in range(1, 2000)], {"g.play": garbage})
    assert time.perf_counter() - started < 5 and len(out) < 2000 * 400
