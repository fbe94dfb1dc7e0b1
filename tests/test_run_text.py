"""`plays run`'s text: tasks in due order under their rule, columns from the plan, values by type, summary aligned."""

import os
import re
from datetime import date
from pathlib import Path

import pytest

from plays.cli.output import format_value, render_text
from plays.runtime.events import Event

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "golden" / "run_examples.txt"
UPDATE = os.environ.get("PLAYS_UPDATE_GOLDENS") == "1"

SPEC = """\
account { name: text }
metric mau: count
metric mrr: money
metric util: percent
alert drop "Drop" {
  severity: high
  when: pct_change(mau, 1d) <= -10% and mrr > $0 and util < 50%
  playbook {
    task zeta "Call {{ account.name }}" { type: call  owner: solutions_engineer  due: 2d }
    task alpha "Email" { type: email  due: 1d }
    task mid "Review" { type: todo  due: 2d }
  }
}
goal a_very_long_goal_name_for_the_summary_column "Long" {
  duration: 10d
  deploy: when mau > 0
  kpi: mau > 1000
  playbook { task only "Only" { type: todo  due: 3d } }
}
"""
DATA = "account,date,name,mau,mrr,util\nacme,2026-01-01,Acme,100,28800,0.35\nacme,2026-01-02,Acme,60,28800.5,0.355\n"

# By hand: day 1 deploys the goal (mau 100 > 0) with its one task due 3 days later; day 2 fires
# the alert: pct_change = (60 - 100) / 100 = -40%, mrr $28,800.50, util 35.5%. Its tasks by due
# date: alpha (1d) on 01-03, then zeta and mid (both 2d) on 01-04 in the playbook's order (zeta
# first, though `mid` sorts before it). Columns: the plan's longest task name (5), type (5),
# owner (solutions_engineer, 18).
HAND = """\
2026-01-01
  acme
    GOAL     a_very_long_goal_name_for_the_summary_column deployed (playbook default), 2026-01-01 to 2026-01-11
      task  only   due 2026-01-04  todo   csm                 Only

2026-01-02
  acme
    ALERT    drop [high] fired (playbook default): mau = 60, pct_change(mau, 1d) = -40%, mrr = $28,800.50, util = 35.5%
      task  alpha  due 2026-01-03  email  csm                 Email
      task  zeta   due 2026-01-04  call   solutions_engineer  Call Acme
      task  mid    due 2026-01-04  todo   csm                 Review

Summary
  2 snapshots of 1 account evaluated
  alerts fired: 1, resolved: 0
    drop                                          1 fired
  goals deployed: 1
    a_very_long_goal_name_for_the_summary_column  1 deployed, playbook default
  tasks created: 4
    a_very_long_goal_name_for_the_summary_column  1
    drop                                          3
"""


def test_a_run_reads_as_computed_by_hand(run_cli, tmp_path):
    (tmp_path / "s.play").write_text(SPEC, "utf-8")
    (tmp_path / "d.csv").write_text(DATA, "utf-8")
    assert run_cli("run", "s.play", "-s", "d.csv") == (0, HAND, "")
    for split in (("--partitions", "2"), ("--jobs", "2", "--partitions", "3")):
        assert run_cli("run", "s.play", "-s", "d.csv", *split) == (0, HAND, "")


def test_the_example_run_matches_its_golden(run_cli):
    code, out, err = run_cli("run", str(ROOT / "specs"), "-s", str(ROOT / "examples" / "snapshots.csv"))
    assert code == 0 and err == ""
    if UPDATE:
        EXPECTED.write_text(out, "utf-8")
    assert out == EXPECTED.read_text("utf-8")


def test_every_line_of_the_example_run_keeps_its_columns():
    lines = EXPECTED.read_text("utf-8").splitlines()
    tasks = [x for x in lines if x.startswith("      task  ")]
    assert tasks and len({x.index(" due ") for x in tasks}) == 1
    assert len({x.index("20", x.index(" due ") + 5) for x in tasks}) == 1
    # the title starts in one column: after the owner column, as wide as the longest owner
    owners = [x.split()[5] for x in tasks]
    assert "solutions_engineer" in owners
    starts = {x.index(o, x.index(" due ") + 16) + len("solutions_engineer") for x, o in zip(tasks, owners)}
    assert len(starts) == 1
    summary = lines[lines.index("Summary"):]
    counted = [x for x in summary if x.startswith("    ") and ("fired" in x or "deployed" in x)]
    assert len({x.split(" fired")[0].split(" deployed")[0].rstrip().__len__() for x in counted}) == 1


def test_a_goals_tasks_come_in_due_order_then_in_playbook_order():
    lines = EXPECTED.read_text("utf-8").splitlines()
    i = lines.index("    GOAL     onboarding deployed (playbook enterprise), 2026-01-18 to 2026-03-19")
    assert [x.split()[1] for x in lines[i + 1:i + 5]] == ["kickoff", "training", "integrations", "go_live"]
    i = lines.index("    GOAL     retention deployed (playbook default), 2026-01-15 to 2026-05-15")
    # check_in and qbr are both due 2026-02-14: check_in comes first in the playbook
    assert [(x.split()[1], x.split()[3]) for x in lines[i + 1:i + 4]] == [
        ("check_in", "2026-02-14"), ("qbr", "2026-02-14"), ("check_in", "2026-03-16")]


def test_a_task_whose_rule_has_no_line_that_day_says_which_rule_it_is_for():
    task = Event("task_created", date(2026, 1, 1), "acme", alert="drop", playbook="default", task="call",
                 title="Call", type="call", owner="csm", due=date(2026, 1, 2), id="t-1")
    text = render_text([task])
    assert "      task  call  due 2026-01-02  call  csm  Call  [drop]\n" in text


@pytest.mark.parametrize("value, kind, shown", [
    (-0.39712, "percent", "-39.7%"),
    (0.5, "percent", "50%"),
    (-0.0004, "percent", "0%"),  # rounds to 0.0: no "-0%"
    (-0.0, "money", "$0"),
    (1.2346, "percent", "123.5%"),
    (28800.0, "money", "$28,800"),
    (-1200.0, "money", "-$1,200"),
    (1234.5, "money", "$1,234.50"),
    (12.0, "count", "12"),
    (1234567, "count", "1,234,567"),
    (72.25, "number", "72.25"),
    (72.0, "number", "72"),
    (0.0312, "number", "0.0312"),
    (None, "money", "empty"),
    (float("nan"), "number", "nan"),
    (2.88e4, None, "28,800"),
    (-0.3971, None, "-0.3971"),
    ("2026-01-01", "date", "2026-01-01"),
])
def test_values_read_by_their_type(value, kind, shown):
    assert format_value(value, kind) == shown


def count_ends(summary: str) -> set[int]:
    """Where the count of each named line of a summary ends (the goal outcomes' table has its own columns)."""
    return {m.end(2) - m.start() for m in re.finditer(r"^    (\S+) +([\d,]+)(?! +\d)", summary, re.M)}


def test_a_long_goal_name_keeps_the_summary_aligned():
    assert count_ends(HAND[HAND.index("Summary"):]) == {len("    a_very_long_goal_name_for_the_summary_column  1")}
    text = EXPECTED.read_text("utf-8")
    assert len(count_ends(text[text.index("Summary"):])) == 1


@pytest.mark.parametrize("doc", ["README.md", "docs/cli.md"])
def test_the_docs_show_lines_of_the_example_run_as_it_prints_them(doc):
    printed = set(EXPECTED.read_text("utf-8").splitlines())
    blocks = re.findall(r"```\n(\d{4}-\d\d-\d\d\n.*?)```", (ROOT / doc).read_text("utf-8"), flags=re.S)
    assert blocks
    shown = [line for b in blocks for line in b.splitlines() if line != "…"]
    assert [line for line in shown if line not in printed] == []
