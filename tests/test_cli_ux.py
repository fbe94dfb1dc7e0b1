"""Rough edges a new user meets on the command line: each message says what happened and what to do."""

from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SNAPSHOTS = str(ROOT / "examples" / "snapshots.csv")
SPECS = str(ROOT / "specs")


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "-"], "plays: error: -: specs are read from files, not standard input (name .play files or "
                         "folders; `plays fmt -` formats standard input)\n"),
        (["compile", "-", "-o", "plan.json"], "plays: error: -: specs are read from files, not standard input "
                                              "(name .play files or folders; `plays fmt -` formats standard input)\n"),
        (["run", SPECS, "--snapshots", "-"], "plays: error: -: snapshots are read from files, not standard input "
                                             "(name CSV or Parquet files)\n"),
        (["test", "-"], "plays: error: -: spec tests are read from files, not standard input "
                        "(name *.test.yaml files or folders)\n"),
    ],
)
def test_a_dash_for_standard_input_says_that_only_files_are_read(run_cli, args, message):
    # was `-: no such file or directory`: true, but a user who typed `-` meant standard input
    assert run_cli(*args) == (2, "", message)


def test_a_file_really_named_dash_is_still_read(run_cli, tmp_path):
    (tmp_path / "-").write_text("metric mau: count\n")
    code, out, _ = run_cli("check", "-")
    assert (code, out) == (0, "1 file checked: no problems\n")


def test_run_from_after_the_last_snapshot_warns_that_nothing_can_be_reported(run_cli):
    # was: a summary of 4,022 snapshots evaluated and 0 events, with no word on why
    code, out, err = run_cli("run", SPECS, "--snapshots", SNAPSHOTS, "--from", "2026-05-01")
    assert code == 0 and "alerts fired: 0" in out
    assert err == "plays: warning: --from 2026-05-01 is after the last snapshot (2026-04-30): no event can be reported\n"
    assert run_cli("run", SPECS, "--snapshots", SNAPSHOTS, "--from", "2026-04-30")[2] == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["chek", "specs"], "No such command 'chek'. Did you mean `plays check`? (see `plays --help`)"),
        (["format", "specs"], "No such command 'format'. Did you mean `plays fmt`? (see `plays --help`)"),
        (["lint", "specs"], "No such command 'lint'. Did you mean `plays check`? (see `plays --help`)"),
        (["goal", "deplyo", "x"], "No such command 'deplyo'. Did you mean `plays goal deploy`? (see `plays goal --help`)"),
        (["task", "complete", "t-1"], "No such command 'complete'. Did you mean `plays task done`? "
                                      "(see `plays task --help`)"),
        (["xyzzy"], "No such command 'xyzzy'. (see `plays --help`)"),
    ],
)
def test_an_unknown_command_suggests_the_one_meant(run_cli, args, message):
    assert run_cli(*args) == (2, "", f"plays: error: {message}\n")


@pytest.mark.parametrize("code", ["E302", "w300"])
def test_explain_given_a_diagnostic_code_points_at_explain_code(run_cli, code):
    # was: `Missing option '--account'`, for a user who wanted the code explained
    assert run_cli("explain", code) == (2, "", (
        f"plays: error: {code} is a diagnostic code: `plays explain-code {code}` explains it "
        "(`plays explain RULE` explains why a rule fired) (see `plays explain --help`)\n"))


def test_every_option_of_every_command_says_what_it_does():
    import click

    from plays.cli import cli

    ctx = click.Context(cli)
    bare = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
            return
        bare.extend(f"{' '.join(path)} {p.opts[0]}" for p in cmd.params
                    if isinstance(p, click.Option) and not p.hidden and not p.help)

    walk(cli, ["plays"])
    assert bare == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "--html", "-"], "--html -: the page is written to a file (standard output has the report); "
                                    "name one, such as report.html"),
        (["test", SPECS, "--junit-xml", "-"], "--junit-xml -: the report is written to a file (standard output has "
                                              "the results); name one, such as report.xml"),
        (["diff", SPECS, SPECS, "-s", SNAPSHOTS, "--html", "-"],
         "--html -: the page is written to a file (standard output has the diff); name one, such as diff.html"),
        (["run", SPECS, "-s", SNAPSHOTS, "--format", "parquet", "-o", "-"],
         "--format parquet needs -o FILE (Parquet is not for a terminal)"),
    ],
)
def test_a_dash_for_a_file_only_output_is_refused_not_written_as_a_file_named_dash(run_cli, tmp_path, args, message):
    assert run_cli(*args) == (2, "", f"plays: error: {message}\n")
    assert not (tmp_path / "-").exists()


def test_run_and_diff_o_dash_write_standard_output_as_compile_does(run_cli, tmp_path):
    code, out, _ = run_cli("run", SPECS, "-s", SNAPSHOTS, "--format", "json", "-o", "-")
    assert code == 0 and out == run_cli("run", SPECS, "-s", SNAPSHOTS, "--format", "json")[1] != ""
    code, out, _ = run_cli("diff", SPECS, SPECS, "-s", SNAPSHOTS, "-o", "-")
    assert code == 0 and out.startswith("no changes")
    assert not (tmp_path / "-").exists()


def test_the_readmes_check_example_is_what_plays_check_prints(run_cli, tmp_path):
    readme = (ROOT / "README.md").read_text("utf-8")
    shown = readme.split("$ plays check specs/\n", 1)[1].split("```", 1)[0]
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "catalog.play").write_text((ROOT / "specs" / "catalog.play").read_text("utf-8"))
    (tmp_path / "specs" / "alerts.play").write_text(
        "# rules\n" * 10 + 'alert a "A" {\n  where: tier == premum\n  when: mau < 10\n'
        '  playbook { task t "T" { due: 1d } }\n}\n')
    assert run_cli("check", "--no-cache", "specs/") == (1, shown, "")


@pytest.mark.parametrize(
    "args, option, where",
    [
        (["run", SPECS, "-s", ""], "--snapshots", "run"),
        (["run", SPECS, "-s", SNAPSHOTS, "-o", "", "--format", "json"], "--output", "run"),
        (["run", "--plan=", "-s", SNAPSHOTS], "--plan", "run"),
        (["check", SPECS, "--config", ""], "--config", "check"),
        (["check", SPECS, "--cache-dir", ""], "--cache-dir", "check"),
        (["compile", SPECS, "-o", ""], "--output", "compile"),
        (["report", "--html", ""], "--html", "report"),
        (["test", SPECS, "--junit-xml", ""], "--junit-xml", "test"),
        (["task", "done", "t-1", "--on", ""], "--on", "task done"),
        (["goal", "deploy", "save_plan", "--account", ""], "--account", "goal deploy"),
    ],
)
def test_an_empty_option_value_is_refused_naming_the_option(run_cli, tmp_path, args, option, where):
    # was, by option: a file named `` silently not written (-o, --html, --junit-xml), `: no such file`,
    # `: not a file`, `: cannot write`, or the cache in the current folder
    assert run_cli(*args) == (2, "", f"plays: error: {option}: an empty value was given (a quoted variable that "
                                     f"is not set?) (see `plays {where} --help`)\n")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_positional_path_and_a_flag_before_it_keep_their_own_message(run_cli):
    assert run_cli("check", "--strict", "") == (
        2, "", "plays: error: an empty path was given (a quoted variable that is not set?)\n")


@pytest.mark.parametrize("args, where", [(["compile", SPECS, "-o"], "compile"), (["task", "done", "t-1", "--on"], "task done")])
def test_an_option_missing_its_value_says_which_help_to_read(run_cli, args, where):
    # click raises this one without the command: the line ended with no `(see ...)`
    code, out, err = run_cli(*args)
    assert (code, out) == (2, "")
    assert err == f"plays: error: Option '{args[-1]}' requires an argument. (see `plays {where} --help`)\n"
