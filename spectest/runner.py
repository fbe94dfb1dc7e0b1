"""Spec tests (``*.test.yaml``): load with positions, build snapshots, match events.

A test file is read with ruamel.yaml so that every test, account, series and
expectation keeps its line, validated against ``schemas/spectest.schema.json``,
and turned into ``SpecTest`` values. Running a test builds the snapshot rows
from the compact series notation (``100x7 70x5``, ``_`` for empty), runs the
runtime on them and compares the events with ``expect`` / ``expect_none``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from plays.diagnostics import Diagnostic, Span, error
from plays.errors import PlaysError

# --- the file format --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expectation:
    """One ``expect`` or ``expect_none`` entry: the fields to compare, and where it is written."""

    fields: dict
    span: Span
    text: str  # the entry as written, for failure messages

    def matches(self, event: dict) -> bool:
        return all(_same(event.get(k), v) for k, v in self.fields.items())


@dataclass(frozen=True, slots=True)
class AccountSeries:
    """One account of a test: attributes and metric series, expanded to rows."""

    account: str
    attributes: dict
    series: dict[str, list[float | None]]
    start: date
    every: int
    span: Span


@dataclass(frozen=True, slots=True)
class SpecTest:
    """One test of a test file."""

    name: str
    accounts: tuple[AccountSeries, ...]
    expect: tuple[Expectation, ...]
    expect_none: tuple[Expectation, ...]
    span: Span
    deploy: tuple = ()  # ManualDeploy values: a CSM's manual deployments


@dataclass
class SpecFile:
    """A parsed ``*.test.yaml``: the spec paths (resolved) and its tests."""

    path: str
    specs: list[str]
    tests: list[SpecTest] = field(default_factory=list)


class SpecFileError(PlaysError):
    """A malformed test file (exit code 2): positioned diagnostics."""

    exit_code = 2

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__(diagnostics[0].message if diagnostics else "malformed test file")


_VALUE = re.compile(r"^(?P<v>_|-?\$?\d+(?:\.\d+)?%?)(?:x(?P<n>\d+))?$")


def parse_series(text: str | int | float) -> list[float | None]:
    """Expand the compact series notation.

    >>> parse_series("100x3 70 _x2 4.5 20% $1200")
    [100, 100, 100, 70, None, None, 4.5, 0.2, 1200]
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [text]
    out: list[float | None] = []
    for piece in str(text).split():
        m = _VALUE.match(piece)
        if not m:
            raise ValueError(
                f"`{piece}` is not a series value (a number, 20%, $1200, or _ for empty; VxN repeats V N times)"
            )
        v = m.group("v")
        n = int(m.group("n") or 1)
        out.extend([_series_value(v)] * n)
    return out


def _series_value(v: str) -> float | None:
    if v == "_":
        return None
    neg = v.startswith("-")
    v = v.lstrip("-").lstrip("$")
    if v.endswith("%"):
        x = float(v[:-1]) / 100
    else:
        x = float(v) if "." in v else int(v)
    return -x if neg else x


def parse_duration(text: str) -> int:
    n = int(text[:-1])
    return n * 7 if text.endswith("w") else n


def _plain(node):
    """ruamel's round-trip values -> plain JSON-like values (dates as ISO strings)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    if isinstance(node, datetime):
        return node.date().isoformat()
    if isinstance(node, date):
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    return node


def _node_line(root, path) -> tuple[int, int]:
    """The 1-based (line, col) of the YAML node at ``path`` (as deep as it can be found)."""
    node, line, col = root, 1, 1
    for key in path:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                if isinstance(node, list):
                    ln, cl = lc.item(key)
                else:
                    ln, cl = lc.key(key)
                line, col = ln + 1, cl + 1
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line, col


def _dates_as_text():
    from ruamel.yaml.constructor import RoundTripConstructor

    class DatesAsText(RoundTripConstructor):
        """Keeps YAML timestamps as text, so a bad date is reported with its line by us."""

    DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)
    return DatesAsText


_DatesAsText = _dates_as_text()


def load_test_file(path: str | Path) -> SpecFile:
    """Read, validate and parse one test file; raise ``SpecFileError`` when malformed."""
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from plays.schemas import load as load_schema

    p = Path(path)
    shown = _display(p)
    try:
        text = p.read_text("utf-8")
    except UnicodeDecodeError:
        raise SpecFileError([error("T100", "not UTF-8 text", Span.point(shown, 1, 1))]) from None
    except OSError as e:
        raise SpecFileError([error("T100", f"cannot read: {e.strerror}", Span.point(shown, 1, 1))]) from None
    try:
        yaml = YAML(typ="rt")
        yaml.Constructor = _DatesAsText
        root = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecFileError([error("T100", f"not valid YAML: {e.problem}", Span.point(shown, line, col))]) from None
    except YAMLError as e:
        raise SpecFileError([error("T100", f"not valid YAML: {e}", Span.point(shown, 1, 1))]) from None
    data = _plain(root)
    if data is None:
        raise SpecFileError([error("T101", "the test file is empty", Span.point(shown, 1, 1))])
    validator = Draft202012Validator(load_schema("spectest.schema.json"))
    problems = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        diags = []
        for e in problems[:20]:
            where_path = list(e.absolute_path)
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                extra = [k for k in e.instance if k not in e.schema.get("properties", {})]
                where_path += extra[:1]
            line, col = _node_line(root, where_path)
            where = "/".join(map(str, e.absolute_path)) or "the file"
            diags.append(error("T101", f"{where}: {_schema_message(e)}", Span.point(shown, line, col)))
        raise SpecFileError(diags)

    specs = data.get("specs", [".."])
    specs = [specs] if isinstance(specs, str) else specs
    tf = SpecFile(path=shown, specs=[_display(p.parent / s) for s in specs])
    lines = text.splitlines()
    diags: list[Diagnostic] = []
    for i, t in enumerate(data["tests"]):
        line, col = _node_line(root, ["tests", i])
        tf.tests.append(_parse_test(t, root["tests"][i], shown, lines, (line, col), diags))
    if diags:
        raise SpecFileError(diags)
    return tf


def _schema_message(e) -> str:
    if e.validator == "additionalProperties":
        return e.message.replace("Additional properties are not allowed", "unknown key")
    if e.validator == "pattern":
        return f"{e.instance!r} is not of the form {'YYYY-MM-DD' if 'd{4}' in e.validator_value else '7d or 2w'}"
    return e.message


def _parse_test(t: dict, node, path: str, lines: list[str], pos, diags) -> SpecTest:
    start = date.fromisoformat(t["start"]) if _is_date(t["start"]) else None
    if start is None:
        line, col = _node_line(node, ["start"])
        diags.append(error("T101", f"`{t['start']}` is not a calendar date", Span.point(path, line, col)))
        start = date(2000, 1, 1)
    every = parse_duration(t.get("every", "1d"))
    accounts = []
    for acc, spec in t["accounts"].items():
        aline, acol = _node_line(node, ["accounts", acc])
        series = {}
        for metric, text in (spec.get("series") or {}).items():
            try:
                series[metric] = parse_series(text)
            except ValueError as e:
                sline, scol = _node_line(node["accounts"][acc], ["series", metric])
                diags.append(error("T102", f"series `{metric}` of `{acc}`: {e}", Span.point(path, sline, scol)))
        a_start = spec.get("start")
        accounts.append(
            AccountSeries(
                account=acc,
                attributes=dict(spec.get("attributes") or {}),
                series=series,
                start=date.fromisoformat(a_start) if a_start and _is_date(a_start) else start,
                every=parse_duration(spec["every"]) if spec.get("every") else every,
                span=Span.point(path, aline, acol),
            )
        )
    expect = tuple(_expectations(t, node, "expect", path, lines))
    expect_none = tuple(_expectations(t, node, "expect_none", path, lines))
    from plays.runtime.engine import ManualDeploy

    deploy = tuple(
        ManualDeploy(goal=d["goal"], account=d["account"], on=date.fromisoformat(d["date"]), playbook=d.get("playbook"))
        for d in t.get("deploy") or () if _is_date(d["date"])
    )
    return SpecTest(
        name=t["name"], accounts=tuple(accounts), expect=expect, expect_none=expect_none,
        span=Span.point(path, *pos), deploy=deploy,
    )


def _expectations(t, node, key, path, lines):
    for i, fields in enumerate(t.get(key) or ()):
        line, col = _node_line(node, [key, i])
        text = lines[line - 1].strip() if 0 < line <= len(lines) else str(fields)
        text = text[2:] if text.startswith("- ") else text
        yield Expectation(fields=fields, span=Span.point(path, line, col), text=text)


def _is_date(s) -> bool:
    try:
        date.fromisoformat(str(s))
        return True
    except ValueError:
        return False


def _display(p: Path) -> str:
    import os

    rel = os.path.relpath(p)
    shown = p.as_posix() if rel.startswith("..") and p.is_absolute() else Path(rel).as_posix()
    return shown


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
        return (
            sum(1 for k in ("event", *rule_keys, "account", "task") if k in f and _same(e.get(k), f[k]))
        )

    def distance(e):
        if "date" in f and e.get("date"):
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


def check_events(test: SpecTest, file: str, events: list[dict]) -> Outcome:
    """Compare a test's events with its expectations."""
    out = Outcome(test=test, file=file, events=events)
    for exp in test.expect:
        if not any(exp.matches(e) for e in events):
            out.failures.append((exp, "expected event did not occur", closest(exp, events)))
    for exp in test.expect_none:
        hits = [e for e in events if exp.matches(e)]
        if hits:
            out.failures.append((exp, "unexpected event occurred", hits[:3]))
    return out


# --- running -----------------------------------------------------------------


def discover_test_files(paths: list[str]) -> list[Path]:
    """Every ``*.test.yaml`` under ``paths`` (files are taken as given), sorted."""
    from plays.diagnostics import UsageError

    found: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.update(q for q in p.rglob("*.test.yaml") if q.is_file())
        elif p.is_file():
            found.add(p)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    if not found:
        raise UsageError(f"no *.test.yaml files under {', '.join(paths)}")
    return sorted(found)


def _compile_specs(specs: tuple[str, ...]):
    """The plan of a spec set, or the compiler's result when it has errors."""
    from plays.compiler.driver import compile_sources
    from plays.sources import discover

    return compile_sources(discover(list(specs)))


def check_rows(test: SpecTest, plan) -> list[Diagnostic]:
    """Test-file errors that only the catalog can reveal: unknown attributes, metrics, enum values."""
    from plays.diagnostics import suggest

    attrs = {a.name: a for a in plan.catalog.attributes}
    metrics = {m.name for m in plan.catalog.metrics}
    diags = []
    for acc in test.accounts:
        for name, value in acc.attributes.items():
            a = attrs.get(name)
            if a is None:
                hint = suggest(name, attrs)
                diags.append(error("T103", f"account `{acc.account}`: unknown attribute `{name}`", acc.span,
                                   suggestion=hint))
            elif a.type == "enum" and value is not None and value not in a.values:
                diags.append(error("T103", f"account `{acc.account}`: `{value}` is not a value of `{name}` "
                                   f"({', '.join(a.values)})", acc.span, suggestion=suggest(str(value), a.values)))
            elif a.type == "date" and value is not None and not _is_date(value):
                diags.append(error("T103", f"account `{acc.account}`: `{name}` must be a date like 2026-01-31",
                                   acc.span))
        for metric in acc.series:
            if metric not in metrics:
                diags.append(error("T103", f"account `{acc.account}`: unknown metric `{metric}`", acc.span,
                                   suggestion=suggest(metric, metrics)))
    return diags


def run_files(files: list[Path], pattern: str | None = None) -> tuple[list[Outcome], list]:
    """Run every selected test of ``files``; returns the outcomes and the plans used.

    Raises ``SpecFileError`` for a malformed test file (exit code 2).
    """
    from plays.compiler.driver import Result

    outcomes: list[Outcome] = []
    plans: list = []
    compiled: dict[tuple[str, ...], Result] = {}
    for f in files:
        tf = load_test_file(f)
        key = tuple(tf.specs)
        if key not in compiled:
            compiled[key] = _compile_specs(key)
            if compiled[key].ok:
                plans.append(compiled[key].plan)
        result = compiled[key]
        selected = [t for t in tf.tests if pattern is None or pattern.lower() in t.name.lower()]
        for test in selected:
            if not result.ok:
                first = result.errors[0]
                outcomes.append(Outcome(test=test, file=tf.path,
                                        error=f"the specs do not compile: {first.span}: {first.message}"))
                continue
            problems = check_rows(test, result.plan)
            if problems:
                raise SpecFileError(problems)
            unknown = [d for d in test.deploy if d.goal not in {g.name for g in result.plan.goals}]
            if unknown:
                raise SpecFileError([error("T103", f"`deploy` names no goal template `{unknown[0].goal}`", test.span)])
            events = evaluate_rows(result.plan, snapshot_rows(test), test.deploy)
            outcomes.append(check_events(test, tf.path, events))
    return outcomes, plans


def evaluate_rows(plan, rows: list[dict], manual=()) -> list[dict]:
    """Run the runtime on in-memory snapshot rows; events as JSON-ready dicts."""
    from plays.runtime.engine import evaluate
    from plays.runtime.snapshots import snapshots_from_rows

    con = snapshots_from_rows(plan, rows)
    try:
        return [e.to_json() for e in evaluate(plan, con, manual=tuple(manual))]
    finally:
        con.close()
