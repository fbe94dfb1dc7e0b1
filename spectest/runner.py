"""Running spec tests: snapshot rows from the series, the runtime on them, events matched with expectations.

The runtime is driven through its public API only (``evaluate``,
``snapshots_from_rows``, ``ManualDeploy``). A malformed test file does not
stop the run: it becomes a ``FileProblem`` beside the other files' outcomes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from plays.compiler.plan import Plan
from plays.diagnostics import Diagnostic, error, suggest
from plays.errors import UsageError

from .format import Expectation, SpecFile, SpecFileError, SpecTest, read_test_file
from .series import is_date, parse_series  # noqa: F401 (parse_series: also imported from here by tests)

# --- building snapshots and matching -----------------------------------------


def snapshot_rows(test: SpecTest) -> list[dict]:
    """The snapshot rows of a test: one per account per series position, in (account, date) order."""
    rows = []
    for acc in sorted(test.accounts, key=lambda a: a.account):
        n = max((len(s) for s in acc.series.values()), default=1)
        for i in range(n):
            row = {"account": acc.account, "date": acc.start + timedelta(days=i * acc.every)}
            row.update(acc.attributes)
            for metric, values in acc.series.items():
                row[metric] = values[i] if i < len(values) else None
            rows.append(row)
    return rows


def matches(expectation: Expectation, event: dict) -> bool:
    """Whether ``event`` has every field the expectation gives."""
    return all(_same(event.get(k), v) for k, v in expectation.fields.items())


def _same(actual, expected) -> bool:
    if isinstance(actual, (date, datetime)):
        actual = actual.isoformat()
    if isinstance(expected, list):
        return isinstance(actual, (list, tuple)) and list(actual) == expected
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, (int, float)):
        return abs(actual - expected) <= 1e-9 * max(1.0, abs(expected))
    return actual == expected


def closest(expectation: Expectation, events: list[dict], n: int = 3) -> list[dict]:
    """The events nearest to a missed expectation: same kind, rule and account first, by date distance."""
    f = expectation.fields
    rule_keys = [k for k in ("alert", "goal") if k in f]

    def related(e):
        return sum(1 for k in ("event", *rule_keys, "account", "task") if k in f and _same(e.get(k), f[k]))

    def distance(e):
        if "date" in f and e.get("date") and is_date(f["date"]):
            try:
                return abs((date.fromisoformat(str(e["date"])[:10]) - date.fromisoformat(f["date"])).days)
            except ValueError:
                return 10**6
        return 0

    candidates = [e for e in events if all(_same(e.get(k), f[k]) for k in rule_keys if k in f)]
    candidates = [e for e in candidates if "account" not in f or _same(e.get("account"), f["account"])]
    same_kind = [e for e in candidates if "event" in f and e.get("event") == f["event"]]
    candidates = same_kind or candidates
    candidates.sort(key=lambda e: (-related(e), distance(e)))
    return candidates[:n]


@dataclass
class Outcome:
    """The result of one test: failures are (expectation, message, near misses)."""

    test: SpecTest
    file: str
    failures: list[tuple[Expectation, str, list[dict]]] = field(default_factory=list)
    error: str | None = None
    events: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass(frozen=True)
class FileProblem:
    """A test file that could not be run (malformed, or naming specs that cannot be read): its problems."""

    file: str
    diagnostics: tuple[Diagnostic, ...]


@dataclass
class Results:
    """Everything a ``plays test`` run found: outcomes, files that could not run, and the plans used."""

    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)


def check_events(test: SpecTest, file: str, events: list[dict]) -> Outcome:
    """Compare a test's events with its expectations."""
    out = Outcome(test=test, file=file, events=events)
    for exp in test.expect:
        if not any(matches(exp, e) for e in events):
            out.failures.append((exp, "expected event did not occur", closest(exp, events)))
    for exp in test.expect_none:
        hits = [e for e in events if matches(exp, e)]
        if hits:
            out.failures.append((exp, "unexpected event occurred", hits[:3]))
    return out


# --- running -----------------------------------------------------------------


def discover_test_files(paths: list[str]) -> list[Path]:
    """Every ``*.test.yaml`` under ``paths`` (files are taken as given), sorted; empty when there is none.

    ``UsageError`` for a path that does not exist.
    """
    found: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.update(q for q in p.rglob("*.test.yaml") if q.is_file())
        elif p.is_file():
            found.add(p)
        elif raw == "-":  # the Unix habit; test files are read from files only
            raise UsageError("-: spec tests are read from files, not standard input (name *.test.yaml files or folders)")
        else:
            raise UsageError(f"{raw}: no such file or directory")
    return sorted(found)


def check_rows(test: SpecTest, plan: Plan) -> list[Diagnostic]:
    """Test-file errors that only the catalog can reveal: unknown attributes, metrics, enum values, goals."""
    attrs = {a.name: a for a in plan.catalog.attributes}
    metrics = {m.name for m in plan.catalog.metrics}
    goals = {g.name: g for g in plan.goals}
    diags = []
    for acc in test.accounts:
        for name, value in acc.attributes.items():
            a = attrs.get(name)
            if a is None:
                diags.append(error("T103", f"account `{acc.account}`: unknown attribute `{name}`", acc.span,
                                   suggestion=suggest(name, attrs)))
            elif a.type == "enum" and value is not None and value not in a.values:
                diags.append(error("T103", f"account `{acc.account}`: `{value}` is not a value of `{name}` "
                                   f"({', '.join(a.values)})", acc.span, suggestion=suggest(str(value), a.values)))
            elif a.type == "date" and value is not None and not is_date(value):
                diags.append(error("T103", f"account `{acc.account}`: `{name}` must be a date like 2026-01-31 "
                                   "(a calendar date between 1900-01-01 and 2999-12-31)", acc.span))
            elif value is not None and (problem := _value_problem(a.type, value)):
                diags.append(error("T103", f"account `{acc.account}`: `{name}` {problem}", acc.span))
        for metric in acc.series:
            if metric not in metrics:
                diags.append(error("T103", f"account `{acc.account}`: unknown metric `{metric}`", acc.span,
                                   suggestion=suggest(metric, metrics)))
    accounts = {a.account for a in test.accounts}
    for d, at in zip(test.deploy, test.deploy_spans or [test.span] * len(test.deploy)):
        g = goals.get(d.goal)
        if g is None:
            diags.append(error("T103", f"`deploy` names no goal template `{d.goal}`", at,
                               suggestion=suggest(d.goal, goals)))
        elif d.playbook is not None and d.playbook not in (books := [b.name for b in g.playbooks]):
            diags.append(error("T103", f"`deploy` of `{d.goal}`: no playbook `{d.playbook}` "
                               f"(it has {', '.join(books) or 'none'})", at, suggestion=suggest(d.playbook, books)))
        if d.account not in accounts:
            diags.append(error("T103", f"`deploy` names account `{d.account}`, which this test does not have",
                               at, suggestion=suggest(d.account, accounts)))
    return diags


def _value_problem(kind: str, value) -> str | None:
    """Why an attribute value of a test does not fit its catalog type (text or number), or None."""
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, not {json.dumps(value)}"
        if not math.isfinite(value):
            return f"must be a finite number, not {json.dumps(value)}"
    elif kind == "text" and not isinstance(value, str):
        return f"is text: write {json.dumps(value)} in quotes"
    return None


def _compile(tf: SpecFile, settings=None):
    """The compiler's result for the spec set a test file names; ``SpecFileError`` (T104) when it cannot be read."""
    from plays.compiler.driver import compile_sources
    from plays.sources import discover

    try:
        return compile_sources(discover(list(tf.specs)), settings=settings)
    except UsageError as e:
        raise SpecFileError([error("T104", f"specs: {e}", tf.specs_span)]) from None


def run_files(files: list[Path], pattern: str | None = None, *, settings=None) -> Results:
    """Run every selected test of ``files``; a file that cannot run is a ``FileProblem`` and the others go on.

    ``settings`` (``plays.config.Settings``) are the configuration the specs are compiled with.
    """
    results = Results()
    compiled: dict[tuple[str, ...], object] = {}
    for f in files:
        try:
            run_file(f, pattern, compiled, results, settings)
        except SpecFileError as e:
            from .format import display

            results.problems.append(FileProblem(file=display(Path(f)), diagnostics=tuple(e.diagnostics)))
    return results


def run_file(f: Path, pattern: str | None, compiled: dict, results: Results, settings=None) -> None:
    """One test file's tests into ``results``; ``SpecFileError`` with all its problems when it is malformed."""
    tf, problems = read_test_file(f)
    key = tuple(tf.specs)
    if key not in compiled:
        try:
            compiled[key] = _compile(tf, settings)
        except SpecFileError as e:
            compiled[key] = e
        if not isinstance(compiled[key], SpecFileError) and compiled[key].ok:
            results.plans.append(compiled[key].plan)
    result = compiled[key]
    if isinstance(result, SpecFileError):  # the specs it names cannot be read: said at this file's `specs`
        problems += [error(d.code, d.message, tf.specs_span) for d in result.diagnostics]
        raise SpecFileError(sorted(problems, key=Diagnostic.sort_key))
    if result.ok:
        problems += [d for test in tf.tests for d in check_rows(test, result.plan)]
    if problems:
        raise SpecFileError(sorted(problems, key=Diagnostic.sort_key))
    selected = [t for t in tf.tests if pattern is None or pattern.lower() in t.name.lower()]
    if not result.ok:
        first = result.errors[0]
        results.outcomes.extend(
            Outcome(test=test, file=tf.path, error=f"the specs do not compile: {first.span}: {first.message}")
            for test in selected)
        return
    for test in selected:
        events = evaluate_rows(result.plan, snapshot_rows(test), test.deploy)
        results.outcomes.append(check_events(test, tf.path, events))


def evaluate_rows(plan: Plan, rows: list[dict], manual=()) -> list[dict]:
    """Run the runtime on in-memory snapshot rows; events as JSON-ready dicts."""
    from plays.runtime.engine import evaluate
    from plays.runtime.snapshots import snapshots_from_rows

    con = snapshots_from_rows(plan, rows)
    try:
        return [e.to_json() for e in evaluate(plan, con, manual=tuple(manual))]
    finally:
        con.close()
