"""`plays diff` end to end: counts equal two `plays run`s, every format, --git in a real repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SNAPSHOTS = str(ROOT / "examples" / "snapshots.csv")
THRESHOLD = ("when: pct_change(mau, 7d) <= -20%", "when: pct_change(mau, 7d) <= -5%")


@pytest.fixture
def sides(tmp_path):
    """base/ (the bundled specs) and head/ (one line changed: usage_drop's threshold)."""
    for side in ("base", "head"):
        shutil.copytree(ROOT / "specs", tmp_path / side, ignore=shutil.ignore_patterns("tests"))
    alerts = tmp_path / "head" / "alerts.play"
    text = alerts.read_text("utf-8")
    assert text.count(THRESHOLD[0]) == 1
    alerts.write_text(text.replace(*THRESHOLD), "utf-8")
    return tmp_path


def _run_counts(run_cli, specs: str, *extra) -> dict[str, dict]:
    """Per rule, what `plays run --format json` reports: the counts `plays diff` must equal."""
    code, out, err = run_cli("run", specs, "-s", SNAPSHOTS, "--format", "json", *extra)
    assert code == 0, err
    counts: dict[str, Counter] = defaultdict(Counter)
    accounts: dict[str, set] = defaultdict(set)
    what = {"alert_fired": "alerts_fired", "task_created": "tasks", "goal_deployed": "goals_deployed",
            "goal_achieved": "goals_achieved", "goal_missed": "goals_missed"}
    for line in out.splitlines():
        e = json.loads(line)
        rule = e.get("alert") or e.get("goal")
        if e["event"] in what:
            counts[rule][what[e["event"]]] += 1
        if e["event"] in ("alert_fired", "goal_deployed"):
            accounts[rule].add(e["account"])
    return {rule: {"alerts_fired": c["alerts_fired"], "accounts": len(accounts[rule]), "tasks": c["tasks"],
                   "goals_deployed": c["goals_deployed"], "goals_achieved": c["goals_achieved"],
                   "goals_missed": c["goals_missed"]} for rule, c in counts.items()}


def _diff_json(run_cli, *args):
    code, out, err = run_cli("diff", *args, "-s", SNAPSHOTS, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_a_one_line_threshold_change_counts_what_two_plays_runs_report(run_cli, sides):
    data = _diff_json(run_cli, "base", "head")
    changed = [r for r in data["rules"] if r["change"] != "unchanged"]
    assert [(r["name"], r["change"], r["changes"]) for r in changed] == [
        ("usage_drop", "changed", ["when: pct_change(mau, 7d) <= -20% → <= -5%"])]
    base, head = _run_counts(run_cli, "base"), _run_counts(run_cli, "head")
    (rule,) = changed
    assert rule["base"] == base["usage_drop"] and rule["head"] == head["usage_drop"]
    assert rule["head"]["alerts_fired"] > rule["base"]["alerts_fired"]  # the change does something
    # unchanged rules are listed, not evaluated
    assert all(r["base"] is None and r["head"] is None and not r["measured"]
               for r in data["rules"] if r["change"] == "unchanged")
    # the weeks add up to the totals; the accounts that start being alerted are the difference of the sets
    assert sum(w["head"]["alerts_fired"] for w in rule["by_week"]) == rule["head"]["alerts_fired"]
    assert rule["accounts_started_count"] - rule["accounts_stopped_count"] == \
        rule["head"]["accounts"] - rule["base"]["accounts"]
    s = data["summary"]
    assert (s["changed"], s["added"], s["removed"], s["renamed"]) == (1, 0, 0, 0)
    assert (s["base"]["alerts_fired"], s["head"]["alerts_fired"]) == (base["usage_drop"]["alerts_fired"],
                                                                       head["usage_drop"]["alerts_fired"])


def test_all_evaluates_every_rule_and_each_count_equals_plays_run_within_from_to(run_cli, sides):
    window = ("--from", "2026-02-01", "--to", "2026-03-31")
    data = _diff_json(run_cli, "base", "head", "--all", *window)
    base, head = _run_counts(run_cli, "base", *window), _run_counts(run_cli, "head", *window)
    zero = dict.fromkeys(("alerts_fired", "accounts", "tasks", "goals_deployed", "goals_achieved", "goals_missed"), 0)
    assert len(data["rules"]) == 12 and all(r["measured"] for r in data["rules"])
    for r in data["rules"]:
        assert r["base"] == base.get(r["name"], zero), r["name"]
        assert r["head"] == head.get(r["name"], zero), r["name"]
    assert any(r["base"]["goals_deployed"] for r in data["rules"])  # goals are counted too
    assert data["summary"]["from"] == "2026-02-01" and data["summary"]["to"] == "2026-03-31"


def test_text_and_markdown_say_the_same_numbers(run_cli, sides):
    data = _diff_json(run_cli, "base", "head")
    rule = next(r for r in data["rules"] if r["name"] == "usage_drop")
    b, h = rule["base"], rule["head"]
    code, out, _ = run_cli("diff", "base", "head", "-s", SNAPSHOTS)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("1 rule changed: alerts/week ") and "tasks/week" in first
    assert f"alerts fired {b['alerts_fired']} → {h['alerts_fired']}" in out
    assert "when: pct_change(mau, 7d) <= -20% → <= -5%" in out
    assert "unchanged (11):" in out
    code, md, _ = run_cli("diff", "base", "head", "-s", SNAPSHOTS, "--format", "markdown")
    assert code == 0 and md.startswith("<!-- plays diff -->\n### plays diff: 1 rule changed")
    assert f"| ~ | alert `usage_drop` | changed | {b['alerts_fired']} → {h['alerts_fired']} |" in md
    assert "<details><summary>~ alert <code>usage_drop</code> (changed)</summary>" in md


def test_by_attribute_and_owner_split_the_totals(run_cli, sides):
    data = _diff_json(run_cli, "base", "head", "--by", "segment")
    rule = next(r for r in data["rules"] if r["name"] == "usage_drop")
    groups = rule["by"]["segment"]
    assert set(groups) <= {"smb", "mid_market", "enterprise"}
    assert sum(g["head"]["alerts_fired"] for g in groups.values()) == rule["head"]["alerts_fired"]
    assert sum(o["head"] for o in rule["by_owner"].values()) == rule["head"]["tasks"]


def test_detailed_exitcode_is_3_on_a_change_and_0_without(run_cli, sides):
    assert run_cli("diff", "base", "head", "-s", SNAPSHOTS, "--detailed-exitcode")[0] == 3
    code, out, _ = run_cli("diff", "base", "base", "-s", SNAPSHOTS, "--detailed-exitcode")
    assert code == 0 and out.startswith("no changes (12 rules unchanged)")
    assert run_cli("diff", "base", "head", "-s", SNAPSHOTS)[0] == 0  # without the flag, a change is success


def test_compiled_plans_compare_like_their_specs(run_cli, sides):
    for side in ("base", "head"):
        assert run_cli("compile", side, "-o", f"{side}.json")[0] == 0
    from_plans = _diff_json(run_cli, "base.json", "head.json")
    from_specs = _diff_json(run_cli, "base", "head")
    assert from_plans == from_specs


def test_a_broken_side_shows_its_diagnostics_and_exits_1(run_cli, sides):
    (sides / "head" / "alerts.play").write_text("alert x { when: nope > 1 }\n", "utf-8")
    code, out, err = run_cli("diff", "base", "head", "-s", SNAPSHOTS)
    assert code == 1 and out == ""
    assert "head/alerts.play" in err and "the head (head) does not check clean" in err


def test_a_catalog_the_snapshots_cannot_feed_to_both_sides_is_refused(run_cli, sides):
    catalog = sides / "head" / "catalog.play"
    catalog.write_text(catalog.read_text("utf-8").replace('metric nps: number "Latest NPS answer, 0 to 10; empty when none"\n', ""), "utf-8")
    alerts = sides / "head" / "alerts.play"
    text = alerts.read_text("utf-8")
    start = text.index("# A detractor NPS answer")
    alerts.write_text(text[:start], "utf-8")
    code, out, err = run_cli("diff", "base", "head", "-s", SNAPSHOTS)
    assert code == 1 and out == ""
    assert err.strip() == ("plays: error: cannot measure both versions on one set of snapshots: "
                           "metric `nps` is in the base's catalog but not in the head's")


@pytest.mark.parametrize("args, message", [
    (("base",), "give BASE and HEAD"),
    (("--git", "HEAD"), "--git REV needs the spec paths"),
    (("base", "head", "--by", "nope"), "--by nope: not an account attribute"),
    (("base", "head", "--from", "2026-03-01", "--to", "2026-02-01"), "--from is after --to"),
])
def test_usage_errors_exit_2_with_one_line(run_cli, sides, args, message):
    code, out, err = run_cli("diff", *args, "-s", SNAPSHOTS)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_reads_the_base_from_a_revision_without_checking_it_out(run_cli, tmp_path):
    repo = tmp_path
    shutil.copytree(ROOT / "specs", repo / "specs", ignore=shutil.ignore_patterns("tests"))
    _git(repo, "init", "-q")
    _git(repo, "add", "specs")
    _git(repo, "commit", "-q", "-m", "base")
    alerts = repo / "specs" / "alerts.play"
    alerts.write_text(alerts.read_text("utf-8").replace(*THRESHOLD), "utf-8")
    (repo / "specs" / "extra.play").write_text('alert big_mrr "Big MRR" { when: mrr > $100000 }\n', "utf-8")
    data = _diff_json(run_cli, "--git", "HEAD", "specs/")
    changed = {r["name"]: r["change"] for r in data["rules"] if r["change"] != "unchanged"}
    assert changed == {"usage_drop": "changed", "big_mrr": "added"}
    assert (repo / "specs" / "extra.play").exists() and "<= -5%" in alerts.read_text("utf-8")  # nothing checked out
    assert _diff_json(run_cli, "--git", "HEAD", "specs/")["rules"] == data["rules"]
    code, _, err = run_cli("diff", "--git", "no-such-rev", "specs/", "-s", SNAPSHOTS)
    # was `--git: git failed` (git --quiet says nothing)
    assert (code, err) == (2, "plays: error: --git: `no-such-rev` is not a commit of this repository (a branch, tag "
                              "or commit id, such as origin/main or HEAD~1)\n")
    _git(repo, "add", "specs")
    _git(repo, "commit", "-q", "-m", "head")
    code, out, _ = run_cli("diff", "--git", "HEAD", "specs/", "-s", SNAPSHOTS, "--detailed-exitcode")
    assert code == 0 and out.startswith("no changes")
    code, out, _ = run_cli("diff", "--git", "HEAD~1", "specs", "-s", SNAPSHOTS, "--detailed-exitcode")
    assert code == 3 and out.startswith("1 rule changed, 1 added")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_outside_a_repository_says_so_without_gits_fatal(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repository above tmp_path either
    code, out, err = run_cli("diff", "--git", "HEAD", "specs/", "-s", SNAPSHOTS)
    assert (code, out) == (2, "")
    assert err == "plays: error: --git: not a git repository (or any of the parent directories): .git\n"


def test_html_has_a_chart_of_both_sides_per_week_and_escapes_spec_text(run_cli, sides):
    alerts = sides / "head" / "alerts.play"
    alerts.write_text(alerts.read_text("utf-8").replace('"10+ support tickets in a week"',
                                                        '"<b>10+</b> tickets & more"'), "utf-8")
    code, out, err = run_cli("diff", "base", "head", "-s", SNAPSHOTS, "--html", "diff.html")
    assert code == 0, err
    page = (sides / "diff.html").read_text("utf-8")
    assert page.count("<polyline") == 4  # alerts and tasks, base and head
    summary = _diff_json(run_cli, "base", "head")["summary"]
    for side in ("base", "head"):
        assert f"alerts fired, {side}: {summary[side]['alerts_fired']}</title>" in page
        assert f"tasks, {side}: {summary[side]['tasks']}</title>" in page
    assert "2026-W01" in page and "2026-W18" in page
    assert "&lt;b&gt;10+&lt;/b&gt; tickets &amp; more" in page and "<b>10+" not in page
    assert out.startswith("2 rules changed")  # the text still goes to standard output


from hypothesis import HealthCheck, given, settings  # noqa: E402

from test_diff_changes import spec_sets  # noqa: E402  (tests/diff is on the path: pytest prepends it)

TINY = ("account,date,name,tier,renewal_date,mau,mrr\n"
        + "".join(f"a{k},2026-01-{d:02d},A{k},{'premium' if k % 2 else 'standard'},2026-06-01,{k * d % 17},{100 + d}\n"
                  for k in range(3) for d in range(1, 15)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(spec_sets())
def test_plays_diff_x_x_reports_no_change(run_cli, tmp_path, spec):
    text, _ = spec
    (tmp_path / "x.play").write_text(text, "utf-8")
    (tmp_path / "tiny.csv").write_text(TINY, "utf-8")
    code, out, err = run_cli("diff", "x.play", "x.play", "-s", "tiny.csv", "--detailed-exitcode", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert not data["summary"]["behaviour_changed"] and data["summary"]["catalog_changes"] == []
    assert {r["change"] for r in data["rules"]} == {"unchanged"}


def test_renamed_added_and_removed_rules_are_measured_on_their_own_side(run_cli, sides):
    alerts = sides / "head" / "alerts.play"
    text = alerts.read_text("utf-8").replace(*THRESHOLD)
    text = text.replace("alert ticket_burst ", "alert support_burst ")  # same body, new name
    start = text.index("# A detractor NPS answer")
    alerts.write_text(text[:start] + 'alert big_mrr "Big MRR" { when: mrr > $5000 }\n', "utf-8")  # nps removed
    data = _diff_json(run_cli, "base", "head")
    rules = {r["name"]: r for r in data["rules"] if r["change"] != "unchanged"}
    assert {n: r["change"] for n, r in rules.items()} == {
        "usage_drop": "changed", "support_burst": "renamed", "big_mrr": "added", "detractor_nps": "removed"}
    base, head = _run_counts(run_cli, "base"), _run_counts(run_cli, "head")
    assert rules["support_burst"]["renamed_from"] == "ticket_burst"
    assert rules["support_burst"]["base"] == base["ticket_burst"] == rules["support_burst"]["head"]
    assert rules["support_burst"]["accounts_started_count"] == rules["support_burst"]["accounts_stopped_count"] == 0
    assert rules["detractor_nps"]["base"] == base["detractor_nps"] and rules["detractor_nps"]["head"] is None
    assert rules["detractor_nps"]["accounts_stopped_count"] == base["detractor_nps"]["accounts"]
    assert rules["big_mrr"]["base"] is None and rules["big_mrr"]["head"] == head["big_mrr"]
    code, out, _ = run_cli("diff", "base", "head", "-s", SNAPSHOTS)
    assert out.splitlines()[0].startswith("1 rule changed, 1 added, 1 removed, 1 renamed: alerts/week ")
    assert "> alert support_burst (renamed)\n    renamed from ticket_burst\n" in out
    assert "- alert detractor_nps (removed)\n" in out and "+ alert big_mrr (added)\n" in out


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_base_that_does_not_check_shows_its_diagnostics(run_cli, tmp_path):
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("tests"))
    broken = tmp_path / "specs" / "broken.play"
    broken.write_text("alert broken { when: nope > 1 }\n", "utf-8")
    (tmp_path / "specs" / ".hidden").mkdir()
    (tmp_path / "specs" / ".hidden" / "x.play").write_text("this is not read\n", "utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "specs")
    _git(tmp_path, "commit", "-q", "-m", "broken")
    broken.unlink()
    code, out, err = run_cli("diff", "--git", "HEAD", "specs", "-s", SNAPSHOTS)
    assert code == 1 and out == ""
    assert "specs/broken.play:1:" in err and "the base (HEAD) does not check clean" in err
    assert "x.play" not in err  # hidden folders are not searched, as in the working tree
