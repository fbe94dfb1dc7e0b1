"""The formatter (dsl/fmt.py) and `plays fmt`: one layout, comments kept, idempotent, the same AST."""

import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.dsl import parse, parse_module
from plays.dsl.fmt import WIDTH, format_source
from plays.dsl.parser import _lark
from plays.errors import CompileError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:  # the spec generators of tests/test_never_raises.py
    sys.path.insert(0, str(ROOT / "tests"))

from test_never_raises import mutated, stressed_spec  # noqa: E402
COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(#[^\n]*)')


def comments(text: str) -> list[str]:
    """The comments of a spec, in order, as written (without trailing blanks)."""
    return [m.group(1).rstrip() for m in COMMENT.finditer(text) if m.group(1)]


def parses(text: str) -> bool:
    module, diags = parse_module(text, "x.play")
    return not any(d.is_error for d in diags)


def assert_formats_well(text: str) -> str:
    """The laws: idempotent, the same AST, the same comments in the same order."""
    out = format_source(text, "x.play")
    assert format_source(out, "x.play") == out
    assert parse(out, "x.play") == parse(text, "x.play")
    assert comments(out) == comments(text)
    return out


def fenced_blocks(path: Path):
    text = path.read_text("utf-8")
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) in ("", "play"):
            yield f"{path.name}:{text.count(chr(10), 0, m.start()) + 1}", m.group(2)


def corpus():
    """Every .play of the repository and every fenced example of the docs that parses as a spec."""
    for p in sorted(ROOT.glob("specs/**/*.play")) + sorted(ROOT.glob("tests/**/*.play")) + sorted(
        ROOT.glob("examples/**/*.play")
    ):
        yield p.relative_to(ROOT).as_posix(), p.read_text("utf-8")
    for doc in sorted(ROOT.glob("docs/*.md")) + [ROOT / "README.md"]:
        for where, body in fenced_blocks(doc):
            module, diags = parse_module(body, where)
            if module.declarations and not any(d.is_error for d in diags):
                yield where, body


CORPUS = dict(corpus())


def test_the_corpus_is_what_it_says():
    assert {"specs/alerts.play", "specs/goals.play", "tests/data/language_examples.play"} <= set(CORPUS)
    assert any(k.startswith("README.md:") for k in CORPUS)
    assert any(k.startswith("tests/golden/") for k in CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_spec_and_example_formats_idempotently_to_the_same_tree(name):
    text = CORPUS[name]
    if not parses(text):  # a golden case of syntax errors
        with pytest.raises(CompileError):
            format_source(text, name)
        return
    assert_formats_well(text)


@pytest.mark.parametrize("name", sorted(k for k in CORPUS if re.match(r"specs/|README\.md:|\w+\.md:", k)))
def test_the_examples_and_the_docs_are_in_the_canonical_layout(name):
    # docs/diagnostics.md too: its examples (plays/codes.toml) are laid out by plays fmt.
    assert format_source(CORPUS[name], name) == CORPUS[name]


# --- the layout, by hand ---------------------------------------------------------

MESSY = '''\
# head comment


# second head
metric   mau :count "x"   # eol metric
metric a:enum( x ,y,)
# before account
account{ name :text # c1
  # own inside
  seg: enum(a,b)

  # before close
}
# before alert
alert   x "t"{# after brace
  severity:high
  when : (a>1 # in expr
     and b<-2)   or
       c in(1,2) and d is not empty
  # before playbook


  playbook p where x==1 # h
   and y {
    task a "A" {type:call owner:csm  # in task
      due:2d}
    task b "B"{after:a,b due: -3d}   # after task
    task c "C" {}
  }
  deploy: on renewal_date - 120d
  kpi: mrr up -10%
  # before close
}
alert e {}
goal g {
  deploy:
    when x > 1
}
# end'''

MESSY_FORMATTED = '''\
# head comment

# second head
metric mau: count "x"  # eol metric
metric a: enum(x, y)

# before account
account {
  name: text  # c1
  # own inside
  seg: enum(a, b)

  # before close
}

# before alert
alert x "t" {  # after brace
  severity: high
  when: (a > 1  # in expr
          and b < -2) or
      c in (1, 2) and d is not empty
  # before playbook

  playbook p where x == 1  # h
      and y {
    task a "A" {
      type: call  owner: csm  # in task
      due: 2d
    }
    task b "B" { after: a, b  due: -3d }  # after task
    task c "C" {}
  }
  deploy: on renewal_date - 120d
  kpi: mrr up -10%
  # before close
}

alert e {}

goal g {
  deploy:
      when x > 1
}
# end
'''


def test_comments_in_every_position_stay_where_they_were():
    # Own line at the file's head, end of line, inside a block, inside a multi-line expression, after `{`,
    # inside a task, after a task, before `}`, at the end of the file without a final newline.
    assert assert_formats_well(MESSY) == MESSY_FORMATTED


@pytest.mark.parametrize("text, expected", [
    # spacing: one space around operators, none inside parentheses or before `,` and `:`; unary minus tight
    ("alert a { when: x>=-1 and not(y<2)or z*2/3+1-4<0 }",
     "alert a {\n  when: x >= -1 and not (y < 2) or z * 2 / 3 + 1 - 4 < 0\n}\n"),
    ("alert a { when: pct_change( mau ,7d )<= -20% and account . tier in( a , b ) }",
     "alert a {\n  when: pct_change(mau, 7d) <= -20% and account.tier in (a, b)\n}\n"),
    ("alert a { when: x not in (a,b,) and y is  not  empty and - - z > 0 }",
     "alert a {\n  when: x not in (a, b) and y is not empty and --z > 0\n}\n"),
    # literals and strings as written (the AST keeps their text)
    ('alert a "A \\"b\\"" { when: x > 007.50 and d == 2026-03-01 and m > $1200 and s == "x" }',
     'alert a "A \\"b\\"" {\n  when: x > 007.50 and d == 2026-03-01 and m > $1200 and s == "x"\n}\n'),
    # deploy forms and relative KPIs keep their words
    ("goal g{duration:2w deploy:on account.go_live_date+7d kpi:tickets_opened down 20%}",
     "goal g {\n  duration: 2w\n  deploy: on account.go_live_date + 7d\n  kpi: tickets_opened down 20%\n}\n"),
    ('external goal e "E" { account: "acme" measure: "t"   target<=30 start: 2026-02-01 }',
     'external goal e "E" {\n  account: "acme"\n  measure: "t" target <= 30\n  start: 2026-02-01\n}\n'),
    # blank lines: at most one, none after `{` or before `}`, always one around a block declaration
    ("\n\nmetric a: count\n\n\n\nmetric b: count\nmetric c: count\nalert x {\n\n\n  when: a > 1\n\n\n}\nmetric d: count\n",
     "metric a: count\n\nmetric b: count\nmetric c: count\n\nalert x {\n  when: a > 1\n}\n\nmetric d: count\n"),
    # CRLF and tabs
    ("alert a {\r\n\twhen: x > 1\t# c\r\n}\r\n", "alert a {\n  when: x > 1  # c\n}\n"),
    # an empty file, a file of comments
    ("", ""),
    ("\n  # only a comment  \n\n\n# another\n", "# only a comment\n\n# another\n"),
])
def test_layout(text, expected):
    assert assert_formats_well(text) == expected


def test_end_of_line_comments_align_within_a_run_of_lines_at_one_indentation():
    text = "account {\n  name: text # n\n  segment: enum(a, b)\n  region: text     # r\n\n  x: date # x\n}\n"
    assert assert_formats_well(text) == (
        "account {\n"
        "  name: text    # n\n"
        "  segment: enum(a, b)\n"
        "  region: text  # r\n"
        "\n"
        "  x: date  # x\n"
        "}\n"
    )


def _task_of_width(width: int) -> str:
    """A playbook whose one task, in the short form, is exactly ``width`` columns wide."""
    head, props = '    task t "', '" { type: call  due: 2d }'
    return "alert a {\n  when: x > 1\n  playbook {\n" + head + "x" * (width - len(head) - len(props)) + props + "\n  }\n}\n"


def test_a_task_stays_on_one_line_up_to_the_width_then_wraps_its_properties():
    fits = _task_of_width(WIDTH)
    assert max(len(line) for line in fits.splitlines()) == WIDTH == 120
    assert assert_formats_well(fits) == fits
    too_long = _task_of_width(WIDTH + 1)
    title = "x" * (WIDTH + 1 - len('    task t "') - len('" { type: call  due: 2d }'))
    assert assert_formats_well(too_long) == (
        f'alert a {{\n  when: x > 1\n  playbook {{\n    task t "{title}" {{\n      type: call  due: 2d\n    }}\n  }}\n}}\n'
    )


def test_a_task_whose_properties_do_not_fit_on_one_line_takes_one_per_line():
    after = ", ".join(f"t{i:03d}" for i in range(22))  # 6 * 22 - 2 = 130 columns
    text = f'alert a {{ when: x > 1 playbook {{ task t "T" {{ after: {after} due: 2d }} }} }}'
    assert assert_formats_well(text) == (
        f'alert a {{\n  when: x > 1\n  playbook {{\n    task t "T" {{\n      after: {after}\n      due: 2d\n    }}\n  }}\n}}\n'
    )


def test_a_task_written_one_property_per_line_comes_back_to_the_short_form():
    text = 'alert a {\n  when: x > 1\n  playbook {\n    task t "T" {\n      type: call\n      due: 2d\n    }\n  }\n}\n'
    assert assert_formats_well(text) == 'alert a {\n  when: x > 1\n  playbook {\n    task t "T" { type: call  due: 2d }\n  }\n}\n'


def test_a_task_with_comments_keeps_the_properties_the_author_put_on_one_line_together():
    text = (
        'alert a {\n  when: x > 1\n  playbook {\n'
        '    task t "T" { type: call\n  owner: csm  due: 2d   # plays: disable=E208\n every: 7d }\n  }\n}\n'
    )
    assert assert_formats_well(text) == (
        'alert a {\n  when: x > 1\n  playbook {\n'
        '    task t "T" {\n      type: call\n      owner: csm  due: 2d  # plays: disable=E208\n      every: 7d\n    }\n'
        '  }\n}\n'
    )


def test_the_authors_line_breaks_in_a_condition_are_kept_and_indented_by_parenthesis():
    text = "alert a {\n  when: (x > 1\n  and (y < 2\n  or z < 3)\n  )\n  or w > 4\n}\n"
    assert assert_formats_well(text) == (
        "alert a {\n  when: (x > 1\n          and (y < 2\n              or z < 3)\n      )\n      or w > 4\n}\n"
    )


def test_a_header_is_joined_unless_a_comment_breaks_it():
    text = 'alert\n  a\n  "A"\n{ when: x > 1 }\ngoal g # why\n"G" { duration: 7d }\n'
    assert assert_formats_well(text) == (
        'alert a "A" {\n  when: x > 1\n}\n\ngoal g  # why\n    "G" {\n  duration: 7d\n}\n'
    )


def test_text_that_does_not_parse_raises_the_syntax_diagnostics():
    with pytest.raises(CompileError) as e:
        format_source("alert a { when: x > }\n", "bad.play")
    (d,) = e.value.diagnostics
    assert (d.code, d.span.path, d.span.line, d.span.col) == ("E100", "bad.play", 1, 21)
    with pytest.raises(CompileError) as e:
        format_source("alert a { when: " + "(" * 120 + "x" + ")" * 120 + " }", "deep.play")
    assert [d.code for d in e.value.diagnostics] == ["E102"]


# --- generated specs ----------------------------------------------------------------

SEEDS = [CORPUS[k] for k in sorted(CORPUS) if parses(CORPUS[k]) and k.endswith(".play")]


def _gaps(text: str) -> list[int]:
    """The offsets between two tokens (and at both ends): where whitespace and comments may go."""
    ends = [0]
    for t in _lark().parse_interactive(text).iter_parse():
        ends += [t.start_pos, t.end_pos]
    return sorted(set(ends + [len(text)]))


@st.composite
def respaced(draw, *, newlines: bool):
    """A seed spec with whitespace, line breaks and numbered comments inserted between tokens."""
    text = draw(st.sampled_from(SEEDS))
    spots = _gaps(text)
    picked = sorted(draw(st.lists(st.sampled_from(spots), max_size=30, unique=True)), reverse=True)
    pieces = [" ", "\t", "   "] + (["\n", "\n\n\n", " # c{}\n", "\n# c{}\n", "\n\n  # c{}\n\n"] if newlines else [])
    for n, at in enumerate(picked):
        piece = draw(st.sampled_from(pieces)).format(n)
        text = text[:at] + piece + text[at:]
    return text


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
slow = pytest.mark.slow


@slow
@FAST
@given(respaced(newlines=True))
def test_comments_and_line_breaks_anywhere_keep_the_laws(text):
    assert_formats_well(text)


@slow
@FAST
@given(respaced(newlines=False))
def test_spaces_between_tokens_never_change_the_result(text):
    seed = next(s for s in SEEDS if re.sub(r"[ \t]", "", s) == re.sub(r"[ \t]", "", text))
    assert format_source(text) == format_source(seed)


@slow
@FAST
@given(st.data())
def test_mutated_specs_format_well_or_raise_their_diagnostics(data):
    text = data.draw(mutated())
    if parses(text):
        assert_formats_well(text)
    else:
        with pytest.raises(CompileError):
            format_source(text)


@slow
@FAST
@given(st.data())
def test_stressed_specs_format_well_or_raise_their_diagnostics(data):
    text = data.draw(stressed_spec())
    if parses(text):
        assert_formats_well(text)
    else:
        with pytest.raises(CompileError):
            format_source(text)


# --- plays fmt ----------------------------------------------------------------------

UGLY = "alert a{when:x>1}\n"
PRETTY = "alert a {\n  when: x > 1\n}\n"


def test_fmt_rewrites_files_in_place_and_says_how_many(run_cli, tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.play").write_text(UGLY)
    (tmp_path / "specs" / "b.play").write_text(PRETTY)
    code, out, err = run_cli("fmt", "specs")
    assert (code, out, err) == (0, "1 file reformatted, 1 left unchanged\n", "")
    assert (tmp_path / "specs" / "a.play").read_text() == PRETTY
    assert [p.name for p in (tmp_path / "specs").iterdir()] != []
    assert sorted(p.name for p in (tmp_path / "specs").iterdir()) == ["a.play", "b.play"]  # no temporary left
    assert run_cli("fmt", "specs") == (0, "0 files reformatted, 2 left unchanged\n", "")


def test_fmt_without_paths_formats_the_current_folder(run_cli, tmp_path):
    (tmp_path / "a.play").write_text(UGLY)
    assert run_cli("fmt")[0] == 0
    assert (tmp_path / "a.play").read_text() == PRETTY


def test_fmt_check_lists_the_files_that_would_change_and_changes_nothing(run_cli, tmp_path):
    (tmp_path / "a.play").write_text(UGLY)
    (tmp_path / "b.play").write_text(PRETTY)
    code, out, err = run_cli("fmt", "--check", "a.play", "b.play")
    assert (code, out, err) == (1, "would reformat: a.play\n1 file would be reformatted, 1 already formatted\n", "")
    assert (tmp_path / "a.play").read_text() == UGLY
    assert run_cli("fmt", "--check", "b.play") == (0, "0 files would be reformatted, 1 already formatted\n", "")


def test_fmt_diff_prints_a_unified_diff_and_changes_nothing(run_cli, tmp_path):
    (tmp_path / "a.play").write_text(UGLY)
    code, out, err = run_cli("fmt", "--diff", "a.play")
    assert code == 1
    assert out == (
        "--- a.play\n+++ a.play (formatted)\n@@ -1 +1,3 @@\n-alert a{when:x>1}\n+alert a {\n+  when: x > 1\n+}\n"
    )
    assert err == "1 file would be reformatted, 0 already formatted\n"
    assert (tmp_path / "a.play").read_text() == UGLY
    (tmp_path / "a.play").write_text(PRETTY)
    assert run_cli("fmt", "--diff", "a.play") == (0, "", "0 files would be reformatted, 1 already formatted\n")


def test_fmt_diff_marks_a_missing_final_newline_and_splits_lines_only_at_newlines(run_cli, tmp_path):
    (tmp_path / "a.play").write_text("metric a:count # x\x0cy")
    code, out, err = run_cli("fmt", "--diff", "a.play")
    assert code == 1
    assert out == (
        "--- a.play\n+++ a.play (formatted)\n@@ -1 +1 @@\n"
        "-metric a:count # x\x0cy\n\\ No newline at end of file\n+metric a: count  # x\x0cy\n"
    )


def test_fmt_reads_standard_input_and_writes_standard_output(run_cli, monkeypatch):
    import io
    import sys

    class Stdin:
        buffer = io.BytesIO(UGLY.encode())

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert run_cli("fmt", "-") == (0, PRETTY, "")
    Stdin.buffer = io.BytesIO(UGLY.encode())
    assert run_cli("fmt", "--check", "-") == (1, "would reformat: <stdin>\n", "")
    Stdin.buffer = io.BytesIO(b"alert a { when: \xff }")
    assert run_cli("fmt", "-") == (2, "", "plays: error: -: standard input is not UTF-8 text\n")
    monkeypatch.setattr(sys, "stdin", None)
    assert run_cli("fmt", "-") == (2, "", "plays: error: -: standard input is closed\n")
    code, out, err = run_cli("fmt", "-", "a.play")
    assert code == 2 and "cannot be mixed" in err and "\n" == err[-1] and err.count("\n") == 1


def test_fmt_prints_the_syntax_errors_of_a_broken_file_leaves_it_and_formats_the_others(run_cli, tmp_path):
    (tmp_path / "a.play").write_text(UGLY)
    (tmp_path / "bad.play").write_text("alert b { when: x > }\n")
    code, out, err = run_cli("fmt", ".")
    assert code == 1
    assert err == (
        "bad.play:1:21: error[E100]: unexpected `}`; expected a value (a name, a number, 20%, 7d, 2026-03-01, ...)\n"
        " 1 | alert b { when: x > }\n"
        "   |                     ^\n"
    )
    assert out == "1 file reformatted, 0 left unchanged, 1 not parsed\n"
    assert (tmp_path / "a.play").read_text() == PRETTY
    assert (tmp_path / "bad.play").read_text() == "alert b { when: x > }\n"
    # the same diagnostic as plays check
    assert run_cli("check", "bad.play")[1].startswith(err)


def test_fmt_unreadable_paths_exit_2_and_the_others_are_still_formatted(run_cli, tmp_path):
    (tmp_path / "a.play").write_text(UGLY)
    (tmp_path / "latin.play").write_bytes(b"metric caf\xe9: count\n")
    code, out, err = run_cli("fmt", "missing", "a.play", "latin.play")
    assert code == 2
    assert err.splitlines() == [
        "plays: error: missing: no such file or directory",
        "plays: error: latin.play: not UTF-8 text (byte 0xe9 at line 1, byte 11 of the line); is it a binary file?",
    ]
    assert out == "1 file reformatted, 0 left unchanged, 2 not read\n"
    assert (tmp_path / "a.play").read_text() == PRETTY


@pytest.mark.parametrize("args", [("nope.play",), ("nope.play", "--check"), ("latin.play",), ("empty_dir",)])
def test_fmt_that_reads_no_file_at_all_prints_the_error_and_no_count_that_reads_as_success(run_cli, tmp_path, args):
    (tmp_path / "latin.play").write_bytes(b"metric caf\xe9: count\n")
    (tmp_path / "empty_dir").mkdir()
    code, out, err = run_cli("fmt", *args)
    assert (code, out) == (2, "")
    assert err.startswith("plays: error: ") and len(err.splitlines()) == 1


def test_fmt_that_cannot_write_a_file_exits_2_and_leaves_it(run_cli, tmp_path, monkeypatch):
    import plays.sources

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    (tmp_path / "a.play").write_text(UGLY)
    monkeypatch.setattr(plays.sources.tempfile, "mkstemp", refuse)
    code, out, err = run_cli("fmt", "a.play")
    assert (code, err) == (2, "plays: error: a.play: cannot write: Permission denied\n")
    assert out == "0 files reformatted, 0 left unchanged, 1 not written\n"
    assert (tmp_path / "a.play").read_text() == UGLY


def test_fmt_writes_through_a_symbolic_link_and_keeps_the_mode(run_cli, tmp_path):
    import os

    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "a.play"
    target.write_text(UGLY)
    target.chmod(0o640)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.play").symlink_to(target)
    assert run_cli("fmt", "specs")[0] == 0
    assert (tmp_path / "specs" / "a.play").is_symlink()
    assert target.read_text() == PRETTY
    assert os.stat(target).st_mode & 0o777 == 0o640


def test_fmt_keeps_a_byte_order_mark_and_turns_crlf_into_lf(run_cli, tmp_path):
    (tmp_path / "a.play").write_bytes(b"\xef\xbb\xbfalert a{when:x>1}\r\n")
    assert run_cli("fmt", "a.play")[0] == 0
    assert (tmp_path / "a.play").read_bytes() == b"\xef\xbb\xbf" + PRETTY.encode()
    assert run_cli("fmt", "--check", "a.play")[0] == 0


def test_fmt_check_passes_on_the_repositorys_specs(run_cli):
    code, out, err = run_cli("fmt", "--check", str(ROOT / "specs"))
    assert (code, err) == (0, ""), out


def test_the_pre_commit_hook_formats_the_staged_play_files_and_ci_checks_the_layout():
    from ruamel.yaml import YAML

    hooks = {h["id"]: h for h in YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    fmt = hooks["plays-fmt"]
    assert (fmt["entry"], fmt["pass_filenames"], fmt.get("args")) == ("plays fmt", True, None)
    assert re.search(fmt["files"], "specs/alerts.play") and not re.search(fmt["files"], "specs/tests/a.test.yaml")
    assert "plays fmt --check specs/\n" in (ROOT / ".ci" / "run").read_text("utf-8")


@slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated())
def test_plays_fmt_answers_any_mutated_file_with_0_or_1_and_never_a_traceback(run_cli, tmp_path, text):
    path = tmp_path / "m.play"
    path.write_text(text, "utf-8")
    code, out, err = run_cli("fmt", "--check", "m.play")
    assert "Traceback" not in err and "internal error" not in err
    text = text.removeprefix("\ufeff")  # as every command reads a file
    if "\x00" in text:
        assert code == 2 and err.count("\n") == 1 and "NUL bytes" in err
    elif parses(text):
        assert code == (0 if format_source(text) == text else 1) and err == ""
    else:
        assert code == 1 and "error[E1" in err
