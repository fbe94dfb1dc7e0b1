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


def test_malformed_test_file_exits_2_with_position(run_cli, project):
    (project / "specs" / "tests" / "bad.test.yaml").write_text(
        "specs: [..]\ntests:\n  - name: x\n    start: 2026-01-01\n    accounts:\n      a:\n        attributes: {segmnt: smb}\n"
    )
    code, out, err = run_cli("test", "specs")
    assert code == 2 and out == ""
    assert "specs/tests/bad.test.yaml:6:7: error[T103]: account `a`: unknown attribute `segmnt`" in err
    assert "did you mean `segment`?" in err and "Traceback" not in err


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


def test_selecting_no_test_file_is_a_usage_error(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run_cli("test", "empty")[0] == 2
