"""`plays run` and `plays explain` on the bundled example and on bad input."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")


def test_readme_main_command_shows_every_kind_of_event(run_cli):
    code, out, err = run_cli("run", SPECS, "--snapshots", EXAMPLE)
    assert code == 0, err
    for word in ("ALERT", "RESOLVED", "GOAL", "task", "KPI MET", "ACHIEVED", "MISSED", "Summary"):
        assert word in out, word


def test_json_lines_are_deterministic_and_in_the_contract_order(run_cli):
    from plays.runtime.events import KINDS

    code, first, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    _, second, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    assert code == 0 and first == second
    events = [json.loads(line) for line in first.splitlines()]
    keys = [(e["date"], e["account"], KINDS.index(e["event"])) for e in events]
    assert keys == sorted(keys)
    assert {e["event"] for e in events} == set(KINDS)
    task = next(e for e in events if e["event"] == "task_created")
    assert {"id", "task", "title", "type", "owner", "due", "after", "playbook"} <= set(task)


def test_from_to_and_account_filter_what_is_reported(run_cli):
    _, out, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json", "--from", "2026-02-01", "--to", "2026-02-28")
    dates = {json.loads(line)["date"] for line in out.splitlines()}
    assert dates and all("2026-02-01" <= d <= "2026-02-28" for d in dates)
    _, out, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json", "--account", "acme")
    assert {json.loads(line)["account"] for line in out.splitlines()} == {"acme"}


def test_plan_file_gives_the_same_events(run_cli, tmp_path):
    assert run_cli("compile", SPECS, "-o", "plan.json")[0] == 0
    _, from_specs, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    _, from_plan, _ = run_cli("run", "--plan", "plan.json", "-s", EXAMPLE, "--format", "json")
    assert from_specs == from_plan


def test_bad_snapshots_exit_1_with_positions_and_no_events(run_cli, tmp_path):
    (tmp_path / "bad.csv").write_text("account,date,mau\nacme,2026-01-01,lots\nacme,2026-13-01,1\n")
    code, out, err = run_cli("run", SPECS, "-s", "bad.csv")
    assert code == 1 and out == ""
    assert "bad.csv:2:1: error[R103]: line 2: `mau` is `lots`, not a number" in err
    assert "bad.csv:3:1: error[R104]" in err
    assert err.rstrip().endswith("2 problems in the snapshots; nothing was evaluated")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", SPECS, "-s", "missing.csv"], "plays: error: missing.csv: no such file\n"),
        (["run", "-s", EXAMPLE], "plays: error: no spec paths given (for example: plays run specs/ --snapshots data.csv)\n"),
        (["run", "--plan", "nope.json", "-s", EXAMPLE], "plays: error: nope.json: cannot read: No such file or directory\n"),
    ],
)
def test_usage_errors_exit_2(run_cli, args, message):
    code, out, err = run_cli(*args)
    assert (code, err) == (2, message)


def test_explain_shows_values_windows_and_why_it_fired(run_cli):
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    fire = next(json.loads(x) for x in out.splitlines() if '"alert_fired"' in x and '"usage_drop"' in x)
    code, out, err = run_cli("explain", "usage_drop", SPECS, "-s", EXAMPLE, "--account", fire["account"], "--date", fire["date"])
    assert code == 0, err
    assert "when: pct_change(mau, 7d) <= -20%" in out
    assert "pct_change(mau, 7d) = " in out and "[snapshot of " in out
    assert f"verdict: FIRED on {fire['date']}" in out


def test_explain_says_why_not(run_cli):
    code, out, _ = run_cli("explain", "overdue_invoice", SPECS, "-s", EXAMPLE, "-a", "acme", "-d", "2026-01-05")
    assert code == 0 and "verdict: not fired: the condition is false" in out
    code, _, err = run_cli("explain", "overdue_invoic", SPECS, "-s", EXAMPLE, "-a", "acme", "-d", "2026-01-05")
    assert code == 2 and "did you mean `overdue_invoice`?" in err
    code, _, err = run_cli("explain", "overdue_invoice", SPECS, "-s", EXAMPLE, "-a", "acme", "-d", "2025-01-05")
    assert code == 2 and "has no snapshot on 2025-01-05" in err


def test_output_file_gets_the_events_and_stdout_stays_empty(run_cli):
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json", "-o", "events.jsonl")
    assert (code, out) == (0, "")
    _, direct, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    assert Path("events.jsonl").read_text("utf-8") == direct


def test_an_empty_value_in_a_title_reads_as_a_dash_and_exit_0(run_cli, tmp_path):
    (tmp_path / "s.play").write_text('metric m: number\nalert x { when: m is empty  playbook {\n'
                                     '  task t "Next {{ m + 1 }}" { } } }\n')
    (tmp_path / "d.csv").write_text("account,date,m\nacme,2026-01-01,\n")
    code, out, err = run_cli("run", "s.play", "-s", "d.csv", "--format", "json")
    assert (code, err) == (0, "")
    assert '"title": "Next \u2014"' in out


def test_a_hand_edited_plan_with_a_bad_title_is_one_error_line_and_exit_1(run_cli, tmp_path):
    (tmp_path / "s.play").write_text('metric m: number\nalert x { when: m is empty  playbook {\n'
                                     '  task t "Next {{ m }}" { } } }\n')
    (tmp_path / "d.csv").write_text("account,date,m\nacme,2026-01-01,\n")
    assert run_cli("compile", "s.play", "-o", "plan.json")[0] == 0
    plan = Path("plan.json").read_text("utf-8").replace("Next {{ m }}", "Next {{ m ** 99 }}")
    Path("plan.json").write_text(plan, "utf-8")
    code, out, err = run_cli("run", "--plan", "plan.json", "-s", "d.csv")
    assert (code, out) == (1, "")
    assert err.startswith("plays: error: plan.json: s.play:3:3: task `t`: a title cannot raise to a power")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_account_is_a_warning_and_reversed_dates_an_error(run_cli):
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--account", "nobody", "--format", "json")
    assert (code, out, err) == (0, "", "plays: warning: no snapshots for account `nobody`\n")
    code, _, err = run_cli("run", SPECS, "-s", EXAMPLE, "--from", "2026-03-01", "--to", "2026-02-01")
    assert (code, err) == (2, "plays: error: --from is after --to\n")


def test_explain_a_date_trigger_shows_the_trigger_date_and_previous_snapshot(run_cli):
    _, out, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    dep = next(json.loads(x) for x in out.splitlines() if '"goal_deployed"' in x and '"onboarding"' in x)
    code, out, err = run_cli("explain", "onboarding", SPECS, "-s", EXAMPLE, "-a", dep["account"], "-d", dep["date"])
    assert code == 0, err
    assert "deploy: on sales_handoff_date" in out and f"trigger date = {dep['start']}" in out
    assert f"verdict: DEPLOYED on {dep['date']}" in out


def test_explain_refuses_an_external_goal_with_a_reason(run_cli):
    code, _, err = run_cli("explain", "acme_handle_time", SPECS, "-s", EXAMPLE, "-a", "acme", "-d", "2026-02-01")
    assert code == 2 and "is an external goal: it has no trigger to explain" in err


def test_a_hand_edited_plan_naming_an_unknown_metric_is_one_error_line(run_cli):
    assert run_cli("compile", SPECS, "-o", "plan.json")[0] == 0
    plan = json.loads(Path("plan.json").read_text("utf-8"))
    alert = next(a for a in plan["alerts"] if a["name"] == "usage_drop")
    alert["when"]["expr"]["left"]["args"][0]["name"] = "zzz"  # pct_change(mau, 7d) -> pct_change(zzz, 7d)
    Path("plan.json").write_text(json.dumps(plan), "utf-8")
    for args in (["run"], ["explain", "usage_drop", "-a", "acme", "-d", "2026-01-05"]):
        code, out, err = run_cli(*args, "--plan", "plan.json", "-s", EXAMPLE)
        assert (code, out) == (1, ""), err
        assert err.endswith("alert `usage_drop`: metric `zzz` is not in the plan's catalog\n") and err.count("\n") == 1


def test_progress_bar_only_on_a_terminal_and_for_long_runs(monkeypatch):
    import io
    import sys

    from plays.cli.run import _progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, rows, shown in ((io.StringIO(), 10**7, False), (Terminal(), 100, False), (Terminal(), 10**7, True)):
        monkeypatch.setattr(sys, "stderr", stream)
        step = _progress(rows)
        for label in ("alerts", "goals", "details", "done", "close"):
            step(label)
        assert ("evaluating" in stream.getvalue()) is shown, (rows, shown)
