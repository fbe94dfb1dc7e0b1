"""Names and ids from the data are shown escaped in every text output: they cannot forge lines or reach the terminal."""

import sqlite3
from datetime import date

from conftest import apply

from plays.cli.output import render_text as render_events
from plays.runtime.events import Event

EVIL = "acme\n::error file=x::forged\x1b[2J\u202e"
SHOWN = r"acme\n::error file=x::forged\x1b[2J\u202e"


def clean(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text
    assert not any(line.startswith(("::", "forged")) for line in text.splitlines())


def test_run_text_escapes_account_ids_titles_and_values():
    events = [
        Event("alert_fired", date(2026, 1, 1), EVIL, alert="low", severity="high", playbook="p\x1b",
              values={"m": "x\ny"}),
        Event("task_created", date(2026, 1, 1), EVIL, alert="low", playbook="p", task="call", title=f"Call {EVIL}",
              type="call", owner="csm", due=date(2026, 1, 2)),
    ]
    out = render_events(events, accounts=1, rows=1)
    clean(out)
    assert f"  {SHOWN}\n" in out and f"  Call {SHOWN}\n" in out and r"m = x\ny" in out


def evil_store(store_path, plan):
    con, _ = apply(store_path, plan)
    for table in ("alerts", "goals", "tasks"):
        con.execute(f"UPDATE {table} SET account = ?", [EVIL])
    con.execute("UPDATE tasks SET title = ?", [EVIL])
    con.execute("UPDATE goals SET playbook = ?", [EVIL])
    con.close()


def test_lists_and_the_report_escape_what_the_store_holds(run_cli, store_path, plan):
    evil_store(store_path, plan)
    for args in (["tasks"], ["alerts", "--all"], ["goals"], ["report"]):
        code, out, err = run_cli(*args, "--state", str(store_path))
        assert code == 0, err
        clean(out)
    code, out, _ = run_cli("tasks", "--state", str(store_path))
    assert SHOWN in out
    code, out, _ = run_cli("report", "--state", str(store_path))
    assert r"acme\n::error" in out or SHOWN[:20] in out  # the playbook column, possibly padded


def test_a_refused_action_escapes_the_id_it_names(run_cli, store_path, plan):
    evil_store(store_path, plan)
    code, _, err = run_cli("task", "done", "t-\nforged\x1b", "--state", str(store_path))
    assert code == 1 and err.count("\n") == 1 and "\x1b" not in err


def test_plays_run_text_end_to_end_shows_escape_sequences_escaped(run_cli, tmp_path):
    from conftest import SPEC

    (tmp_path / "s.play").write_text(SPEC)
    rows = [f"a1\x1b[31m,2026-01-{d:02d},Evil\x1b[2J\u202e,standard,{m}" for d, m in ((1, 3), (2, 3), (3, 6))]
    (tmp_path / "s.csv").write_text("account,date,name,tier,m\n" + "\n".join(rows) + "\n")
    for extra in ([], ["--jobs", "2"]):
        code, out, err = run_cli("run", "s.play", "-s", "s.csv", *extra)
        assert code == 0, err
        clean(out)
        assert "  a1\\x1b[31m\n" in out and "Call Evil\\x1b[2J\\u202e" in out
