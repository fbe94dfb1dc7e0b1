"""The typed plan: what the compiler hands every later stage (docs/plan.md).

Frozen, slotted dataclasses built by lowering, written by one ``to_json``
(keys in the contract's fixed order) and read back by one ``from_json``
(schema-validated first, then the checks the schema cannot express), so no
later stage indexes a plan dict by string.

>>> from plays.compiler.driver import compile_text
>>> plan = compile_text('metric mau: count\\nalert low { when: mau < 10 }')
>>> plan.alerts[0].when.source, plan.alerts[0].severity
('mau < 10', 'medium')
>>> type(plan).from_json(plan.to_json()) == plan  # the same typed plan, read back
True
>>> dumps(plan).startswith('{\\n  "plan_version": 1')
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Union

from plays.diagnostics import Span, UsageError
from plays.schemas import load as load_schema

from .title import check_plan_titles

PLAN_VERSION = 1


class PlanError(Exception):
    """A plan that does not match the schema or its own catalog.

    From the compiler it is a bug (exit 70, as an internal error); ``load``
    turns it into a ``UsageError`` for a plan file the user gave (exit 2)."""


# --- locations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a plan element starts in the spec: ``path:line:col``."""

    path: str
    line: int
    col: int

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line, "col": self.col}

    @classmethod
    def from_json(cls, d: dict) -> Loc:
        return cls(d["path"], d["line"], d["col"])

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    @property
    def span(self) -> Span:
        """The position as a one-character span, for diagnostics about this plan element."""
        return Span.point(self.path, self.line, self.col)


# --- expressions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: numbers, percent as a fraction, duration in days, date as ISO text, bool, text, enum."""

    type: str
    value: object
    op: str = field(default="const", init=False)

    def to_json(self) -> dict:
        return {"op": "const", "type": self.type, "value": self.value}


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric's value at the evaluation date."""

    type: str
    name: str
    op: str = field(default="metric", init=False)

    def to_json(self) -> dict:
        return {"op": "metric", "type": self.type, "name": self.name}


@dataclass(frozen=True, slots=True)
class Attr:
    """An account attribute (``id`` is the account's id)."""

    type: str
    name: str
    op: str = field(default="attr", init=False)

    def to_json(self) -> dict:
        return {"op": "attr", "type": self.type, "name": self.name}


@dataclass(frozen=True, slots=True)
class Call:
    """A function of the language (LANGUAGE.md's table); ``source`` is the call as written, when known."""

    type: str
    func: str
    args: tuple[Expr, ...]
    source: str | None = None
    op: str = field(default="call", init=False)

    def to_json(self) -> dict:
        out = {"op": "call", "type": self.type, "func": self.func, "args": [a.to_json() for a in self.args]}
        if self.source is not None:
            out["source"] = self.source
        return out

    @property
    def metric(self) -> str | None:
        """The metric or attribute the call reads (its first argument's name)."""
        first = self.args[0] if self.args else None
        return first.name if isinstance(first, (Metric, Attr)) else None

    @property
    def days(self) -> int | None:
        """The window in days, for the functions that take one."""
        if len(self.args) > 1 and isinstance(self.args[1], Const):
            return int(self.args[1].value)
        return None

    def describe(self) -> str:
        """The call as the spec writes it: ``pct_change(mau, 7d)`` (its ``source`` when the plan has it)."""
        if self.source is not None:
            return self.source
        parts = []
        for a in self.args:
            if isinstance(a, Const) and a.type == "duration":
                parts.append(f"{a.value}d")
            elif isinstance(a, (Metric, Attr)):
                parts.append(a.name)
            else:
                parts.append(str(a.value) if isinstance(a, Const) else "…")
        return f"{self.func}({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class Unary:
    """``neg`` (arithmetic minus) or ``not``."""

    op: str
    type: str
    arg: Expr

    def to_json(self) -> dict:
        return {"op": self.op, "type": self.type, "arg": self.arg.to_json()}


@dataclass(frozen=True, slots=True)
class IsEmpty:
    """``x is empty`` (``negated``: ``is not empty``)."""

    type: str
    arg: Expr
    negated: bool
    op: str = field(default="is_empty", init=False)

    def to_json(self) -> dict:
        return {"op": "is_empty", "type": self.type, "arg": self.arg.to_json(), "negated": self.negated}


@dataclass(frozen=True, slots=True)
class InList:
    """``x in (a, b)`` (``negated``: ``not in``)."""

    type: str
    arg: Expr
    items: tuple[Expr, ...]
    negated: bool
    op: str = field(default="in", init=False)

    def to_json(self) -> dict:
        return {"op": "in", "type": self.type, "arg": self.arg.to_json(),
                "items": [i.to_json() for i in self.items], "negated": self.negated}


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison, ``and``/``or``."""

    op: str
    type: str
    left: Expr
    right: Expr

    def to_json(self) -> dict:
        return {"op": self.op, "type": self.type, "left": self.left.to_json(), "right": self.right.to_json()}


Expr = Union[Const, Metric, Attr, Call, Unary, IsEmpty, InList, Binary]

UNARY_OPS = frozenset({"neg", "not"})
BINARY_OPS = frozenset({"+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or"})


def iter_children(node: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of ``node``, in written order (Jinja's ``iter_child_nodes``)."""
    if isinstance(node, Binary):
        yield node.left
        yield node.right
    elif isinstance(node, (Unary, IsEmpty)):
        yield node.arg
    elif isinstance(node, InList):
        yield node.arg
        yield from node.items
    elif isinstance(node, Call):
        yield from node.args


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children, in written order; iterative (no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(tuple(iter_children(n))))


def find_all(node: Expr, kind: type) -> Iterator:
    """Every node of type ``kind`` in the tree, in written order (sqlglot's ``find_all``)."""
    return (n for n in walk(node) if isinstance(n, kind))


def expr_from_json(d: dict) -> Expr:
    """An expression tree from its JSON form; iterative, so deep plans do not hit Python's recursion limit."""
    # Post-order over an explicit stack: children are built before their parent.
    built: dict[int, Expr] = {}
    stack: list[tuple[dict, bool]] = [(d, False)]
    while stack:
        node, ready = stack.pop()
        kids = _json_children(node)
        if not ready and kids:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        built[id(node)] = _expr_node(node, built)
    return built[id(d)]


def _json_children(node: dict) -> list[dict]:
    op = node["op"]
    if op in BINARY_OPS:
        return [node["left"], node["right"]]
    if op in UNARY_OPS or op == "is_empty":
        return [node["arg"]]
    if op == "in":
        return [node["arg"], *node["items"]]
    if op == "call":
        return list(node["args"])
    return []


def _expr_node(node: dict, built: dict[int, Expr]) -> Expr:
    op, t = node["op"], node["type"]
    if op == "const":
        return Const(t, node["value"])
    if op == "metric":
        return Metric(t, node["name"])
    if op == "attr":
        return Attr(t, node["name"])
    if op == "call":
        return Call(t, node["func"], tuple(built[id(a)] for a in node["args"]), node.get("source"))
    if op in UNARY_OPS:
        return Unary(op, t, built[id(node["arg"])])
    if op == "is_empty":
        return IsEmpty(t, built[id(node["arg"])], node["negated"])
    if op == "in":
        return InList(t, built[id(node["arg"])], tuple(built[id(i)] for i in node["items"]), node["negated"])
    return Binary(op, t, built[id(node["left"])], built[id(node["right"])])


def expr_to_json(node: Expr) -> dict:
    """An expression tree as JSON; iterative, like ``expr_from_json``."""
    out: dict[int, dict] = {}
    stack: list[tuple[Expr, bool]] = [(node, False)]
    while stack:
        n, ready = stack.pop()
        kids = tuple(iter_children(n))
        if not ready and kids:
            stack.append((n, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        if isinstance(n, Binary):
            j = {"op": n.op, "type": n.type, "left": out[id(n.left)], "right": out[id(n.right)]}
        elif isinstance(n, Unary):
            j = {"op": n.op, "type": n.type, "arg": out[id(n.arg)]}
        elif isinstance(n, IsEmpty):
            j = {"op": "is_empty", "type": n.type, "arg": out[id(n.arg)], "negated": n.negated}
        elif isinstance(n, InList):
            j = {"op": "in", "type": n.type, "arg": out[id(n.arg)], "items": [out[id(i)] for i in n.items],
                 "negated": n.negated}
        elif isinstance(n, Call):
            j = {"op": "call", "type": n.type, "func": n.func, "args": [out[id(a)] for a in n.args]}
            if n.source is not None:
                j["source"] = n.source
        else:
            j = n.to_json()
        out[id(n)] = j
    return out[id(node)]


@dataclass(frozen=True, slots=True)
class Condition:
    """A whole condition (a ``when``, a ``where``, ...) with its text as written and where it starts."""

    expr: Expr
    loc: Loc
    source: str

    def to_json(self) -> dict:
        return {"expr": expr_to_json(self.expr), "loc": self.loc.to_json(), "source": self.source}

    @classmethod
    def from_json(cls, d: dict | None) -> Condition | None:
        if d is None:
            return None
        return cls(expr_from_json(d["expr"]), Loc.from_json(d["loc"]), d["source"])


def _cond_json(c: Condition | None) -> dict | None:
    return None if c is None else c.to_json()


# --- catalog -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attribute:
    """An account attribute of the catalog: ``text | date | number | enum`` (with its values)."""

    name: str
    type: str
    values: tuple[str, ...]
    loc: Loc

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "values": list(self.values), "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Attribute:
        return cls(d["name"], d["type"], tuple(d["values"]), Loc.from_json(d["loc"]))


@dataclass(frozen=True, slots=True)
class MetricDef:
    """A metric of the catalog: ``count | number | money | percent``."""

    name: str
    type: str
    description: str | None
    loc: Loc

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "description": self.description, "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> MetricDef:
        return cls(d["name"], d["type"], d["description"], Loc.from_json(d["loc"]))


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a snapshot row holds besides ``account`` and ``date``."""

    attributes: tuple[Attribute, ...]
    metrics: tuple[MetricDef, ...]

    def to_json(self) -> dict:
        return {"attributes": [a.to_json() for a in self.attributes], "metrics": [m.to_json() for m in self.metrics]}

    @classmethod
    def from_json(cls, d: dict) -> Catalog:
        return cls(tuple(Attribute.from_json(a) for a in d["attributes"]),
                   tuple(MetricDef.from_json(m) for m in d["metrics"]))

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def metric(self, name: str) -> MetricDef | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of a snapshot row, in table order."""
        return ("account", "date", *(a.name for a in self.attributes), *(m.name for m in self.metrics))


# --- playbooks and tasks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    """A task of a playbook with its planned schedule (``offset``: days from the start to the due date)."""

    name: str
    title: str
    type: str
    owner: str
    due: int
    after: tuple[str, ...]
    every: int | None
    until: int | None
    offset: int
    loc: Loc

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "type": self.type, "owner": self.owner, "due": self.due,
                "after": list(self.after), "every": self.every, "until": self.until, "offset": self.offset,
                "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Task:
        return cls(d["name"], d["title"], d["type"], d["owner"], d["due"], tuple(d["after"]), d["every"],
                   d["until"], d["offset"], Loc.from_json(d["loc"]))

    def schedule(self, start: date) -> Iterator[tuple[date, int]]:
        """(due date, occurrence) from a start date: one, or one per recurrence while k * every <= until."""
        from datetime import timedelta

        if self.every is None:
            yield start + timedelta(days=self.offset), 0
            return
        k = 1
        while k * self.every <= self.until:
            yield start + timedelta(days=k * self.every), k
            k += 1


@dataclass(frozen=True, slots=True)
class Playbook:
    """A playbook: chosen when its ``where`` holds (the first that does, in written order; no ``where`` is the default)."""

    name: str
    where: Condition | None
    tasks: tuple[Task, ...]
    loc: Loc

    def to_json(self) -> dict:
        return {"name": self.name, "where": _cond_json(self.where), "tasks": [t.to_json() for t in self.tasks],
                "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Playbook:
        return cls(d["name"], Condition.from_json(d["where"]), tuple(Task.from_json(t) for t in d["tasks"]),
                   Loc.from_json(d["loc"]))


def _books(ds: list[dict]) -> tuple[Playbook, ...]:
    return tuple(Playbook.from_json(b) for b in ds)


# --- rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert rule: ``when`` (and ``where``) held for ``for`` days fires it; ``cooldown`` days between fires."""

    name: str
    title: str
    severity: str
    where: Condition | None
    when: Condition
    for_: int | None
    cooldown: int | None
    playbooks: tuple[Playbook, ...]
    loc: Loc
    kind = "alert"

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "severity": self.severity, "where": _cond_json(self.where),
                "when": self.when.to_json(), "for": self.for_, "cooldown": self.cooldown,
                "playbooks": [b.to_json() for b in self.playbooks], "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Alert:
        return cls(d["name"], d["title"], d["severity"], Condition.from_json(d["where"]),
                   Condition.from_json(d["when"]), d["for"], d["cooldown"], _books(d["playbooks"]),
                   Loc.from_json(d["loc"]))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in (self.where, self.when, *(b.where for b in self.playbooks)) if c is not None)


@dataclass(frozen=True, slots=True)
class DeployOn:
    """``deploy: on ATTR [+|- offset]``: the trigger date is the attribute's value plus ``offset`` days."""

    attr: str
    offset: int
    kind = "on"

    def to_json(self) -> dict:
        return {"kind": "on", "attr": self.attr, "offset": self.offset}


@dataclass(frozen=True, slots=True)
class DeployWhen:
    """``deploy: when EXPR``: deploys where the condition becomes true."""

    condition: Condition
    kind = "when"

    def to_json(self) -> dict:
        return {"kind": "when", "condition": self.condition.to_json()}


@dataclass(frozen=True, slots=True)
class DeployManual:
    """``deploy: manual`` (also the default): a person deploys it."""

    kind = "manual"

    def to_json(self) -> dict:
        return {"kind": "manual"}


Deploy = Union[DeployOn, DeployWhen, DeployManual]


def _deploy(d: dict) -> Deploy:
    if d["kind"] == "on":
        return DeployOn(d["attr"], d["offset"])
    if d["kind"] == "when":
        return DeployWhen(Condition.from_json(d["condition"]))
    return DeployManual()


@dataclass(frozen=True, slots=True)
class KpiCondition:
    """A KPI as a condition on the snapshots (``health_score >= 70``)."""

    condition: Condition
    kind = "condition"

    def to_json(self) -> dict:
        return {"kind": "condition", "condition": self.condition.to_json()}


@dataclass(frozen=True, slots=True)
class KpiRelative:
    """A KPI relative to the metric's value at the deploy snapshot (``mrr up 10%``)."""

    metric: str
    direction: str
    amount: float
    kind = "relative"

    def to_json(self) -> dict:
        return {"kind": "relative", "metric": self.metric, "direction": self.direction, "amount": self.amount}


Kpi = Union[KpiCondition, KpiRelative]


def _kpi(d: dict | None) -> Kpi | None:
    if d is None:
        return None
    if d["kind"] == "relative":
        return KpiRelative(d["metric"], d["direction"], d["amount"])
    return KpiCondition(Condition.from_json(d["condition"]))


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal template (an internal goal)."""

    name: str
    title: str
    category: str
    duration: int
    deploy: Deploy
    where: Condition | None
    kpi: Kpi | None
    playbooks: tuple[Playbook, ...]
    loc: Loc
    kind = "goal"

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "category": self.category, "duration": self.duration,
                "deploy": self.deploy.to_json(), "where": _cond_json(self.where),
                "kpi": None if self.kpi is None else self.kpi.to_json(),
                "playbooks": [b.to_json() for b in self.playbooks], "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Goal:
        return cls(d["name"], d["title"], d["category"], d["duration"], _deploy(d["deploy"]),
                   Condition.from_json(d["where"]), _kpi(d["kpi"]), _books(d["playbooks"]), Loc.from_json(d["loc"]))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        found = [self.where, *(b.where for b in self.playbooks)]
        if isinstance(self.deploy, DeployWhen):
            found.append(self.deploy.condition)
        if isinstance(self.kpi, KpiCondition):
            found.append(self.kpi.condition)
        return tuple(c for c in found if c is not None)


@dataclass(frozen=True, slots=True)
class Measure:
    """An external goal's customer-tracked measure and its target (``target <= 30``)."""

    label: str
    op: str
    target: float

    def to_json(self) -> dict:
        return {"label": self.label, "op": self.op, "target": self.target}

    def met(self, value: float) -> bool:
        """Whether a recorded value meets the target."""
        return _COMPARE[self.op](value, self.target)


_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


@dataclass(frozen=True, slots=True)
class ExternalGoal:
    """An ad hoc goal for one account, with a measure recorded by hand."""

    name: str
    title: str
    category: str
    account: str
    measure: Measure | None
    start: date
    due: date
    duration: int
    playbooks: tuple[Playbook, ...]
    loc: Loc
    kind = "external_goal"

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "category": self.category, "account": self.account,
                "measure": None if self.measure is None else self.measure.to_json(),
                "start": self.start.isoformat(), "due": self.due.isoformat(), "duration": self.duration,
                "playbooks": [b.to_json() for b in self.playbooks], "loc": self.loc.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> ExternalGoal:
        m = d["measure"]
        return cls(d["name"], d["title"], d["category"], d["account"],
                   None if m is None else Measure(m["label"], m["op"], m["target"]),
                   date.fromisoformat(d["start"]), date.fromisoformat(d["due"]), d["duration"],
                   _books(d["playbooks"]), Loc.from_json(d["loc"]))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(b.where for b in self.playbooks if b.where is not None)


Rule = Union[Alert, Goal, ExternalGoal]


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A spec file the plan was compiled from, with its digest."""

    path: str
    sha256: str

    def to_json(self) -> dict:
        return {"path": self.path, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled spec set: the catalog and every rule, in the contract's order."""

    source_hash: str
    sources: tuple[SourceFile, ...]
    catalog: Catalog
    alerts: tuple[Alert, ...]
    goals: tuple[Goal, ...]
    external_goals: tuple[ExternalGoal, ...]
    plan_version: int = PLAN_VERSION
    language_version: str = "1"

    def to_json(self) -> dict:
        """The plan as JSON-ready dicts, keys in the contract's order (docs/plan.md)."""
        return {
            "plan_version": self.plan_version,
            "language_version": self.language_version,
            "source_hash": self.source_hash,
            "sources": [s.to_json() for s in self.sources],
            "catalog": self.catalog.to_json(),
            "alerts": [a.to_json() for a in self.alerts],
            "goals": [g.to_json() for g in self.goals],
            "external_goals": [g.to_json() for g in self.external_goals],
        }

    @classmethod
    def from_json(cls, d: dict, *, validated: bool = False) -> Plan:
        """A plan from its JSON form: schema-checked (unless ``validated``), then the checks the schema cannot express.

        Raises ``PlanError`` with the position of the rule at fault.
        """
        if not validated:
            validate(d)
        plan = cls(
            source_hash=d["source_hash"],
            sources=tuple(SourceFile(s["path"], s["sha256"]) for s in d["sources"]),
            catalog=Catalog.from_json(d["catalog"]),
            alerts=tuple(Alert.from_json(a) for a in d["alerts"]),
            goals=tuple(Goal.from_json(g) for g in d["goals"]),
            external_goals=tuple(ExternalGoal.from_json(g) for g in d["external_goals"]),
            plan_version=d["plan_version"],
            language_version=d["language_version"],
        )
        check(plan)
        return plan

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every alert, goal template and external goal."""
        return (*self.alerts, *self.goals, *self.external_goals)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


# --- checks the schema cannot express ------------------------------------------------------------------


def check(plan: Plan) -> None:
    """Refuse a plan that cannot run: names its catalog lacks, windows that are not positive, bad dates.

    The compiler never writes one; a hand-edited plan file can, and without
    this check DuckDB would fail in the middle of a run.
    """
    metrics = {m.name for m in plan.catalog.metrics}
    attrs = {a.name: a.type for a in plan.catalog.attributes}

    def bad(rule: Rule, why: str) -> PlanError:
        return PlanError(f"{rule.loc}: {rule.kind.replace('_', ' ')} `{rule.name}`: {why}")

    for rule in plan.rules:
        for cond in rule.conditions:
            for node in walk(cond.expr):
                if isinstance(node, Metric) and node.name not in metrics:
                    raise bad(rule, f"metric `{node.name}` is not in the plan's catalog")
                if isinstance(node, Attr) and node.name != "id" and node.name not in attrs:
                    raise bad(rule, f"attribute `{node.name}` is not in the plan's catalog")
                if isinstance(node, Const) and isinstance(node.value, float) and not math.isfinite(node.value):
                    raise bad(rule, f"`{node.value}` is not a number")
                if isinstance(node, Const) and node.type == "date":
                    _date_or(node.value, lambda: bad(rule, f"`{node.value}` is not a date"))
                if isinstance(node, Call):
                    _check_call(node, rule, bad, metrics, attrs)
        if isinstance(rule, Goal):
            if isinstance(rule.deploy, DeployOn) and attrs.get(rule.deploy.attr) != "date":
                raise bad(rule, f"`deploy: on {rule.deploy.attr}` needs a date attribute of the catalog")
            if isinstance(rule.kpi, KpiRelative) and rule.kpi.metric not in metrics:
                raise bad(rule, f"metric `{rule.kpi.metric}` is not in the plan's catalog")
        for book in rule.playbooks:
            for t in book.tasks:
                for name in t.after:
                    if name not in {x.name for x in book.tasks}:
                        raise bad(rule, f"task `{t.name}` follows `{name}`, which is not in its playbook")
    check_plan_titles(plan, lambda t, why: PlanError(f"{t.loc}: task `{t.name}`: {why}"))  # see compiler/title.py


_WINDOWED = frozenset({"value_at", "change", "pct_change", "sum", "avg", "min", "max", "count"})
_ON_DATES = frozenset({"days_since", "days_until"})


def _check_call(node: Call, rule: Rule, bad, metrics: set[str], attrs: dict[str, str]) -> None:
    first = node.args[0] if node.args else None
    if node.func in _ON_DATES:
        if not (isinstance(first, Attr) and attrs.get(first.name) == "date") or len(node.args) != 1:
            raise bad(rule, f"`{node.func}` takes one date attribute")
        return
    if not isinstance(first, Metric):
        raise bad(rule, f"`{node.func}` takes a metric first")
    if node.func == "previous":
        if len(node.args) != 1:
            raise bad(rule, "`previous` takes one metric")
        return
    if node.func not in _WINDOWED:
        raise bad(rule, f"`{node.func}` is not a function of the language")
    window = node.args[1] if len(node.args) == 2 else None
    if not (isinstance(window, Const) and window.type == "duration" and isinstance(window.value, int)
            and not isinstance(window.value, bool) and window.value > 0):
        raise bad(rule, f"`{node.func}` takes a metric and a positive whole number of days")


def _date_or(text, fail) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise fail() from None


# --- the plan as a file ----------------------------------------------------------------------------------


@cache
def _validator():
    from jsonschema import Draft202012Validator

    schema = load_schema("plan.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def dumps(plan: Plan | dict) -> str:
    """The bytes of a plan (or of its JSON form): keys in contract order, two-space indent, final newline."""
    data = plan if isinstance(plan, dict) else plan.to_json()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def validate(plan: dict | Plan) -> None:
    """Raise ``PlanError`` listing (up to five) schema violations of a plan's JSON form."""
    data = plan if isinstance(plan, dict) else plan.to_json()
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        shown = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise PlanError(f"the plan does not match schemas/plan.schema.json: {shown}{more}")


def write(plan: Plan | dict, path: str) -> None:
    """Validate, then write atomically (a temporary file renamed over ``path``)."""
    from plays.sources import write_atomic

    validate(plan)
    write_atomic(path, dumps(plan))


def loads(text: str, path: str = "<plan>") -> Plan:
    """A plan from JSON text: ``UsageError`` (one line) when it is not a plan, ``PlanError`` when it cannot run."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as e:
        raise UsageError(f"{path}: not a plan (not JSON: {e})") from None
    if not isinstance(data, dict) or "plan_version" not in data:
        raise UsageError(f"{path}: not a plan (no plan_version)")
    if data["plan_version"] != PLAN_VERSION:
        raise UsageError(
            f"{path}: plan version {json.dumps(data['plan_version'])} is not supported "
            f"(this plays reads version {PLAN_VERSION}); recompile it with `plays compile`"
        )
    try:
        validate(data)
    except PlanError as e:  # not a plan at all
        raise UsageError(f"{path}: {e}") from None
    except RecursionError:
        raise UsageError(f"{path}: not a usable plan (nested too deeply)") from None
    try:
        return Plan.from_json(data, validated=True)
    except PlanError as e:  # a plan, but one that cannot run: bad input (exit 1), with the rule's position
        raise PlanError(f"{path}: {e}") from None


def load(path: str) -> Plan:
    """Read and check a plan file; ``UsageError`` (one line) when it is not a usable plan."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not a plan (not UTF-8 text: {e.reason})") from None
    return loads(text, path)


def _refuse_constant(name: str):
    raise ValueError(f"`{name}` is not a JSON number")
