"""`plays check` and `plays compile`: formats, exit codes, atomic output, determinism."""

import json
import random
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

DATA = Path(__file__).parent / "data"
BAD = "alert x {\n\twhen: seat_utilization > 80 and tier == premum\n  playbook { task t \"T\" { } }\n}\n"


@pytest.fixture
def specs(tmp_path, examples_text):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "examples.play").write_text(examples_text)
    return d


def test_check_clean_exits_0(run_cli, specs):
    code, out, err = run_cli("check", "specs")
    assert (code, out, err) == (0, "1 file checked: no problems\n", "")


def test_check_text_output_has_caret_under_the_span_with_tabs_kept(run_cli, specs):
    (specs / "bad.play").write_text(BAD)
    code, out, _ = run_cli("check", "specs")
    assert code == 1
    assert out == (
        "specs/bad.play:2:27: warning[W300]: comparing a percent with the plain number 80; percents are fractions (0.8 is 80%)\n"
        " 2 | \twhen: seat_utilization > 80 and tier == premum\n"
        "   | \t                         ^^\n"
        "  = help: did you mean `80%`?\n"
        "specs/bad.play:2:42: error[E302]: `premum` is not a value of `tier` (standard, premium)\n"
        " 2 | \twhen: seat_utilization > 80 and tier == premum\n"
        "   | \t                                        ^^^^^^\n"
        "  = help: did you mean `premium`?\n"
        "1 error, 1 warning\n"
    )


def test_check_json(run_cli, specs):
    (specs / "bad.play").write_text(BAD)
    code, out, _ = run_cli("check", "--format", "json", "specs")
    doc = json.loads(out)
    assert code == 1 and doc["summary"] == {"errors": 1, "warnings": 1}
    d = doc["diagnostics"][1]
    assert (d["code"], d["severity"], d["span"]["line"], d["span"]["col"], d["suggestion"]) == ("E302", "error", 2, 42, "premium")


def test_check_github_annotations_escape_data_and_properties(run_cli, specs):
    (specs / "bad,name.play").write_text(BAD)
    code, out, _ = run_cli("check", "--format", "github", "specs")
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (
        "::warning file=specs/bad%2Cname.play,line=2,col=27,endLine=2,endColumn=29,title=plays W300::"
        "comparing a percent with the plain number 80; percents are fractions (0.8 is 80%25) (did you mean `80%25`?)"
    )
    assert lines[1].startswith("::error file=specs/bad%2Cname.play,line=2,col=42,")


def test_check_sarif_validates_against_the_sarif_schema(run_cli, specs):
    (specs / "bad.play").write_text(BAD + "alert x { when: mau > 1  playbook { } }\n")
    code, out, _ = run_cli("check", "--format", "sarif", "specs")
    log = json.loads(out)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert code == 1 and [r["ruleId"] for r in results] == ["W300", "E302", "E201"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [rules[r["ruleIndex"]]["id"] for r in results] == ["W300", "E302", "E201"]
    assert results[2]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_strict_turns_warnings_into_failure(run_cli, specs):
    (specs / "empty.play").write_text("# nothing yet\n")
    assert run_cli("check", "specs")[0] == 0
    code, out, _ = run_cli("check", "--strict", "specs")
    assert code == 1 and "warning[W100]: this file declares nothing" in out


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["check", "nope"], "plays: error: nope: no such file or directory\n"),
        ("emptydir", ["check", "emptydir"], "plays: error: emptydir: no .play files in this directory\n"),
        ("binary", ["check", "bin.play"], "plays: error: bin.play: not UTF-8 text (byte 0xff at line 1, byte 1 of the line); is it a binary file?\n"),
        ("nul", ["check", "nul.play"], "plays: error: nul.play: not a text file (it contains NUL bytes; is it a binary file?)\n"),
    ],
)
def test_usage_and_io_errors_exit_2_with_one_line(run_cli, tmp_path, setup, args, message):
    if setup == "emptydir":
        (tmp_path / "emptydir").mkdir()
        (tmp_path / "emptydir" / "notes.txt").write_text("x")
    elif setup == "binary":
        (tmp_path / "bin.play").write_bytes(b"\xff\xfe\x01")
    elif setup == "nul":
        (tmp_path / "nul.play").write_bytes(b"metric a: count\x00")
    code, out, err = run_cli(*args)
    assert (code, out, err) == (2, "", message)


def test_huge_file_of_garbage_gives_diagnostics_not_a_crash(run_cli, tmp_path):
    (tmp_path / "huge.play").write_text(("alert a { when: ) }\n" + "x" * 1000 + "\n") * 2000)
    code, out, _ = run_cli("check", "huge.play")
    assert code == 1 and "error[E100]" in out


def test_compile_writes_a_valid_plan(run_cli, specs, tmp_path):
    code, out, err = run_cli("compile", "specs", "-o", "plan.json")
    assert (code, err) == (0, "")
    plan = json.loads((tmp_path / "plan.json").read_text())
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(plan)
    assert [a["name"] for a in plan["alerts"]] == ["usage_drop"]


def test_compile_failure_leaves_the_existing_output_untouched(run_cli, specs, tmp_path):
    (tmp_path / "plan.json").write_text("previous plan")
    (specs / "bad.play").write_text(BAD)
    code, out, _ = run_cli("compile", "specs", "-o", "plan.json")
    assert code == 1 and "error[E302]" in out
    assert (tmp_path / "plan.json").read_text() == "previous plan"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan")] == []


def test_plan_bytes_do_not_depend_on_file_order(run_cli, tmp_path, examples_text):
    """The declarations split across files, given in any order (or as a folder), give the same bytes."""
    import re

    chunks = re.split(r"\n(?=(?:alert|goal|external|metric|account) )", examples_text)
    d = tmp_path / "set"
    d.mkdir()
    names = []
    for i, chunk in enumerate(chunks):
        (d / f"part{i:02}.play").write_text(chunk + "\n")
        names.append(f"set/part{i:02}.play")
    outputs = set()
    for seed in range(4):
        order = names[:]
        random.Random(seed).shuffle(order)
        code, out, err = run_cli("compile", *order, "-o", "-")
        assert code == 0, err
        outputs.add(out)
    code, out, _ = run_cli("compile", "set", "-o", "-")
    outputs.add(out)
    assert len(outputs) == 1
    plan = json.loads(outputs.pop())
    assert [s["path"] for s in plan["sources"]] == sorted(names) and len(names) > 10
    assert json.loads(json.dumps(plan)) == plan


def test_help_explains_every_command_with_an_example(run_cli):
    code, out, _ = run_cli("--help")
    commands = [line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()]
    assert {"check", "compile", "run", "explain", "test", "tasks", "alerts", "goals", "goal", "task", "report"} <= set(commands)
    for cmd in [*commands, "goal deploy", "goal measure", "task done"]:
        code, out, _ = run_cli(*cmd.split(), "--help")
        assert code == 0 and "Examples:" in out, cmd


def test_installed_console_script_runs_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "plays"
    if not exe.exists():
        pytest.skip("the plays console script is not installed next to this Python")
    (tmp_path / "a.play").write_text(BAD)
    proc = subprocess.run([str(exe), "check", "a.play"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    proc = subprocess.run([str(exe), "check", "missing"], cwd=tmp_path, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (2, "plays: error: missing: no such file or directory\n")


def test_no_paths_is_a_usage_error_with_an_example(run_cli):
    for cmd in (["check"], ["compile", "-o", "plan.json"]):
        code, out, err = run_cli(*cmd)
        assert code == 2 and out == ""
        assert err == (f"plays: error: give at least one .play file or folder of them, for example: plays {cmd[0]} "
                       f"specs/, or set `paths` in the configuration (see `plays {cmd[0]} --help`)\n")


def test_version(run_cli):
    from plays import __version__

    assert run_cli("--version") == (0, f"plays, version {__version__}\n", "")


def test_bad_option_is_a_usage_error(run_cli, specs):
    code, _, err = run_cli("check", "--format", "xml", "specs")
    assert code == 2 and "Invalid value for '--format'" in err
    assert err.count("\n") == 1 and err.startswith("plays: error: ") and err.endswith("(see `plays check --help`)\n")


@pytest.mark.parametrize("args, message", [
    (["nope"], "No such command 'nope'."),
    (["check", "--bogus", "specs"], "--bogus"),
    (["task", "done", "t-1", "--on", "9999-12-31", "--state", "x.db"],
     "Invalid value for '--on': 9999-12-31 is out of range: dates are from 1900-01-01 to 2999-12-31"),
    (["goal", "deploy", "g", "--account", "a", "--on", "2026-02-30"],
     "Invalid value for '--on': `2026-02-30` is not a date like 2026-03-01"),
    (["tasks", "--as-of", "a\x1b[2Jb"], r"Invalid value for '--as-of': `a\x1b[2Jb` is not a date like 2026-03-01"),
    (["report", "--as-of", "1899-12-31"], None),
])
def test_every_usage_error_is_one_line(run_cli, specs, args, message):
    code, out, err = run_cli(*args)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("plays: error: ")
    assert "\x1b" not in err
    if message:
        assert message in err


def test_a_command_alone_prints_its_help(run_cli):
    for args in ([], ["goal"]):
        code, out, err = run_cli(*args)
        assert code == 2 and "Usage: plays" in err and "\n\nOptions:\n" in err and "\\n" not in err


def test_syntax_errors_exit_1_in_every_format(run_cli, tmp_path):
    (tmp_path / "bad.play").write_text("alert a {\n  when: mau = 3\n}\n")
    (tmp_path / "open.play").write_text("alert b {\n  when: mau > 3\n")
    for fmt in ("text", "json", "github", "sarif"):
        code, out, err = run_cli("check", "--format", fmt, "bad.play", "open.play")
        assert (code, err) == (1, ""), fmt
        assert "E100" in out and "E101" in out, fmt


def test_clean_check_in_machine_formats_is_still_a_document(run_cli, specs):
    code, out, _ = run_cli("check", "--format", "json", "specs")
    assert code == 0 and json.loads(out) == {"diagnostics": [], "summary": {"errors": 0, "warnings": 0}}
    assert run_cli("check", "--format", "github", "specs") == (0, "", "")
    code, out, _ = run_cli("check", "--format", "sarif", "specs")
    assert code == 0 and json.loads(out)["runs"][0]["results"] == []


def test_empty_file_warns_and_strict_fails_in_machine_formats_too(run_cli, tmp_path):
    (tmp_path / "empty.play").write_bytes(b"")
    code, out, _ = run_cli("check", "--format", "json", "empty.play")
    assert code == 0 and [d["code"] for d in json.loads(out)["diagnostics"]] == ["W100"]
    code, out, _ = run_cli("check", "--strict", "--format", "github", "empty.play")
    assert code == 1 and out.startswith("::warning file=empty.play,")


def test_colour_only_on_a_terminal_and_never_with_no_color(run_cli, specs, monkeypatch):
    (specs / "bad.play").write_text(BAD)
    assert "\x1b[" not in run_cli("check", "specs")[1]
    code, out, _ = run_cli("check", "specs", tty=True)
    assert code == 1 and "\x1b[31m" in out and "\x1b[0m" in out
    # the colours are only added around the pieces: without them the text is the same
    import click

    assert click.unstyle(out) == run_cli("check", "specs")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_cli("check", "specs", tty=True)[1]


def test_compile_to_stdout_keeps_diagnostics_on_stderr(run_cli, specs):
    (specs / "empty.play").write_text("")
    code, out, err = run_cli("compile", "specs", "-o", "-")
    assert code == 0 and json.loads(out)["alerts"]
    assert "warning[W100]" in err and "W100" not in out


def test_compile_strict_refuses_to_write_on_warnings(run_cli, specs, tmp_path):
    (specs / "empty.play").write_text("")
    code, out, _ = run_cli("compile", "--strict", "specs", "-o", "plan.json")
    assert code == 1 and "warning[W100]" in out and not (tmp_path / "plan.json").exists()
    assert run_cli("compile", "specs", "-o", "plan.json")[0] == 0 and (tmp_path / "plan.json").exists()


def test_compile_replaces_an_existing_plan_whole(run_cli, specs, tmp_path):
    (tmp_path / "plan.json").write_text("x" * 10_000_000)  # longer than the plan: no tail may survive
    assert run_cli("compile", "specs", "-o", "plan.json")[0] == 0
    json.loads((tmp_path / "plan.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "specs"]


def test_compile_into_a_missing_folder_exits_2(run_cli, specs):
    code, out, err = run_cli("compile", "specs", "-o", "out/plan.json")
    assert (code, out, err) == (2, "", "plays: error: out/plan.json: cannot write: No such file or directory\n")


def test_an_unexpected_exception_is_one_line_and_exit_70(run_cli, specs, monkeypatch):
    import plays.compiler.driver

    def boom(*a, **k):
        raise RuntimeError("the compiler fell over")

    monkeypatch.setattr(plays.compiler.driver, "compile_sources", boom)
    assert run_cli("check", "specs") == (70, "", "plays: internal error: RuntimeError: the compiler fell over\n")


def test_lazy_commands_that_do_not_exist_yet_are_skipped(run_cli, monkeypatch):
    import plays.cli

    monkeypatch.setitem(plays.cli._LAZY, "future", "plays.not_written_yet:future")
    monkeypatch.setitem(plays.cli._LAZY, "renamed", "plays.render:no_such_command")
    code, out, _ = run_cli("--help")
    assert code == 0 and "check" in out and "future" not in out and "renamed" not in out
    code, _, err = run_cli("future")
    assert code == 2 and "No such command 'future'" in err


def test_a_lazy_command_whose_own_imports_fail_is_reported_not_hidden(run_cli, monkeypatch, tmp_path):
    import plays.cli

    (tmp_path / "broken_stage.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(plays.cli._LAZY, "broken", "broken_stage:broken")
    code, out, _ = run_cli("--help")
    assert code == 0 and "broken" not in out  # --help still works
    code, _, err = run_cli("broken")
    assert code == 70 and "a_dependency_nobody_installed" in err and "Traceback" not in err


def test_python_dash_m_runs_the_cli(tmp_path):
    (tmp_path / "e.play").write_text("")
    proc = subprocess.run([sys.executable, "-m", "plays.cli", "check", "--strict", "e.play"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "warning[W100]" in proc.stdout


def test_a_compiled_plan_that_fails_the_schema_is_an_internal_error(run_cli, specs, monkeypatch):
    """Such a plan is the compiler's bug, not the user's: exit 70, one line, no file written."""
    import dataclasses

    import plays.compiler.lower as lower

    real = lower.lower
    monkeypatch.setattr(lower, "lower", lambda ctx, sources: dataclasses.replace(real(ctx, sources), plan_version=2))
    code, out, err = run_cli("compile", "specs", "-o", "plan.json")
    assert code == 70 and err.startswith("plays: internal error: PlanError: the plan does not match")
    assert "Traceback" not in err and not (specs.parent / "plan.json").exists()


def test_a_file_name_with_a_newline_cannot_inject_a_workflow_command(run_cli, tmp_path):
    name = "a.play\n::error file=x.play,line=1::forged"
    (tmp_path / name).write_text("alert x { when: nope > 1 }\n")
    for fmt in ("text", "github"):
        code, out, _ = run_cli("check", "--format", fmt, name)
        assert code == 1
        assert not any(line.startswith("::error file=x.play") for line in out.splitlines()), fmt
    code, out, _ = run_cli("check", name)
    assert out.startswith(r"a.play\n::error file=x.play,line=1::forged:1:1: warning[W402]")


def test_max_diagnostics_caps_each_file_and_counts_the_rest(run_cli, tmp_path):
    # distinct conditions: the same one twice is a W200 of its own
    (tmp_path / "w.play").write_text("metric p: percent\n" + "".join(f"alert a{i} {{ when: p > {5 + i} }}\n" for i in range(150)))
    code, out, _ = run_cli("check", "w.play")
    # each alert has two warnings (no playbook, a percent compared with 5)
    assert code == 0 and out.count(": warning[") == 100  # the default
    assert out.splitlines()[-2:] == [
        "w.play: 200 more diagnostics not shown (the first 100 of the file are; --max-diagnostics 0 shows all)",
        "0 errors, 300 warnings",
    ]
    code, out, _ = run_cli("check", "--max-diagnostics", "0", "w.play")
    assert out.count(": warning[") == 300 and "not shown" not in out
    code, out, _ = run_cli("check", "--max-diagnostics", "3", "--strict", "--format", "json", "w.play")
    doc = json.loads(out)
    assert code == 1 and len(doc["diagnostics"]) == 3 and doc["summary"]["omitted"] == {"w.play": 297}
    code, _, err = run_cli("check", "--max-diagnostics", "-1", "w.play")
    assert code == 2


@pytest.mark.slow
def test_thirty_thousand_warnings_in_a_big_file_render_in_seconds(run_cli, tmp_path):
    import time

    # 20,000 alerts (about 600 KB), each with a warning; quadratic rendering took about 50 s for 30,000.
    (tmp_path / "w.play").write_text("metric p: percent\n" + "".join(f"alert a{i} {{ when: p > {5 + i} }}\n" for i in range(20000)))
    started = time.perf_counter()
    code, out, _ = run_cli("check", "--max-diagnostics", "0", "w.play")
    elapsed = time.perf_counter() - started
    assert code == 0 and out.count("warning[W300]") == 20000 and out.endswith("0 errors, 40,000 warnings\n")
    assert elapsed < 30, elapsed  # the check itself takes most of it; rendering is linear
