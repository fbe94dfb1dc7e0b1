"""`plays test`: the example specs' own tests, failures, malformed files, JSON, JUnit, coverage."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    """A copy of specs/ (with its tests) to break."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return tmp_path


def test_the_example_specs_pass_their_own_tests_with_full_coverage(run_cli, project):
    code, out, err = run_cli("test", "specs", "--coverage", "--fail-under", "100")
    assert code == 0, out + err
    assert out.splitlines()[-1] == "coverage: 100.0% of alerts, goals and playbooks exercised"
    assert "18 passed, 0 failed" in out


def test_a_k_pattern_that_selects_no_test_is_a_usage_error_not_a_pass(run_cli, project):
    # was `0 passed, 0 failed` and exit 0: a mistyped -k passed CI
    code, out, err = run_cli("test", "specs", "-k", "usage_dorp")
    assert (code, out) == (2, "")
    assert err == "plays: error: -k usage_dorp: no test's name contains it (in 2 test files)\n"
    code, out, _ = run_cli("test", "specs", "-k", "USAGE_DROP FIRES")
    assert code == 0 and out.splitlines()[-1] == "1 passed, 0 failed"


def test_a_wrong_expectation_fails_naming_its_file_and_line(run_cli, project):
    p = project / "specs" / "tests" / "alerts.test.yaml"
    p.write_text(p.read_text().replace("account: acme, date: 2026-01-11, playbook: premium", "account: acme, date: 2026-01-12, playbook: premium"))
    code, out, _ = run_cli("test", "specs", "-k", "usage_drop fires after")
    assert code == 1
    assert out.splitlines() == [
        "FAIL specs/tests/alerts.test.yaml:4: usage_drop fires after a 30% week-over-week drop held 3 days, with the premium playbook",
        "  specs/tests/alerts.test.yaml:13: expected event did not occur:",
        "    {event: alert_fired, alert: usage_drop, account: acme, date: 2026-01-12, playbook: premium}",
        "  closest events that did occur:",
        "    {event: alert_fired, date: 2026-01-11, account: acme, alert: usage_drop, playbook: premium}",
        "0 passed, 1 failed",
    ]


BAD = "specs: [..]\ntests:\n  - name: x\n    start: 2026-01-01\n    accounts:\n      a:\n        attributes: {segmnt: smb}\n"


def test_a_malformed_test_file_is_an_error_the_others_still_run_and_the_exit_is_2(run_cli, project):
    (project / "specs" / "tests" / "bad.test.yaml").write_text(BAD)
    code, out, err = run_cli("test", "specs")
    assert code == 2
    assert out.splitlines()[:3] == [
        "ERROR specs/tests/bad.test.yaml: the test file cannot run",
        "  specs/tests/bad.test.yaml:6:7: error[T103]: account `a`: unknown attribute `segmnt`",
        "    = help: did you mean `segment`?",
    ]
    assert out.splitlines()[-1] == "18 passed, 0 failed, 1 test file with errors"
    assert err == "plays: error: 1 test file could not run (see ERROR above)\n"


def test_a_malformed_test_file_in_json_and_junit(run_cli, project):
    from junitparser import Error, JUnitXml

    (project / "specs" / "tests" / "bad.test.yaml").write_text(BAD)
    (project / "specs" / "tests" / "worse.test.yaml").write_text("tests: [\n")
    code, out, _ = run_cli("test", "specs", "--format", "json", "--junit-xml", "report.xml")
    doc = json.loads(out)
    assert code == 2 and doc["summary"] == {"passed": 18, "failed": 0, "errors": 2}
    assert [(e["file"], e["diagnostics"][0]["code"], e["diagnostics"][0]["span"]["line"]) for e in doc["errors"]] == [
        ("specs/tests/bad.test.yaml", "T103", 6), ("specs/tests/worse.test.yaml", "T100", 2)]
    xml = JUnitXml.fromfile(str(project / "report.xml"))
    assert (xml.tests, xml.errors, xml.failures) == (20, 2, 0)
    errored = [c for suite in xml for c in suite if any(isinstance(r, Error) for r in c.result)]
    assert [c.name for c in errored] == ["(test file)", "(test file)"]
    assert "unknown attribute `segmnt`" in errored[0].result[0].message


def test_every_problem_of_a_test_file_is_reported_at_once(run_cli, project):
    (project / "specs" / "tests" / "bad.test.yaml").write_text(
        "tests:\n"
        "  - name: schema\n    start: 2026-01-01\n    accounts: {a: {}}\n    bogus: 1\n"
        "  - name: date\n    start: 2026-02-30\n    accounts: {a: {}}\n"
        "  - name: series\n    start: 2026-01-01\n    accounts: {a: {series: {mau: 1x2x3}}}\n"
        "  - name: catalog\n    start: 2026-01-01\n    accounts: {a: {attributes: {tier: gold}}}\n"
    )
    code, out, _ = run_cli("test", "specs/tests/bad.test.yaml")
    assert code == 2
    found = [line.split(": error[")[1][:4] for line in out.splitlines() if ": error[" in line]
    assert found == ["T101", "T101", "T102", "T103"]


def test_specs_that_cannot_be_read_are_named_with_the_test_file(run_cli, project):
    (project / "specs" / "tests" / "lost.test.yaml").write_text(
        "specs: [../nope]\ntests:\n  - name: x\n    start: 2026-01-01\n    accounts: {a: {}}\n")
    code, out, _ = run_cli("test", "specs/tests/lost.test.yaml")
    assert code == 2
    assert ("  specs/tests/lost.test.yaml:1:1: error[T104]: specs: specs/nope: no such file or directory"
            in out.splitlines())


def test_json_output_and_junit_xml_read_by_a_junit_consumer(run_cli, project):
    from junitparser import Failure, JUnitXml

    p = project / "specs" / "tests" / "alerts.test.yaml"
    p.write_text(p.read_text().replace("due: 2026-01-13, title:", "due: 2026-01-14, title:"))
    code, out, _ = run_cli("test", "specs", "--format", "json", "--junit-xml", "report.xml")
    doc = json.loads(out)
    assert code == 1 and doc["summary"] == {"passed": 17, "failed": 1}
    [failed] = [t for t in doc["tests"] if not t["passed"]]
    assert failed["failures"][0]["line"] == 14 and failed["failures"][0]["expectation"]["due"] == "2026-01-14"
    xml = JUnitXml.fromfile(str(project / "report.xml"))
    cases = [c for suite in xml for c in suite]
    assert len(cases) == 18
    failing = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
    assert [c.name for c in failing] == [failed["name"]]
    assert "specs/tests/alerts.test.yaml:14" in failing[0].result[0].text


def test_coverage_names_what_no_test_exercised(run_cli, project):
    (project / "specs" / "tests" / "goals.test.yaml").unlink()
    code, out, _ = run_cli("test", "specs", "--coverage", "--fail-under", "90")
    assert code == 1
    assert "  not exercised: goal onboarding, playbook enterprise" in out
    assert "  not exercised: goal save_plan" in out
    assert "is under --fail-under 90%" not in out  # that line goes to stderr


def test_no_test_files_passes_unless_tests_are_required(run_cli, tmp_path):
    # the plays-test pre-commit hook in a repository with specs and no tests yet
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.play").write_text("metric m: count\n")
    assert run_cli("test", "specs") == (0, "no spec tests found under specs (no *.test.yaml file)\n", "")
    code, out, err = run_cli("test", "specs", "--require-tests")
    assert (code, out) == (2, "")
    assert err == "plays: error: no spec tests found under specs (no *.test.yaml file)\n"
    assert run_cli("test", "nope")[0] == 2  # a path that does not exist is still an error


@pytest.mark.parametrize("attributes, message", [
    ("{name: Acme, tier: premium, mrr_target: .nan}", None),  # an unknown attribute: T103 as before
    ("{name: 42}", "`name` is text: write 42 in quotes"),
    ("{name: true}", "`name` is text: write true in quotes"),
    ("{sales_handoff_date: 2026-02-30}", "`sales_handoff_date` must be a date like 2026-01-31"),
])
def test_attribute_values_must_fit_their_catalog_type(run_cli, project, attributes, message):
    (project / "specs" / "tests" / "bad.test.yaml").write_text(
        f"tests:\n  - name: x\n    start: 2026-01-01\n    accounts:\n      a:\n        attributes: {attributes}\n")
    code, out, _ = run_cli("test", "specs/tests/bad.test.yaml")
    assert code == 2 and "error[T103]" in out
    if message:
        assert message in out


def test_number_attributes_must_be_finite_numbers(tmp_path, run_cli):
    (tmp_path / "specs" / "tests").mkdir(parents=True)
    (tmp_path / "specs" / "a.play").write_text("account { seats: number }\nmetric m: count\n")
    for value, shown in ((".nan", "NaN"), (".inf", "Infinity"), ("true", "true"), ('"12"', '"12"')):
        (tmp_path / "specs" / "tests" / "t.test.yaml").write_text(
            f"tests:\n  - name: x\n    start: 2026-01-01\n    accounts: {{a: {{attributes: {{seats: {value}}}}}}}\n")
        code, out, _ = run_cli("test", "specs")
        assert code == 2 and f"`seats` must be a {'finite ' if shown in ('NaN', 'Infinity') else ''}number, not {shown}" in out


@pytest.mark.parametrize("entry, message", [
    ("{goal: save_plann, account: a, date: 2026-01-02}", "`deploy` names no goal template `save_plann`"),
    ("{goal: save_plan, account: b, date: 2026-01-02}", "`deploy` names account `b`, which this test does not have"),
    ("{goal: save_plan, account: a, date: 2026-01-02, playbook: nope}", "`deploy` of `save_plan`: no playbook `nope`"),
])
def test_a_deploy_must_name_a_template_playbook_and_account_of_the_test(run_cli, project, entry, message):
    (project / "specs" / "tests" / "bad.test.yaml").write_text(
        "tests:\n  - name: x\n    start: 2026-01-01\n    accounts: {a: {}}\n    deploy:\n"
        f"      - {entry}\n")
    code, out, _ = run_cli("test", "specs/tests/bad.test.yaml")
    assert code == 2 and f"specs/tests/bad.test.yaml:6:9: error[T103]: {message}" in out
