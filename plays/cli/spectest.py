"""``plays test``: run spec tests and report them (text, JSON, JUnit XML, coverage)."""

from __future__ import annotations

import json
import sys

import click

from plays.errors import UsageError
from plays.render import printable as p
from plays.render import render_text as render_diagnostics
from plays.spectest.coverage import coverage_report
from plays.spectest.junit import FILE_CASE, render_junit
from plays.spectest.runner import FileProblem, Outcome, Results, discover_test_files, run_files

from .settings import config_options, configured, load_settings

# --- rendering -----------------------------------------------------------------


def _event_text(e: dict) -> str:
    keys = ("event", "date", "account", "alert", "goal", "playbook", "task", "due")
    return "{" + ", ".join(f"{k}: {p(e[k])}" for k in keys if e.get(k) is not None) + "}"


def render_outcome(o: Outcome) -> list[str]:
    """One test's lines: PASS/FAIL, and for a failure each expectation with the events nearest to it."""
    lines = [f"{'PASS' if o.passed else 'FAIL'} {p(o.file)}:{o.test.span.line}: {p(o.test.name)}"]
    if o.error:
        lines.append(f"  {p(o.error)}")
    for exp, why, near in o.failures:
        lines.append(f"  {p(exp.span.path)}:{exp.span.line}: {why}:")
        lines.append(f"    {p(exp.text)}")
        if why.startswith("expected"):
            if near:
                lines.append("  closest events that did occur:")
                lines.extend(f"    {_event_text(e)}" for e in near)
            else:
                lines.append("  no event of that rule and account occurred")
        else:
            lines.extend(f"    got {_event_text(e)}" for e in near)
    return lines


def render_problem(problem: FileProblem) -> list[str]:
    """A test file that could not run: ERROR and its problems, as positioned diagnostics."""
    return [f"ERROR {p(problem.file)}: the test file cannot run"] + [
        "  " + line for line in render_diagnostics(list(problem.diagnostics), {}, with_summary=False).splitlines()]


def _counts(results: Results) -> str:
    passed = sum(o.passed for o in results.outcomes)
    line = f"{passed} passed, {len(results.outcomes) - passed} failed"
    n = len(results.problems)
    return line + (f", {n} test file{'s' if n != 1 else ''} with errors" if n else "")


def render_text(results: Results) -> str:
    lines = []
    for problem in results.problems:
        lines.extend(render_problem(problem))
    for o in results.outcomes:
        lines.extend(render_outcome(o))
    lines.append(_counts(results))
    return "\n".join(lines) + "\n"


def render_json(results: Results, coverage=None) -> str:
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
            for o in results.outcomes
        ],
        "summary": {"passed": sum(o.passed for o in results.outcomes),
                    "failed": sum(not o.passed for o in results.outcomes)},
    }
    if results.problems:
        doc["errors"] = [{"file": pr.file, "name": FILE_CASE, "diagnostics": [d.to_json() for d in pr.diagnostics]}
                         for pr in results.problems]
        doc["summary"]["errors"] = len(results.problems)
    if coverage is not None:
        doc["coverage"] = {"percent": round(coverage[0], 1), "missing": coverage[1]}
    return json.dumps(doc, indent=2, default=str) + "\n"


# --- the command ---------------------------------------------------------------


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-k", "pattern", metavar="PATTERN", help="Run only tests whose name contains PATTERN (case-insensitive).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a line per test and a count; json: every test, its failures and the summary.")
@click.option("--junit-xml", "junit", type=click.Path(dir_okay=False), help="Also write a JUnit XML report to FILE.")
@click.option("--coverage", is_flag=True, help="Report the alerts, goals and playbooks no test exercised.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="With --coverage: exit 1 when coverage is below PERCENT.")
@click.option("--require-tests", is_flag=True, help="Exit 2 when PATHS hold no *.test.yaml file (default: pass).")
@config_options
def test_command(paths, pattern, fmt, junit, coverage, fail_under, require_tests, config_file, isolated):
    """Run spec tests: small series in, expected events out.

    Discovers every *.test.yaml under PATHS (default: the configuration's
    `test-paths`, else its `paths`, else the current directory),
    builds each test's snapshots from its series, runs the runtime on the
    specs the file names, and checks `expect` (each must occur) and
    `expect_none` (none may occur). A malformed test file is reported with
    all its problems as an errored test case, and the other files still
    run. Exit 0 when all pass (or there are no tests, unless
    --require-tests), 1 when any fails, 2 when a test file is malformed
    or -k selects no test.

    \b
    Examples:
      plays test specs/
      plays test specs/tests/alerts.test.yaml -k usage_drop
      plays test --coverage --fail-under 90 --junit-xml report.xml specs/
    """
    if junit == "-":  # was: a file named `-`
        raise UsageError("--junit-xml -: the report is written to a file (standard output has the results); "
                         "name one, such as report.xml")
    if fail_under is not None and not coverage:
        raise UsageError("--fail-under goes with --coverage")
    settings = load_settings(config_file, isolated)
    if fail_under is None and settings.fail_under is not None:  # the configuration's `fail-under` turns coverage on
        coverage, fail_under = True, settings.fail_under
    key = "test-paths" if settings.test_paths is not None else "paths"
    where = list(paths) or configured(settings.test_files_paths(), key, settings) or ["."]
    files = discover_test_files(where)
    if not files:
        message = f"no spec tests found under {', '.join(p(w) for w in where)} (no *.test.yaml file)"
        if require_tests:
            raise UsageError(message)
        click.echo(message)
        sys.exit(0)
    results = run_files(files, pattern, settings=settings)
    if pattern is not None and not results.outcomes and not results.problems:
        # `0 passed, 0 failed` and exit 0 would pass CI on a mistyped -k
        n = len(files)
        raise UsageError(f"-k {p(pattern)}: no test's name contains it (in {n} test file{'s' if n != 1 else ''})")
    cov = coverage_report(results.plans, results.outcomes) if coverage else None
    if fmt == "json":
        click.echo(render_json(results, cov), nl=False)
    else:
        click.echo(render_text(results), nl=False)
        if cov is not None:
            click.echo(f"coverage: {cov[0]:.1f}% of alerts, goals and playbooks exercised")
            for item in cov[1]:
                click.echo(f"  not exercised: {p(item)}")
    if junit:
        from plays.sources import write_atomic

        write_atomic(junit, render_junit(results.outcomes, results.problems, lambda o: "\n".join(render_outcome(o))))
    failed = any(not o.passed for o in results.outcomes)
    under = cov is not None and fail_under is not None and cov[0] < fail_under
    if under:
        click.echo(f"coverage {cov[0]:.1f}% is under --fail-under {fail_under:g}%", err=True)
    if results.problems:
        n = len(results.problems)
        click.echo(f"plays: error: {n} test file{'s' if n != 1 else ''} could not run (see ERROR above)", err=True)
        sys.exit(2)
    sys.exit(1 if failed or under else 0)
