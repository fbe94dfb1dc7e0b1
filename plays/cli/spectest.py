"""``plays test``: run spec tests and report them (text, JSON, JUnit XML, coverage)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

import click

from plays.diagnostics import UsageError

from plays.spectest.runner import Outcome, SpecFileError, discover_test_files, run_files

# --- coverage ------------------------------------------------------------------


def coverage_items(plan) -> list[tuple[str, str, str | None]]:
    """What tests should exercise: (kind, rule, playbook) for every alert, goal and playbook."""
    items = []
    for rule in plan.rules:
        kind = "alert" if rule.kind == "alert" else "goal"
        items.append((kind, rule.name, None))
        if len(rule.playbooks) > 1:
            items.extend((kind, rule.name, book.name) for book in rule.playbooks)
    return items


def exercised(outcomes: list[Outcome]) -> set[tuple[str, str, str | None]]:
    """The items some test made happen: an alert fired, a goal deployed, with the playbook used."""
    seen = set()
    for o in outcomes:
        for e in o.events:
            if e.get("event") == "alert_fired":
                seen |= {("alert", e["alert"], None), ("alert", e["alert"], e.get("playbook"))}
            elif e.get("event") == "goal_deployed":
                seen |= {("goal", e["goal"], None), ("goal", e["goal"], e.get("playbook"))}
    return seen


def coverage_report(plans: list, outcomes: list[Outcome]) -> tuple[float, list[str]]:
    """Percent covered and the items no test exercised, in words."""
    items = sorted({i for p in plans for i in coverage_items(p)}, key=lambda i: (i[0], i[1], i[2] or ""))
    if not items:
        return 100.0, []
    seen = exercised(outcomes)
    missing = [i for i in items if i not in seen]
    words = [f"{k} {r}" + (f", playbook {b}" if b else "") for k, r, b in missing]
    return 100.0 * (len(items) - len(missing)) / len(items), words


# --- rendering -----------------------------------------------------------------


def _event_text(e: dict) -> str:
    keys = ("event", "date", "account", "alert", "goal", "playbook", "task", "due")
    return "{" + ", ".join(f"{k}: {e[k]}" for k in keys if e.get(k) is not None) + "}"


def render_text(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        status = "PASS" if o.passed else "FAIL"
        lines.append(f"{status} {o.file}:{o.test.span.line}: {o.test.name}")
        if o.error:
            lines.append(f"  {o.error}")
        for exp, why, near in o.failures:
            lines.append(f"  {exp.span.path}:{exp.span.line}: {why}:")
            lines.append(f"    {exp.text}")
            if why.startswith("expected"):
                if near:
                    lines.append("  closest events that did occur:")
                    lines.extend(f"    {_event_text(e)}" for e in near)
                else:
                    lines.append("  no event of that rule and account occurred")
            else:
                lines.extend(f"    got {_event_text(e)}" for e in near)
    passed = sum(o.passed for o in outcomes)
    lines.append(f"{passed} passed, {len(outcomes) - passed} failed")
    return "\n".join(lines) + "\n"


def render_json(outcomes: list[Outcome], coverage=None) -> str:
    doc = {
        "tests": [
            {
                "file": o.file,
                "line": o.test.span.line,
                "name": o.test.name,
                "passed": o.passed,
                "error": o.error,
                "failures": [
                    {"line": exp.span.line, "expectation": exp.fields, "message": why, "events": near}
                    for exp, why, near in o.failures
                ],
            }
            for o in outcomes
        ],
        "summary": {"passed": sum(o.passed for o in outcomes), "failed": sum(not o.passed for o in outcomes)},
    }
    if coverage is not None:
        doc["coverage"] = {"percent": round(coverage[0], 1), "missing": coverage[1]}
    return json.dumps(doc, indent=2, default=str) + "\n"


def render_junit(outcomes: list[Outcome]) -> bytes:
    """JUnit XML: one <testsuite> per test file, one <testcase> per test."""
    root = ET.Element("testsuites", name="plays test")
    by_file: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.file, []).append(o)
    total_fail = 0
    for file, group in by_file.items():
        fails = sum(not o.passed for o in group)
        total_fail += fails
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(group)), failures=str(fails),
                              errors="0", skipped="0")
        for o in group:
            case = ET.SubElement(suite, "testcase", name=o.test.name, classname=file.removesuffix(".test.yaml"),
                                 file=file, line=str(o.test.span.line))
            if not o.passed:
                detail = render_text([o]).rsplit("\n", 2)[0]
                first = o.error or f"{o.failures[0][1]}: {o.failures[0][0].text}"
                fail = ET.SubElement(case, "failure", message=first, type="ExpectationFailed")
                fail.text = detail
    root.set("tests", str(len(outcomes)))
    root.set("failures", str(total_fail))
    root.set("errors", "0")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- the command ---------------------------------------------------------------


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-k", "pattern", metavar="PATTERN", help="Run only tests whose name contains PATTERN (case-insensitive).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--junit-xml", "junit", type=click.Path(dir_okay=False), help="Also write a JUnit XML report to FILE.")
@click.option("--coverage", is_flag=True, help="Report the alerts, goals and playbooks no test exercised.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="With --coverage: exit 1 when coverage is below PERCENT.")
def test_command(paths, pattern, fmt, junit, coverage, fail_under):
    """Run spec tests: small series in, expected events out.

    Discovers every *.test.yaml under PATHS (default: the current directory),
    builds each test's snapshots from its series, runs the runtime on the
    specs the file names, and checks `expect` (each must occur) and
    `expect_none` (none may occur). Exit 0 when all pass, 1 when any fails,
    2 for a malformed test file.

    \b
    Examples:
      plays test specs/
      plays test specs/tests/alerts.test.yaml -k usage_drop
      plays test --coverage --fail-under 90 --junit-xml report.xml specs/
    """
    if fail_under is not None and not coverage:
        raise UsageError("--fail-under goes with --coverage")
    files = discover_test_files(list(paths) or ["."])
    try:
        outcomes, plans = run_files(files, pattern)
    except SpecFileError as e:
        from plays.render import render_text as render_diagnostics

        click.echo(render_diagnostics(e.diagnostics, {}), err=True, nl=False)
        sys.exit(2)
    cov = coverage_report(plans, outcomes) if coverage else None
    if fmt == "json":
        click.echo(render_json(outcomes, cov), nl=False)
    else:
        click.echo(render_text(outcomes), nl=False)
        if cov is not None:
            click.echo(f"coverage: {cov[0]:.1f}% of alerts, goals and playbooks exercised")
            for item in cov[1]:
                click.echo(f"  not exercised: {item}")
    if junit:
        from plays.sources import write_atomic

        write_atomic(junit, render_junit(outcomes))
    failed = any(not o.passed for o in outcomes)
    under = cov is not None and fail_under is not None and cov[0] < fail_under
    if under:
        click.echo(f"coverage {cov[0]:.1f}% is under --fail-under {fail_under:g}%", err=True)
    sys.exit(1 if failed or under else 0)
