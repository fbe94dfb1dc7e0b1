"""The test-file format (``*.test.yaml``): loading with positions, schema validation, typed tests.

A test file is read with ruamel.yaml so that every test, account, series and
expectation keeps its line, validated against ``schemas/spectest.schema.json``,
and turned into ``SpecTest`` values. Every problem of a file is collected and
reported together (``SpecFileError``), not one kind per run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from plays.diagnostics import Diagnostic, Span, error
from plays.errors import InputError
from plays.runtime.engine import ManualDeploy

from .series import MAX_DATE, ValueProblem, parse_date, parse_duration, parse_series

# A YAML file may share nodes through anchors and aliases; expanded, nested
# aliases grow exponentially ("billion laughs"). Expansion stops past these.
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_ERRORS = 50  # schema problems reported per file


@dataclass(frozen=True, slots=True)
class Expectation:
    """One ``expect`` or ``expect_none`` entry: the fields to compare, and where it is written."""

    fields: dict
    span: Span
    text: str  # the entry as written, for failure messages


@dataclass(frozen=True, slots=True)
class AccountSeries:
    """One account of a test: attributes and metric series."""

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
    deploy: tuple[ManualDeploy, ...] = ()  # a CSM's manual deployments
    deploy_spans: tuple[Span, ...] = ()  # where each is written


@dataclass
class SpecFile:
    """A parsed ``*.test.yaml``: the spec paths (resolved), where they are written, and its tests."""

    path: str
    specs: list[str]
    tests: list[SpecTest] = field(default_factory=list)
    specs_span: Span | None = None


class SpecFileError(InputError):
    """A malformed test file (exit 2): every positioned problem found in it."""

    default_message = "malformed test file"


def display(p: Path) -> str:
    """A test file's path as shown: relative to the current directory, unless it lies outside it."""
    rel = os.path.relpath(p)
    return p.as_posix() if rel.startswith("..") and p.is_absolute() else Path(rel).as_posix()


class _TooBig(Exception):
    pass


def _plain(node, budget: list[int], depth: int = 0):
    """ruamel's round-trip values -> plain JSON-like values (dates as ISO strings), within MAX_NODES/MAX_DEPTH."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooBig
    if isinstance(node, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v, budget, depth + 1) for v in node]
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
                ln, cl = lc.item(key) if isinstance(node, list) else lc.key(key)
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
    """Read, validate and parse one test file; ``SpecFileError`` with every problem when it is malformed."""
    tf, diags = read_test_file(path)
    if diags:
        raise SpecFileError(diags)
    return tf


def read_test_file(path: str | Path) -> tuple[SpecFile, list[Diagnostic]]:
    """One test file and the problems found in it: the tests that could be read, so that later checks
    (against the catalog) can add theirs and every problem is reported at once.

    ``SpecFileError`` when nothing of the file can be used (unreadable, not YAML, not a list of tests).
    """
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from plays.schemas import load as load_schema

    p = Path(path)
    shown = display(p)
    at_start = Span.point(shown, 1, 1)
    try:
        text = p.read_text("utf-8")
    except UnicodeDecodeError:
        raise SpecFileError([error("T100", "not UTF-8 text", at_start)]) from None
    except OSError as e:
        raise SpecFileError([error("T100", f"cannot read: {e.strerror or e}", at_start)]) from None
    try:
        yaml = YAML(typ="rt")
        yaml.Constructor = _DatesAsText
        root = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecFileError([error("T100", f"not valid YAML: {e.problem}", Span.point(shown, line, col))]) from None
    except (YAMLError, RecursionError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpecFileError([error("T100", f"not valid YAML: {first}", at_start)]) from None
    try:
        data = _plain(root, [MAX_NODES])
    except (_TooBig, RecursionError):
        raise SpecFileError([error(
            "T100", f"the file expands to more than {MAX_NODES:,} values or {MAX_DEPTH} levels "
            "(nested YAML aliases?)", at_start)]) from None
    if data is None:
        raise SpecFileError([error("T101", "the test file is empty", at_start)])

    diags: list[Diagnostic] = []
    validator = Draft202012Validator(load_schema("spectest.schema.json"))
    problems = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    bad_tests: set[int] = set()
    for e in problems[:MAX_ERRORS]:
        where_path = list(e.absolute_path)
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            extra = [k for k in e.instance if k not in e.schema.get("properties", {})]
            where_path += extra[:1]
        line, col = _node_line(root, where_path)
        where = "/".join(map(str, e.absolute_path)) or "the file"
        diags.append(error("T101", f"{where}: {_schema_message(e)}", Span.point(shown, line, col)))
    for e in problems:
        path = list(e.absolute_path)
        if len(path) >= 2 and path[0] == "tests" and isinstance(path[1], int):
            bad_tests.add(path[1])
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list) or not (
            isinstance(data.get("specs", ".."), (str, list))):
        raise SpecFileError(diags)

    specs = data.get("specs", [".."])
    specs = [specs] if isinstance(specs, str) else specs
    specs_at = Span.point(shown, *_node_line(root, ["specs"])) if "specs" in data else at_start
    tf = SpecFile(path=shown, specs=[display(p.parent / str(s)) for s in specs], specs_span=specs_at)
    lines = text.splitlines()
    for i, t in enumerate(data["tests"]):
        if i in bad_tests:
            continue  # its schema problems are reported; its values are not read
        tf.tests.append(_parse_test(t, root["tests"][i], shown, lines, _node_line(root, ["tests", i]), diags))
    return tf, sorted(diags, key=Diagnostic.sort_key)


def _schema_message(e) -> str:
    if e.validator == "additionalProperties":
        return e.message.replace("Additional properties are not allowed", "unknown key")
    if e.validator == "pattern":
        return f"{e.instance!r} is not of the form {'YYYY-MM-DD' if 'd{4}' in e.validator_value else '7d or 2w'}"
    return e.message


def _value(parse, raw, node, key_path, path, diags, what: str):
    """``parse(raw)``, or None with a positioned T101 problem."""
    try:
        return parse(raw)
    except ValueProblem as e:
        line, col = _node_line(node, key_path)
        diags.append(error("T101", f"{what}: {e}", Span.point(path, line, col)))
        return None


def _parse_test(t: dict, node, path: str, lines: list[str], pos, diags) -> SpecTest:
    start = _value(parse_date, t["start"], node, ["start"], path, diags, "start")
    every = _value(parse_duration, t.get("every", "1d"), node, ["every"], path, diags, "every")
    accounts = []
    for acc, spec in t["accounts"].items():
        aline, acol = _node_line(node, ["accounts", acc])
        acc_node = node["accounts"][acc]
        series = {}
        for metric, text in (spec.get("series") or {}).items():
            try:
                series[metric] = parse_series(text)
            except ValueProblem as e:
                sline, scol = _node_line(acc_node, ["series", metric])
                diags.append(error("T102", f"series `{metric}` of `{acc}`: {e}", Span.point(path, sline, scol)))
        a_start = start if "start" not in spec else _value(
            parse_date, spec["start"], acc_node, ["start"], path, diags, f"start of `{acc}`")
        a_every = every if "every" not in spec else _value(
            parse_duration, spec["every"], acc_node, ["every"], path, diags, f"every of `{acc}`")
        if a_start is None or a_every is None:
            continue
        n = max((len(s) for s in series.values()), default=1)
        if a_start.toordinal() + (n - 1) * a_every > MAX_DATE.toordinal():
            diags.append(error("T101", f"the series of `{acc}` run past {MAX_DATE} ({n:,} values every {a_every}d "
                               f"from {a_start})", Span.point(path, aline, acol)))
            continue
        accounts.append(AccountSeries(
            account=acc, attributes=dict(spec.get("attributes") or {}), series=series, start=a_start,
            every=a_every, span=Span.point(path, aline, acol),
        ))
    expect = tuple(_expectations(t, node, "expect", path, lines, diags))
    expect_none = tuple(_expectations(t, node, "expect_none", path, lines, diags))
    deploy, deploy_spans = [], []
    for i, d in enumerate(t.get("deploy") or ()):
        on = _value(parse_date, d["date"], node["deploy"][i], ["date"], path, diags, "deploy date")
        if on is not None:
            deploy.append(ManualDeploy(goal=d["goal"], account=d["account"], on=on, playbook=d.get("playbook")))
            deploy_spans.append(Span.point(path, *_node_line(node, ["deploy", i])))
    return SpecTest(
        name=t["name"], accounts=tuple(accounts), expect=expect, expect_none=expect_none,
        span=Span.point(path, *pos), deploy=tuple(deploy), deploy_spans=tuple(deploy_spans),
    )


def _expectations(t, node, key, path, lines, diags):
    for i, fields in enumerate(t.get(key) or ()):
        line, col = _node_line(node, [key, i])
        for k in ("date", "due", "start"):
            # an impossible date would never match: an `expect_none` would pass without meaning anything
            if k in fields:
                _value(parse_date, fields[k], node[key][i], [k], path, diags, f"{key} {k}")
        text = lines[line - 1].strip() if 0 < line <= len(lines) else str(fields)
        text = text[2:] if text.startswith("- ") else text
        yield Expectation(fields=fields, span=Span.point(path, line, col), text=text)
