"""The server's language knowledge without the protocol: the name index, completion and hover (hand-computed)."""

from __future__ import annotations

import pytest

from plays.dsl import parse
from plays.lsp.features import complete, hover
from plays.lsp.project import Project
from plays.lsp.symbols import ATTRIBUTE, ENUM_VALUE, FUNCTION, METRIC, TASK, Index

CATALOG = """account {
  name: text
  segment: enum(smb, enterprise)
  go_live_date: date
}
metric mau: count "Monthly active users"
metric
  mrr: money
"""
RULES = """alert drop {
  where: account.segment == smb
  when: pct_change(mau, 7d) < -20% and segment in (smb)
  playbook {
    task call "Call {{ account.name }}: {{ pct_change(mau, 7d) | pct }} in {{ alert.title }}" { due: 1d }
  }
}
goal g {
  duration: 30d
  deploy: on go_live_date + 7d
  kpi: mrr up 10%
  playbook {
    task a "A" { due: 1d }
    task b "B" { after: a  due: 2d }
  }
  playbook other {
    task a "Other A" { due: 1d }
  }
}
"""


@pytest.fixture(scope="module")
def index() -> Index:
    texts = {"catalog.play": CATALOG, "rules.play": RULES}
    return Index.build([parse(t, p) for p, t in texts.items()], texts)


def where(index, kind, name, scope=()):
    return [(o.span.path, o.span.line, o.span.col, o.span.end_col, o.definition)
            for o in index.occurrences(kind, name, scope)]


def test_every_occurrence_of_a_metric_is_found_where_its_name_is_written(index):
    assert where(index, METRIC, "mau") == [
        ("catalog.play", 6, 8, 11, True),
        ("rules.play", 3, 20, 23, False),  # pct_change(mau, 7d)
        ("rules.play", 5, 55, 58, False),  # in the title's template
    ]
    # a metric's name on the line after `metric`
    assert where(index, METRIC, "mrr") == [("catalog.play", 8, 3, 6, True), ("rules.play", 11, 8, 11, False)]


def test_attributes_bare_after_account_in_deploy_on_and_in_titles(index):
    assert where(index, ATTRIBUTE, "segment") == [
        ("catalog.play", 3, 3, 10, True), ("rules.play", 2, 18, 25, False), ("rules.play", 3, 40, 47, False),
    ]
    assert where(index, ATTRIBUTE, "go_live_date") == [("catalog.play", 4, 3, 15, True), ("rules.play", 10, 14, 26, False)]
    assert where(index, ATTRIBUTE, "name") == [("catalog.play", 2, 3, 7, True), ("rules.play", 5, 32, 36, False)]


def test_tasks_are_local_to_their_playbook(index):
    first = ("rules.play", "g", 0)
    assert where(index, TASK, "a", first) == [("rules.play", 13, 10, 11, True), ("rules.play", 14, 25, 26, False)]
    assert where(index, TASK, "a", ("rules.play", "g", 1)) == [("rules.play", 17, 10, 11, True)]
    at = index.at("rules.play", 14, 25)
    assert (at.kind, at.name, at.scope) == (TASK, "a", first)
    assert [(o.span.line, o.span.col) for o in index.definitions(at)] == [(13, 10)]


def test_enum_values_and_functions(index):
    at = index.at("rules.play", 2, 29)  # `smb` in `account.segment == smb`
    assert (at.kind, at.name) == (ENUM_VALUE, "smb")
    assert [(o.span.line, o.span.col) for o in index.definitions(at)] == [(3, 17)]
    at = index.at("rules.play", 3, 9)
    assert (at.kind, at.name) == (FUNCTION, "pct_change")
    assert index.at("rules.play", 5, 70) is None  # `pct`, a filter; `alert.title` is not ours either


def test_hover_texts(index):
    assert hover(index.at("rules.play", 3, 21), index) == "```\nmetric mau: count\n```\n\nMonthly active users"
    assert hover(index.at("rules.play", 11, 9), index) == "```\nmetric mrr: money\n```"
    assert hover(index.at("rules.play", 2, 20), index) == (
        "```\naccount.segment: enum(smb, enterprise)\n```\n\nan attribute of the account catalog"
    )
    assert hover(index.at("rules.play", 2, 29), index) == "`smb`: a value of `segment` (enum(smb, enterprise))"
    assert hover(index.at("rules.play", 14, 25), index) == 'task `a` "A" of `g`'
    assert hover(index.at("rules.play", 3, 9), index) == (
        "```\npct_change(m, 7d)\n```\n\n(m - value_at(m, w)) / value_at(m, w) (gives percent)"
    )


def labels(text: str, index: Index | None = None, path: str = "rules.play") -> list[str]:
    cursor = text.index("§")  # the cursor
    return [i.label for i in complete(text.replace("§", ""), cursor, index, path)]


def test_completion_of_keys_by_block(index):
    assert labels("alert a {\n  §") == ["cooldown", "for", "playbook", "severity", "when", "where"]
    assert labels("goal a {\n  du§") == ["category", "deploy", "duration", "kpi", "playbook", "where"]
    assert labels('external goal a {\n  §') == ["account", "category", "due", "measure", "playbook", "start"]
    assert labels('goal a {\n  playbook {\n    task t "T" { §') == ["after", "due", "every", "owner", "type", "until"]
    assert labels("§") == ["account", "alert", "external", "goal", "metric"]


def test_completion_of_values_by_key(index):
    assert labels("alert a {\n  severity: §") == ["critical", "high", "low", "medium"]
    assert labels("goal a {\n  category: §") == ["adoption", "expansion", "onboarding", "other", "retention"]
    assert labels("metric m: §") == ["count", "money", "number", "percent"]
    assert labels("account {\n  x: §") == ["date", "enum", "number", "text"]
    assert labels("goal a {\n  deploy: §") == ["manual", "on", "when"]
    assert labels("goal a {\n  deploy: on §", index) == ["account", "go_live_date"]
    assert labels("goal a {\n  kpi: mrr §", index) == [
        "and", "category", "deploy", "down", "duration", "in", "is", "kpi", "not", "or", "playbook", "up", "where",
    ]
    assert labels("alert a {\n  when: account.§", index) == ["go_live_date", "name", "segment"]
    assert labels("alert a {\n  when: days_since(§", index) == ["account", "false", "go_live_date", "not", "true"]
    assert labels("alert a {\n  for: §", index) == ["false", "true"]  # a value: no names, the grammar's words
    assert labels("alert §", index) == []  # a new name


def test_completion_in_a_condition_offers_the_catalog_and_the_functions(index):
    got = labels("alert a {\n  when: §", index)
    assert got == [
        "account", "avg", "change", "count", "days_since", "days_until", "enterprise", "false", "go_live_date",
        "mau", "max", "min", "mrr", "name", "not", "pct_change", "previous", "segment", "smb", "sum", "true",
        "value_at",
    ]


def test_completion_after_after_offers_the_other_tasks_of_the_playbook(index):
    text = RULES.replace("after: a", "after: §")
    assert labels(text, index) == ["a"]
    # the declaration does not parse yet (a new task below): the text after the cursor is read too
    text = 'goal g {\n  playbook {\n    task x "X" { due: 1d }\n    task y "Y" { after: §\n    task z "Z" { due: 1d }\n  }\n}'
    assert labels(text) == ["x", "z"]


def test_project_checks_a_new_unsaved_file_with_its_folder(tmp_path):
    (tmp_path / "catalog.play").write_text(CATALOG)
    project = Project([str(tmp_path)])
    new = str(tmp_path / "new.play")
    project.open(new, "alert a {\n  when: mau > 1\n  severity: hgh\n}\n")
    got = project.check()
    assert [(d.code, d.span.path, d.span.line, d.span.col) for d in got[new]] == [
        ("W402", "new.play", 1, 1), ("E208", "new.play", 3, 13),
    ]
    project.change(new, "alert a {\n  when: mau > 1\n  severity: high\n}\n")
    got = project.check()
    assert [d.code for d in got[new]] == ["W402"]
    project.close(new)  # never saved: gone from the spec set, and its diagnostics are cleared
    assert project.check() == {new: []}


def test_the_configuration_chooses_the_spec_set_and_its_suppressions_and_severities_apply(tmp_path):
    (tmp_path / ".git").mkdir()  # the repository's root: the configuration is looked for up to here
    (tmp_path / "plays.toml").write_text('paths = ["specs"]\n[severity]\nW402 = "off"\n')
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "catalog.play").write_text(CATALOG)
    (tmp_path / "specs" / "alerts.play").write_text("alert a {\n  when: mau > 1  # plays: disable=W300\n}\n")
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "input.play").write_text("metric mau: count\n")  # another spec set: not checked with specs/
    project = Project([str(tmp_path)])
    ((spec_set),) = project.sets
    assert spec_set.root == str(tmp_path) and sorted(spec_set.files.values()) == ["specs/alerts.play", "specs/catalog.play"]
    got = project.check()
    alerts = str(tmp_path / "specs" / "alerts.play")
    # W402 (no playbook) is off; a suppression that matches nothing is W900, where it is written
    assert [(d.code, d.span.path, d.span.line) for d in got[alerts]] == [("W900", "specs/alerts.play", 2)]
    # a file of the other folder, opened, is checked with its own folder, not with specs/
    golden = str(tmp_path / "golden" / "input.play")
    project.open(golden, "metric mau: count\nmetric mau: count\n")
    got = project.check()
    assert [(d.code, d.span.path) for d in got[golden]] == [("E201", "input.play")]


def test_a_configuration_that_does_not_validate_is_reported_on_its_file(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "plays.toml").write_text('pathz = ["specs"]\n')
    (tmp_path / "a.play").write_text("metric mau: count\n")
    project = Project([str(tmp_path)])
    got = project.check()
    (d,) = got[str(tmp_path / "plays.toml")]
    assert (d.code, d.span.line, d.span.col, d.suggestion) == ("C101", 1, 1, "paths")
    assert got.get(str(tmp_path / "a.play"), []) == []  # the specs are still checked, without it
