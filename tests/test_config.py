"""Configuration (plays/config.py and the CLI's --config/--isolated): where it is found, every key, every error."""

from pathlib import Path

import pytest

from plays.config import ConfigError, find_config, load, parse_config, read_config

ROOT = Path(__file__).resolve().parent.parent
CATALOG = "metric seat: percent\n"
WARNS = CATALOG + "alert a { when: seat > 80 }\n"  # W402 (no playbook) on line 2, W300 (80, not 80%) too
CLEAN = CATALOG + 'alert a { when: seat > 80%  playbook { task t "T" { } } }\n'


@pytest.fixture
def repo(tmp_path):
    """tmp_path as a repository root (the search stops there) with specs/a.play."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.play").write_text(WARNS)
    return tmp_path


# --- where the configuration is found ------------------------------------------------------


def test_plays_toml_comes_before_pyproject_in_one_folder(repo):
    (repo / "pyproject.toml").write_text("[tool.plays]\nstrict = false\n")
    (repo / "plays.toml").write_text("strict = true\n")
    assert find_config(repo) == repo / "plays.toml"
    assert load(repo).strict is True


def test_a_pyproject_without_tool_plays_is_passed_over_and_the_search_goes_up(repo):
    (repo / "pyproject.toml").write_text("[tool.plays]\nstrict = true\n")
    sub = repo / "specs"
    (sub / "pyproject.toml").write_text("[project]\nname = 'x'\n[tool.ruff]\nline-length = 100\n")
    assert find_config(sub) == repo / "pyproject.toml"


def test_a_broken_pyproject_of_another_tool_is_passed_over_but_a_broken_one_of_plays_is_reported(repo):
    (repo / "pyproject.toml").write_text("[tool.ruff\n")
    assert find_config(repo) is None
    (repo / "pyproject.toml").write_text("[tool.plays]\nstrict = \n")
    with pytest.raises(ConfigError) as e:
        load(repo)
    assert [(d.code, d.span.line, d.span.col, d.message) for d in e.value.diagnostics] == [
        ("C100", 2, 10, "not valid TOML: invalid value")]


def test_the_nearest_file_wins_and_files_are_not_merged(repo):
    (repo / "plays.toml").write_text('paths = ["specs"]\nstrict = true\n')
    (repo / "specs" / "plays.toml").write_text("fail-under = 50\n")
    s = load(repo / "specs")
    assert (s.fail_under, s.strict, s.paths) == (50.0, None, None)


def test_the_search_stops_at_the_repository_root(tmp_path):
    (tmp_path / "plays.toml").write_text("strict = true\n")
    inner = tmp_path / "checkout"
    (inner / ".git").mkdir(parents=True)
    assert find_config(inner) is None
    assert load(inner).file is None
    assert find_config(tmp_path) == tmp_path / "plays.toml"  # where there is no repository marker, it goes up


def test_isolated_reads_nothing_and_config_reads_the_named_file(repo):
    (repo / "plays.toml").write_text("strict = true\n")
    (repo / "other.toml").write_text("strict = false\n")
    assert load(repo, isolated=True).strict is None
    assert load(repo, config=repo / "other.toml").strict is False


# --- every key, good ------------------------------------------------------------------------


def test_every_key_in_plays_toml():
    s = parse_config('paths = ["specs/", "more.play"]\ntest-paths = ["specs/tests"]\nstrict = true\n'
                     'fail-under = 90\n[severity]\nW300 = "error"\nW402 = "off"\nW400 = "warning"\n', "plays.toml")
    assert (s.paths, s.test_paths, s.strict, s.fail_under, dict(s.severity)) == (
        ("specs/", "more.play"), ("specs/tests",), True, 90.0, {"W300": "error", "W400": "warning", "W402": "off"})


def test_every_key_in_pyproject_with_inline_and_dotted_forms():
    text = ('[project]\nname = "x"\n[tool.plays]\npaths = ["specs/"]\nseverity = { W300 = "error" }\n'
            'fail-under = 87.5\n[tool.other]\nstrict = "ignored: not ours"\n')
    s = parse_config(text, "pyproject.toml", pyproject=True)
    assert (s.paths, dict(s.severity), s.fail_under, s.strict) == (("specs/",), {"W300": "error"}, 87.5, None)
    s = parse_config('tool.plays.strict = false\n', "pyproject.toml", pyproject=True)
    assert s.strict is False


def test_the_repositorys_own_configuration_is_valid_and_names_specs():
    s = read_config(ROOT / "pyproject.toml")
    assert (s.paths, s.strict, s.fail_under) == (("specs/",), True, 100.0)


def test_paths_are_relative_to_the_configurations_folder(repo, monkeypatch):
    (repo / "plays.toml").write_text('paths = ["specs"]\n')
    (repo / "specs" / "deep").mkdir()
    monkeypatch.chdir(repo / "specs" / "deep")
    assert load().spec_paths() == [".."]
    monkeypatch.chdir(repo)
    assert load().spec_paths() == ["specs"]


# --- every key, bad: positioned, with a suggestion, exit 2 -------------------------------------


def problems(text: str, name: str = "plays.toml") -> list[tuple]:
    with pytest.raises(ConfigError) as e:
        parse_config(text, name, pyproject=name == "pyproject.toml")
    return [(d.code, d.span.line, d.span.col, d.span.end_col, d.message, d.suggestion) for d in e.value.diagnostics]


def test_unknown_keys_with_suggestions():
    assert problems("stict = true\nfail_under = 90\ntest_paths = []\nnope = 1\n") == [
        ("C101", 1, 1, 6, "unknown key `stict`", "strict"),
        ("C101", 2, 1, 11, "unknown key `fail_under`", "fail-under"),
        ("C101", 3, 1, 11, "unknown key `test_paths`", "test-paths"),
        ("C101", 4, 1, 5, "unknown key `nope`", None),
    ]


def test_unknown_key_in_pyproject_names_the_table_and_a_tool_table_in_plays_toml_is_explained():
    assert problems('[tool.plays]\npath = ["s"]\n', "pyproject.toml") == [
        ("C101", 2, 1, 5, "unknown key `path` in [tool.plays]", "paths")]
    with pytest.raises(ConfigError) as e:
        parse_config("[tool.plays]\nstrict = true\n", "plays.toml")
    assert [n.message for n in e.value.diagnostics[0].notes] == [
        "in plays.toml the keys are at the top level, without a [tool.plays] table"]


def test_values_of_the_wrong_type():
    assert problems('paths = "specs"\ntest-paths = ["a", 3]\nstrict = "yes"\nfail-under = "90"\nseverity = 1\n') == [
        ("C102", 1, 9, 16, '`paths` takes an array of paths like paths = ["specs/"], not a string', 'paths = ["specs"]'),
        ("C102", 2, 20, 21, "`test-paths` holds paths (strings), not an integer", None),
        ("C102", 3, 10, 15, "`strict` takes true or false, not a string", None),
        ("C102", 4, 14, 18, "`fail-under` takes a number from 0 to 100 (a percentage of coverage), not a string", None),
        ("C102", 5, 12, 13, '`severity` takes a table of codes like severity = { W402 = "off" }, not an integer', None),
    ]


def test_values_not_allowed():
    text = ('fail-under = 101\npaths = [""]\n[severity]\nW300 = "warn"\nW402 = "ignore"\nw401 = "off"\n'
            'E302 = "warning"\nR102 = "off"\nW999 = "off"\nW400 = 2\n')
    assert problems(text) == [
        ("C103", 1, 14, 17, "`fail-under` is 101; coverage is a percentage from 0 to 100", None),
        ("C103", 2, 10, 12, "`paths` holds an empty path", None),
        ("C103", 4, 8, 14, "`warn` is not a severity; use error, warning or off", "warning"),
        ("C103", 5, 8, 16, "`ignore` is not a severity; use error, warning or off", "off"),
        ("C103", 6, 1, 5, "`w401` is not a diagnostic code", "W401"),
        ("C103", 7, 1, 5, "E302 is an error: an error makes the spec set uncompilable, so it cannot be turned "
                          "into a warning or off", None),
        ("C103", 8, 1, 5, "R102 is not reported by the spec checker (only its warnings, W…, can be configured)", None),
        ("C103", 9, 1, 5, "`W999` is not a diagnostic code", None),
        ("C102", 10, 8, 9, 'the severity of W400 is one of "error", "warning", "off", not an integer', None),
    ]


def test_an_empty_list_of_paths_is_refused_where_it_is_written(repo, run_cli):
    # was: `plays check` saying "set `paths` in the configuration" to a user who had set it
    assert problems('paths = []\ntest-paths = []\n') == [
        ("C103", 1, 9, 11, '`paths` is empty; list the spec paths, like paths = ["specs/"]', None),
        ("C103", 2, 14, 16, '`test-paths` is empty; list the spec paths, like test-paths = ["specs/"]', None),
    ]
    (repo / "plays.toml").write_text("paths = []\n")
    code, out, err = run_cli("check")
    assert (code, out) == (2, "") and err.startswith("plays.toml:1:9: error[C103]: `paths` is empty")


def test_positions_survive_multi_line_strings_arrays_comments_and_quoted_keys():
    text = ('# a comment with stict = 1\ntitle = """\nstict = 2\n"""\narr = [\n  1,  # x = 1\n  "]",\n]\n'
            '"fail under" = 3\n[severity]\n"W300" = \'loud\'\n')
    assert [(c, line, col, msg) for c, line, col, _, msg, _ in problems(text)] == [
        ("C101", 2, 1, "unknown key `title`"),
        ("C101", 5, 1, "unknown key `arr`"),
        ("C101", 9, 1, "unknown key `fail under`"),
        ("C103", 11, 10, "`loud` is not a severity; use error, warning or off"),
    ]


def test_a_file_that_is_not_utf8_or_not_toml(tmp_path):
    (tmp_path / "plays.toml").write_bytes(b"strict = true\n\xff\n")
    with pytest.raises(ConfigError) as e:
        read_config(tmp_path / "plays.toml")
    assert e.value.diagnostics[0].code == "C100"
    assert "not UTF-8" in e.value.diagnostics[0].message


# --- through the command line -----------------------------------------------------------------


def test_check_reads_paths_and_a_bad_key_is_exit_2_with_the_line(repo, run_cli):
    (repo / "plays.toml").write_text('paths = ["specs"]\nstict = true\n')
    assert run_cli("check") == (2, "", (
        "plays.toml:2:1: error[C101]: unknown key `stict`\n"
        " 2 | stict = true\n"
        "   | ^^^^^\n"
        "  = help: did you mean `strict`?\n"))


def test_check_without_paths_uses_the_configuration_from_a_subfolder(repo, run_cli, monkeypatch):
    (repo / "plays.toml").write_text('paths = ["specs"]\n[severity]\nW300 = "off"\n')
    (repo / "specs" / "deep").mkdir()
    monkeypatch.chdir(repo / "specs" / "deep")
    code, out, err = run_cli("check")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "../a.play:2:1: warning[W402]: this alert has no playbook: it creates no tasks"
    assert out.splitlines()[-1] == "0 errors, 1 warning"


def test_strict_from_the_configuration_and_the_command_line_over_it(repo, run_cli):
    assert run_cli("check", "specs")[0] == 0
    (repo / "plays.toml").write_text("strict = true\n")
    assert run_cli("check", "specs")[0] == 1
    assert run_cli("check", "--no-strict", "specs")[0] == 0
    assert run_cli("compile", "specs", "-o", "plan.json")[0] == 1 and not (repo / "plan.json").exists()
    assert run_cli("compile", "--no-strict", "specs", "-o", "plan.json")[0] == 0 and (repo / "plan.json").exists()


def test_a_check_failing_on_warnings_alone_says_what_made_them_fail(repo, run_cli):
    # `0 errors, 2 warnings` and exit 1 read as a contradiction without the reason
    code, out, _ = run_cli("check", "--strict", "specs")
    assert code == 1 and out.splitlines()[-2:] == ["0 errors, 2 warnings", "warnings fail the check: --strict"]
    code, out, _ = run_cli("check", "--default-strict", "specs")
    assert code == 1 and out.splitlines()[-1] == (
        "warnings fail the check: --default-strict, as the pre-commit hook runs it "
        "(strict = false in the configuration lets them pass)")
    (repo / "plays.toml").write_text("strict = true\n")
    code, out, _ = run_cli("check", "specs")
    assert code == 1 and out.splitlines()[-1] == "warnings fail the check: strict = true in plays.toml"
    code, out, err = run_cli("compile", "specs", "-o", "plan.json")
    assert code == 1 and err == "plays: error: no plan written: warnings fail with strict = true in plays.toml\n"
    assert not (repo / "plan.json").exists()
    # machine formats stay documents; a passing check has no such line
    assert run_cli("check", "--format", "json", "specs")[1].rstrip().endswith("}")
    assert "fail" not in run_cli("check", "--no-strict", "specs")[1]


def test_the_hooks_default_strict_yields_to_the_configuration(repo, run_cli):
    assert run_cli("check", "--default-strict", "specs")[0] == 1
    (repo / "plays.toml").write_text("strict = false\n")
    assert run_cli("check", "--default-strict", "specs")[0] == 0
    (repo / "specs" / "a.play").write_text(CLEAN)
    assert run_cli("check", "--default-strict", "specs")[0] == 0


def test_the_pre_commit_hook_runs_default_strict():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
    check = hooks.split("- id: plays-check", 1)[1].split("- id:", 1)[0]
    assert "entry: plays check --default-strict\n" in check


def test_a_severity_made_error_fails_check_compile_and_run(repo, run_cli):
    (repo / "plays.toml").write_text('paths = ["specs"]\n[severity]\nW402 = "error"\nW300 = "off"\n')
    code, out, _ = run_cli("check")
    assert code == 1 and out.splitlines()[0] == "specs/a.play:2:1: error[W402]: this alert has no playbook: it creates no tasks"
    assert out.splitlines()[-1] == "1 error, 0 warnings"
    assert run_cli("compile", "-o", "plan.json")[0] == 1
    (repo / "s.csv").write_text("account,date,seat\nacme,2026-01-01,0.5\n")
    code, _, err = run_cli("run", "-s", "s.csv")
    assert code == 1 and "error[W402]" in err
    assert run_cli("run", "--isolated", "specs", "-s", "s.csv")[0] == 0


def test_config_and_isolated_flags(repo, run_cli):
    (repo / "plays.toml").write_text("strict = true\n")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert run_cli("check", "--isolated", "specs")[0] == 0
    assert run_cli("check", "--config", "nope.toml", "specs") == (
        2, "", "plays: error: nope.toml: no such configuration file\n")
    assert run_cli("check", "--config", "pyproject.toml", "specs") == (
        2, "", "plays: error: pyproject.toml: no [tool.plays] table (the configuration of plays goes there)\n")
    assert run_cli("check", "--config", "plays.toml", "--isolated", "specs") == (
        2, "", "plays: error: give --config or --isolated, not both\n")
    (repo / "pyproject.toml").write_text("[tool.plays]\nstrict = false\n")
    assert run_cli("check", "--config", "pyproject.toml", "specs")[0] == 0


def test_test_paths_and_fail_under_drive_plays_test(repo, run_cli):
    tests = repo / "specs" / "tests"
    tests.mkdir()
    (repo / "specs" / "a.play").write_text(CLEAN + 'alert b { when: seat < 10%  playbook { task t "T" { } } }\n')
    (tests / "a.test.yaml").write_text(
        "specs: [..]\ntests:\n  - name: fires\n    start: 2026-01-01\n    accounts:\n"
        "      acme: {series: {seat: 90% 90%}}\n    expect:\n      - {event: alert_fired, alert: a}\n")
    (repo / "plays.toml").write_text('test-paths = ["specs/tests"]\nfail-under = 60\n')
    code, out, err = run_cli("test")
    assert code == 1
    assert out.splitlines()[-2:] == ["coverage: 50.0% of alerts, goals and playbooks exercised", "  not exercised: alert b"]
    assert err == "coverage 50.0% is under --fail-under 60%\n"
    (repo / "plays.toml").write_text('paths = ["specs"]\nfail-under = 50\n')  # test-paths defaults to paths
    assert run_cli("test")[0] == 0
    assert run_cli("test", "--coverage", "--fail-under", "90")[0] == 1  # the command line wins


# --- any TOML: a Settings or a ConfigError, never another exception ------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SEED = ('# plays\n[tool.plays]\npaths = ["specs/", \'x\']\ntest-paths = [\n  "t",  # c\n]\nstrict = true\n'
        'fail-under = 90.5\n[tool.plays.severity]\nW300 = "error"\n"W402" = \'off\'\n')
FRAGMENTS = ["[", "]", "{", "}", "=", ",", ".", '"', "'", '"""', "'''", "#", "\n", " ", "\\", "W300", "E302",
             "stict", "paths", "severity", "tool", "plays", "true", "1", "-1", "1e400", "1979-05-27", "inf",
             '"off"', "x = 1\n", "[tool.plays.severity]\n", "[[a]]\n", "é", "\t"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_configuration_text_is_settings_or_positioned_config_errors(data):
    import tomllib

    from plays.config import Settings

    text = SEED
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.sampled_from(FRAGMENTS)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 8)):]
    try:
        s = parse_config(text, "pyproject.toml", pyproject=True)
    except ConfigError as e:
        lines = text.split("\n")
        for d in e.diagnostics:
            assert d.code in ("C100", "C101", "C102", "C103")
            assert 1 <= d.span.line <= len(lines) + 1
        for d in e.diagnostics:
            if d.code == "C101" and d.span.line > 1:  # a located unknown key is underlined exactly
                key = d.message.split("`")[1]
                shown = lines[d.span.line - 1][d.span.col - 1:d.span.end_col - 1]
                assert shown.strip("\"'") == key or shown == key, (text, d)
        return
    except Exception as e:  # noqa: BLE001
        # a usage error is fine only for a file without [tool.plays]: not this one
        raise AssertionError(f"{type(e).__name__}: {e}\n{text}") from None
    assert isinstance(s, Settings)
    tomllib.loads(text)  # it parsed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=60) | st.sampled_from(FRAGMENTS).map(lambda f: ('strict = true\n' + f).encode()))
def test_plays_check_with_any_plays_toml_exits_0_1_or_2_without_an_internal_error(content):
    import contextlib
    import io
    import os
    import tempfile

    from plays.cli import main

    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, ".git"))
        os.mkdir(os.path.join(d, "specs"))
        Path(d, "specs", "a.play").write_text(CLEAN)
        Path(d, "plays.toml").write_bytes(content)
        old = os.getcwd()
        os.chdir(d)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(["check", "specs"])
                    code = 0
                except SystemExit as e:
                    code = e.code
        finally:
            os.chdir(old)
    assert code in (0, 1, 2), err.getvalue()
    assert "internal error" not in err.getvalue() and "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("plays.toml:1:") or "error[C1" in err.getvalue(), err.getvalue()


def test_explain_and_diff_git_read_the_configurations_paths(tmp_path, run_cli):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.play").write_text(CLEAN)
    (tmp_path / "plays.toml").write_text('paths = ["specs"]\n')
    (tmp_path / "s.csv").write_text("account,date,seat\nacme,2026-01-01,0.9\nacme,2026-01-02,0.5\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, env=env)
    code, out, _ = run_cli("explain", "a", "-s", "s.csv", "--account", "acme", "--date", "2026-01-01")
    assert code == 0 and out.splitlines()[-1] == "  verdict: FIRED on 2026-01-01"
    (tmp_path / "specs" / "a.play").write_text(CLEAN.replace("80%", "95%"))
    code, out, err = run_cli("diff", "--git", "HEAD", "-s", "s.csv", "--format", "json")
    assert code == 0, err
    import json

    assert [(c["name"], c["change"]) for c in json.loads(out)["rules"]] == [("a", "changed")]


def test_a_configured_path_that_does_not_exist_names_where_it_came_from(repo, run_cli):
    (repo / "plays.toml").write_text('paths = ["spec"]\ntest-paths = ["tests"]\n')
    assert run_cli("check") == (2, "", "plays: error: spec: no such file or directory (from `paths` in plays.toml)\n")
    assert run_cli("run", "-s", "x.csv")[2] == "plays: error: spec: no such file or directory (from `paths` in plays.toml)\n"
    assert run_cli("test") == (2, "", "plays: error: tests: no such file or directory (from `test-paths` in plays.toml)\n")


def test_fmt_without_paths_formats_the_configurations_paths_only(repo, run_cli):
    (repo / "other.play").write_text("metric  x :  count\n")
    (repo / "specs" / "a.play").write_text("metric  seat :  percent\n")
    (repo / "plays.toml").write_text('paths = ["specs"]\n')
    assert run_cli("fmt", "--check") == (
        1, "would reformat: specs/a.play\n1 file would be reformatted, 0 already formatted\n", "")
    assert run_cli("fmt", "--isolated", "--check")[1].splitlines()[:2] == [
        "would reformat: other.play", "would reformat: specs/a.play"]
